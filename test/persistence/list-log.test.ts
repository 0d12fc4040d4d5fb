// Lists in the log of effects, the replication feed and snapshots: an operation on a list (push,
// pop, set, insert, remove, trim) is logged as that operation (a LIST record of O(its elements)
// bytes), not as the list; replaying the log into a fresh keyspace, or the feed into a replica,
// gives the same lists; a record replayed over a state that already holds it is skipped (its
// length precondition fails); a snapshot taken while a list changes holds it as it was.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_COLLECTION_LIMITS, Keyspace } from '../../src/keyspace/keyspace.js';
import * as L from '../../src/keyspace/list.js';
import { FILE_HEADER, MAGIC_LOG } from '../../src/persistence/records.js';
import { ShardPersistence, type LoadFile } from '../../src/persistence/shard-persistence.js';
import { b, diffStates, dump, frameOffsets, freshKs, handle, nextTurn, readAll, tempDir } from './helpers.js';

const tmp = tempDir('list-log');
test.after(() => tmp.cleanup());

const SMALL = { ...DEFAULT_COLLECTION_LIMITS, listMaxListpackSize: 4, listCompressDepth: 1 };

function logOf(path: string): LoadFile {
  return { path, kind: 'log', last: true, from: { shard: 0, shards: 1 } };
}

function load(files: LoadFile[], limits = DEFAULT_COLLECTION_LIMITS): Keyspace {
  const ks = freshKs();
  ks.limits = { ...limits };
  const report = new ShardPersistence(0, ks).load({ files, keep: null, truncateTorn: false, repair: false });
  assert.is(report.error, null);
  return ks;
}

/** LPUSH/RPUSH as the command does it: creates the key when absent. */
function push(ks: Keyspace, key: string, where: 0 | 1, ...els: Array<string | string[]>): void {
  const k = b(key);
  let e = ks.find(k, 0, k.length);
  if (e === 0) e = L.listCreate(ks, k, 0, k.length);
  for (const s of els.flat()) {
    const v = b(s);
    e = L.listPush(ks, e, where, v, 0, v.length);
  }
}

/** LPOP/RPOP count: deletes the key it empties. */
function pop(ks: Keyspace, key: string, where: 0 | 1, n: number): void {
  const k = b(key);
  let e = ks.find(k, 0, k.length);
  for (let i = 0; i < n && e !== 0; i++) {
    e = L.listPop(ks, e, where);
    if (L.listLength(ks, e) === 0) {
      ks.deleteEntry(e);
      e = 0;
    }
  }
}

/** A mix of every list operation on `key`, one command each (afterCommand between them). */
function workload(ks: Keyspace, ps: ShardPersistence, key: string, rounds: number): void {
  const k = b(key);
  const e = (): number => ks.find(k, 0, k.length);
  for (let i = 0; i < rounds; i++) {
    push(ks, key, 0, `head:${i}`);
    ps.afterCommand();
    push(ks, key, 1, `tail:${i}:a`, `tail:${i}:b`, `tail:${i}:c`);
    ps.afterCommand();
    pop(ks, key, i % 2 === 0 ? 0 : 1, 2);
    ps.afterCommand();
    const v = b(`set:${i}`);
    L.listSet(ks, e(), (i * 37) % L.listLength(ks, e()), v, 0, v.length);
    ps.afterCommand();
    const pv = b(`tail:${i}:b`);
    const iv = b(`inserted:${i}`);
    L.listInsert(ks, e(), i % 2 === 0, pv, 0, pv.length, iv, 0, iv.length);
    ps.afterCommand();
    if (i % 5 === 0) {
      const rv = b(`tail:${i - 5}:a`);
      L.listRemove(ks, e(), i % 10 === 0 ? 0 : -1, rv, 0, rv.length);
      ps.afterCommand();
    }
    if (i % 17 === 0) {
      L.listTrim(ks, e(), 1, L.listLength(ks, e()) - 2);
      ps.afterCommand();
    }
    if (i % 23 === 0) {
      ks.setExpireAt(e(), ks.now + 3_600_000 + i);
      ps.afterCommand();
    }
  }
}

test('operations on a large list are logged as operations, and replaying them gives the list', () => {
  for (const limits of [DEFAULT_COLLECTION_LIMITS, SMALL]) {
    const ks = freshKs();
    ks.limits = { ...limits };
    ks.now = Date.now();
    const ps = new ShardPersistence(0, ks);
    const p = tmp.path(`ops-${limits.listMaxListpackSize}.aof`);
    ps.setLog({ paths: [p], fsync: 'always' });
    const els: string[] = [];
    // Under SMALL every node holds 4 elements: fewer of them keep the test quick.
    for (let i = 0; i < (limits === SMALL ? 3000 : 20_000); i++) els.push(`element:${i}`);
    push(ks, 'big', 1, els);
    ps.afterCommand();
    push(ks, 'small', 1, 'a', 'b');
    ps.afterCommand();
    ps.endBatch();
    assert.is(L.listEncodingName(ks, handle(ks, 'big')), 'quicklist');
    const before = statSync(p).size;
    workload(ks, ps, 'big', 200);
    workload(ks, ps, 'small', 30);
    ps.endBatch();
    const grew = statSync(p).size - before;
    assert.ok(grew < 200 * 8 * 100, `about 1500 operations on a 20000-element list logged ${grew} bytes`);
    const { records } = readAll(p, MAGIC_LOG);
    const kinds = new Set(records.slice(2).map((r) => (r.op === 'list' ? `list${r.lop}` : r.op)));
    for (let lop = 1; lop <= 8; lop++) assert.ok(kinds.has(`list${lop}`), `a LIST record of operation ${lop} (${[...kinds].join(',')})`);
    const back = load([logOf(p)], limits);
    const diff = diffStates(dump(ks), dump(back));
    assert.ok(diff === '', diff);
    back.checkIntegrity();
    // Replayed under other limits: the same elements in other encodings.
    const other = load([logOf(p)], limits === SMALL ? DEFAULT_COLLECTION_LIMITS : SMALL);
    assert.ok(diffStates(dump(ks), dump(other)) === '');
    other.checkIntegrity();
  }
});

test('a push on a big list costs one element in the log, whatever its length', () => {
  const ks = freshKs();
  ks.now = Date.now();
  const ps = new ShardPersistence(0, ks);
  const p = tmp.path('size.aof');
  ps.setLog({ paths: [p], fsync: 'always' });
  const sizes: number[] = [];
  let n = 0;
  for (const target of [1_000, 100_000, 400_000]) {
    const els: string[] = [];
    for (; n < target; n++) els.push(`e${n}`);
    push(ks, 'q', 1, els);
    ps.afterCommand();
    ps.endBatch();
    const before = statSync(p).size;
    push(ks, 'q', 0, 'job:12345');
    ps.afterCommand();
    ps.endBatch();
    sizes.push(statSync(p).size - before);
    n++;
  }
  // frame 8 + header 32 + key 1 + element 4 + 9
  assert.equal(sizes, [54, 54, 54]);
});

test('a record replayed over a state that already holds it is skipped', () => {
  const ks = freshKs();
  ks.limits = { ...SMALL };
  ks.now = Date.now();
  const ps = new ShardPersistence(0, ks);
  const p = tmp.path('overlap.aof');
  ps.setLog({ paths: [p], fsync: 'always' });
  push(ks, 'l', 1, Array.from({ length: 100 }, (_, i) => `x${i % 7}`));
  ps.afterCommand();
  ps.endBatch();
  const steps: Array<() => void> = [
    () => push(ks, 'l', 0, 'h1', 'h2'),
    () => push(ks, 'l', 1, 't1'),
    () => pop(ks, 'l', 0, 3),
    () => pop(ks, 'l', 1, 1),
    () => L.listInsertAt(ks, handle(ks, 'l'), 10, b('ins'), 0, 3),
    () => L.listRemove(ks, handle(ks, 'l'), 2, b('x3'), 0, 2),
    () => L.listTrim(ks, handle(ks, 'l'), 2, 60),
    () => L.listSet(ks, handle(ks, 'l'), 5, b('set'), 0, 3),
  ];
  for (const step of steps) {
    step();
    ps.afterCommand();
    ps.endBatch();
    // A second log holding only the last record: the first log already holds its effect.
    const file = readFileSync(p);
    const frames = frameOffsets(file);
    const last = frames.at(-1)!;
    const dup = tmp.path('dup.aof');
    writeFileSync(dup, Buffer.concat([file.subarray(0, FILE_HEADER), file.subarray(last)]));
    const back = load([logOf(p), logOf(dup)], SMALL);
    const diff = diffStates(dump(ks), dump(back));
    assert.ok(diff === '', diff);
  }
});

test('the replication feed carries list operations and a replica applies them', () => {
  const ks = freshKs();
  ks.limits = { ...SMALL };
  ks.now = Date.now();
  const replica = freshKs();
  replica.limits = { ...DEFAULT_COLLECTION_LIMITS };
  const rp = new ShardPersistence(0, replica);
  let fed = 0;
  const ps = new ShardPersistence(0, ks, (records) => {
    fed += records.length;
    rp.apply(records, 0, records.length, { shard: 0, shards: 1 }, null);
    rp.afterCommand();
  });
  ps.enableFeed(true);
  push(ks, 'q', 1, Array.from({ length: 5000 }, (_, i) => `job:${i}`));
  ps.afterCommand();
  ps.endBatch();
  const afterLoad = fed;
  workload(ks, ps, 'q', 100);
  ps.endBatch();
  assert.ok(fed - afterLoad < 100 * 8 * 100, `the feed carried ${fed - afterLoad} bytes for about 700 operations`);
  const diff = diffStates(dump(ks), dump(replica));
  assert.ok(diff === '', diff);
  replica.checkIntegrity();
});

test('a snapshot holds a list as it was when it started, while commands change it', async () => {
  const ks = freshKs();
  ks.limits = { ...SMALL };
  ks.now = Date.now();
  const ps = new ShardPersistence(0, ks);
  push(ks, 'big', 1, Array.from({ length: 3000 }, (_, i) => `e${i}`));
  for (let i = 0; i < 200; i++) push(ks, `l${i}`, 1, String(i), 'x');
  const want = dump(ks);
  const path = tmp.path('cow.snap');
  ps.snapshotStart(path);
  for (let i = 0; i < 300; i++) {
    push(ks, 'big', 0, `new${i}`);
    pop(ks, 'big', 1, 1);
    pop(ks, `l${i % 200}`, 0, 1);
    if (i % 50 === 0) await nextTurn();
  }
  await ps.snapshotWait();
  const back = load([{ path, kind: 'snapshot', last: true, from: { shard: 0, shards: 1 } }], SMALL);
  const diff = diffStates(want, dump(back));
  assert.ok(diff === '', diff);
});

test.run();
