// `tessera cluster create`: like `redis-cli --cluster create [--cluster-replicas R]`. Checks every
// node is cluster-enabled, empty and alone; makes the first N / (R + 1) nodes primaries and spreads
// the slots over them in contiguous ranges; gives each node its own config epoch; joins them all
// to the first; makes the others replicas (CLUSTER REPLICATE, round-robin, preferring a primary
// on another host); waits (bounded) until every node reports the same slot map and
// roles, and the cluster state is ok.

import { formatAddress, hasFlag, intFlag, parseAddress, type Address, type ParsedArgs } from '../args.js';
import { isUnknownSubcommand, resolveAddress, type AdminClient, type AdminPool } from '../admin-client.js';
import type { ClusterCommand } from '../command.js';
import { OperationError, UsageError } from '../errors.js';
import { confirm, out, pollUntil, requireYesOrTerminal } from '../output.js';
import { allocateSlots, assignReplicas } from '../plan.js';
import { countRanges, formatRanges, type SlotRange } from '../slots.js';
import { configSignature, fetchOwnView, parseClusterNodes, requireClusterEnabled } from '../topology.js';

export const DEFAULT_JOIN_WAIT_MS = 60_000;
/** ADDSLOTS fallback: slots per command. */
const ADDSLOTS_CHUNK = 2048;

export interface CreateOptions {
  assumeYes: boolean;
  joinWaitMs: number;
  /** Replicas per primary (default 0). */
  replicas?: number;
}

export const createCommand: ClusterCommand = {
  name: 'create',
  summary: 'make a new cluster of empty nodes',
  usage: 'tessera cluster create HOST:PORT HOST:PORT ... [--replicas R] [--yes] [--wait MS]',
  details: [
    'Checks that every node is cluster-enabled, empty and knows no other node; makes the first',
    'N / (R + 1) nodes primaries and assigns them the 16384 slots in contiguous ranges, sets config',
    'epochs 1..N, joins every node to the first, makes the other nodes replicas (round-robin,',
    'preferring a primary on another host) and waits until all nodes agree on the slot',
    'map and the roles. Prints the plan first and asks before doing it.',
    '',
    '  --replicas R   replicas per primary (default 0)',
    '  --yes          do not ask (required when stdin is not a terminal)',
    `  --wait MS      how long to wait for the nodes to agree (default ${DEFAULT_JOIN_WAIT_MS})`,
  ],
  flags: { replicas: 'value', yes: 'bool', wait: 'value' },
  async run(args: ParsedArgs, pool: AdminPool): Promise<number> {
    if (args.positionals.length === 0) throw new UsageError('expected at least one HOST:PORT');
    const replicas = intFlag(args, 'replicas', 0, 0, 100);
    const addresses = args.positionals.map(parseAddress);
    if (addresses.length < replicas + 1) throw new UsageError(`${addresses.length} node(s) cannot make a primary with ${replicas} replica(s): give at least ${replicas + 1}`);
    requireYesOrTerminal(hasFlag(args, 'yes'));
    const seen = new Set<string>();
    for (const a of addresses) {
      const key = formatAddress(a);
      if (seen.has(key)) throw new UsageError(`${key} is given twice`);
      seen.add(key);
    }
    return createCluster(pool, addresses, { assumeYes: hasFlag(args, 'yes'), joinWaitMs: intFlag(args, 'wait', DEFAULT_JOIN_WAIT_MS, 1), replicas });
  },
};

/** Creates the cluster; returns 0, or 1 when the user declined. Failures throw. */
export async function createCluster(pool: AdminPool, given: readonly Address[], opts: CreateOptions): Promise<number> {
  const addresses = await Promise.all(given.map(resolveAddress));
  const clients = await Promise.all(addresses.map((a) => pool.get(a)));
  const ids: string[] = [];
  const busPorts: number[] = [];
  for (const c of clients) {
    await requireClusterEnabled(c);
    const view = await fetchOwnView(c);
    const keys = await c.callInteger(['DBSIZE']);
    if (view.records.length > 1 || view.myself.slots.length > 0 || keys > 0) {
      throw new OperationError(
        `Node ${c.address} is not empty. Either the node already knows other nodes (check with CLUSTER NODES) ` +
          'or contains some key in database 0.',
      );
    }
    ids.push(view.myself.id);
    busPorts.push(view.myself.cport);
  }
  const roles = assignReplicas(addresses.map((a) => a.host), opts.replicas ?? 0);
  const primaryIdx = roles.flatMap((r, i) => (r === -1 ? [i] : []));
  const ranges = allocateSlots(primaryIdx.length);
  out(`>>> Performing hash slots allocation on ${clients.length} nodes...`);
  ranges.forEach(([a, b], i) => out(`Master[${i}] -> Slots ${a} - ${b}`));
  roles.forEach((p, i) => {
    if (p >= 0) out(`Adding replica ${clients[i]!.address} to ${clients[p]!.address}`);
  });
  clients.forEach((c, i) => {
    const p = roles[i]!;
    if (p < 0) {
      const r = ranges[primaryIdx.indexOf(i)]!;
      out(`M: ${ids[i]!} ${c.address}\n   slots:[${formatRanges([r])}] (${countRanges([r])} slots) master`);
    } else {
      out(`S: ${ids[i]!} ${c.address}\n   replicates ${ids[p]!}`);
    }
  });
  if (!(await confirm("Can I set the above configuration? (type 'yes' to accept):", opts.assumeYes))) {
    out('Aborted: nothing was changed.');
    return 1;
  }

  out('>>> Nodes configuration updated');
  for (let k = 0; k < primaryIdx.length; k++) await addSlotRange(clients[primaryIdx[k]!]!, ranges[k]!);
  out('>>> Assign a different config epoch to each node');
  for (let i = 0; i < clients.length; i++) await clients[i]!.call(['CLUSTER', 'SET-CONFIG-EPOCH', i + 1]);
  out('>>> Sending CLUSTER MEET messages to join the cluster');
  const first = addresses[0]!;
  // With the bus port, as redis-cli 7 does: it need not be port + 10000 (--cluster-port).
  const meet = busPorts[0]! > 0 ? ['CLUSTER', 'MEET', first.host, first.port, busPorts[0]!] : ['CLUSTER', 'MEET', first.host, first.port];
  for (const c of clients.slice(1)) await c.call(meet);

  await waitForAgreement(clients, ids, opts.joinWaitMs);
  if (roles.some((p) => p >= 0)) {
    out('>>> Configuring replicas (CLUSTER REPLICATE)');
    for (let i = 0; i < clients.length; i++) if (roles[i]! >= 0) await clients[i]!.call(['CLUSTER', 'REPLICATE', ids[roles[i]!]!]);
    await waitForRoles(clients, ids, roles, opts.joinWaitMs);
  }
  out('[OK] All nodes agree about slots configuration.');
  await waitForStateOk(clients, opts.joinWaitMs);
  out(`[OK] All 16384 slots covered; cluster_state:ok on all ${clients.length} nodes.`);
  return 0;
}

/** CLUSTER ADDSLOTSRANGE, or ADDSLOTS in chunks where the server lacks it (Redis < 7). */
export async function addSlotRange(c: AdminClient, [from, to]: SlotRange): Promise<void> {
  try {
    await c.call(['CLUSTER', 'ADDSLOTSRANGE', from, to]);
    return;
  } catch (e) {
    if (!isUnknownSubcommand(e)) throw e;
  }
  for (let a = from; a <= to; a += ADDSLOTS_CHUNK) {
    const slots: number[] = [];
    for (let s = a; s <= Math.min(to, a + ADDSLOTS_CHUNK - 1); s++) slots.push(s);
    await c.call(['CLUSTER', 'ADDSLOTS', ...slots]);
  }
}

/**
 * Polls every node's CLUSTER NODES until each knows all `ids` (no handshake in progress) and all
 * config signatures are equal, printing a dot per wait.
 */
export async function waitForAgreement(clients: readonly AdminClient[], ids: readonly string[], deadlineMs: number): Promise<void> {
  process.stdout.write('Waiting for the cluster to join');
  try {
    await pollUntil(
      'all nodes to agree about the slot map',
      async (note) => {
        const texts = await Promise.all(clients.map((c) => c.callString(['CLUSTER', 'NODES'])));
        for (let i = 0; i < texts.length; i++) {
          const known = new Set(parseClusterNodes(texts[i]!).filter((r) => !r.flags.includes('handshake')).map((r) => r.id));
          const missing = ids.filter((id) => !known.has(id));
          if (missing.length > 0) {
            note(`${clients[i]!.address} does not know ${missing.length} node(s) yet`);
            return false;
          }
        }
        const signatures = new Set(texts.map(configSignature));
        if (signatures.size > 1) note(`${signatures.size} different slot maps`);
        return signatures.size === 1;
      },
      deadlineMs,
      250,
      () => process.stdout.write('.'),
    );
  } finally {
    process.stdout.write('\n');
  }
}

/** Polls every node's CLUSTER NODES until each shows node i as a replica of ids[roles[i]]. */
export async function waitForRoles(clients: readonly AdminClient[], ids: readonly string[], roles: readonly number[], deadlineMs: number): Promise<void> {
  await pollUntil(
    'every node to know the replicas',
    async (note) => {
      for (const c of clients) {
        const recs = parseClusterNodes(await c.callString(['CLUSTER', 'NODES']));
        for (let i = 0; i < ids.length; i++) {
          if (roles[i]! < 0) continue;
          const r = recs.find((x) => x.id === ids[i]);
          if (!r || !r.flags.includes('slave') || r.primaryId !== ids[roles[i]!]) {
            note(`${c.address} does not see ${ids[i]!.slice(0, 8)} as a replica yet`);
            return false;
          }
        }
      }
      return true;
    },
    deadlineMs,
  );
}

/** Polls CLUSTER INFO on every node until cluster_state is ok everywhere. */
export async function waitForStateOk(clients: readonly AdminClient[], deadlineMs: number): Promise<void> {
  await pollUntil(
    'cluster_state:ok on every node',
    async (note) => {
      for (const c of clients) {
        const info = await c.callString(['CLUSTER', 'INFO']);
        if (!/^cluster_state:ok\r?$/m.test(info)) {
          note(`${c.address} is not ok yet`);
          return false;
        }
      }
      return true;
    },
    deadlineMs,
  );
}
