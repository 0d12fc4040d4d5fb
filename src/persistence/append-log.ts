// One shard's append-only log file. Records of a batch of commands reach the file in one write at
// the end of the batch, before the batch's replies are published:
//  - always: write + fdatasync, on the shard's thread, before the replies (group commit per batch);
//  - everysec: the write goes to the page cache (as Redis's write in beforeSleep: it survives a
//    crash of the process), fdatasync once a second in libuv's thread pool, so the shard never
//    waits for the disk;
//  - no: the write only; the kernel flushes when it likes.
// The file is opened for append: a shard restarted on its memory goes on where its last
// incarnation stopped, and every record that incarnation acknowledged is already in the file.

import { closeSync, fdatasync, fdatasyncSync, fstatSync, openSync, writeSync } from 'node:fs';
import { MAGIC_LOG, RecordBuffer } from './records.js';
import type { FsyncPolicy } from '../core/types.js';

export type { FsyncPolicy };


export class AppendLog {
  /** Bytes a failed write left behind; they go first at the next batch. */
  private readonly retry = new RecordBuffer(0);
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
        const header = new RecordBuffer(64);
        header.fileHeader(MAGIC_LOG, shard);
        this.append(header.buf, header.length);
        fdatasyncSync(this.fd);
      }
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
    this.timer = setInterval(() => this.syncInBackground(), 1000);
    this.timer.unref();
  }

  /** A batch's records: to the file now, and to the disk under `always`. */
  append(buf: Buffer, len: number): void {
    if (this.retry.length > 0) {
      const p = this.retry.reserve(len);
      buf.copy(this.retry.buf, p, 0, len);
      buf = this.retry.buf;
      len = this.retry.length;
    }
    let off = 0;
    try {
      while (off < len) off += writeSync(this.fd, buf, off, len - off);
      this.failed = false;
    } catch (e) {
      // Like Redis: the records stay queued and the next batch tries again; the shard keeps serving.
      this.failed = true;
      this.lastError = (e as Error).message;
      this.size += off;
      if (buf === this.retry.buf) {
        buf.copy(buf, 0, off, len);
        this.retry.length = len - off;
      } else {
        const p = this.retry.reserve(len - off);
        buf.copy(this.retry.buf, p, off, len);
      }
      return;
    }
    this.size += len;
    if (buf === this.retry.buf) this.retry.reset(0);
    if (this.policy === 'always') this.syncNow();
    else this.unsynced = true;
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

  /** Syncs what was written, then closes the file. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.retry.length > 0) this.append(Buffer.alloc(0), 0);
    this.syncNow();
    closeSync(this.fd);
    this.fd = -1;
  }

  get open(): boolean {
    return this.fd >= 0;
  }

  /** Bytes not yet in the file (INFO aof_buffer_length). */
  get pending(): number {
    return this.retry.length;
  }
}
