// Checks of portable value images (see pack.ts) that arrive from outside the shard: RESTORE and
// DUMP payloads, slot-migration batches, replication records and files being loaded. A checksum
// proves the bytes are those written, not that the writer was right; a bad image is refused
// before any of it reaches the keyspace.
import { TYPE_HASH, TYPE_SET, TYPE_STRING } from './keyspace.js';
import { ENC_INTSET, intsetError, packError, readU32 } from './pack.js';

/** What is wrong with an image of a value of `type` in buf[off, +len), or null. */
export function imageError(type: number, buf: Uint8Array, off: number, len: number): string | null {
  if (type === TYPE_STRING) return null;
  let err: string | null;
  if (type === TYPE_HASH) err = packError(buf, off, len, 2);
  else if (type === TYPE_SET) err = len > 0 && buf[off] === ENC_INTSET ? intsetError(buf, off, len) : packError(buf, off, len, 1);
  else return `unknown value type ${type}`;
  if (err !== null) return err;
  // Redis never keeps an empty collection: its key is deleted with its last element.
  return readU32(buf, off + (buf[off] === ENC_INTSET ? 2 : 1)) === 0 ? 'empty collection' : null;
}
