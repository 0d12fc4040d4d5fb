// admit() alone: the order of the checks (loading before auth, as Redis; the write pause before
// the write gates), reads never gated, and the failover pause running held writes in order.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HOLD, WritePause, admissionTraits, admit, type AdmissionState } from '../../src/server/admission.js';
import { ERR } from '../../src/core/errors.js';

const READ = admissionTraits(['readonly', 'fast'], 'string');
const WRITE = admissionTraits(['write', 'denyoom'], 'string');
const PING = admissionTraits(['fast', 'loading', 'stale'], 'connection');
const AUTH = admissionTraits(['no-auth', 'loading'], 'connection');

function state(o: Partial<{ loading: boolean; writesPaused: boolean; refusal: string | null }> = {}): AdmissionState & { asked: number } {
  const s = {
    asked: 0,
    loading: o.loading ?? false,
    writesPaused: o.writesPaused ?? false,
    writesGated: o.refusal !== undefined,
    writeRefusal: () => {
      s.asked++;
      return o.refusal ?? null;
    },
  };
  return s;
}

const authed = { authenticated: true };
const anonymous = { authenticated: false };

test('a plain node admits everything from an authenticated client', () => {
  assert.is(admit(authed, READ, state()), null);
  assert.is(admit(authed, WRITE, state()), null);
});

test('loading comes before authentication; commands flagged loading still run', () => {
  assert.is(admit(anonymous, READ, state({ loading: true })), ERR.loading);
  assert.is(admit(anonymous, PING, state({ loading: true })), ERR.noAuth);
  assert.is(admit(anonymous, AUTH, state({ loading: true })), null);
  // CLUSTER is refused while loading even though it is flagged loading: its state is not back.
  assert.is(admit(authed, admissionTraits(['loading'], 'cluster'), state({ loading: true })), ERR.loading);
});

test('an unauthenticated client gets NOAUTH except for no-auth commands', () => {
  assert.is(admit(anonymous, WRITE, state()), ERR.noAuth);
  assert.is(admit(anonymous, AUTH, state()), null);
});

test('the write gates refuse writes only, and are asked only when gated', () => {
  const ro = state({ refusal: "READONLY You can't write against a read only replica." });
  assert.is(admit(authed, READ, ro), null);
  assert.is(ro.asked, 0);
  assert.match(String(admit(authed, WRITE, ro)), /^READONLY /);
  assert.is(ro.asked, 1);
  const open = state();
  assert.is(admit(authed, WRITE, open), null);
  assert.is(open.asked, 0);
});

test('a failover pause holds writes (before the gates) and lets reads through', () => {
  const s = state({ writesPaused: true, refusal: 'NOREPLICAS Not enough good replicas to write.' });
  assert.is(admit(authed, WRITE, s), HOLD);
  assert.is(s.asked, 0);
  assert.is(admit(authed, READ, s), null);
  // Unauthenticated writes are refused, not held.
  assert.is(admit(anonymous, WRITE, s), ERR.noAuth);
});

test('WritePause runs held writes in arrival order when it ends, and at once when not paused', () => {
  const p = new WritePause();
  const ran: number[] = [];
  p.whenResumed(() => ran.push(0));
  assert.equal(ran, [0]);
  p.pause(60_000);
  assert.ok(p.paused);
  for (let i = 1; i <= 3; i++) p.whenResumed(() => ran.push(i));
  assert.equal(ran, [0]);
  p.resume();
  assert.not.ok(p.paused);
  assert.equal(ran, [0, 1, 2, 3]);
});

test('WritePause ends by itself at its timeout', async () => {
  const p = new WritePause();
  p.pause(5);
  const done = new Promise<void>((resolve) => p.whenResumed(resolve));
  // The pause's own timer does not hold the process open (unref): this one does, meanwhile.
  const keepAlive = setTimeout(() => undefined, 10_000);
  await done;
  clearTimeout(keepAlive);
  assert.not.ok(p.paused);
});

test.run();
