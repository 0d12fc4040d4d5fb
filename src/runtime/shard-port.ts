// What the server needs of a shard, whichever way it runs: a worker thread behind rings
// (ShardLink) or an executor called directly on the main thread (InlineShard).

import type { AclUser } from '../core/acl.js';
import type { ArgList, ShardSettings, ShardStatsReport } from '../core/types.js';
import type { LoadPlan, LoadReport } from '../persistence/shard-persistence.js';
import type { SnapshotResult } from '../persistence/snapshot-job.js';
import type { PublishMode } from './publish-queue.js';

/** Receives a shard's replication feed on the main thread, batch by batch, in order. */
export type FeedListener = (shard: number, records: Uint8Array) => void;

/** What a shard needs of the main thread's blocked clients: their claim words (wait-claims.ts),
 * where replies to blocked clients go, and who hears that a shard lost its registrations. */
export interface BlockingHooks {
  readonly claims: Int32Array;
  /** A reply for the blocked client of wait slot `slot`, wait generation `gen`. */
  onWake(slot: number, gen: number, buf: Uint8Array, off: number, len: number): void;
  /** The shard restarted: every registration it held is gone. */
  onRestart(shard: number): void;
}

/** Where the messages a shard publishes go (server.ts hands them to pub/sub: mode 0 local
 * delivery, 1 PUBLISH, 2 SPUBLISH). The views are valid only during the call. */
export interface PublishHooks {
  /** `from`: the sink of the reply delivered last (an ACL denial record's client). */
  onPublish(channel: Uint8Array, message: Uint8Array, mode: PublishMode, from: ReplySink | null): void;
}

/** Receives a shard's slow-command records (observability/slowlog.ts forEachSlowRecord) in
 * buf[off, off+len), valid only during the call; `from`: the sink of the reply delivered just
 * before, whose command they come from. */
export type SlowHook = (buf: Uint8Array, off: number, len: number, from: ReplySink | null) => void;

/** Receives the reply to one request. `buf[off, off+len)` is valid only during the call. */
export interface ReplySink {
  deliver(seq: number, buf: Uint8Array, off: number, len: number): void;
  /** The database its commands run in (SELECT); absent: db 0. */
  readonly db?: number;
  /** A script's redis.call made from the main thread (SLOWLOG shows Redis's script client). */
  readonly script?: boolean;
}

/** The REQ_USER word of a request sent for `sink`: a connection (ClientInfo) carries its ACL user;
 * other sinks (fan-outs, internal calls) carry none, and nothing is checked for them. */
export function userSlotOf(sink: ReplySink): number {
  const u = (sink as { readonly user?: AclUser }).user;
  return u === undefined || u.unrestricted ? 0 : u.id + 1;
}

/** Selects which arguments of an ArgList go into a request (argument 0, the name, always does). */
export interface ArgSubset {
  idx: Int32Array;
  count: number;
}

export interface ShardPort {
  readonly id: number;
  /** Where slow-command records go (SLOWLOG, LATENCY); null: dropped. */
  onSlow: SlowHook | null;
  readonly ready: Promise<void>;
  /** True while requests wait in amounts that should pause socket reads. */
  readonly backlogged: boolean;
  /** Requests not yet answered. */
  readonly inFlight: number;
  readonly restarts: number;
  /** Queues (or runs) one command; its reply goes to sink with seq. While the shard is locked only
   * the lock owner's requests (`owner`) go ahead; the others wait for unlock(). */
  send(sink: ReplySink, seq: number, cmdIndex: number, proto: 2 | 3, a: ArgList, subset: ArgSubset | null, owner?: boolean): void;
  /** End of an event-loop turn: publish what was queued. */
  flush(): void;
  /** After flush(): waits (blocking) until `deadlineMs` (performance.now() time) for replies to
   * requests in flight and delivers those that came, so that they leave in this turn. */
  awaitReplies(deadlineMs: number): void;
  /** Publishes what was queued, then blocks the main thread, taking replies as they come, until
   * done() holds (true) or timeoutMs passed (false). For a locked operation that must run
   * synchronously: a script whose keys span shards, one redis.call at a time. */
  waitUntil(done: () => boolean, timeoutMs: number): boolean;
  lock(): void;
  unlock(): void;
  /** New settings; resolves once the shard applies them (at once where it runs inline, or when
   * a restarting shard will start with them), so that CONFIG SET replies after every shard has
   * them: a command sent after the reply sees them. */
  configure(settings: ShardSettings): Promise<void>;
  stats(): Promise<ShardStatsReport>;
  /** Zeroes the shard's statistics; resolves once the shard has done it (CONFIG RESETSTAT
   * replies after, so the client's next command counts after the reset). */
  resetStats(): Promise<void>;
  /** Persistence (see persistence/shard-persistence.ts): replay files into the shard at start;
   * wait for the snapshot that the __snapshot command started. */
  load(plan: LoadPlan): Promise<LoadReport>;
  snapshotWait(): Promise<SnapshotResult>;
  /** Resolves once every replication feed batch the shard produced so far has reached the
   * main thread's feed listener. */
  feedBarrier(): Promise<void>;
  /** Stops the shard: its log is written and synced first. */
  stop(): Promise<void>;
}
