// Slot planning for create, rebalance, reshard and remove-node (shared by `tessera cluster` and the
// node-run rebalance of the HTTP API, so both plan alike): pure functions from who owns what
// to a list of single-slot moves. Invariants every plan keeps (checked by `checkPlan`): a slot
// moves at most once, only from the node that owns it, never to itself. Also where replicas go:
// create's round-robin and remove-node's new homes for the replicas of a leaving primary.

import { SLOT_COUNT, formatRanges, toRanges, type SlotRange } from './slot-ranges.js';

export interface PlanNode {
  id: string;
  /** Owned slots, ascending. */
  slots: readonly number[];
  /** Relative share it should hold (default 1; 0 drains it). */
  weight: number;
}

export interface SlotMove {
  slot: number;
  from: string;
  to: string;
}

/** Consecutive moves between the same two nodes, as ranges. */
export interface PlanStep {
  from: string;
  to: string;
  ranges: SlotRange[];
  count: number;
}

/**
 * redis-cli's allocation for `create`: `n` contiguous ranges covering all slots, sizes differing by
 * at most one (3 nodes: 0-5460, 5461-10922, 10923-16383).
 */
export function allocateSlots(n: number): SlotRange[] {
  if (!Number.isInteger(n) || n < 1 || n > SLOT_COUNT) throw new RangeError(`cannot spread ${SLOT_COUNT} slots over ${n} nodes`);
  const perNode = SLOT_COUNT / n;
  const out: SlotRange[] = [];
  let first = 0;
  let cursor = 0;
  for (let i = 0; i < n; i++) {
    let last = Math.round(cursor + perNode - 1);
    if (last > SLOT_COUNT - 1 || i === n - 1) last = SLOT_COUNT - 1;
    if (last < first) last = first;
    out.push([first, last]);
    first = last + 1;
    cursor += perNode;
  }
  return out;
}

export interface RebalanceOptions {
  /** Rebalance only when some node is off its expected share by more than this percentage. */
  thresholdPct: number;
  /** Let primaries without slots receive some (otherwise they are left out). */
  useEmptyMasters: boolean;
  /** Load of one slot when weighting by keys or memory; absent: every slot weighs 1. */
  slotLoad?: (slot: number) => number;
}

export interface RebalancePlan {
  /** False when every node is within the threshold (moves is then empty). */
  needed: boolean;
  moves: SlotMove[];
  /** Per involved node id: its load now and its expected load. */
  loads: Map<string, { actual: number; expected: number }>;
  /** The largest deviation from the expected load, in percent. */
  worstPct: number;
}

/**
 * Plans moves that bring each involved node to its weighted share of the total load. With slot
 * counts (no `slotLoad`) this is redis-cli's algorithm exactly; with a per-slot load it moves the
 * heaviest slots first from the most loaded nodes to the least loaded, as long as a move lowers
 * the total deviation. Nodes with weight 0 give away all their slots.
 */
export function planRebalance(nodes: readonly PlanNode[], opts: RebalanceOptions): RebalancePlan {
  const involved = nodes.filter((n) => opts.useEmptyMasters || n.slots.length > 0 || n.weight === 0);
  const load = opts.slotLoad ?? ((): number => 1);
  const totalWeight = involved.reduce((w, n) => w + n.weight, 0);
  const totalLoad = involved.reduce((sum, n) => sum + n.slots.reduce((s, slot) => s + load(slot), 0), 0);
  const loads = new Map<string, { actual: number; expected: number }>();
  let worstPct = 0;
  let needed = false;
  for (const n of involved) {
    const actual = n.slots.reduce((s, slot) => s + load(slot), 0);
    const expected = totalWeight === 0 ? 0 : (totalLoad / totalWeight) * n.weight;
    loads.set(n.id, { actual, expected });
    let pct = 0;
    if (actual > 0) pct = Math.abs(100 - (100 * expected) / actual);
    else if (expected > (opts.slotLoad === undefined ? 1 : 0)) pct = 100;
    worstPct = Math.max(worstPct, pct);
    if (opts.thresholdPct <= 0 ? pct > 0 : pct > opts.thresholdPct) needed = true;
    // A weight-0 node with slots always drains, whatever the threshold.
    if (n.weight === 0 && n.slots.length > 0) needed = true;
  }
  if (!needed || totalWeight === 0) return { needed: false, moves: [], loads, worstPct };
  const moves = opts.slotLoad === undefined ? balanceSlotCounts(involved, totalWeight) : balanceLoads(involved, loads, load);
  return { needed: moves.length > 0, moves, loads, worstPct };
}

/** redis-cli's rebalance: integer balances, rounding fixed up, then pair the extremes. */
function balanceSlotCounts(involved: readonly PlanNode[], totalWeight: number): SlotMove[] {
  const state = involved.map((n) => ({
    id: n.id,
    remaining: [...n.slots],
    balance: Math.trunc(n.slots.length - (SLOT_COUNT / totalWeight) * n.weight),
  }));
  let totalBalance = state.reduce((s, n) => s + n.balance, 0);
  while (totalBalance > 0) {
    for (const n of state) {
      if (n.balance <= 0 && totalBalance > 0) {
        n.balance--;
        totalBalance--;
      }
    }
  }
  // Stable, deterministic order: by balance, then by id.
  state.sort((a, b) => a.balance - b.balance || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const moves: SlotMove[] = [];
  let dstIdx = 0;
  let srcIdx = state.length - 1;
  while (dstIdx < srcIdx) {
    const dst = state[dstIdx]!;
    const src = state[srcIdx]!;
    const count = Math.min(Math.abs(dst.balance), Math.abs(src.balance));
    for (const slot of src.remaining.splice(0, count)) moves.push({ slot, from: src.id, to: dst.id });
    dst.balance += count;
    src.balance -= count;
    if (dst.balance === 0) dstIdx++;
    if (src.balance === 0) srcIdx--;
    if (count === 0 && dst.balance !== 0 && src.balance !== 0) break; // cannot happen; keeps the loop bounded
  }
  return moves;
}

/** Greedy balancing of per-slot loads (keys or bytes). */
function balanceLoads(
  involved: readonly PlanNode[],
  loads: ReadonlyMap<string, { actual: number; expected: number }>,
  load: (slot: number) => number,
): SlotMove[] {
  const excess = new Map<string, number>();
  for (const n of involved) {
    const l = loads.get(n.id)!;
    excess.set(n.id, l.actual - l.expected);
  }
  const receivers = involved.filter((n) => n.weight > 0);
  const mostStarved = (except: string): string | undefined => {
    let best: string | undefined;
    for (const r of receivers) {
      if (r.id === except) continue;
      if (best === undefined || excess.get(r.id)! < excess.get(best)!) best = r.id;
    }
    return best;
  };
  const moves: SlotMove[] = [];
  const sources = [...involved].sort((a, b) => excess.get(b.id)! - excess.get(a.id)! || (a.id < b.id ? -1 : 1));
  for (const src of sources) {
    const draining = src.weight === 0;
    if (!draining && excess.get(src.id)! <= 0) continue;
    const bySize = [...src.slots].sort((a, b) => load(b) - load(a) || a - b);
    for (const slot of bySize) {
      const l = load(slot);
      if (!draining && l <= 0) continue;
      const dst = mostStarved(src.id);
      if (dst === undefined) break;
      const es = excess.get(src.id)!;
      const ed = excess.get(dst)!;
      const gain = Math.abs(es) + Math.abs(ed) - Math.abs(es - l) - Math.abs(ed + l);
      if (!draining && gain <= 1e-9) continue;
      moves.push({ slot, from: src.id, to: dst });
      excess.set(src.id, es - l);
      excess.set(dst, ed + l);
    }
  }
  return moves;
}

/**
 * Moves `count` slots to `targetId` from `sources` (never from the target), like redis-cli's
 * reshard table: each source gives in proportion to what it holds (the largest rounds up, the
 * others down), its lowest slots first; any shortfall from rounding is topped up in turn.
 */
export function planReshard(sources: readonly PlanNode[], targetId: string, count: number): SlotMove[] {
  const from = sources.filter((n) => n.id !== targetId && n.slots.length > 0).sort((a, b) => b.slots.length - a.slots.length || (a.id < b.id ? -1 : 1));
  const available = from.reduce((s, n) => s + n.slots.length, 0);
  if (count > available) throw new RangeError(`asked to move ${count} slots but the sources hold only ${available}`);
  const taken = from.map(() => 0);
  let planned = 0;
  from.forEach((n, i) => {
    const share = (count / available) * n.slots.length;
    const want = Math.min(i === 0 ? Math.ceil(share) : Math.floor(share), n.slots.length, count - planned);
    taken[i] = want;
    planned += want;
  });
  for (let i = 0; planned < count; i = (i + 1) % from.length) {
    if (taken[i]! < from[i]!.slots.length) {
      taken[i]!++;
      planned++;
    }
  }
  const moves: SlotMove[] = [];
  from.forEach((n, i) => {
    for (const slot of n.slots.slice(0, taken[i])) moves.push({ slot, from: n.id, to: targetId });
  });
  return moves;
}

/**
 * Gives every slot of `leaving` to the `remaining` nodes so that their counts end as even as
 * possible (the emptiest fills first), each receiver getting one contiguous run of the slots.
 */
export function planDrain(leaving: PlanNode, remaining: readonly PlanNode[]): SlotMove[] {
  const receivers = remaining.filter((n) => n.id !== leaving.id);
  if (leaving.slots.length === 0) return [];
  if (receivers.length === 0) throw new RangeError('no node left to take the slots');
  const counts = receivers.map((n) => n.slots.length);
  const quota = receivers.map(() => 0);
  for (let k = 0; k < leaving.slots.length; k++) {
    let min = 0;
    for (let i = 1; i < counts.length; i++) if (counts[i]! < counts[min]!) min = i;
    counts[min]!++;
    quota[min]!++;
  }
  const moves: SlotMove[] = [];
  let next = 0;
  receivers.forEach((r, i) => {
    for (const slot of leaving.slots.slice(next, next + quota[i]!)) moves.push({ slot, from: leaving.id, to: r.id });
    next += quota[i]!;
  });
  return moves;
}

/** Throws when a plan breaks an invariant: unknown owner, a slot moved twice, a self move. */
export function checkPlan(nodes: readonly PlanNode[], moves: readonly SlotMove[]): void {
  const owner = new Map<number, string>();
  for (const n of nodes) for (const s of n.slots) owner.set(s, n.id);
  const seen = new Set<number>();
  for (const m of moves) {
    if (seen.has(m.slot)) throw new Error(`plan moves slot ${m.slot} twice`);
    seen.add(m.slot);
    if (owner.get(m.slot) !== m.from) throw new Error(`plan moves slot ${m.slot} from ${m.from}, which does not own it`);
    if (m.from === m.to) throw new Error(`plan moves slot ${m.slot} to its own node`);
  }
}

/** Groups moves by (from, to) in first-seen order, slots as ranges. */
export function groupMoves(moves: readonly SlotMove[]): PlanStep[] {
  const steps = new Map<string, { from: string; to: string; slots: number[] }>();
  for (const m of moves) {
    const key = `${m.from}>${m.to}`;
    let s = steps.get(key);
    if (s === undefined) steps.set(key, (s = { from: m.from, to: m.to, slots: [] }));
    s.slots.push(m.slot);
  }
  return [...steps.values()].map((s) => {
    const slots = [...s.slots].sort((a, b) => a - b);
    return { from: s.from, to: s.to, ranges: toRanges(slots), count: slots.length };
  });
}

/** The plan as text, one line per (source, target): "Move 5461 slots from A to B: 0-5460". */
export function formatPlan(steps: readonly PlanStep[], nameOf: (id: string) => string): string {
  if (steps.length === 0) return 'Nothing to move.\n';
  const total = steps.reduce((n, s) => n + s.count, 0);
  const lines = steps.map((s) => `  Move ${s.count} slot${s.count === 1 ? '' : 's'} from ${nameOf(s.from)} to ${nameOf(s.to)}: ${formatRanges(s.ranges)}`);
  return `Plan: ${total} slot${total === 1 ? '' : 's'} to move\n${lines.join('\n')}\n`;
}

/**
 * Roles for `create --replicas R` over `n` nodes given in order: the first floor(n / (R + 1)) are
 * primaries, every other node a replica; replicas go round-robin to the primaries with the fewest
 * replicas, preferring among those one on another host (a replica on its primary's host does not
 * survive the host). Returns, for each node index, the index of its primary (-1 for a primary).
 */
export function assignReplicas(hosts: readonly string[], replicas: number): number[] {
  const n = hosts.length;
  const primaries = Math.floor(n / (replicas + 1));
  if (primaries < 1) throw new RangeError(`${n} nodes cannot make primaries with ${replicas} replicas each`);
  const out: number[] = hosts.map((_, i) => (i < primaries ? -1 : -2));
  const load = new Array<number>(primaries).fill(0);
  for (let i = primaries; i < n; i++) {
    const least = Math.min(...load);
    const open = load.map((l, p) => (l === least ? p : -1)).filter((p) => p >= 0);
    const elsewhere = open.find((p) => hosts[p] !== hosts[i]);
    const p = elsewhere ?? open[0]!;
    out[i] = p;
    load[p]!++;
  }
  return out;
}

/** A primary that may take replicas, for `planReplicaMoves`. */
export interface ReplicaHome {
  id: string;
  /** Replicas it has now. */
  replicas: number;
  /** Serves at least one slot. */
  serving: boolean;
}

/**
 * Where each of `replicaIds` goes when its primary leaves (remove-node): to the primary with the
 * fewest replicas, as redis-cli's del-node does, counting the ones given so far so that several
 * spread out; among equals, one that serves slots (a replica of an empty primary protects
 * nothing), then the first in `homes`. Returns replica id -> primary id, in the given order.
 */
export function planReplicaMoves(replicaIds: readonly string[], homes: readonly ReplicaHome[]): Array<{ replica: string; primary: string }> {
  if (replicaIds.length > 0 && homes.length === 0) throw new RangeError('no primary to take the replicas');
  const load = homes.map((h) => h.replicas);
  return replicaIds.map((replica) => {
    let best = 0;
    for (let i = 1; i < homes.length; i++) {
      const fewer = load[i]! < load[best]!;
      const sameButServing = load[i] === load[best] && homes[i]!.serving && !homes[best]!.serving;
      if (fewer || sameButServing) best = i;
    }
    load[best]!++;
    return { replica, primary: homes[best]!.id };
  });
}
