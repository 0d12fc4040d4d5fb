// One client connection on the main thread: its parser, its reply order and its output.
// Every command takes a sequence number when dispatched; replies may arrive from shards in any
// order and are written strictly by sequence. Output leaves in one write per event-loop turn.
// Bounds: the parser's query-buffer limit; client-output-buffer-limit on pending output (the
// pubsub class while subscribed); while a main-thread command is awaited, or shards are
// backlogged, the socket is paused. Pub/sub pushes go between whole replies, never inside one.

import { ReplyOrder } from './reply-order.js';
import type { Socket } from 'node:net';
import { RespParser, PARSE_COMMAND, PARSE_ERROR, PARSE_NEED_MORE, type ParserLimits } from '../protocol/resp-parser.js';
import { RespWriter } from '../protocol/resp-writer.js';
import type { ArgList, ClientInfo } from '../commands/types.js';
import type { ClientSubscriptions } from '../core/types.js';
import { PUSH_SHARE_MIN_BYTES } from '../protocol/pubsub-frames.js';
import { inSubscribeMode } from '../commands/pubsub-family.js';
import type { ReplySink } from '../runtime/shard-port.js';
import type { ClientBuckets, Guard } from './guard.js';
import type { AclApi, AclUser } from '../core/acl.js';

export interface ConnectionHost {
  dispatch(conn: Connection, args: ArgList): void;
  markDirty(conn: Connection): void;
  /** Bytes read from a client (INFO total_net_input_bytes). */
  countInput(bytes: number): void;
  /** Makes sure queued shard requests are published at the end of this event-loop turn. */
  publishRequests(): void;
  connectionClosed(conn: Connection): void;
  /** True while shards are backlogged and sockets should not be read. */
  readonly backlogged: boolean;
  /** The connection paused itself because shards are backlogged: the host must call
   * updatePause() once they are not (however briefly the backlog lasted). */
  waitForShards(conn: Connection): void;
  /** client-output-buffer-limit of the normal class, or of the pubsub class for a subscriber. */
  outputLimits(pubsub: boolean): { hardBytes: number; softBytes: number; softSeconds: number };
  logClientDrop(conn: Connection, reason: string): void;
  /** Client and user limits (guard.ts). */
  readonly guard: Guard;
  /** The node's users: a connection starts (and RESETs) as the default user. */
  readonly acl: AclApi;
}

/** Output past which a flush is never put off (see flush). */
const PUT_OFF_MAX_BYTES = 64 * 1024;

/** Input buffered from a blocked client past which its socket is no longer read. */
const BLOCKED_READ_MAX_BYTES = 64 * 1024;

export class Connection implements ClientInfo, ReplySink {
  name = '';
  proto: 2 | 3 = 2;
  /** SELECT's database; every frame this connection sends carries it. */
  db = 0;
  authenticated: boolean;
  user: AclUser;
  lastCommand = 'NULL';
  libName = '';
  libVer = '';
  noEvict = false;
  monitoring = false;
  readonly createdAtMs = Date.now();
  lastInteractionMs = Date.now();
  readonly addr: string;
  readonly laddr: string;
  readonly fd: number;
  readonly tls: boolean;

  private readonly parser: RespParser;
  private readonly args: ArgList;
  private nextSeq = 0;
  private readonly order = new ReplyOrder();
  private readonly out = new RespWriter(16 * 1024);
  /** Commands still dispatching for which no reply may be written yet (async main commands). */
  private holds = 0;
  private closeAfter = false;
  private dead = false;
  private paused = false;
  /** The client shut down its write side (FIN): every command already read still gets its reply,
   * then the connection closes. */
  private inputEnded = false;
  private softLimitSinceMs = 0;
  /** A TLS socket (tls-port): its writes consume the bytes at once (writeOwn). */
  private readonly encrypted: boolean;
  /** Already told the host it has output (spares a Set insert per reply). */
  private flushQueued = false;

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly host: ConnectionHost,
    limits: ParserLimits,
    private readonly needsAuth: () => boolean,
  ) {
    // A tls.TLSSocket says `encrypted`; a plain net.Socket has no such field.
    this.encrypted = (socket as Socket & { encrypted?: boolean }).encrypted === true;
    this.tls = this.encrypted;
    this.parser = new RespParser(limits);
    this.args = { buf: this.parser.buf, off: this.parser.argOff, len: this.parser.argLen, argc: 0 };
    this.authenticated = !needsAuth();
    this.user = host.acl.defaultUser;
    this.hardLimitBytes = host.outputLimits(false).hardBytes;
    this.addr = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.laddr = `${socket.localAddress ?? '?'}:${socket.localPort ?? 0}`;
    const handle = (socket as unknown as { _handle?: { fd?: number } })._handle;
    this.fd = handle?.fd ?? -1;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // The listener allows half-open sockets: a client's FIN (`nc -q1`, a script's shutdown of its
    // write side) ends its input, not the connection; its replies are still owed.
    socket.on('end', () => {
      this.inputEnded = true;
      // A blocked client that ends its input is gone, as Redis frees a client on EOF: its wait
      // ends now (nothing is popped for it), instead of when its timeout comes.
      if (this.blocked) {
        this.kill();
        return;
      }
      this.processInput();
    });
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.destroy());
  }

  private onData(chunk: Buffer): void {
    this.host.countInput(chunk.length);
    if (this.dead) return;
    if (this.host.guard.limiting) this.throttle(this.host.guard.input(this, this.user, chunk.length));
    this.lastInteractionMs = Date.now();
    this.parser.feed(chunk);
    this.processInput();
  }

  /** Parses and dispatches buffered commands until input runs out or the connection must wait. */
  processInput(): void {
    const p = this.parser;
    const a = this.args;
    while (!this.dead && !this.closeAfter && this.holds === 0) {
      const r = p.next();
      if (r === PARSE_NEED_MORE) break;
      if (r === PARSE_ERROR) {
        this.replyError(p.error);
        this.closeAfterReply();
        break;
      }
      if (r !== PARSE_COMMAND) break;
      a.buf = p.buf;
      a.off = p.argOff;
      a.len = p.argLen;
      a.argc = p.argc;
      this.inCommand = true;
      this.host.dispatch(this, a);
      this.inCommand = false;
    }
    // After the client's FIN nothing more arrives: once every complete command is dispatched (an
    // incomplete one is dropped, as Redis does), close after the last reply.
    if (this.inputEnded && !this.dead && !this.closeAfter && this.holds === 0) this.closeAfterReply();
    // This read's requests go to the shards at the end of the turn, with every other read's; the
    // replies already complete (main-thread commands, inline shards) leave now, unless replies are
    // still owed: then they leave at the end of this turn with the shards' (flushTurn waits briefly
    // for those), one write instead of two (a pipelined MULTI's +OK/+QUEUED and its EXEC reply).
    this.host.publishRequests();
    if (this.out.length > 0) {
      if (this.order.headSeq === this.nextSeq) this.flush();
      else if (!this.flushQueued) {
        this.flushQueued = true;
        this.host.markDirty(this);
      }
    }
    this.updatePause();
  }

  updatePause(): void {
    const backlogged = this.host.backlogged;
    // Closing: nothing more is read (Redis stops reading a client it will close; a client that
    // keeps writing after a protocol error sees its writes fail once the socket is gone).
    // A blocked client is still read (up to a bound: its input is only buffered), so that its EOF
    // or reset is seen while it waits.
    const readWhileBlocked = this.blocked && this.parser.pending() < BLOCKED_READ_MAX_BYTES;
    const want = !this.dead && ((this.holds > 0 && !readWhileBlocked) || backlogged || this.closeAfter || this.throttleTimer !== null);
    if (backlogged && want) this.host.waitForShards(this);
    if (want && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!want && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** The client's own token buckets (guard.ts), made on its first limited request. */
  guardBuckets: ClientBuckets | null = null;
  /** Set while the socket is paused for the bytes-per-sec budget (guard.ts). */
  private throttleTimer: NodeJS.Timeout | null = null;

  /** Pauses reading for `waitMs` (the input budget's debt; the bytes read are still served). */
  private throttle(waitMs: number): void {
    if (waitMs === 0 || this.throttleTimer !== null) return;
    this.throttleTimer = setTimeout(() => {
      this.throttleTimer = null;
      this.updatePause();
    }, waitMs);
  }

  /** Takes the sequence number for the next reply. */
  takeSeq(): number {
    return this.nextSeq++;
  }

  /** Holds further input until release() (a main-thread command awaiting something). */
  hold(): void {
    this.holds++;
  }

  release(): void {
    this.holds--;
    if (this.holds === 0 && !this.dead) {
      // Resume parsing outside the caller's stack.
      setImmediate(() => this.processInput());
    }
  }

  deliver(seq: number, buf: Uint8Array, off: number, len: number): void {
    if (this.dead) return;
    if (this.order.put(seq, buf, off, len, this.out) && !this.flushQueued) {
      this.flushQueued = true;
      this.host.markDirty(this);
    }
    // The hard limit holds when it is crossed: one drain of a shard's replies can bring many
    // large ones before this connection's next flush (pipelined GETs of a 1 MB value).
    if (this.out.length > this.hardLimitBytes && this.hardLimitBytes > 0) this.checkOutputLimits();
  }

  /** client-output-buffer-limit's hard bytes (0 = none), refreshed at each flush. */
  private hardLimitBytes = 0;

  multi = -1;
  multiFailed = false;

  /** Replies with an error in order (for errors found while dispatching). In MULTI, such an error
   * refuses the command being queued, so the transaction will abort (Redis's flagTransaction). */
  replyError(text: string): void {
    if (this.multi >= 0) this.multiFailed = true;
    const seq = this.takeSeq();
    const b = Buffer.from(`-${text}\r\n`);
    this.deliver(seq, b, 0, b.length);
  }

  /** Writes what is ready in one write; enforces the output buffer limits. While shard replies
   * are owed (and no main-thread command is awaited), a write may be put off once, to the arrival
   * of the next reply due, which flushes again: a pipelined batch whose replies come in two turns
   * (a MULTI's +QUEUED now, its EXEC reply next turn) then leaves in one write. */
  flush(): void {
    this.flushQueued = false;
    if (this.dead) return;
    const out = this.out.length;
    if (!this.putOff && out > 0 && out < PUT_OFF_MAX_BYTES && this.holds === 0 && !this.closeAfter && this.order.headSeq !== this.nextSeq) {
      this.putOff = true;
      return;
    }
    this.putOff = false;
    this.write();
  }

  /** Writes a view of the writer's own buffer, handing the buffer off while the socket may still
   * read it: a plain socket until the kernel took every byte; a TLS socket only when the bytes
   * queue behind an earlier write (else its write encrypts them at once, or copies them, and only
   * its completion callback comes later: handing off there cost a 64 KiB buffer per write). */
  private writeOwn(chunk: Buffer): void {
    const queuedBefore = this.socket.writableLength;
    this.socket.write(chunk);
    if (this.socket.writableLength !== 0 && (!this.encrypted || queuedBefore !== 0)) this.out.handOff();
  }

  /** The last flush was put off: the next one writes. */
  private putOff = false;

  private write(): void {
    const chunk = this.out.take();
    if (chunk !== null) {
      // Written whole at once (the usual case): the buffer is free again. Otherwise the socket
      // keeps the view until it is sent, and the writer moves on.
      this.writeOwn(chunk);
    }
    if (this.closeAfter && this.order.headSeq === this.nextSeq) {
      // Every reply is written: send them and the FIN, then close the socket whole (a client
      // that keeps sending must not keep a half-open connection alive).
      const sock = this.socket;
      sock.end(() => sock.destroy());
      this.destroy();
      return;
    }
    this.checkOutputLimits();
  }

  private checkOutputLimits(): void {
    // A replica link's stream is bounded by its own backpressure, not by the normal class.
    if (this.replCapa.length > 0) return;
    const lim = this.host.outputLimits(inSubscribeMode(this));
    this.hardLimitBytes = lim.hardBytes;
    if (lim.hardBytes === 0 && lim.softBytes === 0) return;
    const pending = this.outputBufferBytes();
    if (lim.hardBytes > 0 && pending > lim.hardBytes) {
      this.host.logClientDrop(this, `output buffer ${pending} bytes over the hard limit ${lim.hardBytes}`);
      this.kill();
      return;
    }
    if (lim.softBytes > 0 && pending > lim.softBytes) {
      const now = Date.now();
      if (this.softLimitSinceMs === 0) this.softLimitSinceMs = now;
      else if (now - this.softLimitSinceMs > lim.softSeconds * 1000) {
        this.host.logClientDrop(this, `output buffer over the soft limit ${lim.softBytes} for ${lim.softSeconds}s`);
        this.kill();
      }
    } else {
      this.softLimitSinceMs = 0;
    }
  }

  private blocked = false;

  setBlocked(blocked: boolean): void {
    this.blocked = blocked;
    this.updatePause();
  }

  queryBufferBytes(): number {
    return this.parser.pending();
  }

  /** Dispatching a command now (its arguments are this.args). */
  private inCommand = false;

  argvBytes(): number {
    // As Redis: the arguments of the command running, or of one waiting (held, blocked).
    if (!this.inCommand && this.holds === 0) return 0;
    let n = 0;
    for (let i = 0; i < this.args.argc; i++) n += this.args.len[i]!;
    return n;
  }

  outputBufferBytes(): number {
    return this.out.length + this.socket.writableLength + this.order.parkedBytes();
  }

  /** Output written into the reply buffer and not yet handed to the socket (CLIENT LIST obl). */
  replyBufferBytes(): number {
    return this.out.length;
  }

  closeAfterReply(): void {
    this.closeAfter = true;
    this.host.markDirty(this);
    this.updatePause();
  }

  kill(): void {
    if (this.dead) return;
    this.socket.destroy();
    this.destroy();
  }

  readonly subscriptions: ClientSubscriptions = { channels: new Set(), patterns: new Set(), shardChannels: new Set() };
  /** Pushes wait for this reply to be written (the last (P|S)SUBSCRIBE's confirmation). */
  private pushAfterSeq = -1;

  pushAfterCurrentReply(): void {
    this.pushAfterSeq = this.nextSeq - 1;
  }

  push(frame: Uint8Array): void {
    // A client that will be closed gets nothing more (Redis's CLIENT_CLOSE_AFTER_REPLY).
    if (this.dead || this.closeAfter) return;
    if (this.order.headSeq <= this.pushAfterSeq) {
      this.order.pushAfter(this.pushAfterSeq, frame, PUSH_SHARE_MIN_BYTES);
    } else if (frame.length >= PUSH_SHARE_MIN_BYTES) {
      // A large frame goes to the socket as is, shared with the other subscribers: what is
      // pending is written first, in one write as flush() does.
      const chunk = this.out.take();
      if (chunk !== null) {
        this.writeOwn(chunk);
      }
      this.socket.write(frame);
    } else {
      this.out.raw(frame, 0, frame.length);
    }
    if (!this.flushQueued) {
      this.flushQueued = true;
      this.host.markDirty(this);
    }
    // A subscriber that does not read is dropped when it crosses the hard limit, not later: a
    // publisher never waits for it and its output never grows past the bound.
    if (this.hardLimitBytes > 0 && this.outputBufferBytes() > this.hardLimitBytes) this.checkOutputLimits();
  }

  asking = false;
  readonlyMode = false;
  replCapa: string[] = [];
  replListeningPort = 0;
  private closeListeners: Array<() => void> = [];

  writeRaw(bytes: Uint8Array): boolean {
    if (this.dead) return true;
    this.flushQueued = false;
    this.write();
    return this.socket.write(bytes);
  }

  drained(): Promise<void> {
    if (this.dead || !this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('drain', resolve);
      this.socket.once('close', resolve);
    });
  }

  onClose(listener: () => void): void {
    if (this.dead) listener();
    else this.closeListeners.push(listener);
  }

  reset(): void {
    this.asking = false;
    this.readonlyMode = false;
    this.name = '';
    this.proto = 2;
    this.db = 0;
    this.authenticated = !this.needsAuth();
    this.user = this.host.acl.defaultUser;
    this.libName = '';
    this.libVer = '';
  }

  get isDead(): boolean {
    return this.dead;
  }

  private destroy(): void {
    if (this.dead) return;
    this.dead = true;
    if (this.throttleTimer !== null) clearTimeout(this.throttleTimer);
    this.order.clear();
    this.host.connectionClosed(this);
    for (const l of this.closeListeners.splice(0)) l();
  }
}
