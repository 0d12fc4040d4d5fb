// A circuit breaker per peer link: after `failureThreshold` consecutive failures the circuit opens
// and calls fail at once for `openMs`; then one probe call is let through (half-open), and its
// outcome closes the circuit again or re-opens it for twice as long (up to `maxOpenMs`). A peer that
// keeps failing is therefore tried a few times a minute, not on every forwarded command.

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitOptions {
  failureThreshold: number;
  openMs: number;
  maxOpenMs: number;
  clock?: () => number;
}

export class CircuitBreaker {
  private failures = 0;
  private openUntilMs = 0;
  private currentOpenMs: number;
  private probing = false;
  private readonly clock: () => number;

  constructor(private readonly opts: CircuitOptions) {
    this.currentOpenMs = opts.openMs;
    this.clock = opts.clock ?? Date.now;
  }

  state(): CircuitState {
    if (this.failures < this.opts.failureThreshold) return 'closed';
    return this.clock() < this.openUntilMs ? 'open' : 'half-open';
  }

  /** Whether a call may go out now; in half-open state only one probe at a time. */
  allow(): boolean {
    const s = this.state();
    if (s === 'closed') return true;
    if (s === 'open' || this.probing) return false;
    this.probing = true;
    return true;
  }

  /** Milliseconds until the next probe is allowed (0 when calls may go out). */
  retryInMs(): number {
    return Math.max(0, this.openUntilMs - this.clock());
  }

  success(): void {
    this.failures = 0;
    this.probing = false;
    this.currentOpenMs = this.opts.openMs;
  }

  failure(): void {
    const wasProbe = this.probing;
    this.probing = false;
    this.failures++;
    if (this.failures < this.opts.failureThreshold) return;
    if (wasProbe) this.currentOpenMs = Math.min(this.opts.maxOpenMs, this.currentOpenMs * 2);
    this.openUntilMs = this.clock() + this.currentOpenMs;
  }
}
