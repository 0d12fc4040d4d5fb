// MEMORY on a real Tessera with real clients (ioredis, redis-cli): USAGE follows a value's bytes
// and a collection's growth; STATS counts every shard and database and agrees with INFO; DOCTOR
// goes from "empty" to "fine" to the peak and arena-fragmentation issues after a mass delete;
// MALLOC-STATS prints each arena with its free blocks; PURGE answers OK. The reply shapes against
// redis-server are in observability-differential.test.ts.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { rmSync } from 'node:fs';
import { commandOnce, redisCli, requireTool, startClusterNode, startTessera, waitFor, withTimeout, type ServerHandle } from './harness.js';
import { DOCTOR_EMPTY, DOCTOR_FINE } from '../../src/commands/memory-doctor.js';

const SHARDS = 2;
const TEST_TIMEOUT_MS = 60_000;
/** Enough data for the doctor to look (Redis's floor is 5 MB), and a delete that leaves a peak. */
const FILL_KEYS = 24_000;
const VALUE_BYTES = 1000;

const test = suite('MEMORY commands on Tessera');
let server: ServerHandle | undefined;
let io: Redis;

test.before(async () => {
  server = await startTessera({ shards: SHARDS });
  io = new Redis({ port: server.port, maxRetriesPerRequest: 0 });
});

test.after(async () => {
  io?.disconnect();
  await server?.stop();
});

const timed = (name: string, fn: () => Promise<void>): void => test(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));

/** MEMORY STATS as name -> value (db.N values as their own maps). */
async function memoryStats(): Promise<Map<string, unknown>> {
  const flat = (await io.call('MEMORY', 'STATS')) as unknown[];
  const out = new Map<string, unknown>();
  for (let i = 0; i < flat.length; i += 2) {
    const v = flat[i + 1];
    out.set(String(flat[i]), Array.isArray(v) ? memoryStatsMap(v) : v);
  }
  return out;
}

function memoryStatsMap(flat: unknown[]): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (let i = 0; i < flat.length; i += 2) m.set(String(flat[i]), flat[i + 1]);
  return m;
}

function num(m: Map<string, unknown>, k: string): number {
  const v = m.get(k);
  assert.ok(v !== undefined, `MEMORY STATS has ${k}`);
  return Number(v);
}

async function usage(key: string): Promise<number | null> {
  return (await io.call('MEMORY', 'USAGE', key)) as number | null;
}

async function fill(from: number, to: number): Promise<void> {
  const value = 'v'.repeat(VALUE_BYTES);
  for (let i = from; i < to; i += 1000) {
    const p = io.pipeline();
    for (let k = i; k < Math.min(to, i + 1000); k++) p.set(`fill:${k}`, value);
    await p.exec();
  }
}

timed('MEMORY USAGE: a value\'s bytes, a collection\'s growth, null for a missing key, SAMPLES accepted', async () => {
  await io.flushall();
  await io.set('s1', 'x');
  await io.set('s2', 'x'.repeat(5000));
  const [a, b] = [await usage('s1'), await usage('s2')];
  assert.ok(a !== null && b !== null);
  assert.ok(b! - a! >= 5000 - 1, `5000 more bytes of value: ${a} -> ${b}`);
  await io.hset('h', 'f0', 'v');
  const small = (await usage('h'))!;
  for (let i = 1; i < 2000; i++) await io.hset('h', `field:${i}`, `value:${i}`);
  const big = (await usage('h'))!;
  assert.ok(big > small + 2000 * 10, `a 2000-field hash costs more than one field: ${small} -> ${big}`);
  assert.is(await io.call('MEMORY', 'USAGE', 'h', 'SAMPLES', '0'), big, 'exact: SAMPLES changes nothing');
  assert.is(await usage('missing'), null);
  await io.select(4);
  await io.set('in4', 'y');
  assert.ok((await usage('in4'))! > 0, 'MEMORY USAGE in the selected database');
  assert.is(await usage('s1'), null, 's1 lives in db 0');
  await io.select(0);
});

timed('MEMORY STATS: keys of every shard and database, allocator figures equal to INFO used_memory', async () => {
  await io.flushall();
  for (let i = 0; i < 100; i++) await io.set(`k:${i}`, `v:${i}`);
  await io.select(2);
  for (let i = 0; i < 5; i++) await io.set(`k:${i}`, 'x');
  await io.select(0);
  const st = await memoryStats();
  assert.is(num(st, 'keys.count'), 105);
  const db0 = st.get('db.0') as Map<string, unknown>;
  const db2 = st.get('db.2') as Map<string, unknown>;
  assert.ok(db0 instanceof Map && db2 instanceof Map, 'db.0 and db.2 listed');
  assert.equal([...db0.keys()], ['overhead.hashtable.main', 'overhead.hashtable.expires', 'overhead.hashtable.slot-to-keys']);
  assert.not.ok(st.has('db.1'), 'no db.1: it holds no keys');
  // Every arena that holds keys is counted: with nothing else in any database, INFO's used_memory
  // (all arenas of all shards) is MEMORY STATS's allocator.allocated.
  const info = await io.info('memory');
  const used = Number(/used_memory:(\d+)/.exec(info)![1]);
  assert.is(num(st, 'allocator.allocated'), used);
  assert.ok(num(st, 'total.allocated') >= used);
  assert.is(num(st, 'overhead.total') + num(st, 'dataset.bytes'), num(st, 'total.allocated'));
  assert.ok(num(st, 'allocator.active') >= num(st, 'allocator.allocated'));
  assert.ok(num(st, 'allocator.resident') >= num(st, 'allocator.active'));
  assert.ok(num(st, 'peak.allocated') >= num(st, 'total.allocated'));
  // db.2's expires table grows with a key given a TTL.
  await io.select(2);
  await io.expire('k:0', 1000);
  await io.select(0);
  const after = (await memoryStats()).get('db.2') as Map<string, unknown>;
  assert.ok(Number(after.get('overhead.hashtable.expires')) > 0, 'an expires table once a key has a TTL');
});

timed('MEMORY DOCTOR: empty, then fine with data, then the peak and arena fragmentation after a mass delete', async () => {
  await io.flushall();
  assert.is(await io.call('MEMORY', 'DOCTOR'), DOCTOR_EMPTY);
  await fill(0, FILL_KEYS);
  assert.is(await io.call('MEMORY', 'DOCTOR'), DOCTOR_FINE);
  const peak = num(await memoryStats(), 'total.allocated');
  // Two keys of three go: the total falls below 2/3 of the peak, and their blocks wait on the
  // arenas' free lists.
  for (let i = 0; i < FILL_KEYS; i += 1000) {
    const p = io.pipeline();
    for (let k = i; k < i + 1000; k++) if (k % 3 !== 0) p.del(`fill:${k}`);
    await p.exec();
  }
  const st = await memoryStats();
  assert.is(num(st, 'peak.allocated'), peak);
  assert.ok(num(st, 'total.allocated') * 1.5 < peak, 'the total fell below 2/3 of the peak');
  const text = String(await io.call('MEMORY', 'DOCTOR'));
  assert.ok(text.startsWith('Sam, I detected a few issues in this Redis instance memory implants:\n\n'), text);
  assert.ok(text.includes(' * Peak memory: In the past this instance used more than 150% the memory that is currently using.'), text);
  assert.ok(text.includes(' * High arena fragmentation:'), text);
  assert.ok(text.endsWith("I'm here to keep you safe, Sam. I want to help you.\n"), text);
  // New values of the same size reuse the free blocks: the arenas do not grow.
  const active = num(st, 'allocator.active');
  await fill(FILL_KEYS, FILL_KEYS + 4000);
  assert.ok(num(await memoryStats(), 'allocator.active') <= active, 'freed blocks are reused');
});

timed('MEMORY MALLOC-STATS: each shard\'s arena with its free blocks; MEMORY PURGE answers OK', async () => {
  await io.flushall();
  await fill(0, 3000);
  for (let k = 0; k < 3000; k += 2) await io.del(`fill:${k}`);
  await io.select(7);
  await io.set('seven', 'x');
  await io.select(0);
  const text = String(await io.call('MEMORY', 'MALLOC-STATS'));
  const lines = text.split('\n');
  assert.is(lines[0], '___ Begin Tessera arena statistics ___');
  assert.ok(text.endsWith('___ End Tessera arena statistics ___\n'), text);
  for (let s = 0; s < SHARDS; s++) assert.ok(lines.some((l) => l.startsWith(`shard ${s} db 0: keys=`)), `shard ${s} db 0 in\n${text}`);
  assert.ok(lines.some((l) => / db 7: keys=1 /.test(l)), `db 7 listed:\n${text}`);
  const freeLists = lines.filter((l) => l.startsWith('  free blocks (size:count): '));
  assert.ok(freeLists.some((l) => /\b\d+:\d+/.test(l)), `free blocks counted after deletes:\n${text}`);
  assert.is(await io.call('MEMORY', 'PURGE'), 'OK');
});

timed('redis-cli: MEMORY STATS and MEMORY DOCTOR print as from redis-server', async () => {
  requireTool('redis-cli', ['--version'], 'redis-tools');
  await io.flushall();
  const port = String(server!.port);
  const stats = await redisCli(['-p', port, 'MEMORY', 'STATS']);
  assert.is(stats.code, 0, stats.stderr);
  const first = stats.stdout.split('\n').slice(0, 2);
  assert.is(first[0], 'peak.allocated', stats.stdout);
  assert.ok(/^\d+$/.test(first[1]!), stats.stdout);
  const doctor = await redisCli(['-p', port, 'MEMORY', 'DOCTOR']);
  assert.is(doctor.stdout.trim(), DOCTOR_EMPTY.trim());
});

timed('cluster mode: slot-to-keys counts the per-slot links; MEMORY USAGE of an unserved slot is refused as Redis does', async () => {
  const dirs: string[] = [];
  const node = await startClusterNode({ nodeTimeoutMs: 5_000, shards: 2, createdDirs: dirs, extra: ['--cluster-require-full-coverage', 'no'] });
  try {
    // Slots 0-8191 only: 'a' (slot 15495) is served by nobody, 'b' (slot 3300) here.
    assert.is(await commandOnce(node.port, 'CLUSTER', 'ADDSLOTSRANGE', '0', '8191'), 'OK');
    await waitFor('slots assigned', async () => String(await commandOnce(node.port, 'CLUSTER', 'INFO')).includes('cluster_slots_assigned:8192'));
    assert.is(await commandOnce(node.port, 'SET', 'b', 'x'), 'OK');
    assert.ok(Number(await commandOnce(node.port, 'MEMORY', 'USAGE', 'b')) > 0);
    let refused = '';
    await commandOnce(node.port, 'MEMORY', 'USAGE', 'a').catch((e: Error) => (refused = e.message));
    assert.match(refused, /^CLUSTERDOWN Hash slot not served/);
    const flat = (await commandOnce(node.port, 'MEMORY', 'STATS')) as unknown[];
    const db0 = flat[flat.indexOf('db.0') + 1] as unknown[];
    assert.is(db0[4], 'overhead.hashtable.slot-to-keys');
    assert.is(Number(db0[5]), 8, 'one key: its two per-slot list links');
  } finally {
    await node.handle.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});

test.run();
