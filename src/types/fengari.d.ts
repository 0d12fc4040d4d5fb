// Minimal types for the parts of fengari (Lua 5.3 in JS, no bundled types) that
// src/scripting/vm-fengari.ts uses. A Lua string is a Uint8Array of its bytes.
declare module 'fengari' {
  export type LuaState = { readonly __luaState: unique symbol };
  type Str = Uint8Array | string;
  export const lua: {
    LUA_REGISTRYINDEX: number;
    LUA_MASKCOUNT: number;
    LUA_MASKLINE: number;
    LUA_OK: number;
    lua_gettop(L: LuaState): number;
    lua_settop(L: LuaState, idx: number): void;
    lua_pushvalue(L: LuaState, idx: number): void;
    lua_insert(L: LuaState, idx: number): void;
    lua_type(L: LuaState, idx: number): number;
    lua_toboolean(L: LuaState, idx: number): boolean;
    lua_tonumber(L: LuaState, idx: number): number;
    lua_isinteger(L: LuaState, idx: number): boolean;
    lua_tolstring(L: LuaState, idx: number): Uint8Array | null;
    lua_pushnil(L: LuaState): void;
    lua_pushnumber(L: LuaState, n: number): void;
    lua_pushinteger(L: LuaState, n: number): void;
    lua_pushboolean(L: LuaState, b: boolean): void;
    lua_pushstring(L: LuaState, s: Str): void;
    lua_pushlstring(L: LuaState, s: Uint8Array, len: number): void;
    lua_pushjsfunction(L: LuaState, fn: (L: LuaState) => number): void;
    lua_pushlightuserdata(L: LuaState, p: unknown): void;
    lua_createtable(L: LuaState, narr: number, nrec: number): void;
    lua_rawgeti(L: LuaState, t: number, n: number): number;
    lua_rawseti(L: LuaState, t: number, n: number): void;
    lua_getfield(L: LuaState, t: number, k: Str): number;
    lua_setfield(L: LuaState, t: number, k: Str): void;
    lua_rawget(L: LuaState, t: number): number;
    lua_rawset(L: LuaState, t: number): void;
    lua_next(L: LuaState, t: number): boolean | number;
    lua_rawlen(L: LuaState, t: number): number;
    lua_getglobal(L: LuaState, k: Str): number;
    lua_setglobal(L: LuaState, k: Str): void;
    lua_pcall(L: LuaState, nargs: number, nresults: number, msgh: number): number;
    lua_error(L: LuaState): never;
    lua_sethook(L: LuaState, fn: ((L: LuaState, ar: unknown) => void) | null, mask: number, count: number): void;
    lua_gc(L: LuaState, what: number, data: number): number;
    lua_close(L: LuaState): void;
  };
  export const lauxlib: {
    luaL_newstate(): LuaState;
    luaL_where(L: LuaState, level: number): void;
    luaL_ref(L: LuaState, t: number): number;
    luaL_unref(L: LuaState, t: number, r: number): void;
    luaL_loadbuffer(L: LuaState, code: Uint8Array, size: number | null, chunkname: Str): number;
    luaL_requiref(L: LuaState, name: Str, open: (L: LuaState) => number, global: number): void;
  };
  export const lualib: {
    luaopen_base(L: LuaState): number;
    luaopen_table(L: LuaState): number;
    luaopen_string(L: LuaState): number;
    luaopen_math(L: LuaState): number;
    luaopen_debug(L: LuaState): number;
    luaopen_coroutine(L: LuaState): number;
  };
  export function to_luastring(s: string): Uint8Array;
}
