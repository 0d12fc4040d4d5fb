// Redis glob matching (stringmatchlen): `*`, `?`, `[abc]`, `[^a-z]`, `\x` escapes.
// Used by CONFIG GET here; written to Redis's rules so KEYS/SCAN MATCH may share it.
// An unterminated `[` runs to the end of the pattern, as in Redis.

/** True when `subject` matches the Redis glob `pattern`; `nocase` folds ASCII case. */
export function globMatch(pattern: string, subject: string, nocase = false): boolean {
  const p = nocase ? pattern.toLowerCase() : pattern;
  const s = nocase ? subject.toLowerCase() : subject;
  return matchFrom(p, 0, s, 0);
}

/** True when `pattern` contains a character that makes it more than a literal. */
export function isGlob(pattern: string): boolean {
  return /[*?[\\]/.test(pattern);
}

function matchFrom(p: string, pi: number, s: string, si: number): boolean {
  while (pi < p.length) {
    const c = p[pi];
    if (c === '*') {
      while (p[pi + 1] === '*') pi++;
      if (pi + 1 === p.length) return true;
      for (let k = si; k <= s.length; k++) {
        if (matchFrom(p, pi + 1, s, k)) return true;
      }
      return false;
    }
    if (si >= s.length) return false;
    const ch = s[si];
    if (c === '?') {
      pi++;
    } else if (c === '[') {
      const set = parseSet(p, pi + 1);
      if (set.matches(ch ?? '') === set.negated) return false;
      pi = set.end;
    } else if (c === '\\' && pi + 1 < p.length) {
      if (p[pi + 1] !== ch) return false;
      pi += 2;
    } else {
      if (c !== ch) return false;
      pi++;
    }
    si++;
  }
  return si === s.length;
}

interface CharSet {
  negated: boolean;
  /** Index just past the closing `]` (or the pattern's end). */
  end: number;
  matches(ch: string): boolean;
}

function parseSet(p: string, start: number): CharSet {
  let i = start;
  const negated = p[i] === '^';
  if (negated) i++;
  const singles: string[] = [];
  const ranges: Array<[string, string]> = [];
  while (i < p.length && p[i] !== ']') {
    const c = p[i] ?? '';
    if (c === '\\' && i + 1 < p.length) {
      singles.push(p[i + 1] ?? '');
      i += 2;
    } else if (p[i + 1] === '-' && i + 2 < p.length && p[i + 2] !== ']') {
      let lo = c;
      let hi = p[i + 2] ?? '';
      if (lo > hi) [lo, hi] = [hi, lo];
      ranges.push([lo, hi]);
      i += 3;
    } else {
      singles.push(c);
      i++;
    }
  }
  const end = i < p.length ? i + 1 : i;
  return {
    negated,
    end,
    matches: (ch) => singles.includes(ch) || ranges.some(([lo, hi]) => ch >= lo && ch <= hi),
  };
}
