// The list and sorted-set data of the lists benchmark (bench/lists.ts, issue 15): the four memory
// cases, the keys the custom read commands hit, the refills that keep pop tests from draining their
// key, and the one-shot probes that tell whether a server knows a test's command at all.
// Elements are never all digits, so that neither server can store them as integers; scores are.

import { resp } from './type-data.js';

const pad = (i: number, width: number): string => String(i).padStart(width, '0');

export const listKey = (i: number): string => `list:${pad(i, 12)}`;
export const zsetKey = (i: number): string => `zset:${pad(i, 12)}`;
/** An 8-byte element that is not a number. */
export const element8 = (i: number): string => `v${pad(i % 10_000_000, 7)}`;
/** The 10 members of every small sorted set: 4 bytes each, `m:00`..`m:09`. */
export const SMALL_ZSET_MEMBERS: readonly string[] = Array.from({ length: 10 }, (_, j) => `m:${pad(j, 2)}`);
/** redis-benchmark 7 pushes -d bytes of random printable data; the refills push this many bytes too. */
export const PUSH_VALUE_BYTES = 32;
const REFILL_VALUE = 'r'.repeat(PUSH_VALUE_BYTES);

/** Elements per command when one big collection is loaded (the 10M cases: 100K commands). */
export const BIG_PER_COMMAND = 100;

/** RPUSH of small list i: 10 elements of 8 bytes. */
export function smallListCommand(i: number): string {
  const args = ['RPUSH', listKey(i)];
  for (let j = 0; j < 10; j++) args.push(element8(i * 10 + j));
  return resp(args);
}

/** ZADD of small sorted set i: 10 members `m:00`..`m:09` with integer scores. */
export function smallZsetCommand(i: number): string {
  const args = ['ZADD', zsetKey(i)];
  for (let j = 0; j < 10; j++) args.push(String((i * 10 + j) % 1_000_000), SMALL_ZSET_MEMBERS[j] ?? '');
  return resp(args);
}

/** The big list's command i of n elements: RPUSH biglist with BIG_PER_COMMAND 8-byte elements. */
export function bigListCommand(i: number, n: number): string {
  const args = ['RPUSH', 'biglist'];
  for (let k = i * BIG_PER_COMMAND; k < Math.min(n, (i + 1) * BIG_PER_COMMAND); k++) args.push(element8(k));
  return resp(args);
}

/** The big sorted set's command i of n members: ZADD bigzset k member:<10 digits> (scores 0..n-1). */
export function bigZsetCommand(i: number, n: number): string {
  const args = ['ZADD', 'bigzset'];
  for (let k = i * BIG_PER_COMMAND; k < Math.min(n, (i + 1) * BIG_PER_COMMAND); k++) args.push(String(k), `member:${pad(k, 10)}`);
  return resp(args);
}

export type ListCaseId = 'small-lists' | 'big-list' | 'small-zsets' | 'big-zset';

/** One memory case: `n` is its key count (small cases) or element count (big cases). */
export interface ListMemoryCase {
  id: ListCaseId;
  big: boolean;
  describe(n: number): string;
  keys(n: number): number;
  elements(n: number): number;
  commands(n: number): number;
  command(i: number, n: number): string;
  sampleKey: string;
  countCommand: 'LLEN' | 'ZCARD';
  perKeyElements(n: number): number;
}

const fmt = (n: number): string => n.toLocaleString('en-US');
const bigCommands = (n: number): number => Math.ceil(n / BIG_PER_COMMAND);

/** The four cases of issue 15: 1M small lists and sorted sets of 10, one list and one sorted set of 10M. */
export const LIST_MEMORY_CASES: readonly ListMemoryCase[] = [
  {
    id: 'small-lists', big: false, sampleKey: listKey(0), countCommand: 'LLEN',
    describe: (n) => `${fmt(n)} lists x 10 elements (8 bytes)`,
    keys: (n) => n, elements: (n) => n * 10, commands: (n) => n, perKeyElements: () => 10,
    command: (i) => smallListCommand(i),
  },
  {
    id: 'big-list', big: true, sampleKey: 'biglist', countCommand: 'LLEN',
    describe: (n) => `one list of ${fmt(n)} elements (8 bytes)`,
    keys: () => 1, elements: (n) => n, commands: bigCommands, perKeyElements: (n) => n,
    command: bigListCommand,
  },
  {
    id: 'small-zsets', big: false, sampleKey: zsetKey(0), countCommand: 'ZCARD',
    describe: (n) => `${fmt(n)} sorted sets x 10 members (4 bytes, integer scores)`,
    keys: (n) => n, elements: (n) => n * 10, commands: (n) => n, perKeyElements: () => 10,
    command: (i) => smallZsetCommand(i),
  },
  {
    id: 'big-zset', big: true, sampleKey: 'bigzset', countCommand: 'ZCARD',
    describe: (n) => `one sorted set of ${fmt(n)} members (17 bytes, integer scores)`,
    keys: () => 1, elements: (n) => n, commands: bigCommands, perKeyElements: (n) => n,
    command: bigZsetCommand,
  },
];

/** The sorted set ZRANK and ZRANGEBYSCORE read: members `m:` + 12 digits (redis-benchmark's
 * __rand_int__ shape) with their number as the score, so that every custom read hits. */
export const RANK_ZSET = 'rankzset';
export function rankZsetCommand(i: number, keyspace: number): string {
  const args = ['ZADD', RANK_ZSET];
  for (let k = i * BIG_PER_COMMAND; k < Math.min(keyspace, (i + 1) * BIG_PER_COMMAND); k++) args.push(String(k), `m:${pad(k, 12)}`);
  return resp(args);
}
export const rankZsetCommands = (keyspace: number): number => Math.ceil(keyspace / BIG_PER_COMMAND);

/** The key redis-benchmark's list tests push to and pop from, and its sorted-set tests' key. */
export const BENCH_LIST = 'mylist';
export const BENCH_ZSET = 'myzset';

/** What a test needs in its key before a measured run (0: nothing): pops must never find the key
 * empty (redis-benchmark may send up to one pipeline per connection beyond -n), and LRANGE 0 599
 * must return 600 elements. */
export function refillTarget(test: string, requests: number, clients: number, pipeline: number): { key: string; count: number } | null {
  const drain = requests + clients * pipeline;
  switch (test) {
    case 'lpop': case 'rpop': return { key: BENCH_LIST, count: drain };
    case 'lrange_100': case 'lrange_600': return { key: BENCH_LIST, count: 600 };
    case 'zpopmin': return { key: BENCH_ZSET, count: drain };
    default: return null;
  }
}

/** The command i of a refill adding `missing` elements numbered from `first` (100 per command):
 * RPUSH of 32-byte values to the list, ZADD of `pop:` + 12 digits scored by their number. */
export function refillCommand(key: string, first: number, missing: number, i: number): string {
  const args = key === BENCH_ZSET ? ['ZADD', key] : ['RPUSH', key];
  for (let k = i * BIG_PER_COMMAND; k < Math.min(missing, (i + 1) * BIG_PER_COMMAND); k++) {
    if (key === BENCH_ZSET) args.push(String(first + k), `pop:${pad(first + k, 12)}`);
    else args.push(REFILL_VALUE);
  }
  return resp(args);
}

/** A one-shot command per test (on keys of its own, deleted afterwards) whose error reply means the
 * server does not have the test's command yet: that test is then reported, not measured. */
export const PROBES: Record<string, readonly string[]> = {
  lpush: ['LPUSH', 'probe:list', 'x'], rpush: ['RPUSH', 'probe:list', 'x'],
  lpop: ['LPOP', 'probe:list'], rpop: ['RPOP', 'probe:list'],
  lrange_100: ['LRANGE', 'probe:list', '0', '99'], lrange_600: ['LRANGE', 'probe:list', '0', '599'],
  zadd: ['ZADD', 'probe:zset', '1', 'a'], zpopmin: ['ZPOPMIN', 'probe:zset'],
  zrangebyscore: ['ZRANGEBYSCORE', 'probe:zset', '0', '+inf', 'LIMIT', '0', '10'], zrank: ['ZRANK', 'probe:zset', 'a'],
};
export const PROBE_KEYS: readonly string[] = ['probe:list', 'probe:zset'];

/** An error reply or message as the report quotes it: its first line, without Redis's
 * ", with args beginning with: ..." tail, at most 100 characters. */
export function shortError(message: string): string {
  const line = (message.split('\n')[0] ?? '').replace(/, with args beginning with:.*$/, '').trim();
  return line.length > 100 ? `${line.slice(0, 99)}…` : line;
}
