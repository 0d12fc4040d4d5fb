// The node's client pause, one gate for every purpose (Redis 7.0's pause purposes): CLIENT PAUSE
// [WRITE|ALL] and the manual failover's write pause. The effective mode is the strictest of the
// purposes in force; admission (admission.ts) answers HOLD for what it pauses, and held requests
// wait here, in arrival order, until the mode no longer pauses them (they are then dispatched
// again, as if they had just arrived: one still paused waits again, in the same order).
// Bounded: each held entry is one client's next request (that client reads nothing more meanwhile).

/** No pause; writes (and may-replicate commands) paused; every command paused. */
export const PAUSE_OFF = 0;
export const PAUSE_WRITE = 1;
export const PAUSE_ALL = 2;
export type PauseMode = typeof PAUSE_OFF | typeof PAUSE_WRITE | typeof PAUSE_ALL;

const TIMER_MAX_MS = 2 ** 31 - 1;

/** One purpose's pause: its mode and when it ends (ms since the epoch). */
interface Purpose {
  mode: PauseMode;
  endMs: number;
}

export class ClientPause {
  /** The effective mode: the strictest purpose in force (read on every admission). */
  mode: PauseMode = PAUSE_OFF;
  private readonly client: Purpose = { mode: PAUSE_OFF, endMs: 0 };
  private readonly failover: Purpose = { mode: PAUSE_OFF, endMs: 0 };
  /** Held requests in arrival order; id -1: not a client's (a memcached or HTTP door's). */
  private waiting: Array<{ id: number; run: () => void }> = [];
  /** Held entries by client id (CLIENT LIST flag b, INFO blocked_clients). */
  private readonly heldIds = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;
  /** The mode in shared memory for the shards (ShardSettings.pauseWord): their active expiry
   * stands still during a pause. */
  readonly word = new Int32Array(new SharedArrayBuffer(4));

  /** Writes are paused (the failover's view, and admission's first test). */
  get paused(): boolean {
    return this.mode !== PAUSE_OFF;
  }

  /** Clients with a request held now. */
  get heldCount(): number {
    return this.heldIds.size;
  }

  isHeld(clientId: number): boolean {
    return this.heldIds.has(clientId);
  }

  /** CLIENT PAUSE: until endMs, the stricter and the later of this and a pause in force (Redis
   * keeps the stricter type and the later end). */
  pauseClients(mode: PauseMode, endMs: number): void {
    if (mode > this.client.mode) this.client.mode = mode;
    if (endMs > this.client.endMs) this.client.endMs = endMs;
    this.update();
  }

  /** CLIENT UNPAUSE: ends CLIENT PAUSE's purpose only (a failover's pause stays). */
  unpauseClients(): void {
    this.client.mode = PAUSE_OFF;
    this.client.endMs = 0;
    this.update();
  }

  /** The manual failover: pauses writes until resume(), at most timeoutMs. */
  pause(timeoutMs: number): void {
    this.failover.mode = PAUSE_WRITE;
    this.failover.endMs = Date.now() + timeoutMs;
    this.update();
  }

  resume(): void {
    this.failover.mode = PAUSE_OFF;
    this.failover.endMs = 0;
    this.update();
  }

  /** Runs `run` now when nothing is paused, else once the mode changes (run dispatches the
   * held request again). clientId marks the client as blocked meanwhile. */
  whenResumed(run: () => void, clientId = -1): void {
    if (this.mode === PAUSE_OFF) {
      run();
      return;
    }
    if (clientId >= 0) this.heldIds.set(clientId, (this.heldIds.get(clientId) ?? 0) + 1);
    this.waiting.push({ id: clientId, run });
  }

  /** The client closed: its held requests are dropped. */
  forget(clientId: number): void {
    if (!this.heldIds.delete(clientId)) return;
    this.waiting = this.waiting.filter((w) => w.id !== clientId);
  }

  /** Recomputes the mode from the purposes (expired ones end), re-arms the timer for the next
   * end, and lets the held requests try again when the mode got less strict. */
  private update(): void {
    const now = Date.now();
    for (const p of [this.client, this.failover]) {
      if (p.mode !== PAUSE_OFF && p.endMs <= now) {
        p.mode = PAUSE_OFF;
        p.endMs = 0;
      }
    }
    const before = this.mode;
    this.mode = Math.max(this.client.mode, this.failover.mode) as PauseMode;
    Atomics.store(this.word, 0, this.mode);
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.mode !== PAUSE_OFF) {
      let next = Infinity;
      for (const p of [this.client, this.failover]) if (p.mode !== PAUSE_OFF && p.endMs < next) next = p.endMs;
      // Node's timers take at most 2^31-1 ms (a longer delay would fire at once): re-armed then.
      this.timer = setTimeout(() => this.update(), Math.min(TIMER_MAX_MS, Math.max(0, next - now) + 1));
      this.timer.unref();
    }
    if (this.mode < before) this.release();
  }

  /** Every held request tries again, in arrival order; those still paused queue again. */
  private release(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) {
      if (w.id >= 0) {
        const n = (this.heldIds.get(w.id) ?? 1) - 1;
        if (n <= 0) this.heldIds.delete(w.id);
        else this.heldIds.set(w.id, n);
      }
      w.run();
    }
  }
}
