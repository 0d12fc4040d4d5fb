// Seeded simulation of cluster membership (see sim.ts). Each seed builds a cluster of 3-5 nodes with
// random loss and delay and checks, in order: MEETs converge (all nodes, all slots, distinct config
// epochs after collision resolution); a silent node is PFAIL everywhere within about the node
// timeout and FAIL within about twice it, and its FAIL clears once it is back; a minority partition
// never gets a majority node marked FAIL while the majority fails the minority, and healing clears
// it; after conflicting SETSLOTs the owner with the higher config epoch wins everywhere.
// Replay one seed: CLUSTER_SIM_SEED=<seed> node dist/test/cluster/sim.test.js

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLUSTER_SLOTS } from '../../src/cluster/api.js';
import { FLAG_FAIL, FLAG_HANDSHAKE, FLAG_PFAIL, type TopoNode } from '../../src/cluster/topology.js';
import { mulberry32, Sim, SIM_EPOCH_MS, type SimNode } from './sim.js';

const ONE_SEED = process.env['CLUSTER_SIM_SEED'];
const SEEDS = ONE_SEED !== undefined ? [Number(ONE_SEED)] : Array.from({ length: Number(process.env['CLUSTER_SIM_SEEDS'] ?? 300) }, (_, i) => i + 1);

class SimFailure extends Error {}

function view(a: SimNode, b: SimNode): TopoNode | undefined {
  return a.core.topology.get(b.core.myId);
}

function hasFlag(a: SimNode, b: SimNode, flag: number): boolean {
  return ((view(a, b)?.flags ?? 0) & flag) !== 0;
}

/** Every node knows every node (out of handshake, healthy, same epoch and slots as the node's own). */
function converged(sim: Sim): boolean {
  for (const a of sim.nodes) {
    const t = a.core.topology;
    if (t.nodes.size !== sim.nodes.length) return false;
    for (const b of sim.nodes) {
      const v = view(a, b);
      const self = b.core.topology.myself;
      if (!v || (v.flags & (FLAG_HANDSHAKE | FLAG_FAIL | FLAG_PFAIL)) !== 0) return false;
      if (v.configEpoch !== self.configEpoch || Buffer.compare(v.slotBits, self.slotBits) !== 0) return false;
      if (v.ip !== b.ip) return false;
    }
    if (a.core.state() !== 'ok') return false;
  }
  return true;
}

/** Distinct config epochs among primaries serving slots (no two claim slots with the same epoch). */
function epochsDistinct(sim: Sim): boolean {
  const seen = new Set<number>();
  for (const n of sim.nodes) {
    const me = n.core.topology.myself;
    if (me.numSlots === 0) continue;
    if (seen.has(me.configEpoch)) return false;
    seen.add(me.configEpoch);
  }
  return true;
}

function ownerEverywhere(sim: Sim, slot: number): string | null {
  let owner: string | null | undefined;
  for (const n of sim.nodes) {
    const o = n.core.topology.ownerOf(slot)?.id ?? null;
    if (owner === undefined) owner = o;
    else if (owner !== o) return null;
  }
  return owner ?? null;
}

function runSeed(seed: number, stats: { pfailMs: number[]; failMs: number[] }): void {
  const r = mulberry32(seed ^ 0x5eed);
  const n = 3 + Math.floor(r() * 3);
  const nodeTimeoutMs = r() < 0.5 ? 1000 : 2000;
  const sim = new Sim({
    seed, nodes: n, nodeTimeoutMs, lossRate: r() * 0.03, minDelayMs: 1, maxDelayMs: 2 + Math.floor(r() * 30),
    codecRate: 0.02, trace: ONE_SEED !== undefined,
  });
  const fail = (msg: string): never => {
    if (ONE_SEED !== undefined) console.log(sim.traceLines.join('\n'));
    throw new SimFailure(`seed ${seed} (n=${n}, timeout=${nodeTimeoutMs}, t=${sim.now - SIM_EPOCH_MS} ms): ${msg}. Replay: CLUSTER_SIM_SEED=${seed} node dist/test/cluster/sim.test.js`);
  };
  const check = (ok: boolean, msg: string): void => {
    if (!ok) fail(msg);
  };

  // 1. Slots split among the nodes; epochs set by the admin (as redis-cli does) or all left at 0.
  const explicitEpochs = r() < 0.5;
  sim.nodes.forEach((node, i) => {
    const from = Math.floor((i * CLUSTER_SLOTS) / n);
    const to = Math.floor(((i + 1) * CLUSTER_SLOTS) / n) - 1;
    node.core.addSlots(Array.from({ length: to - from + 1 }, (_, k) => from + k));
    if (explicitEpochs) node.core.setConfigEpoch(i + 1);
  });
  const chain = r() < 0.5;
  for (let i = 1; i < n; i++) {
    const from = sim.nodes[chain ? i : 0]!;
    const to = sim.nodes[chain ? i - 1 : i]!;
    from.core.meet(to.ip, 7000, to.cport);
  }
  check(sim.runFor(20_000, () => converged(sim) && epochsDistinct(sim)), 'the cluster did not converge after MEET');
  for (const node of sim.nodes) node.core.topology.checkInvariants();

  // 2. A node goes silent: PFAIL within about one timeout, FAIL within about two.
  const victim = sim.nodes[Math.floor(r() * n)]!;
  const others = sim.nodes.filter((x) => x !== victim);
  const t0 = sim.now;
  victim.down = true;
  const pfailAt = new Map<SimNode, number>();
  const failAt = new Map<SimNode, number>();
  const allFailed = (): boolean => {
    for (const o of others) {
      if (!pfailAt.has(o) && hasFlag(o, victim, FLAG_PFAIL | FLAG_FAIL)) pfailAt.set(o, sim.now - t0);
      if (!failAt.has(o) && hasFlag(o, victim, FLAG_FAIL)) failAt.set(o, sim.now - t0);
    }
    return failAt.size === others.length;
  };
  check(sim.runFor(3 * nodeTimeoutMs, allFailed, 20), `silent node ${victim.index} not FAIL everywhere (pfail ${[...pfailAt.values()]}, fail ${[...failAt.values()]})`);
  for (const [o, at] of pfailAt) {
    stats.pfailMs.push(at / nodeTimeoutMs);
    check(at <= nodeTimeoutMs * 1.25, `node ${o.index} flagged silent node ${victim.index} PFAIL only after ${at} ms`);
  }
  for (const [o, at] of failAt) {
    stats.failMs.push(at / nodeTimeoutMs);
    check(at <= nodeTimeoutMs * 2.25, `node ${o.index} flagged silent node ${victim.index} FAIL only after ${at} ms`);
  }
  for (const o of others) check(!hasFlag(victim, o, FLAG_FAIL), `the silent node ${victim.index} marked ${o.index} FAIL`);

  // It comes back: everyone clears its FAIL (a primary with slots: 2 x timeout after the FAIL).
  victim.down = false;
  check(sim.runFor(4 * nodeTimeoutMs + 5000, () => converged(sim)), `FAIL of node ${victim.index} not cleared after it came back`);

  // 3. A minority partition: it never gets a majority node FAILed; the majority fails it.
  const order = sim.nodes.map((x) => x.index).sort(() => r() - 0.5);
  const minority = order.slice(0, Math.floor((n - 1) / 2)).map((i) => sim.nodes[i]!);
  const majority = sim.nodes.filter((x) => !minority.includes(x));
  sim.partition([minority.map((x) => x.index)]);
  const noMajorityFailed = (): boolean => {
    for (const a of sim.nodes) for (const b of majority) if (hasFlag(a, b, FLAG_FAIL)) fail(`node ${a.index} marked majority node ${b.index} FAIL`);
    return false;
  };
  sim.runFor(3 * nodeTimeoutMs, noMajorityFailed, 20);
  for (const a of majority) {
    for (const b of minority) check(hasFlag(a, b, FLAG_FAIL), `majority node ${a.index} did not mark minority node ${b.index} FAIL`);
    check(a.core.state() === 'fail', `majority node ${a.index} reports cluster_state ok with FAIL slots`);
  }
  for (const a of minority) check(a.core.state() === 'fail', `minority node ${a.index} reports cluster_state ok`);
  sim.heal();
  check(sim.runFor(4 * nodeTimeoutMs + 5000, () => converged(sim)), 'FAIL flags not cleared after the partition healed');

  // 4. Conflicting SETSLOT: z takes a slot of y without a new epoch, x imports it and bumps its
  // epoch; x's higher epoch wins at every node, y and z included.
  const [xi, yi, zi] = sim.nodes.map((x) => x.index).sort(() => r() - 0.5) as [number, number, number];
  const x = sim.nodes[xi]!;
  const y = sim.nodes[yi]!;
  const z = sim.nodes[zi]!;
  const yRanges = y.core.myself().slots;
  const slot = yRanges[0]![0];
  z.core.setSlotNode(slot, z.core.myId);
  x.core.setSlotImporting(slot, y.core.myId);
  x.core.setSlotNode(slot, x.core.myId);
  const xEpoch = x.core.topology.myself.configEpoch;
  check(sim.runFor(10_000, () => ownerEverywhere(sim, slot) === x.core.myId && converged(sim) && epochsDistinct(sim)),
    `slot ${slot}: x=${x.index} (epoch ${xEpoch}) did not win over y=${y.index} and z=${z.index}: owners ${sim.nodes.map((q) => q.core.topology.ownerOf(slot)?.id.slice(0, 6))}`);
  for (const node of sim.nodes) node.core.topology.checkInvariants();
}

test(`simulation: ${SEEDS.length} seeds (converge, PFAIL/FAIL timing, partitions, epochs)`, () => {
  const started = Date.now();
  const stats = { pfailMs: [] as number[], failMs: [] as number[] };
  for (const seed of SEEDS) runSeed(seed, stats);
  const p = (xs: number[], q: number): string => (xs.sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))] ?? 0).toFixed(2);
  console.log(`  ${SEEDS.length} seeds in ${Date.now() - started} ms; PFAIL after p50 ${p(stats.pfailMs, 0.5)} max ${p(stats.pfailMs, 1)} x timeout, FAIL after p50 ${p(stats.failMs, 0.5)} max ${p(stats.failMs, 1)} x timeout`);
  assert.ok(stats.failMs.length > 0);
});

function smallCluster(seed: number, nodes = 3): Sim {
  const sim = new Sim({ seed, nodes, nodeTimeoutMs: 1000, lossRate: 0, minDelayMs: 1, maxDelayMs: 5, codecRate: 0, trace: false });
  sim.nodes.forEach((node, i) => node.core.addSlots([i]));
  for (let i = 1; i < nodes; i++) sim.nodes[i]!.core.meet(sim.nodes[0]!.ip, 7000, 17000);
  assert.ok(sim.runFor(10_000, () => sim.nodes.every((a) => a.core.topology.nodes.size === nodes && a.core.handshakes() === 0)), `seed ${seed}: no convergence`);
  return sim;
}

test('simulation: FORGET blacklists the node for 60 s, then gossip brings it back', () => {
  const sim = smallCluster(7);
  const [a, b, c] = sim.nodes as [SimNode, SimNode, SimNode];
  a.core.forget(c.core.myId);
  assert.is(a.core.node(c.core.myId), null);
  // b keeps gossiping about c, and c keeps pinging a; a must not re-add it while blacklisted.
  sim.runFor(55_000, () => {
    assert.is(a.core.node(c.core.myId), null, 'forgotten node re-added within the blacklist period');
    return false;
  }, 100);
  assert.ok(b.core.node(c.core.myId));
  assert.ok(sim.runFor(20_000, () => a.core.node(c.core.myId)?.flags.includes('handshake') === false), 'not re-learned after the blacklist expired');
});

test('simulation: a MEET to an address where nobody answers times out', () => {
  const sim = smallCluster(8, 2);
  const a = sim.nodes[0]!;
  a.core.meet('10.9.9.9', 7000, 17000);
  assert.is(a.core.handshakes(), 1);
  assert.ok(sim.runFor(1500, () => a.core.handshakes() === 0));
  assert.is(a.core.topology.nodes.size, 2);
});

test('simulation: a node that was paused learns the cluster did not fail it alone', () => {
  const sim = smallCluster(9, 5);
  const lonely = sim.nodes[4]!;
  sim.partition([[4]]);
  sim.runFor(5000);
  // Alone it suspects everyone but can fail no one: one primary is no majority.
  for (const o of sim.nodes.slice(0, 4)) {
    assert.ok(lonely.core.node(o.core.myId)!.flags.includes('pfail'));
    assert.not.ok(lonely.core.node(o.core.myId)!.flags.includes('fail'));
    assert.ok(o.core.node(lonely.core.myId)!.flags.includes('fail'));
  }
  assert.is(lonely.core.state(), 'fail');
  sim.heal();
  assert.ok(sim.runFor(5000, () => sim.nodes.every((a) => a.core.nodes().every((v) => !v.flags.includes('fail') && !v.flags.includes('pfail')))));
});

test('simulation: the same seed replays exactly', () => {
  const snapshot = (seed: number): string => {
    const sim = new Sim({ seed, nodes: 4, nodeTimeoutMs: 1000, lossRate: 0.02, minDelayMs: 1, maxDelayMs: 20, codecRate: 0.1, trace: true });
    sim.nodes.forEach((node, i) => node.core.addSlots([i * 10, i * 10 + 1]));
    for (let i = 1; i < 4; i++) sim.nodes[i]!.core.meet(sim.nodes[0]!.ip, 7000, 17000);
    sim.runFor(3000);
    sim.nodes[2]!.down = true;
    sim.runFor(3000);
    return `${sim.traceLines.join('\n')}\n${sim.nodes.map((x) => x.core.nodesText()).join('')}`;
  };
  assert.is(snapshot(42), snapshot(42));
  assert.is.not(snapshot(42), snapshot(43));
});

test.run();
