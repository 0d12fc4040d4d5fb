// LATENCY's event history, as Redis 7.0's latency.c keeps it: per event a ring of 160 samples
// (unix second, worst milliseconds in that second) and the all-time maximum, fed only by events at
// or above latency-monitor-threshold (0: off, nothing recorded). Main thread only; events from the
// shards arrive with their slow-command records. LATENCY DOCTOR's report is built here too.

/** Redis's LATENCY_TS_LEN. */
export const LATENCY_TS_LEN = 160;

/** One second's worst latency of an event. */
export interface LatencySample {
  readonly timeSec: number;
  readonly latencyMs: number;
}

class TimeSeries {
  readonly time = new Float64Array(LATENCY_TS_LEN);
  readonly latency = new Float64Array(LATENCY_TS_LEN);
  idx = 0;
  max = 0;
}

/** What LATENCY DOCTOR needs of the rest of the configuration. */
export interface DoctorContext {
  slowlogLogSlowerThanUs: number;
  hz: number;
  appendfsyncAlways: boolean;
}

export class LatencyMonitor {
  /** latency-monitor-threshold, milliseconds; 0 = off. */
  thresholdMs = 0;
  private readonly events = new Map<string, TimeSeries>();
  /** Clock (unix ms): tests of the history's second-merging may replace it. */
  now: () => number = Date.now;

  /** Redis's latencyAddSampleIfNeeded: records `latencyMs` for `event` when at or over the threshold. */
  addIfNeeded(event: string, latencyMs: number): void {
    if (this.thresholdMs > 0 && latencyMs >= this.thresholdMs) this.add(event, Math.floor(latencyMs));
  }

  /** Redis's latencyAddSample: one sample per second per event (the worst of that second). */
  add(event: string, latencyMs: number): void {
    let ts = this.events.get(event);
    if (ts === undefined) {
      ts = new TimeSeries();
      this.events.set(event, ts);
    }
    const now = Math.floor(this.now() / 1000);
    if (latencyMs > ts.max) ts.max = latencyMs;
    const prev = (ts.idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN;
    if (ts.time[prev] === now) {
      if (latencyMs > ts.latency[prev]!) ts.latency[prev] = latencyMs;
      return;
    }
    ts.time[ts.idx] = now;
    ts.latency[ts.idx] = latencyMs;
    ts.idx = (ts.idx + 1) % LATENCY_TS_LEN;
  }

  /** LATENCY LATEST: [event, time of the latest sample, its latency, all-time max] per event. */
  latest(): Array<[string, number, number, number]> {
    const out: Array<[string, number, number, number]> = [];
    for (const [name, ts] of this.events) {
      const last = (ts.idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN;
      out.push([name, ts.time[last]!, ts.latency[last]!, ts.max]);
    }
    return out;
  }

  /** LATENCY HISTORY: the event's samples, oldest first (empty for an unknown event). */
  history(event: string): LatencySample[] {
    const ts = this.events.get(event);
    if (ts === undefined) return [];
    const out: LatencySample[] = [];
    for (let j = 0; j < LATENCY_TS_LEN; j++) {
      const i = (ts.idx + j) % LATENCY_TS_LEN;
      if (ts.time[i] === 0) continue;
      out.push({ timeSec: ts.time[i]!, latencyMs: ts.latency[i]! });
    }
    return out;
  }

  /** LATENCY RESET: forgets the named events (every event when none is named, names compared
   * case-insensitively); the number of events reset. */
  reset(names: readonly string[]): number {
    if (names.length === 0) {
      const n = this.events.size;
      this.events.clear();
      return n;
    }
    let n = 0;
    for (const name of [...this.events.keys()]) {
      if (names.some((x) => x.toLowerCase() === name.toLowerCase())) {
        this.events.delete(name);
        n++;
      }
    }
    return n;
  }

  /** LATENCY GRAPH's samples and the all-time maximum, or null when the event has none. */
  graphSamples(event: string): { series: LatencySample[]; max: number } | null {
    const ts = this.events.get(event);
    if (ts === undefined) return null;
    return { series: this.history(event), max: ts.max };
  }

  /** LATENCY DOCTOR: Redis 7.0's human-readable report over the recorded events. */
  doctor(ctx: DoctorContext): string {
    if (this.events.size === 0 && this.thresholdMs === 0) {
      return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n";
    }
    const advise = new Set<string>();
    let advices = 0;
    let report = '';
    let eventnum = 0;
    const nowSec = Math.floor(this.now() / 1000);
    for (const [event, ts] of this.events) {
      eventnum++;
      if (eventnum === 1) report += "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n";
      const s = analyze(ts, nowSec);
      report += `${eventnum}. ${event}: ${s.samples} latency spikes (average ${s.avg}ms, mean deviation ${s.mad}ms, period ${(s.period / s.samples).toFixed(2)} sec). Worst all time event ${ts.max}ms.`;
      const e = event.toLowerCase();
      if (e === 'command') {
        if (ctx.slowlogLogSlowerThanUs < 0) {
          advise.add('slowlog-enabled');
          advices++;
        } else if (Math.trunc(ctx.slowlogLogSlowerThanUs / 1000) > this.thresholdMs) {
          advise.add('slowlog-tuning');
          advices++;
        }
        advise.add('slowlog-inspect').add('large-objects');
        advices += 2;
      } else if (e === 'fast-command') {
        advise.add('scheduler');
        advices++;
      } else if (e === 'aof-fsync-always') {
        advise.add('relax-fsync');
        advices++;
      } else if (e === 'aof-write' || e === 'aof-rewrite' || e === 'rdb-save') {
        advise.add('local-disk').add('ssd').add('disk-contention');
        advices += 3;
      } else if (e === 'expire-cycle') {
        advise.add('hz').add('large-objects');
        advices += 2;
      } else if (e === 'eviction-cycle') {
        advise.add('large-objects');
        advices++;
      }
      report += '\n';
    }
    if (eventnum === 0) {
      return 'Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sleep tonight.\n';
    }
    if (advices === 0) {
      return `${report}\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n`;
    }
    report += '\nI have a few advices for you:\n\n';
    const t = this.thresholdMs * 1000;
    if (advise.has('slowlog-enabled')) report += `- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than ${t}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n`;
    if (advise.has('slowlog-tuning')) report += `- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than ${t}'.\n`;
    if (advise.has('slowlog-inspect')) report += '- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n';
    if (advise.has('scheduler')) {
      report += '- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n'
        + '  1) Lower the system load.\n'
        + '  2) Use a computer / VM just for Redis if you are running other software in the same system.\n'
        + '  3) Check if you have a "noisy neighbour" problem.\n'
        + "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n";
    }
    if (advise.has('local-disk')) report += '- It is strongly advised to use local disks for persistence, especially if you are using AOF. Remote disks provided by platform-as-a-service providers are known to be slow.\n';
    if (advise.has('ssd')) report += '- SSD disks are able to reduce fsync latency, and total time needed for snapshotting and AOF log rewriting. With extremely high write load SSD disks can be a good option.\n';
    if (advise.has('disk-contention')) report += '- Try to lower the disk contention. This is often caused by other disk intensive processes running in the same computer (including other Redis instances).\n';
    if (advise.has('relax-fsync') && ctx.appendfsyncAlways) report += "- Your fsync policy is set to 'always'. It is very hard to get good performances with such a setup, if possible try to relax the fsync policy to 'onesec'.\n";
    if (advise.has('hz') && ctx.hz < 100) report += "- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n";
    if (advise.has('large-objects')) report += '- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n';
    return report;
  }
}

/** Redis's analyzeLatencyForEvent: samples, average, mean absolute deviation (integer ms) and
 * the seconds since the oldest sample (at least 1). */
function analyze(ts: TimeSeries, nowSec: number): { samples: number; avg: number; mad: number; period: number } {
  let samples = 0;
  let sum = 0;
  let oldest = 0;
  for (let j = 0; j < LATENCY_TS_LEN; j++) {
    if (ts.time[j] === 0) continue;
    samples++;
    sum += ts.latency[j]!;
    if (oldest === 0 || ts.time[j]! < oldest) oldest = ts.time[j]!;
  }
  if (samples === 0) return { samples: 0, avg: 0, mad: 0, period: 0 };
  const avg = Math.floor(sum / samples);
  let dev = 0;
  for (let j = 0; j < LATENCY_TS_LEN; j++) if (ts.time[j] !== 0) dev += Math.abs(avg - ts.latency[j]!);
  return { samples, avg, mad: Math.floor(dev / samples), period: Math.max(1, nowSec - oldest) };
}

/** LATENCY GRAPH: Redis's ASCII chart of an event's samples (one column per sample, newest
 * right; height 80 columns x 4 rows scaled between the lowest and highest sample). */
export function latencyGraph(event: string, series: readonly LatencySample[], allTimeMax: number, nowSec: number): string {
  let lo = Infinity;
  let hi = 0;
  for (const s of series) {
    lo = Math.min(lo, s.latencyMs);
    hi = Math.max(hi, s.latencyMs);
  }
  if (series.length === 0) lo = 0;
  const rows = 4;
  const cols = series.slice(-80);
  const grid: string[][] = Array.from({ length: rows + 1 }, () => cols.map(() => ' '));
  cols.forEach((s, x) => {
    const h = hi === lo ? rows : Math.round(((s.latencyMs - lo) / (hi - lo)) * rows);
    grid[rows - h]![x] = '_';
    for (let y = rows - h + 1; y <= rows; y++) grid[y]![x] = '|';
  });
  const labels = cols.map((s) => relativeTime(nowSec - s.timeSec));
  const labelRows: string[] = [];
  const height = Math.max(0, ...labels.map((l) => l.length));
  for (let r = 0; r < height; r++) labelRows.push(labels.map((l) => l[r] ?? ' ').join(''));
  return `${event} - high ${hi} ms, low ${lo} ms (all time high ${allTimeMax} ms)\n${'-'.repeat(80)}\n${grid.map((r) => r.join('')).join('\n')}\n\n${labelRows.join('\n')}\n`;
}

/** Seconds ago as Redis's graph labels write it ("15s", "2m", "1h", "3d"). */
function relativeTime(secs: number): string {
  if (secs < 60) return `${secs}s`;
  if (secs < 3600) return `${Math.floor(secs / 60)}m`;
  if (secs < 86400) return `${Math.floor(secs / 3600)}h`;
  return `${Math.floor(secs / 86400)}d`;
}
