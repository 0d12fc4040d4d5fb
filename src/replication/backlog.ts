// A shard's replication backlog: the newest bytes of its feed, in a ring of fixed size, so that a
// replica that lost its link for a moment continues from its offset instead of a full sync.

export class Backlog {
  private readonly ring: Buffer;
  /** Feed offset of the byte after the newest (the shard's replication offset). */
  end = 0;
  /** Bytes held (<= size). */
  held = 0;

  constructor(readonly size: number) {
    this.ring = Buffer.alloc(Math.max(1, size));
  }

  /** Feed offset of the oldest byte held. */
  get start(): number {
    return this.end - this.held;
  }

  append(bytes: Uint8Array): void {
    const size = this.ring.length;
    let src = bytes;
    if (src.length >= size) src = src.subarray(src.length - size);
    let at = this.end % size;
    let rest = src;
    while (rest.length > 0) {
      const n = Math.min(rest.length, size - at);
      this.ring.set(rest.subarray(0, n), at);
      rest = rest.subarray(n);
      at = (at + n) % size;
    }
    this.end += bytes.length;
    this.held = Math.min(size, this.held + bytes.length);
  }

  /** True when every byte from `offset` on is held. */
  covers(offset: number): boolean {
    return offset >= this.start && offset <= this.end;
  }

  /** A copy of the bytes from offset to the end (covers(offset) must hold). */
  readFrom(offset: number): Buffer {
    const size = this.ring.length;
    const n = this.end - offset;
    const out = Buffer.allocUnsafe(n);
    let at = offset % size;
    let done = 0;
    while (done < n) {
      const k = Math.min(n - done, size - at);
      this.ring.copy(out, done, at, at + k);
      done += k;
      at = (at + k) % size;
    }
    return out;
  }
}
