// The memcached binary protocol against a real Tessera process: memjs for the common operations,
// raw frames for every opcode, quiet pipelining, CAS, expiry, incr/decr edge cases, the limits
// (bad magic, unknown opcode, truncated frame, long key, oversize value) and cross-protocol
// visibility with RESP. Where memcached 1.6 is installed, the same frames go to it and the replies
// must be equal byte for byte, CAS fields aside.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import memjs from 'memjs';
import { Redis } from 'ioredis';
import { startTessera, withTimeout, type ServerHandle } from './harness.js';
import {
  OPS, bin, binCount, deltaExtras, exchange, maskCas, memcachedAvailable, parseBin, setExtras, startMemcached, u32,
  type MemcachedHandle,
} from './memcache-harness.js';

const TEST_TIMEOUT_MS = 20_000;
let server: ServerHandle | undefined;
let memcached: MemcachedHandle | undefined;
const t = suite('memcached binary protocol');

t.before(async () => {
  server = await startTessera({ shards: 2, memcache: true });
  if (memcachedAvailable()) memcached = await startMemcached();
});

t.after(async () => {
  await server?.stop();
  await memcached?.stop();
});

const it = (name: string, fn: () => Promise<void>): void => t(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));

const tx = async (bytes: Buffer[], n: number): Promise<ReturnType<typeof parseBin>> =>
  parseBin((await exchange(server!.memcachePort, bytes, binCount(n))).data);

it('memjs: set, get, add, replace, delete, append, prepend, touch, increment, decrement, flush', async () => {
  const mc = memjs.Client.create(`127.0.0.1:${server!.memcachePort}`, { retries: 0, timeout: 5, logger: { log: () => undefined } });
  try {
    assert.ok(await mc.set('mj:a', 'hello', { expires: 0 }));
    const got = await mc.get('mj:a');
    assert.is(got.value?.toString(), 'hello');
    assert.is(got.flags?.readUInt32BE(0), 0);
    assert.not.ok(await mc.add('mj:a', 'x', {}));
    assert.ok(await mc.add('mj:b', 'b', {}));
    assert.ok(await mc.replace('mj:b', 'bb', {}));
    assert.not.ok(await mc.replace('mj:none', 'x', {}));
    assert.ok(await mc.append('mj:b', '>'));
    // memjs 1.3 sends its prepend() with the APPEND opcode; prepend is checked with raw frames below.
    assert.ok(await mc.prepend('mj:b', '<'));
    assert.is((await mc.get('mj:b')).value?.toString(), 'bb><');
    assert.ok(await mc.touch('mj:b', 100));
    assert.ok(await mc.delete('mj:b'));
    assert.not.ok(await mc.delete('mj:b'));
    assert.is((await mc.get('mj:b')).value, null);
    const inc = await mc.increment('mj:n', 5, { initial: 10 });
    assert.equal(inc, { success: true, value: 10 });
    assert.equal(await mc.increment('mj:n', 5, {}), { success: true, value: 15 });
    assert.equal(await mc.decrement('mj:n', 20, {}), { success: true, value: 0 });
    await mc.flush();
    assert.is((await mc.get('mj:a')).value, null);
  } finally {
    mc.close();
  }
});

it('every keyed opcode, quiet variants silent on success, responses in order', async () => {
  const r = await tx([
    bin(OPS.SET, { key: 'op:k', extras: setExtras(7, 0), value: 'v1', opaque: 1 }),
    bin(OPS.SETQ, { key: 'op:q', extras: setExtras(0, 0), value: 'q', opaque: 2 }),
    bin(OPS.GET, { key: 'op:k', opaque: 3 }),
    bin(OPS.GETK, { key: 'op:k', opaque: 4 }),
    bin(OPS.ADDQ, { key: 'op:k', extras: setExtras(0, 0), value: 'x', opaque: 5 }), // exists: error even quiet
    bin(OPS.REPLACEQ, { key: 'op:k', extras: setExtras(9, 0), value: 'v2', opaque: 6 }),
    bin(OPS.APPENDQ, { key: 'op:k', value: '+', opaque: 7 }),
    bin(OPS.PREPENDQ, { key: 'op:k', value: '-', opaque: 8 }),
    bin(OPS.GAT, { key: 'op:k', extras: u32(100), opaque: 9 }),
    bin(OPS.GATK, { key: 'op:k', extras: u32(100), opaque: 10 }),
    bin(OPS.TOUCH, { key: 'op:k', extras: u32(100), opaque: 11 }),
    bin(OPS.GATQ, { key: 'op:none', extras: u32(100), opaque: 12 }),
    bin(OPS.DELETEQ, { key: 'op:q', opaque: 13 }),
    bin(OPS.INCRQ, { key: 'op:n', extras: deltaExtras(1n, 5n, 0), opaque: 14 }),
    bin(OPS.DECR, { key: 'op:n', extras: deltaExtras(2n, 0n, 0), opaque: 15 }),
    bin(OPS.VERSION, { opaque: 16 }),
    bin(OPS.NOOP, { opaque: 17 }),
  ], 10);
  assert.equal(r.map((x) => x.opaque), [1, 3, 4, 5, 9, 10, 11, 15, 16, 17]);
  const by = new Map(r.map((x) => [x.opaque, x]));
  assert.is(by.get(3)!.value.toString(), 'v1');
  assert.is(by.get(3)!.extras.readUInt32BE(0), 7);
  assert.is(by.get(4)!.key, 'op:k');
  assert.is(by.get(5)!.status, 2);
  assert.is(by.get(9)!.value.toString(), '-v2+');
  assert.is(by.get(9)!.extras.readUInt32BE(0), 9, 'append/prepend keep the flags');
  assert.is(by.get(10)!.key, 'op:k');
  assert.is(by.get(11)!.value.length, 0);
  assert.is(by.get(15)!.value.readBigUInt64BE(0), 3n);
  assert.is(by.get(16)!.value.toString(), '1.6.18');
});

it('quiet pipelining: a run of GetKQ ended by Noop returns only the hits, then the Noop', async () => {
  const keys = Array.from({ length: 50 }, (_, i) => `pipe:${i}`);
  await tx(keys.filter((_, i) => i % 3 === 0).map((k) => bin(OPS.SET, { key: k, extras: setExtras(0, 0), value: k.toUpperCase() })), 17);
  const r = await tx([...keys.map((k, i) => bin(OPS.GETKQ, { key: k, opaque: i })), bin(OPS.NOOP, { opaque: 999 })], 18);
  assert.is(r.length, 18);
  assert.equal(r.slice(0, 17).map((x) => x.key), keys.filter((_, i) => i % 3 === 0));
  for (const x of r.slice(0, 17)) assert.is(x.value.toString(), x.key.toUpperCase());
  assert.is(r[17]!.opcode, OPS.NOOP);
  assert.is(r[17]!.opaque, 999);
});

it('CAS: a stale CAS is refused with EEXISTS, a missing key with ENOENT, the current one wins', async () => {
  const [set] = await tx([bin(OPS.SET, { key: 'cas:k', extras: setExtras(0, 0), value: 'a' })], 1);
  const cas = set!.cas;
  assert.ok(cas > 0n);
  const r = await tx([
    bin(OPS.SET, { key: 'cas:k', extras: setExtras(0, 0), value: 'b', cas: cas + 1000n }),
    bin(OPS.SET, { key: 'cas:missing', extras: setExtras(0, 0), value: 'b', cas }),
    bin(OPS.SET, { key: 'cas:k', extras: setExtras(0, 0), value: 'c', cas }),
    bin(OPS.SET, { key: 'cas:k', extras: setExtras(0, 0), value: 'd', cas }),
    bin(OPS.DELETE, { key: 'cas:k', cas }),
  ], 5);
  assert.equal(r.map((x) => x.status), [2, 1, 0, 2, 2]);
  assert.ok(r[2]!.cas > cas);
  // A RESP write changes the CAS too.
  const redis = new Redis({ port: server!.port, maxRetriesPerRequest: 0 });
  try {
    const [before] = await tx([bin(OPS.GET, { key: 'cas:k' })], 1);
    await redis.set('cas:k', 'from-resp');
    const [after] = await tx([bin(OPS.GET, { key: 'cas:k' })], 1);
    assert.ok(after!.cas > before!.cas);
    assert.is(after!.value.toString(), 'from-resp');
  } finally {
    redis.disconnect();
  }
});

it('expiry: relative seconds, absolute Unix time beyond 30 days, absolute in the past', async () => {
  const now = Math.floor(Date.now() / 1000);
  const redis = new Redis({ port: server!.port, maxRetriesPerRequest: 0 });
  try {
    await tx([
      bin(OPS.SET, { key: 'exp:rel', extras: setExtras(0, 100), value: 'x' }),
      bin(OPS.SET, { key: 'exp:abs', extras: setExtras(0, now + 5000), value: 'x' }),
      bin(OPS.SET, { key: 'exp:past', extras: setExtras(0, now - 10), value: 'x' }),
      bin(OPS.SET, { key: 'exp:none', extras: setExtras(0, 0), value: 'x' }),
    ], 4);
    const ttlRel = await redis.ttl('exp:rel');
    assert.ok(ttlRel > 95 && ttlRel <= 100, String(ttlRel));
    const ttlAbs = await redis.ttl('exp:abs');
    assert.ok(ttlAbs > 4990 && ttlAbs <= 5000, String(ttlAbs));
    assert.is(await redis.exists('exp:past'), 0);
    assert.is(await redis.ttl('exp:none'), -1);
    await tx([bin(OPS.TOUCH, { key: 'exp:none', extras: u32(50) })], 1);
    const touched = await redis.ttl('exp:none');
    assert.ok(touched > 45 && touched <= 50);
  } finally {
    redis.disconnect();
  }
});

it('incr/decr: non-numeric, wrap at 2^64, floor at 0, no create with exptime 0xffffffff, spaces kept', async () => {
  const r = await tx([
    bin(OPS.SET, { key: 'n:text', extras: setExtras(0, 0), value: 'abc' }),
    bin(OPS.INCR, { key: 'n:text', extras: deltaExtras(1n, 0n, 0) }),
    bin(OPS.SET, { key: 'n:max', extras: setExtras(0, 0), value: '18446744073709551615' }),
    bin(OPS.INCR, { key: 'n:max', extras: deltaExtras(2n, 0n, 0) }),
    bin(OPS.GET, { key: 'n:max' }),
    bin(OPS.SET, { key: 'n:ten', extras: setExtras(0, 0), value: '10' }),
    bin(OPS.DECR, { key: 'n:ten', extras: deltaExtras(1n, 0n, 0) }),
    bin(OPS.GET, { key: 'n:ten' }),
    bin(OPS.DECR, { key: 'n:ten', extras: deltaExtras(100n, 0n, 0) }),
    bin(OPS.INCR, { key: 'n:absent', extras: deltaExtras(1n, 7n, 0xffffffff) }),
    bin(OPS.INCR, { key: 'n:big', extras: deltaExtras(9007199254740993n, 9007199254740993n, 0) }),
    bin(OPS.INCR, { key: 'n:big', extras: deltaExtras(9007199254740993n, 0n, 0) }),
  ], 12);
  assert.is(r[1]!.status, 6);
  assert.is(r[1]!.value.toString(), 'Non-numeric server-side value for incr or decr');
  assert.is(r[3]!.value.readBigUInt64BE(0), 1n);
  assert.is(r[4]!.value.toString(), '1' + ' '.repeat(19));
  assert.is(r[6]!.value.readBigUInt64BE(0), 9n);
  assert.is(r[7]!.value.toString(), '9 ');
  assert.is(r[8]!.value.readBigUInt64BE(0), 0n);
  assert.is(r[9]!.status, 1);
  assert.is(r[10]!.value.readBigUInt64BE(0), 9007199254740993n);
  assert.is(r[11]!.value.readBigUInt64BE(0), 18014398509481986n);
});

it('cross-protocol: memcached SET is a RESP string and RESP SET is a memcached item (flags 0)', async () => {
  const redis = new Redis({ port: server!.port, maxRetriesPerRequest: 0 });
  try {
    await tx([bin(OPS.SET, { key: 'x:mc', extras: setExtras(0xdeadbeef, 0), value: Buffer.from([0, 1, 2, 255]) })], 1);
    assert.equal([...(await redis.getBuffer('x:mc'))!], [0, 1, 2, 255]);
    assert.is(await redis.strlen('x:mc'), 4);
    const [flagged] = await tx([bin(OPS.GET, { key: 'x:mc' })], 1);
    assert.is(flagged!.extras.readUInt32BE(0), 0xdeadbeef);
    await redis.append('x:mc', 'z');
    const [appended] = await tx([bin(OPS.GET, { key: 'x:mc' })], 1);
    assert.is(appended!.extras.readUInt32BE(0), 0xdeadbeef, 'RESP APPEND keeps the memcached flags');
    await redis.set('x:resp', 'from redis');
    const [g] = await tx([bin(OPS.GETK, { key: 'x:resp' })], 1);
    assert.is(g!.value.toString(), 'from redis');
    assert.is(g!.extras.readUInt32BE(0), 0);
    await redis.set('x:resp', 'again');
    const [g2] = await tx([bin(OPS.GET, { key: 'x:resp' })], 1);
    assert.ok(g2!.cas > g!.cas);
  } finally {
    redis.disconnect();
  }
});

it('limits: long key and bad frames close only the offending connection; oversize is refused and swallowed', async () => {
  const mc = server!.memcachePort;
  const longKey = await exchange(mc, [bin(OPS.GET, { key: 'k'.repeat(251) }), bin(OPS.NOOP)], binCount(2));
  assert.ok(longKey.closed);
  assert.equal(parseBin(longKey.data).map((x) => x.status), [4]);
  const badMagic = await exchange(mc, [bin(OPS.NOOP, { opaque: 1 }), bin(OPS.NOOP, { magic: 0x42 })], () => false);
  assert.ok(badMagic.closed);
  assert.equal(parseBin(badMagic.data).map((x) => x.opaque), [1]);
  const shape = await exchange(mc, [bin(OPS.GET, { key: 'k', extras: u32(1) })], () => false);
  assert.ok(shape.closed);
  assert.is(parseBin(shape.data)[0]!.status, 4);
  const unknown = await exchange(mc, [bin(0x50, { key: 'x', value: 'abc' }), bin(OPS.NOOP, { opaque: 7 })], binCount(2));
  assert.not.ok(unknown.closed);
  assert.equal(parseBin(unknown.data).map((x) => [x.status, x.opaque]), [[0x81, 0x1234], [0, 7]]);
  const big = Buffer.alloc(1024 * 1024, 120);
  const oversize = await exchange(mc, [bin(OPS.SET, { key: 'big', extras: setExtras(0, 0), value: big }), bin(OPS.NOOP, { opaque: 8 })], binCount(2));
  assert.equal(parseBin(oversize.data).map((x) => [x.status, x.value.toString()]), [[3, 'Too large.'], [0, '']]);
  const fits = Buffer.alloc(1024 * 1024 - 100, 121);
  const ok = await exchange(mc, [bin(OPS.SET, { key: 'big', extras: setExtras(0, 0), value: fits }), bin(OPS.GET, { key: 'big' })], binCount(2));
  assert.is(parseBin(ok.data)[1]!.value.length, fits.length);
  // A truncated frame waits for its end; another connection is served meanwhile.
  const frame = bin(OPS.GETK, { key: 'big', opaque: 5 });
  const sock = (await import('node:net')).connect(mc, '127.0.0.1');
  let got = Buffer.alloc(0);
  sock.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.write(frame.subarray(0, 20));
  const other = await tx([bin(OPS.NOOP, { opaque: 3 })], 1);
  assert.is(other[0]!.opaque, 3);
  assert.is(got.length, 0);
  const whole = new Promise<void>((r) => sock.on('data', () => (parseBin(got).length >= 1 ? r() : undefined)));
  sock.write(frame.subarray(20));
  await whole;
  assert.is(parseBin(got)[0]!.opaque, 5);
  sock.destroy();
});

it('quit answers then closes; QuitQ closes silently; SASL PLAIN is listed', async () => {
  const q = await exchange(server!.memcachePort, [bin(OPS.QUIT, { opaque: 1 }), bin(OPS.NOOP)], () => false);
  assert.ok(q.closed);
  assert.equal(parseBin(q.data).map((x) => x.opcode), [OPS.QUIT]);
  const qq = await exchange(server!.memcachePort, [bin(OPS.NOOP, { opaque: 2 }), bin(OPS.QUITQ)], () => false);
  assert.ok(qq.closed);
  assert.equal(parseBin(qq.data).map((x) => x.opcode), [OPS.NOOP]);
  const stats = parseBin((await exchange(server!.memcachePort, [bin(OPS.STAT)], (d) => parseBin(d).some((x) => x.key === '' && x.opcode === OPS.STAT))).data);
  assert.ok(stats.some((x) => x.key === 'curr_items'));
});

const DIFF_SCRIPT: Buffer[] = [
  bin(OPS.GET, { key: 'd:nokey' }),
  bin(OPS.GETK, { key: 'd:nokey' }),
  bin(OPS.GETQ, { key: 'd:a' }),
  bin(OPS.SET, { key: 'd:k', extras: setExtras(5, 0), value: 'hello' }),
  bin(OPS.GET, { key: 'd:k' }),
  bin(OPS.GETK, { key: 'd:k' }),
  bin(OPS.SETQ, { key: 'd:k', extras: setExtras(0, 0), value: 'v' }),
  bin(OPS.ADDQ, { key: 'd:k', extras: setExtras(0, 0), value: 'v' }),
  bin(OPS.REPLACE, { key: 'd:zz', extras: setExtras(0, 0), value: 'v' }),
  bin(OPS.SET, { key: 'd:zz', extras: setExtras(0, 0), value: 'v', cas: 5n }),
  bin(OPS.DELETE, { key: 'd:zz' }),
  bin(OPS.DELETEQ, { key: 'd:zz' }),
  bin(OPS.INCR, { key: 'd:n1', extras: deltaExtras(1n, 0n, 0xffffffff) }),
  bin(OPS.INCR, { key: 'd:n2', extras: deltaExtras(1n, 10n, 0) }),
  bin(OPS.INCR, { key: 'd:n2', extras: deltaExtras(5n, 10n, 0) }),
  bin(OPS.INCR, { key: 'd:k', extras: deltaExtras(1n, 0n, 0) }),
  bin(OPS.SET, { key: 'd:n3', extras: setExtras(0, 0), value: ' 12' }),
  bin(OPS.INCR, { key: 'd:n3', extras: deltaExtras(2n, 0n, 0) }),
  bin(OPS.SET, { key: 'd:n4', extras: setExtras(0, 0), value: '-1' }),
  bin(OPS.INCR, { key: 'd:n4', extras: deltaExtras(2n, 0n, 0) }),
  bin(OPS.SET, { key: 'd:n5', extras: setExtras(0, 0), value: '12a' }),
  bin(OPS.INCR, { key: 'd:n5', extras: deltaExtras(2n, 0n, 0) }),
  bin(OPS.APPEND, { key: 'd:zz', value: 'x' }),
  bin(OPS.PREPEND, { key: 'd:k', value: 'pre-' }),
  bin(OPS.TOUCH, { key: 'd:k', extras: u32(100) }),
  bin(OPS.GAT, { key: 'd:k', extras: u32(100) }),
  bin(OPS.GATQ, { key: 'd:zz', extras: u32(100) }),
  bin(OPS.GATK, { key: 'd:k', extras: u32(100) }),
  bin(OPS.TOUCH, { key: 'd:zz', extras: u32(100) }),
  bin(OPS.VERSION),
  bin(OPS.FLUSHQ),
  bin(OPS.GET, { key: 'd:k' }),
  bin(OPS.GET, { key: 'x'.repeat(250) }),
  bin(OPS.SET, { key: 'd:big', extras: setExtras(0, 0), value: Buffer.alloc(1024 * 1024) }),
  bin(OPS.NOOP, { opaque: 0xffff }),
];

t('differential: the same frames give the same bytes as memcached 1.6 (CAS aside)', async () => {
  if (!memcached) throw new Error('this test compares with memcached 1.6: install memcached (it is not on PATH)');
  const done = (d: Buffer): boolean => parseBin(d).some((x) => x.opaque === 0xffff);
  const [ours, theirs] = await withTimeout(Promise.all([
    exchange(server!.memcachePort, DIFF_SCRIPT, done),
    exchange(memcached.port, DIFF_SCRIPT, done),
  ]), TEST_TIMEOUT_MS);
  const a = parseBin(maskCas(ours.data)).map((x) => x.raw.toString('hex'));
  const b = parseBin(maskCas(theirs.data)).map((x) => x.raw.toString('hex'));
  assert.equal(a, b);
});

t.run();
