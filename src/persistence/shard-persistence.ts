// A shard's side of persistence and replication, on the shard's own thread: it observes the
// keyspace, turns each command's changes into records for the log and the replication feed, runs
// the shard's snapshot job, loads files at start and applies a primary's records on a replica.
// Records state what a command left (the key's value, type, flags and absolute expiry, or its
// absence), looked up once after the command: one mechanism for every command, INCRBYFLOAT logs
// its result and EXPIRE an absolute time without any handler knowing about the log.

import { closeSync, existsSync, ftruncateSync, openSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { basename } from 'node:path';
import type { Keyspace, KeyspaceObserver, ValueType } from '../keyspace/keyspace.js';
import { keySlot, shardOfSlot, SLOT_COUNT } from '../keyspace/slot.js';
import * as C from '../keyspace/collection.js';
import { createFor, elementFind, elementPut, elementRemove, newSetEncoding } from '../keyspace/collection.js';
import { ENC_PACK } from '../keyspace/pack.js';
import { TYPE_HASH, TYPE_LIST, TYPE_SET, TYPE_STREAM, TYPE_ZSET } from '../keyspace/keyspace.js';
import * as S from '../keyspace/stream.js';
import * as L from '../keyspace/list.js';
import { LOP_POP_HEAD, LOP_POP_TAIL, LOP_PUSH_HEAD, LOP_PUSH_TAIL, LOP_TRIM } from '../keyspace/list.js';
import * as Z from '../keyspace/zset.js';
import { AppendLog } from './append-log.js';
import type { FsyncPolicy, LogSettings, PersistenceStats } from '../core/types.js';

export type { LogSettings, PersistenceStats };
import { readRecords, type ReadOutcome } from './record-reader.js';
import { DEL_HEADER, ELEM_HEADER, ELEMS_HEADER, FRAME_HEADER, LIST_HEADER, MAGIC_LOG, MAGIC_SNAPSHOT, OP_DEL, OP_ELEMS, OP_FLUSH, OP_LIST, OP_SET, RecordBuffer, recordShapeError, SET_HEADER } from './records.js';
import { SnapshotJob, type SnapshotResult } from './snapshot-job.js';


export interface LoadFile {
  path: string;
  kind: 'snapshot' | 'log';
  /** The newest log of the chain: a torn tail there is a crash while appending. */
  last: boolean;
  /** The shard (of `shards`) that wrote the file. */
  from: { shard: number; shards: number };
}

export interface LoadPlan {
  files: LoadFile[];
  /** Load only the keys of this shard under a layout of `shards` shards (the files were written
   * by a different number of shards), or null for all. */
  keep: { shards: number; shard: number } | null;
  /** Cut a torn tail of the newest log at its last valid record (aof-load-truncated). */
  truncateTorn: boolean;
  /** Accept a corrupt record anywhere: keep what precedes it, cut the file there. */
  repair: boolean;
}

export interface LoadReport {
  keys: number;
  loaded: number;
  expired: number;
  records: number;
  ms: number;
  truncated: Array<{ path: string; offset: number; droppedBytes: number; reason: string }>;
  error: string | null;
}


/** Receives each batch's records for replication (bytes valid only during the call). */
export type FeedSink = (records: Uint8Array) => void;

/** buf, or a larger copy of its first `used` bytes, with room for `more` bytes after them. */
function roomFor(buf: Buffer<ArrayBuffer>, used: number, more: number): Buffer<ArrayBuffer> {
  if (used + more <= buf.length) return buf;
  const next = Buffer.allocUnsafe(Math.max(buf.length * 2, used + more));
  buf.copy(next, 0, 0, used);
  return next;
}

/** `to` (twice as long) holding `from`'s contents. */
function doubled<T extends Int32Array | Uint8Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/** How a changed key is recorded: its whole state, or the state of the elements that changed. */
const WHOLE = 0;
const DELTA = 1;
/** A list changed by operations (LIST records, in order), not by a whole rewrite. */
const LIST = 2;
/** Words per list operation in listOps: key index, operation, length before, a, b, offset of its
 * elements in listBuf, their bytes, their count. */
const OPW = 8;
const FIELD_BUF_KEEP = 1024 * 1024;

export class ShardPersistence implements KeyspaceObserver {
  private log: AppendLog | null = null;
  private feed: FeedSink | null = null;
  /** Records of the running batch, for the log and the feed. */
  private readonly batch = new RecordBuffer();
  /** True while commands wait for this shard (a snapshot step yields to them). */
  busy: () => boolean = () => false;
  /** Keys are recorded while a log or a feed takes the records. */
  private recording = false;
  private job: SnapshotJob | null = null;
  private lastPeak = 0;
  // Keys changed by the running command: bytes in keyBuf, [offset, length] pairs in keyAt.
  private keyBuf = Buffer.allocUnsafe(4096);
  private keyBytes = 0;
  private keyAt = new Int32Array(64);
  private keyMode = new Uint8Array(32);
  private touched = 0;
  // Elements of large collections changed by the running command: bytes in fieldBuf, [key index,
  // offset, length] triples in fieldAt, in the order of the keys.
  private fieldBuf = Buffer.allocUnsafe(4096);
  private fieldBytes = 0;
  private fieldAt = new Int32Array(96);
  private fields = 0;
  // List operations of the running command (see OPW), their elements in listBuf as the LIST
  // record holds them (len u32 | bytes). Consecutive pushes (or pops) at one end merge into one.
  private listBuf = Buffer.allocUnsafe(4096);
  private listBytes = 0;
  private listOps = new Int32Array(OPW * 8);
  private listOpCount = 0;

  constructor(
    private readonly shard: number,
    private readonly ks: Keyspace,
    /** Where the feed goes when it is on (the main thread). */
    private readonly feedSink: FeedSink | null = null,
  ) {
    // A snapshot that the previous incarnation of this shard did not finish left marks behind.
    ks.snapshotAbandon();
    ks.observer = this;
  }

  // --- KeyspaceObserver ------------------------------------------------------------------------

  changing(e: number): void {
    if (this.job !== null && this.job.active) this.job.beforeChange(e);
    // A compact collection's bytes move for a one-element change already noted (elementScope).
    if (this.recording && !this.ks.elementScope) this.touch(e, WHOLE);
  }

  elementChanging(e: number, buf: Uint8Array, off: number, len: number): void {
    if (this.job !== null && this.job.active) this.job.beforeElementChange(e, buf, off, len);
    if (this.recording && this.touch(e, DELTA) === DELTA) this.addField(buf, off, len);
  }

  listChanging(e: number, op: number, lenBefore: number, a: number, b: number, buf: Uint8Array, off: number, len: number): void {
    if (this.job !== null && this.job.active) this.job.beforeChange(e);
    if (!this.recording) return;
    // Recorded whole earlier in this command: its final state is logged there, an operation
    // after it would apply twice.
    if (this.touch(e, this.wholeEarlier(e) ? WHOLE : LIST) !== LIST) return;
    this.addListOp(op, lenBefore, a, b, buf, off, len);
  }

  /** Whether e's key was touched WHOLE by this command before its last touched key. */
  private wholeEarlier(e: number): boolean {
    const ks = this.ks;
    const u8 = ks.bytes();
    const ko = ks.keyOffset(e);
    const kl = ks.keyLength(e);
    for (let i = 0; i < this.touched - 1; i++) {
      const po = this.keyAt[2 * i]!;
      const pl = this.keyAt[2 * i + 1]!;
      if (this.keyMode[i] === WHOLE && pl === kl && this.keyBuf.compare(u8, ko, ko + kl, po, po + pl) === 0) return true;
    }
    return false;
  }

  /** Records list operation op on the last touched key, merged into the previous one when it is
   * the same kind of push or pop at the same end continuing where it left off. */
  private addListOp(op: number, lenBefore: number, a: number, b: number, buf: Uint8Array, off: number, len: number): void {
    const key = this.touched - 1;
    const o = this.listOps;
    const k = this.listOpCount;
    const push = op === LOP_PUSH_HEAD || op === LOP_PUSH_TAIL;
    const pop = op === LOP_POP_HEAD || op === LOP_POP_TAIL;
    if (k > 0 && o[OPW * (k - 1)] === key && o[OPW * (k - 1) + 1] === op) {
      const p = OPW * (k - 1);
      if (push && o[p + 2]! + o[p + 7]! === lenBefore) {
        this.addListElement(buf, off, len);
        o[p + 6] = o[p + 6]! + 4 + len;
        o[p + 7]!++;
        return;
      }
      if (pop && o[p + 2]! - o[p + 3]! === lenBefore) {
        o[p + 3] = o[p + 3]! + a;
        return;
      }
    }
    if (OPW * (k + 1) > o.length) this.listOps = doubled(o, new Int32Array(o.length * 2));
    const p = OPW * k;
    const at = this.listBytes;
    const hasElement = op !== LOP_POP_HEAD && op !== LOP_POP_TAIL && op !== LOP_TRIM;
    if (hasElement) this.addListElement(buf, off, len);
    const w = this.listOps;
    w[p] = key;
    w[p + 1] = op;
    w[p + 2] = lenBefore;
    w[p + 3] = a;
    w[p + 4] = b;
    w[p + 5] = at;
    w[p + 6] = hasElement ? 4 + len : 0;
    w[p + 7] = hasElement ? 1 : 0;
    this.listOpCount = k + 1;
  }

  private addListElement(buf: Uint8Array, off: number, len: number): void {
    this.listBuf = roomFor(this.listBuf, this.listBytes, 4 + len);
    this.listBuf.writeUInt32LE(len, this.listBytes);
    if (len <= 64) for (let i = 0; i < len; i++) this.listBuf[this.listBytes + 4 + i] = buf[off + i]!;
    else this.listBuf.set(buf.subarray(off, off + len), this.listBytes + 4);
    this.listBytes += 4 + len;
  }

  expiryChanging(e: number): void {
    if (this.job !== null && this.job.active) this.job.beforeChange(e);
    if (this.recording) this.touch(e, this.ks.encoding(e) !== 0 ? DELTA : WHOLE);
  }

  created(e: number): void {
    if (this.recording) this.touch(e, WHOLE);
  }

  flushing(): void {
    if (this.job !== null && this.job.active) this.job.drainAll();
    if (this.recording) {
      this.afterCommand();
      this.batch.flush();
    }
  }

  /** Notes that e's key changed; returns how it will be recorded (a key once recorded WHOLE in a
   * command stays so; DELTA records only the elements named by elementChanging). */
  private touch(e: number, mode: number): number {
    const ks = this.ks;
    const u8 = ks.bytes();
    const ko = ks.keyOffset(e);
    const kl = ks.keyLength(e);
    const n = this.touched;
    if (n > 0) {
      // Consecutive changes of one key (set, then its expiry) need one record.
      const po = this.keyAt[2 * n - 2]!;
      const pl = this.keyAt[2 * n - 1]!;
      if (pl === kl && this.keyBuf.compare(u8, ko, ko + kl, po, po + pl) === 0) {
        if (mode === WHOLE) this.keyMode[n - 1] = WHOLE;
        // A list whose expiry changed (DELTA, no elements) and that now gets an operation.
        else if (mode === LIST && this.keyMode[n - 1] === DELTA) this.keyMode[n - 1] = LIST;
        return this.keyMode[n - 1]!;
      }
    }
    this.keyBuf = roomFor(this.keyBuf, this.keyBytes, kl);
    if (2 * n + 2 > this.keyAt.length) {
      this.keyAt = doubled(this.keyAt, new Int32Array(this.keyAt.length * 2));
      this.keyMode = doubled(this.keyMode, new Uint8Array(this.keyMode.length * 2));
    }
    const kb = this.keyBuf;
    const at = this.keyBytes;
    if (kl <= 64) for (let i = 0; i < kl; i++) kb[at + i] = u8[ko + i]!;
    else kb.set(u8.subarray(ko, ko + kl), at);
    this.keyAt[2 * n] = at;
    this.keyAt[2 * n + 1] = kl;
    this.keyMode[n] = mode;
    this.keyBytes += kl;
    this.touched = n + 1;
    return mode;
  }

  /** Records that element buf[off, +len) of the last touched key changed. */
  private addField(buf: Uint8Array, off: number, len: number): void {
    const n = this.fields;
    this.fieldBuf = roomFor(this.fieldBuf, this.fieldBytes, len);
    if (3 * n + 3 > this.fieldAt.length) this.fieldAt = doubled(this.fieldAt, new Int32Array(this.fieldAt.length * 2));
    this.fieldBuf.set(buf.subarray(off, off + len), this.fieldBytes);
    this.fieldAt[3 * n] = this.touched - 1;
    this.fieldAt[3 * n + 1] = this.fieldBytes;
    this.fieldAt[3 * n + 2] = len;
    this.fieldBytes += len;
    this.fields = n + 1;
  }

  /** After each command (and each expiry or eviction round): the state of every key it changed
   * goes into the log's batch, a large collection's as the state of the elements that changed. */
  afterCommand(): void {
    const n = this.touched;
    if (n === 0 || !this.recording) {
      this.clearTouched();
      return;
    }
    const ks = this.ks;
    const r = this.batch;
    const kb = this.keyBuf;
    let f = 0;
    let lo = 0;
    const ops = this.listOps;
    for (let i = 0; i < n; i++) {
      const ko = this.keyAt[2 * i]!;
      const kl = this.keyAt[2 * i + 1]!;
      const e = ks.peek(kb, ko, kl);
      const at = e === 0 ? 0 : ks.expireAt(e);
      const first = f;
      while (f < this.fields && this.fieldAt[3 * f] === i) f++;
      const firstOp = lo;
      while (lo < this.listOpCount && ops[OPW * lo] === i) lo++;
      if (e === 0 || (at !== 0 && at <= ks.now)) {
        r.del(kb, ko, kl);
      } else if (this.keyMode[i] === LIST) {
        for (let j = firstOp; j < lo; j++) {
          const p = OPW * j;
          const rec = r.listBegin(kb, ko, kl, ops[p + 1]!, at, ops[p + 2]!, ops[p + 3]!, ops[p + 4]!);
          r.raw(this.listBuf, ops[p + 5]!, ops[p + 6]!);
          r.listEnd(rec, ops[p + 7]!);
        }
      } else if (this.keyMode[i] === DELTA && ks.encoding(e) !== 0) {
        const p = r.elemsBegin(kb, ko, kl, ks.type(e), at);
        const fb = this.fieldBuf;
        const hash = ks.type(e) === TYPE_HASH;
        const zset = ks.type(e) === TYPE_ZSET;
        const stream = ks.type(e) === TYPE_STREAM;
        for (let j = first; j < f; j++) {
          const fo = this.fieldAt[3 * j + 1]!;
          const fl = this.fieldAt[3 * j + 2]!;
          if (stream) {
            // A stream's entry (its id) or its metadata (empty name): see docs/streams.md.
            const present = S.streamElementState(ks, e, fb, fo, fl);
            r.elemsAdd(present, fb, fo, fl, present ? S.elemBuf : null, 0, S.elemLen);
            continue;
          }
          if (zset) {
            // A sorted set's element: the member, its score as 8 bytes.
            const present = Z.zsetScore(ks, e, fb, fo, fl);
            r.elemsAdd(present, fb, fo, fl, present ? Z.scoreImage(Z.score) : null, 0, 8);
            continue;
          }
          const present = elementFind(ks, e, fb, fo, fl);
          r.elemsAdd(present, fb, fo, fl, present && hash ? ks.bytes() : null, C.hitOff, C.hitLen);
        }
        r.elemsEnd(p, f - first);
      } else {
        ks.image(e);
        r.set(kb, ko, kl, ks.imageBuf, ks.imageOff, ks.imageLen, ks.type(e), ks.flags(e), at);
      }
    }
    this.clearTouched();
  }

  private clearTouched(): void {
    this.touched = 0;
    this.keyBytes = 0;
    this.fields = 0;
    this.fieldBytes = 0;
    if (this.fieldBuf.length > FIELD_BUF_KEEP) this.fieldBuf = Buffer.allocUnsafe(FIELD_BUF_KEEP);
    this.listOpCount = 0;
    this.listBytes = 0;
    if (this.listBuf.length > FIELD_BUF_KEEP) this.listBuf = Buffer.allocUnsafe(FIELD_BUF_KEEP);
  }

  /** End of a batch: its records go to the file, and to the feed, before its replies leave. */
  endBatch(): void {
    const b = this.batch;
    if (b.length === 0) return;
    if (this.log !== null) this.log.append(b.buf, b.length);
    if (this.feed !== null) {
      this.fedBytes += b.length;
      this.feed(b.buf.subarray(0, b.length));
    }
    b.reset();
  }

  /** Bytes handed to the feed by this incarnation of the shard. */
  fedBytes = 0;

  /** Turns the replication feed on or off (in order with the shard's commands: __replfeed). */
  enableFeed(on: boolean): void {
    if (!on) this.endBatch();
    this.feed = on ? this.feedSink : null;
    this.recording = this.log !== null || this.feed !== null;
  }

  /** Why writes must be refused (the log cannot be written: Redis's MISCONF), or null. */
  writeError(): string | null {
    return this.log !== null && this.log.failed ? this.log.lastError : null;
  }

  /** True when replies must wait for endBatch (appendfsync always). */
  get syncBeforeReply(): boolean {
    return this.log !== null && this.log.policy === 'always';
  }

  // --- Log and snapshot control ----------------------------------------------------------------

  /** Opens, switches or closes the log. Switching is safe at any command boundary: the records
   * up to here are in the old file (closed and synced), the rest go to the new one. */
  /** Log settings of generation gen, ignored unless newer than what the shard has (settings
   * travel on the control port and may arrive after a rewrite's switch through the ring). */
  setLog(s: LogSettings | null, gen = this.logGen + 1): void {
    if (gen <= this.logGen) return;
    this.logGen = gen;
    this.switchLog(s ? s.paths[this.shard] ?? null : null, s?.fsync ?? 'everysec');
  }

  private logGen = 0;


  private switchLog(path: string | null, fsync: FsyncPolicy): void {
    if (this.log !== null && this.log.path === path) {
      this.log.policy = fsync;
      return;
    }
    if (this.log !== null) {
      this.afterCommand();
      this.endBatch();
      this.log.close();
      this.log = null;
    }
    if (path !== null) this.log = new AppendLog(path, this.shard, fsync);
    this.recording = this.log !== null || this.feed !== null;
  }

  /** Starts a snapshot of this shard into path (one at a time), at this point of the shard's
   * command stream; with `log`, the shard first moves to that log (a rewrite's new log). */
  snapshotStart(path: string, log: { path: string; fsync: FsyncPolicy; gen?: number } | null = null): { dirty: number; keys: number } {
    if (this.job !== null && this.job.active) throw new Error(`shard ${this.shard}: a snapshot is already running`);
    if (log !== null && (log.gen ?? this.logGen) >= this.logGen) {
      this.logGen = log.gen ?? this.logGen;
      this.switchLog(log.path, log.fsync);
    }
    const job = new SnapshotJob(this.ks, path, this.shard, this.busy);
    this.job = job;
    job.done.then(
      (r) => (this.lastPeak = r.peakBufferBytes),
      () => undefined,
    );
    return { dirty: this.ks.dirty(), keys: job.keysTotal };
  }

  /** The outcome of the latest snapshot (it may already have finished). */
  snapshotWait(): Promise<SnapshotResult> {
    if (this.job === null) return Promise.reject(new Error(`shard ${this.shard}: no snapshot started`));
    return this.job.done;
  }

  stats(): PersistenceStats {
    const j = this.job;
    return {
      dirty: this.ks.dirty(),
      aofBytes: this.log?.size ?? 0,
      aofPending: (this.log?.pending ?? 0) + this.batch.length,
      aofWriteOk: !(this.log?.failed ?? false),
      snapshotActive: j !== null && j.active,
      snapshotKeys: j?.keys ?? 0,
      snapshotKeysTotal: j?.keysTotal ?? 0,
      snapshotPeakBytes: j !== null && j.active ? j.peakBufferBytes : this.lastPeak,
    };
  }

  /** The shard is stopping: pending records are written and synced, a running snapshot dropped. */
  close(): void {
    if (this.job?.active) this.job.fail(new Error('shard stopping'));
    this.afterCommand();
    this.endBatch();
    if (this.log !== null) {
      this.log.close();
      this.log = null;
    }
    this.recording = this.feed !== null;
  }

  // --- Replica side ------------------------------------------------------------------------------

  /** Applies a primary's records (frames as in records.ts) through the keyspace, observed like any
   * command's changes, so that they reach this node's own log and feed. Returns the records
   * applied, or throws on a damaged frame. */
  apply(b: Uint8Array, off: number, len: number, from: { shard: number; shards: number }, keep: { shards: number; shard: number } | null): number {
    const ks = this.ks;
    const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    const end = off + len;
    let n = 0;
    ks.now = Date.now();
    for (let p = off; p < end; ) {
      if (p + FRAME_HEADER > end) throw new Error('replication: truncated record header');
      const rl = buf.readUInt32LE(p);
      const q = p + FRAME_HEADER;
      if (q + rl > end) throw new Error('replication: truncated record');
      if (crc32(buf.subarray(q, q + rl)) !== buf.readUInt32LE(p + 4)) throw new Error('replication: record checksum mismatch');
      const shape = recordShapeError(buf, q, rl);
      if (shape !== null) throw new Error(`replication: bad record (${shape})`);
      applyRecord(ks, buf[q]!, buf, q, keep, from);
      n++;
      p = q + rl;
    }
    return n;
  }

  // --- Loading ---------------------------------------------------------------------------------

  /** Replays the files of plan into the keyspace (nothing is logged meanwhile). */
  load(plan: LoadPlan, progress?: (msg: string) => void): LoadReport {
    const t0 = performance.now();
    const ks = this.ks;
    const report: LoadReport = { keys: 0, loaded: 0, expired: 0, records: 0, ms: 0, truncated: [], error: null };
    const keep = plan.keep;
    const observer = ks.observer;
    ks.observer = null;
    ks.now = Date.now();
    let current: LoadFile | null = null;
    const visit = (op: number, b: Buffer, q: number, _len: number): void => {
      const r = applyRecord(ks, op, b, q, keep, current!.from);
      if (r === 1) report.loaded++;
      else if (r === 2) report.expired++;
    };
    try {
      for (const f of plan.files) {
        current = f;
        // A log named by the manifest before its shard opened it: nothing was written to it.
        if (f.kind === 'log' && !existsSync(f.path)) continue;
        if (!existsSync(f.path)) {
          if (plan.repair) continue;
          report.error = `Missing snapshot file ${f.path} named by the manifest: restore it, or start with --persistence-repair yes to go on without it`;
          break;
        }
        progress?.(`loading ${basename(f.path)}`);
        const outcome = readRecords(f.path, f.kind === 'log' ? MAGIC_LOG : MAGIC_SNAPSHOT, visit, (done, total) =>
          progress?.(`loading ${basename(f.path)}: ${Math.round((100 * done) / total)}% (${ks.size()} keys)`),
          (count) => {
            if (keep === null && count > 0) ks.reserve(count);
          },
        );
        report.records += outcome.records;
        const problem = damageOf(f, outcome);
        if (problem === null) continue;
        const cuttable = problem.kind === 'torn' && f.kind === 'log' && f.last && plan.truncateTorn;
        if (!cuttable && !plan.repair) {
          report.error = problem.kind === 'torn' && f.kind === 'log' && f.last
            ? `Unexpected end of file ${f.path} at offset ${problem.offset} (${problem.reason}): set aof-load-truncated yes, or start with --persistence-repair yes, to cut it there`
            : `Bad record in ${f.path} at offset ${problem.offset}: ${problem.reason}. Start with --persistence-repair yes to keep what precedes it and cut the file there (everything after offset ${problem.offset} in this file is lost), or restore the file from a backup`;
          break;
        }
        truncateAt(f.path, problem.offset);
        report.truncated.push({ path: f.path, offset: problem.offset, droppedBytes: outcome.fileBytes - problem.offset, reason: problem.reason });
      }
    } finally {
      ks.observer = observer;
    }
    report.keys = ks.size();
    report.ms = performance.now() - t0;
    return report;
  }
}

/** Applies one record (op, payload at b[q..]) to ks; keep: only keys of that shard of a layout;
 * from: the shard that wrote it (a FLUSH then clears only its slots). Returns 1 for a key set,
 * 2 for one dropped because its time had passed, 0 otherwise. */
function applyRecord(ks: Keyspace, op: number, b: Buffer, q: number, keep: { shards: number; shard: number } | null, from: { shard: number; shards: number }): number {
  if (op === OP_SET) {
    const kl = b.readUInt32LE(q + 16);
    const ko = q + SET_HEADER;
    if (keep !== null && shardOfSlot(keySlot(b, ko, kl), keep.shards) !== keep.shard) return 0;
    const expireAt = b.readDoubleLE(q + 8);
    if (expireAt !== 0 && expireAt <= ks.now) {
      ks.delete(b, ko, kl);
      return 2;
    }
    ks.setImage(b, ko, kl, b[q + 1]! as ValueType, b, ko + kl, b.readUInt32LE(q + 20), expireAt, b.readUInt32LE(q + 4));
    return 1;
  }
  if (op === OP_ELEMS) return applyElements(ks, b, q, keep);
  if (op === OP_LIST) return applyList(ks, b, q, keep);
  if (op === OP_DEL) {
    const kl = b.readUInt32LE(q + 4);
    const ko = q + DEL_HEADER;
    if (keep === null || shardOfSlot(keySlot(b, ko, kl), keep.shards) === keep.shard) ks.delete(b, ko, kl);
  } else if (op === OP_FLUSH) {
    if (keep === null && from.shards >= 1) ks.flush();
    else flushOrigin(ks, from);
  }
  return 0;
}

/** Applies an ELEMS record: the listed elements of the collection take the state it gives (the
 * key is created when absent, deleted when emptied), then its expiry. Idempotent, as SET is. */
function applyElements(ks: Keyspace, b: Buffer, q: number, keep: { shards: number; shard: number } | null): number {
  const type = b[q + 1]! as ValueType;
  const count = b.readUInt32LE(q + 4);
  const expireAt = b.readDoubleLE(q + 8);
  const kl = b.readUInt32LE(q + 16);
  const ko = q + ELEMS_HEADER;
  if (keep !== null && shardOfSlot(keySlot(b, ko, kl), keep.shards) !== keep.shard) return 0;
  if (expireAt !== 0 && expireAt <= ks.now) {
    ks.delete(b, ko, kl);
    return 2;
  }
  let e = ks.find(b, ko, kl);
  if (e !== 0 && ks.type(e) !== type) {
    ks.deleteEntry(e);
    e = 0;
  }
  let p = ko + kl;
  if (type === TYPE_ZSET) return applyZsetElements(ks, e, b, ko, kl, p, count, expireAt);
  if (type === TYPE_STREAM) return applyStreamElements(ks, e, b, ko, kl, p, count, expireAt);
  for (let i = 0; i < count; i++) {
    const present = b[p] === 1;
    const fl = b.readUInt32LE(p + 1);
    const vl = b.readUInt32LE(p + 5);
    const fo = p + ELEM_HEADER;
    p = fo + fl + vl;
    if (present) {
      if (e === 0) e = createFor(ks, b, ko, kl, type, type === TYPE_SET ? newSetEncoding(ks, b, fo, fl) : ENC_PACK);
      e = elementPut(ks, e, b, fo, fl, type === TYPE_HASH ? b : null, fo + fl, vl);
    } else if (e !== 0 && elementRemove(ks, e, b, fo, fl)) {
      e = C.removedHandle;
    }
  }
  if (e === 0) return 0;
  if (ks.elementCount(e) === 0) {
    ks.deleteEntry(e);
    return 0;
  }
  if (ks.expireAt(e) !== expireAt) ks.setExpireAt(e, expireAt);
  return 1;
}

/** A stream's ELEMS record: entries appended or deleted, then the metadata (last id,
 * entries_added, max deleted id) as it was after the command. Creates the stream when absent; an
 * emptied stream stays (Redis keeps empty streams). */
function applyStreamElements(ks: Keyspace, e: number, b: Buffer, ko: number, kl: number, p: number, count: number, expireAt: number): number {
  if (e === 0) e = S.streamCreate(ks, b, ko, kl);
  let meta = -1;
  for (let i = 0; i < count; i++) {
    const present = b[p] === 1;
    const fl = b.readUInt32LE(p + 1);
    const vl = b.readUInt32LE(p + 5);
    const fo = p + ELEM_HEADER;
    if (fl === 0 && present) meta = fo;
    else S.streamApplyElement(ks, e, present, b, fo, fl, fo + fl, vl);
    p = fo + fl + vl;
  }
  if (meta >= 0) S.streamApplyMeta(ks, e, b, meta);
  if (ks.expireAt(e) !== expireAt) ks.setExpireAt(e, expireAt);
  return 1;
}

/** Applies a LIST record: its operation, on the list it was taken from, which must have exactly
 * lenBefore elements (else the record is skipped: a record replayed over a state that already
 * holds it finds another length; see docs/lists.md). Then the key's expiry. */
function applyList(ks: Keyspace, b: Buffer, q: number, keep: { shards: number; shard: number } | null): number {
  const lop = b[q + 1]!;
  const count = b.readUInt32LE(q + 4);
  const expireAt = b.readDoubleLE(q + 8);
  const kl = b.readUInt32LE(q + 16);
  const lenBefore = b.readUInt32LE(q + 20);
  const a = b.readInt32LE(q + 24);
  const z = b.readInt32LE(q + 28);
  const ko = q + LIST_HEADER;
  if (keep !== null && shardOfSlot(keySlot(b, ko, kl), keep.shards) !== keep.shard) return 0;
  if (expireAt !== 0 && expireAt <= ks.now) {
    ks.delete(b, ko, kl);
    return 2;
  }
  let e = ks.find(b, ko, kl);
  if (e === 0 || ks.type(e) !== TYPE_LIST || L.listLength(ks, e) !== lenBefore) return 0;
  let p = ko + kl;
  const el = p + 4;
  const elLen = count > 0 ? b.readUInt32LE(p) : 0;
  switch (lop) {
    case L.LOP_PUSH_HEAD:
    case L.LOP_PUSH_TAIL:
      for (let i = 0; i < count; i++) {
        const l = b.readUInt32LE(p);
        e = L.listPush(ks, e, lop === L.LOP_PUSH_HEAD ? L.HEAD : L.TAIL, b, p + 4, l);
        p += 4 + l;
      }
      break;
    case L.LOP_POP_HEAD:
    case L.LOP_POP_TAIL:
      for (let i = 0; i < a && L.listLength(ks, e) > 0; i++) e = L.listPop(ks, e, lop === L.LOP_POP_HEAD ? L.HEAD : L.TAIL);
      break;
    case L.LOP_SET: {
      const r = L.listSet(ks, e, a, b, el, elLen);
      if (r !== -1) e = r;
      break;
    }
    case L.LOP_INSERT:
      if (a >= 0 && a <= lenBefore) e = L.listInsertAt(ks, e, a, b, el, elLen);
      break;
    case L.LOP_REMOVE:
      e = L.listRemove(ks, e, a, b, el, elLen);
      break;
    case L.LOP_TRIM:
      if (a >= 0 && a <= z && z < lenBefore) e = L.listTrim(ks, e, a, z);
      break;
  }
  if (L.listLength(ks, e) === 0) {
    ks.deleteEntry(e);
    return 0;
  }
  if (ks.expireAt(e) !== expireAt) ks.setExpireAt(e, expireAt);
  return 1;
}

/** applyElements for a sorted set: each element is a member and its 8-byte score. */
function applyZsetElements(ks: Keyspace, e: number, b: Buffer, ko: number, kl: number, p: number, count: number, expireAt: number): number {
  for (let i = 0; i < count; i++) {
    const present = b[p] === 1;
    const fl = b.readUInt32LE(p + 1);
    const fo = p + ELEM_HEADER;
    p = fo + fl + b.readUInt32LE(p + 5);
    if (present) {
      if (e === 0) e = Z.zsetCreate(ks, b, ko, kl, 1, fl);
      e = Z.zsetAdd(ks, e, b, fo, fl, b.readDoubleLE(fo + fl));
    } else if (e !== 0 && Z.zsetRemove(ks, e, b, fo, fl)) {
      e = Z.removedHandle;
    }
  }
  if (e === 0) return 0;
  if (ks.elementCount(e) === 0) {
    ks.deleteEntry(e);
    return 0;
  }
  if (ks.expireAt(e) !== expireAt) ks.setExpireAt(e, expireAt);
  return 1;
}

/** What is wrong with a file just read, in load terms (a snapshot must end with its END record). */
function damageOf(f: LoadFile, o: ReadOutcome): { kind: 'torn' | 'corrupt'; offset: number; reason: string } | null {
  if (o.damage !== null) return o.damage;
  if (f.kind === 'snapshot') {
    if (o.endCount === null) return { kind: 'corrupt', offset: o.validBytes, reason: 'snapshot has no end record (incomplete file)' };
    if (o.endCount !== o.records - 1) return { kind: 'corrupt', offset: o.validBytes, reason: `snapshot end record counts ${o.endCount} keys, the file holds ${o.records - 1}` };
  }
  return null;
}

/** A FLUSH replayed into a shard that gathers keys from several old shards removes only the keys
 * the flushing shard had: those of its slots. */
function flushOrigin(ks: Keyspace, from: { shard: number; shards: number }): void {
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    if (shardOfSlot(slot, from.shards) !== from.shard) continue;
    for (let e = ks.slotHead(slot); e !== 0; e = ks.slotHead(slot)) ks.deleteEntry(e);
  }
}

function truncateAt(path: string, offset: number): void {
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, offset);
  } finally {
    closeSync(fd);
  }
}
