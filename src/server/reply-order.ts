// Replies in request order for one connection, whichever order they arrive in: the next one
// expected goes straight into the output writer (with any that were waiting right behind it);
// an early one is copied aside until its turn. Shared by the RESP and memcached connections.
// Pub/sub pushes that must follow a reply not written yet wait here too, in arrival order.

import type { RespWriter } from '../protocol/resp-writer.js';

const EMPTY = Buffer.alloc(0);

export class ReplyOrder {
  /** Sequence number of the next reply to write. */
  headSeq = 0;
  private readonly parked = new Map<number, Buffer>();
  /** Pushes waiting for reply `after` to be written (arrival order, so `after` never decreases). */
  private readonly pushes: Array<{ after: number; frame: Uint8Array }> = [];
  private pushesHead = 0;
  private pushedBytes = 0;

  /** Takes reply `seq`; true when it (and possibly more) went into `out`, false when parked. */
  put(seq: number, buf: Uint8Array, off: number, len: number, out: RespWriter): boolean {
    if (seq !== this.headSeq) {
      this.parked.set(seq, Buffer.from(buf.subarray(off, off + len)));
      return false;
    }
    if (len > 0) out.raw(buf, off, len);
    this.headSeq++;
    if (this.pushes.length > this.pushesHead) this.releasePushes(out);
    while (this.parked.size > 0) {
      const next = this.parked.get(this.headSeq);
      if (!next) break;
      this.parked.delete(this.headSeq);
      out.raw(next, 0, next.length);
      this.headSeq++;
      if (this.pushes.length > this.pushesHead) this.releasePushes(out);
    }
    return true;
  }

  /** Keeps a push until reply `after` is written (the caller checked it is not yet). A frame of
   * `shareMinBytes` or more is kept by reference, a smaller one copied. */
  pushAfter(after: number, frame: Uint8Array, shareMinBytes: number): void {
    this.pushes.push({ after, frame: frame.length >= shareMinBytes ? frame : Buffer.from(frame) });
    this.pushedBytes += frame.length;
  }

  /** Writes the waiting pushes whose reply has been written. */
  private releasePushes(out: RespWriter): void {
    const q = this.pushes;
    while (this.pushesHead < q.length && q[this.pushesHead]!.after < this.headSeq) {
      const f = q[this.pushesHead++]!.frame;
      this.pushedBytes -= f.length;
      out.raw(f, 0, f.length);
    }
    if (this.pushesHead === q.length) {
      q.length = 0;
      this.pushesHead = 0;
    }
  }

  /** Empties reply `seq` if it is parked (its turn then writes nothing); false when it is not
   * parked (not arrived yet, or written already). */
  emptyParked(seq: number): boolean {
    if (!this.parked.has(seq)) return false;
    this.parked.set(seq, EMPTY);
    return true;
  }

  /** Bytes waiting for an earlier reply. */
  parkedBytes(): number {
    let n = this.pushedBytes;
    // Asked at every push to a subscriber: no iterator when nothing is parked (the usual case).
    if (this.parked.size === 0) return n;
    for (const b of this.parked.values()) n += b.length;
    return n;
  }

  clear(): void {
    this.parked.clear();
    this.pushes.length = 0;
    this.pushesHead = 0;
    this.pushedBytes = 0;
  }
}
