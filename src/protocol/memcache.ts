// memcached's wire formats (binary protocol and the text/meta protocol of memcached 1.6): opcodes,
// status codes and their texts, the 24-byte binary header, and small encoders. Knows nothing of
// the server. All multi-byte binary fields are big-endian. Texts are memcached 1.6.18's, byte for
// byte (checked against a running memcached by test/e2e/memcache-*.test.ts).

export const REQ_MAGIC = 0x80;
export const RES_MAGIC = 0x81;
export const HEADER_BYTES = 24;
/** memcached's KEY_MAX_LENGTH. */
export const KEY_MAX_BYTES = 250;
/** Bytes memcached adds to key + value when it checks an item against the item size limit
 * (item header 48, key terminator 1, value CRLF 2, CAS 8). */
export const ITEM_OVERHEAD_BYTES = 59;
/** Relative expiry times above this many seconds (30 days) are absolute Unix times. */
export const REALTIME_MAXDELTA_S = 60 * 60 * 24 * 30;
/** The version both protocols report. */
export const MEMCACHE_VERSION = '1.6.18';

// Header offsets.
export const H_MAGIC = 0;
export const H_OPCODE = 1;
export const H_KEYLEN = 2;
export const H_EXTLEN = 4;
export const H_DATATYPE = 5;
export const H_STATUS = 6; // response; vbucket id in requests
export const H_BODYLEN = 8;
export const H_OPAQUE = 12;
export const H_CAS = 16;

export const OP = {
  GET: 0x00,
  SET: 0x01,
  ADD: 0x02,
  REPLACE: 0x03,
  DELETE: 0x04,
  INCREMENT: 0x05,
  DECREMENT: 0x06,
  QUIT: 0x07,
  FLUSH: 0x08,
  GETQ: 0x09,
  NOOP: 0x0a,
  VERSION: 0x0b,
  GETK: 0x0c,
  GETKQ: 0x0d,
  APPEND: 0x0e,
  PREPEND: 0x0f,
  STAT: 0x10,
  SETQ: 0x11,
  ADDQ: 0x12,
  REPLACEQ: 0x13,
  DELETEQ: 0x14,
  INCREMENTQ: 0x15,
  DECREMENTQ: 0x16,
  QUITQ: 0x17,
  FLUSHQ: 0x18,
  APPENDQ: 0x19,
  PREPENDQ: 0x1a,
  VERBOSITY: 0x1b,
  TOUCH: 0x1c,
  GAT: 0x1d,
  GATQ: 0x1e,
  SASL_LIST_MECHS: 0x20,
  SASL_AUTH: 0x21,
  SASL_STEP: 0x22,
  GATK: 0x23,
  GATKQ: 0x24,
} as const;

export const STATUS = {
  OK: 0x00,
  KEY_ENOENT: 0x01,
  KEY_EEXISTS: 0x02,
  E2BIG: 0x03,
  EINVAL: 0x04,
  NOT_STORED: 0x05,
  DELTA_BADVAL: 0x06,
  AUTH_ERROR: 0x20,
  AUTH_CONTINUE: 0x21,
  UNKNOWN_COMMAND: 0x81,
  ENOMEM: 0x82,
  /** An ACL denial (the body carries Redis's NOPERM text): not AUTH_ERROR, which clients such as
   * memjs take for a failed login and answer by dropping the connection. */
  NOT_SUPPORTED: 0x83,
  /** Temporary failure: the server refuses for now (a read-only replica, loading, no replicas). */
  ETMPFAIL: 0x86,
} as const;

/** The body memcached sends with each error status (write_bin_error). */
export function statusText(status: number): string {
  switch (status) {
    case STATUS.ENOMEM: return 'Out of memory';
    case STATUS.UNKNOWN_COMMAND: return 'Unknown command';
    case STATUS.KEY_ENOENT: return 'Not found';
    case STATUS.EINVAL: return 'Invalid arguments';
    case STATUS.KEY_EEXISTS: return 'Data exists for key.';
    case STATUS.E2BIG: return 'Too large.';
    case STATUS.DELTA_BADVAL: return 'Non-numeric server-side value for incr or decr';
    case STATUS.NOT_STORED: return 'Not stored.';
    case STATUS.AUTH_ERROR: return 'Auth failure.';
    default: return 'UNHANDLED ERROR';
  }
}

/** The base operation of a quiet opcode (GETQ -> GET ...), or the opcode itself. */
export function baseOpcode(op: number): number {
  switch (op) {
    case OP.GETQ: return OP.GET;
    case OP.GETKQ: return OP.GETK;
    case OP.SETQ: return OP.SET;
    case OP.ADDQ: return OP.ADD;
    case OP.REPLACEQ: return OP.REPLACE;
    case OP.DELETEQ: return OP.DELETE;
    case OP.INCREMENTQ: return OP.INCREMENT;
    case OP.DECREMENTQ: return OP.DECREMENT;
    case OP.QUITQ: return OP.QUIT;
    case OP.FLUSHQ: return OP.FLUSH;
    case OP.APPENDQ: return OP.APPEND;
    case OP.PREPENDQ: return OP.PREPEND;
    case OP.GATQ: return OP.GAT;
    case OP.GATKQ: return OP.GATK;
    default: return op;
  }
}

export function isQuiet(op: number): boolean {
  return baseOpcode(op) !== op;
}

/** Names for statistics (memcached's own command names where they exist). */
export function opcodeName(op: number): string {
  switch (baseOpcode(op)) {
    case OP.GET: case OP.GETK: return 'get';
    case OP.SET: return 'set';
    case OP.ADD: return 'add';
    case OP.REPLACE: return 'replace';
    case OP.DELETE: return 'delete';
    case OP.INCREMENT: return 'incr';
    case OP.DECREMENT: return 'decr';
    case OP.QUIT: return 'quit';
    case OP.FLUSH: return 'flush';
    case OP.NOOP: return 'noop';
    case OP.VERSION: return 'version';
    case OP.APPEND: return 'append';
    case OP.PREPEND: return 'prepend';
    case OP.STAT: return 'stat';
    case OP.VERBOSITY: return 'verbosity';
    case OP.TOUCH: return 'touch';
    case OP.GAT: case OP.GATK: return 'gat';
    case OP.SASL_LIST_MECHS: case OP.SASL_AUTH: case OP.SASL_STEP: return 'sasl';
    default: return 'unknown';
  }
}

/** Writes a response header at dst[p..p+24). */
export function writeResponseHeader(
  dst: Uint8Array,
  p: number,
  opcode: number,
  keyLen: number,
  extLen: number,
  status: number,
  bodyLen: number,
  opaque: number,
  cas: number,
): void {
  dst[p] = RES_MAGIC;
  dst[p + 1] = opcode;
  dst[p + 2] = keyLen >>> 8;
  dst[p + 3] = keyLen & 0xff;
  dst[p + 4] = extLen;
  dst[p + 5] = 0;
  dst[p + 6] = status >>> 8;
  dst[p + 7] = status & 0xff;
  writeU32(dst, p + 8, bodyLen);
  writeU32(dst, p + 12, opaque);
  writeU32(dst, p + 16, Math.floor(cas / 4294967296));
  writeU32(dst, p + 20, cas >>> 0);
}

export function writeU32(dst: Uint8Array, p: number, v: number): void {
  dst[p] = v >>> 24;
  dst[p + 1] = (v >>> 16) & 0xff;
  dst[p + 2] = (v >>> 8) & 0xff;
  dst[p + 3] = v & 0xff;
}

export function readU32(src: Uint8Array, p: number): number {
  return ((src[p]! << 24) >>> 0) + (src[p + 1]! << 16) + (src[p + 2]! << 8) + src[p + 3]!;
}

export function readU16(src: Uint8Array, p: number): number {
  return (src[p]! << 8) | src[p + 1]!;
}

/** A 64-bit big-endian field as a number when below 2^53, else as a bigint. */
export function readU64(src: Uint8Array, p: number): number | bigint {
  const hi = readU32(src, p);
  const lo = readU32(src, p + 4);
  if (hi < 0x200000) return hi * 4294967296 + lo;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

export function writeU64(dst: Uint8Array, p: number, v: number | bigint): void {
  if (typeof v === 'number') {
    writeU32(dst, p, Math.floor(v / 4294967296));
    writeU32(dst, p + 4, v >>> 0);
  } else {
    writeU32(dst, p, Number((v >> 32n) & 0xffffffffn));
    writeU32(dst, p + 4, Number(v & 0xffffffffn));
  }
}

/** A complete response with no extras or key whose body is `text` (errors, VERSION). */
export function textResponse(opcode: number, status: number, opaque: number, text: string): Buffer {
  const body = Buffer.from(text, 'latin1');
  const b = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  writeResponseHeader(b, 0, opcode, 0, 0, status, body.length, opaque, 0);
  body.copy(b, HEADER_BYTES);
  return b;
}

/** A request refused by the server's admission (Redis's error text, e.g. READONLY ...): in the
 * binary protocol a temporary failure with the text as body, in text and meta `SERVER_ERROR`. */
export function refusalResponse(binary: boolean, opcode: number, opaque: number, text: string): Buffer {
  return binary ? textResponse(opcode, STATUS.ETMPFAIL, opaque, text) : Buffer.from(`SERVER_ERROR ${text}\r\n`, 'latin1');
}

/** The error response memcached sends for `status` (its text as body). */
export function errorResponse(opcode: number, status: number, opaque: number): Buffer {
  return textResponse(opcode, status, opaque, status === STATUS.OK ? '' : statusText(status));
}

/** One STAT response packet (key = name, value = text); an empty name ends the list. */
export function statResponse(opaque: number, name: string, value: string): Buffer {
  const k = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  const b = Buffer.allocUnsafe(HEADER_BYTES + k.length + v.length);
  writeResponseHeader(b, 0, OP.STAT, k.length, 0, 0, k.length + v.length, opaque, 0);
  k.copy(b, HEADER_BYTES);
  v.copy(b, HEADER_BYTES + k.length);
  return b;
}

// ---- text protocol ----------------------------------------------------------------------------

export const TEXT = {
  stored: 'STORED\r\n',
  notStored: 'NOT_STORED\r\n',
  exists: 'EXISTS\r\n',
  notFound: 'NOT_FOUND\r\n',
  deleted: 'DELETED\r\n',
  touched: 'TOUCHED\r\n',
  end: 'END\r\n',
  ok: 'OK\r\n',
  error: 'ERROR\r\n',
  badFormat: 'CLIENT_ERROR bad command line format\r\n',
  badChunk: 'CLIENT_ERROR bad data chunk\r\n',
  tooLarge: 'SERVER_ERROR object too large for cache\r\n',
  outOfMemory: 'SERVER_ERROR out of memory storing object\r\n',
  nonNumeric: 'CLIENT_ERROR cannot increment or decrement non-numeric value\r\n',
  invalidDelta: 'CLIENT_ERROR invalid numeric delta argument\r\n',
  deleteUsage: 'CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n',
  invalidFlag: 'CLIENT_ERROR invalid flag\r\n',
  lineTooLong: 'CLIENT_ERROR line too long\r\n',
  authRequired: 'CLIENT_ERROR unauthenticated\r\n',
  serverError: 'SERVER_ERROR internal error\r\n',
  mn: 'MN\r\n',
  en: 'EN\r\n',
  hd: 'HD',
  nf: 'NF',
  ns: 'NS',
  ex: 'EX',
} as const;

/** Parses an unsigned decimal of at most 20 digits as memcached's safe_strtoull does for
 * arguments (no sign, no spaces); returns a number below 2^53, a bigint above, or null. */
export function parseU64(buf: Uint8Array, off: number, len: number): number | bigint | null {
  if (len === 0 || len > 20) return null;
  let n = 0;
  for (let i = 0; i < len; i++) {
    const d = buf[off + i]! - 48;
    if (d < 0 || d > 9) return null;
    n = n * 10 + d;
  }
  if (Number.isSafeInteger(n)) return n;
  const b = BigInt(Buffer.from(buf.buffer, buf.byteOffset + off, len).toString('latin1'));
  return b > 0xffffffffffffffffn ? null : b;
}

/** Parses a decimal that fits in 32 bits, signed or not (memcached's safe_strtol/strtoul);
 * NaN when it is not one. */
export function parseI32(buf: Uint8Array, off: number, len: number, signed: boolean): number {
  if (len === 0 || len > 11) return NaN;
  let i = 0;
  let neg = false;
  if (signed && buf[off] === 45) {
    neg = true;
    i = 1;
    if (len === 1) return NaN;
  }
  let n = 0;
  for (; i < len; i++) {
    const d = buf[off + i]! - 48;
    if (d < 0 || d > 9) return NaN;
    n = n * 10 + d;
  }
  if (neg) n = -n;
  if (signed ? n < -2147483648 || n > 2147483647 : n > 4294967295) return NaN;
  return n;
}
