// Key choice for the load generator: uniform, or Zipfian (a few hot keys, a long tail) from a
// precomputed cumulative distribution searched in O(log n). Seeded so runs are repeatable.

/** xorshift32: fast, seedable, good enough to pick keys. Returns [0, 1). */
export function makeRandom(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

export type KeySampler = () => number;

export function uniformSampler(keys: number, random: () => number): KeySampler {
  return () => Math.floor(random() * keys);
}

/** Zipf(s) over ranks 0..keys-1 (rank 0 hottest). */
export function zipfSampler(keys: number, s: number, random: () => number): KeySampler {
  const cdf = new Float64Array(keys);
  let sum = 0;
  for (let i = 0; i < keys; i++) {
    sum += 1 / Math.pow(i + 1, s);
    cdf[i] = sum;
  }
  for (let i = 0; i < keys; i++) cdf[i]! /= sum;
  return () => {
    const u = random();
    let lo = 0;
    let hi = keys - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}
