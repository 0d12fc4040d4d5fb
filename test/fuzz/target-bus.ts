// In-process target: the cluster bus codec (src/cluster/bus-messages.ts). Random messages of every
// type are encoded, sometimes damaged, and decoded whole (decodeFrame) and through FrameReader fed
// in random pieces (pub/sub frames among them): decoding never throws, both ways agree, an undamaged message decodes to the
// bytes it was encoded from, and the reader never holds more than one frame's bound.

import { decodeFrame, encodeMessage, encodePublish, FrameReader, MAX_FRAME_BYTES, MAX_PUBLISH_FRAME_BYTES, MESSAGE_TYPES, SLOT_BITMAP_BYTES, type BusMessage, type GossipEntry, type MessageHeader } from '../../src/cluster/bus-messages.js';
import { mutate, Prng, splitRandomly } from './prng.js';
import { check, type Target } from './target.js';

function nodeId(r: Prng): string {
  return r.bytes(20).toString('hex');
}

function u64(r: Prng): number {
  return r.pick([0, 1, r.int(1000), 2 ** 32, Number.MAX_SAFE_INTEGER, r.int(2 ** 31) * 2 ** 21]);
}

function ascii(r: Prng, max: number): string {
  return r.word(r.len(max));
}

export function busMessage(r: Prng): BusMessage {
  const slots = new Uint8Array(SLOT_BITMAP_BYTES);
  if (r.chance(0.5)) slots.set(r.bytes(SLOT_BITMAP_BYTES));
  const h: MessageHeader = {
    sender: nodeId(r),
    primaryId: r.chance(0.5) ? null : nodeId(r),
    port: r.int(65536),
    cport: r.int(65536),
    pport: r.int(65536),
    flags: r.int(65536),
    mflags: r.int(4),
    currentEpoch: u64(r),
    configEpoch: u64(r),
    offset: u64(r),
    slots,
    ip: r.chance(0.3) ? '' : ascii(r, 255),
    hostname: r.chance(0.5) ? '' : ascii(r, 255),
  };
  const type = r.pick(MESSAGE_TYPES);
  switch (type) {
    case 'ping':
    case 'pong':
    case 'meet': {
      const gossip: GossipEntry[] = [];
      const n = r.len(r.chance(0.02) ? 1024 : 8);
      for (let i = 0; i < n; i++) {
        gossip.push({ id: nodeId(r), ip: ascii(r, 40), port: r.int(65536), cport: r.int(65536), pport: r.int(65536), flags: r.int(65536), pingSentMs: u64(r), pongRecvMs: u64(r) });
      }
      return { ...h, type, gossip };
    }
    case 'fail':
      return { ...h, type, failId: nodeId(r) };
    case 'update':
      return { ...h, type, nodeId: nodeId(r), nodeConfigEpoch: u64(r), nodeSlots: r.bytes(SLOT_BITMAP_BYTES) };
    default:
      return { ...h, type };
  }
}

interface BusInput {
  bytes: Buffer;
  /** The frames' bytes when undamaged. */
  frames: Buffer[] | null;
}

/** Valid frames every input draws from: fixed (built from seeds 0..POOL-1, whatever the run's
 * seed), so an input still depends only on its own seed, and encoding 2 KiB messages does not
 * dominate the run. */
const POOL = 512;
let pool: Buffer[] | null = null;

function framePool(): Buffer[] {
  pool ??= Array.from({ length: POOL }, (_, i) => encodeMessage(busMessage(new Prng(i))));
  return pool;
}

function busInput(r: Prng): BusInput {
  const frames: Buffer[] = [];
  const n = 1 + r.int(3);
  // Mostly from the pool; some fresh, so that the pool is not all the codec ever sees.
  for (let i = 0; i < n; i++) {
    if (r.chance(0.1)) frames.push(encodePublish(nodeId(r), r.chance(0.5), r.bytes(r.len(64)), r.bytes(r.len(r.chance(0.1) ? 4096 : 64))));
    else frames.push(r.chance(0.05) ? encodeMessage(busMessage(r)) : r.pick(framePool()));
  }
  const bytes = Buffer.concat(frames);
  const roll = r.int(10);
  if (roll < 3) return { bytes, frames };
  if (roll < 9) return { bytes: mutate(r, bytes), frames: null };
  // A frame length at and beyond the bound, or random bytes after a valid preamble.
  const b = Buffer.from(bytes);
  b.writeUInt32BE(r.pick([0, 11, 12, 13, MAX_FRAME_BYTES, MAX_FRAME_BYTES + 1, MAX_PUBLISH_FRAME_BYTES + 1, 0xffffffff, r.int(4096)]), 0);
  return { bytes: b, frames: null };
}

export function busTarget(): Target {
  return {
    name: 'bus',
    input: (seed) => busInput(new Prng(seed)).bytes,
    run(seed: number): void {
      const r = new Prng(seed);
      const inp = busInput(r);
      // Whole: decodeFrame over the buffer.
      const whole: Buffer[] = [];
      let wholeEnd = 'partial';
      for (let off = 0, guard = 0; ; guard++) {
        check(guard <= inp.bytes.length, 'decodeFrame made no progress');
        const d = decodeFrame(inp.bytes, off);
        if (d.kind === 'partial') break;
        if (d.kind === 'error') {
          check(typeof d.error === 'string' && d.error.length > 0, 'an error without a text');
          wholeEnd = 'error';
          break;
        }
        check(d.bytes >= 12 && d.bytes <= MAX_PUBLISH_FRAME_BYTES, `frame of ${d.bytes} bytes`);
        whole.push(encodeMessage(d.msg));
        off += d.bytes;
      }
      // Split: FrameReader.
      const reader = new FrameReader();
      const split: Buffer[] = [];
      for (const c of splitRandomly(r, inp.bytes)) {
        for (const m of reader.push(c)) split.push(encodeMessage(m));
        check(reader.pendingBytes <= MAX_PUBLISH_FRAME_BYTES, `reader holds ${reader.pendingBytes} bytes`);
        if (reader.error !== null) break;
      }
      const splitEnd = reader.error === null ? 'partial' : 'error';
      check(wholeEnd === splitEnd, `decodeFrame ends with ${wholeEnd}, FrameReader with ${splitEnd}`);
      check(whole.length === split.length && whole.every((b, i) => b.equals(split[i]!)), 'decodeFrame and FrameReader decode different messages');
      if (inp.frames !== null) {
        check(wholeEnd === 'partial' && whole.length === inp.frames.length, `valid frames: ${whole.length} of ${inp.frames.length} decoded, end ${wholeEnd}`);
        inp.frames.forEach((f, i) => check(f.equals(whole[i]!), `message ${i} does not survive encode-decode-encode`));
      }
    },
  };
}
