// PFSELFTEST (Redis hyperloglog.c's pfselftestCommand): the dense register codec round-trips, and
// the sparse and dense representations give the same estimates, within Redis's error bound, for
// 1, 10, ... 100,000 distinct elements. Runs on `work` (hll.ts's scratch) and leaves it garbage.

import * as H from './hll.js';
import { COMMAND_ERR } from '../core/errors.js';

/** Elements added: Redis goes to 10M; a tenth of a second of main-thread time is the bound here. */
const SELFTEST_ELEMENTS_MAX = 100_000;
const REGISTER_PASSES = 8;
const SPARSE_MAX_BYTES = 3000;

/** Deterministic LCG (Redis uses rand(); a fixed seed makes a failure reproducible). */
let seed = 0;
function rnd(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed >>> 16;
}

const ele = new Uint8Array(8);
const eleView = new DataView(ele.buffer);

/** The estimates at each checkpoint for elements j ^ salt, j = 1..max, from a sparse or a dense start. */
function estimates(dense: boolean, salt: number): number[] | string {
  H.hllInitEmpty();
  if (dense && !H.hllToDense()) return COMMAND_ERR.hllConversion;
  const out: number[] = [];
  let checkpoint = 1;
  for (let j = 1; j <= SELFTEST_ELEMENTS_MAX; j++) {
    eleView.setUint32(0, (j ^ salt) >>> 0, true);
    eleView.setUint32(4, 0x5eed, true);
    if (H.hllAdd(ele, 0, 8, SPARSE_MAX_BYTES) < 0) return COMMAND_ERR.hllCorrupted;
    if (j === checkpoint) {
      if (!dense && j < SPARSE_MAX_BYTES / 2 && H.hllEncoding() !== H.HLL_SPARSE) return COMMAND_ERR.hllSparseUnused;
      out.push(H.hllCountWork());
      checkpoint *= 10;
    }
  }
  return out;
}

/** null when every check passes, else Redis's TESTFAILED error text. */
export function hllSelfTest(): string | null {
  seed = 0x7e55e7a;
  // Register codec: random 6-bit values in every register, read back.
  H.hllInitEmpty();
  if (!H.hllToDense()) return COMMAND_ERR.hllConversion;
  const regs = new Uint8Array(H.HLL_REGISTERS);
  for (let pass = 0; pass < REGISTER_PASSES; pass++) {
    for (let i = 0; i < H.HLL_REGISTERS; i++) {
      regs[i] = rnd() & 63;
      H.hllDenseSetAt(H.work, 0, i, regs[i]!);
    }
    for (let i = 0; i < H.HLL_REGISTERS; i++) {
      if (H.hllWorkRegister(i) !== regs[i]) return COMMAND_ERR.hllRegister(i);
    }
  }
  // Sparse and dense agree, and the error stays within 6 standard errors (1 at cardinality 10).
  const salt = rnd() | (rnd() << 16);
  const sparse = estimates(false, salt);
  if (typeof sparse === 'string') return sparse;
  const dense = estimates(true, salt);
  if (typeof dense === 'string') return dense;
  const relerr = 1.04 / Math.sqrt(H.HLL_REGISTERS);
  for (let k = 0, card = 1; k < sparse.length; k++, card *= 10) {
    if (sparse[k] !== dense[k]) return COMMAND_ERR.hllDisagree;
    const abserr = Math.abs(card - dense[k]!);
    const maxerr = card === 10 ? 1 : Math.ceil(relerr * 6 * card);
    if (abserr > maxerr) return COMMAND_ERR.hllTooBigError(card, abserr);
  }
  return null;
}
