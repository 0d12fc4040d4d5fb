// The hash and set data of the typed-keyspace benchmark (bench/types.ts, issue 14): the four memory
// cases (defined in bench/TYPES.md), the keys the custom read commands hit, and a
// pipelined loader for commands whose every reply is one line (HSET, SADD: an integer or an error).
// Values are never all digits, so that neither server can store them as integers.

import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/** One RESP multibulk request as a latin1 string (the arguments are ASCII). */
export function resp(args: readonly string[]): string {
  let out = `*${args.length}\r\n`;
  for (const a of args) out += `$${a.length}\r\n${a}\r\n`;
  return out;
}

const pad = (i: number, width: number): string => String(i).padStart(width, '0');

/** redis-benchmark's __rand_int__ is 12 digits: the keys below use the same shape. */
export const hashKey = (i: number): string => `hash:${pad(i, 12)}`;
export const setKey = (i: number): string => `set:${pad(i, 12)}`;
/** The 10 fields of a small hash: 8 bytes each, `field:00`..`field:09`. */
export const SMALL_FIELDS: readonly string[] = Array.from({ length: 10 }, (_, j) => `field:${pad(j, 2)}`);
/** The members of every small set: five small integers (an intset in Redis). */
export const SMALL_SET_MEMBERS: readonly string[] = ['1', '2', '3', '4', '5'];
/** An 8-byte value that is not a number. */
const value8 = (i: number): string => `v${pad(i % 10_000_000, 7)}`;

/** Each small-hash field's RESP text up to its value's bytes (built once: the loader's own time
 * building 10M fields would otherwise count in the load time). */
const FIELD_HEADS: readonly string[] = SMALL_FIELDS.map((f) => `$${f.length}\r\n${f}\r\n$8\r\n`);

/** HSET of small hash i: 10 fields of 8 bytes with 8-byte values (as resp(), only faster). */
export function smallHashCommand(i: number): string {
  let out = `*22\r\n$4\r\nHSET\r\n$17\r\n${hashKey(i)}\r\n`;
  for (let j = 0; j < 10; j++) out += `${FIELD_HEADS[j] ?? ''}${value8(i * 10 + j)}\r\n`;
  return out;
}
/** SADD of small set i: the five small integers. */
export const smallSetCommand = (i: number): string => resp(['SADD', setKey(i), ...SMALL_SET_MEMBERS]);

/** Elements per command when one big collection is loaded. */
const PER_COMMAND = 10;

export type CaseId = 'small-hashes' | 'big-hash' | 'small-sets' | 'big-set';

export interface MemoryCase {
  id: CaseId;
  /** For the report, with `n` filled in. */
  describe(n: number): string;
  keys(n: number): number;
  elements(n: number): number;
  commands(n: number): number;
  command(i: number, n: number): string;
  /** A key to ask OBJECT ENCODING and the element count of, and the command that counts. */
  sampleKey: string;
  countCommand: 'HLEN' | 'SCARD';
  perKeyElements(n: number): number;
}

/** The four cases of issue 14, shaped as the Redis figures bench/TYPES.md quotes. */
export const MEMORY_CASES: readonly MemoryCase[] = [
  {
    id: 'small-hashes', sampleKey: hashKey(0), countCommand: 'HLEN',
    describe: (n) => `${fmt(n)} hashes x 10 fields (8-byte field, 8-byte value)`,
    keys: (n) => n, elements: (n) => n * 10, commands: (n) => n, perKeyElements: () => 10,
    command: (i) => smallHashCommand(i),
  },
  {
    id: 'big-hash', sampleKey: 'bighash', countCommand: 'HLEN',
    describe: (n) => `one hash of ${fmt(n)} fields (10-byte field, 8-byte value)`,
    keys: () => 1, elements: (n) => n, commands: (n) => Math.ceil(n / PER_COMMAND), perKeyElements: (n) => n,
    command: (i, n) => {
      const args = ['HSET', 'bighash'];
      for (let k = i * PER_COMMAND; k < Math.min(n, (i + 1) * PER_COMMAND); k++) args.push(`f:${pad(k, 8)}`, value8(k));
      return resp(args);
    },
  },
  {
    id: 'small-sets', sampleKey: setKey(0), countCommand: 'SCARD',
    describe: (n) => `${fmt(n)} sets x 5 small integers`,
    keys: (n) => n, elements: (n) => n * 5, commands: (n) => n, perKeyElements: () => 5,
    command: (i) => smallSetCommand(i),
  },
  {
    id: 'big-set', sampleKey: 'bigset', countCommand: 'SCARD',
    describe: (n) => `one set of ${fmt(n)} strings (17 bytes)`,
    keys: () => 1, elements: (n) => n, commands: (n) => Math.ceil(n / PER_COMMAND), perKeyElements: (n) => n,
    command: (i, n) => {
      const args = ['SADD', 'bigset'];
      for (let k = i * PER_COMMAND; k < Math.min(n, (i + 1) * PER_COMMAND); k++) args.push(`member:${pad(k, 10)}`);
      return resp(args);
    },
  },
];

/** The 1M-field hash of the log and snapshot measurements: fields `field:` + 12 digits, so that
 * redis-benchmark's `field:__rand_int__` (with -r n) overwrites fields that exist. */
export function aofHashCommand(key: string, i: number, n: number): string {
  const args = ['HSET', key];
  for (let k = i * PER_COMMAND; k < Math.min(n, (i + 1) * PER_COMMAND); k++) args.push(`field:${pad(k, 12)}`, value8(k));
  return resp(args);
}
export const aofHashCommands = (n: number): number => Math.ceil(n / PER_COMMAND);

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

// ---- loading -------------------------------------------------------------------------------

/**
 * Sends commands 0..count-1 (`build(i)`, RESP text) over `connections` sockets, each writing
 * `batch` commands at a time and awaiting their replies before the next write (memory stays
 * bounded on both sides). Every reply must be one line that is not an error. Returns the
 * elapsed milliseconds.
 */
export async function loadCommands(port: number, count: number, build: (i: number) => string, connections = 4, batch = 1000): Promise<number> {
  const started = performance.now();
  const per = Math.ceil(count / connections);
  const jobs: Array<Promise<void>> = [];
  for (let c = 0; c < connections; c++) {
    const first = c * per;
    const last = Math.min(count, first + per);
    if (first < last) jobs.push(loadRange(port, first, last, build, batch));
  }
  await Promise.all(jobs);
  return performance.now() - started;
}

async function loadRange(port: number, first: number, last: number, build: (i: number) => string, batch: number): Promise<void> {
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
  socket.setNoDelay(true);
  let pending = 0;
  let carry = '';
  let wake: ((err?: Error) => void) | null = null;
  let failure: Error | null = null;
  const settle = (): void => {
    if ((pending === 0 || failure !== null) && wake) {
      const w = wake;
      wake = null;
      w(failure ?? undefined);
    }
  };
  socket.on('data', (chunk: Buffer) => {
    const text = carry + chunk.toString('latin1');
    let at = 0;
    while (true) {
      const end = text.indexOf('\r\n', at);
      if (end < 0) break;
      if (text[at] === '-' && failure === null) failure = new Error(`command failed while loading: ${text.slice(at, end)}`);
      at = end + 2;
      pending--;
    }
    carry = text.slice(at);
    settle();
  });
  socket.on('error', (err) => {
    failure = err;
    wake?.(err);
  });
  socket.on('close', () => {
    failure ??= new Error('connection closed while loading');
    wake?.(failure);
  });
  try {
    for (let i = first; i < last; i += batch) {
      const end = Math.min(last, i + batch);
      let text = '';
      for (let k = i; k < end; k++) text += build(k);
      pending += end - i;
      const done = new Promise<void>((resolve, reject) => {
        wake = (err) => (err ? reject(err) : resolve());
      });
      socket.write(text, 'latin1');
      await done;
    }
  } finally {
    socket.destroy();
  }
}
