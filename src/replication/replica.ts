// The replica's side of replication, on the main thread: one link to the primary, its handshake
// (AUTH, PING, REPLCONF, PSYNC), then the stream (stream.ts) applied to the local shards in
// order, with acknowledgements of the applied per-shard offsets. A lost link is retried every
// second with a partial resync request.
// A primary with the same number of shards sends each shard's records to the same local shard;
// otherwise every local shard gets every batch and keeps the keys of its own slots.

import type net from 'node:net';
import type { Logger } from 'pino';
import { dial, type TlsDialOptions } from '../cluster/dial.js';
import { encodeCommand } from '../cluster/peer-client.js';
import { FrameReader, formatOffsets, KIND_FEED, KIND_FUNCTIONS, KIND_PUBLISH, KIND_GETACK, KIND_PING, KIND_SNAP, KIND_SNAP_END, parseOffsets, type StreamFrame } from './stream.js';

export interface ReplicaHost {
  readonly log: Logger;
  readonly shardCount: number;
  /** This node's own RESP port (REPLCONF listening-port). */
  listeningPort(): number;
  masterauth(): { user: string; pass: string } | null;
  /** tls-replication yes: the TLS client options for the link to the primary (else plain TCP). */
  tlsClient?: TlsDialOptions;
  /** Runs a shard command on a local shard; resolves with its raw reply. */
  callShard(shard: number, args: ReadonlyArray<Uint8Array | string>, proto: 2 | 3): Promise<Buffer>;
  /** A full sync begins: this node's replicas (if any) must resync too. */
  historyChanged(): void;
  /** The primary's function libraries (FUNCTION DUMP's payload) replace this node's. */
  onFunctions?(payload: Buffer): void;
  /** A PUBLISH (sharded false) or SPUBLISH of the primary, for this node's subscribers. */
  onPublish?(channel: Buffer, message: Buffer, sharded: boolean): void;
}

export type LinkState = 'connect' | 'connecting' | 'sync' | 'connected';

/** Bytes handed to shards and not yet applied, past which the socket stops being read. */
const MAX_APPLYING_BYTES = 32 * 1024 * 1024;

export class ReplicationReplica {
  state: LinkState = 'connect';
  /** The primary's replication id and our applied offsets in its stream (per primary shard). */
  masterReplid = '?';
  offsets: number[] | null = null;
  /** Offsets received (maybe not applied yet). */
  private received: number[] = [];
  lastIoMs = 0;
  syncInProgress = false;
  private sock: net.Socket | null = null;
  private reader = new FrameReader();
  private handshake: string[] = [];
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private ackTimer: NodeJS.Timeout | null = null;
  private ackScheduled = false;
  private applying = 0;
  private paused = false;
  private primaryShards = 0;
  /** Per local shard, the tail of its chain of apply calls (keeps acknowledgements in order). */
  private tails: Array<Promise<unknown>>;

  constructor(
    private readonly host: ReplicaHost,
    readonly masterHost: string,
    readonly masterPort: number,
    /** Kept from an earlier link to this primary (a partial resync is asked for). */
    resume: { replid: string; offsets: number[] } | null,
  ) {
    if (resume) {
      this.masterReplid = resume.replid;
      this.offsets = resume.offsets.slice();
      this.received = resume.offsets.slice();
    }
    this.tails = Array.from({ length: host.shardCount }, () => Promise.resolve());
    this.connect();
    this.ackTimer = setInterval(() => this.sendAck(), 1000);
    this.ackTimer.unref();
  }

  get linkUp(): boolean {
    return this.state === 'connected';
  }

  get offset(): number {
    return this.offsets?.reduce((a, b) => a + b, 0) ?? 0;
  }

  get readOffset(): number {
    return this.received.reduce((a, b) => a + b, 0);
  }

  private connect(): void {
    if (this.stopped) return;
    this.state = 'connecting';
    this.reader = new FrameReader();
    const { socket: sock, ready } = dial(this.masterHost, this.masterPort, this.host.tlsClient?.() ?? null);
    this.sock = sock;
    sock.on(ready, () => {
      this.lastIoMs = Date.now();
      const auth = this.host.masterauth();
      const cmds: Array<Array<string>> = [];
      if (auth) cmds.push(auth.user === 'default' ? ['AUTH', auth.pass] : ['AUTH', auth.user, auth.pass]);
      cmds.push(['PING'], ['REPLCONF', 'listening-port', String(this.host.listeningPort())], ['REPLCONF', 'capa', 'tessera']);
      const resume = this.offsets !== null && this.masterReplid !== '?';
      cmds.push(['PSYNC', resume ? this.masterReplid : '?', resume ? formatOffsets(this.offsets!) : '-1']);
      this.handshake = cmds.map((c) => c[0]!);
      sock.write(Buffer.concat(cmds.map((c) => encodeCommand(c))));
    });
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    sock.on('error', (err) => this.host.log.warn({ err: err.message, primary: `${this.masterHost}:${this.masterPort}` }, 'Error condition on socket for SYNC'));
    sock.on('close', () => this.onClose(sock));
  }

  private onClose(sock: net.Socket): void {
    if (sock !== this.sock) return;
    this.sock = null;
    if (this.state === 'connected' || this.state === 'sync') this.host.log.warn('Connection with primary lost.');
    this.state = 'connect';
    this.syncInProgress = false;
    if (!this.stopped) this.retryTimer = setTimeout(() => this.connect(), 1000);
  }

  private fail(why: string): void {
    this.host.log.warn({ primary: `${this.masterHost}:${this.masterPort}` }, why);
    this.sock?.destroy();
  }

  private onData(chunk: Buffer): void {
    this.lastIoMs = Date.now();
    this.reader.push(chunk);
    while (this.handshake.length > 0) {
      const line = this.reader.line();
      if (line === null) return;
      const cmd = this.handshake.shift()!;
      if (cmd !== 'PSYNC') {
        if (line.startsWith('-') && !(cmd === 'REPLCONF' && line.includes('capa'))) {
          this.fail(`Primary replied to ${cmd}: ${line.slice(1)}`);
          return;
        }
        continue;
      }
      if (!this.onPsyncReply(line)) return;
    }
    for (;;) {
      const f = this.reader.next();
      if (f === null) break;
      this.onFrame(f);
      // fail() closed the link: what follows on it is not applied.
      if (this.sock === null || this.sock.destroyed) return;
    }
    this.updatePause();
  }

  /** +FULLRESYNC replid offsets | +CONTINUE replid | -error. */
  private onPsyncReply(line: string): boolean {
    const w = line.split(' ');
    if (w[0] === '+FULLRESYNC' && w.length === 3) {
      const offs = parseOffsets(w[2]!);
      if (offs === null) {
        this.fail(`Bad FULLRESYNC reply: ${line}`);
        return false;
      }
      this.host.log.info({ replid: w[1], shards: offs.length }, 'Full resync from primary');
      this.masterReplid = w[1]!;
      this.primaryShards = offs.length;
      this.offsets = offs.slice();
      this.received = offs.slice();
      this.state = 'sync';
      this.syncInProgress = true;
      this.host.historyChanged();
      // The local data give way to the primary's snapshot.
      for (let s = 0; s < this.host.shardCount; s++) this.enqueue(s, ['flushall'], 0, -1);
      return true;
    }
    if (w[0] === '+CONTINUE') {
      this.host.log.info('Successful partial resynchronization with primary.');
      if (w[1]) this.masterReplid = w[1];
      this.primaryShards = this.offsets?.length ?? 0;
      this.state = 'connected';
      return true;
    }
    this.fail(`Unexpected reply to PSYNC: ${line}`);
    return false;
  }

  private onFrame(f: StreamFrame): void {
    // A frame naming a shard the primary does not have would be applied to a local shard that may
    // not exist, and counted at an offset PSYNC never announced.
    if (f.shard >= this.primaryShards && f.kind !== KIND_PING && f.kind !== KIND_GETACK && f.kind !== KIND_PUBLISH) {
      this.fail(`Replication frame for shard ${f.shard}, the primary has ${this.primaryShards}`);
      return;
    }
    switch (f.kind) {
      case KIND_SNAP:
        this.applyBatch(f.shard, f.payload, 0);
        break;
      case KIND_SNAP_END:
        if (f.shard === this.primaryShards - 1) {
          // Every shard's snapshot is in (sent in shard order); the link is up once it is applied.
          const sock = this.sock;
          void Promise.all(this.tails).then(() => {
            if (this.sock !== sock || this.state !== 'sync') return;
            this.state = 'connected';
            this.syncInProgress = false;
            this.host.log.info('MASTER <-> REPLICA sync: Finished with success');
          });
        }
        break;
      case KIND_FEED:
        this.received[f.shard] = (this.received[f.shard] ?? 0) + f.payload.length;
        this.applyBatch(f.shard, f.payload, f.payload.length);
        break;
      case KIND_GETACK:
        this.sendAck();
        break;
      case KIND_PING:
        break;
      case KIND_FUNCTIONS:
        this.host.onFunctions?.(f.payload);
        break;
      case KIND_PUBLISH: {
        const p = f.payload;
        const n = p.length >= 4 ? p.readUInt32LE(0) : -1;
        if (n < 0 || 4 + n > p.length) {
          this.fail('Malformed PUBLISH frame in the replication stream');
          return;
        }
        this.host.onPublish?.(p.subarray(4, 4 + n), p.subarray(4 + n), f.shard === 1);
        break;
      }
      default:
        this.fail(`Unknown replication frame kind ${f.kind}`);
    }
  }

  /** A batch of the primary's shard `from`: to the same local shard, or to every one with a filter. */
  private applyBatch(from: number, payload: Buffer, feedBytes: number): void {
    const n = this.host.shardCount;
    const same = n === this.primaryShards;
    const copy = Buffer.from(payload); // the reader's buffer moves on
    if (same) {
      this.enqueue(from, ['__replapply', String(from), String(this.primaryShards), '0', copy], feedBytes, from);
    } else {
      // Applied (and acknowledged) once every local shard has taken its keys from the batch.
      const calls = [];
      for (let s = 0; s < n; s++) calls.push(this.enqueue(s, ['__replapply', String(from), String(this.primaryShards), String(n), copy], 0, -1));
      void Promise.all(calls).then((ok) => {
        if (ok.every((x) => x)) this.counted(from, feedBytes);
      });
    }
  }

  private counted(from: number, feedBytes: number): void {
    if (from < 0 || feedBytes <= 0 || this.offsets === null) return;
    this.offsets[from] = (this.offsets[from] ?? 0) + feedBytes;
    this.scheduleAck();
  }

  /** Runs a command on local shard s after the earlier ones; then counts feedBytes as applied for
   * the primary's shard `from` (-1: nothing to count). */
  private enqueue(s: number, args: Array<string | Buffer>, feedBytes: number, from: number): Promise<boolean> {
    const size = args.reduce((a, x) => a + x.length, 0);
    this.applying += size;
    const call = this.host.callShard(s, args, 2);
    const done = Promise.all([this.tails[s], call]).then(
      ([, reply]) => {
        this.applying -= size;
        this.updatePause();
        if (reply[0] === 45) {
          this.host.log.warn({ shard: s, reply: reply.toString('latin1', 0, 200).trim() }, 'Applying the primary\'s records failed; resyncing');
          this.offsets = null;
          this.masterReplid = '?';
          this.sock?.destroy();
          return false;
        }
        this.counted(from, feedBytes);
        return true;
      },
      () => {
        this.applying -= size;
        this.updatePause();
        return false;
      },
    );
    this.tails[s] = done;
    return done;
  }

  private updatePause(): void {
    const want = this.applying > MAX_APPLYING_BYTES;
    if (want === this.paused || this.sock === null) return;
    this.paused = want;
    if (want) this.sock.pause();
    else this.sock.resume();
  }

  private scheduleAck(): void {
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    setImmediate(() => {
      this.ackScheduled = false;
      this.sendAck();
    });
  }

  private sendAck(): void {
    if (this.sock === null || this.offsets === null || this.state === 'connecting' || this.handshake.length > 0) return;
    this.sock.write(encodeCommand(['REPLCONF', 'ACK', formatOffsets(this.offsets)]));
  }

  /** What a later link to the same primary may resume from. */
  resumePoint(): { replid: string; offsets: number[] } | null {
    return this.offsets !== null && this.masterReplid !== '?' ? { replid: this.masterReplid, offsets: this.offsets.slice() } : null;
  }

  /** Waits until everything received is applied (before a promotion). */
  async drain(): Promise<void> {
    await Promise.all(this.tails);
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.ackTimer) clearInterval(this.ackTimer);
    this.sock?.destroy();
    this.sock = null;
    this.state = 'connect';
  }
}
