// The observability commands against a real redis-server 7.0, by reply SHAPE (RESP2 and RESP3):
// the same types, the same lengths where Redis fixes them, the same field names in the same
// order, and error texts byte for byte; numbers (times, ids, byte counts, latencies) and client
// addresses are masked, since they cannot agree. Each group names the helper whose commands it
// needs (issue 19: slowlog, stats, clients, memory); a group fails until that helper's branch is in.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rawClient, show, waitFor, withTimeout, type RawClient, type Reply, type RespValue } from './harness.js';
import { ServerPair, groupsOn, s, type Compare, type ProbeStep, type Step } from './differential-helpers.js';

const TEST_TIMEOUT_MS = 60_000;
const test = suite('observability commands: reply shapes as redis-server 7.0');
// DEBUG SLEEP makes a latency event on both (redis-server refuses DEBUG unless enabled).
const pair = new ServerPair({ redisArgs: ['--enable-debug-command', 'yes'], tessera: { shards: 2 } });
test.before(pair.start);
test.after(pair.stop);
const group = groupsOn(test, pair, { protos: [2, 3], timeoutMs: TEST_TIMEOUT_MS });
const timed = (name: string, fn: () => Promise<void>): void => test(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));

// ---------------------------------------------------------------------------------------------
// Shapes

interface ShapeOptions {
  /** Keep bulk strings' contents (else `$…`); map keys are always kept (they are field names). */
  bulks?: boolean;
  /** Path of an element whose bulk content is kept / masked regardless of `bulks`
   * (indices joined with '.', e.g. '3' = the 4th element of each entry). */
  keepAt?: (path: string) => boolean | undefined;
}

/** A reply's shape: types, aggregate lengths, map keys and simple strings; numbers masked. */
export function shape(v: RespValue, o: ShapeOptions = {}, path = ''): string {
  const keepBulk = (): boolean => o.keepAt?.(path) ?? o.bulks ?? false;
  const child = (i: number | string): string => (path === '' ? String(i) : `${path}.${i}`);
  switch (v.type) {
    case 'integer':
      return ':#';
    case 'double':
      return ',#';
    case 'bulk':
      if (v.value === null) return '$-1';
      return keepBulk() ? `$${JSON.stringify(v.value.toString('latin1'))}` : '$…';
    case 'verbatim':
      return `=${v.format}:…`;
    case 'simple':
      return `+${v.value}`;
    case 'error':
      return `-${v.value}`;
    case 'null':
      return '_';
    case 'boolean':
      return '#?';
    case 'array':
      if (v.value === null) return '*-1';
      return `*${v.value.length}[${v.value.map((x, i) => shape(x, o, child(i))).join(',')}]`;
    case 'set':
      return `~${v.value.length}[${v.value.map((x, i) => shape(x, o, child(i))).join(',')}]`;
    case 'map':
      return `%${v.value.length}{${v.value.map(([k, x]) => `${keyText(k)}:${shape(x, o, child(keyText(k)))}`).join(',')}}`;
    default:
      return `?${v.type}`;
  }
}

function keyText(k: RespValue): string {
  if (k.type === 'bulk' && k.value !== null) return k.value.toString('latin1');
  if (k.type === 'simple') return k.value;
  if (k.type === 'integer') return '#';
  return `?${k.type}`;
}

/** RESP2 sends maps as flat arrays: shape() of the pairs then names the keys too. */
function pairsShape(v: RespValue, o: ShapeOptions = {}): string {
  if (v.type === 'array' && v.value !== null && v.value.length % 2 === 0) {
    const parts: string[] = [];
    for (let i = 0; i < v.value.length; i += 2) parts.push(`${keyText(v.value[i]!)}:${nested(v.value[i + 1]!, o)}`);
    return `%${v.value.length / 2}{${parts.join(',')}}`;
  }
  return shape(v, o);
}

/** A map value: in RESP2 a nested map is a flat array too (MEMORY STATS's db.N). */
function nested(v: RespValue, o: ShapeOptions): string {
  if (v.type === 'array' || v.type === 'map') return v.type === 'map' ? shape(v, o) : pairsShape(v, o);
  return shape(v, o);
}

const shaped = (o: ShapeOptions = {}): Compare => (r, t) => {
  const [rs, ts] = [shape(r.value, o), shape(t.value, o)];
  return rs === ts ? null : `shapes differ:\n      redis:   ${rs}\n      tessera: ${ts}`;
};

/** For replies that are maps: a map in RESP3, pairs in an array in RESP2. */
const mapShaped = (o: ShapeOptions = {}): Compare => (r, t) => {
  const f = (v: RespValue): string => (v.type === 'map' ? shape(v, o) : pairsShape(v, o));
  const [rs, ts] = [f(r.value), f(t.value)];
  return rs === ts ? null : `map shapes differ:\n      redis:   ${rs}\n      tessera: ${ts}`;
};

/** The text of a bulk string or verbatim string reply, or null. */
function textOf(v: RespValue): string | null {
  if (v.type === 'bulk' && v.value !== null) return v.value.toString('utf8');
  if (v.type === 'verbatim') return v.value.toString('utf8');
  return null;
}

/** Same reply type (first byte; RESP3 verbatim's format too), and the text judged by `judge`. */
function textCompare(judge: (redis: string, tessera: string) => string | null): Compare {
  return (r, t) => {
    if (r.raw[0] !== t.raw[0]) return 'reply types differ';
    if (r.value.type === 'verbatim' && t.value.type === 'verbatim' && r.value.format !== t.value.format) return 'verbatim formats differ';
    const [rt, tt] = [textOf(r.value), textOf(t.value)];
    if (rt === null || tt === null) return r.raw.equals(t.raw) ? null : 'not text, and bytes differ';
    return judge(rt, tt);
  };
}

/** Digits (with a decimal part) masked: a line's format without its figures. */
const masked = (line: string): string => line.replace(/\d+(\.\d+)?/g, '#');
/** Values after '=' masked: `calls=#,usec=#` keeps the names (p99.9 stays p99.9). */
const valuesMasked = (line: string): string => line.replace(/=[^,]*/g, '=#');

/** INFO <section>'s lines, figures masked, compared as sets (Redis prints them in dict order). */
const infoLines = textCompare((r, t) => {
  const lines = (x: string): string[] => x.split('\r\n').filter((l) => l !== '').map(valuesMasked).sort();
  const [rl, tl] = [lines(r), lines(t)];
  const missing = rl.filter((l) => !tl.includes(l));
  const extra = tl.filter((l) => !rl.includes(l));
  return missing.length === 0 && extra.length === 0 ? null : `INFO lines differ: missing ${JSON.stringify(missing)}, extra ${JSON.stringify(extra)}`;
});

/** CLIENT LIST / CLIENT INFO: one line per client; the field names in order must be Redis's (the
 * distinct sequences are compared: the servers may have different numbers of clients). */
const clientFields = textCompare((r, t) => {
  const names = (x: string): string[] => [...new Set(x.split('\n').filter((l) => l !== '').map((l) => l.split(' ').map((f) => f.split('=')[0]!).join(' ')))];
  const [rn, tn] = [names(r), names(t)];
  return JSON.stringify(rn) === JSON.stringify(tn) ? null : `fields differ:\n      redis:   ${JSON.stringify(rn)}\n      tessera: ${JSON.stringify(tn)}`;
});

/** The first line of a report, figures masked (LATENCY DOCTOR's greeting). */
const firstLine = textCompare((r, t) => {
  const f = (x: string): string => masked(x.split('\n')[0]!);
  return f(r) === f(t) ? null : `first lines differ: ${JSON.stringify(f(r))} / ${JSON.stringify(f(t))}`;
});

/** Only the reply type (first byte; a verbatim's format): MALLOC-STATS prints jemalloc's report. */
const sameType: Compare = (r, t) => {
  if (r.raw[0] !== t.raw[0]) return 'reply types differ';
  if (r.value.type === 'verbatim' && t.value.type === 'verbatim' && r.value.format !== t.value.format) return 'verbatim formats differ';
  return null;
};

/** SLOWLOG GET entries: [id, time, duration, args (exact), client addr (masked), name (exact)]. */
const slowlogEntries = shaped({ keepAt: (p) => (/^\d+\.3\.\d+$/.test(p) || /^\d+\.5$/.test(p) ? true : undefined) });

/** LATENCY HISTOGRAM: command names and field names kept; histogram_usec's buckets vary with the
 * machine, so only their type is kept (a map of integers to integers). */
function histogramShape(v: RespValue): string {
  const pairs = (x: RespValue): Array<[RespValue, RespValue]> | null => {
    if (x.type === 'map') return x.value;
    if (x.type === 'array' && x.value !== null && x.value.length % 2 === 0) {
      const out: Array<[RespValue, RespValue]> = [];
      for (let i = 0; i < x.value.length; i += 2) out.push([x.value[i]!, x.value[i + 1]!]);
      return out;
    }
    return null;
  };
  const top = pairs(v);
  if (top === null) return shape(v);
  return top
    .map(([k, x]) => {
      const fields = pairs(x);
      if (fields === null) return `${keyText(k)}:${shape(x)}`;
      return `${keyText(k)}:{${fields
        .map(([fk, fv]) => {
          const name = keyText(fk);
          if (name !== 'histogram_usec') return `${name}:${shape(fv)}`;
          const buckets = pairs(fv);
          const ok = buckets !== null && buckets.length > 0 && buckets.every(([b, n]) => b.type === 'integer' && n.type === 'integer');
          return `${name}:${ok ? 'buckets' : shape(fv)}`;
        })
        .join(',')}}`;
    })
    .join(' ');
}

const histogram: Compare = (r, t) => {
  if (r.raw[0] !== t.raw[0]) return 'reply types differ';
  const [rs, ts] = [histogramShape(r.value), histogramShape(t.value)];
  return rs === ts ? null : `histograms differ:\n      redis:   ${rs}\n      tessera: ${ts}`;
};

// ---------------------------------------------------------------------------------------------
// MONITOR: a probe with a second connection on the same server

const MONITOR_READ_MS = 5_000;

/** MONITOR's line with its time and client address masked: `+T [db ADDR] "cmd" "arg"...`. */
function monitorLine(r: Reply): string {
  if (r.value.type !== 'simple') return show(r.raw);
  return r.value.value.replace(/^\d+\.\d{6} \[(\d+) (?:[0-9.]+:\d+|lua|unix:[^\]]*)\]/, (_, db: string) => `T [${db} ADDR]`);
}

/** MONITOR on c, the commands sent on a second connection, and the lines c receives for them
 * (the first reply is MONITOR's +OK; the last command, PING, marks the end). */
function monitorProbe(name: string, commands: string[][], expectLines: number): ProbeStep {
  return {
    name,
    probe: async (c: RawClient): Promise<string> => {
      const ok = await c.call(['MONITOR']);
      const port = c.socket.remotePort;
      if (port === undefined) throw new Error('monitor probe: no remote port');
      const other = await rawClient(port);
      const lines: string[] = [`MONITOR -> ${show(ok.raw)}`];
      try {
        for (const cmd of commands) await other.call(cmd);
        const got = await c.read(expectLines, MONITOR_READ_MS);
        for (const r of got) lines.push(monitorLine(r));
      } finally {
        other.close();
        c.close(); // a monitor stays one: this connection is done
      }
      return lines.join('\n');
    },
  };
}

// ---------------------------------------------------------------------------------------------
// memory (helper `memory`: this branch)

group('MEMORY USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE, HELP and their errors [memory]', [
  s('MEMORY DOCTOR'), // an almost empty instance: Redis's "empty" text, byte for byte
  s('SET a b'),
  s('HSET h f v'),
  s('MEMORY USAGE a', shaped()),
  s('MEMORY USAGE h SAMPLES 0', shaped()),
  s('MEMORY USAGE h SAMPLES 5', shaped()),
  s('MEMORY USAGE missing'),
  s('MEMORY USAGE a SAMPLES'),
  s('MEMORY USAGE a SAMPLES -1'),
  s('MEMORY USAGE a SAMPLES x'),
  s('MEMORY USAGE a FOO'),
  s('MEMORY USAGE'),
  s('MEMORY STATS', mapShaped()),
  s('MEMORY MALLOC-STATS', sameType),
  s('MEMORY PURGE'),
  s('MEMORY HELP'),
  s('MEMORY'),
  s('MEMORY FOO'),
  s('MEMORY STATS x'),
  s('MEMORY DOCTOR x'),
  s('MEMORY MALLOC-STATS x'),
  s('MEMORY PURGE x'),
  s('MEMORY HELP x'),
]);

group('MEMORY STATS lists each database holding keys [memory]', [
  s('SET a b'),
  s('SELECT 3'),
  s('SET c d'),
  s('SELECT 0'),
  s('MEMORY STATS', mapShaped()),
  s('FLUSHALL'),
  s('MEMORY STATS', mapShaped()), // no db.N at all
]);

group('OBJECT ENCODING, FREQ, IDLETIME, REFCOUNT, HELP [memory]', [
  s('SET int 12345'),
  s('SET emb hello'),
  s(['SET', 'raw', 'x'.repeat(64)]),
  s('OBJECT ENCODING int'),
  s('OBJECT ENCODING emb'),
  s('OBJECT ENCODING raw'),
  s('OBJECT ENCODING missing'),
  s('OBJECT REFCOUNT emb'),
  s('OBJECT REFCOUNT missing'),
  s('OBJECT IDLETIME emb', shaped()),
  s('OBJECT IDLETIME missing'),
  s('OBJECT FREQ emb'), // LRU policy: the LFU error text
  s('OBJECT FREQ missing'),
  s('OBJECT HELP'),
  s('OBJECT'),
  s('OBJECT FOO emb'),
  s('OBJECT ENCODING'),
  s('OBJECT ENCODING a b'),
  s('OBJECT HELP x'),
]);

// ---------------------------------------------------------------------------------------------
// SLOWLOG (helper `slowlog`)

group('SLOWLOG GET/LEN/RESET/HELP, entry shape, argument truncation and redaction [slowlog]', () => [
  s('CONFIG SET slowlog-log-slower-than 0'),
  s('SLOWLOG RESET'),
  s('SLOWLOG LEN'), // the RESET itself was slower than 0 us: 1
  s('CLIENT SETNAME probe'),
  s('SET a b'),
  s(['RPUSH', 'list', ...Array.from({ length: 40 }, (_, i) => `v${i}`)]), // 32 arguments kept
  s(['SET', 'long', 'y'.repeat(200)]), // a long argument is cut at 128 bytes
  s('AUTH nouser nopass'), // secrets are redacted
  s('HELLO 3 AUTH someone secret'),
  s('SLOWLOG GET 5', slowlogEntries),
  s('SLOWLOG GET 0', slowlogEntries),
  s('SLOWLOG LEN', shaped()),
  s('SLOWLOG GET -5'),
  s('SLOWLOG GET x'),
  s('SLOWLOG HELP'),
  s('SLOWLOG FOO'),
  s('SLOWLOG LEN x'),
  s('SLOWLOG RESET x'),
  s('SLOWLOG'),
  s('CONFIG SET slowlog-log-slower-than 10000'),
  s('SLOWLOG RESET'),
  s('SLOWLOG LEN'),
  s('SLOWLOG GET'),
  s('CONFIG GET slowlog-log-slower-than'),
  s('CONFIG GET slowlog-max-len'),
]);

// ---------------------------------------------------------------------------------------------
// LATENCY (helper `slowlog`; HISTOGRAM: helper `stats`)

group('LATENCY LATEST/HISTORY/RESET/DOCTOR/HELP with a latency event [slowlog]', [
  s('LATENCY RESET', shaped()),
  s('CONFIG SET latency-monitor-threshold 0'),
  s('LATENCY DOCTOR', firstLine), // monitoring off: Redis's "I'm sorry, Dave" text
  s('CONFIG SET latency-monitor-threshold 5'),
  s('DEBUG SLEEP 0.02'), // a "command" event of 20 ms on both
  s('LATENCY LATEST', shaped({ bulks: true })),
  s('LATENCY HISTORY command', shaped()),
  s('LATENCY HISTORY nosuch'),
  s('LATENCY DOCTOR', firstLine),
  s('LATENCY RESET command nosuch'),
  s('LATENCY LATEST'),
  s('LATENCY RESET'),
  s('LATENCY HELP'),
  s('LATENCY FOO'),
  s('LATENCY HISTORY'),
  s('LATENCY'),
  s('CONFIG GET latency-monitor-threshold'),
  s('CONFIG SET latency-monitor-threshold 0'),
]);

group('LATENCY HISTOGRAM [stats]', [
  s('CONFIG RESETSTAT'),
  s('SET a b'),
  s('GET a'),
  s('GET a'),
  s('LATENCY HISTOGRAM set get', histogram),
  s('LATENCY HISTOGRAM nosuch', histogram),
  s('LATENCY HISTOGRAM nosuch set', histogram),
]);

// ---------------------------------------------------------------------------------------------
// INFO commandstats / latencystats / errorstats (helper `stats`)

group('INFO commandstats, latencystats, errorstats line formats [stats]', [
  s('CONFIG RESETSTAT'),
  s('SET a b'),
  s('GET a'),
  s('HGET a x'), // WRONGTYPE: a failed call
  s('NOSUCHCMD'), // an unknown command: errorstat_ERR, no cmdstat line
  s('GET'), // wrong arity: rejected_calls
  s('INFO commandstats', infoLines),
  s('INFO errorstats', infoLines),
  s('CONFIG RESETSTAT'),
  s('SET a b'),
  s('INFO latencystats', infoLines),
  s('CONFIG GET latency-tracking'),
  s('CONFIG GET latency-tracking-info-percentiles'),
  s(['CONFIG', 'SET', 'latency-tracking-info-percentiles', '50 99.9']),
  s('CONFIG RESETSTAT'),
  s('SET a b'),
  s('INFO latencystats', infoLines),
  s(['CONFIG', 'SET', 'latency-tracking-info-percentiles', '50 99 99.9']),
]);

// ---------------------------------------------------------------------------------------------
// CLIENT (helper `clients`)

group('CLIENT LIST / CLIENT INFO field names and order [clients]', [
  s('CLIENT SETNAME probe'),
  s('CLIENT INFO', clientFields),
  s('CLIENT LIST', clientFields),
  s('CLIENT LIST TYPE normal', clientFields),
  s('MULTI'),
  s('CLIENT INFO'), // queued
  s('EXEC', shaped()),
]);

group('CLIENT NO-EVICT / PAUSE / UNPAUSE replies and errors [clients]', [
  s('CLIENT NO-EVICT on'),
  s('CLIENT NO-EVICT off'),
  s('CLIENT NO-EVICT maybe'),
  s('CLIENT NO-EVICT'),
  s('CLIENT PAUSE 1'),
  s('CLIENT PAUSE 1 WRITE'),
  s('CLIENT PAUSE 1 ALL'),
  s('CLIENT PAUSE 1 FOO'),
  s('CLIENT PAUSE abc'),
  s('CLIENT PAUSE -1'),
  s('CLIENT PAUSE'),
  s('CLIENT UNPAUSE'),
  s('CLIENT UNPAUSE x'),
  s('PING'),
]);

// ---------------------------------------------------------------------------------------------
// MONITOR (helper `clients`)

const MONITORED: string[][] = [
  ['SET', 'k', 'v with space'],
  ['GET', 'k'],
  ['AUTH', 'someone', 'secret'], // redacted
  ['HELLO', '2', 'AUTH', 'someone', 'secret'], // redacted
  ['CONFIG', 'SET', 'maxmemory-samples', '5'], // admin: not shown
  ['SELECT', '1'],
  ['SET', 'q', 'a"b\n\x01'], // quoted as Redis quotes (sdscatrepr)
  ['SELECT', '0'],
  ['PING'],
];

group('MONITOR: +OK, then one line per command in Redis\'s format, secrets redacted, admin commands left out [clients]', (): Step[] => [
  monitorProbe('MONITOR lines', MONITORED, MONITORED.length - 1),
]);

// ---------------------------------------------------------------------------------------------
// Not a reply shape, but what makes the MEMORY cases above meaningful: the figures move.

timed('MEMORY USAGE and MEMORY STATS follow the data on Tessera [memory]', async () => {
  const c = await rawClient(pair.tessera.port);
  try {
    const usage = async (k: string): Promise<number> => {
      const r = await c.call(['MEMORY', 'USAGE', k]);
      assert.is(r.value.type, 'integer', show(r.raw));
      return Number((r.value as { value: bigint }).value);
    };
    await c.call(['FLUSHALL']);
    await c.call(['SET', 'small', 'x']);
    await c.call(['SET', 'big', 'x'.repeat(10_000)]);
    const [small, big] = [await usage('small'), await usage('big')];
    assert.ok(big >= small + 10_000, `MEMORY USAGE big ${big} >= small ${small} + 10000`);
    const keysCount = async (): Promise<number> => {
      const r = await c.call(['MEMORY', 'STATS']);
      assert.is(r.value.type, 'array', show(r.raw));
      const items = (r.value as { value: RespValue[] }).value;
      const at = items.findIndex((x) => x.type === 'bulk' && x.value?.toString() === 'keys.count');
      assert.ok(at >= 0, 'keys.count present');
      return Number((items[at + 1] as { value: bigint }).value);
    };
    assert.is(await keysCount(), 2);
    await c.call(['DEL', 'big']);
    await waitFor('keys.count 1', async () => (await keysCount()) === 1);
  } finally {
    c.close();
  }
});

test.run();
