// SLOWLOG: commands slower than slowlog-log-slower-than, as Redis 7.0 keeps them. A shard times
// its own commands and queues a compact record of each slow one (SlowRecords: first 32 arguments,
// 128 bytes of each) that travels after the command's reply; the main thread adds the client's
// address and name, redacts secrets and keeps the newest slowlog-max-len entries (SlowLog), with
// one id sequence for every shard and the main thread. Nothing is allocated below the threshold.

import type { ArgList } from '../core/types.js';
import { redactArgs } from './redact.js';

/** Redis's SLOWLOG_ENTRY_MAX_ARGC and SLOWLOG_ENTRY_MAX_STRING. */
export const SLOWLOG_ENTRY_MAX_ARGC = 32;
export const SLOWLOG_ENTRY_MAX_STRING = 128;

/** The duration (us) from which a command concerns SLOWLOG or LATENCY: the lower of
 * slowlog-log-slower-than (us, negative: off) and latency-monitor-threshold (ms, 0: off). */
export function captureThresholdUs(slowlogUs: number, latencyMs: number): number {
  return Math.min(slowlogUs >= 0 ? slowlogUs : Infinity, latencyMs > 0 ? latencyMs * 1000 : Infinity);
}

/** Record flags. */
export const SLOW_FAST = 1;
/** Not for the slow log (skip_slowlog: EXEC), only for the latency monitor. */
export const SLOW_SKIP_LOG = 2;
/** Run by a script (redis.call): shown with Redis's script client, "?:0" and no name. */
export const SLOW_SCRIPT = 4;
/** Not a command: a latency event of the shard's own (argument 0 names it: "expire-cycle"). */
export const SLOW_EVENT = 8;

/** Bytes of records one shard queues between two hand-overs to the main thread (a script making
 * many slow calls): past it, records are dropped and counted, the newest lost first. */
export const SLOW_RECORDS_MAX_BYTES = 256 * 1024;

const RECORD_HEADER = 28; // u32 length, u8 flags, u8 0, u16 shown, u32 argc, f64 unixMs, f64 durationUs

/** A shard's queue of slow-command records, emptied after every command that filled it. */
export class SlowRecords {
  bytes = new Uint8Array(0);
  view = new DataView(this.bytes.buffer);
  /** Bytes of queued records. */
  length = 0;
  /** Records in the queue. */
  count = 0;
  /** Records dropped at SLOW_RECORDS_MAX_BYTES since the shard started. */
  dropped = 0;

  /** Queues command `a` (argument 0 its name) that took durationUs, ended at unixMs. */
  push(a: ArgList, unixMs: number, durationUs: number, flags: number): void {
    const argc = a.argc;
    const shown = argc > SLOWLOG_ENTRY_MAX_ARGC ? SLOWLOG_ENTRY_MAX_ARGC - 1 : argc;
    let need = RECORD_HEADER;
    for (let i = 0; i < shown; i++) need += 8 + Math.min(a.len[i]!, SLOWLOG_ENTRY_MAX_STRING);
    if (this.length + need > SLOW_RECORDS_MAX_BYTES) {
      this.dropped++;
      return;
    }
    this.ensure(need);
    const dv = this.view;
    const b = this.bytes;
    let p = this.length;
    dv.setUint32(p, need, true);
    b[p + 4] = flags;
    b[p + 5] = 0;
    dv.setUint16(p + 6, shown, true);
    dv.setUint32(p + 8, argc, true);
    dv.setFloat64(p + 12, unixMs, true);
    dv.setFloat64(p + 20, durationUs, true);
    p += RECORD_HEADER;
    for (let i = 0; i < shown; i++) {
      const l = a.len[i]!;
      const c = Math.min(l, SLOWLOG_ENTRY_MAX_STRING);
      dv.setUint32(p, l, true);
      dv.setUint32(p + 4, c, true);
      b.set(a.buf.subarray(a.off[i]!, a.off[i]! + c), p + 8);
      p += 8 + c;
    }
    this.length = p;
    this.count++;
  }

  clear(): void {
    this.length = 0;
    this.count = 0;
  }

  private ensure(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    let cap = Math.max(4096, this.bytes.length * 2);
    while (cap < this.length + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.bytes.subarray(0, this.length));
    this.bytes = b;
    this.view = new DataView(b.buffer);
  }
}

/** A slow command as the main thread receives it (arguments already cut as the entry shows them). */
export interface SlowRecord {
  flags: number;
  unixMs: number;
  durationUs: number;
  args: Buffer[];
}

/** Calls fn with each record in buf[off, off+len) (SlowRecords' bytes). */
export function forEachSlowRecord(buf: Uint8Array, off: number, len: number, fn: (r: SlowRecord) => void): void {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const end = off + len;
  let p = off;
  while (p + RECORD_HEADER <= end) {
    const recLen = dv.getUint32(p, true);
    if (recLen < RECORD_HEADER || p + recLen > end) return;
    const flags = buf[p + 4]!;
    const shown = dv.getUint16(p + 6, true);
    const argc = dv.getUint32(p + 8, true);
    const unixMs = dv.getFloat64(p + 12, true);
    const durationUs = dv.getFloat64(p + 20, true);
    const args: Buffer[] = [];
    let q = p + RECORD_HEADER;
    for (let i = 0; i < shown; i++) {
      const l = dv.getUint32(q, true);
      const c = dv.getUint32(q + 4, true);
      args.push(shownArg(buf.subarray(q + 8, q + 8 + c), l));
      q += 8 + c;
    }
    if (shown < argc) args.push(Buffer.from(`... (${argc - shown} more arguments)`));
    fn({ flags, unixMs, durationUs, args });
    p += recLen;
  }
}

/** An argument as an entry shows it: its first 128 bytes, then "... (N more bytes)" if longer. */
function shownArg(bytes: Uint8Array, fullLen: number): Buffer {
  if (fullLen <= SLOWLOG_ENTRY_MAX_STRING) return Buffer.from(bytes);
  return Buffer.concat([bytes.subarray(0, SLOWLOG_ENTRY_MAX_STRING), Buffer.from(`... (${fullLen - SLOWLOG_ENTRY_MAX_STRING} more bytes)`)]);
}

/** The arguments of a main-thread command as an entry shows them. */
export function shownArgs(a: ArgList): Buffer[] {
  const argc = a.argc;
  const shown = argc > SLOWLOG_ENTRY_MAX_ARGC ? SLOWLOG_ENTRY_MAX_ARGC - 1 : argc;
  const out: Buffer[] = [];
  for (let i = 0; i < shown; i++) {
    const off = a.off[i]!;
    const l = a.len[i]!;
    out.push(shownArg(a.buf.subarray(off, off + Math.min(l, SLOWLOG_ENTRY_MAX_STRING)), l));
  }
  if (shown < argc) out.push(Buffer.from(`... (${argc - shown} more arguments)`));
  return out;
}

export interface SlowlogEntry {
  readonly id: number;
  /** Unix time, seconds, when the command ended. */
  readonly timeSec: number;
  readonly durationUs: number;
  /** At most 32, secrets redacted. */
  readonly args: readonly (Buffer | string)[];
  /** "ip:port" of the client. */
  readonly addr: string;
  readonly name: string;
}

/** The node's slow log (main thread): the newest maxLen entries, one id sequence. */
export class SlowLog {
  /** slowlog-log-slower-than, microseconds (negative: off; 0: every command). */
  thresholdUs = 10000;
  /** slowlog-max-len. */
  private maxLenValue = 128;
  /** Oldest first, from `head` (dropped ones are compacted away in batches: push stays O(1)). */
  private entries: SlowlogEntry[] = [];
  private head = 0;
  private nextId = 0;

  get maxLen(): number {
    return this.maxLenValue;
  }

  set maxLen(n: number) {
    this.maxLenValue = n;
    if (this.length > n) this.head = this.entries.length - n;
    this.compact();
  }

  private compact(): void {
    if (this.head === 0 || this.head * 2 < this.entries.length) return;
    this.entries = this.entries.slice(this.head);
    this.head = 0;
  }

  /** True when a command that took durationUs goes in the log. */
  wants(durationUs: number): boolean {
    return this.thresholdUs >= 0 && durationUs >= this.thresholdUs;
  }

  /** Adds an entry (args as shown: already cut to 32 / 128 bytes); secrets are redacted here. */
  push(timeSec: number, durationUs: number, args: Buffer[], addr: string, name: string): void {
    if (this.maxLenValue === 0) return;
    const shown = redactArgs(args) ?? args;
    this.entries.push({ id: this.nextId++, timeSec, durationUs: Math.floor(durationUs), args: shown, addr, name });
    if (this.length > this.maxLenValue) {
      this.head++;
      this.compact();
    }
  }

  /** Newest first; count < 0: all. */
  get(count: number): SlowlogEntry[] {
    const n = count < 0 ? this.length : Math.min(count, this.length);
    const out: SlowlogEntry[] = [];
    for (let i = this.entries.length - 1; out.length < n; i--) out.push(this.entries[i]!);
    return out;
  }

  get length(): number {
    return this.entries.length - this.head;
  }

  reset(): void {
    this.entries = [];
    this.head = 0;
  }
}
