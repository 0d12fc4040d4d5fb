// The per-entry access clock, one u32 serving both eviction families at once so that a policy
// change at runtime needs no conversion: bits 0-23 are the LRU clock (seconds, mod 2^24, like
// Redis's 24-bit LRU_CLOCK at 1 s resolution), bits 24-31 the LFU logarithmic counter. Redis keeps
// an LFU "decrement time" in minutes; here the last access time in seconds serves as that (every
// access resets it, as in Redis's updateLFU), so decay = idle minutes / lfu-decay-time.

export const LRU_CLOCK_MASK = 0xffffff;
export const LFU_INIT_VAL = 5;
export const LFU_LOG_FACTOR = 10;
export const LFU_DECAY_TIME_MIN = 1;

export function lruNow(nowMs: number): number {
  return Math.floor(nowMs / 1000) & LRU_CLOCK_MASK;
}

/** Seconds since the last access (wraps after 194 days, as Redis's). */
export function idleSeconds(clock: number, nowSec: number): number {
  return (nowSec - (clock & LRU_CLOCK_MASK)) & LRU_CLOCK_MASK;
}

/** The LFU counter after decay (Redis's LFUDecrAndReturn), without storing it. */
export function lfuDecayed(clock: number, nowSec: number): number {
  const counter = clock >>> 24;
  const periods = Math.floor(idleSeconds(clock, nowSec) / 60 / LFU_DECAY_TIME_MIN);
  return periods >= counter ? 0 : counter - periods;
}

/** Redis's LFULogIncr with r uniform in [0, 1). */
export function lfuLogIncr(counter: number, r: number): number {
  if (counter === 255) return 255;
  const base = Math.max(0, counter - LFU_INIT_VAL);
  return r < 1 / (base * LFU_LOG_FACTOR + 1) ? counter + 1 : counter;
}

/** The clock after an access at nowSec: LRU time = now, LFU counter decayed then incremented. */
export function touchedClock(clock: number, nowSec: number, r: number): number {
  return ((lfuLogIncr(lfuDecayed(clock, nowSec), r) << 24) | nowSec) >>> 0;
}

/** The clock of a new entry. */
export function initialClock(nowSec: number): number {
  return ((LFU_INIT_VAL << 24) | nowSec) >>> 0;
}
