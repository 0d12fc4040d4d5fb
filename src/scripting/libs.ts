// The libraries Redis 7.0 loads into its Lua state, written in JS over the LuaVm: cjson (lua-cjson
// 2.1's encode/decode rules and error texts), bit (LuaBitOp), and the cmsgpack / struct tables.
// A library function that fails raises its message with the caller's line in front, as a C
// library's luaL_error does in Redis ("user_script:1: ...").

import { T_BOOLEAN, T_LIGHTUSERDATA, T_NIL, T_NUMBER, T_STRING, T_TABLE, type LuaVm } from './lua-vm.js';
import { installMsgpack } from './lib-cmsgpack.js';
import { LibError, type LibFn } from './lib-support.js';
import { installStruct } from './lib-struct.js';

const TYPE_NAMES = ['nil', 'boolean', 'userdata', 'number', 'string', 'table', 'function', 'userdata', 'thread'];

// ---- output buffer shared by the encoders --------------------------------------------------

let out = Buffer.allocUnsafe(4096);
let outLen = 0;

function need(n: number): void {
  if (outLen + n <= out.length) return;
  let size = out.length * 2;
  while (size < outLen + n) size *= 2;
  const next = Buffer.allocUnsafe(size);
  out.copy(next, 0, 0, outLen);
  out = next;
}

function putAscii(s: string): void {
  need(s.length);
  outLen += out.write(s, outLen, 'latin1');
}

function putByte(b: number): void {
  need(1);
  out[outLen++] = b;
}


/** "%.14g" as C prints it (cjson's encode_number_precision 14). */
export function formatG14(n: number): string {
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const [m, x] = n.toExponential(13).split('e') as [string, string];
  const e = Number(x);
  if (e < -4 || e >= 14) {
    const mant = m.includes('.') ? m.replace(/0+$/, '').replace(/\.$/, '') : m;
    return `${mant}e${e < 0 ? '-' : '+'}${Math.abs(e) < 10 ? '0' : ''}${Math.abs(e)}`;
  }
  const f = n.toFixed(Math.max(0, 13 - e));
  return f.includes('.') ? f.replace(/0+$/, '').replace(/\.$/, '') : f;
}

// ---- cjson ---------------------------------------------------------------------------------

const MAX_DEPTH = 1000;
const HEX = '0123456789abcdef';

function encodeString(b: Uint8Array): void {
  need(b.length * 6 + 2);
  out[outLen++] = 34;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 34 || c === 92 || c === 47) {
      out[outLen++] = 92;
      out[outLen++] = c;
    } else if (c < 32 || c === 127) {
      out[outLen++] = 92;
      if (c === 8) out[outLen++] = 98;
      else if (c === 12) out[outLen++] = 102;
      else if (c === 10) out[outLen++] = 110;
      else if (c === 13) out[outLen++] = 114;
      else if (c === 9) out[outLen++] = 116;
      else {
        out[outLen++] = 117;
        out[outLen++] = 48;
        out[outLen++] = 48;
        out[outLen++] = HEX.charCodeAt(c >> 4);
        out[outLen++] = HEX.charCodeAt(c & 15);
      }
    } else out[outLen++] = c;
  }
  out[outLen++] = 34;
}

function encodeNumber(x: number): void {
  if (!Number.isFinite(x)) throw new LibError('Cannot serialise number: must not be NaN or Inf');
  putAscii(formatG14(x));
}

/** Encodes the value at the top (left there). */
function encodeValue(L: LuaVm, depth: number): void {
  const t = L.type(-1);
  switch (t) {
    case T_STRING:
      encodeString(L.tobytes(-1));
      return;
    case T_NUMBER:
      encodeNumber(L.tonumber(-1));
      return;
    case T_BOOLEAN:
      putAscii(L.toboolean(-1) ? 'true' : 'false');
      return;
    case T_NIL:
      putAscii('null');
      return;
    case T_LIGHTUSERDATA:
      // cjson.null (the NULL light userdata).
      putAscii('null');
      return;
    case T_TABLE:
      encodeTable(L, depth + 1);
      return;
    default:
      throw new LibError(`Cannot serialise ${TYPE_NAMES[t] ?? 'userdata'}: type not supported`);
  }
}

function encodeTable(L: LuaVm, depth: number): void {
  if (depth > MAX_DEPTH) throw new LibError(`Cannot serialise, excessive nesting (${depth})`);
  // lua_array_length: every key a positive integer -> an array of length max.
  let max = 0;
  let items = 0;
  let isArray = true;
  L.pushnil();
  while (L.next(-2)) {
    L.settop(-2);
    if (L.type(-1) === T_NUMBER) {
      const k = L.tonumber(-1);
      if (Number.isInteger(k) && k >= 1) {
        if (k > max) max = k;
        items++;
        continue;
      }
    }
    isArray = false;
  }
  if (isArray && max > 0) {
    if (max > items * 2 && max > 10) throw new LibError('Cannot serialise table: excessively sparse array');
    putByte(91);
    for (let i = 1; i <= max; i++) {
      if (i > 1) putByte(44);
      L.rawgeti(-1, i);
      encodeValue(L, depth);
      L.settop(-2);
    }
    putByte(93);
    return;
  }
  putByte(123);
  let first = true;
  L.pushnil();
  while (L.next(-2)) {
    if (!first) putByte(44);
    first = false;
    const kt = L.type(-2);
    if (kt === T_STRING) encodeString(L.tobytes(-2));
    else if (kt === T_NUMBER) {
      putByte(34);
      encodeNumber(L.tonumber(-2));
      putByte(34);
    } else {
      throw new LibError(`Cannot serialise ${TYPE_NAMES[kt] ?? 'userdata'}: table key must be a number or string`);
    }
    putByte(58);
    encodeValue(L, depth);
    L.settop(-2);
  }
  putByte(125);
}

// cjson.decode: lua-cjson's tokenizer and messages ("Expected X but found Y at character N").
let src: Uint8Array = new Uint8Array(0);
let at = 0;
let tokStart = 0;
let tokType = '';
let tokError = '';

const T_OBJ_BEGIN: string = 'T_OBJ_BEGIN';
const T_OBJ_END: string = 'T_OBJ_END';
const T_ARR_BEGIN: string = 'T_ARR_BEGIN';
const T_ARR_END: string = 'T_ARR_END';
const T_STR: string = 'T_STRING';
const T_NUM: string = 'T_NUMBER';
const T_BOOL: string = 'T_BOOLEAN';
const T_NULL: string = 'T_NULL';
const T_COLON: string = 'T_COLON';
const T_COMMA: string = 'T_COMMA';
const T_END: string = 'T_END';
const T_ERROR: string = 'T_ERROR';

let tokNum = 0;
let tokStrStart = 0;
let tokStrBytes: number[] | null = null;
let tokBool = false;

function isWs(c: number | undefined): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

function nextToken(): void {
  while (isWs(src[at])) at++;
  tokStart = at;
  if (at >= src.length) {
    tokType = T_END;
    return;
  }
  const c = src[at]!;
  switch (c) {
    case 123: at++; tokType = T_OBJ_BEGIN; return;
    case 125: at++; tokType = T_OBJ_END; return;
    case 91: at++; tokType = T_ARR_BEGIN; return;
    case 93: at++; tokType = T_ARR_END; return;
    case 58: at++; tokType = T_COLON; return;
    case 44: at++; tokType = T_COMMA; return;
    case 34: readString(); return;
  }
  if (c === 45 || (c >= 48 && c <= 57)) {
    readNumber();
    return;
  }
  const word = (w: string): boolean => {
    for (let i = 0; i < w.length; i++) if (src[at + i] !== w.charCodeAt(i)) return false;
    return true;
  };
  if (word('true')) {
    at += 4;
    tokType = T_BOOL;
    tokBool = true;
  } else if (word('false')) {
    at += 5;
    tokType = T_BOOL;
    tokBool = false;
  } else if (word('null')) {
    at += 4;
    tokType = T_NULL;
  } else {
    tokType = T_ERROR;
    tokError = 'invalid token';
  }
}

function readNumber(): void {
  let p = at;
  const start = p;
  while (p < src.length) {
    const c = src[p]!;
    if ((c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46 || c === 101 || c === 69) p++;
    else break;
  }
  const text = Buffer.from(src.buffer, src.byteOffset + start, p - start).toString('latin1');
  const n = Number(text);
  if (text === '' || Number.isNaN(n) || !/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text)) {
    tokType = T_ERROR;
    tokError = 'invalid number';
    return;
  }
  tokNum = n;
  at = p;
  tokType = T_NUM;
}

function readString(): void {
  let p = at + 1;
  tokStrStart = p;
  tokStrBytes = null;
  for (;;) {
    if (p >= src.length) {
      tokStart = p;
      tokType = T_ERROR;
      tokError = 'unexpected end of string';
      return;
    }
    const c = src[p]!;
    if (c === 34) break;
    if (c === 92) {
      if (tokStrBytes === null) tokStrBytes = Array.from(src.subarray(tokStrStart, p));
      const e = src[p + 1];
      tokStart = p;
      p += 2;
      switch (e) {
        case 34: case 92: case 47: tokStrBytes.push(e); break;
        case 98: tokStrBytes.push(8); break;
        case 102: tokStrBytes.push(12); break;
        case 110: tokStrBytes.push(10); break;
        case 114: tokStrBytes.push(13); break;
        case 116: tokStrBytes.push(9); break;
        case 117: {
          let cp = parseHex4(p);
          if (cp < 0) return badEscape();
          p += 4;
          if (cp >= 0xd800 && cp <= 0xdbff) {
            // A surrogate pair: the low half must follow.
            if (src[p] !== 92 || src[p + 1] !== 117) return badEscape();
            const lo = parseHex4(p + 2);
            if (lo < 0xdc00 || lo > 0xdfff) return badEscape();
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            p += 6;
          } else if (cp >= 0xdc00 && cp <= 0xdfff) return badEscape();
          for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) tokStrBytes.push(b);
          break;
        }
        default:
          return badEscape();
      }
      continue;
    }
    if (tokStrBytes !== null) tokStrBytes.push(c);
    p++;
  }
  tokType = T_STR;
  tokNum = p; // end of the raw string
  at = p + 1;
}

function badEscape(): void {
  tokType = T_ERROR;
  tokError = 'invalid escape code';
}

function parseHex4(p: number): number {
  let v = 0;
  for (let i = 0; i < 4; i++) {
    const c = src[p + i];
    if (c === undefined) return -1;
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

function parseError(expected: string): never {
  const found = tokType === T_ERROR ? tokError : tokType;
  throw new LibError(`Expected ${expected} but found ${found} at character ${tokStart + 1}`);
}

function pushString(L: LuaVm): void {
  if (tokStrBytes === null) L.pushbytes(src, tokStrStart, tokNum - tokStrStart);
  else {
    const b = Uint8Array.from(tokStrBytes);
    L.pushbytes(b, 0, b.length);
  }
}

/** Pushes the value starting at the current token. */
function decodeValue(L: LuaVm, depth: number): void {
  switch (tokType) {
    case T_STR:
      pushString(L);
      return;
    case T_NUM:
      if (Number.isSafeInteger(tokNum) && !Object.is(tokNum, -0)) L.pushinteger(tokNum);
      else L.pushnumber(tokNum);
      return;
    case T_BOOL:
      L.pushboolean(tokBool);
      return;
    case T_NULL:
      pushNull(L);
      return;
    case T_OBJ_BEGIN:
      if (depth >= MAX_DEPTH) throw new LibError(`Found too many nested data structures (${depth + 1}) at character ${tokStart + 1}`);
      L.createtable(0, 4);
      nextToken();
      if (tokType === T_OBJ_END) return;
      for (;;) {
        if (tokType !== T_STR) parseError('object key string');
        pushString(L);
        nextToken();
        if (tokType !== T_COLON) parseError('colon');
        nextToken();
        decodeValue(L, depth + 1);
        L.rawset(-3);
        nextToken();
        if (tokType === T_OBJ_END) return;
        if (tokType !== T_COMMA) parseError('comma or object end');
        nextToken();
      }
    case T_ARR_BEGIN: {
      if (depth >= MAX_DEPTH) throw new LibError(`Found too many nested data structures (${depth + 1}) at character ${tokStart + 1}`);
      L.createtable(4, 0);
      nextToken();
      if (tokType === T_ARR_END) return;
      for (let i = 1; ; i++) {
        decodeValue(L, depth + 1);
        L.rawseti(-2, i);
        nextToken();
        if (tokType === T_ARR_END) return;
        if (tokType !== T_COMMA) parseError('comma or array end');
        nextToken();
      }
    }
    default:
      parseError('value');
  }
}

let pushNull: (L: LuaVm) => void = (L) => L.pushnil();

// ---- bit (LuaBitOp) --------------------------------------------------------------------------

/** LuaBitOp's barg: the number rounded to nearest (ties to even), modulo 2^32, signed. */
function tobit(x: number): number {
  let r = Math.round(x);
  if (Math.abs(x % 1) === 0.5 && r % 2 !== 0) r -= 1; // ties to even
  if (Math.abs(r) < 2 ** 31) return r | 0;
  return Number(BigInt.asIntN(32, BigInt(r)));
}

function bitArg(L: LuaVm, i: number, fname: string): number {
  const t = L.type(i);
  if (t !== T_NUMBER) {
    const got = L.gettop() < i ? 'no value' : TYPE_NAMES[t] ?? 'userdata';
    throw new LibError(`bad argument #${i} to '${fname}' (number expected, got ${got})`);
  }
  return tobit(L.tonumber(i));
}

// ---- installation ----------------------------------------------------------------------------


/** Registers fn as t[name] (t at the top). A LibError is raised with the calling line in front,
 * as luaL_error does in Redis's C libraries ("user_script:1: Cannot serialise ..."). */
function define(L: LuaVm, name: string, fn: LibFn): void {
  L.pushfunction(() => {
    try {
      return fn(L);
    } catch (e) {
      if (!(e instanceof LibError)) throw e;
      L.settop(0);
      L.pushstring(L.where(1) + e.message);
      return L.error();
    }
  });
  L.setfield(-2, name);
}

export function installLibraries(L: LuaVm): void {
  pushNull = (vm) => vm.pushnulluserdata();

  // cjson
  L.createtable(0, 16);
  define(L, 'encode', (vm) => {
    if (vm.gettop() !== 1) throw new LibError('bad argument #1 to \'encode\' (expected 1 argument)');
    outLen = 0;
    vm.settop(1);
    encodeValue(vm, 0);
    vm.pushbytes(out, 0, outLen);
    return 1;
  });
  define(L, 'decode', (vm) => {
    if (vm.gettop() !== 1) throw new LibError('bad argument #1 to \'decode\' (expected 1 argument)');
    if (vm.type(1) !== T_STRING && vm.type(1) !== T_NUMBER) {
      throw new LibError(`bad argument #1 to 'decode' (string expected, got ${TYPE_NAMES[vm.type(1)] ?? 'userdata'})`);
    }
    src = Uint8Array.from(vm.tobytes(1));
    at = 0;
    nextToken();
    decodeValue(vm, 0);
    nextToken();
    if (tokType !== T_END) parseError('the end');
    return 1;
  });
  L.pushnulluserdata();
  L.setfield(-2, 'null');
  L.pushstring('cjson');
  L.setfield(-2, '_NAME');
  L.pushstring('2.1.0');
  L.setfield(-2, '_VERSION');
  // Configuration calls: accepted, and they report the defaults Redis runs with.
  for (const [name, values] of [
    ['encode_keep_buffer', [true]],
    ['encode_max_depth', [1000]],
    ['decode_max_depth', [1000]],
    ['encode_number_precision', [14]],
    ['encode_invalid_numbers', [false]],
    ['decode_invalid_numbers', [true]],
    ['encode_sparse_array', [false, 2, 10]],
  ] as const) {
    define(L, name, (vm) => {
      for (const v of values) {
        if (typeof v === 'boolean') vm.pushboolean(v);
        else vm.pushinteger(v);
      }
      return values.length;
    });
  }
  define(L, 'new', (vm) => {
    vm.getglobal('cjson');
    return 1;
  });
  L.setglobal('cjson');

  // bit
  L.createtable(0, 12);
  const unary = (name: string, f: (a: number) => number): void =>
    define(L, name, (vm) => {
      vm.pushinteger(f(bitArg(vm, 1, name)));
      return 1;
    });
  const fold = (name: string, f: (a: number, b: number) => number): void =>
    define(L, name, (vm) => {
      let r = bitArg(vm, 1, name);
      const n = vm.gettop();
      for (let i = 2; i <= n; i++) r = f(r, bitArg(vm, i, name));
      vm.pushinteger(r | 0);
      return 1;
    });
  const shift = (name: string, f: (a: number, n: number) => number): void =>
    define(L, name, (vm) => {
      const a = bitArg(vm, 1, name);
      const n = bitArg(vm, 2, name) & 31;
      vm.pushinteger(f(a, n) | 0);
      return 1;
    });
  unary('tobit', (a) => a);
  unary('bnot', (a) => ~a);
  unary('bswap', (a) => ((a >>> 24) | ((a >> 8) & 0xff00) | ((a & 0xff00) << 8) | (a << 24)) | 0);
  fold('band', (a, b) => a & b);
  fold('bor', (a, b) => a | b);
  fold('bxor', (a, b) => a ^ b);
  shift('lshift', (a, n) => a << n);
  shift('rshift', (a, n) => a >>> n);
  shift('arshift', (a, n) => a >> n);
  shift('rol', (a, n) => (a << n) | (a >>> (32 - n)));
  shift('ror', (a, n) => (a >>> n) | (a << (32 - n)));
  define(L, 'tohex', (vm) => {
    const a = bitArg(vm, 1, 'tohex');
    let n = vm.type(2) === T_NIL || vm.gettop() < 2 ? 8 : bitArg(vm, 2, 'tohex');
    const upper = n < 0;
    if (upper) n = -n;
    if (n > 8) n = 8;
    let s = (a >>> 0).toString(16).padStart(8, '0').slice(8 - n);
    if (upper) s = s.toUpperCase();
    vm.pushstring(s);
    return 1;
  });
  L.setglobal('bit');

  L.createtable(0, 8);
  installMsgpack(L, (name, fn) => define(L, name, fn));
  L.setglobal('cmsgpack');
  L.createtable(0, 4);
  installStruct(L, (name, fn) => define(L, name, fn));
  L.setglobal('struct');
}
