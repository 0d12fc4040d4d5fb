// The bus codec: every message type round-trips; frames split at every byte boundary and batched
// decode the same; truncated, oversized and garbage input give an error, never an exception.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type BusMessage, decodeFrame, encodePublish, isPublish, type WireMessage, encodeMessage, FrameReader, MAX_FRAME_BYTES, MAX_PUBLISH_FRAME_BYTES, publishFrameBytes, SLOT_BITMAP_BYTES, slotBit,
} from '../../src/cluster/bus-messages.js';
import { mulberry32 } from './sim.js';

const A = 'a'.repeat(40);
const B = '0123456789abcdef0123456789abcdef01234567';

function bitmap(slots: number[]): Uint8Array {
  const b = new Uint8Array(SLOT_BITMAP_BYTES);
  for (const s of slots) b[s >> 3]! |= 1 << (s & 7);
  return b;
}

const header = {
  sender: A, primaryId: null, port: 7000, cport: 17000, pport: 6999, flags: 2, mflags: 0, currentEpoch: 2 ** 40 + 7, configEpoch: 5, offset: 0,
  slots: bitmap([0, 1, 5461, 16383]), ip: '10.0.0.1', hostname: 'host-é',
};

const MESSAGES: BusMessage[] = [
  { ...header, type: 'ping', gossip: [] },
  { ...header, type: 'meet', gossip: [{ id: B, ip: '::1', port: 7001, cport: 17001, pport: 0, flags: 8, pingSentMs: 1_700_000_000_123, pongRecvMs: 0 }] },
  { ...header, type: 'pong', ip: '', primaryId: B, gossip: Array.from({ length: 5 }, (_, i) => ({ id: B, ip: `10.0.0.${i}`, port: i, cport: 65535, pport: 65535 - i, flags: 255, pingSentMs: i, pongRecvMs: 2 ** 50 })) },
  { ...header, type: 'fail', failId: B },
  { ...header, type: 'update', nodeId: B, nodeConfigEpoch: 9, nodeSlots: bitmap([7, 8, 9]) },
  { ...header, type: 'auth-req', primaryId: B, flags: 4, mflags: 2, offset: 2 ** 45 + 3 },
  { ...header, type: 'auth-ack' },
  { ...header, type: 'mfstart', offset: 12345 },
  { ...header, type: 'ping', mflags: 1, offset: 99, gossip: [] },
];

test('every message type round-trips', () => {
  for (const m of MESSAGES) {
    const frame = encodeMessage(m);
    assert.is(frame.readUInt32BE(0), frame.length);
    const r = decodeFrame(frame);
    assert.is(r.kind, 'message', m.type);
    if (r.kind !== 'message') continue;
    assert.is(r.bytes, frame.length);
    assert.equal(r.msg, m, m.type);
  }
  const r = decodeFrame(encodeMessage(MESSAGES[0]!));
  assert.ok(r.kind === 'message' && !isPublish(r.msg) && slotBit(r.msg.slots, 16383) && slotBit(r.msg.slots, 5461) && !slotBit(r.msg.slots, 2));
});

test('a stream split at every boundary decodes the same messages', () => {
  const stream = Buffer.concat(MESSAGES.map(encodeMessage));
  for (let cut = 0; cut <= stream.length; cut += 7) {
    const reader = new FrameReader();
    const got = [...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))];
    assert.is(reader.error, null);
    assert.is(got.length, MESSAGES.length);
  }
  const reader = new FrameReader();
  const got: WireMessage[] = [];
  for (let i = 0; i < stream.length; i++) got.push(...reader.push(stream.subarray(i, i + 1)));
  assert.equal(got, MESSAGES);
  assert.is(reader.pendingBytes, 0);
});

test('truncated frames are partial, never messages', () => {
  const frame = encodeMessage(MESSAGES[2]!);
  for (let len = 0; len < frame.length; len++) assert.is(decodeFrame(frame.subarray(0, len)).kind, 'partial');
});

test('bad length, magic, version, type, id and trailing bytes are errors', () => {
  const good = encodeMessage(MESSAGES[3]!);
  const bad = (mutate: (b: Buffer) => Buffer, why: string): void => {
    const r = decodeFrame(mutate(Buffer.from(good)));
    assert.is(r.kind, 'error', why);
  };
  bad((b) => (b.writeUInt32BE(4, 0), b), 'short length');
  bad((b) => (b.writeUInt32BE(MAX_FRAME_BYTES + 1, 0), b), 'huge length');
  bad((b) => (b.writeUInt32BE(0xdeadbeef, 4), b), 'magic');
  bad((b) => ((b[8] = 9), b), 'version');
  bad((b) => ((b[9] = 77), b), 'type');
  bad((b) => ((b[12] = 0x47), b), 'sender id not hex');
  bad((b) => {
    const longer = Buffer.concat([b, Buffer.from([1, 2, 3])]);
    longer.writeUInt32BE(longer.length, 0);
    return longer;
  }, 'trailing bytes');
  bad((b) => {
    const shorter = Buffer.from(b.subarray(0, b.length - 3));
    shorter.writeUInt32BE(shorter.length, 0);
    return shorter;
  }, 'length says less than the fields');
});

const PUBLISHES: WireMessage[] = [
  { type: 'publish', sender: A, channel: Buffer.from('news'), message: Buffer.from('hello') },
  { type: 'publishshard', sender: B, channel: Buffer.from('{user1}:feed'), message: new Uint8Array(0) },
  { type: 'publish', sender: B, channel: new Uint8Array(0), message: Uint8Array.from([0, 255, 13, 10]) },
];

test('pub/sub frames round-trip without a header, between membership frames', () => {
  for (const m of PUBLISHES) {
    const frame = encodeMessage(m);
    assert.is(frame.length, publishFrameBytes(isPublish(m) ? m.channel.length : 0, isPublish(m) ? m.message.length : 0));
    const r = decodeFrame(frame);
    assert.is(r.kind, 'message');
    if (r.kind !== 'message' || !isPublish(r.msg) || !isPublish(m)) throw new Error('not a publish');
    assert.is(r.msg.type, m.type);
    assert.is(r.msg.sender, m.sender);
    assert.equal([...r.msg.channel], [...m.channel]);
    assert.equal([...r.msg.message], [...m.message]);
  }
  const mixed: WireMessage[] = [MESSAGES[0]!, PUBLISHES[0]!, MESSAGES[3]!, PUBLISHES[1]!];
  const stream = Buffer.concat(mixed.map(encodeMessage));
  const reader = new FrameReader();
  const got: WireMessage[] = [];
  // Kept across pushes: a pub/sub message's bytes are views, which later pushes never overwrite.
  for (const step of [7, 100, 3000]) {
    got.length = 0;
    for (let i = 0; i < stream.length; i += step) got.push(...reader.push(stream.subarray(i, i + step)));
    assert.equal(got.map((m) => m.type), ['ping', 'publish', 'fail', 'publishshard']);
    assert.equal(got.map(encodeMessage), mixed.map(encodeMessage), `pieces of ${step}`);
  }
  for (let len = 0; len < encodeMessage(PUBLISHES[0]!).length; len++) assert.is(decodeFrame(encodeMessage(PUBLISHES[0]!).subarray(0, len)).kind, 'partial');
});

test('only a pub/sub frame may pass MAX_FRAME_BYTES, up to MAX_PUBLISH_FRAME_BYTES', () => {
  const big = encodePublish(A, false, Buffer.from('ch'), Buffer.alloc(MAX_FRAME_BYTES, 120));
  assert.ok(big.length > MAX_FRAME_BYTES);
  const r = decodeFrame(big);
  assert.ok(r.kind === 'message' && isPublish(r.msg) && r.msg.message.length === MAX_FRAME_BYTES);
  // Its length alone (10 bytes: the type byte) already tells a pub/sub frame from a bad one.
  assert.is(decodeFrame(big.subarray(0, 10)).kind, 'partial');
  const fake = Buffer.from(big.subarray(0, 10));
  fake[9] = 0; // a ping that long
  assert.is(decodeFrame(fake).kind, 'error');
  const huge = Buffer.from(big.subarray(0, 10));
  huge.writeUInt32BE(MAX_PUBLISH_FRAME_BYTES + 1, 0);
  assert.is(decodeFrame(huge).kind, 'error');
  // A channel length running past the frame is an error, not an allocation.
  const lying = encodePublish(A, true, Buffer.from('ch'), Buffer.from('m'));
  lying.writeUInt32BE(0xfffffff0, 12 + 40);
  assert.is(decodeFrame(lying).kind, 'error');
});

test('random garbage never throws, and a reader stays failed after an error', () => {
  const rnd = mulberry32(7);
  const frames = [...MESSAGES, ...PUBLISHES].map(encodeMessage);
  for (let i = 0; i < 3000; i++) {
    const base = Buffer.from(frames[i % frames.length]!);
    const flips = 1 + Math.floor(rnd() * 4);
    for (let f = 0; f < flips; f++) base[Math.floor(rnd() * base.length)] = Math.floor(rnd() * 256);
    const reader = new FrameReader();
    reader.push(base);
    const junk = Buffer.from(Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256)));
    decodeFrame(junk);
  }
  const reader = new FrameReader();
  reader.push(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
  assert.ok(reader.error !== null);
  assert.equal(reader.push(frames[0]!), []);
});

test.run();
