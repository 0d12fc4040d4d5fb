// MemcacheFramer: request boundaries of the text, meta and binary protocols, each input framed
// whole, byte by byte, and split in two at every boundary (the same frames every way); the limits
// (item size, key length, line length, SASL lengths, 0xFFFFFFFF body lengths) decided from the
// header or line alone, and refused requests swallowed without being buffered.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { splits } from './splits.js';
import { FRAME, LINE_MAX_BYTES, MemcacheFramer } from '../../src/protocol/memcache-framing.js';
import { OP, STATUS } from '../../src/protocol/memcache.js';

const MAX_ITEM = 1024;
const b = (s: string): Buffer => Buffer.from(s, 'latin1');

interface Run {
  events: string[];
  /** The most bytes the driver ever had to keep buffered. */
  maxPending: number;
}

/** Feeds chunks as a connection does (append, frame until NEED_MORE, drop what was consumed). */
function frame(chunks: Buffer[], maxItem = MAX_ITEM): Run {
  const f = new MemcacheFramer(maxItem);
  const events: string[] = [];
  let pending = Buffer.alloc(0);
  let maxPending = 0;
  let stopped = false;
  for (const c of chunks) {
    if (stopped) break;
    pending = Buffer.concat([pending, c]);
    let pos = 0;
    for (;;) {
      const kind = f.next(pending, pos, pending.length);
      if (kind === FRAME.NEED_MORE || kind === FRAME.BIN_PENDING) break;
      assert.ok(f.end > pos || kind === FRAME.BIN_BAD_MAGIC || kind === FRAME.BIN_INVALID || kind === FRAME.TEXT_LINE_TOO_LONG, 'progress');
      assert.ok(f.end <= pending.length, 'never past the end');
      const ev = describe(f, kind, pending);
      if (ev !== null) events.push(ev);
      if (kind === FRAME.BIN_BAD_MAGIC || kind === FRAME.BIN_INVALID || kind === FRAME.TEXT_LINE_TOO_LONG) {
        stopped = true;
        break;
      }
      pos = f.end;
    }
    pending = pending.subarray(pos);
    maxPending = Math.max(maxPending, pending.length);
  }
  return { events, maxPending };
}

function describe(f: MemcacheFramer, kind: number, buf: Buffer): string | null {
  switch (kind) {
    case FRAME.SKIP:
      return null;
    case FRAME.BIN_REQUEST: {
      const x = f.start + 24;
      const key = buf.toString('latin1', x + f.extLen, x + f.extLen + f.keyLen);
      const value = buf.toString('latin1', x + f.extLen + f.keyLen, x + f.bodyLen);
      return `bin op=${f.opcode} key=${key} ext=${f.extLen} value=${value} opaque=${f.opaque}`;
    }
    case FRAME.BIN_REFUSE:
      return `refuse op=${f.opcode} status=${f.status}`;
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
      for (let i = 0; i < t.n; i++) words.push(buf.toString('latin1', t.off[i]!, t.off[i]! + t.len[i]!));
      let s = `line [${words.join(' ')}]`;
      if (f.lineError !== null) s += ` error=${JSON.stringify(f.lineError)}`;
      if (f.dataLen >= 0) s += ` data=${buf.toString('latin1', f.dataOff, f.dataOff + f.dataLen)}${f.dataChunkOk ? '' : ' bad-chunk'}`;
      if (f.noreply) s += ' noreply';
      return s;
    }
    default:
      throw new Error(`unexpected frame kind ${kind}`);
  }
}


/** Asserts every way of cutting `input` gives `expected`. */
function check(input: Buffer | string, expected: string[], maxItem = MAX_ITEM): void {
  const buf = typeof input === 'string' ? b(input) : input;
  for (const chunks of splits(buf)) {
    assert.equal(frame(chunks, maxItem).events, expected, `chunks ${JSON.stringify(chunks.map((c) => c.length).slice(0, 4))}`);
  }
}

function bin(op: number, o: { key?: string; extras?: Buffer; value?: string; bodyLen?: number; keyLen?: number; opaque?: number } = {}): Buffer {
  const k = b(o.key ?? '');
  const e = o.extras ?? Buffer.alloc(0);
  const v = b(o.value ?? '');
  const h = Buffer.alloc(24);
  h[0] = 0x80;
  h[1] = op;
  h.writeUInt16BE(o.keyLen ?? k.length, 2);
  h[4] = e.length;
  h.writeUInt32BE(o.bodyLen ?? e.length + k.length + v.length, 8);
  h.writeUInt32BE(o.opaque ?? 7, 12);
  return Buffer.concat([h, e, k, v]);
}
const E8 = Buffer.alloc(8);

// ---- text and meta ------------------------------------------------------------------------------

test('text: storage with data blocks, retrieval, meta, noreply', () => {
  check('set k 0 0 5\r\nhello\r\nget k j\r\nms m 3 T10\r\nabc\r\ncas k 1 2 1 99 noreply\r\nx\r\nmg m v\nappend k 0 0 0\r\n\r\n', [
    'line [set k 0 0 5] data=hello',
    'line [get k j]',
    'line [ms m 3 T10] data=abc',
    'line [cas k 1 2 1 99 noreply] data=x noreply',
    'line [mg m v]',
    'line [append k 0 0 0] data=',
  ]);
});

test('text: a data block with CRLF inside is taken by its length; a bad chunk is reported', () => {
  check('set k 0 0 4\r\n\r\n\r\n\r\nget k\r\n', ['line [set k 0 0 4] data=\r\n\r\n', 'line [get k]']);
  // memcached consumes length + 2 bytes, then reads on: the "\n" left is an empty line.
  check('set k 0 0 3\r\nabcd\r\nget k\r\n', ['line [set k 0 0 3] data=abc bad-chunk', 'line []', 'line [get k]']);
});

test('text: storage lines that cannot be parsed carry their error and no data', () => {
  check('set k 0 0\r\nset k abc 0 1\r\nset k 0 0 -1\r\nms k\r\nms k x\r\n', [
    'line [set k 0 0] error="ERROR\\r\\n"',
    'line [set k abc 0 1] error="CLIENT_ERROR bad command line format\\r\\n"',
    'line [set k 0 0 -1] error="CLIENT_ERROR bad command line format\\r\\n"',
    'line [ms k] error="CLIENT_ERROR bad command line format\\r\\n"',
    'line [ms k x] error="CLIENT_ERROR bad command line format\\r\\n"',
  ]);
  check(`set ${'k'.repeat(251)} 0 0 1\r\nx\r\n`, [`line [set ${'k'.repeat(251)} 0 0 1] error="CLIENT_ERROR bad command line format\\r\\n"`, 'line [x]']);
});

test('text: data over the item limit is refused from the line and swallowed, never buffered', () => {
  const data = 'x'.repeat(5000);
  check(`set big 0 0 5000 noreply\r\n${data}\r\nget k\r\n`, ['too-large noreply', 'line [get k]']);
  check(`ms big 5000 q\r\n${data}\r\nmn\r\n`, ['too-large', 'line [mn]']);
  // 2^31 - 1 bytes announced: refused at once; the framer holds nothing while swallowing.
  const chunks = [b('set k 0 0 2147483646\r\n'), ...Array.from({ length: 64 }, () => Buffer.alloc(64 * 1024, 0x61))];
  const r = frame(chunks);
  assert.equal(r.events, ['too-large']);
  assert.ok(r.maxPending < 64, `buffered ${r.maxPending} bytes`);
  // Exactly at the limit is accepted (key + value + 59 bytes of overhead = the item size).
  const fits = 'y'.repeat(MAX_ITEM - 59 - 1);
  assert.equal(frame([b(`set k 0 0 ${fits.length}\r\n${fits}\r\n`)]).events, [`line [set k 0 0 ${fits.length}] data=${fits}`]);
  assert.equal(frame([b(`set k 0 0 ${fits.length + 1}\r\n${fits}y\r\n`)]).events, ['too-large']);
});

test('text: a line without a newline is bounded (2048 bytes, 1 MiB for get)', () => {
  const long = b('x'.repeat(LINE_MAX_BYTES + 1));
  assert.equal(frame([long]).events, ['line-too-long']);
  assert.equal(frame([long.subarray(0, 1000), long.subarray(1000)]).events, ['line-too-long']);
  assert.equal(frame([b('x'.repeat(LINE_MAX_BYTES))]).events, [], 'at the limit it still waits');
  const keys = Array.from({ length: 10_000 }, (_, i) => `key:${i}`).join(' ');
  const chunks: Buffer[] = [];
  const line = b(`get ${keys}\r\n`);
  for (let i = 0; i < line.length; i += 1000) chunks.push(line.subarray(i, i + 1000));
  assert.is(frame(chunks).events.length, 1, 'a long get line is one frame');
  const huge = b(`get ${'k '.repeat(600_000)}`);
  assert.equal(frame([huge]).events, ['line-too-long get']);
});

// ---- binary -------------------------------------------------------------------------------------

test('binary: requests with extras, keys and values; quiet opcodes', () => {
  const input = Buffer.concat([
    bin(OP.SET, { key: 'k', extras: E8, value: 'hello' }),
    bin(OP.GETKQ, { key: 'k', opaque: 9 }),
    bin(OP.NOOP),
    bin(OP.INCREMENT, { key: 'n', extras: Buffer.alloc(20) }),
  ]);
  check(input, [
    'bin op=1 key=k ext=8 value=hello opaque=7',
    'bin op=13 key=k ext=0 value= opaque=9',
    'bin op=10 key= ext=0 value= opaque=7',
    'bin op=5 key=n ext=20 value= opaque=7',
  ]);
});

test('binary: unknown opcodes and values over the item limit are refused and their bodies swallowed', () => {
  const input = Buffer.concat([
    bin(0x50, { value: 'body of an unknown command' }),
    bin(OP.SET, { key: 'k', extras: E8, value: 'v'.repeat(MAX_ITEM) }),
    bin(OP.APPENDQ, { key: 'k', value: 'w'.repeat(MAX_ITEM) }),
    bin(OP.GET, { key: 'k' }),
  ]);
  check(input, [
    `refuse op=80 status=${STATUS.UNKNOWN_COMMAND}`,
    `refuse op=1 status=${STATUS.E2BIG}`,
    `refuse op=25 status=${STATUS.E2BIG}`,
    'bin op=0 key=k ext=0 value= opaque=7',
  ]);
});

test('binary: a body length of 0xFFFFFFFF is decided from the header, nothing is buffered for it', () => {
  const flood = Array.from({ length: 64 }, () => Buffer.alloc(64 * 1024, 0x61));
  for (const [op, extras, key, expected] of [
    [OP.SET, E8, 'k', `refuse op=1 status=${STATUS.E2BIG}`],
    [0x50, Buffer.alloc(0), '', `refuse op=80 status=${STATUS.UNKNOWN_COMMAND}`],
    [OP.SASL_AUTH, Buffer.alloc(0), 'PLAIN', `refuse op=33 status=${STATUS.ENOMEM}`],
    [OP.SASL_STEP, Buffer.alloc(0), 'PLAIN', `refuse op=34 status=${STATUS.ENOMEM}`],
  ] as const) {
    const head = bin(op, { extras, key, bodyLen: 0xffffffff });
    const r = frame([head, ...flood]);
    assert.equal(r.events, [expected]);
    assert.ok(r.maxPending < 24, `op ${op}: buffered ${r.maxPending} bytes`);
  }
  // A GET cannot have a body: EINVAL and close (memcached).
  assert.equal(frame([bin(OP.GET, { key: 'k', bodyLen: 0xffffffff })]).events, ['invalid op=0']);
});

test('binary: key over 250 bytes, bad shapes, SASL mechanism over 32 bytes, bad magic', () => {
  assert.equal(frame([bin(OP.GET, { key: 'x'.repeat(251) })]).events, ['invalid op=0 key-too-long']);
  assert.equal(frame([bin(OP.GET, { keyLen: 300, bodyLen: 300 })]).events, ['invalid op=0 key-too-long']);
  assert.equal(frame([bin(OP.GET, { keyLen: 5, bodyLen: 2 })]).events, ['invalid op=0']);
  assert.equal(frame([bin(OP.NOOP, { value: 'x' })]).events, ['invalid op=10']);
  assert.equal(frame([bin(OP.SET, { key: 'k' })]).events, ['invalid op=1'], 'SET without its 8 bytes of extras');
  check(Buffer.concat([bin(OP.SASL_AUTH, { key: 'M'.repeat(33), value: 'data' }), bin(OP.NOOP)]),
    [`refuse op=33 status=${STATUS.EINVAL}`, 'bin op=10 key= ext=0 value= opaque=7']);
  const bad = bin(OP.NOOP);
  bad[0] = 0x81;
  check(Buffer.concat([bin(OP.NOOP), bad, bin(OP.NOOP)]), ['bin op=10 key= ext=0 value= opaque=7', 'bad-magic']);
});

test('binary: a header within limits whose body is on its way is BIN_PENDING with its fields', () => {
  const f = new MemcacheFramer(MAX_ITEM);
  const head = bin(OP.SET, { key: 'k', extras: E8, bodyLen: 8 + 1 + 500, opaque: 0xabcdef });
  assert.is(f.next(head, 0, head.length), FRAME.BIN_PENDING);
  assert.is(f.op, OP.SET);
  assert.is(f.opaque, 0xabcdef);
  assert.is(f.end, 0, 'nothing consumed');
  assert.is(f.next(head, 0, 10), FRAME.NEED_MORE);
});

test('the first byte picks the protocol for the connection', () => {
  // A text connection reads a later 0x80 as text; a binary one a later letter as a bad magic.
  check(b('version\r\n\x80 x\r\n'), ['line [version]', 'line [\x80 x]']);
  check(Buffer.concat([bin(OP.NOOP), b('version\r\n'.repeat(3))]), ['bin op=10 key= ext=0 value= opaque=7', 'bad-magic']);
});

// ---- seeded random inputs ------------------------------------------------------------------------

/** mulberry32: a small seeded generator, so that a failure replays exactly. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const TEXT_PIECES = [
  'set k 0 0 5\r\nhello\r\n', 'get a b c\r\n', 'ms m 3 T1\r\nabc\r\n', 'mg m v k\r\n', 'cas k 0 0 1 5\r\nx\r\n',
  'incr n 1\r\n', 'set k 0 0 2000\r\n', 'append k 0 0 2 noreply\r\nab\r\n', 'delete k\r\n', '\r\n', 'set k 0 0 -1\r\n',
];
const BIN_PIECES = [
  bin(OP.SET, { key: 'k', extras: E8, value: 'value' }), bin(OP.GETK, { key: 'k' }), bin(OP.NOOP), bin(0x50, { value: 'zz' }),
  bin(OP.SASL_AUTH, { key: 'PLAIN', value: '\0u\0p' }), bin(OP.SET, { key: 'k', extras: E8, bodyLen: 0xffffffff }),
  bin(OP.APPEND, { key: 'k', value: 'x'.repeat(2000) }), bin(OP.DELETE, { key: 'k' }),
];

/** A random sequence of requests, some bytes of it changed. */
function randomInput(r: () => number, binary: boolean): Buffer {
  const parts: Buffer[] = [];
  const n = 1 + Math.floor(r() * 12);
  for (let i = 0; i < n; i++) {
    parts.push(binary ? BIN_PIECES[Math.floor(r() * BIN_PIECES.length)]! : b(TEXT_PIECES[Math.floor(r() * TEXT_PIECES.length)]!));
  }
  const input = Buffer.concat(parts);
  const mutations = Math.floor(r() * 4);
  for (let i = 0; i < mutations; i++) input[Math.floor(r() * input.length)] = Math.floor(r() * 256);
  return input;
}

test('seeded random inputs: same frames however they are cut, nothing past the end, bounded buffering', () => {
  const r = rng(0x13);
  for (let i = 0; i < 3000; i++) {
    const input = randomInput(r, i % 2 === 1);
    const whole = frame([input]);
    const chunks: Buffer[] = [];
    for (let p = 0; p < input.length;) {
      const n = 1 + Math.floor(r() * 300);
      chunks.push(input.subarray(p, p + n));
      p += n;
    }
    const cut = frame(chunks);
    assert.equal(cut.events, whole.events, `input ${i}: ${JSON.stringify(input.toString('latin1').slice(0, 200))}`);
    assert.ok(cut.maxPending <= MAX_ITEM + LINE_MAX_BYTES + 300, `input ${i}: buffered ${cut.maxPending}`);
  }
});

test.run();
