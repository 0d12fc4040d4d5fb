// Moving slots' keys to another node in bulk (CLUSTER MIGRATESLOT): the owning shard hands
// out a batch of entries as one array reply, which is forwarded to the target unchanged as the
// arguments of one RESTOREBATCH; once the target has acknowledged it, the batch is deleted here.
// Each batch runs with its shard locked, so no client command sees or changes a key between its
// copy and its deletion: a key is either still here or already there, which is what ASK relies
// on. Other shards, and this one between batches, keep serving. A failure leaves the slot
// MIGRATING with every unacknowledged key still here: running the command again resumes.

import type { ServerApi } from '../commands/types.js';
import { shardOk, ReplyError } from '../commands/errors.js';
import { PeerError } from './peer-client.js';

export interface SlotMigrationOptions {
  timeoutMs: number;
  batchKeys: number;
}

const RESTOREBATCH = Buffer.from('$12\r\nRESTOREBATCH\r\n');

/** Reads the header "*N\r\n" of an array reply: [N, offset of its first element]. */
function arrayHeader(r: Buffer): [number, number] {
  if (r[0] !== 42) throw new Error(`unexpected shard reply ${r.toString('latin1', 0, 40)}`);
  const nl = r.indexOf(10);
  return [Number(r.toString('latin1', 1, nl - 1)), nl + 1];
}

/** Every other element (the keys) of a flat array of bulk strings starting at off. */
function keysOf(r: Buffer, off: number, items: number): Buffer[] {
  const keys: Buffer[] = [];
  let p = off;
  for (let i = 0; i < items; i++) {
    const nl = r.indexOf(10, p);
    const len = Number(r.toString('latin1', p + 1, nl - 1));
    if (i % 2 === 0) keys.push(r.subarray(nl + 1, nl + 1 + len));
    p = nl + 1 + len + 2;
  }
  return keys;
}

/** Moves every key of the (MIGRATING) slots to host:port, in batches that may span slots of one
 * shard; resolves with how many keys were moved. */
export async function migrateSlots(server: ServerApi, slots: readonly number[], host: string, port: number, opts: SlotMigrationOptions): Promise<number> {
  const byShard = new Map<number, string[]>();
  for (const slot of slots) {
    const s = server.shardOfSlot(slot);
    let list = byShard.get(s);
    if (!list) byShard.set(s, (list = []));
    list.push(String(slot));
  }
  const peer = server.peers.get(host, port, 'slot-migration');
  let moved = 0;
  for (const [shard, slotArgs] of byShard) {
    for (;;) {
      const n = await server.withShardsLocked([shard], async (call) => {
        const r = shardOk(await call(shard, ['__slotdump', String(opts.batchKeys), ...slotArgs], 2));
        const [items, first] = arrayHeader(r);
        if (items === 0) return 0;
        const frame = Buffer.concat([Buffer.from(`*${items + 1}\r\n`), RESTOREBATCH, r.subarray(first)]);
        const ack = await peer.callEncoded(frame, opts.timeoutMs);
        if (ack[0] !== 58) {
          const text = ack.toString('latin1', 1, ack.length - 2);
          throw new ReplyError(`ERR Target instance replied with error: ${text}`);
        }
        const keys = keysOf(r, first, items);
        shardOk(await call(shard, ['del', ...keys], 2));
        return keys.length;
      });
      moved += n;
      // A short batch was the last: no key can enter a MIGRATING slot (new keys are sent to the
      // target with ASK), so these slots are empty now.
      if (n < opts.batchKeys) break;
    }
  }
  return moved;
}

export { PeerError };
