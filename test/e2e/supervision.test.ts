// Supervision: `DEBUG SHARD-CRASH <n>` kills a shard worker; the server restarts it on the same
// shared memory, so its keys survive; commands in flight on it get an error reply (never a hang,
// never a lost reply), acknowledged writes are never lost, and the other shards keep serving.
// Tessera only (redis-server has no shards).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  encodeCommand,
  plain,
  rawClient,
  show,
  startTessera,
  waitFor,
  withTimeout,
  type RawClient,
  type Reply,
  type ServerHandle,
} from './harness.js';

const TEST_TIMEOUT_MS = 30_000;
const KEYS = 3000;
const CRASH_ERROR = /^-ERR shard 1 crashed/;

let server: ServerHandle | undefined;
const opened: RawClient[] = [];

const sup = suite('supervision: shard crash and restart');

sup.before(async () => {
  server = await startTessera({ shards: 3 });
});

sup.after(async () => {
  for (const c of opened) c.close();
  await server?.stop();
});

async function connect(): Promise<RawClient> {
  if (server === undefined) throw new Error('server not started');
  const c = await rawClient(server.port);
  opened.push(c);
  return c;
}

function t(name: string, fn: () => Promise<void>): void {
  sup(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));
}

const key = (i: number): string => `sup:${i}`;
const val = (i: number, gen = 0): string => `value-${gen}-${i}`;
const bulk = (s: string): string => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;

async function restarts(c: RawClient): Promise<number> {
  const info = plain((await c.call(['INFO', 'stats'])).value);
  const m = /^shard_restarts:(\d+)\r$/m.exec(String(info));
  if (m === null) throw new Error(`no shard_restarts in INFO stats: ${String(info)}`);
  return Number(m[1]);
}

/** Every key `key(i)` holds `valueOf(i)`. */
async function assertAllKeys(c: RawClient, valueOf: (i: number) => string): Promise<void> {
  for (let start = 0; start < KEYS; start += 500) {
    const keys = Array.from({ length: 500 }, (_, j) => key(start + j));
    const r = await c.call(['MGET', ...keys], 10_000);
    const got = plain(r.value);
    assert.ok(Array.isArray(got), `MGET replied ${show(r.raw)}`);
    for (let j = 0; j < 500; j++) {
      if (got[j] !== valueOf(start + j)) assert.unreachable(`${key(start + j)}: expected ${valueOf(start + j)}, got ${JSON.stringify(got[j])}`);
    }
  }
}

t('3000 keys survive DEBUG SHARD-CRASH 1; INFO counts the restart', async () => {
  const c = await connect();
  assert.is((await c.call(['FLUSHALL'])).text, '+OK\r\n');
  assert.is(await restarts(c), 0);
  const parts: Buffer[] = [];
  for (let i = 0; i < KEYS; i++) parts.push(encodeCommand(['SET', key(i), val(i)]));
  c.send(Buffer.concat(parts));
  assert.ok((await c.read(KEYS, 10_000)).every((r) => r.text === '+OK\r\n'));
  assert.is((await c.call(['DBSIZE'])).text, `:${KEYS}\r\n`);

  assert.is((await c.call(['DEBUG', 'SHARD-CRASH', '1'])).text, '+OK\r\n');
  await waitFor('shard_restarts:1', async () => (await restarts(c)) === 1, 15_000);
  await assertAllKeys(c, (i) => val(i));
  assert.is((await c.call(['DBSIZE'])).text, `:${KEYS}\r\n`, 'DBSIZE unchanged');
  // The restarted shard takes writes again.
  const w = await connect();
  const more: Buffer[] = [];
  for (let i = 0; i < KEYS; i++) more.push(encodeCommand(['SET', key(i), val(i, 1)]));
  w.send(Buffer.concat(more));
  assert.ok((await w.read(KEYS, 10_000)).every((r) => r.text === '+OK\r\n'), 'every write after the restart succeeds');
  await assertAllKeys(c, (i) => val(i, 1));
});

t('commands pipelined behind a crash: each gets a reply, success or a shard-1 error', async () => {
  const c = await connect();
  const before = await restarts(c);
  const n = KEYS;
  const parts: Buffer[] = [encodeCommand(['DEBUG', 'SHARD-CRASH', '1'])];
  for (let i = 0; i < n; i++) {
    parts.push(encodeCommand(['GET', key(i)]));
    parts.push(encodeCommand(['SET', key(i), val(i, 2)]));
  }
  c.send(Buffer.concat(parts));
  const replies: Reply[] = await c.read(1 + 2 * n, 20_000);
  assert.is(replies[0]!.text, '+OK\r\n');
  let errors = 0;
  const acknowledged = new Set<number>();
  for (let i = 0; i < n; i++) {
    const get = replies[1 + 2 * i]!.text;
    const set = replies[2 + 2 * i]!.text;
    if (get !== bulk(val(i, 1))) {
      assert.match(get, CRASH_ERROR, `GET ${key(i)}: ${show(get)}`);
      errors++;
    }
    if (set === '+OK\r\n') acknowledged.add(i);
    else {
      assert.match(set, CRASH_ERROR, `SET ${key(i)}: ${show(set)}`);
      errors++;
    }
  }
  // The two other shards hold about two thirds of the keys and must answer every command.
  assert.ok(acknowledged.size >= n / 2, `${acknowledged.size} of ${n} SETs acknowledged during the restart`);
  c.send(encodeCommand(['PING']));
  assert.is((await c.read(1)).map((r) => r.text)[0], '+PONG\r\n', 'no stray reply after the pipeline');
  await waitFor(`shard_restarts:${before + 1}`, async () => (await restarts(c)) === before + 1, 15_000);
  // No acknowledged write is lost; an unacknowledged one may or may not have happened.
  const c2 = await connect();
  for (let i = 0; i < n; i++) {
    const got = (await c2.call(['GET', key(i)])).text;
    if (acknowledged.has(i)) {
      if (got !== bulk(val(i, 2))) assert.unreachable(`${key(i)}: acknowledged write lost, got ${show(got)}`);
    } else if (got !== bulk(val(i, 1)) && got !== bulk(val(i, 2))) {
      assert.unreachable(`${key(i)}: neither old nor new value: ${show(got)}`);
    }
  }
  assert.is((await c2.call(['DBSIZE'])).text, `:${KEYS}\r\n`);
  console.log(`  (${errors} of ${2 * n} commands got a shard-crash error)`);
});

t('other shards keep serving while shard 1 restarts', async () => {
  const admin = await connect();
  const before = await restarts(admin);
  // A second connection keeps a steady stream of reads and writes going across all shards.
  const worker = await connect();
  let stop = false;
  let served = 0;
  let failedOther = '';
  const loop = (async () => {
    let round = 0;
    while (!stop) {
      const parts: Buffer[] = [];
      for (let j = 0; j < 30; j++) parts.push(encodeCommand(['INCR', `busy:${round % 10}:${j}`]));
      worker.send(Buffer.concat(parts));
      for (const r of await worker.read(30, 10_000)) {
        if (/^:\d+\r\n$/.test(r.text)) served++;
        else if (!CRASH_ERROR.test(r.text)) failedOther ||= r.text;
      }
      round++;
    }
  })();
  await waitFor('traffic flowing', () => served > 300, 10_000);
  const servedAtCrash = served;
  assert.is((await admin.call(['DEBUG', 'SHARD-CRASH', '1'])).text, '+OK\r\n');
  await waitFor(`shard_restarts:${before + 1}`, async () => (await restarts(admin)) === before + 1, 15_000);
  await waitFor('more traffic after the restart', () => served > servedAtCrash + 300, 10_000);
  stop = true;
  await loop;
  assert.is(failedOther, '', 'only shard-1 crash errors');
  assert.is((await admin.call(['PING'])).text, '+PONG\r\n');
});

t('each shard can crash and restart; a bad shard number is an error', async () => {
  const c = await connect();
  const before = await restarts(c);
  const snapshot = plain((await c.call(['MGET', ...Array.from({ length: KEYS }, (_, i) => key(i))], 10_000)).value);
  assert.ok(Array.isArray(snapshot) && snapshot.every((v) => typeof v === 'string'), 'every key present before');
  const size = (await c.call(['DBSIZE'])).text;
  for (const shard of ['0', '2']) {
    assert.is((await c.call(['DEBUG', 'SHARD-CRASH', shard])).text, '+OK\r\n');
  }
  await waitFor(`shard_restarts:${before + 2}`, async () => (await restarts(c)) === before + 2, 15_000);
  await assertAllKeys(c, (i) => snapshot[i] as string);
  assert.is((await c.call(['DBSIZE'])).text, size, 'DBSIZE unchanged');
  const bad = await c.call(['DEBUG', 'SHARD-CRASH', '7']);
  assert.match(bad.text, /^-ERR /, `DEBUG SHARD-CRASH 7: ${show(bad.raw)}`);
  assert.is(await restarts(c), before + 2, 'no restart for a bad shard number');
});

sup.run();
