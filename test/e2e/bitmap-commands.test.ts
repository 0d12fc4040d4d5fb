// Bitmap commands (SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO) and LCS against a real
// redis-server 7.0, byte for byte in RESP2 and RESP3, on a Tessera of three shards with keys
// spread over all of them (BITOP and LCS across shards), then the CROSSSLOT rules in one-node
// clusters and the keyspace events next to redis-server's.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTessera, startTesseraAt, waitFor } from './harness.js';
import { keyOn, shardOf } from './shard-keys.js';
import { ServerPair, compareInOneNodeClusters, groupsOn, runSteps, s, timedOn, type Step } from './differential-helpers.js';

const TEST_TIMEOUT_MS = 60_000;
const SHARDS = 3;

const pair = new ServerPair({ tessera: { shards: SHARDS } });
const diff = suite('bitmap commands: redis-server vs tessera');
diff.before(pair.start);
diff.after(pair.stop);
const group = groupsOn(diff, pair, { protos: [2, 3], timeoutMs: TEST_TIMEOUT_MS });

// One key per shard: multi-key commands over them cross shards.
const K0 = keyOn(0, SHARDS, 'bm');
const K1 = keyOn(1, SHARDS, 'bm');
const K2 = keyOn(2, SHARDS, 'bm');

diff('the keys used span every shard', () => {
  assert.equal(new Set([K0, K1, K2].map((k) => shardOf(k, SHARDS))).size, 3);
});

group('SETBIT and GETBIT', [
  s('SETBIT b 7 1'),
  s('SETBIT b 7 1'),
  s('SETBIT b 7 0'),
  s('SETBIT b 100 1'),
  s('GET b'),
  s('STRLEN b'),
  s('GETBIT b 100'),
  s('GETBIT b 101'),
  s('GETBIT b 100000'),
  s('GETBIT nokey 3'),
  s('SETBIT b 0 2'),
  s('SETBIT b 0 -1'),
  s('SETBIT b 0 x'),
  s(['SETBIT', 'b', '0', '']),
  s('SETBIT b -1 1'),
  s('SETBIT b x 1'),
  s('SETBIT b 4294967296 1'),
  // The limit follows proto-max-bulk-len (1 MB here, not 512 MB, to spare the shared host).
  s('CONFIG SET proto-max-bulk-len 1048576'),
  s('SETBIT big 8388608 1'),
  s('BITFIELD big SET u8 8388608 1'),
  s('BITFIELD big SET u8 #1048576 1'),
  s('SETBIT big 8388607 1'),
  s('STRLEN big'),
  s('BITCOUNT big'),
  s('BITPOS big 1'),
  s('BITFIELD big GET u8 #1048575 GET i8 8388607'),
  s('LCS big big'),
  s('CONFIG SET proto-max-bulk-len 536870912'),
  s('DEL b'),
  s('GETBIT b -1'),
  s('GETBIT b 4294967296'),
  s('SET str hello'),
  s('SETBIT str 1 0'),
  s('GET str'),
  s('SET e ""'),
  s('LPUSH l a'),
  s('SETBIT l 1 1'),
  s('GETBIT l 1'),
  s('SET x 1 EX 100'),
  s('SETBIT x 3 1'),
  s('TTL x'),
  s('SETBIT'),
  s('GETBIT a'),
]);

group('BITCOUNT', [
  s('SET s foobar'),
  s('BITCOUNT s'),
  s('BITCOUNT s 0 0'),
  s('BITCOUNT s 1 1'),
  s('BITCOUNT s 1 -2'),
  s('BITCOUNT s -2 -1'),
  s('BITCOUNT s -1 -2'),
  s('BITCOUNT s 5 30'),
  s('BITCOUNT s 0 -1 BYTE'),
  s('BITCOUNT s 5 30 BIT'),
  s('BITCOUNT s 1 1 BIT'),
  s('BITCOUNT s 3 12 bit'),
  s('BITCOUNT s -13 -3 BIT'),
  s('BITCOUNT s 0 1000 BIT'),
  s('BITCOUNT s 0 1 WORD'),
  s('BITCOUNT s 0'),
  s('BITCOUNT s 0 1 BIT x'),
  s('BITCOUNT s a 1'),
  s('BITCOUNT s 1 b'),
  s('BITCOUNT s 99999999999999999999 1'),
  s('BITCOUNT nokey'),
  s('BITCOUNT nokey 0 x'),
  s('BITCOUNT nokey 0'),
  s('LPUSH l a'),
  s('BITCOUNT l'),
  s(['SET', 'e', '']),
  s('BITCOUNT e'),
  s('BITCOUNT e 0 -1 BIT'),
  s('SET n 12345'),
  s('BITCOUNT n'),
]);

group('BITPOS', [
  s(['SET', 's', '\xff\xf0\x00']),
  s('BITPOS s 0'),
  s('BITPOS s 1'),
  s('BITPOS s 0 2'),
  s('BITPOS s 1 2'),
  s('BITPOS s 1 2 -1'),
  s('BITPOS s 0 0 -1'),
  s('BITPOS s 0 0 1'),
  s('BITPOS s 0 0 0'),
  s('BITPOS s 1 7 15 BIT'),
  s('BITPOS s 0 7 15 BIT'),
  s('BITPOS s 0 3 11 BIT'),
  s('BITPOS s 1 13 BIT'),
  s('BITPOS s 0 -5 -1 BIT'),
  s('BITPOS s 1 -5 -1 BIT'),
  s('BITPOS s 1 0 -1 BYTE'),
  s('BITPOS s 1 2 1'),
  s('BITPOS s 0 -1 -2'),
  s(['SET', 'f', '\xff\xff\xff']),
  s('BITPOS f 0'),
  s('BITPOS f 0 0'),
  s('BITPOS f 0 0 -1'),
  s('BITPOS f 0 1 BIT'),
  s('BITPOS f 0 0 23 BIT'),
  s('BITPOS f 1'),
  s(['SET', 'z', '\x00\x00\x00']),
  s('BITPOS z 1'),
  s('BITPOS z 0'),
  s('BITPOS z 1 0 -1 BIT'),
  s('BITPOS z 1 2'),
  s('BITPOS nokey 0'),
  s('BITPOS nokey 1'),
  s('BITPOS nokey 2'),
  s('BITPOS s 2'),
  s('BITPOS s x'),
  s('BITPOS s 1 x'),
  s('BITPOS s 1 0 x'),
  s('BITPOS s 1 0 1 WORD'),
  s('BITPOS s 1 0 1 BIT x'),
  s(['SET', 'e', '']),
  s('BITPOS e 0'),
  s('BITPOS e 1'),
  s('LPUSH l a'),
  s('BITPOS l 1'),
]);

group('BITOP on one shard and across shards', [
  s(['SET', K0, 'foobar']),
  s(['SET', K1, 'abcdef']),
  s(['SET', K2, 'xy']),
  s(['BITOP', 'AND', 'dest', K0, K1]),
  s('GET dest'),
  s(['BITOP', 'OR', 'dest', K0, K1, K2]),
  s('GET dest'),
  s(['BITOP', 'XOR', K2, K0, K1, K2]),
  s(['GET', K2]),
  s(['BITOP', 'AND', K0, K0, 'missing']),
  s(['GET', K0]),
  s(['BITOP', 'NOT', K1, K1]),
  s(['GET', K1]),
  s(['BITOP', 'not', 'dest', K2]),
  s('GET dest'),
  s(['BITOP', 'NOT', 'dest', K0, K1]),
  s(['BITOP', 'NAND', 'dest', K0]),
  s(['SET', K0, 'x', 'EX', '100']),
  s(['BITOP', 'OR', K0, K1]),
  s(['TTL', K0]),
  s(['BITOP', 'OR', K0, 'missing1', 'missing2']),
  s(['EXISTS', K0]),
  s(['BITOP', 'OR', 'missing3', 'missing1']),
  s(['LPUSH', K2, 'a']),
  s(['BITOP', 'OR', 'dest', K1, K2]),
  s(['BITOP', 'OR', K2, K1]),
  s(['TYPE', K2]),
  s(['BITOP', 'AND', 'dest']),
  s(['SET', 'e', '']),
  s(['BITOP', 'AND', 'dest', 'e', K1]),
  s('GET dest'),
]);

group('BITFIELD and BITFIELD_RO', [
  s('BITFIELD bf SET i8 0 100 GET i8 0'),
  s('BITFIELD bf INCRBY i8 0 100'),
  s('BITFIELD bf OVERFLOW SAT INCRBY i8 0 100'),
  s('BITFIELD bf OVERFLOW FAIL INCRBY i8 0 100'),
  s('BITFIELD bf OVERFLOW WRAP INCRBY i8 0 -300'),
  s('BITFIELD bf GET u8 0 GET i4 4 GET u1 7'),
  s('BITFIELD bf SET u8 #1 255 GET u8 #1 INCRBY u8 #1 1 OVERFLOW SAT INCRBY u8 #1 -5 INCRBY u8 #1 -300'),
  s('BITFIELD bf SET u8 #2 -1 OVERFLOW SAT SET u8 #3 -1 OVERFLOW FAIL SET u8 #4 -1 SET u8 #5 256'),
  s('BITFIELD bf SET i64 64 -1 GET i64 64 GET u63 64 INCRBY i64 64 -9223372036854775807'),
  s('BITFIELD bf OVERFLOW SAT SET i64 128 9223372036854775807 INCRBY i64 128 1 OVERFLOW WRAP INCRBY i64 128 1'),
  s('BITFIELD bf SET u63 200 9223372036854775807 INCRBY u63 200 1 GET u63 200'),
  s('BITFIELD bf SET i5 3 15 INCRBY i5 3 1 GET i5 3 OVERFLOW SAT INCRBY i5 3 100 INCRBY i5 3 -100'),
  s('BITFIELD bf SET u3 13 5 GET u3 13 SET i1 1 1 GET i1 1'),
  s('GET bf'),
  s('BITFIELD bf'),
  s('BITFIELD missing GET u8 0'),
  s('EXISTS missing'),
  s('BITFIELD missing OVERFLOW FAIL INCRBY u2 100 9'),
  s('GET missing'),
  s('BITFIELD bf GET u64 0'),
  s('BITFIELD bf GET i65 0'),
  s('BITFIELD bf GET i0 0'),
  s('BITFIELD bf GET x8 0'),
  s('BITFIELD bf GET u 0'),
  s('BITFIELD bf GET u8 -1'),
  s('BITFIELD bf GET u8 #-1'),
  s('BITFIELD bf GET u8 x'),
  s('BITFIELD bf GET u8 4294967296'),
  s('BITFIELD bf GET u8 #536870912'),
  s('BITFIELD bf SET u8 0 x'),
  s('BITFIELD bf SET u8 0'),
  s('BITFIELD bf GET u8'),
  s('BITFIELD bf FOO u8 0'),
  s('BITFIELD bf OVERFLOW'),
  s('BITFIELD bf OVERFLOW NONE GET u8 0'),
  s('BITFIELD bf GET u8 0 OVERFLOW SAT'),
  s('BITFIELD_RO bf GET u8 0 GET i16 #1'),
  s('BITFIELD_RO bf GET u8 0 SET u8 0 1'),
  s('BITFIELD_RO bf INCRBY u8 0 1'),
  s('BITFIELD_RO bf OVERFLOW SAT'),
  s('BITFIELD_RO missing GET u8 0'),
  s('BITFIELD_RO bf'),
  s('LPUSH l a'),
  s('BITFIELD l GET u8 0'),
  s('BITFIELD l SET u8 0 1'),
  s('BITFIELD_RO l GET u8 0'),
  s('SET n 7 EX 100'),
  s('BITFIELD n INCRBY u8 0 1'),
  s('GET n'),
  s('TTL n'),
]);

const lcsSteps = (a: string, b: string): Step[] => [
  s(['SET', a, 'ohmytext']),
  s(['SET', b, 'mynewtext']),
  s(['LCS', a, b]),
  s(['LCS', a, b, 'LEN']),
  s(['LCS', a, b, 'IDX']),
  s(['LCS', a, b, 'IDX', 'WITHMATCHLEN']),
  s(['LCS', a, b, 'IDX', 'MINMATCHLEN', '4', 'WITHMATCHLEN']),
  s(['LCS', a, b, 'IDX', 'MINMATCHLEN', '-3']),
  s(['LCS', a, b, 'IDX', 'LEN']),
  s(['LCS', a, b, 'LEN', 'IDX']),
  s(['LCS', a, b, 'MINMATCHLEN']),
  s(['LCS', a, b, 'MINMATCHLEN', 'x']),
  s(['LCS', a, b, 'FOO']),
  s(['LCS', a, b, 'WITHMATCHLEN']),
  s(['LCS', a, 'missing']),
  s(['LCS', 'missing', b, 'IDX']),
  s(['LCS', a, a, 'IDX', 'WITHMATCHLEN']),
  s(['SET', a, 'aaaabbbbccccddddxaaaa']),
  s(['SET', b, 'xaaaaddddccccbbbbaaaa']),
  s(['LCS', a, b]),
  s(['LCS', a, b, 'IDX', 'WITHMATCHLEN']),
  s(['LCS', a, b, 'IDX', 'MINMATCHLEN', '3']),
  s(['LPUSH', 'l', 'x']),
  s(['LCS', a, 'l']),
  s(['LCS', 'l', 'missing', 'FOO']),
  s(['LCS', a]),
];

group('LCS with both keys on one shard', lcsSteps('{t}a', '{t}b'));
group('LCS with keys on two shards', lcsSteps(K0, K1));

diff.run();

// ---------------------------------------------------------------------------------------------
// Cluster mode: multi-key bitmap commands refuse keys of different slots, as Redis Cluster does.

const cluster = suite('bitmap commands in a one-node cluster');
const timed = timedOn(cluster, 90_000);

timed('CROSSSLOT for BITOP and LCS; one slot works', async () => {
  await compareInOneNodeClusters('bitmap-cluster', SHARDS, [
    ['SET', 'a', 'foo'],
    ['SET', 'b', 'bar'],
    ['BITOP', 'AND', 'd', 'a', 'b'],
    ['BITOP', 'NOT', 'a', 'b'],
    ['LCS', 'a', 'b'],
    ['SET', '{t}a', 'foobar'],
    ['SET', '{t}b', 'fobaz'],
    ['BITOP', 'XOR', '{t}d', '{t}a', '{t}b'],
    ['GET', '{t}d'],
    ['LCS', '{t}a', '{t}b', 'IDX'],
    ['SETBIT', 'x', '5', '1'],
    ['BITFIELD', 'x', 'GET', 'u8', '0'],
  ]);
});

cluster.run();

// ---------------------------------------------------------------------------------------------
// Keyspace events: the same events, in the same order, as redis-server's.

const events = suite('bitmap keyspace events');
const timedEv = timedOn(events, TEST_TIMEOUT_MS);
events.before(pair.start);
events.after(pair.stop);

async function eventsOf(port: number, cmds: string[][]): Promise<string[]> {
  const c = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0 });
  const sub = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0 });
  await c.connect();
  await sub.connect();
  const seen: string[] = [];
  try {
    await c.flushall();
    await c.config('SET', 'notify-keyspace-events', 'KEAn');
    sub.on('pmessage', (_p: string, ch: string, msg: string) => {
      if (ch.startsWith('__keyevent')) seen.push(`${ch.slice(ch.indexOf(':') + 1)} ${msg}`);
    });
    await sub.psubscribe('__keyevent@0__:*');
    for (const cmd of cmds) await c.call(cmd[0]!, ...cmd.slice(1)).catch(() => null);
    await c.set('end-marker', '1');
    await waitFor('the end marker event', () => seen.includes('set end-marker'), 10_000);
    return seen;
  } finally {
    await c.config('SET', 'notify-keyspace-events', '').catch(() => null);
    c.disconnect();
    sub.disconnect();
  }
}

timedEv('setbit, bitfield, bitop events as redis-server', async () => {
  const cmds = [
    ['SETBIT', K0, '3', '1'],
    ['SETBIT', K0, '3', '1'],
    ['SETBIT', K0, '3', '0'],
    ['SETBIT', K0, '30', '0'],
    ['BITFIELD', K1, 'GET', 'u8', '0'],
    ['BITFIELD', K1, 'SET', 'u8', '0', '1'],
    ['BITFIELD', K1, 'OVERFLOW', 'FAIL', 'INCRBY', 'u2', '0', '9'],
    ['BITOP', 'OR', K2, K0, K1],
    ['BITOP', 'OR', K2, 'none1', 'none2'],
    ['BITOP', 'AND', 'dest', K0],
    ['LCS', K0, K1],
  ];
  const [r, t] = [await eventsOf(pair.redis.port, cmds), await eventsOf(pair.tessera.port, cmds)];
  assert.equal(t, r);
});

events.run();

// ---------------------------------------------------------------------------------------------
// Durability and the other command paths: bits written in place survive a restart from the
// append-only log (SIGKILL, so nothing but the log is left), and transactions and scripts run
// the same commands.

const durable = suite('bitmap commands: log replay, MULTI and scripts');
const timedDur = timedOn(durable, 90_000);

timedDur('SETBIT, BITFIELD and a cross-shard BITOP survive a kill and restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bitmap-aof-'));
  const args = ['--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always'];
  let srv = await startTessera({ shards: SHARDS, args });
  try {
    const c = new Redis({ port: srv.port, maxRetriesPerRequest: 0 });
    await c.setbit(K0, 5, 1);
    await c.setbit(K0, 77, 1);
    await c.call('BITFIELD', K1, 'SET', 'i16', '#3', '-1234', 'INCRBY', 'u4', '2', '9');
    await c.call('BITOP', 'XOR', K2, K0, K1);
    const before = await Promise.all([K0, K1, K2].map((k) => c.getBuffer(k)));
    assert.ok(before.every((b) => b !== null && b.length > 0), 'all three keys written');
    c.disconnect();
    srv.proc.kill('SIGKILL');
    await srv.exited;
    srv = await startTesseraAt(srv.port, { shards: SHARDS, args });
    const d = new Redis({ port: srv.port, maxRetriesPerRequest: 0 });
    const after = await Promise.all([K0, K1, K2].map((k) => d.getBuffer(k)));
    d.disconnect();
    assert.equal(after.map((b) => b?.toString('hex')), before.map((b) => b?.toString('hex')));
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

durable.before(pair.start);
durable.after(pair.stop);

timedDur('MULTI/EXEC and EVAL as redis-server', async () => {
  await runSteps(pair, [
    s('MULTI'),
    s('SETBIT {t}a 9 1'),
    s('BITFIELD {t}a INCRBY u8 0 7'),
    s('BITOP NOT {t}b {t}a'),
    s('LCS {t}a {t}b LEN'),
    s('BITCOUNT {t}b'),
    s('EXEC'),
    s(['EVAL', "redis.call('SETBIT', KEYS[1], 20, 1); return {redis.call('BITPOS', KEYS[1], 1), redis.call('BITFIELD_RO', KEYS[1], 'GET', 'u16', 8)}", '1', '{t}c']),
  ]);
});

durable.run();
