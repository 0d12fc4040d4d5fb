// The main thread's blocked clients: one wait per client (its later commands are held while it
// waits), each with a claim slot shared with the shards (runtime/wait-claims.ts). A wait ends in
// exactly one way: a shard claims it and sends the reply (onWake), or the main thread cancels it
// (timeout, CLIENT UNBLOCK, disconnect, a restarted shard, a slot that moved, a demotion to
// replica). Waiting costs nothing: a timer per wait with a timeout, no polling. Bounded by
// WAIT_SLOTS clients blocked at once.

import type { ClientInfo } from '../core/types.js';
import { ERR } from '../core/errors.js';
import { armWait, cancelWait, createClaimWords, nextGeneration, WAIT_SLOTS } from '../runtime/wait-claims.js';
import type { BlockingHooks } from '../runtime/shard-port.js';
import type { BlockingApi, ClientWait } from '../commands/types.js';

/** What the blocked clients need of the server. */
export interface BlockedClientsHost {
  /** Tells a shard to drop a registration (fire and forget). */
  cancelOnShard(shard: number, slot: number, gen: number): void;
  /** Cluster mode: the reply for a client blocked on a slot no longer served here, else null
   * (`plain`: the client has no TLS, so under tls-cluster it is sent to a plain port). */
  redirectFor(slot: number, plain: boolean): string | null;
}

class Wait implements ClientWait {
  result: Buffer | null = null;
  readonly shards = new Set<number>();
  private resolver: ((reply: Buffer) => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  ended = false;
  /** Waiting for a wake or a cancel (CLIENT LIST's b flag, INFO blocked_clients). */
  blocked = false;

  constructor(
    private readonly owner: BlockedClients,
    readonly conn: ClientInfo,
    readonly slot: number,
    readonly gen: number,
    readonly slots: readonly number[],
    /** The reply of a timeout (and of CLIENT UNBLOCK ... TIMEOUT). */
    readonly nullReply: Buffer,
  ) {}

  registered(shard: number): void {
    this.shards.add(shard);
    // A registration that lands after the wait ended (the client left during the tries) goes at
    // once, not when its key is next written.
    if (this.ended) this.owner.host.cancelOnShard(shard, this.slot, this.gen);
  }

  settle(timeoutMs: number): Promise<Buffer> {
    if (this.result !== null) return Promise.resolve(this.result);
    this.blocked = true;
    this.conn.setBlocked(true);
    return new Promise<Buffer>((resolve) => {
      this.resolver = resolve;
      if (timeoutMs > 0) this.timer = setTimeout(() => this.cancelWith(this.nullReply), Math.min(timeoutMs, 2 ** 31 - 1));
    });
  }

  cancel(): boolean {
    return cancelWait(this.owner.claims, this.slot, this.gen);
  }

  /** Ends the wait with reply unless a shard claimed it first (its reply is then on its way). */
  cancelWith(reply: Buffer): boolean {
    if (!this.cancel()) return false;
    this.deliver(reply);
    return true;
  }

  deliver(reply: Buffer): void {
    if (this.result !== null) return;
    this.result = reply;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const r = this.resolver;
    this.resolver = null;
    r?.(reply);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.blocked) this.conn.setBlocked(false);
    this.blocked = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    // Whatever ended it, registrations left in shards are dropped (a served shard dropped its own).
    this.cancel();
    for (const s of this.shards) this.owner.host.cancelOnShard(s, this.slot, this.gen);
    this.owner.ended(this);
  }
}

export class BlockedClients implements BlockingApi, BlockingHooks {
  readonly claims = createClaimWords();
  private readonly waits: Array<Wait | undefined> = [];
  private readonly slotOf = new Map<number, number>();
  private readonly gens = new Int32Array(WAIT_SLOTS);
  private readonly free: number[] = [];
  private nextSlot = 0;
  private readonly active = new Set<Wait>();

  constructor(readonly host: BlockedClientsHost) {}

  /** Clients waiting now (INFO clients blocked_clients). */
  get count(): number {
    let n = 0;
    for (const w of this.active) if (w.blocked) n++;
    return n;
  }

  isBlocked(connId: number): boolean {
    const s = this.slotOf.get(connId);
    const w = s === undefined ? undefined : this.waits[s];
    return w !== undefined && w.blocked;
  }

  begin(conn: ClientInfo, slots: readonly number[], nullReply: Buffer): ClientWait {
    let slot = this.slotOf.get(conn.id);
    if (slot === undefined) {
      slot = this.free.pop() ?? (this.nextSlot < WAIT_SLOTS ? this.nextSlot++ : -1);
      if (slot < 0) throw new Error('too many blocked clients');
      this.slotOf.set(conn.id, slot);
    }
    const prev = this.waits[slot];
    if (prev !== undefined && !prev.ended) prev.end();
    const gen = nextGeneration(this.gens[slot]!);
    this.gens[slot] = gen;
    armWait(this.claims, slot, gen);
    const w = new Wait(this, conn, slot, gen, slots, nullReply);
    this.waits[slot] = w;
    this.active.add(w);
    return w;
  }

  ended(w: Wait): void {
    this.active.delete(w);
  }

  // --- BlockingHooks: what the shards tell -------------------------------------------------

  onWake(slot: number, gen: number, buf: Uint8Array, off: number, len: number): void {
    const w = this.waits[slot];
    // A reply for a client gone meanwhile is dropped, as Redis's reply to a closed socket is.
    if (w === undefined || w.gen !== gen || w.ended) return;
    w.deliver(Buffer.from(buf.subarray(off, off + len)));
  }

  onRestart(shard: number): void {
    const err = Buffer.from(`-${ERR.unblockedShardRestart(shard)}\r\n`);
    for (const w of [...this.active]) if (w.shards.has(shard)) w.cancelWith(err);
  }

  // --- the server's events ------------------------------------------------------------------

  /** CLIENT UNBLOCK id [TIMEOUT|ERROR]: true when the client was blocked. */
  unblock(connId: number, error: boolean): boolean {
    const s = this.slotOf.get(connId);
    const w = s === undefined ? undefined : this.waits[s];
    if (w === undefined || w.ended || w.result !== null) return false;
    return w.cancelWith(error ? Buffer.from(`-${ERR.unblockedByClient}\r\n`) : w.nullReply);
  }

  /** Every blocked client gets err (the node became a replica). */
  unblockAll(err: string): void {
    const reply = Buffer.from(`-${err}\r\n`);
    for (const w of [...this.active]) w.cancelWith(reply);
  }

  /** Cluster mode: slots moved; clients blocked on keys of a slot served elsewhere get -MOVED. */
  slotsChanged(): void {
    for (const w of [...this.active]) {
      for (const slot of w.slots) {
        const redirect = this.host.redirectFor(slot, !w.conn.tls);
        if (redirect !== null) {
          w.cancelWith(Buffer.from(`-${redirect}\r\n`));
          break;
        }
      }
    }
  }

  connectionClosed(conn: ClientInfo): void {
    const s = this.slotOf.get(conn.id);
    if (s === undefined) return;
    this.slotOf.delete(conn.id);
    const w = this.waits[s];
    if (w !== undefined && !w.ended) {
      w.cancel();
      // Its command's promise settles (the reply goes nowhere); a shard's wake for it is dropped.
      w.deliver(Buffer.alloc(0));
      w.end();
    }
    this.waits[s] = undefined;
    this.free.push(s);
  }
}
