// LuaVm over wasmoon's WebAssembly build of Lua 5.4, through the raw exported C API (not wasmoon's
// object layer, which converts strings as UTF-16 text and would corrupt binary values). Strings
// cross through one reused malloc'd scratch area; field names are C strings allocated once.

import { LuaFactory } from 'wasmoon';
import type { JsFunction, LuaVm } from './lua-vm.js';

/** The raw exports used here (emscripten names, pointers are numbers, lua_Integer is a BigInt). */
interface Raw {
  HEAPU8: Uint8Array;
  HEAPU32: Uint32Array;
  _malloc(n: number): number;
  _free(p: number): void;
  addFunction(fn: (...a: number[]) => number | void, sig: string): number;
  _luaL_newstate(): number;
  _luaL_openlibs(L: number): void;
  _lua_close(L: number): void;
  _lua_gettop(L: number): number;
  _lua_settop(L: number, i: number): void;
  _lua_pushvalue(L: number, i: number): void;
  _lua_rotate(L: number, i: number, n: number): void;
  _lua_type(L: number, i: number): number;
  _lua_toboolean(L: number, i: number): number;
  _lua_tonumberx(L: number, i: number, isnum: number): number;
  _lua_isinteger(L: number, i: number): number;
  _lua_tolstring(L: number, i: number, lenPtr: number): number;
  _lua_pushnil(L: number): void;
  _lua_pushnumber(L: number, n: number): void;
  _lua_pushinteger(L: number, n: bigint): void;
  _lua_pushboolean(L: number, b: number): void;
  _lua_pushlstring(L: number, p: number, len: number): number;
  _lua_pushstring(L: number, p: number): number;
  _lua_pushcclosure(L: number, fn: number, n: number): void;
  _lua_createtable(L: number, a: number, h: number): void;
  _lua_pushlightuserdata(L: number, p: number): void;
  _lua_rawgeti(L: number, t: number, n: bigint): number;
  _lua_rawseti(L: number, t: number, n: bigint): void;
  _lua_getfield(L: number, t: number, k: number): number;
  _lua_setfield(L: number, t: number, k: number): void;
  _lua_rawget(L: number, t: number): number;
  _lua_rawset(L: number, t: number): void;
  _lua_next(L: number, t: number): number;
  _lua_rawlen(L: number, t: number): bigint;
  _lua_getglobal(L: number, k: number): number;
  _lua_setglobal(L: number, k: number): void;
  _luaL_ref(L: number, t: number): number;
  _luaL_unref(L: number, t: number, r: number): void;
  _luaL_loadbufferx(L: number, p: number, len: number, name: number, mode: number): number;
  _lua_pcallk(L: number, nargs: number, nres: number, msgh: number, ctx: number, k: number): number;
  _lua_error(L: number): number;
  _luaL_where(L: number, level: number): void;
  _lua_sethook(L: number, fn: number, mask: number, count: number): void;
}

const REGISTRY_INDEX = -1001000; // -LUAI_MAXSTACK - 1000, Lua 5.4's default
const MASK_LINE = 4;
const MASK_COUNT = 8;
const encoder = new TextEncoder();
/** lua_Integer crosses as a BigInt: the small ones (table indices, counts) are made once. */
const SMALL_BIGINTS = 1024;
const bigints: bigint[] = Array.from({ length: SMALL_BIGINTS }, (_, i) => BigInt(i));
const big = (n: number): bigint => (n >= 0 && n < SMALL_BIGINTS ? bigints[n]! : BigInt(n));
const decoder = new TextDecoder();

class WasmoonVm implements LuaVm {
  readonly name = 'wasmoon' as const;
  readonly registryIndex = REGISTRY_INDEX;
  private L: number;
  private scratch: number;
  private scratchSize = 4096;
  private readonly lenPtr: number;
  private readonly cnames = new Map<string, number>();
  private hookPtr = 0;
  private hookFn: (() => void) | null = null;

  constructor(private readonly m: Raw) {
    this.L = m._luaL_newstate();
    m._luaL_openlibs(this.L);
    this.scratch = m._malloc(this.scratchSize);
    this.lenPtr = m._malloc(8);
  }

  private cname(k: string): number {
    let p = this.cnames.get(k);
    if (p === undefined) {
      const b = encoder.encode(k);
      p = this.m._malloc(b.length + 1);
      this.m.HEAPU8.set(b, p);
      this.m.HEAPU8[p + b.length] = 0;
      this.cnames.set(k, p);
    }
    return p;
  }

  /** Copies bytes into the scratch area (grown as needed); returns its address. */
  private stage(b: Uint8Array, off: number, len: number): number {
    if (len > this.scratchSize) {
      this.m._free(this.scratch);
      while (this.scratchSize < len) this.scratchSize *= 2;
      this.scratch = this.m._malloc(this.scratchSize);
    }
    const heap = this.m.HEAPU8;
    if (len <= 64) {
      const p = this.scratch;
      for (let i = 0; i < len; i++) heap[p + i] = b[off + i]!;
    } else heap.set(off === 0 && len === b.length ? b : b.subarray(off, off + len), this.scratch);
    return this.scratch;
  }

  gettop(): number { return this.m._lua_gettop(this.L); }
  settop(idx: number): void { this.m._lua_settop(this.L, idx); }
  pushvalue(idx: number): void { this.m._lua_pushvalue(this.L, idx); }
  insert(idx: number): void { this.m._lua_rotate(this.L, idx, 1); }
  type(idx: number): number { return this.m._lua_type(this.L, idx); }
  toboolean(idx: number): boolean { return this.m._lua_toboolean(this.L, idx) !== 0; }
  tonumber(idx: number): number { return this.m._lua_tonumberx(this.L, idx, 0); }
  isinteger(idx: number): boolean { return this.m._lua_isinteger(this.L, idx) !== 0; }
  tobytes(idx: number): Uint8Array {
    const p = this.m._lua_tolstring(this.L, idx, this.lenPtr);
    if (p === 0) return EMPTY;
    const len = this.m.HEAPU32[this.lenPtr >>> 2]!;
    return this.m.HEAPU8.subarray(p, p + len);
  }
  copybytes(idx: number, dst: Uint8Array, off: number): number {
    const p = this.m._lua_tolstring(this.L, idx, this.lenPtr);
    if (p === 0) return 0;
    const len = this.m.HEAPU32[this.lenPtr >>> 2]!;
    if (len <= dst.length - off) {
      const heap = this.m.HEAPU8;
      // A view of the heap costs more than copying a short string byte by byte.
      if (len <= 64) for (let i = 0; i < len; i++) dst[off + i] = heap[p + i]!;
      else dst.set(heap.subarray(p, p + len), off);
    }
    return len;
  }
  tostring(idx: number): string {
    const p = this.m._lua_tolstring(this.L, idx, this.lenPtr);
    if (p === 0) return '';
    const len = this.m.HEAPU32[this.lenPtr >>> 2]!;
    return decoder.decode(this.m.HEAPU8.subarray(p, p + len));
  }
  pushnil(): void { this.m._lua_pushnil(this.L); }
  pushnumber(n: number): void { this.m._lua_pushnumber(this.L, n); }
  pushinteger(n: number): void { this.m._lua_pushinteger(this.L, big(n)); }
  pushboolean(b: boolean): void { this.m._lua_pushboolean(this.L, b ? 1 : 0); }
  pushbytes(b: Uint8Array, off: number, len: number): void {
    this.m._lua_pushlstring(this.L, this.stage(b, off, len), len);
  }
  pushstring(s: string): void {
    const b = encoder.encode(s);
    this.pushbytes(b, 0, b.length);
  }
  pushliteral(s: string): void {
    this.m._lua_pushstring(this.L, this.cname(s));
  }
  pushfunction(fn: JsFunction): void {
    const ptr = this.m.addFunction((L: number): number => {
      // A coroutine calls with its own state: operate on it while fn runs.
      const prev = this.L;
      this.L = L;
      try {
        return fn();
      } finally {
        this.L = prev;
      }
    }, 'ii');
    this.m._lua_pushcclosure(this.L, ptr, 0);
  }
  pushnulluserdata(): void { this.m._lua_pushlightuserdata(this.L, 0); }
  createtable(narr: number, nrec: number): void { this.m._lua_createtable(this.L, narr, nrec); }
  rawgeti(t: number, n: number): number { return this.m._lua_rawgeti(this.L, t, big(n)); }
  rawseti(t: number, n: number): void { this.m._lua_rawseti(this.L, t, big(n)); }
  getfield(t: number, k: string): number { return this.m._lua_getfield(this.L, t, this.cname(k)); }
  setfield(t: number, k: string): void { this.m._lua_setfield(this.L, t, this.cname(k)); }
  rawget(t: number): number { return this.m._lua_rawget(this.L, t); }
  rawset(t: number): void { this.m._lua_rawset(this.L, t); }
  next(t: number): boolean { return this.m._lua_next(this.L, t) !== 0; }
  rawlen(t: number): number { return Number(this.m._lua_rawlen(this.L, t)); }
  getglobal(k: string): number { return this.m._lua_getglobal(this.L, this.cname(k)); }
  setglobal(k: string): void { this.m._lua_setglobal(this.L, this.cname(k)); }
  ref(): number { return this.m._luaL_ref(this.L, REGISTRY_INDEX); }
  unref(r: number): void { this.m._luaL_unref(this.L, REGISTRY_INDEX, r); }
  load(code: Uint8Array, chunkname: string): number {
    // The chunk name is a C string: stage the code after it is named.
    const name = this.cname(chunkname);
    const p = this.stage(code, 0, code.length);
    return this.m._luaL_loadbufferx(this.L, p, code.length, name, 0);
  }
  pcall(nargs: number, nresults: number, msgh: number): number {
    return this.m._lua_pcallk(this.L, nargs, nresults, msgh, 0, 0);
  }
  where(level: number): string {
    this.m._luaL_where(this.L, level);
    const s = this.tostring(-1);
    this.m._lua_settop(this.L, -2);
    return s;
  }
  error(): never {
    this.m._lua_error(this.L);
    throw new Error('lua_error returned');
  }
  sethook(fn: (() => void) | null, count: number): void {
    if (fn === null) {
      this.m._lua_sethook(this.L, 0, 0, 0);
      return;
    }
    this.hookFn = fn;
    if (this.hookPtr === 0) {
      this.hookPtr = this.m.addFunction((L: number): void => {
        const prev = this.L;
        this.L = L;
        try {
          this.hookFn?.();
        } finally {
          this.L = prev;
        }
      }, 'vii');
    }
    if (count > 0) this.m._lua_sethook(this.L, this.hookPtr, MASK_COUNT, count);
    else this.m._lua_sethook(this.L, this.hookPtr, MASK_LINE, 0);
  }
  memoryBytes(): number { return this.m.HEAPU8.length; }
  close(): void { this.m._lua_close(this.L); }
}

const EMPTY = new Uint8Array(0);

/** wasmoon ships a debug build of its glue: every exported `_lua_*` goes through a wrapper that
 * asserts and calls `apply(null, arguments)`, a fifth of a short script's time. The instance's own
 * exports are captured while wasmoon instantiates its module, and called directly. */
interface WasmGlobal {
  instantiate: (...a: unknown[]) => Promise<unknown>;
  instantiateStreaming: (...a: unknown[]) => Promise<unknown>;
  Instance: abstract new (...a: never[]) => { exports: Record<string, unknown> };
}

async function instantiateCapturing(): Promise<{ module: Raw; exports: Record<string, unknown> | null }> {
  const wa = (globalThis as unknown as { WebAssembly: WasmGlobal }).WebAssembly;
  const captured: Record<string, unknown>[] = [];
  const original = { instantiate: wa.instantiate, streaming: wa.instantiateStreaming };
  const keep = (r: unknown): unknown => {
    const inst = (r as { instance?: unknown }).instance ?? r;
    if (inst instanceof wa.Instance) captured.push(inst.exports);
    return r;
  };
  wa.instantiate = (...a: unknown[]): Promise<unknown> => original.instantiate.apply(wa, a).then(keep);
  wa.instantiateStreaming = (...a: unknown[]): Promise<unknown> => original.streaming.apply(wa, a).then(keep);
  try {
    const wasm = await new LuaFactory().getLuaModule();
    return { module: wasm.module as unknown as Raw, exports: captured.length === 1 ? captured[0]! : null };
  } finally {
    wa.instantiate = original.instantiate;
    wa.instantiateStreaming = original.streaming;
  }
}

export async function createWasmoonVm(): Promise<LuaVm> {
  const { module, exports } = await instantiateCapturing();
  if (exports !== null) {
    // Swap each wrapped `_name` for the raw export `name` when it is there.
    const direct = Object.create(module) as Record<string, unknown>;
    for (const key of Object.keys(exports)) {
      if (typeof exports[key] === 'function' && typeof (module as unknown as Record<string, unknown>)['_' + key] === 'function') {
        direct['_' + key] = exports[key];
      }
    }
    return new WasmoonVm(direct as unknown as Raw);
  }
  return new WasmoonVm(module);
}
