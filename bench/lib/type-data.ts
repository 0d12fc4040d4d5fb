// The hash and set data of the typed-keyspace benchmark (bench/types.ts, issue 14): the four memory
// cases (defined in bench/TYPES.md), the keys the custom read commands hit, and the commands that
// load them (sent by bench/lib/line-load.ts).
// Values are never all digits, so that neither server can store them as integers.

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
