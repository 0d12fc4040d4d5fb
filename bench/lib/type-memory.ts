// Memory per element of hashes and sets (issue 14): a fresh server of each kind per case, loaded
// with pipelined HSET/SADD, INFO used_memory and the process's VmRSS read before and after. The
// issue's metric is Tessera's RSS growth per element (all it costs the host) against Redis's
// used_memory growth per element (what Redis counts itself, allocator overhead left out).

import { loadCommands } from './line-load.js';
import type { MemoryCase } from './type-data.js';
import { RespClient, usedMemory } from './resp-client.js';
import { rssBytes, type BenchServer } from './servers.js';

/** What caseGrowth needs of a case: the hash and set cases here, the list and sorted-set ones of
 * bench/lib/list-data.ts. */
export type LoadCase = Pick<MemoryCase, 'keys' | 'commands' | 'command' | 'sampleKey' | 'perKeyElements'> & { id: string; countCommand: string };

export interface CaseGrowth {
  usedBytes: number;
  rssBytes: number;
  loadMs: number;
  /** OBJECT ENCODING of the case's sample key after the load. */
  encoding: string;
}

export interface MemoryCaseResult {
  id: string;
  description: string;
  n: number;
  elements: number;
  redis: CaseGrowth;
  tessera: CaseGrowth;
  /** Tessera's RSS growth per element / Redis's used_memory growth per element. */
  ratio: number;
}

/** Loads `c` at size `n` into `server` (empty) and returns the growth; checks the key count and
 * the sample key's element count, so that a load that lost commands cannot pass as lean. */
export async function caseGrowth(server: BenchServer, c: LoadCase, n: number, connections: number): Promise<CaseGrowth> {
  const client = await RespClient.connect(server.port);
  try {
    const usedBefore = await usedMemory(client);
    const rssBefore = rssBytes(server.pid);
    const loadMs = await loadCommands(server.port, c.commands(n), (i) => c.command(i, n), { connections });
    const rssAfter = rssBytes(server.pid);
    const usedAfter = await usedMemory(client);
    const dbsize = await client.call('DBSIZE');
    if (dbsize !== c.keys(n)) throw new Error(`${server.name}: DBSIZE is ${String(dbsize)} after loading ${c.id} (expected ${c.keys(n)})`);
    const count = await client.call(c.countCommand, c.sampleKey);
    if (count !== c.perKeyElements(n)) {
      throw new Error(`${server.name}: ${c.countCommand} ${c.sampleKey} is ${String(count)} after loading ${c.id} (expected ${c.perKeyElements(n)})`);
    }
    const encoding = await client.call('OBJECT', 'ENCODING', c.sampleKey);
    return {
      usedBytes: usedAfter - usedBefore, rssBytes: rssAfter - rssBefore, loadMs,
      encoding: typeof encoding === 'string' ? encoding : `(${encoding instanceof Error ? encoding.message : String(encoding)})`,
    };
  } finally {
    client.close();
  }
}

/** One case on a fresh Redis, then on a fresh Tessera: they never share the RAM. */
export async function compareCase(c: MemoryCase, n: number, connections: number, startRedis: () => Promise<BenchServer>,
  startTessera: () => Promise<BenchServer>): Promise<MemoryCaseResult> {
  const growth = async (start: () => Promise<BenchServer>): Promise<CaseGrowth> => {
    const server = await start();
    try {
      return await caseGrowth(server, c, n, connections);
    } finally {
      await server.stop();
    }
  };
  const redis = await growth(startRedis);
  const tessera = await growth(startTessera);
  const elements = c.elements(n);
  return {
    id: c.id, description: c.describe(n), n, elements, redis, tessera,
    ratio: (tessera.rssBytes / elements) / (redis.usedBytes / elements),
  };
}
