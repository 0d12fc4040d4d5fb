// In-process target: memcached request framing (src/protocol/memcache-framing.ts), text, meta and
// binary. Each input is framed whole and again split at random byte boundaries, driven as the
// memcached connection drives it (the data at an offset in a larger buffer with other bytes on both
// sides, frames re-read without being consumed as a stalled connection does). Both ways must give
// the same frames and the same end state; next() never throws, always makes progress, never reads
// outside [start, end); the bytes a connection must keep stay within the framer's bound; an
// undamaged pipeline gives exactly the requests it was built from.

import { FRAME, LINE_MAX_BYTES, LINE_MAX_GET_BYTES, MemcacheFramer, type FrameKind } from '../../src/protocol/memcache-framing.js';
import { HEADER_BYTES, OP } from '../../src/protocol/memcache.js';
import { memcacheInput } from './gen-memcache.js';
import { mutate, Prng, splitRandomly } from './prng.js';
import { check, type Target } from './target.js';

interface McInput {
  bytes: Buffer;
  maxItemBytes: number;
  /** The frames an undamaged input must give (describe() strings), or null. */
  expect: string[] | null;
}

interface Outcome {
  events: string[];
  /** How it ended: need-more with what is kept, or the frame that closes the connection. */
  end: string;
  /** Most bytes kept between chunks (a request not complete yet). */
  maxKept: number;
}

const ITEM_LIMITS = [64, 1024, 1024 * 1024];
/** Bodies and lines the framer may wait for beyond the item limit: a binary SET's extras and a
 * storage line in front of its data (framing's invariant, see memcache-framing.ts). */
const KEEP_SLACK_BYTES = HEADER_BYTES + 8 + LINE_MAX_BYTES + 2;

function terminal(kind: FrameKind): boolean {
  return kind === FRAME.BIN_BAD_MAGIC || kind === FRAME.BIN_INVALID || kind === FRAME.TEXT_LINE_TOO_LONG;
}

/** What a frame means to the server, independent of how the bytes were cut (null for SKIP). */
function describe(f: MemcacheFramer, kind: FrameKind, b: Uint8Array): string | null {
  if (kind === FRAME.NEED_MORE || kind === FRAME.BIN_PENDING) return `wait ${kind}`;
  const s = (from: number, to: number): string => Buffer.from(b.buffer, b.byteOffset + from, to - from).toString('latin1');
  switch (kind) {
    case FRAME.SKIP:
      return null;
    case FRAME.BIN_REQUEST: {
      const x = f.start + HEADER_BYTES;
      return `bin op=${f.opcode} key=${s(x + f.extLen, x + f.extLen + f.keyLen)} ext=${s(x, x + f.extLen)} value=${s(x + f.extLen + f.keyLen, x + f.bodyLen)} opaque=${f.opaque}`;
    }
    case FRAME.BIN_REFUSE:
      return `refuse op=${f.opcode} status=${f.status} opaque=${f.opaque}`;
    case FRAME.BIN_INVALID:
      return `invalid op=${f.opcode}${f.keyTooLong ? ' key-too-long' : ''}`;
    case FRAME.BIN_BAD_MAGIC:
      return 'bad-magic';
    case FRAME.TEXT_LINE_TOO_LONG:
      return `line-too-long${f.isGet ? ' get' : ''}`;
    case FRAME.TEXT_TOO_LARGE:
      return `too-large${f.noreply ? ' noreply' : ''}`;
    case FRAME.TEXT_LINE: {
      const t = f.tok;
      const words: string[] = [];
      for (let i = 0; i < t.n; i++) words.push(s(t.off[i]!, t.off[i]! + t.len[i]!));
      let out = `line [${words.join(' ')}]`;
      if (f.lineError !== null) out += ` error=${JSON.stringify(f.lineError)}`;
      if (f.dataLen >= 0) out += ` data=${s(f.dataOff, f.dataOff + f.dataLen)}${f.dataChunkOk ? '' : ' bad-chunk'}`;
      if (f.noreply) out += ' noreply';
      return out;
    }
    default:
      throw new Error(`next() returned ${kind}`);
  }
}

/** Feeds chunks as MemcacheConnection does: append, frame until NEED_MORE or BIN_PENDING, keep the
 * rest. The kept bytes sit at a random offset with random bytes before and after them. */
function frame(r: Prng, chunks: readonly Buffer[], maxItemBytes: number): Outcome {
  const f = new MemcacheFramer(maxItemBytes);
  const events: string[] = [];
  let kept: Buffer = Buffer.alloc(0);
  let maxKept = 0;
  for (const c of chunks) {
    const data = kept.length === 0 ? c : Buffer.concat([kept, c]);
    const head = r.int(16);
    const buf = Buffer.concat([r.bytes(head), data, r.bytes(r.int(16))]);
    const end = head + data.length;
    let pos = head;
    // Each frame but a terminal one consumes at least one byte.
    for (let guard = 0; ; guard++) {
      check(guard <= data.length + 2, `framer made no progress after ${guard} calls`);
      let kind = f.next(buf, pos, end);
      check(f.start === pos && f.end >= pos && f.end <= end, `frame [${f.start}, ${f.end}) outside [${pos}, ${end})`);
      // A stalled connection frames the same request again before consuming it: same answer.
      if ((kind === FRAME.NEED_MORE || kind === FRAME.BIN_PENDING || kind === FRAME.BIN_REQUEST || kind === FRAME.TEXT_LINE) && r.chance(0.1)) {
        const first = `${kind} ${f.end} ${describe(f, kind, buf)}`;
        kind = f.next(buf, pos, end);
        check(`${kind} ${f.end} ${describe(f, kind, buf)}` === first, `framing the same bytes again gave another frame: ${first}`);
      }
      if (kind === FRAME.NEED_MORE || kind === FRAME.BIN_PENDING) break;
      const ev = describe(f, kind, buf);
      if (ev !== null) events.push(ev);
      if (terminal(kind)) return { events, end: ev!, maxKept };
      check(f.end > pos, `frame kind ${kind} consumed nothing`);
      pos = f.end;
    }
    kept = Buffer.from(buf.subarray(pos, end));
    maxKept = Math.max(maxKept, kept.length);
    const tokCap = f.tok.off.length;
    // A line's length bounds its tokens (one per two bytes at most), and a line's length is bounded.
    check(tokCap <= LINE_MAX_GET_BYTES, `token arrays grew to ${tokCap}`);
  }
  return { events, end: `need-more kept=${kept.length} swallow=${f.swallowBytes} proto=${f.proto}`, maxKept };
}

// ---- inputs ----------------------------------------------------------------------------------

function u32be(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function binRequest(op: number, key: Buffer, extras: Buffer, value: Buffer, opaque: number, bodyLen?: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h[0] = 0x80;
  h[1] = op;
  h.writeUInt16BE(key.length, 2);
  h[4] = extras.length;
  h.writeUInt32BE(bodyLen ?? extras.length + key.length + value.length, 8);
  h.writeUInt32BE(opaque, 12);
  return Buffer.concat([h, extras, key, value]);
}

/** A pipeline that frames exactly as built: text and meta (data blocks of any bytes, CRLF
 * inside included) or binary (GET, SET, DELETE, NOOP with consistent lengths). */
function validInput(r: Prng): McInput {
  const n = 1 + r.len(16);
  const parts: Buffer[] = [];
  const expect: string[] = [];
  const binary = r.chance(0.4);
  for (let i = 0; i < n; i++) {
    const key = r.word(1 + r.int(40));
    if (binary) {
      const opaque = r.int(2 ** 32);
      const k = Buffer.from(key, 'latin1');
      const op = r.pick([OP.GET, OP.SET, OP.DELETE, OP.NOOP]);
      const extras = op === OP.SET ? r.bytes(8) : Buffer.alloc(0);
      const value = op === OP.SET ? r.bytes(r.len(300)) : Buffer.alloc(0);
      const kk = op === OP.NOOP ? Buffer.alloc(0) : k;
      parts.push(binRequest(op, kk, extras, value, opaque));
      expect.push(`bin op=${op} key=${kk.toString('latin1')} ext=${extras.toString('latin1')} value=${value.toString('latin1')} opaque=${opaque}`);
      continue;
    }
    const data = r.bytes(r.len(300));
    switch (r.int(4)) {
      case 0: {
        const noreply = r.chance(0.3);
        const line = `${r.pick(['set', 'add', 'replace', 'append', 'prepend'])} ${key} ${r.int(65536)} ${r.int(1000)} ${data.length}${noreply ? ' noreply' : ''}`;
        parts.push(Buffer.from(`${line}\r\n`, 'latin1'), data, Buffer.from('\r\n'));
        expect.push(`line [${line}] data=${data.toString('latin1')}${noreply ? ' noreply' : ''}`);
        break;
      }
      case 1: {
        const line = `ms ${key} ${data.length}${r.chance(0.5) ? ' T10 F3' : ''}`;
        parts.push(Buffer.from(`${line}\r\n`, 'latin1'), data, Buffer.from('\r\n'));
        expect.push(`line [${line}] data=${data.toString('latin1')}`);
        break;
      }
      case 2: {
        const line = `${r.pick(['get', 'gets'])} ${Array.from({ length: 1 + r.int(8) }, () => r.word(1 + r.int(20))).join(' ')}`;
        parts.push(Buffer.from(`${line}${r.chance(0.2) ? '\n' : '\r\n'}`, 'latin1'));
        expect.push(`line [${line}]`);
        break;
      }
      default: {
        const line = `mg ${key} v f t`;
        parts.push(Buffer.from(`${line}\r\n`, 'latin1'));
        expect.push(`line [${line}]`);
      }
    }
  }
  return { bytes: Buffer.concat(parts), maxItemBytes: 1024 * 1024, expect };
}

/** Lengths and lines at and beyond every limit: bodies of 2^32-1, data blocks over the item
 * limit (swallowed), lines without a newline past 2048 bytes (and get lines past 1 MiB, rarely:
 * they cost a megabyte each), SASL mechanisms over 32 bytes, keys over 250. */
function edgeInput(r: Prng, maxItemBytes: number): Buffer {
  const tail = r.chance(0.5) ? memcacheInput(r, r.pick(['text', 'binary'] as const)) : Buffer.alloc(0);
  switch (r.int(7)) {
    case 0: {
      const op = r.pick([OP.SET, OP.ADD, OP.APPEND, OP.SASL_AUTH, OP.SASL_STEP, OP.GET, 0x30, 0xee]);
      const body = r.pick([0xffffffff, 0xfffffff0, 0x7fffffff, maxItemBytes, maxItemBytes + 1, 2 * 1024 * 1024 + 1]);
      const extras = op === OP.SET || op === OP.ADD ? Buffer.alloc(8) : Buffer.alloc(0);
      return Buffer.concat([binRequest(op, Buffer.from('k'), extras, r.bytes(r.len(64)), 9, body), tail]);
    }
    case 1:
      return Buffer.concat([Buffer.from(`set k 0 0 ${r.pick([maxItemBytes, 2 ** 31 - 1, 4294967295, 2 ** 31])}${r.chance(0.5) ? ' noreply' : ''}\r\n`), r.bytes(r.len(2048)), tail]);
    case 2:
      return Buffer.concat([Buffer.from(r.pick(['set ', 'mg ', 'ms k ', 'incr ', ''])), Buffer.alloc(LINE_MAX_BYTES - 8 + r.int(32), 0x61), r.chance(0.5) ? Buffer.from('\r\n') : Buffer.alloc(0), tail]);
    case 3:
      if (r.chance(0.05)) return Buffer.concat([Buffer.from('get '), Buffer.alloc(LINE_MAX_GET_BYTES - 16 + r.int(32), 0x20 + r.int(2) * 0x41), r.chance(0.5) ? Buffer.from('\r\n') : Buffer.alloc(0)]);
      return Buffer.concat([Buffer.from(`get ${Array.from({ length: 1 + r.int(400) }, () => r.word(1 + r.int(8))).join(' ')}\r\n`), tail]);
    case 4:
      return Buffer.concat([binRequest(OP.SASL_AUTH, Buffer.from(r.word(30 + r.int(6))), Buffer.alloc(0), r.bytes(r.len(64)), 3), tail]);
    case 5:
      return Buffer.concat([binRequest(OP.GET, Buffer.from(r.word(248 + r.int(6))), Buffer.alloc(0), Buffer.alloc(0), 4), tail]);
    default:
      return Buffer.concat([Buffer.from(`set ${r.word(248 + r.int(6))} 0 0 1\r\nx\r\n`), u32be(r.int(2 ** 32)), tail]);
  }
}

export function memcacheFramingInput(r: Prng): McInput {
  const maxItemBytes = r.pick(ITEM_LIMITS);
  const kind = r.int(10);
  if (kind < 2) return validInput(r);
  if (kind < 4) {
    const v = validInput(r);
    return { bytes: mutate(r, v.bytes), maxItemBytes, expect: null };
  }
  if (kind < 5) return { bytes: edgeInput(r, maxItemBytes), maxItemBytes, expect: null };
  if (kind < 6) return { bytes: r.bytes(r.len(512)), maxItemBytes, expect: null };
  return { bytes: memcacheInput(r, r.pick(['text', 'meta', 'binary'] as const)), maxItemBytes, expect: null };
}

export function memcacheTarget(): Target {
  return {
    name: 'memcache',
    input: (seed: number): Buffer => memcacheFramingInput(new Prng(seed)).bytes,
    run(seed: number): void {
      const r = new Prng(seed);
      const inp = memcacheFramingInput(r);
      const whole = frame(r, [inp.bytes], inp.maxItemBytes);
      const split = frame(r, splitRandomly(r, inp.bytes), inp.maxItemBytes);
      check(whole.end === split.end, `whole input ends ${whole.end}, split input ${split.end}`);
      check(whole.events.length === split.events.length && whole.events.every((e, i) => e === split.events[i]), 'whole and split inputs give different frames');
      const bound = Math.max(LINE_MAX_GET_BYTES, inp.maxItemBytes + KEEP_SLACK_BYTES);
      check(split.maxKept <= bound, `the framer made the connection keep ${split.maxKept} bytes (bound ${bound}, item limit ${inp.maxItemBytes})`);
      if (inp.expect !== null) {
        check(whole.end.startsWith('need-more kept=0 swallow=0'), `valid input ended ${whole.end}`);
        const want = inp.expect;
        check(want.length === whole.events.length && want.every((e, i) => e === whole.events[i]), `valid input gave ${whole.events.length} frames, ${want.length} built (or other contents): first difference ${JSON.stringify(whole.events.find((e, i) => e !== want[i])?.slice(0, 200))}`);
      }
    },
  };
}
