// The claim words of blocked clients, shared by the main thread and every shard. A client blocked
// on keys of several shards may be woken by any of them: the first to move its slot's word from
// WAITING to SERVED (one compare-and-swap) serves it, every later try fails and leaves the keys
// alone. A timeout, CLIENT UNBLOCK or a disconnect moves it to CANCELLED the same way, so exactly
// one outcome wins. A word is (generation << 2) | state; a new wait of the slot's client bumps the
// generation, so that a stale registration of an earlier wait can never claim it.

export const WAIT_SLOTS = 1 << 16;
export const CLAIM_WAITING = 0;
export const CLAIM_SERVED = 1;
export const CLAIM_CANCELLED = 2;
const GEN_MASK = (1 << 29) - 1;

export function createClaimWords(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(WAIT_SLOTS * 4));
}

/** Starts a wait of the slot's client with generation gen. */
export function armWait(words: Int32Array, slot: number, gen: number): void {
  Atomics.store(words, slot, (gen & GEN_MASK) << 2);
}

/** The next generation after gen (wraps; 29 bits). */
export function nextGeneration(gen: number): number {
  return (gen + 1) & GEN_MASK;
}

/** WAITING -> SERVED for this very wait; true for the one caller that wins. */
export function claimWait(words: Int32Array, slot: number, gen: number): boolean {
  const waiting = (gen & GEN_MASK) << 2;
  return Atomics.compareExchange(words, slot, waiting, waiting | CLAIM_SERVED) === waiting;
}

/** WAITING -> CANCELLED for this very wait; true when it was still waiting (nobody served it). */
export function cancelWait(words: Int32Array, slot: number, gen: number): boolean {
  const waiting = (gen & GEN_MASK) << 2;
  return Atomics.compareExchange(words, slot, waiting, waiting | CLAIM_CANCELLED) === waiting;
}

/** True while this wait is neither served nor cancelled. */
export function stillWaiting(words: Int32Array, slot: number, gen: number): boolean {
  return Atomics.load(words, slot) === (gen & GEN_MASK) << 2;
}
