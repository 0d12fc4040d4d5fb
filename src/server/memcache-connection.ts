// One memcached client on the main thread. The first byte picks the protocol, as memcached does
// (0x80: binary, anything else: text and meta). The connection frames requests, checks what
// memcached checks before executing (key length, item size, argument shapes), routes each keyed
// request to the shard owning the key's hash slot as one `__mc` command (arguments are slices of
// the receive buffer, or of its 512-byte headroom where the text parser builds a binary-shaped
// header), and writes replies strictly in request order, once per event-loop turn.
// Bounds: a text line without a newline (2048 bytes, or 1 MiB for get/gets, as memcached);
// values above memcache-max-item-size are refused and swallowed without being buffered;
// while shards are backlogged the socket is paused. Errors that memcached answers by closing
// (bad magic, malformed binary headers, over-long keys in binary) close only this connection.

import { ReplyOrder } from './reply-order.js';
import type { Socket } from 'node:net';
import type { ArgList } from '../commands/types.js';
import type { ReplySink } from '../runtime/shard-port.js';
import { RespWriter } from '../protocol/resp-writer.js';
import {
  H_BODYLEN, H_EXTLEN, H_KEYLEN, H_OPAQUE, H_OPCODE, HEADER_BYTES, ITEM_OVERHEAD_BYTES, KEY_MAX_BYTES,
  MEMCACHE_VERSION, OP, REQ_MAGIC, STATUS, TEXT, baseOpcode, errorResponse, isQuiet, opcodeName, parseI32,
  parseU64, readU16, readU32, statResponse, textResponse, writeResponseHeader, writeU32, writeU64,
} from '../protocol/memcache.js';
import {
  META_ARITH, META_DEBUG, META_DELETE, META_GET, META_SET, MODE_META, MODE_TEXT, TEXT_NOREPLY, TEXT_WITH_CAS,
} from '../commands/memcache-family.js';

export interface MemcacheHost {
  /** Queues `__mc` with these arguments on the key's shard; the reply goes to sink with seq. */
  sendToShard(sink: ReplySink, seq: number, args: ArgList, keyArg: number): void;
  /** Empties every shard (after delaySeconds when > 0), then calls done. */
  flushAll(delaySeconds: number, done: () => void): void;
  /** memcached's `stats` as name/value pairs. */
  stats(): Promise<Array<[string, string]>>;
  publishRequests(): void;
  readonly backlogged: boolean;
  maxItemBytes(): number;
  /** The password clients must give (SASL PLAIN or the text protocol's auth), '' = none. */
  password(): string;
  count(command: string): void;
  closed(conn: MemcacheConnection): void;
}

const HEADROOM = 512;
const SCRATCH_HDR = 0;
const SCRATCH_EXTRAS = 24;
const SCRATCH_KEY = 64;
const INITIAL_BUFFER = 16 * 1024;
const LINE_MAX = 2048;
const GET_LINE_MAX = 1024 * 1024;
const PROTO_UNKNOWN = 0;
const PROTO_BINARY = 1;
const PROTO_TEXT = 2;
const EMPTY = Buffer.alloc(0);

export class MemcacheConnection implements ReplySink {
  private buf = Buffer.allocUnsafe(HEADROOM + INITIAL_BUFFER);
  private rpos = HEADROOM;
  private wpos = HEADROOM;
  private proto = PROTO_UNKNOWN;
  /** Bytes still to discard (the body of a refused request). */
  private swallow = 0;
  private readonly args: ArgList = { buf: this.buf, off: new Int32Array(8), len: new Int32Array(8), argc: 0 };
  private readonly tok = { off: new Int32Array(32), len: new Int32Array(32), n: 0 };
  private nextSeq = 0;
  private readonly order = new ReplyOrder();
  private readonly out = new RespWriter(16 * 1024);
  private flushScheduled = false;
  private closeAfter = false;
  private dead = false;
  private paused = false;
  /** Async replies (stats, flush) still to come. */
  private authenticated: boolean;

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly host: MemcacheHost,
  ) {
    this.authenticated = host.password() === '';
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.destroy());
  }

  // ---- input -----------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.dead || this.closeAfter) return;
    let c = chunk;
    if (this.swallow > 0) {
      const n = Math.min(this.swallow, c.length);
      this.swallow -= n;
      if (n === c.length) return;
      c = c.subarray(n);
    }
    this.append(c);
    this.process();
  }

  private append(c: Buffer): void {
    if (this.wpos + c.length > this.buf.length) {
      const pending = this.wpos - this.rpos;
      if (HEADROOM + pending + c.length > this.buf.length || this.rpos > HEADROOM) {
        const size = Math.max(this.buf.length, HEADROOM + (pending + c.length) * 2);
        const next = size > this.buf.length ? Buffer.allocUnsafe(size) : this.buf;
        this.buf.copy(next, HEADROOM, this.rpos, this.wpos);
        this.buf = next;
        this.args.buf = next;
        this.rpos = HEADROOM;
        this.wpos = HEADROOM + pending;
      }
    }
    c.copy(this.buf, this.wpos);
    this.wpos += c.length;
  }

  private process(): void {
    while (!this.dead && !this.closeAfter && this.rpos < this.wpos) {
      if (this.proto === PROTO_UNKNOWN) this.proto = this.buf[this.rpos] === REQ_MAGIC ? PROTO_BINARY : PROTO_TEXT;
      const used = this.proto === PROTO_BINARY ? this.binaryStep() : this.textStep();
      if (used < 0) break;
    }
    if (this.rpos === this.wpos) {
      this.rpos = HEADROOM;
      this.wpos = HEADROOM;
    }
    this.host.publishRequests();
    this.updatePause();
  }

  private updatePause(): void {
    const want = !this.dead && this.host.backlogged;
    if (want && !this.paused) {
      this.paused = true;
      this.socket.pause();
      const poll = (): void => {
        if (this.dead) return;
        if (this.host.backlogged) setTimeout(poll, 1);
        else {
          this.paused = false;
          this.socket.resume();
        }
      };
      setTimeout(poll, 1);
    }
  }

  /** Discards n bytes of input, those buffered first. */
  private skip(n: number): void {
    const have = this.wpos - this.rpos;
    if (n <= have) this.rpos += n;
    else {
      this.swallow = n - have;
      this.rpos = this.wpos;
    }
  }

  // ---- binary protocol -------------------------------------------------------------------------

  /** Handles one binary request if complete; -1 when more bytes are needed or input must stop. */
  private binaryStep(): number {
    const b = this.buf;
    const p = this.rpos;
    const avail = this.wpos - p;
    if (avail < HEADER_BYTES) return -1;
    if (b[p] !== REQ_MAGIC) {
      // memcached: "Invalid magic", the connection is closed without a reply.
      this.closeNow();
      return -1;
    }
    const opcode = b[p + H_OPCODE]!;
    const keyLen = readU16(b, p + H_KEYLEN);
    const extLen = b[p + H_EXTLEN]!;
    const bodyLen = readU32(b, p + H_BODYLEN);
    const opaque = readU32(b, p + H_OPAQUE);
    const op = baseOpcode(opcode);
    if (keyLen > KEY_MAX_BYTES) return this.binProtocolError(opcode, opaque);
    if (!this.authenticated && op !== OP.SASL_LIST_MECHS && op !== OP.SASL_AUTH && op !== OP.SASL_STEP) {
      this.host.count('auth_error');
      this.replyNow(errorResponse(opcode, STATUS.AUTH_ERROR, opaque));
      this.closeAfterReplies();
      return -1;
    }
    const valueLen = bodyLen - keyLen - extLen;
    // Refusals that swallow the body, decided from the header alone.
    const known = this.binShapeOk(op, keyLen, extLen, bodyLen);
    if (known === null) {
      this.host.count('unknown');
      this.replyNow(errorResponse(opcode, STATUS.UNKNOWN_COMMAND, opaque));
      this.skip(HEADER_BYTES + bodyLen);
      return 0;
    }
    if (!known) return this.binProtocolError(opcode, opaque);
    if ((op === OP.SET || op === OP.ADD || op === OP.REPLACE || op === OP.APPEND || op === OP.PREPEND) &&
        keyLen + valueLen + ITEM_OVERHEAD_BYTES > this.host.maxItemBytes()) {
      this.host.count('too_large');
      this.replyNow(errorResponse(opcode, STATUS.E2BIG, opaque));
      this.skip(HEADER_BYTES + bodyLen);
      return 0;
    }
    if (avail < HEADER_BYTES + bodyLen) {
      this.reserve(HEADER_BYTES + bodyLen);
      return -1;
    }
    this.rpos = p + HEADER_BYTES + bodyLen;
    this.host.count(opcodeName(opcode));
    const x = p + HEADER_BYTES;
    switch (op) {
      case OP.NOOP:
        this.replyNow(headerOnly(opcode, opaque));
        return 0;
      case OP.VERSION:
        this.replyNow(textResponse(opcode, 0, opaque, MEMCACHE_VERSION));
        return 0;
      case OP.VERBOSITY:
        // memcached 1.6 accepts it and sends nothing back.
        return 0;
      case OP.QUIT:
        if (!isQuiet(opcode)) this.replyNow(headerOnly(opcode, opaque));
        this.closeAfterReplies();
        return -1;
      case OP.FLUSH: {
        const delay = extLen === 4 ? readU32(b, x) : 0;
        const seq = this.nextSeq++;
        const quiet = isQuiet(opcode);
        this.host.flushAll(delay, () => {
          const r = quiet ? EMPTY : headerOnly(opcode, opaque);
          this.deliver(seq, r, 0, r.length);
        });
        return 0;
      }
      case OP.STAT:
        this.binStats(opaque, keyLen > 0 ? b.toString('latin1', x + extLen, x + extLen + keyLen) : '');
        return 0;
      case OP.SASL_LIST_MECHS:
        this.replyNow(textResponse(opcode, 0, opaque, 'PLAIN'));
        return 0;
      case OP.SASL_AUTH:
      case OP.SASL_STEP:
        this.saslAuth(opcode, opaque, b.toString('latin1', x + extLen, x + extLen + keyLen), b.subarray(x + extLen + keyLen, x + bodyLen));
        return 0;
      default: {
        const a = this.args;
        a.buf = b;
        a.argc = 5;
        a.off[0] = p;
        a.len[0] = 0;
        a.off[1] = p;
        a.len[1] = HEADER_BYTES;
        a.off[2] = x;
        a.len[2] = extLen;
        a.off[3] = x + extLen;
        a.len[3] = keyLen;
        a.off[4] = x + extLen + keyLen;
        a.len[4] = valueLen;
        this.host.sendToShard(this, this.nextSeq++, a, 3);
        return 0;
      }
    }
  }

  /** Whether the header's lengths fit the command (memcached's checks), or null for an opcode
   * it does not know. */
  private binShapeOk(op: number, keyLen: number, extLen: number, bodyLen: number): boolean | null {
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

  /** memcached's handle_binary_protocol_error: EINVAL, then the connection is closed. */
  private binProtocolError(opcode: number, opaque: number): number {
    this.host.count('protocol_error');
    this.replyNow(errorResponse(opcode, STATUS.EINVAL, opaque));
    this.closeAfterReplies();
    return -1;
  }

  private binStats(opaque: number, group: string): void {
    const seq = this.nextSeq++;
    if (group !== '') {
      const r = errorResponse(OP.STAT, STATUS.KEY_ENOENT, opaque);
      this.deliver(seq, r, 0, r.length);
      return;
    }
    void this.host.stats().then(
      (pairs) => {
        const parts = pairs.map(([k, v]) => statResponse(opaque, k, v));
        parts.push(statResponse(opaque, '', ''));
        const r = Buffer.concat(parts);
        this.deliver(seq, r, 0, r.length);
      },
      () => {
        const r = errorResponse(OP.STAT, STATUS.ENOMEM, opaque);
        this.deliver(seq, r, 0, r.length);
      },
    );
  }

  private saslAuth(opcode: number, opaque: number, mech: string, data: Buffer): void {
    // PLAIN: [authzid] NUL authcid NUL password; the user name is not checked (one password).
    const parts = data.toString('utf8').split('\0');
    const ok = mech === 'PLAIN' && parts.length === 3 && parts[2] === this.host.password();
    if (ok) {
      this.authenticated = true;
      this.replyNow(textResponse(opcode, 0, opaque, 'Authenticated'));
    } else {
      this.host.count('auth_error');
      this.replyNow(errorResponse(opcode, STATUS.AUTH_ERROR, opaque));
    }
  }

  /** Makes room for a request of n bytes (the buffer keeps its headroom). */
  private reserve(n: number): void {
    if (HEADROOM + n <= this.buf.length) return;
    const pending = this.wpos - this.rpos;
    const next = Buffer.allocUnsafe(HEADROOM + Math.max(n, pending) + INITIAL_BUFFER);
    this.buf.copy(next, HEADROOM, this.rpos, this.wpos);
    this.buf = next;
    this.args.buf = next;
    this.rpos = HEADROOM;
    this.wpos = HEADROOM + pending;
  }

  // ---- text protocol ---------------------------------------------------------------------------

  /** Handles one text command line (and its data block) if complete; -1 when more is needed. */
  private textStep(): number {
    const b = this.buf;
    const start = this.rpos;
    const nl = b.indexOf(10, start);
    if (nl < 0 || nl >= this.wpos) {
      const pending = this.wpos - start;
      const isGet = b[start] === 103 && b[start + 1] === 101 && b[start + 2] === 116; // "get"
      if (pending > (isGet ? GET_LINE_MAX : LINE_MAX)) {
        if (isGet) this.replyNow(Buffer.from(TEXT.lineTooLong));
        this.closeAfterReplies();
      }
      return -1;
    }
    const end = nl > start && b[nl - 1] === 13 ? nl - 1 : nl;
    this.tokenize(start, end);
    const t = this.tok;
    if (t.n === 0) {
      this.rpos = nl + 1;
      this.replyText(TEXT.error);
      return 0;
    }
    const v = b.toString('latin1', t.off[0]!, t.off[0]! + t.len[0]!);
    const lineEnd = nl + 1;
    if (!this.authenticated) return this.textAuth(v, lineEnd);
    switch (v) {
      case 'get':
      case 'gets':
        if (t.n < 2) return this.lineError(lineEnd, TEXT.error);
        return this.textGet(lineEnd, 1, v === 'gets', false, 0);
      case 'gat':
      case 'gats': {
        if (t.n < 3) return this.lineError(lineEnd, TEXT.error);
        const exp = parseI32(b, t.off[1]!, t.len[1]!, true);
        if (Number.isNaN(exp)) return this.lineError(lineEnd, 'CLIENT_ERROR invalid exptime argument\r\n');
        return this.textGet(lineEnd, 2, v === 'gats', true, exp);
      }
      case 'set':
      case 'add':
      case 'replace':
      case 'append':
      case 'prepend':
      case 'cas':
        return this.textStore(v, lineEnd);
      case 'delete':
        return this.textDelete(lineEnd);
      case 'incr':
      case 'decr':
        return this.textDelta(v === 'incr', lineEnd);
      case 'touch':
        return this.textTouch(lineEnd);
      case 'mg':
      case 'ms':
      case 'md':
      case 'ma':
      case 'me':
        return this.metaCommand(v, lineEnd);
      case 'mn':
        this.rpos = lineEnd;
        this.host.count('meta');
        this.replyText(TEXT.mn);
        return 0;
      case 'flush_all':
        return this.textFlush(lineEnd);
      case 'version':
        this.rpos = lineEnd;
        this.host.count('version');
        this.replyText(`VERSION ${MEMCACHE_VERSION}\r\n`);
        return 0;
      case 'verbosity':
        if (t.n < 2 || t.n > 3) return this.lineError(lineEnd, TEXT.error);
        this.rpos = lineEnd;
        if (!this.noreply()) this.replyText(TEXT.ok);
        return 0;
      case 'stats':
        this.rpos = lineEnd;
        this.host.count('stats');
        this.textStats(t.n > 1);
        return 0;
      case 'quit':
        this.rpos = lineEnd;
        this.closeAfterReplies();
        return -1;
      default:
        return this.lineError(lineEnd, TEXT.error);
    }
  }

  /** Splits buf[start, end) on spaces into this.tok (growing it as needed). */
  private tokenize(start: number, end: number): void {
    const b = this.buf;
    const t = this.tok;
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

  private tokIs(i: number, word: string): boolean {
    const t = this.tok;
    if (i >= t.n || t.len[i] !== word.length) return false;
    const o = t.off[i]!;
    for (let k = 0; k < word.length; k++) if (this.buf[o + k] !== word.charCodeAt(k)) return false;
    return true;
  }

  private noreply(): boolean {
    return this.tokIs(this.tok.n - 1, 'noreply');
  }

  private lineError(lineEnd: number, text: string): number {
    this.rpos = lineEnd;
    this.replyText(text);
    return 0;
  }

  /** The synthetic request header in the headroom: mode, opcode, text flags. */
  private textHeader(mode: number, opcode: number, tflags: number): void {
    const b = this.buf;
    b.fill(0, SCRATCH_HDR, SCRATCH_HDR + HEADER_BYTES);
    b[SCRATCH_HDR] = mode;
    b[SCRATCH_HDR + H_OPCODE] = opcode;
    b[SCRATCH_HDR + 5] = tflags;
  }

  /** Sends `__mc` for the key at buf[keyOff, +keyLen) with the headroom header and extras. */
  private sendText(extLen: number, keyOff: number, keyLen: number, valueOff: number, valueLen: number, seq: number): void {
    const a = this.args;
    a.buf = this.buf;
    a.argc = 5;
    a.off[0] = 0;
    a.len[0] = 0;
    a.off[1] = SCRATCH_HDR;
    a.len[1] = HEADER_BYTES;
    a.off[2] = SCRATCH_EXTRAS;
    a.len[2] = extLen;
    a.off[3] = keyOff;
    a.len[3] = keyLen;
    a.off[4] = valueOff;
    a.len[4] = valueLen;
    this.host.sendToShard(this, seq, a, 3);
  }

  private textGet(lineEnd: number, firstKey: number, withCas: boolean, touch: boolean, exptime: number): number {
    const t = this.tok;
    this.rpos = lineEnd;
    this.host.count(touch ? 'gat' : 'get');
    for (let i = firstKey; i < t.n; i++) {
      if (t.len[i]! > KEY_MAX_BYTES) {
        this.replyText(TEXT.badFormat);
        return 0;
      }
      // The header is rebuilt per key: an inline shard may have run the previous one in place.
      this.textHeader(MODE_TEXT, touch ? OP.GATK : OP.GETK, withCas ? TEXT_WITH_CAS : 0);
      if (touch) writeU32(this.buf, SCRATCH_EXTRAS, exptime >>> 0);
      this.sendText(touch ? 4 : 0, t.off[i]!, t.len[i]!, 0, 0, this.nextSeq++);
    }
    this.replyText(TEXT.end);
    return 0;
  }

  private textStore(verb: string, lineEnd: number): number {
    const t = this.tok;
    const b = this.buf;
    const isCas = verb === 'cas';
    const base = isCas ? 6 : 5;
    if (t.n !== base && t.n !== base + 1) return this.lineError(lineEnd, TEXT.error);
    const noreply = t.n === base + 1 && this.noreply();
    const keyLen = t.len[1]!;
    const flags = parseI32(b, t.off[2]!, t.len[2]!, false);
    const exptime = parseI32(b, t.off[3]!, t.len[3]!, true);
    const bytes = parseI32(b, t.off[4]!, t.len[4]!, true);
    const cas = isCas ? parseU64(b, t.off[5]!, t.len[5]!) : 0;
    if (keyLen > KEY_MAX_BYTES || Number.isNaN(flags) || Number.isNaN(exptime) || Number.isNaN(bytes) || bytes < 0 || cas === null) {
      return this.lineError(lineEnd, TEXT.badFormat);
    }
    if (keyLen + bytes + ITEM_OVERHEAD_BYTES > this.host.maxItemBytes()) {
      this.host.count('too_large');
      this.rpos = lineEnd;
      this.skip(bytes + 2);
      if (!noreply) this.replyText(TEXT.tooLarge);
      return 0;
    }
    if (this.wpos - lineEnd < bytes + 2) {
      this.reserve(lineEnd - this.rpos + bytes + 2);
      return -1;
    }
    // reserve() may have moved the buffer: re-read positions relative to rpos next time.
    const dataOff = lineEnd;
    this.rpos = lineEnd + bytes + 2;
    if (b[dataOff + bytes] !== 13 || b[dataOff + bytes + 1] !== 10) {
      this.replyText(TEXT.badChunk);
      return 0;
    }
    this.host.count(isCas ? 'cas' : verb);
    const op = verb === 'set' || isCas ? OP.SET : verb === 'add' ? OP.ADD : verb === 'replace' ? OP.REPLACE : verb === 'append' ? OP.APPEND : OP.PREPEND;
    this.textHeader(MODE_TEXT, op, noreply ? TEXT_NOREPLY : 0);
    if (isCas) writeU64(b, SCRATCH_HDR + 16, cas);
    writeU32(b, SCRATCH_EXTRAS, flags);
    writeU32(b, SCRATCH_EXTRAS + 4, exptime >>> 0);
    this.sendText(8, t.off[1]!, keyLen, dataOff, bytes, this.nextSeq++);
    return 0;
  }

  private textDelete(lineEnd: number): number {
    const t = this.tok;
    if (t.n < 2) return this.lineError(lineEnd, TEXT.error);
    const noreply = this.noreply();
    const extra = t.n - 2 - (noreply ? 1 : 0);
    if (t.n > 4 || extra > 1 || (extra === 1 && !this.tokIs(2, '0'))) return this.lineError(lineEnd, TEXT.deleteUsage);
    if (t.len[1]! > KEY_MAX_BYTES) return this.lineError(lineEnd, TEXT.badFormat);
    this.rpos = lineEnd;
    this.host.count('delete');
    this.textHeader(MODE_TEXT, OP.DELETE, noreply ? TEXT_NOREPLY : 0);
    this.sendText(0, t.off[1]!, t.len[1]!, 0, 0, this.nextSeq++);
    return 0;
  }

  private textDelta(incr: boolean, lineEnd: number): number {
    const t = this.tok;
    if (t.n !== 3 && t.n !== 4) return this.lineError(lineEnd, TEXT.error);
    if (t.len[1]! > KEY_MAX_BYTES) return this.lineError(lineEnd, TEXT.badFormat);
    const delta = parseU64(this.buf, t.off[2]!, t.len[2]!);
    if (delta === null) return this.lineError(lineEnd, TEXT.invalidDelta);
    const noreply = t.n === 4 && this.noreply();
    this.rpos = lineEnd;
    this.host.count(incr ? 'incr' : 'decr');
    this.textHeader(MODE_TEXT, incr ? OP.INCREMENT : OP.DECREMENT, noreply ? TEXT_NOREPLY : 0);
    writeU64(this.buf, SCRATCH_EXTRAS, delta);
    writeU64(this.buf, SCRATCH_EXTRAS + 8, 0);
    writeU32(this.buf, SCRATCH_EXTRAS + 16, 0xffffffff);
    this.sendText(20, t.off[1]!, t.len[1]!, 0, 0, this.nextSeq++);
    return 0;
  }

  private textTouch(lineEnd: number): number {
    const t = this.tok;
    if (t.n !== 3 && t.n !== 4) return this.lineError(lineEnd, TEXT.error);
    if (t.len[1]! > KEY_MAX_BYTES) return this.lineError(lineEnd, TEXT.badFormat);
    const exp = parseI32(this.buf, t.off[2]!, t.len[2]!, true);
    if (Number.isNaN(exp)) return this.lineError(lineEnd, 'CLIENT_ERROR invalid exptime argument\r\n');
    const noreply = t.n === 4 && this.noreply();
    this.rpos = lineEnd;
    this.host.count('touch');
    this.textHeader(MODE_TEXT, OP.TOUCH, noreply ? TEXT_NOREPLY : 0);
    writeU32(this.buf, SCRATCH_EXTRAS, exp >>> 0);
    this.sendText(4, t.off[1]!, t.len[1]!, 0, 0, this.nextSeq++);
    return 0;
  }

  private textFlush(lineEnd: number): number {
    const t = this.tok;
    if (t.n > 3) return this.lineError(lineEnd, TEXT.error);
    const noreply = t.n > 1 && this.noreply();
    let delay = 0;
    if (t.n - (noreply ? 1 : 0) === 2) {
      delay = parseI32(this.buf, t.off[1]!, t.len[1]!, true);
      if (Number.isNaN(delay)) return this.lineError(lineEnd, TEXT.badFormat);
    }
    this.rpos = lineEnd;
    this.host.count('flush');
    const seq = this.nextSeq++;
    this.host.flushAll(Math.max(0, delay), () => {
      const r = noreply ? EMPTY : Buffer.from(TEXT.ok);
      this.deliver(seq, r, 0, r.length);
    });
    return 0;
  }

  private textStats(withGroup: boolean): void {
    const seq = this.nextSeq++;
    if (withGroup) {
      // Only the general group is served.
      const r = Buffer.from(TEXT.end);
      this.deliver(seq, r, 0, r.length);
      return;
    }
    void this.host.stats().then(
      (pairs) => {
        const r = Buffer.from(pairs.map(([k, v]) => `STAT ${k} ${v}\r\n`).join('') + TEXT.end, 'latin1');
        this.deliver(seq, r, 0, r.length);
      },
      () => {
        const r = Buffer.from(TEXT.serverError);
        this.deliver(seq, r, 0, r.length);
      },
    );
  }

  /** Meta commands: `<verb> <key> [datalen for ms] <flags>*`. */
  private metaCommand(verb: string, lineEnd: number): number {
    const t = this.tok;
    const b = this.buf;
    if (t.n < 2) return this.lineError(lineEnd, verb === 'mg' || verb === 'md' || verb === 'ma' || verb === 'me' ? TEXT.error : TEXT.badFormat);
    if (t.len[1]! > KEY_MAX_BYTES) return this.lineError(lineEnd, TEXT.badFormat);
    let flagsFrom = 2;
    let dataLen = 0;
    if (verb === 'ms') {
      if (t.n < 3) return this.lineError(lineEnd, TEXT.badFormat);
      dataLen = parseI32(b, t.off[2]!, t.len[2]!, true);
      if (Number.isNaN(dataLen) || dataLen < 0) return this.lineError(lineEnd, TEXT.badFormat);
      flagsFrom = 3;
    }
    // The key, base64-decoded into the headroom when the b flag is given.
    let keyOff = t.off[1]!;
    let keyLen = t.len[1]!;
    for (let i = flagsFrom; i < t.n; i++) {
      if (t.len[i] === 1 && b[t.off[i]!] === 98) {
        const decoded = Buffer.from(b.toString('latin1', keyOff, keyOff + keyLen), 'base64');
        if (decoded.length === 0 || decoded.length > KEY_MAX_BYTES) return this.lineError(lineEnd, TEXT.badFormat);
        decoded.copy(b, SCRATCH_KEY);
        keyOff = SCRATCH_KEY;
        keyLen = decoded.length;
        break;
      }
    }
    let dataOff = lineEnd;
    if (verb === 'ms') {
      if (keyLen + dataLen + ITEM_OVERHEAD_BYTES > this.host.maxItemBytes()) {
        this.host.count('too_large');
        this.rpos = lineEnd;
        this.skip(dataLen + 2);
        this.replyText(TEXT.tooLarge);
        return 0;
      }
      if (this.wpos - lineEnd < dataLen + 2) {
        this.reserve(lineEnd - this.rpos + dataLen + 2);
        return -1;
      }
      dataOff = lineEnd;
      this.rpos = lineEnd + dataLen + 2;
      if (b[dataOff + dataLen] !== 13 || b[dataOff + dataLen + 1] !== 10) {
        this.replyText(TEXT.badChunk);
        return 0;
      }
    } else {
      this.rpos = lineEnd;
    }
    this.host.count('meta');
    const letter = verb === 'mg' ? META_GET : verb === 'ms' ? META_SET : verb === 'md' ? META_DELETE : verb === 'ma' ? META_ARITH : META_DEBUG;
    this.textHeader(MODE_META, letter, 0);
    const a = this.args;
    const flagsOff = flagsFrom < t.n ? t.off[flagsFrom]! : lineEnd;
    const flagsEnd = flagsFrom < t.n ? t.off[t.n - 1]! + t.len[t.n - 1]! : lineEnd;
    a.buf = b;
    a.argc = 7;
    a.off[0] = 0;
    a.len[0] = 0;
    a.off[1] = SCRATCH_HDR;
    a.len[1] = HEADER_BYTES;
    a.off[2] = SCRATCH_EXTRAS;
    a.len[2] = 0;
    a.off[3] = keyOff;
    a.len[3] = keyLen;
    a.off[4] = dataOff;
    a.len[4] = verb === 'ms' ? dataLen : 0;
    a.off[5] = flagsOff;
    a.len[5] = flagsEnd - flagsOff;
    a.off[6] = t.off[1]!;
    a.len[6] = t.len[1]!;
    this.host.sendToShard(this, this.nextSeq++, a, 3);
    return 0;
  }

  /** memcached's ASCII authentication: `set <any> <flags> <exptime> <bytes>` whose data is
   * "<user> <password>"; anything else is refused. */
  private textAuth(verb: string, lineEnd: number): number {
    const t = this.tok;
    if (verb !== 'set' || t.n < 5) {
      this.rpos = lineEnd;
      this.replyText(TEXT.authRequired);
      this.closeAfterReplies();
      return -1;
    }
    const bytes = parseI32(this.buf, t.off[4]!, t.len[4]!, true);
    if (Number.isNaN(bytes) || bytes < 0 || bytes > 1024) return this.lineError(lineEnd, TEXT.badFormat);
    if (this.wpos - lineEnd < bytes + 2) return -1;
    const words = this.buf.toString('utf8', lineEnd, lineEnd + bytes).split(' ');
    this.rpos = lineEnd + bytes + 2;
    if (words.length === 2 && words[1] === this.host.password()) {
      this.authenticated = true;
      this.replyText(TEXT.stored);
      return 0;
    }
    this.host.count('auth_error');
    this.replyText('CLIENT_ERROR authentication failure\r\n');
    this.closeAfterReplies();
    return -1;
  }

  // ---- output ----------------------------------------------------------------------------------

  private replyNow(b: Buffer): void {
    this.deliver(this.nextSeq++, b, 0, b.length);
  }

  private replyText(s: string): void {
    const b = Buffer.from(s, 'latin1');
    this.deliver(this.nextSeq++, b, 0, b.length);
  }

  /** A reply for seq (from a shard or from here); written in seq order. A RESP error (a shard
   * crashed, an internal failure) becomes memcached's server error. */
  deliver(seq: number, buf: Uint8Array, off: number, len: number): void {
    if (this.dead) return;
    if (len > 0 && buf[off] === 45) {
      const err = this.proto === PROTO_BINARY ? errorResponse(0, STATUS.ENOMEM, 0) : Buffer.from(TEXT.serverError);
      this.deliver(seq, err, 0, err.length);
      return;
    }
    if (this.order.put(seq, buf, off, len, this.out)) this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.flushScheduled = false;
    if (this.dead) return;
    const chunk = this.out.drain();
    if (chunk !== null) this.socket.write(chunk);
    if (this.closeAfter && this.order.headSeq === this.nextSeq) {
      this.dead = true;
      this.socket.end();
      this.host.closed(this);
    }
  }

  private closeAfterReplies(): void {
    this.closeAfter = true;
    this.rpos = this.wpos;
    this.scheduleFlush();
  }

  private closeNow(): void {
    this.closeAfter = true;
    this.rpos = this.wpos;
    // Replies already due still go out first.
    this.scheduleFlush();
  }

  kill(): void {
    if (this.dead) return;
    this.socket.destroy();
    this.destroy();
  }

  private destroy(): void {
    if (this.dead) return;
    this.dead = true;
    this.order.clear();
    this.host.closed(this);
  }
}

function headerOnly(opcode: number, opaque: number): Buffer {
  const b = Buffer.allocUnsafe(HEADER_BYTES);
  writeResponseHeader(b, 0, opcode, 0, 0, 0, 0, opaque, 0);
  return b;
}
