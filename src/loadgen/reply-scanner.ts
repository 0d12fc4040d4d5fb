// Counts complete RESP replies in a byte stream that arrives in arbitrary pieces, without making
// an object per reply: only what the load generator needs, which is how many replies, how many
// errors, GET hits (a bulk string) and misses (a nil), which replies were cluster redirects
// (MOVED/ASK, and for ASK the node it names), and the first error's text.
// Bytes of an incomplete reply are kept until the rest arrives; nothing else is retained.
import { valueEnd } from '../protocol/resp-value.js';

/** At most this many redirect positions are remembered per feed; the rest are only counted. */
export const REDIRECT_POSITIONS_MAX = 4096;

/**
 * The nodes that ASK replies name, interned: each distinct "host:port" is parsed once and gets an
 * index, so a redirect costs no allocation after the first one to its node. Shared by every
 * scanner of a worker. At most TARGETS_MAX entries; a further node (or an unparsable address)
 * gets -1 and its ASK is handled like a MOVED.
 */
export class RedirectTargets {
  static readonly TARGETS_MAX = 256;
  private readonly raw: Buffer[] = [];
  readonly addresses: Array<{ host: string; port: number }> = [];

  /** Index of the address in b[start..end), added when new; -1 when it cannot be added. */
  intern(b: Buffer, start: number, end: number): number {
    for (let i = 0; i < this.raw.length; i++) {
      const e = this.raw[i]!;
      if (e.length === end - start && b.compare(e, 0, e.length, start, end) === 0) return i;
    }
    if (this.raw.length >= RedirectTargets.TARGETS_MAX) return -1;
    const text = b.toString('latin1', start, end);
    const colon = text.lastIndexOf(':');
    const port = Number(text.slice(colon + 1));
    if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) return -1;
    this.raw.push(Buffer.from(text, 'latin1'));
    this.addresses.push({ host: text.slice(0, colon), port });
    return this.raw.length - 1;
  }
}

export class ReplyScanner {
  private pending: Buffer | null = null;
  /** Error replies seen so far, redirects included. */
  errors = 0;
  /** MOVED and ASK replies seen so far. */
  redirects = 0;
  /** Bulk string replies (a GET that found its key) and nil replies (one that did not). */
  hits = 0;
  misses = 0;
  firstError = '';
  /** After feed(): positions (0-based among that feed's replies) of its redirect replies
   *  (allocated at the first redirect: most runs never see one). */
  redirectAt = new Int32Array(0);
  /** After feed(): for each entry of redirectAt, the ASK target's index in `targets`, or -1 for
   *  MOVED (and for an ASK whose target could not be interned). */
  redirectTarget = new Int32Array(0);
  /** After feed(): how many entries of redirectAt are valid. */
  redirectCount = 0;

  constructor(private readonly targets: RedirectTargets | null = null) {}

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
      const type = buf[p];
      if (type === 36 /* $ */) {
        if (buf[p + 1] === 45 /* - */) this.misses++;
        else this.hits++;
      } else if (type === 95 /* _ (RESP3 null) */) {
        this.misses++;
      } else if (type === 45 /* - */ || type === 33 /* ! (RESP3 bulk error) */) {
        this.errors++;
        const kind = type === 45 ? redirectKind(buf, p + 1) : NOT_REDIRECT;
        if (kind !== NOT_REDIRECT) {
          this.redirects++;
          if (this.redirectAt.length === 0) {
            this.redirectAt = new Int32Array(REDIRECT_POSITIONS_MAX);
            this.redirectTarget = new Int32Array(REDIRECT_POSITIONS_MAX);
          }
          if (this.redirectCount < REDIRECT_POSITIONS_MAX) {
            this.redirectAt[this.redirectCount] = n;
            this.redirectTarget[this.redirectCount] = kind === ASK ? this.askTarget(buf, p + 5, end - 2) : -1;
            this.redirectCount++;
          }
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

  /** The target of "ASK <slot> <host:port>" whose text after "ASK " is b[from..to). */
  private askTarget(b: Buffer, from: number, to: number): number {
    if (this.targets === null) return -1;
    const space = b.indexOf(32, from);
    if (space < 0 || space >= to) return -1;
    return this.targets.intern(b, space + 1, to);
  }
}

const NOT_REDIRECT = 0;
const MOVED = 1;
const ASK = 2;

/** Whether the error text at `at` starts with "MOVED " or "ASK ". */
function redirectKind(b: Uint8Array, at: number): number {
  if (b[at] === 77 /* M */) return b[at + 1] === 79 && b[at + 2] === 86 && b[at + 3] === 69 && b[at + 4] === 68 && b[at + 5] === 32 ? MOVED : NOT_REDIRECT;
  return b[at] === 65 /* A */ && b[at + 1] === 83 && b[at + 2] === 75 && b[at + 3] === 32 ? ASK : NOT_REDIRECT;
}
