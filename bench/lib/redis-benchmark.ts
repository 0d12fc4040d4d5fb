// Runs redis-benchmark with --csv and parses its rows (redis-benchmark 7 columns:
// test, rps, avg, min, p50, p95, p99, max latency in ms). A test is one of redis-benchmark's own
// (`-t set`) or one of CUSTOM_TESTS, which it runs as a custom command; its CSV row, named by the
// command line, is renamed to TEST_LABELS' name.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { GEOADD_COMMAND, PFADD_COMMAND, XADD_COMMAND, XREAD_COMMAND } from './data17-data.js';
import { EVALSHA_COMMAND } from './scripting-data.js';

const execFileAsync = promisify(execFile);

export interface BenchRow {
  test: string;
  rps: number;
  avgLatencyMs: number;
  p50LatencyMs: number;
  p99LatencyMs: number;
  maxLatencyMs: number;
}

/**
 * MGET of 10 keys with the key shape SET and MSET write (`key:` + 12 digits), so that it reads what
 * they wrote. Each __rand_int__ is drawn on its own, so the 10 keys land in unrelated hash slots and
 * therefore on every shard; no hash tag ({...}) may pin them to one slot.
 */
export const MGET_COMMAND: readonly string[] = ['mget', ...Array.from({ length: 10 }, () => 'key:__rand_int__')];
if (MGET_COMMAND.some((a) => a.includes('{'))) throw new Error('MGET_COMMAND must not use hash tags');

/**
 * The hash and set reads of issue 14, on keys the caller loads first (bench/lib/type-data.ts):
 * `hash:` + 12 digits, 10 fields `field:00`..`field:09`, and `set:` + 12 digits holding 1..5, so
 * that every read hits.
 */
export const HGET_COMMAND: readonly string[] = ['hget', 'hash:__rand_int__', 'field:03'];
export const HGETALL_COMMAND: readonly string[] = ['hgetall', 'hash:__rand_int__'];
export const SISMEMBER_COMMAND: readonly string[] = ['sismember', 'set:__rand_int__', '3'];

/** HSET overwriting a field of the 1M-field hash `bighash` or of the 10-field `smallhash`, whose
 * fields are `field:` + 12 digits (run with -r = their field count, so every HSET overwrites). */
export const HSET_BIG_COMMAND: readonly string[] = ['hset', 'bighash', 'field:__rand_int__', 'v0000000'];
export const HSET_SMALL_COMMAND: readonly string[] = ['hset', 'smallhash', 'field:__rand_int__', 'v0000000'];

/**
 * The list and sorted-set reads of issue 15. LRANGE is redis-benchmark's own lrange_100/600 command
 * (`LRANGE mylist 0 99`), run as a custom one because `-t lrange_100` first runs an LPUSH test of
 * its own, whose CPU would count with it; the caller fills mylist first. ZRANK and ZRANGEBYSCORE
 * read `rankzset`, whose members are `m:` + 12 digits scored by their number (bench/lib/list-data.ts).
 */
export const LRANGE_100_COMMAND: readonly string[] = ['lrange', 'mylist', '0', '99'];
export const LRANGE_600_COMMAND: readonly string[] = ['lrange', 'mylist', '0', '599'];
export const ZRANGEBYSCORE_COMMAND: readonly string[] = ['zrangebyscore', 'rankzset', '__rand_int__', '+inf', 'limit', '0', '10'];
export const ZRANK_COMMAND: readonly string[] = ['zrank', 'rankzset', 'm:__rand_int__'];

/** Custom commands by test name; the other tests are redis-benchmark's own (-t). */
const CUSTOM_TESTS: Record<string, readonly string[]> = {
  mget: MGET_COMMAND, hget: HGET_COMMAND, hgetall: HGETALL_COMMAND, sismember: SISMEMBER_COMMAND,
  'hset-big': HSET_BIG_COMMAND, 'hset-small': HSET_SMALL_COMMAND,
  lrange_100: LRANGE_100_COMMAND, lrange_600: LRANGE_600_COMMAND, zrangebyscore: ZRANGEBYSCORE_COMMAND, zrank: ZRANK_COMMAND,
  evalsha: EVALSHA_COMMAND,
  pfadd: PFADD_COMMAND, geoadd: GEOADD_COMMAND, xadd: XADD_COMMAND, xread: XREAD_COMMAND,
};

/** The name a test's CSV row is reported under (redis-benchmark's, or ours for custom commands). */
export const TEST_LABELS: Record<string, string> = {
  set: 'SET', get: 'GET', mset: 'MSET (10 keys)', mget: 'MGET (10 keys)',
  hset: 'HSET', sadd: 'SADD', spop: 'SPOP', hget: 'HGET', hgetall: 'HGETALL (10 fields)', sismember: 'SISMEMBER',
  'hset-big': 'HSET big hash', 'hset-small': 'HSET small hash',
  lpush: 'LPUSH', rpush: 'RPUSH', lpop: 'LPOP', rpop: 'RPOP', lrange_100: 'LRANGE_100', lrange_600: 'LRANGE_600',
  zadd: 'ZADD', zpopmin: 'ZPOPMIN', zrangebyscore: 'ZRANGEBYSCORE (LIMIT 10)', zrank: 'ZRANK',
  evalsha: 'EVALSHA (INCR+EXPIRE+GET)',
  pfadd: 'PFADD', geoadd: 'GEOADD', xadd: 'XADD', xread: 'XREAD COUNT 10',
};

/** The custom command a test sends, or null for redis-benchmark's own tests. */
export function customCommand(test: string): readonly string[] | null {
  return CUSTOM_TESTS[test] ?? null;
}

/** A custom test's CSV row name (its command line, as redis-benchmark prints it) to the test. */
const CUSTOM_BY_ROW = new Map(Object.entries(CUSTOM_TESTS).map(([test, cmd]) => [cmd.join(' '), test]));

export interface BenchRun {
  port: number;
  /** redis-benchmark -t names, or one custom test (mget) on its own. */
  tests: string[];
  clients: number;
  requests: number;
  keyspace: number;
  valueBytes: number;
  pipeline: number;
}

export function benchmarkArgs(run: BenchRun): string[] {
  const custom = run.tests.length === 1 ? CUSTOM_TESTS[run.tests[0] ?? ''] : undefined;
  if (custom === undefined && run.tests.some((t) => CUSTOM_TESTS[t] !== undefined)) {
    throw new Error(`custom tests (${Object.keys(CUSTOM_TESTS).join(', ')}) run one per redis-benchmark call`);
  }
  return [
    '-p', String(run.port), ...(custom === undefined ? ['-t', run.tests.join(',')] : []), '-c', String(run.clients),
    '-n', String(run.requests), '-r', String(run.keyspace), '-d', String(run.valueBytes), '-P', String(run.pipeline),
    '--csv', ...(custom ?? []),
  ];
}

export function parseCsv(text: string): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const line of text.split('\n')) {
    const cells = line.trim().split(',').map((c) => c.replace(/^"|"$/g, ''));
    if (cells.length < 8 || cells[0] === 'test') continue;
    const n = (i: number): number => Number(cells[i]);
    const name = cells[0] ?? '';
    const custom = CUSTOM_BY_ROW.get(name);
    rows.push({
      test: custom === undefined ? name : (TEST_LABELS[custom] ?? name), rps: n(1), avgLatencyMs: n(2), p50LatencyMs: n(4), p99LatencyMs: n(6), maxLatencyMs: n(7),
    });
  }
  return rows;
}

export async function runBenchmark(run: BenchRun, timeoutMs = 600_000): Promise<BenchRow[]> {
  const { stdout } = await execFileAsync('redis-benchmark', benchmarkArgs(run), { timeout: timeoutMs, maxBuffer: 1 << 20 });
  const rows = parseCsv(stdout);
  if (rows.length === 0) throw new Error(`redis-benchmark printed no results on port ${run.port}:\n${stdout}`);
  return rows;
}
