// FUNCTION and FCALL against a real redis-server 7.0, byte for byte in RESP2 and RESP3 (one library
// at a time where Redis lists them in hash order); FUNCTION DUMP/RESTORE payloads carried both
// ways between redis-server and Tessera; FUNCTION KILL of a busy function; functions after a
// restart (the functions file in the data dir) and on a replica (at its sync, and after changes).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { rawClient, waitFor, type RawClient } from './harness.js';
import { ServerPair, groupsOn, s, timedOn } from './differential-helpers.js';
import { kill9 } from './persistence-helpers.js';
import { cleanupAll, linkUp, restartNode, startNode, startReplica } from './replication-helpers.js';

const TEST_TIMEOUT_MS = 60_000;
const pair = new ServerPair();
const diff = suite('functions: redis-server vs tessera');
diff.before(pair.start);
const group = groupsOn(diff, pair, { protos: [2, 3], timeoutMs: TEST_TIMEOUT_MS });

const LIB1 = "#!lua name=lib1\nredis.register_function('f1', function(keys, args) return redis.call('incr', keys[1]) end)";
const LIB1B = "#!lua name=lib1\nredis.register_function('f1b', function(keys, args) return 'replaced' end)";
// One function per listed library: Redis lists a library's functions in hash order.
const LIB2 = `#!lua name=lib2
redis.register_function{function_name='ro', callback=function(keys, args) return redis.call('get', keys[1]) end, flags={'no-writes'}, description='reads a key'}`;
const LIB3 = "#!lua name=lib3\nredis.register_function('echo2', function(keys, args) return {keys[1], args[1]} end)";

group('FUNCTION LOAD, LIST, DELETE, FCALL', [
  s('FUNCTION FLUSH'),
  s(['FUNCTION', 'LOAD', LIB1]),
  s(['FUNCTION', 'LOAD', LIB1]),
  s(['FUNCTION', 'LOAD', 'bad', LIB1]),
  s(['FUNCTION', 'LOAD', 'return 1']),
  s(['FCALL', 'f1', '1', 'cnt']),
  s(['FCALL', 'f1', '1', 'cnt']),
  s(['FCALL_RO', 'f1', '1', 'cnt']),
  s(['FCALL', 'nosuch', '0']),
  s(['FCALL', 'f1', 'x']),
  s(['FCALL', 'f1', '-1']),
  s(['FCALL', 'f1', '3', 'a']),
  s('FUNCTION LIST'),
  s('FUNCTION LIST WITHCODE'),
  s('FUNCTION LIST LIBRARYNAME lib*'),
  s('FUNCTION LIST LIBRARYNAME nomatch*'),
  s('FUNCTION LIST LIBRARYNAME'),
  s('FUNCTION LIST WITHCODE WITHCODE'),
  s('FUNCTION LIST bad'),
  s('FUNCTION STATS'),
  s(['FUNCTION', 'LOAD', 'REPLACE', LIB1B]),
  s(['FCALL', 'f1b', '0']),
  s(['FCALL', 'f1', '1', 'cnt']),
  s('FUNCTION DELETE lib1'),
  s('FUNCTION DELETE lib1'),
  s('FUNCTION LIST'),
  s(['FUNCTION', 'LOAD', LIB2]),
  s('FUNCTION LIST'),
  s(['FUNCTION', 'LOAD', LIB3]),
  s(['SET', 'rkey', 'val']),
  s(['FCALL_RO', 'ro', '1', 'rkey']),
  s(['FCALL', 'echo2', '1', 'k', 'a']),
  s('FUNCTION LIST LIBRARYNAME lib3'),
  s('FUNCTION FLUSH BAD'),
  s('FUNCTION FLUSH ASYNC'),
  s('FUNCTION LIST'),
  s('FUNCTION KILL'),
  s('FUNCTION'),
  s('FUNCTION NOSUCH'),
  s('FUNCTION DELETE'),
  s('FCALL'),
]);

// FUNCTION DUMP of a library redis-server cannot compress is the same bytes (it LZF-compresses
// longer code, Tessera does not: the next suite restores each one's payloads on the other).
const SHORT_LIB = "#!lua name=s\nredis.register_function('s', function() return 1 end)";

group('FUNCTION DUMP and RESTORE', [
  s('FUNCTION FLUSH'),
  s('FUNCTION DUMP'),
  s(['FUNCTION', 'LOAD', SHORT_LIB]),
  s('FUNCTION DUMP'),
  s(['FUNCTION', 'RESTORE', 'garbage']),
  s(['FUNCTION', 'RESTORE', 'garbage', 'BAD']),
  s('FUNCTION FLUSH SYNC'),
]);

diff.run();

const across = suite('functions: DUMP/RESTORE between redis-server and Tessera, KILL, restart, replica');
across.after(async () => {
  await pair.stop();
  await cleanupAll();
});
const timed = timedOn(across, TEST_TIMEOUT_MS);

async function call(c: RawClient, args: Array<string | Buffer>): Promise<string> {
  return (await c.call(args)).raw.toString('latin1');
}

async function bulk(c: RawClient, args: Array<string | Buffer>): Promise<Buffer> {
  const v = (await c.call(args)).value;
  if (v.type !== 'bulk' || v.value === null) throw new Error(`${args.join(' ')}: not a bulk string`);
  return v.value;
}

timed('a DUMP from redis-server restores on Tessera, and the other way round (all policies)', async () => {
  await pair.start();
  const [r, t] = await pair.connect();
  try {
    for (const c of [r, t]) await call(c, ['FUNCTION', 'FLUSH']);
    await call(r, ['FUNCTION', 'LOAD', LIB1]);
    // Long code: redis-server stores it LZF-compressed in the payload.
    const big = '#!lua name=big\n' + Array.from({ length: 40 }, (_, i) => `redis.register_function('big${i}', function(keys, args) return ${i} end)\n`).join('');
    await call(r, ['FUNCTION', 'LOAD', big]);
    const payload = await bulk(r, ['FUNCTION', 'DUMP']);
    assert.is(await call(t, ['FUNCTION', 'RESTORE', payload]), '+OK\r\n');
    assert.is(await call(t, ['FCALL', 'big39', '0']), ':39\r\n');
    assert.is(await call(t, ['FCALL', 'f1', '1', 'dumpkey']), ':1\r\n');
    assert.match(await call(t, ['FUNCTION', 'RESTORE', payload]), /^-ERR Library (lib1|big) already exists\r\n$/);
    assert.is(await call(t, ['FUNCTION', 'RESTORE', payload, 'REPLACE']), '+OK\r\n');
    await call(t, ['FUNCTION', 'LOAD', 'REPLACE', LIB1B]);
    await call(t, ['FUNCTION', 'LOAD', LIB3]);
    const fromTessera = await bulk(t, ['FUNCTION', 'DUMP']);
    assert.is(await call(r, ['FUNCTION', 'RESTORE', fromTessera, 'FLUSH']), '+OK\r\n');
    assert.is(await call(r, ['FCALL', 'f1b', '0']), '$8\r\nreplaced\r\n');
    assert.is(await call(r, ['FCALL', 'echo2', '1', 'k', 'v']), '*2\r\n$1\r\nk\r\n$1\r\nv\r\n');
    assert.is(await call(r, ['FCALL', 'big0', '0']), ':0\r\n');
    // FLUSH then restore: Tessera's libraries are exactly the payload's.
    assert.is(await call(t, ['FUNCTION', 'RESTORE', payload, 'FLUSH']), '+OK\r\n');
    assert.is(await call(t, ['FCALL', 'echo2', '0']), '-ERR Function not found\r\n');
  } finally {
    r.close();
    t.close();
  }
});

timed('FUNCTION KILL of a busy function; SCRIPT KILL refuses it', async () => {
  // deny: a keyless function runs in shard 0 (killable), not with every shard locked on the main thread.
  const node = await startNode('fnkill', { shards: 2, args: ['--busy-reply-threshold', '100', '--script-undeclared-keys', 'deny'] });
  const port = node.server.port;
  const runner = await rawClient(port);
  const other = await rawClient(port);
  try {
    await call(other, ['FUNCTION', 'LOAD', "#!lua name=spin\nredis.register_function('spin', function() while true do end end)"]);
    runner.sendCommand('FCALL', 'spin', '0');
    await waitFor('a -BUSY reply', async () => ((await call(other, ['PING'])).startsWith('-BUSY') ? true : false));
    assert.is(await call(other, ['PING']), '-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n');
    assert.is(await call(other, ['SCRIPT', 'KILL']), '-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n');
    assert.is(await call(other, ['FUNCTION', 'KILL']), '+OK\r\n');
    const [killed] = await runner.read(1, 10_000);
    assert.match(killed!.raw.toString(), /^-ERR Script killed by user with/);
    assert.is(await call(other, ['PING']), '+PONG\r\n');
  } finally {
    runner.close();
    other.close();
  }
});

timed('functions survive a restart (the functions file in the data dir), scripts\' writes replay from the AOF', async () => {
  const node = await startNode('fnrestart', { shards: 2, args: ['--appendonly', 'yes'] });
  assert.is(await node.client.call('FUNCTION', 'LOAD', LIB1), 'lib1');
  assert.is(await node.client.call('FUNCTION', 'LOAD', LIB3), 'lib3');
  assert.is(await node.client.call('FUNCTION', 'DELETE', 'lib3'), 'OK');
  // A script's and a function's writes are in the AOF (as their effects).
  await node.client.eval("redis.call('set', KEYS[1], ARGV[1]) redis.call('rpush', KEYS[2], ARGV[1], ARGV[1])", 2, '{aof}s', '{aof}l', 'v');
  assert.is(await node.client.call('FCALL', 'f1', '1', 'aof-counter'), 1);
  await kill9(node.server);
  const again = await restartNode(node);
  assert.is(await again.client.call('FCALL', 'f1', '1', 'after-restart'), 1);
  assert.is(await again.client.call('FCALL', 'f1', '1', 'other-shard-key'), 1);
  assert.is(await again.client.get('{aof}s'), 'v');
  assert.equal(await again.client.lrange('{aof}l', 0, -1), ['v', 'v']);
  assert.is(await again.client.get('aof-counter'), '1');
  const gone = await (again.client.call('FCALL', 'echo2', '0') as Promise<unknown>).then(String, (e: Error) => e.message);
  assert.match(gone, /Function not found/);
});

timed('functions reach a replica: at its full sync, then every LOAD / DELETE / FLUSH', async () => {
  const primary = await startNode('fnprim', { shards: 2 });
  await primary.client.call('FUNCTION', 'LOAD', LIB1);
  const replica = await startReplica('fnrepl', primary, { shards: 2 });
  await linkUp(replica);
  const fcallRo = (c: Redis): Promise<unknown> => c.call('FCALL_RO', 'ro', '1', 'rk').catch((e: Error) => e.message);
  await waitFor('lib1 on the replica', async () => ((await replica.client.call('FUNCTION', 'LIST')) as unknown[]).length === 1);
  await primary.client.call('FUNCTION', 'LOAD', LIB2);
  await primary.client.set('rk', 'from-primary');
  await waitFor('lib2 on the replica', async () => (await fcallRo(replica.client)) === 'from-primary');
  await primary.client.call('FUNCTION', 'DELETE', 'lib2');
  await waitFor('lib2 gone on the replica', async () => String(await fcallRo(replica.client)).includes('Function not found'));
  await primary.client.call('FUNCTION', 'FLUSH');
  await waitFor('no library on the replica', async () => ((await replica.client.call('FUNCTION', 'LIST')) as unknown[]).length === 0);
  assert.match(await replica.client.call('FUNCTION', 'FLUSH').then(String, (e: Error) => e.message), /^READONLY /);
  // The replica refuses a script's writes (replica-read-only), and runs its reads.
  const refused = await replica.client.eval("return redis.call('set', KEYS[1], 'no')", 1, '{s}a').then(String, (e: Error) => e.message);
  assert.match(refused, /^READONLY You can't write against a read only replica\./);
  assert.is(await replica.client.eval("return redis.call('get', KEYS[1])", 1, 'rk'), 'from-primary');
  // A script's writes reach the replica as their effects.
  await primary.client.eval("redis.call('set', KEYS[1], ARGV[1]) redis.call('incr', KEYS[2])", 2, '{s}a', '{s}n', 'x');
  await waitFor('the script writes on the replica', async () => (await replica.client.get('{s}a')) === 'x' && (await replica.client.get('{s}n')) === '1');
});

across.run();
