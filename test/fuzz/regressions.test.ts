// Inputs the fuzzer found that broke a parser or loader, each kept as a test with the seed that
// found it (`npm run fuzz -- --protocol P --seed S --replay I` prints and reruns the input).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_PARSER_LIMITS, PARSE_COMMAND, PARSE_NEED_MORE, RespParser } from '../../src/protocol/resp-parser.js';

const hex = (h: string): Buffer => Buffer.from(h, 'hex');

// resp --seed 1 --replay 48: "*1\r\n$536870912\r\nx" made the parser reserve 512 MiB for one byte.
test('resp: an announced big bulk reserves memory only as its bytes arrive', () => {
  const p = new RespParser(DEFAULT_PARSER_LIMITS);
  const before = process.memoryUsage().arrayBuffers;
  p.feed(hex('2a310d0a243533363837303931320d0a'));
  assert.is(p.next(), PARSE_NEED_MORE);
  p.feed(Buffer.from('x'));
  assert.is(p.next(), PARSE_NEED_MORE);
  const held = process.memoryUsage().arrayBuffers - before;
  assert.ok(held < 16 * 1024 * 1024, `parser holds ${held} bytes`);
  // The bulk still arrives whole, in chunks, and is parsed in place.
  const q = new RespParser(DEFAULT_PARSER_LIMITS);
  const len = 5 * 1024 * 1024 + 3;
  q.feed(Buffer.from(`*2\r\n$4\r\nECHO\r\n$${len}\r\n`));
  assert.is(q.next(), PARSE_NEED_MORE);
  const body = Buffer.alloc(len + 2, 0x61);
  body[len] = 13;
  body[len + 1] = 10;
  for (let off = 0; off < body.length; off += 65536) {
    q.feed(body.subarray(off, off + 65536));
    const r = q.next();
    if (off + 65536 < body.length) assert.is(r, PARSE_NEED_MORE);
    else assert.is(r, PARSE_COMMAND);
  }
  assert.is(q.argLen[1], len);
  assert.ok(q.buf.subarray(q.argOff[1]!, q.argOff[1]! + len).every((c) => c === 0x61));
});

test.run();
