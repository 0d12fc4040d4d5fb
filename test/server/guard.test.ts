// The guard's pieces in process (src/server/guard.ts): the token bucket's arithmetic, loopback
// detection, protected mode's decision, the per-address connection cap and the per-user shared
// budget, with a fake config and counters (the doors' framing is tested end to end).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Guard, TokenBucket, isLoopbackIp, type GuardClient } from '../../src/server/guard.js';
import { defaultState } from '../../src/config/params.js';
import { GUARD_ERR } from '../../src/core/errors.js';
import type { AclUser } from '../../src/core/acl.js';
import type { ServerStats } from '../../src/core/types.js';

const test = suite('guard');

function stats(): ServerStats {
  return {
    totalConnectionsReceived: 0, totalCommandsProcessed: 0, rejectedConnections: 0, totalNetInputBytes: 0, totalNetOutputBytes: 0,
    shardRestarts: 0, connectedClients: 0, protectedModeRefused: 0, connectionsRateRefused: 0, rateLimitedRequests: 0,
    bandwidthLimitedPauses: 0, userMaxclientsRefused: 0,
  };
}

test('token bucket: a second of burst, refilled at the rate; debt is paid in time', () => {
  const b = new TokenBucket(10, 0);
  let n = 0;
  while (b.takeOne(0)) n++;
  assert.is(n, 10);
  assert.not.ok(b.takeOne(50));
  assert.ok(b.takeOne(100), 'one token per 100 ms');
  const bytes = new TokenBucket(1000, 0);
  assert.is(bytes.takeDebt(500, 0), 0);
  assert.is(bytes.takeDebt(1500, 0), 1000, '1000 bytes of debt at 1000 B/s: a second');
  assert.is(bytes.takeDebt(0, 1000), 0, 'paid after a second');
});

test('loopback addresses', () => {
  for (const ip of ['127.0.0.1', '127.5.6.7', '::1', '::ffff:127.0.0.1']) assert.ok(isLoopbackIp(ip), ip);
  for (const ip of ['10.0.0.1', '::ffff:10.0.0.1', '192.168.1.1', 'fe80::1', undefined]) assert.not.ok(isLoopbackIp(ip), String(ip));
});

test('protected mode: only non-loopback clients, only while the default user needs no password', () => {
  const v = defaultState().values;
  const st = stats();
  let needsAuth = false;
  const g = new Guard(v, st, () => needsAuth);
  assert.is(g.refuseConnection('127.0.0.1'), null);
  assert.is(g.refuseConnection('10.1.2.3'), GUARD_ERR.protectedMode);
  needsAuth = true;
  assert.is(g.refuseConnection('10.1.2.3'), null);
  needsAuth = false;
  v.protectedMode = false;
  assert.is(g.refuseConnection('10.1.2.3'), null);
  assert.is(st.protectedModeRefused, 1);
  assert.is(st.rejectedConnections, 1);
});

test('new-connection cap: per address, per one-second window', () => {
  const v = defaultState().values;
  v.maxNewConnectionsPerSec = 2;
  const st = stats();
  const g = new Guard(v, st, () => true);
  assert.is(g.refuseConnection('127.0.0.1'), null);
  assert.is(g.refuseConnection('127.0.0.1'), null);
  assert.is(g.refuseConnection('127.0.0.1'), GUARD_ERR.connectionRate(2));
  assert.is(g.refuseConnection('127.0.0.2'), null, 'another address has its own count');
  assert.is(st.connectionsRateRefused, 1);
});

test('limiting is off until a limit is set; a user budget is shared by its clients; maxclients per user', () => {
  const v = defaultState().values;
  const st = stats();
  const g = new Guard(v, st, () => true);
  assert.not.ok(g.limiting);
  v.clientOpsPerSec = 5;
  g.configChanged();
  assert.ok(g.limiting);
  v.clientOpsPerSec = 0;
  g.configChanged();
  assert.not.ok(g.limiting);
  const user: AclUser = { name: 'svc', enabled: true, unrestricted: true, id: 3, limits: { opsPerSec: 4, bytesPerSec: 0, maxClients: 2 } };
  g.userChanged(user, false);
  assert.ok(g.limiting);
  const a: GuardClient = { guardBuckets: null };
  const b: GuardClient = { guardBuckets: null };
  let ok = 0;
  for (let i = 0; i < 10; i++) {
    if (g.request(a, user) === null) ok++;
    if (g.request(b, user) === null) ok++;
  }
  assert.ok(ok >= 4 && ok <= 5, `the two clients shared 4/s: ${ok}`);
  assert.is(g.request(a, user), GUARD_ERR.opsLimit(4, "user 'svc'"));
  assert.is(g.loginRefusal(user, 1), null);
  assert.is(g.loginRefusal(user, 2), GUARD_ERR.userMaxClients('svc', 2));
  assert.is(st.userMaxclientsRefused, 1);
  g.userChanged(user, true);
  assert.not.ok(g.limiting, 'the deleted user no longer limits');
});

test.run();
