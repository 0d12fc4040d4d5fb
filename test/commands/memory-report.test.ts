// MEMORY STATS's mapping (memory-report.ts) and MEMORY DOCTOR's checks (memory-doctor.ts), on
// figures made up for each case: field order as Redis 7.0.15, sums that hold, the doctor's texts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { memoryReport, statsFields, type ArenaFigures, type MainFigures } from '../../src/commands/memory-report.js';
import { DOCTOR_EMPTY, DOCTOR_FINE, doctorReport } from '../../src/commands/memory-doctor.js';

const MB = 1024 * 1024;

function arena(o: Partial<ArenaFigures>): ArenaFigures {
  return { shard: 0, db: 0, keys: 0, expires: 0, used: 1000, top: 1000, committed: 65536, carveLeft: 0, indexBytes: 64, volatileBytes: 0, lazyFreeBytes: 0, ...o };
}

function main(o: Partial<MainFigures> = {}): MainFigures {
  return {
    rss: 80 * MB, backlogBytes: 0, replicaBuffers: 0, clientBuffers: 0, replicas: 0, clients: 1, aofPending: 0,
    evalBytes: 0, functionBytes: 0, cachedScripts: 0, cluster: false, arenaHeaderBytes: 900, entryHeaderBytes: 24, peakBytes: 0, ...o,
  };
}

// Redis 7.0.15's MEMORY STATS, from a server holding keys in db 0 and db 3.
const REDIS_FIELDS = [
  'peak.allocated', 'total.allocated', 'startup.allocated', 'replication.backlog', 'clients.slaves', 'clients.normal',
  'cluster.links', 'aof.buffer', 'lua.caches', 'functions.caches', 'db.0', 'db.3', 'overhead.total', 'keys.count',
  'keys.bytes-per-key', 'dataset.bytes', 'dataset.percentage', 'peak.percentage', 'allocator.allocated',
  'allocator.active', 'allocator.resident', 'allocator-fragmentation.ratio', 'allocator-fragmentation.bytes',
  'allocator-rss.ratio', 'allocator-rss.bytes', 'rss-overhead.ratio', 'rss-overhead.bytes', 'fragmentation',
  'fragmentation.bytes',
];

test('fields in Redis 7.0.15 order, one db.N per database holding keys, across shards', () => {
  const r = memoryReport(
    [
      arena({ shard: 0, db: 0, keys: 2, used: 2000 }),
      arena({ shard: 1, db: 0, keys: 1, used: 1500 }),
      arena({ shard: 1, db: 3, keys: 4, used: 3000 }),
      arena({ shard: 0, db: 5, keys: 0 }), // empty: no db.5
    ],
    main(),
  );
  assert.equal(statsFields(r).map(([k]) => k), REDIS_FIELDS);
  assert.is(r.keysCount, 7);
  assert.equal(r.dbs.map((d) => d.db), [0, 3]);
});

test('the sums hold: overhead + dataset = total, allocator figures are the arenas\'', () => {
  const arenas = [arena({ keys: 10, used: 50_000, top: 60_000, committed: 131_072, indexBytes: 256, volatileBytes: 96, expires: 2 })];
  const r = memoryReport(arenas, main({ backlogBytes: 1000, clientBuffers: 500, evalBytes: 40 }));
  assert.is(r.totalAllocated, 50_000 + 1000 + 500 + 40);
  assert.is(r.startupAllocated, 900);
  const withEmpty = memoryReport([...arenas, arena({ db: 2, keys: 0, used: 1234 })], main());
  assert.is(withEmpty.startupAllocated, 900 + 1234, 'a keyless arena is overhead, all of it');
  assert.is(withEmpty.dbs.length, 1);
  assert.is(r.dbs[0]!.main, 256 + 10 * 24);
  assert.is(r.dbs[0]!.expires, 96);
  assert.is(r.dbs[0]!.slotToKeys, 0);
  assert.is(r.overheadTotal + r.datasetBytes, r.totalAllocated);
  assert.is(r.allocatorAllocated, 50_000);
  assert.is(r.allocatorActive, 60_000);
  assert.is(r.allocatorResident, 131_072);
  assert.is(r.allocatorFragBytes, 10_000);
  assert.ok(Math.abs(r.allocatorFragRatio - 1.2) < 1e-9);
  assert.is(r.keysCount, 10);
});

test('cluster mode: the per-slot list links are slot-to-keys', () => {
  const r = memoryReport([arena({ keys: 10, used: 10_000, indexBytes: 128 })], main({ cluster: true }));
  assert.is(r.dbs[0]!.slotToKeys, 80);
  assert.is(r.dbs[0]!.main, 128 + 10 * 16);
});

test('MEMORY DOCTOR: empty under 5 MB, fine when nothing stands out', () => {
  const small = memoryReport([arena({ used: 1 * MB, top: 1 * MB, committed: 2 * MB })], main());
  assert.is(doctorReport(small, main()), DOCTOR_EMPTY);
  const m = main({ rss: 200 * MB });
  const fine = memoryReport([arena({ keys: 1000, used: 100 * MB, top: 101 * MB, committed: 128 * MB })], m);
  assert.is(doctorReport(fine, m), DOCTOR_FINE);
});

test('MEMORY DOCTOR: arena fragmentation and lazy-free backlog are reported in Redis\'s format', () => {
  const m = main({ rss: 300 * MB });
  const r = memoryReport([arena({ keys: 1000, used: 60 * MB, top: 100 * MB, committed: 128 * MB, lazyFreeBytes: 70 * MB })], m);
  const text = doctorReport(r, m);
  assert.ok(text.startsWith('Sam, I detected a few issues in this Redis instance memory implants:\n\n'), text);
  assert.ok(text.includes(' * High arena fragmentation:'), text);
  assert.ok(text.includes(' * Lazy free backlog:'), text);
  assert.not.ok(text.includes(' * High arena RSS overhead:'), text);
  assert.ok(text.endsWith("I'm here to keep you safe, Sam. I want to help you.\n"), text);
});

test('MEMORY DOCTOR: a peak over 150% of the current total', () => {
  const m = main({ peakBytes: 90 * MB });
  const r = memoryReport([arena({ keys: 10, used: 50 * MB, top: 50 * MB, committed: 64 * MB })], m);
  assert.is(r.peakAllocated, 90 * MB);
  assert.ok(r.peakPercentage < 60 && r.peakPercentage > 50);
  const text = doctorReport(r, m);
  assert.ok(text.includes(' * Peak memory: In the past this instance used more than 150% the memory that is currently using.'), text);
  assert.is(doctorReport(memoryReport([arena({ keys: 10, used: 70 * MB, top: 70 * MB, committed: 128 * MB })], m), m), DOCTOR_FINE);
});

test('MEMORY DOCTOR: client buffers over 200K per client, many scripts', () => {
  const m = main({ clients: 2, clientBuffers: 1 * MB, cachedScripts: 1001 });
  const r = memoryReport([arena({ keys: 10, used: 20 * MB, top: 20 * MB, committed: 32 * MB })], m);
  const text = doctorReport(r, m);
  assert.ok(text.includes(' * Big client buffers:'), text);
  assert.ok(text.includes(' * Many scripts:'), text);
});

test.run();
