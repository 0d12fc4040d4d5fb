// Large collections in the log of effects and in snapshots: a change to a few elements of a large
// hash or set is logged as the state of those elements (an ELEMS record), not as the whole value,
// and replaying the log (once, or twice after a snapshot) gives the same keyspace; a snapshot
// taken while a large collection changes holds it as it was at the snapshot's start.
import { statSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_COLLECTION_LIMITS, Keyspace, TYPE_HASH, TYPE_SET } from '../../src/keyspace/keyspace.js';
import * as C from '../../src/keyspace/collection.js';
import { ENC_INTSET, ENC_PACK } from '../../src/keyspace/pack.js';
import { MAGIC_LOG } from '../../src/persistence/records.js';
import { ShardPersistence, type LoadFile } from '../../src/persistence/shard-persistence.js';
import { b, diffStates, dump, freshKs, handle, nextTurn, readAll, tempDir } from './helpers.js';

const tmp = tempDir('coll-log');
test.after(() => tmp.cleanup());

const SMALL = { ...DEFAULT_COLLECTION_LIMITS, hashMaxListpackEntries: 8, hashMaxListpackValue: 16, setMaxIntsetEntries: 8, setMaxListpackEntries: 8, setMaxListpackValue: 16 };

function hset(ks: Keyspace, key: string, field: string, value: string): void {
  const k = b(key);
  let e = ks.find(k, 0, k.length);
  if (e === 0) e = C.createCollection(ks, k, 0, k.length, TYPE_HASH, ENC_PACK);
  const f = b(field);
  const v = b(value);
  C.elementPut(ks, e, f, 0, f.length, v, 0, v.length);
}

function sadd(ks: Keyspace, key: string, member: string): void {
  const k = b(key);
  let e = ks.find(k, 0, k.length);
  const m = b(member);
  if (e === 0) e = C.createCollection(ks, k, 0, k.length, TYPE_SET, C.newSetEncoding(ks, m, 0, m.length) === ENC_INTSET ? ENC_INTSET : ENC_PACK);
  C.elementPut(ks, e, m, 0, m.length, null, 0, 0);
}

function remove(ks: Keyspace, key: string, element: string): void {
  const k = b(key);
  const e = ks.find(k, 0, k.length);
  const f = b(element);
  if (e !== 0 && C.elementRemove(ks, e, f, 0, f.length) && ks.elementCount(C.removedHandle) === 0) ks.deleteEntry(C.removedHandle);
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

test('a change to one element of a large hash or set logs that element, not the collection', () => {
  const ks = freshKs();
  ks.limits = { ...SMALL };
  ks.now = Date.now();
  const ps = new ShardPersistence(0, ks);
  const p = tmp.path('elems.aof');
  ps.setLog({ paths: [p], fsync: 'always' });
  for (let i = 0; i < 2000; i++) hset(ks, 'big', `field:${i}`, `value:${i}`);
  for (let i = 0; i < 2000; i++) sadd(ks, 'members', `member:${i}`);
  ps.afterCommand();
  ps.endBatch();
  assert.is(C.encodingName(ks, handle(ks, 'big')), 'hashtable');
  const before = statSync(p).size;

  hset(ks, 'big', 'field:7', 'changed'); // HSET of an existing field
  ps.afterCommand();
  hset(ks, 'big', 'new', 'x'); // HSET of a new field
  ps.afterCommand();
  remove(ks, 'big', 'field:8'); // HDEL
  ps.afterCommand();
  remove(ks, 'members', 'member:9'); // SREM
  sadd(ks, 'members', 'member:new'); // SADD in the same command
  ps.afterCommand();
  ks.setExpireAt(handle(ks, 'big'), ks.now + 3_600_000); // EXPIRE
  ps.afterCommand();
  ps.endBatch();
  const grew = statSync(p).size - before;
  assert.ok(grew < 600, `five small changes to 2000-element collections logged ${grew} bytes`);

  const { records } = readAll(p, MAGIC_LOG);
  const tail = records.slice(-5);
  assert.ok(tail.every((r) => r.op === 'elems'), `the last five records are ELEMS records: ${tail.map((r) => r.op).join(',')}`);

  // A new small hash, and a large one emptied and deleted: whole records.
  hset(ks, 'small', 'a', '1');
  ps.afterCommand();
  const k = b('members');
  ks.deleteEntry(ks.find(k, 0, k.length));
  ps.afterCommand();
  ps.endBatch();
  assert.is(readAll(p, MAGIC_LOG).records.at(-2)!.op, 'set');
  assert.is(readAll(p, MAGIC_LOG).records.at(-1)!.op, 'del');

  const back = load([logOf(p)]);
  const diff = diffStates(dump(ks), dump(back));
  assert.ok(diff === '', diff);
  back.checkIntegrity();
  assert.is(back.expireAt(handle(back, 'big')), ks.expireAt(handle(ks, 'big')));
});

test('a change to one element of a compact (listpack, intset) collection logs that element too', () => {
  const ks = freshKs();
  ks.now = Date.now();
  const ps = new ShardPersistence(0, ks);
  const p = tmp.path('compact.aof');
  ps.setLog({ paths: [p], fsync: 'always' });
  for (let i = 0; i < 400; i++) hset(ks, 'h', `field:${i}`, 'x'.repeat(60));
  for (let i = 0; i < 400; i++) sadd(ks, 'ints', String(i * 3));
  ps.afterCommand();
  ps.endBatch();
  assert.is(C.encodingName(ks, handle(ks, 'h')), 'listpack');
  assert.is(C.encodingName(ks, handle(ks, 'ints')), 'intset');
  const before = statSync(p).size;
  for (let i = 0; i < 100; i++) {
    hset(ks, 'h', `field:${i}`, 'y'.repeat(i % 70)); // the value's length changes: the pack moves
    ps.afterCommand();
    remove(ks, 'ints', String(i * 3));
    sadd(ks, 'ints', String(-i));
    ps.afterCommand();
  }
  ps.endBatch();
  // 200 commands; the hash alone is ~26 KB, so a whole-value record per command would be ~5 MB.
  const perCommand = (statSync(p).size - before) / 200;
  assert.ok(perCommand < 300, `a command changing one or two elements of a 400-element compact collection logged ${perCommand} bytes`);
  const back = load([logOf(p)]);
  const diff = diffStates(dump(ks), dump(back));
  assert.ok(diff === '', diff);
});

test('replaying element records twice (a rewrite\'s overlap) gives the same state', () => {
  const ks = freshKs();
  ks.limits = { ...SMALL };
  ks.now = Date.now();
  const ps = new ShardPersistence(0, ks);
  const p = tmp.path('twice.aof');
  ps.setLog({ paths: [p], fsync: 'always' });
  for (let i = 0; i < 300; i++) {
    hset(ks, 'h', `f${i % 50}`, `v${i}`);
    ps.afterCommand();
    if (i % 3 === 0) {
      remove(ks, 'h', `f${(i * 7) % 50}`);
      ps.afterCommand();
    }
  }
  ps.endBatch();
  const back = load([logOf(p), logOf(p)]);
  const diff = diffStates(dump(ks), dump(back));
  assert.ok(diff === '', diff);
});

test('a snapshot holds a large collection as it was when it started, while commands change it', async () => {
  const ks = freshKs();
  ks.limits = { ...SMALL };
  ks.now = Date.now();
  const ps = new ShardPersistence(0, ks);
  for (let i = 0; i < 3000; i++) hset(ks, 'big', `field:${i}`, `value:${i}`);
  for (let i = 0; i < 200; i++) hset(ks, `h${i}`, 'f', String(i));
  const want = dump(ks);
  const path = tmp.path('cow.snap');
  ps.snapshotStart(path);
  for (let i = 0; i < 3000; i += 10) {
    hset(ks, 'big', `field:${i}`, 'rewritten');
    remove(ks, 'big', `field:${i + 1}`);
    if (i % 100 === 0) await nextTurn();
  }
  const r = await ps.snapshotWait();
  assert.is(r.keys, 201);
  const back = load([{ path, kind: 'snapshot', last: true, from: { shard: 0, shards: 1 } }]);
  const diff = diffStates(want, dump(back));
  assert.ok(diff === '', diff);
});

test('a change to one field of a large hash during a snapshot copies that field, not the hash', async () => {
  const ks = freshKs();
  ks.limits = { ...SMALL };
  ks.now = Date.now();
  const ps = new ShardPersistence(0, ks);
  const N = 50_000;
  for (let i = 0; i < N; i++) hset(ks, 'big', `field:${i}`, `value:${i}`);
  for (let i = 0; i < N; i++) sadd(ks, 'members', `member:${i}`);
  const want = dump(ks);
  const path = tmp.path('piecewise.snap');
  ps.snapshotStart(path);
  // Changes before the walk reaches the keys: each copies one element.
  for (let i = 0; i < 200; i++) {
    hset(ks, 'big', `field:${i * 97}`, 'rewritten');
    hset(ks, 'big', `new:${i}`, 'born during the snapshot');
    remove(ks, 'members', `member:${i * 89}`);
    sadd(ks, 'members', `new:${i}`);
  }
  const peakAfterChanges = ps.stats().snapshotPeakBytes;
  assert.ok(peakAfterChanges < 64 * 1024, `800 element changes held ${peakAfterChanges} bytes of copies (the hash is ~1.5 MB)`);
  for (let i = 0; i < 2000; i++) {
    hset(ks, 'big', `field:${(i * 31) % N}`, `again:${i}`);
    if (i % 50 === 0) await nextTurn();
  }
  const r = await ps.snapshotWait();
  assert.is(r.keys, 2);
  const back = load([{ path, kind: 'snapshot', last: true, from: { shard: 0, shards: 1 } }]);
  const diff = diffStates(want, dump(back));
  assert.ok(diff === '', diff);
  back.checkIntegrity();
  ks.checkIntegrity();
  // The next snapshot sees every element pending again (marks were left consistent).
  const path2 = tmp.path('piecewise2.snap');
  const want2 = dump(ks);
  ps.snapshotStart(path2);
  await ps.snapshotWait();
  const diff2 = diffStates(want2, dump(load([{ path: path2, kind: 'snapshot', last: true, from: { shard: 0, shards: 1 } }])));
  assert.ok(diff2 === '', diff2);
});

test('a snapshot abandoned in the middle of a large collection leaves its marks consistent', async () => {
  const ks = freshKs();
  ks.limits = { ...SMALL };
  ks.now = Date.now();
  let ps = new ShardPersistence(0, ks);
  for (let i = 0; i < 20_000; i++) hset(ks, 'big', `f${i}`, `v${i}`);
  ps.snapshotStart(tmp.path('abandoned.snap'));
  for (let i = 0; i < 100; i++) hset(ks, 'big', `f${i * 3}`, 'x');
  await nextTurn();
  // The job stops here (the shard stopping; a crashed shard's next incarnation runs the same
  // repair when it attaches): some elements are written, some not.
  ps.close();
  const again = new Keyspace(ks.memory);
  again.limits = { ...SMALL };
  again.now = Date.now();
  ps = new ShardPersistence(0, again);
  const want = dump(again);
  const path = tmp.path('after.snap');
  ps.snapshotStart(path);
  await ps.snapshotWait();
  const diff = diffStates(want, dump(load([{ path, kind: 'snapshot', last: true, from: { shard: 0, shards: 1 } }])));
  assert.ok(diff === '', diff);
});

test.run();
