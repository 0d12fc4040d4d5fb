// Moving slots' keys to another node in bulk (CLUSTER MIGRATESLOT). The owning shard *takes* a
// batch of entries (copies them into one array reply and deletes them), and that reply goes to the
// target unchanged as the arguments of one RESTOREBATCH. Until the target acknowledges it, the
// batch's keys are "in flight": they are in neither keyspace, so a client command touching one of
// them waits for the acknowledgement (then finds the key gone and gets ASK, as Redis clients
// expect), and a failed batch is put back into the shard before the error is reported. A command
// in a MIGRATING slot waits while a take's reply is outstanding or its keys are in flight, then
// goes to the shard as `__ifhere` (run if all keys are here, else ASK), so the shard orders it
// against takes; the network round trip holds nothing, so several batches are in flight at once
// and the shard serves everything else meanwhile. A failure leaves the slot MIGRATING with every key either
// here or acknowledged there: running the command again resumes.

import type { ShardCaller } from '../core/types.js';
import type { PeerPool } from './peer-client.js';
import { shardOk, ReplyError } from '../core/errors.js';
import { nodeAuthVariant } from './node-auth.js';
import { recordEvent } from '../observability/events.js';
import { formatRanges, toRanges } from './slot-ranges.js';

export interface SlotMigrationOptions {
  timeoutMs: number;
  batchKeys: number;
  /** The AUTH command that logs the link in to the target (node-auth.ts), or null. */
  auth?: readonly string[] | null;
}

/** Batches sent but not yet acknowledged, per migration. */
const WINDOW = 4;

const RESTOREBATCH = Buffer.from('$12\r\nRESTOREBATCH\r\n');

/** Keys taken from a shard and not yet acknowledged by the target, with the batch's completion. */
export class InFlightKeys {
  private readonly keys = new Map<string, Promise<void>>();
  private readonly takes = new Map<number, Promise<unknown>>();

  /** A take sent to the shard whose reply (and so whose keys) is not known yet. */
  takeOf(shard: number): Promise<unknown> | undefined {
    return this.takes.get(shard);
  }

  /** Marks a take as under way on shard until `reply` settles; call it in the same synchronous
   * step as sending the take, so that no command can slip between the two unseen. */
  taking(shard: number, reply: Promise<unknown>): void {
    this.takes.set(shard, reply);
    const clear = (): void => {
      if (this.takes.get(shard) === reply) this.takes.delete(shard);
    };
    reply.then(clear, clear);
  }

  /** The completion of the batch holding key (latin1 of its bytes), or undefined. */
  waitFor(key: string): Promise<void> | undefined {
    return this.keys.get(key);
  }

  get size(): number {
    return this.keys.size;
  }

  add(keys: readonly string[], done: Promise<void>): void {
    for (const k of keys) this.keys.set(k, done);
  }

  remove(keys: readonly string[]): void {
    for (const k of keys) this.keys.delete(k);
  }
}

/** Reads the header "*N\r\n" of an array reply: [N, offset of its first element]. */
function arrayHeader(r: Buffer): [number, number] {
  if (r[0] !== 42) throw new Error(`unexpected shard reply ${r.toString('latin1', 0, 40)}`);
  const nl = r.indexOf(10);
  return [Number(r.toString('latin1', 1, nl - 1)), nl + 1];
}

/** The elements of a flat array of bulk strings starting at off. */
function elementsOf(r: Buffer, off: number, items: number): Buffer[] {
  const out: Buffer[] = [];
  let p = off;
  for (let i = 0; i < items; i++) {
    const nl = r.indexOf(10, p);
    const len = Number(r.toString('latin1', p + 1, nl - 1));
    out.push(r.subarray(nl + 1, nl + 1 + len));
    p = nl + 1 + len + 2;
  }
  return out;
}

interface Batch {
  reply: Buffer;
  first: number;
  items: number;
  keys: string[];
  settle: () => void;
}

/** Moves every key of the (MIGRATING) slots to host:port, in batches that may span slots of one
 * shard; resolves with how many keys were moved. */
/** What slot migration uses of the node (the server's API provides it). */
export interface MigrationHost {
  shardOfSlot(slot: number): number;
  withShardsLocked<T>(shards: number[], fn: (call: ShardCaller) => Promise<T>): Promise<T>;
  readonly peers: PeerPool;
  readonly inFlight: InFlightKeys;
}

export async function migrateSlots(server: MigrationHost, slots: readonly number[], host: string, port: number, opts: SlotMigrationOptions): Promise<number> {
  const byShard = new Map<number, string[]>();
  for (const slot of slots) {
    const s = server.shardOfSlot(slot);
    let list = byShard.get(s);
    if (!list) byShard.set(s, (list = []));
    list.push(String(slot));
  }
  const auth = opts.auth ?? null;
  const peer = server.peers.get(host, port, `slot-migration/${nodeAuthVariant(auth)}`, auth === null ? [] : [auth]);
  let moved = 0;
  for (const [shard, slotArgs] of byShard) {
    const take = (): Promise<Batch | null> =>
      server.withShardsLocked([shard], async (call) => {
        const sent = call(shard, ['__slottake', String(opts.batchKeys), ...slotArgs], 2);
        server.inFlight.taking(shard, sent);
        const reply = shardOk(await sent);
        const [items, first] = arrayHeader(reply);
        if (items === 0) return null;
        const keys: string[] = [];
        const parts = elementsOf(reply, first, items);
        for (let i = 0; i < parts.length; i += 2) keys.push(parts[i]!.toString('latin1'));
        let settle!: () => void;
        const done = new Promise<void>((r) => (settle = r));
        server.inFlight.add(keys, done);
        return { reply, first, items, keys, settle };
      });
    const send = async (b: Batch): Promise<number> => {
      const frame = Buffer.concat([Buffer.from(`*${b.items + 1}\r\n`), RESTOREBATCH, b.reply.subarray(b.first)]);
      let failure: Error | null = null;
      try {
        const ack = await peer.callEncoded(frame, opts.timeoutMs);
        if (ack[0] !== 58) failure = new ReplyError(`ERR Target instance replied with error: ${ack.toString('latin1', 1, ack.length - 2)}`);
      } catch (e) {
        failure = e as Error;
      }
      if (failure !== null) {
        // Not acknowledged: the batch goes back where it was (the target may hold a copy too; a
        // later run replaces it there).
        await server.withShardsLocked([shard], async (call) => {
          shardOk(await call(shard, ['restorebatch', ...elementsOf(b.reply, b.first, b.items)], 2));
        });
      }
      server.inFlight.remove(b.keys);
      b.settle();
      if (failure !== null) throw failure;
      return b.keys.length;
    };
    const pending: Array<Promise<number>> = [];
    let last = false;
    let error: unknown = null;
    while (!last || pending.length > 0) {
      while (!last && error === null && pending.length < WINDOW) {
        const b = await take();
        // A short batch is the last: no key can enter a MIGRATING slot (new keys are sent to
        // the target with ASK).
        if (b === null || b.keys.length < opts.batchKeys) last = true;
        if (b === null) break;
        const p = send(b);
        p.catch(() => undefined);
        pending.push(p);
      }
      const p = pending.shift();
      if (p === undefined) break;
      try {
        moved += await p;
      } catch (e) {
        error ??= e;
        last = true;
      }
    }
    if (error !== null) throw error;
  }
  recordEvent('migration', `${moved} key${moved === 1 ? '' : 's'} of ${slots.length} slot${slots.length === 1 ? '' : 's'} (${formatRanges(toRanges([...slots].sort((a, b) => a - b)))}) moved to ${host}:${port}`);
  return moved;
}

