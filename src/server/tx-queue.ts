// A connection's queued MULTI commands, kept as the `__exec` frame they travel in to a shard:
// `__exec id (cmd argc arg...)...`, the watch epoch appended at EXEC. Reused from one transaction to
// the next, so queueing allocates nothing in the steady state; a buffer grown past
// KEEP_BYTES_MAX by a large transaction is given back when the next one begins.

import type { ArgList } from '../core/types.js';

const EXEC_NAME = Buffer.from('__exec', 'latin1');
/** Bytes of frame kept between transactions. */
const KEEP_BYTES_MAX = 64 * 1024;

export class TxQueue {
  private buf = new Uint8Array(512);
  private off = new Int32Array(32);
  private len = new Int32Array(32);
  private argc = 0;
  private bytes = 0;
  /** Per queued command: its table index, the frame argument holding its name, where it runs. */
  private cmdIdx = new Int32Array(8);
  private cmdAt = new Int32Array(8);
  private cmdShard = new Int32Array(8);
  count = 0;
  private readonly frame: ArgList = { buf: this.buf, off: this.off, len: this.len, argc: 0 };

  /** Empties the queue for a new transaction of client `id`. */
  begin(id: number): void {
    if (this.buf.length > KEEP_BYTES_MAX) {
      this.buf = new Uint8Array(512);
      this.off = new Int32Array(32);
      this.len = new Int32Array(32);
      this.cmdIdx = new Int32Array(8);
      this.cmdAt = new Int32Array(8);
      this.cmdShard = new Int32Array(8);
    }
    this.argc = 0;
    this.bytes = 0;
    this.count = 0;
    this.push(EXEC_NAME, 0, EXEC_NAME.length);
    this.pushNumber(id);
  }

  /** Queues command `idx` with arguments `a` (copied), to run on `shard`. */
  add(idx: number, a: ArgList, shard: number): void {
    if (this.count === this.cmdIdx.length) {
      this.cmdIdx = grow(this.cmdIdx);
      this.cmdAt = grow(this.cmdAt);
      this.cmdShard = grow(this.cmdShard);
    }
    this.cmdIdx[this.count] = idx;
    this.cmdShard[this.count] = shard;
    this.pushNumber(idx);
    this.pushNumber(a.argc);
    this.cmdAt[this.count++] = this.argc;
    for (let i = 0; i < a.argc; i++) this.push(a.buf, a.off[i]!, a.len[i]!);
  }

  /** Bytes of the queued commands' frame (CLIENT LIST multi-mem). */
  get queuedBytes(): number {
    return this.bytes;
  }

  idx(i: number): number {
    return this.cmdIdx[i]!;
  }

  shard(i: number): number {
    return this.cmdShard[i]!;
  }

  /** Command i's arguments: views into the frame, valid until the queue next changes. */
  args(i: number): ArgList {
    const at = this.cmdAt[i]!;
    const argc = this.argcOf(i);
    return { buf: this.buf, off: this.off.subarray(at, at + argc), len: this.len.subarray(at, at + argc), argc };
  }

  private argcOf(i: number): number {
    const next = i + 1 < this.count ? this.cmdAt[i + 1]! - 2 : this.argc;
    return next - this.cmdAt[i]!;
  }

  /** The `__exec` frame with `epoch` appended (valid until the queue next changes). */
  finish(epoch: number): ArgList {
    this.pushNumber(epoch);
    const f = this.frame;
    f.buf = this.buf;
    f.off = this.off;
    f.len = this.len;
    f.argc = this.argc;
    return f;
  }

  private push(src: Uint8Array, so: number, sl: number): void {
    this.room(sl);
    const buf = this.buf;
    const p = this.bytes;
    if (sl <= 32) for (let k = 0; k < sl; k++) buf[p + k] = src[so + k]!;
    else buf.set(src.subarray(so, so + sl), p);
    this.off[this.argc] = p;
    this.len[this.argc++] = sl;
    this.bytes = p + sl;
  }

  /** A non-negative integer as ASCII digits, one argument. */
  private pushNumber(n: number): void {
    let digits = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
    this.room(digits);
    const buf = this.buf;
    const p = this.bytes;
    for (let k = digits - 1, x = n; k >= 0; k--, x = Math.floor(x / 10)) buf[p + k] = 48 + (x % 10);
    this.off[this.argc] = p;
    this.len[this.argc++] = digits;
    this.bytes = p + digits;
  }

  private room(n: number): void {
    if (this.argc === this.off.length) {
      this.off = grow(this.off);
      this.len = grow(this.len);
    }
    if (this.bytes + n > this.buf.length) {
      const b = new Uint8Array(Math.max(this.buf.length * 2, this.bytes + n));
      b.set(this.buf.subarray(0, this.bytes));
      this.buf = b;
    }
  }
}

function grow(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}
