// Memory per element of lists and sorted sets (issue 15), measured as bench:types measures hashes:
// a fresh server of each kind per case, loaded with pipelined RPUSH/ZADD (bench/lib/line-load.ts),
// used_memory and VmRSS read before and after (bench/lib/type-memory.ts). A side that cannot load
// the case (a server without the commands yet) is reported with its error instead of a figure.

import { shortError, type ListMemoryCase } from './list-data.js';
import type { BenchServer } from './servers.js';
import { caseGrowth, type CaseGrowth } from './type-memory.js';

export interface ListMemoryResult {
  id: string;
  description: string;
  n: number;
  elements: number;
  /** Each side's growth, or the error that stopped its load. */
  redis: CaseGrowth | string;
  tessera: CaseGrowth | string;
  /** Tessera's RSS growth per element / Redis's used_memory growth per element (NaN when a side failed). */
  ratio: number;
}

/** The case on a fresh Redis, stopped, then on a fresh Tessera: they never share the RAM. */
export async function compareListCase(c: ListMemoryCase, n: number, connections: number, startRedis: () => Promise<BenchServer>,
  startTessera: () => Promise<BenchServer>): Promise<ListMemoryResult> {
  const growth = async (start: () => Promise<BenchServer>): Promise<CaseGrowth | string> => {
    const server = await start();
    try {
      return await caseGrowth(server, c, n, connections);
    } catch (err) {
      return shortError(err instanceof Error ? err.message : String(err));
    } finally {
      await server.stop();
    }
  };
  const redis = await growth(startRedis);
  const tessera = await growth(startTessera);
  const elements = c.elements(n);
  const ratio = typeof redis === 'string' || typeof tessera === 'string' ? NaN : tessera.rssBytes / redis.usedBytes;
  return { id: c.id, description: c.describe(n), n, elements, redis, tessera, ratio };
}
