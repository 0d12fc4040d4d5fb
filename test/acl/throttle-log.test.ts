// The login throttle and ACL LOG's grouping, on an injected clock: deterministic, in process.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIRST_DELAY_MS, FREE_FAILURES, LoginThrottle, MAX_DELAY_MS, WINDOW_MS, ipOf } from '../../src/acl/login-throttle.js';
import { AclLog } from '../../src/acl/acl-log.js';

test('free failures, then a delay that doubles up to the maximum; other addresses unaffected', () => {
  const t = new LoginThrottle();
  let now = 1_000_000;
  for (let i = 0; i < FREE_FAILURES - 1; i++) {
    assert.is(t.blocked('10.0.0.1', now), false);
    t.failed('10.0.0.1', now);
  }
  assert.is(t.blocked('10.0.0.1', now), false);
  t.failed('10.0.0.1', now);
  assert.is(t.blocked('10.0.0.1', now), true);
  assert.is(t.blocked('10.0.0.2', now), false);
  now += FIRST_DELAY_MS;
  assert.is(t.blocked('10.0.0.1', now), false);
  t.failed('10.0.0.1', now);
  assert.is(t.blocked('10.0.0.1', now + 2 * FIRST_DELAY_MS - 1), true);
  assert.is(t.blocked('10.0.0.1', now + 2 * FIRST_DELAY_MS), false);
  for (let i = 0; i < 20; i++) t.failed('10.0.0.1', now);
  assert.is(t.blocked('10.0.0.1', now + MAX_DELAY_MS - 1), true);
  assert.is(t.blocked('10.0.0.1', now + MAX_DELAY_MS), false);
  assert.is(t.throttled, 3);
  // A success clears its own address only.
  t.failed('10.0.0.3', now);
  t.succeeded('10.0.0.1');
  assert.is(t.blocked('10.0.0.1', now), false);
  assert.is(t.tracked, 1);
});

test('a quiet window starts an address afresh', () => {
  const t = new LoginThrottle();
  let now = 5_000;
  for (let i = 0; i < FREE_FAILURES - 1; i++) t.failed('a', now);
  now += WINDOW_MS + 1;
  t.failed('a', now);
  assert.is(t.blocked('a', now), false);
});

test('ipOf keeps IPv6 addresses whole', () => {
  assert.is(ipOf('127.0.0.1:6379'), '127.0.0.1');
  assert.is(ipOf('::1:50000'), '::1');
});

test('ACL LOG groups equal entries within 60 s, newest first, bounded', () => {
  const log = new AclLog();
  log.maxLen = 3;
  log.add('command', 'toplevel', 'get', 'u', 'c1', 0);
  log.add('key', 'toplevel', 'k', 'u', 'c2', 10);
  log.add('command', 'toplevel', 'get', 'u', 'c3', 20);
  assert.is(log.entries.length, 2);
  assert.is(log.entries[0]!.count, 2);
  assert.is(log.entries[0]!.clientInfo, 'c3');
  log.add('command', 'toplevel', 'get', 'u', 'c4', 20 + 60_001);
  assert.is(log.entries.length, 3);
  log.add('auth', 'toplevel', 'auth', 'x', 'c5', 70_000);
  assert.is(log.entries.length, 3);
  assert.equal(log.entries.map((e) => e.reason), ['auth', 'command', 'command']);
});

test.run();
