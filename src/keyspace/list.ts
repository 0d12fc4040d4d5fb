// TEMPORARY stub of the list value module's contract (/work/notes/contracts15.md), so that the
// sort family type-checks before branch list-value lands; replaced by that branch's file on merge.
import type { Keyspace } from './keyspace.js';

export let hitBuf: Uint8Array = new Uint8Array(0);
export let hitOff = 0;
export let hitLen = 0;
export let count = 0;
export const HEAD = 0;
export const TAIL = 1;

function missing(): never {
  throw new Error('list values are not merged yet');
}
export function listCreate(_ks: Keyspace, _kb: Uint8Array, _ko: number, _kl: number): number {
  return missing();
}
export function listLength(_ks: Keyspace, _e: number): number {
  return missing();
}
export function listPush(_ks: Keyspace, _e: number, _where: 0 | 1, _buf: Uint8Array, _off: number, _len: number): number {
  return missing();
}
export function listRange(
  _ks: Keyspace, _e: number, _start: number, _stop: number, _reverse: boolean,
  _visit: (buf: Uint8Array, off: number, len: number, index: number) => boolean,
): void {
  missing();
}
