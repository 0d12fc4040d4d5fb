// The primary's side of replication, on the main thread. Shards hand each batch's records to it
// (the feed, in order per shard); it keeps a backlog per shard and streams to every replica.
// A replica's PSYNC gets a partial resync when its replication id is ours and every one of its
// per-shard offsets is still in the backlogs; otherwise a full sync: a snapshot of every shard
// (the same forkless snapshot as BGSAVE, started with the feed attached at that very point),
// streamed shard by shard, then the feed that accumulated meanwhile, then the live feed.
// Offsets are per shard: bytes of that shard's feed; the node's offset is their sum.

import { closeSync, openSync, readSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { ClientInfo, ShardCaller } from '../core/types.js';
import type { Job } from '../persistence/persistence-manager.js';
import { FILE_HEADER, FRAME_HEADER as RECORD_HEADER } from '../persistence/records.js';
import { Backlog } from './backlog.js';
import { formatOffsets, frame, publishFrame, KIND_FEED, KIND_FUNCTIONS, KIND_GETACK, KIND_PING, KIND_SNAP, KIND_SNAP_END } from './stream.js';

/** What the primary needs of the server. */
export interface PrimaryHost {
  readonly log: Logger;
  readonly shardCount: number;
  /** Turns every shard's feed on; `call` orders it with the commands already sent (under the lock). */
  enableFeed(call: ShardCaller): Promise<void>;
  /** A BGSAVE whose start runs `onLocked` first (under the all-shards lock), or null if a save
   * is already running (try again when it ends). Resolves with the snapshot files by shard. */
  saveForReplica(onLocked: (call: ShardCaller) => Promise<void>): { job: Job; files: () => string[] } | null;
  /** Waits until no save or rewrite runs. */
  saveIdle(): Promise<void>;
  /** Every shard's feed so far has reached onFeed. */
  feedBarrier(): Promise<void>;
  backlogSize(): number;
  /** The node's function libraries (FUNCTION DUMP's payload), sent to a replica at every sync. */
  functionsDump?(): Buffer;
}

export type ReplicaState = 'wait_bgsave' | 'send_bulk' | 'online';

/** One connected replica, as INFO and ROLE show it. */
export class ReplicaLink {
  state: ReplicaState = 'wait_bgsave';
  ackOffsets: number[];
  ackTimeMs = Date.now();
  /** Frames of the feed that arrived while the snapshot was prepared or sent. */
  pending: Buffer[] | null = [];
  closed = false;

  constructor(
    readonly conn: ClientInfo,
    readonly ip: string,
    readonly port: number,
    shards: number,
  ) {
    this.ackOffsets = new Array<number>(shards).fill(0);
  }

  get ackOffset(): number {
    return this.ackOffsets.reduce((a, b) => a + b, 0);
  }
}

export class ReplicationPrimary {
  replid = randomBytes(20).toString('hex');
  /** The previous primary's id and the offset where our history forked from it (after a promotion). */
  replid2 = '0'.repeat(40);
  secondOffset = -1;
  private backlogs: Backlog[];
  readonly replicas = new Set<ReplicaLink>();
  private feedOn = false;
  private pingTimer: NodeJS.Timeout;
  /** WAIT calls waiting for acknowledgements. */
  private waiters = new Set<() => void>();

  constructor(private readonly host: PrimaryHost) {
    this.backlogs = Array.from({ length: host.shardCount }, () => new Backlog(host.backlogSize()));
    this.pingTimer = setInterval(() => this.ping(), 1000);
    this.pingTimer.unref();
  }

  /** Per-shard offsets (bytes of each shard's feed produced so far). */
  offsets(): number[] {
    return this.backlogs.map((b) => b.end);
  }

  get offset(): number {
    return this.backlogs.reduce((a, b) => a + b.end, 0);
  }

  get backlogActive(): boolean {
    return this.feedOn;
  }

  backlogFirstByte(): number {
    return this.backlogs.reduce((a, b) => a + b.start, 0) + 1;
  }

  backlogHistlen(): number {
    return this.backlogs.reduce((a, b) => a + b.held, 0);
  }

  /** A shard's batch of records (from the shard's feed, in order). */
  onFeed(shard: number, records: Uint8Array): void {
    const b = this.backlogs[shard];
    if (b === undefined || records.length === 0) return;
    b.append(records);
    if (this.replicas.size === 0) return;
    const f = frame(KIND_FEED, shard, records);
    for (const r of this.replicas) {
      if (r.pending !== null) r.pending.push(f);
      else r.conn.writeRaw(f);
    }
  }

  private sendFunctions(conn: ClientInfo): void {
    const d = this.host.functionsDump?.();
    if (d !== undefined) conn.writeRaw(frame(KIND_FUNCTIONS, 0, d));
  }

  /** The function libraries changed (FUNCTION LOAD, DELETE, FLUSH, RESTORE): every replica gets
   * them whole, in order with the feed. */
  functionsChanged(payload: Buffer): void {
    if (this.replicas.size === 0) return;
    const f = frame(KIND_FUNCTIONS, 0, payload);
    for (const r of this.replicas) {
      if (r.pending !== null) r.pending.push(f);
      else r.conn.writeRaw(f);
    }
  }

  /** A PUBLISH / SPUBLISH on this node (standalone mode; a cluster's bus reaches replicas
   * itself): every replica delivers it to its own subscribers, in order with the feed. */
  published(channel: Uint8Array, message: Uint8Array, sharded: boolean): void {
    if (this.replicas.size === 0) return;
    const f = publishFrame(channel, message, sharded);
    for (const r of this.replicas) {
      if (r.pending !== null) r.pending.push(f);
      else r.conn.writeRaw(f);
    }
  }

  /** PSYNC from a replica connection; writes the reply line and starts the sync. */
  psync(conn: ClientInfo, replid: string, offsetsText: string, port: number): void {
    const n = this.host.shardCount;
    const asked = offsetsText === '-1' ? null : offsetsText.split(',').map(Number);
    const ip = conn.addr.slice(0, conn.addr.lastIndexOf(':'));
    const link = new ReplicaLink(conn, ip, port, n);
    conn.onClose(() => this.drop(link));
    if (
      this.feedOn && asked !== null && asked.length === n && replid === this.replid &&
      asked.every((o, s) => Number.isSafeInteger(o) && this.backlogs[s]!.covers(o))
    ) {
      conn.writeRaw(Buffer.from(`+CONTINUE ${this.replid}\r\n`));
      this.sendFunctions(conn);
      link.pending = null;
      link.state = 'online';
      link.ackOffsets = asked.slice();
      this.replicas.add(link);
      asked.forEach((o, s) => {
        if (o < this.backlogs[s]!.end) conn.writeRaw(frame(KIND_FEED, s, this.backlogs[s]!.readFrom(o)));
      });
      this.host.log.info({ replica: `${ip}:${port}` }, 'Partial resynchronization request accepted');
      return;
    }
    this.host.log.info({ replica: `${ip}:${port}` }, 'Full resync requested by replica');
    void this.fullSync(link);
  }

  private async fullSync(link: ReplicaLink): Promise<void> {
    const conn = link.conn;
    let started: { job: Job; files: () => string[] } | null = null;
    let startOffsets: number[] = [];
    while (started === null && !link.closed) {
      await this.host.saveIdle();
      started = this.host.saveForReplica(async (call) => {
        if (!this.feedOn) {
          await this.host.enableFeed(call);
          this.feedOn = true;
        }
        // From here every feed batch reaches this replica: together with the snapshot that
        // starts right after, in each shard's command order, nothing falls in between.
        startOffsets = this.offsets();
        this.replicas.add(link);
      });
    }
    if (started === null) return;
    try {
      await started.job.started;
      conn.writeRaw(Buffer.from(`+FULLRESYNC ${this.replid} ${formatOffsets(startOffsets)}\r\n`));
      this.sendFunctions(conn);
      link.ackOffsets = startOffsets.slice();
      await started.job.done;
      // Open every file now: a later save may delete them, the open descriptors keep them.
      const fds = started.files().map((p) => openSync(p, 'r'));
      link.state = 'send_bulk';
      try {
        for (let s = 0; s < fds.length && !link.closed; s++) await this.sendFile(link, s, fds[s]!);
      } finally {
        for (const fd of fds) closeSync(fd);
      }
      if (link.closed) return;
      const pending = link.pending ?? [];
      link.pending = null;
      for (const f of pending) conn.writeRaw(f);
      link.state = 'online';
      this.host.log.info({ replica: `${link.ip}:${link.port}` }, 'Synchronization with replica succeeded');
    } catch (e) {
      this.host.log.warn({ err: (e as Error).message, replica: `${link.ip}:${link.port}` }, 'Full sync with replica failed');
      conn.kill();
    }
  }

  /** A shard's snapshot file (its records, without the file header) as SNAP frames of whole
   * records (the replica applies each frame on its own). */
  private async sendFile(link: ReplicaLink, shard: number, fd: number): Promise<void> {
    let buf = Buffer.allocUnsafe(256 * 1024);
    let have = 0;
    let pos = FILE_HEADER;
    for (;;) {
      const n = readSync(fd, buf, have, buf.length - have, pos);
      pos += n;
      have += n;
      // The whole records at the front of buf.
      let p = 0;
      while (p + RECORD_HEADER <= have && p + RECORD_HEADER + buf.readUInt32LE(p) <= have) p += RECORD_HEADER + buf.readUInt32LE(p);
      if (p > 0) {
        const ok = link.conn.writeRaw(frame(KIND_SNAP, shard, buf.subarray(0, p)));
        buf.copy(buf, 0, p, have);
        have -= p;
        if (!ok) await link.conn.drained();
        if (link.closed) return;
      } else if (have === buf.length) {
        // One record larger than the buffer: make room for all of it.
        const bigger = Buffer.allocUnsafe(RECORD_HEADER + buf.readUInt32LE(0));
        buf.copy(bigger, 0, 0, have);
        buf = bigger;
      }
      if (n <= 0 && p === 0) break;
    }
    if (have > 0) throw new Error(`snapshot of shard ${shard} ends inside a record`);
    link.conn.writeRaw(frame(KIND_SNAP_END, shard, null));
  }

  /** REPLCONF ACK from a replica connection. */
  ack(conn: ClientInfo, offsets: number[]): void {
    for (const r of this.replicas) {
      if (r.conn !== conn) continue;
      if (offsets.length === r.ackOffsets.length) r.ackOffsets = offsets;
      r.ackTimeMs = Date.now();
    }
    for (const w of this.waiters) w();
  }

  private drop(link: ReplicaLink): void {
    link.closed = true;
    if (this.replicas.delete(link)) this.host.log.info({ replica: `${link.ip}:${link.port}` }, 'Connection with replica lost');
    for (const w of this.waiters) w();
  }

  private ping(): void {
    const f = frame(KIND_PING, 0, null);
    for (const r of this.replicas) if (r.state === 'online') r.conn.writeRaw(f);
  }

  /** Replicas online whose last acknowledgement is at most maxLagSec old (min-replicas-to-write). */
  goodReplicas(maxLagSec: number): number {
    const now = Date.now();
    let n = 0;
    for (const r of this.replicas) if (r.state === 'online' && now - r.ackTimeMs <= maxLagSec * 1000) n++;
    return n;
  }

  /** WAIT: how many replicas have acknowledged everything written so far, waiting up to timeoutMs
   * (0 = forever) for `want` of them. */
  async wait(want: number, timeoutMs: number): Promise<number> {
    await this.host.feedBarrier();
    const target = this.offsets();
    const count = (): number => {
      let n = 0;
      for (const r of this.replicas) if (r.state === 'online' && r.ackOffsets.every((o, s) => o >= target[s]!)) n++;
      return n;
    };
    if (count() >= want) return count();
    const ask = frame(KIND_GETACK, 0, null);
    for (const r of this.replicas) if (r.state === 'online') r.conn.writeRaw(ask);
    return new Promise<number>((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      const check = (): void => {
        if (count() < want) return;
        finish();
      };
      const finish = (): void => {
        this.waiters.delete(check);
        if (timer) clearTimeout(timer);
        resolve(count());
      };
      this.waiters.add(check);
      if (timeoutMs > 0) timer = setTimeout(finish, timeoutMs);
    });
  }

  /** After a promotion: our history continues the old primary's up to its offsets, and our own
   * offsets go on from there (as Redis's master_repl_offset does). */
  promoted(oldReplid: string, oldOffsets: readonly number[]): void {
    this.replid2 = oldReplid;
    this.secondOffset = oldOffsets.reduce((a, b) => a + b, 0);
    this.replid = randomBytes(20).toString('hex');
    if (oldOffsets.length === this.backlogs.length) {
      oldOffsets.forEach((o, s) => {
        const b = this.backlogs[s]!;
        if (b.held === 0 && b.end < o) b.end = o;
      });
    }
  }

  /** A new history (this node starts replicating another): every replica must resync. */
  disconnectReplicas(): void {
    for (const r of [...this.replicas]) r.conn.kill();
  }

  stop(): void {
    clearInterval(this.pingTimer);
    for (const w of this.waiters) w();
  }
}
