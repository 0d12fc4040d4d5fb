// SKELETON: the main-thread server (listeners, connections, router, shard supervisor).
import type { Config } from '../config/config.js';

export interface RunningServer {
  /** Resolves when the server has fully stopped (after SHUTDOWN, SIGTERM or SIGINT). */
  closed: Promise<void>;
  /** Graceful stop: stop accepting, finish in-flight replies, stop shards. */
  shutdown(reason: string): Promise<void>;
  port: number;
}

export async function startServer(config: Config): Promise<RunningServer> {
  void config;
  throw new Error('not implemented');
}
