// MEMORY: USAGE runs on the key's shard (its entry block, collection blocks and index bucket);
// STATS, DOCTOR and MALLOC-STATS gather every shard's arena figures with `__memstats` (one call per
// shard and database holding keys) and shape them as Redis 7.0 does; PURGE and HELP answer here.

import type { CommandSpec, MainCall, ServerApi, ShardContext } from './types.js';
import { argInt, argIs, argCopy } from './args.js';
import { ERR, shardOk } from '../core/errors.js';
import { Keyspace, ENTRY_OVERHEAD_BYTES } from '../keyspace/keyspace.js';
import { CLASS_SIZE } from '../keyspace/layout.js';
import { movedElsewhere } from './keyspace-family.js';
import { memoryReport, statsFields, type ArenaFigures, type MainFigures, type MemoryReport } from './memory-report.js';
import { doctorReport } from './memory-doctor.js';

/** Free-list links one MALLOC-STATS follows per arena: a bounded pause for the shard. */
const MAX_FREE_LINKS = 1_000_000;
/** Scratch of the free-list walk (one shard thread runs one command at a time). */
const freeCounts = new Float64Array(CLASS_SIZE.length);

// --- in the shard ----------------------------------------------------------------------------

/** __memusage key: bytes of the key's entry block, its collection blocks and its index bucket.
 * Exact (sizes are kept per structure), so MEMORY USAGE's SAMPLES changes nothing. */
function shardMemoryUsage(c: ShardContext): void {
  const e = c.ks.find(c.args.buf, c.args.off[1]!, c.args.len[1]!);
  if (e === 0) c.out.nil();
  else c.out.integer(c.ks.entryBytes(e) + c.ks.childBytes(e) + 4);
}

/** __memstats [FREE]: the figures of the arena of the client's database, as a bulk string
 * "keys expires used top committed carve index volatile lazy", then with FREE "|" and the free
 * blocks as "size:count" pairs, and "|partial" when the walk stopped at its bound. */
function shardMemStats(c: ShardContext): void {
  const ks = c.ks;
  const f = ks.allocatorFigures();
  let s = `${ks.size()} ${ks.expiresCount()} ${f.used} ${f.top} ${f.committed} ${f.carveLeft} ${f.indexBytes} ${f.volatileBytes} ${f.lazyFreeBytes}`;
  if (c.args.argc > 1) {
    freeCounts.fill(0);
    const whole = ks.countFreeBlocks(freeCounts, MAX_FREE_LINKS);
    const pairs: string[] = [];
    freeCounts.forEach((n, cls) => {
      if (n > 0) pairs.push(`${CLASS_SIZE[cls]!}:${n}`);
    });
    s += `|${pairs.join(' ')}${whole ? '' : '|partial'}`;
  }
  c.out.bulkString(s);
}

// --- on the main thread ----------------------------------------------------------------------

/** The text of a bulk-string reply. */
function bulkText(r: Buffer): string {
  const nl = r.indexOf(10);
  return r.toString('latin1', nl + 1, r.length - 2);
}

interface Gathered {
  arenas: ArenaFigures[];
  /** MALLOC-STATS only: each arena's free blocks ("size:count ...") and whether the walk ended. */
  free: Array<{ pairs: string; partial: boolean }>;
}

/** Every shard's database 0 and its other databases holding keys. */
async function gatherArenas(server: ServerApi, withFree: boolean): Promise<Gathered> {
  const stats = await server.shardStats();
  const calls: Array<Promise<{ shard: number; db: number; text: string }>> = [];
  for (const st of stats) {
    const dbs = [0, ...(st.dbs ?? []).map((d) => d[0]).filter((db) => db !== 0)];
    for (const db of dbs) {
      const args = withFree ? ['__memstats', 'FREE'] : ['__memstats'];
      calls.push(server.callShard(st.shardId, args, 2, db).then((r) => ({ shard: st.shardId, db, text: bulkText(shardOk(r)) })));
    }
  }
  const out: Gathered = { arenas: [], free: [] };
  const queried = new Map<number, { used: number; committed: number }>();
  for (const { shard, db, text } of await Promise.all(calls)) {
    const [nums = '', pairs = '', partial] = text.split('|');
    const n = nums.split(' ').map(Number);
    out.arenas.push({
      shard, db, keys: n[0]!, expires: n[1]!, used: n[2]!, top: n[3]!, committed: n[4]!,
      carveLeft: n[5]!, indexBytes: n[6]!, volatileBytes: n[7]!, lazyFreeBytes: n[8]!,
    });
    out.free.push({ pairs, partial: partial !== undefined });
    const q = queried.get(shard) ?? { used: 0, committed: 0 };
    queried.set(shard, { used: q.used + n[2]!, committed: q.committed + n[4]! });
  }
  // Databases emptied since they were used keep their arena (not queried: no keys, and asking a
  // shard for a database creates it). The shard's totals cover them: their bytes are one
  // keyless arena per shard, its used bytes all active (an emptied arena is reset by FLUSHDB).
  for (const st of stats) {
    const q = queried.get(st.shardId) ?? { used: 0, committed: 0 };
    const used = st.usedMemory - q.used;
    if (used <= 0) continue;
    out.arenas.push({
      shard: st.shardId, db: -1, keys: 0, expires: 0, used, top: used, committed: Math.max(0, st.arenaBytes - q.committed),
      carveLeft: 0, indexBytes: 0, volatileBytes: 0, lazyFreeBytes: 0,
    });
    out.free.push({ pairs: '', partial: false });
  }
  return out;
}

/** The highest total.allocated seen: sampled whenever MEMORY STATS or DOCTOR runs (Tessera keeps
 * no allocation hook to see every peak, as INFO's used_memory_peak is sampled when INFO runs). */
let peakBytes = 0;

/** The report, noting its total as the peak when it is one. */
function reportOf(arenas: readonly ArenaFigures[], main: MainFigures): MemoryReport {
  const r = memoryReport(arenas, main);
  peakBytes = r.peakAllocated;
  return r;
}

let headerBytes = -1;

/** Fixed bytes of an arena: an empty keyspace's usedMemory less its index (measured once). */
function arenaHeaderBytes(): number {
  if (headerBytes < 0) {
    const f = new Keyspace(Keyspace.createMemory({ initialBytes: 0 })).allocatorFigures();
    headerBytes = f.used - f.indexBytes;
  }
  return headerBytes;
}

async function mainFigures(server: ServerApi): Promise<MainFigures> {
  let replicaBuffers = 0;
  let clientBuffers = 0;
  let replicas = 0;
  let clients = 0;
  for (const c of server.clients()) {
    const bytes = c.outputBufferBytes() + c.queryBufferBytes();
    if (c.replCapa.length > 0) {
      replicas++;
      replicaBuffers += bytes;
    } else {
      clients++;
      clientBuffers += bytes;
    }
  }
  const backlog = server.replication.info().find(([k]) => k === 'repl_backlog_histlen')?.[1];
  const scripts = new Map(server.scripting.memoryInfo());
  const shards = await server.shardStats();
  return {
    rss: process.memoryUsage.rss(),
    backlogBytes: typeof backlog === 'number' ? backlog : 0,
    replicaBuffers,
    clientBuffers,
    replicas,
    clients,
    aofPending: shards.reduce((n, s) => n + s.persistence.aofPending, 0),
    evalBytes: Number(scripts.get('used_memory_scripts_eval') ?? 0),
    functionBytes: Number(scripts.get('used_memory_functions') ?? 0),
    cachedScripts: Number(scripts.get('number_of_cached_scripts') ?? 0),
    cluster: server.cluster !== null,
    arenaHeaderBytes: arenaHeaderBytes(),
    entryHeaderBytes: ENTRY_OVERHEAD_BYTES,
    peakBytes,
  };
}

async function memoryStats(m: MainCall): Promise<void> {
  const [g, main] = await Promise.all([gatherArenas(m.server, false), mainFigures(m.server)]);
  const fields = statsFields(reportOf(g.arenas, main));
  const out = m.out;
  out.map(fields.length);
  for (const [name, v] of fields) {
    out.bulkString(name);
    if ('int' in v) out.integer(v.int);
    else if ('double' in v) out.double(v.double);
    else {
      out.map(3);
      out.bulkString('overhead.hashtable.main');
      out.integer(v.db.main);
      out.bulkString('overhead.hashtable.expires');
      out.integer(v.db.expires);
      out.bulkString('overhead.hashtable.slot-to-keys');
      out.integer(v.db.slotToKeys);
    }
  }
}

async function memoryDoctor(m: MainCall): Promise<void> {
  const [g, main] = await Promise.all([gatherArenas(m.server, false), mainFigures(m.server)]);
  m.out.verbatim(doctorReport(reportOf(g.arenas, main), main));
}

/** MALLOC-STATS: Redis prints jemalloc's report; Tessera has no malloc on the data path, so it
 * prints its arenas' (one per shard and database holding keys). */
async function mallocStats(m: MainCall): Promise<void> {
  const g = await gatherArenas(m.server, true);
  const lines = ['___ Begin Tessera arena statistics ___', 'Allocator: size-class free lists over one growable SharedArrayBuffer per shard and database (bytes)'];
  g.arenas.forEach((a, i) => {
    const free = g.free[i]!;
    if (a.db < 0) {
      lines.push(`shard ${a.shard} emptied databases: allocated=${a.used} resident=${a.committed}`);
      return;
    }
    lines.push(
      `shard ${a.shard} db ${a.db}: keys=${a.keys} expires=${a.expires} allocated=${a.used} active=${a.top} resident=${a.committed}` +
        ` free-listed=${a.top - a.used - a.carveLeft} carve=${a.carveLeft} index=${a.indexBytes} volatile=${a.volatileBytes} lazy-free=${a.lazyFreeBytes}`,
      `  free blocks (size:count)${free.partial ? ` (first ${MAX_FREE_LINKS} only)` : ''}: ${free.pairs === '' ? 'none' : free.pairs}`,
    );
  });
  lines.push('___ End Tessera arena statistics ___', '');
  m.out.verbatim(lines.join('\n'));
}

const MEMORY_HELP = [
  'MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'DOCTOR',
  '    Return memory problems reports.',
  'MALLOC-STATS',
  '    Return internal statistics report from the memory allocator.',
  'PURGE',
  '    Attempt to purge dirty pages for reclamation by the allocator.',
  'STATS',
  '    Return information about the memory usage of the server.',
  'USAGE <key> [SAMPLES <count>]',
  '    Return memory in bytes used by <key> and its value. Nested values are',
  '    sampled up to <count> times (default: 5, 0 means sample all).',
  'HELP',
  '    Prints this help.',
];

async function memoryUsage(m: MainCall): Promise<void> {
  const a = m.args;
  for (let i = 3; i < a.argc; i++) {
    if (argIs(a, i, 'SAMPLES') && i + 1 < a.argc) {
      const n = argInt(a, ++i);
      if (Number.isNaN(n)) return m.out.error(ERR.notInteger);
      if (n < 0) return m.out.error(ERR.syntax);
    } else return m.out.error(ERR.syntax);
  }
  const key = argCopy(a, 2);
  if (movedElsewhere(m, key)) return;
  const r = shardOk(await m.server.callShard(m.server.shardOfKey(key, 0, key.length), ['__memusage', key], m.conn.proto, m.conn.db));
  m.out.raw(r, 0, r.length);
}

/** The dispatcher has checked the subcommand and its arity against the spec below. */
function memoryCommand(m: MainCall): void | Promise<void> {
  const a = m.args;
  if (argIs(a, 1, 'USAGE')) return memoryUsage(m);
  if (argIs(a, 1, 'STATS')) return memoryStats(m);
  if (argIs(a, 1, 'DOCTOR')) return memoryDoctor(m);
  if (argIs(a, 1, 'MALLOC-STATS')) return mallocStats(m);
  if (argIs(a, 1, 'PURGE')) {
    // Arenas cannot give pages back (a SharedArrayBuffer never shrinks): nothing to purge.
    m.out.ok();
    return;
  }
  m.out.array(MEMORY_HELP.length);
  for (const line of MEMORY_HELP) m.out.simple(line);
}

const I = 'internal' as const;

export const MEMORY_COMMANDS = [
  {
    name: 'memory', arity: -2, flags: [], keys: null, group: 'server', since: '4.0.0', summary: 'A container for memory diagnostics commands.', main: memoryCommand,
    subcommands: [
      { name: 'doctor', arity: 2, flags: [], keys: null, summary: 'Outputs memory problems report.' },
      { name: 'help', arity: 2, flags: ['loading', 'stale'], keys: null, summary: 'Returns helpful text about the different subcommands.' },
      { name: 'malloc-stats', arity: 2, flags: [], keys: null, summary: 'Returns the allocator statistics.' },
      { name: 'purge', arity: 2, flags: [], keys: null, summary: 'Asks the allocator to release memory.' },
      { name: 'stats', arity: 2, flags: [], keys: null, summary: 'Returns details about memory usage.' },
      { name: 'usage', arity: -3, flags: ['readonly'], keys: { first: 2, last: 2, step: 1 }, summary: 'Estimates the memory usage of a key.' },
    ],
  },
  { name: '__memusage', arity: 2, flags: ['readonly'], keys: { first: 1, last: 1, step: 1 }, group: I, since: '0', summary: 'internal', shard: shardMemoryUsage, hidden: true },
  { name: '__memstats', arity: -1, flags: ['readonly'], keys: null, group: I, since: '0', summary: 'internal', shard: shardMemStats, hidden: true },
] as const satisfies readonly CommandSpec[];
