// parseRequestTarget: origin and absolute forms split into path and query; anything else null;
// never throws, for any string (the WHATWG URL parser it replaced threw on `//[` and ended the
// process).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRequestTarget } from '../../src/protocol/http-target.js';

test('origin-form: path as sent, query after the first ?, fragment dropped', () => {
  assert.equal(parseRequestTarget('/health'), { path: '/health', query: '' });
  assert.equal(parseRequestTarget('/v1/keys/a%3Ab?ttl=5&x=%ZZ'), { path: '/v1/keys/a%3Ab', query: 'ttl=5&x=%ZZ' });
  assert.equal(parseRequestTarget('/a?b?c'), { path: '/a', query: 'b?c' });
  assert.equal(parseRequestTarget('/a#frag?x'), { path: '/a', query: '' });
  // Not normalised: what the router sees is what was sent.
  assert.equal(parseRequestTarget('//['), { path: '//[', query: '' });
  assert.equal(parseRequestTarget('/v1/keys/../health'), { path: '/v1/keys/../health', query: '' });
});

test('absolute-form: scheme and authority dropped', () => {
  assert.equal(parseRequestTarget('http://example.com:8080/health/live?x=1'), { path: '/health/live', query: 'x=1' });
  assert.equal(parseRequestTarget('HTTPS://h'), { path: '/', query: '' });
  assert.equal(parseRequestTarget('http://h?ttl=1'), { path: '/', query: 'ttl=1' });
  assert.equal(parseRequestTarget('http://[::1/x'), { path: '/x', query: '' });
});

test('other forms and garbage are null', () => {
  for (const t of ['', '*', 'example.com:443', 'health', '1http://h/x', 'http:/h/x', 'http://h#x']) {
    assert.is(parseRequestTarget(t), null, JSON.stringify(t));
  }
});

test('never throws: every one- and two-byte target, and seeded random ones', () => {
  const check = (t: string): void => {
    const r = parseRequestTarget(t);
    if (r !== null) assert.ok(r.path.startsWith('/'), JSON.stringify(t));
  };
  for (let a = 0; a < 256; a++) {
    check(String.fromCharCode(a));
    for (let b = 0; b < 256; b++) check(String.fromCharCode(a, b));
  }
  let seed = 13;
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const alphabet = '/?#:[]%@!*http:s\x00\r\n ';
  for (let i = 0; i < 20_000; i++) {
    let t = '';
    for (let n = Math.floor(rnd() * 24); n > 0; n--) t += alphabet[Math.floor(rnd() * alphabet.length)];
    check(t);
  }
});

test.run();
