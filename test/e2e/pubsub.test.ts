// Pub/sub end to end on a 3-shard server: SUBSCRIBE ... SPUBLISH and PUBSUB byte for byte against
// redis-server in RESP2 and RESP3 (several raw connections per scenario, pushes read as replies),
// real clients (ioredis, node-redis v4, redis-cli), 1000 subscribers receiving the same messages
// in order, a subscriber that never reads dropped at the pubsub output limit while its publisher
// goes on, cleanup on disconnect, and the cluster key rules of the shard-channel commands.
// No sleeping: every wait is for a condition the server reports, under a deadline.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { encodeCommand, rawClient, requireTool, show, startTessera, waitFor, withTimeout, type RawClient, type ServerHandle } from './harness.js';
import { ServerPair, compareInOneNodeClusters } from './differential-helpers.js';

const T = 60_000;
const test = suite('pub/sub');
const pair = new ServerPair({ tessera: { shards: 3 } });
test.before(pair.start);
test.after(pair.stop);

function timed(name: string, fn: () => Promise<void>, ms = T): void {
  test(name, () => withTimeout(fn(), ms, name));
}

// ---------------------------------------------------------------------------------------------
// Differential scenarios: steps on named connections, each reading a given number of replies.

/** [connection, command (null: only read), replies to read]. */
type Step = [string, string[] | null, number];

async function runScenario(srv: ServerHandle, steps: Step[], proto: 2 | 3): Promise<string[]> {
  const conns = new Map<string, RawClient>();
  const got: string[] = [];
  try {
    for (const [name, cmd, n] of steps) {
      let c = conns.get(name);
      if (c === undefined) {
        c = await rawClient(srv.port);
        conns.set(name, c);
        if (proto === 3) await c.call(['HELLO', '3']);
      }
      if (cmd !== null) c.sendCommand(...cmd);
      const replies = n > 0 ? await c.read(n) : [];
      got.push(`${name} ${cmd?.join(' ') ?? '(read)'} => ${replies.map((r) => r.raw.toString('latin1')).join('')}`);
    }
  } finally {
    for (const c of conns.values()) c.close();
  }
  return got;
}

async function same(steps: Step[], proto: 2 | 3): Promise<void> {
  const admin = await rawClient(pair.redis.port);
  await admin.call(['SET', 'k', 'v']);
  admin.close();
  const admin2 = await rawClient(pair.tessera.port);
  await admin2.call(['SET', 'k', 'v']);
  admin2.close();
  const [r, t] = [await runScenario(pair.redis, steps, proto), await runScenario(pair.tessera, steps, proto)];
  const diffs: string[] = [];
  for (let i = 0; i < r.length; i++) if (r[i] !== t[i]) diffs.push(`redis:   ${show(r[i]!)}\n    tessera: ${show(t[i] ?? '(none)')}`);
  assert.is(diffs.length, 0, `RESP${proto}:\n    ${diffs.join('\n    ')}`);
}

const SCENARIOS: Record<string, Step[]> = {
  'subscribe mode: confirmations, allowed commands, refusals, RESET': [
    ['a', ['UNSUBSCRIBE'], 1],
    ['a', ['PUNSUBSCRIBE'], 1],
    ['a', ['SUNSUBSCRIBE'], 1],
    ['a', ['SUBSCRIBE', 'c1', 'c2', 'c1'], 3],
    ['a', ['PING'], 1],
    ['a', ['PING', 'hi'], 1],
    ['a', ['GET', 'k'], 1],
    ['a', ['CLIENT', 'GETNAME'], 1],
    ['a', ['GET'], 1],
    ['a', ['SSUBSCRIBE', 's1'], 1],
    ['a', ['UNSUBSCRIBE', 'c1'], 1],
    ['a', ['UNSUBSCRIBE', 'c2'], 1],
    ['a', ['GET', 'k'], 1],
    ['a', ['SUNSUBSCRIBE'], 1],
    ['a', ['GET', 'k'], 1],
    ['a', ['PSUBSCRIBE', 'h*'], 1],
    ['a', ['PUNSUBSCRIBE', 'h*', 'nope'], 2],
    ['a', ['SUBSCRIBE', 'c3'], 1],
    ['a', ['RESET'], 1],
    ['a', ['GET', 'k'], 1],
    ['a', ['PUBSUB', 'NUMSUB', 'c3'], 1],
  ],
  'arity and PUBSUB errors, PUBSUB HELP': [
    ['a', ['SUBSCRIBE'], 1],
    ['a', ['PSUBSCRIBE'], 1],
    ['a', ['SSUBSCRIBE'], 1],
    ['a', ['PUBLISH', 'x'], 1],
    ['a', ['SPUBLISH', 'x'], 1],
    ['a', ['PUBSUB'], 1],
    ['a', ['PUBSUB', 'foo'], 1],
    ['a', ['PUBSUB', 'NUMPAT', 'x'], 1],
    ['a', ['PUBSUB', 'CHANNELS', 'a', 'b'], 1],
    ['a', ['PUBSUB', 'SHARDCHANNELS', 'a', 'b'], 1],
    ['a', ['PUBSUB', 'HELP'], 1],
    ['a', ['PUBSUB', 'HELP', 'x'], 1],
    ['a', ['PUBSUB', 'NUMSUB'], 1],
    ['a', ['PUBSUB', 'SHARDNUMSUB'], 1],
    ['a', ['PUBSUB', 'CHANNELS'], 1],
    ['a', ['PUBSUB', 'NUMPAT'], 1],
    ['a', ['PUBLISH', 'nobody', 'x'], 1],
  ],
  'PUBLISH to channel and pattern subscribers, PUBSUB counts': [
    ['s1', ['SUBSCRIBE', 'news.tech'], 1],
    ['s2', ['PSUBSCRIBE', 'news.*'], 1],
    ['s3', ['SUBSCRIBE', 'news.tech'], 1],
    ['s3', ['PSUBSCRIBE', 'news.t[ae]ch'], 1],
    ['p', ['PUBLISH', 'news.tech', 'hello'], 1],
    ['s1', null, 1],
    ['s2', null, 1],
    ['s3', null, 2],
    ['p', ['PUBLISH', 'news.sport', 'goal'], 1],
    ['s2', null, 1],
    ['p', ['PUBLISH', 'news.tach', 'x'], 1],
    ['s2', null, 1],
    ['s3', null, 1],
    ['p', ['PUBSUB', 'NUMSUB', 'news.tech', 'news.sport'], 1],
    ['p', ['PUBSUB', 'NUMPAT'], 1],
    ['p', ['PUBSUB', 'CHANNELS'], 1],
    ['p', ['PUBSUB', 'CHANNELS', 'news.t*'], 1],
    ['p', ['PUBSUB', 'CHANNELS', 'x*'], 1],
    ['s1', ['UNSUBSCRIBE'], 1],
    ['p', ['PUBLISH', 'news.tech', 'again'], 1],
    ['s2', null, 1],
    ['s3', null, 2],
  ],
  'binary-safe channels and messages': [
    ['s', ['SUBSCRIBE', 'a\r\nb\u0000c'], 1],
    ['s', ['PSUBSCRIBE', 'a\r*'], 1],
    ['p', ['PUBLISH', 'a\r\nb\u0000c', '\r\n$5\r\n*1\u0000\u00ff'], 1],
    ['s', null, 2],
    ['p', ['PUBLISH', '', ''], 1],
  ],
  'shard channels: SSUBSCRIBE, SPUBLISH, SHARDCHANNELS, SHARDNUMSUB': [
    ['s', ['SSUBSCRIBE', 'orders'], 1],
    ['s2', ['SSUBSCRIBE', 'orders', 'users'], 2],
    ['s3', ['SUBSCRIBE', 'orders'], 1],
    ['p', ['SPUBLISH', 'orders', 'o1'], 1],
    ['s', null, 1],
    ['s2', null, 1],
    ['p', ['PUBLISH', 'orders', 'plain'], 1],
    ['s3', null, 1],
    ['p', ['PUBSUB', 'SHARDNUMSUB', 'orders', 'users', 'none'], 1],
    ['p', ['PUBSUB', 'SHARDCHANNELS', 'u*'], 1],
    ['p', ['PUBSUB', 'NUMSUB', 'orders'], 1],
    ['s2', ['SUNSUBSCRIBE', 'users'], 1],
    ['s2', ['SUNSUBSCRIBE', 'users'], 1],
    ['p', ['SPUBLISH', 'users', 'u1'], 1],
  ],
  'a subscriber that publishes to itself, and other commands while subscribed': [
    ['s', ['SUBSCRIBE', 'me'], 1],
    ['s', ['PSUBSCRIBE', 'm*'], 1],
    ['p', ['PUBLISH', 'me', 'x'], 1],
    ['s', null, 2],
    ['s', ['PING'], 1],
    ['s', ['QUIT'], 1],
    ['p', ['PUBSUB', 'NUMSUB', 'me'], 1],
  ],
};

/** RESP3 only: the subscriber keeps sending normal commands, and publishes to itself. */
const RESP3_ONLY: Step[] = [
  ['s', ['SUBSCRIBE', 'me'], 1],
  ['s', ['GET', 'k'], 1],
  ['s', ['PUBLISH', 'me', 'to myself'], 2],
  ['s', ['CLIENT', 'GETNAME'], 1],
  ['s', ['PING'], 1],
  ['s', ['UNSUBSCRIBE'], 1],
  ['s', ['UNSUBSCRIBE'], 1],
];

for (const [name, steps] of Object.entries(SCENARIOS)) {
  for (const proto of [2, 3] as const) timed(`${name} (RESP${proto})`, () => same(steps, proto));
}
timed('RESP3: commands and pushes side by side', () => same(RESP3_ONLY, 3));

timed('INFO stats and CLIENT LIST show the subscriptions', async () => {
  const s = await rawClient(pair.tessera.port);
  const p = await rawClient(pair.tessera.port);
  try {
    await s.call(['CLIENT', 'SETNAME', 'watcher']);
    s.sendCommand('SUBSCRIBE', 'i1', 'i2');
    await s.read(2);
    await s.call(['PSUBSCRIBE', 'i*']);
    await s.call(['SSUBSCRIBE', 'i3']);
    const info = (await p.call(['INFO', 'stats'])).raw.toString();
    assert.match(info, /\r\npubsub_channels:2\r\npubsub_patterns:1\r\npubsubshard_channels:1\r\n/);
    const list = (await p.call(['CLIENT', 'LIST', 'TYPE', 'pubsub'])).raw.toString();
    assert.match(list, /name=watcher .*flags=P db=0 sub=2 psub=1 ssub=1 /);
    assert.not.match((await p.call(['CLIENT', 'LIST', 'TYPE', 'normal'])).raw.toString(), /name=watcher/);
  } finally {
    s.close();
    p.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Order

timed('a message never overtakes the SUBSCRIBE confirmation queued behind a shard reply', async () => {
  const s = await rawClient(pair.tessera.port);
  const p = await rawClient(pair.tessera.port);
  try {
    await s.call(['HELLO', '3']);
    // Publishing as fast as replies come back while the subscriber pipelines shard commands
    // with its SUBSCRIBE: whatever interleaving happens, the confirmation comes first.
    let stop = false;
    const publisher = (async () => {
      while (!stop) await p.call(['PUBLISH', 'race', 'm']);
    })();
    for (let round = 0; round < 20; round++) {
      const seen: string[] = [];
      const readUntil = async (last: string): Promise<void> => {
        for (;;) {
          const [r] = await s.read(1);
          const t = r!.raw.toString('latin1');
          seen.push(t.startsWith('>3\r\n$7\r\nmessage') ? 'msg' : t.startsWith('>3\r\n$9\r\nsubscribe') ? 'sub' : t.startsWith('>3\r\n$11\r\nunsubscribe') ? 'unsub' : t);
          if (seen.at(-1) === last) return;
        }
      };
      s.send(Buffer.concat([['SET', `k${round}`, 'v'], ['GET', `k${round}`], ['SUBSCRIBE', 'race']].map((c) => encodeCommand(c))));
      await readUntil('sub');
      s.send(Buffer.concat([['GET', `k${round}`], ['UNSUBSCRIBE', 'race']].map((c) => encodeCommand(c))));
      await readUntil('unsub');
      const first = seen.indexOf('msg');
      assert.ok(first === -1 || first > seen.indexOf('sub'), `round ${round}: ${seen.join(' | ')}`);
      // Replies keep their order around the pushes.
      assert.equal(seen.filter((x) => x !== 'msg'), ['+OK\r\n', '$1\r\nv\r\n', 'sub', '$1\r\nv\r\n', 'unsub']);
    }
    stop = true;
    await publisher;
  } finally {
    s.close();
    p.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Real clients

timed('ioredis: subscribe, psubscribe, messages in order', async () => {
  const sub = new Redis({ port: pair.tessera.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  const pub = new Redis({ port: pair.tessera.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await Promise.all([sub.connect(), pub.connect()]);
    const got: string[] = [];
    sub.on('message', (ch: string, msg: string) => got.push(`${ch}:${msg}`));
    sub.on('pmessage', (pat: string, ch: string, msg: string) => got.push(`${pat}>${ch}:${msg}`));
    assert.is(await sub.subscribe('io.a', 'io.b'), 2);
    assert.is(await sub.psubscribe('io.p*'), 3);
    for (let i = 0; i < 50; i++) assert.is(await pub.publish(i % 2 === 0 ? 'io.a' : 'io.pq', String(i)), 1);
    await waitFor('50 messages', () => got.length >= 50);
    assert.equal(got, Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? `io.a:${i}` : `io.p*>io.pq:${i}`)));
    assert.equal(await pub.pubsub('NUMSUB', 'io.a', 'io.b'), ['io.a', 1, 'io.b', 1]);
    // (ioredis's unsubscribe() without names never resolves, against redis-server too.)
    await sub.unsubscribe('io.a', 'io.b');
    await sub.punsubscribe('io.p*');
    assert.is(await pub.publish('io.a', 'late'), 0);
  } finally {
    sub.disconnect();
    pub.disconnect();
  }
});

timed('node-redis v4: subscribe / pSubscribe / sSubscribe listeners (RESP2)', async () => {
  const client = createClient({ socket: { port: pair.tessera.port, host: '127.0.0.1', reconnectStrategy: false } });
  const sub = client.duplicate();
  try {
    await Promise.all([client.connect(), sub.connect()]);
    const got: string[] = [];
    await sub.subscribe('nr.a', (msg, ch) => got.push(`${ch}:${msg}`));
    await sub.pSubscribe('nr.p*', (msg, ch) => got.push(`p ${ch}:${msg}`));
    await sub.sSubscribe('nr.s', (msg, ch) => got.push(`s ${ch}:${msg}`));
    assert.is(await client.publish('nr.a', 'one'), 1);
    assert.is(await client.publish('nr.pz', 'two'), 1);
    assert.is(await client.sPublish('nr.s', 'three'), 1);
    await waitFor('3 messages', () => got.length >= 3);
    assert.equal(got, ['nr.a:one', 'p nr.pz:two', 's nr.s:three']);
    await sub.unsubscribe('nr.a');
    await sub.pUnsubscribe();
    await sub.sUnsubscribe();
    assert.equal({ ...(await client.pubSubNumSub('nr.a')) }, { 'nr.a': 0 });
  } finally {
    await Promise.allSettled([client.disconnect(), sub.disconnect()]);
  }
});

timed('redis-cli SUBSCRIBE prints the messages it receives', async () => {
  requireTool('redis-cli', ['--version'], 'redis-tools');
  const child = spawn('redis-cli', ['-p', String(pair.tessera.port), 'SUBSCRIBE', 'cli.ch'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const p = await rawClient(pair.tessera.port);
  try {
    await waitFor('redis-cli subscribed', async () => (await p.call(['PUBSUB', 'NUMSUB', 'cli.ch'])).raw.toString().endsWith(':1\r\n'));
    for (const m of ['first', 'second', 'third']) assert.is((await p.call(['PUBLISH', 'cli.ch', m])).raw.toString(), ':1\r\n');
    await waitFor('three messages printed', () => out.includes('third'));
    assert.match(out, /subscribe\ncli\.ch\n1\nmessage\ncli\.ch\nfirst\nmessage\ncli\.ch\nsecond\nmessage\ncli\.ch\nthird/);
  } finally {
    p.close();
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  }
});

// ---------------------------------------------------------------------------------------------
// Many subscribers, slow subscribers, disconnects

/** A bare subscriber socket that accumulates every byte it receives. */
function bareSocket(port: number): Promise<{ sock: Socket; bytes: () => Buffer }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const sock = connect({ port, host: '127.0.0.1' }, () => resolve({ sock, bytes: () => Buffer.concat(chunks, size) }));
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      size += c.length;
    });
    sock.on('error', reject);
  });
}

timed('1000 subscribers receive the same messages, in order', async () => {
  const N = 1000;
  const MSGS = 50;
  const subs = await Promise.all(Array.from({ length: N }, () => bareSocket(pair.tessera.port)));
  const p = await rawClient(pair.tessera.port);
  try {
    for (const s of subs) s.sock.write(encodeCommand(['SUBSCRIBE', 'many']));
    await waitFor(`${N} subscribers`, async () => (await p.call(['PUBSUB', 'NUMSUB', 'many'])).raw.toString().endsWith(`:${N}\r\n`), 20_000);
    const confirm = '*3\r\n$9\r\nsubscribe\r\n$4\r\nmany\r\n:1\r\n';
    let expected = confirm;
    for (let i = 0; i < MSGS; i++) {
      const msg = `message number ${i}`;
      p.sendCommand('PUBLISH', 'many', msg);
      expected += `*3\r\n$7\r\nmessage\r\n$4\r\nmany\r\n$${msg.length}\r\n${msg}\r\n`;
    }
    const replies = await p.read(MSGS, 20_000);
    for (const r of replies) assert.is(r.raw.toString(), `:${N}\r\n`);
    await waitFor('every subscriber has every message', () => subs.every((s) => s.bytes().length >= expected.length), 20_000);
    for (const s of subs) assert.is(s.bytes().toString('latin1'), expected);
  } finally {
    for (const s of subs) s.sock.destroy();
    p.close();
  }
  await waitFor('subscribers gone', async () => {
    const c = await rawClient(pair.tessera.port);
    try {
      return (await c.call(['PUBSUB', 'NUMSUB', 'many'])).raw.toString().endsWith(':0\r\n');
    } finally {
      c.close();
    }
  });
});

timed('a disconnected subscriber leaves no subscription behind', async () => {
  const s = await rawClient(pair.tessera.port);
  const p = await rawClient(pair.tessera.port);
  try {
    const patterns = (await p.call(['PUBSUB', 'NUMPAT'])).raw.toString();
    s.sendCommand('SUBSCRIBE', 'gone.a', 'gone.b');
    await s.read(2);
    await s.call(['PSUBSCRIBE', 'gone.*']);
    await s.call(['SSUBSCRIBE', 'gone.s']);
    assert.is((await p.call(['PUBSUB', 'NUMSUB', 'gone.a'])).raw.toString(), '*2\r\n$6\r\ngone.a\r\n:1\r\n');
    s.close();
    await waitFor('subscriptions dropped', async () => {
      const n = (await p.call(['PUBSUB', 'NUMSUB', 'gone.a', 'gone.b'])).raw.toString();
      const pat = (await p.call(['PUBSUB', 'NUMPAT'])).raw.toString();
      const sh = (await p.call(['PUBSUB', 'SHARDNUMSUB', 'gone.s'])).raw.toString();
      return n.endsWith(':0\r\n$6\r\ngone.b\r\n:0\r\n') && pat === patterns && sh.endsWith(':0\r\n');
    });
    assert.is((await p.call(['PUBLISH', 'gone.a', 'x'])).raw.toString(), ':0\r\n');
  } finally {
    p.close();
  }
});

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

timed('a subscriber that never reads is dropped at the pubsub limit; the publisher is not slowed', async () => {
  const srv = await startTessera({ shards: 2, args: ['--client-output-buffer-limit', 'pubsub 4mb 1mb 60'], loglevel: 'warning' });
  try {
    const slow = await bareSocket(srv.port);
    slow.sock.write(encodeCommand(['CLIENT', 'SETNAME', 'slow']));
    slow.sock.write(encodeCommand(['SUBSCRIBE', 'flood']));
    const p = await rawClient(srv.port);
    await waitFor('slow subscriber subscribed', async () => (await p.call(['PUBSUB', 'NUMSUB', 'flood'])).raw.toString().endsWith(':1\r\n'));
    slow.sock.pause();
    const rss0 = rssBytes(srv.pid);
    // 100 MB in 64 KB messages, 16 per round trip: the publisher's replies keep coming.
    const payload = Buffer.alloc(64 * 1024, 120);
    const BATCH = 16;
    const ROUNDS = Math.ceil((100 * 1024 * 1024) / (payload.length * BATCH));
    let delivered = 0;
    let rssMax = rss0;
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < BATCH; i++) p.sendCommand('PUBLISH', 'flood', payload);
      const replies = await p.read(BATCH, 10_000);
      for (const x of replies) {
        assert.match(x.raw.toString(), /^:[01]\r\n$/);
        delivered += x.raw.toString() === ':1\r\n' ? 1 : 0;
      }
      if (r % 10 === 0) rssMax = Math.max(rssMax, rssBytes(srv.pid));
    }
    rssMax = Math.max(rssMax, rssBytes(srv.pid));
    // It was dropped well before the end: at most 4 MB of output plus the socket's buffers.
    assert.ok(delivered < (32 * 1024 * 1024) / payload.length, `delivered ${delivered} messages to a client that never read`);
    assert.is((await p.call(['PUBSUB', 'NUMSUB', 'flood'])).raw.toString(), '*2\r\n$5\r\nflood\r\n:0\r\n');
    assert.not.match((await p.call(['CLIENT', 'LIST'])).raw.toString(), /name=slow/);
    assert.ok(rssMax - rss0 < 96 * 1024 * 1024, `server memory grew by ${((rssMax - rss0) / 1048576).toFixed(1)} MB`);
    await waitFor('the drop is logged', () => /Client closed: output buffer/.test(srv.output()));
    p.close();
    slow.sock.destroy();
  } finally {
    await srv.stop();
  }
}, 120_000);

// ---------------------------------------------------------------------------------------------
// Cluster key rules of the shard-channel commands

timed('cluster mode: SSUBSCRIBE / SUNSUBSCRIBE / SPUBLISH answer CROSSSLOT as Redis', async () => {
  await compareInOneNodeClusters('pubsub', 2, [
    ['SPUBLISH', 'a', 'm'],
    ['PUBLISH', 'a', 'm'],
    ['SSUBSCRIBE', 'a', 'b'],
    ['SUNSUBSCRIBE', 'a', 'b'],
    ['SSUBSCRIBE', '{t}a'],
    ['SPUBLISH', '{t}a', 'm'],
  ]);
}, 90_000);

test.run();
