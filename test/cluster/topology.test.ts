// Topology rules and formats: slot ownership bookkeeping, "highest config epoch wins" claims,
// UPDATE targets, config-epoch collision resolution, CLUSTER NODES lines exactly as Redis 7 prints
// them, nodes.conf round trips and errors naming file and line, and the admin commands' exact errors.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SLOT_BITMAP_BYTES, type BusMessage } from '../../src/cluster/bus-messages.js';
import { ClusterNode } from '../../src/cluster/cluster-node.js';
import type { LinkRef, Transport } from '../../src/cluster/gossip.js';
import { parseNodesConfig } from '../../src/cluster/nodes-file.js';
import { FLAG_FAIL, FLAG_MASTER, FLAG_MYSELF, FLAG_PFAIL, Topology, type TopoNode } from '../../src/cluster/topology.js';
import { ReplyError } from '../../src/core/errors.js';
import { mulberry32 } from './sim.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const T0 = 1_700_000_000_000;

function bitmap(slots: number[]): Uint8Array {
  const b = new Uint8Array(SLOT_BITMAP_BYTES);
  for (const s of slots) b[s >> 3]! |= 1 << (s & 7);
  return b;
}

function three(): { t: Topology; b: TopoNode; c: TopoNode } {
  const t = new Topology(A, T0);
  t.setAddress(t.myself, '127.0.0.1', 7000, 17000);
  const b = t.createNode(B, FLAG_MASTER, T0);
  t.setAddress(b, '127.0.0.1', 7001, 17001);
  t.addNode(b);
  const c = t.createNode(C, FLAG_MASTER, T0);
  t.setAddress(c, '127.0.0.1', 7002, 17002);
  t.addNode(c);
  return { t, b, c };
}

test('slot ownership: assign, move, unassign, ranges, invariants', () => {
  const { t, b } = three();
  for (const s of [0, 1, 2, 5, 16383]) t.assignSlot(s, t.myself);
  assert.equal(t.slotRanges(t.myself), [[0, 2], [5, 5], [16383, 16383]]);
  assert.is(t.myself.numSlots, 5);
  assert.ok(t.assignSlot(5, b));
  assert.not.ok(t.assignSlot(5, b));
  assert.is(t.myself.numSlots, 4);
  assert.is(t.ownerOf(5), b);
  assert.ok(t.unassignSlot(5));
  assert.not.ok(t.unassignSlot(5));
  assert.is(t.ownerOf(5), null);
  t.checkInvariants();
  t.assignSlot(9, b);
  t.delNode(B);
  assert.is(t.ownerOf(9), null);
  t.checkInvariants();
});

test('claims: the higher config epoch wins, unassigned slots are taken, importing slots are not', () => {
  const { t, b, c } = three();
  t.myself.configEpoch = 3;
  b.configEpoch = 5;
  for (const s of [0, 1, 2]) t.assignSlot(s, t.myself);
  t.assignSlot(10, b);
  t.importing.set(20, B);
  // c claims with epoch 4: takes my slots (epoch 3) and free slots, not b's (epoch 5) nor slot 20.
  const r = t.applyClaims(c, 4, bitmap([0, 1, 10, 11, 20]));
  assert.equal(r, { changed: 3, lostMine: true });
  assert.is(t.ownerOf(0), c);
  assert.is(t.ownerOf(1), c);
  assert.is(t.ownerOf(2), t.myself);
  assert.is(t.ownerOf(10), b);
  assert.is(t.ownerOf(11), c);
  assert.is(t.ownerOf(20), null);
  // c's stale claim on slot 10 is answered with an UPDATE about b.
  assert.is(t.staleClaimWinner(c, 4, bitmap([0, 10])), b);
  assert.is(t.staleClaimWinner(c, 6, bitmap([0, 10])), null);
  // The same epoch does not take a slot (only a greater one).
  assert.equal(t.applyClaims(c, 5, bitmap([10])), { changed: 0, lostMine: false });
  t.checkInvariants();
});

test('CLUSTER NODES lines are formatted exactly as Redis 7', () => {
  const { t, b, c } = three();
  t.myself.configEpoch = 1;
  for (const s of [1, 2, 3, 5]) t.assignSlot(s, t.myself);
  for (let s = 100; s <= 200; s++) t.assignSlot(s, b);
  b.pongRecvMs = 1795550798718;
  b.configEpoch = 2;
  b.linkUp = true;
  t.migrating.set(5, B);
  t.importing.set(150, B);
  c.flags |= FLAG_PFAIL;
  c.pingSentMs = 1795550805746;
  c.hostname = 'c.example';
  assert.is(t.nodeLine(b), `${B} 127.0.0.1:7001@17001 master - 0 1795550798718 2 connected 100-200\n`);
  assert.is(t.nodeLine(t.myself), `${A} 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 1-3 5 [5->-${B}] [150-<-${B}]\n`);
  assert.is(t.nodeLine(c), `${C} 127.0.0.1:7002@17002,c.example master,fail? - 1795550805746 0 0 disconnected\n`);
  c.flags = 0;
  assert.match(t.nodeLine(c), ' noflags - ');
});

test('tls-cluster: the plain port (pport) is kept beside the TLS one; plain lines and addresses use it', () => {
  const { t, b, c } = three();
  t.setPport(b, 6001);
  assert.is(b.plainAddress, '127.0.0.1:6001');
  assert.is(b.address, '127.0.0.1:7001');
  // A node without a plain port (TLS only) gives its TLS port to plain clients too, as Redis does.
  assert.is(c.plainAddress, '127.0.0.1:7002');
  assert.is(t.nodeLine(b, true).split(' ')[1], '127.0.0.1:6001@17001');
  assert.is(t.nodeLine(c, true).split(' ')[1], '127.0.0.1:7002@17002');
  // nodes.conf keeps the announced (TLS) port.
  assert.ok(t.configText().includes(`${B} 127.0.0.1:7001@17001 `));
  // A new address keeps the plain port; a plain port of 0 falls back to the address.
  t.setAddress(b, '10.0.0.2', 7001, 17001);
  assert.is(b.plainAddress, '10.0.0.2:6001');
  t.setPport(b, 0);
  assert.is(b.plainAddress, '10.0.0.2:7001');
});

test('nodes.conf round-trips and keeps identity, slots, open slots and epochs', () => {
  const { t, b } = three();
  t.myself.configEpoch = 7;
  t.currentEpoch = 9;
  t.lastVoteEpoch = 4;
  for (const s of [0, 1, 2, 16383]) t.assignSlot(s, t.myself);
  t.assignSlot(77, b);
  b.flags |= FLAG_FAIL;
  t.migrating.set(1, B);
  t.importing.set(77, B);
  const text = t.configText();
  assert.ok(text.endsWith('vars currentEpoch 9 lastVoteEpoch 4\n'));
  const back = parseNodesConfig(text, 'nodes.conf', T0 + 5);
  assert.is(back.myself.id, A);
  assert.is(back.myself.flags, FLAG_MYSELF | FLAG_MASTER);
  assert.is(back.configText(), text);
  assert.is(back.ownerOf(16383), back.myself);
  assert.is(back.ownerOf(77)?.id, B);
  assert.ok((back.get(B)!.flags & FLAG_FAIL) !== 0);
  assert.is(back.currentEpoch, 9);
  assert.is(back.migrating.get(1), B);
  back.checkInvariants();
});

test('nodes.conf errors name the file and the line', () => {
  const good = `${A} 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-10\nvars currentEpoch 1 lastVoteEpoch 0\n`;
  assert.is(parseNodesConfig(good, 'f', T0).myself.numSlots, 11);
  const bad: Array<[string, RegExp]> = [
    [`${A} 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-99999\n`, /^f:1: slot 99999 is out of range/],
    [`\n${A} 127.0.0.1:7000@17000 myself,bogus - 0 0 1 connected\n`, /^f:2: bad flags/],
    [`${A} 127.0.0.1:7000 myself,master - 0 0 1 connected\n`, /^f:1: bad address/],
    [`xyz 127.0.0.1:7000@17000 myself,master - 0 0 1 connected\n`, /^f:1: bad node id/],
    [`${A} 127.0.0.1:7000@17000 myself,master - 0 0\n`, /^f:1: expected at least 8 fields/],
    [`${A} 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 5\n${B} 127.0.0.1:7001@17001 master - 0 0 2 connected 5\n`, /^f:2: slot 5 is already assigned on line 1/],
    [`${B} 127.0.0.1:7001@17001 master - 0 0 2 connected\n`, /^f: expected exactly one node flagged myself/],
    [`vars currentEpoch x\n`, /^f:1: /],
    ['garbage\n', /^f:1: /],
  ];
  for (const [text, re] of bad) {
    try {
      parseNodesConfig(text, 'f', T0);
      assert.unreachable(`accepted: ${text}`);
    } catch (e) {
      assert.match((e as Error).message, re);
    }
  }
});

// --- ClusterNode with a recording transport --------------------------------------------------------

interface Sent {
  to: string;
  msg: BusMessage;
}

function node(id: string, opts: { configFile?: string } = {}): { n: ClusterNode; sent: Sent[] } {
  const sent: Sent[] = [];
  const transport: Transport = {
    send: (to, msg) => sent.push({ to: to.id, msg }),
    reply: (_link, msg) => sent.push({ to: 'reply', msg }),
    disconnect: () => {},
    rename: () => {},
  };
  const rnd = mulberry32(parseInt(id, 16) + 1);
  let first = true;
  const n = new ClusterNode({
    port: 7000, busPort: 17000, bindHost: '127.0.0.1', announceIp: '127.0.0.1', configFile: opts.configFile ?? '',
    nodeTimeoutMs: 1000, requireFullCoverage: true, log: pino({ level: 'silent' }), clock: () => T0,
    // The first draw makes the node id start with `id` (tests need to order ids).
    random: () => (first ? ((first = false), parseInt(id, 16) / 16 + 0.001) : rnd()),
  }, { transport });
  return { n, sent };
}

function replyError(f: () => void, text: string): void {
  try {
    f();
    assert.unreachable(`no error, expected ${text}`);
  } catch (e) {
    assert.instance(e, ReplyError);
    assert.is((e as ReplyError).reply, text);
  }
}

test('admin changes reply Redis 7 errors', () => {
  const { n } = node('1');
  const Z = '0'.repeat(40);
  n.addSlots([1, 2, 3]);
  replyError(() => n.addSlots([4, 2]), 'ERR Slot 2 is already busy');
  assert.not.ok(n.ownsSlot(4), 'nothing is applied when one slot fails');
  replyError(() => n.delSlots([1000]), 'ERR Slot 1000 is already unassigned');
  replyError(() => n.addSlots([16384]), 'ERR Invalid or out of range slot');
  replyError(() => n.forget(Z), `ERR Unknown node ${Z}`);
  replyError(() => n.forget('abc'), 'ERR Unknown node abc');
  replyError(() => n.forget(n.myId), "ERR I tried hard but I can't forget myself...");
  replyError(() => n.setSlotNode(150, Z), `ERR Unknown node ${Z}`);
  replyError(() => n.setSlotMigrating(100, Z), "ERR I'm not the owner of hash slot 100");
  replyError(() => n.setSlotMigrating(3, Z), `ERR I don't know about node ${Z}`);
  replyError(() => n.setSlotImporting(1, Z), "ERR I'm already the owner of hash slot 1");
  replyError(() => n.setSlotImporting(300, Z), `ERR I don't know about node ${Z}`);
  replyError(() => n.meet('1.2.3', 5), 'ERR Invalid node address specified: 1.2.3:5');
  replyError(() => n.meet('localhost', 5), 'ERR Invalid node address specified: localhost:5');
  assert.is(n.bumpEpoch(), 'BUMPED 1');
  assert.is(n.bumpEpoch(), 'STILL 1');
  replyError(() => n.setConfigEpoch(5), 'ERR Node config epoch is already non-zero');
  n.meet('127.0.0.1', 7001);
  replyError(() => n.setConfigEpoch(5), 'ERR The user can assign a config epoch only when the node does not know any other node.');
  assert.is(n.state(), 'fail');
  const info = n.info();
  assert.is(info.cluster_slots_assigned, 3);
  assert.is(info.cluster_known_nodes, 2);
  assert.is(info.cluster_size, 1);
  assert.is(info.cluster_my_epoch, 1);
});

test('a full single-node cluster is ok; listeners hear about slot changes; reset forgets', () => {
  const { n } = node('2');
  let calls = 0;
  n.onSlotsChanged(() => calls++);
  n.addSlots(Array.from({ length: 16384 }, (_, i) => i));
  assert.is(n.state(), 'ok');
  assert.is(calls, 1);
  assert.is(n.slotAddress(42), '127.0.0.1:7000');
  n.delSlots([42]);
  assert.is(n.state(), 'fail');
  assert.is(n.slotAddress(42), null);
  assert.is(calls, 2);
  const id = n.myId;
  n.setConfigEpoch(3);
  n.reset(false);
  assert.is(n.myId, id);
  assert.is(n.myself().configEpoch, 3);
  assert.equal(n.myself().slots, []);
  n.reset(true);
  assert.is.not(n.myId, id);
  assert.is(n.currentEpoch(), 0);
});

function pingFrom(other: ClusterNode): BusMessage {
  const t = other.topology;
  return {
    type: 'ping', sender: other.myId, primaryId: null, port: t.myself.port, cport: t.myself.cport, flags: FLAG_MASTER,
    mflags: 0, currentEpoch: t.currentEpoch, configEpoch: t.myself.configEpoch, offset: 0, slots: t.myself.slotBits.slice(), ip: '127.0.0.2', hostname: '', gossip: [],
  };
}

function introduce(a: ClusterNode, b: ClusterNode): void {
  // Put b into a's table as a known primary (as a finished handshake would).
  const t = a.topology;
  const n = t.createNode(b.myId, FLAG_MASTER, T0);
  t.setAddress(n, '127.0.0.2', 7000, 17000);
  t.addNode(n);
}

test('config epoch collision: the node with the smaller id takes a new epoch', () => {
  const small = node('1').n;
  const big = node('e').n;
  assert.ok(small.myId < big.myId);
  introduce(small, big);
  introduce(big, small);
  const link: LinkRef = { outNodeId: null, localIp: '127.0.0.1', peerIp: '127.0.0.2' };
  big.receive(link, pingFrom(small));
  assert.is(big.myself().configEpoch, 0, 'the bigger id keeps its epoch');
  small.receive(link, pingFrom(big));
  assert.is(small.myself().configEpoch, 1);
  assert.is(small.currentEpoch(), 1);
});

test('a claim with a newer epoch takes my slots and is saved; a stale claim gets an UPDATE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-topo-'));
  try {
    const file = join(dir, 'nodes.conf');
    const me = node('1', { configFile: file });
    const other = node('e').n;
    introduce(me.n, other);
    me.n.addSlots([1, 2, 3]);
    let changes = 0;
    me.n.onSlotsChanged(() => changes++);
    other.addSlots([2, 3, 4]);
    other.topology.myself.configEpoch = 5;
    const link: LinkRef = { outNodeId: null, localIp: '127.0.0.1', peerIp: '127.0.0.2' };
    me.n.receive(link, pingFrom(other));
    assert.ok(me.n.ownsSlot(1));
    assert.not.ok(me.n.ownsSlot(2));
    assert.is(me.n.slotAddress(4), '127.0.0.2:7000');
    assert.is(changes, 1);
    me.n.flushConfig(); // what the server does before writing replies, and a setImmediate otherwise
    assert.match(readFileSync(file, 'utf8'), ` 5 disconnected 2-4\n`);
    // Now a third node claims slot 3 with epoch 1: it is told about the owner with epoch 5.
    const third = node('3').n;
    introduce(me.n, third);
    third.addSlots([3]);
    third.topology.myself.configEpoch = 1;
    me.sent.length = 0;
    me.n.receive(link, pingFrom(third));
    const update = me.sent.find((s) => s.msg.type === 'update');
    assert.ok(update && update.to === third.myId && update.msg.type === 'update' && update.msg.nodeId === other.myId && update.msg.nodeConfigEpoch === 5);
    assert.is(me.n.slotAddress(3), '127.0.0.2:7000');
    // A restarted node keeps its identity and slots.
    const again = node('9', { configFile: file }).n;
    assert.is(again.myId, me.n.myId);
    assert.ok(again.ownsSlot(1));
    assert.is(again.node(other.myId)?.configEpoch, 5);
    writeFileSync(file, 'nonsense\n');
    assert.throws(() => node('9', { configFile: file }), /nodes\.conf:1: /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
