// The 1 s sampler behind the dashboard's live figures: once a second it asks every shard for its
// statistics (one control-port call each, the same as a /metrics scrape) and adds a sample to the
// node's series and to each shard's, so a page polling every second costs the shards nothing more.
// The last report is kept for GET /v1/node. One sample in flight at a time; a slow or restarting
// shard skips that second's latency, never queues samples.

import type { ShardStatsReport } from '../core/types.js';
import { SERIES_INTERVAL_MS, Series } from '../observability/series.js';

export interface SamplerHost {
  shardStats(): Promise<ShardStatsReport[]>;
  /** Commands processed by the node since it started (INFO total_commands_processed). */
  commandsTotal(): number;
}

export class DashboardSampler {
  readonly node = new Series();
  /** By shard id. */
  readonly shards: Series[] = [];
  /** The last statistics of every shard (null before the first sample). */
  lastReport: ShardStatsReport[] | null = null;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  constructor(private readonly host: SamplerHost) {}

  start(): void {
    if (this.timer !== null) return;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), SERIES_INTERVAL_MS);
    // The sampler never keeps a node's process alive on its own.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      let report: ShardStatsReport[] | null = null;
      try {
        report = await this.host.shardStats();
      } catch {
        // a shard restarting: this second has no latency figures
      }
      const now = Date.now();
      const rss = process.memoryUsage.rss();
      if (report !== null) {
        this.lastReport = report;
        for (const s of report) {
          const series = (this.shards[s.shardId] ??= new Series());
          series.sample(now, s.commandsProcessed, [s.latency], s.usedMemory, rss);
        }
      }
      const used = (report ?? this.lastReport ?? []).reduce((n, s) => n + s.usedMemory, 0);
      this.node.sample(now, this.host.commandsTotal(), report === null ? null : report.map((s) => s.latency), used, rss);
    } finally {
      this.busy = false;
    }
  }
}
