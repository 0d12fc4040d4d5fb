// Redis glob matching over bytes: util.c stringmatchlen, quirks included. Bytes compare as C
// signed chars (so ranges that cross 0x80 behave as in Redis on x86-64), case folding is ASCII
// only (C locale tolower), and reads past the end of the pattern see NUL, as on Redis's
// NUL-terminated sds strings. Recursion is bounded at 1000 nested '*' like Redis.

const CH_STAR = 42;
const CH_QUESTION = 63;
const CH_LBRACKET = 91;
const CH_RBRACKET = 93;
const CH_BACKSLASH = 92;
const CH_CARET = 94;
const CH_DASH = 45;

/** Redis's guard against abusive patterns: deeper '*' nesting never matches. */
const MAX_NESTING = 1000;

/** Redis's skipLongerMatches, shared by one globMatch call's recursion (matching is synchronous). */
let skipLongerMatches = false;

/** pattern[k] as Redis reads it: NUL at or beyond the end (sds strings are NUL-terminated). */
function at(pat: Uint8Array, k: number, pend: number): number {
  return k < pend ? pat[k]! : 0;
}

function toSigned(b: number): number {
  return (b << 24) >> 24;
}

function lower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/**
 * True when str[soff, soff+slen) matches the Redis glob pattern[poff, poff+plen): `*`, `?`,
 * `[abc]`, `[^abc]`, `[a-z]` (reversed ranges allowed), `\x` escapes; `nocase` folds ASCII case.
 * Like Redis, an empty subject matches only an empty pattern (even "*" does not match "").
 */
export function globMatch(
  pattern: Uint8Array,
  poff: number,
  plen: number,
  str: Uint8Array,
  soff: number,
  slen: number,
  nocase = false,
): boolean {
  skipLongerMatches = false;
  return matchImpl(pattern, poff, poff + plen, str, soff, slen, nocase, 0);
}

function matchImpl(
  pat: Uint8Array,
  p: number,
  pend: number,
  str: Uint8Array,
  s: number,
  slen: number,
  nocase: boolean,
  nesting: number,
): boolean {
  if (nesting > MAX_NESTING) return false;
  const sEnd = s + slen;
  while (p < pend && s < sEnd) {
    switch (pat[p]) {
      case CH_STAR: {
        while (p < pend && at(pat, p + 1, pend) === CH_STAR) p++;
        if (pend - p === 1) return true;
        while (s < sEnd) {
          if (matchImpl(pat, p + 1, pend, str, s, sEnd - s, nocase, nesting + 1)) return true;
          if (skipLongerMatches) return false;
          s++;
        }
        // The rest of the pattern matches nowhere in the rest of the string: no longer match
        // for an earlier '*' can help either.
        skipLongerMatches = true;
        return false;
      }
      case CH_QUESTION:
        s++;
        break;
      case CH_LBRACKET: {
        p++;
        const not = at(pat, p, pend) === CH_CARET;
        if (not) p++;
        let match = false;
        const sc = str[s]!;
        for (;;) {
          const c = at(pat, p, pend);
          if (c === CH_BACKSLASH && pend - p >= 2) {
            p++;
            if (pat[p] === sc) match = true;
          } else if (c === CH_RBRACKET) {
            break;
          } else if (p >= pend) {
            // Unterminated class: stop at the end of the pattern.
            p--;
            break;
          } else if (pend - p >= 3 && at(pat, p + 1, pend) === CH_DASH) {
            let start = toSigned(c);
            let end = toSigned(at(pat, p + 2, pend));
            let ch = toSigned(sc);
            if (start > end) {
              const t = start;
              start = end;
              end = t;
            }
            if (nocase) {
              start = lower(start);
              end = lower(end);
              ch = lower(ch);
            }
            p += 2;
            if (ch >= start && ch <= end) match = true;
          } else if (!nocase) {
            if (c === sc) match = true;
          } else if (lower(c) === lower(sc)) {
            match = true;
          }
          p++;
        }
        if (not) match = !match;
        if (!match) return false;
        s++;
        break;
      }
      default: {
        if (pat[p] === CH_BACKSLASH && pend - p >= 2) p++; // escaped byte, compared literally
        const c = pat[p]!;
        const sc = str[s]!;
        if (nocase ? lower(c) !== lower(sc) : c !== sc) return false;
        s++;
        break;
      }
    }
    p++;
    if (s === sEnd) {
      while (p < pend && pat[p] === CH_STAR) p++;
      break;
    }
  }
  return p === pend && s === sEnd;
}
