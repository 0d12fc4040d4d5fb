// Phi-accrual failure detector (Hayashibara et al.) over heartbeat inter-arrival times: a sliding
// window of intervals gives a mean and a standard deviation (never below `minStdDevMs`), and
// phi(t) = -log10(1 - CDF(t since last heartbeat)). A node is suspected when phi exceeds the
// threshold, but never before `minPauseMs` of silence (so one slow pause cannot flap it), and
// never before `minSamples` intervals have been seen.

export interface PhiAccrualOptions {
  threshold: number;
  windowSize: number;
  minStdDevMs: number;
  minPauseMs: number;
  minSamples: number;
}

export class PhiAccrual {
  private readonly intervals: Float64Array;
  private next = 0;
  private count = 0;
  private sum = 0;
  private sumSq = 0;
  private lastMs = -1;

  constructor(readonly opts: PhiAccrualOptions) {
    if (opts.windowSize < 1) throw new Error('phi-accrual window must hold at least one interval');
    this.intervals = new Float64Array(opts.windowSize);
  }

  /** Records a heartbeat's arrival. Times going backwards are ignored. */
  heartbeat(nowMs: number): void {
    if (this.lastMs >= 0) {
      const interval = nowMs - this.lastMs;
      if (interval < 0) return;
      if (this.count === this.intervals.length) {
        const old = this.intervals[this.next]!;
        this.sum -= old;
        this.sumSq -= old * old;
      } else {
        this.count++;
      }
      this.intervals[this.next] = interval;
      this.next = (this.next + 1) % this.intervals.length;
      this.sum += interval;
      this.sumSq += interval * interval;
    }
    this.lastMs = nowMs;
  }

  /** Forgets history (e.g. after the node restarted or the link was replaced). */
  reset(): void {
    this.next = this.count = this.sum = this.sumSq = 0;
    this.lastMs = -1;
  }

  get lastHeartbeatMs(): number {
    return this.lastMs;
  }

  get samples(): number {
    return this.count;
  }

  meanMs(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  stdDevMs(): number {
    if (this.count === 0) return this.opts.minStdDevMs;
    const mean = this.sum / this.count;
    const variance = Math.max(0, this.sumSq / this.count - mean * mean);
    return Math.max(this.opts.minStdDevMs, Math.sqrt(variance));
  }

  /** phi at `nowMs`; 0 until enough samples. */
  phi(nowMs: number): number {
    if (this.count < this.opts.minSamples || this.lastMs < 0) return 0;
    const elapsed = nowMs - this.lastMs;
    const mean = this.sum / this.count;
    const y = (elapsed - mean) / this.stdDevMs();
    // Logistic approximation of the normal CDF (as Akka and Cassandra use); stable for large y.
    const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
    return elapsed > mean ? -Math.log10(e / (1 + e)) : -Math.log10(1 - 1 / (1 + e));
  }

  /** The node is suspected at `nowMs`. */
  suspects(nowMs: number): boolean {
    if (this.lastMs < 0 || nowMs - this.lastMs < this.opts.minPauseMs) return false;
    return this.phi(nowMs) > this.opts.threshold;
  }
}
