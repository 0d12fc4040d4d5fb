// Worker entry of a shard actor: attach to the keyspace and rings the supervisor owns, serve them.
// A crash ends this thread only; the supervisor restarts it on the same memory.

import { workerData } from 'node:worker_threads';
import { ShardRuntime, type ShardWorkerData } from '../src/runtime/shard-runtime.js';

const runtime = new ShardRuntime(workerData as ShardWorkerData);
await runtime.serve();
