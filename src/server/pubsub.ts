// Pub/sub of one node, on the main thread: channels, patterns and shard channels,
// who subscribes to them, and delivery. A message is encoded once per protocol in use (RESP2
// `message` array, RESP3 `>` push) and those same bytes are pushed to every subscriber.
// Invariants: a client is in a channel's (pattern's) subscriber set exactly when the name is in
// its own ClientSubscriptions; a name with no subscriber left is removed from the maps.

import type { ClientInfo } from '../core/types.js';
import type { PubSubApi, PubSubNode, SubKind } from '../commands/types.js';
import { SUB_CHANNEL, SUB_PATTERN, SUB_SHARD, inSubscribeMode } from '../commands/pubsub-family.js';
import { RespWriter } from '../protocol/resp-writer.js';
import { encodeMessage, encodeMessageAfter, messagePrefix, writeConfirmation } from '../protocol/pubsub-frames.js';
import { globMatch } from '../util/glob.js';
import { keySlot } from '../keyspace/slot.js';
import { assert } from '../util/assert.js';

const SUB_VERB = ['subscribe', 'psubscribe', 'ssubscribe'] as const;
const UNSUB_VERB = ['unsubscribe', 'punsubscribe', 'sunsubscribe'] as const;

/** One name's subscribers, in subscription order (Redis delivers in that order too). */
interface Topic {
  readonly name: Buffer;
  readonly subs: Set<ClientInfo>;
  /** A channel's (shard channel's) message frame up to the message, per protocol, made at its
   * first delivery: a PUBLISH then encodes only the message (patterns: the channel varies). */
  prefix2: Buffer | null;
  prefix3: Buffer | null;
}

/** The count in a (un)subscribe confirmation: channels and patterns together, shard channels
 * on their own (redis-server 7.0). */
function confirmCount(c: ClientInfo, kind: SubKind): number {
  const s = c.subscriptions;
  return kind === SUB_SHARD ? s.shardChannels.size : s.channels.size + s.patterns.size;
}

const MESSAGE = Buffer.from('message');
const PMESSAGE = Buffer.from('pmessage');
const SMESSAGE = Buffer.from('smessage');

function key(name: Uint8Array): string {
  return Buffer.from(name.buffer, name.byteOffset, name.byteLength).toString('latin1');
}

/** Byte equality, in JS: channel names are short, and a native call costs more than the loop. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

export type { PubSubApi };

export class PubSub implements PubSubNode {
  onPropagate: ((channel: Uint8Array, message: Uint8Array, sharded: boolean) => void) | null = null;
  private readonly channels = new Map<string, Topic>();
  private readonly patterns = new Map<string, Topic>();
  private readonly shardChannels = new Map<string, Topic>();
  /** The channel the last PUBLISH found (a publisher mostly repeats its channel): compared by
   * bytes, it spares the string key per PUBLISH. Always an entry of `channels`, or null. */
  private lastChannel: Topic | null = null;

  private topics(kind: SubKind): Map<string, Topic> {
    return kind === SUB_CHANNEL ? this.channels : kind === SUB_PATTERN ? this.patterns : this.shardChannels;
  }

  private own(c: ClientInfo, kind: SubKind): Set<string> {
    const s = c.subscriptions;
    return kind === SUB_CHANNEL ? s.channels : kind === SUB_PATTERN ? s.patterns : s.shardChannels;
  }

  /** (P|S)SUBSCRIBE of one name: confirmation written to out (subscribing twice is harmless). */
  subscribe(c: ClientInfo, kind: SubKind, name: Uint8Array, out: RespWriter): void {
    const k = key(name);
    const mine = this.own(c, kind);
    if (!mine.has(k)) {
      const map = this.topics(kind);
      let t = map.get(k);
      if (t === undefined) {
        t = { name: Buffer.from(name), subs: new Set(), prefix2: null, prefix3: null };
        map.set(k, t);
      }
      t.subs.add(c);
      mine.add(k);
    }
    // Messages published from now on follow this reply, which confirms the subscription.
    c.pushAfterCurrentReply();
    writeConfirmation(out, SUB_VERB[kind], name, confirmCount(c, kind));
  }

  /** (P|S)UNSUBSCRIBE of one name (confirmed even when not subscribed, as Redis). */
  unsubscribe(c: ClientInfo, kind: SubKind, name: Uint8Array, out: RespWriter | null): void {
    this.remove(c, kind, key(name));
    if (out !== null) writeConfirmation(out, UNSUB_VERB[kind], name, confirmCount(c, kind));
  }

  /** (P|S)UNSUBSCRIBE without names: every subscription of that kind, each confirmed; one
   * confirmation with a null name when there was none (Redis). */
  unsubscribeAll(c: ClientInfo, kind: SubKind, out: RespWriter | null): void {
    const mine = this.own(c, kind);
    if (mine.size === 0) {
      if (out !== null) writeConfirmation(out, UNSUB_VERB[kind], null, confirmCount(c, kind));
      return;
    }
    for (const k of [...mine]) {
      this.remove(c, kind, k);
      if (out !== null) writeConfirmation(out, UNSUB_VERB[kind], Buffer.from(k, 'latin1'), confirmCount(c, kind));
    }
  }

  /** Drops every subscription of c, silently (RESET, disconnect). */
  forget(c: ClientInfo): void {
    if (!inSubscribeMode(c)) return;
    this.unsubscribeAll(c, SUB_CHANNEL, null);
    this.unsubscribeAll(c, SUB_PATTERN, null);
    this.unsubscribeAll(c, SUB_SHARD, null);
  }

  private remove(c: ClientInfo, kind: SubKind, k: string): boolean {
    const mine = this.own(c, kind);
    if (!mine.delete(k)) return false;
    const map = this.topics(kind);
    const t = map.get(k);
    assert(t !== undefined && t.subs.delete(c), 'pubsub: a subscription without its topic entry');
    if (t.subs.size === 0) {
      map.delete(k);
      if (t === this.lastChannel) this.lastChannel = null;
    }
    return true;
  }

  publish(channel: Uint8Array, message: Uint8Array): number {
    const n = this.publishLocal(channel, message);
    // Views of the receive buffer, no copies: ClusterApi.publish copies them into its frame
    // before it returns (cluster/pubsub-bridge.ts).
    if (this.onPropagate !== null) this.onPropagate(channel, message, false);
    return n;
  }

  publishLocal(channel: Uint8Array, message: Uint8Array): number {
    let receivers = 0;
    if (this.channels.size > 0) {
      let t = this.lastChannel;
      if (t === null || !sameBytes(t.name, channel)) {
        t = this.channels.get(key(channel)) ?? null;
        if (t !== null) this.lastChannel = t;
      }
      if (t !== null) receivers += deliverToTopic(t, MESSAGE, message);
    }
    if (this.patterns.size === 0) return receivers;
    for (const t of this.patterns.values()) {
      if (!globMatch(t.name, 0, t.name.length, channel, 0, channel.length)) continue;
      receivers += deliver(t.subs, PMESSAGE, t.name, channel, message);
    }
    return receivers;
  }

  spublish(channel: Uint8Array, message: Uint8Array): number {
    const n = this.spublishLocal(channel, message);
    if (this.onPropagate !== null) this.onPropagate(channel, message, true);
    return n;
  }

  spublishLocal(channel: Uint8Array, message: Uint8Array): number {
    if (this.shardChannels.size === 0) return 0;
    const t = this.shardChannels.get(key(channel));
    return t === undefined ? 0 : deliverToTopic(t, SMESSAGE, message);
  }

  dropShardChannels(lost: (slot: number) => boolean): void {
    const notice = new RespWriter(256);
    for (const [k, t] of [...this.shardChannels]) {
      if (!lost(keySlot(t.name, 0, t.name.length))) continue;
      for (const c of [...t.subs]) {
        this.remove(c, SUB_SHARD, k);
        notice.reset();
        notice.proto = c.proto;
        writeConfirmation(notice, 'sunsubscribe', t.name, c.subscriptions.shardChannels.size);
        c.push(notice.buf.subarray(0, notice.length));
      }
    }
  }

  counts(): { channels: number; patterns: number; shardChannels: number } {
    return { channels: this.channels.size, patterns: this.patterns.size, shardChannels: this.shardChannels.size };
  }

  /** PUBSUB CHANNELS / SHARDCHANNELS: active names matching pattern (all when null). */
  names(kind: 0 | 2, pattern: Uint8Array | null): Buffer[] {
    const r: Buffer[] = [];
    for (const t of this.topics(kind).values()) {
      if (pattern === null || globMatch(pattern, 0, pattern.length, t.name, 0, t.name.length)) r.push(t.name);
    }
    return r;
  }

  /** PUBSUB NUMSUB / SHARDNUMSUB: subscribers of one name. */
  subscriberCount(kind: 0 | 2, name: Uint8Array): number {
    return this.topics(kind).get(key(name))?.subs.size ?? 0;
  }
}

/** deliver() to a channel's (shard channel's) subscribers, from the topic's frame prefixes. */
function deliverToTopic(t: Topic, verb: Buffer, msg: Uint8Array): number {
  const n = t.subs.size;
  let f2: Uint8Array | null = null;
  let f3: Uint8Array | null = null;
  for (const c of t.subs) {
    if (c.proto === 3) c.push((f3 ??= encodeMessageAfter(3, (t.prefix3 ??= messagePrefix(3, verb, null, t.name)), msg)));
    else c.push((f2 ??= encodeMessageAfter(2, (t.prefix2 ??= messagePrefix(2, verb, null, t.name)), msg)));
  }
  return n;
}

/** Pushes one message to every subscriber in subs: encoded at most once per protocol. */
function deliver(subs: Set<ClientInfo>, verb: Buffer, pattern: Buffer | null, ch: Uint8Array, msg: Uint8Array): number {
  // Counted first: a subscriber over its output limit is dropped (and leaves subs) on the way.
  const n = subs.size;
  let f2: Uint8Array | null = null;
  let f3: Uint8Array | null = null;
  for (const c of subs) {
    if (c.proto === 3) c.push((f3 ??= encodeMessage(3, verb, pattern, ch, msg)));
    else c.push((f2 ??= encodeMessage(2, verb, pattern, ch, msg)));
  }
  return n;
}
