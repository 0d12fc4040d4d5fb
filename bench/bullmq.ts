// BullMQ jobs per second (issue 17): one Queue adding jobs (addBulk, batches of 100) while one
// Worker (concurrency 50, a processor that returns at once) completes them, timed from the first
// add to the last 'completed' event; Tessera (fresh, --shards 4 by default) and redis-server
// (fresh) in the same run, a warm-up run each, then pairs whose order alternates round by round, ratio per round and
// of the medians printed. Both sides use the same '{bull}' prefix (docs/bullmq.md says why).
// Usage: npm run bench:bullmq [-- --jobs N --rounds N --concurrency N --shards N]
// (env BENCH_BULLMQ_JOBS, BENCH_BULLMQ_ROUNDS, BENCH_BULLMQ_CONCURRENCY, BENCH_BULLMQ_SHARDS).

import { Queue, Worker } from 'bullmq';
import { startFreshRedis, startFreshTessera } from './lib/fresh-servers.js';
import { describeMachine } from './lib/machine.js';
import { alternate } from './lib/order.js';
import { killAllNow, stopAll, type BenchServer } from './lib/servers.js';
import { fmtInt, median } from './lib/stats.js';

const BATCH = 100;
const WARMUP_JOBS = 500;
const PREFIX = '{bull}';
/** One side's run may not take longer than this (a stuck server fails the benchmark). */
const RUN_DEADLINE_MS = 300_000;

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const raw = i >= 0 ? process.argv[i + 1] : process.env[`BENCH_BULLMQ_${name.toUpperCase()}`];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: ${raw} is not a positive integer`);
  return n;
}

const jobs = option('jobs', 5000);
const rounds = option('rounds', 3);
const concurrency = option('concurrency', 50);
const shards = option('shards', 4);
// With '{bull}' every script's keys share a slot: the default `slot` runs each in its shard (the
// fast path); `allow` runs BullMQ's flagless scripts with every shard locked (docs/scripting.md).
// BENCH_UNDECLARED=allow|deny measures the others.
const undeclared = process.env.BENCH_UNDECLARED === 'allow' || process.env.BENCH_UNDECLARED === 'deny' ? process.env.BENCH_UNDECLARED : 'slot';

let runSeq = 0;

/** Jobs per second through a fresh queue on `server`. */
async function jobsPerSecond(server: BenchServer, count = jobs): Promise<number> {
  const connection = { host: '127.0.0.1', port: server.port, maxRetriesPerRequest: null };
  const name = `bench${++runSeq}`;
  const queue = new Queue(name, { connection, prefix: PREFIX });
  let completed = 0;
  let failed = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const worker = new Worker(name, async () => 1, { connection, prefix: PREFIX, concurrency, autorun: false });
  worker.on('completed', () => {
    if (++completed + failed === count) resolveDone();
  });
  worker.on('failed', () => {
    if (completed + ++failed === count) resolveDone();
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);
    const start = performance.now();
    void worker.run();
    for (let added = 0; added < count; added += BATCH) {
      const n = Math.min(BATCH, count - added);
      await queue.addBulk(Array.from({ length: n }, (_, i) => ({ name: 'j', data: { i: added + i } })));
    }
    await Promise.race([done, new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${server.name}: ${completed} of ${count} jobs after ${RUN_DEADLINE_MS} ms`)), RUN_DEADLINE_MS);
    })]);
    const seconds = (performance.now() - start) / 1000;
    if (failed !== 0) throw new Error(`${server.name}: ${failed} jobs failed`);
    return count / seconds;
  } finally {
    clearTimeout(timer);
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
}

async function main(): Promise<void> {
  process.on('exit', killAllNow);
  const m = describeMachine();
  console.log(`BullMQ: ${jobs} jobs per run, Worker concurrency ${concurrency}, ${rounds} rounds; Tessera --shards ${shards} --script-undeclared-keys ${undeclared}`);
  console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB, node ${m.node}, redis-server ${m.redisServer}`);
  const [tessera, redis] = await Promise.all([startFreshTessera(['--shards', String(shards), '--script-undeclared-keys', undeclared]), startFreshRedis()]);
  // Not counted: the first run loads BullMQ's scripts (into every shard) and warms both sides up.
  await jobsPerSecond(tessera, WARMUP_JOBS);
  await jobsPerSecond(redis, WARMUP_JOBS);
  const t: number[] = [];
  const r: number[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const [a, b] = await alternate(round, () => jobsPerSecond(tessera), () => jobsPerSecond(redis));
      t.push(a);
      r.push(b);
      console.log(`round ${round} (${round % 2 === 1 ? 'Tessera' : 'redis-server'} first): Tessera ${fmtInt(a)} jobs/s, redis-server ${fmtInt(b)} jobs/s, ratio ${(a / b).toFixed(2)}x`);
    }
  } finally {
    await stopAll();
  }
  const mt = median(t);
  const mr = median(r);
  console.log(`median: Tessera ${fmtInt(mt)} jobs/s, redis-server ${fmtInt(mr)} jobs/s, ratio ${(mt / mr).toFixed(2)}x`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exitCode = 1;
});
