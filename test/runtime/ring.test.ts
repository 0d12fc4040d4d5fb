// The SPSC ring: frames come out whole, in order, across wrap-around, and under a concurrent
// producer in another thread.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Worker } from 'node:worker_threads';
import { CTL_BYTES, RingConsumer, RingProducer, createRingMemory } from '../../src/runtime/ring.js';

function writeFrame(p: RingProducer, n: number, len: number): boolean {
  const off = p.reserve(len);
  if (off < 0) return false;
  for (let i = 0; i < len; i++) p.bytes[off + i] = (n + i) & 0xff;
  return true;
}

function readFrame(c: RingConsumer): { n: number; len: number } | null {
  const off = c.peek();
  if (off < 0) return null;
  const len = c.frameLength(off);
  const n = len > 0 ? c.bytes[off]! : -1;
  for (let i = 0; i < len; i++) assert.is(c.bytes[off + i], (n + i) & 0xff);
  c.release(off);
  c.flushRelease();
  return { n, len };
}

test('a frame reserved large, then shrunk or taken back, leaves only whole frames, across wraps', () => {
  // The shard reserves room for a reply before running its command, then either shrinks the
  // frame to the reply or takes it back and copies a longer reply in.
  const mem = createRingMemory(1024);
  const p = new RingProducer(mem);
  const c = new RingConsumer(mem);
  const RESERVE = 200;
  const expected: number[] = [];
  let n = 0;
  for (let round = 0; round < 3000; round++) {
    const off = p.reserve(RESERVE);
    if (off >= 0) {
      const len = (round * 29) % 260;
      if (len <= RESERVE) {
        for (let i = 0; i < len; i++) p.bytes[off + i] = (n + i) & 0xff;
        p.shrinkLast(len, RESERVE);
        expected.push(len);
        n = (n + 1) & 0xff;
      } else {
        p.cancelLast(RESERVE);
        if (writeFrame(p, n, len)) {
          expected.push(len);
          n = (n + 1) & 0xff;
        }
      }
      p.commit();
    }
    for (let k = 0; k < (round % 3); k++) {
      const f = readFrame(c);
      if (f) assert.is(f.len, expected.shift());
    }
  }
  for (let f = readFrame(c); f; f = readFrame(c)) assert.is(f.len, expected.shift());
  assert.is(expected.length, 0);
});

test('frames come out in order and whole, across many wrap-arounds', () => {
  const mem = createRingMemory(1024);
  const p = new RingProducer(mem);
  const c = new RingConsumer(mem);
  let written = 0;
  let read = 0;
  for (let round = 0; round < 2000; round++) {
    const len = (round * 37) % 200;
    if (writeFrame(p, written & 0xff, len)) {
      written++;
      p.commit();
    }
    if (round % 2 === 0) {
      const f = readFrame(c);
      if (f) read++;
    }
  }
  for (;;) {
    const f = readFrame(c);
    if (!f) break;
    read++;
  }
  assert.is(read, written);
  assert.ok(written > 500, `only ${written} frames written`);
});

test('an uncommitted frame is invisible; a full ring refuses', () => {
  const mem = createRingMemory(1024);
  const p = new RingProducer(mem);
  const c = new RingConsumer(mem);
  assert.ok(writeFrame(p, 1, 100));
  assert.is(c.peek(), -1);
  p.commit();
  assert.ok(c.peek() >= 0);
  let n = 0;
  while (writeFrame(p, 2, 100)) n++;
  assert.ok(n < 10);
  assert.ok(p.reserve(100) < 0);
});

test('shrinkLast trims a reserved frame', () => {
  const mem = createRingMemory(1024);
  const p = new RingProducer(mem);
  const c = new RingConsumer(mem);
  const off = p.reserve(500);
  p.bytes[off] = 7;
  p.shrinkLast(10, 500);
  p.commit();
  const r = c.peek();
  assert.is(c.frameLength(r), 10);
  assert.is(c.bytes[r], 7);
  c.release(r);
  c.flushRelease();
  assert.is(c.peek(), -1);
  assert.is(p.free(), 1024);
});

test('a producer thread and a consumer thread move 200k frames intact', async () => {
  const mem = createRingMemory(1 << 16);
  const total = 200_000;
  const src = `
    const { workerData } = require('node:worker_threads');
    const { sab, capacity, total, ctlBytes } = workerData;
    const ctl = new Int32Array(sab, 0, 4);
    const bytes = new Uint8Array(sab, ctlBytes, capacity);
    const dv = new DataView(sab, ctlBytes, capacity);
    let head = 0;
    for (let n = 0; n < total; n++) {
      const len = 1 + (n % 300);
      const need = (4 + len + 3) & ~3;
      for (;;) {
        const tail = Atomics.load(ctl, 1) >>> 0;
        const used = (head - tail) >>> 0;
        const pos = head & (capacity - 1);
        const skip = need > capacity - pos ? capacity - pos : 0;
        if (used + skip + need <= capacity) {
          let at = pos;
          if (skip) { dv.setUint32(pos, 0xffffffff, true); head = (head + skip) >>> 0; at = 0; }
          dv.setUint32(at, len, true);
          for (let i = 0; i < len; i++) bytes[at + 4 + i] = (n + i) & 0xff;
          head = (head + need) >>> 0;
          Atomics.store(ctl, 0, head | 0);
          Atomics.add(ctl, 2, 1);
          Atomics.notify(ctl, 2);
          break;
        }
        Atomics.wait(ctl, 1, Atomics.load(ctl, 1), 1);
      }
    }`;
  const w = new Worker(src, { eval: true, workerData: { sab: mem.sab, capacity: mem.capacity, total, ctlBytes: CTL_BYTES } });
  const c = new RingConsumer(mem);
  let got = 0;
  let bad = 0;
  while (got < total) {
    const seen = c.signal();
    for (;;) {
      const off = c.peek();
      if (off < 0) break;
      const len = c.frameLength(off);
      if (len !== 1 + (got % 300)) bad++;
      if (c.bytes[off] !== (got & 0xff) || c.bytes[off + len - 1] !== ((got + len - 1) & 0xff)) bad++;
      c.release(off);
      got++;
    }
    c.flushRelease();
    if (got < total) {
      const r = Atomics.waitAsync(c.signalWord(), 2, seen, 1000);
      if (r.async) await r.value;
    }
  }
  await w.terminate();
  assert.is(got, total);
  assert.is(bad, 0);
});

test.run();
