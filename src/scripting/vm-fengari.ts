// LuaVm over fengari (Lua 5.3 written in JS). Loaded with LUA_COMPAT_FLOATSTRING so that integral
// floats print as Lua 5.1 prints them ("3", not "3.0"). fengari's integers are 32-bit: a value
// outside that range is pushed as a float (which then prints as 5.1 does, "%.14g").

import { createRequire } from 'node:module';
import type { LuaState } from 'fengari';
import type { JsFunction, LuaVm } from './lua-vm.js';

type Fengari = typeof import('fengari');
let fengari: Fengari | null = null;

/** C's "%.14g" (Lua 5.1's LUA_NUMBER_FMT); fengari's own drops the exponent form. */
function number2str(n: number): string {
  // x86's default NaN (0/0) has its sign bit set: glibc prints it "-nan", as Redis shows.
  if (Number.isNaN(n)) return '-nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const e = Number(n.toExponential(13).split('e')[1]);
  if (e < -4 || e >= 14) {
    const [m, x] = n.toExponential(13).split('e') as [string, string];
    const mant = m.includes('.') ? m.replace(/0+$/, '').replace(/\.$/, '') : m;
    const exp = Number(x);
    return `${mant}e${exp < 0 ? '-' : '+'}${Math.abs(exp) < 10 ? '0' : ''}${Math.abs(exp)}`;
  }
  const f = n.toFixed(Math.max(0, 13 - e));
  return f.includes('.') ? f.replace(/0+$/, '').replace(/\.$/, '') : f;
}

/** fengari reads its configuration from the environment once, when first loaded; its number
 * formatting is patched before the modules that import it load. */
function load(): Fengari {
  if (fengari !== null) return fengari;
  const saved = process.env['FENGARICONF'];
  process.env['FENGARICONF'] = JSON.stringify({ LUA_COMPAT_FLOATSTRING: true });
  try {
    const require = createRequire(import.meta.url);
    // defs.js first: it and luaconf.js require each other, and this is fengari's own order.
    require('fengari/src/defs.js');
    const conf = require('fengari/src/luaconf.js') as { lua_number2str: (n: number) => string };
    conf.lua_number2str = number2str;
    fengari = require('fengari') as Fengari;
  } finally {
    if (saved === undefined) delete process.env['FENGARICONF'];
    else process.env['FENGARICONF'] = saved;
  }
  return fengari;
}

const INT32_MAX = 2147483647;
const INT32_MIN = -2147483648;
const decoder = new TextDecoder();
const GC_COUNT = 3;
const GC_COUNTB = 4;

class FengariVm implements LuaVm {
  readonly name = 'fengari' as const;
  readonly registryIndex: number;
  private L: LuaState;
  private readonly f: Fengari;
  private readonly names = new Map<string, Uint8Array>();

  constructor() {
    this.f = load();
    this.L = this.f.lauxlib.luaL_newstate();
    this.registryIndex = this.f.lua.LUA_REGISTRYINDEX;
    const { lualib, lauxlib } = this.f;
    for (const [name, open] of [
      ['_G', lualib.luaopen_base],
      ['table', lualib.luaopen_table],
      ['string', lualib.luaopen_string],
      ['math', lualib.luaopen_math],
      ['debug', lualib.luaopen_debug],
      ['coroutine', lualib.luaopen_coroutine],
    ] as const) {
      lauxlib.luaL_requiref(this.L, this.name_(name), open, 1);
      this.f.lua.lua_settop(this.L, 0);
    }
  }

  /** Field names as Lua strings, converted once. */
  private name_(k: string): Uint8Array {
    let s = this.names.get(k);
    if (s === undefined) {
      s = this.f.to_luastring(k);
      this.names.set(k, s);
    }
    return s;
  }

  gettop(): number { return this.f.lua.lua_gettop(this.L); }
  settop(idx: number): void { this.f.lua.lua_settop(this.L, idx); }
  pushvalue(idx: number): void { this.f.lua.lua_pushvalue(this.L, idx); }
  insert(idx: number): void { this.f.lua.lua_insert(this.L, idx); }
  type(idx: number): number { return this.f.lua.lua_type(this.L, idx); }
  toboolean(idx: number): boolean { return this.f.lua.lua_toboolean(this.L, idx); }
  tonumber(idx: number): number { return this.f.lua.lua_tonumber(this.L, idx); }
  isinteger(idx: number): boolean { return this.f.lua.lua_isinteger(this.L, idx); }
  tobytes(idx: number): Uint8Array { return this.f.lua.lua_tolstring(this.L, idx) ?? EMPTY; }
  copybytes(idx: number, dst: Uint8Array, off: number): number {
    const b = this.f.lua.lua_tolstring(this.L, idx);
    if (b === null) return 0;
    if (b.length <= dst.length - off) dst.set(b, off);
    return b.length;
  }
  tostring(idx: number): string {
    const b = this.f.lua.lua_tolstring(this.L, idx);
    return b === null ? '' : decoder.decode(b);
  }
  pushnil(): void { this.f.lua.lua_pushnil(this.L); }
  pushnumber(n: number): void { this.f.lua.lua_pushnumber(this.L, n); }
  pushinteger(n: number): void {
    if (n >= INT32_MIN && n <= INT32_MAX) this.f.lua.lua_pushinteger(this.L, n);
    else this.f.lua.lua_pushnumber(this.L, n);
  }
  pushboolean(b: boolean): void { this.f.lua.lua_pushboolean(this.L, b); }
  pushbytes(b: Uint8Array, off: number, len: number): void {
    // lua_pushlstring copies, so a view of a reused buffer is safe.
    this.f.lua.lua_pushlstring(this.L, off === 0 ? b : b.subarray(off, off + len), len);
  }
  pushstring(s: string): void { this.f.lua.lua_pushstring(this.L, this.f.to_luastring(s)); }
  pushliteral(s: string): void { this.f.lua.lua_pushstring(this.L, this.name_(s)); }
  pushfunction(fn: JsFunction): void {
    this.f.lua.lua_pushjsfunction(this.L, (L: LuaState): number => {
      // A coroutine calls with its own state: operate on it while fn runs.
      const prev = this.L;
      this.L = L;
      try {
        return fn();
      } finally {
        this.L = prev;
      }
    });
  }
  pushnulluserdata(): void { this.f.lua.lua_pushlightuserdata(this.L, null); }
  createtable(narr: number, nrec: number): void { this.f.lua.lua_createtable(this.L, narr, nrec); }
  rawgeti(t: number, n: number): number { return this.f.lua.lua_rawgeti(this.L, t, n); }
  rawseti(t: number, n: number): void { this.f.lua.lua_rawseti(this.L, t, n); }
  getfield(t: number, k: string): number { return this.f.lua.lua_getfield(this.L, t, this.name_(k)); }
  setfield(t: number, k: string): void { this.f.lua.lua_setfield(this.L, t, this.name_(k)); }
  rawget(t: number): number { return this.f.lua.lua_rawget(this.L, t); }
  rawset(t: number): void { this.f.lua.lua_rawset(this.L, t); }
  next(t: number): boolean { return this.f.lua.lua_next(this.L, t) ? true : false; }
  rawlen(t: number): number { return this.f.lua.lua_rawlen(this.L, t); }
  getglobal(k: string): number { return this.f.lua.lua_getglobal(this.L, this.name_(k)); }
  setglobal(k: string): void { this.f.lua.lua_setglobal(this.L, this.name_(k)); }
  ref(): number { return this.f.lauxlib.luaL_ref(this.L, this.registryIndex); }
  unref(r: number): void { this.f.lauxlib.luaL_unref(this.L, this.registryIndex, r); }
  load(code: Uint8Array, chunkname: string): number {
    return this.f.lauxlib.luaL_loadbuffer(this.L, code, code.length, this.name_(chunkname));
  }
  pcall(nargs: number, nresults: number, msgh: number): number {
    return this.f.lua.lua_pcall(this.L, nargs, nresults, msgh);
  }
  where(level: number): string {
    this.f.lauxlib.luaL_where(this.L, level);
    const s = this.tostring(-1);
    this.f.lua.lua_settop(this.L, -2);
    return s;
  }
  error(): never { return this.f.lua.lua_error(this.L); }
  sethook(fn: (() => void) | null, count: number): void {
    const { lua } = this.f;
    if (fn === null) {
      lua.lua_sethook(this.L, null, 0, 0);
      return;
    }
    const hook = (L: LuaState): void => {
      const prev = this.L;
      this.L = L;
      try {
        fn();
      } finally {
        this.L = prev;
      }
    };
    if (count > 0) lua.lua_sethook(this.L, hook, lua.LUA_MASKCOUNT, count);
    else lua.lua_sethook(this.L, hook, lua.LUA_MASKLINE, 0);
  }
  memoryBytes(): number {
    // fengari leaves memory to the JS heap: lua_gc reports nothing.
    const kb = this.f.lua.lua_gc(this.L, GC_COUNT, 0);
    const b = this.f.lua.lua_gc(this.L, GC_COUNTB, 0);
    return typeof kb === 'number' && typeof b === 'number' ? kb * 1024 + b : 0;
  }
  close(): void { this.f.lua.lua_close(this.L); }
}

const EMPTY = new Uint8Array(0);

export function createFengariVm(): LuaVm {
  return new FengariVm();
}
