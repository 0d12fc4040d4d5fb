// Where a command's keys are among its arguments, from its key spec: a fixed range (first, last,
// step), or movable keys counted by an argument (numkeysAt). Allocation-free for the dispatcher:
// keyRange() leaves the range in keysFirst/keysLast.

import type { ArgList, KeySpec } from './types.js';
import { argInt, argIs } from './args.js';

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
  if (k.streamsKeyword === true) return streamsRange(a);
  if (k.extraKeyAt !== undefined) {
    const j = k.extraKeyAt(a);
    keysFirst = k.first;
    keysLast = j > k.first ? j : k.first;
    return true;
  }
  if (k.numkeysAt === undefined) {
    keysFirst = k.first;
    keysLast = k.last < 0 ? a.argc + k.last : k.last;
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

/** The step between keys of a spec (after keyRange() for the same arguments). */
export function keyStep(k: KeySpec): number {
  if (k.extraKeyAt !== undefined) return keysLast > keysFirst ? keysLast - keysFirst : 1;
  return k.numkeysAt === undefined && k.streamsKeyword === undefined ? k.step : 1;
}

/** XREAD / XREADGROUP: the keys are the first half of the arguments after STREAMS (false when
 * there is no such keyword or an odd count: the command replies its own error). */
function streamsRange(a: ArgList): boolean {
  let at = -1;
  for (let i = 1; i < a.argc; i++) {
    if (argIs(a, i, 'BLOCK') || argIs(a, i, 'COUNT')) i++;
    else if (argIs(a, i, 'GROUP')) i += 2;
    else if (argIs(a, i, 'NOACK')) continue;
    else if (argIs(a, i, 'STREAMS')) {
      at = i;
      break;
    } else break;
  }
  const n = a.argc - at - 1;
  if (at < 0 || n === 0 || n % 2 !== 0) return false;
  keysFirst = at + 1;
  keysLast = at + n / 2;
  return true;
}
