// Replies in request order for one connection, whichever order they arrive in: the next one
// expected goes straight into the output writer (with any that were waiting right behind it);
// an early one is copied aside until its turn. Shared by the RESP and memcached connections.

import type { RespWriter } from '../protocol/resp-writer.js';

const EMPTY = Buffer.alloc(0);

export class ReplyOrder {
  /** Sequence number of the next reply to write. */
  headSeq = 0;
  private readonly parked = new Map<number, Buffer>();

  /** Takes reply `seq`; true when it (and possibly more) went into `out`, false when parked. */
  put(seq: number, buf: Uint8Array, off: number, len: number, out: RespWriter): boolean {
    if (seq !== this.headSeq) {
      this.parked.set(seq, Buffer.from(buf.subarray(off, off + len)));
      return false;
    }
    if (len > 0) out.raw(buf, off, len);
    this.headSeq++;
    while (this.parked.size > 0) {
      const next = this.parked.get(this.headSeq);
      if (!next) break;
      this.parked.delete(this.headSeq);
      out.raw(next, 0, next.length);
      this.headSeq++;
    }
    return true;
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
    let n = 0;
    for (const b of this.parked.values()) n += b.length;
    return n;
  }

  clear(): void {
    this.parked.clear();
  }
}
