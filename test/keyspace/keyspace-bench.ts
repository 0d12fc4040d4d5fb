// Micro-benchmark of the keyspace: `node dist/test/keyspace/keyspace-bench.js [keys]`.
// Sets N keys of 16 bytes with 32-byte values, then finds them, and reports ops/s and bytes/key.
import { Keyspace, TYPE_STRING } from '../../src/keyspace/keyspace.js';

const N = Number(process.argv[2] ?? 1_000_000);
const KEY_BYTES = 16;
const VALUE_BYTES = 32;

const keys = new Uint8Array(N * KEY_BYTES);
for (let i = 0; i < N; i++) {
  const s = `key:${i.toString().padStart(KEY_BYTES - 4, '0')}`;
  for (let j = 0; j < KEY_BYTES; j++) keys[i * KEY_BYTES + j] = s.charCodeAt(j);
}
const value = new Uint8Array(VALUE_BYTES).fill(120);

const ks = new Keyspace(Keyspace.createMemory());
const base = ks.usedMemory();
let t = performance.now();
for (let i = 0; i < N; i++) ks.set(keys, i * KEY_BYTES, KEY_BYTES, value, 0, VALUE_BYTES, TYPE_STRING, 0);
const setMs = performance.now() - t;
while (ks.rehashStep());
t = performance.now();
let found = 0;
for (let i = 0; i < N; i++) if (ks.find(keys, i * KEY_BYTES, KEY_BYTES) !== 0) found++;
const findMs = performance.now() - t;
t = performance.now();
for (let i = 0; i < N; i++) ks.find(keys, i * KEY_BYTES, KEY_BYTES - 1);
const missMs = performance.now() - t;
const st = ks.stats();
console.log(JSON.stringify({
  keys: N,
  found,
  setOpsPerSec: Math.round(N / (setMs / 1000)),
  findOpsPerSec: Math.round(N / (findMs / 1000)),
  missOpsPerSec: Math.round(N / (missMs / 1000)),
  usedMemory: st.usedMemory,
  bytesPerKey: +(st.usedMemory / N).toFixed(2),
  bytesPerKeyExclHeader: +((st.usedMemory - base) / N).toFixed(2),
  indexCapacity: st.indexCapacity,
  arenaBytes: st.arenaBytes,
}));
t = performance.now();
for (let i = 0; i < N; i++) ks.delete(keys, i * KEY_BYTES, KEY_BYTES);
while (ks.rehashStep());
console.log(JSON.stringify({ deleteOpsPerSec: Math.round(N / ((performance.now() - t) / 1000)), usedAfter: ks.usedMemory(), base }));
