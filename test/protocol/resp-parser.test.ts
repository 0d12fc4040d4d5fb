// RespParser: every input parsed whole, byte by byte, split in two at every boundary, and fed in
// several chunks before parsing; malformed inputs give Redis's exact error texts (checked against
// redis-server 7.0); limits; a big bulk arriving in 64 KiB chunks.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { splits } from './splits.js';
import {
  RespParser,
  PARSE_COMMAND,
  PARSE_ERROR,
  PARSE_NEED_MORE,
  DEFAULT_PARSER_LIMITS,
  type ParserLimits,
} from '../../src/protocol/resp-parser.js';

type Event = string[] | { inline: string[] } | { error: string };
const E = (error: string): Event => ({ error });

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

function limits(over: Partial<ParserLimits> = {}): ParserLimits {
  return { ...DEFAULT_PARSER_LIMITS, ...over };
}

function drain(p: RespParser, out: Event[]): boolean {
  for (;;) {
    const r = p.next();
    if (r === PARSE_NEED_MORE) return true;
    if (r === PARSE_ERROR) {
      out.push({ error: p.error });
      return false;
    }
    assert.is(r, PARSE_COMMAND);
    const args: string[] = [];
    for (let i = 0; i < p.argc; i++) {
      const off = p.argOff[i]!;
      const len = p.argLen[i]!;
      assert.ok(off >= 0 && off + len <= p.buf.length, 'argument inside buf');
      args.push(p.buf.toString('latin1', off, off + len));
    }
    out.push(p.inline ? { inline: args } : args);
  }
}

/**
 * Parses `chunks`, draining after each feed (eager) or only after all feeds (lazy); when the
 * parser is still alive at the end, asserts that `pendingAfter` bytes are left unconsumed.
 */
function parseChunks(chunks: Buffer[], lim = limits(), eager = true, pendingAfter = 0): Event[] {
  const p = new RespParser(lim);
  const out: Event[] = [];
  let alive = true;
  for (const c of chunks) {
    p.feed(c);
    if (eager && alive) alive = drain(p, out);
  }
  if (alive) alive = drain(p, out);
  if (!alive) {
    assert.is(p.next(), PARSE_ERROR, 'parser stays dead');
  } else {
    assert.is(p.pending(), pendingAfter, 'pending()');
  }
  return out;
}


/** Asserts every way of chunking `input`, eager and lazy, yields `expected`. */
function check(input: string | Buffer, expected: Event[], lim = limits(), pendingAfter = 0): void {
  const buf = typeof input === 'string' ? b(input) : input;
  for (const chunks of splits(buf)) {
    for (const eager of [true, false]) {
      const got = parseChunks(
        chunks.map((c) => Buffer.from(c)),
        lim,
        eager,
        pendingAfter,
      );
      assert.equal(got, expected, `chunks ${JSON.stringify(chunks.map((c) => c.length))} eager=${eager}`);
    }
  }
}

const mb = (...args: string[]): string =>
  `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`).join('');

// --- multibulk -----------------------------------------------------------------------------------

test('multibulk: simple command', () => {
  check(mb('SET', 'k', 'value'), [['SET', 'k', 'value']]);
});

test('multibulk: binary payload with CRLF inside, and empty bulk', () => {
  check(mb('ECHO', 'a\r\nb\r\n\x00\xff'), [['ECHO', 'a\r\nb\r\n\x00\xff']]);
  check(mb('ECHO', ''), [['ECHO', '']]);
  check(mb('SET', '', '$3\r\n*1'), [['SET', '', '$3\r\n*1']]);
});

test('multibulk: many commands in one chunk', () => {
  const input = mb('PING') + mb('SET', 'a', '1') + mb('GET', 'a') + mb('DEL', 'a', 'b', 'c');
  check(input, [['PING'], ['SET', 'a', '1'], ['GET', 'a'], ['DEL', 'a', 'b', 'c']]);
});

test('multibulk: *0 and negative counts are skipped silently', () => {
  check('*0\r\n*-1\r\n' + mb('PING') + '*-5\r\n*0\r\n', [['PING']]);
  check('*-9223372036854775808\r\n' + mb('PING'), [['PING']]);
});

test('multibulk: trailing two bytes after a payload are not checked (as Redis)', () => {
  check('*1\r\n$4\r\nPINGXY' + mb('PING'), [['PING'], ['PING']]);
  // Lines end at CR (LF alone is not enough): the count line here is "1\n$4\nPING".
  check('*1\n$4\nPING\r\n', [E('ERR Protocol error: invalid multibulk length')]);
});

test('multibulk: more than 16 arguments grows the offset arrays', () => {
  const args = Array.from({ length: 100 }, (_, i) => `arg${i}`);
  check(mb('MSET', ...args), [['MSET', ...args]]);
});

test('multibulk: a partial command is pending', () => {
  check(mb('PING') + '*2\r\n$3\r\nGET\r\n$1\r', [['PING']], limits(), 16);
});

// --- inline --------------------------------------------------------------------------------------

test('inline: plain words, CRLF or LF, spaces and tabs', () => {
  check('PING\r\n', [{ inline: ['PING'] }]);
  check('SET k v\n', [{ inline: ['SET', 'k', 'v'] }]);
  check('  set \t a   b  \r\n', [{ inline: ['set', 'a', 'b'] }]);
  check('ECHO a\x0bb\r\n', [{ inline: ['ECHO', 'a\x0bb'] }]); // \v separates nothing inside a word
  check('ECHO a\rb\r\n', [{ inline: ['ECHO', 'a', 'b'] }]); // a bare CR does
});

test('inline: empty and blank lines give no command', () => {
  check('\r\n\n   \r\n\t\nPING\r\n', [{ inline: ['PING'] }]);
});

test('inline: quotes and escapes', () => {
  check('SET "a b" \'c d\'\r\n', [{ inline: ['SET', 'a b', 'c d'] }]);
  check('ECHO "\\x41\\x4a\\n\\r\\t\\b\\a\\\\\\"\\q"\r\n', [{ inline: ['ECHO', 'AJ\n\r\t\b\x07\\"q'] }]);
  check('ECHO "\\xZZ" "\\x4"\r\n', [{ inline: ['ECHO', 'xZZ', 'x4'] }]);
  check("ECHO 'it\\'s' 'a\\b'\r\n", [{ inline: ['ECHO', "it's", 'a\\b'] }]);
  check('ECHO foo"bar baz" x\r\n', [{ inline: ['ECHO', 'foobar baz', 'x'] }]);
  check('ECHO "" \'\'\r\n', [{ inline: ['ECHO', '', ''] }]);
  check('ECHO "a"\tb\r\n', [{ inline: ['ECHO', 'a', 'b'] }]);
  check('ECHO "x\xffy"\r\n', [{ inline: ['ECHO', 'x\xffy'] }]);
});

test('inline: a NUL byte ends the line (sdssplitargs works on C strings)', () => {
  check('ECHO a\x00b c\r\n', [{ inline: ['ECHO', 'a'] }]);
});

test('inline and multibulk interleaved', () => {
  check('PING\r\n' + mb('GET', 'k') + 'GET "k"\n', [{ inline: ['PING'] }, ['GET', 'k'], { inline: ['GET', 'k'] }]);
});

// --- errors --------------------------------------------------------------------------------------

test('errors: multibulk headers', () => {
  check('*x\r\n', [E('ERR Protocol error: invalid multibulk length')]);
  check('*01\r\n', [E('ERR Protocol error: invalid multibulk length')]);
  check('*+1\r\n', [E('ERR Protocol error: invalid multibulk length')]);
  check('*\r\n', [E('ERR Protocol error: invalid multibulk length')]);
  check('*99999999999999999999\r\n', [E('ERR Protocol error: invalid multibulk length')]);
  check('*1\r\n+foo\r\n', [E("ERR Protocol error: expected '$', got '+'")]);
  check('*1\r\n\r\n', [E("ERR Protocol error: expected '$', got ' '")]);
  check('*1\r\nx\r\n', [E("ERR Protocol error: expected '$', got 'x'")]);
  check('*1\r\n$x\r\n', [E('ERR Protocol error: invalid bulk length')]);
  check('*1\r\n$-1\r\n', [E('ERR Protocol error: invalid bulk length')]);
  check('*1\r\n$+3\r\n', [E('ERR Protocol error: invalid bulk length')]);
  check('*1\r\n$04\r\n', [E('ERR Protocol error: invalid bulk length')]);
  check('*1\r\n$4 \r\n', [E('ERR Protocol error: invalid bulk length')]);
});

test('errors: commands before the error are still returned', () => {
  check(mb('PING') + '*1\r\n$x\r\n' + mb('PING'), [['PING'], E('ERR Protocol error: invalid bulk length')]);
});

test('errors: unbalanced quotes', () => {
  const err = E('ERR Protocol error: unbalanced quotes in request');
  check('ECHO "a\r\n', [err]);
  check("ECHO 'a\r\n", [err]);
  check('ECHO "a"b\r\n', [err]);
  check("ECHO 'a'b\r\n", [err]);
  check("ECHO 'a\\\\'\r\n", [err]);
  check('ECHO "a\\"\r\n', [err]);
  check('PING\r\nECHO "\x00"\r\n', [{ inline: ['PING'] }, err]);
});

test('limits: multibulk count and bulk length', () => {
  const lim = limits({ maxMultibulkLen: 3, maxBulkLen: 5 });
  check(mb('a', 'b', 'c'), [['a', 'b', 'c']], lim);
  check('*4\r\n', [E('ERR Protocol error: invalid multibulk length')], lim);
  check(mb('12345'), [['12345']], lim);
  check('*1\r\n$6\r\n', [E('ERR Protocol error: invalid bulk length')], lim);
});

test('limits: lines without a terminator', () => {
  const lim = limits({ maxInlineLen: 16 });
  // At most maxInlineLen bytes before the LF, a CR included (what Redis enforces when the line
  // arrives in pieces; chunk-independent here).
  check('x'.repeat(16) + '\n', [{ inline: ['x'.repeat(16)] }], lim);
  check('x'.repeat(15) + '\r\n', [{ inline: ['x'.repeat(15)] }], lim);
  check('x'.repeat(16) + '\r\n', [E('ERR Protocol error: too big inline request')], lim);
  check('x'.repeat(17), [E('ERR Protocol error: too big inline request')], lim);
  check('x'.repeat(17) + '\n', [E('ERR Protocol error: too big inline request')], lim);
  check('x'.repeat(16), [], lim, 16);
  check('*' + '1'.repeat(16), [E('ERR Protocol error: too big mbulk count string')], lim);
  check('*' + '1'.repeat(15), [], lim, 16);
  check('*1\r\n$' + '1'.repeat(16), [E('ERR Protocol error: too big bulk count string')], lim);
  // A bulk payload is not a line: it may be longer than maxInlineLen.
  check(mb('y'.repeat(100)), [['y'.repeat(100)]], lim);
});

test('limits: query buffer of one unfinished command', () => {
  const lim = limits({ maxQueryBufferLen: 100 });
  const big = mb('SET', 'k', 'v'.repeat(150));
  // Complete commands are fine in any amount when they arrive whole.
  assert.equal(parseChunks([b(big + big)], lim), [['SET', 'k', 'v'.repeat(150)], ['SET', 'k', 'v'.repeat(150)]]);
  // An unfinished command holding more than the limit is an error.
  const p = new RespParser(lim);
  p.feed(b(big.slice(0, 90)));
  assert.is(p.next(), PARSE_NEED_MORE);
  assert.is(p.pending(), 90);
  p.feed(b(big.slice(90, 120)));
  assert.is(p.next(), PARSE_ERROR);
  assert.is(p.error, 'ERR Protocol error: client query buffer limit exceeded');
  p.feed(b(big.slice(120)));
  assert.is(p.next(), PARSE_ERROR);
  // Bytes of complete commands before it do not count.
  const q = new RespParser(lim);
  q.feed(b(big + big.slice(0, 60)));
  assert.is(q.next(), PARSE_COMMAND);
  assert.is(q.next(), PARSE_NEED_MORE);
  assert.is(q.pending(), 60);
});

// --- buffering -----------------------------------------------------------------------------------

test('zero copy: whole commands are parsed inside the fed chunk', () => {
  const p = new RespParser(limits());
  const chunk = b(mb('GET', 'a') + mb('GET', 'b') + '*2\r\n$3\r\nGET\r\n$1');
  p.feed(chunk);
  assert.is(p.next(), PARSE_COMMAND);
  assert.is(p.buf, chunk);
  assert.is(p.next(), PARSE_COMMAND);
  assert.is(p.buf, chunk);
  assert.is(p.next(), PARSE_NEED_MORE);
  const chunk2 = b('\r\nc\r\n' + mb('GET', 'd'));
  p.feed(chunk2);
  assert.is(p.next(), PARSE_COMMAND); // straddles: copied
  assert.is.not(p.buf, chunk2);
  assert.is(p.buf.toString('latin1', p.argOff[1]!, p.argOff[1]! + p.argLen[1]!), 'c');
  assert.is(p.next(), PARSE_COMMAND); // wholly in chunk2: in place again
  assert.is(p.buf, chunk2);
  assert.is(p.buf.toString('latin1', p.argOff[1]!, p.argOff[1]! + p.argLen[1]!), 'd');
  assert.is(p.next(), PARSE_NEED_MORE);
  assert.is(p.pending(), 0);
});

test('inline arguments without quotes stay in the chunk; quoted ones go to scratch', () => {
  const p = new RespParser(limits());
  const chunk = b('SET a b\r\nSET "a" b\r\n');
  p.feed(chunk);
  assert.is(p.next(), PARSE_COMMAND);
  assert.is(p.buf, chunk);
  assert.is(p.next(), PARSE_COMMAND);
  assert.is.not(p.buf, chunk);
  assert.is(p.argc, 3);
  const args = [0, 1, 2].map((i) => p.buf.toString('latin1', p.argOff[i]!, p.argOff[i]! + p.argLen[i]!));
  assert.equal(args, ['SET', 'a', 'b']);
});

test('big bulk: 5 MB in 64 KiB chunks, reserved once, linear', () => {
  const size = 5 * 1024 * 1024;
  const payload = Buffer.alloc(size);
  for (let i = 0; i < size; i++) payload[i] = (i * 7 + 3) & 0xff;
  const input = Buffer.concat([b(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${size}\r\n`), payload, b('\r\n' + mb('PING'))]);
  const p = new RespParser(limits());
  const started = process.hrtime.bigint();
  let commands = 0;
  // Each new query buffer is a copy of everything received so far: a few (the reserve doubles)
  // keep the parse linear; one per chunk made a 64 MB SET take 5.7 s.
  const buffers = new Set<Buffer>();
  for (let off = 0; off < input.length; off += 65536) {
    p.feed(Buffer.from(input.subarray(off, off + 65536)));
    for (;;) {
      const r = p.next();
      // The query buffer is private: read as a test reads an internal, through a structural view.
      buffers.add((p as unknown as { qbuf: Buffer }).qbuf);
      if (r === PARSE_NEED_MORE) break;
      assert.is(r, PARSE_COMMAND);
      commands++;
      if (commands === 1) {
        assert.is(p.argc, 3);
        assert.is(p.argLen[2], size);
        const got = p.buf.subarray(p.argOff[2]!, p.argOff[2]! + size);
        assert.ok(got.equals(payload), 'payload intact');
        // The bulk was reserved at its known size, not grown by doubling.
        assert.ok(p.buf.length < size + 100, `query buffer ${p.buf.length}`);
      }
    }
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.ok(buffers.size <= 8, `the bulk was copied into ${buffers.size} query buffers`);
  assert.is(commands, 2);
  assert.is(p.pending(), 0);
  assert.ok(ms < 2000, `took ${ms} ms`);
});

test('fuzz: random streams, random chunkings, same commands', () => {
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const word = (): string => {
    let s = '';
    const n = rnd(6);
    for (let i = 0; i < n; i++) s += String.fromCharCode(rnd(256));
    return s;
  };
  for (let round = 0; round < 200; round++) {
    let input = '';
    const expected: Event[] = [];
    const n = 1 + rnd(6);
    for (let c = 0; c < n; c++) {
      if (rnd(4) === 0) {
        const args = Array.from({ length: 1 + rnd(3) }, () => 'w' + rnd(1000));
        input += args.join(' ') + (rnd(2) ? '\r\n' : '\n');
        expected.push({ inline: args });
      } else {
        const args = Array.from({ length: 1 + rnd(5) }, word);
        input += mb(...args);
        expected.push(args);
      }
    }
    const buf = b(input);
    for (let k = 0; k < 20; k++) {
      const chunks: Buffer[] = [];
      let off = 0;
      while (off < buf.length) {
        const len = 1 + rnd(12);
        chunks.push(Buffer.from(buf.subarray(off, off + len)));
        off += len;
      }
      assert.equal(parseChunks(chunks, limits(), rnd(2) === 0), expected);
    }
  }
});

test.run();
