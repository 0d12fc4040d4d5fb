// Resumable RESP request parser (multibulk and inline), with Redis's limits and error texts
// (networking.c processMultibulkBuffer / processInlineBuffer, Redis 7). Knows nothing of the server.
// Invariants: arguments are offsets into `buf`, never copies, except inline arguments that needed
// unescaping; a command wholly inside one fed chunk is parsed in place in that chunk; only a command
// that straddles chunks is copied, and only its own bytes, into one growable query buffer that
// holds nothing else. Every line search is bounded by maxInlineLen; bulk payloads are never scanned.

import { parseI64Big, parseSafeInt } from '../util/numbers.js';

export interface ParserLimits {
  /** proto-max-bulk-len: largest bulk argument, bytes (Redis default 512 MiB). */
  maxBulkLen: number;
  /** Largest multibulk count (Redis: 1024*1024*1024 for authenticated, 10 for unauthenticated clients is NOT done here). */
  maxMultibulkLen: number;
  /** Largest inline request line, bytes (Redis PROTO_INLINE_MAX_SIZE = 64 KiB). */
  maxInlineLen: number;
  /** client-query-buffer-limit: most bytes buffered for one unfinished command (Redis default 1 GiB). */
  maxQueryBufferLen: number;
}

export const PARSE_NEED_MORE = 0;
export const PARSE_COMMAND = 1;
export const PARSE_ERROR = -1;
/** Internal: bytes consumed without a command (*0, *-1, blank inline line); parse on. */
const PARSE_SKIP = 2;

/** Redis's defaults (proto-max-bulk-len, INT_MAX-ish multibulk, PROTO_INLINE_MAX_SIZE, client-query-buffer-limit). */
export const DEFAULT_PARSER_LIMITS: Readonly<ParserLimits> = {
  maxBulkLen: 512 * 1024 * 1024,
  maxMultibulkLen: 1024 * 1024 * 1024,
  maxInlineLen: 64 * 1024,
  maxQueryBufferLen: 1024 * 1024 * 1024,
};

export const ERR_INVALID_MULTIBULK_LEN = 'ERR Protocol error: invalid multibulk length';
export const ERR_TOO_BIG_MBULK_COUNT = 'ERR Protocol error: too big mbulk count string';
export const ERR_INVALID_BULK_LEN = 'ERR Protocol error: invalid bulk length';
export const ERR_TOO_BIG_BULK_COUNT = 'ERR Protocol error: too big bulk count string';
export const ERR_UNBALANCED_QUOTES = 'ERR Protocol error: unbalanced quotes in request';
export const ERR_TOO_BIG_INLINE = 'ERR Protocol error: too big inline request';
export const ERR_QUERY_BUFFER_LIMIT = 'ERR Protocol error: client query buffer limit exceeded';

/** Redis PROTO_MBULK_BIG_ARG: bulks at least this long get room reserved ahead of their bytes. */
const BIG_ARG_BYTES = 32 * 1024;
/** A big bulk's buffer runs ahead of the bytes received by at most their count again plus this:
 * the announced length alone never reserves memory (a "$536870912" line followed by one byte would
 * otherwise hold 512 MiB per connection), and doubling keeps the copies linear overall. */
const BIG_ARG_AHEAD_BYTES = 1024 * 1024;
/** A drained query buffer larger than this is released rather than kept for reuse. */
const QUERY_BUF_KEEP_BYTES = 64 * 1024;
const QUERY_BUF_MIN_BYTES = 4096;

const REQ_NONE = 0;
const REQ_MULTIBULK = 1;
const REQ_INLINE = 2;

const CH_STAR = 42;
const CH_DOLLAR = 36;
const CH_CR = 13;
const CH_LF = 10;
const CH_DQUOTE = 34;
const CH_SQUOTE = 39;
const CH_BACKSLASH = 92;

const EMPTY = Buffer.alloc(0);

/** C isspace in the C locale. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** The byte at i, or 0 at and beyond `stop` (sdssplitargs sees a NUL-terminated copy of the line). */
function byteAt(src: Buffer, i: number, stop: number): number {
  return i < stop ? src[i]! : 0;
}

export class RespParser {
  /** After PARSE_COMMAND: number of arguments, and each one's offset and length inside `buf`. */
  argc = 0;
  argOff: Int32Array = new Int32Array(16);
  argLen: Int32Array = new Int32Array(16);
  /** The bytes the current command's offsets refer to; valid until the next feed()/next(). */
  buf: Buffer = Buffer.alloc(0);
  /** After PARSE_ERROR: Redis's error text without the leading '-' and trailing CRLF,
   * e.g. "ERR Protocol error: invalid multibulk length". */
  error = '';
  /** True when the current/last command came in inline form. */
  inline = false;

  // Where parsing happens: `src` is either a fed chunk (zero-copy) or `qbuf` (owned).
  // [cmdStart, end) of src is unconsumed; `scan` is where parsing resumes inside it.
  private src: Buffer = EMPTY;
  private owned = false;
  private qbuf: Buffer = EMPTY;
  private cmdStart = 0;
  private scan = 0;
  private end = 0;
  /** Next byte to examine in the line being searched for its terminator (never re-scanned). */
  private searchFrom = 0;
  // Chunks fed while src still had unconsumed bytes; consumed from queue[queueHead] at queueOff.
  private readonly queue: Buffer[] = [];
  private queueHead = 0;
  private queueOff = 0;
  private queuedBytes = 0;
  // Parse state of the unfinished command, as in Redis's client struct.
  private reqType = REQ_NONE;
  /** Bulk arguments still to read; 0 while the count line is not read yet. */
  private multibulkLen = 0;
  /** Length of the bulk being read, or -1 while its "$<len>" line is not read yet. */
  private bulkLen = -1;
  /** Unescaped inline arguments, when a line has quotes. */
  private scratch: Buffer = EMPTY;
  private dead = false;

  constructor(readonly limits: ParserLimits) {}

  /**
   * Appends received bytes. The parser keeps a reference to `chunk` (no copy) while it holds
   * unconsumed bytes of it: the caller must not modify the chunk afterwards.
   */
  feed(chunk: Buffer): void {
    if (this.dead || chunk.length === 0) return;
    if (this.cmdStart === this.end && this.queuedBytes === 0) {
      // Nothing pending (no command can be half-read: it would own bytes in [cmdStart, end)).
      this.useChunk(chunk, 0);
    } else {
      this.queue.push(chunk);
      this.queuedBytes += chunk.length;
    }
  }

  /** Parses the next whole command. */
  next(): number {
    if (this.dead) return PARSE_ERROR;
    for (;;) {
      if (this.cmdStart === this.end) {
        if (this.queuedBytes === 0) {
          this.dropSource();
          return PARSE_NEED_MORE;
        }
        this.adoptQueueHead();
      }
      const r =
        this.reqType === REQ_MULTIBULK ||
        (this.reqType === REQ_NONE && this.src[this.cmdStart] === CH_STAR)
          ? this.parseMultibulk()
          : this.parseInline();
      if (r === PARSE_SKIP) continue;
      if (r !== PARSE_NEED_MORE) return r;
      if (this.queuedBytes > 0) {
        this.pull();
        continue;
      }
      if (this.end - this.cmdStart > this.limits.maxQueryBufferLen) {
        return this.fail(ERR_QUERY_BUFFER_LIMIT);
      }
      return PARSE_NEED_MORE;
    }
  }

  /** Bytes received and not yet consumed by a returned command (for CLIENT LIST qbuf). */
  pending(): number {
    return this.end - this.cmdStart + this.queuedBytes;
  }

  // --- multibulk -------------------------------------------------------------------------------

  private parseMultibulk(): number {
    const src = this.src;
    if (this.reqType === REQ_NONE) {
      this.reqType = REQ_MULTIBULK;
      this.multibulkLen = 0;
      this.bulkLen = -1;
      this.argc = 0;
      this.scan = this.cmdStart;
      this.searchFrom = this.cmdStart + 1;
    }
    if (this.multibulkLen === 0) {
      const cr = this.findLineCr();
      if (cr === -2) return this.fail(ERR_TOO_BIG_MBULK_COUNT);
      if (cr < 0) return PARSE_NEED_MORE;
      const start = this.scan + 1;
      let n = parseSafeInt(src, start, cr - start);
      if (Number.isNaN(n)) {
        // A valid int64 beyond 2^53: too big when positive, an empty request when negative.
        const big = parseI64Big(src, start, cr - start);
        if (big === null) return this.fail(ERR_INVALID_MULTIBULK_LEN);
        n = big < 0n ? -1 : Infinity;
      }
      if (n > this.limits.maxMultibulkLen) return this.fail(ERR_INVALID_MULTIBULK_LEN);
      this.scan = cr + 2;
      if (n <= 0) {
        this.cmdStart = this.scan;
        this.reqType = REQ_NONE;
        return PARSE_SKIP;
      }
      this.multibulkLen = n;
      this.searchFrom = this.scan;
    }
    const end = this.end;
    while (this.multibulkLen > 0) {
      if (this.bulkLen < 0) {
        const cr = this.findLineCr();
        if (cr === -2) return this.fail(ERR_TOO_BIG_BULK_COUNT);
        if (cr < 0) return PARSE_NEED_MORE;
        const first = src[this.scan]!;
        if (first !== CH_DOLLAR) {
          // Redis maps CR and LF in error texts to spaces.
          const shown = first === CH_CR || first === CH_LF ? ' ' : String.fromCharCode(first);
          return this.fail(`ERR Protocol error: expected '$', got '${shown}'`);
        }
        const ll = parseSafeInt(src, this.scan + 1, cr - this.scan - 1);
        if (!(ll >= 0 && ll <= this.limits.maxBulkLen)) return this.fail(ERR_INVALID_BULK_LEN);
        this.scan = cr + 2;
        this.bulkLen = ll;
      }
      // The two bytes after the payload are skipped unchecked, as Redis does.
      if (end - this.scan < this.bulkLen + 2) return PARSE_NEED_MORE;
      this.pushArg(this.scan, this.bulkLen);
      this.scan += this.bulkLen + 2;
      this.searchFrom = this.scan;
      this.bulkLen = -1;
      this.multibulkLen--;
    }
    this.cmdStart = this.scan;
    this.reqType = REQ_NONE;
    this.inline = false;
    this.buf = src;
    return PARSE_COMMAND;
  }

  /**
   * The index of the CR ending the line at `scan`, once one more byte follows it (Redis does not
   * check that it is LF); -1 when more bytes are needed; -2 when no CR comes within maxInlineLen.
   */
  private findLineCr(): number {
    const src = this.src;
    const max = this.limits.maxInlineLen;
    const stop = Math.min(this.end, this.scan + max + 1);
    let i = this.searchFrom;
    while (i < stop && src[i] !== CH_CR) i++;
    this.searchFrom = i;
    if (i < stop) return i + 1 < this.end ? i : -1;
    return this.end - this.scan > max ? -2 : -1;
  }

  private pushArg(off: number, len: number): void {
    const n = this.argc;
    if (n === this.argOff.length) {
      const off2 = new Int32Array(n * 2);
      const len2 = new Int32Array(n * 2);
      off2.set(this.argOff);
      len2.set(this.argLen);
      this.argOff = off2;
      this.argLen = len2;
    }
    this.argOff[n] = off;
    this.argLen[n] = len;
    this.argc = n + 1;
  }

  // --- inline ----------------------------------------------------------------------------------

  private parseInline(): number {
    const src = this.src;
    if (this.reqType === REQ_NONE) {
      this.reqType = REQ_INLINE;
      this.scan = this.cmdStart;
      this.searchFrom = this.cmdStart;
    }
    const max = this.limits.maxInlineLen;
    const stop = Math.min(this.end, this.scan + max + 1);
    let i = this.searchFrom;
    while (i < stop && src[i] !== CH_LF) i++;
    this.searchFrom = i;
    if (i === stop) {
      return this.end - this.scan > max ? this.fail(ERR_TOO_BIG_INLINE) : PARSE_NEED_MORE;
    }
    let lineEnd = i;
    if (lineEnd > this.scan && src[lineEnd - 1] === CH_CR) lineEnd--;
    const args = this.splitArgs(src, this.scan, lineEnd);
    if (args === null) return this.fail(ERR_UNBALANCED_QUOTES);
    this.cmdStart = this.scan = i + 1;
    this.reqType = REQ_NONE;
    if (this.argc === 0) return PARSE_SKIP;
    this.inline = true;
    this.buf = args;
    return PARSE_COMMAND;
  }

  /**
   * Redis sdssplitargs over src[start, stop) (a NUL byte ends the line, as in C). Sets
   * argc/argOff/argLen and returns the buffer they refer to: src while no argument needed
   * unescaping, else the scratch buffer holding all of them. null: unbalanced quotes.
   */
  private splitArgs(src: Buffer, start: number, stop: number): Buffer | null {
    this.argc = 0;
    let out: Buffer | null = null; // scratch, once a quote is met
    let w = 0; // write position in scratch
    let p = start;
    for (;;) {
      while (p < stop && isSpace(src[p]!)) p++;
      if (byteAt(src, p, stop) === 0) return out ?? src;
      const tokStart = p;
      let tokEnd = p;
      let outStart = w;
      let inDq = false;
      let inSq = false;
      let done = false;
      while (!done) {
        const c = byteAt(src, p, stop);
        if (inDq) {
          const c1 = byteAt(src, p + 1, stop);
          if (c === CH_BACKSLASH && c1 === 120 /* x */) {
            const h = hexDigit(byteAt(src, p + 2, stop));
            const l = hexDigit(byteAt(src, p + 3, stop));
            if (h >= 0 && l >= 0) {
              out![w++] = h * 16 + l;
              p += 3;
            } else {
              p++;
              out![w++] = c1;
            }
          } else if (c === CH_BACKSLASH && c1 !== 0) {
            p++;
            out![w++] =
              c1 === 110 ? 10 : c1 === 114 ? 13 : c1 === 116 ? 9 : c1 === 98 ? 8 : c1 === 97 ? 7 : c1;
          } else if (c === CH_DQUOTE) {
            // A closing quote must be followed by a space or by nothing at all.
            if (c1 !== 0 && !isSpace(c1)) return null;
            done = true;
          } else if (c === 0) {
            return null;
          } else {
            out![w++] = c;
          }
        } else if (inSq) {
          const c1 = byteAt(src, p + 1, stop);
          if (c === CH_BACKSLASH && c1 === CH_SQUOTE) {
            p++;
            out![w++] = CH_SQUOTE;
          } else if (c === CH_SQUOTE) {
            if (c1 !== 0 && !isSpace(c1)) return null;
            done = true;
          } else if (c === 0) {
            return null;
          } else {
            out![w++] = c;
          }
        } else if (c === 32 || c === CH_LF || c === CH_CR || c === 9 || c === 0) {
          done = true;
          tokEnd = p;
        } else if (c === CH_DQUOTE || c === CH_SQUOTE) {
          if (c === CH_DQUOTE) inDq = true;
          else inSq = true;
          if (out === null) {
            // First quote of the line: from here on every argument lives in scratch.
            out = this.scratchFor(stop - start);
            for (let a = 0; a < this.argc; a++) {
              const o = this.argOff[a]!;
              const n = this.argLen[a]!;
              src.copy(out, w, o, o + n);
              this.argOff[a] = w;
              w += n;
            }
            outStart = w;
            src.copy(out, w, tokStart, p);
            w += p - tokStart;
          }
        } else if (out !== null) {
          out[w++] = c;
        }
        if (c !== 0) p++;
      }
      if (out !== null) this.pushArg(outStart, w - outStart);
      else this.pushArg(tokStart, tokEnd - tokStart);
    }
  }

  /** The scratch buffer, at least `len` bytes (unescaped output never outgrows its input). */
  private scratchFor(len: number): Buffer {
    if (this.scratch.length < len) this.scratch = Buffer.allocUnsafe(Math.max(len, 256));
    return this.scratch;
  }

  // --- buffering -------------------------------------------------------------------------------

  private useChunk(chunk: Buffer, off: number): void {
    if (this.owned && this.qbuf.length > QUERY_BUF_KEEP_BYTES) this.qbuf = EMPTY;
    this.src = chunk;
    this.owned = false;
    this.cmdStart = this.scan = this.searchFrom = off;
    this.end = chunk.length;
  }

  private adoptQueueHead(): void {
    const head = this.queue[this.queueHead]!;
    const off = this.queueOff;
    this.queuedBytes -= head.length - off;
    this.advanceQueue();
    this.useChunk(head, off);
  }

  private advanceQueue(): void {
    this.queue[this.queueHead] = EMPTY;
    this.queueHead++;
    this.queueOff = 0;
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    }
  }

  /** Forgets a fully consumed source, so a big chunk or query buffer is not kept alive. */
  private dropSource(): void {
    if (this.owned && this.qbuf.length > QUERY_BUF_KEEP_BYTES) this.qbuf = EMPTY;
    this.src = EMPTY;
    this.owned = false;
    this.cmdStart = this.scan = this.searchFrom = this.end = 0;
  }

  /**
   * Moves the next bytes of the unfinished command from the queued chunks into the query buffer:
   * the rest of the bulk payload, or the rest of the line up to its terminator.
   */
  private pull(): void {
    const head = this.queue[this.queueHead]!;
    const avail = head.length - this.queueOff;
    let take: number;
    let reserve = 0; // total bytes the command is known to need, for big bulks
    if (this.reqType === REQ_MULTIBULK && this.bulkLen >= 0) {
      const need = this.scan + this.bulkLen + 2 - this.end;
      take = Math.min(avail, need);
      if (this.bulkLen >= BIG_ARG_BYTES) {
        const whole = Math.min(this.scan + this.bulkLen + 2, this.limits.maxQueryBufferLen + 1) - this.cmdStart;
        const received = this.end - this.cmdStart + take;
        reserve = Math.min(whole, 2 * received + BIG_ARG_AHEAD_BYTES);
      }
    } else if (this.reqType === REQ_MULTIBULK && this.searchFrom < this.end) {
      take = 1; // the CR is here; Redis wants one more byte
    } else {
      const term = this.reqType === REQ_INLINE ? CH_LF : CH_CR;
      const after = term === CH_LF ? 1 : 2;
      const want = Math.min(avail, this.scan + this.limits.maxInlineLen + 2 - this.end);
      const stop = this.queueOff + want;
      let j = this.queueOff;
      while (j < stop && head[j] !== term) j++;
      take = j < stop ? Math.min(avail, j - this.queueOff + after) : want;
    }
    this.makeRoom(take, reserve);
    head.copy(this.qbuf, this.end, this.queueOff, this.queueOff + take);
    this.end += take;
    this.queueOff += take;
    this.queuedBytes -= take;
    if (this.queueOff === head.length) this.advanceQueue();
  }

  /**
   * Makes src the query buffer holding the unfinished command at offset 0 with room for `extra`
   * more bytes (and for `reserve` bytes in all, reserved at once so a big bulk is copied once).
   */
  private makeRoom(extra: number, reserve: number): void {
    const len = this.end - this.cmdStart;
    const needed = len + extra;
    // Enough room for this chunk is enough: the reserve only sizes a new buffer. (Requiring the
    // reserve here, which grows with what was received, reallocated and copied the whole bulk on
    // every chunk: a 64 MB SET took 5.7 s, RESTORE of a 110 MB hash 33 s.)
    if (this.owned && this.cmdStart === 0 && this.qbuf.length >= needed) return;
    let target = this.qbuf;
    if (target.length < needed) {
      const grown = reserve > 0 ? Math.max(needed, reserve) : Math.max(needed, target.length * 2, QUERY_BUF_MIN_BYTES);
      target = Buffer.allocUnsafe(grown);
    }
    if (target !== this.src || this.cmdStart !== 0) {
      this.src.copy(target, 0, this.cmdStart, this.end);
    }
    const delta = -this.cmdStart;
    if (delta !== 0 && this.reqType === REQ_MULTIBULK) {
      for (let a = 0; a < this.argc; a++) this.argOff[a] = this.argOff[a]! + delta;
    }
    this.scan += delta;
    this.searchFrom += delta;
    this.end += delta;
    this.cmdStart = 0;
    this.src = this.qbuf = target;
    this.owned = true;
  }

  private fail(message: string): number {
    this.error = message;
    this.dead = true;
    this.argc = 0;
    this.queue.length = 0;
    this.queueHead = this.queueOff = this.queuedBytes = 0;
    this.src = this.qbuf = this.scratch = EMPTY;
    this.owned = false;
    this.cmdStart = this.scan = this.searchFrom = this.end = 0;
    return PARSE_ERROR;
  }
}
