// `tessera cluster check` and `tessera cluster fix`, after redis-cli's. check reports nodes that
// disagree about the slot map, open (migrating/importing) slots and uncovered slots. fix closes
// open slots (finishing an interrupted move when both sides are known, else making the slot
// stable where its keys are) and assigns uncovered slots (to the node holding keys in them, else
// round-robin), then waits (bounded) for the nodes to agree and checks again.

import { expectPositionals, parseAddress, type ParsedArgs } from '../args.js';
import type { AdminClient, AdminPool } from '../admin-client.js';
import type { ClusterCommand } from '../command.js';
import { OperationError } from '../errors.js';
import { assignSlot, migrateKeys, type Endpoint, type MoveSettings } from '../move-slot.js';
import { out, pollUntil } from '../output.js';
import { toRanges } from '../slots.js';
import { loadTopology, nodeById, primaries, type ClusterNode, type Topology } from '../topology.js';
import { addSlotRange } from './create.js';
import { MOVE_FLAGS, MOVE_FLAGS_HELP, checkTopology, countKeys, endpointOf, moveSettings, nameOf, type CheckReport } from './common.js';

const FIX_SETTLE_MS = 30_000;

export const checkCommand: ClusterCommand = {
  name: 'check',
  summary: 'check slot agreement, open slots and coverage',
  usage: 'tessera cluster check HOST:PORT',
  details: [
    'Loads the topology from HOST:PORT and every node it lists, and reports nodes that disagree',
    'about the slot map, open (migrating/importing) slots, uncovered slots and unreachable nodes.',
    'Exit status 0 when all is well, 1 otherwise.',
  ],
  flags: {},
  async run(args: ParsedArgs, pool: AdminPool): Promise<number> {
    const [entry] = expectPositionals(args, 1, 'HOST:PORT');
    const t = await loadTopology(pool, parseAddress(entry!));
    await printKeySummary(t);
    return checkTopology(t, true).ok ? 0 : 1;
  },
};

export const fixCommand: ClusterCommand = {
  name: 'fix',
  summary: 'close open slots and assign uncovered slots',
  usage: 'tessera cluster fix HOST:PORT [--timeout MS] [--pipeline N] [--replace]',
  details: [
    'Runs check, then closes every open slot (moving the remaining keys to the importing side and',
    'assigning the slot there, or making it stable where nothing is left to move) and assigns',
    'uncovered slots (to the node holding keys in them, else round-robin). Exit status 0 when the',
    'cluster checks out afterwards, 1 otherwise.',
    '',
    ...MOVE_FLAGS_HELP,
  ],
  flags: { ...MOVE_FLAGS },
  async run(args: ParsedArgs, pool: AdminPool): Promise<number> {
    const [entryText] = expectPositionals(args, 1, 'HOST:PORT');
    const entry = parseAddress(entryText!);
    const settings = moveSettings(args);
    const t = await loadTopology(pool, entry);
    await printKeySummary(t);
    const report = checkTopology(t, true);
    if (report.ok) return 0;
    await fixCluster(pool, t, report, settings);
    out('>>> Checking the cluster again');
    let last: Topology = t;
    try {
      await pollUntil(
        'the nodes to agree after the fix',
        async (note) => {
          last = await loadTopology(pool, entry);
          const r = checkTopology(last, false);
          if (!r.ok) note(describeProblems(r));
          return r.ok;
        },
        FIX_SETTLE_MS,
      );
    } catch (e) {
      if (!(e instanceof OperationError)) throw e;
      out(`*** ${e.message}`);
    }
    return checkTopology(last, true).ok ? 0 : 1;
  },
};

function describeProblems(r: CheckReport): string {
  return [
    r.unreachable.length > 0 ? `${r.unreachable.length} unreachable` : '',
    r.disagreeing.length > 0 ? `${r.disagreeing.length} disagreeing` : '',
    r.open.size > 0 ? `${r.open.size} open slots` : '',
    r.uncovered.length > 0 ? `${r.uncovered.length} uncovered slots` : '',
  ]
    .filter((s) => s !== '')
    .join(', ');
}

/** redis-cli's opening lines: keys and slots per primary, then the totals. */
async function printKeySummary(t: Topology): Promise<void> {
  const prims = primaries(t);
  let total = 0;
  for (const n of prims) {
    if (n.client === null) continue;
    const keys = await n.client.callInteger(['DBSIZE']);
    total += keys;
    const replicas = t.nodes.filter((r) => r.primaryId === n.id).length;
    out(`${nameOf(n)} -> ${keys} keys | ${n.slots.length} slots | ${replicas} slaves.`);
  }
  out(`[OK] ${total} keys in ${prims.length} masters.`);
  out(`${(total / 16384).toFixed(2)} keys per slot on average.`);
}

async function fixCluster(pool: AdminPool, t: Topology, report: CheckReport, settings: MoveSettings): Promise<void> {
  if (report.unreachable.length > 0) {
    throw new OperationError(`cannot fix while ${report.unreachable.map((n) => n.addr).join(', ')} cannot be reached`);
  }
  const slots = [...report.open.keys()].sort((a, b) => a - b);
  for (const slot of slots) await fixOpenSlot(pool, t, slot, report.open.get(slot)!, settings);
  const uncovered = report.uncovered.filter((s) => !report.open.has(s));
  if (uncovered.length > 0) await fixUncovered(pool, t, uncovered, settings);
}

/** Keys in `slot` on every primary. */
async function keysPerNode(nodes: readonly ClusterNode[], slot: number): Promise<Map<string, number>> {
  const counts = await Promise.all(nodes.map((n) => endpointOf(n).client.callInteger(['CLUSTER', 'COUNTKEYSINSLOT', slot])));
  return new Map(nodes.map((n, i) => [n.id, counts[i]!]));
}

async function fixOpenSlot(
  pool: AdminPool,
  t: Topology,
  slot: number,
  open: { migrating: ClusterNode[]; importing: ClusterNode[] },
  settings: MoveSettings,
): Promise<void> {
  out(`>>> Fixing open slot ${slot}`);
  const prims = primaries(t);
  const all = prims.map(endpointOf);
  const counts = await keysPerNode(prims, slot);
  let migrating = [...open.migrating];
  let importing = [...open.importing];
  let ownerId = t.owners[slot] ?? null;
  if (ownerId === null) {
    // Nobody serves it: the node with the most keys in it takes it (else a node touching it).
    const byKeys = [...prims].sort((a, b) => counts.get(b.id)! - counts.get(a.id)!);
    const owner = counts.get(byKeys[0]!.id)! > 0 ? byKeys[0]! : (migrating[0] ?? importing[0] ?? byKeys[0]!);
    out(`*** Slot ${slot} has no owner; giving it to ${nameOf(owner)}`);
    const c = endpointOf(owner).client;
    await c.call(['CLUSTER', 'SETSLOT', slot, 'STABLE']);
    await c.call(['CLUSTER', 'ADDSLOTS', slot]);
    await bumpEpoch(c);
    ownerId = owner.id;
    migrating = migrating.filter((n) => n.id !== owner.id);
    importing = importing.filter((n) => n.id !== owner.id);
  }
  const owner = nodeById(t, ownerId);
  // Keys on a node that neither owns nor imports the slot: treat it as importing, like redis-cli.
  for (const n of prims) {
    if (n.id === ownerId || (counts.get(n.id) ?? 0) === 0) continue;
    if (!migrating.includes(n) && !importing.includes(n)) importing.push(n);
  }
  out(`Set as migrating in: ${migrating.map(nameOf).join(', ') || '-'}`);
  out(`Set as importing in: ${importing.map(nameOf).join(', ') || '-'}`);

  if (migrating.length === 1 && importing.length >= 1) {
    const src = migrating[0]!;
    const wanted = src.migrating.get(slot);
    const dst = importing.length === 1 ? importing[0]! : importing.find((n) => n.id === wanted);
    if (dst !== undefined) {
      for (const other of importing) if (other !== dst) await stable(other, slot);
      await finishMove(pool, slot, endpointOf(src), endpointOf(dst), all, settings);
      return;
    }
    // None of the importing nodes is the one the source migrates to: close everything.
    for (const n of [...migrating, ...importing]) await stable(n, slot);
    return;
  }
  if (migrating.length === 0 && importing.length > 0) {
    // Nodes importing with no migration under way: their keys go back to the owner.
    for (const n of importing) {
      if (n.id === owner.id) continue;
      if ((counts.get(n.id) ?? 0) > 0) {
        const moved = await migrateKeys(pool, slot, endpointOf(n), endpointOf(owner), settings, undefined, true);
        out(`Moved ${moved} keys of slot ${slot} from ${nameOf(n)} back to its owner ${nameOf(owner)}`);
      }
      await stable(n, slot);
    }
    if (owner.importing.has(slot) || owner.migrating.has(slot)) await stable(owner, slot);
    return;
  }
  if (migrating.length === 1 && importing.length === 0) {
    const mig = migrating[0]!;
    const keys = counts.get(mig.id) ?? 0;
    if (mig.id !== owner.id && keys > 0 && mig.migrating.get(slot) === owner.id) {
      // The target already took the slot (SETSLOT NODE reached it) but keys were left behind.
      const moved = await migrateKeys(pool, slot, endpointOf(mig), endpointOf(owner), settings, undefined, true);
      await assignSlot(slot, endpointOf(owner), endpointOf(mig), all);
      out(`Moved ${moved} keys of slot ${slot} from ${nameOf(mig)} to its owner ${nameOf(owner)}`);
      return;
    }
    if (mig.id !== owner.id && keys > 0) {
      throw new OperationError(`cannot fix slot ${slot}: ${nameOf(mig)} holds ${keys} keys of it but ${nameOf(owner)} owns it`);
    }
    await stable(mig, slot);
    return;
  }
  throw new OperationError(`cannot fix slot ${slot} automatically: migrating in ${migrating.length} nodes, importing in ${importing.length}`);
}

/** Moves what is left of an interrupted migration and assigns the slot to the target. */
async function finishMove(pool: AdminPool, slot: number, src: Endpoint, dst: Endpoint, all: readonly Endpoint[], settings: MoveSettings): Promise<void> {
  // Both marks are needed for the keys to be accepted and for clients to be sent to the target.
  await dst.client.call(['CLUSTER', 'SETSLOT', slot, 'IMPORTING', src.id]);
  await src.client.call(['CLUSTER', 'SETSLOT', slot, 'MIGRATING', dst.id]).catch(() => undefined);
  const moved = await migrateKeys(pool, slot, src, dst, settings);
  await assignSlot(slot, dst, src, all);
  out(`Moved ${moved} keys of slot ${slot} from ${src.client.address} to ${dst.client.address} and assigned it there`);
}

async function stable(n: ClusterNode, slot: number): Promise<void> {
  await endpointOf(n).client.call(['CLUSTER', 'SETSLOT', slot, 'STABLE']);
  out(`Slot ${slot} set stable on ${nameOf(n)}`);
}

async function bumpEpoch(c: AdminClient): Promise<void> {
  try {
    await c.call(['CLUSTER', 'BUMPEPOCH']);
  } catch {
    // only helps the new claim win quickly; ownership is set either way
  }
}

async function fixUncovered(pool: AdminPool, t: Topology, uncovered: readonly number[], settings: MoveSettings): Promise<void> {
  out(`>>> Fixing slots coverage: ${uncovered.length} uncovered slots`);
  const prims = primaries(t);
  if (prims.length === 0) throw new OperationError('no primary to assign slots to');
  const counts = await Promise.all(prims.map((n) => countKeys(endpointOf(n).client, uncovered)));
  const assign = new Map<string, number[]>(prims.map((n) => [n.id, []]));
  const gather: Array<{ slot: number; owner: ClusterNode; from: ClusterNode[] }> = [];
  let next = 0;
  uncovered.forEach((slot, i) => {
    const holders = prims.filter((_, p) => counts[p]![i]! > 0).sort((a, b) => counts[prims.indexOf(b)]![i]! - counts[prims.indexOf(a)]![i]!);
    const owner = holders[0] ?? prims[next++ % prims.length]!;
    assign.get(owner.id)!.push(slot);
    if (holders.length > 1) gather.push({ slot, owner, from: holders.slice(1) });
  });
  for (const n of prims) {
    const slots = assign.get(n.id)!;
    if (slots.length === 0) continue;
    const c = endpointOf(n).client;
    for (const r of toRanges(slots)) await addSlotRange(c, r);
    out(`Assigned ${slots.length} slots to ${nameOf(n)}`);
  }
  for (const g of gather) {
    for (const n of g.from) {
      const moved = await migrateKeys(pool, g.slot, endpointOf(n), endpointOf(g.owner), settings, undefined, true);
      out(`Moved ${moved} keys of slot ${g.slot} from ${nameOf(n)} to ${nameOf(g.owner)}`);
    }
  }
}
