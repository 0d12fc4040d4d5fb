// Replies in request order for one connection, whichever order they arrive in: the next one
// expected goes straight into the output writer (with any that were waiting right behind it);
// an early one is copied aside until its turn. Shared by the RESP and memcached connections.
// Pub/sub pushes that must follow a reply not written yet wait here too, in arrival order.
// Early replies that come in increasing sequence (the usual case: a pipelined transaction's +OK and
// +QUEUED behind the EXEC before it) are appended to one reused spill buffer, with no allocation;
// any other early reply is parked in a map. A sequence number is in at most one of the two.

import type { RespWriter } from '../protocol/resp-writer.js';

const EMPTY = Buffer.alloc(0);
/** Spill bytes and entries kept once the spill empties (a larger spill is given back). */
const SPILL_KEEP_BYTES = 64 * 1024;
const SPILL_KEEP_ENTRIES = 1024;

export class ReplyOrder {
  /** Sequence number of the next reply to write. */
  headSeq = 0;
  private readonly parked = new Map<number, Buffer>();
  /** Pushes waiting for reply `after` to be written (arrival order, so `after` never decreases). */
  private readonly pushes: Array<{ after: number; frame: Uint8Array }> = [];
  private pushesHead = 0;
  private pushedBytes = 0;

  // The spill: entries head..count-1 hold replies seq[i] (strictly increasing) in bytes
  // start[i]..end[i] of spill (in entry order, so consecutive entries are usually contiguous).
  private spill = new Uint8Array(1024);
  private spillBytes = 0;
  private spillSeq = new Int32Array(64);
  private spillStart = new Int32Array(64);
  private spillEnd = new Int32Array(64);
  private spillHead = 0;
  private spillCount = 0;
  /** Bytes of the entries not yet written. */
  private spillPending = 0;

  /** Takes reply `seq`; true when it (and possibly more) went into `out`, false when parked. */
  put(seq: number, buf: Uint8Array, off: number, len: number, out: RespWriter): boolean {
    if (seq !== this.headSeq) {
      if (this.spillHead === this.spillCount || seq > this.spillSeq[this.spillCount - 1]!) this.spillAppend(seq, buf, off, len);
      else this.parked.set(seq, Buffer.from(buf.subarray(off, off + len)));
      return false;
    }
    if (len > 0) out.raw(buf, off, len);
    this.headSeq++;
    if (this.pushes.length > this.pushesHead) this.releasePushes(out);
    while (this.spillHead < this.spillCount || this.parked.size > 0) {
      if (this.spillHead < this.spillCount && this.spillSeq[this.spillHead] === this.headSeq) {
        this.spillRelease(out);
        continue;
      }
      if (this.parked.size === 0) break;
      const next = this.parked.get(this.headSeq);
      if (!next) break;
      this.parked.delete(this.headSeq);
      out.raw(next, 0, next.length);
      this.headSeq++;
      if (this.pushes.length > this.pushesHead) this.releasePushes(out);
    }
    return true;
  }

  /** Copies early reply `seq` (greater than every spilled one) to the end of the spill. */
  private spillAppend(seq: number, buf: Uint8Array, off: number, len: number): void {
    if (this.spillCount === this.spillSeq.length || this.spillBytes + len > this.spill.length) this.spillRoom(len);
    const s = this.spill;
    const p = this.spillBytes;
    if (len <= 64) for (let i = 0; i < len; i++) s[p + i] = buf[off + i]!;
    else s.set(buf.subarray(off, off + len), p);
    const n = this.spillCount++;
    this.spillSeq[n] = seq;
    this.spillStart[n] = p;
    this.spillEnd[n] = p + len;
    this.spillBytes = p + len;
    this.spillPending += len;
  }

  /** Room for one more entry of `len` bytes: the pending entries move to the front, and the
   * arrays grow only when that is not enough. */
  private spillRoom(len: number): void {
    const head = this.spillHead;
    const live = this.spillCount - head;
    const from = live > 0 ? this.spillStart[head]! : this.spillBytes;
    const liveBytes = this.spillBytes - from;
    let s = this.spill;
    if (liveBytes + len > s.length / 2) s = new Uint8Array(Math.max(s.length * 2, liveBytes + len));
    s.set(this.spill.subarray(from, this.spillBytes), 0);
    this.spill = s;
    this.spillBytes = liveBytes;
    let seqs = this.spillSeq;
    let starts = this.spillStart;
    let ends = this.spillEnd;
    if (live + 1 > seqs.length / 2) {
      seqs = new Int32Array(seqs.length * 2);
      starts = new Int32Array(seqs.length);
      ends = new Int32Array(seqs.length);
    }
    for (let i = 0; i < live; i++) {
      seqs[i] = this.spillSeq[head + i]!;
      starts[i] = this.spillStart[head + i]! - from;
      ends[i] = this.spillEnd[head + i]! - from;
    }
    this.spillSeq = seqs;
    this.spillStart = starts;
    this.spillEnd = ends;
    this.spillHead = 0;
    this.spillCount = live;
  }

  /** Writes the spilled reply at the head of the spill (its turn has come) and, while no push
   * waits, every one right behind it in sequence, in one copy when their bytes are contiguous. */
  private spillRelease(out: RespWriter): void {
    const seqs = this.spillSeq;
    let i = this.spillHead;
    const from = this.spillStart[i]!;
    let to = this.spillEnd[i]!;
    let seq = seqs[i]!;
    i++;
    if (this.pushes.length === this.pushesHead) {
      while (i < this.spillCount && seqs[i] === seq + 1 && this.spillStart[i] === to) {
        to = this.spillEnd[i]!;
        seq++;
        i++;
      }
    }
    if (to > from) out.raw(this.spill, from, to - from);
    this.spillPending -= to - from;
    this.spillHead = i;
    this.headSeq = seq + 1;
    if (i === this.spillCount) this.spillReset();
    if (this.pushes.length > this.pushesHead) this.releasePushes(out);
  }

  private spillReset(): void {
    this.spillHead = 0;
    this.spillCount = 0;
    this.spillBytes = 0;
    this.spillPending = 0;
    if (this.spill.length > SPILL_KEEP_BYTES) this.spill = new Uint8Array(1024);
    if (this.spillSeq.length > SPILL_KEEP_ENTRIES) {
      this.spillSeq = new Int32Array(64);
      this.spillStart = new Int32Array(64);
      this.spillEnd = new Int32Array(64);
    }
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
    for (let i = this.spillHead; i < this.spillCount; i++) {
      if (this.spillSeq[i] !== seq) continue;
      this.spillPending -= this.spillEnd[i]! - this.spillStart[i]!;
      this.spillEnd[i] = this.spillStart[i]!;
      return true;
    }
    if (!this.parked.has(seq)) return false;
    this.parked.set(seq, EMPTY);
    return true;
  }

  /** Bytes waiting for an earlier reply. */
  parkedBytes(): number {
    let n = this.pushedBytes + this.spillPending;
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
    this.spillReset();
  }
}
