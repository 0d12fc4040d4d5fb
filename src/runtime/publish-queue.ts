// Messages a shard publishes (ShardContext.publish, keyspace notifications), queued as records in
// one reusable byte buffer until the current command's reply has left: then they travel to the
// main thread (REPLY_PUBLISH frames, or directly for an inline shard), which hands them to pub/sub.
// Record: mode u32, channel length u32, message length u32, channel bytes, message bytes.
// Bound: the buffer holds one command's messages (what that command did), then is emptied.

export const PUB_RECORD_HEADER = 12;

/** Where a shard's published messages go on the main thread. 0 = local delivery (keyspace
 * notifications), 1 = PUBLISH (propagates in a cluster), 2 = SPUBLISH, 3 = not a message: a
 * script's redis.call denied by ACL (PUBLISH_ACL_DENIAL). The views are valid only during the call. */
export type PublishMode = 0 | 1 | 2 | 3;
/** A record for ACL LOG (commands/script-acl.ts): channel = the denied object, message = the
 * reason (one byte, ACL_REASON_*). It follows the reply of the script whose call was denied, so
 * the main thread logs it for the client that reply went to. */
export const PUBLISH_ACL_DENIAL = 3;

export class PublishQueue {
  bytes: Uint8Array = new Uint8Array(4096);
  /** A DataView of `bytes` (replaced with it when the buffer grows). */
  view = new DataView(this.bytes.buffer);
  /** Bytes of queued records. */
  length = 0;

  /** Appends one record whose channel is `chA` + `chB[bOff, bOff+bLen)` and whose message is
   * `msg[mOff, mOff+mLen)` (two channel parts: a keyspace notification's prefix and key). */
  push(mode: PublishMode, chA: Uint8Array, chB: Uint8Array, bOff: number, bLen: number, msg: Uint8Array, mOff: number, mLen: number): void {
    const chLen = chA.length + bLen;
    const need = PUB_RECORD_HEADER + chLen + mLen;
    this.ensure(need);
    const p = this.length;
    const dv = this.view;
    dv.setUint32(p, mode, true);
    dv.setUint32(p + 4, chLen, true);
    dv.setUint32(p + 8, mLen, true);
    const b = this.bytes;
    let q = p + PUB_RECORD_HEADER;
    b.set(chA, q);
    q += chA.length;
    copy(b, q, chB, bOff, bLen);
    q += bLen;
    copy(b, q, msg, mOff, mLen);
    this.length = p + need;
  }

  clear(): void {
    this.length = 0;
  }

  private ensure(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    let cap = this.bytes.length * 2;
    while (cap < this.length + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.bytes.subarray(0, this.length));
    this.bytes = b;
    this.view = new DataView(b.buffer);
  }
}

function copy(dst: Uint8Array, at: number, src: Uint8Array, off: number, len: number): void {
  if (len < 32) {
    for (let i = 0; i < len; i++) dst[at + i] = src[off + i]!;
  } else {
    dst.set(src.subarray(off, off + len), at);
  }
}

/** Length of the record at `p` in `buf` (its header included). */
export function recordLength(dv: DataView, p: number): number {
  return PUB_RECORD_HEADER + dv.getUint32(p + 4, true) + dv.getUint32(p + 8, true);
}

/** Hands each record of `buf[off, off+len)` to `deliver`, in order. */
export function forEachRecord(buf: Uint8Array, off: number, len: number, deliver: (channel: Uint8Array, message: Uint8Array, mode: PublishMode) => void): void {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const end = off + len;
  let p = off;
  while (p + PUB_RECORD_HEADER <= end) {
    const mode = dv.getUint32(p, true);
    const cl = dv.getUint32(p + 4, true);
    const ml = dv.getUint32(p + 8, true);
    const c0 = p + PUB_RECORD_HEADER;
    deliver(buf.subarray(c0, c0 + cl), buf.subarray(c0 + cl, c0 + cl + ml), (mode === 1 ? 1 : mode === 2 ? 2 : mode === PUBLISH_ACL_DENIAL ? PUBLISH_ACL_DENIAL : 0));
    p = c0 + cl + ml;
  }
}
