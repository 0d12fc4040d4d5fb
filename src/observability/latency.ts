// Per-command execution-time histograms kept by each shard: fixed buckets, one Float64Array for
// every command (bucket counts, then the sum in seconds), so that recording is two array writes
// and a short scan, and a snapshot crosses the control port as one typed array.

/** Upper bounds of the buckets, seconds (Prometheus `le`); a last bucket holds the rest. */
export const LATENCY_BUCKETS_S = [1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 1e-2, 0.1, 1] as const;
/** Per command: one count per bucket, the +Inf bucket, then the sum of seconds. */
export const LATENCY_STRIDE = LATENCY_BUCKETS_S.length + 2;

export class CommandLatency {
  readonly data: Float64Array;

  constructor(commands: number) {
    this.data = new Float64Array(commands * LATENCY_STRIDE);
  }

  record(cmd: number, seconds: number): void {
    let b = 0;
    while (b < LATENCY_BUCKETS_S.length && seconds > LATENCY_BUCKETS_S[b]!) b++;
    const base = cmd * LATENCY_STRIDE;
    this.data[base + b]!++;
    this.data[base + LATENCY_STRIDE - 1]! += seconds;
  }

  reset(): void {
    this.data.fill(0);
  }
}
