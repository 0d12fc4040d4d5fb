// SLOWLOG and LATENCY end to end (issue 19, slowlog): a genuinely slow command run in a shard (a
// Lua loop on a key) is logged with the shard's time and the client's address and name; arguments
// are cut as redis-server 7.0.15 cuts them (compared with a real one); slowlog-max-len, RESET,
// cross-shard commands and transactions, ids across shards, CONFIG SET reaching the shards at
// once; LATENCY's events. HELP texts and error replies are compared byte for byte with Redis.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeCommand, plain, rawClient, requireTool, startRedis, startTessera, waitFor, type Plain, type RawClient, type ServerHandle } from './harness.js';
import { keyOn } from './shard-keys.js';

const test = suite('slowlog');

/** A script that runs for about `ms` milliseconds in the shard owning KEYS[1], then SETs it. */
const busy = (ms: number): string =>
  `local t=redis.call('time') local s=t[1]*1000000+t[2] while true do local u=redis.call('time') if (u[1]*1000000+u[2])-s > ${ms * 1000} then break end end return redis.call('set', KEYS[1], 'v')`;

type Entry = [number, number, number, string[], string, string];

async function entries(c: RawClient, count = -1): Promise<Entry[]> {
  return plain((await c.call(['SLOWLOG', 'GET', String(count)])).value) as unknown as Entry[];
}

async function ok(c: RawClient, ...args: string[]): Promise<void> {
  const r = await c.call(args);
  assert.is(r.text, '+OK\r\n', `${args.join(' ')}: ${r.text}`);
}

async function addrOf(c: RawClient): Promise<string> {
  const info = String(plain((await c.call(['CLIENT', 'INFO'])).value));
  return / addr=(\S+)/.exec(info)![1]!;
}

let tessera: ServerHandle | null = null;
let redis: ServerHandle | null = null;

test.before(async () => {
  requireTool('redis-server', ['--version'], 'redis-server');
  [tessera, redis] = await Promise.all([startTessera({ shards: 2 }), startRedis()]);
});

test.after(async () => {
  await Promise.all([tessera?.stop(), redis?.stop()]);
});

test('HELP texts, errors and option errors are Redis 7.0.15 byte for byte', async () => {
  const t = await rawClient(tessera!.port);
  const r = await rawClient(redis!.port);
  try {
    const cases = [
      ['SLOWLOG', 'HELP'], ['SLOWLOG'], ['SLOWLOG', 'GET', '-2'], ['SLOWLOG', 'GET', 'x'], ['SLOWLOG', 'GET', '1', '2'],
      ['SLOWLOG', 'LEN', 'x'], ['SLOWLOG', 'RESET', 'x'], ['SLOWLOG', 'FOO'], ['SLOWLOG', 'GET', '0'],
      ['LATENCY', 'HELP'], ['LATENCY'], ['LATENCY', 'FOO'], ['LATENCY', 'LATEST', 'x'], ['LATENCY', 'HISTORY'],
      ['LATENCY', 'HISTORY', 'nosuch'], ['LATENCY', 'GRAPH', 'nosuch'], ['LATENCY', 'RESET'], ['LATENCY', 'RESET', 'a', 'b'],
      ['LATENCY', 'LATEST'], ['LATENCY', 'DOCTOR', 'x'],
      ['CONFIG', 'SET', 'slowlog-max-len', '-1'], ['CONFIG', 'SET', 'slowlog-log-slower-than', 'x'],
      ['CONFIG', 'SET', 'latency-monitor-threshold', '-1'], ['CONFIG', 'GET', 'slowlog-max-len'], ['CONFIG', 'GET', 'slowlog-log-slower-than'], ['CONFIG', 'GET', 'latency-monitor-threshold'],
    ];
    const diffs: string[] = [];
    for (const args of cases) {
      const [rr, tt] = [await r.call(args), await t.call(args)];
      if (rr.text.replace(/9223372036854775807/, '9007199254740991') !== tt.text) diffs.push(`${args.join(' ')}:\n  redis   ${JSON.stringify(rr.text)}\n  tessera ${JSON.stringify(tt.text)}`);
    }
    assert.equal(diffs, [], diffs.join('\n'));
    // Monitoring off and never on: Redis's refusal (only its URL scheme may differ by build).
    const doc = String(plain((await t.call(['LATENCY', 'DOCTOR'])).value));
    assert.match(doc, /^I'm sorry, Dave, I can't do that\. Latency monitoring is disabled/);
  } finally {
    t.close();
    r.close();
  }
});

test('a slow command in a shard is logged with its time, the client address and name', async () => {
  const c = await rawClient(tessera!.port);
  try {
    await ok(c, 'CONFIG', 'SET', 'slowlog-log-slower-than', '20000');
    await ok(c, 'SLOWLOG', 'RESET');
    await ok(c, 'CLIENT', 'SETNAME', 'slow-one');
    const addr = await addrOf(c);
    for (const s of [0, 1]) {
      const key = keyOn(s, 2, 'busy');
      assert.is((await c.call(['EVAL', busy(40), '1', key])).text, '+OK\r\n');
      const e = (await entries(c)).find((x) => x[3][0] === 'EVAL' && x[3][3] === key);
      assert.ok(e, `the EVAL on shard ${s} is logged: ${JSON.stringify(await entries(c))}`);
      assert.ok(e[2] >= 20000, `its duration (${e[2]} us) is at least the threshold`);
      assert.ok(Math.abs(e[1] - Date.now() / 1000) < 60, 'unix time in seconds');
      assert.is(e[4], addr);
      assert.is(e[5], 'slow-one');
      assert.is(e[3].length, 4);
      assert.match(e[3][1]!, /\.\.\. \(\d+ more bytes\)$/, 'the script, cut at 128 bytes');
      assert.is(Buffer.byteLength(e[3][1]!.replace(/\.\.\. \(\d+ more bytes\)$/, '')), 128);
    }
  } finally {
    c.close();
  }
});

test('arguments are cut as redis-server cuts them (32 arguments, 128 bytes each)', async () => {
  const t = await rawClient(tessera!.port);
  const r = await rawClient(redis!.port);
  try {
    const long = 'x'.repeat(200);
    const cmds = [
      ['RPUSH', 'list', ...Array.from({ length: 40 }, (_, i) => `e${i}`)],
      ['SET', long, long],
      ['RPUSH', 'list2', ...Array.from({ length: 31 }, (_, i) => `e${i}`)],
      ['RPUSH', 'list3', ...Array.from({ length: 30 }, (_, i) => `e${i}`)],
      ['MSET', '{t}a', long, '{t}b', 'short'],
    ];
    for (const x of [t, r]) {
      await ok(x, 'CONFIG', 'SET', 'slowlog-log-slower-than', '0');
      for (const cmd of cmds) await x.call(cmd);
    }
    const names = new Set(cmds.map((x) => x[0]));
    const shown = async (x: RawClient): Promise<string[][]> => (await entries(x, 20)).map((e) => e[3]).filter((a) => names.has(a[0]!)).reverse().slice(-cmds.length);
    const [rs, ts] = [await shown(r), await shown(t)];
    assert.is(rs.length, cmds.length);
    assert.equal(ts, rs);
    assert.is(rs[0]!.length, 32);
    assert.is(rs[0]![31], '... (11 more arguments)');
  } finally {
    for (const x of [t, r]) await x.call(['CONFIG', 'SET', 'slowlog-log-slower-than', '10000']);
    t.close();
    r.close();
  }
});

test('slowlog-max-len keeps the newest; RESET empties; ids unique and increasing across shards', async () => {
  const c = await rawClient(tessera!.port);
  try {
    await ok(c, 'CONFIG', 'SET', 'slowlog-log-slower-than', '0');
    await ok(c, 'CONFIG', 'SET', 'slowlog-max-len', '1000');
    await ok(c, 'SLOWLOG', 'RESET');
    // Keys of both shards and main-thread commands, interleaved.
    for (let i = 0; i < 20; i++) {
      await c.call(['SET', keyOn(i % 2, 2, `k${i}-`), String(i)]);
      if (i % 5 === 0) await c.call(['PING']);
    }
    const all = await entries(c);
    const ids = all.map((e) => e[0]);
    assert.equal(new Set(ids).size, ids.length, 'unique ids');
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! > ids[i]!, `newest first, increasing ids: ${ids.join(',')}`);
    const sets = all.filter((e) => e[3][0] === 'SET').map((e) => Number(e[3][2])).reverse();
    assert.equal(sets, Array.from({ length: 20 }, (_, i) => i), 'one entry per SET, in the order they ran');
    await ok(c, 'CONFIG', 'SET', 'slowlog-max-len', '5');
    assert.is(plain((await c.call(['SLOWLOG', 'LEN'])).value), 5);
    const five = await entries(c);
    assert.is(five.length, 5);
    assert.equal(five.map((e) => e[3].join(' ')), ['SLOWLOG LEN', 'CONFIG SET slowlog-max-len 5', 'SLOWLOG GET -1', ...all.slice(0, 2).map((e) => e[3].join(' '))]);
    assert.is((await entries(c, 2)).length, 2);
    await ok(c, 'SLOWLOG', 'RESET');
    // As in Redis, the RESET itself is then logged.
    assert.is(plain((await c.call(['SLOWLOG', 'LEN'])).value), 1);
    await ok(c, 'CONFIG', 'SET', 'slowlog-max-len', '0');
    await c.call(['SET', 'x', 'y']);
    assert.is(plain((await c.call(['SLOWLOG', 'LEN'])).value), 0);
  } finally {
    await c.call(['CONFIG', 'SET', 'slowlog-max-len', '128']);
    await c.call(['CONFIG', 'SET', 'slowlog-log-slower-than', '10000']);
    c.close();
  }
});

test('CONFIG SET reaches the shards before it replies', async () => {
  const c = await rawClient(tessera!.port);
  try {
    for (let round = 0; round < 3; round++) {
      await ok(c, 'CONFIG', 'SET', 'slowlog-log-slower-than', '-1');
      await ok(c, 'SLOWLOG', 'RESET');
      await c.call(['SET', keyOn(round % 2, 2, 'cfg'), 'v']);
      assert.is(plain((await c.call(['SLOWLOG', 'LEN'])).value), 0, 'negative: nothing logged');
      await ok(c, 'CONFIG', 'SET', 'slowlog-log-slower-than', '0');
      await c.call(['SET', keyOn(round % 2, 2, 'cfg'), 'v']);
      const e = await entries(c, 1);
      assert.is(e[0]![3][0], 'SET', 'the next command is already logged');
    }
  } finally {
    await c.call(['CONFIG', 'SET', 'slowlog-log-slower-than', '10000']);
    c.close();
  }
});

test('cross-shard commands and transactions: each part and each queued command, with the client', async () => {
  const c = await rawClient(tessera!.port);
  try {
    await ok(c, 'CONFIG', 'SET', 'slowlog-log-slower-than', '0');
    await ok(c, 'CLIENT', 'SETNAME', 'crosser');
    const addr = await addrOf(c);
    await ok(c, 'SLOWLOG', 'RESET');
    const [a, b] = [keyOn(0, 2, 'xa'), keyOn(1, 2, 'xb')];
    await ok(c, 'MSET', a, '1', b, '2');
    // A transaction on one shard (one __exec frame) and one across both.
    for (const keys of [[a, keyOn(0, 2, 'xc')], [a, b]]) {
      await ok(c, 'MULTI');
      assert.is((await c.call(['INCR', keys[0]!])).text, '+QUEUED\r\n');
      assert.is((await c.call(['INCR', keys[1]!])).text, '+QUEUED\r\n');
      assert.match((await c.call(['EXEC'])).text, /^\*2\r\n/);
    }
    const all = (await entries(c)).reverse();
    const mine = all.filter((e) => e[4] === addr && e[5] === 'crosser');
    assert.is(mine.length, all.length, `every entry names the client: ${JSON.stringify(all)}`);
    const msets = all.filter((e) => e[3][0] === 'MSET').map((e) => e[3].slice(1).join(' ')).sort();
    assert.equal(msets, [`${a} 1`, `${b} 2`].sort(), 'one entry per shard, each with its keys');
    assert.not.ok(all.some((e) => e[3][0] === 'EXEC' || e[3][0]!.startsWith('__')), 'EXEC is not logged (skip_slowlog), nor internal frames');
    const incrs = all.filter((e) => e[3][0] === 'INCR').map((e) => e[3][1]);
    assert.equal(incrs, [a, keyOn(0, 2, 'xc'), a, b], 'the queued commands, one by one, in order');
    assert.is(all.filter((e) => e[3][0] === 'MULTI').length, 2);
    // A script's calls: logged before the script, with Redis's script client ("?:0", no name).
    await ok(c, 'SLOWLOG', 'RESET');
    assert.is((await c.call(['EVAL', "redis.call('set', KEYS[1], 'y') return 1", '1', a])).text, ':1\r\n');
    const scripted = (await entries(c)).reverse().map((e) => [e[3].join(' '), e[4], e[5]]);
    assert.equal(scripted.slice(1), [[`set ${a} y`, '?:0', ''], [`EVAL redis.call('set', KEYS[1], 'y') return 1 1 ${a}`, addr, 'crosser']]);
  } finally {
    await c.call(['CONFIG', 'SET', 'slowlog-log-slower-than', '10000']);
    c.close();
  }
});

test('LATENCY: slow commands become "command" events; HISTORY, LATEST, DOCTOR, RESET', async () => {
  const c = await rawClient(tessera!.port);
  try {
    await ok(c, 'CONFIG', 'SET', 'latency-monitor-threshold', '10');
    assert.is(plain((await c.call(['LATENCY', 'RESET'])).value) as number >= 0, true);
    assert.equal(plain((await c.call(['LATENCY', 'LATEST'])).value), []);
    assert.match(String(plain((await c.call(['LATENCY', 'DOCTOR'])).value)), /^Dave, no latency spike was observed/);
    await c.call(['EVAL', busy(30), '1', keyOn(1, 2, 'lat')]);
    const latest = plain((await c.call(['LATENCY', 'LATEST'])).value) as Plain[][];
    const ev = latest.find((x) => x[0] === 'command');
    assert.ok(ev, JSON.stringify(latest));
    assert.ok((ev[2] as number) >= 10 && (ev[3] as number) >= (ev[2] as number), JSON.stringify(ev));
    assert.ok(Math.abs((ev[1] as number) - Date.now() / 1000) < 60);
    const hist = plain((await c.call(['LATENCY', 'HISTORY', 'command'])).value) as number[][];
    assert.ok(hist.length >= 1 && hist.every((s) => s.length === 2));
    const doctor = String(plain((await c.call(['LATENCY', 'DOCTOR'])).value));
    assert.match(doctor, /^Dave, I have observed latency spikes in this Redis instance\./);
    assert.match(doctor, /1\. command: \d+ latency spikes \(average \d+ms, mean deviation \d+ms, period [\d.]+ sec\)\. Worst all time event \d+ms\./);
    assert.match(String(plain((await c.call(['LATENCY', 'GRAPH', 'command'])).value)), /^command - high \d+ ms, low \d+ ms \(all time high \d+ ms\)\n-{80}\n/);
    assert.is(plain((await c.call(['LATENCY', 'RESET', 'COMMAND', 'nosuch'])).value), 1);
    assert.equal(plain((await c.call(['LATENCY', 'HISTORY', 'command'])).value), []);
  } finally {
    await c.call(['CONFIG', 'SET', 'latency-monitor-threshold', '0']);
    c.close();
  }
});

test("LATENCY: a shard's expire cycle is an event of its own", async () => {
  const c = await rawClient(tessera!.port);
  try {
    await ok(c, 'CONFIG', 'SET', 'latency-monitor-threshold', '1');
    await c.call(['LATENCY', 'RESET']);
    // Many keys expiring together: the active cycle deleting them runs for milliseconds.
    const n = 30000;
    const batch: Buffer[] = [];
    for (let i = 0; i < n; i++) batch.push(encodeCommand(['SET', `exp:${i}`, 'v', 'PX', '1']));
    c.send(Buffer.concat(batch));
    await c.read(n, 30_000);
    const ev = await waitFor('an expire-cycle event', async () => {
      const latest = plain((await c.call(['LATENCY', 'LATEST'])).value) as Plain[][];
      return latest.find((x) => x[0] === 'expire-cycle');
    }, 20_000);
    assert.ok((ev[2] as number) >= 1);
  } finally {
    await c.call(['CONFIG', 'SET', 'latency-monitor-threshold', '0']);
    c.close();
  }
});

test('shards on the main thread (shard-threads no) log the same way', async () => {
  const inline = await startTessera({ shards: 2, args: ['--shard-threads', 'no', '--slowlog-log-slower-than', '0'] });
  const c = await rawClient(inline.port);
  try {
    await ok(c, 'CLIENT', 'SETNAME', 'inline');
    const addr = await addrOf(c);
    await ok(c, 'SET', keyOn(1, 2, 'in'), 'v');
    await ok(c, 'MSET', keyOn(0, 2, 'in'), '1', keyOn(1, 2, 'in'), '2');
    const all = (await entries(c)).reverse();
    const sets = all.filter((e) => e[3][0] === 'SET' || e[3][0] === 'MSET');
    assert.is(sets.length, 3, JSON.stringify(all));
    for (const e of sets) {
      assert.is(e[4], addr);
      assert.is(e[5], 'inline');
    }
  } finally {
    c.close();
    await inline.stop();
  }
});

test.run();
