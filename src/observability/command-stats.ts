// Per-command statistics (INFO commandstats, latencystats, errorstats; LATENCY HISTOGRAM; the
// /metrics command series), counted by every thread that runs commands into typed arrays indexed by
// a stat id (a command, or a subcommand as `config|get`), then summed on read. Recording is array
// writes only: a histogram is allocated once per command on its first call, an error prefix once
// per new prefix; snapshots cross the control port as typed arrays.

import type { ArgList, CommandStatsSnapshot } from '../core/types.js';
import { HIST_BUCKETS, bucketOf } from './log-histogram.js';

/** What the stat table needs of a command (structurally, the command table's entries). */
export interface StatCommand {
  readonly name: string;
  readonly hidden?: boolean;
  readonly subcommands?: readonly { readonly name: string }[];
}

/** Distinct error prefixes counted (Redis 7.2's ERROR_STATS_NUMBER); later new prefixes count
 * only in the total. */
export const ERROR_PREFIXES_MAX = 128;

/** Stat ids of a command table: each command's own id, then one per subcommand, in table order.
 * Every thread builds it from the same table, so ids agree across threads. */
export class StatTable {
  readonly names: string[] = [];
  /** By stat id: 1 for commands that are not Redis's (hidden internal ones): not in INFO. */
  readonly hidden: number[] = [];
  /** By command index: the command's own stat id. */
  readonly base: Int32Array;
  /** By command index: its subcommands' names upper case as bytes (ids base+1...), or null. */
  private readonly subs: Array<Uint8Array[] | null>;
  readonly byName = new Map<string, number>();
  /** By stat id: the command index it belongs to. */
  readonly commandOf: number[] = [];

  constructor(commands: readonly StatCommand[]) {
    this.base = new Int32Array(commands.length);
    this.subs = commands.map((c, i) => {
      this.base[i] = this.add(c.name, c.hidden === true, i);
      if (!c.subcommands || c.subcommands.length === 0) return null;
      return c.subcommands.map((s) => {
        this.add(`${c.name}|${s.name}`, c.hidden === true, i);
        return Buffer.from(s.name.toUpperCase(), 'latin1');
      });
    });
  }

  private add(name: string, hidden: boolean, cmd: number): number {
    const id = this.names.length;
    this.names.push(name);
    this.hidden.push(hidden ? 1 : 0);
    this.commandOf.push(cmd);
    this.byName.set(name, id);
    return id;
  }

  get size(): number {
    return this.names.length;
  }

  /** The stat id of command `cmd` called with `a`: its subcommand's when it has one named by
   * argument 1, else its own. */
  statOf(cmd: number, a: ArgList): number {
    const base = this.base[cmd]!;
    const subs = this.subs[cmd];
    if (subs === null || subs === undefined || a.argc < 2) return base;
    const off = a.off[1]!;
    const len = a.len[1]!;
    const buf = a.buf;
    for (let s = 0; s < subs.length; s++) {
      const name = subs[s]!;
      if (name.length !== len) continue;
      let i = 0;
      // ASCII upper-casing of the argument: subcommand names are letters, digits and '-'.
      while (i < len && ((buf[off + i]! & 0xdf) === name[i] || buf[off + i] === name[i])) i++;
      if (i === len) return base + 1 + s;
    }
    return base;
  }
}

/** Error replies by prefix (errorstats): prefixes kept as bytes and matched without allocating. */
export class ErrorCounts {
  private readonly prefixes: Uint8Array[] = [];
  private readonly names: string[] = [];
  private counts: number[] = [];
  total = 0;

  /** Counts the error reply at buf[start] ('-' then its text). The prefix is the first word, as
   * Redis's afterErrorReply: up to a space within 32 bytes, else ERR. */
  countReply(buf: Uint8Array, start: number, end: number): void {
    this.total++;
    const from = start + 1;
    const limit = Math.min(end, start + 32);
    let sp = from;
    while (sp < limit && buf[sp] !== 32) sp++;
    if (sp >= limit || sp === from) {
      this.bump(ERR_BYTES, 0, 3);
      return;
    }
    this.bump(buf, from, sp - from);
  }

  /** Counts an error given as text without its '-' (the main thread's own error replies). */
  countText(text: string): void {
    this.total++;
    const sp = text.indexOf(' ');
    const prefix = sp > 0 && sp < 31 ? text.slice(0, sp) : 'ERR';
    let i = this.names.indexOf(prefix);
    if (i < 0) i = this.learn(Buffer.from(prefix, 'latin1'), prefix);
    if (i >= 0) this.counts[i]!++;
  }

  private bump(buf: Uint8Array, off: number, len: number): void {
    const ps = this.prefixes;
    for (let i = 0; i < ps.length; i++) {
      const p = ps[i]!;
      if (p.length !== len) continue;
      let j = 0;
      while (j < len && p[j] === buf[off + j]) j++;
      if (j === len) {
        this.counts[i]!++;
        return;
      }
    }
    const bytes = Uint8Array.from(buf.subarray(off, off + len));
    const i = this.learn(bytes, Buffer.from(bytes).toString('latin1'));
    if (i >= 0) this.counts[i]!++;
  }

  /** A new prefix's index, or -1 past ERROR_PREFIXES_MAX. */
  private learn(bytes: Uint8Array, name: string): number {
    if (this.names.length >= ERROR_PREFIXES_MAX) return -1;
    this.prefixes.push(bytes);
    this.names.push(name);
    this.counts.push(0);
    return this.names.length - 1;
  }

  entries(): Array<[string, number]> {
    return this.names.map((n, i) => [n, this.counts[i]!]);
  }

  reset(): void {
    this.total = 0;
    this.counts = this.counts.map(() => 0);
  }
}

const ERR_BYTES = Buffer.from('ERR', 'latin1');

/** One thread's statistics by stat id. */
export class CommandStats {
  readonly calls: Float64Array;
  readonly usec: Float64Array;
  readonly rejected: Float64Array;
  readonly failed: Float64Array;
  readonly errors = new ErrorCounts();
  /** latency-tracking: false stops recording into the histograms (their content stays). */
  tracking = true;
  /** By stat id: its histogram's slot in `hist`, -1 before its first recording. */
  private readonly slotOf: Int32Array;
  private slotIds: Int32Array = new Int32Array(8);
  private slots = 0;
  private hist: Float64Array = new Float64Array(8 * HIST_BUCKETS);

  constructor(readonly table: StatTable) {
    const n = table.size;
    this.calls = new Float64Array(n);
    this.usec = new Float64Array(n);
    this.rejected = new Float64Array(n);
    this.failed = new Float64Array(n);
    this.slotOf = new Int32Array(n).fill(-1);
  }

  /** Records one execution of stat id `sid` that took `ms` milliseconds. */
  time(sid: number, ms: number): void {
    this.usec[sid]! += ms * 1000;
    if (!this.tracking) return;
    let slot = this.slotOf[sid]!;
    if (slot < 0) slot = this.newSlot(sid);
    this.hist[slot * HIST_BUCKETS + bucketOf(ms * 1e6)]!++;
  }

  /** Counts the reply at buf[start..end) when it is an error: a failed call of `sid` (or a
   * rejected one) and its prefix. */
  reply(sid: number, buf: Uint8Array, start: number, end: number, rejected: boolean): void {
    if (buf[start] !== 45 || end <= start) return;
    if (rejected) this.rejected[sid]!++;
    else this.failed[sid]!++;
    this.errors.countReply(buf, start, end);
  }

  private newSlot(sid: number): number {
    if (this.slots * HIST_BUCKETS >= this.hist.length) {
      // Grows by doubling: a histogram per command that was ever called, allocated on its first call.
      const h = new Float64Array(this.hist.length * 2);
      h.set(this.hist);
      this.hist = h;
      const ids = new Int32Array(this.slotIds.length * 2);
      ids.set(this.slotIds);
      this.slotIds = ids;
    }
    const slot = this.slots++;
    this.slotOf[sid] = slot;
    this.slotIds[slot] = sid;
    return slot;
  }

  snapshot(): CommandStatsSnapshot {
    return {
      calls: this.calls.slice(),
      usec: this.usec.slice(),
      rejected: this.rejected.slice(),
      failed: this.failed.slice(),
      histIds: this.slotIds.slice(0, this.slots),
      hist: this.hist.slice(0, this.slots * HIST_BUCKETS),
      errors: this.errors.entries(),
      errorTotal: this.errors.total,
    };
  }

  reset(): void {
    this.calls.fill(0);
    this.usec.fill(0);
    this.rejected.fill(0);
    this.failed.fill(0);
    this.hist.fill(0);
    this.errors.reset();
  }
}

/** Every thread's statistics summed: what INFO, LATENCY HISTOGRAM and /metrics read. */
export interface MergedCommandStats {
  table: StatTable;
  calls: Float64Array;
  usec: Float64Array;
  rejected: Float64Array;
  failed: Float64Array;
  /** Stat id -> its histogram (HIST_BUCKETS counts), for the ids recorded at least once. */
  hist: Map<number, Float64Array>;
  errors: Map<string, number>;
  errorTotal: number;
}

/** Sums the main thread's snapshot and the shards'. Calls are counted where commands are
 * dispatched (the main thread); a shard's rejections (OOM, MISCONF) are taken out of them, as Redis
 * counts a rejected command only as rejected. */
export function mergeCommandStats(table: StatTable, parts: readonly CommandStatsSnapshot[], shardParts: readonly CommandStatsSnapshot[]): MergedCommandStats {
  const n = table.size;
  const m: MergedCommandStats = {
    table,
    calls: new Float64Array(n),
    usec: new Float64Array(n),
    rejected: new Float64Array(n),
    failed: new Float64Array(n),
    hist: new Map(),
    errors: new Map(),
    errorTotal: 0,
  };
  for (const p of [...parts, ...shardParts]) {
    // A shard of an older table layout (mid-upgrade) would misattribute: only same-size ones add.
    if (p.calls.length !== n) continue;
    for (let i = 0; i < n; i++) {
      m.calls[i]! += p.calls[i]!;
      m.usec[i]! += p.usec[i]!;
      m.rejected[i]! += p.rejected[i]!;
      m.failed[i]! += p.failed[i]!;
    }
    for (let s = 0; s < p.histIds.length; s++) {
      const id = p.histIds[s]!;
      let h = m.hist.get(id);
      if (!h) {
        h = new Float64Array(HIST_BUCKETS);
        m.hist.set(id, h);
      }
      const base = s * HIST_BUCKETS;
      for (let b = 0; b < HIST_BUCKETS; b++) h[b]! += p.hist[base + b]!;
    }
    for (const [prefix, count] of p.errors) m.errors.set(prefix, (m.errors.get(prefix) ?? 0) + count);
    m.errorTotal += p.errorTotal;
  }
  for (const p of shardParts) {
    if (p.rejected.length !== n) continue;
    for (let i = 0; i < n; i++) m.calls[i] = Math.max(0, m.calls[i]! - p.rejected[i]!);
  }
  return m;
}

/** The histogram of every command of one snapshot summed (a shard's own latency percentiles). */
export function totalHistogram(p: CommandStatsSnapshot): Float64Array {
  const h = new Float64Array(HIST_BUCKETS);
  for (let s = 0; s < p.histIds.length; s++) {
    const base = s * HIST_BUCKETS;
    for (let b = 0; b < HIST_BUCKETS; b++) h[b]! += p.hist[base + b]!;
  }
  return h;
}
