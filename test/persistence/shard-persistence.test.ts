// The log of effects (ShardPersistence as the keyspace's observer + AppendLog): each command's
// changes become records of the keys' resulting state, reach the file at the end of the batch, and
// replay (once or twice, after a snapshot taken while logging) to the same keyspace.
import { readFileSync, statSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Keyspace } from '../../src/keyspace/keyspace.js';
import type { FsyncPolicy } from '../../src/persistence/append-log.js';
import { FILE_HEADER, MAGIC_LOG } from '../../src/persistence/records.js';
import { ShardPersistence, type LoadFile } from '../../src/persistence/shard-persistence.js';
import { b, diffStates, dump, freshKs, handle, keyOf, loadFile, nextTurn, put, randomBytes, readAll, rng, tempDir, valueId, valueOf } from './helpers.js';

const tmp = tempDir('aof');
test.after(() => tmp.cleanup());

const HOUR = 3_600_000;

function logOf(path: string, last = true): LoadFile {
  return { path, kind: 'log', last, from: { shard: 0, shards: 1 } };
}

function assertSameState(want: Keyspace, got: Keyspace, what: string): void {
  const diff = diffStates(dump(want), dump(got));
  assert.ok(diff === '', `${what}:\n${diff}`);
}

test('each command becomes records of its keys\' resulting state, written at the end of the batch', () => {
  const ks = freshKs();
  ks.now = Date.now();
  const ps = new ShardPersistence(0, ks);
  const p = tmp.path('exact.aof');
  ps.setLog({ paths: [p], fsync: 'always' });
  assert.ok(ps.syncBeforeReply);
  assert.is(statSync(p).size, FILE_HEADER, 'a new log holds its header');
  const T = Date.now() + HOUR;

  put(ks, 'a', '1', T, 7); // SET with TTL and memcached flags
  ps.afterCommand();
  assert.is(statSync(p).size, FILE_HEADER, 'nothing reaches the file before the end of the batch');
  assert.ok(ps.stats().aofPending > 0);
  ps.endBatch();
  assert.ok(statSync(p).size > FILE_HEADER);
  assert.is(ps.stats().aofPending, 0);
  assert.is(ps.stats().aofBytes, statSync(p).size);

  put(ks, 'b', '2'); // MSET b c
  put(ks, 'c', '3');
  ps.afterCommand();
  let e = put(ks, 'a', '11'); // SET a then EXPIRE a: one record, the final state
  ks.setExpireAt(e, T + 1);
  ps.afterCommand();
  ks.deleteEntry(handle(ks, 'b'));
  ps.afterCommand();
  put(ks, 'd', '4'); // d, then FLUSHALL, then e, all in one command
  ks.flush();
  put(ks, 'e', '5');
  ps.afterCommand();
  ps.afterCommand(); // a command that changed nothing
  e = ks.resizeValue(handle(ks, 'e'), 3); // APPEND e 'xy'
  ks.bytes().set(b('xy'), ks.valueOffset(e) + 1);
  ps.afterCommand();
  e = handle(ks, 'e'); // SETRANGE e 0 'Z'
  ks.bumpCas(e);
  ks.bytes()[ks.valueOffset(e)] = 0x5a;
  ps.afterCommand();
  ks.setFlags(handle(ks, 'e'), 5); // memcached flags of an existing key
  ps.afterCommand();
  ks.setExpireAt(handle(ks, 'e'), ks.now - 1); // an expiry in the past: the key is gone
  ps.afterCommand();
  put(ks, 'c', '3', T + 2);
  ps.afterCommand();
  ks.deleteEntry(handle(ks, 'c')); // DEL c, then SET c: one record
  put(ks, 'c', 'again', 0, 9);
  ps.afterCommand();
  put(ks, 'f', 'past', ks.now - 5); // SET with an absolute expiry already past
  ps.afterCommand();
  ps.endBatch();
  ps.close();

  const { records, outcome } = readAll(p, MAGIC_LOG);
  assert.is(outcome.damage, null);
  const set = (key: string, value: string, flags = 0, expireAt = 0) => ({ op: 'set', key, value: valueId(b(value)), type: 0, flags, expireAt });
  assert.equal(records, [
    set('a', '1', 7, T),
    set('b', '2'),
    set('c', '3'),
    set('a', '11', 0, T + 1),
    { op: 'del', key: 'b' },
    set('d', '4'),
    { op: 'flush' },
    set('e', '5'),
    set('e', '5xy'),
    set('e', 'Zxy'),
    set('e', 'Zxy', 5),
    { op: 'del', key: 'e' },
    set('c', '3', 0, T + 2),
    set('c', 'again', 9),
    { op: 'del', key: 'f' },
  ]);

  const { ks: loaded, report } = loadFile(p, 'log');
  assert.is(report.error, null);
  assertSameState(ks, loaded, 'replayed log');
  assert.equal([...dump(loaded).keys()], ['c']);
  assert.is(loaded.flags(handle(loaded, 'c')), 9);
  assert.is(loaded.expireAt(handle(loaded, 'c')), 0);
  assert.is(handle(loaded, 'e'), 0, 'an expired key is not loaded at all');
});

/** Random commands of the kinds the server runs, each followed by afterCommand, batches ended
 * every few commands. */
function runCommands(ks: Keyspace, ps: ShardPersistence, rand: () => number, commands: number, names: string[]): void {
  const keyName = (): string => names[(rand() * names.length) | 0]!;
  for (let c = 0; c < commands; c++) {
    ks.now = Date.now();
    const x = rand();
    const name = keyName();
    const e = handle(ks, name);
    if (x < 0.3 || e === 0) {
      const size = rand() < 0.01 ? 100_000 + ((rand() * 200_000) | 0) : (rand() * 300) | 0;
      const at = rand() < 0.3 ? Date.now() + HOUR + ((rand() * HOUR) | 0) : 0;
      put(ks, rand() < 0.05 ? `${name}:${'L'.repeat(70_000)}` : name, randomBytes(rand, size), at, rand() < 0.2 ? (rand() * 2 ** 32) >>> 0 : 0);
    } else if (x < 0.4) {
      for (let i = 0; i < 5; i++) put(ks, keyName(), randomBytes(rand, 20)); // MSET
    } else if (x < 0.5) {
      const old = ks.valueLength(e);
      const ne = ks.resizeValue(e, old + 10);
      ks.bytes().fill(0x41 + (c % 26), ks.valueOffset(ne) + old, ks.valueOffset(ne) + old + 10);
    } else if (x < 0.55) {
      if (ks.valueLength(e) > 0) {
        ks.bumpCas(e);
        ks.bytes()[ks.valueOffset(e)] = c & 0xff;
      }
    } else if (x < 0.6) {
      ks.resizeValue(e, Math.floor(ks.valueLength(e) / 2));
    } else if (x < 0.7) {
      ks.setExpireAt(e, rand() < 0.3 ? 0 : Date.now() + 2 * HOUR + c);
    } else if (x < 0.75) {
      ks.setExpireAt(e, ks.now - 1);
    } else if (x < 0.8) {
      ks.setFlags(e, (rand() * 2 ** 32) >>> 0);
    } else if (x < 0.95) {
      ks.deleteEntry(e);
    } else if (x < 0.995) {
      ks.activeExpireCycle(1);
    } else {
      ks.flush();
      put(ks, keyName(), b('first after flush'));
    }
    ps.afterCommand();
    if (rand() < 0.2) ps.endBatch();
  }
  ps.endBatch();
}

for (const fsync of ['always', 'everysec', 'no'] as FsyncPolicy[]) {
  test(`random commands (appendfsync ${fsync}): the log replays to the same state, and twice to the same state`, () => {
    const ks = freshKs();
    const ps = new ShardPersistence(0, ks);
    const p = tmp.path(`random-${fsync}.aof`);
    ps.setLog({ paths: [p], fsync });
    assert.is(ps.syncBeforeReply, fsync === 'always');
    const rand = rng(fsync.length * 7);
    const names = Array.from({ length: 400 }, (_, i) => (i % 10 === 0 ? `{tag}:${i}` : `key:${i}`));
    runCommands(ks, ps, rand, 6000, names);
    // The file holds everything before close (the write happens at endBatch whatever the policy).
    const { ks: loaded, report } = loadFile(p, 'log');
    assert.is(report.error, null);
    assert.equal(report.truncated, []);
    assertSameState(ks, loaded, 'replay once');
    assert.ok(dump(ks).size > 50, 'the workload leaves keys');
    // Replaying the same log again over the result changes nothing.
    const again = new ShardPersistence(0, loaded).load({ files: [logOf(p)], keep: null, truncateTorn: false, repair: false });
    assert.is(again.error, null);
    assertSameState(ks, loaded, 'replay twice');
    // The same file twice in one plan.
    const { ks: twice } = loadFile(p, 'log', { files: [logOf(p, false), logOf(p)] });
    assertSameState(ks, twice, 'file listed twice');
    ps.close();
    loaded.checkIntegrity();
  });
}

test('one command changing thousands of keys (long ones too) logs every one of them', () => {
  const ks = freshKs();
  const ps = new ShardPersistence(0, ks);
  const p = tmp.path('wide.aof');
  ps.setLog({ paths: [p], fsync: 'always' });
  const names = Array.from({ length: 3000 }, (_, i) => (i % 100 === 0 ? `${'K'.repeat(5000)}:${i}` : `wide:${i}`));
  for (const n of names) put(ks, n, n.slice(-6)); // one MSET
  ps.afterCommand();
  ps.endBatch();
  for (let i = 0; i < names.length; i += 2) ks.deleteEntry(handle(ks, names[i]!)); // one DEL of half
  ps.afterCommand();
  ps.endBatch();
  ps.close();
  const { records } = readAll(p, MAGIC_LOG);
  assert.is(records.length, names.length + names.length / 2);
  assert.equal(records.slice(0, names.length).map((r) => (r.op === 'set' ? r.key : '?')), names);
  assert.ok(records.slice(names.length).every((r) => r.op === 'del'));
  assertSameState(ks, loadFile(p, 'log').ks, 'wide commands');
});

test('the log is reopened for append (no second header) and switched at a command boundary', () => {
  const ks = freshKs();
  let ps = new ShardPersistence(0, ks);
  const p1 = tmp.path('reopen1.aof');
  const p2 = tmp.path('reopen2.aof');
  const rand = rng(5);
  const names = Array.from({ length: 100 }, (_, i) => `r:${i}`);
  ps.setLog({ paths: [p1], fsync: 'everysec' });
  runCommands(ks, ps, rand, 500, names);
  ps.close();
  // The next incarnation of the shard goes on in the same file.
  ps = new ShardPersistence(0, ks);
  ps.setLog({ paths: [p1], fsync: 'always' });
  runCommands(ks, ps, rand, 500, names);
  const { outcome } = readAll(p1, MAGIC_LOG);
  assert.is(outcome.damage, null, 'one header, then records only');
  assertSameState(ks, loadFile(p1, 'log').ks, 'reopened log');
  // Same path again: only the policy changes.
  ps.setLog({ paths: [p1], fsync: 'no' });
  assert.not.ok(ps.syncBeforeReply);
  // A command's changes pending when the log switches go to the old file.
  put(ks, 'switch', 'pending at the switch');
  ps.setLog({ paths: [p2], fsync: 'always' });
  runCommands(ks, ps, rand, 500, names);
  const { ks: both, report } = loadFile(p1, 'log', { files: [logOf(p1, false), logOf(p2)] });
  assert.is(report.error, null);
  assertSameState(ks, both, 'old log then new log');
  const only1 = readAll(p1, MAGIC_LOG).records;
  assert.ok(only1.some((r) => r.op === 'set' && r.key === 'switch'));
  // Closing the log: later changes are not recorded anywhere.
  ps.setLog(null);
  const size2 = statSync(p2).size;
  put(ks, 'unlogged', 'x');
  ps.afterCommand();
  ps.endBatch();
  assert.is(statSync(p2).size, size2);
  assert.is(ps.stats().aofBytes, 0);
  ps.close();
});

test('a shard with several logs writes the one of its index', () => {
  const ks = freshKs();
  const ps = new ShardPersistence(2, ks);
  const paths = [tmp.path('idx0.aof'), tmp.path('idx1.aof'), tmp.path('idx2.aof')];
  ps.setLog({ paths, fsync: 'always' });
  put(ks, 'k', 'v');
  ps.afterCommand();
  ps.endBatch();
  ps.close();
  const file = readFileSync(paths[2]!);
  assert.is(file.readUInt32LE(8), 2, 'the header names the shard');
  assert.equal(readAll(paths[2]!, MAGIC_LOG).records.map((r) => r.op), ['set']);
  assert.throws(() => statSync(paths[0]!));
});

test('loading does not write to the log', () => {
  const src = freshKs();
  const ps = new ShardPersistence(0, src);
  const p = tmp.path('src.aof');
  ps.setLog({ paths: [p], fsync: 'always' });
  for (let i = 0; i < 100; i++) {
    put(src, `k${i}`, `v${i}`);
    ps.afterCommand();
  }
  ps.endBatch();
  ps.close();
  const ks = freshKs();
  const loader = new ShardPersistence(0, ks);
  const own = tmp.path('own.aof');
  loader.setLog({ paths: [own], fsync: 'always' });
  const report = loader.load({ files: [logOf(p)], keep: null, truncateTorn: false, repair: false });
  assert.is(report.keys, 100);
  assert.is(report.loaded, 100);
  assert.is(report.records, 100);
  loader.afterCommand();
  loader.endBatch();
  assert.is(statSync(own).size, FILE_HEADER);
  assert.ok(loader.observes(ks), 'the observer is back after the load');
  put(ks, 'after', 'load');
  loader.afterCommand();
  loader.endBatch();
  assert.equal(readAll(own, MAGIC_LOG).records.map((r) => (r.op === 'set' ? r.key : r.op)), ['after']);
  loader.close();
});

test('values, absolute expiry and memcached flags survive the log exactly', () => {
  const ks = freshKs();
  const ps = new ShardPersistence(0, ks);
  const p = tmp.path('exactvalues.aof');
  ps.setLog({ paths: [p], fsync: 'always' });
  const rand = rng(9);
  const want: Array<{ key: string; value: Uint8Array; at: number; flags: number }> = [];
  for (let i = 0; i < 200; i++) {
    const value = randomBytes(rand, i === 100 ? 9 * 1024 * 1024 : (rand() * 1000) | 0);
    const at = i % 3 === 0 ? Date.now() + HOUR + i : 0;
    const flags = i % 4 === 0 ? 0xffffffff - i : 0;
    put(ks, `x${i}`, value, at, flags);
    ps.afterCommand();
    want.push({ key: `x${i}`, value, at, flags });
  }
  ps.endBatch();
  ps.close();
  const { ks: loaded } = loadFile(p, 'log');
  for (const w of want) {
    const e = handle(loaded, w.key);
    assert.ok(e !== 0, w.key);
    assert.ok(Buffer.from(w.value).equals(valueOf(loaded, e)), `${w.key} value`);
    assert.is(loaded.expireAt(e), w.at, `${w.key} expiry`);
    assert.is(loaded.flags(e), w.flags, `${w.key} flags`);
    assert.is(keyOf(loaded, e).toString(), w.key);
  }
  assert.is(loaded.size(), want.length);
});

test('rewrite without a window: a snapshot started with a switch to a new log, plus that log, replay to the final state', async () => {
  const ks = freshKs();
  const ps = new ShardPersistence(0, ks);
  const rand = rng(77);
  const names = Array.from({ length: 3000 }, (_, i) => `w:${i}`);
  const oldLog = tmp.path('rw-old.aof');
  ps.setLog({ paths: [oldLog], fsync: 'no' });
  runCommands(ks, ps, rand, 8000, names);
  // Populate more so that the snapshot takes many steps.
  for (let i = 0; i < 3000; i++) {
    put(ks, `bulk:${i}`, randomBytes(rand, 4000));
    ps.afterCommand();
  }
  ps.endBatch();
  const newLog = tmp.path('rw-new.aof');
  const base = tmp.path('rw-base.tsnap');
  ps.snapshotStart(base, { path: newLog, fsync: 'no' }); // switches to the new log, then starts the base
  assert.is(statSync(newLog).size, FILE_HEADER);
  let turns = 0;
  while (ps.stats().snapshotActive) {
    runCommands(ks, ps, rand, 30, [...names.slice(0, 500), 'bulk:1', 'bulk:2', 'bulk:2999']);
    turns++;
    await nextTurn();
  }
  await ps.snapshotWait();
  assert.ok(turns > 3, `snapshot took ${turns} turns`);
  runCommands(ks, ps, rand, 1000, names);
  ps.close();
  const { ks: loaded, report } = loadFile(base, 'snapshot', {
    files: [
      { path: base, kind: 'snapshot', last: false, from: { shard: 0, shards: 1 } },
      logOf(newLog),
    ],
  });
  assert.is(report.error, null);
  assertSameState(ks, loaded, 'base + new log');
  // Old log, then base and new log (a crash before the old files were dropped): the same.
  const { ks: all } = loadFile(base, 'snapshot', {
    files: [logOf(oldLog, false), { path: base, kind: 'snapshot', last: false, from: { shard: 0, shards: 1 } }, logOf(newLog)],
  });
  assertSameState(ks, all, 'old log + base + new log');
  // Old log then new log (no base): also the final state.
  const { ks: logs } = loadFile(base, 'log', { files: [logOf(oldLog, false), logOf(newLog)] });
  assertSameState(ks, logs, 'old log + new log');
});

test.run();
