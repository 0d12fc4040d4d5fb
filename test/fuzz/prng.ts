// The fuzzer's one source of randomness: a seeded PRNG (mulberry32, as the keyspace tests and the
// cluster simulation use), so that every input of a run is replayable from (seed, input index).
// Invariant: nothing in test/fuzz/ calls Math.random; an input depends only on its own seed.

import { rng } from '../keyspace/helpers.js';

export class Prng {
  private readonly u: () => number;

  constructor(readonly seed: number) {
    this.u = rng(seed);
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.u() * n);
  }

  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.u() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** A length skewed towards small values (most inputs are short; some are not). */
  len(max: number): number {
    const r = this.u();
    if (r < 0.6) return this.int(Math.min(max, 16) + 1);
    if (r < 0.9) return this.int(Math.min(max, 256) + 1);
    return this.int(max + 1);
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i += 4) {
      const x = (this.u() * 4294967296) >>> 0;
      b[i] = x;
      if (i + 1 < n) b[i + 1] = x >>> 8;
      if (i + 2 < n) b[i + 2] = x >>> 16;
      if (i + 3 < n) b[i + 3] = x >>> 24;
    }
    return b;
  }

  /** Printable ASCII without spaces (keys that every protocol accepts), as latin1 bytes. */
  wordBytes(n: number): Buffer {
    const b = this.bytes(n);
    for (let i = 0; i < n; i++) b[i] = 33 + (b[i]! % 94);
    return b;
  }

  word(n: number): string {
    return this.wordBytes(n).toString('latin1');
  }
}

/** The seed of input `i` of a run seeded `seed` (so one input replays without its predecessors). */
export function inputSeed(seed: number, i: number): number {
  let h = (seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Cuts `b` at random byte boundaries: whole, every byte (short inputs), or at a few random
 * points (the number of pieces, not their size, is what is drawn, so long inputs stay cheap). */
export function splitRandomly(r: Prng, b: Buffer): Buffer[] {
  if (b.length <= 1) return [b];
  const mode = r.int(8);
  if (mode === 0) return [b];
  if (mode === 1 && b.length <= 256) return [...b].map((x) => Buffer.from([x]));
  const cuts = new Set<number>();
  const n = 1 + r.len(24);
  for (let i = 0; i < n; i++) cuts.add(1 + r.int(b.length - 1));
  const sorted = [...cuts].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let p = 0;
  for (const c of sorted) {
    out.push(b.subarray(p, c));
    p = c;
  }
  out.push(b.subarray(p));
  return out;
}

/** Tokens that sit on the edges of the parsers' arithmetic: lengths, signs, terminators. */
export const EDGE_TOKENS = [
  '\r\n', '\r', '\n', '\0', '*', '$', '-', '+', ':', '"', "'", '\\', ' ', '\t',
  '0', '-1', '-2', '1', '2147483647', '2147483648', '4294967295', '4294967296', '9007199254740993',
  '9223372036854775807', '9223372036854775808', '-9223372036854775808', '18446744073709551615',
  '18446744073709551616', '99999999999999999999999', '536870912', '536870913', '1073741824', '0x10',
  '1e3', ' 1', '+1', '00', '\\x', '\\x4', '\\xzz', '"\\', "'\\'",
].map((s) => Buffer.from(s, 'latin1'));

/** One random damage to `b`: flips, inserts, deletes, duplicates, truncates or splices edge tokens. */
export function mutate(r: Prng, b: Buffer): Buffer {
  const n = 1 + r.int(4);
  let out = b;
  for (let k = 0; k < n; k++) {
    const at = out.length === 0 ? 0 : r.int(out.length + 1);
    switch (r.int(7)) {
      case 0: {
        if (out.length === 0) break;
        const c = Buffer.from(out);
        const i = Math.min(at, c.length - 1);
        c[i] = c[i]! ^ (1 << r.int(8));
        out = c;
        break;
      }
      case 1:
        out = Buffer.concat([out.subarray(0, at), r.bytes(1 + r.int(4)), out.subarray(at)]);
        break;
      case 2:
        out = Buffer.concat([out.subarray(0, at), out.subarray(Math.min(out.length, at + 1 + r.int(8)))]);
        break;
      case 3: {
        const len = r.int(Math.min(64, out.length - at) + 1);
        const piece = out.subarray(at, at + len);
        out = Buffer.concat([out.subarray(0, at), piece, piece, out.subarray(at + len)]);
        break;
      }
      case 4:
        out = out.subarray(0, at);
        break;
      default: {
        // Replace a run of digits (a length) or insert an edge token.
        const tok = r.pick(EDGE_TOKENS);
        let end = at;
        while (end < out.length && out[end]! >= 48 && out[end]! <= 57) end++;
        out = Buffer.concat([out.subarray(0, at), tok, out.subarray(end)]);
      }
    }
  }
  return out;
}
