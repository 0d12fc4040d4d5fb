// INFO commandstats, errorstats and latencystats count every command wherever it runs (shards
// included), with the same calls / rejected_calls / failed_calls and error counts as
// redis-server 7.0 for the same command sequence (compared line by line, times left out);
// latency-tracking and its percentiles config as Redis (texts checked on redis-server);
// CONFIG RESETSTAT clears the shards' counts too; a shard's OOM refusal is a rejected call;
// LATENCY HISTOGRAM in Redis 7.0's shape (RESP2 and RESP3) over commands run in shards.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { plain, rawClient, requireTool, show, startRedis, startTessera, withTimeout, type RawClient, type ServerHandle } from './harness.js';

const TEST_TIMEOUT_MS = 30_000;
const servers: ServerHandle[] = [];
const clients: RawClient[] = [];
const t = suite('INFO commandstats / errorstats / latencystats');

t.after(async () => {
  for (const c of clients) c.close();
  await Promise.all(servers.map((s) => s.stop()));
});

const it = (name: string, fn: () => Promise<void>): void => t(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));

async function server(kind: 'tessera' | 'redis', args: string[] = [], shards = 3): Promise<RawClient> {
  const s = kind === 'redis' ? await startRedis({ args }) : await startTessera({ shards, args });
  servers.push(s);
  const c = await rawClient(s.port);
  clients.push(c);
  return c;
}

async function call(c: RawClient, ...args: string[]): Promise<unknown> {
  return plain((await c.call(args)).value);
}

async function info(c: RawClient, section: string): Promise<string> {
  const v = await call(c, 'INFO', section);
  assert.type(v, 'string', `INFO ${section}`);
  return v as string;
}

function field(text: string, name: string): string | undefined {
  return text.split('\r\n').find((l) => l.startsWith(`${name}:`))?.slice(name.length + 1);
}

/** A section's lines without the title, the INFO command's own line, and times. */
function counts(text: string): string[] {
  return text
    .split('\r\n')
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('cmdstat_info:'))
    .map((l) => l.replace(/,usec=\d+,usec_per_call=[\d.]+/, ''))
    .sort();
}

/** Commands that succeed, fail in a shard (WRONGTYPE, not an integer), are rejected before running
 * (arity, unknown subcommand), span shards (MGET, DEL), have subcommands, run on the main thread,
 * in a transaction or in a script. */
const SEQUENCE: string[][] = [
  ['SET', 'a', '1'],
  ['GET', 'a'],
  ['GET'],
  ['LPUSH', 'a', 'x'],
  ['NOSUCHCOMMAND', 'x'],
  ['SET', 's', 'abc'],
  ['INCR', 's'],
  ['HSET', 'h', 'f', 'v'],
  ['HGET', 'h', 'f'],
  ['EXPIRE', 'h', 'abc'],
  ['MGET', 'a', 'b', 'c', 'd', 'e', 'f'],
  ['DEL', 'x1', 'x2', 'x3', 'x4'],
  ['CONFIG', 'GET', 'maxmemory'],
  ['CONFIG', 'NOSUCH'],
  ['CONFIG', 'GET'],
  ['OBJECT', 'ENCODING', 'a'],
  ['OBJECT', 'encoding', 'nokey'],
  ['PING'],
  ['ZADD', 'z', 'notafloat', 'm'],
  ['ECHO'],
  // A transaction's commands count as they run; a script's redis.call commands count as calls of
  // their own, and an error the script passes on is one error reply, not two.
  ['MULTI'],
  ['SET', 't', '1'],
  ['INCR', 't'],
  ['LPUSH', 't', 'x'],
  ['EXEC'],
  ['EVAL', "return redis.call('set', KEYS[1], '2')", '1', 'sc'],
  ['EVAL', "return redis.call('lpush', KEYS[1], '2')", '1', 'sc'],
  ['EVAL', "return redis.pcall('lpush', KEYS[1], '2')", '1', 'sc'],
];

for (const shards of [3, 1]) it(`same calls, rejected_calls, failed_calls, errorstats and total_error_replies as redis-server 7.0 (${shards} shards: scripts run ${shards > 1 ? 'on the main thread' : 'in the shard'})`, async () => {
  requireTool('redis-server', ['--version'], 'redis-server');
  const [redis, tessera] = await Promise.all([server('redis'), server('tessera', [], shards)]);
  // From zero: the harness's PINGs while the server was starting are not part of the sequence.
  for (const c of [redis, tessera]) for (const cmd of [['CONFIG', 'RESETSTAT'], ...SEQUENCE]) await c.call(cmd);
  const [rc, tc] = [await info(redis, 'commandstats'), await info(tessera, 'commandstats')];
  assert.equal(counts(tc), counts(rc), `commandstats:\n${tc}\nredis-server:\n${rc}`);
  const [re, te] = [await info(redis, 'errorstats'), await info(tessera, 'errorstats')];
  assert.is(te, re, 'errorstats');
  const [rs, ts] = [await info(redis, 'stats'), await info(tessera, 'stats')];
  assert.is(field(ts, 'total_error_replies'), field(rs, 'total_error_replies'));
  assert.is(field(ts, 'unexpected_error_replies'), '0');
  // Shard-run commands are timed where they run.
  const usec = Number(/usec=(\d+)/.exec(field(tc, 'cmdstat_hset') ?? '')?.[1]);
  assert.ok(usec >= 0 && /usec_per_call=\d+\.\d{2},/.test(field(tc, 'cmdstat_hset') ?? ''), show(tc));
});

it('latencystats: one line per command called, the configured percentiles, none while latency-tracking is no', async () => {
  const c = await server('tessera');
  for (let i = 0; i < 20; i++) await c.call(['SET', `k${i}`, 'v']);
  await c.call(['CONFIG', 'GET', 'maxmemory']);
  let ls = await info(c, 'latencystats');
  assert.match(ls, /^# Latencystats\r\n/);
  assert.match(field(ls, 'latency_percentiles_usec_set') ?? '', /^p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}$/, ls);
  assert.match(field(ls, 'latency_percentiles_usec_config|get') ?? '', /^p50=\d+\.\d{3},/);
  assert.is(field(ls, 'latency_percentiles_usec_get'), undefined, 'GET was never called');
  assert.is(await call(c, 'CONFIG', 'SET', 'latency-tracking-info-percentiles', '50.0 99.90 0'), 'OK');
  assert.equal(await call(c, 'CONFIG', 'GET', 'latency-tracking-info-percentiles'), ['latency-tracking-info-percentiles', '50 99.9 0']);
  ls = await info(c, 'latencystats');
  assert.match(field(ls, 'latency_percentiles_usec_set') ?? '', /^p50=[\d.]+,p99\.9=[\d.]+,p0=[\d.]+$/);
  // redis-server's texts.
  assert.equal(await call(c, 'CONFIG', 'SET', 'latency-tracking-info-percentiles', '50 abc'), {
    error: "ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - Invalid latency-tracking-info-percentiles parameters",
  });
  assert.equal(await call(c, 'CONFIG', 'SET', 'latency-tracking-info-percentiles', '101'), {
    error: "ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - latency-tracking-info-percentiles parameters should sit between [0.0,100.0]",
  });
  assert.equal(await call(c, 'CONFIG', 'SET', 'latency-tracking', 'maybe'), {
    error: "ERR CONFIG SET failed (possibly related to argument 'latency-tracking') - argument must be 'yes' or 'no'",
  });
  assert.is(await call(c, 'CONFIG', 'SET', 'latency-tracking', 'no'), 'OK');
  assert.is(await info(c, 'latencystats'), '# Latencystats\r\n');
  assert.is(await call(c, 'CONFIG', 'SET', 'latency-tracking', 'yes'), 'OK');
  assert.match(await info(c, 'latencystats'), /latency_percentiles_usec_set:/);
});

it('CONFIG RESETSTAT clears what shards counted: commandstats, errorstats, latencystats, total_error_replies', async () => {
  const c = await server('tessera');
  for (let i = 0; i < 10; i++) await c.call(['GET', `k${i}`]);
  await c.call(['SET', 'l', 'x']);
  await c.call(['LPUSH', 'l', 'y']);
  assert.match(await info(c, 'commandstats'), /cmdstat_get:calls=10,/);
  assert.match(await info(c, 'errorstats'), /errorstat_WRONGTYPE:count=1/);
  assert.is(await call(c, 'CONFIG', 'RESETSTAT'), 'OK');
  assert.is(counts(await info(c, 'commandstats')).join(), 'cmdstat_config|resetstat:calls=1,rejected_calls=0,failed_calls=0');
  assert.is(await info(c, 'errorstats'), '# Errorstats\r\n');
  assert.not.match(await info(c, 'latencystats'), /usec_get:/);
  assert.is(field(await info(c, 'stats'), 'total_error_replies'), '0');
  await c.call(['GET', 'k0']);
  assert.match(await info(c, 'commandstats'), /cmdstat_get:calls=1,/);
});

it("a shard's OOM refusal counts as rejected, not as a call (as Redis's processCommand)", async () => {
  const c = await server('tessera', ['--maxmemory', '1', '--maxmemory-policy', 'noeviction']);
  const r = await call(c, 'SET', 'k', 'v');
  assert.equal(r, { error: "OOM command not allowed when used memory > 'maxmemory'." });
  assert.match(await info(c, 'commandstats'), /cmdstat_set:calls=0,usec=\d+,usec_per_call=0\.00,rejected_calls=1,failed_calls=0/);
  assert.match(await info(c, 'errorstats'), /errorstat_OOM:count=1/);
});

/** HdrHistogram's names of the powers of two from 1024 ns (what redis-server prints). */
const REDIS_BUCKETS = new Set(Array.from({ length: 21 }, (_, k) => Math.floor((2 ** (10 + k) + 2 ** (3 + k) - 1) / 1000)));

it('LATENCY HISTOGRAM: per command (shards included) calls and cumulative power-of-two buckets, RESP2 and RESP3', async () => {
  const c = await server('tessera');
  for (let i = 0; i < 5; i++) await c.call(['SET', `k${i}`, 'v']);
  await c.call(['CONFIG', 'GET', 'maxmemory']);
  const all = (await call(c, 'LATENCY', 'HISTOGRAM')) as unknown[];
  const names = all.filter((_, i) => i % 2 === 0);
  assert.ok(names.includes('set') && names.includes('config|get'), `commands: ${JSON.stringify(names)}`);
  const set = (await call(c, 'LATENCY', 'HISTOGRAM', 'SET')) as unknown[];
  assert.is(set.length, 2);
  assert.is(set[0], 'set');
  const [callsName, calls, histName, hist] = set[1] as [string, number, string, number[]];
  assert.equal([callsName, calls, histName], ['calls', 5, 'histogram_usec']);
  assert.ok(hist.length >= 2 && hist.length % 2 === 0);
  for (let i = 0; i < hist.length; i += 2) {
    assert.ok(REDIS_BUCKETS.has(hist[i]!), `bucket ${hist[i]} is one of Redis's`);
    if (i > 0) assert.ok(hist[i]! > hist[i - 2]! && hist[i + 1]! > hist[i - 1]!, 'ascending and cumulative');
  }
  assert.is(hist.at(-1), 5, 'the last bucket holds every call');
  // A container lists its subcommands; unknown names are skipped.
  assert.equal(((await call(c, 'LATENCY', 'HISTOGRAM', 'config', 'nosuch')) as unknown[])[0], 'config|get');
  assert.equal(await call(c, 'LATENCY', 'HISTOGRAM', 'nosuch', 'get'), []);
  await c.call(['HELLO', '3']);
  const r3 = await c.call(['LATENCY', 'HISTOGRAM', 'set']);
  assert.match(r3.text, /^%1\r\n\$3\r\nset\r\n%2\r\n\$5\r\ncalls\r\n:5\r\n\$14\r\nhistogram_usec\r\n%\d+\r\n(:\d+\r\n:\d+\r\n)+$/, show(r3.text));
});

it('LATENCY HISTOGRAM: the same reply shape as redis-server 7.0', async () => {
  requireTool('redis-server', ['--version'], 'redis-server');
  const [redis, tessera] = await Promise.all([server('redis'), server('tessera')]);
  const shapeOf = (v: unknown): unknown => (Array.isArray(v) ? v.map((x, i) => (i % 2 === 0 && typeof x === 'string' ? x : shapeOf(x))) : typeof v);
  const shapes: unknown[] = [];
  for (const c of [redis, tessera]) {
    await c.call(['CONFIG', 'RESETSTAT']);
    await c.call(['SET', 'a', '1']);
    const v = (await call(c, 'LATENCY', 'HISTOGRAM', 'set')) as [string, [string, number, string, number[]]];
    // The bucket count depends on timing: keep one bucket.
    v[1][3] = v[1][3].slice(-2);
    shapes.push(shapeOf(v));
  }
  assert.equal(shapes[1], shapes[0]);
});

t.run();
