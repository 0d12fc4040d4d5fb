// In-process target: the RESP request parser (src/protocol/resp-parser.ts). Each input is parsed
// whole and again split at random byte boundaries; both must give the same commands and the same
// end (need-more or the same protocol error), undamaged inputs must give exactly the commands that
// were encoded, every next() must make progress, and no input may make the parser hold far more
// memory than it was fed.

import { DEFAULT_PARSER_LIMITS, PARSE_COMMAND, PARSE_ERROR, PARSE_NEED_MORE, RespParser, type ParserLimits } from '../../src/protocol/resp-parser.js';
import { Prng, splitRandomly } from './prng.js';
import { respInput } from './gen-resp.js';
import { check, type Target } from './target.js';

interface Outcome {
  commands: string[];
  end: string;
  /** Most external (Buffer) memory seen above the start, bytes. */
  heldBytes: number;
}

/** External memory a parser may hold beyond what it was fed (its growable buffers' slack). */
const SLACK_BYTES = 8 * 1024 * 1024;

function parse(chunks: readonly Buffer[], limits: ParserLimits, measure: boolean): Outcome {
  const p = new RespParser(limits);
  const commands: string[] = [];
  const base = measure ? process.memoryUsage().arrayBuffers : 0;
  let heldBytes = 0;
  let end = 'need-more';
  let fed = 0;
  outer: for (const c of chunks) {
    p.feed(c);
    fed += c.length;
    // Each command consumes at least one byte: more next() calls than bytes means no progress.
    for (let guard = 0; ; guard++) {
      check(guard <= c.length + 2, `parser made no progress after ${guard} calls`);
      const r = p.next();
      if (r === PARSE_NEED_MORE) break;
      if (r === PARSE_ERROR) {
        end = `error: ${p.error}`;
        break outer;
      }
      check(r === PARSE_COMMAND, `next() returned ${r}`);
      check(p.argc > 0, 'a command with no arguments');
      const args: string[] = [];
      for (let a = 0; a < p.argc; a++) {
        const off = p.argOff[a]!;
        const len = p.argLen[a]!;
        check(off >= 0 && len >= 0 && off + len <= p.buf.length, `argument ${a} out of its buffer`);
        args.push(p.buf.toString('latin1', off, off + len));
      }
      commands.push(JSON.stringify(args));
    }
    check(p.pending() <= fed, `pending ${p.pending()} > fed ${fed}`);
    if (measure) heldBytes = Math.max(heldBytes, process.memoryUsage().arrayBuffers - base);
  }
  return { commands, end, heldBytes };
}

export function respTarget(): Target {
  const input = (seed: number): Buffer => respInput(new Prng(seed)).bytes;
  return {
    name: 'resp',
    input,
    run(seed: number): void {
      const r = new Prng(seed);
      const inp = respInput(r);
      const measure = inp.kind === 'bulk-len' || inp.kind === 'endless-line';
      const whole = parse([inp.bytes], DEFAULT_PARSER_LIMITS, false);
      const split = parse(splitRandomly(r, inp.bytes), DEFAULT_PARSER_LIMITS, measure);
      check(whole.end === split.end, `whole input ends with ${whole.end}, split input with ${split.end}`);
      check(whole.commands.length === split.commands.length && whole.commands.every((c, i) => c === split.commands[i]), 'whole and split inputs parse to different commands');
      if (measure) check(split.heldBytes <= SLACK_BYTES + 4 * inp.bytes.length, `parser holds ${split.heldBytes} bytes after being fed ${inp.bytes.length}`);
      if (inp.expect !== null) {
        check(whole.end === 'need-more', `valid input ended with ${whole.end}`);
        const want = inp.expect.map((args) => JSON.stringify(args.map((a) => a.toString('latin1'))));
        check(want.length === whole.commands.length && want.every((c, i) => c === whole.commands[i]), `valid input parsed to ${whole.commands.length} commands, ${want.length} encoded (or different arguments)`);
      }
    },
  };
}
