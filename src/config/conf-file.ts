// redis.conf syntax: one `name arg...` directive per line, `#` comments, arguments split and
// unquoted exactly as Redis's sdssplitargs does ("double" with \n \t \xHH escapes, 'single').
// Pure text handling; the meaning of each directive lives in params.ts.

export interface Directive {
  /** Lower-cased directive name. */
  name: string;
  args: string[];
  /** 1-based line number in the file. */
  line: number;
}

export class ConfSyntaxError extends Error {
  constructor(readonly line: number, message: string) {
    super(message);
  }
}

/** Splits a config file into directives; throws ConfSyntaxError on unbalanced quotes. */
export function parseConfText(text: string): Directive[] {
  const directives: Directive[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const trimmed = (lines[i] ?? '').trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const words = splitArgs(trimmed);
    if (words === null) throw new ConfSyntaxError(i + 1, 'unbalanced quotes in configuration line');
    const [name, ...args] = words;
    if (name === undefined) continue;
    directives.push({ name: name.toLowerCase(), args, line: i + 1 });
  }
  return directives;
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', a: '\x07' };

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\n' || c === '\r' || c === '\t' || c === '\v' || c === '\f';
}

function isHex(c: string | undefined): boolean {
  return c !== undefined && /^[0-9a-fA-F]$/.test(c);
}

/** Redis's sdssplitargs: returns the arguments, or null when quotes are unbalanced. */
export function splitArgs(line: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  while (true) {
    while (isSpace(line[i])) i++;
    if (i >= line.length) return out;
    let current = '';
    let inDouble = false;
    let inSingle = false;
    let done = false;
    while (!done) {
      const c = line[i];
      if (inDouble) {
        if (c === undefined) return null;
        if (c === '\\' && line[i + 1] === 'x' && isHex(line[i + 2]) && isHex(line[i + 3])) {
          current += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
          i += 3;
        } else if (c === '\\' && line[i + 1] !== undefined) {
          const e = line[i + 1] ?? '';
          current += ESCAPES[e] ?? e;
          i++;
        } else if (c === '"') {
          // The closing quote must be followed by a space or the end of the line.
          if (i + 1 < line.length && !isSpace(line[i + 1])) return null;
          done = true;
        } else {
          current += c;
        }
      } else if (inSingle) {
        if (c === undefined) return null;
        if (c === '\\' && line[i + 1] === "'") {
          current += "'";
          i++;
        } else if (c === "'") {
          if (i + 1 < line.length && !isSpace(line[i + 1])) return null;
          done = true;
        } else {
          current += c;
        }
      } else if (c === undefined || isSpace(c)) {
        done = true;
      } else if (c === '"') {
        inDouble = true;
      } else if (c === "'") {
        inSingle = true;
      } else {
        current += c;
      }
      if (i < line.length) i++;
    }
    out.push(current);
  }
}
