// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT against a real redis-server 7.0, byte for byte in
// RESP2 and RESP3 (Tessera with two shards: keys share a hash tag where a script reads or writes
// several); then real clients (ioredis defineCommand and its EVALSHA retry after NOSCRIPT,
// node-redis scripts, redis-cli --eval), SCRIPT KILL of a busy script seen by another client as
// -BUSY, UNKILLABLE, and atomicity against concurrent clients on every shard.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { createClient, defineScript } from 'redis';
import { rawClient, redisCli, requireTool, startTessera, waitFor, type ServerHandle } from './harness.js';
import { ServerPair, compareInOneNodeClusters, groupsOn, s, timedOn } from './differential-helpers.js';
import { keyOn, shardOf } from './shard-keys.js';

const TEST_TIMEOUT_MS = 60_000;
const pair = new ServerPair();
const diff = suite('scripts: redis-server vs tessera');
diff.before(pair.start);
const group = groupsOn(diff, pair, { protos: [2, 3], timeoutMs: TEST_TIMEOUT_MS });

const GET = "return redis.call('get', KEYS[1])";

group('Lua to RESP conversions', [
  s(['EVAL', 'return 1', '0']),
  s(['EVAL', 'return 3.99', '0']),
  s(['EVAL', 'return -7', '0']),
  s(['EVAL', "return 'hello'", '0']),
  s(['EVAL', 'return true', '0']),
  s(['EVAL', 'return false', '0']),
  s(['EVAL', 'return nil', '0']),
  s(['EVAL', "return {1, 2, 3, 'four', {5, 'six'}}", '0']),
  s(['EVAL', 'return {1, nil, 3}', '0']),
  s(['EVAL', "return {ok = 'FINE'}", '0']),
  s(['EVAL', "return {err = 'My error'}", '0']),
  s(['EVAL', "return redis.status_reply('STATUS')", '0']),
  s(['EVAL', "return redis.error_reply('ERR custom')", '0']),
  s(['EVAL', "return redis.error_reply('custom without prefix')", '0']),
  s(['EVAL', "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}", '2', '{t}a', '{t}b', 'x', 'y']),
  s(['EVAL', "return redis.sha1hex('')", '0']),
  s(['EVAL', 'return {}', '0']),
]);

group('RESP to Lua: command replies inside a script', [
  s(['SET', '{t}s', 'v']),
  s(['RPUSH', '{t}l', 'a', 'b', 'c']),
  s(['HSET', '{t}h', 'f', '1']),
  s(['EVAL', "return redis.call('get', KEYS[1])", '1', '{t}s']),
  s(['EVAL', "return redis.call('get', KEYS[1]) == false", '1', '{t}missing']),
  s(['EVAL', "return redis.call('lrange', KEYS[1], 0, -1)", '1', '{t}l']),
  s(['EVAL', "return redis.call('incr', KEYS[1])", '1', '{t}n']),
  s(['EVAL', "return type(redis.call('incr', KEYS[1]))", '1', '{t}n']),
  s(['EVAL', "return redis.call('set', KEYS[1], 'x')", '1', '{t}s']),
  s(['EVAL', "local r = redis.call('set', KEYS[1], 'x') return r.ok", '1', '{t}s']),
  s(['EVAL', "return redis.call('hgetall', KEYS[1])", '1', '{t}h']),
  s(['EVAL', "local r = redis.pcall('incr', KEYS[1]) return r.err", '1', '{t}s']),
  s(['EVAL', "return redis.pcall('incr', KEYS[1])", '1', '{t}s']),
  s(['EVAL', "return redis.call('incr', KEYS[1])", '1', '{t}s']),
  s(['EVAL', "redis.call('set', KEYS[1], ARGV[1]) redis.call('expire', KEYS[1], 100) return redis.call('ttl', KEYS[1])", '1', '{t}e', 'v']),
  s(['EVAL', "return redis.call('ping')", '0']),
  s(['EVAL', "return redis.call('echo', 'hi')", '0']),
  s(['GET', '{t}s']),
]);

group('errors from scripts, with their lines', [
  s(['EVAL', "return redis.call('nosuch')", '0']),
  s(['EVAL', "return redis.call('get')", '0']),
  s(['EVAL', "return redis.call('multi')", '0']),
  s(['EVAL', "return redis.call('eval', 'return 1', 0)", '0']),
  s(['EVAL', "return redis.call('blpop', 'a', 0)", '0']),
  s(['EVAL', "\n\nreturn redis.call('nosuch')", '0']),
  s(['EVAL', 'x = = 1', '0']),
  s(['EVAL', "error('boom')", '0']),
  s(['EVAL', "error({err='ERR table error'})", '0']),
  s(['EVAL', 'return 1', '-1']),
  s(['EVAL', 'return 1', '2', 'a']),
  s(['EVAL', 'return 1', 'x']),
  s(['EVAL_RO', "return redis.call('set', KEYS[1], 'b')", '1', '{t}a']),
  s(['EVAL_RO', "return redis.call('get', KEYS[1])", '1', '{t}a']),
  s(['EVAL', "#!lua flags=no-writes\nreturn redis.call('set', KEYS[1], '1')", '1', '{t}a']),
  s(['EVAL', "#!lua\nreturn redis.call('set', KEYS[1], '1')", '1', '{t}a']),
  s(['EVAL_RO', '#!lua\nreturn 1', '0']),
  s(['EVAL_RO', '#!lua flags=no-writes\nreturn 1', '0']),
  s(['EVAL', '#!lua flags=bad\nreturn 1', '0']),
  s(['EVAL', "return redis.call('incr', KEYS[1])", '1', '{t}a']),
]);

group('EVALSHA and the script cache', [
  s('SCRIPT FLUSH'),
  s(['EVALSHA', 'ffffffffffffffffffffffffffffffffffffffff', '0']),
  s(['EVALSHA', 'abc', '0']),
  s(['EVALSHA', 'abc', 'x']),
  s(['EVALSHA', 'ffffffffffffffffffffffffffffffffffffffff', 'x']),
  s(['SCRIPT', 'LOAD', GET]),
  s(['SCRIPT', 'LOAD', 'x = = 1']),
  s(['SCRIPT', 'EXISTS', 'b34a2a3bed0d1d1b1a9db6e1b0b1d4f0d8b3f7c1', 'nope']),
  s(['SET', '{t}k', 'val']),
  s(['EVALSHA', 'fd758d1589d044dd850a6f05d52f2eefd27f033f', '1', '{t}k']),
  s(['EVALSHA', 'FD758D1589D044DD850A6F05D52F2EEFD27F033F', '1', '{t}k']),
  s(['EVALSHA_RO', 'fd758d1589d044dd850a6f05d52f2eefd27f033f', '1', '{t}k']),
  s(['SCRIPT', 'EXISTS', 'fd758d1589d044dd850a6f05d52f2eefd27f033f', 'ffffffffffffffffffffffffffffffffffffffff']),
  s(['EVAL', 'return 42', '0']),
  s(['SCRIPT', 'EXISTS', '1fa00e76656cc152ad327c13fe365858fd7be306']),
  s(['EVALSHA', '1fa00e76656cc152ad327c13fe365858fd7be306', '0']),
  s(['EVALSHA', '1fa00e76656cc152ad327c13fe365858fd7be306', '1', 'on-any-shard']),
  s(['EVALSHA', '1fa00e76656cc152ad327c13fe365858fd7be306', '1', 'another-key']),
  s('SCRIPT FLUSH ASYNC'),
  s('SCRIPT FLUSH SYNC'),
  s('SCRIPT FLUSH BAD'),
  s(['SCRIPT', 'EXISTS', 'fd758d1589d044dd850a6f05d52f2eefd27f033f']),
  s(['EVALSHA', 'fd758d1589d044dd850a6f05d52f2eefd27f033f', '1', '{t}k']),
  s('SCRIPT KILL'),
  s('SCRIPT'),
  s('SCRIPT LOAD'),
  s('SCRIPT EXISTS'),
  s('SCRIPT NOSUCH'),
  s('EVAL'),
  s('EVAL x'),
]);

diff.after(pair.stop);
diff.run();

// ---------------------------------------------------------------------------------------------
// Real clients, busy scripts, atomicity

const live = suite('scripts: clients, SCRIPT KILL, atomicity');
let srv: ServerHandle | undefined;
live.before(async () => {
  // deny: scripts run in their keys' shard (killable, -BUSY), and an undeclared key of another
  // shard is an error; allow, the default, is tested in script-undeclared-keys.test.ts.
  srv = await startTessera({ shards: 3, args: ['--busy-reply-threshold', '100', '--script-undeclared-keys', 'deny'] });
});
live.after(async () => {
  await srv?.stop();
});
const timed = timedOn(live, TEST_TIMEOUT_MS);

timed('ioredis defineCommand, and its EVALSHA retry after SCRIPT FLUSH (NOSCRIPT)', async () => {
  const r = new Redis({ port: srv!.port, lazyConnect: true, maxRetriesPerRequest: 1 });
  await r.connect();
  try {
    r.defineCommand('incrCap', { numberOfKeys: 1, lua: "local v = redis.call('incr', KEYS[1]) if v > tonumber(ARGV[1]) then redis.call('set', KEYS[1], ARGV[1]) return tonumber(ARGV[1]) end return v" });
    const cmd = r as unknown as { incrCap(key: string, cap: number): Promise<number> };
    for (const key of ['io:a', 'io:b', 'io:c', 'io:d']) {
      assert.is(await cmd.incrCap(key, 2), 1);
      assert.is(await cmd.incrCap(key, 2), 2);
      assert.is(await cmd.incrCap(key, 2), 2);
    }
    assert.is(await r.script('FLUSH'), 'OK');
    // ioredis sends EVALSHA, gets NOSCRIPT, and falls back to EVAL.
    assert.is(await cmd.incrCap('io:e', 5), 1);
    const sha = (await r.script('LOAD', 'return ARGV[1]')) as string;
    assert.is(await r.evalsha(sha, 0, 'x'), 'x');
    assert.match(await r.info('memory'), /\r\nnumber_of_cached_scripts:2\r\n/);
  } finally {
    r.disconnect();
  }
});

timed('node-redis scripts (defineScript, EVALSHA with NOSCRIPT fallback)', async () => {
  const c = createClient({
    socket: { port: srv!.port, reconnectStrategy: false },
    scripts: {
      add: defineScript({
        NUMBER_OF_KEYS: 1,
        SCRIPT: "return redis.call('incrby', KEYS[1], ARGV[1])",
        transformArguments(key: string, n: number): string[] {
          return [key, String(n)];
        },
        transformReply(reply: unknown): number {
          return reply as number;
        },
      }),
    },
  });
  await c.connect();
  try {
    assert.is(await c.add('nr:a', 5), 5);
    assert.is(await c.add('nr:a', 5), 10);
    assert.is(await c.sendCommand(['SCRIPT', 'FLUSH']), 'OK');
    assert.is(await c.add('nr:b', 3), 3);
    assert.is(await c.eval("return redis.call('get', KEYS[1])", { keys: ['nr:a'] }), '10');
  } finally {
    await c.quit();
  }
});

timed('redis-cli --eval', async () => {
  requireTool('redis-cli', ['--version'], 'redis-tools');
  const { writeFileSync, mkdtempSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'tessera-eval-'));
  const file = join(dir, 'script.lua');
  writeFileSync(file, "redis.call('set', KEYS[1], ARGV[1])\nreturn {KEYS[1], redis.call('get', KEYS[1])}\n");
  const r = await redisCli(['-p', String(srv!.port), '--eval', file, 'cli:k', ',', 'hello']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, 'cli:k\nhello\n');
});

/** Waits until a client's PING gets -BUSY (the script runs past the threshold). */
async function waitBusy(port: number): Promise<string> {
  const c = await rawClient(port);
  try {
    return await waitFor('a -BUSY reply to PING', async () => {
      const rep = (await c.call(['PING'])).raw.toString();
      return rep.startsWith('-BUSY') ? rep : false;
    });
  } finally {
    c.close();
  }
}

timed('SCRIPT KILL of a busy script: another client sees -BUSY, then KILL, then all works', async () => {
  const port = srv!.port;
  const runner = await rawClient(port);
  const other = await rawClient(port);
  try {
    runner.sendCommand('EVAL', 'while true do end', '0');
    const busy = await waitBusy(port);
    assert.is(busy, '-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n');
    assert.is((await other.call(['FUNCTION', 'KILL'])).raw.toString(), '-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n');
    assert.is((await other.call(['SCRIPT', 'KILL'])).raw.toString(), '+OK\r\n');
    const [killed] = await runner.read(1, 10_000);
    assert.match(killed!.raw.toString(), /^-ERR Script killed by user with SCRIPT KILL\.\.\./);
    assert.is((await other.call(['PING'])).raw.toString(), '+PONG\r\n');
    assert.is((await other.call(['SCRIPT', 'KILL'])).raw.toString(), '-NOTBUSY No scripts in execution right now.\r\n');
  } finally {
    runner.close();
    other.close();
  }
});

timed('UNKILLABLE: a busy script that wrote cannot be killed; it ends on its own', async () => {
  const port = srv!.port;
  const runner = await rawClient(port);
  const other = await rawClient(port);
  try {
    // Writes, then spins for 1.5 s (past the 100 ms threshold), then ends by itself.
    runner.sendCommand('EVAL', "redis.call('set', KEYS[1], 'w') local t = redis.call('time') local s = t[1] * 1000000 + t[2] while true do local n = redis.call('time') if n[1] * 1000000 + n[2] - s > 1500000 then break end end return 'done'", '1', 'unk:key');
    await waitBusy(port);
    assert.is((await other.call(['SCRIPT', 'KILL'])).raw.toString(), '-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.\r\n');
    const [done] = await runner.read(1, 10_000);
    assert.is(done!.raw.toString(), '$4\r\ndone\r\n');
    assert.is((await other.call(['GET', 'unk:key'])).raw.toString(), '$1\r\nw\r\n');
  } finally {
    runner.close();
    other.close();
  }
});

timed('atomicity: concurrent read-modify-write scripts on keys of every shard lose no update', async () => {
  const clients = await Promise.all(Array.from({ length: 8 }, () => new Redis({ port: srv!.port, lazyConnect: true })).map(async (c) => (await c.connect(), c)));
  const keys = Array.from({ length: 9 }, (_, i) => `atom:${i}`);
  const script = "local v = tonumber(redis.call('get', KEYS[1]) or '0') redis.call('set', KEYS[1], tostring(v + 1)) local w = tonumber(redis.call('get', KEYS[2]) or '0') redis.call('set', KEYS[2], tostring(w + 1)) return v";
  const rounds = 60;
  try {
    await Promise.all(clients.map(async (c) => {
      for (let i = 0; i < rounds; i++) {
        const k = keys[i % keys.length]!;
        await c.eval(script, 2, k, `{${k}}:twin`);
      }
    }));
    const total = clients.length * rounds;
    let sum = 0;
    let twins = 0;
    for (const k of keys) {
      sum += Number(await clients[0]!.get(k));
      twins += Number(await clients[0]!.get(`{${k}}:twin`));
    }
    assert.is(sum, total);
    assert.is(twins, total);
  } finally {
    for (const c of clients) c.disconnect();
  }
});

timed('a script whose keys span shards runs atomically: transfers never show a partial state', async () => {
  const accounts = [0, 1, 2].map((shard) => keyOn(shard, 3, 'acct:'));
  const c = new Redis({ port: srv!.port, lazyConnect: true });
  const observer = new Redis({ port: srv!.port, lazyConnect: true });
  await Promise.all([c.connect(), observer.connect()]);
  const transfer = "local a = tonumber(redis.call('get', KEYS[1])) redis.call('set', KEYS[1], tostring(a - 1)) local b = tonumber(redis.call('get', KEYS[2])) redis.call('set', KEYS[2], tostring(b + 1)) return a + b";
  const total = "local t = 0 for i = 1, #KEYS do t = t + tonumber(redis.call('get', KEYS[i])) end return t";
  try {
    await c.mset(accounts[0]!, '1000', accounts[1]!, '1000', accounts[2]!, '1000');
    let stop = false;
    const sums: number[] = [];
    const watching = (async () => {
      while (!stop) sums.push(Number(await observer.eval(total, 3, ...accounts)));
    })();
    const movers = Array.from({ length: 4 }, async (_, w) => {
      const m = new Redis({ port: srv!.port, lazyConnect: true });
      await m.connect();
      try {
        for (let i = 0; i < 50; i++) await m.eval(transfer, 2, accounts[(i + w) % 3]!, accounts[(i + w + 1) % 3]!);
      } finally {
        m.disconnect();
      }
    });
    await Promise.all(movers);
    stop = true;
    await watching;
    assert.ok(sums.length > 0);
    assert.equal([...new Set(sums)], [3000]);
    assert.is(Number(await c.eval(total, 3, ...accounts)), 3000);
    // The same through FCALL, and an undeclared key of another shard from an in-shard script.
    await c.call('FUNCTION', 'LOAD', 'REPLACE', "#!lua name=tx\nredis.register_function('total', function(keys) local t = 0 for i = 1, #keys do t = t + tonumber(redis.call('get', keys[i])) end return t end)");
    assert.is(await c.call('FCALL', 'total', '3', ...accounts), 3000);
    const undeclared = await c.eval("return redis.call('get', ARGV[1])", 1, accounts[0]!, accounts[1]!).then(String, (e: Error) => e.message);
    assert.match(undeclared, /Script attempted to access a key of another shard/);
  } finally {
    c.disconnect();
    observer.disconnect();
  }
});

timed('PUBLISH from a script reaches subscribers (in a shard, and from a script spanning shards)', async () => {
  const sub = new Redis({ port: srv!.port, lazyConnect: true });
  const pub = new Redis({ port: srv!.port, lazyConnect: true });
  await Promise.all([sub.connect(), pub.connect()]);
  try {
    const got: string[] = [];
    sub.on('message', (ch: string, msg: string) => got.push(`${ch}:${msg}`));
    await sub.subscribe('news');
    await pub.eval("redis.call('set', KEYS[1], 'x') return redis.call('publish', 'news', ARGV[1])", 1, 'pubkey', 'in-shard');
    const spanning = [0, 1].map((shard) => keyOn(shard, 3, 'pk:'));
    assert.is(await pub.eval("redis.call('set', KEYS[1], 'x') redis.call('set', KEYS[2], 'y') return redis.call('publish', 'news', ARGV[1])", 2, spanning[0]!, spanning[1]!, 'spanning'), 1);
    await waitFor('both messages', () => got.length === 2);
    assert.equal(got.sort(), ['news:in-shard', 'news:spanning']);
  } finally {
    sub.disconnect();
    pub.disconnect();
  }
});

timed('a restarted shard worker gets the node\'s scripts and libraries back (DEBUG SHARD-CRASH)', async () => {
  const c = new Redis({ port: srv!.port, lazyConnect: true });
  await c.connect();
  try {
    const key = keyOn(1, 3, 'crash:');
    const sha = (await c.script('LOAD', "return redis.call('incr', KEYS[1])")) as string;
    await c.call('FUNCTION', 'LOAD', 'REPLACE', "#!lua name=crashlib\nredis.register_function('cr', function(keys) return redis.call('incr', keys[1]) end)");
    assert.is(await c.evalsha(sha, 1, key), 1);
    const restarts = async (): Promise<number> => Number(/shard_restarts:(\d+)/.exec(await c.info('server') + await c.info('stats'))?.[1] ?? '0');
    const before = await restarts();
    assert.is(await c.call('DEBUG', 'SHARD-CRASH', '1'), 'OK');
    await waitFor('the shard restarted', async () => (await restarts()) > before, 15_000);
    await waitFor('EVALSHA on the restarted shard', async () => (await c.evalsha(sha, 1, key).catch(() => 0)) === 2, 15_000);
    assert.is(await c.call('FCALL', 'cr', '1', key), 3);
  } finally {
    c.disconnect();
  }
});

timed('--shard-threads no: scripts and functions in inline shards, and across them', async () => {
  const inline = await startTessera({ shards: 3, args: ['--shard-threads', 'no'] });
  const c = new Redis({ port: inline.port, lazyConnect: true });
  try {
    await c.connect();
    const [k0, k1] = [keyOn(0, 3, 'in:'), keyOn(2, 3, 'in:')];
    assert.is(await c.eval("return redis.call('incr', KEYS[1])", 1, k0), 1);
    const sha = (await c.script('LOAD', "return redis.call('incr', KEYS[1])")) as string;
    assert.is(await c.evalsha(sha, 1, k1), 1);
    assert.equal(await c.eval("return {redis.call('incr', KEYS[1]), redis.call('incr', KEYS[2])}", 2, k0, k1), [2, 2]);
    await c.call('FUNCTION', 'LOAD', "#!lua name=il\nredis.register_function('il', function(keys) return redis.call('incr', keys[1]) end)");
    assert.is(await c.call('FCALL', 'il', '1', k1), 3);
  } finally {
    c.disconnect();
    await inline.stop();
  }
});

timed('cluster mode: one slot runs, CROSSSLOT for declared keys, undeclared keys of the same shard (as a one-node redis-server cluster)', async () => {
  const near = keyOn(shardOf('{u}b', 3), 3, 'near:');
  const nearZero = keyOn(0, 3, 'near0:');
  await compareInOneNodeClusters('scripts-cluster', 3, [
    ['EVAL', "redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[2])", '2', '{u}a', '{u}b', 'v'],
    ['EVAL', "return redis.call('set', KEYS[1], 'x')", '2', 'a', 'b'],
    ['EVAL', "return redis.call('get', '{u}a')", '1', '{u}b'],
    ['EVAL', `return redis.call('get', '${near}')`, '1', '{u}b'],
    ['EVAL', `redis.call('set', '${nearZero}', '1') return redis.call('get', '${nearZero}')`, '0'],
    ['FUNCTION', 'LOAD', "#!lua name=c\nredis.register_function('c', function(keys) return redis.call('incr', keys[1]) end)"],
    ['FCALL', 'c', '1', '{u}c'],
    ['FCALL', 'c', '2', 'a', 'b'],
  ]);
});

live.run();
