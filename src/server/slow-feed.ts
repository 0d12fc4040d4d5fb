// Where slow commands meet their clients: shards' slow-command records (arriving right after the
// reply of their command, with that reply's sink) and the dispatcher's main-thread commands go to
// the node's SLOWLOG and LATENCY with the client's address and name at that moment. Also decides
// the shards' capture threshold (the lower of the two options). Main thread only.

import type { ArgList, ClientInfo } from '../core/types.js';
import type { ReplySink } from '../runtime/shard-port.js';
import type { MainHandler } from '../commands/types.js';
import { COMMANDS, lookupCommand } from '../commands/registry.js';
import { SLOW_EVENT, SLOW_FAST, SLOW_SCRIPT, SLOW_SKIP_LOG, captureThresholdUs, forEachSlowRecord, shownArgs, type SlowLog, type SlowRecord } from '../observability/slowlog.js';
import type { LatencyMonitor } from '../observability/latency-monitor.js';

/** What Redis shows for a script's calls (its script client has no address). */
const SCRIPT_ADDR = '?:0';
/** Sinks passed through to find a client (a fan-out's part -> the client's connection). */
const SINK_DEPTH_MAX = 4;

export class SlowFeed {
  /** Commands of this many microseconds or more are looked at (Infinity: none). */
  captureUs = Infinity;

  constructor(
    readonly log: SlowLog,
    readonly latency: LatencyMonitor,
  ) {}

  /** Sets both thresholds (slowlog-log-slower-than us, latency-monitor-threshold ms). */
  configure(slowlogUs: number, latencyMs: number): void {
    this.log.thresholdUs = slowlogUs;
    this.latency.thresholdMs = latencyMs;
    this.captureUs = captureThresholdUs(slowlogUs, latencyMs);
  }

  /** A shard's records (ShardPort.onSlow). */
  readonly onShard = (buf: Uint8Array, off: number, len: number, from: ReplySink | null): void => {
    const client = clientOf(from);
    // A call of a script run on the main thread across shards (shard-router.ts callShardSync).
    const script = from?.script === true;
    forEachSlowRecord(buf, off, len, (r: SlowRecord) => {
      if ((r.flags & SLOW_EVENT) !== 0) this.latency.addIfNeeded(r.args[0]!.toString('latin1'), Math.floor(r.durationUs / 1000));
      else if ((r.flags & SLOW_SCRIPT) !== 0 || script) this.record(r.flags, r.unixMs, r.durationUs, r.args, SCRIPT_ADDR, '');
      // A record without a client came from an internal call (a coordinator's step, which the
      // coordinator's own command covers): only its latency counts.
      else if (client === null) this.record(r.flags | SLOW_SKIP_LOG, r.unixMs, r.durationUs, r.args, '', '');
      else this.record(r.flags, r.unixMs, r.durationUs, r.args, client.addr, client.name);
    });
  };

  /** A synchronous main-thread command that started at t0 (performance.now()) and has just
   * finished. */
  main(conn: ClientInfo, a: ArgList, t0: number, handler: MainHandler): void {
    const us = (performance.now() - t0) * 1000;
    if (us < this.captureUs) return;
    const flags = flagsOf(a, handler);
    if (flags >= 0) this.record(flags, Date.now(), us, shownArgs(a), conn.addr, conn.name);
  }

  /** An asynchronous main-thread command, before its handler's first await: what its entry will
   * show, copied now (the receive buffer may move on meanwhile); null when nothing is captured. */
  before(a: ArgList, handler: MainHandler): PendingSlow | null {
    if (this.captureUs === Infinity) return null;
    const flags = flagsOf(a, handler);
    return flags < 0 ? null : { flags, args: shownArgs(a) };
  }

  /** That asynchronous command, started at t0, has finished. */
  after(conn: ClientInfo, p: PendingSlow, t0: number): void {
    const us = (performance.now() - t0) * 1000;
    if (us >= this.captureUs) this.record(p.flags, Date.now(), us, p.args, conn.addr, conn.name);
  }

  private record(flags: number, unixMs: number, durationUs: number, args: Buffer[], addr: string, name: string): void {
    this.latency.addIfNeeded((flags & SLOW_FAST) !== 0 ? 'fast-command' : 'command', Math.floor(durationUs / 1000));
    if ((flags & SLOW_SKIP_LOG) === 0 && this.log.wants(durationUs)) this.log.push(Math.floor(unixMs / 1000), durationUs, args, addr, name);
  }
}

/** An asynchronous main-thread command's entry, taken when it started. */
export interface PendingSlow {
  readonly flags: number;
  readonly args: Buffer[];
}

/** The record flags of main-thread command `a` run by `handler`, or -1 when it is never looked
 * at: a blocking command's handler (its time is mostly waiting; Redis logs only the run that
 * serves it). A subcommand's flags are its own (CLIENT ID is fast, CLIENT LIST is not). */
function flagsOf(a: ArgList, handler: MainHandler): number {
  const spec = COMMANDS[lookupCommand(a.buf, a.off[0]!, a.len[0]!)];
  if (spec === undefined || spec.blocking === handler) return -1;
  let flags = (spec.flags.includes('fast') ? SLOW_FAST : 0) | (spec.flags.includes('skip-slowlog') ? SLOW_SKIP_LOG : 0);
  if (spec.subcommands && a.argc >= 2) {
    const name = Buffer.from(a.buf.subarray(a.off[1]!, a.off[1]! + a.len[1]!)).toString('latin1').toLowerCase();
    const sub = spec.subcommands.find((s) => s.name === name);
    if (sub !== undefined) flags = (sub.flags.includes('fast') ? SLOW_FAST : 0) | (sub.flags.includes('skip-slowlog') ? SLOW_SKIP_LOG : flags & SLOW_SKIP_LOG);
  }
  return flags;
}

/** The client whose command a reply answers: the sink itself (a connection), or the client
 * behind a transaction's sink or a fan-out's part; null for internal calls. */
function clientOf(sink: ReplySink | null): ClientInfo | null {
  let s: unknown = sink;
  for (let i = 0; i < SINK_DEPTH_MAX && s !== null && typeof s === 'object'; i++) {
    const o = s as { addr?: unknown; name?: unknown; client?: unknown; target?: unknown };
    if (typeof o.addr === 'string' && typeof o.name === 'string') return s as ClientInfo;
    s = o.client ?? o.target ?? null;
  }
  return null;
}
