// MEMORY STATS's figures from Tessera's own: the shards' arenas (one per shard and database) and
// the main thread's buffers, mapped onto Redis 7.0's fields (docs/observability-memory.md says
// which figure feeds which field). Pure: it computes, the family file gathers, keeps the peak
// and replies.

import type { AllocatorFigures } from '../keyspace/keyspace.js';

/** One arena's figures (a shard's database), as `__memstats` reports them: the keyspace's
 * allocator figures (keyspace.ts says what each is) with where they come from. */
export interface ArenaFigures extends AllocatorFigures {
  shard: number;
  db: number;
  keys: number;
  expires: number;
}

/** What the main thread holds outside the arenas. */
export interface MainFigures {
  /** Process resident set (all threads). */
  rss: number;
  /** Bytes of the replication stream kept for partial resyncs (repl_backlog_histlen). */
  backlogBytes: number;
  /** Output and query buffers of replica links and of the other clients. */
  replicaBuffers: number;
  clientBuffers: number;
  replicas: number;
  clients: number;
  /** Append-only log bytes written by shards and not yet on disk. */
  aofPending: number;
  evalBytes: number;
  functionBytes: number;
  cachedScripts: number;
  cluster: boolean;
  /** Fixed bytes of an arena: its header (a database's index is counted in its db.N). */
  arenaHeaderBytes: number;
  /** Bytes of each entry's header (Redis's robj analogue). */
  entryHeaderBytes: number;
  /** The highest total.allocated seen before (see memory-family.ts). */
  peakBytes: number;
}

export interface DbOverhead {
  db: number;
  main: number;
  expires: number;
  slotToKeys: number;
}

/** Redis 7.0's MEMORY STATS fields, in its order (db.N entries sit after functions.caches). */
export interface MemoryReport {
  peakAllocated: number;
  totalAllocated: number;
  startupAllocated: number;
  replicationBacklog: number;
  clientsSlaves: number;
  clientsNormal: number;
  clusterLinks: number;
  aofBuffer: number;
  luaCaches: number;
  functionsCaches: number;
  dbs: DbOverhead[];
  overheadTotal: number;
  keysCount: number;
  bytesPerKey: number;
  datasetBytes: number;
  datasetPercentage: number;
  peakPercentage: number;
  allocatorAllocated: number;
  allocatorActive: number;
  allocatorResident: number;
  allocatorFragRatio: number;
  allocatorFragBytes: number;
  allocatorRssRatio: number;
  allocatorRssBytes: number;
  rssOverheadRatio: number;
  rssOverheadBytes: number;
  fragmentation: number;
  fragmentationBytes: number;
  /** Not a Redis field: bytes of values still being freed lazily (MEMORY DOCTOR reads it). */
  lazyFreeBytes: number;
}

/** Bytes of the two per-slot list links in an entry header (cluster mode's slot-to-keys). */
const SLOT_LINK_BYTES = 8;

function ratio(a: number, b: number): number {
  return b > 0 ? a / b : 0;
}

/** The report for arenas (at least one per shard: database 0) and the main thread's figures. */
export function memoryReport(arenas: readonly ArenaFigures[], main: MainFigures): MemoryReport {
  let used = 0;
  let top = 0;
  let committed = 0;
  let lazy = 0;
  const byDb = new Map<number, DbOverhead>();
  let keys = 0;
  let startup = 0;
  for (const a of arenas) {
    used += a.used;
    top += a.top;
    committed += a.committed;
    lazy += a.lazyFreeBytes;
    keys += a.keys;
    if (a.keys === 0) {
      // Redis lists only databases holding keys; an empty arena is overhead, all of it.
      startup += a.used;
      continue;
    }
    startup += main.arenaHeaderBytes;
    let d = byDb.get(a.db);
    if (d === undefined) byDb.set(a.db, (d = { db: a.db, main: 0, expires: 0, slotToKeys: 0 }));
    const headerBytes = main.cluster ? main.entryHeaderBytes - SLOT_LINK_BYTES : main.entryHeaderBytes;
    d.main += a.indexBytes + a.keys * headerBytes;
    d.expires += a.volatileBytes;
    if (main.cluster) d.slotToKeys += a.keys * SLOT_LINK_BYTES;
  }
  const dbs = [...byDb.values()].sort((x, y) => x.db - y.db);
  const outside = main.backlogBytes + main.replicaBuffers + main.clientBuffers + main.aofPending + main.evalBytes + main.functionBytes;
  const total = used + outside;
  const peak = Math.max(main.peakBytes, total);
  let overhead = startup + outside;
  for (const d of dbs) overhead += d.main + d.expires + d.slotToKeys;
  const dataset = Math.max(0, total - overhead);
  const netUsage = total > startup ? total - startup : 1;
  return {
    peakAllocated: peak,
    totalAllocated: total,
    startupAllocated: startup,
    replicationBacklog: main.backlogBytes,
    clientsSlaves: main.replicaBuffers,
    clientsNormal: main.clientBuffers,
    clusterLinks: 0,
    aofBuffer: main.aofPending,
    luaCaches: main.evalBytes,
    functionsCaches: main.functionBytes,
    dbs,
    overheadTotal: overhead,
    keysCount: keys,
    bytesPerKey: keys > 0 ? Math.floor(netUsage / keys) : 0,
    datasetBytes: dataset,
    datasetPercentage: (dataset * 100) / netUsage,
    peakPercentage: ratio(total * 100, peak),
    allocatorAllocated: used,
    allocatorActive: top,
    allocatorResident: committed,
    allocatorFragRatio: ratio(top, used),
    allocatorFragBytes: top - used,
    allocatorRssRatio: ratio(committed, top),
    allocatorRssBytes: committed - top,
    rssOverheadRatio: ratio(main.rss, committed),
    rssOverheadBytes: main.rss - committed,
    fragmentation: ratio(main.rss, total),
    fragmentationBytes: main.rss - total,
    lazyFreeBytes: lazy,
  };
}

/** One MEMORY STATS field: an integer, a double, or db.N's nested map. */
export type StatsField = [string, { int: number } | { double: number } | { db: DbOverhead }];

/** The fields of MEMORY STATS in Redis 7.0.15's order. */
export function statsFields(r: MemoryReport): StatsField[] {
  const i = (n: number): { int: number } => ({ int: Math.round(n) });
  const d = (n: number): { double: number } => ({ double: n });
  return [
    ['peak.allocated', i(r.peakAllocated)],
    ['total.allocated', i(r.totalAllocated)],
    ['startup.allocated', i(r.startupAllocated)],
    ['replication.backlog', i(r.replicationBacklog)],
    ['clients.slaves', i(r.clientsSlaves)],
    ['clients.normal', i(r.clientsNormal)],
    ['cluster.links', i(r.clusterLinks)],
    ['aof.buffer', i(r.aofBuffer)],
    ['lua.caches', i(r.luaCaches)],
    ['functions.caches', i(r.functionsCaches)],
    ...r.dbs.map((db): StatsField => [`db.${db.db}`, { db }]),
    ['overhead.total', i(r.overheadTotal)],
    ['keys.count', i(r.keysCount)],
    ['keys.bytes-per-key', i(r.bytesPerKey)],
    ['dataset.bytes', i(r.datasetBytes)],
    ['dataset.percentage', d(r.datasetPercentage)],
    ['peak.percentage', d(r.peakPercentage)],
    ['allocator.allocated', i(r.allocatorAllocated)],
    ['allocator.active', i(r.allocatorActive)],
    ['allocator.resident', i(r.allocatorResident)],
    ['allocator-fragmentation.ratio', d(r.allocatorFragRatio)],
    ['allocator-fragmentation.bytes', i(r.allocatorFragBytes)],
    ['allocator-rss.ratio', d(r.allocatorRssRatio)],
    ['allocator-rss.bytes', i(r.allocatorRssBytes)],
    ['rss-overhead.ratio', d(r.rssOverheadRatio)],
    ['rss-overhead.bytes', i(r.rssOverheadBytes)],
    ['fragmentation', d(r.fragmentation)],
    ['fragmentation.bytes', i(r.fragmentationBytes)],
  ];
}
