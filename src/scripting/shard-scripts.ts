// Where scripts run: one Lua engine per shard (a worker thread's, or an inline shard's on the main
// thread), created before the shard serves its first request, and the words in shared memory
// through which the main thread sees a shard running a script and asks it to stop.
// Invariant: a shard's RUNNING word is 1 exactly while its engine runs a script or a function;
// words[BUSY_COUNT] is the number of shards whose script has run past busy-reply-threshold.

import { createLuaEngine, type LuaEngine } from './lua-engine.js';

/** Node-wide: shards whose script is past busy-reply-threshold (the dispatcher's one read). */
export const BUSY_COUNT = 0;
/** Node-wide: 1 while this node is a read-only replica (a script's writes get -READONLY). */
export const READONLY_REPLICA = 1;
const HEADER_WORDS = 4;
const WORDS_PER_SHARD = 4;
/** Per shard, from shardBase(): a script or function runs now (1) or not (0). */
export const RUNNING = 0;
/** It ran past busy-reply-threshold: the node answers -BUSY. */
export const BUSY = 1;
/** The main thread asks it to stop (SCRIPT KILL / FUNCTION KILL): the engine's `interrupted`. */
export const KILL = 2;
/** FLAG_WROTE | FLAG_FUNCTION of the running script. */
export const FLAGS = 3;
export const FLAG_WROTE = 1;
export const FLAG_FUNCTION = 2;

/** The shared words for a node of `shards` shards. */
export function createScriptWords(shards: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer((HEADER_WORDS + WORDS_PER_SHARD * shards) * 4));
}

export function shardBase(shard: number): number {
  return HEADER_WORDS + WORDS_PER_SHARD * shard;
}

/** How many shards the words have room for. */
export function wordsShards(words: Int32Array): number {
  return (words.length - HEADER_WORDS) / WORDS_PER_SHARD;
}

// By shard id: a worker thread holds one; the main thread holds one per inline shard.
const engines = new Map<number, LuaEngine>();

/** Creates shard `shard`'s engine (awaited where the shard starts); a second call keeps the first. */
export async function initShardScripts(shard: number): Promise<void> {
  if (engines.has(shard)) return;
  const e = await createLuaEngine();
  if (!engines.has(shard)) engines.set(shard, e);
}

/** The shard's engine, or undefined when its start did not create one (tools, unit tests). */
export function shardEngine(shard: number): LuaEngine | undefined {
  return engines.get(shard);
}
