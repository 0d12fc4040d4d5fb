// `tessera bench --protocol memcache` end to end, with the memcached binary protocol: against
// Tessera's memcached port and against a real memcached 1.6 (the file fails, naming the package, where
// it is not installed). Closed loop with pipelining, then open loop with a mix: requests complete with
// no errors, throughput is nonzero, GETs after the SET phase all hit, and the values are the
// ones written (read back through RESP on Tessera, the binary protocol on memcached).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rawClient, requireTool, startTessera, type ServerHandle } from '../e2e/harness.js';
import { bin, binCount, exchange, OPS, parseBin, startMemcached, type MemcachedHandle } from '../e2e/memcache-harness.js';
import { bench, benchRefused, type Phase } from './bench-cli.js';

const KEYS = 1000;
const VALUE_BYTES = 32;
const REQUESTS = 20_000;

const t = suite('tessera bench --protocol memcache');
const dir = mkdtempSync(join(tmpdir(), 'tessera-loadgen-mc-'));
let tessera: ServerHandle | undefined;
let memcached: MemcachedHandle | undefined;

t.before(async () => {
  tessera = await startTessera({ shards: 2, memcache: true });
  // The comparison is part of the test: without memcached it fails, naming the package.
  requireTool('memcached', ['-h'], 'memcached');
  memcached = await startMemcached();
});

t.after(async () => {
  await tessera?.stop();
  await memcached?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function checkPhase(p: Phase | undefined, name: string, requests: number): Phase {
  assert.ok(p);
  assert.is(p.name, name);
  assert.is(p.requests, requests, name);
  assert.is(p.errors, 0, p.firstError);
  assert.ok(p.rps > 0, String(p.rps));
  const l = p.latencyMs;
  assert.ok(l.p50 > 0 && l.p50 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max, JSON.stringify(l));
  assert.ok(p.series.length >= 1 && p.series.every((s) => s.rps > 0), JSON.stringify(p.series));
  return p;
}

/** SET then GET phases over KEYS keys, closed loop, pipelined, two threads: every GET hits. */
async function setThenGet(port: number, name: string): Promise<void> {
  const args = ['--protocol', 'memcache', '-p', String(port), '-t', 'set,get', '-c', '8', '-P', '8', '--threads', '2', '-n', String(REQUESTS), '-r', String(KEYS), '-d', String(VALUE_BYTES)];
  const [set, get] = await bench(args, dir, name);
  checkPhase(set, 'SET', REQUESTS);
  checkPhase(get, 'GET', REQUESTS);
  assert.is(get!.hits, REQUESTS, 'every GET after the SET phase hits');
  assert.is(get!.misses, 0);
  const mixed = await bench(['--protocol', 'memcache', '-p', String(port), '--ratio', '1:1', '--dist', 'zipf', '-c', '4', '-n', '3000', '--rate', '3000', '--key-prefix', 'mix:'], dir, `${name}-open`);
  const m = checkPhase(mixed[0], 'GET:SET 1:1', 3000);
  assert.ok(m.hits > 0 && m.misses > 0 && m.hits + m.misses > 1200 && m.hits + m.misses < 1800, `${m.hits} hits, ${m.misses} misses`);
}

t('against Tessera: SET and GET over the binary protocol, values readable through RESP', async () => {
  await setThenGet(tessera!.memcachePort, 'tessera');
  const cl = await rawClient(tessera!.port);
  try {
    cl.send('*1\r\n$6\r\nDBSIZE\r\n*2\r\n$3\r\nGET\r\n$16\r\nkey:000000000007\r\n');
    const [size, value] = await cl.read(2, 5000);
    assert.ok(size!.text.startsWith(':') && Number(size!.text.slice(1)) >= KEYS, size!.text);
    assert.is(value!.text, `$${VALUE_BYTES}\r\n${'x'.repeat(VALUE_BYTES)}\r\n`);
  } finally {
    cl.close();
  }
});

t('against memcached 1.6: the same runs, values readable with a binary Get', async () => {
  await setThenGet(memcached!.port, 'memcached');
  const r = await exchange(memcached!.port, bin(OPS.GET, { key: 'key:000000000007' }), binCount(1));
  const [reply] = parseBin(r.data);
  assert.is(reply?.status, 0);
  assert.is(reply?.value.toString(), 'x'.repeat(VALUE_BYTES));
});

t('--cluster with memcache is a usage error (exit 2)', async () => {
  const r = await benchRefused(['--protocol', 'memcache', '--cluster', '-p', String(tessera!.memcachePort)]);
  assert.is(r.code, 2);
  assert.match(r.stderr, /--cluster needs a protocol with hash slots \(resp\); memcache has no cluster mode/);
});

t('a RESP port driven with --protocol memcache: the run fails, naming the likely cause', async () => {
  // The RESP parser takes the binary request for the start of an inline command and waits for
  // its newline, so no reply ever comes: the run ends after the silence limit.
  const r = await benchRefused(['--protocol', 'memcache', '-p', String(tessera!.port), '-t', 'get', '-n', '100', '-c', '1']);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /no reply for 10 s with 1 requests in flight \(a server down, or one that does not speak memcache\?\)/);
});

t.run();
