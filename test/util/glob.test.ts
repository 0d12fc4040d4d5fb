// globMatch against Redis stringmatchlen: a table of patterns and the keys redis-server 7.0's
// KEYS returned for them (KEYS "*" itself is special-cased by Redis and left out), plus edge cases.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { globMatch } from '../../src/util/glob.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

function match(pattern: string, subject: string, nocase = false): boolean {
  // Embed both in larger buffers to check offsets and lengths are honoured.
  const p = b('*' + pattern + '*');
  const s = b('#' + subject + '#');
  return globMatch(p, 1, pattern.length, s, 1, subject.length, nocase);
}

const KEYS: string[] = ["", "a", "b", "ab", "abc", "hello", "hallo", "hxllo", "hllo", "heeeello", "a*b", "a?b", "a[b", "a]b", "a\\b", "a-b", "^", "]", "-", "A", "aBc", "x\xe9y", "\x80", "foo:bar:baz", "foobarbaz", "ba"];

// [pattern, keys redis-server KEYS returned, sorted]
const KEYS_TABLE: [string, string[]][] = [
  ["h?llo", ["hallo", "hello", "hxllo"]],
  ["h*llo", ["hallo", "heeeello", "hello", "hllo", "hxllo"]],
  ["h[ae]llo", ["hallo", "hello"]],
  ["h[^e]llo", ["hallo", "hxllo"]],
  ["h[a-b]llo", ["hallo"]],
  ["**", ["-", "A", "]", "^", "a", "a*b", "a-b", "a?b", "aBc", "a[b", "a\\b", "a]b", "ab", "abc", "b", "ba", "foo:bar:baz", "foobarbaz", "hallo", "heeeello", "hello", "hllo", "hxllo", "x\xe9y", "\x80"]],
  ["a*", ["a", "a*b", "a-b", "a?b", "aBc", "a[b", "a\\b", "a]b", "ab", "abc"]],
  ["*b", ["a*b", "a-b", "a?b", "a[b", "a\\b", "a]b", "ab", "b"]],
  ["*a*b*", ["a*b", "a-b", "a?b", "a[b", "a\\b", "a]b", "ab", "abc", "foo:bar:baz", "foobarbaz"]],
  ["a\\*b", ["a*b"]],
  ["a\\?b", ["a?b"]],
  ["a[\\]]b", ["a]b"]],
  ["a[]]b", []],
  ["a[", []],
  ["a[b", ["ab"]],
  ["[a-]", ["]", "^", "a"]],
  ["[]-a]", []],
  ["[z-a]", ["a", "b"]],
  ["[^a-c]", ["-", "A", "]", "^", "\x80"]],
  ["a[-]b", ["a-b"]],
  ["a\\", []],
  ["a\\\\b", ["a\\b"]],
  ["\\", []],
  ["[", []],
  ["[^]", ["-", "A", "]", "^", "a", "b", "\x80"]],
  ["[!a]", ["a"]],
  ["?", ["-", "A", "]", "^", "a", "b", "\x80"]],
  ["??", ["ab", "ba"]],
  ["*?", ["-", "A", "]", "^", "a", "a*b", "a-b", "a?b", "aBc", "a[b", "a\\b", "a]b", "ab", "abc", "b", "ba", "foo:bar:baz", "foobarbaz", "hallo", "heeeello", "hello", "hllo", "hxllo", "x\xe9y", "\x80"]],
  ["foo:*:baz", ["foo:bar:baz"]],
  ["foo*baz", ["foo:bar:baz", "foobarbaz"]],
  ["*:*", ["foo:bar:baz"]],
  ["x[\xe0-\xef]y", ["x\xe9y"]],
  ["[\x7f-\x81]", ["-", "A", "]", "^", "a", "b"]],
  ["[a-\\]", ["]", "^", "a"]],
  ["a[^]b", ["a*b", "a-b", "a?b", "a[b", "a\\b", "a]b"]],
  ["[[]", []],
  ["a*b*c", ["abc"]],
  ["*c", ["aBc", "abc"]],
  ["A", ["A"]],
  ["[A-Z]*", ["A"]],
];

test('matches what redis-server KEYS returns', () => {
  for (const [pattern, expected] of KEYS_TABLE) {
    const got = KEYS.filter((k) => match(pattern, k)).sort();
    assert.equal(got, [...expected].sort(), JSON.stringify(pattern));
  }
});

test('basics', () => {
  assert.ok(match('h?llo', 'hello'));
  assert.ok(match('h*llo', 'hllo'));
  assert.ok(match('user:*', 'user:1000'));
  assert.not.ok(match('user:*', 'user'));
  assert.ok(match('*', 'anything'));
  assert.ok(match('', ''));
  assert.not.ok(match('', 'a'));
  assert.not.ok(match('a', ''));
  // stringmatchlen never matches an empty subject against a non-empty pattern, even "*".
  assert.not.ok(match('*', ''));
  assert.ok(match('a*', 'a'));
  assert.ok(match('a**', 'a'));
});

test('classes, ranges and escapes', () => {
  assert.ok(match('[abc]', 'b'));
  assert.not.ok(match('[abc]', 'd'));
  assert.ok(match('[^abc]', 'd'));
  assert.ok(match('[a-c]x', 'bx'));
  assert.ok(match('[c-a]x', 'bx')); // reversed range
  assert.ok(match('[\\]]', ']'));
  assert.ok(match('[\\-]', '-'));
  assert.ok(match('\\*', '*'));
  assert.not.ok(match('\\*', 'a'));
  assert.ok(match('a\\', 'a\\')); // trailing backslash is literal
  assert.ok(match('[abc', 'a')); // unterminated class ends at the pattern's end
  assert.not.ok(match('[abc', 'ab'));
});

test('nocase folds ASCII only', () => {
  assert.ok(match('HeLLo', 'hello', true));
  assert.not.ok(match('HeLLo', 'hello'));
  assert.ok(match('[A-C]', 'b', true));
  assert.ok(match('[abc]', 'B', true));
  assert.ok(match('h?LLO*', 'HELLO world', true));
  assert.not.ok(match('\xc9', '\xe9', true)); // no Latin-1 folding in the C locale
  assert.not.ok(match('[\\A]', 'a', true)); // an escaped class member compares exactly
});

test('pathological patterns stay fast', () => {
  const subject = 'a'.repeat(5000);
  const pattern = 'a*'.repeat(100) + 'b';
  const started = Date.now();
  assert.not.ok(match(pattern, subject));
  assert.ok(Date.now() - started < 1000);
  // Nesting beyond 1000 stars never matches, as in Redis.
  assert.not.ok(match('a*'.repeat(1002) + 'a', 'a'.repeat(1003)));
  assert.ok(match('a*'.repeat(10) + 'a', 'a'.repeat(11)));
});

test.run();
