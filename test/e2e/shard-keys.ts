// Which shard of a multi-shard server owns a key (the server's table: contiguous slot ranges per
// shard), and keys chosen to land on a given shard, for tests of commands that cross shards.
import { keySlot, shardOfSlot } from '../../src/keyspace/slot.js';

/** The shard owning `key` in a server with `shards` shards. */
export function shardOf(key: string, shards: number): number {
  const b = Buffer.from(key);
  return shardOfSlot(keySlot(b, 0, b.length), shards);
}

/** The first key `${prefix}${i}` that lives on shard s of `shards`. */
export function keyOn(s: number, shards: number, prefix: string): string {
  for (let i = 0; ; i++) if (shardOf(`${prefix}${i}`, shards) === s) return `${prefix}${i}`;
}
