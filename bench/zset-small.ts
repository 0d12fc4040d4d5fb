// Small sorted sets (listpack / PACK), measured in this process: n sets of 10 members m:00..m:09
// with scores 0..9 (the bench:lists case), arena bytes per element (keyspace usedMemory growth),
// and per-call times of zsetAdd (score update) and zsetScore on one 100-member PACK. With --redis,
// redis-server 7.0's used_memory growth per element for the same load (ZADD of 10 members per key).
// Usage: npm run build && node dist/bench/zset-small.js [--n 1000000] [--redis]

import { performance } from 'node:perf_hooks';
import { Keyspace } from '../src/keyspace/keyspace.js';
import * as Z from '../src/keyspace/zset.js';
import { startFreshRedis } from './lib/fresh-servers.js';
import { encodeCommand, RespClient, usedMemory } from './lib/resp-client.js';
import { stopAll } from './lib/servers.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const N = opt('n', 1_000_000);
const MEMBERS = 10;
const CALLS = 1_000_000;

const members = Array.from({ length: MEMBERS }, (_, i) => Buffer.from(`m:${String(i).padStart(2, '0')}`, 'latin1'));
const keyOf = (i: number): Buffer => Buffer.from(`zs:${i}`, 'latin1');

function memory(): void {
  const ks = new Keyspace(Keyspace.createMemory({ initialBytes: Math.max(1 << 20, N * 400) }));
  const base = ks.usedMemory();
  for (let i = 0; i < N; i++) {
    const k = keyOf(i);
    let e = Z.zsetCreate(ks, k, 0, k.length, MEMBERS, 4);
    for (let j = 0; j < MEMBERS; j++) e = Z.zsetAdd(ks, e, members[j]!, 0, 4, j);
  }
  const used = ks.usedMemory() - base;
  console.log(`tessera: ${N} sets x ${MEMBERS} members: arena bytes per element ${(used / (N * MEMBERS)).toFixed(1)}`);
}

function timings(): void {
  const ks = new Keyspace(Keyspace.createMemory({ initialBytes: 1 << 24 }));
  const k = Buffer.from('zs100');
  const ms = Array.from({ length: 100 }, (_, i) => Buffer.from(`member:${String(i).padStart(3, '0')}`, 'latin1'));
  let e = Z.zsetCreate(ks, k, 0, k.length, 100, 10);
  for (let j = 0; j < 100; j++) e = Z.zsetAdd(ks, e, ms[j]!, 0, ms[j]!.length, j * 3);
  for (const [label, frac] of [['integer', 0], ['fractional', 0.5]] as const) {
    let t0 = performance.now();
    for (let q = 0; q < CALLS; q++) {
      const m = ms[(q * 37) % 100]!;
      e = Z.zsetAdd(ks, e, m, 0, m.length, ((q * 13) % 300) + frac);
    }
    const addNs = ((performance.now() - t0) * 1e6) / CALLS;
    let sum = 0;
    t0 = performance.now();
    for (let q = 0; q < CALLS; q++) {
      const m = ms[(q * 37) % 100]!;
      if (Z.zsetScore(ks, e, m, 0, m.length)) sum += Z.score;
    }
    const scoreNs = ((performance.now() - t0) * 1e6) / CALLS;
    console.log(`100-member ${Z.zsetEncodingName(ks, e)}, ${label} scores: zsetAdd (score update) ${addNs.toFixed(0)} ns, zsetScore ${scoreNs.toFixed(0)} ns${sum < 0 ? '' : ''}`);
  }
}

async function redis(): Promise<void> {
  const server = await startFreshRedis();
  try {
    const c = await RespClient.connect(server.port);
    const before = await usedMemory(c);
    let cmds: Buffer[] = [];
    for (let i = 0; i < N; i++) {
      const a: Array<string | Buffer> = ['ZADD', keyOf(i)];
      for (let j = 0; j < MEMBERS; j++) a.push(String(j), members[j]!);
      cmds.push(encodeCommand(a));
      if (cmds.length === 1000) {
        await c.pipeline(cmds);
        cmds = [];
      }
    }
    if (cmds.length > 0) await c.pipeline(cmds);
    const after = await usedMemory(c);
    console.log(`redis-server 7: ${N} sets, encoding ${String(await c.call('OBJECT', 'ENCODING', 'zs:0'))}: used_memory bytes per element ${((after - before) / (N * MEMBERS)).toFixed(1)}`);
    c.close();
  } finally {
    await stopAll();
  }
}

memory();
timings();
if (args.includes('--redis')) await redis();
