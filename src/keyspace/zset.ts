// TEMPORARY stub of the sorted-set value module's contract (/work/notes/contracts15.md), so that
// the sort family type-checks before branch zset-value lands; replaced by that branch's file.
import type { Keyspace } from './keyspace.js';

function missing(): never {
  throw new Error('sorted set values are not merged yet');
}
export function zsetCount(_ks: Keyspace, _e: number): number {
  return missing();
}
export function zsetRange(
  _ks: Keyspace, _e: number, _start: number, _stop: number, _reverse: boolean,
  _visit: (buf: Uint8Array, off: number, len: number, score: number) => boolean,
): void {
  missing();
}
