// A forkless snapshot of one shard: a point-in-time image of its keys, written while the shard
// keeps serving. At the start every entry becomes pending (one flip of the keyspace's snapshot
// mark). The job then walks the slot lists a few slots per step and writes the pending entries;
// a command about to change or delete a pending entry first has its old state written (copy on
// write, through the keyspace observer), and entries born after the start are never pending. So
// every key is written exactly once, as it was at the start.
// A large collection is written element by element (ELEMS records of a few hundred elements,
// across as many steps as it takes), and a command about to change one of its elements has only
// that element's old state written first: an HSET on a 1M-field hash during a snapshot copies one
// field, not the hash. Its elements carry their own marks (element-table.ts); a whole-key change
// (delete, overwrite, expiry) writes the elements still unwritten at once.
// Memory beyond the data: one chunk being written, the next one being filled, and the copy-on-write
// images taken meanwhile; the job reports its peak (INFO snapshot_peak_buffer_bytes). Steps are
// paced by the disk: a chunk is written only when the previous one is. The file is written under a
// temporary name, fsynced, and renamed; the directory is fsynced after the rename.

import { close, closeSync, fsync, fsyncSync, openSync, renameSync, unlinkSync, write, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Keyspace } from '../keyspace/keyspace.js';
import { SLOT_COUNT } from '../keyspace/slot.js';
import { TYPE_HASH, TYPE_ZSET } from '../keyspace/value-types.js';
import type { ElementEmit } from '../keyspace/element-table.js';
import { MAGIC_SNAPSHOT, RecordBuffer } from './records.js';

/** Bytes of records gathered before a chunk is written. */
const CHUNK_BYTES = 1024 * 1024;
/** CPU time of one step: the shard's commands wait at most this long for the snapshot. */
const STEP_MS = 1;
/** Elements of a large collection per ELEMS record (and per piece of a step). */
const PIECE_ELEMENTS = 256;
/** Slots a step walks before it yields to waiting commands (progress under a saturating load). */
const MIN_STEP_SLOTS = 8;

export interface SnapshotResult {
  path: string;
  keys: number;
  bytes: number;
  peakBufferBytes: number;
  ms: number;
}

export class SnapshotJob {
  private out = new RecordBuffer(CHUNK_BYTES * 2);
  private spare = new RecordBuffer(CHUNK_BYTES * 2);
  private fd = -1;
  private slot = 0;
  private writing = false;
  private queued = false;
  /** The last chunk is written and the file is being synced and renamed. */
  private ending = false;
  private finished = false;
  keys = 0;
  /** Records written (the END record counts them; a large collection takes several). */
  private records = 0;
  /** The large collection being written element by element: its key and SCAN cursor. */
  private piece: { key: Buffer; cursor: number } | null = null;
  readonly keysTotal: number;
  private bytes = 0;
  peakBufferBytes = 0;
  private readonly started = performance.now();
  private readonly tmp: string;
  readonly done: Promise<SnapshotResult>;
  private resolve!: (r: SnapshotResult) => void;
  private reject!: (e: Error) => void;

  constructor(
    private readonly ks: Keyspace,
    readonly path: string,
    shard: number,
    /** True while commands wait for the shard: a step then stops early. */
    private readonly busy: () => boolean = () => false,
  ) {
    this.tmp = `${path}.tmp`;
    this.done = new Promise((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    this.done.catch(() => undefined);
    this.keysTotal = ks.size();
    // The file first: a start that fails must leave the keyspace's marks as they were.
    this.fd = openSync(this.tmp, 'w');
    ks.snapshotBegin();
    this.out.fileHeader(MAGIC_SNAPSHOT, shard, this.keysTotal);
    this.schedule();
  }

  get active(): boolean {
    return !this.finished;
  }

  /** Writes every live key of database db (keyspace ks, not the one walked) now, between DB
   * records: the numbered databases other than 0 are copied synchronously at the start, so they
   * need no copy-on-write (docs/databases.md). Call before the first step. */
  copyDatabase(ks: Keyspace, db: number): void {
    const out = this.out;
    out.db(db);
    this.records++;
    let cursor = 0;
    do {
      cursor = ks.scan(cursor, 1024, (e) => {
        const at = ks.expireAt(e);
        if (at !== 0 && at <= ks.now) return;
        ks.image(e);
        out.set(ks.bytes(), ks.keyOffset(e), ks.keyLength(e), ks.imageBuf, ks.imageOff, ks.imageLen, ks.type(e), ks.flags(e), at);
        this.records++;
        this.keys++;
      });
    } while (cursor !== 0);
    out.db(0);
    this.records++;
    this.notePeak();
  }

  /** The keyspace observer's hook: e is about to change; if it is pending, its old state goes now. */
  beforeChange(e: number): void {
    if (!this.ks.snapshotPending(e)) return;
    this.emit(e);
    this.notePeak();
  }

  /** Before a flush: every pending entry is written now, synchronously (a flush is rare). */
  drainAll(): void {
    // With a chunk in flight the rest stays in memory until it is written (no second writer).
    // A disk error fails the snapshot, never the command that flushes.
    try {
      while (this.slot < SLOT_COUNT) {
        this.walkSlots(SLOT_COUNT, this.writing ? Infinity : CHUNK_BYTES);
        this.notePeak();
        if (!this.writing) this.writeSync();
      }
    } catch (e) {
      this.fail(e as Error);
    }
  }

  /** Writes pending entry e whole (a large collection: every element not written yet). */
  private emit(e: number): void {
    const ks = this.ks;
    if (ks.snapshotPiecewise(e)) {
      for (let v = this.emitPiece(e, 0); v !== 0; v = this.emitPiece(e, v));
    } else {
      ks.image(e);
      this.out.set(ks.bytes(), ks.keyOffset(e), ks.keyLength(e), ks.imageBuf, ks.imageOff, ks.imageLen, ks.type(e), ks.flags(e), ks.expireAt(e));
      this.records++;
    }
    ks.snapshotDone(e);
    this.keys++;
  }

  /** One ELEMS record of up to PIECE_ELEMENTS unwritten elements of e from SCAN cursor v;
   * returns the next cursor. */
  private emitPiece(e: number, v: number): number {
    let next = 0;
    this.elemsRecord(e, (emit) => (next = this.ks.snapshotPieceStep(e, v, PIECE_ELEMENTS, emit)));
    return next;
  }

  /** One ELEMS record of e's elements that `fill` emits (none: no record). */
  private elemsRecord(e: number, fill: (emit: ElementEmit) => void): void {
    const ks = this.ks;
    const out = this.out;
    const p = out.elemsBegin(ks.bytes(), ks.keyOffset(e), ks.keyLength(e), ks.type(e), ks.expireAt(e));
    // Hash fields and sorted-set members (their 8-byte score) carry a value; set members do not.
    const valued = ks.type(e) === TYPE_HASH || ks.type(e) === TYPE_ZSET;
    let n = 0;
    fill((u8, ko, kl, vo, vl) => {
      out.elemsAdd(true, u8, ko, kl, valued ? u8 : null, vo, vl);
      n++;
    });
    if (n === 0) {
      out.truncate(p);
      return;
    }
    out.elemsEnd(p, n);
    this.records++;
  }

  /** The keyspace observer's hook: one element of e is about to change; if neither e nor that
   * element is written yet, the element's old state goes now. */
  beforeElementChange(e: number, buf: Uint8Array, off: number, len: number): void {
    const ks = this.ks;
    if (!ks.snapshotPending(e)) return;
    if (!ks.snapshotPiecewise(e)) {
      this.emit(e);
      return;
    }
    this.elemsRecord(e, (emit) => ks.snapshotElement(e, buf, off, len, emit));
    this.notePeak();
  }

  /** Continues the large collection being written; false when the step's budget ran out first. */
  private continuePiece(chunkBytes: number, deadline: number): boolean {
    const piece = this.piece!;
    const ks = this.ks;
    const e = ks.peek(piece.key, 0, piece.key.length);
    // Written whole meanwhile (deleted, overwritten, its expiry changed): nothing left to do.
    if (e === 0 || !ks.snapshotPending(e)) {
      this.piece = null;
      return true;
    }
    while (this.out.length < chunkBytes) {
      piece.cursor = this.emitPiece(e, piece.cursor);
      if (piece.cursor === 0) {
        ks.snapshotDone(e);
        this.keys++;
        this.piece = null;
        return true;
      }
      if (performance.now() > deadline) return false;
    }
    return false;
  }

  /** Writes the pending entries of the next slots until a chunk is full or `until` is reached. */
  private walkSlots(until: number, chunkBytes = CHUNK_BYTES, deadline = Infinity): void {
    const ks = this.ks;
    const first = this.slot;
    while (this.slot < until && this.out.length < chunkBytes) {
      if (this.piece !== null && !this.continuePiece(chunkBytes, deadline)) return;
      let stopped = false;
      for (let e = ks.slotHead(this.slot); e !== 0; e = ks.slotNext(e)) {
        if (!ks.snapshotPending(e)) continue;
        if (deadline !== Infinity && ks.snapshotPiecewise(e) && ks.elementCount(e) > PIECE_ELEMENTS) {
          // Written over several steps; the slot's walk resumes after it (written entries are
          // no longer pending, so walking the slot again writes nothing twice).
          this.piece = { key: Buffer.from(ks.bytes().subarray(ks.keyOffset(e), ks.keyOffset(e) + ks.keyLength(e))), cursor: 0 };
          stopped = true;
          break;
        }
        this.emit(e);
      }
      if (stopped) continue;
      this.slot++;
      if (deadline !== Infinity && (performance.now() > deadline || (this.slot - first >= MIN_STEP_SLOTS && this.busy()))) break;
    }
  }

  /** One step per event-loop turn at most, so that the shard's commands run between steps; while
   * commands are waiting, the next step also waits a millisecond, so that under load the snapshot
   * takes about half of the shard's time instead of all of what the commands leave. */
  private schedule(): void {
    if (this.queued) return;
    this.queued = true;
    const go = (): void => {
      this.queued = false;
      this.step();
    };
    if (this.busy()) setTimeout(go, 1);
    else setImmediate(go);
  }

  private notePeak(): void {
    const held = this.out.length + (this.writing ? this.spare.length : 0);
    if (held > this.peakBufferBytes) this.peakBufferBytes = held;
  }

  /** Walks for at most STEP_MS (the shard's commands run between steps), filling the next chunk
   * also while the previous one is being written, so that the walk and the disk overlap; a full
   * chunk is written when the disk is free. */
  private step(): void {
    if (this.finished || this.ending) return;
    try {
      if (this.out.length < CHUNK_BYTES) this.walkSlots(SLOT_COUNT, CHUNK_BYTES, performance.now() + STEP_MS);
      this.notePeak();
      if (this.writing) {
        // The write's completion schedules the next step once this chunk is full.
        if (this.out.length < CHUNK_BYTES && this.slot < SLOT_COUNT) this.schedule();
        return;
      }
      if (this.slot >= SLOT_COUNT) {
        this.ending = true;
        this.ks.snapshotEnd();
        this.out.end(this.records);
        this.notePeak();
        this.writeSync();
        this.finish();
        return;
      }
      if (this.out.length >= CHUNK_BYTES) this.writeAsync();
      this.schedule();
    } catch (e) {
      this.fail(e as Error);
    }
  }

  private writeAsync(): void {
    const chunk = this.out;
    this.out = this.spare;
    this.spare = chunk;
    this.writing = true;
    const fd = this.fd;
    let off = 0;
    const next = (): void => {
      write(fd, chunk.buf, off, chunk.length - off, null, (err, n) => {
        if (err) {
          this.writing = false;
          this.fail(err);
          return;
        }
        off += n;
        if (off < chunk.length) {
          next();
          return;
        }
        this.bytes += chunk.length;
        chunk.reset(CHUNK_BYTES * 2);
        this.writing = false;
        this.schedule();
      });
    };
    next();
  }

  private writeSync(): void {
    const r = this.out;
    let off = 0;
    while (off < r.length) off += writeSync(this.fd, r.buf, off, r.length - off);
    this.bytes += r.length;
    r.reset(CHUNK_BYTES * 2);
  }

  private finish(): void {
    const fd = this.fd;
    this.fd = -1;
    fsync(fd, (err) => {
      close(fd, () => undefined);
      if (err) {
        this.fail(err);
        return;
      }
      try {
        renameSync(this.tmp, this.path);
        syncDir(dirname(this.path));
      } catch (e) {
        this.fail(e as Error);
        return;
      }
      this.finished = true;
      this.resolve({ path: this.path, keys: this.keys, bytes: this.bytes, peakBufferBytes: this.peakBufferBytes, ms: performance.now() - this.started });
    });
  }

  /** Stops the job (an error, or the shard is going away): the keyspace's marks are repaired. */
  fail(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.ks.snapshotAbandon();
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = -1;
    }
    try {
      unlinkSync(this.tmp);
    } catch {
      // never created, or already gone
    }
    this.reject(err);
  }
}

/** fsync of a directory, so that a rename in it survives a power cut. */
export function syncDir(dir: string): void {
  let fd = -1;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is then as durable as they make it.
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

