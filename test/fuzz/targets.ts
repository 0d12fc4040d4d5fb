// Every in-process fuzz target, by the protocol name used on the command line.

import { busTarget } from './target-bus.js';
import { httpTarget } from './target-http.js';
import { memcacheTarget } from './target-memcache.js';
import { persistenceTarget } from './target-persistence.js';
import { replTarget } from './target-repl.js';
import { respTarget } from './target-resp.js';
import type { Target } from './target.js';

/** integrityEvery: see target-repl.ts (1 when replaying one input). */
export const TARGETS: Record<string, (integrityEvery?: number) => Target> = {
  resp: respTarget,
  bus: busTarget,
  replication: replTarget,
  persistence: persistenceTarget,
  memcache: memcacheTarget,
  http: httpTarget,
};
