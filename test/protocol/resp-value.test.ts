// valueEnd: the extent of one RESP value, or -1 while it is incomplete.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { valueEnd } from '../../src/protocol/resp-value.js';

const cases = ['+OK\r\n', '-ERR x\r\n', ':-12\r\n', '$-1\r\n', '_\r\n', '$5\r\nhe\r\no\r\n', '*-1\r\n', '*2\r\n$1\r\na\r\n*1\r\n:1\r\n', '%1\r\n+k\r\n~1\r\n,1.5\r\n', '|1\r\n+a\r\n+b\r\n:7\r\n'];

test('each value ends where it should, also with bytes after it', () => {
  for (const c of cases) {
    const b = Buffer.from(c + '+NEXT\r\n');
    assert.is(valueEnd(b, 0), c.length, JSON.stringify(c));
  }
});

test('every strict prefix of a value is incomplete', () => {
  for (const c of cases) {
    const b = Buffer.from(c);
    for (let n = 0; n < b.length; n++) assert.is(valueEnd(b.subarray(0, n), 0), -1, `${JSON.stringify(c)} cut at ${n}`);
  }
});

test.run();
