// struct (Roberto Ierusalimschy's struct 0.2, as Redis 7.0 bundles it): pack(fmt, ...),
// unpack(fmt, s [, i]) (values, then the next position), size(fmt). Formats: < > ! (endianness,
// alignment), b B h H l L T i[n] I[n] (integers of 1, 2, 8, 8, n bytes), f d, c[n] s x, spaces.
// Native is little-endian with 8-byte longs (x86-64), as on the servers Redis runs on.

import { T_NUMBER, T_STRING, type LuaVm } from './lua-vm.js';
import { LibError, type LibFn } from './lib-support.js';

const MAXINTSIZE = 32;
const MAXALIGN = 8;

interface Header {
  little: boolean;
  align: number;
}

let fmt = '';
let fi = 0;

function getnum(df: number): number {
  const c = fmt.charCodeAt(fi);
  if (!(c >= 48 && c <= 57)) return df;
  let a = 0;
  while (fi < fmt.length && fmt.charCodeAt(fi) >= 48 && fmt.charCodeAt(fi) <= 57) {
    a = a * 10 + (fmt.charCodeAt(fi++) - 48);
    if (a > 2147483647) throw new LibError('integral size overflow');
  }
  return a;
}

function optsize(opt: string): number {
  switch (opt) {
    case 'B': case 'b': return 1;
    case 'H': case 'h': return 2;
    case 'L': case 'l': case 'T': return 8;
    case 'f': return 4;
    case 'd': return 8;
    case 'x': return 1;
    case 'c': return getnum(1);
    case 'i': case 'I': {
      const sz = getnum(4);
      if (sz > MAXINTSIZE) throw new LibError(`integral size ${sz} is larger than limit of ${MAXINTSIZE}`);
      return sz;
    }
    default: return 0;
  }
}

function gettoalign(len: number, h: Header, opt: string, size: number): number {
  if (size === 0 || opt === 'c') return 0;
  if (size > h.align) size = h.align;
  return (size - (len & (size - 1))) & (size - 1);
}

function controloptions(opt: string, h: Header, fname: string): void {
  switch (opt) {
    case ' ': return;
    case '>': h.little = false; return;
    case '<': h.little = true; return;
    case '!': {
      const a = getnum(MAXALIGN);
      if ((a & (a - 1)) !== 0) throw new LibError(`alignment ${a} is not a power of 2`);
      h.align = a;
      return;
    }
    default:
      throw new LibError(`bad argument #1 to '${fname}' (invalid format option '${opt}')`);
  }
}

function checknumber(L: LuaVm, arg: number, fname: string): number {
  if (L.type(arg) === T_NUMBER) return L.tonumber(arg);
  if (L.type(arg) === T_STRING) {
    const n = Number(L.tostring(arg).trim());
    if (!Number.isNaN(n)) return n;
  }
  throw new LibError(`bad argument #${arg} to '${fname}' (number expected, got ${L.gettop() < arg ? 'no value' : 'non-number'})`);
}

function checkstring(L: LuaVm, arg: number, fname: string): Uint8Array {
  const t = L.type(arg);
  if (t !== T_STRING && t !== T_NUMBER) {
    throw new LibError(`bad argument #${arg} to '${fname}' (string expected, got ${L.gettop() < arg ? 'no value' : 'non-string'})`);
  }
  return L.tobytes(arg);
}

function pack(L: LuaVm): number {
  fmt = Buffer.from(checkstring(L, 1, 'pack')).toString('latin1');
  fi = 0;
  const h: Header = { little: true, align: 1 };
  const parts: number[] = [];
  let arg = 2;
  let total = 0;
  while (fi < fmt.length) {
    const opt = fmt[fi++]!;
    let size = optsize(opt);
    let toalign = gettoalign(total, h, opt, size);
    total += toalign;
    while (toalign-- > 0) parts.push(0);
    switch (opt) {
      case 'b': case 'B': case 'h': case 'H': case 'l': case 'L': case 'T': case 'i': case 'I': {
        const n = checknumber(L, arg++, 'pack');
        // (Uinttype)(Inttype)n for negatives, (Uinttype)n otherwise: 64 bits, then size bytes.
        let v = BigInt.asUintN(64, BigInt(Math.trunc(Number.isFinite(n) ? n : 0)));
        const bytes: number[] = [];
        for (let i = 0; i < size; i++) {
          bytes.push(Number(v & 0xffn));
          v >>= 8n;
        }
        if (!h.little) bytes.reverse();
        parts.push(...bytes);
        break;
      }
      case 'x':
        parts.push(0);
        break;
      case 'f': case 'd': {
        const n = checknumber(L, arg++, 'pack');
        const b = Buffer.alloc(size);
        if (opt === 'f') {
          if (h.little) b.writeFloatLE(n);
          else b.writeFloatBE(n);
        } else if (h.little) b.writeDoubleLE(n);
        else b.writeDoubleBE(n);
        parts.push(...b);
        break;
      }
      case 'c': case 's': {
        const s = checkstring(L, arg, 'pack');
        arg++;
        if (size === 0) size = s.length;
        if (s.length < size) throw new LibError(`bad argument #${arg} to 'pack' (string too short)`);
        for (let i = 0; i < size; i++) parts.push(s[i]!);
        if (opt === 's') {
          parts.push(0);
          size++;
        }
        break;
      }
      default:
        controloptions(opt, h, 'pack');
    }
    total += size;
  }
  const out = Uint8Array.from(parts);
  L.pushbytes(out, 0, out.length);
  return 1;
}

function unpack(L: LuaVm): number {
  fmt = Buffer.from(checkstring(L, 1, 'unpack')).toString('latin1');
  fi = 0;
  const data = Uint8Array.from(checkstring(L, 2, 'unpack'));
  const ld = data.length;
  let pos = (L.type(3) === T_NUMBER ? Math.trunc(L.tonumber(3)) : 1) - 1;
  if (pos < 0 || pos > ld) throw new LibError("bad argument #3 to 'unpack' (offset must be 1 or greater)");
  const h: Header = { little: true, align: 1 };
  L.settop(0);
  let n = 0;
  const tooShort = (): never => {
    throw new LibError("bad argument #2 to 'unpack' (data string too short)");
  };
  while (fi < fmt.length) {
    const opt = fmt[fi++]!;
    let size = optsize(opt);
    pos += gettoalign(pos, h, opt, size);
    if (!(size <= ld && pos <= ld - size)) tooShort();
    switch (opt) {
      case 'b': case 'B': case 'h': case 'H': case 'l': case 'L': case 'T': case 'i': case 'I': {
        let v = 0n;
        for (let i = 0; i < size; i++) {
          const byte = data[h.little ? pos + size - 1 - i : pos + i]!;
          v = ((v << 8n) | BigInt(byte)) & 0xffffffffffffffffn;
        }
        const signed = opt === opt.toLowerCase();
        if (signed && size > 0) {
          const mask = (0xffffffffffffffffn << BigInt(Math.min(size * 8 - 1, 64))) & 0xffffffffffffffffn;
          if ((v & mask) !== 0n) v |= mask;
          v = BigInt.asIntN(64, v);
        }
        // lua_pushnumber: a double, pushed as an integer when exact so that it prints as 5.1.
        const x = Number(v);
        if (Number.isSafeInteger(x)) L.pushinteger(x);
        else L.pushnumber(x);
        n++;
        break;
      }
      case 'x':
        break;
      case 'f': case 'd': {
        const b = Buffer.from(data.buffer, data.byteOffset + pos, size);
        const x = opt === 'f' ? (h.little ? b.readFloatLE() : b.readFloatBE()) : h.little ? b.readDoubleLE() : b.readDoubleBE();
        L.pushnumber(x);
        n++;
        break;
      }
      case 'c': {
        if (size === 0) {
          if (n === 0 || L.type(-1) !== T_NUMBER) throw new LibError("format 'c0' needs a previous size");
          size = Math.trunc(L.tonumber(-1));
          L.settop(-2);
          n--;
          if (!(size <= ld && pos <= ld - size)) tooShort();
        }
        L.pushbytes(data, pos, size);
        n++;
        break;
      }
      case 's': {
        const e = data.indexOf(0, pos);
        if (e < 0) throw new LibError('unfinished string in data');
        size = e - pos + 1;
        L.pushbytes(data, pos, size - 1);
        n++;
        break;
      }
      default:
        controloptions(opt, h, 'unpack');
    }
    pos += size;
  }
  L.pushinteger(pos + 1);
  return n + 1;
}

function size(L: LuaVm): number {
  fmt = Buffer.from(checkstring(L, 1, 'size')).toString('latin1');
  fi = 0;
  const h: Header = { little: true, align: 1 };
  let pos = 0;
  while (fi < fmt.length) {
    const opt = fmt[fi++]!;
    const sz = optsize(opt);
    pos += gettoalign(pos, h, opt, sz);
    if (opt === 's') throw new LibError("bad argument #1 to 'size' (option 's' has no fixed size)");
    if (opt === 'c' && sz === 0) throw new LibError("bad argument #1 to 'size' (option 'c0' has no fixed size)");
    if (!/[A-Za-z0-9]/.test(opt)) controloptions(opt, h, 'size');
    pos += sz;
  }
  L.pushinteger(pos);
  return 1;
}

export function installStruct(L: LuaVm, define: (name: string, fn: LibFn) => void): void {
  void L;
  define('pack', pack);
  define('unpack', unpack);
  define('size', size);
}
