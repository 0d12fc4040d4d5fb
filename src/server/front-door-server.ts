// What the front doors besides RESP (memcached, HTTP) use of the server, and the memcached
// door's counters: an interface of its own, so that the doors and the server depend on it and
// not on each other.

import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { ArgList, ServerStats, ShardStatsReport } from '../core/types.js';
import type { ReplySink, ShardPort } from '../runtime/shard-port.js';
import type { AdmissionState } from './admission.js';
import type { ServerTls } from './server-tls.js';
import type { Guard } from './guard.js';
import type { AclUser } from '../core/acl.js';
import type { AclApi } from '../core/acl.js';
import type { ServerApi } from '../commands/types.js';

/** What the front doors use of the server. */
export interface FrontDoorServer {
  readonly config: Config;
  readonly log: Logger;
  readonly links: readonly ShardPort[];
  readonly backlogged: boolean;
  readonly startedAtMs: number;
  shardOfKey(key: Uint8Array, off: number, len: number): number;
  publishRequests(): void;
  callShard(shard: number, args: ReadonlyArray<Uint8Array | string>, proto: 2 | 3, db?: number): Promise<Buffer>;
  /** Runs a one-key RESP command where the key lives: a local shard, or in cluster mode the node
   * serving its slot. */
  callForKey(key: Uint8Array, args: ReadonlyArray<Uint8Array | string>): Promise<Buffer>;
  /** Cluster mode: takes a memcached request whose key this node must not serve locally (it
   * forwards it to the slot's owner, or refuses it while the slot is moving); false otherwise. */
  routeMemcache(sink: ReplySink, seq: number, args: ArgList, keyArg: number): boolean;
  shardStats(): Promise<ShardStatsReport[]>;
  /** Open client connections on every front door (RESP, memcached, HTTP): maxclients bounds it. */
  connectionsOpen(): number;
  /** The node's state as admission sees it (the same for every front door). */
  readonly admissionState: AdmissionState;
  /** Runs `run` (a write held by admission) once the failover write pause ends. */
  whenWritesResume(run: () => void): void;
  serverStats(): ServerStats;
  commandStats(): Map<string, { calls: number; usec: number; rejected: number; failed: number }>;
  /** TLS contexts and listeners (memcache-tls, http-tls). */
  readonly tls: ServerTls;
  /** Protected mode, the new-connection cap and the client/user limits (guard.ts). */
  readonly guard: Guard;
  /** A login of `client` (of any door) as `user`: the error past the user's maxclients, else null. */
  loginRefusal(user: AclUser, client: object): string | null;
  /** The node's users: the same for every door. */
  readonly acl: AclApi;
  /** The command layer's view of the server: the dashboard API runs Redis commands through it. */
  readonly api: ServerApi;
}

/** Counters of the memcached front door (for `stats` and /metrics). */
export interface MemcacheCounters {
  readonly commands: Map<string, number>;
  connectionsTotal: number;
  connectionsCurrent: number;
}
