// Under tls-cluster both directions are TLS with certificates checked on both sides (as Redis's
// bus: a peer without a certificate from our CA is refused whatever tls-auth-clients says).
// The cluster bus over TCP: one outbound link per known node (connected on the first send, retried
// with backoff, a bounded queue while connecting and a bounded socket buffer once connected; what
// does not fit is dropped, as a heartbeat is resent anyway), and the inbound links peers open to
// us. Frames are decoded with bus-messages; malformed input closes the link with a log line.
// Pub/sub frames go only on links that are up, through a queue of their own per link, bounded by
// MAX_PUBLISH_BACKLOG_BYTES (pub/sub is at most once: a peer that does not keep up loses what does
// not fit). The queue is written once per event-loop turn, in one corked write, and only while the
// socket holds less than PUBLISH_LOW_WATER_BYTES: a heartbeat waits behind that much at most.
// Nothing here throws into the event loop: socket errors close the link, handler errors are logged.
// With cluster-bus-secret set, every link (both directions) first passes bus-auth's handshake,
// bounded by BUS_AUTH_TIMEOUT_MS; no frame of a link is decoded before it, and an outbound link
// counts as up (queued frames go out) only after it.

import { createServer, type Server, type Socket } from 'node:net';
import tls from 'node:tls';
import { dial, type TlsDialOptions } from './dial.js';
import type { Logger } from 'pino';
import { type BusMessage, encodeMessage, FrameReader, type WireMessage } from './bus-messages.js';
import type { LinkRef, Transport } from './gossip.js';
import type { TopoNode } from './topology.js';
import { BUS_AUTH_TIMEOUT_MS, BusHandshake } from './bus-auth.js';

export const MAX_QUEUED_FRAMES = 64;
export const MAX_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
export const MAX_INBOUND_LINKS = 1024;
/** Pub/sub bytes queued per link past which new messages for it are dropped. */
export const MAX_PUBLISH_BACKLOG_BYTES = 8 * 1024 * 1024;
/** The pub/sub queue feeds the socket only while it holds less than this (then on 'drain'). */
export const PUBLISH_LOW_WATER_BYTES = 256 * 1024;
const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 1000;

export interface ClusterBusOptions {
  /** tls-cluster: the listener's TLS options (read at listen) and the dialler's. */
  tls?: { server: () => tls.TlsOptions; client: TlsDialOptions } | null;
  bindHost: string;
  busPort: number;
  log: Logger;
  onMessage(link: LinkRef, msg: WireMessage): void;
  /** The outbound link to the node went down. */
  onLinkDown(nodeId: string): void;
  clock?: () => number;
  /** cluster-bus-secret, read per new link ('' = links are not authenticated). */
  secret?: () => string;
}

/** A refused link's log line is written at most this often per peer address. */
const AUTH_LOG_INTERVAL_MS = 10_000;

interface OutLink {
  nodeId: string;
  ip: string;
  cport: number;
  socket: Socket | null;
  connected: boolean;
  ref: LinkRef | null;
  queue: Buffer[];
  /** Pub/sub frames waiting for the socket, and their bytes. */
  pub: Buffer[];
  pubBytes: number;
  retryAtMs: number;
  backoffMs: number;
}

/** "::ffff:1.2.3.4" -> "1.2.3.4". */
export function normalizeIp(ip: string | undefined): string {
  if (!ip) return '';
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

export class ClusterBus implements Transport {
  private server: Server | tls.Server | null = null;
  private readonly out = new Map<string, OutLink>();
  private readonly inbound = new Map<LinkRef, Socket>();
  private readonly clock: () => number;
  private closed = false;
  droppedFrames = 0;
  /** Pub/sub frames not sent: no link up to the node, or its backlog at the bound. */
  droppedPublish = 0;
  /** Links closed because the peer failed the bus authentication. */
  refusedLinks = 0;
  private readonly authLogged = new Map<string, number>();

  constructor(private readonly opts: ClusterBusOptions) {
    this.clock = opts.clock ?? Date.now;
  }

  /** Listens on bindHost:busPort. */
  async listen(): Promise<void> {
    this.closed = false;
    const t = this.opts.tls ?? null;
    const server = t === null ? createServer((socket) => this.accept(socket)) : this.tlsServer(t.server());
    server.on('error', (e) => this.opts.log.error({ err: e }, 'cluster bus listener error'));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.busPort, this.opts.bindHost, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  private tlsServer(options: tls.TlsOptions): tls.Server {
    const server = tls.createServer({ ...options, requestCert: true, rejectUnauthorized: true }, (socket) => this.accept(socket));
    server.on('tlsClientError', (e, socket) => {
      this.opts.log.warn({ err: e.message, peer: `${normalizeIp(socket.remoteAddress)}:${socket.remotePort ?? 0}` }, 'cluster bus: TLS handshake failed');
    });
    return server;
  }

  /** New certificates (CONFIG SET tls-*): links accepted from now on use them; those up stay. */
  reloadTls(): void {
    const t = this.opts.tls ?? null;
    if (t !== null && this.server instanceof tls.Server) this.server.setSecureContext(t.server());
  }

  /** The port actually bound (useful when busPort was 0). */
  get boundPort(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const l of this.out.values()) l.socket?.destroy();
    this.out.clear();
    for (const s of this.inbound.values()) s.destroy();
    this.inbound.clear();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    if (this.closed || this.inbound.size >= MAX_INBOUND_LINKS) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const ref: LinkRef = { outNodeId: null, localIp: normalizeIp(socket.localAddress), peerIp: normalizeIp(socket.remoteAddress) };
    this.inbound.set(ref, socket);
    const reader = new FrameReader();
    const hs = this.handshake(socket, 'accept', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      const rest = hs === null ? chunk : hs(chunk);
      if (rest !== null && rest.length > 0) this.consume(reader, rest, ref, socket);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.inbound.delete(ref));
  }

  /** Starts the bus authentication on a new link when a secret is set (null: none). The returned
   * function takes what the peer sends: null while the handshake lasts (or failed: the socket is
   * then destroyed), else bus bytes. `up` runs once, when the peer is proven. */
  private handshake(socket: Socket, role: 'dial' | 'accept', up: () => void): ((chunk: Buffer) => Buffer | null) | null {
    const secret = this.opts.secret?.() ?? '';
    if (secret === '') return null;
    const hs = new BusHandshake(Buffer.from(secret), role);
    let done = false;
    const timer = setTimeout(() => this.refuse(socket, 'bus authentication timed out'), BUS_AUTH_TIMEOUT_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    socket.write(hs.hello());
    return (chunk) => {
      if (done) return chunk;
      const step = hs.push(chunk);
      if (step.send !== null) socket.write(step.send);
      if (step.failed !== null) {
        clearTimeout(timer);
        this.refuse(socket, step.failed);
        return null;
      }
      if (!step.done) return null;
      done = true;
      clearTimeout(timer);
      up();
      return step.rest;
    };
  }

  private refuse(socket: Socket, why: string): void {
    if (socket.destroyed) return;
    this.refusedLinks++;
    const peer = `${normalizeIp(socket.remoteAddress)}:${socket.remotePort ?? 0}`;
    const key = normalizeIp(socket.remoteAddress);
    const now = this.clock();
    if ((this.authLogged.get(key) ?? -Infinity) + AUTH_LOG_INTERVAL_MS <= now) {
      if (this.authLogged.size > 1024) this.authLogged.clear();
      this.authLogged.set(key, now);
      this.opts.log.warn({ peer }, `cluster bus: link refused: ${why}`);
    }
    socket.destroy();
  }

  private consume(reader: FrameReader, chunk: Buffer, ref: LinkRef, socket: Socket): void {
    for (const msg of reader.push(chunk)) {
      try {
        this.opts.onMessage(ref, msg);
      } catch (e) {
        this.opts.log.error({ err: e }, 'cluster bus: error handling a message');
      }
    }
    if (reader.error !== null) {
      this.opts.log.warn({ peer: `${ref.peerIp}:${socket.remotePort ?? 0}`, error: reader.error }, 'cluster bus: malformed frame, closing link');
      socket.destroy();
    }
  }

  // --- Transport ---------------------------------------------------------------------------------

  send(node: TopoNode, msg: BusMessage): void {
    if (this.closed || node.ip === '' || node.cport <= 0) return;
    let l = this.out.get(node.id);
    if (l && (l.ip !== node.ip || l.cport !== node.cport)) {
      this.drop(l);
      l = undefined;
    }
    if (!l) {
      l = { nodeId: node.id, ip: node.ip, cport: node.cport, socket: null, connected: false, ref: null, queue: [], pub: [], pubBytes: 0, retryAtMs: 0, backoffMs: BACKOFF_MIN_MS };
      this.out.set(node.id, l);
    }
    if (!l.socket) {
      if (this.clock() < l.retryAtMs) {
        this.droppedFrames++;
        return;
      }
      this.connect(l);
    }
    const frame = encodeMessage(msg);
    if (l.connected && l.socket) this.write(l.socket, frame);
    else {
      if (l.queue.length >= MAX_QUEUED_FRAMES) {
        l.queue.shift();
        this.droppedFrames++;
      }
      l.queue.push(frame);
    }
  }

  /** Queues a pub/sub frame for the link to `nodeId` when it is up and its queue has room; false
   * when dropped. Never connects: a peer that is down loses the message. The frame is not copied
   * (one frame serves every link) and must not change afterwards. */
  sendPublish(nodeId: string, frame: Buffer): boolean {
    const l = this.out.get(nodeId);
    if (this.closed || !l || !l.connected || !l.socket || l.socket.destroyed || l.pubBytes + frame.length > MAX_PUBLISH_BACKLOG_BYTES) {
      this.droppedPublish++;
      return false;
    }
    l.pub.push(frame);
    l.pubBytes += frame.length;
    if (l.pub.length === 1) {
      this.pubDirty.push(l);
      if (!this.pubFlushScheduled) {
        this.pubFlushScheduled = true;
        setImmediate(this.flushAllPublish);
      }
    }
    return true;
  }

  /** Links with queued pub/sub frames, flushed at the end of the turn. */
  private readonly pubDirty: OutLink[] = [];
  private pubFlushScheduled = false;
  private readonly flushAllPublish = (): void => {
    this.pubFlushScheduled = false;
    const links = this.pubDirty.splice(0);
    for (const l of links) this.flushPublish(l);
  };

  /** Writes queued pub/sub frames while the socket is below the low-water mark, corked into one
   * write; the rest goes on the socket's next 'drain'. */
  private flushPublish(l: OutLink): void {
    const socket = l.socket;
    if (!socket || !l.connected || socket.destroyed || l.pub.length === 0) return;
    if (socket.writableLength >= PUBLISH_LOW_WATER_BYTES) return; // 'drain' calls again
    let n = 0;
    let bytes = socket.writableLength;
    socket.cork();
    while (n < l.pub.length && bytes < PUBLISH_LOW_WATER_BYTES) {
      const f = l.pub[n++]!;
      socket.write(f);
      bytes += f.length;
      l.pubBytes -= f.length;
    }
    socket.uncork();
    l.pub.splice(0, n);
  }

  /** Queued pub/sub frames of a link that went down are lost (counted). */
  private dropPublishQueue(l: OutLink): void {
    this.droppedPublish += l.pub.length;
    l.pub = [];
    l.pubBytes = 0;
  }

  /** Bytes for the link to `nodeId` not handed to the kernel yet: its socket's buffer and its
   * pub/sub queue. */
  unsentBytes(nodeId: string): number {
    const l = this.out.get(nodeId);
    return l === undefined ? 0 : (l.socket?.writableLength ?? 0) + l.pubBytes;
  }

  reply(link: LinkRef, msg: BusMessage): void {
    const socket = link.outNodeId === null ? this.inbound.get(link) : this.out.get(link.outNodeId)?.socket;
    if (socket && !socket.destroyed) this.write(socket, encodeMessage(msg));
  }

  disconnect(nodeId: string): void {
    const l = this.out.get(nodeId);
    if (l) this.drop(l);
  }

  rename(oldId: string, newId: string): void {
    const l = this.out.get(oldId);
    if (!l) return;
    this.out.delete(oldId);
    const existing = this.out.get(newId);
    if (existing) this.drop(existing);
    l.nodeId = newId;
    if (l.ref) l.ref.outNodeId = newId;
    this.out.set(newId, l);
  }

  isConnected(nodeId: string): boolean {
    return this.out.get(nodeId)?.connected ?? false;
  }

  // --- outbound links ------------------------------------------------------------------------------

  private write(socket: Socket, frame: Buffer): void {
    if (socket.writableLength > MAX_SOCKET_BUFFER_BYTES) {
      this.droppedFrames++;
      return;
    }
    socket.write(frame);
  }

  private drop(l: OutLink): void {
    if (this.out.get(l.nodeId) === l) this.out.delete(l.nodeId);
    const s = l.socket;
    l.socket = null;
    l.connected = false;
    this.dropPublishQueue(l);
    s?.destroy();
  }

  private connect(l: OutLink): void {
    const { socket, ready } = dial(l.ip, l.cport, this.opts.tls?.client() ?? null);
    l.socket = socket;
    l.connected = false;
    const reader = new FrameReader();
    let hs: ((chunk: Buffer) => Buffer | null) | null = null;
    const up = (): void => {
      if (l.socket !== socket) return;
      l.connected = true;
      l.backoffMs = BACKOFF_MIN_MS;
      l.ref = { outNodeId: l.nodeId, localIp: normalizeIp(socket.localAddress), peerIp: normalizeIp(socket.remoteAddress) };
      const queued = l.queue;
      l.queue = [];
      for (const f of queued) this.write(socket, f);
    };
    socket.on(ready, () => {
      if (l.socket !== socket) return;
      hs = this.handshake(socket, 'dial', up);
      if (hs === null) up();
    });
    socket.on('data', (chunk: Buffer) => {
      if (l.socket !== socket) return;
      const rest = hs === null ? chunk : hs(chunk);
      if (rest === null || rest.length === 0 || !l.ref) return;
      this.consume(reader, rest, l.ref, socket);
    });
    socket.on('drain', () => {
      if (l.socket === socket) this.flushPublish(l);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      if (l.socket !== socket) return;
      l.socket = null;
      l.connected = false;
      l.ref = null;
      l.queue = [];
      this.dropPublishQueue(l);
      l.retryAtMs = this.clock() + l.backoffMs;
      l.backoffMs = Math.min(BACKOFF_MAX_MS, l.backoffMs * 2);
      if (!this.closed) this.opts.onLinkDown(l.nodeId);
    });
  }
}
