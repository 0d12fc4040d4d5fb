// The few Lua C-API operations the engine needs, over one lua_State, so that the engine (sandbox,
// conversions, libraries) is written once and runs on either VM (wasmoon: Lua 5.4 in WebAssembly;
// fengari: Lua 5.3 in JS). Indices are Lua stack indices; strings cross as bytes, never UTF-16.

export const T_NIL = 0;
export const T_BOOLEAN = 1;
export const T_LIGHTUSERDATA = 2;
export const T_NUMBER = 3;
export const T_STRING = 4;
export const T_TABLE = 5;
export const T_FUNCTION = 6;
export const T_USERDATA = 7;
export const T_THREAD = 8;

export const LUA_OK = 0;
export const LUA_ERRSYNTAX = 3;

export type VmName = 'wasmoon' | 'fengari';

/** A JS function callable from Lua: its arguments are at stack 1..gettop(); it pushes its results
 * and returns their count, or raises with vm.error(). */
export type JsFunction = () => number;

export interface LuaVm {
  readonly name: VmName;
  readonly registryIndex: number;
  gettop(): number;
  settop(idx: number): void;
  pushvalue(idx: number): void;
  /** Moves the top element to position idx (lua_insert). */
  insert(idx: number): void;
  type(idx: number): number;
  toboolean(idx: number): boolean;
  tonumber(idx: number): number;
  isinteger(idx: number): boolean;
  /** The bytes of the string (or number, converted in place) at idx. A view into the VM's memory:
   * valid until the VM runs again; copy it to keep it. */
  tobytes(idx: number): Uint8Array;
  /** Copies the bytes of the string (or number, converted in place) at idx into dst at off when
   * they fit in dst; returns their length either way (dst is untouched when it is too short).
   * Makes no view: the call path's way to read an argument. */
  copybytes(idx: number, dst: Uint8Array, off: number): number;
  /** The string at idx decoded as UTF-8 (error texts, names); '' when it is not a string. */
  tostring(idx: number): string;
  pushnil(): void;
  pushnumber(n: number): void;
  /** n must be an integer in the safe range; pushed as a Lua integer (tostring shows no ".0"). */
  pushinteger(n: number): void;
  pushboolean(b: boolean): void;
  pushbytes(b: Uint8Array, off: number, len: number): void;
  pushstring(s: string): void;
  /** A constant string (a field name): converted once, then pushed without encoding. */
  pushliteral(s: string): void;
  pushfunction(fn: JsFunction): void;
  /** The NULL light userdata (cjson.null). */
  pushnulluserdata(): void;
  createtable(narr: number, nrec: number): void;
  rawgeti(t: number, n: number): number;
  rawseti(t: number, n: number): void;
  /** t[k] with metamethods (lua_getfield); returns the type. */
  getfield(t: number, k: string): number;
  /** t[k] = top with metamethods, pops it. */
  setfield(t: number, k: string): void;
  rawget(t: number): number;
  rawset(t: number): void;
  next(t: number): boolean;
  rawlen(t: number): number;
  getglobal(k: string): number;
  setglobal(k: string): void;
  /** Pops the top into the registry, returning its reference. */
  ref(): number;
  unref(r: number): void;
  /** Compiles code as a function onto the stack (or the error message); LUA_OK or an error code. */
  load(code: Uint8Array, chunkname: string): number;
  pcall(nargs: number, nresults: number, msgh: number): number;
  /** luaL_where(level): "chunk:line: " of the function at that level, '' without line info. */
  where(level: number): string;
  /** Raises the top of the stack as a Lua error (lua_error): does not return. */
  error(): never;
  /** Calls fn every `count` instructions (count > 0) or on every line (count 0); null removes it. */
  sethook(fn: (() => void) | null, count: number): void;
  /** Total bytes the VM's allocator holds (collectgarbage("count") * 1024). */
  memoryBytes(): number;
  close(): void;
}
