// A script's result (the top of the Lua stack) written as a reply by Redis's rules (script_lua.c
// luaReplyToRedisReply): string -> bulk, number -> integer (truncated), true -> 1 / false -> null
// (RESP2 script) or booleans (after redis.setresp(3)), tables -> {err=} error, {ok=} status,
// {double=}, {big_number=}, {verbatim_string=}, {map=}, {set=}, else an array up to the first nil;
// anything else -> null. Pops the value.

import type { RespWriter } from '../protocol/resp-writer.js';
import { T_BOOLEAN, T_NIL, T_NUMBER, T_STRING, T_TABLE, type LuaVm } from './lua-vm.js';

/** Deeper than this, Redis runs out of Lua stack ("reached lua stack limit"). */
const MAX_DEPTH = 1000;
const INT64_MIN = '-9223372036854775808';
const TWO63 = 2 ** 63;

/** Result strings up to STR_SCRATCH_MAX go through strScratch (grown to that at most). */
const STR_SCRATCH_MAX = 64 * 1024;
let strScratch = new Uint8Array(1024);
let vm: LuaVm;
let out: RespWriter;
/** The script's own protocol (redis.setresp): decides how booleans are written. */
let scriptResp: 2 | 3 = 2;

export function writeResult(v: LuaVm, w: RespWriter, resp: 2 | 3): void {
  vm = v;
  out = w;
  scriptResp = resp;
  writeTop(0);
}

/** (long long)x as C casts it on x86-64: NaN and out-of-range values give INT64_MIN. */
export function writeTruncated(w: RespWriter, x: number): void {
  if (Number.isNaN(x) || x >= TWO63 || x < -TWO63) {
    w.ascii(':' + INT64_MIN + '\r\n');
    return;
  }
  const t = Math.trunc(x);
  if (Number.isSafeInteger(t)) w.integer(t === 0 ? 0 : t);
  else w.integer(BigInt(t));
}

/** Bytes of a Lua string with CR and LF mapped to spaces (sdsmapchars), for status-like lines. */
function lineBytes(b: Uint8Array): Uint8Array {
  let clean = true;
  for (let i = 0; i < b.length; i++) if (b[i] === 13 || b[i] === 10) clean = false;
  if (clean) return b;
  const c = Uint8Array.from(b);
  for (let i = 0; i < c.length; i++) if (c[i] === 13 || c[i] === 10) c[i] = 32;
  return c;
}

function writeLine(prefix: number, b: Uint8Array): void {
  const c = lineBytes(b);
  out.ensure(c.length + 3);
  out.buf[out.length++] = prefix;
  out.raw(c, 0, c.length);
  out.ensure(2);
  out.buf[out.length++] = 13;
  out.buf[out.length++] = 10;
}

/** rawget(t, field) onto the stack; returns its type (the value stays pushed). */
function field(name: string): number {
  vm.pushliteral(name);
  return vm.rawget(-2);
}

function writeTop(depth: number): void {
  const t = vm.type(-1);
  switch (t) {
    case T_STRING: {
      // Copied out through a reused buffer: cheaper than a view of the VM's memory when short.
      const n = vm.copybytes(-1, strScratch, 0);
      if (n <= strScratch.length) out.bulk(strScratch, 0, n);
      else if (n <= STR_SCRATCH_MAX) {
        strScratch = new Uint8Array(Math.max(n, strScratch.length * 2));
        vm.copybytes(-1, strScratch, 0);
        out.bulk(strScratch, 0, n);
      } else {
        const b = vm.tobytes(-1);
        out.bulk(b, 0, b.length);
      }
      break;
    }
    case T_BOOLEAN:
      if (scriptResp === 2) {
        if (vm.toboolean(-1)) out.integer(1);
        else out.nil();
      } else out.boolean(vm.toboolean(-1));
      break;
    case T_NUMBER:
      writeTruncated(out, vm.tonumber(-1));
      break;
    case T_TABLE:
      if (depth >= MAX_DEPTH) {
        out.error('ERR reached lua stack limit');
        break;
      }
      writeTable(depth);
      break;
    default:
      out.nil();
  }
  vm.settop(-2);
}

function writeTable(depth: number): void {
  if (field('err') === T_STRING) {
    writeLine(45, vm.tobytes(-1));
    vm.settop(-2);
    return;
  }
  vm.settop(-2);
  if (field('ok') === T_STRING) {
    writeLine(43, vm.tobytes(-1));
    vm.settop(-2);
    return;
  }
  vm.settop(-2);
  if (field('double') === T_NUMBER) {
    out.double(vm.tonumber(-1));
    vm.settop(-2);
    return;
  }
  vm.settop(-2);
  if (field('big_number') === T_STRING) {
    const b = lineBytes(vm.tobytes(-1));
    if (out.proto === 3) writeLine(40, b);
    else out.bulk(b, 0, b.length);
    vm.settop(-2);
    return;
  }
  vm.settop(-2);
  if (field('verbatim_string') === T_TABLE) {
    // Stack: t, vt.
    vm.pushliteral('format');
    const ft = vm.rawget(-2);
    vm.pushliteral('string');
    const st = vm.rawget(-3);
    // Stack: t, vt, format, string.
    if (ft === T_STRING && st === T_STRING) {
      writeVerbatim();
      vm.settop(-4);
      return;
    }
    vm.settop(-3);
  }
  vm.settop(-2);
  if (field('map') === T_TABLE) {
    let n = 0;
    vm.pushnil();
    while (vm.next(-2)) {
      n++;
      vm.settop(-2);
    }
    out.map(n);
    vm.pushnil();
    while (vm.next(-2)) {
      // Stack: map, key, value: a copy of the key is written (and popped), then the value.
      vm.pushvalue(-2);
      writeTop(depth + 1); // key
      writeTop(depth + 1); // value
    }
    vm.settop(-2);
    return;
  }
  vm.settop(-2);
  if (field('set') === T_TABLE) {
    let n = 0;
    vm.pushnil();
    while (vm.next(-2)) {
      n++;
      vm.settop(-2);
    }
    out.set(n);
    vm.pushnil();
    while (vm.next(-2)) {
      vm.settop(-2);
      vm.pushvalue(-1);
      writeTop(depth + 1);
    }
    vm.settop(-2);
    return;
  }
  vm.settop(-2);
  // An array: elements 1.. up to the first nil.
  let n = 0;
  while (vm.rawgeti(-1, n + 1) !== T_NIL) {
    n++;
    vm.settop(-2);
  }
  vm.settop(-2);
  out.array(n);
  for (let i = 1; i <= n; i++) {
    vm.rawgeti(-1, i);
    writeTop(depth + 1);
  }
}

/** Stack: ..., vt, format, string. */
function writeVerbatim(): void {
  const s = vm.tobytes(-1);
  if (out.proto !== 3) {
    out.bulk(s, 0, s.length);
    return;
  }
  const f = vm.tobytes(-2);
  out.ascii('=' + (s.length + f.length + 1) + '\r\n');
  out.raw(f, 0, f.length);
  out.ascii(':');
  out.raw(s, 0, s.length);
  out.ascii('\r\n');
}
