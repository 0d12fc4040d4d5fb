// A command's RESP2/RESP3 reply, pushed onto the Lua stack by Redis's conversion rules
// (script_lua.c redisProtocolToLuaType): integer -> number, bulk -> string, null bulk / null array
// -> false (RESP2) or nil (RESP3 null), status -> {ok=}, error -> {err=}, array -> table; RESP3
// map -> {map={}}, set -> {set={m=true}}, double -> {double=}, big number -> {big_number=},
// verbatim -> {verbatim_string={format=, string=}}, attributes dropped. Reads bytes, builds no JS
// values on the way (one pass, recursive).

import type { LuaVm } from './lua-vm.js';
import { pushErrorTable } from './lua-errors.js';

const CR = 13;

let vm: LuaVm;
let buf: Uint8Array;
let pos = 0;

/** Pushes the value at b[off, end) and returns the type byte of the top value (45 for an error). */
export function pushReply(v: LuaVm, b: Uint8Array, off: number): number {
  vm = v;
  buf = b;
  pos = off;
  const type = b[off]!;
  pushValue();
  return type;
}

function lineEnd(): number {
  let p = pos;
  while (buf[p] !== CR) p++;
  return p;
}

/** The decimal at [pos+1, CR), pos moved past the CRLF. */
function readInt(): number {
  const end = lineEnd();
  let p = pos + 1;
  let neg = false;
  if (buf[p] === 45) {
    neg = true;
    p++;
  }
  let n = 0;
  for (; p < end; p++) n = n * 10 + (buf[p]! - 48);
  pos = end + 2;
  return neg ? -n : n;
}

function lineText(): string {
  const end = lineEnd();
  const s = Buffer.from(buf.buffer, buf.byteOffset + pos + 1, end - pos - 1).toString('latin1');
  pos = end + 2;
  return s;
}

function pushValue(): void {
  const type = buf[pos]!;
  switch (type) {
    case 58: { // : integer
      const end = lineEnd();
      const len = end - pos - 1;
      if (len < 16) vm.pushinteger(readInt());
      else {
        // Beyond 2^53 Lua 5.1 had a double too: the nearest one.
        vm.pushnumber(Number(lineText()));
      }
      return;
    }
    case 36: { // $ bulk
      const n = readInt();
      if (n < 0) {
        vm.pushboolean(false);
        return;
      }
      vm.pushbytes(buf, pos, n);
      pos += n + 2;
      return;
    }
    case 43: { // + status
      const end = lineEnd();
      vm.createtable(0, 1);
      vm.pushbytes(buf, pos + 1, end - pos - 1);
      vm.setfield(-2, 'ok');
      pos = end + 2;
      return;
    }
    case 45: { // - error
      pushErrorTable(vm, lineText(), true);
      return;
    }
    case 33: { // ! bulk error (RESP3)
      const n = readInt();
      const s = Buffer.from(buf.buffer, buf.byteOffset + pos, n).toString('latin1');
      pos += n + 2;
      pushErrorTable(vm, s, true);
      return;
    }
    case 42: // * array
    case 62: { // > push
      const n = readInt();
      if (n < 0) {
        vm.pushboolean(false);
        return;
      }
      vm.createtable(n, 0);
      for (let i = 1; i <= n; i++) {
        pushValue();
        vm.rawseti(-2, i);
      }
      return;
    }
    case 37: { // % map
      const n = readInt();
      vm.createtable(0, 1);
      vm.createtable(0, n);
      for (let i = 0; i < n; i++) {
        pushValue();
        pushValue();
        vm.rawset(-3);
      }
      vm.setfield(-2, 'map');
      return;
    }
    case 126: { // ~ set
      const n = readInt();
      vm.createtable(0, 1);
      vm.createtable(0, n);
      for (let i = 0; i < n; i++) {
        pushValue();
        vm.pushboolean(true);
        vm.rawset(-3);
      }
      vm.setfield(-2, 'set');
      return;
    }
    case 95: // _ null
      pos = lineEnd() + 2;
      vm.pushnil();
      return;
    case 35: { // # boolean
      const t = buf[pos + 1] === 116;
      pos = lineEnd() + 2;
      vm.pushboolean(t);
      return;
    }
    case 44: { // , double
      const s = lineText();
      vm.createtable(0, 1);
      vm.pushnumber(s === 'inf' ? Infinity : s === '-inf' ? -Infinity : s === 'nan' ? NaN : Number(s));
      vm.setfield(-2, 'double');
      return;
    }
    case 40: { // ( big number
      const end = lineEnd();
      vm.createtable(0, 1);
      vm.pushbytes(buf, pos + 1, end - pos - 1);
      vm.setfield(-2, 'big_number');
      pos = end + 2;
      return;
    }
    case 61: { // = verbatim
      const n = readInt();
      vm.createtable(0, 1);
      vm.createtable(0, 2);
      vm.pushbytes(buf, pos, 3);
      vm.setfield(-2, 'format');
      vm.pushbytes(buf, pos + 4, n - 4);
      vm.setfield(-2, 'string');
      vm.setfield(-2, 'verbatim_string');
      pos += n + 2;
      return;
    }
    case 124: { // | attribute: parsed and dropped, then the value it annotates
      const n = readInt();
      for (let i = 0; i < 2 * n; i++) {
        pushValue();
        vm.settop(-2);
      }
      pushValue();
      return;
    }
    default:
      // Not a reply a command writes: nil, as Redis does for what it cannot convert.
      pos = lineEnd() + 2;
      vm.pushnil();
  }
}
