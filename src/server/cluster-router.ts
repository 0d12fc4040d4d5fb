// Cluster ownership for every front door: Redis Cluster's checks for a keyed command (one slot
// for all its keys, served here, or MOVED / ASK / CROSSSLOT / CLUSTERDOWN, or forwarded to the
// owner with cluster-forwarding), commands in a slot that is migrating away (run here while all
// their keys still are), and the same routing for memcached requests and the HTTP key API.
// Depends on the shard router and the cluster's state; the dispatcher and the front doors use it.

import { keysSkip } from '../commands/key-range.js';
import type { ArgList, CommandSpec, MainCall, MainHandler } from '../commands/types.js';
import { COMMANDS, commandIndex } from '../commands/registry.js';
import { ERR, ReplyError } from '../core/errors.js';
import { argListOf } from '../commands/args.js';
import type { Config } from '../config/config.js';
import { keySlot } from '../keyspace/slot.js';
import type { ClusterControl } from '../cluster/api.js';
import { PeerError, encodeCommand, type PeerClient, type PeerPool } from '../cluster/peer-client.js';
import { nodeAuthCommand, nodeAuthVariant } from '../cluster/node-auth.js';
import type { InFlightKeys } from '../cluster/slot-migrator.js';
import type { ReplySink } from '../runtime/shard-port.js';
import type { ShardRouter, TurnClient } from './shard-router.js';

const FORWARD_TIMEOUT_MS = 5000;
const MC_FORWARD_NAME = Buffer.from('TESSERA.MC');
const IFHERE = commandIndex('__ifhere');

/** route()'s answers besides a slot number (and a main-thread handler to run). */
export const HANDLED = -1;
/** Keys of several slots, all served here: split by shard as without cluster mode. */
export const ANY_SLOTS = -2;
/** Refused by the client's fault (CROSSSLOT): counts as a rejected call. */
export const REJECTED = -3;

/** SSUBSCRIBE, SUNSUBSCRIBE and SPUBLISH: pub/sub commands whose key is a shard channel. Redis
 * 7.0 serves them in a migrating slot at its source (channels do not move with keys), on a replica
 * of the slot's owner without READONLY, and while the cluster is down unless
 * cluster-allow-pubsubshard-when-down is no; they are never forwarded (a subscription stays on
 * its connection). */
function shardChannelCommand(spec: CommandSpec): boolean {
  return spec.keys !== null && spec.flags.includes('pubsub');
}

/** What cluster routing needs of a client connection. */
export interface RoutedClient extends TurnClient {
  readonlyMode: boolean;
  /** Connected with TLS: under tls-cluster a plain client is redirected to plain ports. */
  readonly tls: boolean;
  replyError(text: string): void;
}

/** The node's parts cluster routing reads (live: the cluster starts after the router exists). */
export interface ClusterRouterHost {
  readonly cluster: ClusterControl | null;
  readonly config: Config;
  readonly peers: PeerPool;
  readonly inFlight: InFlightKeys;
}

export class ClusterRouter {
  constructor(
    private readonly shards: ShardRouter,
    private readonly host: ClusterRouterHost,
  ) {}

  /** Redis Cluster's checks for a keyed command (getNodeByQuery): the one slot of its keys when
   * it is served here (ANY_SLOTS for a multi-slot command whose slots are all here), HANDLED or
   * REJECTED when it answered, or a main-thread handler that takes over the command (forwarding,
   * a slot migrating away). */
  route(conn: RoutedClient, idx: number, spec: CommandSpec, a: ArgList, first: number, last: number, step: number, asking: boolean): number | MainHandler {
    const c = this.host.cluster!;
    const slot = keySlot(a.buf, a.off[first]!, a.len[first]!);
    if (spec.multiSlot) {
      const shard = this.shards.shardOfSlot(slot);
      let oneShard = true;
      for (let i = first; i <= last; i += step) {
        if (i === keysSkip) continue;
        const s = keySlot(a.buf, a.off[i]!, a.len[i]!);
        if (!c.ownsSlot(s) && c.importingFrom(s) === null) {
          const to = c.slotAddress(s, !conn.tls);
          conn.replyError(to === null ? ERR.clusterDownUnbound : ERR.moved(s, to));
          return HANDLED;
        }
        if (this.shards.shardOfSlot(s) !== shard) oneShard = false;
      }
      // All on one shard: sent whole, as a one-slot command is.
      return oneShard ? slot : ANY_SLOTS;
    }
    for (let i = first + step; i <= last; i += step) {
      if (i === keysSkip) continue;
      if (keySlot(a.buf, a.off[i]!, a.len[i]!) !== slot) {
        conn.replyError(ERR.crossSlot);
        return REJECTED;
      }
    }
    const target = c.slotAddress(slot);
    if (target === null) {
      conn.replyError(ERR.clusterDownUnbound);
      return HANDLED;
    }
    const shardChannel = shardChannelCommand(spec);
    if (c.state() !== 'ok' && !(shardChannel ? this.host.config.values.clusterAllowPubsubshardWhenDown : this.host.config.values.clusterAllowReadsWhenDown && spec.flags.includes('readonly'))) {
      conn.replyError(ERR.clusterDown);
      return HANDLED;
    }
    if (c.ownsSlot(slot)) {
      // `to` only goes into ASK replies: the client's own kind of port.
      const to = c.migratingTo(slot, !conn.tls);
      if (to === null || shardChannel) return slot;
      // A blocking command has no shard handler for `__ifhere` to run: the dispatcher runs it
      // here (it pops, or blocks until the slot has moved and then gets -MOVED).
      if (spec.blocking === undefined && this.sendIfHere(conn, idx, a, slot, first, last, step, ERR.ask(slot, to))) return HANDLED;
      return (m) => this.runInMigratingSlot(m, idx, slot, first, last, step, to);
    }
    if (c.importingFrom(slot) !== null && (asking || spec.flags.includes('asking'))) {
      // As Redis: a multi-key command runs in an importing slot only once all its keys are here.
      // A blocking one runs here (no shard handler for `__ifhere`): its keys arrive with the slot.
      if (last === first || spec.blocking !== undefined) return slot;
      this.sendIfHere(conn, idx, a, slot, first, last, step, ERR.tryAgain);
      return HANDLED;
    }
    // A replica serves reads of its primary's slots to READONLY clients (Redis: any command that
    // is not a write); everything else is redirected to the primary.
    if ((conn.readonlyMode || shardChannel) && !spec.flags.includes('write') && c.primaryOwnsSlot(slot)) return slot;
    if (this.host.config.values.clusterForwarding && !shardChannel) return (m) => this.forward(m, target);
    // `target` is the node's announced (under tls-cluster, TLS) port, which forwarding dials; the
    // client is sent to its own kind of port.
    conn.replyError(ERR.moved(slot, conn.tls ? target : (c.slotAddress(slot, true) ?? target)));
    return HANDLED;
  }

  /** The usual case of a command in a MIGRATING slot: no take outstanding on its shard and none
   * of its keys in flight, so it goes to the shard as `__ifhere` at once (replying `missing`
   * unless all its keys are there), in the connection's order, without holding the connection's
   * later commands. False when it has to wait. (Also a multi-key command with ASKING in an
   * IMPORTING slot, where nothing is ever taken.) */
  private sendIfHere(conn: RoutedClient, idx: number, a: ArgList, slot: number, first: number, last: number, step: number, missing: string): boolean {
    const shard = this.shards.shardOfSlot(slot);
    const inFlight = this.host.inFlight;
    if (inFlight.takeOf(shard) !== undefined) return false;
    const parts: Array<Uint8Array | string> = ['__ifhere', ''];
    let n = 0;
    for (let i = first; i <= last; i += step) {
      if (i === keysSkip) continue;
      n++;
      const key = a.buf.subarray(a.off[i]!, a.off[i]! + a.len[i]!);
      if (inFlight.size > 0 && inFlight.waitFor(Buffer.from(key).toString('latin1')) !== undefined) return false;
      parts.push(key);
    }
    parts[1] = String(n);
    parts.push(missing, COMMANDS[idx]!.name);
    for (let i = 1; i < a.argc; i++) parts.push(a.buf.subarray(a.off[i]!, a.off[i]! + a.len[i]!));
    this.shards.send(shard, conn, conn.takeSeq(), IFHERE, conn.proto, argListOf(parts));
    return true;
  }

  /** A command for a slot that is moving away: runs here if all its keys are still here, else
   * ASK. The shard decides (`__ifhere`), in its order with migration takes; a command waits only
   * while a take's reply is outstanding or one of its keys is in a batch the target has not
   * acknowledged yet (then the key is gone: ASK). */
  private async runInMigratingSlot(m: MainCall, idx: number, slot: number, first: number, last: number, step: number, to: string): Promise<void> {
    const a = m.args;
    const args: Buffer[] = [];
    for (let i = 0; i < a.argc; i++) args.push(Buffer.from(a.buf.subarray(a.off[i]!, a.off[i]! + a.len[i]!)));
    const keys: Buffer[] = [];
    for (let i = first; i <= last; i += step) if (i !== keysSkip) keys.push(args[i]!);
    const names = keys.map((k) => k.toString('latin1'));
    const shard = this.shards.shardOfSlot(slot);
    const inFlight = this.host.inFlight;
    args[0] = Buffer.from(COMMANDS[idx]!.name);
    for (;;) {
      const take = inFlight.takeOf(shard);
      if (take !== undefined) {
        await take.catch(() => undefined);
        continue;
      }
      const moving = names.map((k) => inFlight.waitFor(k)).filter((p) => p !== undefined);
      if (moving.length > 0) {
        await Promise.all(moving);
        continue;
      }
      const reply = await this.shards.callShard(shard, ['__ifhere', String(keys.length), ...keys, ERR.ask(slot, to), ...args], m.conn.proto);
      m.out.raw(reply, 0, reply.length);
      return;
    }
  }

  /** The pooled link for forwarding to "host:port", logged in as masteruser/masterauth (else with
   * requirepass: node-auth.ts) and speaking the client's protocol. */
  private forwardPeer(target: string, proto: 2 | 3): PeerClient {
    const colon = target.lastIndexOf(':');
    const preamble: string[][] = [];
    const auth = nodeAuthCommand(this.host.config.values);
    if (auth !== null) preamble.push(auth);
    if (proto === 3) preamble.push(['HELLO', '3']);
    return this.host.peers.get(target.slice(0, colon), Number(target.slice(colon + 1)), `forward/${proto}/${nodeAuthVariant(auth)}`, preamble);
  }

  /** cluster-forwarding: sends the command to the slot's owner and relays its reply. */
  private async forward(m: MainCall, target: string): Promise<void> {
    const peer = this.forwardPeer(target, m.conn.proto);
    const a = m.args;
    const parts: Uint8Array[] = [];
    for (let i = 0; i < a.argc; i++) parts.push(a.buf.subarray(a.off[i]!, a.off[i]! + a.len[i]!));
    const frame = encodeCommand(parts);
    try {
      const reply = await peer.callEncoded(frame, FORWARD_TIMEOUT_MS);
      m.out.raw(reply, 0, reply.length);
    } catch (e) {
      if (!(e instanceof PeerError)) throw e;
      throw new ReplyError(`TRYAGAIN forwarding to ${target} failed: ${e.message}`);
    }
  }

  /** Runs a one-key RESP command where the key lives: a local shard, or the node serving its
   * slot (the HTTP key API). */
  async callForKey(key: Uint8Array, args: ReadonlyArray<Uint8Array | string>): Promise<Buffer> {
    const slot = keySlot(key, 0, key.length);
    const c = this.host.cluster;
    if (c === null || c.ownsSlot(slot)) return this.shards.callShard(this.shards.shardOfSlot(slot), args, 2);
    const target = c.slotAddress(slot);
    if (target === null) return Buffer.from(`-${ERR.clusterDownUnbound}\r\n`);
    return this.forwardPeer(target, 2).call(args, FORWARD_TIMEOUT_MS);
  }

  /** Cluster mode: takes a memcached request whose key this node must not serve locally (it
   * forwards it to the slot's owner, or refuses it while the slot is moving); false otherwise. */
  routeMemcache(sink: ReplySink, seq: number, args: ArgList, keyArg: number): boolean {
    const c = this.host.cluster;
    if (c === null) return false;
    const slot = keySlot(args.buf, args.off[keyArg]!, args.len[keyArg]!);
    if (c.ownsSlot(slot) && c.migratingTo(slot) === null) return false;
    const fail = (text: string): void => {
      const b = Buffer.from(`-${text}\r\n`);
      sink.deliver(seq, b, 0, b.length);
    };
    const target = c.slotAddress(slot);
    if (target === null) fail(ERR.clusterDownUnbound);
    else if (c.ownsSlot(slot)) fail(ERR.tryAgain);
    else {
      // The owner runs it through TESSERA.MC (same arguments) and sends the memcached reply
      // back as a bulk string.
      const parts: Uint8Array[] = [MC_FORWARD_NAME];
      for (let i = 1; i < args.argc; i++) parts.push(Buffer.from(args.buf.subarray(args.off[i]!, args.off[i]! + args.len[i]!)));
      this.forwardPeer(target, 2).call(parts, FORWARD_TIMEOUT_MS).then(
        (r) => {
          if (r[0] !== 36) return fail(r[0] === 45 ? r.toString('latin1', 1, r.length - 2) : 'ERR unexpected reply');
          const nl = r.indexOf(10);
          sink.deliver(seq, r, nl + 1, r.length - 2 - (nl + 1));
        },
        (e: Error) => fail(`TRYAGAIN forwarding to ${target} failed: ${e.message}`),
      );
    }
    return true;
  }
}
