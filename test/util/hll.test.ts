// The pure HyperLogLog module (src/util/hll.ts) against a real redis-server 7.0: the bytes GET
// returns after PFADD (sparse, promoted to dense at several hll-sparse-max-bytes, dense), the
// cached cardinality PFCOUNT writes, PFMERGE's output, and PFCOUNT after every add for 1..100000
// elements. MurmurHash64A is checked against a BigInt reference. Needs redis-server (fails if absent).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as H from '../../src/util/hll.js';
import { rawClient, startRedis, withTimeout, requireTool, type RawClient, type RespValue, type ServerHandle } from '../e2e/harness.js';

const M = 0xc6a4a7935bd1e995n;
const MASK = (1n << 64n) - 1n;

/** Redis's MurmurHash64A in BigInt, the reference for the 32-bit-halves version. */
function murmurRef(data: Uint8Array, seed: bigint): bigint {
  const len = data.length;
  let h = (seed ^ ((BigInt(len) * M) & MASK)) & MASK;
  const end = len - (len & 7);
  for (let i = 0; i < end; i += 8) {
    let k = 0n;
    for (let j = 7; j >= 0; j--) k = (k << 8n) | BigInt(data[i + j]!);
    k = (k * M) & MASK;
    k ^= k >> 47n;
    k = (k * M) & MASK;
    h ^= k;
    h = (h * M) & MASK;
  }
  const rest = len & 7;
  if (rest > 0) {
    for (let j = rest - 1; j >= 0; j--) h ^= BigInt(data[end + j]!) << BigInt(8 * j);
    h = (h * M) & MASK;
  }
  h ^= h >> 47n;
  h = (h * M) & MASK;
  h ^= h >> 47n;
  return h;
}

test('MurmurHash64A matches the BigInt reference for lengths 0..40 and random bytes', () => {
  let x = 12345;
  for (let len = 0; len <= 40; len++) {
    for (let rep = 0; rep < 20; rep++) {
      const b = new Uint8Array(len);
      for (let i = 0; i < len; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        b[i] = x >>> 24;
      }
      assert.is(H.murmurHash64A(b), murmurRef(b, 0xadc83b19n), `len ${len}`);
    }
  }
});

test('an empty HLL is the 18 bytes of createHLLObject, count 0', () => {
  H.hllInitEmpty();
  assert.equal(Buffer.from(H.work.subarray(0, H.workLen)), Buffer.from('HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff', 'latin1'));
  assert.is(H.hllCachedCount(), 0);
  assert.is(H.hllCountWork(), 0);
});

let redis: ServerHandle | undefined;
let c: RawClient | undefined;

async function connect(): Promise<RawClient> {
  if (c) return c;
  requireTool('redis-server', ['--version'], 'redis-server');
  redis = await startRedis();
  c = await rawClient(redis.port);
  return c;
}

function intOf(v: RespValue): number {
  if (v.type !== 'integer') throw new Error(`not an integer reply: ${JSON.stringify(v)}`);
  return Number(v.value);
}

function local(): Buffer {
  return Buffer.from(H.work.subarray(0, H.workLen));
}

async function get(cl: RawClient, key: string): Promise<Buffer> {
  const r = await cl.call(['GET', key]);
  assert.is(r.value.type, 'bulk');
  const v = r.value as { value: Buffer | null };
  return v.value ?? Buffer.alloc(0);
}

/** Adds n elements (prefix + i) both to redis and locally, in batches; compares the bytes. */
async function addBoth(cl: RawClient, key: string, prefix: string, n: number, maxBytes: number): Promise<void> {
  const BATCH = 500;
  for (let i = 0; i < n; i += BATCH) {
    const els: string[] = [];
    for (let j = i; j < Math.min(n, i + BATCH); j++) els.push(`${prefix}${j}`);
    await cl.call(['PFADD', key, ...els]);
    for (const e of els) {
      const b = Buffer.from(e);
      H.hllAdd(b, 0, b.length, maxBytes);
    }
  }
  H.hllInvalidateCache();
}

test('PFADD bytes equal redis-server GET: sparse, promotion at several hll-sparse-max-bytes, dense', () =>
  withTimeout((async () => {
    const cl = await connect();
    for (const maxBytes of [3000, 0, 100, 700, 10000]) {
      await cl.call(['CONFIG', 'SET', 'hll-sparse-max-bytes', String(maxBytes)]);
      for (const n of [1, 5, 60, 300, 1000, 5000]) {
        const key = `k${maxBytes}-${n}`;
        H.hllInitEmpty();
        await addBoth(cl, key, `e${n}:`, n, maxBytes);
        assert.equal(local(), await get(cl, key), `PFADD ${n} elements, max ${maxBytes}: bytes`);
        // PFCOUNT stores the cardinality in the header.
        const r = await cl.call(['PFCOUNT', key]);
        assert.is(H.hllCountWork(), intOf(r.value), `count ${n}`);
        assert.equal(local(), await get(cl, key), `after PFCOUNT ${n}, max ${maxBytes}: bytes`);
      }
    }
    await cl.call(['CONFIG', 'SET', 'hll-sparse-max-bytes', '3000']);
  })(), 60_000, 'bytes'));

test('PFMERGE bytes equal redis-server (sparse + sparse, sparse + dense)', () =>
  withTimeout((async () => {
    const cl = await connect();
    for (const [na, nb] of [[10, 20], [50, 3000], [3000, 4000]] as const) {
      H.hllInitEmpty();
      await addBoth(cl, `ma${na}`, 'a', na, 3000);
      const ba = local();
      H.hllInitEmpty();
      await addBoth(cl, `mb${nb}`, 'b', nb, 3000);
      const bb = local();
      await cl.call(['PFMERGE', `md${na}`, `ma${na}`, `mb${nb}`]);
      const regs = new Uint8Array(H.HLL_REGISTERS);
      assert.ok(H.hllMergeInto(regs, ba, 0, ba.length));
      assert.ok(H.hllMergeInto(regs, bb, 0, bb.length));
      H.hllInitEmpty();
      H.hllStoreRegs(regs, ba[4] === H.HLL_DENSE || bb[4] === H.HLL_DENSE, 3000);
      assert.equal(local(), await get(cl, `md${na}`), `PFMERGE ${na}+${nb}`);
      const r = await cl.call(['PFCOUNT', `ma${na}`, `mb${nb}`]);
      assert.is(H.hllCountRegs(regs), intOf(r.value), 'union count');
    }
  })(), 60_000, 'merge'));

test('PFCOUNT after every PFADD, 1..100000 elements, equals redis-server', () =>
  withTimeout((async () => {
    const cl = await connect();
    await cl.call(['DEL', 'big']);
    H.hllInitEmpty();
    const N = 100_000;
    const BATCH = 2000;
    const mismatches: string[] = [];
    for (let i = 0; i < N; i += BATCH) {
      const cmds: Buffer[] = [];
      const mine: number[] = [];
      for (let j = i; j < i + BATCH; j++) {
        const el = `element:${j}`;
        cmds.push(Buffer.from(`*3\r\n$5\r\nPFADD\r\n$3\r\nbig\r\n$${el.length}\r\n${el}\r\n*2\r\n$7\r\nPFCOUNT\r\n$3\r\nbig\r\n`));
        const b = Buffer.from(el);
        if (H.hllAdd(b, 0, b.length, 3000) > 0) H.hllInvalidateCache();
        let n = H.hllCachedCount();
        if (n < 0) n = H.hllCountWork();
        mine.push(n);
      }
      cl.send(Buffer.concat(cmds));
      const replies = await cl.read(BATCH * 2, 30_000);
      for (let k = 0; k < BATCH; k++) {
        const got = intOf(replies[2 * k + 1]!.value);
        if (got !== mine[k] && mismatches.length < 10) mismatches.push(`after ${i + k + 1}: redis ${got}, local ${mine[k]}`);
      }
    }
    assert.equal(mismatches, []);
    assert.equal(local(), await get(cl, 'big'), 'final bytes');
  })(), 110_000, '100000'));

test.after(async () => {
  c?.close();
  await redis?.stop();
});

test.run();
