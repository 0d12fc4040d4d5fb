// Pub/sub over the cluster bus, in process, with ClusterNodes on loopback TCP: three primaries and
// a replica of the first. PUBLISH reaches every other node once; SPUBLISH only the sender's shard
// (from the primary and from the replica); a slot moving away is reported lost on the old owner
// and its replica, not on the new owner; a peer that stops reading loses messages past the
// backlog bound while the publisher carries on. Polls with deadlines, never fixed sleeps.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort, until } from './net-helpers.js';
import { ClusterNode, type ClusterNodeOptions } from '../../src/cluster/cluster-node.js';
import { encodeMessage, FrameReader, isPublish, SLOT_BITMAP_BYTES } from '../../src/cluster/bus-messages.js';
import { MAX_PUBLISH_BACKLOG_BYTES, PUBLISH_LOW_WATER_BYTES } from '../../src/cluster/cluster-bus.js';
import { FLAG_MASTER } from '../../src/cluster/topology.js';
import { wireClusterPubSub, type LocalPubSub } from '../../src/cluster/pubsub-bridge.js';

const NODE_TIMEOUT_MS = 1000;
const TEST_TIMEOUT_MS = 30_000;


/** A LocalPubSub that records what the bridge hands it. */
class Recorder implements LocalPubSub {
  onPropagate: ((channel: Uint8Array, message: Uint8Array, sharded: boolean) => void) | null = null;
  readonly got: string[] = [];
  readonly lostSlots: number[][] = [];
  publishLocal(channel: Uint8Array, message: Uint8Array): number {
    this.got.push(`P ${Buffer.from(channel).toString()} ${Buffer.from(message).toString()}`);
    return 0;
  }
  spublishLocal(channel: Uint8Array, message: Uint8Array): number {
    this.got.push(`S ${Buffer.from(channel).toString()} ${Buffer.from(message).toString()}`);
    return 0;
  }
  dropShardChannels(lost: (slot: number) => boolean): void {
    const slots: number[] = [];
    for (let s = 0; s < 16384; s++) if (lost(s)) slots.push(s);
    this.lostSlots.push(slots);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tessera-cluster-pubsub-'));
const log = pino({ level: 'silent' });
const opts: ClusterNodeOptions[] = [];
const nodes: ClusterNode[] = [];
const rec: Recorder[] = [];

function converged(): boolean {
  return nodes.every((n) => n.state() === 'ok' && n.nodes().length === nodes.length && n.nodes().every((v) => v.flags.every((f) => f !== 'handshake' && f !== 'pfail' && f !== 'fail') && (v.flags.includes('myself') || v.connected)));
}

const s = suite('pub/sub over the cluster bus');
const t = (name: string, fn: () => Promise<void>): void => s(name, async () => {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([fn(), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${name}: timed out`)), TEST_TIMEOUT_MS)))]);
  } finally {
    clearTimeout(timer);
  }
});

s.before(async () => {
  for (let i = 0; i < 4; i++) {
    opts.push({
      port: await freePort(), busPort: await freePort(), bindHost: '127.0.0.1', announceIp: '',
      configFile: join(dir, `nodes-${i}.conf`), nodeTimeoutMs: NODE_TIMEOUT_MS, requireFullCoverage: true, log,
    });
  }
  for (const o of opts) {
    const n = new ClusterNode(o);
    const r = new Recorder();
    wireClusterPubSub(n, r);
    nodes.push(n);
    rec.push(r);
    await n.start();
  }
  const ranges: Array<[number, number]> = [[0, 5460], [5461, 10922], [10923, 16383]];
  ranges.forEach(([from, to], i) => nodes[i]!.addSlots(Array.from({ length: to - from + 1 }, (_, k) => from + k)));
  for (let i = 1; i < 4; i++) nodes[0]!.meet('127.0.0.1', opts[i]!.port, opts[i]!.busPort);
  await until('four nodes know each other', 10_000, converged);
  nodes[3]!.replicate(nodes[0]!.myId, 0);
  await until('node 3 is a replica of node 0 everywhere', 10_000, () => nodes.every((n) => n.node(nodes[3]!.myId)?.primaryId === nodes[0]!.myId) && converged());
});

s.after(async () => {
  for (const n of nodes) await n.stop();
  rmSync(dir, { recursive: true, force: true });
});

t('PUBLISH reaches every other node once, through onPropagate', async () => {
  for (const r of rec) r.got.length = 0;
  rec[1]!.onPropagate!(Buffer.from('news'), Buffer.from('from-1'), false);
  await until('nodes 0, 2 and 3 got it', 5000, () => [0, 2, 3].every((i) => rec[i]!.got.length > 0));
  // One more through another node, to be sure nothing else arrives in between.
  rec[3]!.onPropagate!(Buffer.from('news'), Buffer.from('from-3'), false);
  await until('nodes 0, 1 and 2 got the second', 5000, () => [0, 1, 2].every((i) => rec[i]!.got.includes('P news from-3')));
  assert.equal(rec[0]!.got, ['P news from-1', 'P news from-3']);
  assert.equal(rec[1]!.got, ['P news from-3']);
  assert.equal(rec[2]!.got, ['P news from-1', 'P news from-3']);
  assert.equal(rec[3]!.got, ['P news from-1']);
  const info = nodes[1]!.info().messages;
  assert.ok(info.some(([k, v]) => k === 'cluster_stats_messages_publish_sent' && v === 3), JSON.stringify(info));
  assert.ok(nodes[0]!.info().messages.some(([k, v]) => k === 'cluster_stats_messages_publish_received' && v >= 2));
});

t('SPUBLISH goes to the shard only: primary to replica, replica to primary', async () => {
  for (const r of rec) r.got.length = 0;
  rec[0]!.onPropagate!(Buffer.from('{a}'), Buffer.from('m1'), true);
  rec[3]!.onPropagate!(Buffer.from('{a}'), Buffer.from('m2'), true);
  // A PUBLISH sent after them reaches everyone: once it is there, the shard messages would be too.
  rec[0]!.onPropagate!(Buffer.from('end'), Buffer.from('x'), false);
  rec[3]!.onPropagate!(Buffer.from('end'), Buffer.from('y'), false);
  await until('the PUBLISHes arrived', 5000, () => rec[1]!.got.length >= 2 && rec[2]!.got.length >= 2 && rec[0]!.got.length >= 2 && rec[3]!.got.length >= 2);
  assert.equal(rec[3]!.got, ['S {a} m1', 'P end x']);
  assert.equal(rec[0]!.got, ['S {a} m2', 'P end y']);
  // From two senders, over two links: in either order.
  assert.equal([...rec[1]!.got].sort(), ['P end x', 'P end y']);
  assert.equal([...rec[2]!.got].sort(), ['P end x', 'P end y']);
});

t('a slot moving away is lost on the old owner and its replica, not on the new owner', async () => {
  for (const r of rec) r.lostSlots.length = 0;
  const [a, b] = [nodes[0]!, nodes[1]!];
  b.setSlotImporting(7, a.myId);
  a.setSlotMigrating(7, b.myId);
  b.setSlotNode(7, b.myId);
  a.setSlotNode(7, b.myId);
  assert.equal(rec[0]!.lostSlots, [[7]], 'the old owner, at once');
  await until('the replica learns the new owner', 5000, () => nodes[3]!.slotAddress(7) === `127.0.0.1:${opts[1]!.port}`);
  assert.equal(rec[3]!.lostSlots, [[7]], 'the old owner\'s replica');
  assert.equal(rec[1]!.lostSlots, [], 'the new owner lost nothing');
  assert.equal(rec[2]!.lostSlots, [], 'a bystander lost nothing');
});

t('a peer that stops reading loses messages past the backlog bound; the publisher carries on', async () => {
  // A fake node: answers the MEET with a PONG naming itself (so that it becomes a known node),
  // then never reads again.
  const fakeId = 'f'.repeat(40);
  const fakePort = await freePort();
  const fakeBus = await freePort();
  const sockets: Socket[] = [];
  let fakeGot = 0;
  let stalled: (() => void) | null = null;
  // The fake counts pub/sub frames only once it reads again (its link may be reset meanwhile, as
  // it answers no ping: what it then gets is at most what was sent).
  let paused = false;
  const fake: Server = createServer((sock) => {
    sockets.push(sock);
    sock.on('error', () => undefined);
    // Links made while it is stalled (a link reset after a ping timeout) are stalled too.
    if (paused) sock.pause();
    const reader = new FrameReader();
    sock.on('data', (chunk: Buffer) => {
      for (const m of reader.push(chunk)) {
        if (isPublish(m)) {
          fakeGot++;
          continue;
        }
        if (m.type !== 'meet' && m.type !== 'ping') continue;
        sock.write(encodeMessage({
          sender: fakeId, primaryId: null, port: fakePort, cport: fakeBus, flags: FLAG_MASTER, mflags: 0, currentEpoch: 0, configEpoch: 0, offset: 0,
          slots: new Uint8Array(SLOT_BITMAP_BYTES), ip: '127.0.0.1', hostname: '', type: 'pong', gossip: [],
        }));
      }
    });
  });
  await new Promise<void>((resolve) => fake.listen(fakeBus, '127.0.0.1', resolve));
  const pub = nodes[2]!;
  try {
    pub.meet('127.0.0.1', fakePort, fakeBus);
    await until('the fake node is known and its link up', 5000, () => pub.node(fakeId)?.connected === true);
    // From now on the fake reads nothing (the kernel buffers fill, then the link's backlog).
    paused = true;
    for (const sock of sockets) sock.pause();
    stalled = () => {
      paused = false;
      for (const sock of sockets) sock.resume();
    };
    for (const r of rec) r.got.length = 0;
    const before = pub.droppedPublish;
    const message = Buffer.alloc(4096, 97);
    const total = 16_000; // 64 MiB, far past what the socket buffers and the bound hold
    const t0 = Date.now();
    let maxUnsent = 0;
    for (let i = 0; i < total; i++) {
      pub.publish(Buffer.from('flood'), message, false);
      maxUnsent = Math.max(maxUnsent, pub.linkUnsentBytes(fakeId));
      // Let the (in-process) live nodes read, as they would in their own processes.
      if (i % 8 === 7) await new Promise((resolve) => setImmediate(resolve));
    }
    const elapsedMs = Date.now() - t0;
    await until('the live nodes got the flood', 20_000, () => [0, 1, 3].every((i) => rec[i]!.got.length === total));
    const dropped = pub.droppedPublish - before;
    assert.ok(dropped > 0, 'nothing dropped');
    // The live nodes got everything: every drop was the stalled peer's. What its link held in user
    // space stayed within the bound (the rest of what was sent sits in kernel buffers, one set per
    // connection: a link reset after a ping timeout opens another).
    const frameBytes = message.length + 64;
    console.log(`  ${total} x 4 KiB published in ${elapsedMs} ms; to the stalled peer ${dropped} dropped, ${total - dropped} sent; its link held at most ${(maxUnsent / 1048576).toFixed(2)} MiB (queue bound ${MAX_PUBLISH_BACKLOG_BYTES / 1048576} MiB)`);
    // The queue's bound, plus what the socket holds (the low-water mark, one frame past it, and
    // heartbeats of 2 KiB each).
    assert.ok(maxUnsent > 0 && maxUnsent <= MAX_PUBLISH_BACKLOG_BYTES + PUBLISH_LOW_WATER_BYTES + frameBytes + 64 * 1024, `the stalled link held ${maxUnsent} bytes`);
    stalled();
    assert.ok(fakeGot <= total - dropped);
  } finally {
    stalled?.();
    for (const sock of sockets) sock.destroy();
    await new Promise<void>((resolve) => fake.close(() => resolve()));
  }
});

s.run();
