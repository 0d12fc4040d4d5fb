// Forkless snapshots (snapshot-job.ts through ShardPersistence): while the keyspace is changed
// between the job's steps (overwrites, in-place writes, expiries, deletes, new keys, flushes), the
// file written is exactly the state at the start; afterwards no entry is left pending.
import { existsSync, readdirSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Keyspace } from '../../src/keyspace/keyspace.js';
import { readRecords } from '../../src/persistence/record-reader.js';
import { MAGIC_SNAPSHOT } from '../../src/persistence/records.js';
import { ShardPersistence } from '../../src/persistence/shard-persistence.js';
import { b, diffStates, dump, entries, freshKs, handle, loadFile, nextTurn, put, randomBytes, rng, tempDir } from './helpers.js';

const tmp = tempDir('snapshot');
test.after(() => tmp.cleanup());

const HOUR = 3_600_000;

/** n keys 'k:<i>' with values of mixed sizes (a few of several MiB), some with a TTL or flags. */
function populate(ks: Keyspace, n: number, rand: () => number, bigEvery = 2000): string[] {
  const names: string[] = [];
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    const name = `k:${i}`;
    const size = i % bigEvery === 7 ? 2 * 1024 * 1024 + ((rand() * 1000) | 0) : (rand() * 3000) | 0;
    const at = rand() < 0.2 ? now + HOUR + ((rand() * HOUR) | 0) : 0;
    const flags = rand() < 0.1 ? ((rand() * 2 ** 32) >>> 0) || 1 : 0;
    put(ks, name, randomBytes(rand, size), at, flags);
    names.push(name);
  }
  return names;
}

interface Mutator {
  names: string[];
  created: number;
  ops: Record<string, number>;
}

/** One random change of the kinds a command makes; returns its kind. */
function mutateOnce(ks: Keyspace, m: Mutator, rand: () => number): string {
  const pick = (): number => handle(ks, m.names[(rand() * m.names.length) | 0]!);
  const x = rand();
  let kind: string;
  if (x < 0.15) {
    kind = 'create';
    const name = `new:${m.created++}`;
    put(ks, name, randomBytes(rand, (rand() * 2000) | 0), rand() < 0.3 ? Date.now() + HOUR : 0);
    m.names.push(name);
  } else {
    const e = pick();
    if (e === 0) return 'miss';
    if (x < 0.3) {
      kind = 'overwrite';
      const k = Buffer.from(ks.bytes().slice(ks.keyOffset(e), ks.keyOffset(e) + ks.keyLength(e)));
      put(ks, k, randomBytes(rand, rand() < 0.5 ? 10 : (rand() * 5000) | 0), 0, rand() < 0.5 ? 99 : 0);
    } else if (x < 0.4) {
      kind = 'inplace'; // SETRANGE-like: CAS bump (the observer sees the old bytes), then the write
      const len = ks.valueLength(e);
      if (len === 0) return 'miss';
      ks.bumpCas(e);
      const u8 = ks.bytes();
      const vo = ks.valueOffset(e);
      for (let i = 0; i < Math.min(len, 16); i++) u8[vo + i] = 0xee;
    } else if (x < 0.5) {
      kind = 'append'; // APPEND-like: resizeValue (observer first), then the new bytes
      const old = ks.valueLength(e);
      const ne = ks.resizeValue(e, old + 100 + ((rand() * 5000) | 0));
      ks.bytes().fill(0xab, ks.valueOffset(ne) + old, ks.valueOffset(ne) + ks.valueLength(ne));
    } else if (x < 0.55) {
      kind = 'shrink';
      ks.resizeValue(e, Math.floor(ks.valueLength(e) / 3));
    } else if (x < 0.65) {
      kind = 'ttl';
      ks.setExpireAt(e, rand() < 0.5 ? 0 : Date.now() + 5 * HOUR);
    } else if (x < 0.75) {
      kind = 'expire'; // an expiry that passed: deleted on the next access
      const ne = ks.setExpireAt(e, ks.now - 1); // a first TTL may move the entry
      const k = Buffer.from(ks.bytes().slice(ks.keyOffset(ne), ks.keyOffset(ne) + ks.keyLength(ne)));
      assert.is(ks.find(k, 0, k.length), 0);
    } else if (x < 0.8) {
      kind = 'flags';
      ks.setFlags(e, (rand() * 2 ** 32) >>> 0);
    } else if (x < 0.95) {
      kind = 'delete';
      ks.deleteEntry(e);
    } else {
      kind = 'recreate'; // delete, then the same key again
      const k = Buffer.from(ks.bytes().slice(ks.keyOffset(e), ks.keyOffset(e) + ks.keyLength(e)));
      ks.deleteEntry(e);
      put(ks, k, b('reborn'));
    }
  }
  m.ops[kind] = (m.ops[kind] ?? 0) + 1;
  return kind;
}

function assertNoPending(ks: Keyspace): void {
  assert.not.ok(ks.snapshotActive(), 'no snapshot active');
  const pending = entries(ks).filter((e) => ks.snapshotPending(e)).length;
  assert.is(pending, 0, 'no entry left pending');
  ks.checkIntegrity();
}

/** Runs a snapshot of ps/ks into path, changing the keyspace between the job's turns; returns the
 * state at the start and the number of turns that saw changes. */
async function snapshotUnderLoad(ks: Keyspace, ps: ShardPersistence, path: string, m: Mutator, rand: () => number, perTurn: number, hooks?: (turn: number) => void): Promise<{ want: ReturnType<typeof dump>; turns: number; keys: number }> {
  const want = dump(ks);
  const started = ps.snapshotStart(path);
  assert.is(started.keys, ks.size());
  assert.ok(ks.snapshotActive());
  let turns = 0;
  while (ps.stats().snapshotActive) {
    hooks?.(turns);
    for (let i = 0; i < perTurn; i++) mutateOnce(ks, m, rand);
    turns++;
    await nextTurn();
  }
  const r = await ps.snapshotWait();
  assert.is(r.path, path);
  assert.is(r.keys, want.size, 'keys written = keys at the start');
  assert.ok(existsSync(path));
  assert.not.ok(existsSync(`${path}.tmp`));
  return { want, turns, keys: r.keys };
}

function assertSnapshotHolds(path: string, want: ReturnType<typeof dump>): void {
  const { ks, report } = loadFile(path, 'snapshot');
  assert.is(report.error, null);
  assert.equal(report.truncated, []);
  const got = dump(ks);
  const diff = diffStates(want, got);
  assert.ok(diff === '', `snapshot differs from the state at its start:\n${diff}`);
  assert.is(report.keys, want.size);
  ks.checkIntegrity();
}

test('snapshot under concurrent changes holds exactly the state at its start; a second one right after too', async () => {
  const ks = freshKs();
  const ps = new ShardPersistence(0, ks);
  const rand = rng(21);
  const m: Mutator = { names: populate(ks, 20_000, rand), created: 0, ops: {} };
  const p1 = tmp.path('s1.tsnap');
  const first = await snapshotUnderLoad(ks, ps, p1, m, rand, 40);
  assert.ok(first.turns >= 5, `the job took ${first.turns} turns: too few to interleave`);
  for (const k of ['create', 'overwrite', 'inplace', 'append', 'ttl', 'expire', 'flags', 'delete', 'recreate']) {
    assert.ok((m.ops[k] ?? 0) > 0, `no '${k}' change happened during the snapshot`);
  }
  assertNoPending(ks);
  assertSnapshotHolds(p1, first.want);
  assert.ok(diffStates(first.want, dump(ks)) !== '', 'the changes did change the keyspace');

  // Right after, with changes again.
  const p2 = tmp.path('s2.tsnap');
  const second = await snapshotUnderLoad(ks, ps, p2, m, rand, 40);
  assertNoPending(ks);
  assertSnapshotHolds(p2, second.want);
  // And one without changes, over the first file.
  const third = await snapshotUnderLoad(ks, ps, p1, m, rand, 0);
  assertNoPending(ks);
  assertSnapshotHolds(p1, third.want);
  assertSnapshotHolds(p1, dump(ks));
  ps.close();
});

test('snapshot of a keyspace whose every key is changed or deleted during the job', async () => {
  const ks = freshKs();
  const ps = new ShardPersistence(0, ks);
  const rand = rng(22);
  const names = populate(ks, 5000, rand, 1000);
  const want = dump(ks);
  ps.snapshotStart(tmp.path('all.tsnap'));
  // Every key changes before the job's first step (a copy-on-write image each).
  names.forEach((n, i) => {
    const e = handle(ks, n);
    if (i % 3 === 0) ks.deleteEntry(e);
    else if (i % 3 === 1) put(ks, n, b(`changed ${i}`));
    else ks.setExpireAt(e, Date.now() + 10 * HOUR);
  });
  const r = await ps.snapshotWait();
  assert.is(r.keys, want.size);
  assert.ok(r.peakBufferBytes > 1024 * 1024, `copy-on-write images were held: peak ${r.peakBufferBytes}`);
  assertNoPending(ks);
  assertSnapshotHolds(tmp.path('all.tsnap'), want);
  ps.close();
});

test('TTLs given and taken during a snapshot, moving full blocks: the file holds each key once, as at the start', async () => {
  const ks = freshKs();
  ks.now = Date.now();
  const ps = new ShardPersistence(0, ks);
  const rand = rng(23);
  // Keys whose blocks have no slack (24 + 8 + value bytes, a multiple of 8): a first TTL moves
  // them, with their snapshot mark; a third start with a TTL and a quarter with flags.
  const names: string[] = [];
  for (let i = 0; i < 6000; i++) {
    const name = `t:${String(i).padStart(6, '0')}`;
    const flags = i % 4 === 0 ? 1000 + i : 0;
    const len = 8 * (1 + (i % 20)) - (flags !== 0 ? 4 : 0);
    put(ks, name, randomBytes(rand, len), i % 3 === 0 ? ks.now + HOUR + i : 0, flags);
    names.push(name);
  }
  const want = dump(ks);
  const path = tmp.path('ttl-moves.tsnap');
  ps.snapshotStart(path);
  let moved = 0;
  let turn = 0;
  while (ps.stats().snapshotActive) {
    for (let j = 0; j < 300; j++) {
      const name = names[(turn * 300 + j) % names.length]!;
      const e = handle(ks, name);
      if (ks.expireAt(e) === 0) {
        if (ks.setExpireAt(e, ks.now + 2 * HOUR) !== e) moved++;
      } else {
        assert.is(ks.setExpireAt(e, 0), e, 'removing a TTL never moves the entry');
      }
    }
    turn++;
    await nextTurn();
  }
  const r = await ps.snapshotWait();
  assert.ok(turn >= 3, `the job took ${turn} turns: too few to interleave`);
  assert.ok(moved > 500, `only ${moved} entries moved`);
  assert.is(r.keys, want.size);
  assertNoPending(ks);
  assertSnapshotHolds(path, want);
  ps.close();
});

for (const afterTurns of [0, 1, 2, 3, 5, 8]) {
  test(`flush during a snapshot (after ${afterTurns} turns), then new keys: the file holds the state at the start`, async () => {
    const ks = freshKs();
    const ps = new ShardPersistence(0, ks);
    const rand = rng(30 + afterTurns);
    const m: Mutator = { names: populate(ks, 8000, rand, 500), created: 0, ops: {} };
    const path = tmp.path(`flush${afterTurns}.tsnap`);
    let flushed = 0;
    const { want, turns } = await snapshotUnderLoad(ks, ps, path, m, rand, 5, (turn) => {
      if (turn === afterTurns || turn === afterTurns + 2) {
        ks.flush();
        flushed++;
        for (let i = 0; i < 50; i++) put(ks, `post-flush:${turn}:${i}`, randomBytes(rand, 100));
      }
    });
    assert.ok(flushed >= 1 || turns <= afterTurns, 'flushed during the job');
    assertNoPending(ks);
    assertSnapshotHolds(path, want);
    ps.close();
  });
}

test('flush right after the start (nothing written yet) and a second snapshot after it', async () => {
  const ks = freshKs();
  const ps = new ShardPersistence(0, ks);
  const rand = rng(40);
  populate(ks, 3000, rand, 300);
  const want = dump(ks);
  const path = tmp.path('flush-now.tsnap');
  ps.snapshotStart(path);
  ks.flush();
  put(ks, 'after', 'flush');
  await ps.snapshotWait();
  assertNoPending(ks);
  assertSnapshotHolds(path, want);
  const p2 = tmp.path('flush-now2.tsnap');
  ps.snapshotStart(p2);
  await ps.snapshotWait();
  assertSnapshotHolds(p2, dump(ks));
  assert.is(dump(ks).size, 1);
  ps.close();
});

test('an empty keyspace snapshots to a file with only its END record', async () => {
  const ks = freshKs();
  const ps = new ShardPersistence(3, ks);
  const path = tmp.path('empty.tsnap');
  ps.snapshotStart(path);
  const r = await ps.snapshotWait();
  assert.is(r.keys, 0);
  const o = readRecords(path, MAGIC_SNAPSHOT, () => assert.unreachable());
  assert.is(o.damage, null);
  assert.is(o.endCount, 0);
  assert.is(o.records, 1);
  assertSnapshotHolds(path, new Map());
  ps.close();
});

test('keys already expired at the start are written and dropped at load (counted as expired)', async () => {
  const ks = freshKs();
  ks.now = Date.now();
  const ps = new ShardPersistence(0, ks);
  put(ks, 'live', 'v');
  put(ks, 'dead', 'v', Date.now() - 1000); // expired, not yet deleted
  const path = tmp.path('expired.tsnap');
  ps.snapshotStart(path);
  const r = await ps.snapshotWait();
  assert.is(r.keys, 2);
  const { ks: loaded, report } = loadFile(path, 'snapshot');
  assert.is(report.error, null);
  assert.is(report.expired, 1);
  assert.is(report.loaded, 1);
  assert.equal([...dump(loaded).keys()], ['live']);
  assert.is(loaded.size(), 1);
  ps.close();
});

test('a second snapshot while one runs is refused; snapshotWait without a snapshot rejects', async () => {
  const ks = freshKs();
  const ps = new ShardPersistence(0, ks);
  await ps.snapshotWait().then(
    () => assert.unreachable('no snapshot was started'),
    (e: Error) => assert.match(e.message, /no snapshot/),
  );
  populate(ks, 1000, rng(41));
  ps.snapshotStart(tmp.path('one.tsnap'));
  assert.throws(() => ps.snapshotStart(tmp.path('two.tsnap')), /already running/);
  await ps.snapshotWait();
  assert.not.ok(existsSync(tmp.path('two.tsnap')));
  ps.close();
});

test('stopping the shard during a snapshot: the wait rejects, no file is left, marks are repaired, the next snapshot is complete', async () => {
  const ks = freshKs();
  let ps = new ShardPersistence(0, ks);
  const rand = rng(42);
  const m: Mutator = { names: populate(ks, 10_000, rand, 500), created: 0, ops: {} };
  const path = tmp.path('stopped.tsnap');
  ps.snapshotStart(path);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 20; j++) mutateOnce(ks, m, rand);
    await nextTurn();
  }
  const wait = ps.snapshotWait();
  ps.close();
  await wait.then(
    () => assert.unreachable('the stopped snapshot must not succeed'),
    (e: Error) => assert.match(e.message, /stopping/),
  );
  // Let a write that was in flight land before looking at the directory.
  for (let i = 0; i < 20; i++) await nextTurn();
  await new Promise((r) => setTimeout(r, 50));
  assert.not.ok(existsSync(path));
  assert.not.ok(existsSync(`${path}.tmp`));
  assertNoPending(ks);
  ps = new ShardPersistence(0, ks);
  const again = await snapshotUnderLoad(ks, ps, path, m, rand, 10);
  assertSnapshotHolds(path, again.want);
  ps.close();
});

test('a shard restarted on the memory of one that died mid-snapshot repairs the marks', async () => {
  const memoryKs = freshKs();
  populate(memoryKs, 2000, rng(43), 1000);
  memoryKs.snapshotBegin(); // the old incarnation started a snapshot and died
  const some = entries(memoryKs).slice(0, 500);
  for (const e of some) memoryKs.snapshotDone(e);
  const ks = new Keyspace(memoryKs.memory); // the next incarnation
  assert.ok(ks.snapshotActive());
  const ps = new ShardPersistence(0, ks);
  assertNoPending(ks);
  const path = tmp.path('restarted.tsnap');
  const want = dump(ks);
  ps.snapshotStart(path);
  await ps.snapshotWait();
  assertSnapshotHolds(path, want);
  ps.close();
});

test('a snapshot that cannot open its file leaves no snapshot behind; the next one is complete', async () => {
  const ks = freshKs();
  const ps = new ShardPersistence(0, ks);
  populate(ks, 500, rng(44), 1000);
  assert.throws(() => ps.snapshotStart(tmp.path('no-such-dir/x.tsnap')), /ENOENT/);
  const activeAfterFailure = ks.snapshotActive();
  const pendingAfterFailure = entries(ks).filter((e) => ks.snapshotPending(e)).length;
  assert.is(ps.stats().snapshotActive, false);
  put(ks, 'between', 'the two');
  const want = dump(ks);
  const path = tmp.path('after-failed-start.tsnap');
  ps.snapshotStart(path);
  const r = await ps.snapshotWait();
  assert.is(r.keys, want.size, `the snapshot after a failed start wrote ${r.keys} of ${want.size} keys`);
  assertSnapshotHolds(path, want);
  assert.not.ok(activeAfterFailure, 'a failed start must not leave the keyspace in a snapshot');
  assert.is(pendingAfterFailure, 0, 'a failed start must not leave entries pending');
  ps.close();
});

test('no temporary files are left in the directory after the snapshots', () => {
  const left = readdirSync(tmp.dir).filter((f) => f.endsWith('.tmp'));
  assert.equal(left, []);
});

test.run();
