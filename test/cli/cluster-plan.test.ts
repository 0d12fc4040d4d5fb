// The pure parts of `tessera cluster`: slot allocation for create, rebalance / reshard / drain
// plans (evenness, weights, threshold, plan text, no slot moved twice), new primaries for the
// replicas of a node being removed, CLUSTER NODES parsing, redis-cli's config signature, and
// argument parsing.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UsageError, parseAddress, parseArgs } from '../../src/cli/cluster/args.js';
import {
  allocateSlots,
  checkPlan,
  formatPlan,
  groupMoves,
  planDrain,
  planRebalance,
  planReshard,
  type PlanNode,
  type SlotMove,
} from '../../src/cli/cluster/plan.js';
import { assignReplicas, planReplicaMoves } from '../../src/cli/cluster/plan.js';
import { SLOT_COUNT, countRanges, formatRanges, toRanges } from '../../src/cli/cluster/slots.js';
import { configSignature, parseClusterNodes } from '../../src/cli/cluster/topology.js';

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const node = (id: string, slots: number[], weight = 1): PlanNode => ({ id, slots, weight });

/** Slot counts per node after applying `moves`. */
function after(nodes: readonly PlanNode[], moves: readonly SlotMove[]): Map<string, number[]> {
  const owned = new Map(nodes.map((n) => [n.id, new Set(n.slots)]));
  for (const m of moves) {
    owned.get(m.from)!.delete(m.slot);
    owned.get(m.to)!.add(m.slot);
  }
  return new Map([...owned].map(([id, s]) => [id, [...s].sort((a, b) => a - b)]));
}

test('allocateSlots: redis-cli ranges, contiguous, complete, sizes within one', () => {
  assert.equal(allocateSlots(3), [[0, 5460], [5461, 10922], [10923, 16383]]);
  assert.equal(allocateSlots(1), [[0, 16383]]);
  for (const n of [2, 3, 4, 5, 7, 10, 64, 1000]) {
    const ranges = allocateSlots(n);
    assert.is(ranges.length, n);
    assert.is(ranges[0]![0], 0);
    assert.is(ranges[n - 1]![1], SLOT_COUNT - 1);
    for (let i = 1; i < n; i++) assert.is(ranges[i]![0], ranges[i - 1]![1] + 1, `n=${n} gap at ${i}`);
    const sizes = ranges.map(([a, b]) => b - a + 1);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `n=${n} sizes ${Math.min(...sizes)}..${Math.max(...sizes)}`);
    assert.is(countRanges(ranges), SLOT_COUNT);
  }
  assert.throws(() => allocateSlots(0), RangeError);
});

test('rebalance by slots: an empty node joins (use-empty-masters), counts end within one', () => {
  const nodes = [node('a', range(0, 5460)), node('b', range(5461, 10922)), node('c', range(10923, 16383)), node('d', [])];
  const plan = planRebalance(nodes, { thresholdPct: 2, useEmptyMasters: true });
  assert.ok(plan.needed);
  checkPlan(nodes, plan.moves);
  const counts = [...after(nodes, plan.moves).values()].map((s) => s.length);
  assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `counts ${counts.join(',')}`);
  assert.is(counts.reduce((x, y) => x + y, 0), SLOT_COUNT);
  // Every move goes to the empty node.
  assert.ok(plan.moves.every((m) => m.to === 'd'));
});

test('rebalance: empty masters are left out unless asked', () => {
  const nodes = [node('a', range(0, 8191)), node('b', range(8192, 16383)), node('d', [])];
  const plan = planRebalance(nodes, { thresholdPct: 2, useEmptyMasters: false });
  assert.not.ok(plan.needed);
  assert.equal(plan.moves, []);
});

test('rebalance: within the threshold nothing moves; beyond it, it does', () => {
  // 8292 vs 8092: about 1.2% off the expected 8192.
  const nodes = [node('a', range(0, 8291)), node('b', range(8292, 16383))];
  assert.not.ok(planRebalance(nodes, { thresholdPct: 2, useEmptyMasters: false }).needed);
  const tight = planRebalance(nodes, { thresholdPct: 1, useEmptyMasters: false });
  assert.ok(tight.needed);
  assert.is(tight.moves.length, 100);
  checkPlan(nodes, tight.moves);
  assert.equal([...after(nodes, tight.moves).values()].map((s) => s.length), [8192, 8192]);
});

test('rebalance: weights set the shares; weight 0 drains a node', () => {
  const nodes = [node('a', range(0, 5460), 2), node('b', range(5461, 10922)), node('c', range(10923, 16383))];
  const plan = planRebalance(nodes, { thresholdPct: 2, useEmptyMasters: false });
  checkPlan(nodes, plan.moves);
  const res = after(nodes, plan.moves);
  assert.ok(Math.abs(res.get('a')!.length - 8192) <= 2, `a has ${res.get('a')!.length}`);
  assert.ok(Math.abs(res.get('b')!.length - 4096) <= 2);

  const drain = [node('a', range(0, 5460), 0), node('b', range(5461, 10922)), node('c', range(10923, 16383))];
  const p2 = planRebalance(drain, { thresholdPct: 50, useEmptyMasters: false });
  checkPlan(drain, p2.moves);
  const r2 = after(drain, p2.moves);
  assert.is(r2.get('a')!.length, 0);
  assert.ok(Math.abs(r2.get('b')!.length - r2.get('c')!.length) <= 1);
});

test('rebalance by keys: hot slots spread out, no slot moved twice, load evens out', () => {
  const nodes = [node('a', range(0, 5460)), node('b', range(5461, 10922)), node('c', range(10923, 16383))];
  // Node a holds 1000 keys per slot in its first 30 slots; everything else holds 1 key.
  const load = (s: number): number => (s < 30 ? 1000 : 1);
  const plan = planRebalance(nodes, { thresholdPct: 2, useEmptyMasters: false, slotLoad: load });
  assert.ok(plan.needed);
  checkPlan(nodes, plan.moves);
  const res = after(nodes, plan.moves);
  const loads = [...res.values()].map((slots) => slots.reduce((x, s) => x + load(s), 0));
  const expected = loads.reduce((x, y) => x + y, 0) / 3;
  for (const l of loads) assert.ok(Math.abs(l - expected) / expected < 0.05, `loads ${loads.join(',')}`);
  // Only slots with load move when weighing by keys.
  assert.ok(plan.moves.every((m) => load(m.slot) > 0));
});

test('reshard: proportional to what sources hold, lowest slots first, exact count', () => {
  const nodes = [node('a', range(0, 5460)), node('b', range(5461, 10922)), node('c', range(10923, 16383)), node('d', [])];
  const moves = planReshard(nodes, 'd', 100);
  assert.is(moves.length, 100);
  checkPlan(nodes, moves);
  assert.ok(moves.every((m) => m.to === 'd'));
  const steps = groupMoves(moves);
  assert.equal(steps.map((s) => [s.from, s.count]), [['b', 34], ['a', 33], ['c', 33]]);
  assert.equal(steps[0]!.ranges, [[5461, 5494]]);
  // Odd counts still come out exact.
  for (const n of [1, 2, 7, 999, 16383 - 0]) {
    const all = [node('a', range(0, 9999)), node('b', range(10000, 16382)), node('t', [16383])];
    const m = planReshard(all, 't', Math.min(n, 16383));
    assert.is(m.length, Math.min(n, 16383));
    checkPlan(all, m);
  }
  assert.throws(() => planReshard(nodes, 'd', 20_000), RangeError);
});

test('drain: slots of the leaving node spread so counts end even, one run per receiver', () => {
  const nodes = [node('a', range(0, 4095)), node('b', range(4096, 8191)), node('c', range(8192, 12287)), node('x', range(12288, 16383))];
  const moves = planDrain(nodes[3]!, nodes.slice(0, 3));
  checkPlan(nodes, moves);
  assert.is(moves.length, 4096);
  const counts = [...after(nodes, moves).entries()].filter(([id]) => id !== 'x').map(([, s]) => s.length);
  assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, counts.join(','));
  assert.ok(groupMoves(moves).every((s) => s.ranges.length === 1));
  assert.equal(planDrain(node('e', []), nodes), []);
});

test('checkPlan refuses a slot moved twice or from a node that does not own it', () => {
  const nodes = [node('a', [1, 2]), node('b', [3])];
  assert.throws(() => checkPlan(nodes, [{ slot: 1, from: 'a', to: 'b' }, { slot: 1, from: 'b', to: 'a' }]), /twice/);
  assert.throws(() => checkPlan(nodes, [{ slot: 3, from: 'a', to: 'b' }]), /does not own/);
  assert.throws(() => checkPlan(nodes, [{ slot: 1, from: 'a', to: 'a' }]), /own node/);
});

test('dry-run plan text', () => {
  const moves: SlotMove[] = [
    ...range(0, 9).map((slot) => ({ slot, from: 'a', to: 'b' })),
    { slot: 12, from: 'a', to: 'b' },
    { slot: 20, from: 'c', to: 'b' },
  ];
  const text = formatPlan(groupMoves(moves), (id) => `node-${id}`);
  assert.is(text, 'Plan: 12 slots to move\n  Move 11 slots from node-a to node-b: 0-9,12\n  Move 1 slot from node-c to node-b: 20\n');
  assert.is(formatPlan([], String), 'Nothing to move.\n');
});

test('slot ranges', () => {
  assert.equal(toRanges([0, 1, 2, 5, 7, 8]), [[0, 2], [5, 5], [7, 8]]);
  assert.is(formatRanges(toRanges([0, 1, 2, 5, 7, 8])), '0-2,5,7-8');
  assert.is(formatRanges([]), '-');
});

const NODES_TEXT = [
  '07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,host4 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected',
  '67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922',
  '292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@31003 master - 0 1426238318243 3 connected 10923-16383',
  'e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5459 5460 [5461-<-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1] [93->-292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f]',
  '',
].join('\n');

test('parseClusterNodes: addresses, flags, slots, open slots', () => {
  const recs = parseClusterNodes(NODES_TEXT);
  assert.is(recs.length, 4);
  const me = recs[3]!;
  assert.equal([me.host, me.port, me.cport], ['127.0.0.1', 30001, 31001]);
  assert.equal(me.flags, ['myself', 'master']);
  assert.is(me.slots.length, 5461);
  assert.equal([...me.importing], [[5461, '67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1']]);
  assert.equal([...me.migrating], [[93, '292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f']]);
  assert.is(recs[0]!.primaryId, 'e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca');
  assert.is(recs[0]!.cport, 31004);
});

test("configSignature: redis-cli's format, independent of line order and open-slot marks", () => {
  const sig = configSignature(NODES_TEXT);
  assert.is(
    sig,
    '292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f:10923-16383|67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1:5461-10922|' +
      'e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca:0-5459,5460',
  );
  const reordered = NODES_TEXT.split('\n').reverse().join('\n').replace(/ \[[^\]]+\]/g, '');
  assert.is(configSignature(reordered), sig);
});

test('parseArgs: flags, values, repeats, rest, errors', () => {
  const spec = { yes: 'bool', slots: 'value', weight: 'multi' } as const;
  const a = parseArgs(['h:1', '--slots', '5', '--weight=a=1', '--weight', 'b=2', '--yes', '--', '--x', 'y'], spec, { allowRest: true });
  assert.equal(a.positionals, ['h:1']);
  assert.equal(a.flags.get('slots'), ['5']);
  assert.equal(a.flags.get('weight'), ['a=1', 'b=2']);
  assert.ok(a.flags.has('yes'));
  assert.equal(a.rest, ['--x', 'y']);
  assert.throws(() => parseArgs(['--nope'], spec), (e: unknown) => e instanceof UsageError);
  assert.throws(() => parseArgs(['--slots'], spec), (e: unknown) => e instanceof UsageError);
  assert.throws(() => parseArgs(['--slots', '1', '--slots', '2'], spec), (e: unknown) => e instanceof UsageError);
  assert.throws(() => parseArgs(['--', 'x'], spec), (e: unknown) => e instanceof UsageError);
  assert.equal(parseAddress('127.0.0.1:7000'), { host: '127.0.0.1', port: 7000 });
  assert.equal(parseAddress('[::1]:7000'), { host: '::1', port: 7000 });
  assert.throws(() => parseAddress('nohost'), (e: unknown) => e instanceof UsageError);
  assert.throws(() => parseAddress('h:99999'), (e: unknown) => e instanceof UsageError);
});

test('assignReplicas: N / (R + 1) primaries, replicas round-robin, on another host when one has room', () => {
  assert.equal(assignReplicas(['a', 'a', 'a', 'a', 'a', 'a'], 1), [-1, -1, -1, 0, 1, 2]);
  // Among the primaries with the fewest replicas, one on another host is preferred.
  assert.equal(assignReplicas(['a', 'b', 'c', 'a', 'b', 'c'], 1), [-1, -1, -1, 1, 0, 2]);
  assert.equal(assignReplicas(['h', 'h', 'h', 'h', 'h', 'h', 'h'], 1), [-1, -1, -1, 0, 1, 2, 0]);
  assert.equal(assignReplicas(['h', 'h', 'h'], 0), [-1, -1, -1]);
  assert.throws(() => assignReplicas(['h'], 1), /cannot make primaries/);
});

test('planReplicaMoves: the fewest replicas first, spread out, serving primaries before empty ones', () => {
  const homes = [
    { id: 'a', replicas: 1, serving: true },
    { id: 'b', replicas: 0, serving: false },
    { id: 'c', replicas: 0, serving: true },
  ];
  assert.equal(planReplicaMoves(['r1', 'r2', 'r3', 'r4'], homes), [
    { replica: 'r1', primary: 'c' },
    { replica: 'r2', primary: 'b' },
    { replica: 'r3', primary: 'a' },
    { replica: 'r4', primary: 'c' },
  ]);
  // Among equals, the first listed.
  assert.equal(planReplicaMoves(['r'], [{ id: 'x', replicas: 0, serving: true }, { id: 'y', replicas: 0, serving: true }]), [{ replica: 'r', primary: 'x' }]);
  assert.equal(planReplicaMoves([], []), []);
  assert.throws(() => planReplicaMoves(['r'], []), /no primary/);
});

test.run();
