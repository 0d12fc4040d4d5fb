// redactArgs against what redis-server 7.0.15 showed in SLOWLOG GET and MONITOR for the same
// commands (recorded by hand, see docs/observability-slowlog.md), plus the cases where Tessera
// redacts more than Redis; skipsMonitor / skipsSlowlog against Redis's flags.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REDACTED, redactArgs, skipsMonitor, skipsSlowlog } from '../../src/observability/redact.js';

const R = REDACTED;
const show = (line: string): string[] => {
  const args = line.split(' ').map((s) => (s === "''" ? '' : s));
  const out = redactArgs(args);
  return out === null ? args : out.map(String);
};

// [command as sent, what Redis 7.0.15 showed] (its SLOWLOG GET and MONITOR agree).
const REDIS_TABLE: [string, string][] = [
  ['AUTH pw1', `AUTH ${R}`],
  ['AUTH user pw2', `AUTH ${R} ${R}`],
  ['auth user pw2', `auth ${R} ${R}`],
  ['HELLO 3 AUTH default pw3 SETNAME nm', `HELLO 3 AUTH ${R} ${R} SETNAME nm`],
  ['HELLO 2 AUTH u pw4', `HELLO 2 AUTH ${R} ${R}`],
  ['HELLO 3 SETNAME auth AUTH u p', `HELLO 3 SETNAME auth AUTH ${R} ${R}`],
  ['HELLO 3 AUTH x', 'HELLO 3 AUTH x'],
  ['CONFIG SET requirepass pw', `CONFIG SET requirepass ${R}`],
  ["CONFIG SET requirepass ''", `CONFIG SET requirepass ${R}`],
  ['config set MasterAuth pw5', `config set MasterAuth ${R}`],
  ['CONFIG SET maxmemory 0 masterauth pw6', `CONFIG SET maxmemory 0 masterauth ${R}`],
  ['CONFIG SET requirepass pw13 masterauth pw14', `CONFIG SET requirepass ${R} masterauth ${R}`],
  ['CONFIG SET masteruser mu', `CONFIG SET masteruser ${R}`],
  ['CONFIG SET maxmemory 10', 'CONFIG SET maxmemory 10'],
  ['CONFIG GET requirepass', 'CONFIG GET requirepass'],
  ['ACL SETUSER bob on >pw9 +@all', `ACL SETUSER ${R} ${R} ${R} ${R}`],
  ['ACL SETUSER bob', `ACL SETUSER ${R}`],
  ['ACL DELUSER bob', 'ACL DELUSER bob'],
  ['MIGRATE 127.0.0.1 1 k 0 10 AUTH pw10', `MIGRATE 127.0.0.1 1 k 0 10 AUTH ${R}`],
  ['MIGRATE 127.0.0.1 1 k 0 10 COPY AUTH2 u pw11', `MIGRATE 127.0.0.1 1 k 0 10 COPY AUTH2 ${R} ${R}`],
  ["MIGRATE 127.0.0.1 1 '' 0 10 AUTH pw12 KEYS a b", `MIGRATE 127.0.0.1 1  0 10 AUTH ${R} KEYS a b`],
  ['MIGRATE 127.0.0.1 1 k 0 10 AUTH', 'MIGRATE 127.0.0.1 1 k 0 10 AUTH'],
  ["MIGRATE 127.0.0.1 1 '' 0 10 KEYS auth x", "MIGRATE 127.0.0.1 1  0 10 KEYS auth x"],
  ['SET auth pw', 'SET auth pw'],
  ['AUTH', 'AUTH'],
];

// Where Redis 7.0.15 shows the secret and Tessera does not.
const BEYOND_REDIS: [string, string][] = [
  ['AUTH a b c', `AUTH ${R} ${R} ${R}`],
  ['CONFIG SET requirepass a b', `CONFIG SET requirepass ${R} b`],
  ['CONFIG SET tls-key-file-pass pw7', `CONFIG SET tls-key-file-pass ${R}`],
  ['CONFIG SET tls-client-key-file-pass pw8', `CONFIG SET tls-client-key-file-pass ${R}`],
  ['CONFIG SET cluster-bus-secret s', `CONFIG SET cluster-bus-secret ${R}`],
  ['HELLO x AUTH u p', `HELLO x AUTH ${R} ${R}`],
  ['MIGRATE h 1 k 0 10 FOO AUTH pp', `MIGRATE h 1 k 0 10 FOO AUTH ${R}`],
];

test('redacts exactly where redis-server 7.0.15 does', () => {
  for (const [sent, shown] of REDIS_TABLE) assert.is(show(sent).join(' '), shown, sent);
});

test('redacts a few secrets Redis 7.0.15 leaks', () => {
  for (const [sent, shown] of BEYOND_REDIS) assert.is(show(sent).join(' '), shown, sent);
});

test('Buffers: no copy when nothing is secret, a copy (the input untouched) when something is', () => {
  const plain = ['SET', 'k', 'v'].map((s) => Buffer.from(s));
  assert.is(redactArgs(plain), null);
  const secret = ['Auth', 'pw'].map((s) => Buffer.from(s));
  const out = redactArgs(secret);
  assert.ok(out !== null);
  assert.is(out[0], secret[0]);
  assert.is(out[1], REDACTED);
  assert.is(secret[1]!.toString(), 'pw');
  // Non-letters never fold: "AUTH" is four letters, "\r" is not "-".
  assert.is(redactArgs([Buffer.from('CONFIG'), Buffer.from('SET'), Buffer.from('cluster\rbus-secret'), Buffer.from('x')]), null);
  assert.is(redactArgs([Buffer.from('AUT\xc8', 'latin1'), Buffer.from('x')]), null);
});

test('MONITOR and SLOWLOG skips follow the flags', () => {
  assert.ok(skipsMonitor(['admin', 'noscript', 'loading', 'stale'], 'CONFIG'));
  assert.not.ok(skipsMonitor(['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'], 'AUTH'));
  assert.not.ok(skipsMonitor(['noscript', 'stale', 'skip_monitor', 'no_mandatory_keys', 'movablekeys'], 'EVAL'));
  assert.not.ok(skipsMonitor(['noscript', 'stale', 'skip_monitor'], Buffer.from('fcall_ro')));
  assert.ok(skipsMonitor(['skip_monitor'], 'somecmd'));
  assert.ok(skipsMonitor(['skip_monitor']));
  assert.ok(skipsSlowlog(['noscript', 'loading', 'stale', 'skip_slowlog']));
  assert.not.ok(skipsSlowlog(['write', 'denyoom']));
});

test.run();
