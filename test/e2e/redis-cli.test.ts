// redis-cli (Debian redis-tools) against Tessera: one-shot commands in its raw and --no-raw
// output modes, --pipe mass insertion of 10,000 SETs, --scan with a pattern, -r repetition and
// INFO keyspace. Expected outputs were taken from the same redis-cli against redis-server 7.0.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeCommand, redisCli, startTarget, withTimeout, type ServerHandle } from './harness.js';

const TEST_TIMEOUT_MS = 60_000;

let server: ServerHandle | undefined;

const cli = suite('redis-cli');

cli.before(async () => {
  server = await startTarget({ shards: 3 });
});

cli.after(async () => {
  await server?.stop();
});

/** Runs `redis-cli -p PORT ...args` and returns stdout; fails on a non-zero exit. */
async function run(args: string[], input?: string | Buffer): Promise<string> {
  if (server === undefined) throw new Error('server not started');
  const res = await redisCli(['-p', String(server.port), ...args], { input, timeoutMs: 30_000 });
  assert.is(res.code, 0, `redis-cli ${args.join(' ')} exited ${res.code}: ${res.stderr}${res.stdout.slice(-500)}`);
  return res.stdout;
}

function t(name: string, fn: () => Promise<void>): void {
  cli(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));
}

t('plain commands', async () => {
  assert.is(await run(['FLUSHALL']), 'OK\n');
  assert.is(await run(['ping']), 'PONG\n');
  assert.is(await run(['set', 'foo', 'bar']), 'OK\n');
  assert.is(await run(['get', 'foo']), 'bar\n');
  assert.is(await run(['get', 'missing']), '\n');
  assert.is(await run(['--no-raw', 'get', 'missing']), '(nil)\n');
  assert.is(await run(['--no-raw', 'get', 'foo']), '"bar"\n');
  assert.is(await run(['exists', 'foo', 'missing']), '1\n');
  assert.is(await run(['--no-raw', 'exists', 'foo']), '(integer) 1\n');
  assert.is(await run(['mget', 'foo', 'missing', 'foo']), 'bar\n\nbar\n');
  assert.is(await run(['--no-raw', 'mget', 'foo', 'missing']), '1) "bar"\n2) (nil)\n');
  assert.is(await run(['set', 'spaced', 'hello world']), 'OK\n');
  assert.is(await run(['get', 'spaced']), 'hello world\n');
  assert.is(await run(['incr', 'foo']), 'ERR value is not an integer or out of range\n\n');
  assert.is(await run(['--no-raw', 'incr', 'foo']), '(error) ERR value is not an integer or out of range\n');
  assert.is(await run(['nosuchcommand']), "ERR unknown command 'nosuchcommand', with args beginning with: \n\n");
  assert.is(await run(['set', 'n', '10', 'EX', '100']), 'OK\n');
  const ttl = Number(await run(['ttl', 'n']));
  assert.ok(ttl >= 99 && ttl <= 100, `ttl ${ttl}`);
  assert.is(await run(['incrbyfloat', 'n', '0.5']), '10.5\n');
  assert.is(await run(['dbsize']), '3\n');
  assert.is(await run(['del', 'foo', 'spaced', 'n']), '3\n');
  assert.is(await run(['dbsize']), '0\n');
});

t('commands from stdin, one per line', async () => {
  const out = await run([], 'SET a 1\nINCR a\nGET a\nDEL a\n');
  assert.is(out, 'OK\n2\n2\n1\n');
});

t('--pipe with 10,000 SETs: errors 0, replies 10000', async () => {
  await run(['FLUSHALL']);
  const parts: Buffer[] = [];
  for (let i = 0; i < 10_000; i++) parts.push(encodeCommand(['SET', `pipe:${i}`, `value-${i}`]));
  const out = await run(['--pipe'], Buffer.concat(parts));
  assert.match(out, /All data transferred/);
  assert.match(out, /errors: 0, replies: 10000/);
  assert.is(await run(['dbsize']), '10000\n');
  assert.is(await run(['get', 'pipe:9999']), 'value-9999\n');
  assert.is(await run(['get', 'pipe:0']), 'value-0\n');
});

t('--pipe counts error replies', async () => {
  const input = Buffer.concat([
    encodeCommand(['SET', 'pe:1', 'a']),
    encodeCommand(['INCR', 'pe:1']),
    encodeCommand(['NOSUCHCOMMAND']),
    encodeCommand(['GET', 'pe:1']),
  ]);
  const res = await redisCli(['-p', String(server?.port), '--pipe'], { input, timeoutMs: 30_000 });
  assert.match(res.stdout, /errors: 2, replies: 4/, res.stdout);
});

t("--scan --pattern 'k:*' lists exactly the matching keys", async () => {
  await run(['FLUSHALL']);
  const parts: Buffer[] = [];
  for (let i = 0; i < 1500; i++) parts.push(encodeCommand(['SET', `k:${i}`, 'x']));
  for (let i = 0; i < 300; i++) parts.push(encodeCommand(['SET', `other:${i}`, 'x']));
  assert.match(await run(['--pipe'], Buffer.concat(parts)), /errors: 0, replies: 1800/);
  const out = await run(['--scan', '--pattern', 'k:*']);
  const keys = out.split('\n').filter((l) => l !== '');
  assert.is(keys.length, 1500, 'each matching key exactly once');
  assert.is(new Set(keys).size, 1500);
  assert.ok(keys.every((k) => /^k:\d+$/.test(k)), 'only matching keys');
  const all = (await run(['--scan'])).split('\n').filter((l) => l !== '');
  assert.is(all.length, 1800);
});

t('-r 100 incr counter', async () => {
  await run(['del', 'counter']);
  const out = await run(['-r', '100', 'incr', 'counter']);
  assert.equal(
    out.split('\n').filter((l) => l !== ''),
    Array.from({ length: 100 }, (_, i) => String(i + 1)),
  );
  assert.is(await run(['get', 'counter']), '100\n');
});

t('info keyspace', async () => {
  await run(['FLUSHALL']);
  await run(['mset', 'a', '1', 'b', '2', 'c', '3']);
  await run(['expire', 'a', '1000']);
  const out = await run(['info', 'keyspace']);
  assert.match(out, /^# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=\d+\r\n$/);
  const all = await run(['info']);
  assert.match(all, /# Server\r\n/);
  assert.match(all, /\r\ndb0:keys=3,expires=1,/);
});

cli.run();
