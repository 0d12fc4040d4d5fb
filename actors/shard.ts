// Worker entry of a shard actor: attach to the keyspace and rings the supervisor owns, serve them.
// A crash ends this thread only; the supervisor restarts it on the same memory.

import { workerData } from 'node:worker_threads';
import { ShardRuntime, type ShardWorkerData } from '../src/runtime/shard-runtime.js';
import { COMMANDS } from '../src/commands/registry.js';
import { initShardScripts } from '../src/scripting/shard-scripts.js';

// The worker's composition root: the runtime gets the command table from here (it sits below the
// command layer and does not import it).
const data = workerData as ShardWorkerData;
// The shard's Lua engine exists before its first request (createLuaEngine is asynchronous).
await initShardScripts(data.shardId);
const runtime = new ShardRuntime(data, COMMANDS);
await runtime.serve();
