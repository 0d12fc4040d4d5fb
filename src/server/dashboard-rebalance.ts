// The node-run rebalance behind /v1/rebalance: plans with the CLI's planner (so GET
// /v1/rebalance/plan is what `tessera cluster rebalance --dry-run` prints), runs one rebalance at
// a time (a second POST while one runs: RebalanceBusy, answered 409) and keeps its progress and
// outcome for GET /v1/rebalance. Starting needs a user allowed CLUSTER SETSLOT (checked through the
// command runner, so the ACL decides as for RESP).

import type { ServerApi } from '../commands/types.js';
import type { NodeView } from '../cluster/api.js';
import { checkPlan, groupMoves, planRebalance, type PlanNode, type RebalancePlan } from '../cluster/rebalance-plan.js';
import { runMoves } from '../cluster/rebalance-run.js';
import { nodeAuthCommand, nodeAuthVariant } from '../cluster/node-auth.js';
import type { Caller, CommandRunner } from './dashboard-commands.js';
import { recordEvent } from '../observability/events.js';

export class RebalanceBusy extends Error {}
/** Not possible now (no cluster, cluster not ok, bad parameters): its HTTP status. */
export class RebalanceRefused extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export interface RebalanceSettings {
  thresholdPct: number;
  /** By node id. */
  weights: Map<string, number>;
  useEmptyMasters: boolean;
}

export interface PlanJson {
  needed: boolean;
  thresholdPct: number;
  worstPct: number;
  totalSlots: number;
  moves: Array<{ from: string; to: string; slots: Array<[number, number]>; count: number }>;
  loads: Array<{ id: string; actual: number; expected: number }>;
}

export interface RebalanceState {
  state: 'idle' | 'running' | 'done' | 'failed';
  plan: PlanJson | null;
  /** Slots moved so far, of `total`. */
  moved: number;
  total: number;
  keysMoved: number;
  startedAt: number | null;
  finishedAt: number | null;
  error: string | null;
}

const MIGRATE_TIMEOUT_MS = 60_000;
const THRESHOLD_DEFAULT_PCT = 2;

export class Rebalancer {
  private current: RebalanceState = { state: 'idle', plan: null, moved: 0, total: 0, keysMoved: 0, startedAt: null, finishedAt: null, error: null };

  constructor(private readonly api: ServerApi) {}

  state(): RebalanceState {
    return { ...this.current };
  }

  /** `threshold=PCT&weights=ID=W,ID=W&useEmptyMasters=1` (ids may be prefixes). */
  settingsOf(q: URLSearchParams): RebalanceSettings {
    const t = q.get('threshold');
    const thresholdPct = t === null || t === '' ? THRESHOLD_DEFAULT_PCT : Number(t);
    if (!Number.isFinite(thresholdPct) || thresholdPct < 0) throw new RebalanceRefused(400, 'threshold must be a number >= 0');
    const weights = new Map<string, number>();
    const nodes = this.api.cluster?.nodes() ?? [];
    for (const spec of (q.get('weights') ?? '').split(',').filter((s) => s !== '')) {
      const eq = spec.lastIndexOf('=');
      const w = Number(spec.slice(eq + 1));
      if (eq <= 0 || spec.slice(eq + 1) === '' || !Number.isFinite(w) || w < 0) throw new RebalanceRefused(400, `weights: '${spec}' is not ID=WEIGHT with a weight >= 0`);
      const idSpec = spec.slice(0, eq).toLowerCase();
      const matches = nodes.filter((n) => n.id.startsWith(idSpec) || `${n.ip}:${n.port}` === idSpec);
      if (matches.length !== 1) throw new RebalanceRefused(400, `weights: '${idSpec}' names ${matches.length === 0 ? 'no' : 'more than one'} node`);
      weights.set(matches[0]!.id, w);
    }
    const e = q.get('useEmptyMasters');
    return { thresholdPct, weights, useEmptyMasters: e === '1' || e === 'true' || e === 'yes' };
  }

  private primaries(): NodeView[] {
    const c = this.api.cluster;
    if (c === null) throw new RebalanceRefused(409, 'This instance has cluster support disabled');
    if (c.state() !== 'ok') throw new RebalanceRefused(409, 'the cluster state is not ok');
    const open = c.openSlots();
    if (open.migrating.length + open.importing.length > 0) throw new RebalanceRefused(409, 'slots are open (migrating or importing) on this node: run tessera cluster fix first');
    const views = c.nodes();
    if (views.some((n) => n.flags.includes('fail') || n.flags.includes('pfail') || n.flags.includes('handshake'))) {
      throw new RebalanceRefused(409, 'some node is failing or joining: rebalance when every node is up');
    }
    return views.filter((n) => !n.flags.includes('slave'));
  }

  private compute(s: RebalanceSettings): { plan: RebalancePlan; nodes: PlanNode[]; views: NodeView[] } {
    const views = this.primaries();
    const nodes: PlanNode[] = views.map((n) => {
      const slots: number[] = [];
      for (const [a, b] of n.slots) for (let x = a; x <= b; x++) slots.push(x);
      return { id: n.id, slots, weight: s.weights.get(n.id) ?? 1 };
    });
    const plan = planRebalance(nodes, { thresholdPct: s.thresholdPct, useEmptyMasters: s.useEmptyMasters });
    checkPlan(nodes, plan.moves);
    return { plan, nodes, views: this.api.cluster!.nodes() };
  }

  async plan(s: RebalanceSettings): Promise<PlanJson> {
    return toJson(this.compute(s).plan, s.thresholdPct);
  }

  /** Starts a rebalance as `caller` (who must be allowed CLUSTER SETSLOT); resolves with its state. */
  async start(caller: Caller, runner: CommandRunner, s: RebalanceSettings): Promise<RebalanceState> {
    if (this.current.state === 'running') throw new RebalanceBusy('a rebalance is already running');
    // The ACL check of the command it amounts to (throws CommandDenied: 403).
    runner.authorize(caller, ['CLUSTER', 'SETSLOT', '0', 'NODE', this.api.cluster?.myId ?? '']);
    const { plan, views } = this.compute(s);
    const json = toJson(plan, s.thresholdPct);
    const startedAt = Date.now();
    this.current = { state: plan.moves.length === 0 ? 'done' : 'running', plan: json, moved: 0, total: plan.moves.length, keysMoved: 0, startedAt, finishedAt: plan.moves.length === 0 ? startedAt : null, error: null };
    if (plan.moves.length === 0) return this.state();
    const me = this.current;
    recordEvent('rebalance', `rebalance started: ${plan.moves.length} slots to move in ${json.moves.length} step${json.moves.length === 1 ? '' : 's'}`);
    const auth = nodeAuthCommand(this.api.config.values);
    const links = {
      call: (n: NodeView, args: ReadonlyArray<string>, timeoutMs: number): Promise<Buffer> =>
        this.api.peers.get(n.ip, n.port, `rebalance/${nodeAuthVariant(auth)}`, auth === null ? [] : [auth]).call(args, timeoutMs),
    };
    void runMoves(views, plan.moves, links, { timeoutMs: MIGRATE_TIMEOUT_MS }, (moved, keys) => {
      me.moved = moved;
      me.keysMoved = keys;
    }).then(
      () => {
        me.state = 'done';
        me.finishedAt = Date.now();
        recordEvent('rebalance', `rebalance done: ${me.moved} slots and ${me.keysMoved} keys moved in ${Math.round((me.finishedAt - startedAt) / 100) / 10} s`);
      },
      (e: unknown) => {
        me.state = 'failed';
        me.finishedAt = Date.now();
        me.error = (e as Error).message;
        recordEvent('rebalance', `rebalance failed after ${me.moved} of ${me.total} slots: ${me.error}`);
      },
    );
    return this.state();
  }
}

function toJson(plan: RebalancePlan, thresholdPct: number): PlanJson {
  const steps = groupMoves(plan.moves);
  return {
    needed: plan.needed,
    thresholdPct,
    worstPct: Math.round(plan.worstPct * 100) / 100,
    totalSlots: plan.moves.length,
    moves: steps.map((s) => ({ from: s.from, to: s.to, slots: s.ranges.map(([a, b]) => [a, b] as [number, number]), count: s.count })),
    loads: [...plan.loads].map(([id, l]) => ({ id, actual: Math.round(l.actual), expected: Math.round(l.expected) })),
  };
}
