// Scripts that touch keys they did not declare, on a node with several shards (option
// script-undeclared-keys, docs/scripting.md): with the default `allow`, byte for byte as
// redis-server 7.0 (an undeclared key of another shard; RPOPLPUSH, LMOVE, MGET, DEL with their keys
// on two shards inside a script whose keys span shards; keyless scripts; MULTI), in RESP2 and
// RESP3; a shebang script bound to its keys' slot still runs in its shard; `slot` (Redis
// Cluster's rule) runs a script whose keys share a slot in its shard; `deny` keeps the error.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rawClient, startTessera, type ServerHandle } from './harness.js';
import { ServerPair, groupsOn, s, timedOn } from './differential-helpers.js';
import { keyOn, shardOf } from './shard-keys.js';

const TEST_TIMEOUT_MS = 30_000;
const SHARDS = 3;
const pair = new ServerPair({ tessera: { shards: SHARDS, args: ['--script-undeclared-keys', 'allow'] } });
const diff = suite('script-undeclared-keys allow: redis-server vs tessera');
diff.before(pair.start);
diff.after(pair.stop);
const group = groupsOn(diff, pair, { protos: [2, 3], timeoutMs: TEST_TIMEOUT_MS });

const [a0, a1, a2] = [0, 1, 2].map((sh) => keyOn(sh, SHARDS, 'uk:')) as [string, string, string];
const [l0, l1] = [0, 1].map((sh) => keyOn(sh, SHARDS, 'list:')) as [string, string];
assert.ok(shardOf(a0, SHARDS) !== shardOf(a1, SHARDS) && shardOf(l0, SHARDS) !== shardOf(l1, SHARDS));

group('an undeclared key of another shard (fix 1)', [
  s(['SET', a1, 'other']),
  s(['EVAL', "redis.call('set', KEYS[1], 'mine') return {redis.call('get', ARGV[1]), redis.call('incr', ARGV[2])}", '1', a0, a1, a2]),
  s(['GET', a2]),
  s(['EVAL', "return redis.call('get', ARGV[1])", '0', a1]),
  s(['EVAL', "return redis.call('incr', ARGV[1])", '1', a1, a0]),
  s(['SCRIPT', 'LOAD', "return {redis.call('get', KEYS[1]), redis.call('get', ARGV[1])}"]),
  s(['EVALSHA', 'd3e2776b9f5d42713cb26224370f9c23ae0fe59d', '1', a0, a1]),
  s(['EVAL_RO', "return redis.call('get', ARGV[1])", '1', a0, a1]),
  s(['EVAL', "return redis.call('set', ARGV[1], 'x')", '1', a0, a1]),
]);

group('a redis.call whose own keys span shards, in a script spanning shards (fix 2)', [
  s(['RPUSH', l0, 'a', 'b', 'c']),
  s(['EVAL', "return {redis.call('rpoplpush', KEYS[1], KEYS[2]), redis.call('lmove', KEYS[1], KEYS[2], 'LEFT', 'RIGHT'), redis.call('lrange', KEYS[1], 0, -1), redis.call('lrange', KEYS[2], 0, -1)}", '2', l0, l1]),
  s(['EVAL', "return redis.call('rpoplpush', KEYS[1], KEYS[2])", '2', a2, l1]),
  s(['EVAL', "redis.call('set', KEYS[1], 's') return redis.call('rpoplpush', KEYS[1], KEYS[2])", '2', a2, l1]),
  s(['EVAL', "return redis.pcall('rpoplpush', KEYS[2], KEYS[1])", '2', a2, l1]),
  s(['EVAL', "return redis.call('lmove', KEYS[1], KEYS[2], 'UP', 'RIGHT')", '2', l0, l1]),
  s(['EVAL', "redis.call('mset', KEYS[1], '1', KEYS[2], '2', KEYS[3], '3') return {redis.call('mget', KEYS[3], 'nokey', KEYS[1], KEYS[2]), redis.call('exists', KEYS[1], KEYS[2], KEYS[3]), redis.call('del', KEYS[1], KEYS[2], 'nokey')}", '3', a0, a1, a2]),
  // What BullMQ's moveToActive does with its default prefix: undeclared job keys, then a move.
  s(['EVAL', "local id = redis.call('rpoplpush', KEYS[1], KEYS[2]) if id then redis.call('hset', ARGV[1] .. id, 'state', 'active') return redis.call('hgetall', ARGV[1] .. id) end", '2', l1, l0, 'job:']),
  s(['LRANGE', l0, '0', '-1']),
  s(['LRANGE', l1, '0', '-1']),
  // BullMQ's pause: RENAME of the wait list to the paused list.
  s(['EVAL', "return {redis.call('rename', KEYS[1], KEYS[2]), redis.call('renamenx', KEYS[2], KEYS[1]), redis.call('lrange', KEYS[1], 0, -1), redis.call('exists', KEYS[2])}", '2', l0, l1]),
  s(['EVAL', "return redis.pcall('rename', KEYS[2], KEYS[1])", '2', l0, l1]),
  s(['EVAL', "redis.call('set', KEYS[2], 'x') return redis.call('renamenx', KEYS[1], KEYS[2])", '2', l0, l1]),
]);

group('in MULTI, and a keyless script', [
  s(['MULTI']),
  s(['EVAL', "return redis.call('set', ARGV[1], 'v')", '0', a1]),
  s(['EVAL', "return redis.call('get', ARGV[1])", '1', a0, a1]),
  s(['EXEC']),
  s(['EVAL', "return redis.call('get', ARGV[1])", 'x', a0, a1]),
  s(['EVAL', "return redis.call('get', ARGV[1])", '-1', a0, a1]),
]);

// --- Tessera only: where it runs, and deny ----------------------------------------------------

const only = suite('script-undeclared-keys: bound scripts, slot, deny');
let srv: ServerHandle | undefined;
only.before(async () => {
  srv = await startTessera({ shards: SHARDS });
});
only.after(async () => {
  await srv?.stop();
});
const timed = timedOn(only, TEST_TIMEOUT_MS);

async function call(port: number, args: string[]): Promise<string> {
  const c = await rawClient(port);
  try {
    return (await c.call(args)).raw.toString('latin1');
  } finally {
    c.close();
  }
}

timed('a shebang script without allow-cross-slot-keys runs in its keys\' shard; with it, anywhere', async () => {
  const port = srv!.port;
  await call(port, ['CONFIG', 'SET', 'script-undeclared-keys', 'allow']);
  await call(port, ['SET', a1, 'v']);
  // Bound to its key's slot (Redis 7's rule for scripts with flags): runs in that shard.
  assert.match(await call(port, ['EVAL', "#!lua\nreturn redis.call('get', ARGV[1])", '1', a0, a1]), /another shard/);
  assert.is(await call(port, ['EVAL', "#!lua flags=allow-cross-slot-keys\nreturn redis.call('get', ARGV[1])", '1', a0, a1]), '$1\r\nv\r\n');
  // Keyless: bound to no shard in advance, so it may run anywhere.
  assert.is(await call(port, ['EVAL', "#!lua\nreturn redis.call('get', ARGV[1])", '0', a1]), '$1\r\nv\r\n');
  // Functions are bound unless flagged.
  await call(port, ['FUNCTION', 'LOAD', 'REPLACE', "#!lua name=uk\nredis.register_function('g', function(k, a) return redis.call('get', a[1]) end)\nredis.register_function{function_name='gx', callback=function(k, a) return redis.call('get', a[1]) end, flags={'allow-cross-slot-keys'}}"]);
  assert.match(await call(port, ['FCALL', 'g', '1', a0, a1]), /another shard/);
  assert.is(await call(port, ['FCALL', 'gx', '1', a0, a1]), '$1\r\nv\r\n');
});

timed('a client blocked on a list a spanning script pushes to is served after the script, as Redis', async () => {
  const port = srv!.port;
  const blocked = await rawClient(port);
  const pusher = await rawClient(port);
  try {
    blocked.send(Buffer.from(`*3\r\n$5\r\nBLPOP\r\n$${l1.length}\r\n${l1}\r\n$1\r\n0\r\n`));
    // BLPOP registered: CLIENT LIST shows the command.
    for (let i = 0; ; i++) {
      if ((await pusher.call(['CLIENT', 'LIST'])).raw.toString('latin1').includes('cmd=blpop')) break;
      if (i > 200) throw new Error('BLPOP never blocked');
      await new Promise((r) => setTimeout(r, 10));
    }
    // redis-server 7.0 answers 1 (the waiter is served after the script), then BLPOP gets x.
    assert.is((await pusher.call(['EVAL', "redis.call('rpush', KEYS[1], 'x') return redis.call('llen', KEYS[1])", '1', l1])).raw.toString(), ':1\r\n');
    const [got] = await blocked.read(1, 10_000);
    assert.is(got!.raw.toString(), `*2\r\n$${l1.length}\r\n${l1}\r\n$1\r\nx\r\n`);
    assert.is((await pusher.call(['LLEN', l1])).raw.toString(), ':0\r\n');
  } finally {
    blocked.close();
    pusher.close();
  }
});

timed('slot: keys of one slot run in their shard and reach undeclared keys of that slot; keys of several slots, or none, reach any key', async () => {
  const port = srv!.port;
  assert.is(await call(port, ['CONFIG', 'SET', 'script-undeclared-keys', 'slot']), '+OK\r\n');
  assert.is(await call(port, ['CONFIG', 'GET', 'script-undeclared-keys']), '*2\r\n$22\r\nscript-undeclared-keys\r\n$4\r\nslot\r\n');
  await call(port, ['SET', a1, 'v']);
  // One declared key: it runs in its shard, so a key of another shard is refused (as in Redis Cluster).
  assert.match(await call(port, ['EVAL', "return redis.call('get', ARGV[1])", '1', a0, a1]), /^-ERR Script attempted to access a key of another shard/);
  // Declared keys sharing a {tag}, and an undeclared key with the same tag: all in one slot.
  await call(port, ['SET', '{bq}:job:7', 'payload']);
  assert.is(await call(port, ['EVAL', "redis.call('rpush', KEYS[2], ARGV[1]) return redis.call('get', '{bq}:job:' .. ARGV[1])", '2', '{bq}:wait', '{bq}:active', '7']), '$7\r\npayload\r\n');
  // Declared keys of several slots, or none: every shard locked, any key.
  assert.is(await call(port, ['EVAL', "return redis.call('get', ARGV[1])", '2', a0, a2, a1]), '$1\r\nv\r\n');
  assert.is(await call(port, ['EVAL', "return redis.call('get', ARGV[1])", '0', a1]), '$1\r\nv\r\n');
});

timed('deny: an undeclared key of another shard is an error (CONFIG SET, back to allow)', async () => {
  const port = srv!.port;
  await call(port, ['SET', a1, 'v']);
  assert.is(await call(port, ['CONFIG', 'SET', 'script-undeclared-keys', 'deny']), '+OK\r\n');
  try {
    assert.is(await call(port, ['CONFIG', 'GET', 'script-undeclared-keys']), '*2\r\n$22\r\nscript-undeclared-keys\r\n$4\r\ndeny\r\n');
    assert.match(await call(port, ['EVAL', "return redis.call('get', ARGV[1])", '1', a0, a1]), /^-ERR Script attempted to access a key of another shard/);
    // Keys of one shard declared: fine.
    assert.is(await call(port, ['EVAL', "return redis.call('get', KEYS[1])", '1', a1]), '$1\r\nv\r\n');
    assert.match(await call(port, ['CONFIG', 'SET', 'script-undeclared-keys', 'maybe']), /^-ERR/);
  } finally {
    await call(port, ['CONFIG', 'SET', 'script-undeclared-keys', 'allow']);
  }
  assert.is(await call(port, ['EVAL', "return redis.call('get', ARGV[1])", '1', a0, a1]), '$1\r\nv\r\n');
});

diff.run();
only.run();
