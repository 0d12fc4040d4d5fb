// `tessera bench --cluster` against a real two-node Tessera cluster with an open slot: every key
// has the hash tag {ask}, so all of them live in one slot, owned by node A and MIGRATING to B
// (IMPORTING there), with half of the keys already moved by MIGRATE ... KEYS. Requests for the
// moved keys get ASK from A and must be sent, after ASKING, to B: they complete (no errors, no
// misses, values from the right node), are counted as redirects, and the slot map is never
// refreshed (MOVED handling is covered against fake nodes in loadgen-moved.test.ts).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keySlot } from '../../src/keyspace/slot.js';
import { KEY_DIGITS } from '../../src/loadgen/protocol.js';
import { parseLoadgenArgs, runLoadgen, type PhaseResult } from '../../src/loadgen/run.js';
import { freePort, rawClient, startTesseraAt, waitFor, withTimeout, type Plain, plain, type ServerHandle } from '../e2e/harness.js';

const PREFIX = '{ask}:';
const KEYS = 200;
/** Keys 0..MOVED-1 are migrated to B before the runs. */
const MOVED = 100;
const PRELOAD_VALUE = 'preload!';
const RUN_TIMEOUT_MS = 30_000;
const SLOT = keySlot(Buffer.from('ask'), 0, 3);

const t = suite('tessera bench follows ASK');
const dirs: string[] = [];
const nodes: Array<{ handle: ServerHandle; port: number; busPort: number; id: string }> = [];

const keyName = (i: number): string => PREFIX + String(i).padStart(KEY_DIGITS, '0');

/** Sends commands on one connection and returns their replies as plain values. */
async function call(port: number, ...commands: string[][]): Promise<Plain[]> {
  const cl = await rawClient(port);
  try {
    for (const c of commands) cl.sendCommand(...c);
    return (await cl.read(commands.length, 10_000)).map((r) => plain(r.value));
  } finally {
    cl.close();
  }
}

async function one(port: number, ...args: string[]): Promise<Plain> {
  return (await call(port, args))[0]!;
}

async function bench(args: string[]): Promise<PhaseResult[]> {
  const o = parseLoadgenArgs(['-p', String(nodes[0]!.port), '--cluster', '--key-prefix', PREFIX, '-r', String(KEYS), '-c', '4', '-q', ...args]);
  return withTimeout(runLoadgen(o), RUN_TIMEOUT_MS, `tessera bench ${args.join(' ')}`);
}

function checkPhase(p: PhaseResult | undefined, requests: number): PhaseResult {
  assert.ok(p);
  assert.is(p.errors, 0, p.firstError);
  assert.is(p.requests, requests);
  assert.ok(p.latencyMs.p50 > 0 && p.latencyMs.p50 <= p.latencyMs.max, JSON.stringify(p.latencyMs));
  return p;
}

t.before(async () => {
  for (let i = 0; i < 2; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-loadgen-ask-'));
    dirs.push(dir);
    const port = await freePort();
    const busPort = await freePort();
    const handle = await startTesseraAt(port, { args: ['--cluster-enabled', 'yes', '--cluster-port', String(busPort), '--dir', dir] });
    nodes.push({ handle, port, busPort, id: String(await one(port, 'CLUSTER', 'MYID')) });
  }
  const [src, dst] = [nodes[0]!, nodes[1]!];
  assert.is(await one(src.port, 'CLUSTER', 'ADDSLOTSRANGE', '0', '16383'), 'OK');
  assert.is(await one(src.port, 'CLUSTER', 'MEET', '127.0.0.1', String(dst.port), String(dst.busPort)), 'OK');
  for (const n of nodes) {
    await waitFor(`node ${n.port} sees two nodes and every slot`, async () => {
      const info = String(await one(n.port, 'CLUSTER', 'INFO'));
      return info.includes('cluster_state:ok') && info.includes('cluster_known_nodes:2');
    }, 20_000);
  }
  // B must know A's slots before it can import one of them.
  await waitFor('B knows that A owns the slot', async () => {
    const slots = (await one(b(), 'CLUSTER', 'SLOTS')) as Plain[][];
    return slots.length > 0 && (slots[0]![2] as Plain[])[1] === a();
  }, 20_000);
  const sets = Array.from({ length: KEYS }, (_, i) => ['SET', keyName(i), PRELOAD_VALUE]);
  assert.ok((await call(a(), ...sets)).every((r) => r === 'OK'));
  assert.is(await one(b(), 'CLUSTER', 'SETSLOT', String(SLOT), 'IMPORTING', src.id), 'OK');
  assert.is(await one(a(), 'CLUSTER', 'SETSLOT', String(SLOT), 'MIGRATING', dst.id), 'OK');
  const moved = Array.from({ length: MOVED }, (_, i) => keyName(i));
  assert.is(await one(a(), 'MIGRATE', '127.0.0.1', String(b()), '', '0', '5000', 'KEYS', ...moved), 'OK');
  // The setup the runs rely on: a moved key gets ASK from A and is served by B after ASKING.
  assert.equal(await one(a(), 'GET', keyName(0)), { error: `ASK ${SLOT} 127.0.0.1:${b()}` });
  assert.equal(await call(b(), ['ASKING'], ['GET', keyName(0)]), ['OK', PRELOAD_VALUE]);
  assert.is(await one(a(), 'GET', keyName(MOVED)), PRELOAD_VALUE);
});

t.after(async () => {
  await Promise.all(nodes.map((n) => n.handle.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

t('closed loop, pipelined: GETs of moved keys go to B after ASKING, and all hit', async () => {
  const p = checkPhase((await bench(['-t', 'get', '-n', '4000', '-P', '8']))[0], 4000);
  assert.is(p.hits, 4000, 'every GET found its value, moved keys on B included');
  assert.is(p.misses, 0);
  // About half of the keys are on B: each of their requests was asked once.
  assert.ok(p.redirects > 1500 && p.redirects < 2500, String(p.redirects));
  assert.is(p.slotMapRefreshes, 0, 'ASK does not refresh the slot map');
});

t('open loop on two threads: ASKed requests complete, timed from their intended send time', async () => {
  const p = checkPhase((await bench(['-t', 'get', '-n', '3000', '--rate', '2000', '--threads', '2']))[0], 3000);
  assert.is(p.hits, 3000);
  assert.ok(p.redirects > 1000 && p.redirects < 2000, String(p.redirects));
  assert.is(p.slotMapRefreshes, 0);
});

t('SETs of moved keys land on B, the others on A, and A never gets the moved keys back', async () => {
  const p = checkPhase((await bench(['-t', 'set', '-n', '6000', '-P', '4', '-d', '16']))[0], 6000);
  assert.ok(p.redirects > 2000, String(p.redirects));
  const written = 'x'.repeat(16);
  const onB = await call(b(), ...Array.from({ length: MOVED }, (_, i) => [['ASKING'], ['GET', keyName(i)]]).flat());
  assert.equal(onB.filter((_, i) => i % 2 === 1), new Array(MOVED).fill(written), 'moved keys rewritten on B');
  const onA = await call(a(), ...Array.from({ length: KEYS }, (_, i) => ['GET', keyName(i)]));
  for (let i = 0; i < KEYS; i++) {
    assert.equal(onA[i], i < MOVED ? { error: `ASK ${SLOT} 127.0.0.1:${b()}` } : written, keyName(i));
  }
  assert.is(await one(b(), 'DBSIZE'), MOVED);
  assert.is(await one(a(), 'DBSIZE'), KEYS - MOVED);
});

function a(): number {
  return nodes[0]!.port;
}

function b(): number {
  return nodes[1]!.port;
}

t.run();
