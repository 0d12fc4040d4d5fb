// Counts complete RESP replies in a byte stream that arrives in arbitrary pieces, without making
// an object per reply: only what the load generator needs, which is how many replies, how many
// errors, which of them were cluster redirects (MOVED/ASK), and the first error's text.
// Bytes of an incomplete reply are kept until the rest arrives; nothing else is retained.
import { valueEnd } from '../protocol/resp-value.js';

/** At most this many redirect positions are remembered per feed; the rest are only counted. */
export const REDIRECT_POSITIONS_MAX = 4096;

export class ReplyScanner {
  private pending: Buffer | null = null;
  /** Error replies seen so far, redirects included. */
  errors = 0;
  /** MOVED and ASK replies seen so far. */
  redirects = 0;
  firstError = '';
  /** After feed(): positions (0-based among that feed's replies) of its redirect replies
   *  (allocated at the first redirect: most runs never see one). */
  redirectAt = new Int32Array(0);
  /** After feed(): how many entries of redirectAt are valid. */
  redirectCount = 0;

  /** Feeds received bytes; returns how many replies they completed. */
  feed(chunk: Buffer): number {
    let buf = chunk;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    let p = 0;
    let n = 0;
    this.redirectCount = 0;
    for (;;) {
      const end = valueEnd(buf, p);
      if (end < 0) break;
      if (buf[p] === 45 /* - */ || buf[p] === 33 /* ! (RESP3 bulk error) */) {
        this.errors++;
        if (buf[p] === 45 && isRedirect(buf, p + 1)) {
          this.redirects++;
          if (this.redirectAt.length === 0) this.redirectAt = new Int32Array(REDIRECT_POSITIONS_MAX);
          if (this.redirectCount < REDIRECT_POSITIONS_MAX) this.redirectAt[this.redirectCount++] = n;
        } else if (this.firstError === '') {
          this.firstError = buf.toString('latin1', p + 1, end - 2);
        }
      }
      p = end;
      n++;
    }
    if (p < buf.length) this.pending = Buffer.from(buf.subarray(p));
    return n;
  }
}

/** Whether the error text at `at` starts with "MOVED " or "ASK ". */
function isRedirect(b: Uint8Array, at: number): boolean {
  if (b[at] === 77 /* M */) return b[at + 1] === 79 && b[at + 2] === 86 && b[at + 3] === 69 && b[at + 4] === 68 && b[at + 5] === 32;
  return b[at] === 65 /* A */ && b[at + 1] === 83 && b[at + 2] === 75 && b[at + 3] === 32;
}
