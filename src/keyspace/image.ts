// Checks of portable value images (see pack.ts) that arrive from outside the shard: RESTORE and
// DUMP payloads, slot-migration batches, replication records and files being loaded. A checksum
// proves the bytes are those written, not that the writer was right; a bad image is refused
// before any of it reaches the keyspace.
import { VALUE_TYPES } from './value-kinds.js';

/** What is wrong with an image of a value of `type` in buf[off, +len), or null. */
export function imageError(type: number, buf: Uint8Array, off: number, len: number): string | null {
  const entry = VALUE_TYPES[type];
  if (entry === undefined) return `unknown value type ${type}`;
  return entry.check === null ? null : entry.check(buf, off, len);
}
