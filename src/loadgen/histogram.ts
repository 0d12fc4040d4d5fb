// Latency histograms for the load generator: HdrHistogram (hdr-histogram-js, the pure-JS Int32
// variant; it works in worker threads) in microseconds with 3 significant digits, so every
// percentile is within 0.1%. Workers ship histograms to the parent in HdrHistogram's compressed
// encoding, which the parent decodes and adds: merged percentiles are exact merges, not averages.

import * as hdr from 'hdr-histogram-js';

/** Recordings above this (10 minutes) make the histogram grow (autoResize) rather than throw. */
const HIGHEST_TRACKABLE_US = 600_000_000;

function fresh(): hdr.Histogram {
  return hdr.build({
    bitBucketSize: 32,
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_TRACKABLE_US,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
    useWebAssembly: false,
  });
}

export class LatencyHistogram {
  private readonly h: hdr.Histogram;

  constructor(h?: hdr.Histogram) {
    this.h = h ?? fresh();
  }

  /** Records one latency in microseconds (fractions are rounded to the microsecond). */
  record(us: number): void {
    this.h.recordValue(us < 0 ? 0 : Math.round(us));
  }

  /** Records `count` equal latencies (a pipeline batch's replies that arrived together). */
  recordMany(us: number, count: number): void {
    if (count > 0) this.h.recordValueWithCount(us < 0 ? 0 : Math.round(us), count);
  }

  /** Adds another histogram's counts to this one. */
  add(other: LatencyHistogram): void {
    this.h.add(other.h);
  }

  reset(): void {
    this.h.reset();
  }

  get total(): number {
    return this.h.totalCount;
  }

  get maxUs(): number {
    return this.h.totalCount === 0 ? 0 : this.h.maxValue;
  }

  get meanUs(): number {
    return this.h.totalCount === 0 ? 0 : this.h.mean;
  }

  /** The value (us) at or below which `p` percent of the recordings fall; 0 when empty. */
  percentileUs(p: number): number {
    if (this.h.totalCount === 0) return 0;
    return p >= 100 ? this.h.maxValue : this.h.getValueAtPercentile(p);
  }

  /** A compact string (HdrHistogram's compressed base64 encoding) to post to another thread. */
  encode(): string {
    return hdr.encodeIntoCompressedBase64(this.h);
  }

  static decode(encoded: string): LatencyHistogram {
    return new LatencyHistogram(hdr.decodeFromCompressedBase64(encoded, 32, false));
  }
}
