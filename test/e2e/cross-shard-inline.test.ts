// The cross-shard suite again with shards on the main thread (shard-threads no).
process.env.CROSS_SHARD_INLINE = '1';
await import('./cross-shard.test.js');
