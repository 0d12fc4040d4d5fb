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

/** Cuts frames out of the bytes a socket delivers (any split). */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  /** The next complete frame, or null. */
  next(): StreamFrame | null {
    const b = this.buf;
    if (b.length < FRAME_HEADER) return null;
    const len = b.readUInt32LE(4);
    if (b.length < FRAME_HEADER + len) return null;
    const f = { kind: b[0]!, shard: b.readUInt16LE(2), payload: b.subarray(FRAME_HEADER, FRAME_HEADER + len) };
    this.buf = b.subarray(FRAME_HEADER + len);
    return f;
  }

  /** Bytes waiting for the rest of their frame. */
  get buffered(): number {
    return this.buf.length;
  }

  /** Takes a text line (the PSYNC reply) from the front; null until it is complete. */
  line(): string | null {
    const i = this.buf.indexOf('\r\n');
    if (i < 0) return null;
    const s = this.buf.toString('latin1', 0, i);
    this.buf = this.buf.subarray(i + 2);
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
