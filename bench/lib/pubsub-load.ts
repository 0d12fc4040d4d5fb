// PUBLISH fan-out, counted at the receiving end: S subscriber connections SUBSCRIBE to one channel,
// then one publisher connection sends N PUBLISHes, P per write, each batch's replies awaited before
// the next (closed loop). Every message arrives as the same RESP2 frame, so a subscriber counts its
// deliveries by bytes and checks them with memcmp against the expected stream (no decoding, so the
// client costs little next to the server). The run ends when every subscriber holds all N messages;
// the rate is N x S over that time. The publisher never runs more than `windowMessages` ahead of the
// slowest subscriber, so that no server queues more than that per subscriber (Redis disconnects a
// subscriber whose output passes its pubsub client-output-buffer-limit); a stall fails the run.

import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { framesIn, percentile } from './scripting-math.js';
import { encodeCommand } from './resp-client.js';
import { messageFrame, publishReply, subscribeReply } from './scripting-data.js';
import { open } from './unit-load.js';

export interface PublishLoadOptions {
  port: number;
  subscribers: number;
  /** PUBLISHes per write (-P). */
  pipeline: number;
  publishes: number;
  channel: string;
  message: Buffer;
  /** Most messages the publisher may be ahead of the slowest subscriber (default 2000). */
  windowMessages?: number;
  /** A run where nothing moves for this long fails (default 20 s). */
  stallMs?: number;
}

export interface PublishLoadResult {
  publishes: number;
  subscribers: number;
  delivered: number;
  elapsedMs: number;
  deliveredPerSec: number;
  publishesPerSec: number;
  /** PUBLISH batch round trips (P commands), ms. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}


/** `unit` repeated until the buffer holds at least `minBytes` (and one more unit, for offsets). */
function repeated(unit: Buffer, minBytes: number): Buffer {
  return Buffer.alloc((Math.ceil(minBytes / unit.length) + 1) * unit.length, unit);
}

/**
 * Checks a stream of identical frames piece by piece with memcmp: `check(chunk)` returns false at the
 * first byte that differs from the frame stream; `bytes` counts what was checked.
 */
export class FrameStream {
  bytes = 0;
  readonly #frame: Buffer;
  readonly #pattern: Buffer;
  readonly #span: number;

  constructor(frame: Buffer) {
    this.#frame = frame;
    this.#pattern = repeated(frame, 64 * 1024);
    this.#span = this.#pattern.length - frame.length;
  }

  check(chunk: Buffer): boolean {
    let at = 0;
    while (at < chunk.length) {
      const phase = this.bytes % this.#frame.length;
      const n = Math.min(chunk.length - at, this.#span);
      if (chunk.compare(this.#pattern, phase, phase + n, at, at + n) !== 0) return false;
      at += n;
      this.bytes += n;
    }
    return true;
  }
}

/** A subscriber connection, subscribed: resolves once the server confirmed the SUBSCRIBE. */
async function subscribe(port: number, channel: string, timeoutMs: number): Promise<Socket> {
  const socket = await open(port);
  const expect = subscribeReply(channel);
  let got = Buffer.alloc(0);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no SUBSCRIBE reply within ${timeoutMs} ms`)), timeoutMs);
      const onData = (chunk: Buffer): void => {
        got = Buffer.concat([got, chunk]);
        if (got.length < expect.length && expect.subarray(0, got.length).equals(got)) return;
        clearTimeout(timer);
        socket.off('data', onData);
        if (got.equals(expect)) resolve();
        else reject(new Error(`SUBSCRIBE replied ${JSON.stringify(got.toString('latin1').slice(0, 200))}`));
      };
      socket.on('data', onData);
      socket.once('close', () => reject(new Error('connection closed before the SUBSCRIBE reply')));
      socket.write(encodeCommand(['SUBSCRIBE', channel]));
    });
  } catch (err) {
    socket.destroy();
    throw err;
  }
  socket.removeAllListeners('close');
  return socket;
}

/** Runs one fan-out; rejects on a wrong byte (quoting it), a lost connection or a stall. */
export async function runPublishLoad(o: PublishLoadOptions): Promise<PublishLoadResult> {
  if (o.subscribers < 1 || o.pipeline < 1 || o.publishes < 1) throw new Error('runPublishLoad: subscribers, pipeline and publishes must be >= 1');
  const stallMs = o.stallMs ?? 20_000;
  const window = Math.max(o.pipeline, o.windowMessages ?? 2000);
  const frame = messageFrame(o.channel, o.message);
  const reply = publishReply(o.subscribers);
  const subs: Socket[] = [];
  let publisher: Socket | null = null;
  let watchdog: NodeJS.Timeout | undefined;
  try {
    for (let i = 0; i < o.subscribers; i++) subs.push(await subscribe(o.port, o.channel, stallMs));
    publisher = await open(o.port);
    const pub = publisher;
    const fullBatch = Buffer.concat(Array.from({ length: o.pipeline }, () => encodeCommand(['PUBLISH', o.channel, o.message])));
    const latencies = new Float64Array(Math.ceil(o.publishes / o.pipeline));
    let recorded = 0;
    const received = subs.map(() => new FrameStream(frame));
    const replies = new FrameStream(reply);
    let sent = 0;
    let awaiting = 0;
    let sentAt = 0;
    let blocked = false;
    let finishedSubs = 0;
    let lastProgress = performance.now();
    const started = performance.now();
    const slowest = (): number => {
      let min = Infinity;
      for (const r of received) min = Math.min(min, framesIn(r.bytes, frame.length));
      return min;
    };

    const result = await new Promise<number>((resolve, reject) => {
      const fail = (why: string): void => reject(new Error(why));
      const maybeDone = (): void => {
        if (finishedSubs === subs.length && sent === o.publishes && awaiting === 0) resolve(performance.now());
      };
      const send = (): void => {
        if (sent - slowest() + o.pipeline > window) {
          blocked = true;
          return;
        }
        blocked = false;
        const n = Math.min(o.pipeline, o.publishes - sent);
        sent += n;
        awaiting = n;
        sentAt = performance.now();
        pub.write(n === o.pipeline ? fullBatch : fullBatch.subarray(0, (fullBatch.length / o.pipeline) * n));
      };
      pub.on('data', (chunk: Buffer) => {
        if (!replies.check(chunk)) {
          fail(`PUBLISH replied ${JSON.stringify(chunk.toString('latin1').slice(0, 100))}, expected ${JSON.stringify(reply.toString('latin1'))}`);
          return;
        }
        const done = framesIn(replies.bytes, reply.length);
        awaiting = sent - done;
        if (awaiting > 0) return;
        lastProgress = performance.now();
        if (recorded < latencies.length) latencies[recorded++] = lastProgress - sentAt;
        if (sent < o.publishes) send();
        else maybeDone();
      });
      subs.forEach((s, i) => {
        const r = received[i] as FrameStream;
        s.on('data', (chunk: Buffer) => {
          const before = r.bytes;
          if (!r.check(chunk)) {
            fail(`subscriber ${i} got ${JSON.stringify(chunk.toString('latin1').slice(0, 100))} after ${framesIn(before, frame.length)} messages`);
            return;
          }
          lastProgress = performance.now();
          const have = framesIn(r.bytes, frame.length);
          if (have > o.publishes) {
            fail(`subscriber ${i} got ${have} messages, more than the ${o.publishes} published`);
            return;
          }
          if (have === o.publishes && framesIn(before, frame.length) < o.publishes) {
            finishedSubs++;
            maybeDone();
          }
          if (blocked && awaiting === 0) send();
        });
      });
      for (const s of [pub, ...subs]) {
        s.on('error', (err) => fail(err.message));
        s.on('close', () => fail('a connection closed during the run'));
      }
      watchdog = setInterval(() => {
        const idle = performance.now() - lastProgress;
        if (idle > stallMs) {
          fail(`nothing moved for ${Math.round(idle)} ms: ${sent} published, ${framesIn(replies.bytes, reply.length)} replies,`
            + ` slowest subscriber at ${slowest()} messages`);
        }
      }, Math.min(1000, stallMs));
      send();
    });
    const elapsedMs = result - started;
    const lat = latencies.subarray(0, recorded).sort();
    const delivered = o.publishes * o.subscribers;
    return {
      publishes: o.publishes, subscribers: o.subscribers, delivered, elapsedMs,
      deliveredPerSec: (delivered * 1000) / elapsedMs, publishesPerSec: (o.publishes * 1000) / elapsedMs,
      p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99), maxMs: lat[lat.length - 1] ?? NaN,
    };
  } finally {
    clearInterval(watchdog);
    for (const s of subs) {
      s.removeAllListeners('close');
      s.destroy();
    }
    publisher?.removeAllListeners('close');
    publisher?.destroy();
  }
}
