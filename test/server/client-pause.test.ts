// ClientPause and admission together, without a server: which commands each mode holds (Redis
// 7.0's rules: WRITE holds writes and may-replicate commands, ALL holds everything, replicas are
// never held), the purposes (CLIENT PAUSE and the failover's) combined as the strictest, and held
// requests released in arrival order, the still-paused ones held again, a closed client's dropped.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HOLD, admissionTraits, admit, type AdmissionState } from '../../src/server/admission.js';
import { ClientPause, PAUSE_ALL, PAUSE_OFF, PAUSE_WRITE } from '../../src/server/client-pause.js';

const GET = admissionTraits(['readonly', 'fast'], 'string', 'get');
const SET = admissionTraits(['write', 'denyoom'], 'string', 'set');
const PUBLISH = admissionTraits(['pubsub', 'loading', 'stale', 'fast'], 'pubsub', 'publish');
const EVAL = admissionTraits(['noscript', 'stale'], 'scripting', 'eval');
const EVAL_RO = admissionTraits(['readonly', 'noscript', 'stale'], 'scripting', 'eval_ro');
const PING = admissionTraits(['fast'], 'connection', 'ping');

function stateOf(p: ClientPause): AdmissionState {
  return {
    loading: false,
    get writesPaused() {
      return p.mode !== PAUSE_OFF;
    },
    get allPaused() {
      return p.mode === PAUSE_ALL;
    },
    writesGated: false,
    writeRefusal: () => null,
  };
}

const client = { authenticated: true, replCapa: [] as string[] };
const replica = { authenticated: true, replCapa: ['eof', 'psync2'] };
const FAR = () => Date.now() + 60_000;

test('WRITE holds writes and may-replicate commands, lets reads through', () => {
  const p = new ClientPause();
  const s = stateOf(p);
  p.pauseClients(PAUSE_WRITE, FAR());
  assert.is(admit(client, SET, s), HOLD);
  assert.is(admit(client, PUBLISH, s), HOLD);
  assert.is(admit(client, EVAL, s), HOLD);
  assert.is(admit(client, GET, s), null);
  assert.is(admit(client, EVAL_RO, s), null);
  assert.is(admit(client, PING, s), null);
  p.unpauseClients();
});

test('ALL holds every command; replicas are never held', () => {
  const p = new ClientPause();
  const s = stateOf(p);
  p.pauseClients(PAUSE_ALL, FAR());
  assert.is(admit(client, GET, s), HOLD);
  assert.is(admit(client, PING, s), HOLD);
  assert.is(admit(replica, SET, s), null);
  assert.is(admit(replica, PING, s), null);
  p.unpauseClients();
  assert.is(admit(client, SET, s), null);
});

test('the strictest purpose wins; UNPAUSE leaves the failover pause in force', () => {
  const p = new ClientPause();
  p.pause(60_000);
  assert.is(p.mode, PAUSE_WRITE);
  p.pauseClients(PAUSE_ALL, FAR());
  assert.is(p.mode, PAUSE_ALL);
  // A later, weaker CLIENT PAUSE keeps the stricter mode (Redis keeps the stricter type).
  p.pauseClients(PAUSE_WRITE, FAR());
  assert.is(p.mode, PAUSE_ALL);
  p.unpauseClients();
  assert.is(p.mode, PAUSE_WRITE);
  p.resume();
  assert.is(p.mode, PAUSE_OFF);
});

test('held requests run in arrival order; those still paused are held again', () => {
  const p = new ClientPause();
  const s = stateOf(p);
  p.pauseClients(PAUSE_ALL, FAR());
  const ran: string[] = [];
  const attempt = (name: string, cmd: typeof GET, id: number): void => {
    if (admit(client, cmd, s) === HOLD) p.whenResumed(() => attempt(name, cmd, id), id);
    else ran.push(name);
  };
  attempt('set1', SET, 1);
  attempt('get2', GET, 2);
  attempt('set3', SET, 3);
  attempt('get4', GET, 4);
  assert.equal(ran, []);
  assert.is(p.heldCount, 4);
  assert.ok(p.isHeld(2));
  // ALL -> WRITE (the failover's pause remains): the reads go, the writes wait again, in order.
  p.pause(60_000);
  p.unpauseClients();
  assert.equal(ran, ['get2', 'get4']);
  assert.is(p.heldCount, 2);
  assert.not.ok(p.isHeld(2));
  p.resume();
  assert.equal(ran, ['get2', 'get4', 'set1', 'set3']);
  assert.is(p.heldCount, 0);
});

test('a client that closes while held is dropped: its request never runs', () => {
  const p = new ClientPause();
  p.pauseClients(PAUSE_WRITE, FAR());
  const ran: number[] = [];
  p.whenResumed(() => ran.push(1), 1);
  p.whenResumed(() => ran.push(2), 2);
  p.forget(1);
  assert.is(p.heldCount, 1);
  p.unpauseClients();
  assert.equal(ran, [2]);
});

test('a pause ends by itself at its timeout', async () => {
  const p = new ClientPause();
  p.pauseClients(PAUSE_ALL, Date.now() + 20);
  const released = new Promise<void>((resolve) => p.whenResumed(resolve, 7));
  // The pause's timer is unref'd (it never keeps a server alive): this one keeps the test alive.
  const keepAlive = setTimeout(() => undefined, 5_000);
  await released;
  clearTimeout(keepAlive);
  assert.is(p.mode, PAUSE_OFF);
  assert.is(p.heldCount, 0);
});

test.run();
