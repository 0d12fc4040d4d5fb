// Persistence (snapshots and the per-shard append-only log) through real server processes: a
// BGSAVE under heavy writes is a consistent cut, a torn log tail is truncated and reported, a
// corrupt record mid-log or a corrupt snapshot stops the start with the file and offset named
// (and --persistence-repair yes gets past it), BGREWRITEAOF under writes loses nothing, the
// SAVE/BGSAVE/LASTSAVE/BGREWRITEAOF/SHUTDOWN commands, INFO persistence and CONFIG, and key
// expiry kept as an absolute time across a restart. Crashes under load: persistence-crash.test.ts.
// Tessera only; each test has its own temp dir.

import { existsSync, readdirSync, realpathSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Redis } from 'ioredis';
import { rawClient, waitFor, withTimeout } from './harness.js';
import {
  AOF_DIR,
  aofFiles,
  bgsaveDone,
  cleanup,
  dirArgs,
  infoNumber,
  ioClient,
  kill9,
  mgetAll,
  newestIncr,
  persistenceInfo,
  recordsOf,
  restartIn,
  rewriteDone,
  shardOf,
  snapshotFiles,
  startExpectingFailure,
  startIn,
  tempDir,
} from './persistence-helpers.js';

const TEST_TIMEOUT_MS = 40_000;
const SHARDS = 2;
const AOF_ALWAYS = ['--appendonly', 'yes', '--appendfsync', 'always'];

const p = suite('persistence: snapshots, log, recovery, commands');

p.after.each(cleanup);

function t(name: string, fn: () => Promise<void>): void {
  p(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));
}

/** SETs `keys[i]` to `values[i]` one at a time (each acknowledged before the next is sent). */
async function setOneByOne(c: Redis, entries: Array<[string, string]>): Promise<void> {
  for (const [k, v] of entries) assert.is(await c.set(k, v), 'OK', `SET ${k}`);
}

/** SETs every entry in one pipeline; all must be acknowledged. */
async function setPipelined(c: Redis, entries: Array<[string, string]>): Promise<void> {
  const pl = c.pipeline();
  for (const [k, v] of entries) pl.set(k, v);
  const r = await pl.exec();
  assert.ok(r !== null && r.length === entries.length && r.every(([err, v]) => err === null && v === 'OK'), 'every SET acknowledged');
}

async function assertValues(c: Redis, entries: Array<[string, string]>, what: string): Promise<void> {
  const got = await mgetAll(c, entries.map(([k]) => k));
  const wrong: string[] = [];
  entries.forEach(([k, v], i) => {
    if (got[i] !== v) wrong.push(`${k}: ${JSON.stringify(got[i])} (expected ${JSON.stringify(v)})`);
  });
  assert.equal(wrong.slice(0, 10), [], `${what}: ${wrong.length} of ${entries.length} keys wrong`);
}

const entriesOf = (prefix: string, n: number, tag = 'v'): Array<[string, string]> =>
  Array.from({ length: n }, (_, i) => [`${prefix}${String(i).padStart(6, '0')}`, `${tag}${i}`]);

// ---------------------------------------------------------------------------------------------
// Snapshots

t('BGSAVE in the middle of a pipelined write sequence saves exactly the state after some prefix of it', async () => {
  const dir = tempDir('bgsave-cut');
  const server = await startIn(dir, ['--appendonly', 'no'], { shards: 3 });
  const c = await ioClient(server);
  const KEYS = 4_000;
  const WRITES = 40_000;
  const BGSAVE_AT = 12_000;
  const pad = 'x'.repeat(40);
  const key = (i: number): string => `cut:${i % KEYS}`;
  // Write i sets key(i) to "i:<pad>"; BGSAVE goes out between writes BGSAVE_AT-1 and BGSAVE_AT,
  // everything from one connection, in order.
  const raw = await rawClient(server.port);
  try {
    const CHUNK = 2_000;
    let bgsaveReply = '';
    for (let start = 0; start < WRITES; start += CHUNK) {
      const parts: string[] = [];
      let expected = CHUNK;
      for (let i = start; i < start + CHUNK; i++) {
        if (i === BGSAVE_AT) {
          parts.push('*1\r\n$6\r\nBGSAVE\r\n');
          expected++;
        }
        const k = key(i);
        const v = `${i}:${pad}`;
        parts.push(`*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$${v.length}\r\n${v}\r\n`);
      }
      raw.send(parts.join(''));
      const replies = await raw.read(expected, 15_000);
      for (const r of replies) {
        if (r.text === '+OK\r\n') continue;
        if (bgsaveReply === '' && start <= BGSAVE_AT && BGSAVE_AT < start + CHUNK) bgsaveReply = r.text;
        else assert.unreachable(`unexpected reply ${JSON.stringify(r.text)}`);
      }
    }
    assert.is(bgsaveReply, '+Background saving started\r\n');
  } finally {
    raw.close();
  }
  const info = await bgsaveDone(c, 0);
  assert.is(info.get('rdb_last_bgsave_status'), 'ok');
  assert.ok(snapshotFiles(dir).length >= 3, `one snapshot file per shard: ${readdirSync(dir).join(', ')}`);
  assert.ok(existsSync(join(dir, 'dump.tdb')), 'the dump.tdb manifest');
  await kill9(server);

  const again = await restartIn(server.port, dir, ['--appendonly', 'no'], { shards: 3 });
  const c2 = await ioClient(again);
  const values = await mgetAll(c2, Array.from({ length: KEYS }, (_, j) => `cut:${j}`));
  // Key j holding write i (i ≡ j mod KEYS) means the prefix length P satisfies i < P <= i + KEYS;
  // key j missing means P <= j. Every key must agree on some P.
  let lo = 0;
  let hi = WRITES;
  const bad: string[] = [];
  values.forEach((v, j) => {
    if (v === null) {
      hi = Math.min(hi, j);
      return;
    }
    const m = /^(\d+):x+$/.exec(v);
    const i = m === null ? NaN : Number(m[1]);
    if (m === null || i % KEYS !== j || i >= WRITES || v !== `${i}:${pad}`) {
      bad.push(`cut:${j}: ${JSON.stringify(v)}`);
      return;
    }
    lo = Math.max(lo, i + 1);
    hi = Math.min(hi, i + KEYS);
  });
  assert.equal(bad, [], 'values that were never written');
  assert.ok(lo <= hi, `no prefix explains the snapshot: needs P >= ${lo} and P <= ${hi}`);
  // Writes acknowledged before BGSAVE's own reply (all of 0..BGSAVE_AT-1) are in the snapshot.
  assert.ok(hi >= BGSAVE_AT, `the snapshot is the state after at most ${hi} writes; BGSAVE came after write ${BGSAVE_AT - 1}`);
  assert.is(await c2.dbsize(), KEYS);
  console.log(`  (snapshot = prefix of length in [${lo}, ${hi}]; BGSAVE was sent after ${BGSAVE_AT} writes)`);
});

t('a corrupt snapshot stops the start naming the file; --persistence-repair yes starts anyway', async () => {
  const dir = tempDir('bad-snap');
  const server = await startIn(dir, ['--appendonly', 'no'], { shards: SHARDS });
  const c = await ioClient(server);
  const entries = entriesOf('snap:', 3_000);
  await setPipelined(c, entries);
  assert.is(await c.save(), 'OK');
  await server.stop();

  const snaps = snapshotFiles(dir);
  const target = snaps.filter((f) => f.shard === 0).at(-1);
  assert.ok(target !== undefined, `a shard-0 snapshot file in ${readdirSync(dir).join(', ')}`);
  const { bytes, records } = recordsOf(target.path);
  assert.ok(records.length >= 3, `${records.length} records in ${target.name}`);
  const rec = records[Math.floor(records.length / 2)]!;
  const at = rec.payloadOffset + Math.floor(rec.payloadLength / 2);
  bytes[at] = bytes[at]! ^ 0x5a;
  writeFileSync(target.path, bytes);

  const failed = await startExpectingFailure(dirArgs(dir, ['--appendonly', 'no']));
  assert.is(failed.code, 1, `exit code; output:\n${failed.output.slice(-2000)}`);
  assert.ok(failed.output.includes(target.name), `the output names ${target.name}:\n${failed.output.slice(-2000)}`);
  assert.match(failed.output, /offset/i, 'the output gives the offset');

  const repaired = await restartIn(server.port, dir, ['--appendonly', 'no', '--persistence-repair', 'yes'], { shards: SHARDS });
  const c2 = await ioClient(repaired);
  assert.is(await c2.ping(), 'PONG');
  // Shard 1's snapshot was intact: all of its keys are back.
  await assertValues(c2, entries.filter(([k]) => shardOf(k, SHARDS) === 1), 'keys of the intact shard');
  const n = await c2.dbsize();
  assert.ok(n < entries.length, `DBSIZE ${n}: the corrupt record's keys are gone`);
});

// ---------------------------------------------------------------------------------------------
// The log

t('a torn tail in the last log file is cut at the last whole record and reported', async () => {
  const dir = tempDir('torn');
  const server = await startIn(dir, AOF_ALWAYS, { shards: SHARDS });
  const c = await ioClient(server);
  const entries = entriesOf('torn:', 400);
  await setOneByOne(c, entries);
  await kill9(server);

  const incr = newestIncr(dir, 0);
  const sizeBefore = statSync(incr.path).size;
  assert.ok(recordsOf(incr.path).records.length > 0, `${incr.name} holds records`);
  truncateSync(incr.path, sizeBefore - 3);

  const again = await restartIn(server.port, dir, AOF_ALWAYS, { shards: SHARDS, loglevel: 'notice' });
  const c2 = await ioClient(again);
  const got = await mgetAll(c2, entries.map(([k]) => k));
  const shard0 = entries.map(([k], i) => i).filter((i) => shardOf(entries[i]![0], SHARDS) === 0);
  const lastOnShard0 = shard0.at(-1)!;
  const missing = entries.map((_, i) => i).filter((i) => got[i] !== entries[i]![1]);
  assert.ok(
    missing.every((i) => i === lastOnShard0),
    `only the last write on shard 0 (${entries[lastOnShard0]![0]}) may be lost; wrong: ${missing.map((i) => `${entries[i]![0]}=${JSON.stringify(got[i])}`).join(', ')}`,
  );
  const truncated = await infoNumber(c2, 'aof_last_load_truncated_bytes');
  assert.ok(truncated > 0, `aof_last_load_truncated_bytes:${truncated}`);
  const log = again.output();
  assert.ok(log.includes(incr.name) && /truncat|\bcut\b/i.test(log), `the log reports the cut in ${incr.name}:\n${log.slice(-2000)}`);
  // The server goes on logging after the cut: a write now survives another crash.
  assert.is(await c2.set(entries[lastOnShard0]![0], 'after'), 'OK');
  await kill9(again);
  const third = await restartIn(server.port, dir, AOF_ALWAYS, { shards: SHARDS });
  const c3 = await ioClient(third);
  assert.is(await c3.get(entries[lastOnShard0]![0]), 'after');
  assert.is(await c3.get(entries[0]![0]), entries[0]![1]);
});

t('aof-load-truncated no: a torn tail stops the start', async () => {
  const dir = tempDir('torn-no');
  const server = await startIn(dir, AOF_ALWAYS, { shards: SHARDS });
  const c = await ioClient(server);
  await setOneByOne(c, entriesOf('tn:', 50));
  await kill9(server);
  const incr = newestIncr(dir, 0);
  truncateSync(incr.path, statSync(incr.path).size - 3);
  const failed = await startExpectingFailure(dirArgs(dir, [...AOF_ALWAYS, '--aof-load-truncated', 'no']));
  assert.ok(failed.code !== 0 && failed.code !== null, `exit code ${failed.code}; output:\n${failed.output.slice(-2000)}`);
  assert.ok(failed.output.includes(incr.name), `the output names ${incr.name}:\n${failed.output.slice(-2000)}`);
});

t('a bad record mid-log stops the start naming file and offset; --persistence-repair yes keeps what came before', async () => {
  const dir = tempDir('bad-mid');
  const server = await startIn(dir, AOF_ALWAYS, { shards: SHARDS });
  const c = await ioClient(server);
  const entries = entriesOf('mid:', 600);
  await setOneByOne(c, entries);
  await kill9(server);

  const incr = newestIncr(dir, 0);
  const { bytes, records } = recordsOf(incr.path);
  const shard0 = entries.filter(([k]) => shardOf(k, SHARDS) === 0);
  // The record of a shard-0 key written about half way: find it by the key's bytes in a payload.
  const victim = shard0[Math.floor(shard0.length / 2)]!;
  const victimIndex = records.findIndex((r) => bytes.subarray(r.payloadOffset, r.payloadOffset + r.payloadLength).includes(victim[0]));
  assert.ok(victimIndex >= 0, `a record in ${incr.name} holds ${victim[0]}`);
  assert.ok(victimIndex < records.length - 1, 'not the last record');
  const rec = records[victimIndex]!;
  const at = rec.payloadOffset + Math.floor(rec.payloadLength / 2);
  bytes[at] = bytes[at]! ^ 0xff;
  writeFileSync(incr.path, bytes);

  const failed = await startExpectingFailure(dirArgs(dir, AOF_ALWAYS));
  assert.is(failed.code, 1, `exit code; output:\n${failed.output.slice(-2000)}`);
  assert.ok(failed.output.includes(incr.name), `the output names ${incr.name}:\n${failed.output.slice(-2000)}`);
  assert.ok(
    new RegExp(`offset\\D{0,5}${rec.offset}\\b`, 'i').test(failed.output),
    `the output gives offset ${rec.offset}:\n${failed.output.slice(-2000)}`,
  );

  const repaired = await restartIn(server.port, dir, [...AOF_ALWAYS, '--persistence-repair', 'yes'], { shards: SHARDS });
  const c2 = await ioClient(repaired);
  const victimPos = entries.findIndex(([k]) => k === victim[0]);
  // Everything before the bad record is there, and shard 1's log was intact.
  const before = entries.filter(([k], i) => i < victimPos || shardOf(k, SHARDS) === 1);
  await assertValues(c2, before, 'keys written before the bad record, and all of shard 1');
  // Everything from the bad record on in that file was dropped.
  const dropped = shard0.filter(([k]) => entries.findIndex(([x]) => x === k) >= victimPos);
  const after = await mgetAll(c2, dropped.map(([k]) => k));
  assert.ok(after.every((v) => v === null), 'the records after the bad one are gone');
  assert.is(await c2.dbsize(), before.length);
});

t('BGREWRITEAOF while another client writes loses nothing; one base file per shard afterwards', async () => {
  const dir = tempDir('rewrite');
  const server = await startIn(dir, AOF_ALWAYS, { shards: SHARDS });
  const c = await ioClient(server);
  const writer = await ioClient(server);
  const first = entriesOf('rw1:', 5_000);
  await setPipelined(c, first);
  const rewritesBefore = await infoNumber(c, 'aof_rewrites');

  // A second client keeps writing (each write acknowledged before the next) across the rewrite.
  let stop = false;
  const during: Array<[string, string]> = [];
  const writing = (async () => {
    for (let i = 0; !stop && i < 1_000_000; i++) {
      const k = `rw2:${i}`;
      const v = `d${i}`;
      assert.is(await writer.set(k, v), 'OK');
      during.push([k, v]);
      if (i % 7 === 0) assert.is(await writer.set(first[i % first.length]![0], `over${i}`), 'OK');
    }
  })();
  writing.catch(() => undefined); // awaited below; this only keeps an early failure from being unhandled
  let info: Map<string, string>;
  try {
    await waitFor('writes flowing', () => during.length > 200, 10_000);
    assert.is(await c.bgrewriteaof(), 'Background append only file rewriting started');
    info = await rewriteDone(c, rewritesBefore);
    const duringAtEnd = during.length;
    await waitFor('writes after the rewrite', () => during.length > duringAtEnd + 200, 10_000);
  } finally {
    stop = true;
  }
  await writing;
  assert.is(info.get('aof_last_bgrewrite_status'), 'ok');
  const third = entriesOf('rw3:', 1_000);
  await setPipelined(c, third);

  // The final value of every key.
  const expected = new Map<string, string>(first);
  for (let i = 0; i < during.length; i++) {
    expected.set(during[i]![0], during[i]![1]);
    if (i % 7 === 0) expected.set(first[i % first.length]![0], `over${i}`);
  }
  for (const [k, v] of third) expected.set(k, v);

  await waitFor(
    'one base file per shard',
    () => {
      const bases = aofFiles(dir).filter((f) => f.kind === 'base');
      return bases.length === SHARDS && new Set(bases.map((f) => f.shard)).size === SHARDS;
    },
    10_000,
  );
  await kill9(server);
  const again = await restartIn(server.port, dir, AOF_ALWAYS, { shards: SHARDS });
  const c2 = await ioClient(again);
  await assertValues(c2, [...expected], 'after the rewrite and a SIGKILL');
  assert.is(await c2.dbsize(), expected.size);
  const bases = aofFiles(dir).filter((f) => f.kind === 'base');
  assert.equal(
    bases.map((f) => f.shard).sort(),
    Array.from({ length: SHARDS }, (_, s) => s),
    `one base per shard after the restart: ${readdirSync(join(dir, AOF_DIR)).join(', ')}`,
  );
});

// ---------------------------------------------------------------------------------------------
// Commands, INFO, CONFIG

t('SAVE, LASTSAVE, BGSAVE and BGREWRITEAOF replies; rdb_saves counts', async () => {
  const dir = tempDir('cmds');
  const server = await startIn(dir, ['--appendonly', 'yes'], { shards: SHARDS });
  const c = await ioClient(server);
  await setPipelined(c, entriesOf('cmd:', 100));
  const raw = await rawClient(server.port);
  try {
    const before = Number((await raw.call(['LASTSAVE'])).text.slice(1, -2));
    assert.ok(Number.isInteger(before) && before > 0, `LASTSAVE ${before}`);
    const saves0 = await infoNumber(c, 'rdb_saves');
    assert.is((await raw.call(['SAVE'], 15_000)).text, '+OK\r\n');
    assert.is(await infoNumber(c, 'rdb_saves'), saves0 + 1, 'rdb_saves after SAVE');
    assert.is(await infoNumber(c, 'rdb_changes_since_last_save'), 0);
    const afterSave = Number((await raw.call(['LASTSAVE'])).text.slice(1, -2));
    assert.ok(afterSave >= before, `LASTSAVE ${afterSave} after SAVE, ${before} before`);
    assert.ok(Math.abs(afterSave - Date.now() / 1000) < 5, `LASTSAVE ${afterSave} is about now`);
    // LASTSAVE has 1 s resolution: save again until it moves.
    await waitFor(
      'LASTSAVE to increase',
      async () => {
        assert.is((await raw.call(['SAVE'], 15_000)).text, '+OK\r\n');
        return Number((await raw.call(['LASTSAVE'])).text.slice(1, -2)) > afterSave;
      },
      5_000,
      100,
    );
    assert.ok(existsSync(join(dir, 'dump.tdb')) && snapshotFiles(dir).length >= SHARDS, `dump files: ${readdirSync(dir).join(', ')}`);

    const saves1 = await infoNumber(c, 'rdb_saves');
    assert.is((await raw.call(['BGSAVE'])).text, '+Background saving started\r\n');
    await bgsaveDone(c, saves1);
    // Two BGSAVEs back to back: the second either finds the first still running or starts after it.
    raw.send('*1\r\n$6\r\nBGSAVE\r\n*1\r\n$6\r\nBGSAVE\r\n');
    const [b1, b2] = await raw.read(2);
    assert.is(b1!.text, '+Background saving started\r\n');
    assert.ok(
      ['-ERR Background save already in progress\r\n', '+Background saving started\r\n'].includes(b2!.text),
      `second BGSAVE: ${JSON.stringify(b2!.text)}`,
    );
    await bgsaveDone(c, saves1 + 1);

    const rewrites = await infoNumber(c, 'aof_rewrites');
    assert.is((await raw.call(['BGREWRITEAOF'])).text, '+Background append only file rewriting started\r\n');
    await rewriteDone(c, rewrites);
    // A BGREWRITEAOF pipelined behind itself.
    raw.send('*1\r\n$12\r\nBGREWRITEAOF\r\n*1\r\n$12\r\nBGREWRITEAOF\r\n');
    const [r1, r2] = await raw.read(2);
    assert.is(r1!.text, '+Background append only file rewriting started\r\n');
    assert.ok(
      [
        '-ERR Background append only file rewriting already in progress\r\n',
        '+Background append only file rewriting started\r\n',
      ].includes(r2!.text),
      `second BGREWRITEAOF: ${JSON.stringify(r2!.text)}`,
    );
    await waitFor('no rewrite running', async () => (await persistenceInfo(c)).get('aof_rewrite_in_progress') === '0', 20_000);

    // One kind of job behind the other: the second is scheduled (or starts, if the first is already done).
    const saves2 = await infoNumber(c, 'rdb_saves');
    const rewrites1 = await infoNumber(c, 'aof_rewrites');
    raw.send('*1\r\n$6\r\nBGSAVE\r\n*1\r\n$12\r\nBGREWRITEAOF\r\n');
    const [s1, s2] = await raw.read(2);
    assert.is(s1!.text, '+Background saving started\r\n');
    assert.ok(
      ['+Background append only file rewriting scheduled\r\n', '+Background append only file rewriting started\r\n'].includes(s2!.text),
      `BGREWRITEAOF behind a BGSAVE: ${JSON.stringify(s2!.text)}`,
    );
    await bgsaveDone(c, saves2);
    await rewriteDone(c, rewrites1);
    const rewrites2 = await infoNumber(c, 'aof_rewrites');
    raw.send('*1\r\n$12\r\nBGREWRITEAOF\r\n*2\r\n$6\r\nBGSAVE\r\n$8\r\nSCHEDULE\r\n');
    const [q1, q2] = await raw.read(2);
    assert.is(q1!.text, '+Background append only file rewriting started\r\n');
    assert.ok(
      ['+Background saving scheduled\r\n', '+Background saving started\r\n'].includes(q2!.text),
      `BGSAVE SCHEDULE behind a rewrite: ${JSON.stringify(q2!.text)}`,
    );
    await rewriteDone(c, rewrites2);
    await bgsaveDone(c, saves2 + 1);
  } finally {
    raw.close();
  }
});

t('INFO persistence has the fields; CONFIG GET returns the configured values', async () => {
  const dir = tempDir('info');
  const server = await startIn(
    dir,
    ['--appendonly', 'yes', '--appendfsync', 'always', '--save', '3600 1 300 100', '--dbfilename', 'my.tdb'],
    { shards: SHARDS },
  );
  const c = await ioClient(server);
  await setPipelined(c, entriesOf('inf:', 10));
  const info = await persistenceInfo(c);
  const fields = [
    'loading', 'rdb_changes_since_last_save', 'rdb_bgsave_in_progress', 'rdb_last_save_time', 'rdb_last_bgsave_status',
    'rdb_last_bgsave_time_sec', 'rdb_current_bgsave_time_sec', 'rdb_saves', 'rdb_last_load_keys_loaded',
    'rdb_last_load_keys_expired', 'aof_enabled', 'aof_rewrite_in_progress', 'aof_rewrite_scheduled',
    'aof_last_rewrite_time_sec', 'aof_current_rewrite_time_sec', 'aof_last_bgrewrite_status', 'aof_rewrites',
    'aof_last_write_status', 'current_save_keys_processed', 'current_save_keys_total', 'aof_current_size',
    'aof_base_size', 'snapshot_peak_buffer_bytes', 'aof_last_load_truncated_bytes',
  ];
  const absent = fields.filter((f) => !info.has(f));
  assert.equal(absent, [], `fields missing from INFO persistence: ${[...info.keys()].join(', ')}`);
  assert.is(info.get('loading'), '0');
  assert.is(info.get('aof_enabled'), '1');
  assert.is(info.get('rdb_bgsave_in_progress'), '0');
  assert.is(info.get('aof_last_write_status'), 'ok');
  assert.ok(Number(info.get('rdb_changes_since_last_save')) >= 10, `rdb_changes_since_last_save:${info.get('rdb_changes_since_last_save')}`);
  assert.ok(Number(info.get('aof_current_size')) > 0, `aof_current_size:${info.get('aof_current_size')}`);
  assert.ok(Math.abs(Number(info.get('rdb_last_save_time')) - Date.now() / 1000) < 60, `rdb_last_save_time:${info.get('rdb_last_save_time')}`);

  const get = async (name: string): Promise<string[]> => (await c.config('GET', name)) as string[];
  assert.equal(await get('appendonly'), ['appendonly', 'yes']);
  assert.equal(await get('appendfsync'), ['appendfsync', 'always']);
  assert.equal(await get('save'), ['save', '3600 1 300 100']);
  assert.equal(await get('dbfilename'), ['dbfilename', 'my.tdb']);
  const [, gotDir] = await get('dir');
  assert.is(realpathSync(gotDir!), realpathSync(dir));
  assert.equal(await get('appendfilename'), ['appendfilename', 'appendonly.aof']);
  assert.equal(await get('appenddirname'), ['appenddirname', 'appendonlydir']);
  // The dump goes by the configured name.
  assert.is(await c.save(), 'OK');
  assert.ok(existsSync(join(dir, 'my.tdb')) && snapshotFiles(dir, 'my.tdb').length >= SHARDS, `files: ${readdirSync(dir).join(', ')}`);
  assert.ok(existsSync(join(dir, AOF_DIR, 'appendonly.aof.manifest')), 'the AOF manifest');
});

t('SHUTDOWN SAVE writes a dump that the next start loads', async () => {
  const dir = tempDir('shutdown-save');
  const server = await startIn(dir, ['--appendonly', 'no'], { shards: SHARDS });
  const c = await ioClient(server);
  const entries = entriesOf('sds:', 2_000);
  await setPipelined(c, entries);
  assert.ok(!existsSync(join(dir, 'dump.tdb')), 'no dump before (--save "")');
  const raw = await rawClient(server.port);
  raw.send('*2\r\n$8\r\nSHUTDOWN\r\n$4\r\nSAVE\r\n');
  await raw.waitClosed(15_000);
  const exit = await withTimeout(server.exited, 15_000, 'exit after SHUTDOWN SAVE');
  assert.is(exit.code, 0);
  assert.ok(existsSync(join(dir, 'dump.tdb')), `dump written: ${readdirSync(dir).join(', ')}`);

  const again = await restartIn(server.port, dir, ['--appendonly', 'no'], { shards: SHARDS, loglevel: 'notice' });
  const c2 = await ioClient(again);
  await assertValues(c2, entries, 'after SHUTDOWN SAVE and a restart');
  assert.is(await infoNumber(c2, 'rdb_last_load_keys_loaded'), entries.length);
});

t('SHUTDOWN NOSAVE with save points writes no dump', async () => {
  const dir = tempDir('shutdown-nosave');
  const server = await startIn(dir, ['--appendonly', 'no', '--save', '3600 1'], { shards: SHARDS });
  const c = await ioClient(server);
  await setPipelined(c, entriesOf('sdn:', 100));
  const raw = await rawClient(server.port);
  raw.send('*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n');
  await raw.waitClosed(15_000);
  const exit = await withTimeout(server.exited, 15_000, 'exit after SHUTDOWN NOSAVE');
  assert.is(exit.code, 0);
  assert.ok(!existsSync(join(dir, 'dump.tdb')) && snapshotFiles(dir).length === 0, `no dump: ${readdirSync(dir).join(', ')}`);
  const again = await restartIn(server.port, dir, ['--appendonly', 'no', '--save', '3600 1'], { shards: SHARDS });
  const c2 = await ioClient(again);
  assert.is(await c2.dbsize(), 0);
});

t('SIGTERM with save points saves; the next start loads it', async () => {
  const dir = tempDir('sigterm');
  const server = await startIn(dir, ['--appendonly', 'no', '--save', '3600 1'], { shards: SHARDS });
  const c = await ioClient(server);
  const entries = entriesOf('sgt:', 1_500);
  await setPipelined(c, entries);
  server.proc.kill('SIGTERM');
  const exit = await withTimeout(server.exited, 15_000, 'exit after SIGTERM');
  assert.is(exit.code, 0, `exit code after SIGTERM:\n${server.output().slice(-1500)}`);
  assert.ok(existsSync(join(dir, 'dump.tdb')), `dump written on SIGTERM: ${readdirSync(dir).join(', ')}`);
  const again = await restartIn(server.port, dir, ['--appendonly', 'no'], { shards: SHARDS });
  const c2 = await ioClient(again);
  await assertValues(c2, entries, 'after SIGTERM and a restart');
});

t('CONFIG SET appendonly yes at runtime: the log starts from a rewrite and survives SIGKILL', async () => {
  const dir = tempDir('config-set-aof');
  const server = await startIn(dir, ['--appendonly', 'no', '--appendfsync', 'always'], { shards: SHARDS });
  const c = await ioClient(server);
  const before = entriesOf('csa:', 2_000);
  await setPipelined(c, before);
  const rewrites = await infoNumber(c, 'aof_rewrites');
  assert.is(await c.config('SET', 'appendonly', 'yes'), 'OK');
  const during = entriesOf('csb:', 500);
  await setPipelined(c, during);
  await rewriteDone(c, rewrites);
  await waitFor('aof_enabled:1', async () => (await persistenceInfo(c)).get('aof_enabled') === '1', 10_000);
  assert.equal(await c.config('GET', 'appendonly'), ['appendonly', 'yes']);
  const after = entriesOf('csc:', 500);
  await setPipelined(c, after);
  assert.ok(existsSync(join(dir, AOF_DIR, 'appendonly.aof.manifest')), 'the AOF manifest');
  await kill9(server);

  const again = await restartIn(server.port, dir, ['--appendonly', 'yes', '--appendfsync', 'always'], { shards: SHARDS });
  const c2 = await ioClient(again);
  await assertValues(c2, [...before, ...during, ...after], 'after CONFIG SET appendonly yes and a SIGKILL');
});

t('a restart with another --shards count loads the dump and the log', async () => {
  const dir = tempDir('reshard');
  const server = await startIn(dir, ['--appendonly', 'no'], { shards: 2 });
  const c = await ioClient(server);
  const entries = entriesOf('rs:', 3_000);
  await setPipelined(c, entries);
  assert.is(await c.save(), 'OK');
  await server.stop();
  // The dump, written by 2 shards, read by 3.
  const three = await restartIn(server.port, dir, ['--appendonly', 'no'], { shards: 3 });
  const c3 = await ioClient(three);
  await assertValues(c3, entries, 'dump of 2 shards loaded by 3');
  assert.is(await c3.dbsize(), entries.length);
  await three.stop();

  // The log, written by 3 shards (its base made from the dump's data by CONFIG SET), read by 2.
  const aof3 = await restartIn(server.port, dir, ['--appendonly', 'no', '--appendfsync', 'always'], { shards: 3 });
  const ca = await ioClient(aof3);
  const rewrites = await infoNumber(ca, 'aof_rewrites');
  assert.is(await ca.config('SET', 'appendonly', 'yes'), 'OK');
  await rewriteDone(ca, rewrites);
  const more = entriesOf('rs2:', 1_000);
  await setPipelined(ca, more);
  await kill9(aof3);
  const two = await restartIn(server.port, dir, AOF_ALWAYS, { shards: 2 });
  const c2 = await ioClient(two);
  await assertValues(c2, [...entries, ...more], 'log of 3 shards loaded by 2');
  assert.is(await c2.dbsize(), entries.length + more.length);
  // And it goes on logging: one more crash and start.
  await setPipelined(c2, entriesOf('rs3:', 100));
  await kill9(two);
  const last = await restartIn(server.port, dir, AOF_ALWAYS, { shards: 2 });
  const cl = await ioClient(last);
  assert.is(await cl.dbsize(), entries.length + more.length + 100);
});

// ---------------------------------------------------------------------------------------------
// Expiry

t('expiry times are absolute across a restart from the log', async () => {
  const dir = tempDir('expiry');
  const server = await startIn(dir, AOF_ALWAYS, { shards: SHARDS });
  const c = await ioClient(server);
  const LONG = 100_000;
  const sentAt = Date.now();
  assert.is(await c.set('exp:long', 'L', 'PX', LONG), 'OK');
  assert.is(await c.set('exp:short', 'S', 'PX', 300), 'OK');
  const ackedAt = Date.now();
  assert.is(await c.set('exp:none', 'N'), 'OK');
  // Let time pass before the crash, so that a TTL restarted at load time (relative, not absolute)
  // would show up as too long.
  await waitFor('1.2 s to pass since the SETs', () => Date.now() - ackedAt >= 1_200, 5_000, 50);
  await kill9(server);

  const again = await restartIn(server.port, dir, AOF_ALWAYS, { shards: SHARDS });
  const c2 = await ioClient(again);
  const askedAt = Date.now();
  const pttl = await c2.pttl('exp:long');
  const answeredAt = Date.now();
  // Expiry E in [sentAt, ackedAt] + LONG; PTTL = E - (server time in [askedAt, answeredAt]).
  assert.ok(pttl <= LONG - (askedAt - ackedAt) + 5, `PTTL ${pttl} is too long: ${askedAt - ackedAt} ms passed since the SET`);
  assert.ok(pttl >= LONG - (answeredAt - sentAt) - 50, `PTTL ${pttl} is too short: ${answeredAt - sentAt} ms passed since the SET`);
  assert.is(await c2.get('exp:long'), 'L');
  assert.ok(Date.now() - ackedAt > 300);
  assert.is(await c2.get('exp:short'), null, 'the 300 ms key has expired');
  assert.is(await c2.pttl('exp:short'), -2);
  assert.is(await c2.get('exp:none'), 'N');
  assert.is(await c2.pttl('exp:none'), -1);
});

p.run();
