// ShardPersistence.load: files written by another number of shards (the keep filter and FLUSH of
// one old shard), torn and corrupt files under truncateTorn and repair, snapshots without a valid
// END record, and logs that were never created.
import { existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Keyspace } from '../../src/keyspace/keyspace.js';
import { keySlot, shardOfSlot } from '../../src/keyspace/slot.js';
import { FRAME_HEADER, MAGIC_SNAPSHOT, RecordBuffer } from '../../src/persistence/records.js';
import { ShardPersistence, type LoadFile, type LoadPlan } from '../../src/persistence/shard-persistence.js';
import { b, diffStates, dump, freshKs, frameOffsetsOf, handle, loadFile, put, randomBytes, rng, tempDir, type KeyState } from './helpers.js';

const tmp = tempDir('load');
test.after(() => tmp.cleanup());

const HOUR = 3_600_000;

function shardOf(key: string, shards: number): number {
  const k = b(key);
  return shardOfSlot(keySlot(k, 0, k.length), shards);
}

function union(maps: Array<Map<string, KeyState>>): Map<string, KeyState> {
  const out = new Map<string, KeyState>();
  for (const m of maps) for (const [k, v] of m) out.set(k, v);
  return out;
}

/** Two old shards' keyspaces and their logs (or snapshots); keys spread by slot as a server would. */
async function twoOldShards(kind: 'log' | 'snapshot', flushOld0: boolean): Promise<{ olds: Keyspace[]; files: LoadFile[] }> {
  const olds = [freshKs(), freshKs()];
  const pss = olds.map((ks, i) => new ShardPersistence(i, ks));
  const paths = [tmp.path(`old0-${kind}-${flushOld0}`), tmp.path(`old1-${kind}-${flushOld0}`)];
  if (kind === 'log') pss.forEach((ps) => ps.setLog({ paths, fsync: 'no' }));
  const rand = rng(flushOld0 ? 2 : 1);
  const write = (name: string, i: number): void => {
    const s = shardOf(name, 2);
    put(olds[s]!, name, randomBytes(rand, (rand() * 200) | 0), i % 5 === 0 ? Date.now() + HOUR + i : 0, i % 7 === 0 ? i : 0);
    pss[s]!.afterCommand();
  };
  for (let i = 0; i < 4000; i++) write(i % 9 === 0 ? `{user${i % 50}}:${i}` : `key:${i}`, i);
  if (flushOld0) {
    olds[0]!.flush();
    pss[0]!.afterCommand();
    for (let i = 0; i < 1000; i++) write(`after:${i}`, i);
  }
  for (let i = 0; i < 200; i++) {
    const name = `key:${i * 3}`;
    const s = shardOf(name, 2);
    const e = handle(olds[s]!, name);
    if (e !== 0) {
      olds[s]!.deleteEntry(e);
      pss[s]!.afterCommand();
    }
  }
  if (kind === 'snapshot') {
    pss.forEach((ps, i) => ps.snapshotStart(paths[i]!));
    await Promise.all(pss.map((ps) => ps.snapshotWait()));
  }
  pss.forEach((ps) => {
    ps.endBatch();
    ps.close();
  });
  const files: LoadFile[] = paths.map((path, i) => ({ path, kind, last: kind === 'log', from: { shard: i, shards: 2 } }));
  return { olds, files };
}

function loadInto(shards: number, files: LoadFile[]): Keyspace[] {
  return Array.from({ length: shards }, (_, i) => {
    const ks = freshKs();
    const report = new ShardPersistence(i, ks).load({ files, keep: { shards, shard: i }, truncateTorn: false, repair: false });
    assert.is(report.error, null);
    ks.checkIntegrity();
    return ks;
  });
}

for (const kind of ['log', 'snapshot'] as const) {
  test(`${kind}s of 2 old shards into 3 and into 1: every key once, in the shard of its slot`, async () => {
    const { olds, files } = await twoOldShards(kind, false);
    const want = union(olds.map((ks) => dump(ks)));
    assert.ok(want.size > 3000);
    for (const n of [3, 1, 5]) {
      const news = loadInto(n, files);
      const states = news.map((ks) => dump(ks));
      states.forEach((st, i) => {
        for (const key of st.keys()) assert.is(shardOf(key, n), i, `${key} in new shard ${i} of ${n}`);
      });
      assert.is(states.reduce((a, s) => a + s.size, 0), want.size, 'no key twice');
      const diff = diffStates(want, union(states));
      assert.ok(diff === '', `union of ${n} new shards:\n${diff}`);
    }
  });
}

for (const order of ['old0 first', 'old1 first']) {
  test(`FLUSH of old shard 0 removes only old shard 0's keys (${order})`, async () => {
    const { olds, files } = await twoOldShards('log', true);
    const want = union(olds.map((ks) => dump(ks)));
    assert.ok([...want.keys()].some((k) => k.startsWith('after:')));
    assert.ok([...want.keys()].some((k) => k.startsWith('key:') && shardOf(k, 2) === 1), 'old shard 1 keys are kept');
    assert.not.ok([...want.keys()].some((k) => k.startsWith('key:') && shardOf(k, 2) === 0), 'old shard 0 was flushed');
    const ordered = order === 'old0 first' ? files : [files[1]!, files[0]!];
    for (const n of [3, 1]) {
      const states = loadInto(n, ordered).map((ks) => dump(ks));
      const diff = diffStates(want, union(states));
      assert.ok(diff === '', `${n} new shards, ${order}:\n${diff}`);
    }
  });
}

test('keep filter drops DEL records of other shards and SET records already expired', () => {
  const r = new RecordBuffer();
  r.fileHeader(MAGIC_SNAPSHOT, 0);
  const keys = Array.from({ length: 200 }, (_, i) => `f:${i}`);
  for (const k of keys) r.set(b(k), 0, k.length, b('v'), 0, 1, 0, 0, 0);
  r.set(b('expired'), 0, 7, b('v'), 0, 1, 0, 0, Date.now() - 1);
  r.end(keys.length + 1);
  const path = tmp.path('keep.tsnap');
  writeFileSync(path, r.buf.subarray(0, r.length));
  let total = 0;
  let expired = 0;
  for (let i = 0; i < 4; i++) {
    const ks = freshKs();
    const report = new ShardPersistence(i, ks).load({ files: [{ path, kind: 'snapshot', last: false, from: { shard: 0, shards: 1 } }], keep: { shards: 4, shard: i }, truncateTorn: false, repair: false });
    assert.is(report.error, null);
    total += report.keys;
    expired += report.expired;
    for (const k of dump(ks).keys()) assert.is(shardOf(k, 4), i);
  }
  assert.is(total, keys.length);
  assert.is(expired, 1, 'the expired key counts once, in the shard that owns it');
});

// --- Damage at load ----------------------------------------------------------------------------

/** A log of 100 commands k0..k99 (each its own batch); its frame offsets. */
function hundredKeyLog(name: string): { path: string; offs: number[]; size: number } {
  const ks = freshKs();
  const ps = new ShardPersistence(0, ks);
  const path = tmp.path(name);
  ps.setLog({ paths: [path], fsync: 'no' });
  for (let i = 0; i < 100; i++) {
    put(ks, `k${i}`, `value ${i}`);
    ps.afterCommand();
    ps.endBatch();
  }
  ps.close();
  const offs = frameOffsetsOf(path);
  assert.is(offs.length, 100);
  return { path, offs, size: statSync(path).size };
}

function keysOf(ks: Keyspace): string[] {
  return [...dump(ks).keys()].sort((x, y) => Number(x.slice(1)) - Number(y.slice(1)));
}

const first = (n: number): string[] => Array.from({ length: n }, (_, i) => `k${i}`);

function plan(files: LoadFile[], truncateTorn: boolean, repair: boolean): Partial<LoadPlan> {
  return { files, truncateTorn, repair };
}

test('torn tail of the newest log, truncateTorn: cut at the last valid record, reported, loads cleanly after', () => {
  const { path, offs, size } = hundredKeyLog('torn.aof');
  truncateSync(path, size - 3);
  const { ks, report } = loadFile(path, 'log', { truncateTorn: true, repair: false });
  assert.is(report.error, null);
  assert.is(report.truncated.length, 1);
  const t = report.truncated[0]!;
  assert.is(t.path, path);
  assert.is(t.offset, offs[99]);
  assert.is(t.droppedBytes, size - 3 - offs[99]!);
  assert.ok(t.reason.length > 0);
  assert.is(statSync(path).size, offs[99], 'the file was cut');
  assert.equal(keysOf(ks), first(99));
  const again = loadFile(path, 'log', { truncateTorn: false, repair: false });
  assert.is(again.report.error, null);
  assert.equal(again.report.truncated, []);
  assert.equal(keysOf(again.ks), first(99));
});

test('torn tail without truncateTorn: an error naming the file and the offset; the file is untouched', () => {
  const { path, offs, size } = hundredKeyLog('torn-strict.aof');
  truncateSync(path, size - 3);
  const before = readFileSync(path);
  const { report } = loadFile(path, 'log', { truncateTorn: false, repair: false });
  assert.ok(report.error !== null);
  assert.ok(report.error!.includes(path), report.error!);
  assert.ok(report.error!.includes(`offset ${offs[99]}`), report.error!);
  assert.equal(report.truncated, []);
  assert.ok(readFileSync(path).equals(before), 'not cut');
  // repair also cuts a torn tail
  const repaired = loadFile(path, 'log', { truncateTorn: false, repair: true });
  assert.is(repaired.report.error, null);
  assert.is(repaired.report.truncated[0]?.offset, offs[99]);
  assert.equal(keysOf(repaired.ks), first(99));
});

test('zero-filled tail of the newest log: cut with truncateTorn', () => {
  const { path, size } = hundredKeyLog('zeros.aof');
  writeFileSync(path, Buffer.concat([readFileSync(path), Buffer.alloc(8192)]));
  const { ks, report } = loadFile(path, 'log', { truncateTorn: true, repair: false });
  assert.is(report.error, null);
  assert.is(report.truncated[0]?.offset, size);
  assert.is(report.truncated[0]?.droppedBytes, 8192);
  assert.is(statSync(path).size, size);
  assert.equal(keysOf(ks), first(100));
});

test('a torn tail in a log that is not the newest is not cut by truncateTorn', () => {
  const a = hundredKeyLog('older.aof');
  const c = hundredKeyLog('newest.aof');
  truncateSync(a.path, a.size - 1);
  const files: LoadFile[] = [
    { path: a.path, kind: 'log', last: false, from: { shard: 0, shards: 1 } },
    { path: c.path, kind: 'log', last: true, from: { shard: 0, shards: 1 } },
  ];
  const { report } = loadFile(a.path, 'log', plan(files, true, false));
  assert.ok(report.error !== null);
  assert.ok(report.error!.includes(a.path));
  assert.ok(report.error!.includes(`offset ${a.offs[99]}`), report.error!);
  assert.is(statSync(a.path).size, a.size - 1);
  const { ks, report: r2 } = loadFile(a.path, 'log', plan(files, true, true));
  assert.is(r2.error, null);
  assert.is(r2.truncated.length, 1);
  assert.equal(keysOf(ks), first(100), 'the next log still loads');
});

test('corrupt record in the middle: an error unless repair, which keeps what precedes it and cuts there', () => {
  const { path, offs, size } = hundredKeyLog('corrupt.aof');
  const data = readFileSync(path);
  data[offs[50]! + FRAME_HEADER + 10] = data[offs[50]! + FRAME_HEADER + 10]! ^ 0x10;
  writeFileSync(path, data);
  for (const truncateTorn of [true, false]) {
    const { ks, report } = loadFile(path, 'log', { truncateTorn, repair: false });
    assert.ok(report.error !== null, 'a corrupt middle is an error even with truncateTorn');
    assert.ok(report.error!.includes(path), report.error!);
    assert.ok(report.error!.includes(`offset ${offs[50]}`), report.error!);
    assert.equal(report.truncated, []);
    assert.is(statSync(path).size, size, 'the file is untouched');
    assert.equal(keysOf(ks), first(50));
  }
  const { ks, report } = loadFile(path, 'log', { truncateTorn: false, repair: true });
  assert.is(report.error, null);
  assert.is(report.truncated.length, 1);
  assert.is(report.truncated[0]!.offset, offs[50]);
  assert.is(report.truncated[0]!.droppedBytes, size - offs[50]!);
  assert.match(report.truncated[0]!.reason, /checksum/);
  assert.is(statSync(path).size, offs[50]);
  assert.equal(keysOf(ks), first(50));
});

test('snapshots: torn or without END is an error (never cut as torn); a wrong END count too; repair cuts', async () => {
  const ks = freshKs();
  const ps = new ShardPersistence(0, ks);
  for (let i = 0; i < 100; i++) put(ks, `k${i}`, `value ${i}`);
  const path = tmp.path('snap.tsnap');
  ps.snapshotStart(path);
  await ps.snapshotWait();
  ps.close();
  const full = readFileSync(path);
  const offs = frameOffsetsOf(path);
  assert.is(offs.length, 101, '100 keys and END');
  const endAt = offs[100]!;
  const snap = (over: Partial<LoadPlan>) => loadFile(path, 'snapshot', over, false);

  // Without its END record (an unfinished file).
  writeFileSync(path, full.subarray(0, endAt));
  let { report } = snap({ truncateTorn: true, repair: false });
  assert.ok(report.error !== null);
  assert.match(report.error!, /no end record/);
  assert.ok(report.error!.includes(path));
  // Torn inside the END record or a key record.
  for (const cut of [full.length - 1, offs[60]! + 3]) {
    writeFileSync(path, full.subarray(0, cut));
    ({ report } = snap({ truncateTorn: true, repair: false }));
    assert.ok(report.error !== null, `cut at ${cut}`);
    assert.ok(report.error!.includes(path));
    assert.is(statSync(path).size, cut, 'a snapshot is never cut without repair');
  }
  // repair: what precedes the cut is kept.
  writeFileSync(path, full.subarray(0, offs[60]! + 3));
  const repaired = snap({ truncateTorn: false, repair: true });
  assert.is(repaired.report.error, null);
  assert.is(repaired.report.keys, 60);
  assert.is(statSync(path).size, offs[60]);
  // END record counting another number of keys.
  const r = new RecordBuffer();
  r.fileHeader(MAGIC_SNAPSHOT, 0);
  r.set(b('a'), 0, 1, b('1'), 0, 1, 0, 0, 0);
  r.set(b('b'), 0, 1, b('2'), 0, 1, 0, 0, 0);
  r.end(3);
  writeFileSync(path, r.buf.subarray(0, r.length));
  ({ report } = snap({ truncateTorn: true, repair: false }));
  assert.ok(report.error !== null);
  assert.match(report.error!, /end record counts 3/);
  // The intact file loads.
  writeFileSync(path, full);
  const ok = snap({ truncateTorn: false, repair: false });
  assert.is(ok.report.error, null);
  assert.is(ok.report.keys, 100);
});

test('a log named by the manifest but never created is skipped; a missing snapshot is not', () => {
  const missingLog = tmp.path('never.aof');
  const { ks, report } = loadFile(missingLog, 'log');
  assert.is(report.error, null);
  assert.is(ks.size(), 0);
  assert.not.ok(existsSync(missingLog));
  let failed = false;
  try {
    failed = loadFile(tmp.path('never.tsnap'), 'snapshot').report.error !== null;
  } catch {
    failed = true;
  }
  assert.ok(failed, 'a missing snapshot must not load as empty');
});

test('a snapshot then logs: keys expired by load time are dropped and counted', () => {
  const ks = freshKs();
  const ps = new ShardPersistence(0, ks);
  const p = tmp.path('exp.aof');
  ps.setLog({ paths: [p], fsync: 'always' });
  put(ks, 'soon', 'v', Date.now() + 30);
  put(ks, 'later', 'v', Date.now() + HOUR);
  ps.afterCommand();
  ps.endBatch();
  ps.close();
  const until = Date.now() + 60;
  while (Date.now() < until) {
    // wait for 'soon' to expire
  }
  const { ks: loaded, report } = loadFile(p, 'log');
  assert.is(report.expired, 1);
  assert.equal([...dump(loaded).keys()], ['later']);
  assert.is(loaded.size(), 1, 'the expired key is not in the keyspace at all');
});

test.run();
