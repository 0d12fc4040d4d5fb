// What the tests that drive a ShardExecutor directly (no worker, no server) share.

import type { ShardSettings } from '../../src/core/types.js';
import { DEFAULT_COLLECTION_LIMITS } from '../../src/keyspace/keyspace.js';

/** A shard's settings with no limits, no log and no replication feed. */
export const TEST_SHARD_SETTINGS: ShardSettings = {
  maxmemoryBytes: 0,
  maxmemoryPolicy: 'noeviction',
  maxmemorySamples: 5,
  protoMaxBulkLen: 512 * 1024 * 1024,
  activeExpireEnabled: true,
  hz: 10,
  limits: DEFAULT_COLLECTION_LIMITS,
  aof: null,
  aofGen: 0,
  replFeed: false,
};
