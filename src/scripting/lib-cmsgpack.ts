// cmsgpack (lua-cmsgpack as Redis 7.0 bundles it): pack(...) encodes each argument and
// concatenates them; unpack(s) returns every value; unpack_one / unpack_limit return the next
// offset (-1 at the end) first. Integral numbers become the smallest integer type, other numbers
// float32 when exact, else float64; a table whose keys are exactly 1..n is an array, else a map.

import { T_BOOLEAN, T_NUMBER, T_STRING, T_TABLE, type LuaVm } from './lua-vm.js';
import { LibError, type LibFn } from './lib-support.js';

const MAX_NESTING = 16;

let out = Buffer.allocUnsafe(4096);
let len = 0;

function need(n: number): void {
  if (len + n <= out.length) return;
  let size = out.length * 2;
  while (size < len + n) size *= 2;
  const next = Buffer.allocUnsafe(size);
  out.copy(next, 0, 0, len);
  out = next;
}

function byte(b: number): void {
  need(1);
  out[len++] = b;
}

function encodeInt(n: number): void {
  need(9);
  if (n >= 0) {
    if (n <= 127) out[len++] = n;
    else if (n <= 0xff) { out[len++] = 0xcc; out[len++] = n; }
    else if (n <= 0xffff) { out[len++] = 0xcd; out.writeUInt16BE(n, len); len += 2; }
    else if (n <= 0xffffffff) { out[len++] = 0xce; out.writeUInt32BE(n, len); len += 4; }
    else { out[len++] = 0xcf; out.writeBigUInt64BE(BigInt(n), len); len += 8; }
  } else {
    if (n >= -32) out[len++] = n & 0xff;
    else if (n >= -128) { out[len++] = 0xd0; out.writeInt8(n, len); len += 1; }
    else if (n >= -32768) { out[len++] = 0xd1; out.writeInt16BE(n, len); len += 2; }
    else if (n >= -2147483648) { out[len++] = 0xd2; out.writeInt32BE(n, len); len += 4; }
    else { out[len++] = 0xd3; out.writeBigInt64BE(BigInt(n), len); len += 8; }
  }
}

function encodeNumber(x: number): void {
  if (Number.isInteger(x) && x >= -(2 ** 63) && x < 2 ** 63) {
    encodeInt(x);
    return;
  }
  need(9);
  if (Math.fround(x) === x || Number.isNaN(x)) {
    out[len++] = 0xca;
    out.writeFloatBE(x, len);
    len += 4;
  } else {
    out[len++] = 0xcb;
    out.writeDoubleBE(x, len);
    len += 8;
  }
}

function encodeBytes(b: Uint8Array): void {
  const n = b.length;
  need(n + 5);
  if (n < 32) out[len++] = 0xa0 | n;
  else if (n <= 0xff) { out[len++] = 0xd9; out[len++] = n; }
  else if (n <= 0xffff) { out[len++] = 0xda; out.writeUInt16BE(n, len); len += 2; }
  else { out[len++] = 0xdb; out.writeUInt32BE(n, len); len += 4; }
  out.set(b, len);
  len += n;
}

function header(n: number, fix: number, b16: number, b32: number): void {
  need(5);
  if (n < 16) out[len++] = fix | n;
  else if (n <= 0xffff) { out[len++] = b16; out.writeUInt16BE(n, len); len += 2; }
  else { out[len++] = b32; out.writeUInt32BE(n, len); len += 4; }
}

/** Encodes the value at the top (left there). */
function encodeValue(L: LuaVm, level: number): void {
  switch (L.type(-1)) {
    case T_STRING: encodeBytes(L.tobytes(-1)); return;
    case T_NUMBER: encodeNumber(L.tonumber(-1)); return;
    case T_BOOLEAN: byte(L.toboolean(-1) ? 0xc3 : 0xc2); return;
    case T_TABLE:
      // Past the nesting limit lua-cmsgpack writes nil.
      if (level >= MAX_NESTING) byte(0xc0);
      else encodeTable(L, level + 1);
      return;
    default: byte(0xc0);
  }
}

function encodeTable(L: LuaVm, level: number): void {
  let count = 0;
  let max = 0;
  let isArray = true;
  L.pushnil();
  while (L.next(-2)) {
    L.settop(-2);
    count++;
    if (L.type(-1) === T_NUMBER) {
      const k = L.tonumber(-1);
      if (Number.isInteger(k) && k >= 1) {
        if (k > max) max = k;
        continue;
      }
    }
    isArray = false;
  }
  if (isArray && max === count) {
    header(count, 0x90, 0xdc, 0xdd);
    for (let i = 1; i <= count; i++) {
      L.rawgeti(-1, i);
      encodeValue(L, level);
      L.settop(-2);
    }
    return;
  }
  header(count, 0x80, 0xde, 0xdf);
  L.pushnil();
  while (L.next(-2)) {
    L.pushvalue(-2);
    encodeValue(L, level);
    L.settop(-2);
    encodeValue(L, level);
    L.settop(-2);
  }
}

// ---- decoding ------------------------------------------------------------------------------

let src = new Uint8Array(0);
let view = new DataView(src.buffer);
let pos = 0;

function take(n: number): number {
  if (pos + n > src.length) throw new LibError('Missing bytes in input.');
  const p = pos;
  pos += n;
  return p;
}

function pushInt(L: LuaVm, n: number | bigint): void {
  const x = Number(n);
  if (Number.isSafeInteger(x)) L.pushinteger(x);
  else L.pushnumber(x);
}

function decodeArray(L: LuaVm, n: number): void {
  L.createtable(n, 0);
  for (let i = 1; i <= n; i++) {
    decodeValue(L);
    L.rawseti(-2, i);
  }
}

function decodeMap(L: LuaVm, n: number): void {
  L.createtable(0, n);
  for (let i = 0; i < n; i++) {
    decodeValue(L);
    decodeValue(L);
    L.rawset(-3);
  }
}

function pushRaw(L: LuaVm, n: number): void {
  const p = take(n);
  L.pushbytes(src, p, n);
}

function decodeValue(L: LuaVm): void {
  const c = src[take(1)]!;
  if (c <= 0x7f) return pushInt(L, c);
  if (c >= 0xe0) return pushInt(L, c - 256);
  if ((c & 0xe0) === 0xa0) return pushRaw(L, c & 0x1f);
  if ((c & 0xf0) === 0x90) return decodeArray(L, c & 0x0f);
  if ((c & 0xf0) === 0x80) return decodeMap(L, c & 0x0f);
  switch (c) {
    case 0xc0: L.pushnil(); return;
    case 0xc2: L.pushboolean(false); return;
    case 0xc3: L.pushboolean(true); return;
    case 0xca: L.pushnumber(view.getFloat32(take(4))); return;
    case 0xcb: L.pushnumber(view.getFloat64(take(8))); return;
    case 0xcc: return pushInt(L, src[take(1)]!);
    case 0xcd: return pushInt(L, view.getUint16(take(2)));
    case 0xce: return pushInt(L, view.getUint32(take(4)));
    case 0xcf: return pushInt(L, view.getBigUint64(take(8)));
    case 0xd0: return pushInt(L, view.getInt8(take(1)));
    case 0xd1: return pushInt(L, view.getInt16(take(2)));
    case 0xd2: return pushInt(L, view.getInt32(take(4)));
    case 0xd3: return pushInt(L, view.getBigInt64(take(8)));
    case 0xc4: case 0xd9: return pushRaw(L, src[take(1)]!);
    case 0xc5: case 0xda: return pushRaw(L, view.getUint16(take(2)));
    case 0xc6: case 0xdb: return pushRaw(L, view.getUint32(take(4)));
    case 0xdc: return decodeArray(L, view.getUint16(take(2)));
    case 0xdd: return decodeArray(L, view.getUint32(take(4)));
    case 0xde: return decodeMap(L, view.getUint16(take(2)));
    case 0xdf: return decodeMap(L, view.getUint32(take(4)));
    default: throw new LibError('Bad data format in input.');
  }
}

/** lua-cmsgpack's mp_unpack_full: up to `limit` values (0: all) from `offset`. */
function unpackFull(L: LuaVm, limit: number, offset: number): number {
  const bytes = L.tobytes(1);
  src = Uint8Array.from(bytes);
  view = new DataView(src.buffer);
  if (offset < 0 || limit < 0) throw new LibError('Invalid request to unpack with offset of ' + offset + ' and limit of ' + limit + '.');
  if (offset > src.length) throw new LibError('Start offset ' + offset + ' greater than input length ' + src.length + '.');
  pos = offset;
  L.settop(0);
  let n = 0;
  while (pos < src.length && (limit === 0 || n < limit)) {
    decodeValue(L);
    n++;
  }
  if (limit > 0) {
    L.pushinteger(pos >= src.length ? -1 : pos);
    L.insert(1);
    n++;
  }
  return n;
}

export function installMsgpack(L: LuaVm, define: (name: string, fn: LibFn) => void): void {
  define('pack', (vm) => {
    const n = vm.gettop();
    if (n === 0) throw new LibError("bad argument #0 to 'pack' (MessagePack pack needs input.)");
    len = 0;
    for (let i = 1; i <= n; i++) {
      vm.pushvalue(i);
      encodeValue(vm, 0);
      vm.settop(-2);
    }
    vm.pushbytes(out, 0, len);
    return 1;
  });
  const str = (vm: LuaVm, fname: string): void => {
    if (vm.type(1) !== T_STRING) throw new LibError(`bad argument #1 to '${fname}' (string expected, got ${vm.gettop() < 1 ? 'no value' : 'non-string'})`);
  };
  const int = (vm: LuaVm, i: number): number => (vm.type(i) === T_NUMBER ? Math.trunc(vm.tonumber(i)) : 0);
  define('unpack', (vm) => {
    str(vm, 'unpack');
    return unpackFull(vm, 0, 0);
  });
  define('unpack_one', (vm) => {
    str(vm, 'unpack_one');
    return unpackFull(vm, 1, int(vm, 2));
  });
  define('unpack_limit', (vm) => {
    str(vm, 'unpack_limit');
    return unpackFull(vm, int(vm, 2), int(vm, 3));
  });
  for (const [k, v] of [
    ['_NAME', 'cmsgpack'],
    ['_VERSION', 'lua-cmsgpack 0.4.0'],
    ['_COPYRIGHT', 'Copyright (C) 2012, Salvatore Sanfilippo'],
    ['_DESCRIPTION', 'MessagePack C implementation for Lua'],
  ] as const) {
    L.pushstring(v);
    L.setfield(-2, k);
  }
}
