// A BullMQ Worker in a process of its own, for the stalled-job scenario (bullmq-scenarios.ts):
// it takes one job, prints "active <id>", and never finishes it; the test kills it by pid.
// Its lock is short (1 s) so that the job is seen as stalled soon after the kill; it runs no
// stalled check itself (that check takes a key for stalledInterval, holding off the next worker's).
// Usage: node bullmq-child-worker.js QUEUE PREFIX node PORT | QUEUE PREFIX cluster PORT

import { Cluster } from 'ioredis';
import { Worker, type ConnectionOptions } from 'bullmq';

const [queue, prefix, mode, port] = process.argv.slice(2);
if (queue === undefined || prefix === undefined || port === undefined || (mode !== 'node' && mode !== 'cluster')) {
  process.stderr.write('usage: bullmq-child-worker.js QUEUE PREFIX node|cluster PORT\n');
  process.exit(2);
}
// BullMQ pins its own ioredis copy: our Cluster is the same class at runtime, another type to tsc.
const connection: ConnectionOptions = mode === 'cluster'
  ? (new Cluster([{ host: '127.0.0.1', port: Number(port) }], { redisOptions: { maxRetriesPerRequest: null } }) as unknown as ConnectionOptions)
  : { host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: null };

const worker = new Worker(queue, async (job) => {
  process.stdout.write(`active ${job.id}\n`);
  await new Promise<never>(() => undefined);
}, { connection, prefix, lockDuration: 1000, skipStalledCheck: true });
worker.on('error', (err) => process.stderr.write(`worker error: ${err.message}\n`));
