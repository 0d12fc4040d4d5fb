// `tessera cluster rebalance` and `tessera cluster reshard`: plan with the pure functions of
// plan.ts, print the plan, then move slot by slot with progress and a closing summary.

import { choiceFlag, expectPositionals, hasFlag, intFlag, numberFlag, parseAddress, stringFlag, type ParsedArgs } from '../args.js';
import { resolveAddress, type AdminPool } from '../admin-client.js';
import type { ClusterCommand } from '../command.js';
import { OperationError, UsageError } from '../errors.js';
import { confirm, out, requireYesOrTerminal } from '../output.js';
import { checkPlan, formatPlan, groupMoves, planRebalance, planReshard, type PlanNode } from '../plan.js';
import { SLOT_COUNT } from '../slots.js';
import { findNode, loadTopology, primaries, type ClusterNode, type Topology } from '../topology.js';
import { MOVE_FLAGS, MOVE_FLAGS_HELP, countKeys, endpointOf, executeMoves, moveSettings, nameOf, requireHealthy } from './common.js';

const WEIGHT_BY = ['slots', 'keys', 'memory'] as const;
type WeightBy = (typeof WEIGHT_BY)[number];

export const rebalanceCommand: ClusterCommand = {
  name: 'rebalance',
  summary: 'even out slots (or keys, or memory) across primaries',
  usage:
    'tessera cluster rebalance HOST:PORT [--weight-by slots|keys|memory] [--weight ID=W ...] [--threshold PCT] ' +
    '[--dry-run] [--use-empty-masters] [move options]',
  details: [
    "Computes moves that bring every primary to its weighted share (redis-cli's algorithm for slot",
    'counts; heaviest slots first for keys or memory), prints the plan and carries it out.',
    '',
    '  --weight-by W        what to even out: slots (default), keys (per-slot key counts) or memory',
    '                       (used_memory spread over each node\'s keys)',
    '  --weight ID=W        relative weight of a node (id, id prefix or host:port; default 1; 0 drains it)',
    '  --threshold PCT      do nothing unless some node is off its share by more than PCT (default 2)',
    '  --dry-run            print the plan and exit 0',
    '  --use-empty-masters  let primaries without slots take part',
    ...MOVE_FLAGS_HELP,
  ],
  flags: { 'weight-by': 'value', weight: 'multi', threshold: 'value', 'dry-run': 'bool', 'use-empty-masters': 'bool', ...MOVE_FLAGS },
  async run(args: ParsedArgs, pool: AdminPool): Promise<number> {
    const [entry] = expectPositionals(args, 1, 'HOST:PORT');
    let weightBy: WeightBy = choiceFlag(args, 'weight-by', WEIGHT_BY, 'slots');
    const thresholdPct = numberFlag(args, 'threshold', 2, 0);
    const settings = moveSettings(args);
    const t = await loadTopology(pool, await resolveAddress(parseAddress(entry!)));
    requireHealthy(t);
    const weights = parseWeights(t, args.flags.get('weight') ?? []);
    const prims = primaries(t);
    const nodes: PlanNode[] = prims.map((n) => ({ id: n.id, slots: n.slots, weight: weights.get(n.id) ?? 1 }));
    let slotLoad: ((slot: number) => number) | undefined;
    if (weightBy !== 'slots') {
      const loads = await slotLoads(prims, weightBy);
      const total = loads.reduce((a, b) => a + b, 0);
      if (total === 0) {
        out(`*** Nothing to weigh by ${weightBy} (no keys): balancing slot counts instead.`);
        weightBy = 'slots';
      } else {
        slotLoad = (slot) => loads[slot] ?? 0;
      }
    }
    const plan = planRebalance(nodes, { thresholdPct, useEmptyMasters: hasFlag(args, 'use-empty-masters'), ...(slotLoad ? { slotLoad } : {}) });
    out(`>>> Rebalancing by ${weightBy} across ${plan.loads.size} primaries`);
    for (const [id, l] of plan.loads) {
      const unit = weightBy === 'memory' ? ' bytes' : weightBy === 'keys' ? ' keys' : ' slots';
      out(`  ${nameOf(t.nodes.find((n) => n.id === id)!)}: ${Math.round(l.actual)}${unit}, expected ${Math.round(l.expected)}`);
    }
    if (!plan.needed) {
      out(`*** No rebalancing needed! All nodes are within the ${thresholdPct.toFixed(2)}% threshold.`);
      return 0;
    }
    checkPlan(nodes, plan.moves);
    out(formatPlan(groupMoves(plan.moves), (id) => nameOf(t.nodes.find((n) => n.id === id)!)));
    if (hasFlag(args, 'dry-run')) return 0;
    out(await executeMoves(pool, t, plan.moves, settings));
    return 0;
  },
};

export const reshardCommand: ClusterCommand = {
  name: 'reshard',
  summary: 'move N slots between primaries',
  usage: 'tessera cluster reshard HOST:PORT --from ID|HOST:PORT|all[,...] --to ID|HOST:PORT --slots N [--yes] [move options]',
  details: [
    'Moves N slots (with their keys) to the --to node, taken from the --from nodes in proportion to',
    'what they hold (all: every other primary). Prints the plan and asks before doing it.',
    '',
    '  --from SPEC   source node(s): ids, id prefixes or host:port, comma-separated, or all',
    '  --to SPEC     target node',
    `  --slots N     how many slots to move (1..${SLOT_COUNT})`,
    '  --yes         do not ask (required when stdin is not a terminal)',
    ...MOVE_FLAGS_HELP,
  ],
  flags: { from: 'value', to: 'value', slots: 'value', yes: 'bool', ...MOVE_FLAGS },
  async run(args: ParsedArgs, pool: AdminPool): Promise<number> {
    const [entry] = expectPositionals(args, 1, 'HOST:PORT');
    const fromSpec = stringFlag(args, 'from');
    const toSpec = stringFlag(args, 'to');
    if (fromSpec === undefined || toSpec === undefined || !hasFlag(args, 'slots')) throw new UsageError('--from, --to and --slots are required');
    const count = intFlag(args, 'slots', 0, 1, SLOT_COUNT);
    requireYesOrTerminal(hasFlag(args, 'yes'));
    const settings = moveSettings(args);
    const t = await loadTopology(pool, await resolveAddress(parseAddress(entry!)));
    requireHealthy(t);
    const target = findNode(t, toSpec);
    if (!primaries(t).includes(target)) throw new UsageError(`${nameOf(target)} is not a primary`);
    const sources =
      fromSpec === 'all'
        ? primaries(t).filter((n) => n.id !== target.id)
        : fromSpec.split(',').map((s) => findNode(t, s.trim()));
    for (const s of sources) {
      if (s.id === target.id) throw new UsageError('the target node cannot also be a source');
      if (!primaries(t).includes(s)) throw new UsageError(`${nameOf(s)} is not a primary`);
    }
    const nodes: PlanNode[] = sources.map((n) => ({ id: n.id, slots: n.slots, weight: 1 }));
    const available = nodes.reduce((k, n) => k + n.slots.length, 0);
    if (count > available) throw new OperationError(`the source nodes hold only ${available} slots; cannot move ${count}`);
    const moves = planReshard(nodes, target.id, count);
    checkPlan(primaries(t).map((n) => ({ id: n.id, slots: n.slots, weight: 1 })), moves);
    out(`>>> Resharding ${count} slots to ${nameOf(target)}`);
    out(formatPlan(groupMoves(moves), (id) => nameOf(t.nodes.find((n) => n.id === id)!)));
    if (!(await confirm('Do you want to proceed with the proposed reshard plan (yes/no)?', hasFlag(args, 'yes')))) {
      out('Aborted: nothing was moved.');
      return 1;
    }
    out(await executeMoves(pool, t, moves, settings));
    return 0;
  },
};

/** `--weight ID=W` values by node id. */
function parseWeights(t: Topology, specs: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const spec of specs) {
    const eq = spec.lastIndexOf('=');
    if (eq <= 0) throw new UsageError(`--weight needs NODE=WEIGHT, got '${spec}'`);
    const w = Number(spec.slice(eq + 1));
    if (spec.slice(eq + 1).trim() === '' || !Number.isFinite(w) || w < 0) throw new UsageError(`--weight ${spec}: the weight must be a number >= 0`);
    out.set(findNode(t, spec.slice(0, eq)).id, w);
  }
  return out;
}

/** Load of every slot (index = slot): its key count, or its keys times its node's bytes per key. */
async function slotLoads(prims: readonly ClusterNode[], by: 'keys' | 'memory'): Promise<number[]> {
  const loads = new Array<number>(SLOT_COUNT).fill(0);
  await Promise.all(
    prims.map(async (n) => {
      const c = endpointOf(n).client;
      const counts = await countKeys(c, n.slots);
      let factor = 1;
      if (by === 'memory') {
        const [keys, memory] = await Promise.all([c.callInteger(['DBSIZE']), c.info('memory')]);
        const used = Number(memory.get('used_memory_dataset') ?? memory.get('used_memory'));
        factor = keys > 0 && Number.isFinite(used) ? used / keys : 0;
      }
      n.slots.forEach((slot, i) => (loads[slot] = counts[i]! * factor));
    }),
  );
  return loads;
}
