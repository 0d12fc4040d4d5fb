// The main thread's side of persistence: it owns the manifests, decides what to load at start,
// runs saves (dump) and log rewrites across all shards, applies the save points and the automatic
// rewrite, and answers INFO persistence. The shards do the work on their own threads
// (shard-persistence.ts); this module only names files and moves manifests.
//
// A save or rewrite starts every shard's snapshot while no client command reaches any shard (the
// shard lock), so the shards' images together are one causally consistent point: a write that a
// client sent after seeing another's reply is never in the image without it.
//
// Rewrite without a window: (1) the manifest gains a new log per shard, (2) under the lock each
// shard switches to its new log and starts a snapshot (the base), (3) when every base is on disk
// the manifest becomes {new bases, new logs} and the old files are deleted. A crash before (3)
// leaves old base + old logs + new logs, which replay to the same state: records restate a key's
// result, so the few that reach both a base and a log replay harmlessly.

import { mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { ShardPort } from '../runtime/shard-port.js';
import type { ShardCaller, ShardStatsReport } from '../core/types.js';
import { filesOfShard, readManifest, writeManifest, type Manifest, type ManifestFile } from './manifest.js';
import type { LoadFile, LoadPlan, LoadReport, LogSettings } from './shard-persistence.js';
import type { SnapshotResult } from './snapshot-job.js';
import { recordEvent } from '../observability/events.js';

export interface PersistenceHost {
  readonly config: Config;
  readonly log: Logger;
  readonly shards: readonly ShardPort[];
  /** Runs fn while no client command reaches any shard but fn's own (through call). */
  withAllShardsLocked<T>(fn: (call: ShardCaller) => Promise<T>): Promise<T>;
  /** Pushes log settings to every shard (and to the settings a restarted shard gets), as
   * generation gen (a new one when omitted). */
  setLogSettings(aof: LogSettings | null, gen?: number): void;
  /** A new log settings generation (for a switch sent through the rings). */
  nextLogGen(): number;
  shardStats(): Promise<ShardStatsReport[]>;
}

/** The start cannot go on (a damaged file without --persistence-repair). */
export class PersistenceStartError extends Error {
  override name = 'PersistenceStartError';
}

type Status = 'ok' | 'err';

/** A save or rewrite: `started` once every shard's snapshot has its point, `done` when finished. */
export interface Job<T = void> {
  started: Promise<void>;
  done: Promise<T>;
}

export class PersistenceManager {
  private dumpManifest: Manifest | null = null;
  private aofManifest: Manifest | null = null;
  /** The log is on (appendonly yes and its first base written, or being written). */
  private aofOn = false;
  private saving: Job | null = null;
  private rewriting: Job | null = null;
  private saveScheduled = false;
  rewriteScheduled = false;
  private saveStartedMs = 0;
  private rewriteStartedMs = 0;
  lastSaveSec = Math.floor(Date.now() / 1000);
  private lastSaveAttemptMs = 0;
  private lastBgsaveStatus: Status = 'ok';
  private lastBgsaveSec = -1;
  private lastRewriteStatus: Status = 'ok';
  private lastRewriteSec = -1;
  private rdbSaves = 0;
  private aofRewrites = 0;
  private dirtyAtSave = 0;
  private aofBaseBytes = 0;
  private loadKeys = 0;
  private loadExpired = 0;
  private loadTruncatedBytes = 0;
  loading = false;
  private cachedStats: ShardStatsReport[] = [];

  constructor(private readonly host: PersistenceHost) {}

  private get v() {
    return this.host.config.values;
  }
  private get dir(): string {
    return this.v.dir;
  }
  private get aofDir(): string {
    return isAbsolute(this.v.appenddirname) ? this.v.appenddirname : join(this.dir, this.v.appenddirname);
  }
  private get aofManifestPath(): string {
    return join(this.aofDir, `${this.v.appendfilename}.manifest`);
  }
  private get dumpPath(): string {
    return join(this.dir, this.v.dbfilename);
  }
  private get n(): number {
    return this.host.shards.length;
  }

  // --- Start ------------------------------------------------------------------------------------

  /** Loads the newest state from disk into the shards, then opens the logs (before any client). */
  async recover(): Promise<void> {
    const v = this.v;
    const log = this.host.log;
    mkdirSync(this.dir, { recursive: true });
    this.aofManifest = v.appendonly ? readManifest(this.aofManifestPath) : null;
    this.dumpManifest = readManifest(this.dumpPath);
    const from = this.aofManifest ? { m: this.aofManifest, dir: this.aofDir, what: 'append only file' } : this.dumpManifest ? { m: this.dumpManifest, dir: this.dir, what: 'disk' } : null;
    let rewriteNeeded = false;
    if (from !== null) {
      this.loading = true;
      const t0 = performance.now();
      log.info({ shards: from.m.shards, seq: from.m.seq }, `Loading data from ${from.what} (${from.m.files.length} files)`);
      const reports = await Promise.all(this.host.shards.map((s, i) => s.load(this.planFor(from.m, from.dir, i))));
      this.loading = false;
      const failed = reports.find((r) => r.error !== null);
      if (failed) throw new PersistenceStartError(failed.error!);
      this.noteLoad(reports);
      const truncated = reports.flatMap((r) => r.truncated);
      for (const t of truncated) {
        log.warn({ file: t.path, offset: t.offset, droppedBytes: t.droppedBytes, reason: t.reason }, `!!! Warning: ${t.path} was cut at offset ${t.offset} (${t.droppedBytes} bytes dropped: ${t.reason})`);
      }
      // A repaired snapshot, or files of another shard count, are replaced before anyone writes.
      rewriteNeeded = from.m.shards !== this.n || truncated.some((t) => !t.path.endsWith('.aof'));
      log.info({ keys: this.loadKeys, expired: this.loadExpired, ms: Math.round(performance.now() - t0) }, `DB loaded from ${from.what}: ${((performance.now() - t0) / 1000).toFixed(3)} seconds`);
    }
    if (v.appendonly) {
      const m = this.aofManifest;
      if (m !== null && !rewriteNeeded) {
        this.aofOn = true;
        this.aofManifest = m;
        this.aofBaseBytes = this.sizeOf(this.aofDir, m.files.filter((f) => f.role === 'b'));
        this.openLogsOf(m);
      } else {
        this.aofManifest = null;
        await this.rewrite().done;
      }
    } else if (from !== null && rewriteNeeded) {
      await this.save().done;
    }
    const stats = await this.host.shardStats();
    this.dirtyAtSave = stats.reduce((a, s) => a + s.persistence.dirty, 0);
  }

  private planFor(m: Manifest, dir: string, shard: number): LoadPlan {
    const v = this.v;
    const sameLayout = m.shards === this.n;
    const files: LoadFile[] = [];
    const shards = sameLayout ? [shard] : Array.from({ length: m.shards }, (_, i) => i);
    for (const s of shards) {
      const mine = filesOfShard(m, s);
      const lastLog = mine.filter((f) => f.role === 'i').pop();
      for (const f of mine) {
        files.push({
          path: join(dir, f.name),
          kind: f.role === 'i' ? 'log' : 'snapshot',
          last: f === lastLog,
          from: { shard: s, shards: m.shards },
        });
      }
    }
    return { files, keep: sameLayout ? null : { shards: this.n, shard }, truncateTorn: v.aofLoadTruncated, repair: v.persistenceRepair };
  }

  private noteLoad(reports: LoadReport[]): void {
    this.loadKeys = reports.reduce((a, r) => a + r.keys, 0);
    this.loadExpired = reports.reduce((a, r) => a + r.expired, 0);
    this.loadTruncatedBytes = reports.reduce((a, r) => a + r.truncated.reduce((b, t) => b + t.droppedBytes, 0), 0);
  }

  /** Each shard goes on appending to the newest log of its chain (a new one when it has none). */
  private openLogsOf(m: Manifest): void {
    const paths: string[] = [];
    let added = false;
    for (let s = 0; s < this.n; s++) {
      let last = filesOfShard(m, s).filter((f) => f.role === 'i').pop();
      if (last === undefined) {
        last = { name: this.aofName(m.seq, s, 'incr'), shard: s, role: 'i' };
        m.files.push(last);
        added = true;
      }
      paths.push(join(this.aofDir, last.name));
    }
    if (added) writeManifest(this.aofManifestPath, m);
    this.host.setLogSettings({ paths, fsync: this.v.appendfsync });
  }

  // --- Saves and rewrites ---------------------------------------------------------------------------

  /** Every shard's snapshot, started at one point (see the header), each into pathOf(shard);
   * with logOf, each shard first moves to its new log. `started` settles when every shard has
   * started (or one refused), `done` when every snapshot is on disk. */
  private snapshotAll(pathOf: (shard: number) => string, log: { of: (shard: number) => string; gen: number } | null, onLocked?: (call: ShardCaller) => Promise<void>): Job<{ dirty: number; results: SnapshotResult[] }> {
    const shards = this.host.shards;
    const fsync = this.v.appendfsync;
    // The start travels through each shard's ring, after the commands already sent to it.
    const started = this.host.withAllShardsLocked(async (call) => {
      if (onLocked) await onLocked(call);
      return Promise.all(shards.map((_, i) => call(i, ['__snapshot', pathOf(i), ...(log ? ['LOG', log.of(i), fsync, String(log.gen)] : [])], 2)));
    }).then((replies) => {
      let dirty = 0;
      for (const r of replies) {
        if (r[0] === 45 /* - */) throw new Error(r.toString('latin1', 1).trim());
        dirty += Number(/^\*2\r\n:(-?\d+)/.exec(r.toString('latin1'))?.[1] ?? 0);
      }
      return dirty;
    });
    const done = started.then(async (dirty) => {
      const waits = await Promise.allSettled(shards.map((s) => s.snapshotWait()));
      const bad = waits.find((w) => w.status === 'rejected');
      if (bad) throw new Error(`snapshot failed: ${((bad as PromiseRejectedResult).reason as Error).message}`);
      return { dirty, results: waits.map((w) => (w as PromiseFulfilledResult<SnapshotResult>).value) };
    });
    return { started: started.then(() => undefined), done };
  }

  get saveInProgress(): boolean {
    return this.saving !== null;
  }
  get rewriteInProgress(): boolean {
    return this.rewriting !== null;
  }

  /** A full sync's BGSAVE: onLocked runs under the all-shards lock just before the snapshots
   * start (the primary attaches the replica's feed there). Null while a save or rewrite runs. */
  saveForReplica(onLocked: (call: ShardCaller) => Promise<void>): { job: Job; files: () => string[] } | null {
    if (this.saving || this.rewriting) return null;
    const job = this.save(onLocked);
    return { job, files: () => this.dumpManifest!.files.map((f) => join(this.dir, f.name)) };
  }

  /** Resolves when no save or rewrite runs. */
  async idle(): Promise<void> {
    while (this.saving || this.rewriting) {
      await (this.saving ?? this.rewriting)!.done.catch(() => undefined);
    }
  }

  /** SAVE / BGSAVE: a new dump generation; the manifest moves when every shard's part is on disk. */
  save(onLocked?: (call: ShardCaller) => Promise<void>): Job {
    if (this.saving) return this.saving;
    this.saving = this.job(this.rewriting, async (markStarted) => {
      const m = this.dumpManifest ?? readManifest(this.dumpPath);
      const seq = (m?.seq ?? 0) + 1;
      const files: ManifestFile[] = Array.from({ length: this.n }, (_, s) => ({ name: `${this.v.dbfilename}.${seq}.s${s}.tsnap`, shard: s, role: 's' }));
      this.saveStartedMs = Date.now();
      this.lastSaveAttemptMs = Date.now();
      this.host.log.info('Background saving started');
      try {
        mkdirSync(this.dir, { recursive: true });
        const job = this.snapshotAll((s) => join(this.dir, files[s]!.name), null, onLocked);
        job.started.then(() => markStarted(), (e: Error) => markStarted(e));
        const { dirty, results } = await job.done;
        const next: Manifest = { shards: this.n, seq, files };
        writeManifest(this.dumpPath, next);
        this.dumpManifest = next;
        if (m) this.removeUnlisted(this.dir, m, next);
        this.dirtyAtSave = dirty;
        this.lastSaveSec = Math.floor(Date.now() / 1000);
        this.lastBgsaveStatus = 'ok';
        this.rdbSaves++;
        const keys = results.reduce((a, r) => a + r.keys, 0);
        this.host.log.info({ keys, ms: Date.now() - this.saveStartedMs }, 'DB saved on disk');
        recordEvent('save', `snapshot saved: ${keys} keys in ${Date.now() - this.saveStartedMs} ms`);
      } catch (e) {
        markStarted(e as Error);
        this.lastBgsaveStatus = 'err';
        for (const f of files) tryUnlink(join(this.dir, f.name));
        this.host.log.warn({ err: (e as Error).message }, 'Background saving error');
        recordEvent('save', `snapshot failed: ${(e as Error).message}`);
        throw e;
      } finally {
        this.lastBgsaveSec = Math.round((Date.now() - this.saveStartedMs) / 1000);
        this.saving = null;
        this.startScheduled();
      }
    });
    return this.saving;
  }

  /** BGSAVE [SCHEDULE] while a rewrite runs: queued for when it ends. */
  scheduleSave(): void {
    this.saveScheduled = true;
  }

  /** BGREWRITEAOF, the automatic rewrite, and the first base when the log is turned on. */
  rewrite(): Job {
    if (this.rewriting) return this.rewriting;
    this.rewriting = this.job(this.saving, async (markStarted) => {
      // The chain being extended (null when the log is being turned on), and what is on disk.
      const chain = this.aofOn ? this.aofManifest : null;
      const onDisk = readManifest(this.aofManifestPath);
      const seq = Math.max(onDisk?.seq ?? 0, chain?.seq ?? 0) + 1;
      const incr: ManifestFile[] = [];
      const base: ManifestFile[] = [];
      for (let s = 0; s < this.n; s++) {
        base.push({ name: this.aofName(seq, s, 'base'), shard: s, role: 'b' });
        incr.push({ name: this.aofName(seq, s, 'incr'), shard: s, role: 'i' });
      }
      this.rewriteStartedMs = Date.now();
      this.host.log.info('Background append only file rewriting started');
      try {
        mkdirSync(this.aofDir, { recursive: true });
        // (1) The new logs join the chain before any record is written to them.
        if (chain !== null && chain.shards === this.n) {
          const step: Manifest = { shards: this.n, seq, files: [...chain.files, ...incr] };
          writeManifest(this.aofManifestPath, step);
          this.aofManifest = step;
        }
        this.aofOn = true;
        // (2) Each shard moves to its new log and starts its snapshot, at one point of its
        // command stream; a shard restarted later reopens the new log (its settings).
        const incrPath = (s: number): string => join(this.aofDir, incr[s]!.name);
        const gen = this.host.nextLogGen();
        const job = this.snapshotAll((s) => join(this.aofDir, base[s]!.name), { of: incrPath, gen });
        job.started.then(
          () => {
            this.host.setLogSettings({ paths: incr.map((_, s) => incrPath(s)), fsync: this.v.appendfsync }, gen);
            markStarted();
          },
          (e: Error) => markStarted(e),
        );
        const { results } = await job.done;
        // (3) The new chain replaces the old one.
        const next: Manifest = { shards: this.n, seq, files: [...base, ...incr] };
        writeManifest(this.aofManifestPath, next);
        this.aofManifest = next;
        if (chain) this.removeUnlisted(this.aofDir, chain, next);
        if (onDisk) this.removeUnlisted(this.aofDir, onDisk, next);
        this.aofBaseBytes = results.reduce((a, r) => a + r.bytes, 0);
        this.lastRewriteStatus = 'ok';
        this.aofRewrites++;
        this.host.log.info({ keys: results.reduce((a, r) => a + r.keys, 0), ms: Date.now() - this.rewriteStartedMs }, 'Background AOF rewrite finished successfully');
        recordEvent('aof-rewrite', `append-only log rewritten: ${results.reduce((a, r) => a + r.keys, 0)} keys in ${Date.now() - this.rewriteStartedMs} ms`);
      } catch (e) {
        markStarted(e as Error);
        this.lastRewriteStatus = 'err';
        // Without a complete first base the log is not loadable yet: try again, as Redis does.
        if (chain === null) this.rewriteScheduled = true;
        for (const f of base) tryUnlink(join(this.aofDir, f.name));
        this.host.log.warn({ err: (e as Error).message }, 'Background AOF rewrite failed');
        recordEvent('aof-rewrite', `append-only log rewrite failed: ${(e as Error).message}`);
        throw e;
      } finally {
        this.lastRewriteSec = Math.round((Date.now() - this.rewriteStartedMs) / 1000);
        this.rewriting = null;
        this.startScheduled();
      }
    });
    return this.rewriting;
  }

  /** Runs body once `after` (the other kind of job, when one runs) is over; body reports through
   * markStarted when every shard's snapshot has its point (a failure before that rejects it). */
  private job(after: Job | null, body: (markStarted: (err?: Error) => void) => Promise<void>): Job {
    let markStarted!: (err?: Error) => void;
    const started = new Promise<void>((res, rej) => (markStarted = (err) => (err ? rej(err) : res())));
    started.catch(() => undefined);
    const run = (): Promise<void> => body(markStarted);
    const done = after ? after.done.then(run, run) : run();
    done.catch(() => undefined);
    return { started, done };
  }

  private startScheduled(): void {
    setImmediate(() => {
      if (this.saving || this.rewriting) return;
      if (this.rewriteScheduled) {
        this.rewriteScheduled = false;
        this.rewrite();
      } else if (this.saveScheduled) {
        this.saveScheduled = false;
        this.save();
      }
    });
  }

  /** CONFIG SET appendonly / appendfsync. */
  async configChanged(): Promise<void> {
    const v = this.v;
    if (v.appendonly && !this.aofOn) {
      // Turned on at run time: the current data become the base of a fresh chain (as Redis).
      this.aofManifest = null;
      this.rewrite();
    } else if (!v.appendonly && this.aofOn) {
      this.aofOn = false;
      this.host.setLogSettings(null);
    } else if (this.aofOn && this.aofManifest) {
      this.openLogsOf(this.aofManifest);
    }
  }

  /** Called every 100 ms or so: save points and the automatic rewrite. */
  async cron(): Promise<void> {
    if (this.loading) return;
    const v = this.v;
    this.cachedStats = await this.host.shardStats().catch(() => this.cachedStats);
    if (this.saving || this.rewriting) return;
    const changes = this.changesSinceSave();
    const sinceSave = Date.now() / 1000 - this.lastSaveSec;
    const words = v.save.split(' ').filter((w) => w !== '').map(Number);
    // Like Redis: after a failed save, wait 5 s before the save points try again.
    const retryOk = this.lastBgsaveStatus === 'ok' || Date.now() - this.lastSaveAttemptMs > 5000;
    for (let i = 0; i + 1 < words.length && retryOk; i += 2) {
      if (sinceSave >= words[i]! && changes >= words[i + 1]!) {
        this.host.log.info(`${words[i + 1]} changes in ${words[i]} seconds. Saving...`);
        this.save();
        return;
      }
    }
    if (this.aofOn && v.autoAofRewritePercentage > 0 && this.aofManifest) {
      const size = this.aofCurrentBytes();
      const base = Math.max(1, this.aofBaseBytes);
      if (size >= v.autoAofRewriteMinSize && ((size - base) * 100) / base >= v.autoAofRewritePercentage) {
        this.host.log.info({ size, base }, 'Starting automatic rewriting of AOF');
        this.rewrite();
      }
    }
  }

  private changesSinceSave(): number {
    return Math.max(0, this.cachedStats.reduce((a, s) => a + s.persistence.dirty, 0) - this.dirtyAtSave);
  }

  /** Before exit (SHUTDOWN, SIGTERM): the save when asked, or when save points are set. */
  async beforeShutdown(save: boolean | null): Promise<void> {
    const wantSave = save ?? this.v.save.trim() !== '';
    if (wantSave) {
      this.host.log.info('Saving the final snapshot before exiting.');
      if (this.saving) await this.saving.done.catch(() => undefined);
      await this.save().done;
    }
  }

  noteShutdownError(e: Error): void {
    this.host.log.warn({ err: e.message }, 'Error trying to save the DB, can\'t exit.');
  }

  // --- INFO -------------------------------------------------------------------------------------------

  /** The INFO persistence fields, from the shards' statistics just taken. */
  info(stats: ShardStatsReport[]): Array<[string, string | number]> {
    this.cachedStats = stats;
    const now = Date.now();
    const p = stats.map((s) => s.persistence);
    const snapping = p.some((x) => x.snapshotActive);
    const rows: Array<[string, string | number]> = [
      ['loading', this.loading ? 1 : 0],
      ['async_loading', 0],
      ['current_cow_peak', 0],
      ['current_cow_size', 0],
      ['current_cow_size_age', 0],
      ['current_fork_perc', '0.00'],
      ['current_save_keys_processed', snapping ? p.reduce((a, x) => a + x.snapshotKeys, 0) : 0],
      ['current_save_keys_total', snapping ? p.reduce((a, x) => a + x.snapshotKeysTotal, 0) : 0],
      ['rdb_changes_since_last_save', this.changesSinceSave()],
      ['rdb_bgsave_in_progress', this.saving ? 1 : 0],
      ['rdb_last_save_time', this.lastSaveSec],
      ['rdb_last_bgsave_status', this.lastBgsaveStatus],
      ['rdb_last_bgsave_time_sec', this.lastBgsaveSec],
      ['rdb_current_bgsave_time_sec', this.saving ? Math.round((now - this.saveStartedMs) / 1000) : -1],
      ['rdb_saves', this.rdbSaves],
      ['rdb_last_cow_size', 0],
      ['rdb_last_load_keys_expired', this.loadExpired],
      ['rdb_last_load_keys_loaded', this.loadKeys],
      ['aof_enabled', this.aofOn ? 1 : 0],
      ['aof_rewrite_in_progress', this.rewriting ? 1 : 0],
      ['aof_rewrite_scheduled', this.rewriteScheduled ? 1 : 0],
      ['aof_last_rewrite_time_sec', this.lastRewriteSec],
      ['aof_current_rewrite_time_sec', this.rewriting ? Math.round((now - this.rewriteStartedMs) / 1000) : -1],
      ['aof_last_bgrewrite_status', this.lastRewriteStatus],
      ['aof_rewrites', this.aofRewrites],
      ['aof_rewrites_consecutive_failures', 0],
      ['aof_last_write_status', p.every((x) => x.aofWriteOk) ? 'ok' : 'err'],
      ['aof_last_cow_size', 0],
      ['module_fork_in_progress', 0],
      ['module_fork_last_cow_size', 0],
    ];
    if (this.aofOn) {
      rows.push(
        ['aof_current_size', this.aofCurrentBytes()],
        ['aof_base_size', this.aofBaseBytes],
        ['aof_pending_rewrite', this.rewriteScheduled ? 1 : 0],
        ['aof_buffer_length', p.reduce((a, x) => a + x.aofPending, 0)],
        ['aof_pending_bio_fsync', 0],
        ['aof_delayed_fsync', 0],
      );
    }
    rows.push(
      ['snapshot_peak_buffer_bytes', p.reduce((a, x) => a + x.snapshotPeakBytes, 0)],
      ['aof_last_load_truncated_bytes', this.loadTruncatedBytes],
    );
    return rows;
  }

  // --- Files ------------------------------------------------------------------------------------------

  private aofName(seq: number, shard: number, kind: 'base' | 'incr'): string {
    return `${this.v.appendfilename}.${seq}.s${shard}.${kind}.${kind === 'base' ? 'tsnap' : 'aof'}`;
  }

  private aofCurrentBytes(): number {
    const m = this.aofManifest;
    return m ? this.sizeOf(this.aofDir, m.files) : 0;
  }

  private sizeOf(dir: string, files: ManifestFile[]): number {
    let total = 0;
    for (const f of files) {
      try {
        total += statSync(join(dir, f.name)).size;
      } catch {
        // a log not created yet
      }
    }
    return total;
  }

  /** Deletes the files of `old` that `next` does not name (after `next` is on disk). */
  private removeUnlisted(dir: string, old: Manifest, next: Manifest): void {
    const keep = new Set(next.files.map((f) => f.name));
    for (const f of old.files) if (!keep.has(f.name)) tryUnlink(join(dir, f.name));
  }

  /** Leftovers of interrupted saves (temporary files) are removed at start. */
  removeTemporaries(): void {
    for (const dir of [this.dir, this.aofDir]) {
      let names: string[] = [];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const name of names) {
        if (name.endsWith('.tsnap.tmp') || name.endsWith('.manifest.tmp') || name === `${this.v.dbfilename}.tmp`) tryUnlink(join(dir, name));
      }
    }
  }
}

function tryUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
