// Request framing for memcached's three protocols (binary, text, meta): finds where each request
// ends in bytes that arrive in arbitrary pieces, resumably, and knows nothing of the server.
// Invariants: every length read from the wire is checked against a limit before the caller is
// asked to wait for (and so buffer) that many bytes, so a request the framer waits for is never
// larger than max(memcache item limit, LINE_MAX_GET_BYTES); the bytes of a refused request are
// discarded as they arrive (FRAME.SKIP), never buffered; the framer never reads past `end`.

import {
  H_BODYLEN, H_EXTLEN, H_KEYLEN, H_OPAQUE, H_OPCODE, HEADER_BYTES, ITEM_OVERHEAD_BYTES, KEY_MAX_BYTES, OP,
  REQ_MAGIC, STATUS, TEXT, baseOpcode, parseI32, parseU64, readU16, readU32,
} from './memcache.js';

/** A text line without a newline longer than this closes the connection (memcached's 2048). */
export const LINE_MAX_BYTES = 2048;
/** ... except a get/gets line, which may name many keys. */
export const LINE_MAX_GET_BYTES = 1024 * 1024;
/** memcached's MAX_SASL_MECH_LEN. */
export const SASL_MECH_MAX_BYTES = 32;

export const FRAME = {
  /** Nothing decided: keep the bytes from `start` and call again when more arrive. */
  NEED_MORE: 0,
  /** [start, end) are the remains of a refused request: discard them. */
  SKIP: 1,
  /** A complete binary request in [start, end); header fields are set. */
  BIN_REQUEST: 2,
  /** A binary header whose lengths are within limits, its body not all here yet (end = start):
   * the caller may refuse it now (authentication) or wait for more. */
  BIN_PENDING: 3,
  /** Answer `status` (unknown command, too large, ...); [start, end) is discarded and the rest of
   * the request is swallowed as it arrives. */
  BIN_REFUSE: 4,
  /** Lengths that do not fit the opcode, or a key over 250 bytes (`keyTooLong`): memcached
   * answers EINVAL and closes the connection. */
  BIN_INVALID: 5,
  /** A binary connection's request without the request magic: memcached closes without reply. */
  BIN_BAD_MAGIC: 6,
  /** A text command line (tokens set) in [start, lineEnd), and its data block when `dataLen` >=
   * 0 at [dataOff, dataOff + dataLen) followed by CRLF (`dataChunkOk` says whether it was); end
   * is after all of it. A storage line that cannot be parsed has `lineError` set and no data. */
  TEXT_LINE: 7,
  /** A storage line whose data is over the item limit: [start, end) is the line, the data and its
   * CRLF (`swallowBytes`) are swallowed as they arrive. */
  TEXT_TOO_LARGE: 8,
  /** No newline within the line limit (`isGet` says which): memcached closes the connection. */
  TEXT_LINE_TOO_LONG: 9,
} as const;
export type FrameKind = (typeof FRAME)[keyof typeof FRAME];

export const PROTO_UNKNOWN = 0;
export const PROTO_BINARY = 1;
export const PROTO_TEXT = 2;

const MAX_TOKENS_START = 32;

export class MemcacheFramer {
  /** The protocol of this connection, decided by its first byte as memcached does. */
  proto = PROTO_UNKNOWN;
  /** The largest item (key + value + ITEM_OVERHEAD_BYTES) accepted; may change between calls. */
  maxItemBytes: number;

  // The last frame.
  start = 0;
  end = 0;
  // Binary header fields.
  opcode = 0;
  /** The opcode without its quiet variant (GETQ -> GET). */
  op = 0;
  keyLen = 0;
  extLen = 0;
  bodyLen = 0;
  opaque = 0;
  /** BIN_REFUSE: the status to answer. */
  status = 0;
  /** BIN_INVALID: the key length was over 250 (checked before authentication by memcached). */
  keyTooLong = false;
  // Text.
  readonly tok = { off: new Int32Array(MAX_TOKENS_START), len: new Int32Array(MAX_TOKENS_START), n: 0 };
  lineEnd = 0;
  dataOff = 0;
  dataLen = -1;
  dataChunkOk = true;
  /** A storage line that cannot be parsed: the reply text (ERROR or bad command line format). */
  lineError: string | null = null;
  /** Parsed fields of a storage line (set add replace append prepend cas; ms has dataLen only). */
  flags = 0;
  exptime = 0;
  cas: number | bigint = 0;
  /** The line's last token is `noreply`. */
  noreply = false;
  isGet = false;
  /** TEXT_TOO_LARGE / BIN_REFUSE: bytes of the request still to swallow after this frame. */
  swallowBytes = 0;

  /** Bytes of a line already scanned for its newline (a long get line is not rescanned). */
  private scanned = 0;

  constructor(maxItemBytes: number) {
    this.maxItemBytes = maxItemBytes;
  }

  /** Finds the next frame in buf[start, end) (start = the first byte not yet consumed). */
  next(buf: Uint8Array, start: number, end: number): FrameKind {
    this.start = start;
    this.end = start;
    if (start >= end) return FRAME.NEED_MORE;
    if (this.swallowBytes > 0) {
      const n = Math.min(this.swallowBytes, end - start);
      this.swallowBytes -= n;
      this.end = start + n;
      return FRAME.SKIP;
    }
    if (this.proto === PROTO_UNKNOWN) this.proto = buf[start] === REQ_MAGIC ? PROTO_BINARY : PROTO_TEXT;
    return this.proto === PROTO_BINARY ? this.binary(buf, start, end) : this.text(buf, start, end);
  }

  // ---- binary ----------------------------------------------------------------------------------

  private binary(b: Uint8Array, p: number, end: number): FrameKind {
    if (end - p < HEADER_BYTES) return FRAME.NEED_MORE;
    if (b[p] !== REQ_MAGIC) return FRAME.BIN_BAD_MAGIC;
    this.opcode = b[p + H_OPCODE]!;
    this.op = baseOpcode(this.opcode);
    this.keyLen = readU16(b, p + H_KEYLEN);
    this.extLen = b[p + H_EXTLEN]!;
    this.bodyLen = readU32(b, p + H_BODYLEN);
    this.opaque = readU32(b, p + H_OPAQUE);
    this.keyTooLong = this.keyLen > KEY_MAX_BYTES;
    if (this.keyTooLong) return FRAME.BIN_INVALID;
    const shape = binShapeOk(this.op, this.keyLen, this.extLen, this.bodyLen);
    if (shape === null) return this.binRefuse(p, end, STATUS.UNKNOWN_COMMAND);
    if (!shape) return FRAME.BIN_INVALID;
    const valueLen = this.bodyLen - this.keyLen - this.extLen;
    const op = this.op;
    if ((op === OP.SET || op === OP.ADD || op === OP.REPLACE || op === OP.APPEND || op === OP.PREPEND) &&
        this.keyLen + valueLen + ITEM_OVERHEAD_BYTES > this.maxItemBytes) {
      return this.binRefuse(p, end, STATUS.E2BIG);
    }
    if (op === OP.SASL_AUTH || op === OP.SASL_STEP) {
      // memcached: a mechanism name over 32 bytes is EINVAL; the data goes into an item, so data
      // over the item limit is ENOMEM. Both swallow the body.
      if (this.keyLen > SASL_MECH_MAX_BYTES) return this.binRefuse(p, end, STATUS.EINVAL);
      if (valueLen + ITEM_OVERHEAD_BYTES > this.maxItemBytes) return this.binRefuse(p, end, STATUS.ENOMEM);
    }
    // Every shape left bounds bodyLen by the item limit or by 250 + 20 bytes.
    if (end - p < HEADER_BYTES + this.bodyLen) return FRAME.BIN_PENDING;
    this.end = p + HEADER_BYTES + this.bodyLen;
    return FRAME.BIN_REQUEST;
  }

  private binRefuse(p: number, end: number, status: number): FrameKind {
    this.status = status;
    const total = HEADER_BYTES + this.bodyLen;
    const have = Math.min(total, end - p);
    this.end = p + have;
    this.swallowBytes = total - have;
    return FRAME.BIN_REFUSE;
  }

  // ---- text ------------------------------------------------------------------------------------

  private text(b: Uint8Array, start: number, end: number): FrameKind {
    const from = start + this.scanned;
    const nl = from < end ? b.indexOf(10, from) : -1;
    const isGet = b[start] === 103 && b[start + 1] === 101 && b[start + 2] === 116; // "get"
    this.isGet = isGet;
    const lineMax = isGet ? LINE_MAX_GET_BYTES : LINE_MAX_BYTES;
    if (nl < 0 || nl >= end) {
      this.scanned = end - start;
      if (end - start > lineMax) return FRAME.TEXT_LINE_TOO_LONG;
      return FRAME.NEED_MORE;
    }
    // The limit holds whether or not the newline came in the same read, so that the frames do
    // not depend on how the bytes were cut (memcached checks only lines without a newline yet).
    if (nl - start > lineMax) return FRAME.TEXT_LINE_TOO_LONG;
    this.scanned = 0;
    const contentEnd = nl > start && b[nl - 1] === 13 ? nl - 1 : nl;
    tokenize(b, start, contentEnd, this.tok);
    this.lineEnd = nl + 1;
    this.end = nl + 1;
    this.dataOff = nl + 1;
    this.dataLen = -1;
    this.dataChunkOk = true;
    this.lineError = null;
    const t = this.tok;
    this.noreply = t.n > 1 && tokIs(b, t, t.n - 1, 'noreply');
    if (t.n === 0) return FRAME.TEXT_LINE;
    const verb = storageVerb(b, t.off[0]!, t.len[0]!);
    if (verb === VERB_NONE) return FRAME.TEXT_LINE;
    let bytes: number;
    if (verb === VERB_MS) {
      if (t.n < 3 || t.len[1]! > KEY_MAX_BYTES) {
        this.lineError = TEXT.badFormat;
        return FRAME.TEXT_LINE;
      }
      bytes = parseI32(b, t.off[2]!, t.len[2]!, true);
      if (Number.isNaN(bytes) || bytes < 0) {
        this.lineError = TEXT.badFormat;
        return FRAME.TEXT_LINE;
      }
      // ms answers even with q; the b flag's decoded key is shorter, the raw key bounds it.
      this.noreply = false;
    } else {
      const base = verb === VERB_CAS ? 6 : 5;
      if (t.n !== base && !(t.n === base + 1)) {
        this.lineError = TEXT.error;
        return FRAME.TEXT_LINE;
      }
      this.noreply = t.n === base + 1 && this.noreply;
      this.flags = parseI32(b, t.off[2]!, t.len[2]!, false);
      this.exptime = parseI32(b, t.off[3]!, t.len[3]!, true);
      bytes = parseI32(b, t.off[4]!, t.len[4]!, true);
      const cas = verb === VERB_CAS ? parseU64(b, t.off[5]!, t.len[5]!) : 0;
      if (t.len[1]! > KEY_MAX_BYTES || Number.isNaN(this.flags) || Number.isNaN(this.exptime) || Number.isNaN(bytes) || bytes < 0 || cas === null) {
        this.lineError = TEXT.badFormat;
        return FRAME.TEXT_LINE;
      }
      this.cas = cas;
    }
    if (t.len[1]! + bytes + ITEM_OVERHEAD_BYTES > this.maxItemBytes) {
      // Refused from the line alone: the data is swallowed as it comes, never buffered.
      const have = Math.min(bytes + 2, end - this.lineEnd);
      this.end = this.lineEnd + have;
      this.swallowBytes = bytes + 2 - have;
      return FRAME.TEXT_TOO_LARGE;
    }
    if (end - this.lineEnd < bytes + 2) return FRAME.NEED_MORE;
    this.dataLen = bytes;
    this.end = this.lineEnd + bytes + 2;
    this.dataChunkOk = b[this.lineEnd + bytes] === 13 && b[this.lineEnd + bytes + 1] === 10;
    return FRAME.TEXT_LINE;
  }
}

const VERB_NONE = 0;
const VERB_STORE = 1;
const VERB_CAS = 2;
const VERB_MS = 3;

/** Which text commands carry a data block: set add replace append prepend, cas, ms. */
function storageVerb(b: Uint8Array, off: number, len: number): number {
  const c0 = b[off];
  if (len === 2) return c0 === 109 && b[off + 1] === 115 ? VERB_MS : VERB_NONE; // ms
  const is = (w: string): boolean => {
    if (len !== w.length) return false;
    for (let k = 0; k < len; k++) if (b[off + k] !== w.charCodeAt(k)) return false;
    return true;
  };
  if (c0 === 115) return is('set') ? VERB_STORE : VERB_NONE;
  if (c0 === 99) return is('cas') ? VERB_CAS : VERB_NONE;
  if (c0 === 97) return is('add') || is('append') ? VERB_STORE : VERB_NONE;
  if (c0 === 114) return is('replace') ? VERB_STORE : VERB_NONE;
  if (c0 === 112) return is('prepend') ? VERB_STORE : VERB_NONE;
  return VERB_NONE;
}

interface Tokens { off: Int32Array; len: Int32Array; n: number }

/** Splits b[start, end) on spaces into t (growing it; a line's length bounds its tokens). */
function tokenize(b: Uint8Array, start: number, end: number, t: Tokens): void {
  t.n = 0;
  let p = start;
  while (p < end) {
    while (p < end && b[p] === 32) p++;
    if (p >= end) break;
    const s = p;
    while (p < end && b[p] !== 32) p++;
    if (t.n === t.off.length) {
      const off = new Int32Array(t.n * 2);
      const len = new Int32Array(t.n * 2);
      off.set(t.off);
      len.set(t.len);
      t.off = off;
      t.len = len;
    }
    t.off[t.n] = s;
    t.len[t.n] = p - s;
    t.n++;
  }
}

export function tokIs(b: Uint8Array, t: Tokens, i: number, word: string): boolean {
  if (i >= t.n || t.len[i] !== word.length) return false;
  const o = t.off[i]!;
  for (let k = 0; k < word.length; k++) if (b[o + k] !== word.charCodeAt(k)) return false;
  return true;
}

/** Whether a binary header's lengths fit its command (memcached's checks), or null for an
 * opcode it does not know. */
export function binShapeOk(op: number, keyLen: number, extLen: number, bodyLen: number): boolean | null {
  switch (op) {
    case OP.VERSION:
    case OP.NOOP:
    case OP.QUIT:
      return extLen === 0 && keyLen === 0 && bodyLen === 0;
    case OP.FLUSH:
      return keyLen === 0 && bodyLen === extLen && (extLen === 0 || extLen === 4);
    case OP.SET:
    case OP.ADD:
    case OP.REPLACE:
      return extLen === 8 && keyLen !== 0 && bodyLen >= keyLen + 8;
    case OP.GET:
    case OP.GETK:
    case OP.DELETE:
      return extLen === 0 && keyLen > 0 && bodyLen === keyLen;
    case OP.INCREMENT:
    case OP.DECREMENT:
      return keyLen > 0 && extLen === 20 && bodyLen === keyLen + extLen;
    case OP.APPEND:
    case OP.PREPEND:
      return keyLen > 0 && extLen === 0 && bodyLen >= keyLen;
    case OP.STAT:
      return extLen === 0 && bodyLen === keyLen;
    case OP.VERBOSITY:
      return extLen === 4 && keyLen === 0 && bodyLen === 4 ? true : null;
    case OP.TOUCH:
    case OP.GAT:
    case OP.GATK:
      return extLen === 4 && keyLen !== 0 && bodyLen === keyLen + 4;
    case OP.SASL_LIST_MECHS:
      return extLen === 0 && keyLen === 0 && bodyLen === 0;
    case OP.SASL_AUTH:
    case OP.SASL_STEP:
      return extLen === 0 && keyLen > 0 && bodyLen >= keyLen;
    default:
      return null;
  }
}
