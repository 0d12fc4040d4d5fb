// One shard's append-only log file. Records of a batch of commands collect in memory and reach the
// file in one write at the end of the batch, before the batch's replies are published:
//  - always: write + fdatasync, on the shard's thread, before the replies (group commit per batch);
//  - everysec: the write goes to the page cache (as Redis's write in beforeSleep: it survives a
//    crash of the process), fdatasync once a second in libuv's thread pool, so the shard never
//    waits for the disk;
//  - no: the write only; the kernel flushes when it likes.
// The file is opened for append: a shard restarted on its memory goes on where its last
// incarnation stopped, and every record that incarnation acknowledged is already in the file.

import { closeSync, fdatasync, fdatasyncSync, fstatSync, openSync, writeSync } from 'node:fs';
import { MAGIC_LOG, RecordBuffer } from './records.js';

export type FsyncPolicy = 'always' | 'everysec' | 'no';

export class AppendLog {
  readonly records = new RecordBuffer();
  private fd: number;
  /** File bytes written so far. */
  size: number;
  private unsynced = false;
  private syncInFlight = false;
  private timer: NodeJS.Timeout | null = null;
  /** The last write or fsync failed (INFO aof_last_write_status). */
  failed = false;
  lastError = '';

  constructor(readonly path: string, shard: number, public policy: FsyncPolicy) {
    this.fd = openSync(path, 'a');
    try {
      this.size = fstatSync(this.fd).size;
      if (this.size === 0) {
        this.records.fileHeader(MAGIC_LOG, shard);
        this.write();
        fdatasyncSync(this.fd);
      }
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
    this.timer = setInterval(() => this.syncInBackground(), 1000);
    this.timer.unref();
  }

  /** End of a batch: the batch's records go to the file (and to the disk under `always`). */
  endBatch(): void {
    if (this.records.length === 0) return;
    this.write();
    if (this.policy === 'always') this.syncNow();
    else this.unsynced = true;
  }

  private write(): void {
    const r = this.records;
    let off = 0;
    try {
      while (off < r.length) off += writeSync(this.fd, r.buf, off, r.length - off);
      this.failed = false;
    } catch (e) {
      // Like Redis: the records stay queued and the next batch tries again; the shard keeps serving.
      this.failed = true;
      this.lastError = (e as Error).message;
      if (off > 0) r.buf.copy(r.buf, 0, off, r.length);
      r.length -= off;
      this.size += off;
      return;
    }
    this.size += r.length;
    r.reset();
  }

  private syncNow(): void {
    try {
      fdatasyncSync(this.fd);
      this.unsynced = false;
    } catch (e) {
      this.failed = true;
      this.lastError = (e as Error).message;
    }
  }

  private syncInBackground(): void {
    if (this.policy !== 'everysec' || !this.unsynced || this.syncInFlight) return;
    this.unsynced = false;
    this.syncInFlight = true;
    fdatasync(this.fd, (err) => {
      this.syncInFlight = false;
      if (err) {
        this.unsynced = true;
        this.failed = true;
        this.lastError = err.message;
      }
    });
  }

  /** Writes and syncs what is pending, then closes the file. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.endBatch();
    this.syncNow();
    closeSync(this.fd);
    this.fd = -1;
  }

  get open(): boolean {
    return this.fd >= 0;
  }

  /** Bytes waiting for the end of the batch (INFO aof_buffer_length). */
  get pending(): number {
    return this.records.length;
  }
}
