// Sorted sets in the log of effects and in snapshots: a ZADD or ZREM on a large sorted set is
// logged as the state of that member (an ELEMS record: member, 8-byte score), whose size does not
// depend on the set's; so is a change to a compact one; replaying the log (once or twice) gives
// an equal set; a snapshot taken while a large set changes holds it as it was at the start.
import { statSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_COLLECTION_LIMITS, Keyspace } from '../../src/keyspace/keyspace.js';
import * as Z from '../../src/keyspace/zset.js';
import { MAGIC_LOG } from '../../src/persistence/records.js';
import { ShardPersistence, type LoadFile } from '../../src/persistence/shard-persistence.js';
import { b, freshKs, handle, nextTurn, readAll, tempDir } from './helpers.js';

const tmp = tempDir('zset-log');
test.after(() => tmp.cleanup());

const SMALL = { ...DEFAULT_COLLECTION_LIMITS, zsetMaxListpackEntries: 16, zsetMaxListpackValue: 32 };

/** ZADD key score member (creating the key as ZADD does). */
function zadd(ks: Keyspace, key: string, s: number, member: string): void {
  const k = b(key);
  const m = b(member);
  let e = ks.find(k, 0, k.length);
  if (e === 0) e = Z.zsetCreate(ks, k, 0, k.length, 1, m.length);
  Z.zsetAdd(ks, e, m, 0, m.length, s);
}

/** ZREM key member (deleting the key when emptied, as ZREM does). */
function zrem(ks: Keyspace, key: string, member: string): void {
  const k = b(key);
  const e = ks.find(k, 0, k.length);
  const m = b(member);
  if (e !== 0 && Z.zsetRemove(ks, e, m, 0, m.length) && Z.zsetCount(ks, Z.removedHandle) === 0) ks.deleteEntry(Z.removedHandle);
}

/** Every sorted set of ks, in order, with its scores and expiry. */
function zdump(ks: Keyspace): Map<string, string> {
  const out = new Map<string, string>();
  for (let slot = 0; slot < 16384; slot++) {
    for (let e = ks.slotHead(slot); e !== 0; e = ks.slotNext(e)) {
      const u8 = ks.bytes();
      const key = Buffer.from(u8.subarray(ks.keyOffset(e), ks.keyOffset(e) + ks.keyLength(e))).toString('latin1');
      const items: string[] = [];
      const n = Z.zsetCount(ks, e);
      Z.zsetRange(ks, e, 0, n - 1, false, (buf, o, l, s) => {
        items.push(`${Buffer.from(buf.subarray(o, o + l)).toString('latin1')}=${Object.is(s, -0) ? '-0' : String(s)}`);
        return true;
      });
      out.set(key, `${ks.expireAt(e)}|${items.join(',')}`);
    }
  }
  return out;
}

function same(want: Map<string, string>, got: Map<string, string>): void {
  assert.equal([...got.keys()].sort(), [...want.keys()].sort(), 'keys');
  for (const [k, v] of want) assert.ok(got.get(k) === v, `${k} differs`);
}

function logOf(path: string): LoadFile {
  return { path, kind: 'log', last: true, from: { shard: 0, shards: 1 } };
}

function load(files: LoadFile[]): Keyspace {
  const ks = freshKs();
  ks.limits = { ...SMALL };
  const report = new ShardPersistence(0, ks).load({ files, keep: null, truncateTorn: false, repair: false });
  assert.is(report.error, null);
  return ks;
}

test('a ZADD on a large sorted set logs one member: its record does not grow with the set', () => {
  const ks = freshKs();
  ks.limits = { ...SMALL };
  ks.now = Date.now();
  const ps = new ShardPersistence(0, ks);
  const p = tmp.path('elems.aof');
  ps.setLog({ paths: [p], fsync: 'always' });
  const sizes: number[] = [];
  for (const n of [1000, 20_000]) {
    const key = `big${n}`;
    for (let i = 0; i < n; i++) zadd(ks, key, (i * 7919) % 1000, `member:${String(i).padStart(7, '0')}`);
    ps.afterCommand();
    ps.endBatch();
    assert.is(Z.zsetEncodingName(ks, handle(ks, key)), 'skiplist');
    const before = statSync(p).size;
    zadd(ks, key, 0.5, 'member:0000007'); // a new score for a member
    ps.afterCommand();
    ps.endBatch();
    sizes.push(statSync(p).size - before);
  }
  // FRAME 8 + ELEMS header 20 + key + element header 9 + member 14 + score 8.
  assert.ok(sizes[0] === sizes[1]! - 1, `ZADD records of ${sizes.join(' and ')} bytes (the key is one byte longer)`);
  assert.ok(sizes[0]! < 70, `a ZADD logged ${sizes[0]} bytes`);

  const before = statSync(p).size;
  zadd(ks, 'big20000', -Infinity, 'new'); // a new member
  ps.afterCommand();
  zadd(ks, 'big20000', -0, 'zero');
  ps.afterCommand();
  zrem(ks, 'big20000', 'member:0000008'); // ZREM
  zadd(ks, 'big20000', Infinity, 'member:0000009'); // two changes in one command
  ps.afterCommand();
  const e = handle(ks, 'big20000');
  Z.zsetRemoveRange(ks, e, 100, 109); // ZREMRANGEBYRANK: ten members
  ps.afterCommand();
  ks.setExpireAt(handle(ks, 'big20000'), ks.now + 3_600_000); // EXPIRE
  ps.afterCommand();
  ps.endBatch();
  const grew = statSync(p).size - before;
  assert.ok(grew < 900, `five commands changing 15 members of a 20000-member set logged ${grew} bytes`);
  const tail = readAll(p, MAGIC_LOG).records.slice(-5);
  assert.ok(tail.every((r) => r.op === 'elems'), `the last five records are ELEMS records: ${tail.map((r) => r.op).join(',')}`);

  const back = load([logOf(p)]);
  same(zdump(ks), zdump(back));
  back.checkIntegrity();
  Z.zsetCheck(back, handle(back, 'big20000'));
  assert.is(Z.zsetEncodingName(back, handle(back, 'big20000')), 'skiplist');
});

test('a change to one member of a compact sorted set logs that member, and a conversion the whole set', () => {
  const ks = freshKs();
  ks.now = Date.now();
  const ps = new ShardPersistence(0, ks);
  const p = tmp.path('compact.aof');
  ps.setLog({ paths: [p], fsync: 'always' });
  for (let i = 0; i < 120; i++) zadd(ks, 'z', i, `member-with-a-longish-name:${i}`);
  ps.afterCommand();
  ps.endBatch();
  assert.is(Z.zsetEncodingName(ks, handle(ks, 'z')), 'listpack');
  const before = statSync(p).size;
  for (let i = 0; i < 100; i++) {
    zadd(ks, 'z', 1000 - i, `member-with-a-longish-name:${i}`); // moves inside the pack
    ps.afterCommand();
  }
  ps.endBatch();
  const perCommand = (statSync(p).size - before) / 100;
  // The set is ~5 KB: a whole-value record per command would be that.
  assert.ok(perCommand < 100, `a ZADD on a 120-member listpack logged ${perCommand} bytes`);
  for (let i = 120; i < 140; i++) zadd(ks, 'z', -i, `member-with-a-longish-name:${i}`); // converts
  ps.afterCommand();
  ps.endBatch();
  assert.is(Z.zsetEncodingName(ks, handle(ks, 'z')), 'skiplist');
  assert.is(readAll(p, MAGIC_LOG).records.at(-1)!.op, 'set');
  const back = load([logOf(p)]);
  same(zdump(ks), zdump(back));
});

test('replaying sorted-set element records twice (a rewrite\'s overlap) gives the same state', () => {
  const ks = freshKs();
  ks.limits = { ...SMALL };
  ks.now = Date.now();
  const ps = new ShardPersistence(0, ks);
  const p = tmp.path('twice.aof');
  ps.setLog({ paths: [p], fsync: 'always' });
  for (let i = 0; i < 600; i++) {
    zadd(ks, 'z', (i * 13) % 7, `m${i % 80}`);
    ps.afterCommand();
    if (i % 3 === 0) {
      zrem(ks, 'z', `m${(i * 7) % 80}`);
      ps.afterCommand();
    }
  }
  ps.endBatch();
  const back = load([logOf(p), logOf(p)]);
  same(zdump(ks), zdump(back));
  back.checkIntegrity();
});

test('a snapshot holds a large sorted set as it was when it started, while commands change it', async () => {
  const ks = freshKs();
  ks.limits = { ...SMALL };
  ks.now = Date.now();
  const ps = new ShardPersistence(0, ks);
  for (let i = 0; i < 30_000; i++) zadd(ks, 'big', i % 977, `member:${i}`);
  for (let i = 0; i < 100; i++) zadd(ks, `z${i}`, i, 'm');
  const want = zdump(ks);
  const path = tmp.path('cow.snap');
  ps.snapshotStart(path);
  for (let i = 0; i < 30_000; i += 10) {
    zadd(ks, 'big', -1, `member:${i}`);
    zrem(ks, 'big', `member:${i + 1}`);
    zadd(ks, 'big', 5, `born:${i}`);
    if (i % 1000 === 0) await nextTurn();
  }
  const r = await ps.snapshotWait();
  assert.is(r.keys, 101);
  const back = load([{ path, kind: 'snapshot', last: true, from: { shard: 0, shards: 1 } }]);
  same(want, zdump(back));
  back.checkIntegrity();
  ks.checkIntegrity();
  Z.zsetCheck(back, handle(back, 'big'));
});

test.run();
