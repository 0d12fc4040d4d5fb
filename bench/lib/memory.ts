// Memory per key for bench/compare.ts: a fresh server of each kind is loaded with the same keys,
// and INFO's used_memory and the process's VmRSS are read before and after. The target
// compares Tessera's RSS growth per key (all it costs the host, shard threads included) with
// Redis's used_memory per key (what Redis itself counts, allocator overhead left out).

import { bulkLoad } from './persist.js';
import { RespClient, usedMemory } from './resp-client.js';
import { rssBytes, type BenchServer } from './servers.js';

export interface MemoryGrowth {
  usedBytes: number;
  rssBytes: number;
  loadMs: number;
}

export interface MemoryResult {
  keys: number;
  valueBytes: number;
  redis: MemoryGrowth;
  tessera: MemoryGrowth;
  /** Tessera's RSS growth per key / Redis's used_memory growth per key (the metric). */
  targetRatio: number;
}

/** Connections and SETs per write of the loader: 5M keys load in about 10-20 s on 2 cores. */
const LOAD_CONNECTIONS = 4;
const LOAD_BATCH = 2000;

/** Loads `keys` keys into `server` (which must be empty) and returns the growth it caused. */
export async function memoryGrowth(server: BenchServer, keys: number, valueBytes: number): Promise<MemoryGrowth> {
  const client = await RespClient.connect(server.port);
  try {
    const usedBefore = await usedMemory(client);
    const rssBefore = rssBytes(server.pid);
    const loadMs = await bulkLoad(server.port, keys, valueBytes, false, LOAD_CONNECTIONS, LOAD_BATCH);
    const dbsize = await client.call('DBSIZE');
    if (dbsize !== keys) throw new Error(`${server.name}: DBSIZE is ${String(dbsize)} after loading ${keys} keys`);
    return { usedBytes: (await usedMemory(client)) - usedBefore, rssBytes: rssBytes(server.pid) - rssBefore, loadMs };
  } finally {
    client.close();
  }
}

/** Each server is started, loaded and stopped before the next starts: they never share the RAM. */
export async function compareMemory(keys: number, valueBytes: number, startRedis: () => Promise<BenchServer>,
  startTessera: () => Promise<BenchServer>): Promise<MemoryResult> {
  const growth = async (start: () => Promise<BenchServer>): Promise<MemoryGrowth> => {
    const server = await start();
    try {
      return await memoryGrowth(server, keys, valueBytes);
    } finally {
      await server.stop();
    }
  };
  const redis = await growth(startRedis);
  const tessera = await growth(startTessera);
  return { keys, valueBytes, redis, tessera, targetRatio: tessera.rssBytes / redis.usedBytes };
}
