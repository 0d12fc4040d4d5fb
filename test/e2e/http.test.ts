// The HTTP port with real requests (fetch): health, REST round trips with TTLs, JSON errors,
// bearer-token auth when requirepass is set, and /metrics parsed as Prometheus text format. Then
// as an attacker (raw sockets and nc): malformed requests, half-closing clients, trickled headers,
// maxclients, oversized bodies; after each, the process must be alive and still serving.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { rawClient, show, startTessera, waitFor, withTimeout, type ServerHandle } from './harness.js';
import { bin, binCount, exchange, OPS, setExtras } from './memcache-harness.js';

const TEST_TIMEOUT_MS = 20_000;
const PASSWORD = 's3cret';
let open: ServerHandle | undefined;
let locked: ServerHandle | undefined;
/** A server with small limits: 3 clients in all, 1 MiB bodies. */
let guarded: ServerHandle | undefined;
const GUARDED_MAXCLIENTS = 3;
const GUARDED_BODY_MAX = 1024 * 1024;
const t = suite('HTTP: health, metrics, /v1/keys');

t.before(async () => {
  [open, locked, guarded] = await Promise.all([
    startTessera({ shards: 2, http: true, memcache: true }),
    startTessera({ shards: 1, http: true, args: ['--requirepass', PASSWORD] }),
    startTessera({ shards: 1, http: true, args: ['--maxclients', String(GUARDED_MAXCLIENTS), '--proto-max-bulk-len', '1mb'] }),
  ]);
});

t.after(async () => {
  await Promise.all([open?.stop(), locked?.stop(), guarded?.stop()]);
});

const it = (name: string, fn: () => Promise<void>): void => t(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));
const url = (s: ServerHandle, path: string): string => `http://127.0.0.1:${s.httpPort}${path}`;
const req = (s: ServerHandle, path: string, init?: RequestInit): Promise<Response> =>
  fetch(url(s, path), { ...init, signal: AbortSignal.timeout(5000) });

it('/health and /health/live answer 200 with JSON', async () => {
  const r = await req(open!, '/health');
  assert.is(r.status, 200);
  const body = (await r.json()) as { status: string; shards: number };
  assert.is(body.status, 'ok');
  assert.is(body.shards, 2);
  assert.is((await req(open!, '/health/live')).status, 200);
  const missing = await req(open!, '/nope');
  assert.is(missing.status, 404);
  assert.equal(await missing.json(), { error: 'not found' });
  assert.is((await req(open!, '/health', { method: 'POST' })).status, 405);
});

it('REST: PUT, GET, DELETE round trip; binary values; TTL by query or header; visible to RESP', async () => {
  const value = Buffer.from([0, 1, 2, 250, 255, 10]);
  assert.is((await req(open!, '/v1/keys/h%3Aa', { method: 'PUT', body: value })).status, 204);
  const got = await req(open!, '/v1/keys/h%3Aa');
  assert.is(got.status, 200);
  assert.equal([...Buffer.from(await got.arrayBuffer())], [...value]);
  const redis = new Redis({ port: open!.port, maxRetriesPerRequest: 0 });
  try {
    assert.equal([...(await redis.getBuffer('h:a'))!], [...value]);
    assert.is(await redis.ttl('h:a'), -1);
    await req(open!, '/v1/keys/h:ttl?ttl=100', { method: 'PUT', body: 'x' });
    const ttl = await redis.ttl('h:ttl');
    assert.ok(ttl > 95 && ttl <= 100, String(ttl));
    await req(open!, '/v1/keys/h:ttl2', { method: 'PUT', body: 'x', headers: { 'x-ttl': '50' } });
    const ttl2 = await redis.ttl('h:ttl2');
    assert.ok(ttl2 > 45 && ttl2 <= 50, String(ttl2));
    await redis.set('h:from-resp', 'hello');
    assert.is(await (await req(open!, '/v1/keys/h:from-resp')).text(), 'hello');
  } finally {
    redis.disconnect();
  }
  // A memcached item is readable over HTTP too.
  await exchange(open!.memcachePort, [bin(OPS.SET, { key: 'h:mc', extras: setExtras(3, 0), value: 'via memcached' })], binCount(1));
  assert.is(await (await req(open!, '/v1/keys/h:mc')).text(), 'via memcached');
  assert.is((await req(open!, '/v1/keys/h%3Aa', { method: 'DELETE' })).status, 204);
  const gone = await req(open!, '/v1/keys/h%3Aa');
  assert.is(gone.status, 404);
  assert.equal(await gone.json(), { error: 'no such key' });
  assert.is((await req(open!, '/v1/keys/h%3Aa', { method: 'DELETE' })).status, 404);
  const badTtl = await req(open!, '/v1/keys/h:b?ttl=soon', { method: 'PUT', body: 'x' });
  assert.is(badTtl.status, 400);
  assert.match(((await badTtl.json()) as { error: string }).error, /ttl/);
  assert.is((await req(open!, '/v1/keys/', { method: 'PUT', body: 'x' })).status, 400);
  const post = await req(open!, '/v1/keys/h:b', { method: 'POST', body: 'x' });
  assert.is(post.status, 405);
  assert.is(post.headers.get('allow'), 'GET, HEAD, PUT, DELETE');
});

it('auth: with requirepass the key API needs the bearer token; health and metrics stay open', async () => {
  const s = locked!;
  const anon = await req(s, '/v1/keys/k', { method: 'PUT', body: 'v' });
  assert.is(anon.status, 401);
  assert.match(anon.headers.get('www-authenticate') ?? '', /^Basic realm="tessera".*Bearer/);
  assert.match(((await anon.json()) as { error: string }).error, /^NOAUTH Authentication required/);
  assert.is((await req(s, '/v1/keys/k', { method: 'PUT', body: 'v', headers: { authorization: 'Bearer wrong' } })).status, 401);
  const auth = { authorization: `Bearer ${PASSWORD}` };
  assert.is((await req(s, '/v1/keys/k', { method: 'PUT', body: 'v', headers: auth })).status, 204);
  assert.is((await req(s, '/v1/keys/k')).status, 401);
  assert.is(await (await req(s, '/v1/keys/k', { headers: auth })).text(), 'v');
  assert.is((await req(s, '/v1/keys/k', { method: 'DELETE', headers: auth })).status, 204);
  assert.is((await req(s, '/health')).status, 200);
  assert.is((await req(s, '/metrics')).status, 200);
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict reader of the Prometheus text exposition format (0.0.4): HELP/TYPE lines, samples
 * `name{label="value",...} number`; throws on anything else. */
function parsePrometheus(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const sampleRe = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?(?:[0-9.e+-]+|NaN|\+Inf|-Inf))$/;
  const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/g;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) continue;
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      assert.ok(name && type && ['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type), line);
      types.set(name!, type!);
      continue;
    }
    const m = sampleRe.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    if (m[3]) for (const l of m[3].matchAll(labelRe)) labels[l[1]!] = l[2]!;
    const value = Number(m[4]!.replace('+Inf', 'Infinity'));
    assert.not.ok(Number.isNaN(value) && m[4] !== 'NaN', line);
    samples.push({ name: m[1]!, labels, value });
  }
  return { types, samples };
}

it('/metrics: Prometheus text with commands, latency histograms, keys, memory, shards, memcached counters', async () => {
  const redis = new Redis({ port: open!.port, maxRetriesPerRequest: 0 });
  try {
    await redis.set('m:1', 'x');
    await redis.get('m:1');
    await redis.get('m:none');
  } finally {
    redis.disconnect();
  }
  await exchange(open!.memcachePort, [bin(OPS.GET, { key: 'm:1' }), bin(OPS.NOOP)], binCount(2));
  const r = await req(open!, '/metrics');
  assert.is(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
  const { types, samples } = parsePrometheus(await r.text());
  const one = (name: string, labels: Record<string, string> = {}): number => {
    const s = samples.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
    assert.ok(s.length > 0, `${name} ${JSON.stringify(labels)} missing`);
    return s.reduce((n, x) => n + x.value, 0);
  };
  assert.is(types.get('tessera_command_duration_seconds'), 'histogram');
  assert.is(types.get('tessera_commands_total'), 'counter');
  assert.ok(one('tessera_commands_total', { command: 'get', outcome: 'call' }) >= 2);
  assert.ok(one('tessera_command_duration_seconds_count', { command: 'get' }) >= 2);
  assert.is(one('tessera_command_duration_seconds_bucket', { command: 'get', le: '+Inf' }), one('tessera_command_duration_seconds_count', { command: 'get' }));
  assert.ok(one('tessera_command_duration_seconds_count', { command: '__mc' }) >= 1);
  assert.ok(one('tessera_keyspace_hits_total') >= 2);
  assert.ok(one('tessera_keyspace_misses_total') >= 1);
  assert.ok(one('tessera_keys') >= 1);
  assert.ok(one('tessera_memory_used_bytes', { shard: '0' }) > 0);
  assert.is(samples.filter((x) => x.name === 'tessera_shard_inflight_requests').length, 2);
  assert.ok(one('tessera_shard_busy_seconds_total') > 0);
  assert.ok(one('tessera_memcache_commands_total', { command: 'get' }) >= 1);
  assert.ok(one('tessera_connections_received_total', { protocol: 'memcache' }) >= 1);
  assert.is(one('tessera_evicted_keys_total'), 0);
  assert.ok(one('tessera_expired_keys_total') >= 0);
  assert.ok(one('process_resident_memory_bytes') > 0);
  assert.ok(one('tessera_http_requests_total', { route: '/health', status: '200' }) >= 1);
});

// ---------------------------------------------------------------------------------------------
// As an attacker would: raw bytes, half-closes, trickles, too many connections, huge bodies.

interface RawExchange {
  /** Every byte the server sent, as latin1. */
  text: string;
  /** True when the server closed the connection (false: still open at the deadline). */
  closed: boolean;
  elapsedMs: number;
}

/** Sends `parts` to the HTTP port (each `gapMs` after the previous one: the trickle under test,
 * not a wait for an effect), then half-closes when asked, and resolves when the server closes
 * the connection or at `deadlineMs`, with everything received. */
function rawHttp(
  port: number,
  parts: ReadonlyArray<string | Buffer>,
  opts: { gapMs?: number; halfClose?: boolean; deadlineMs?: number } = {},
): Promise<RawExchange> {
  const started = Date.now();
  return new Promise((resolve) => {
    const sock = connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    let i = 0;
    const finish = (closed: boolean): void => {
      clearTimeout(deadline);
      clearTimeout(timer);
      sock.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed, elapsedMs: Date.now() - started });
    };
    const deadline = setTimeout(() => finish(false), opts.deadlineMs ?? 5_000);
    const next = (): void => {
      if (sock.destroyed) return;
      if (i < parts.length) {
        sock.write(parts[i++]!);
        timer = setTimeout(next, opts.gapMs ?? 0);
      } else if (opts.halfClose) sock.end();
    };
    sock.on('connect', next);
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', () => undefined); // a reset after the answer is one way to close
    sock.on('close', () => finish(true));
  });
}

/** The status code of the first response in `text`, or 0 when there is none. */
const statusOf = (text: string): number => Number(/^HTTP\/1\.[01] (\d{3}) /.exec(text)?.[1] ?? 0);

/** Runs `nc -q<quitS> 127.0.0.1 <port>` with `input` on its standard input (it sends the input,
 * half-closes, and quits `quitS` after its input ends or when the server closes); resolves with
 * what it printed. Fails clearly when nc is not installed. */
function nc(port: number, input: string | Buffer, quitS = 1, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('nc', [`-q${quitS}`, '127.0.0.1', String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`nc to port ${port} did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err.code === 'ENOENT' ? new Error('this test needs nc (netcat-openbsd), which is not on PATH') : err);
    });
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(out).toString('latin1'));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** The process is still running, answers PING over RESP, and answers a well-formed HTTP request. */
async function assertAlive(s: ServerHandle, after: string): Promise<void> {
  assert.is(s.proc.exitCode, null, `server exited after ${after}:\n${s.output()}`);
  const c = await rawClient(s.port);
  try {
    c.send('*1\r\n$4\r\nPING\r\n');
    const [pong] = await c.read(1);
    assert.ok(pong!.text === '+PONG\r\n' || pong!.text.startsWith('-NOAUTH'), `PING after ${after}: ${show(pong!.raw)}`);
  } finally {
    c.close();
  }
  const live = await rawHttp(s.httpPort, ['GET /health/live HTTP/1.0\r\n\r\n']);
  assert.is(statusOf(live.text), 200, `GET /health/live after ${after}: ${show(live.text)}`);
  assert.ok(live.text.endsWith('{"status":"ok"}'), show(live.text));
}

it('item 6: GET //[ (once a TypeError that ended the process) is a 404; the server lives on', async () => {
  for (const s of [open!, locked!]) {
    const out = await nc(s.httpPort, 'GET //[ HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.is(statusOf(out), 404, show(out));
    assert.ok(out.endsWith('{"error":"not found"}'), show(out));
    await assertAlive(s, 'GET //[');
  }
  // The same target under the key API: credentials are checked first, then the key is decoded.
  const anon = await rawHttp(locked!.httpPort, ['GET /v1/keys/%ZZ//[ HTTP/1.0\r\n\r\n']);
  assert.is(statusOf(anon.text), 401, show(anon.text));
  const authed = await rawHttp(locked!.httpPort, [`GET /v1/keys/%ZZ//[ HTTP/1.0\r\nAuthorization: Bearer ${PASSWORD}\r\n\r\n`]);
  assert.is(statusOf(authed.text), 400, show(authed.text));
  assert.match(authed.text, /malformed key encoding/);
  await assertAlive(locked!, 'a malformed key');
});

it('malformed requests get 400/431 (or a close) and close only their own connection', async () => {
  const cases: Array<[string, string, number | null]> = [
    ['garbage', '\x00\x01garbage\r\n\r\n', 400],
    ['asterisk-form target', 'GET * HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['header section over 16 KiB', `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    ['bad content-length', 'PUT /v1/keys/a HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 400],
    ['bad chunk size', 'PUT /v1/keys/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400],
    ['control byte in a header', 'GET /health HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n', 400],
    ['absurd content-length', 'PUT /v1/keys/a HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n', null],
    ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', null],
    ['upgrade', 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', null],
    ['request line without end', `GET /${'a'.repeat(40_000)}`, 431],
  ];
  for (const [name, input, want] of cases) {
    const r = await rawHttp(open!.httpPort, [input], { halfClose: true });
    assert.ok(r.closed, `${name}: connection left open: ${show(r.text)}`);
    if (want !== null) {
      assert.is(statusOf(r.text), want, `${name}: ${show(r.text)}`);
      assert.match(r.text, /\r\n\r\n\{"error":"[^"]+"\}$/, `${name}: a JSON error body`);
    }
    await assertAlive(open!, name);
  }
  // An absolute-form target routes by its path.
  const abs = await rawHttp(open!.httpPort, ['GET http://example.com/health/live?x=1 HTTP/1.0\r\n\r\n']);
  assert.is(statusOf(abs.text), 200, show(abs.text));
});

/** A deterministic generator (mulberry32), so that a failing input can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

it('seeded mutations of valid requests (300 inputs) never end the process; a client beside them gets every answer right', async () => {
  const SEED = 1313;
  const INPUTS = 300;
  const PARALLEL = 8;
  const rnd = prng(SEED);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const valid = [
    'GET /health HTTP/1.1\r\nHost: x\r\n\r\n',
    'GET /v1/keys/fz%3Aa?ttl=5 HTTP/1.1\r\nHost: x\r\n\r\n',
    'PUT /v1/keys/fz:b?ttl=100 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello',
    'PUT /v1/keys/fz:c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nX-TTL: 9\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    'DELETE /v1/keys/fz:b HTTP/1.1\r\nHost: x\r\n\r\n',
    'HEAD /metrics HTTP/1.0\r\n\r\n',
    'GET http://h:1/health/ready HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n',
  ];
  const specials = ['\x00', '\r', '\n', '\r\n', ' ', '%', '%Z', '?', '#', '[', '//', ':', '\xff', '\r\n\r\n', 'Content-Length: 7\r\n', 'Transfer-Encoding: chunked\r\n', '-1', '99999999999'];
  const mutate = (input: string): string => {
    let s = input;
    for (let n = 1 + Math.floor(rnd() * 3); n > 0; n--) {
      const at = Math.floor(rnd() * (s.length + 1));
      switch (Math.floor(rnd() * 4)) {
        case 0: s = s.slice(0, at) + pick(specials) + s.slice(at); break; // insert
        case 1: s = s.slice(0, at) + s.slice(at + 1 + Math.floor(rnd() * 4)); break; // delete
        case 2: s = s.slice(0, at) + String.fromCharCode(Math.floor(rnd() * 256)) + s.slice(at + 1); break; // replace
        default: s = s.slice(0, at); // truncate
      }
    }
    return s;
  };
  const inputs = Array.from({ length: INPUTS }, () => mutate(pick(valid)));
  // The well-behaved client: PUT then GET of its own keys, on its own connections, throughout.
  let stop = false;
  let roundTrips = 0;
  const beside = (async () => {
    while (!stop) {
      const key = `fz:good:${roundTrips}`;
      assert.is((await req(open!, `/v1/keys/${key}`, { method: 'PUT', body: `v${roundTrips}` })).status, 204);
      assert.is(await (await req(open!, `/v1/keys/${key}`)).text(), `v${roundTrips}`);
      roundTrips++;
    }
  })();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < inputs.length) {
      const k = next++;
      const input = inputs[k]!;
      const r = await rawHttp(open!.httpPort, [Buffer.from(input, 'latin1')], { halfClose: true, deadlineMs: 5_000 });
      assert.ok(r.closed, `input ${k} (seed ${SEED}) left its connection open: ${show(input)} -> ${show(r.text)}`);
      assert.is(open!.proc.exitCode, null, `input ${k} (seed ${SEED}) ended the process: ${show(input)}\n${open!.output()}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: PARALLEL }, worker));
  } finally {
    stop = true;
    await beside;
  }
  assert.ok(roundTrips > 0);
  await assertAlive(open!, 'the mutated requests');
});

it('item 2: a client that half-closes gets every response, in order (nc -q1, 5 runs each)', async () => {
  for (let run = 0; run < 5; run++) {
    const one = await nc(open!.httpPort, 'GET /health HTTP/1.0\r\n\r\n');
    assert.is(statusOf(one), 200, `run ${run}: ${show(one)}`);
    assert.match(one, /"status":"ok"/);
    const key = `hc:${run}`;
    const three = await nc(
      open!.httpPort,
      `PUT /v1/keys/${key} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nv-${run}-x` +
        `GET /v1/keys/${key} HTTP/1.1\r\nHost: x\r\n\r\n` +
        `DELETE /v1/keys/${key} HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    const statuses = [...three.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
    assert.equal(statuses, [204, 200, 204], `run ${run}: ${show(three)}`);
    assert.match(three, new RegExp(`\r\n\r\nv-${run}-xHTTP/1\\.1 204`));
  }
});

it('pipelining: 5,000 PUT/GET pairs on one connection, then a half-close: every answer, in order, with the PUT visible to its GET', async () => {
  const PAIRS = 5_000;
  const text = await new Promise<string>((resolve, reject) => {
    const c = connect({ port: open!.httpPort, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    c.on('error', reject);
    c.on('data', (d: Buffer) => chunks.push(d));
    c.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    let i = 0;
    const pump = (): void => {
      while (i < PAIRS) {
        const v = `value-${i}`;
        const ok = c.write(
          `PUT /v1/keys/pl:${i} HTTP/1.1\r\nHost: x\r\nContent-Length: ${v.length}\r\n\r\n${v}` +
            `GET /v1/keys/pl:${i} HTTP/1.1\r\nHost: x\r\n\r\n`,
        );
        i++;
        if (!ok) {
          c.once('drain', pump);
          return;
        }
      }
      c.end();
    };
    c.on('connect', pump);
  });
  const answers = text.split('HTTP/1.1 ').slice(1);
  assert.is(answers.length, 2 * PAIRS, `answers: ${answers.length}`);
  for (let i = 0; i < PAIRS; i++) {
    assert.ok(answers[2 * i]!.startsWith('204 '), `PUT ${i}: ${show(answers[2 * i]!)}`);
    const get = answers[2 * i + 1]!;
    assert.ok(get.startsWith('200 ') && get.endsWith(`\r\n\r\nvalue-${i}`), `GET ${i}: ${show(get)}`);
  }
});

t('item 8: trickled headers and silent connections are closed with 408 within the header deadline', () =>
  withTimeout((async () => {
    const HEADERS_TIMEOUT_MS = 10_000;
    const CHECK_SLACK_MS = 4_000;
    const lines = ['GET /health HTTP/1.1\r\n', ...Array.from({ length: 60 }, (_, i) => `X-Line-${i}: y\r\n`)];
    const [trickle, silent] = await Promise.all([
      rawHttp(open!.httpPort, lines, { gapMs: 500, deadlineMs: HEADERS_TIMEOUT_MS + CHECK_SLACK_MS }),
      rawHttp(open!.httpPort, [], { deadlineMs: HEADERS_TIMEOUT_MS + CHECK_SLACK_MS }),
    ]);
    for (const [name, r] of [['trickle', trickle], ['silent', silent]] as const) {
      assert.ok(r.closed, `${name}: still open after ${r.elapsedMs} ms`);
      assert.is(statusOf(r.text), 408, `${name}: ${show(r.text)}`);
      // Closed by the header deadline, not for some other reason early on.
      assert.ok(r.elapsedMs >= HEADERS_TIMEOUT_MS - 1_000, `${name}: closed after only ${r.elapsedMs} ms`);
    }
    await assertAlive(open!, 'the trickled headers');
  })(), 30_000, 'trickled headers'));

it('item 6/8: HTTP connections count against maxclients (with RESP ones); refused get 503; resets on refusal do not end the process', async () => {
  const s = guarded!;
  const redis = new Redis({ port: s.port, maxRetriesPerRequest: 0, lazyConnect: true });
  const held: Socket[] = [];
  try {
    await redis.connect();
    await redis.ping();
    // Two keep-alive HTTP connections, each proven admitted by an answered request (a 503 means a
    // connection of an earlier test is still being closed: try again).
    while (held.length < GUARDED_MAXCLIENTS - 1) {
      const sock = await waitFor('an admitted HTTP connection', async () => {
        const c = connect({ port: s.httpPort, host: '127.0.0.1' });
        c.on('error', () => undefined);
        const text = await new Promise<string>((resolve) => {
          let got = '';
          c.on('data', (d: Buffer) => {
            got += d.toString('latin1');
            if (got.includes('{"status":"ok"}') || got.includes('"error"')) resolve(got);
          });
          c.on('close', () => resolve(got));
          c.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n');
        });
        if (statusOf(text) === 200) return c;
        c.destroy();
        return false;
      });
      held.push(sock);
    }
    // 1 RESP + 2 HTTP = 3 = maxclients: the next HTTP connection is refused.
    const refused = await rawHttp(s.httpPort, ['GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n']);
    assert.ok(refused.closed);
    assert.is(statusOf(refused.text), 503, show(refused.text));
    assert.ok(refused.text.endsWith('{"error":"max number of clients reached"}'), show(refused.text));
    // Refused clients that reset at once (SO_LINGER 0): once an unhandled 'error' ending the process.
    await Promise.all(
      Array.from({ length: 20 }, () =>
        new Promise<void>((resolve) => {
          const c = connect({ port: s.httpPort, host: '127.0.0.1' });
          c.on('error', () => undefined);
          c.on('connect', () => c.resetAndDestroy());
          c.on('close', () => resolve());
        }),
      ),
    );
    assert.is(await redis.ping(), 'PONG');
    // A refused one still cannot get in; once a held connection closes, a new one can.
    assert.is(statusOf((await rawHttp(s.httpPort, ['GET /health/live HTTP/1.0\r\n\r\n'])).text), 503);
    held.pop()!.destroy();
    await waitFor('an HTTP connection admitted again', async () =>
      statusOf((await rawHttp(s.httpPort, ['GET /health/live HTTP/1.0\r\n\r\n'])).text) === 200);
  } finally {
    for (const c of held) c.destroy();
    redis.disconnect();
  }
  assert.is(s.proc.exitCode, null, s.output());
});

it('item 8: a body over proto-max-bulk-len is refused with 413 as the limit is crossed, never buffered whole', async () => {
  const s = guarded!;
  const port = s.httpPort;
  await waitFor('a free client slot', async () => statusOf((await rawHttp(port, ['GET /health/live HTTP/1.0\r\n\r\n'])).text) === 200);
  // A declared length over the limit: refused on the headers alone.
  const declared = await rawHttp(port, [`PUT /v1/keys/big HTTP/1.1\r\nHost: x\r\nContent-Length: ${GUARDED_BODY_MAX + 1}\r\n\r\n`]);
  assert.is(statusOf(declared.text), 413, show(declared.text));
  assert.match(declared.text, /proto-max-bulk-len/);
  // With Expect: 100-continue, no 100 is sent for a body that will be refused...
  const expectBig = await rawHttp(port, [`PUT /v1/keys/big HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: ${GUARDED_BODY_MAX + 1}\r\n\r\n`]);
  assert.is(statusOf(expectBig.text), 413, show(expectBig.text));
  // ...and one is sent, before the body, for a body that fits.
  const expectOk = await new Promise<string>((resolve, reject) => {
    const c = connect({ port, host: '127.0.0.1' });
    let got = '';
    c.on('error', reject);
    c.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got === 'HTTP/1.1 100 Continue\r\n\r\n') c.end('small');
    });
    c.on('close', () => resolve(got));
    c.write('PUT /v1/keys/small HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
  });
  assert.match(expectOk, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 204 /, show(expectOk));
  // A chunked body with no declared length: the 413 comes while the body is still being sent
  // (the final chunk is never sent), and the key is not written.
  const CHUNK = Buffer.alloc(64 * 1024, 0x61);
  const SEND_MAX = 64 * GUARDED_BODY_MAX;
  const chunked = await new Promise<{ text: string; sent: number }>((resolve, reject) => {
    const c = connect({ port, host: '127.0.0.1' });
    let got = '';
    let sent = 0;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      c.destroy();
      resolve({ text: got, sent });
    };
    c.on('error', finish);
    c.on('close', finish);
    c.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n{')) finish();
    });
    const pump = (): void => {
      while (!done && sent < SEND_MAX) {
        sent += CHUNK.length;
        const ok = c.write(`${CHUNK.length.toString(16)}\r\n`) && c.write(CHUNK) && c.write('\r\n');
        if (!ok) {
          c.once('drain', pump);
          return;
        }
      }
      if (!done) reject(new Error(`no answer after sending ${sent} bytes of body`));
    };
    c.on('connect', () => {
      c.write('PUT /v1/keys/big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
      pump();
    });
  });
  assert.is(statusOf(chunked.text), 413, show(chunked.text));
  assert.ok(chunked.sent < SEND_MAX);
  const redis = new Redis({ port: s.port, maxRetriesPerRequest: 0 });
  try {
    assert.is(await redis.exists('big'), 0);
    assert.is(await redis.get('small'), 'small');
  } finally {
    redis.disconnect();
  }
  await waitFor('a free client slot', async () => statusOf((await rawHttp(port, ['GET /health/live HTTP/1.0\r\n\r\n'])).text) === 200);
  await assertAlive(s, 'the oversized bodies');
});

it('Expect: 100-continue without credentials gets 401, not a 100', async () => {
  const r = await rawHttp(locked!.httpPort, ['PUT /v1/keys/k HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n']);
  assert.is(statusOf(r.text), 401, show(r.text));
});

t.run();
