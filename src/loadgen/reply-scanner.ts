// Counts complete RESP replies in a byte stream that arrives in arbitrary pieces, without making
// an object per reply. Only what the load generator needs: how many replies, how many errors,
// and the first error text (to show the user).

export class ReplyScanner {
  private pending: Buffer | null = null;
  errors = 0;
  firstError = '';

  /** Feeds received bytes; returns how many replies they completed. */
  feed(chunk: Buffer): number {
    let buf = chunk;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    let p = 0;
    let n = 0;
    for (;;) {
      const end = valueEnd(buf, p);
      if (end < 0) break;
      if (buf[p] === 45) {
        this.errors++;
        if (this.firstError === '') this.firstError = buf.toString('latin1', p + 1, end - 2);
      }
      p = end;
      n++;
    }
    if (p < buf.length) this.pending = Buffer.from(buf.subarray(p));
    return n;
  }
}

/** End of the complete RESP value at off, or -1 when it is not all there yet. */
export function valueEnd(b: Uint8Array, off: number): number {
  if (off >= b.length) return -1;
  let p = off + 1;
  while (p < b.length && b[p] !== 13) p++;
  if (p + 1 >= b.length) return -1;
  const lineEnd = p + 2;
  const type = b[off];
  if (type === 36 || type === 42 || type === 37 || type === 126 || type === 61) {
    let n = 0;
    let neg = false;
    for (let i = off + 1; i < p; i++) {
      if (b[i] === 45) neg = true;
      else n = n * 10 + (b[i]! - 48);
    }
    if (neg) return lineEnd;
    if (type === 36 || type === 61) return lineEnd + n + 2 <= b.length ? lineEnd + n + 2 : -1;
    let q = lineEnd;
    const items = type === 37 ? 2 * n : n;
    for (let i = 0; i < items; i++) {
      q = valueEnd(b, q);
      if (q < 0) return -1;
    }
    return q;
  }
  return lineEnd;
}
