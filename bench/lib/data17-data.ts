// What bench/data17.ts sends (issue 17), as pure data: the tests, the command each sends, which load
// generator sends it, the key spaces, the preloaded streams, and one probe per test whose exact
// reply both servers must give before anything is measured (an error reply would count as a fast
// request). Every key a test writes lives in a bounded key space, so memory stays bounded too.

import { encodeCommand } from './resp-client.js';

export const DATA17_TESTS = ['pfadd', 'setbit', 'geoadd', 'xadd', 'xread', 'xreadgroup'] as const;
export type Data17Test = (typeof DATA17_TESTS)[number];

/** redis-benchmark: the custom command with __rand_int__; unit: bench/lib/unit-load.ts with a pool of
 * commands built here; group: bench/lib/group-load.ts (XREADGROUP then XACK of what it got). */
export type Driver = 'benchmark' | 'unit' | 'group';
export const DRIVERS: Record<Data17Test, Driver> = {
  pfadd: 'benchmark', setbit: 'unit', geoadd: 'benchmark', xadd: 'benchmark', xread: 'benchmark', xreadgroup: 'group',
};

/** Entries of the stream XREAD reads: ids 1-0 .. XREAD_ENTRIES-0, fields a 1 b 2 c 3. */
export const XREAD_ENTRIES = 100_000;
export const XREAD_KEY = 'xread:stream';
/** The 3 small fields of every entry written (also the memory case's). */
export const ENTRY_FIELDS: readonly string[] = ['a', '1', 'b', '2', 'c', '3'];

/**
 * redis-benchmark's -r per test: it bounds the keys (and the random numbers) of the test.
 * PFADD: 10,000 HyperLogLogs (sparse ones, growing); GEOADD: 10,000 geo sets, coordinates
 * 13.<12 digits>, 52.<12 digits> (a valid float with a random fraction); XADD: 100 streams;
 * XREAD: a start id below XREAD_ENTRIES - 10, so that every XREAD returns 10 entries.
 */
export const KEYSPACES: Record<'pfadd' | 'geoadd' | 'xadd' | 'xread', number> = {
  pfadd: 10_000, geoadd: 10_000, xadd: 100, xread: XREAD_ENTRIES - 10,
};

/** The custom commands redis-benchmark sends (bench/lib/redis-benchmark.ts runs them by test name). */
export const PFADD_COMMAND: readonly string[] = ['pfadd', 'hll:__rand_int__', 'e:__rand_int__'];
export const GEOADD_COMMAND: readonly string[] = ['geoadd', 'geo:__rand_int__', '13.__rand_int__', '52.__rand_int__', 'm:__rand_int__'];
export const XADD_COMMAND: readonly string[] = ['xadd', 'xadd:__rand_int__', '*', ...ENTRY_FIELDS];
/** Redis parses the 12-digit zero-padded start as the id <n>-0 (string2ull falls back to strtoull). */
export const XREAD_COMMAND: readonly string[] = ['xread', 'count', '10', 'streams', XREAD_KEY, '__rand_int__'];

/**
 * SETBIT: redis-benchmark cannot send it with a random offset (Redis rejects a zero-padded offset:
 * "ERR bit offset is not an integer or out of range"), so it runs through unit-load with a pool of
 * SETBIT_POOL commands on SETBIT_KEYS keys at offsets below SETBIT_OFFSETS (8 KiB per key at most).
 */
export const SETBIT_KEYS = 1000;
export const SETBIT_OFFSETS = 65_536;
export const SETBIT_POOL = 16_384;
export const setbitKey = (k: number): string => `bits:${String(k).padStart(6, '0')}`;
/** Pool command i: a fixed pseudo-random key and offset, the same on both servers. */
export function setbitUnit(i: number): Buffer {
  const r = mix(i);
  return encodeCommand(['SETBIT', setbitKey(r % SETBIT_KEYS), String(Math.floor(r / SETBIT_KEYS) % SETBIT_OFFSETS), '1']);
}

/** A 32-bit integer hash of i (murmur3's finalizer). */
export function mix(i: number): number {
  let h = (i + 1) * 0x9e3779b1;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** XADD of entry i (id i+1-0) of the XREAD stream. */
export const xreadLoadUnit = (i: number): Buffer => encodeCommand(['XADD', XREAD_KEY, `${i + 1}-0`, ...ENTRY_FIELDS]);
/** XADD with an automatic id to `key` (the XREADGROUP streams; the memory case's command). */
export const xaddAutoUnit = (key: string): Buffer => encodeCommand(['XADD', key, '*', ...ENTRY_FIELDS]);

/** The group every XREADGROUP test reads with, and the stream of run n (a fresh one per run). */
export const GROUP = 'bench';
export const groupStream = (run: number): string => `group:stream:${String(run % 1e9).padStart(9, '0')}`;

export const TEST_NAMES: Record<Data17Test, string> = {
  pfadd: 'PFADD', setbit: 'SETBIT', geoadd: 'GEOADD', xadd: 'XADD (3 fields, * id)', xread: 'XREAD COUNT 10',
  xreadgroup: 'XREADGROUP COUNT 1 > + XACK',
};

export const data17Label = (test: Data17Test, pipeline: number): string => `${TEST_NAMES[test]} -P ${pipeline}`;

/** What a test's rate counts. */
export const rateUnit = (test: Data17Test): string => (test === 'xreadgroup' ? 'entries read and acked/s' : 'requests/s');

/**
 * One probe per test: `setup` commands (replies not checked), then `checks`, each a command and the
 * reply it must get (compared as JSON of bench/lib/resp-client.ts's decoding), on a connection of
 * their own. The XREAD probe needs its stream loaded first; bench/data17.ts does that before probing.
 */
export interface Probe {
  setup: string[][];
  checks: Array<[string[], unknown]>;
}

export const PROBES: Record<Data17Test, Probe> = {
  pfadd: { setup: [['DEL', 'probe:hll']], checks: [[['PFADD', 'probe:hll', 'e:000000000001', 'e:000000000002'], 1]] },
  setbit: { setup: [['DEL', 'probe:bits']], checks: [[['SETBIT', 'probe:bits', '65535', '1'], 0], [['GETBIT', 'probe:bits', '65535'], 1]] },
  geoadd: { setup: [['DEL', 'probe:geo']], checks: [[['GEOADD', 'probe:geo', '13.000000012345', '52.000000099999', 'm:000000000001'], 1]] },
  xadd: { setup: [['DEL', 'probe:xadd'], ['XADD', 'probe:xadd', '*', ...ENTRY_FIELDS]], checks: [[['XLEN', 'probe:xadd'], 1]] },
  xread: {
    setup: [],
    checks: [[['XREAD', 'COUNT', '2', 'STREAMS', XREAD_KEY, '000000000005'], [[XREAD_KEY, [['6-0', [...ENTRY_FIELDS]], ['7-0', [...ENTRY_FIELDS]]]]]]],
  },
  xreadgroup: {
    setup: [['DEL', 'probe:group'], ['XADD', 'probe:group', '1-1', ...ENTRY_FIELDS], ['XGROUP', 'CREATE', 'probe:group', GROUP, '0']],
    checks: [
      [['XREADGROUP', 'GROUP', GROUP, 'c0', 'COUNT', '1', 'STREAMS', 'probe:group', '>'], [['probe:group', [['1-1', [...ENTRY_FIELDS]]]]]],
      [['XACK', 'probe:group', GROUP, '1-1'], 1],
      [['XPENDING', 'probe:group', GROUP], [0, null, null, null]],
    ],
  },
};
