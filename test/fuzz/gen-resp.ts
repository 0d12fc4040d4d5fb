// RESP request generators: valid commands (multibulk and inline, with every quoting form Redis's
// sdssplitargs knows), the same damaged, and hostile shapes (huge and negative lengths, nested
// arrays, endless lines). Each input knows the commands a correct parser must return for it when
// it is undamaged, so the in-process target can check values and not only survival.

import { mutate, type Prng } from './prng.js';

export interface RespInput {
  bytes: Buffer;
  /** The commands the parser must return, in order, when the input was not damaged; else null. */
  expect: Buffer[][] | null;
  kind: string;
}

const NAMES = ['SET', 'GET', 'DEL', 'INCR', 'MGET', 'MSET', 'EXISTS', 'PING', 'ECHO', 'EXPIRE', 'TTL', 'APPEND', 'GETRANGE', 'STRLEN', 'SETNX', 'DBSIZE', 'TYPE'];

/** A random command: a name and 0-6 arguments of any bytes (binary safe in multibulk). */
export function randomArgs(r: Prng, binary: boolean): Buffer[] {
  const args: Buffer[] = [Buffer.from(r.pick(NAMES))];
  const n = r.int(7);
  for (let i = 0; i < n; i++) {
    const len = r.len(binary && r.chance(0.1) ? 2048 : 48);
    args.push(binary && r.chance(0.3) ? r.bytes(len) : r.wordBytes(len));
  }
  return args;
}

export function multibulk(args: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) parts.push(Buffer.from(`$${a.length}\r\n`), a, Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

/** One argument written as sdssplitargs reads it: plain, "double quoted" with escapes, or 'single'. */
function inlineArg(r: Prng, a: Buffer): Buffer {
  const plainOk = a.length > 0 && a.every((c) => c > 32 && c !== 34 && c !== 39 && c < 127);
  const style = plainOk ? r.int(3) : 1 + r.int(2);
  if (style === 0) return a;
  if (style === 2 && !a.includes(0) && !a.includes(92)) {
    // Single quotes: only \' is an escape, so no backslash; no NUL (it would end the C line).
    let s = "'";
    for (const c of a) s += c === 39 ? "\\'" : String.fromCharCode(c);
    return Buffer.from(`${s}'`, 'latin1');
  }
  let s = '"';
  for (const c of a) {
    if (c === 34) s += '\\"';
    else if (c === 92) s += '\\\\';
    else if (c === 10) s += r.chance(0.5) ? '\\n' : '\\x0a';
    else if (c === 13) s += '\\r';
    else if (c === 9) s += '\\t';
    else if (c < 32 || c >= 127 || r.chance(0.05)) s += `\\x${c.toString(16).padStart(2, '0')}`;
    else s += String.fromCharCode(c);
  }
  return Buffer.from(`${s}"`, 'latin1');
}

export function inline(r: Prng, args: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  args.forEach((a, i) => {
    if (i > 0) parts.push(Buffer.from(r.pick([' ', '  ', '\t'])));
    parts.push(inlineArg(r, a));
  });
  parts.push(Buffer.from(r.chance(0.8) ? '\r\n' : '\n'));
  return Buffer.concat(parts);
}

/** A pipeline of valid commands, mixing multibulk and inline forms and empty requests. */
function validPipeline(r: Prng): RespInput {
  const n = 1 + r.len(r.chance(0.1) ? 40 : 6);
  const parts: Buffer[] = [];
  const expect: Buffer[][] = [];
  for (let i = 0; i < n; i++) {
    if (r.chance(0.05)) {
      parts.push(Buffer.from(r.pick(['*0\r\n', '*-1\r\n', '\r\n', '\n', '   \r\n'])));
      continue;
    }
    const asInline = r.chance(0.3);
    const args = randomArgs(r, !asInline);
    parts.push(asInline ? inline(r, args) : multibulk(args));
    expect.push(args);
  }
  return { bytes: Buffer.concat(parts), expect, kind: 'valid' };
}

/** Lengths at and beyond every limit, negative, non-numeric, and arrays nested in requests. */
function hostile(r: Prng): RespInput {
  const big = ['-1', '-2', '-9223372036854775808', '0', '536870912', '536870913', '1073741825', '2147483648', '4294967296', '9223372036854775807', '9223372036854775808', '99999999999999999999', '', ' ', '1x', '+5'];
  switch (r.int(8)) {
    case 0:
      return { bytes: Buffer.from(`*${r.pick(big)}\r\n`), expect: null, kind: 'mbulk-len' };
    case 1:
      return { bytes: Buffer.from(`*1\r\n$${r.pick(big)}\r\n${r.chance(0.5) ? 'x' : ''}`), expect: null, kind: 'bulk-len' };
    case 2: {
      const depth = 1 + r.int(2000);
      return { bytes: Buffer.from('*1\r\n'.repeat(depth) + '$4\r\nPING\r\n'), expect: null, kind: 'nested' };
    }
    case 3:
      // A line that never ends (count, bulk length or inline).
      return { bytes: Buffer.concat([Buffer.from(r.pick(['*', '*1\r\n$', '', 'SET "a'])), Buffer.alloc(r.chance(0.1) ? r.range(60_000, 70_000) : r.range(1, 4000), r.pick([49, 97, 32]))]), expect: null, kind: 'endless-line' };
    case 4:
      return { bytes: Buffer.from(r.pick(['SET "a b\r\n', "SET 'a\r\n", 'SET "a"b\r\n', "GET 'a'b\r\n", 'ECHO "\\x4"\r\n', 'ECHO "\\xzz"\r\n', 'ECHO "\\\r\n', 'ECHO "a\0b"\r\n']), 'latin1'), expect: null, kind: 'quotes' };
    case 5:
      return { bytes: Buffer.from(`*${r.range(1, 3)}\r\n${r.pick(['+', ':', '-', '*', '%', '~', '\0', '\r'])}x\r\n`, 'latin1'), expect: null, kind: 'not-dollar' };
    case 6:
      return { bytes: r.bytes(r.len(1024)), expect: null, kind: 'garbage' };
    default:
      return { bytes: Buffer.from(`*2\r\n$3\r\nGET\r\n$${r.range(0, 5)}\r\n${'y'.repeat(r.int(8))}${r.pick(['\r\n', '', 'zz', '\n\r'])}`), expect: null, kind: 'short-bulk' };
  }
}

export function respInput(r: Prng): RespInput {
  const roll = r.int(10);
  if (roll < 4) return validPipeline(r);
  if (roll < 7) {
    const v = validPipeline(r);
    return { bytes: mutate(r, v.bytes), expect: null, kind: 'mutated' };
  }
  return hostile(r);
}
