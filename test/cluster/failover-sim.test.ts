// Seeded simulation of replicas and failover (sim.ts's network and clock). Each seed builds 3-4
// primaries with 1-2 replicas each, random loss and delay, and checks:
//  - safety, at every step of every schedule: no two nodes ever claim one slot with one config
//    epoch (the claims of every primary are recorded by epoch over the whole run);
//  - a primary goes silent while the rest is connected: one of its replicas is elected (the one
//    with the best offset when offsets differ), takes all its slots, every live node agrees, and
//    the old primary, once back, is a replica of the winner;
//  - then a random schedule of crashes, restarts, partitions and heals (safety checked throughout);
//    after everything is healed and up, the nodes agree again on one owner per slot, all covered.
// Also: the vote rules one by one, manual failover (default, FORCE, TAKEOVER), replica migration.
// Replay one seed: FAILOVER_SIM_SEED=<seed> node dist/test/cluster/failover-sim.test.js

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ClusterHooks } from '../../src/cluster/api.js';
import { CLUSTER_SLOTS } from '../../src/cluster/api.js';
import { MFLAG_FORCEACK, type MessageHeader, slotBit } from '../../src/cluster/bus-messages.js';
import { FLAG_FAIL, FLAG_HANDSHAKE, FLAG_MASTER, FLAG_PFAIL, FLAG_SLAVE } from '../../src/cluster/topology.js';
import { mulberry32, Sim, SIM_EPOCH_MS, type SimNode } from './sim.js';

const ONE_SEED = process.env['FAILOVER_SIM_SEED'];
// 400 seeds take about a minute; FAILOVER_SIM_SEEDS=5000 FAILOVER_SIM_FIRST=1001 for a longer soak.
const SEED_COUNT = Number(process.env['FAILOVER_SIM_SEEDS'] ?? 400);
const FIRST_SEED = Number(process.env['FAILOVER_SIM_FIRST'] ?? 1);
const SEEDS = ONE_SEED !== undefined ? [Number(ONE_SEED)] : Array.from({ length: SEED_COUNT }, (_, i) => i + FIRST_SEED);
const TIMEOUT = 1000;

class SimFailure extends Error {}

/** Replication stand-ins: offsets the test sets; primaries pause at once. */
interface FakeRepl extends ClusterHooks {
  offset: number;
  replicaOf: string | null;
  promoted: number;
  paused: boolean;
}

function fakeRepl(): FakeRepl {
  const r: FakeRepl = {
    offset: 0, replicaOf: null, promoted: 0, paused: false,
    replicationOffset: () => r.offset,
    becomeReplicaOf: (host, port) => {
      r.replicaOf = `${host}:${port}`;
    },
    becomePrimary: () => {
      r.replicaOf = null;
      r.promoted++;
    },
    pauseWritesAndGetOffset: () => {
      r.paused = true;
      return Promise.resolve(r.offset);
    },
    resumeWrites: () => {
      r.paused = false;
    },
    replicaOffsetsKnown: () => new Map(),
  };
  return r;
}

interface Cluster {
  sim: Sim;
  repl: FakeRepl[];
  primaries: SimNode[];
  /** replicas[i]: replicas of primaries[i]. */
  replicas: SimNode[][];
}

function isPrimarySelf(n: SimNode): boolean {
  return (n.core.topology.myself.flags & FLAG_MASTER) !== 0;
}

/** Every node knows every node, healthy, with the role, primary, epoch and slots it has itself. */
function converged(sim: Sim, live: readonly SimNode[] = sim.nodes): boolean {
  for (const a of live) {
    for (const b of live) {
      const v = a.core.topology.get(b.core.myId);
      const self = b.core.topology.myself;
      if (!v || (v.flags & (FLAG_HANDSHAKE | FLAG_FAIL | FLAG_PFAIL)) !== 0) return false;
      if ((v.flags & (FLAG_MASTER | FLAG_SLAVE)) !== (self.flags & (FLAG_MASTER | FLAG_SLAVE)) || v.primaryId !== self.primaryId) return false;
      if ((self.flags & FLAG_MASTER) !== 0 && (v.configEpoch !== self.configEpoch || Buffer.compare(v.slotBits, self.slotBits) !== 0)) return false;
    }
    if (a.core.state() !== 'ok') return false;
  }
  return true;
}

function build(seed: number, nPrimaries: number, replicasPer: (i: number) => number, loss: number, maxDelay: number, trace: boolean): Cluster {
  const counts = Array.from({ length: nPrimaries }, (_, i) => replicasPer(i));
  const total = nPrimaries + counts.reduce((a, b) => a + b, 0);
  const sim = new Sim({ seed, nodes: total, nodeTimeoutMs: TIMEOUT, lossRate: loss, minDelayMs: 1, maxDelayMs: maxDelay, codecRate: 0.05, trace });
  const repl = sim.nodes.map(() => fakeRepl());
  sim.nodes.forEach((n, i) => n.core.setHooks(repl[i]!));
  const primaries = sim.nodes.slice(0, nPrimaries);
  const replicas: SimNode[][] = [];
  let next = nPrimaries;
  for (let i = 0; i < nPrimaries; i++) {
    replicas.push(sim.nodes.slice(next, next + counts[i]!));
    next += counts[i]!;
  }
  primaries.forEach((node, i) => {
    const from = Math.floor((i * CLUSTER_SLOTS) / nPrimaries);
    const to = Math.floor(((i + 1) * CLUSTER_SLOTS) / nPrimaries) - 1;
    node.core.addSlots(Array.from({ length: to - from + 1 }, (_, k) => from + k));
    node.core.setConfigEpoch(i + 1);
  });
  for (let i = 1; i < total; i++) sim.nodes[i]!.core.meet(sim.nodes[0]!.ip, 7000, 17000);
  const knowsAll = (): boolean => sim.nodes.every((a) => a.core.topology.nodes.size === total && a.core.handshakes() === 0);
  if (!sim.runFor(20_000, knowsAll)) throw new SimFailure(`seed ${seed}: nodes did not meet`);
  replicas.forEach((rs, i) => rs.forEach((r) => r.core.replicate(primaries[i]!.core.myId, 0)));
  return { sim, repl, primaries, replicas };
}

/** Records every primary's claims by config epoch; throws when two nodes claim one slot with one epoch. */
class ClaimLedger {
  private readonly byEpoch = new Map<number, Map<string, Uint8Array>>();
  check(sim: Sim): string | null {
    for (const n of sim.nodes) {
      const me = n.core.topology.myself;
      if ((me.flags & FLAG_MASTER) === 0 || me.numSlots === 0) continue;
      let claims = this.byEpoch.get(me.configEpoch);
      if (!claims) this.byEpoch.set(me.configEpoch, (claims = new Map()));
      let mine = claims.get(me.id);
      if (!mine) claims.set(me.id, (mine = new Uint8Array(me.slotBits.length)));
      for (let i = 0; i < mine.length; i++) mine[i]! |= me.slotBits[i]!;
      for (const [id, other] of claims) {
        if (id === me.id) continue;
        for (let i = 0; i < mine.length; i++) {
          if ((mine[i]! & other[i]!) !== 0) return `nodes ${id.slice(0, 8)} and ${me.id.slice(0, 8)} both claimed slot ~${i * 8} with config epoch ${me.configEpoch}`;
        }
      }
    }
    return null;
  }
}

function runSeed(seed: number, stats: { electMs: number[]; ranked: number; bestWon: number }): void {
  const r = mulberry32(seed ^ 0xfa11);
  const nPrimaries = 3 + Math.floor(r() * 2);
  const c = build(seed, nPrimaries, () => 1 + Math.floor(r() * 2), r() * 0.03, 2 + Math.floor(r() * 25), ONE_SEED !== undefined);
  const { sim, repl } = c;
  const ledger = new ClaimLedger();
  const fail = (msg: string): never => {
    if (ONE_SEED !== undefined) {
      console.log(sim.traceLines.slice(-3000).join('\n'));
      for (const n of sim.nodes) console.log(`--- node ${n.index} ${n.core.myId.slice(0, 8)} down=${n.down}\n${n.core.nodesText()}`);
    }
    throw new SimFailure(`seed ${seed} (t=${sim.now - SIM_EPOCH_MS} ms): ${msg}. Replay: FAILOVER_SIM_SEED=${seed} node dist/test/cluster/failover-sim.test.js`);
  };
  const safe = (): boolean => {
    const v = ledger.check(sim);
    if (v !== null) fail(v);
    return false;
  };
  const until = (ms: number, done: () => boolean): boolean => sim.runFor(ms, () => (safe(), done()), 20);
  if (!until(20_000, () => converged(sim))) fail('the cluster with replicas did not converge');

  // Offsets: primaries ahead; replicas at random offsets behind (ties allowed).
  c.primaries.forEach((p, i) => (repl[p.index]!.offset = 1000 + i));
  for (const rs of c.replicas) for (const x of rs) repl[x.index]!.offset = 500 + Math.floor(r() * 3);
  // Offsets travel in heartbeats (each node pings each other at least every timeout / 2).
  until(TIMEOUT, () => false);

  // 1. A primary goes silent: one of its replicas takes over.
  const vi = Math.floor(r() * nPrimaries);
  const victim = c.primaries[vi]!;
  const itsReplicas = c.replicas[vi]!;
  const slots = victim.core.topology.myself.slotBits.slice();
  let firstSlot = 0;
  while (!slotBit(slots, firstSlot)) firstSlot++;
  const t0 = sim.now;
  victim.down = true;
  const others = sim.nodes.filter((x) => x !== victim);
  const winnerOf = (): SimNode | undefined => itsReplicas.find((x) => isPrimarySelf(x) && Buffer.compare(x.core.topology.myself.slotBits, slots) === 0);
  const agreed = (): boolean => {
    const w = winnerOf();
    if (!w) return false;
    for (const o of others) if (o.core.topology.ownerOf(firstSlot)?.id !== w.core.myId) return false;
    return true;
  };
  if (!until(15_000, agreed)) {
    fail(`no replica of primary ${victim.index} took over (replicas ${itsReplicas.map((x) => `${x.index}:${isPrimarySelf(x) ? 'P' : 'R'}:${x.core.topology.myself.numSlots}`)})`);
  }
  stats.electMs.push(sim.now - t0);
  const winner = winnerOf()!;
  // With distinct offsets the best replica wins (its rank is 0, the others wait a second more).
  const offs = itsReplicas.map((x) => repl[x.index]!.offset);
  // Not a guarantee (a sibling may learn of the FAIL late, as in Redis), so it is counted.
  if (new Set(offs).size === offs.length && itsReplicas.length > 1) {
    stats.ranked++;
    if (repl[winner.index]!.offset === Math.max(...offs)) stats.bestWon++;
  }
  if (repl[winner.index]!.promoted !== 1) fail('the winner was not promoted exactly once');
  for (const sib of itsReplicas) {
    if (sib !== winner && !until(10_000, () => sib.core.topology.myself.primaryId === winner.core.myId)) fail(`sibling ${sib.index} did not follow the winner`);
  }
  // The old primary comes back and becomes the winner's replica.
  victim.down = false;
  if (!until(15_000, () => victim.core.topology.myself.primaryId === winner.core.myId && converged(sim))) {
    fail(`old primary ${victim.index} did not become a replica of ${winner.index}: ${victim.core.topology.myself.flags} ${victim.core.topology.myself.primaryId?.slice(0, 8)}`);
  }
  if (repl[victim.index]!.replicaOf !== `${winner.ip}:7000`) fail(`old primary replicates ${repl[victim.index]!.replicaOf}`);

  // 2. Chaos: random crashes (pauses), restarts, partitions; safety checked all along.
  for (let step = 0; step < 12; step++) {
    const what = r();
    if (what < 0.4) sim.nodes[Math.floor(r() * sim.nodes.length)]!.down = true;
    else if (what < 0.7) sim.nodes[Math.floor(r() * sim.nodes.length)]!.down = false;
    else if (what < 0.85) {
      const group = sim.nodes.filter(() => r() < 0.4).map((x) => x.index);
      sim.partition([group]);
    } else sim.heal();
    for (const n of sim.nodes) if (!n.down && r() < 0.3) repl[n.index]!.offset += Math.floor(r() * 3);
    until(Math.floor(r() * 4 * TIMEOUT), () => false);
  }
  for (const n of sim.nodes) n.down = false;
  sim.heal();
  if (!until(60_000, () => converged(sim))) fail('no convergence after the chaos healed');
  for (let s = 0; s < CLUSTER_SLOTS; s += 97) {
    const o = sim.nodes[0]!.core.topology.ownerOf(s);
    if (!o || (o.flags & FLAG_MASTER) === 0) fail(`slot ${s} has no primary after healing`);
  }
  for (const n of sim.nodes) n.core.topology.checkInvariants();
}

test(`failover simulation: ${SEEDS.length} seeds (elections, old primary returns, chaos; never two claims of a slot in one epoch)`, () => {
  const started = Date.now();
  const stats = { electMs: [] as number[], ranked: 0, bestWon: 0 };
  for (const seed of SEEDS) runSeed(seed, stats);
  const xs = stats.electMs.sort((a, b) => a - b);
  const q = (p: number): number => xs[Math.floor(p * (xs.length - 1))] ?? 0;
  console.log(`  ${SEEDS.length} seeds in ${Date.now() - started} ms; silent primary -> replica owns its slots everywhere: p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms (node timeout ${TIMEOUT} ms); the best offset won ${stats.bestWon} of ${stats.ranked} elections with distinct offsets`);
  assert.ok(xs.length === SEEDS.length);
  assert.ok(stats.bestWon >= stats.ranked * 0.9, 'the replica with the best offset should win nearly always');
});

// --- the vote rules ------------------------------------------------------------------------------

function voteSetup(): { c: Cluster; voter: SimNode; requester: SimNode; primary: SimNode; req: (extra?: Partial<MessageHeader>) => MessageHeader } {
  const c = build(101, 3, () => 1, 0, 5, false);
  assert.ok(c.sim.runFor(20_000, () => converged(c.sim)));
  const voter = c.primaries[1]!;
  const primary = c.primaries[0]!;
  const requester = c.replicas[0]![0]!;
  const req = (extra: Partial<MessageHeader> = {}): MessageHeader => {
    const t = requester.core.topology;
    return {
      sender: requester.core.myId, primaryId: primary.core.myId, port: 7000, cport: 17000, flags: FLAG_SLAVE, mflags: 0,
      currentEpoch: voter.core.topology.currentEpoch, configEpoch: primary.core.topology.myself.configEpoch, offset: 0,
      slots: primary.core.topology.myself.slotBits.slice(), ip: t.myself.ip, hostname: '', ...extra,
    };
  };
  return { c, voter, requester, primary, req };
}

function failFlag(voter: SimNode, primary: SimNode): void {
  voter.core.topology.get(primary.core.myId)!.flags |= FLAG_FAIL;
}

test('votes: one per epoch; only for a replica of a FAIL primary (or FORCEACK); not twice for one primary within 2 x timeout', () => {
  const { c, voter, requester, primary, req } = voteSetup();
  const fo = voter.core.failoverState;
  const view = voter.core.topology.get(requester.core.myId)!;
  const now = c.sim.now;
  assert.is(fo.maybeVote(view, req(), now), 'its primary is not failing');
  const t = voter.core.topology;
  t.currentEpoch++;
  assert.is(fo.maybeVote(view, req({ mflags: MFLAG_FORCEACK, currentEpoch: t.currentEpoch }), now), null, 'FORCEACK votes without FAIL');
  assert.is(t.lastVoteEpoch, t.currentEpoch);
  assert.is(fo.maybeVote(view, req({ mflags: MFLAG_FORCEACK, currentEpoch: t.currentEpoch }), now), 'already voted in this epoch');
  t.currentEpoch++;
  failFlag(voter, primary);
  assert.is(fo.maybeVote(view, req({ currentEpoch: t.currentEpoch }), now + 1000), 'voted for a replica of this primary recently');
  assert.is(fo.maybeVote(view, req({ currentEpoch: t.currentEpoch - 1 }), now + 2001), 'request epoch is older than mine');
  assert.is(fo.maybeVote(view, req({ currentEpoch: t.currentEpoch }), now + 2001), null, 'a vote after 2 x node timeout');
});

test('votes: refused for a stale claim, to a primary, and by a node without slots', () => {
  const { c, voter, requester, primary, req } = voteSetup();
  const t = voter.core.topology;
  failFlag(voter, primary);
  const view = t.get(requester.core.myId)!;
  t.currentEpoch += 5;
  // The slots are served by a primary with a newer config epoch than claimed.
  const owner = t.get(primary.core.myId)!;
  owner.configEpoch = 50;
  assert.match(voter.core.failoverState.maybeVote(view, req({ currentEpoch: t.currentEpoch, configEpoch: 49 }), c.sim.now) ?? 'granted', /^slot /);
  owner.configEpoch = 1;
  const asPrimary = t.get(c.primaries[2]!.core.myId)!;
  assert.is(voter.core.failoverState.maybeVote(asPrimary, req({ currentEpoch: t.currentEpoch, sender: asPrimary.id }), c.sim.now), 'requester is not a replica of a known primary');
  // A replica has no vote.
  const other = c.replicas[1]![0]!;
  const v2 = other.core.topology.get(requester.core.myId)!;
  other.core.topology.get(primary.core.myId)!.flags |= FLAG_FAIL;
  assert.is(other.core.failoverState.maybeVote(v2, req({ currentEpoch: other.core.topology.currentEpoch }), c.sim.now), 'not a primary serving slots');
});

test('rank: siblings with a better offset (or the same and a smaller id) go first', () => {
  const c = build(202, 3, (i) => (i === 0 ? 3 : 1), 0, 5, false);
  assert.ok(c.sim.runFor(20_000, () => converged(c.sim)));
  const rs = c.replicas[0]!;
  [10, 30, 20].forEach((o, i) => (c.repl[rs[i]!.index]!.offset = o));
  // Offsets travel in heartbeats.
  c.sim.runFor(2000);
  assert.equal(rs.map((x) => x.core.failoverState.rank()), [2, 0, 1]);
  c.repl[rs[0]!.index]!.offset = 30;
  c.sim.runFor(2000);
  const byId = [rs[0]!, rs[1]!].sort((a, b) => (a.core.myId < b.core.myId ? -1 : 1));
  assert.is(byId[0]!.core.failoverState.rank(), 0);
  assert.is(byId[1]!.core.failoverState.rank(), 1);
});

// --- manual failover and migration ----------------------------------------------------------------

/** Runs the simulation in steps, letting promises (the pause hook's) settle between them. */
async function runAsync(sim: Sim, ms: number, done: () => boolean = () => false): Promise<boolean> {
  const end = sim.now + ms;
  while (sim.now < end) {
    if (sim.runFor(Math.min(20, end - sim.now), done)) return true;
    await new Promise((r) => setImmediate(r));
  }
  return done();
}

test('CLUSTER FAILOVER: default waits for the paused offset, then switches; the old primary follows and resumes writes', async () => {
  const c = build(303, 3, () => 1, 0, 5, false);
  const { sim, repl } = c;
  assert.ok(sim.runFor(20_000, () => converged(sim)));
  const p = c.primaries[0]!;
  const rep = c.replicas[0]![0]!;
  repl[p.index]!.offset = 777;
  repl[rep.index]!.offset = 700; // behind: must catch up first
  const epochBefore = p.core.topology.myself.configEpoch;
  rep.core.failover('default');
  await runAsync(sim, 500);
  assert.ok(repl[p.index]!.paused, 'the primary paused writes');
  assert.not.ok(isPrimarySelf(rep), 'switched before catching up');
  repl[rep.index]!.offset = 777;
  assert.ok(await runAsync(sim, 3000, () => isPrimarySelf(rep) && p.core.topology.myself.primaryId === rep.core.myId));
  assert.ok(rep.core.topology.myself.configEpoch > epochBefore);
  assert.not.ok(repl[p.index]!.paused, 'the old primary resumed writes');
  assert.is(repl[p.index]!.replicaOf, `${rep.ip}:7000`);
  assert.ok(sim.runFor(5000, () => converged(sim)));
  assert.is(rep.core.failoverLog().at(-1)!.kind, 'manual');
});

test('CLUSTER FAILOVER FORCE and TAKEOVER with the primary down; errors as Redis', () => {
  const c = build(404, 3, () => 1, 0, 5, false);
  const { sim } = c;
  assert.ok(sim.runFor(20_000, () => converged(sim)));
  assert.throws(() => c.primaries[0]!.core.failover('default'), /You should send CLUSTER FAILOVER to a replica/);
  const p = c.primaries[0]!;
  p.down = true;
  const rep = c.replicas[0]![0]!;
  sim.runFor(300);
  // Not FAIL yet, but no link answers: Redis looks at the link; ours is still up for a while.
  rep.core.topology.get(p.core.myId)!.flags |= FLAG_FAIL;
  assert.throws(() => rep.core.failover('default'), /Master is down or failed, please use CLUSTER FAILOVER FORCE/);
  rep.core.failover('force');
  assert.ok(sim.runFor(3000, () => isPrimarySelf(rep) && rep.core.topology.myself.numSlots > 0), 'FORCE elected the replica');
  // TAKEOVER: no votes at all (the other primaries are cut off).
  const p2 = c.primaries[1]!;
  const rep2 = c.replicas[1]![0]!;
  sim.partition([[p2.index, rep2.index]]);
  rep2.core.failover('takeover');
  assert.ok(isPrimarySelf(rep2) && rep2.core.topology.myself.numSlots > 0, 'TAKEOVER switched at once');
  sim.heal();
  p.down = false;
  assert.ok(sim.runFor(20_000, () => converged(sim)));
  assert.is(p2.core.topology.myself.primaryId, rep2.core.myId);
  assert.is(p.core.topology.myself.primaryId, rep.core.myId);
});

test('replica migration: an orphaned primary gets a replica from one with two (barrier 1)', () => {
  const c = build(505, 3, (i) => (i === 0 ? 2 : 1), 0, 5, false);
  const { sim } = c;
  assert.ok(sim.runFor(20_000, () => converged(sim)));
  // Primary 1 loses its only replica for good: it is orphaned.
  const lost = c.replicas[1]![0]!;
  lost.down = true;
  const moved = (): SimNode | undefined => c.replicas[0]!.find((x) => x.core.topology.myself.primaryId === c.primaries[1]!.core.myId);
  assert.ok(sim.runFor(20_000, () => moved() !== undefined), 'no replica migrated');
  const m = moved()!;
  // The candidate is the one with the smaller id.
  assert.is(m.core.myId, [...c.replicas[0]!].map((x) => x.core.myId).sort()[0]);
  assert.is(m.core.failoverLog().at(-1)!.kind, 'migrate');
  // And only one moved: primary 0 keeps the other.
  assert.ok(c.replicas[0]!.some((x) => x.core.topology.myself.primaryId === c.primaries[0]!.core.myId));
});

test('CLUSTER REPLICATE errors as Redis', () => {
  const c = build(606, 2, () => 1, 0, 5, false);
  assert.ok(c.sim.runFor(20_000, () => converged(c.sim)));
  const p = c.primaries[0]!;
  assert.throws(() => p.core.replicate('0'.repeat(40), 0), /^ERR Unknown node 0{40}$/);
  assert.throws(() => p.core.replicate(p.core.myId, 0), /Can't replicate myself/);
  assert.throws(() => p.core.replicate(c.replicas[1]![0]!.core.myId, 0), /I can only replicate a master, not a replica\./);
  assert.throws(() => p.core.replicate(c.primaries[1]!.core.myId, 0), /To set a master the node must be empty and without assigned slots\./);
  assert.throws(() => p.core.replicasOf(c.replicas[0]![0]!.core.myId), /The specified node is not a master/);
  assert.equal(p.core.replicasOf(p.core.myId).map((v) => v.id), [c.replicas[0]![0]!.core.myId]);
});

test.run();
