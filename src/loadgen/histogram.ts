// A log-linear latency histogram in the manner of HdrHistogram: microsecond values, exact below
// 64 us, then 32 linear sub-buckets per power of two (under 3.2% relative error), counts in one
// Float64Array so that threads can ship and merge them cheaply. Values past 2^40 us are clamped.

const LINEAR = 64;
const SUB = 32;
const MAX_MAGNITUDE = 40;
export const HISTOGRAM_BUCKETS = LINEAR + (MAX_MAGNITUDE - 5) * SUB;

function bucketOf(us: number): number {
  const v = Math.max(0, Math.floor(us));
  if (v < LINEAR) return v;
  const m = Math.min(MAX_MAGNITUDE - 1, Math.floor(Math.log2(v)));
  const width = 2 ** (m - 5);
  const sub = Math.min(SUB - 1, Math.floor(v / width) - SUB);
  return LINEAR + (m - 6) * SUB + sub;
}

/** The highest value (us) a bucket holds: what percentiles report, as HdrHistogram does. */
function bucketTop(b: number): number {
  if (b < LINEAR) return b;
  const m = Math.floor((b - LINEAR) / SUB) + 6;
  const sub = (b - LINEAR) % SUB;
  return (sub + SUB + 1) * 2 ** (m - 5) - 1;
}

export class Histogram {
  readonly counts: Float64Array;
  total = 0;
  maxUs = 0;

  constructor(counts?: Float64Array) {
    this.counts = counts ?? new Float64Array(HISTOGRAM_BUCKETS);
    if (counts) for (const c of counts) this.total += c;
  }

  record(us: number): void {
    this.counts[bucketOf(us)]!++;
    this.total++;
    if (us > this.maxUs) this.maxUs = us;
  }

  add(other: Histogram): void {
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.total += other.total;
    if (other.maxUs > this.maxUs) this.maxUs = other.maxUs;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.maxUs = 0;
  }

  /** The value (us) at or below which `p` percent of the recordings fall; 0 when empty. */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    if (p >= 100) return this.maxUs;
    const want = Math.ceil((p / 100) * this.total);
    let seen = 0;
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= want) return Math.min(bucketTop(i), this.maxUs);
    }
    return this.maxUs;
  }
}
