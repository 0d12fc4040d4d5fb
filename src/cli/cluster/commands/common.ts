// Pieces several subcommands share: the slot-move flags, running a list of planned moves with
// progress, printing nodes the way redis-cli does, and the cluster health check that check, fix,
// rebalance and reshard all start from.

import { intFlag, hasFlag, type FlagSpec, type ParsedArgs } from '../args.js';
import type { AdminClient, AdminPool } from '../admin-client.js';
import { OperationError } from '../errors.js';
import { DEFAULT_MOVE_SETTINGS, moveSlotGroup, type Endpoint, type MoveSettings } from '../move-slot.js';
import { out } from '../output.js';
import { waitForStateOk } from './create.js';
import type { SlotMove } from '../plan.js';
import { createProgress } from '../progress.js';
import { SLOT_COUNT, formatRanges, toRanges } from '../slots.js';
import { clientOf, isPrimary, nodeById, openSlots, primaries, type ClusterNode, type Topology } from '../topology.js';

/** How long moves wait for every primary to report cluster_state:ok before starting. */
const STATE_OK_WAIT_MS = 15_000;

/** COUNTKEYSINSLOT calls in flight per node while surveying slots. */
const COUNT_CONCURRENCY = 256;

/** Flags of every subcommand that moves slots. */
export const MOVE_FLAGS = { timeout: 'value', pipeline: 'value', replace: 'bool' } as const satisfies FlagSpec;

export const MOVE_FLAGS_HELP = [
  '  --timeout MS      MIGRATE timeout per batch (default 60000)',
  '  --pipeline N      keys per GETKEYSINSLOT/MIGRATE batch when moving keys (default 1000)',
  '  --replace         overwrite keys that already exist on the target (MIGRATE ... REPLACE)',
];

export function moveSettings(args: ParsedArgs): MoveSettings {
  return {
    timeoutMs: intFlag(args, 'timeout', DEFAULT_MOVE_SETTINGS.timeoutMs, 1),
    batchKeys: intFlag(args, 'pipeline', DEFAULT_MOVE_SETTINGS.batchKeys, 1, 100_000),
    replace: hasFlag(args, 'replace'),
  };
}

export function endpointOf(n: ClusterNode): Endpoint {
  return { id: n.id, address: n.address, client: clientOf(n) };
}

/** Short display name: "127.0.0.1:7000 (abcdef12)". */
export function nameOf(n: ClusterNode): string {
  return `${n.addr} (${n.id.slice(0, 8)})`;
}

/** Slots opened and assigned together (pipelined) while their keys move one slot at a time. */
const GROUP_SLOTS = 512;

/**
 * Runs `moves` in order, in groups of consecutive moves between the same two nodes, with a
 * progress bar; stops at the first failure (the slots of that group stay open for `fix`).
 * Returns the summary line.
 */
export async function executeMoves(pool: AdminPool, t: Topology, moves: readonly SlotMove[], settings: MoveSettings): Promise<string> {
  const everyPrimary = primaries(t).map(endpointOf);
  await waitForStateOk(everyPrimary.map((e) => e.client), STATE_OK_WAIT_MS);
  const progress = createProgress(moves.length);
  for (let i = 0; i < moves.length; ) {
    const first = moves[i]!;
    const group: number[] = [];
    while (i < moves.length && group.length < GROUP_SLOTS && moves[i]!.from === first.from && moves[i]!.to === first.to) {
      group.push(moves[i]!.slot);
      i++;
    }
    const src = endpointOf(nodeById(t, first.from));
    const dst = endpointOf(nodeById(t, first.to));
    try {
      await moveSlotGroup(pool, group, src, dst, everyPrimary, settings, {
        started: (slot, keys) => progress.slotStarted(slot, src.client.address, dst.client.address, keys),
        advanced: (n) => progress.slotAdvanced(n),
        done: (slot, moved) => progress.slotDone(slot, moved),
      });
    } catch (e) {
      out(progress.finish());
      throw e;
    }
  }
  return progress.finish();
}

/** redis-cli's node block: "M: <id> <addr>\n   slots:[0-5460] (5461 slots) master". */
export function describeNode(n: ClusterNode): string {
  const role = isPrimary(n) ? 'M' : 'S';
  const ranges = toRanges(n.slots);
  const lines = [`${role}: ${n.id} ${n.addr}`];
  if (isPrimary(n)) lines.push(`   slots:[${formatRanges(ranges)}] (${n.slots.length} slots) master`);
  else lines.push(`   slots: (0 slots) slave`, `   replicates ${n.primaryId ?? '?'}`);
  if (n.error !== null) lines.push(`   [ERR] unreachable: ${n.error}`);
  return lines.join('\n');
}

export interface CheckReport {
  ok: boolean;
  unreachable: ClusterNode[];
  /** Nodes whose slot map differs from the entry's. */
  disagreeing: ClusterNode[];
  /** Slot -> nodes with it migrating / importing. */
  open: Map<number, { migrating: ClusterNode[]; importing: ClusterNode[] }>;
  uncovered: number[];
  conflicts: Array<{ slot: number; ids: string[] }>;
}

/** The health check of `check` (printed when `print`): agreement, open slots, coverage. */
export function checkTopology(t: Topology, print: boolean): CheckReport {
  const say = print ? out : (): void => undefined;
  say(`>>> Performing Cluster Check (using node ${t.entry.addr})`);
  for (const n of t.nodes) say(describeNode(n));
  const unreachable = t.nodes.filter((n) => n.client === null);
  for (const n of unreachable) say(`[ERR] Node ${n.addr} (${n.id}) is unreachable: ${n.error ?? ''}`);

  const reachable = t.nodes.filter((n) => n.signature !== null);
  const disagreeing = reachable.filter((n) => n.signature !== t.entry.signature);
  if (disagreeing.length === 0) say('[OK] All nodes agree about slots configuration.');
  else {
    say("[ERR] Nodes don't agree about configuration!");
    for (const n of disagreeing) say(`   ${n.addr} (${n.id}) has a different slot map than ${t.entry.addr}`);
  }

  say('>>> Check for open slots...');
  const open = openSlots(t);
  for (const n of t.nodes) {
    if (n.migrating.size > 0) say(`[WARNING] Node ${n.addr} has slots in migrating state ${[...n.migrating.keys()].join(',')}.`);
    if (n.importing.size > 0) say(`[WARNING] Node ${n.addr} has slots in importing state ${[...n.importing.keys()].join(',')}.`);
  }
  if (open.size > 0) say(`[WARNING] The following slots are open: ${[...open.keys()].sort((a, b) => a - b).join(',')}.`);

  say('>>> Check slots coverage...');
  const uncovered: number[] = [];
  for (let s = 0; s < SLOT_COUNT; s++) if (t.owners[s] === null) uncovered.push(s);
  if (uncovered.length === 0) say(`[OK] All ${SLOT_COUNT} slots covered.`);
  else say(`[ERR] Not all ${SLOT_COUNT} slots are covered by nodes: ${uncovered.length} uncovered (${formatRanges(toRanges(uncovered))}).`);
  for (const c of t.conflicts) say(`[ERR] Slot ${c.slot} is claimed by several nodes: ${c.ids.join(', ')}`);

  const ok = unreachable.length === 0 && disagreeing.length === 0 && open.size === 0 && uncovered.length === 0 && t.conflicts.length === 0;
  return { ok, unreachable, disagreeing, open, uncovered, conflicts: t.conflicts };
}

/** Fails unless the cluster passes the check (what rebalance and reshard require first). */
export function requireHealthy(t: Topology): void {
  const r = checkTopology(t, false);
  if (r.ok) return;
  const problems: string[] = [];
  if (r.unreachable.length > 0) problems.push(`${r.unreachable.length} unreachable node(s)`);
  if (r.disagreeing.length > 0) problems.push('nodes disagree about the slot map');
  if (r.open.size > 0) problems.push(`open slots ${[...r.open.keys()].slice(0, 10).join(',')}`);
  if (r.uncovered.length > 0) problems.push(`${r.uncovered.length} uncovered slots`);
  if (r.conflicts.length > 0) problems.push(`${r.conflicts.length} slots claimed twice`);
  throw new OperationError(`the cluster has problems (${problems.join('; ')}); run 'tessera cluster check' / 'tessera cluster fix' first`);
}

/** Key counts of `slots` on one node, with a bounded number of calls in flight. */
export async function countKeys(c: AdminClient, slots: readonly number[]): Promise<number[]> {
  const counts: number[] = [];
  for (let i = 0; i < slots.length; i += COUNT_CONCURRENCY) {
    const chunk = slots.slice(i, i + COUNT_CONCURRENCY);
    counts.push(...(await Promise.all(chunk.map((s) => c.callInteger(['CLUSTER', 'COUNTKEYSINSLOT', s])))));
  }
  return counts;
}
