// The permission check of one command against a user's selectors (Redis 7.0's
// ACLCheckAllUserCommandPerm): allowed when some selector allows the command, every key with the
// permission its key spec asks for, and every channel. Allocates nothing for an allowed command:
// keys are found from the key specs by index arithmetic over the argument list.

import type { ArgList } from '../core/types.js';
import { globMatch } from '../util/glob.js';
import { CH_PATTERN, FIND_RANGE, PERM_READ, PERM_WRITE, type AclCommand, type AclKeySpec } from './catalogue.js';
import { MATCH_EXACT, MATCH_PREFIX, type Selector } from './selector.js';

export const ACL_OK = 0;
export const DENIED_CMD = 1;
export const DENIED_KEY = 2;
export const DENIED_CHANNEL = 4;

/** The argument index that failed the last check (a key or a channel). */
export let deniedArg = 0;

function argEqualsCI(a: ArgList, i: number, word: string): boolean {
  const len = a.len[i]!;
  if (len !== word.length) return false;
  const off = a.off[i]!;
  for (let k = 0; k < len; k++) {
    let c = a.buf[off + k]!;
    if (c >= 97 && c <= 122) c -= 32;
    let w = word.charCodeAt(k);
    if (w >= 97 && w <= 122) w -= 32;
    if (c !== w) return false;
  }
  return true;
}

function argEquals(a: ArgList, i: number, s: string): boolean {
  const len = a.len[i]!;
  if (len !== s.length) return false;
  const off = a.off[i]!;
  for (let k = 0; k < len; k++) if (a.buf[off + k] !== s.charCodeAt(k)) return false;
  return true;
}

function parseNonNegative(a: ArgList, i: number): number {
  const len = a.len[i]!;
  if (len === 0 || len > 15) return -1;
  const off = a.off[i]!;
  let n = 0;
  for (let k = 0; k < len; k++) {
    const c = a.buf[off + k]!;
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
  }
  return n;
}

/** Redis's stringmatchlen of a compiled pattern against buf[off, off+len). */
function patternMatches(match: number, p: Uint8Array, buf: Uint8Array, off: number, len: number): boolean {
  const plen = p.length;
  if (match === MATCH_EXACT) {
    if (len !== plen) return false;
  } else if (match === MATCH_PREFIX) {
    // An empty subject matches no pattern but an empty one (Redis's stringmatchlen).
    if (len < plen || len === 0) return false;
  } else return globMatch(p, 0, plen, buf, off, len);
  for (let k = 0; k < plen; k++) if (p[k] !== buf[off + k]) return false;
  return true;
}

/** Any pattern with the permission matching the key. The search starts at the pattern that
 * matched last time (any match allows, so the order is free): a client working in one key space
 * usually hits on the first probe. */
function keyAllowed(s: Selector, a: ArgList, i: number, perm: number): boolean {
  const keys = s.keys;
  const n = keys.length;
  const off = a.off[i]!;
  const len = a.len[i]!;
  let p = s.lastKeyHit < n ? s.lastKeyHit : 0;
  for (let tried = 0; tried < n; tried++) {
    const k = keys[p]!;
    if ((k.perm & perm) === perm && patternMatches(k.match, k.bytes, a.buf, off, len)) {
      s.lastKeyHit = p;
      return true;
    }
    if (++p === n) p = 0;
  }
  return false;
}

/** SET needs read too with GET; BITFIELD needs write unless every operation is a GET (Redis's
 * setGetKeys / bitfieldGetKeys). */
function variablePerm(cmd: AclCommand, a: ArgList, spec: AclKeySpec): number {
  if (cmd.variableFlags === 'set') {
    for (let i = 3; i < a.argc; i++) if (argEqualsCI(a, i, 'GET')) return PERM_READ | PERM_WRITE;
    return PERM_WRITE;
  }
  if (cmd.variableFlags === 'bitfield') {
    for (let i = 2; i < a.argc; i++) {
      if (argEqualsCI(a, i, 'SET') || argEqualsCI(a, i, 'INCRBY')) return PERM_READ | PERM_WRITE;
    }
    return PERM_READ;
  }
  return spec.perm;
}

/** Redis's getKeysUsingKeySpecs, one spec: checks its keys; false on the first refused one. */
function keysOfSpecAllowed(s: Selector, cmd: AclCommand, spec: AclKeySpec, a: ArgList): boolean {
  const argc = a.argc;
  let first = 0;
  const word = spec.keyword;
  if (word === null) first = spec.index;
  else {
    const from = spec.startFrom;
    const start = from > 0 ? from : argc + from;
    const end = from > 0 ? argc - 1 : 0;
    for (let i = start; i !== end; i = start <= end ? i + 1 : i - 1) {
      if (i >= argc || i < 1) break;
      if (argEqualsCI(a, i, word)) {
        first = i + 1;
        break;
      }
    }
    if (first === 0) return true;
  }
  let last: number;
  let step: number;
  if (spec.find === FIND_RANGE) {
    const lastkey = spec.f0;
    const limit = spec.f2;
    step = spec.f1;
    if (lastkey >= 0) last = first + lastkey;
    else if (limit === 0) last = argc + lastkey;
    else last = first + (Math.floor((argc - first) / limit) + lastkey);
  } else {
    step = spec.f2;
    if (first + spec.f0 >= argc) return true;
    const n = parseNonNegative(a, first + spec.f0);
    if (n < 0) return true;
    first += spec.f1;
    last = first + n - 1;
  }
  // Out of bounds: the command replies its own syntax error, and no key is touched.
  if (last >= argc || last < first || first >= argc || step <= 0) return true;
  const perm = variablePerm(cmd, a, spec);
  for (let i = first; i <= last; i += step) {
    if (!keyAllowed(s, a, i, perm)) {
      deniedArg = i;
      return false;
    }
  }
  return true;
}

export function channelAllowedIn(s: Selector, buf: Uint8Array, off: number, len: number, pattern: boolean): boolean {
  if (s.allChannels) return true;
  const chans = s.channels;
  for (let p = 0; p < chans.length; p++) {
    const ch = chans[p]!;
    if (pattern) {
      // A pattern is allowed only literally: compare with the channel pattern's whole text.
      const c = ch.whole;
      if (c.length !== len) continue;
      let k = 0;
      while (k < len && c[k] === buf[off + k]) k++;
      if (k === len) return true;
    } else if (patternMatches(ch.match, ch.bytes, buf, off, len)) return true;
  }
  return false;
}

/** One selector (Redis's ACLSelectorCheckCmd). */
export function selectorCheck(s: Selector, cmd: AclCommand, a: ArgList): number {
  if (!s.allCommands && !cmd.noAuth && !s.has(cmd.id)) {
    const fa = s.firstArgs?.get(cmd.id);
    // First-argument exceptions apply to commands without subcommands (argument 1).
    if (fa === undefined || a.argc < 2 || cmd.subs.length > 0) return DENIED_CMD;
    let ok = false;
    for (let i = 0; i < fa.length && !ok; i++) ok = argEqualsCI(a, 1, fa[i]!);
    if (!ok) return DENIED_CMD;
  }
  if (!s.allKeys) {
    const specs = cmd.keySpecs;
    for (let j = 0; j < specs.length; j++) {
      const spec = specs[j]!;
      const last = spec.index + spec.f0;
      if (spec.fixed && last < a.argc) {
        // Fixed positions (most commands): no search, no count to parse.
        const perm = cmd.variableFlags === null ? spec.perm : variablePerm(cmd, a, spec);
        for (let i = spec.index; i <= last; i += spec.f1) {
          if (!keyAllowed(s, a, i, perm)) {
            deniedArg = i;
            return DENIED_KEY;
          }
        }
      } else if (!keysOfSpecAllowed(s, cmd, spec, a)) return DENIED_KEY;
    }
  }
  const ch = cmd.channels;
  if (ch !== null && !s.allChannels) {
    const last = ch.last < 0 ? a.argc + ch.last : Math.min(ch.last, a.argc - 1);
    const pattern = (ch.flags & CH_PATTERN) !== 0;
    for (let i = ch.first; i <= last; i++) {
      if (!channelAllowedIn(s, a.buf, a.off[i]!, a.len[i]!, pattern)) {
        deniedArg = i;
        return DENIED_CHANNEL;
      }
    }
  }
  return ACL_OK;
}

/** Every selector: ACL_OK, or the most relevant refusal (deniedArg names its argument). */
export function checkSelectors(root: Selector, others: readonly Selector[], cmd: AclCommand, a: ArgList): number {
  let r = selectorCheck(root, cmd, a);
  if (r === ACL_OK) return ACL_OK;
  let relevant = r;
  let lastIdx = r === DENIED_CMD ? 0 : deniedArg;
  for (let i = 0; i < others.length; i++) {
    r = selectorCheck(others[i]!, cmd, a);
    if (r === ACL_OK) return ACL_OK;
    const idx = r === DENIED_CMD ? 0 : deniedArg;
    if (r > relevant || (r === relevant && idx > lastIdx)) {
      relevant = r;
      lastIdx = idx;
    }
  }
  deniedArg = lastIdx;
  return relevant;
}

export { argEquals };
