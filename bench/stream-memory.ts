// Memory per stream entry, Tessera against redis-server on the same machine in the same run: N
// entries of 3 small fields (XADD s * field1 <i> field2 hello field3 <3i>) into one stream, the
// growth of used_memory on each (Tessera's is its arenas' bytes) and MEMORY USAGE of the key, and
// Tessera's RSS growth. Prints a Markdown table; run with
//   npm run build && node dist/bench/stream-memory.js [N]   (default 1000000)

import { startFreshRedis, startFreshTessera, type FreshServer } from './lib/fresh-servers.js';
import { describeMachine } from './lib/machine.js';
import { encodeCommand, RespClient, usedMemory } from './lib/resp-client.js';
import { readFileSync } from 'node:fs';

const N = Number(process.argv[2] ?? 1_000_000);
const BATCH = 1000;

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]) * 1024;
}

interface Growth {
  used: number;
  usage: number;
  rss: number;
  loadMs: number;
}

async function measure(server: FreshServer): Promise<Growth> {
  const c = await RespClient.connect(server.port);
  try {
    const before = await usedMemory(c);
    const rssBefore = rssBytes(server.pid);
    const t0 = performance.now();
    for (let i = 0; i < N; i += BATCH) {
      const cmds: Buffer[] = [];
      for (let j = i; j < Math.min(N, i + BATCH); j++) cmds.push(encodeCommand(['XADD', 's', '*', 'field1', String(j), 'field2', 'hello', 'field3', String(3 * j)]));
      const r = await c.pipeline(cmds);
      const bad = r.find((x) => x instanceof Error);
      if (bad !== undefined) throw bad as Error;
    }
    const loadMs = performance.now() - t0;
    const len = await c.call('XLEN', 's');
    if (len !== N) throw new Error(`${server.name}: XLEN ${String(len)}, expected ${N}`);
    const used = (await usedMemory(c)) - before;
    const usage = Number(await c.call('MEMORY', 'USAGE', 's', 'SAMPLES', '0'));
    return { used, usage, rss: rssBytes(server.pid) - rssBefore, loadMs };
  } finally {
    c.close();
  }
}

async function main(): Promise<void> {
  const redis = await startFreshRedis();
  let r: Growth;
  try {
    r = await measure(redis);
  } finally {
    await redis.stop();
  }
  const tessera = await startFreshTessera(['--shards', '1']);
  let t: Growth;
  try {
    t = await measure(tessera);
  } finally {
    await tessera.stop();
  }
  const per = (x: number): string => (x / N).toFixed(1);
  console.log(`Stream of ${N} entries, 3 fields each (XADD s * field1 <i> field2 hello field3 <3i>)`);
  console.log(describeMachine());
  console.log('| | used_memory growth / entry | MEMORY USAGE / entry | RSS growth / entry | load s |');
  console.log('|---|---|---|---|---|');
  console.log(`| redis-server | ${per(r.used)} | ${per(r.usage)} | ${per(r.rss)} | ${(r.loadMs / 1000).toFixed(1)} |`);
  console.log(`| Tessera | ${per(t.used)} | ${per(t.usage)} | ${per(t.rss)} | ${(t.loadMs / 1000).toFixed(1)} |`);
  console.log(`ratio (Tessera / Redis, used_memory): ${(t.used / r.used).toFixed(2)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
