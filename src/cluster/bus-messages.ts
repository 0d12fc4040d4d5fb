// Tessera's cluster bus messages and their binary framing. Every frame:
//   u32 frame length (whole frame, bytes) | u32 magic "TSB1" | u8 version | u8 type | u16 zero
//   header: sender id (40) | primary id (40, zeros = none) | port u16 | cport u16 | pport u16 | flags u16 |
//           mflags u16 | currentEpoch u64 | configEpoch u64 | replication offset u64 |
//           slot bitmap (2048) | ip (u8 len + bytes) | hostname (u8 len + bytes)
//   body:   PING/PONG/MEET: u16 count, count x gossip entry (id, ip, port, cport, pport, flags,
//           pingSent u64, pongRecv u64) | FAIL: id | UPDATE: id, configEpoch u64, bitmap (2048) |
//           AUTH-REQ, AUTH-ACK, MFSTART: nothing (the header says it all)
// PUBLISH and PUBLISHSHARD frames (pub/sub across the cluster) carry no header: after the preamble,
//   sender id (40) | u32 channel length + bytes | u32 message length + bytes
// so that a message does not pay 2 KiB of slot bitmap; they may be up to MAX_PUBLISH_FRAME_BYTES.
// A replica's header carries its primary's config epoch and slots (as Redis's does), so that a
// stale replica's view is corrected by UPDATE like a stale primary's.
// All integers big-endian. The decoder never throws: malformed input gives an error result, and
// the link that sent it is closed by its owner. Sizes are bounded (MAX_FRAME_BYTES, MAX_GOSSIP).

import { CLUSTER_SLOTS } from './api.js';
import { isNodeId, NODE_ID_LENGTH } from './node-id.js';

export const BUS_MAGIC = 0x54534231; // "TSB1"
/** 2: mflags, replication offset and the failover messages (version 1 peers are refused). */
export const BUS_VERSION = 3;
export const SLOT_BITMAP_BYTES = CLUSTER_SLOTS / 8;
export const MAX_GOSSIP = 1024;
export const MAX_FRAME_BYTES = 256 * 1024;
/** A pub/sub frame's bound (a bigger message is delivered on its own node only: cluster-node.ts). */
export const MAX_PUBLISH_FRAME_BYTES = 16 * 1024 * 1024;
const MAX_STRING = 255;
const PREAMBLE_BYTES = 12;

/** In Redis's order (CLUSTER INFO prints the counters in it); the index is the wire type. */
export const MESSAGE_TYPES = ['ping', 'pong', 'meet', 'fail', 'auth-req', 'auth-ack', 'update', 'mfstart'] as const;

/** mflags bits (Redis's CLUSTERMSG_FLAG0_*): the sending primary paused its writes for a manual
 * failover; an AUTH-REQ of a manual failover (vote even though the primary is not FAIL). */
export const MFLAG_PAUSED = 1;
export const MFLAG_FORCEACK = 2;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** Pub/sub messages, wire types MESSAGE_TYPES.length and + 1 (appended, so that the header
 * messages keep their numbers). */
export const PUBLISH_TYPES = ['publish', 'publishshard'] as const;
export type PublishType = (typeof PUBLISH_TYPES)[number];
const PUBLISH_WIRE_BASE = MESSAGE_TYPES.length;
/** Every type a CLUSTER INFO counter may name, in Redis 7.0's order (its message type numbers). */
export const STATS_TYPES = ['ping', 'pong', 'meet', 'fail', 'publish', 'auth-req', 'auth-ack', 'update', 'mfstart', 'publishshard'] as const;
export type StatsType = (typeof STATS_TYPES)[number];

export interface MessageHeader {
  sender: string;
  primaryId: string | null;
  port: number;
  cport: number;
  /** tls-cluster: the sender's plain RESP port when it has one besides `port` (its TLS port), else 0
   * (Redis 7.0's pport). */
  pport?: number;
  /** Sender's node flags (topology.ts FLAG_* bits). */
  flags: number;
  /** MFLAG_* bits. */
  mflags: number;
  currentEpoch: number;
  /** The sender's config epoch (a replica sends its primary's). */
  configEpoch: number;
  /** The sender's replication offset (a primary's own, a replica's processed offset). */
  offset: number;
  /** The sender's own slots (a replica sends its primary's), SLOT_BITMAP_BYTES bytes, bit (slot & 7) of byte (slot >> 3). */
  slots: Uint8Array;
  /** Announced ip; '' = use the link's peer address (as Redis does without cluster-announce-ip). */
  ip: string;
  hostname: string;
}

export interface GossipEntry {
  id: string;
  ip: string;
  port: number;
  cport: number;
  /** As MessageHeader.pport. */
  pport?: number;
  flags: number;
  pingSentMs: number;
  pongRecvMs: number;
}

export type BusMessage =
  | (MessageHeader & { type: 'ping' | 'pong' | 'meet'; gossip: GossipEntry[] })
  | (MessageHeader & { type: 'fail'; failId: string })
  | (MessageHeader & { type: 'update'; nodeId: string; nodeConfigEpoch: number; nodeSlots: Uint8Array })
  | (MessageHeader & { type: 'auth-req' | 'auth-ack' | 'mfstart' });

/** PUBLISH (to every node) or SPUBLISH (to the nodes of the sender's shard). Decoded, channel and
 * message are views into the frame's bytes (no copy per message): valid until the decoder's
 * buffer is reused, that is for the synchronous handling of the message only. */
export interface PublishMessage {
  type: PublishType;
  sender: string;
  channel: Uint8Array;
  message: Uint8Array;
}

/** Whatever a frame may hold. */
export type WireMessage = BusMessage | PublishMessage;

export function slotBit(bitmap: Uint8Array, slot: number): boolean {
  return ((bitmap[slot >> 3]! >> (slot & 7)) & 1) === 1;
}

// --- encoding ------------------------------------------------------------------------------------

class Writer {
  buf: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v & 0xff;
  }
  u16(v: number): void {
    this.room(2);
    this.buf.writeUInt16BE(v & 0xffff, this.pos);
    this.pos += 2;
  }
  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }
  u64(v: number): void {
    const n = Number.isSafeInteger(v) && v > 0 ? v : 0;
    this.u32(Math.floor(n / 0x1_0000_0000));
    this.u32(n % 0x1_0000_0000);
  }
  bytes(b: Uint8Array, len: number): void {
    this.room(len);
    this.buf.fill(0, this.pos, this.pos + len);
    this.buf.set(b.subarray(0, len), this.pos);
    this.pos += len;
  }
  id(id: string | null): void {
    this.room(NODE_ID_LENGTH);
    if (id === null) this.buf.fill(0, this.pos, this.pos + NODE_ID_LENGTH);
    else this.buf.write(id.padEnd(NODE_ID_LENGTH, '0').slice(0, NODE_ID_LENGTH), this.pos, 'latin1');
    this.pos += NODE_ID_LENGTH;
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    const len = Math.min(b.length, MAX_STRING);
    this.u8(len);
    this.bytes(b, len);
  }
}

/** Size of the publish frame for a channel and a message of these lengths. */
export function publishFrameBytes(channelLen: number, messageLen: number): number {
  return PREAMBLE_BYTES + NODE_ID_LENGTH + 4 + channelLen + 4 + messageLen;
}

/** One PUBLISH / PUBLISHSHARD frame, built once and written to every link it goes to. The caller
 * checks publishFrameBytes() against MAX_PUBLISH_FRAME_BYTES. */
export function encodePublish(sender: string, sharded: boolean, channel: Uint8Array, message: Uint8Array): Buffer {
  const length = publishFrameBytes(channel.length, message.length);
  const b = Buffer.allocUnsafe(length);
  b.writeUInt32BE(length, 0);
  b.writeUInt32BE(BUS_MAGIC, 4);
  b[8] = BUS_VERSION;
  b[9] = PUBLISH_WIRE_BASE + (sharded ? 1 : 0);
  b.writeUInt16BE(0, 10);
  let pos = PREAMBLE_BYTES;
  b.write(sender.padEnd(NODE_ID_LENGTH, '0').slice(0, NODE_ID_LENGTH), pos, 'latin1');
  pos += NODE_ID_LENGTH;
  b.writeUInt32BE(channel.length, pos);
  b.set(channel, pos + 4);
  pos += 4 + channel.length;
  b.writeUInt32BE(message.length, pos);
  b.set(message, pos + 4);
  return b;
}

/** A pub/sub message (no header), as opposed to a membership one. */
export function isPublish(msg: WireMessage): msg is PublishMessage {
  return msg.type === 'publish' || msg.type === 'publishshard';
}

/** One frame for `msg`. */
export function encodeMessage(msg: WireMessage): Buffer {
  if (isPublish(msg)) return encodePublish(msg.sender, msg.type === 'publishshard', msg.channel, msg.message);
  const w = new Writer(2400);
  w.u32(0); // length, patched below
  w.u32(BUS_MAGIC);
  w.u8(BUS_VERSION);
  w.u8(MESSAGE_TYPES.indexOf(msg.type));
  w.u16(0);
  w.id(msg.sender);
  w.id(msg.primaryId);
  w.u16(msg.port);
  w.u16(msg.cport);
  w.u16(msg.pport ?? 0);
  w.u16(msg.flags);
  w.u16(msg.mflags);
  w.u64(msg.currentEpoch);
  w.u64(msg.configEpoch);
  w.u64(msg.offset);
  w.bytes(msg.slots, SLOT_BITMAP_BYTES);
  w.str(msg.ip);
  w.str(msg.hostname);
  switch (msg.type) {
    case 'ping':
    case 'pong':
    case 'meet': {
      const n = Math.min(msg.gossip.length, MAX_GOSSIP);
      w.u16(n);
      for (let i = 0; i < n; i++) {
        const g = msg.gossip[i]!;
        w.id(g.id);
        w.str(g.ip);
        w.u16(g.port);
        w.u16(g.cport);
        w.u16(g.pport ?? 0);
        w.u16(g.flags);
        w.u64(g.pingSentMs);
        w.u64(g.pongRecvMs);
      }
      break;
    }
    case 'fail':
      w.id(msg.failId);
      break;
    case 'update':
      w.id(msg.nodeId);
      w.u64(msg.nodeConfigEpoch);
      w.bytes(msg.nodeSlots, SLOT_BITMAP_BYTES);
      break;
    case 'auth-req':
    case 'auth-ack':
    case 'mfstart':
      break;
  }
  w.buf.writeUInt32BE(w.pos, 0);
  return w.buf.subarray(0, w.pos);
}

// --- decoding ------------------------------------------------------------------------------------

class DecodeError extends Error {}

class Reader {
  pos: number;
  constructor(readonly buf: Buffer, start: number, readonly end: number) {
    this.pos = start;
  }
  need(n: number): void {
    if (this.pos + n > this.end) throw new DecodeError(`truncated frame (needs ${n} bytes at offset ${this.pos})`);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): number {
    const v = this.u32() * 0x1_0000_0000 + this.u32();
    if (!Number.isSafeInteger(v)) throw new DecodeError('64-bit field out of range');
    return v;
  }
  /** n bytes in place (a view: see PublishMessage). */
  view(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const out = new Uint8Array(n);
    out.set(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }
  id(nullable: boolean): string | null {
    this.need(NODE_ID_LENGTH);
    const raw = this.buf.subarray(this.pos, this.pos + NODE_ID_LENGTH);
    this.pos += NODE_ID_LENGTH;
    if (nullable && raw.every((b) => b === 0)) return null;
    const s = raw.toString('latin1');
    if (!isNodeId(s)) throw new DecodeError('bad node id');
    return s;
  }
  nodeId(): string {
    return this.id(false)!;
  }
  str(): string {
    const len = this.u8();
    this.need(len);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }
}

export type DecodeResult =
  | { kind: 'message'; msg: WireMessage; bytes: number }
  | { kind: 'partial' }
  | { kind: 'error'; error: string };

/** Decodes the frame at `offset` of `buf`: a message, 'partial' (need more bytes) or an error. */
export function decodeFrame(buf: Buffer, offset = 0): DecodeResult {
  const avail = buf.length - offset;
  if (avail < 4) return { kind: 'partial' };
  const length = buf.readUInt32BE(offset);
  if (length < PREAMBLE_BYTES || length > MAX_PUBLISH_FRAME_BYTES) return { kind: 'error', error: `bad frame length ${length}` };
  if (avail >= 8 && buf.readUInt32BE(offset + 4) !== BUS_MAGIC) return { kind: 'error', error: 'bad magic' };
  // Only a pub/sub frame may pass MAX_FRAME_BYTES: its type byte decides, before it is waited for.
  if (length > MAX_FRAME_BYTES) {
    if (avail < 10) return { kind: 'partial' };
    const t = buf[offset + 9]! - PUBLISH_WIRE_BASE;
    if (t !== 0 && t !== 1) return { kind: 'error', error: `bad frame length ${length}` };
  }
  if (avail < length) return { kind: 'partial' };
  try {
    const r = new Reader(buf, offset + 8, offset + length);
    const version = r.u8();
    if (version !== BUS_VERSION) throw new DecodeError(`unsupported version ${version}`);
    const wireType = r.u8();
    r.u16();
    if (wireType === PUBLISH_WIRE_BASE || wireType === PUBLISH_WIRE_BASE + 1) {
      const sender = r.nodeId();
      const channel = r.view(r.u32());
      const message = r.view(r.u32());
      if (r.pos !== offset + length) throw new DecodeError(`${offset + length - r.pos} trailing bytes in frame`);
      return { kind: 'message', msg: { type: PUBLISH_TYPES[wireType - PUBLISH_WIRE_BASE]!, sender, channel, message }, bytes: length };
    }
    const type = MESSAGE_TYPES[wireType];
    if (type === undefined) throw new DecodeError('unknown message type');
    const header: MessageHeader = {
      sender: r.nodeId(),
      primaryId: r.id(true),
      port: r.u16(),
      cport: r.u16(),
      pport: r.u16(),
      flags: r.u16(),
      mflags: r.u16(),
      currentEpoch: r.u64(),
      configEpoch: r.u64(),
      offset: r.u64(),
      slots: r.bytes(SLOT_BITMAP_BYTES),
      ip: r.str(),
      hostname: r.str(),
    };
    let msg: BusMessage;
    if (type === 'fail') {
      msg = { ...header, type, failId: r.nodeId() };
    } else if (type === 'update') {
      msg = { ...header, type, nodeId: r.nodeId(), nodeConfigEpoch: r.u64(), nodeSlots: r.bytes(SLOT_BITMAP_BYTES) };
    } else if (type === 'auth-req' || type === 'auth-ack' || type === 'mfstart') {
      msg = { ...header, type };
    } else {
      const n = r.u16();
      if (n > MAX_GOSSIP) throw new DecodeError(`too many gossip entries (${n})`);
      const gossip: GossipEntry[] = [];
      for (let i = 0; i < n; i++) {
        gossip.push({ id: r.nodeId(), ip: r.str(), port: r.u16(), cport: r.u16(), pport: r.u16(), flags: r.u16(), pingSentMs: r.u64(), pongRecvMs: r.u64() });
      }
      msg = { ...header, type, gossip };
    }
    if (r.pos !== offset + length) throw new DecodeError(`${offset + length - r.pos} trailing bytes in frame`);
    return { kind: 'message', msg, bytes: length };
  } catch (e) {
    if (e instanceof DecodeError) return { kind: 'error', error: e.message };
    return { kind: 'error', error: `undecodable frame: ${String(e)}` };
  }
}

/** Splits a byte stream into messages. After an error it stays failed (the link must be closed).
 * A frame that arrives in many small pieces is gathered in one buffer that doubles as it grows, so
 * that its bytes are copied a bounded number of times (concatenating per piece was quadratic: a
 * 256 KiB frame sent one byte at a time copied about 64 GiB). */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);
  private pendingLen = 0;
  error: string | null = null;

  /** Messages completed by `chunk`; check `error` afterwards. Pub/sub messages hold views into
   * the bytes read, which are never overwritten (they keep their buffer alive: copy to keep). */
  push(chunk: Buffer): WireMessage[] {
    const out: WireMessage[] = [];
    if (this.error !== null) return out;
    let buf: Buffer;
    if (this.pendingLen === 0) {
      buf = chunk;
    } else {
      this.append(chunk);
      buf = this.pending.subarray(0, this.pendingLen);
    }
    let off = 0;
    let views = false;
    for (;;) {
      const r = decodeFrame(buf, off);
      if (r.kind === 'partial') break;
      if (r.kind === 'error') {
        this.error = r.error;
        this.pending = Buffer.alloc(0);
        this.pendingLen = 0;
        return out;
      }
      // Decoded messages copy what they keep (Reader.bytes, strings), but for a pub/sub
      // message's views into buf: a buffer they point into is never written again (below).
      if (isPublish(r.msg)) views = true;
      out.push(r.msg);
      off += r.bytes;
    }
    const rest = buf.length - off;
    if (buf === chunk) {
      this.pendingLen = 0;
      if (rest > 0) this.append(chunk.subarray(off));
    } else if (views) {
      // Compacting in place would overwrite the views: the rest moves to a buffer of its own.
      const kept = this.pending;
      this.pending = Buffer.allocUnsafe(Math.max(rest, 4096));
      kept.copy(this.pending, 0, off, this.pendingLen);
      this.pendingLen = rest;
    } else {
      this.pending.copyWithin(0, off, this.pendingLen);
      this.pendingLen = rest;
      // A drained buffer that grew for a big frame is not kept.
      if (rest === 0 && this.pending.length > 64 * 1024) this.pending = Buffer.alloc(0);
    }
    return out;
  }

  private append(chunk: Buffer): void {
    const need = this.pendingLen + chunk.length;
    if (need > this.pending.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, 2 * this.pending.length, 4096));
      this.pending.copy(bigger, 0, 0, this.pendingLen);
      this.pending = bigger;
    }
    chunk.copy(this.pending, this.pendingLen);
    this.pendingLen = need;
  }

  /** Bytes held waiting for the rest of a frame (bounded by MAX_PUBLISH_FRAME_BYTES for a pub/sub
   * frame, MAX_FRAME_BYTES for any other). */
  get pendingBytes(): number {
    return this.pendingLen;
  }
}
