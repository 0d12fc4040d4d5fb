// One memcached client on the main thread. MemcacheFramer (src/protocol/memcache-framing.ts)
// finds request boundaries and enforces the wire limits; this class checks what memcached checks
// before executing (authentication, argument shapes), routes each keyed request to the shard
// owning the key's hash slot as one `__mc` command (arguments are slices of the receive buffer,
// or of its 512-byte headroom where the text parser builds a binary-shaped header), and writes
// replies strictly in request order, once per event-loop turn.
// Bounds: the receive buffer grows only with bytes received and holds at most one request over
// the framer's limits plus one read; at most MAX_IN_FLIGHT requests wait for replies and input
// stops while OUTPUT_HIGH_WATER_BYTES of output wait for the client (memcached's own backpressure:
// it does not read while it cannot write); the normal client-output-buffer-limit closes the
// connection when crossed. Errors that memcached answers by closing stop reading at once and close
// once the replies before them are written. A client that half-closes gets every reply first.
// A text get/gat of several keys ends at its first error line, as memcached's does (the values
// before it, the error, then neither the other keys' values nor END): each key is its own shard
// request, so the replies after a SERVER_ERROR (a key holding a collection, an admission refusal)
// are emptied as they arrive. The get lines waiting for replies are remembered for that, at most
// one per request in flight.

import { ReplyOrder } from './reply-order.js';
import type { Socket } from 'node:net';
import type { ArgList } from '../commands/types.js';
import type { ReplySink } from '../runtime/shard-port.js';
import type { AdmissionClient } from './admission.js';
import type { AclClientDescription, AclUser } from '../core/acl.js';
import { RespWriter } from '../protocol/resp-writer.js';
import {
  H_MAGIC, H_OPCODE, HEADER_BYTES, KEY_MAX_BYTES, MEMCACHE_VERSION, OP, REQ_MAGIC, STATUS, TEXT, errorResponse, isQuiet, opcodeName,
  parseI32, parseU64, readU32, refusalResponse, statResponse, textResponse, writeResponseHeader, writeU32, writeU64,
} from '../protocol/memcache.js';
import { FRAME, MemcacheFramer, PROTO_BINARY, tokIs } from '../protocol/memcache-framing.js';
import {
  META_ARITH, META_DEBUG, META_DELETE, META_GET, META_SET, MODE_META, MODE_TEXT, TEXT_NOREPLY, TEXT_WITH_CAS,
} from '../commands/memcache-family.js';

/** A memcached connection as the door's admission sees it. */
export interface MemcacheClient extends ReplySink, AdmissionClient, AclClientDescription {
  /** The ACL user its requests are checked as (the default user until SASL or text auth). */
  user: AclUser;
  /** Answers request `seq` (its `__mc` arguments) with an admission refusal, in its protocol;
   * `denied`: an ACL denial (binary: NOT_SUPPORTED with the text, not the temporary failure). */
  refuse(seq: number, text: string, args: ArgList, denied?: boolean): void;
}

export interface MemcacheHost {
  /** Admits, then queues `__mc` with these arguments on the key's shard; the reply goes to the
   * client with seq. */
  sendToShard(client: MemcacheClient, seq: number, args: ArgList, keyArg: number): void;
  /** Admits a flush_all, empties every shard (after delaySeconds when > 0), then calls done
   * (with the refusal's text when it was not admitted). */
  flushAll(client: MemcacheClient, delaySeconds: number, done: (refusal: string | null) => void): void;
  /** memcached's `stats` as name/value pairs. */
  stats(): Promise<Array<[string, string]>>;
  publishRequests(): void;
  readonly backlogged: boolean;
  maxItemBytes(): number;
  /** client-output-buffer-limit's normal hard limit in bytes, 0 = none. */
  outputHardLimitBytes(): number;
  /** The user a new connection starts as. */
  defaultUser(): AclUser;
  /** A new connection must log in (the default user is off or has a password). */
  needsAuth(): boolean;
  /** The user `name`/`pass` logs in as, or null (the ACL's authenticate: throttled, logged). */
  authenticate(name: string, pass: string, client: MemcacheConnection): AclUser | null;
  /** Whether `client` may run the Redis command a non-keyed request amounts to (stats: INFO);
   * the denial's text (logged in ACL LOG) or null. */
  deniedNoKey(client: MemcacheConnection, what: 'stats'): string | null;
  count(command: string): void;
  /** Logs (once per connection) why it was closed against its will. */
  dropped(conn: MemcacheConnection, reason: string): void;
  closed(conn: MemcacheConnection): void;
}

const HEADROOM = 512;
const SCRATCH_HDR = 0;
const SCRATCH_EXTRAS = 24;
const SCRATCH_KEY = 64;
const INITIAL_BUFFER = 16 * 1024;
/** A receive buffer grown past this (for a large item) is given back once it is empty. */
const BUFFER_KEEP_BYTES = 256 * 1024;
/** Requests dispatched but not yet answered; parsing waits beyond this. */
export const MAX_IN_FLIGHT = 256;
/** Output waiting for the client above which parsing waits (the socket is paused). */
export const OUTPUT_HIGH_WATER_BYTES = 1024 * 1024;
const WRITER_KEEP_BYTES = 1024 * 1024;
const EMPTY = Buffer.alloc(0);

export class MemcacheConnection implements MemcacheClient {
  private buf = Buffer.allocUnsafe(HEADROOM + INITIAL_BUFFER);
  private rpos = HEADROOM;
  private wpos = HEADROOM;
  private readonly framer: MemcacheFramer;
  private readonly args: ArgList = { buf: this.buf, off: new Int32Array(8), len: new Int32Array(8), argc: 0 };
  private nextSeq = 0;
  private readonly order = new ReplyOrder();
  private out = new RespWriter(16 * 1024);
  private flushScheduled = false;
  /** No more requests are read: the connection closes once the replies due are written. */
  private closeAfter = false;
  /** The client shut down its write side (FIN): close after the last reply. */
  private inputEnded = false;
  /** Parsing stopped on MAX_IN_FLIGHT or OUTPUT_HIGH_WATER_BYTES with requests still buffered. */
  private stalled = false;
  private dead = false;
  private paused = false;
  private pollScheduled = false;
  private authed: boolean;
  user: AclUser;
  readonly addr: string;
  private readonly laddr: string;
  private readonly createdMs = Date.now();
  /** Text get lines not yet fully answered: pairs (seq of the first key, seq of END), oldest
   * first from getHead. */
  private gets: number[] = [];
  private getHead = 0;
  /** Replies of failed gets still to come, to be emptied when they arrive. */
  private readonly blank = new Set<number>();

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly host: MemcacheHost,
  ) {
    this.authed = !host.needsAuth();
    this.user = host.defaultUser();
    this.addr = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.laddr = `${socket.localAddress ?? '?'}:${socket.localPort ?? 0}`;
    this.framer = new MemcacheFramer(host.maxItemBytes());
    socket.on('data', (chunk: Buffer) => this.guard(() => this.onData(chunk)));
    socket.on('end', () => this.guard(() => this.onEnd()));
    socket.on('drain', () => this.guard(() => this.process()));
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.destroy());
  }

  /** Runs a handler so that a failure closes only this connection (logged once). */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.host.dropped(this, `internal error: ${e instanceof Error ? e.message : String(e)}`);
      this.kill();
    }
  }

  // ---- input -----------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.dead || this.closeAfter) return;
    this.append(chunk);
    this.process();
  }

  private onEnd(): void {
    this.inputEnded = true;
    this.process();
    this.scheduleFlush();
  }

  /** Appends received bytes; the buffer grows with what arrived, never with what was announced. */
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
    if (this.dead) return;
    this.framer.maxItemBytes = this.host.maxItemBytes();
    this.stalled = false;
    while (!this.dead && !this.closeAfter && this.rpos < this.wpos) {
      if (this.nextSeq - this.order.headSeq >= MAX_IN_FLIGHT || this.outputBytes() > OUTPUT_HIGH_WATER_BYTES) {
        this.stalled = true;
        break;
      }
      if (!this.step()) break;
    }
    if (this.rpos === this.wpos) {
      this.rpos = HEADROOM;
      this.wpos = HEADROOM;
      if (this.buf.length > HEADROOM + BUFFER_KEEP_BYTES) {
        this.buf = Buffer.allocUnsafe(HEADROOM + INITIAL_BUFFER);
        this.args.buf = this.buf;
      }
    }
    this.host.publishRequests();
    this.updatePause();
    if (this.inputEnded) this.scheduleFlush();
  }

  /** Reads while shards keep up and the client takes its replies; polls while shards are
   * backlogged, and resumes on 'drain' or a reply when output was the reason. */
  private updatePause(): void {
    if (this.dead) return;
    const want = this.closeAfter || this.stalled || this.host.backlogged;
    if (want && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!want && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    if (this.paused && !this.closeAfter && this.host.backlogged && !this.pollScheduled) {
      this.pollScheduled = true;
      setTimeout(() => {
        this.pollScheduled = false;
        this.guard(() => this.updatePause());
      }, 1);
    }
  }

  /** Handles the next frame; false when more bytes are needed or input must stop. */
  private step(): boolean {
    const f = this.framer;
    const kind = f.next(this.buf, this.rpos, this.wpos);
    switch (kind) {
      case FRAME.NEED_MORE:
        return false;
      case FRAME.SKIP:
        this.rpos = f.end;
        return true;
      case FRAME.BIN_BAD_MAGIC:
        // memcached: "Invalid magic", the connection is closed without a reply.
        this.closeAfterReplies();
        return false;
      case FRAME.BIN_INVALID:
        if (!f.keyTooLong && this.binAuthRefused()) return false;
        return this.binProtocolError(f.opcode, f.opaque);
      case FRAME.BIN_REFUSE:
        if (this.binAuthRefused()) return false;
        this.host.count(f.status === STATUS.UNKNOWN_COMMAND ? 'unknown' : f.status === STATUS.E2BIG ? 'too_large' : 'protocol_error');
        this.replyNow(errorResponse(f.opcode, f.status, f.opaque));
        this.rpos = f.end;
        return true;
      case FRAME.BIN_PENDING:
        this.binAuthRefused();
        return false;
      case FRAME.BIN_REQUEST:
        if (this.binAuthRefused()) return false;
        this.rpos = f.end;
        return this.binaryRequest(f.start);
      case FRAME.TEXT_LINE_TOO_LONG:
        if (f.isGet) this.replyNow(Buffer.from(TEXT.lineTooLong));
        this.closeAfterReplies();
        return false;
      case FRAME.TEXT_TOO_LARGE:
        this.rpos = f.end;
        if (!this.authed) return this.textAuth();
        this.host.count('too_large');
        if (!f.noreply) this.replyText(TEXT.tooLarge);
        return true;
      case FRAME.TEXT_LINE:
        return this.textLine();
      default:
        return false;
    }
  }

  // ---- binary protocol -------------------------------------------------------------------------

  /** memcached refuses every request but SASL's before authentication, and closes. */
  private binAuthRefused(): boolean {
    const op = this.framer.op;
    if (this.authed || op === OP.SASL_LIST_MECHS || op === OP.SASL_AUTH || op === OP.SASL_STEP) return false;
    this.host.count('auth_error');
    this.replyNow(errorResponse(this.framer.opcode, STATUS.AUTH_ERROR, this.framer.opaque));
    this.closeAfterReplies();
    return true;
  }

  /** Runs the complete binary request whose header is at p; false when input must stop. */
  private binaryRequest(p: number): boolean {
    const f = this.framer;
    const b = this.buf;
    const { opcode, opaque, keyLen, extLen, bodyLen } = f;
    const valueLen = bodyLen - keyLen - extLen;
    this.host.count(opcodeName(opcode));
    const x = p + HEADER_BYTES;
    switch (f.op) {
      case OP.NOOP:
        this.replyNow(headerOnly(opcode, opaque));
        return true;
      case OP.VERSION:
        this.replyNow(textResponse(opcode, 0, opaque, MEMCACHE_VERSION));
        return true;
      case OP.VERBOSITY:
        // memcached 1.6 accepts it and sends nothing back.
        return true;
      case OP.QUIT:
        if (!isQuiet(opcode)) this.replyNow(headerOnly(opcode, opaque));
        this.closeAfterReplies();
        return false;
      case OP.FLUSH: {
        const delay = extLen === 4 ? readU32(b, x) : 0;
        const seq = this.nextSeq++;
        const quiet = isQuiet(opcode);
        this.host.flushAll(this, delay, (refusal) => {
          const r = refusal === null ? (quiet ? EMPTY : headerOnly(opcode, opaque))
            : isDenial(refusal) ? textResponse(opcode, STATUS.NOT_SUPPORTED, opaque, refusal) : refusalResponse(true, opcode, opaque, refusal);
          this.deliver(seq, r, 0, r.length);
        });
        return true;
      }
      case OP.STAT:
        this.binStats(opaque, keyLen > 0 ? b.toString('latin1', x + extLen, x + extLen + keyLen) : '');
        return true;
      case OP.SASL_LIST_MECHS:
        this.replyNow(textResponse(opcode, 0, opaque, 'PLAIN'));
        return true;
      case OP.SASL_AUTH:
      case OP.SASL_STEP:
        this.saslAuth(opcode, opaque, b.toString('latin1', x + extLen, x + extLen + keyLen), b.subarray(x + extLen + keyLen, x + bodyLen));
        return true;
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
        return true;
      }
    }
  }

  /** memcached's handle_binary_protocol_error: EINVAL, then the connection is closed. */
  private binProtocolError(opcode: number, opaque: number): boolean {
    this.host.count('protocol_error');
    this.replyNow(errorResponse(opcode, STATUS.EINVAL, opaque));
    this.closeAfterReplies();
    return false;
  }

  private binStats(opaque: number, group: string): void {
    const seq = this.nextSeq++;
    const denied = this.host.deniedNoKey(this, 'stats');
    if (denied !== null) {
      const r = textResponse(OP.STAT, STATUS.NOT_SUPPORTED, opaque, denied);
      this.deliver(seq, r, 0, r.length);
      return;
    }
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
    // PLAIN: [authzid] NUL authcid NUL password; authcid names the ACL user (authzid is ignored,
    // as memcached does: no proxy authorization).
    // Bytes as latin1, as RESP's AUTH passes them: a password is the same bytes on every door.
    const parts = data.toString('latin1').split('\0');
    // An empty authcid is the default user (as AUTH with only a password).
    const user = mech === 'PLAIN' && parts.length === 3 ? this.host.authenticate(parts[1] || 'default', parts[2]!, this) : null;
    if (user !== null) {
      this.authed = true;
      this.user = user;
      this.replyNow(textResponse(opcode, 0, opaque, 'Authenticated'));
    } else {
      this.host.count('auth_error');
      this.replyNow(errorResponse(opcode, STATUS.AUTH_ERROR, opaque));
    }
  }

  // ---- text protocol ---------------------------------------------------------------------------

  /** Handles the text command line the framer found (with its data block, if any); false when
   * input must stop. */
  private textLine(): boolean {
    const f = this.framer;
    const b = this.buf;
    const lineEnd = f.lineEnd;
    const t = f.tok;
    if (t.n === 0) {
      this.rpos = lineEnd;
      this.replyText(TEXT.error);
      return true;
    }
    return this.textCommand(b, t, lineEnd) >= 0;
  }

  /** One text command; 0 to go on, -1 when input must stop. */
  private textCommand(b: Buffer, t: MemcacheFramer['tok'], lineEnd: number): number {
    const v = b.toString('latin1', t.off[0]!, t.off[0]! + t.len[0]!);
    if (!this.authed) return this.textAuth() ? 0 : -1;
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
        return this.textStore(v);
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

  private get tok(): MemcacheFramer['tok'] {
    return this.framer.tok;
  }

  private tokIs(i: number, word: string): boolean {
    return tokIs(this.buf, this.framer.tok, i, word);
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
    const first = this.nextSeq;
    // Remembered before the keys go out: a key refused at once (admission, the ACL) ends the line
    // as a shard's error does.
    this.rememberGet(first, first + (t.n - firstKey));
    const endAt = this.gets.length - 1;
    for (let i = firstKey; i < t.n; i++) {
      if (t.len[i]! > KEY_MAX_BYTES) {
        // The line ends here, without END.
        if (this.gets[endAt]! > this.nextSeq) this.gets[endAt] = this.nextSeq;
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

  /** Records a get line whose keys have seqs [first, end) and END seq `end`; forgets lines fully
   * written (bounded by the requests in flight). */
  private rememberGet(first: number, end: number): void {
    const g = this.gets;
    while (this.getHead < g.length && g[this.getHead + 1]! < this.order.headSeq) this.getHead += 2;
    if (this.getHead === g.length) {
      g.length = 0;
      this.getHead = 0;
    } else if (this.getHead > 64) {
      this.gets = g.slice(this.getHead);
      this.getHead = 0;
    }
    this.gets.push(first, end);
  }

  /** Reply `seq` is an error: if it answers a key of a get line, that get ends with it. */
  private getFailed(seq: number): void {
    const g = this.gets;
    for (let i = this.getHead; i < g.length; i += 2) {
      const first = g[i]!;
      const end = g[i + 1]!;
      if (seq < first) return;
      if (seq >= end) continue;
      g[i + 1] = seq; // a later error of this line finds it ended
      for (let s = seq + 1; s <= end; s++) if (!this.order.emptyParked(s)) this.blank.add(s);
      return;
    }
  }

  /** A storage command whose line and data block the framer checked (too large ones never
   * get here: the framer swallows their data). */
  private textStore(verb: string): number {
    const f = this.framer;
    const b = this.buf;
    const t = f.tok;
    this.rpos = f.end;
    if (f.lineError !== null) {
      this.replyText(f.lineError);
      return 0;
    }
    if (!f.dataChunkOk) {
      this.replyText(TEXT.badChunk);
      return 0;
    }
    const isCas = verb === 'cas';
    this.host.count(isCas ? 'cas' : verb);
    const op = verb === 'set' || isCas ? OP.SET : verb === 'add' ? OP.ADD : verb === 'replace' ? OP.REPLACE : verb === 'append' ? OP.APPEND : OP.PREPEND;
    this.textHeader(MODE_TEXT, op, f.noreply ? TEXT_NOREPLY : 0);
    if (isCas) writeU64(b, SCRATCH_HDR + 16, f.cas);
    writeU32(b, SCRATCH_EXTRAS, f.flags);
    writeU32(b, SCRATCH_EXTRAS + 4, f.exptime >>> 0);
    this.sendText(8, t.off[1]!, t.len[1]!, f.dataOff, f.dataLen, this.nextSeq++);
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
    this.host.flushAll(this, Math.max(0, delay), (refusal) => {
      const r = refusal !== null ? refusalResponse(false, 0, 0, refusal) : noreply ? EMPTY : Buffer.from(TEXT.ok);
      this.deliver(seq, r, 0, r.length);
    });
    return 0;
  }

  private textStats(withGroup: boolean): void {
    const seq = this.nextSeq++;
    const denied = this.host.deniedNoKey(this, 'stats');
    if (denied !== null) {
      const r = refusalResponse(false, 0, 0, denied);
      this.deliver(seq, r, 0, r.length);
      return;
    }
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
    const f = this.framer;
    let flagsFrom = 2;
    let dataLen = 0;
    if (verb === 'ms') {
      // The framer parsed the data length and read the data block.
      if (f.lineError !== null) return this.lineError(f.end, f.lineError);
      dataLen = f.dataLen;
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
    const dataOff = f.dataOff;
    this.rpos = f.end;
    if (verb === 'ms' && !f.dataChunkOk) {
      this.replyText(TEXT.badChunk);
      return 0;
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
   * "<user> <password>"; anything else is refused and closes. False when input must stop. */
  private textAuth(): boolean {
    const f = this.framer;
    this.rpos = f.end;
    const isSet = this.tokIs(0, 'set');
    if (!isSet || f.tok.n < 5) {
      this.replyText(TEXT.authRequired);
      this.closeAfterReplies();
      return false;
    }
    if (f.lineError !== null || f.dataLen < 0 || f.dataLen > 1024) {
      this.replyText(TEXT.badFormat);
      return true;
    }
    const words = this.buf.toString('latin1', f.dataOff, f.dataOff + f.dataLen).split(' ');
    const user = words.length === 2 ? this.host.authenticate(words[0]!, words[1]!, this) : null;
    if (user !== null) {
      this.authed = true;
      this.user = user;
      this.replyText(TEXT.stored);
      return true;
    }
    this.host.count('auth_error');
    this.replyText('CLIENT_ERROR authentication failure\r\n');
    this.closeAfterReplies();
    return false;
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
  /** Authenticated (SASL PLAIN or the text protocol's auth), or no password is set. */
  get authenticated(): boolean {
    return this.authed;
  }

  /** ACL LOG's client-info: the fields of a CLIENT LIST line that a memcached client has. */
  describe(): string {
    const age = Math.floor((Date.now() - this.createdMs) / 1000);
    return `id=${this.id} addr=${this.addr} laddr=${this.laddr} fd=-1 name= age=${age} idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=memcached user=${this.user.name} redir=-1 resp=0`;
  }

  refuse(seq: number, text: string, args: ArgList, denied = false): void {
    // args[1] is the request's 24-byte header: a real binary one (magic 0x80), or the synthetic
    // one of a text or meta request.
    const h = args.off[1]!;
    const b = args.buf;
    const binary = b[h + H_MAGIC] === REQ_MAGIC;
    const opaque = binary ? ((b[h + 12]! << 24) | (b[h + 13]! << 16) | (b[h + 14]! << 8) | b[h + 15]!) >>> 0 : 0;
    const r = denied && binary ? textResponse(b[h + H_OPCODE]!, STATUS.NOT_SUPPORTED, opaque, text) : refusalResponse(binary, b[h + H_OPCODE]!, opaque, text);
    this.deliver(seq, r, 0, r.length);
  }

  deliver(seq: number, buf: Uint8Array, off: number, len: number): void {
    if (this.dead) return;
    if (len > 0 && buf[off] === 45) {
      const err = this.framer.proto === PROTO_BINARY ? errorResponse(0, STATUS.ENOMEM, 0) : Buffer.from(TEXT.serverError);
      this.deliver(seq, err, 0, err.length);
      return;
    }
    if (this.blank.size > 0 && this.blank.delete(seq)) len = 0;
    else if (len > 0 && buf[off] === 83 /* S */ && this.gets.length > this.getHead && isServerError(buf, off, len)) this.getFailed(seq);
    if (!this.order.put(seq, buf, off, len, this.out)) return;
    this.scheduleFlush();
    // The limit is enforced when it is crossed, not at the next write.
    const hard = this.host.outputHardLimitBytes();
    if (hard > 0 && this.out.length + this.socket.writableLength > hard) this.overLimit(hard);
  }

  private overLimit(hard: number): void {
    this.host.dropped(this, `output buffer ${this.outputBytes()} bytes over the hard limit ${hard}`);
    this.kill();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.dead) return;
    this.flushScheduled = true;
    setImmediate(() => this.guard(() => this.flush()));
  }

  /** Output waiting: encoded, in the socket, and parked behind an earlier reply. */
  outputBytes(): number {
    return this.out.length + this.socket.writableLength + this.order.parkedBytes();
  }

  flush(): void {
    this.flushScheduled = false;
    if (this.dead) return;
    const chunk = this.out.drain();
    if (chunk !== null) this.socket.write(chunk);
    if (this.out.buf.length > WRITER_KEEP_BYTES) this.out = new RespWriter(16 * 1024);
    const hard = this.host.outputHardLimitBytes();
    if (hard > 0 && this.outputBytes() > hard) {
      this.overLimit(hard);
      return;
    }
    const allAnswered = this.order.headSeq === this.nextSeq;
    if (allAnswered && (this.closeAfter || (this.inputEnded && !this.stalled))) {
      // Every reply is in the socket: send them, then FIN. A client that keeps writing after an
      // error must not be read forever: the socket is destroyed once the replies are out, and
      // what it still sends is refused by the kernel (its writes fail, as with memcached).
      this.dead = true;
      const sock = this.socket;
      sock.end(() => sock.destroy());
      this.host.closed(this);
      return;
    }
    // Replies went out: parsing may go on where it stopped.
    if (this.stalled) this.process();
  }

  /** Stops reading now; closes once the replies already due are written. */
  private closeAfterReplies(): void {
    this.closeAfter = true;
    this.rpos = this.wpos;
    if (!this.paused) {
      this.paused = true;
      this.socket.pause();
    }
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

const SERVER_ERROR = Buffer.from('SERVER_ERROR ', 'latin1');

/** An ACL denial's text (Redis's NOPERM ...), as opposed to a temporary admission refusal. */
function isDenial(text: string): boolean {
  return text.startsWith('NOPERM');
}

function isServerError(buf: Uint8Array, off: number, len: number): boolean {
  if (len < SERVER_ERROR.length) return false;
  for (let i = 0; i < SERVER_ERROR.length; i++) if (buf[off + i] !== SERVER_ERROR[i]) return false;
  return true;
}

function headerOnly(opcode: number, opaque: number): Buffer {
  const b = Buffer.allocUnsafe(HEADER_BYTES);
  writeResponseHeader(b, 0, opcode, 0, 0, 0, 0, opaque, 0);
  return b;
}
