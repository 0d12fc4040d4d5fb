// Commands whose keys live on different shards: RENAME, RENAMENX, COPY and MSETNX stay atomic
// (no client ever sees a half-done operation), MGET/MSET/DEL fan out and merge in key order.
// Tessera only: the keys are chosen by the server's slot-to-shard table.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { keyOn as keyOnShard, shardOf as shardOfKey } from './shard-keys.js';
import { expectReject, startTessera, withTimeout, type ServerHandle } from './harness.js';

const SHARDS = 2;
const TEST_TIMEOUT_MS = 30_000;

const shardOf = (key: string): number => shardOfKey(key, SHARDS);
const keyOn = (s: number, prefix: string): string => keyOnShard(s, SHARDS, prefix);

let server: ServerHandle | undefined;
const clients: Redis[] = [];
// Both ways a shard can run: in a worker thread, or inline on the main thread.
const SHARD_THREADS = process.env.CROSS_SHARD_INLINE === '1' ? 'no' : 'yes';

function client(): Redis {
  const c = new Redis({ port: server!.port, lazyConnect: false, maxRetriesPerRequest: 0 });
  clients.push(c);
  return c;
}

const t = suite(`cross-shard commands (shard-threads ${SHARD_THREADS})`);

t.before(async () => {
  server = await startTessera({ shards: SHARDS, args: ['--shard-threads', SHARD_THREADS] });
});

t.after(async () => {
  for (const c of clients) c.disconnect();
  await server?.stop();
});

t('RENAME back and forth across shards: every MGET sees exactly one of the two keys', async () => {
  await withTimeout(
    (async () => {
      const a = keyOn(0, 'ren-a');
      const b = keyOn(1, 'ren-b');
      const writer = client();
      const reader = client();
      await writer.set(a, 'payload', 'EX', 1000);
      let stop = false;
      const seen: Array<[string | null, string | null]> = [];
      const reading = (async () => {
        while (!stop) seen.push((await reader.mget(a, b)) as [string | null, string | null]);
      })();
      for (let i = 0; i < 300; i++) {
        if (i % 2 === 0) assert.is(await writer.rename(a, b), 'OK');
        else assert.is(await writer.rename(b, a), 'OK');
      }
      stop = true;
      await reading;
      assert.ok(seen.length > 10, `only ${seen.length} reads`);
      const torn = seen.filter(([x, y]) => (x === null) === (y === null));
      assert.is(torn.length, 0, `torn reads: ${JSON.stringify(torn.slice(0, 3))}`);
      // 300 renames end with the value back on a, with its TTL kept.
      assert.is(await writer.get(a), 'payload');
      const ttl = await writer.ttl(a);
      assert.ok(ttl > 900 && ttl <= 1000, `ttl ${ttl}`);
    })(),
    TEST_TIMEOUT_MS,
  );
});

t('RENAMENX and COPY across shards follow Redis', async () => {
  const c = client();
  const a = keyOn(0, 'nx-a');
  const b = keyOn(1, 'nx-b');
  await c.del(a, b);
  await expectReject(c.renamenx(a, b), /no such key/);
  await c.set(a, '1');
  await c.set(b, '2');
  assert.is(await c.renamenx(a, b), 0);
  assert.is(await c.copy(a, b), 0);
  assert.is(await c.copy(a, b, 'REPLACE'), 1);
  assert.is(await c.get(b), '1');
  await c.del(b);
  assert.is(await c.renamenx(a, b), 1);
  assert.is(await c.exists(a), 0);
  assert.is(await c.get(b), '1');
  await c.pexpire(b, 100000);
  const d = keyOn(0, 'copy-d');
  assert.is(await c.copy(b, d), 1);
  const pttl = await c.pttl(d);
  assert.ok(pttl > 90000 && pttl <= 100000, `pttl ${pttl}`);
});

t('concurrent MSETNX over the same cross-shard keys: exactly one wins', async () => {
  await withTimeout(
    (async () => {
      const keys = [keyOn(0, 'mx-a'), keyOn(1, 'mx-b'), keyOn(0, 'mx-c'), keyOn(1, 'mx-d')];
      const racers = Array.from({ length: 8 }, () => client());
      for (let round = 0; round < 20; round++) {
        await racers[0]!.del(...keys);
        const results = await Promise.all(
          racers.map((r, i) => r.msetnx(...keys.flatMap((k) => [k, `r${round}-c${i}`]))),
        );
        assert.is(results.filter((x) => x === 1).length, 1, `round ${round}: ${results}`);
        const winner = results.indexOf(1);
        const values = await racers[0]!.mget(...keys);
        assert.equal(values, keys.map(() => `r${round}-c${winner}`));
      }
    })(),
    TEST_TIMEOUT_MS,
  );
});

t('a shard crash during cross-shard RENAMEs never loses or duplicates the value', async () => {
  await withTimeout(
    (async () => {
      const a = keyOn(1, 'crash-a');
      const b = keyOn(0, 'crash-b');
      const renamer = client();
      const admin = client();
      await renamer.del(a, b);
      await renamer.set(a, 'precious');
      let from = a;
      let to = b;
      for (let round = 0; round < 5; round++) {
        const [crash, renamed] = await Promise.allSettled([admin.debug('SHARD-CRASH', 1), renamer.rename(from, to)]);
        assert.is(crash.status, 'fulfilled');
        if (renamed.status === 'fulfilled') [from, to] = [to, from];
        else assert.match(String(renamed.reason), /shard 1 crashed/);
        const values = await renamer.mget(a, b);
        assert.equal(values.filter((v) => v !== null), ['precious'], `round ${round}: ${JSON.stringify(values)}`);
        assert.is(await renamer.get(from), 'precious');
      }
    })(),
    TEST_TIMEOUT_MS,
  );
});

t('MSET, MGET, DEL, EXISTS over many keys on all shards keep key order and counts', async () => {
  const c = client();
  const keys = Array.from({ length: 200 }, (_, i) => `fan:${i}`);
  assert.ok(new Set(keys.map(shardOf)).size === SHARDS);
  assert.is(await c.mset(...keys.flatMap((k) => [k, `v-${k}`])), 'OK');
  assert.equal(await c.mget(...keys, 'fan:missing'), [...keys.map((k) => `v-${k}`), null]);
  assert.is(await c.exists(...keys, keys[0]!), keys.length + 1);
  assert.is(await c.del(...keys.slice(0, 50), 'fan:missing'), 50);
  assert.is(await c.exists(...keys), 150);
  assert.is(await c.dbsize(), 150 + (await c.keys('*')).filter((k) => !k.startsWith('fan:')).length);
});

t.run();
