// BullMQ scenarios run by bullmq.test.ts (one Tessera node, several shards) and
// bullmq-cluster.test.ts (a three-node Tessera cluster): BullMQ's public API as its README shows,
// against whatever `env` connects to. Each scenario uses a queue of its own, waits on BullMQ's
// events (never on sleeps) under a deadline, checks exact completed/failed counts, and closes
// every Queue, Worker, QueueEvents, FlowProducer and connection it opened, however it ends.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import type { Test } from 'uvu';
import { FlowProducer, Queue, QueueEvents, Worker, type ConnectionOptions, type Job, type Processor } from 'bullmq';
import { withTimeout } from './harness.js';

/** What a scenario needs from its server: fresh connections and the key prefix. */
export interface BullEnv {
  /** A connection for one Queue/Worker/QueueEvents/FlowProducer (options or a client that the
   * env tracks and closes in `closeAll`). */
  connection(): ConnectionOptions;
  /** BullMQ's key prefix ('{bull}' on a cluster, as BullMQ's docs say). */
  prefix: string;
  /** Arguments for bullmq-child-worker.js after the queue name: how the child connects. */
  childArgs(): string[];
  /** Disconnects the clients `connection()` created. */
  closeAll(): Promise<void>;
}

const SCENARIO_TIMEOUT_MS = 20_000;
const CHILD_WORKER = fileURLToPath(new URL('./bullmq-child-worker.js', import.meta.url));

type Closable = { close(): Promise<void> };

/** Everything a scenario opened, closed in reverse order at its end. */
class Opened {
  private readonly items: Closable[] = [];
  add<T extends Closable>(x: T): T {
    this.items.push(x);
    return x;
  }
  async closeAll(): Promise<void> {
    for (const x of this.items.splice(0).reverse()) {
      try {
        await withTimeout(x.close(), 10_000, 'closing a BullMQ object');
      } catch {
        // Best effort: the server is stopped at the end of the file anyway.
      }
    }
  }
}

/** A promise resolved once `n` events were counted by `count()` (call it from a listener). */
function counter(n: number): { count: () => void; done: Promise<void>; seen: () => number } {
  let seen = 0;
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  return {
    count: () => {
      seen++;
      if (seen === n) resolve();
    },
    done,
    seen: () => seen,
  };
}

let queueSeq = 0;

export function registerBullScenarios(test: Test, env: () => BullEnv): void {
  const t = (name: string, fn: (e: BullEnv, o: Opened, q: string) => Promise<void>): void =>
    test(name, async () => {
      const e = env();
      const o = new Opened();
      const q = `q${++queueSeq}-${process.pid}`;
      try {
        await withTimeout(fn(e, o, q), SCENARIO_TIMEOUT_MS, name);
      } finally {
        await o.closeAll();
        await e.closeAll();
      }
    });

  const queueOf = (e: BullEnv, o: Opened, q: string): Queue => o.add(new Queue(q, { connection: e.connection(), prefix: e.prefix }));
  const workerOf = (e: BullEnv, o: Opened, q: string, fn: Processor, opts: Record<string, unknown> = {}): Worker =>
    o.add(new Worker(q, fn, { connection: e.connection(), prefix: e.prefix, ...opts }));

  t('Queue and Worker: 40 jobs, concurrency 8, several at once, all completed', async (e, o, q) => {
    const queue = queueOf(e, o, q);
    let active = 0;
    let maxActive = 0;
    let started = 0;
    const release: Array<() => void> = [];
    const done = counter(40);
    // Each of the first 36 jobs waits until 4 run at once, so that the concurrency is seen
    // without depending on timing; the last 4 cannot count on 3 more behind them and go on.
    const worker = workerOf(e, o, q, async (job: Job<{ n: number }>) => {
      active++;
      maxActive = Math.max(maxActive, active);
      const nth = ++started;
      if (active >= 4 || nth > 36) for (const r of release.splice(0)) r();
      else await new Promise<void>((r) => release.push(r));
      active--;
      return job.data.n * 2;
    }, { concurrency: 8 });
    const results: number[] = [];
    worker.on('completed', (job: Job, r: number) => {
      results.push(r);
      done.count();
    });
    await queue.addBulk(Array.from({ length: 40 }, (_, n) => ({ name: 'double', data: { n } })));
    await done.done;
    assert.ok(maxActive >= 4, `at most ${maxActive} jobs ran at once`);
    assert.equal(results.sort((a, b) => a - b), Array.from({ length: 40 }, (_, n) => n * 2));
    const counts = await queue.getJobCounts('completed', 'failed', 'active', 'wait');
    assert.equal(counts, { completed: 40, failed: 0, active: 0, wait: 0 });
  });

  t('delayed job: delayed state, then processed no earlier than its delay', async (e, o, q) => {
    const queue = queueOf(e, o, q);
    const job = await queue.add('later', { v: 1 }, { delay: 400 });
    assert.is(await job.getState(), 'delayed');
    const done = counter(1);
    let processedAt = 0;
    const worker = workerOf(e, o, q, async () => {
      processedAt = Date.now();
      return 'ok';
    });
    worker.on('completed', done.count);
    await done.done;
    assert.ok(processedAt - job.timestamp >= 400, `processed after ${processedAt - job.timestamp} ms`);
    assert.equal(await queue.getJobCounts('completed', 'failed', 'delayed'), { completed: 1, failed: 0, delayed: 0 });
  });

  t('retries with exponential backoff: succeeds on the third attempt; another fails after two', async (e, o, q) => {
    const queue = queueOf(e, o, q);
    const starts = new Map<string, number[]>();
    const finished = counter(2);
    const worker = workerOf(e, o, q, async (job: Job<{ failTimes: number }>) => {
      const list = starts.get(job.id!) ?? [];
      list.push(Date.now());
      starts.set(job.id!, list);
      if (list.length <= job.data.failTimes) throw new Error(`attempt ${list.length} fails`);
      return list.length;
    });
    let failedReason = '';
    worker.on('completed', finished.count);
    worker.on('failed', (job: Job | undefined, err: Error) => {
      // 'failed' fires for every failed attempt; only the final one finishes the job.
      if (job !== undefined && job.attemptsMade >= (job.opts.attempts ?? 1)) {
        failedReason = err.message;
        finished.count();
      }
    });
    const ok = await queue.add('flaky', { failTimes: 2 }, { attempts: 3, backoff: { type: 'exponential', delay: 150 } });
    const bad = await queue.add('broken', { failTimes: 99 }, { attempts: 2, backoff: { type: 'exponential', delay: 150 } });
    await finished.done;
    const s = starts.get(ok.id!)!;
    assert.is(s.length, 3);
    // Exponential: 150 ms before the second attempt, 300 ms before the third.
    assert.ok(s[1]! - s[0]! >= 150, `second attempt after ${s[1]! - s[0]!} ms`);
    assert.ok(s[2]! - s[1]! >= 300, `third attempt after ${s[2]! - s[1]!} ms`);
    assert.is(starts.get(bad.id!)!.length, 2);
    assert.is(failedReason, 'attempt 2 fails');
    assert.is((await queue.getJob(ok.id!))!.returnvalue, 3);
    assert.equal(await queue.getJobCounts('completed', 'failed', 'delayed', 'wait'), { completed: 1, failed: 1, delayed: 0, wait: 0 });
  });

  t('priority: jobs added before the worker starts run in priority order', async (e, o, q) => {
    const queue = queueOf(e, o, q);
    const priorities = [5, 1, 3, 10, 2, 8, 4];
    for (const p of priorities) await queue.add(`p${p}`, { p }, { priority: p });
    assert.is(await queue.getPrioritizedCount(), priorities.length);
    const order: number[] = [];
    const done = counter(priorities.length);
    const worker = workerOf(e, o, q, async (job: Job<{ p: number }>) => {
      order.push(job.data.p);
    }, { concurrency: 1 });
    worker.on('completed', done.count);
    await done.done;
    assert.equal(order, [...priorities].sort((a, b) => a - b));
    assert.equal(await queue.getJobCounts('completed', 'failed', 'prioritized'), { completed: priorities.length, failed: 0, prioritized: 0 });
  });

  t('rate limiting: at most 2 jobs per 500 ms', async (e, o, q) => {
    const queue = queueOf(e, o, q);
    const starts: number[] = [];
    const done = counter(6);
    // processedOn: the time the worker asked for the job (moveToActive), where the limiter acts.
    const worker = workerOf(e, o, q, async (job: Job) => {
      starts.push(job.processedOn!);
    }, { concurrency: 6, limiter: { max: 2, duration: 500 } });
    worker.on('completed', done.count);
    await queue.addBulk(Array.from({ length: 6 }, (_, n) => ({ name: 'limited', data: { n } })));
    await done.done;
    starts.sort((a, b) => a - b);
    // Six jobs at two per window: the fifth starts two windows after the first (less a margin for
    // the time between a worker's clock read and its request; without a limiter all six start
    // within a few ms).
    assert.ok(starts[4]! - starts[0]! >= 1000 - 100, `5th job ${starts[4]! - starts[0]!} ms after the 1st`);
    assert.ok(starts[2]! - starts[0]! >= 500 - 100, `3rd job ${starts[2]! - starts[0]!} ms after the 1st`);
    assert.equal(await queue.getJobCounts('completed', 'failed'), { completed: 6, failed: 0 });
  });

  t('repeatable job: every 150 ms, limit 3, exactly 3 runs', async (e, o, q) => {
    const queue = queueOf(e, o, q);
    const done = counter(3);
    const runs: number[] = [];
    const worker = workerOf(e, o, q, async (job: Job) => {
      runs.push(job.timestamp);
    });
    worker.on('completed', done.count);
    await queue.add('tick', { v: 1 }, { repeat: { every: 150, limit: 3 } });
    await done.done;
    // The limit is reached: no further run is scheduled.
    assert.equal(await queue.getJobCounts('completed', 'failed', 'delayed', 'wait'), { completed: 3, failed: 0, delayed: 0, wait: 0 });
    assert.is(runs.length, 3);
  });

  t('flows: a FlowProducer parent runs after its three children, with their values', async (e, o, q) => {
    const flows = o.add(new FlowProducer({ connection: e.connection(), prefix: e.prefix }));
    const queue = queueOf(e, o, q);
    const done = counter(4);
    let parentSum = -1;
    const worker = workerOf(e, o, q, async (job: Job<{ x?: number }>) => {
      if (job.name === 'parent') {
        const values = await job.getChildrenValues<number>();
        parentSum = Object.values(values).reduce((a, b) => a + b, 0);
        return parentSum;
      }
      return (job.data.x ?? 0) * 10;
    }, { concurrency: 3 });
    const finishedOrder: string[] = [];
    worker.on('completed', (job: Job) => {
      finishedOrder.push(job.name);
      done.count();
    });
    const tree = await flows.add({
      name: 'parent',
      queueName: q,
      children: [1, 2, 3].map((x) => ({ name: `child${x}`, queueName: q, data: { x } })),
    });
    assert.is(await tree.job.getState(), 'waiting-children');
    await done.done;
    assert.is(parentSum, 60);
    assert.is(finishedOrder.at(-1), 'parent');
    assert.equal(await queue.getJobCounts('completed', 'failed', 'waiting-children'), { completed: 4, failed: 0, 'waiting-children': 0 });
  });

  t('QueueEvents receives completed and failed events', async (e, o, q) => {
    const queue = queueOf(e, o, q);
    const events = o.add(new QueueEvents(q, { connection: e.connection(), prefix: e.prefix }));
    await events.waitUntilReady();
    const completed = new Map<string, string>();
    const failed = new Map<string, string>();
    const seen = counter(5);
    events.on('completed', ({ jobId, returnvalue }) => {
      completed.set(jobId, String(returnvalue));
      seen.count();
    });
    events.on('failed', ({ jobId, failedReason }) => {
      failed.set(jobId, failedReason);
      seen.count();
    });
    // QueueEvents reads with XREAD BLOCK from '$': start the worker once the reader is in place.
    workerOf(e, o, q, async (job: Job<{ n: number }>) => {
      if (job.data.n % 2 === 1) throw new Error(`odd ${job.data.n}`);
      return `even ${job.data.n}`;
    });
    const jobs = await queue.addBulk(Array.from({ length: 5 }, (_, n) => ({ name: 'ev', data: { n } })));
    await seen.done;
    assert.is(completed.size, 3);
    assert.is(failed.size, 2);
    for (const [i, j] of jobs.entries()) {
      if (i % 2 === 0) assert.is(completed.get(j.id!), `even ${i}`);
      else assert.is(failed.get(j.id!), `odd ${i}`);
    }
    assert.equal(await queue.getJobCounts('completed', 'failed'), { completed: 3, failed: 2 });
  });

  t('pause and resume: nothing runs while paused, everything after', async (e, o, q) => {
    const queue = queueOf(e, o, q);
    await queue.pause();
    assert.ok(await queue.isPaused());
    let processed = 0;
    const done = counter(5);
    const worker = workerOf(e, o, q, async () => {
      processed++;
    });
    worker.on('completed', done.count);
    await worker.waitUntilReady();
    await queue.addBulk(Array.from({ length: 5 }, (_, n) => ({ name: 'held', data: { n } })));
    // A job added while paused is counted as paused, and no worker took it.
    const held = await queue.getJobCounts('paused', 'wait', 'active', 'completed');
    assert.is(held['paused']! + held['wait']!, 5);
    assert.is(held['active'], 0);
    assert.is(held['completed'], 0);
    assert.is(processed, 0);
    await queue.resume();
    assert.not.ok(await queue.isPaused());
    await done.done;
    assert.is(processed, 5);
    assert.equal(await queue.getJobCounts('completed', 'failed', 'paused'), { completed: 5, failed: 0, paused: 0 });
  });

  t('a worker killed in the middle of a job: another worker picks it up as stalled', async (e, o, q) => {
    const queue = queueOf(e, o, q);
    const job = await queue.add('survivor', { v: 7 });
    // The child takes the job, says so, and never finishes it; then it is killed by pid.
    const child = spawn(process.execPath, [CHILD_WORKER, q, e.prefix, ...e.childArgs()], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    try {
      await withTimeout(new Promise<void>((resolve) => {
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes(`active ${job.id}`)) resolve();
        });
      }), 15_000, `the child worker taking the job (output: ${out})`);
      assert.is(await job.getState(), 'active');
    } finally {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
      await exited;
    }
    const stalled = counter(1);
    const done = counter(1);
    let result: unknown;
    const worker = workerOf(e, o, q, async (j: Job<{ v: number }>) => j.data.v * 6, { stalledInterval: 300, maxStalledCount: 1 });
    worker.on('stalled', (jobId: string) => {
      if (jobId === job.id) stalled.count();
    });
    worker.on('completed', (j: Job, r: unknown) => {
      if (j.id === job.id) {
        result = r;
        done.count();
      }
    });
    await stalled.done;
    await done.done;
    assert.is(result, 42);
    assert.equal(await queue.getJobCounts('completed', 'failed', 'active'), { completed: 1, failed: 0, active: 0 });
  });
}
