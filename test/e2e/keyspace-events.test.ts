// Keyspace notifications end to end. The same commands, covering every family (strings, generic,
// lists and blocking pops, hashes, sets, sorted sets, SORT STORE, RENAME/COPY/RESTORE...), run on
// redis-server 7.0 and on Tessera while a subscriber on each PSUBSCRIBEs `__key*__:*`; the message
// sequences must agree, in RESP2 and RESP3. On one shard the order must be Redis's exactly; with
// several shards (worker threads, and `--shard-threads no`) each key's own events must be in
// Redis's order and no event may be missing or extra (a command fanned out over shards, such as
// DEL of keys on two shards, has no order between its shards). Then expired (lazy and active) and
// evicted events, CONFIG's normalisation, ioredis receiving events, and a flood of events towards
// a subscriber that never reads (dropped at its output limit, the server's memory bounded).
// No sleeping: after each command a PUBLISH on a marker channel tells when its events are all in.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { encodeCommand, rawClient, requireTool, show, startRedis, startTessera, waitFor, withTimeout, type RawClient, type RespValue, type ServerHandle } from './harness.js';

const T = 120_000;
const test = suite('keyspace events');

function timed(name: string, fn: () => Promise<void>, ms = T): void {
  test(name, () => withTimeout(fn(), ms, name));
}

/** Commands whose reply is random (compared by their events only). */
const RANDOM_REPLY = new Set(['spop']);

const DUMP_SOURCE = 'dumpsrc';

/** Every family's writes, with the cases where Redis emits nothing or something else (SETNX that
 * does not set, SREM of nothing, EXPIRE in the past = del, RENAME onto itself...). */
const COMMANDS: string[][] = [
  // strings
  ['set', 's1', 'v'], ['set', 's1', 'v2', 'EX', '100'], ['set', 's1', 'v', 'NX'], ['set', 's2', 'v', 'XX'], ['setnx', 's2', 'x'], ['setnx', 's2', 'y'],
  ['setex', 's3', '100', 'v'], ['psetex', 's4', '100000', 'v'], ['getset', 's1', 'z'], ['getdel', 's1'], ['getdel', 's1'],
  ['set', 's5', 'v'], ['getex', 's5', 'EX', '100'], ['getex', 's5', 'PERSIST'], ['getex', 's5', 'PERSIST'], ['getex', 's5', 'PXAT', '1'],
  ['mset', 'm1', 'a', 'm2', 'b'], ['msetnx', 'm3', 'a', 'm1', 'b'], ['msetnx', 'm3', 'a', 'm4', 'b'],
  ['incr', 'n1'], ['decr', 'n1'], ['incrby', 'n1', '5'], ['decrby', 'n1', '2'], ['incrbyfloat', 'n1', '1.5'], ['incr', 'm1'], ['incr', 's2'],
  ['append', 's6', 'ab'], ['append', 's6', 'cd'], ['setrange', 's6', '1', 'XY'], ['setrange', 's7', '0', ''], ['setrange', 's6', '0', ''], ['setrange', 's8', '3', 'q'],
  ['get', 'nokey'], ['mget', 'nokey', 's6'],
  // generic
  ['del', 'm1', 'm2', 'nokey'], ['unlink', 'm3', 'm4'], ['expire', 's6', '100'], ['pexpire', 's6', '100000', 'XX'], ['expire', 's6', '100', 'NX'],
  ['expireat', 's6', '99999999999'], ['persist', 's6'], ['persist', 's6'], ['expire', 's6', '-1'], ['expire', 'nokey', '10'],
  ['set', 'r1', 'v'], ['rename', 'r1', 'r2'], ['rename', 'r2', 'r2'], ['set', 'r3', 'w'], ['rename', 'r2', 'r3'], ['renamenx', 'r3', 'r4'], ['set', 'r5', 'x'], ['renamenx', 'r4', 'r5'],
  ['rename', 'nokey', 'r9'],
  ['copy', 'r4', 'r6'], ['copy', 'r4', 'r6'], ['copy', 'r4', 'r6', 'REPLACE'], ['pexpireat', 'r6', '1'],
  ['set', DUMP_SOURCE, 'payload'],
  // lists
  ['lpush', 'l1', 'a', 'b', 'c'], ['rpush', 'l1', 'd'], ['lpushx', 'l2', 'a'], ['rpushx', 'l1', 'e'], ['linsert', 'l1', 'BEFORE', 'a', 'x'], ['linsert', 'l1', 'BEFORE', 'zz', 'x'],
  ['lset', 'l1', '0', 'y'], ['lset', 'l1', '99', 'y'], ['lpop', 'l1'], ['rpop', 'l1', '2'], ['lpop', 'l1', '0'], ['lrem', 'l1', '0', 'zz'], ['lrem', 'l1', '0', 'a'],
  ['rpush', 'l3', '1', '2', '3', '4'], ['ltrim', 'l3', '1', '2'], ['ltrim', 'l3', '5', '6'], ['ltrim', 'l3', '0', '1'],
  ['rpush', 'l4', 'a', 'b'], ['lmove', 'l4', 'l5', 'LEFT', 'RIGHT'], ['rpoplpush', 'l4', 'l5'], ['lmove', 'l5', 'l5', 'LEFT', 'LEFT'],
  ['rpush', 'l6', 'q'], ['lmove', 'l6', 'l6', 'LEFT', 'RIGHT'], ['lmpop', '2', 'l7', 'l5', 'RIGHT', 'COUNT', '5'],
  ['rpush', 'l8', 'a', 'b'], ['blpop', 'l8', '1'], ['brpop', 'l8', '1'], ['rpush', 'l9', 'a'], ['blmove', 'l9', 'l10', 'RIGHT', 'LEFT', '1'], ['blmpop', '1', '2', 'l10', 'l11', 'LEFT'],
  ['rpush', 'l12', 'x'], ['sort', 'l12', 'STORE', 'l13'], ['sort', 'nolist', 'STORE', 'l13'], ['rpush', 'l14', '3', '1', '2'], ['sort', 'l14', 'STORE', 'l14'],
  // hashes
  ['hset', 'h1', 'f', 'v', 'g', 'w'], ['hset', 'h1', 'f', 'v'], ['hmset', 'h1', 'a', '1'], ['hsetnx', 'h1', 'f', 'x'], ['hsetnx', 'h1', 'z', 'x'],
  ['hincrby', 'h1', 'a', '2'], ['hincrbyfloat', 'h1', 'a', '0.5'], ['hincrby', 'h1', 'f', '1'], ['hdel', 'h1', 'nope'], ['hdel', 'h1', 'f', 'g'], ['hdel', 'h1', 'a', 'z'],
  // sets
  ['sadd', 't1', 'a', 'b', 'c'], ['sadd', 't1', 'a'], ['srem', 't1', 'zz'], ['srem', 't1', 'a'], ['sadd', 't2', 'b', 'x'],
  ['smove', 't1', 't2', 'b'], ['smove', 't1', 't3', 'c'], ['smove', 't2', 't2', 'x'], ['smove', 't2', 't9', 'nope'],
  ['sadd', 't4', '1', '2', '3'], ['spop', 't4'], ['spop', 't4', '0'], ['spop', 't4', '5'],
  ['sadd', 't5', 'a', 'b'], ['sadd', 't6', 'b', 'c'], ['sinterstore', 't7', 't5', 't6'], ['sunionstore', 't7', 't5', 't6'], ['sdiffstore', 't7', 't5', 't6'],
  ['sinterstore', 't7', 't5', 'nos'], ['sinterstore', 't7', 't5', 'nos'], ['sunionstore', 't8', 'nos'],
  // sorted sets
  ['zadd', 'z1', '1', 'a', '2', 'b'], ['zadd', 'z1', '1', 'a'], ['zadd', 'z1', '5', 'a'], ['zadd', 'z1', 'NX', '9', 'a'], ['zadd', 'z1', 'XX', 'CH', '3', 'a'],
  ['zadd', 'z1', 'INCR', '1', 'b'], ['zincrby', 'z1', '2', 'c'], ['zadd', 'z1', 'GT', '0', 'c'], ['zrem', 'z1', 'nope'], ['zrem', 'z1', 'c'],
  ['zadd', 'z2', '1', 'a', '2', 'b', '3', 'c', '4', 'd'], ['zremrangebyscore', 'z2', '10', '20'], ['zremrangebyscore', 'z2', '1', '1'], ['zremrangebyrank', 'z2', '0', '0'],
  ['zremrangebylex', 'z2', '-', '+'],
  ['zadd', 'z3', '1', 'a', '2', 'b', '3', 'c'], ['zpopmin', 'z3'], ['zpopmax', 'z3', '5'], ['zpopmin', 'z3'],
  ['zadd', 'z4', '1', 'a'], ['zadd', 'z5', '2', 'b'], ['zunionstore', 'z6', '2', 'z4', 'z5'], ['zinterstore', 'z6', '2', 'z4', 'z5'], ['zdiffstore', 'z6', '2', 'z4', 'z5'],
  ['zinterstore', 'z6', '2', 'z4', 'z5'],
  ['zrangestore', 'z7', 'z4', '0', '-1'], ['zrangestore', 'z7', 'z4', '5', '6'],
  ['zadd', 'z8', '1', 'a', '2', 'b'], ['zmpop', '2', 'z9', 'z8', 'MIN', 'COUNT', '1'], ['bzpopmin', 'z8', '1'], ['zadd', 'z8', '1', 'a'], ['bzpopmax', 'z8', '1'],
  ['zadd', 'z8', '1', 'a', '2', 'b'], ['bzmpop', '1', '1', 'z8', 'MAX', 'COUNT', '5'],
  // commands run by a script: their events, in order
  ['eval', "redis.call('set', KEYS[1], 'v'); redis.call('lpush', KEYS[2], 'a'); redis.call('del', KEYS[1], KEYS[2]); return 1", '2', '{e}1', '{e}2'],
  ['eval', "redis.call('hset', KEYS[1], 'f', 'v'); return redis.pcall('incr', KEYS[1])", '1', '{e}3'],
  // reads of a missing key: keymiss (class m)
  ['type', 'nokey'], ['exists', 'nokey'], ['ttl', 'nokey'], ['strlen', 'nokey'], ['getrange', 'nokey', '0', '1'], ['lrange', 'nokey', '0', '-1'], ['llen', 'nokey'],
  ['lindex', 'nokey', '0'], ['hget', 'nokey', 'f'], ['hgetall', 'nokey'], ['hlen', 'nokey'], ['smembers', 'nokey'], ['scard', 'nokey'], ['sismember', 'nokey', 'a'],
  ['zscore', 'nokey', 'a'], ['zcard', 'nokey'], ['zrange', 'nokey', '0', '-1'], ['touch', 'nokey'], ['sinter', 'nokey', 't5'], ['zunion', '2', 'nokey', 'z4'],
  // wrong types: no event
  ['lpush', 's6', 'x'], ['sadd', 'l1', 'x'], ['hset', 'z1', 'f', 'v'], ['zadd', 'h1', '1', 'x'],
];

/** One message a subscriber got: its channel and payload. */
interface Event {
  channel: string;
  message: string;
}

function parts(v: RespValue): string[] {
  if ((v.type !== 'array' && v.type !== 'push') || v.value === null) throw new Error(`not a pub/sub message: ${JSON.stringify(v.type)}`);
  return v.value.map((x) => (x.type === 'bulk' && x.value !== null ? x.value.toString('latin1') : x.type === 'integer' ? String(x.value) : ''));
}

/** A subscriber to every keyspace event, and a marker channel that ends each command's share. */
async function subscriber(port: number, proto: 2 | 3): Promise<RawClient> {
  const sub = await rawClient(port);
  if (proto === 3) await sub.call(['HELLO', '3']);
  sub.sendCommand('PSUBSCRIBE', '__key*__:*');
  sub.sendCommand('SUBSCRIBE', 'mark');
  await sub.read(2);
  return sub;
}

/** The events up to the marker message `mark`. */
async function eventsUntil(sub: RawClient, mark: string): Promise<Event[]> {
  const got: Event[] = [];
  for (;;) {
    const [r] = await sub.read(1, 10_000);
    const p = parts(r!.value);
    if (p[0] === 'message' && p[1] === 'mark') {
      if (p[2] === mark) return got;
      continue;
    }
    assert.is(p[0], 'pmessage', `unexpected push ${show(r!.raw)}`);
    got.push({ channel: p[2]!, message: p[3]! });
  }
}

/** Runs COMMANDS on a server with a subscriber: per command, its reply and its events. */
async function runAll(srv: ServerHandle, proto: 2 | 3, flags: string): Promise<Array<{ reply: string; events: Event[] }>> {
  const c = await rawClient(srv.port);
  const sub = await subscriber(srv.port, proto);
  try {
    if (proto === 3) await c.call(['HELLO', '3']);
    await c.call(['FLUSHALL']);
    assert.is((await c.call(['CONFIG', 'SET', 'notify-keyspace-events', flags])).text, '+OK\r\n');
    const out: Array<{ reply: string; events: Event[] }> = [];
    for (let i = 0; i < COMMANDS.length; i++) {
      const reply = (await c.call(COMMANDS[i]!)).text;
      // RESTORE of a DUMP taken on this very server (payloads are server-specific only in form).
      if (COMMANDS[i]![1] === DUMP_SOURCE) {
        const dump = await c.call(['DUMP', DUMP_SOURCE]);
        const payload = dump.value.type === 'bulk' ? dump.value.value! : Buffer.alloc(0);
        for (const cmd of [['RESTORE', 'd1', '0', payload], ['RESTORE', 'd1', '0', payload], ['RESTORE', 'd1', '0', payload, 'REPLACE'], ['RESTORE', 'd1', '1', payload, 'REPLACE', 'ABSTTL']]) {
          await c.call(cmd as Array<string | Buffer>);
        }
      }
      await c.call(['PUBLISH', 'mark', String(i)]);
      out.push({ reply, events: await eventsUntil(sub, String(i)) });
    }
    await c.call(['CONFIG', 'SET', 'notify-keyspace-events', '']);
    return out;
  } finally {
    c.close();
    sub.close();
  }
}

/** The key an event is about (the keyspace channel's suffix, or the keyevent's message). */
function keyOf(e: Event): string {
  return e.channel.startsWith('__keyspace@0__:') ? e.channel.slice('__keyspace@0__:'.length) : e.message;
}

function byKey(events: Event[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const e of events) {
    const k = keyOf(e);
    let l = m.get(k);
    if (!l) m.set(k, (l = []));
    l.push(`${e.channel} ${e.message}`);
  }
  return m;
}

function fmt(events: Event[]): string {
  return events.map((e) => `${e.channel}=${e.message}`).join(', ');
}

async function differential(tesseraOpts: { shards: number; args?: string[] }, exactOrder: boolean, flags: string): Promise<void> {
  requireTool('redis-server', ['--version'], 'redis-server');
  const [redis, tessera] = await Promise.all([startRedis(), startTessera({ shards: tesseraOpts.shards, args: tesseraOpts.args ?? [] })]);
  try {
    for (const proto of [2, 3] as const) {
      const r = await runAll(redis, proto, flags);
      const t = await runAll(tessera, proto, flags);
      const diffs: string[] = [];
      let count = 0;
      for (let i = 0; i < COMMANDS.length; i++) {
        const cmd = COMMANDS[i]!.join(' ');
        const a = r[i]!;
        const b = t[i]!;
        count += a.events.length;
        if (!RANDOM_REPLY.has(COMMANDS[i]![0]!) && a.reply !== b.reply) diffs.push(`${cmd}: reply ${show(a.reply)} vs ${show(b.reply)}`);
        const same = exactOrder
          ? fmt(a.events) === fmt(b.events)
          : JSON.stringify([...byKey(a.events)].sort()) === JSON.stringify([...byKey(b.events)].sort());
        if (!same) diffs.push(`${cmd}:\n      redis:   ${fmt(a.events)}\n      tessera: ${fmt(b.events)}`);
      }
      assert.ok(count > 250, `only ${count} events from redis-server: the subscriber missed them`);
      assert.is(diffs.length, 0, `RESP${proto}, ${diffs.length} differences:\n    ${diffs.join('\n    ')}`);
    }
  } finally {
    await Promise.all([redis.stop(), tessera.stop()]);
  }
}

timed('same events as redis-server 7.0, in its order: one shard, every class (KEA + new + keymiss)', () => differential({ shards: 1 }, true, 'KEAnm'));
timed('same events per key as redis-server 7.0: four shard threads (cross-shard RENAME, COPY, SMOVE, LMOVE, STOREs)', () => differential({ shards: 4 }, false, 'KEA'));
timed('same events per key as redis-server 7.0: three shards on the main thread (--shard-threads no)', () => differential({ shards: 3, args: ['--shard-threads', 'no'] }, false, 'KEAn'));
timed('keyspace channel only (K$), keyevent only (Eg): the other kind and other classes stay silent', async () => {
  const srv = await startTessera({ shards: 2 });
  try {
    const c = await rawClient(srv.port);
    const sub = await subscriber(srv.port, 2);
    await c.call(['CONFIG', 'SET', 'notify-keyspace-events', 'K$']);
    await c.call(['SET', 'a', '1']);
    await c.call(['DEL', 'a']);
    await c.call(['PUBLISH', 'mark', '1']);
    assert.equal(await eventsUntil(sub, '1'), [{ channel: '__keyspace@0__:a', message: 'set' }]);
    await c.call(['CONFIG', 'SET', 'notify-keyspace-events', 'Eg']);
    await c.call(['SET', 'a', '1']);
    await c.call(['DEL', 'a']);
    await c.call(['PUBLISH', 'mark', '2']);
    assert.equal(await eventsUntil(sub, '2'), [{ channel: '__keyevent@0__:del', message: 'a' }]);
    await c.call(['CONFIG', 'SET', 'notify-keyspace-events', '']);
    await c.call(['SET', 'a', '1']);
    await c.call(['PUBLISH', 'mark', '3']);
    assert.equal(await eventsUntil(sub, '3'), []);
    c.close();
    sub.close();
  } finally {
    await srv.stop();
  }
});

for (const threads of [true, false]) {
  timed(`large batches: one command's events over several frames, a 6 MB key's events beside the ring; ${threads ? 'shard threads' : '--shard-threads no'}`, async () => {
    const srv = await startTessera({ shards: 2, args: ['--notify-keyspace-events', 'KEg$', ...(threads ? [] : ['--shard-threads', 'no'])] });
    try {
      const c = await rawClient(srv.port);
      const sub = await subscriber(srv.port, 3);
      // 300 keys of 1 KB on one shard ({t}): DEL's 600 messages (~620 KB) leave in several frames.
      const keys = Array.from({ length: 300 }, (_, i) => `{t}${String(i).padStart(1000, '0')}`);
      for (let i = 0; i < keys.length; i += 50) await c.call(['MSET', ...keys.slice(i, i + 50).flatMap((k) => [k, 'v'])]);
      await c.call(['PUBLISH', 'mark', 'set']);
      assert.is((await eventsUntil(sub, 'set')).length, 600);
      assert.is((await c.call(['DEL', ...keys])).text, ':300\r\n');
      await c.call(['PUBLISH', 'mark', 'del']);
      const dels = await eventsUntil(sub, 'del');
      assert.equal(dels, keys.flatMap((k) => [{ channel: `__keyspace@0__:${k}`, message: 'del' }, { channel: '__keyevent@0__:del', message: k }]));
      // A key longer than a reply ring's frame: its events travel over the side port.
      const big = 'b'.repeat(6 * 1024 * 1024);
      assert.is((await c.call(['SET', big, 'v'], 20_000)).text, '+OK\r\n');
      await c.call(['PUBLISH', 'mark', 'big']);
      const ev = await eventsUntil(sub, 'big');
      assert.is(ev.length, 2);
      assert.ok(ev[0]!.channel === `__keyspace@0__:${big}` && ev[0]!.message === 'set', 'the keyspace event of the 6 MB key');
      assert.ok(ev[1]!.channel === '__keyevent@0__:set' && ev[1]!.message === big, 'the keyevent event of the 6 MB key');
      c.close();
      sub.close();
    } finally {
      await srv.stop();
    }
  });
}

timed('CONFIG SET / GET notify-keyspace-events normalises as redis-server 7.0', async () => {
  requireTool('redis-server', ['--version'], 'redis-server');
  const [redis, tessera] = await Promise.all([startRedis(), startTessera({ shards: 1 })]);
  try {
    const rc = await rawClient(redis.port);
    const tc = await rawClient(tessera.port);
    assert.is((await tc.call(['CONFIG', 'GET', 'notify-keyspace-events'])).text, (await rc.call(['CONFIG', 'GET', 'notify-keyspace-events'])).text);
    for (const v of ['KEA', 'Ag$n', 'nKEm', 'g$lshzxetdn', 'Kx', 'EKgx', 'q', 'AAA', 'm', '', 'KA', 'E$lz', 'dt', 'Ke1']) {
      const a = await rc.call(['CONFIG', 'SET', 'notify-keyspace-events', v]);
      const b = await tc.call(['CONFIG', 'SET', 'notify-keyspace-events', v]);
      assert.is(b.text, a.text, `CONFIG SET ${JSON.stringify(v)}`);
      const ga = await rc.call(['CONFIG', 'GET', 'notify-keyspace-events']);
      const gb = await tc.call(['CONFIG', 'GET', 'notify-keyspace-events']);
      assert.is(gb.text, ga.text, `CONFIG GET after ${JSON.stringify(v)}`);
    }
    rc.close();
    tc.close();
  } finally {
    await Promise.all([redis.stop(), tessera.stop()]);
  }
});

for (const threads of [true, false]) {
  const opt = threads ? [] : ['--shard-threads', 'no'];
  const how = threads ? 'shard threads' : '--shard-threads no';
  timed(`expired events: lazy (on access) and active (the expire cycle, nobody touching the keys); ${how}`, async () => {
    const srv = await startTessera({ shards: 3, args: ['--notify-keyspace-events', 'Ex', '--hz', '50', ...opt] });
    try {
      const c = await rawClient(srv.port);
      const sub = await subscriber(srv.port, 2);
      // Lazy: the expire cycle is off; GET finds the key past its time.
      await c.call(['CONFIG', 'SET', 'active-expire-enabled', 'no']);
      await c.call(['SET', 'lazy', 'v', 'PX', '20']);
      await waitFor('GET to find the key expired', async () => (await c.call(['GET', 'lazy'])).text === '$-1\r\n');
      await c.call(['PUBLISH', 'mark', '1']);
      assert.equal(await eventsUntil(sub, '1'), [{ channel: '__keyevent@0__:expired', message: 'lazy' }]);
      // Active: 30 keys on three shards expire with nobody reading them.
      await c.call(['CONFIG', 'SET', 'active-expire-enabled', 'yes']);
      const keys = Array.from({ length: 30 }, (_, i) => `active:${i}`);
      for (const k of keys) await c.call(['SET', k, 'v', 'PX', '30']);
      const seen = new Set<string>();
      await withTimeout((async () => {
        while (seen.size < keys.length) {
          const [r] = await sub.read(1, 10_000);
          const p = parts(r!.value);
          assert.is(p[2], '__keyevent@0__:expired');
          seen.add(p[3]!);
        }
      })(), 20_000, 'the expired events of 30 keys');
      assert.equal([...seen].sort(), [...keys].sort());
      assert.is((await c.call(['DBSIZE'])).text, ':0\r\n');
      c.close();
      sub.close();
    } finally {
      await srv.stop();
    }
  });
}

timed('evicted events: one per key evicted under maxmemory (allkeys-lru), as many as INFO evicted_keys', async () => {
  const srv = await startTessera({ shards: 2, args: ['--notify-keyspace-events', 'Ee', '--maxmemory-policy', 'allkeys-lru'] });
  try {
    const c = await rawClient(srv.port);
    const sub = await subscriber(srv.port, 3);
    const value = 'x'.repeat(1000);
    for (let i = 0; i < 200; i++) await c.call(['SET', `k:${i}`, value]);
    const used = Number(/used_memory:(\d+)/.exec((await c.call(['INFO', 'memory'])).text)![1]);
    await c.call(['CONFIG', 'SET', 'maxmemory', String(Math.floor(used * 0.6))]);
    for (let i = 200; i < 260; i++) await c.call(['SET', `k:${i}`, value]);
    await c.call(['PUBLISH', 'mark', 'end']);
    const events = await eventsUntil(sub, 'end');
    const evicted = Number(/evicted_keys:(\d+)/.exec((await c.call(['INFO', 'stats'])).text)![1]);
    assert.ok(evicted > 0, 'nothing was evicted');
    assert.is(events.length, evicted);
    for (const e of events) assert.is(e.channel, '__keyevent@0__:evicted');
    // Each evicted key is gone.
    for (const e of events.slice(0, 20)) assert.is((await c.call(['EXISTS', e.message])).text, ':0\r\n');
    c.close();
    sub.close();
  } finally {
    await srv.stop();
  }
});

timed('ioredis psubscribe receives keyspace and keyevent messages', async () => {
  const srv = await startTessera({ shards: 3, args: ['--notify-keyspace-events', 'KEA'] });
  const sub = new Redis({ port: srv.port, lazyConnect: true, maxRetriesPerRequest: 1 });
  const cmd = new Redis({ port: srv.port, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await sub.connect();
    await cmd.connect();
    const got: string[] = [];
    sub.on('pmessage', (_pattern: string, channel: string, message: string) => got.push(`${channel} ${message}`));
    await sub.psubscribe('__keyspace@0__:user:*', '__keyevent@0__:hset');
    await cmd.hset('user:1', 'name', 'ada');
    await cmd.expire('user:1', 100);
    await cmd.del('user:1');
    await waitFor('the four events', () => got.length >= 4);
    assert.equal(got, ['__keyspace@0__:user:1 hset', '__keyevent@0__:hset user:1', '__keyspace@0__:user:1 expire', '__keyspace@0__:user:1 del']);
  } finally {
    sub.disconnect();
    cmd.disconnect();
    await srv.stop();
  }
});

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

function bareSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect({ port, host: '127.0.0.1' }, () => resolve(sock));
    sock.on('error', reject);
  });
}

timed('a flood of events towards a subscriber that never reads: it is dropped at its limit, writers go on, memory stays bounded', async () => {
  const srv = await startTessera({ shards: 2, args: ['--notify-keyspace-events', 'KA', '--client-output-buffer-limit', 'pubsub 4mb 1mb 60'] });
  try {
    const slow = await bareSocket(srv.port);
    slow.write(encodeCommand(['CLIENT', 'SETNAME', 'slow']));
    slow.write(encodeCommand(['PSUBSCRIBE', '__keyspace@0__:*']));
    const c = await rawClient(srv.port);
    await waitFor('the slow subscriber', async () => (await c.call(['PUBSUB', 'NUMPAT'])).text === ':1\r\n');
    slow.pause();
    const rss0 = rssBytes(srv.pid);
    let rssMax = rss0;
    // 100k events of ~1 KB each (long keys): ~100 MB towards a client that reads nothing.
    const BATCH = 500;
    const prefix = 'k'.repeat(1000);
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < BATCH; i++) c.sendCommand('SET', `${prefix}${i % 50}`, 'v');
      const replies = await c.read(BATCH, 20_000);
      for (const r of replies) assert.is(r.text, '+OK\r\n');
      if (round % 20 === 0) rssMax = Math.max(rssMax, rssBytes(srv.pid));
    }
    rssMax = Math.max(rssMax, rssBytes(srv.pid));
    assert.is((await c.call(['PUBSUB', 'NUMPAT'])).text, ':0\r\n');
    assert.not.match((await c.call(['CLIENT', 'LIST'])).text, /name=slow/);
    assert.ok(rssMax - rss0 < 96 * 1024 * 1024, `server memory grew by ${((rssMax - rss0) / 1048576).toFixed(1)} MB`);
    c.close();
    slow.destroy();
  } finally {
    await srv.stop();
  }
}, 180_000);

test.run();
