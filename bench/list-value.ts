// Lists in one shard's arena, measured on the Keyspace directly (no server): bytes per element
// (ks.stats().usedMemory, keys included) for many small lists and for one long list, with and
// without compression, and the cost of a push and a pop at each end, of LINDEX in the middle.
// Usage: node dist/bench/list-value.js [LONG_ELEMENTS=1000000] [SMALL_LISTS=1000000]
// Results and Redis's figures for the same shapes: docs/lists.md.
import { cpus } from 'node:os';
import { DEFAULT_COLLECTION_LIMITS, Keyspace } from '../src/keyspace/keyspace.js';
import * as L from '../src/keyspace/list.js';

const LONG = Number(process.argv[2] ?? 1_000_000);
const SMALL = Number(process.argv[3] ?? 1_000_000);

function fresh(depth = 0): Keyspace {
  const ks = new Keyspace(Keyspace.createMemory({ initialBytes: 64 << 20 }));
  ks.limits = { ...DEFAULT_COLLECTION_LIMITS, listCompressDepth: depth };
  return ks;
}

const scratch = Buffer.allocUnsafe(64);
/** A short element, about 10 bytes (a queue's job id). */
function element(i: number): number {
  return scratch.write(`job:${100000 + (i % 900000)}`, 0, 'latin1');
}

function smallLists(n: number): void {
  const ks = fresh();
  const base = ks.stats().usedMemory;
  const key = Buffer.allocUnsafe(32);
  for (let i = 0; i < n; i++) {
    const kl = key.write(`list:${i}`, 0, 'latin1');
    let e = L.listCreate(ks, key, 0, kl);
    for (let j = 0; j < 10; j++) e = L.listPush(ks, e, L.TAIL, scratch, 0, element(i * 10 + j));
  }
  const used = ks.stats().usedMemory - base;
  console.log(`${n} lists of 10 short elements: ${(used / (n * 10)).toFixed(1)} bytes per element (keys and index included), ${(used / n).toFixed(0)} per list`);
}

function longList(n: number, depth: number): void {
  const ks = fresh(depth);
  const base = ks.stats().usedMemory;
  const k = Buffer.from('queue');
  let e = L.listCreate(ks, k, 0, k.length);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) e = L.listPush(ks, e, L.TAIL, scratch, 0, element(i));
  const buildNs = ((performance.now() - t0) * 1e6) / n;
  const used = ks.stats().usedMemory - base;
  console.log(`one list of ${n} short elements, compress depth ${depth}: ${(used / n).toFixed(2)} bytes per element (${L.listEncodingName(ks, e)}), built at ${buildNs.toFixed(0)} ns per RPUSH`);
  if (depth !== 0) return;
  const OPS = 1_000_000;
  for (const [name, run] of [
    ['LPUSH', (): void => { e = L.listPush(ks, e, L.HEAD, scratch, 0, 10); }],
    ['LPOP', (): void => { e = L.listPop(ks, e, L.HEAD); }],
    ['RPUSH', (): void => { e = L.listPush(ks, e, L.TAIL, scratch, 0, 10); }],
    ['RPOP', (): void => { e = L.listPop(ks, e, L.TAIL); }],
  ] as const) {
    const t = performance.now();
    for (let i = 0; i < OPS; i++) run();
    console.log(`  ${name}: ${(((performance.now() - t) * 1e6) / OPS).toFixed(0)} ns per op`);
  }
  const N = 20_000;
  const t = performance.now();
  for (let i = 0; i < N; i++) L.listIndex(ks, e, (n >>> 1) + (i % 1000));
  console.log(`  LINDEX in the middle: ${(((performance.now() - t) * 1e6) / N).toFixed(0)} ns per op`);
  ks.checkIntegrity();
}

console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}`);
smallLists(SMALL);
longList(LONG, 0);
longList(LONG, 1);
