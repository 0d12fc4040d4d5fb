// Control plane between the main thread and a shard actor: comlink over a dedicated MessagePort.
// Never used per command; stats, settings and maintenance only.

import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { MessagePort } from 'node:worker_threads';
import type { ShardSettings, ShardStatsReport } from '../core/types.js';
import type { LoadPlan, LoadReport } from '../persistence/shard-persistence.js';
import type { SnapshotResult } from '../persistence/snapshot-job.js';

export interface ShardControl {
  stats(): ShardStatsReport;
  configure(settings: ShardSettings): void;
  resetStats(): void;
  load(plan: LoadPlan): LoadReport;
  snapshotWait(): Promise<SnapshotResult>;
  close(): void;
  feedBarrier(): number;
}

export function exposeControl(api: ShardControl, port: MessagePort): void {
  Comlink.expose(api, nodeEndpoint(port));
}

export function wrapControl(port: MessagePort): Comlink.Remote<ShardControl> {
  return Comlink.wrap<ShardControl>(nodeEndpoint(port));
}

export function releaseControl(remote: Comlink.Remote<ShardControl>): void {
  remote[Comlink.releaseProxy]();
}
