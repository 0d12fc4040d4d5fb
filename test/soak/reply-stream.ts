// A streaming reader of the RESP2 replies the soak's commands get (+simple, -error, :integer,
// $bulk, *array of those): bytes in as they arrive, one callback per complete reply, in order.
// Holds at most one partial reply (bounded by the largest bulk the soak asks for).

export type SoakReply =
  | { kind: 'simple'; text: string }
  | { kind: 'error'; text: string }
  | { kind: 'integer'; value: number }
  | { kind: 'bulk'; value: Buffer | null }
  | { kind: 'array'; count: number };

const CR = 13;

export class ReplyStream {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly onReply: (r: SoakReply) => void) {}

  feed(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let p = 0;
    const b = this.buf;
    for (;;) {
      if (p >= b.length) break;
      const eol = b.indexOf(CR, p);
      if (eol < 0 || eol + 1 >= b.length) break;
      const type = b[p];
      const line = b.toString('latin1', p + 1, eol);
      const next = eol + 2;
      if (type === 0x24 /* $ */) {
        const n = Number(line);
        if (n < 0) {
          p = next;
          this.emit({ kind: 'bulk', value: null });
          continue;
        }
        if (b.length < next + n + 2) break;
        p = next + n + 2;
        this.emit({ kind: 'bulk', value: b.subarray(next, next + n) });
        continue;
      }
      p = next;
      if (type === 0x2b) this.emit({ kind: 'simple', text: line });
      else if (type === 0x2d) this.emit({ kind: 'error', text: line });
      else if (type === 0x3a) this.emit({ kind: 'integer', value: Number(line) });
      else if (type === 0x2a) this.emit({ kind: 'array', count: Number(line) });
      else throw new Error(`soak: unexpected reply byte ${type} in ${JSON.stringify(b.toString('latin1', p - line.length - 3, p + 40))}`);
    }
    // Keep only the unread tail (a copy, so that the chunk it came from can be collected).
    this.buf = p === b.length ? Buffer.alloc(0) : Buffer.from(b.subarray(p));
  }

  /** Bytes held of a reply not yet complete. */
  pendingBytes(): number {
    return this.buf.length;
  }

  private emit(r: SoakReply): void {
    this.onReply(r);
  }
}
