// The replication stream from a primary to a replica, after the PSYNC reply line: frames of
//   u8 kind | u8 0 | u16 shard | u32 payload length | payload
// SNAP frames carry a shard's snapshot records (a full sync), SNAP_END ends one shard's snapshot,
// FEED frames carry a shard's records as its batches produced them (offsets count FEED bytes only),
// PING keeps an idle link alive, GETACK asks for an acknowledgement now (WAIT).
// Records are the log's (persistence/records.ts): a key's resulting state, so replaying one twice
// is harmless, which lets a full sync overlap the snapshot and the feed without a gap.

export const FRAME_HEADER = 8;
export const KIND_SNAP = 1;
export const KIND_SNAP_END = 2;
export const KIND_FEED = 3;
export const KIND_PING = 4;
export const KIND_GETACK = 5;
/** The primary's function libraries, whole (FUNCTION DUMP's payload): sent at every sync and after
 * every change; not part of any shard's feed, so not counted in offsets. */
export const KIND_FUNCTIONS = 6;
/** A PUBLISH (shard field 0) or SPUBLISH (1) on the primary, for the replica's subscribers, as
 * Redis propagates them to replicas: u32 channel length | channel | message. Outside the shards'
 * feeds, so not counted in offsets; at most once, like pub/sub itself. */
export const KIND_PUBLISH = 7;

/** A whole KIND_PUBLISH frame. */
export function publishFrame(channel: Uint8Array, message: Uint8Array, sharded: boolean): Buffer {
  const len = 4 + channel.length + message.length;
  // One buffer per message, header written in place (frameHeader would allocate a second).
  const f = Buffer.allocUnsafe(FRAME_HEADER + len);
  f[0] = KIND_PUBLISH;
  f[1] = 0;
  f.writeUInt16LE(sharded ? 1 : 0, 2);
  f.writeUInt32LE(len, 4);
  f.writeUInt32LE(channel.length, FRAME_HEADER);
  f.set(channel, FRAME_HEADER + 4);
  f.set(message, FRAME_HEADER + 4 + channel.length);
  return f;
}

export function frameHeader(kind: number, shard: number, len: number): Buffer {
  const h = Buffer.allocUnsafe(FRAME_HEADER);
  h[0] = kind;
  h[1] = 0;
  h.writeUInt16LE(shard, 2);
  h.writeUInt32LE(len, 4);
  return h;
}

export function frame(kind: number, shard: number, payload: Uint8Array | null): Buffer {
  const len = payload?.length ?? 0;
  const b = Buffer.allocUnsafe(FRAME_HEADER + len);
  b[0] = kind;
  b[1] = 0;
  b.writeUInt16LE(shard, 2);
  b.writeUInt32LE(len, 4);
  if (payload !== null && len > 0) b.set(payload, FRAME_HEADER);
  return b;
}

export interface StreamFrame {
  kind: number;
  shard: number;
  payload: Buffer;
}

/** Cuts frames out of the bytes a socket delivers (any split). Received chunks are kept as they
 * came and joined once, when a frame is complete: concatenating on every chunk copied a big frame
 * once per chunk (a 512 MiB FEED frame in 64 KiB reads: about 2 TiB of copying). */
export class FrameReader {
  private chunks: Buffer[] = [];
  private total = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** The first chunk, holding at least n bytes (joining chunks if needed), or null when fewer
   * than n bytes are buffered. */
  private head(n: number): Buffer | null {
    if (this.total < n) return null;
    const first = this.chunks[0]!;
    if (first.length >= n) return first;
    const joined = Buffer.concat(this.chunks, this.total);
    this.chunks = [joined];
    return joined;
  }

  private consume(n: number): void {
    const first = this.chunks[0]!;
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.total -= n;
  }

  /** The next complete frame, or null. */
  next(): StreamFrame | null {
    const h = this.head(FRAME_HEADER);
    if (h === null) return null;
    const len = h.readUInt32LE(4);
    const b = this.head(FRAME_HEADER + len);
    if (b === null) return null;
    const f = { kind: b[0]!, shard: b.readUInt16LE(2), payload: b.subarray(FRAME_HEADER, FRAME_HEADER + len) };
    this.consume(FRAME_HEADER + len);
    return f;
  }

  /** Bytes waiting for the rest of their frame. */
  get buffered(): number {
    return this.total;
  }

  /** Takes a text line (the PSYNC reply) from the front; null until it is complete. */
  line(): string | null {
    if (this.total === 0) return null;
    const b = this.head(this.total)!;
    const i = b.indexOf('\r\n');
    if (i < 0) return null;
    const s = b.toString('latin1', 0, i);
    this.consume(i + 2);
    return s;
  }
}

/** Per-shard offsets as sent in PSYNC and REPLCONF ACK: comma-separated integers. */
export function formatOffsets(offsets: readonly number[]): string {
  return offsets.join(',');
}

export function parseOffsets(text: string): number[] | null {
  const parts = text.split(',');
  const out = parts.map(Number);
  return out.every((n) => Number.isSafeInteger(n) && n >= 0) && parts.length > 0 ? out : null;
}
