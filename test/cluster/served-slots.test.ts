// ServedSlots (which slots a node stops serving for sharded pub/sub) on a Topology, in every role
// of Redis 7.0's clusterDelSlot rule: a slot moving away, a failover seen by the old primary, by the
// winner (keeps its channels) and by a sibling replica (drops them), DELSLOTS, and a replica that
// changes primary.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ServedSlots } from '../../src/cluster/served-slots.js';
import { FLAG_MASTER, Topology, type TopoNode } from '../../src/cluster/topology.js';

const P = 'a'.repeat(40);
const R1 = 'b'.repeat(40);
const R2 = 'c'.repeat(40);
const Q = 'd'.repeat(40);
const T0 = 1_700_000_000_000;

/** The same four nodes (P with replicas R1 and R2, and Q) seen from `me`; P owns 0..9, Q 10..19. */
function cluster(me: string): { t: Topology; n: Record<string, TopoNode> } {
  const t = new Topology(me, T0);
  const n: Record<string, TopoNode> = { [me]: t.myself };
  for (const id of [P, R1, R2, Q]) {
    if (id === me) continue;
    const x = t.createNode(id, FLAG_MASTER, T0);
    t.addNode(x);
    n[id] = x;
  }
  t.setAsPrimary(n[P]!);
  t.setAsPrimary(n[Q]!);
  t.setAsReplica(n[R1]!, P);
  t.setAsReplica(n[R2]!, P);
  for (let s = 0; s < 10; s++) t.assignSlot(s, n[P]!);
  for (let s = 10; s < 20; s++) t.assignSlot(s, n[Q]!);
  return { t, n };
}

function lostOf(served: ServedSlots, t: Topology): number[] {
  const count = served.update(t);
  const out: number[] = [];
  for (let s = 0; s < 16384; s++) if (served.lost(s)) out.push(s);
  assert.is(out.length, count);
  return out;
}

/** R1 wins the failover: it turns primary, then claims P's slots; P and R2 follow R1. */
function failover(t: Topology, n: Record<string, TopoNode>): void {
  t.setAsPrimary(n[R1]!);
  for (let s = 0; s < 10; s++) t.assignSlot(s, n[R1]!);
  t.setAsReplica(n[P]!, R1);
  t.setAsReplica(n[R2]!, R1);
}

test('a node serves its own slots and, as a replica, its primary\'s', () => {
  for (const me of [P, R1]) {
    const { t } = cluster(me);
    const served = new ServedSlots(t);
    assert.ok(served.serves(0) && served.serves(9) && !served.serves(10), me);
    assert.equal(lostOf(served, t), [], 'nothing changed');
  }
  const { t } = cluster(Q);
  assert.ok(!new ServedSlots(t).serves(0));
});

test('a slot moving to another primary is lost by its owner and the owner\'s replicas only', () => {
  for (const [me, lost] of [[P, [3]], [R1, [3]], [R2, [3]], [Q, []]] as const) {
    const { t, n } = cluster(me);
    const served = new ServedSlots(t);
    t.assignSlot(3, n[Q]!);
    assert.equal(lostOf(served, t), [...lost], me);
  }
});

test('failover: the old primary and a sibling replica drop the slots, the winner keeps them', () => {
  for (const [me, lost] of [[P, 10], [R2, 10], [R1, 0], [Q, 0]] as const) {
    const { t, n } = cluster(me);
    const served = new ServedSlots(t);
    failover(t, n);
    assert.is(lostOf(served, t).length, lost, me);
    assert.is(served.serves(0), me !== Q, `${me} serves slot 0 afterwards`);
  }
});

test('DELSLOTS and a replica that changes primary lose the slots', () => {
  {
    const { t } = cluster(P);
    const served = new ServedSlots(t);
    t.unassignSlot(0);
    assert.equal(lostOf(served, t), [0]);
  }
  {
    const { t, n } = cluster(R1);
    const served = new ServedSlots(t);
    t.setAsReplica(n[R1]!, Q);
    assert.equal(lostOf(served, t), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.ok(served.serves(10));
  }
});

test.run();
