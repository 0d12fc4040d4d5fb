// The blocking scenarios of blocking.test.ts against a server whose shards run on the main thread
// (`--shard-threads no`, src/runtime/inline-shard.ts): the same waits, wakes, timeouts, unblocks
// and producer/consumer run must hold when a shard's request runs at once on the caller's stack.

process.env['BLOCKING_SHARD_THREADS'] = 'no';
await import('./blocking.test.js');
