// A pipelined RESP client for node-to-node calls (MIGRATE, slot migration, forwarding): one socket
// per peer, requests written as multibulk, replies framed by valueEnd and handed back as raw
// bytes in request order. Bounded: a call times out, a dead peer fails every pending call, and a
// circuit breaker stops new calls to a peer that keeps failing.

import type net from 'node:net';
import { dial, PLAIN, type TlsDialOptions } from './dial.js';
import { valueEnd } from '../protocol/resp-value.js';
import { CircuitBreaker } from './circuit-breaker.js';

export class PeerError extends Error {}

interface Pending {
  resolve(reply: Buffer): void;
  reject(err: Error): void;
  /** Absent for the preamble's replies, which nobody waits for. */
  timer: NodeJS.Timeout | undefined;
}

const CONNECT_TIMEOUT_MS = 2000;
const MAX_PENDING = 100_000;

export function encodeCommand(args: ReadonlyArray<Uint8Array | string>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    parts.push(Buffer.from(`$${b.length}\r\n`), b, CRLF);
  }
  return Buffer.concat(parts);
}
const CRLF = Buffer.from('\r\n');

export class PeerClient {
  private sock: net.Socket | null = null;
  private connecting: Promise<net.Socket> | null = null;
  private readonly pending: Pending[] = [];
  private head = 0;
  private inbuf: Buffer = Buffer.alloc(0);
  readonly breaker = new CircuitBreaker({ failureThreshold: 3, openMs: 1000, maxOpenMs: 30_000 });
  lastUsedMs = Date.now();

  constructor(
    readonly host: string,
    readonly port: number,
    /** Commands sent right after connecting (AUTH, HELLO 3), their replies discarded. */
    private readonly preamble: ReadonlyArray<ReadonlyArray<string>> = [],
    /** TLS client options (tls-cluster), or plain TCP. */
    private readonly tls: TlsDialOptions = PLAIN,
  ) {}

  get addr(): string {
    return `${this.host}:${this.port}`;
  }

  /** Sends one command; resolves with its raw reply bytes (errors included, as bytes). */
  call(args: ReadonlyArray<Uint8Array | string>, timeoutMs: number): Promise<Buffer> {
    return this.callEncoded(encodeCommand(args), timeoutMs);
  }

  async callEncoded(frame: Uint8Array, timeoutMs: number): Promise<Buffer> {
    if (!this.breaker.allow()) {
      throw new PeerError(`circuit open to ${this.addr} (retry in ${this.breaker.retryInMs()} ms)`);
    }
    this.lastUsedMs = Date.now();
    let sock: net.Socket;
    try {
      sock = await this.socket(timeoutMs);
    } catch (e) {
      this.breaker.failure();
      throw e;
    }
    if (this.pending.length - this.head >= MAX_PENDING) throw new PeerError(`too many requests pending to ${this.addr}`);
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new PeerError(`timeout talking to ${this.addr}`)), timeoutMs);
      this.pending.push({
        resolve: (r) => {
          this.breaker.success();
          resolve(r);
        },
        reject,
        timer,
      });
      sock.write(frame);
    });
  }

  close(): void {
    this.fail(new PeerError(`connection to ${this.addr} closed`), false);
  }

  private socket(timeoutMs: number): Promise<net.Socket> {
    if (this.sock) return Promise.resolve(this.sock);
    if (this.connecting) return this.connecting;
    this.connecting = new Promise<net.Socket>((resolve, reject) => {
      const { socket: s, ready } = dial(this.host, this.port, this.tls());
      const timer = setTimeout(() => {
        s.destroy();
        reject(new PeerError(`IOERR error or timeout connecting to ${this.addr}`));
      }, Math.min(timeoutMs, CONNECT_TIMEOUT_MS));
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(new PeerError(`IOERR error or timeout connecting to ${this.addr}: ${e.message}`));
      });
      s.once(ready, () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        s.on('error', () => this.fail(new PeerError(`IOERR connection to ${this.addr} failed`), false));
        s.on('close', () => this.fail(new PeerError(`IOERR connection to ${this.addr} lost`), false));
        s.on('data', (d: Buffer) => this.onData(d));
        this.sock = s;
        // Preamble replies are consumed by placeholders queued ahead of any caller's.
        for (const cmd of this.preamble) {
          this.pending.push({ resolve: () => undefined, reject: () => undefined, timer: undefined });
          s.write(encodeCommand(cmd));
        }
        resolve(s);
      });
    }).finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private onData(d: Buffer): void {
    this.inbuf = this.inbuf.length === 0 ? d : Buffer.concat([this.inbuf, d]);
    let off = 0;
    for (;;) {
      const end = valueEnd(this.inbuf, off);
      if (end < 0) break;
      const p = this.pending[this.head];
      if (!p) {
        this.fail(new PeerError(`unexpected reply from ${this.addr}`), false);
        return;
      }
      this.pending[this.head++] = undefined as unknown as Pending;
      clearTimeout(p.timer);
      p.resolve(Buffer.from(this.inbuf.subarray(off, end)));
      off = end;
    }
    this.inbuf = off === this.inbuf.length ? Buffer.alloc(0) : this.inbuf.subarray(off);
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Fails every pending call and drops the socket; the next call reconnects. */
  private fail(err: Error, countFailure = true): void {
    if (countFailure) this.breaker.failure();
    const s = this.sock;
    this.sock = null;
    this.inbuf = Buffer.alloc(0);
    const waiting = this.pending.splice(this.head);
    this.pending.length = 0;
    this.head = 0;
    for (const p of waiting) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    if (s) {
      s.removeAllListeners('close');
      s.destroy();
    }
  }
}

/** Peer clients by "host:port" (and a variant), closed after a minute unused, as Redis caches
 * MIGRATE sockets. */
export class PeerPool {
  private readonly peers = new Map<string, PeerClient>();
  private readonly sweeper: NodeJS.Timeout;

  /** How links are dialled: TLS under tls-cluster (set by the server before the first call). */
  tls: TlsDialOptions = PLAIN;

  constructor(private readonly idleMs = 60_000) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(10_000, idleMs));
    this.sweeper.unref();
  }

  get(host: string, port: number, variant = '', preamble: ReadonlyArray<ReadonlyArray<string>> = []): PeerClient {
    const key = `${host}:${port}/${variant}`;
    let p = this.peers.get(key);
    if (!p) {
      p = new PeerClient(host, port, preamble, this.tls);
      this.peers.set(key, p);
    }
    return p;
  }

  /** Every pooled client to addr, e.g. to report circuit states. */
  all(): PeerClient[] {
    return [...this.peers.values()];
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, p] of this.peers) {
      if (now - p.lastUsedMs > this.idleMs) {
        p.close();
        this.peers.delete(k);
      }
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const p of this.peers.values()) p.close();
    this.peers.clear();
  }
}
