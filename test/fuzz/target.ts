// What an in-process fuzz target is, and the loop that drives one: inputs seeded from (run seed,
// index), a budget of inputs or milliseconds, the first few failures kept with their input bytes
// so that each replays with `npm run fuzz -- --protocol P --seed S --replay I`.

import { inputSeed } from './prng.js';

export class FuzzFailure extends Error {}

export interface Target {
  readonly name: string;
  /** Builds and checks input `seed`; throws on anything but a value, a clean error or need-more. */
  run(seed: number): void;
  /** The bytes of input `seed`, for a failure report (hex). */
  input(seed: number): Buffer;
}

export interface Failure {
  target: string;
  runSeed: number;
  index: number;
  inputSeed: number;
  message: string;
  inputHex: string;
}

export interface RunReport {
  target: string;
  inputs: number;
  ms: number;
  perSecond: number;
  failures: Failure[];
}

export interface Budget {
  seed: number;
  /** Stop after this many inputs... */
  count: number;
  /** ...or after this long, whichever comes first. */
  durationMs: number;
  /** Keep at most this many failures (then stop: the first ones are the ones to fix). */
  maxFailures: number;
  /** Called every so often with inputs done so far. */
  progress?: (done: number, ms: number) => void;
}

const CLOCK_EVERY = 256;
const HEX_KEEP_BYTES = 4096;

export function runTarget(t: Target, b: Budget): RunReport {
  const failures: Failure[] = [];
  const t0 = performance.now();
  let i = 0;
  let nextProgress = t0 + 5_000;
  for (; i < b.count; i++) {
    if (i % CLOCK_EVERY === 0) {
      const now = performance.now();
      if (now - t0 >= b.durationMs) break;
      if (b.progress && now >= nextProgress) {
        b.progress(i, now - t0);
        nextProgress = now + 5_000;
      }
    }
    const s = inputSeed(b.seed, i);
    try {
      t.run(s);
    } catch (e) {
      const bytes = t.input(s);
      failures.push({
        target: t.name,
        runSeed: b.seed,
        index: i,
        inputSeed: s,
        message: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
        inputHex: bytes.subarray(0, HEX_KEEP_BYTES).toString('hex') + (bytes.length > HEX_KEEP_BYTES ? `... (${bytes.length} bytes)` : ''),
      });
      if (failures.length >= b.maxFailures) {
        i++;
        break;
      }
    }
  }
  const ms = performance.now() - t0;
  return { target: t.name, inputs: i, ms, perSecond: i / (ms / 1000), failures };
}

export function check(cond: boolean, what: string): asserts cond {
  if (!cond) throw new FuzzFailure(what);
}
