// Where a command's keys are among its arguments, from its key spec: a fixed range (first, last,
// step), or movable keys counted by an argument (numkeysAt). Allocation-free for the dispatcher:
// keyRange() leaves the range in keysFirst/keysLast.

import type { ArgList, KeySpec } from './types.js';
import { argInt } from './args.js';

/** The range the last keyRange() call found (step is the spec's, 1 for counted keys). */
export let keysFirst = 0;
export let keysLast = 0;
/** An argument inside that range that is not a key (the count of ZUNIONSTORE's keys, between its
 * destination and its inputs), or -1: whoever walks the range skips it. */
export let keysSkip = -1;

/** Finds the key arguments of a command with argc arguments; false when it names none (a count
 * that is not a positive integer or exceeds the arguments: the command replies the error). */
export function keyRange(k: KeySpec, a: ArgList): boolean {
  keysSkip = -1;
  if (k.afterStreams === true) return streamsRange(a);
  if (k.extraKeyAt !== undefined) {
    const j = k.extraKeyAt(a);
    keysFirst = k.first;
    keysLast = j > k.first ? j : k.first;
    return true;
  }
  if (k.numkeysAt === undefined) {
    keysFirst = k.first;
    // A fixed last key past the arguments (a subcommand without its key, XGROUP HELP) stops at
    // the last argument: no key at all then.
    keysLast = k.last < 0 ? a.argc + k.last : Math.min(k.last, a.argc - 1);
    // No key at all (SUNSUBSCRIBE without a channel): nothing to route.
    return keysLast >= keysFirst;
  }
  const n = argInt(a, k.numkeysAt);
  if (!(n >= 1) || k.numkeysAt + n >= a.argc) return false;
  if (k.first > 0) {
    // Fixed keys first..last right before the count (ZUNIONSTORE's destination), then the count.
    keysFirst = k.first;
    keysSkip = k.numkeysAt;
  } else {
    keysFirst = k.numkeysAt + 1;
  }
  keysLast = k.numkeysAt + n;
  return true;
}

/** XREAD/XREADGROUP: the keys are the first half of what follows STREAMS, found as Redis's
 * xreadGetKeys does (BLOCK and COUNT skip one argument, GROUP two, NOACK none; anything else ends
 * the search); none when STREAMS is missing or what follows is odd (the command replies its error). */
function streamsRange(a: ArgList): boolean {
  for (let i = 1; i < a.argc; i++) {
    if (argIsWord(a, i, BLOCK) || argIsWord(a, i, COUNT)) i++;
    else if (argIsWord(a, i, GROUP)) i += 2;
    else if (argIsWord(a, i, NOACK)) continue;
    else if (argIsWord(a, i, STREAMS)) {
      const n = a.argc - i - 1;
      if (n === 0 || n % 2 !== 0) return false;
      keysFirst = i + 1;
      keysLast = i + n / 2;
      return true;
    } else return false;
  }
  return false;
}

/** Whether argument i is the lower-case ASCII word w, in any case. */
function argIsWord(a: ArgList, i: number, w: readonly number[]): boolean {
  if (a.len[i] !== w.length) return false;
  const o = a.off[i]!;
  for (let j = 0; j < w.length; j++) if ((a.buf[o + j]! | 0x20) !== w[j]) return false;
  return true;
}
const word = (s: string): number[] => Array.from(s, (ch) => ch.charCodeAt(0));
const STREAMS = word('streams');
const BLOCK = word('block');
const COUNT = word('count');
const GROUP = word('group');
const NOACK = word('noack');

/** The step between keys of a spec (after keyRange() for the same arguments). */
export function keyStep(k: KeySpec): number {
  if (k.afterStreams === true) return 1;
  if (k.extraKeyAt !== undefined) return keysLast > keysFirst ? keysLast - keysFirst : 1;
  return k.numkeysAt === undefined ? k.step : 1;
}
