// The guard at every front door (RESP, memcached, HTTP): protected mode and the per-address cap on
// new connections when a socket is accepted, and Tessera's own per-client and per-user token
// buckets (requests/s, input bytes/s) on each request. When no limit is set the only cost per
// request is one test of `limiting`; per-user buckets are shared by all the user's clients.

import type { AclUser } from '../core/acl.js';
import { GUARD_ERR } from '../core/errors.js';
import type { ServerStats } from '../core/types.js';
import type { ServerConfig } from '../config/server-config.js';

/** Most source addresses tracked by the new-connection cap in one window; past it the window
 * starts again (counts are forgotten early rather than memory growing without bound). */
const CONN_RATE_ADDRS_MAX = 65_536;
/** Longest a bandwidth-limited socket is paused at once: it is re-checked after this. */
const PAUSE_MAX_MS = 10_000;

/** A token bucket: `ratePerSec` tokens a second, holding at most one second's worth. */
export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(readonly ratePerSec: number, nowMs: number) {
    this.tokens = ratePerSec;
    this.lastMs = nowMs;
  }

  private refill(nowMs: number): void {
    const dt = nowMs - this.lastMs;
    if (dt > 0) {
      this.tokens = Math.min(this.ratePerSec, this.tokens + (dt * this.ratePerSec) / 1000);
      this.lastMs = nowMs;
    }
  }

  /** Takes one token: false (nothing taken) when none is left. */
  takeOne(nowMs: number): boolean {
    this.refill(nowMs);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Takes `n` tokens, going into debt if need be: the milliseconds until the debt is paid
   * (0 when there was enough). */
  takeDebt(n: number, nowMs: number): number {
    this.refill(nowMs);
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.ratePerSec);
  }
}

/** A client's own buckets (made on its first limited request, remade when the option changes). */
export interface ClientBuckets {
  ops: TokenBucket | null;
  bytes: TokenBucket | null;
}

/** What the guard needs of a client of any door. */
export interface GuardClient {
  /** The client's buckets; null until the guard first limits it. */
  guardBuckets: ClientBuckets | null;
}

export class Guard {
  /** True when any request limit is set (a client option or a user with limits): requests are
   * checked only then. */
  limiting = false;
  /** Users with ops or bytes limits (kept by userChanged). */
  private readonly limitedUsers = new Set<string>();
  private readonly userBuckets = new Map<string, ClientBuckets>();
  private connWindowMs = 0;
  private readonly connCounts = new Map<string, number>();

  constructor(
    private readonly values: ServerConfig,
    private readonly stats: ServerStats,
    /** True when the default user has a password (is not `nopass`): protected mode is then off. */
    private readonly defaultHasPassword: () => boolean,
  ) {
    this.configChanged();
  }

  /** Call after CONFIG SET (and at start). */
  configChanged(): void {
    const v = this.values;
    this.limiting = v.clientOpsPerSec > 0 || v.clientBytesPerSec > 0 || this.limitedUsers.size > 0;
  }

  /** Call after an ACL user changed or was deleted (its shared buckets start afresh). */
  userChanged(user: AclUser, deleted: boolean): void {
    this.userBuckets.delete(user.name);
    if (!deleted && (user.limits.opsPerSec > 0 || user.limits.bytesPerSec > 0)) this.limitedUsers.add(user.name);
    else this.limitedUsers.delete(user.name);
    this.configChanged();
  }

  // ---- at accept -----------------------------------------------------------------------------

  /** The refusal (an error text without protocol framing) for a new connection from `ip`, or null
   * to admit it: protected mode first (Redis's order), then the new-connection cap. Counted. */
  refuseConnection(ip: string | undefined): string | null {
    const v = this.values;
    if (v.protectedMode && !isLoopbackIp(ip) && !this.defaultHasPassword()) {
      this.stats.protectedModeRefused++;
      this.stats.rejectedConnections++;
      return GUARD_ERR.protectedMode;
    }
    const cap = v.maxNewConnectionsPerSec;
    if (cap === 0 || ip === undefined) return null;
    const nowMs = Date.now();
    if (nowMs - this.connWindowMs >= 1000 || this.connCounts.size >= CONN_RATE_ADDRS_MAX) {
      this.connWindowMs = nowMs;
      this.connCounts.clear();
    }
    const n = (this.connCounts.get(ip) ?? 0) + 1;
    this.connCounts.set(ip, n);
    if (n <= cap) return null;
    this.stats.connectionsRateRefused++;
    this.stats.rejectedConnections++;
    return GUARD_ERR.connectionRate(cap);
  }

  // ---- per request (only when `limiting`) ------------------------------------------------------

  private bucketsOf(c: GuardClient): ClientBuckets {
    const v = this.values;
    let b = c.guardBuckets;
    if (b === null || (b.ops?.ratePerSec ?? 0) !== v.clientOpsPerSec || (b.bytes?.ratePerSec ?? 0) !== v.clientBytesPerSec) {
      b = c.guardBuckets = makeBuckets(v.clientOpsPerSec, v.clientBytesPerSec);
    }
    return b;
  }

  private userBucketsOf(user: AclUser): ClientBuckets | null {
    const l = user.limits;
    if (l.opsPerSec === 0 && l.bytesPerSec === 0) return null;
    let b = this.userBuckets.get(user.name);
    if (b === undefined || (b.ops?.ratePerSec ?? 0) !== l.opsPerSec || (b.bytes?.ratePerSec ?? 0) !== l.bytesPerSec) {
      b = makeBuckets(l.opsPerSec, l.bytesPerSec);
      this.userBuckets.set(user.name, b);
    }
    return b;
  }

  /** One request of `c`, logged in as `user` (undefined on a door without users): null when it may run, else the -LIMIT error (the request does not run).
   * The client's bucket is checked before the user's, so a request refused by its own client's
   * limit costs the user's shared budget nothing. Call only when `limiting`. */
  request(c: GuardClient, user: AclUser | undefined): string | null {
    const nowMs = Date.now();
    const own = this.bucketsOf(c).ops;
    if (own !== null && !own.takeOne(nowMs)) {
      this.stats.rateLimitedRequests++;
      return GUARD_ERR.opsLimit(own.ratePerSec, 'client');
    }
    const shared = user === undefined ? null : this.userBucketsOf(user)?.ops ?? null;
    if (shared !== null && !shared.takeOne(nowMs)) {
      this.stats.rateLimitedRequests++;
      return GUARD_ERR.opsLimit(shared.ratePerSec, `user '${user!.name}'`);
    }
    return null;
  }

  /** `bytes` read from `c`: the milliseconds its socket must stay paused (0: read on). The bytes
   * already read are served; the debt is paid by the pause. Call only when `limiting`. */
  input(c: GuardClient, user: AclUser | undefined, bytes: number): number {
    const nowMs = Date.now();
    let waitMs = 0;
    const own = this.bucketsOf(c).bytes;
    if (own !== null) waitMs = own.takeDebt(bytes, nowMs);
    const shared = user === undefined ? null : this.userBucketsOf(user)?.bytes ?? null;
    if (shared !== null) waitMs = Math.max(waitMs, shared.takeDebt(bytes, nowMs));
    if (waitMs > 0) this.stats.bandwidthLimitedPauses++;
    return Math.min(waitMs, PAUSE_MAX_MS);
  }

  // ---- at login --------------------------------------------------------------------------------

  /** A login as `user` by a client that is not yet one of `current` clients of that user: the
   * refusal when the user's maxclients is reached, else null. Counted. */
  loginRefusal(user: AclUser, current: number): string | null {
    const max = user.limits.maxClients;
    if (max === 0 || current < max) return null;
    this.stats.userMaxclientsRefused++;
    return GUARD_ERR.userMaxClients(user.name, max);
  }
}

function makeBuckets(opsPerSec: number, bytesPerSec: number): ClientBuckets {
  const nowMs = Date.now();
  return {
    ops: opsPerSec > 0 ? new TokenBucket(opsPerSec, nowMs) : null,
    bytes: bytesPerSec > 0 ? new TokenBucket(bytesPerSec, nowMs) : null,
  };
}

/** True for an address on the loopback interface (IPv4 127/8, ::1, or IPv4 127/8 seen through a
 * dual-stack IPv6 listener), as Redis's connIsLocal. Unknown is not loopback. */
export function isLoopbackIp(ip: string | undefined): boolean {
  if (ip === undefined) return false;
  return ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.');
}
