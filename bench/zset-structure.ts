// The large sorted-set structure (docs/sorted-sets.md), measured: one sorted set of n members
// ("member:0000001"..., random scores from a seeded generator) loaded into a keyspace in this
// process, one ZADD member at a time. Prints arena bytes per member (member table and B+ tree
// apart, with the leaves' fill) and the time of the structure's operations, and, with --redis,
// redis-server's used_memory growth per member for the same data (ZADD of 1000 members per
// command). The in-arena skiplist it is compared with is computed from its layout in the doc.
// Usage: npm run build && node dist/bench/zset-structure.js [--n 1000000] [--redis] [--ties]

import { performance } from 'node:perf_hooks';
import { Keyspace } from '../src/keyspace/keyspace.js';
import * as Z from '../src/keyspace/zset.js';
import { startFreshRedis } from './lib/fresh-servers.js';
import { encodeCommand, RespClient, usedMemory } from './lib/resp-client.js';
import { stopAll } from './lib/servers.js';

const args = process.argv.slice(2);
const flag = (name: string): boolean => args.includes(`--${name}`);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const N = opt('n', 1_000_000);
const QUERIES = 200_000;
/** Scores with many ties (0..99) instead of distinct random doubles. */
const TIES = flag('ties');

let rng = 0x2545f491;
function random(): number {
  rng ^= rng << 13;
  rng ^= rng >>> 17;
  rng ^= rng << 5;
  return (rng >>> 0) / 4294967296;
}

function member(i: number): Buffer {
  return Buffer.from(`member:${String(i).padStart(7, '0')}`, 'latin1');
}

function scores(): Float64Array {
  const s = new Float64Array(N);
  for (let i = 0; i < N; i++) s[i] = TIES ? Math.floor(random() * 100) : random() * 1e6;
  return s;
}

function perOp(t0: number, n: number): string {
  return `${(((performance.now() - t0) * 1e6) / n).toFixed(0)} ns`;
}

function tessera(sc: Float64Array): void {
  const ks = new Keyspace(Keyspace.createMemory({ initialBytes: Math.max(1 << 20, N * 80) }));
  const base = ks.usedMemory();
  const k = Buffer.from('bigzset');
  let e = Z.zsetCreate(ks, k, 0, k.length, 1, 14);
  let t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const m = member(i);
    e = Z.zsetAdd(ks, e, m, 0, m.length, sc[i]!);
  }
  const addNs = perOp(t0, N);
  const used = ks.usedMemory() - base;
  const parts = Z.zsetStructureBytes(ks, e);
  console.log(`tessera: ${N} members, encoding ${Z.zsetEncodingName(ks, e)}`);
  console.log(`  arena bytes per member: ${(used / N).toFixed(1)} (member table ${(parts.table / N).toFixed(1)}, tree ${(parts.tree / N).toFixed(1)}, entry ${((used - parts.total) / N).toFixed(2)})`);
  console.log(`  ZADD (new member) ${addNs} per call`);
  t0 = performance.now();
  let sum = 0;
  for (let q = 0; q < QUERIES; q++) {
    const m = member(Math.floor(random() * N));
    sum += Z.zsetRank(ks, e, m, 0, m.length);
  }
  console.log(`  zsetRank ${perOp(t0, QUERIES)}`);
  t0 = performance.now();
  for (let q = 0; q < QUERIES; q++) sum += Z.zsetCountBelowScore(ks, e, random() * 1e6, false);
  console.log(`  zsetCountBelowScore ${perOp(t0, QUERIES)}`);
  t0 = performance.now();
  const visit = (_b: Uint8Array, _o: number, l: number): boolean => {
    sum += l;
    return true;
  };
  for (let q = 0; q < QUERIES; q++) {
    const r = Math.floor(random() * (N - 10));
    Z.zsetRange(ks, e, r, r + 9, false, visit);
  }
  console.log(`  zsetRange of 10 ${perOp(t0, QUERIES)}`);
  t0 = performance.now();
  for (let q = 0; q < QUERIES; q++) {
    const i = Math.floor(random() * N);
    const m = member(i);
    e = Z.zsetAdd(ks, e, m, 0, m.length, random() * 1e6);
  }
  console.log(`  ZADD (new score for a member) ${perOp(t0, QUERIES)}`);
  t0 = performance.now();
  for (let q = 0; q < QUERIES; q++) {
    Z.zsetAt(ks, e, 0);
    Z.zsetRemove(ks, e, Z.hitBuf, Z.hitOff, Z.hitLen);
    e = Z.removedHandle;
  }
  console.log(`  pop min (zsetAt 0 + zsetRemove) ${perOp(t0, QUERIES)}`);
  if (sum === -1) console.log('');
  if (N <= 2_000_000) Z.zsetCheck(ks, e);
}

async function redis(sc: Float64Array): Promise<void> {
  const server = await startFreshRedis();
  try {
    const c = await RespClient.connect(server.port);
    const before = await usedMemory(c);
    const BATCH = 1000;
    let cmds: Buffer[] = [];
    for (let i = 0; i < N; i += BATCH) {
      const a: Array<string | Buffer> = ['ZADD', 'bigzset'];
      for (let j = i; j < Math.min(N, i + BATCH); j++) a.push(String(sc[j]), member(j));
      cmds.push(encodeCommand(a));
      if (cmds.length === 50) {
        await c.pipeline(cmds);
        cmds = [];
      }
    }
    if (cmds.length > 0) await c.pipeline(cmds);
    const after = await usedMemory(c);
    const card = await c.call('ZCARD', 'bigzset');
    const enc = await c.call('OBJECT', 'ENCODING', 'bigzset');
    console.log(`redis-server 7: ${String(card)} members, encoding ${String(enc)}`);
    console.log(`  used_memory bytes per member: ${((after - before) / N).toFixed(1)}`);
    c.close();
  } finally {
    await stopAll();
  }
}

const sc = scores();
tessera(sc);
if (flag('redis')) await redis(sc);
