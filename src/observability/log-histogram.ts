// A log-linear latency histogram over nanoseconds in a plain Float64Array: values under 64 ns
// have a bucket each, above that every power of two is split into 64 equal buckets, so a bucket
// is at most 1/64 of its lower bound wide and its midpoint is within 0.8% of any value in it.
// Recording is a clz32 and an array increment; histograms of several threads merge by addition.

/** Linear sub-buckets per power of two (2^SUB_BITS). */
const SUB_BITS = 6;
const SUB = 1 << SUB_BITS;
/** Values are clamped here, as Redis clamps its histograms at 1 s. */
export const HIST_MAX_NS = 1e9;
/** Buckets per histogram: 0..63 exact, then 64 per power of two up to 2^29 (HIST_MAX_NS < 2^30). */
export const HIST_BUCKETS = (29 - SUB_BITS + 2) * SUB;

/** The bucket of a duration in nanoseconds. */
export function bucketOf(ns: number): number {
  const n = ns >= HIST_MAX_NS ? HIST_MAX_NS : ns > 0 ? ns | 0 : 0;
  if (n < SUB) return n;
  const e = 31 - Math.clz32(n);
  return ((e - SUB_BITS + 1) << SUB_BITS) + ((n >>> (e - SUB_BITS)) & (SUB - 1));
}

/** The smallest value of bucket b, ns. */
export function bucketLow(b: number): number {
  if (b < SUB) return b;
  const e = (b >>> SUB_BITS) + SUB_BITS - 1;
  return (SUB + (b & (SUB - 1))) * 2 ** (e - SUB_BITS);
}

/** How many values bucket b spans, ns. */
export function bucketWidth(b: number): number {
  return b < SUB ? 1 : 2 ** ((b >>> SUB_BITS) - 1);
}

/** Sum of the counts of histogram h (HIST_BUCKETS values from offset base). */
export function histTotal(h: Float64Array, base = 0): number {
  let n = 0;
  for (let b = 0; b < HIST_BUCKETS; b++) n += h[base + b]!;
  return n;
}

/** The value at percentile p (0..100) in ns, as the midpoint of its bucket; 0 when empty. The rank
 * is HdrHistogram's (Redis's hdr_value_at_percentile): round(p/100 * total), at least 1. */
export function valueAtPercentile(h: Float64Array, p: number, base = 0, total = histTotal(h, base)): number {
  if (total === 0) return 0;
  const rank = Math.max(1, Math.floor((p / 100) * total + 0.5));
  let acc = 0;
  for (let b = 0; b < HIST_BUCKETS; b++) {
    acc += h[base + b]!;
    if (acc >= rank) return bucketLow(b) + (bucketWidth(b) - 1) / 2;
  }
  return bucketLow(HIST_BUCKETS - 1);
}

/** Count of values below `ns` (a bucket boundary counts whole when it starts below ns). */
export function countBelow(h: Float64Array, ns: number, base = 0): number {
  let acc = 0;
  for (let b = 0; b < HIST_BUCKETS && bucketLow(b) + bucketWidth(b) <= ns; b++) acc += h[base + b]!;
  return acc;
}

/** LATENCY HISTOGRAM's buckets (Redis 7.0 fillCommandCDF): cumulative counts at the powers of two
 * from 1024 ns, each named by its HdrHistogram highest equivalent value in microseconds (1, 2, 4,
 * 8, 16, 33, 66, ...), listed only where the count grew. Returns [usec, cumulative] pairs. */
export function powerOfTwoCdf(h: Float64Array, base = 0): Array<[number, number]> {
  const total = histTotal(h, base);
  const out: Array<[number, number]> = [];
  let acc = 0;
  let b = 0;
  let prev = 0;
  for (let level = 1024; prev < total && level <= 2 ** 31; level *= 2) {
    // Values up to and including the bucket that starts at `level` (as the HDR iterator does).
    while (b < HIST_BUCKETS && bucketLow(b) <= level) acc += h[base + b++]!;
    if (acc > prev) {
      // HdrHistogram with 2 significant digits: a power of two >= 256 spans level/128 values.
      out.push([Math.floor((level + level / 128 - 1) / 1000), acc]);
      prev = acc;
    }
  }
  return out;
}
