// `tessera cluster add-node` and `tessera cluster remove-node`. add-node joins an empty node as a
// primary without slots (or, with --replica-of, as a replica of a primary) and waits until every
// node knows it. remove-node, like redis-cli's del-node, moves the slots of a primary without
// replicas to the remaining primaries (evenly; a primary with replicas must be empty already),
// gives its replicas to the primary with the fewest, makes every other node forget it, then
// resets it (or shuts it down).

import { expectPositionals, formatAddress, hasFlag, intFlag, parseAddress, stringFlag, type ParsedArgs } from '../args.js';
import { NodeError, resolveAddress, type AdminPool } from '../admin-client.js';
import type { ClusterCommand } from '../command.js';
import { OperationError, UsageError } from '../errors.js';
import { out, pollUntil } from '../output.js';
import { checkPlan, formatPlan, groupMoves, planDrain, planReplicaMoves, type PlanNode } from '../plan.js';
import { clientOf, fetchOwnView, findNode, loadTopology, nodeById, parseClusterNodes, primaries, requireClusterEnabled, type ClusterNode, type Topology } from '../topology.js';
import { DEFAULT_JOIN_WAIT_MS, waitForStateOk } from './create.js';
import { MOVE_FLAGS, MOVE_FLAGS_HELP, endpointOf, executeMoves, moveSettings, nameOf, requireHealthy } from './common.js';

export const addNodeCommand: ClusterCommand = {
  name: 'add-node',
  summary: 'add an empty node to a cluster (as a primary without slots, or a replica)',
  usage: 'tessera cluster add-node NEW_HOST:PORT EXISTING_HOST:PORT [--replica-of NODE] [--wait MS]',
  details: [
    'Checks that the new node is cluster-enabled, empty and knows no other node, sends it',
    'CLUSTER MEET towards the existing node and waits until every node knows it.',
    'Give it slots afterwards with reshard or rebalance --use-empty-masters, or make it a replica.',
    '',
    '  --replica-of NODE   make it a replica of that primary (node id, id prefix or HOST:PORT)',
    `  --wait MS   how long to wait for every node to know the new one (default ${DEFAULT_JOIN_WAIT_MS})`,
  ],
  flags: { wait: 'value', 'replica-of': 'value' },
  async run(args: ParsedArgs, pool: AdminPool): Promise<number> {
    const [newText, existingText] = expectPositionals(args, 2, 'NEW_HOST:PORT EXISTING_HOST:PORT');
    const replicaOf = stringFlag(args, 'replica-of');
    const waitMs = intFlag(args, 'wait', DEFAULT_JOIN_WAIT_MS, 1);
    const existing = await resolveAddress(parseAddress(existingText!));
    const t = await loadTopology(pool, existing);
    const primary = replicaOf === undefined ? undefined : findNode(t, replicaOf);
    if (primary !== undefined && !primary.flags.includes('master')) throw new OperationError(`${nameOf(primary)} is not a primary`);
    out(`>>> Adding node ${newText!} to cluster ${t.entry.addr}${primary ? ` as a replica of ${nameOf(primary)}` : ''}`);
    const fresh = await resolveAddress(parseAddress(newText!));
    const client = await pool.get(fresh);
    await requireClusterEnabled(client);
    const view = await fetchOwnView(client);
    if (t.nodes.some((n) => n.id === view.myself.id)) throw new OperationError(`${client.address} is already part of the cluster`);
    const keys = await client.callInteger(['DBSIZE']);
    if (view.records.length > 1 || view.myself.slots.length > 0 || keys > 0) {
      throw new OperationError(`Node ${client.address} is not empty. Either the node already knows other nodes (check with CLUSTER NODES) or contains some key in database 0.`);
    }
    const entryHost = t.entry.address;
    out(`>>> Send CLUSTER MEET to node ${client.address} to make it join the cluster.`);
    // With the entry's bus port, as redis-cli 7 does (it need not be port + 10000).
    const entryBus = (await fetchOwnView(await pool.get(entryHost))).myself.cport;
    await client.call(entryBus > 0 ? ['CLUSTER', 'MEET', entryHost.host, entryHost.port, entryBus] : ['CLUSTER', 'MEET', entryHost.host, entryHost.port]);
    const everyone = [...t.nodes.filter((n) => n.client !== null).map((n) => clientOf(n)), client];
    const ids = [...t.nodes.map((n) => n.id), view.myself.id];
    await pollUntil(
      `every node to know ${client.address}`,
      async (note) => {
        for (const c of everyone) {
          const known = parseClusterNodes(await c.callString(['CLUSTER', 'NODES'])).filter((r) => !r.flags.includes('handshake'));
          const missing = ids.filter((id) => !known.some((r) => r.id === id));
          if (missing.length > 0) {
            note(`${c.address} does not know ${missing.length} node(s) yet`);
            return false;
          }
        }
        return true;
      },
      waitMs,
    );
    // A new primary reports cluster_state:fail until it has the slot map (and, in Redis, for a
    // couple of seconds after it starts); moving slots to it before then fails with CLUSTERDOWN.
    await waitForStateOk([client], waitMs);
    if (primary !== undefined) {
      out(`>>> Configure node as replica of ${nameOf(primary)}.`);
      await client.call(['CLUSTER', 'REPLICATE', primary.id]);
      await pollUntil(
        `every node to see ${client.address} as a replica of ${primary.id.slice(0, 8)}`,
        async (note) => {
          for (const c of everyone) {
            const r = parseClusterNodes(await c.callString(['CLUSTER', 'NODES'])).find((x) => x.id === view.myself.id);
            if (!r || !r.flags.includes('slave') || r.primaryId !== primary.id) {
              note(`${c.address} does not yet`);
              return false;
            }
          }
          return true;
        },
        waitMs,
      );
    }
    out(`[OK] New node added correctly: ${view.myself.id} ${client.address}`);
    return 0;
  },
};

export const removeNodeCommand: ClusterCommand = {
  name: 'remove-node',
  summary: 'move a node\'s slots away, then remove it from the cluster',
  usage: 'tessera cluster remove-node HOST:PORT NODE_ID | HOST:PORT --node HOST:PORT [--shutdown] [move options]',
  details: [
    'HOST:PORT is any node of the cluster; the node to remove is NODE_ID (or an id prefix), or the',
    'node at --node HOST:PORT. A primary without replicas has its slots (and their keys) moved to',
    'the remaining primaries, evenly. A primary with replicas must own no slots (move them first',
    'with reshard or rebalance --weight NODE=0), as with redis-cli --cluster del-node; its replicas',
    'are made replicas of the primary with the fewest replicas. Then every other node runs',
    'CLUSTER FORGET, and the node itself CLUSTER RESET SOFT (or SHUTDOWN NOSAVE).',
    '',
    '  --node HOST:PORT  the node to remove, by address',
    '  --shutdown        shut the node down (SHUTDOWN NOSAVE) instead of resetting it',
    ...MOVE_FLAGS_HELP,
  ],
  flags: { node: 'value', shutdown: 'bool', ...MOVE_FLAGS },
  async run(args: ParsedArgs, pool: AdminPool): Promise<number> {
    const byAddress = stringFlag(args, 'node');
    const [entryText, idText] =
      byAddress === undefined ? expectPositionals(args, 2, 'HOST:PORT NODE_ID') : [...expectPositionals(args, 1, 'HOST:PORT (with --node)'), undefined];
    const settings = moveSettings(args);
    const t = await loadTopology(pool, await resolveAddress(parseAddress(entryText!)));
    const leaving = findNode(t, byAddress !== undefined ? formatAddress(await resolveAddress(parseAddress(byAddress))) : idText!);
    out(`>>> Removing node ${leaving.id} from cluster ${t.entry.addr}`);
    const others = t.nodes.filter((n) => n.id !== leaving.id);
    if (others.length === 0) throw new UsageError(`${nameOf(leaving)} is the only node of the cluster`);
    const replicas = others.filter((n) => n.primaryId === leaving.id);
    if (replicas.length > 0) {
      // redis-cli's rule and text: its replicas would follow the slots' new owners in Redis, so
      // which primary each ends up with is left to the operator's reshard, not done here.
      if (leaving.slots.length > 0) throw new OperationError(`Node ${leaving.addr} is not empty! Reshard data away and try again.`);
      const unreachable = replicas.filter((r) => r.client === null);
      if (unreachable.length > 0) throw new OperationError(`cannot reassign the replicas ${unreachable.map(nameOf).join(', ')} of ${nameOf(leaving)}: unreachable`);
    }
    if (leaving.slots.length > 0) {
      requireHealthy(t);
      const asPlan = (n: ClusterNode): PlanNode => ({ id: n.id, slots: n.slots, weight: 1 });
      const moves = planDrain(asPlan(leaving), primaries(t).filter((n) => n.id !== leaving.id).map(asPlan));
      checkPlan(primaries(t).map(asPlan), moves);
      out(formatPlan(groupMoves(moves), (id) => nameOf(t.nodes.find((n) => n.id === id)!)));
      out(await executeMoves(pool, t, moves, settings));
    }
    await reassignReplicas(t, leaving, replicas);
    out('>>> Sending CLUSTER FORGET messages to the cluster...');
    for (const n of others) {
      if (n.client === null) {
        out(`*** ${nameOf(n)} is unreachable: it will learn of the removal from the others`);
        continue;
      }
      await n.client.call(['CLUSTER', 'FORGET', leaving.id]);
    }
    const c = endpointOf(leaving).client;
    if (hasFlag(args, 'shutdown')) {
      out('>>> SHUTDOWN the node.');
      try {
        await c.call(['SHUTDOWN', 'NOSAVE']);
      } catch (e) {
        // The connection closing is the expected answer to SHUTDOWN.
        if (e instanceof NodeError && e.kind === 'reply') throw e;
      }
    } else {
      out('>>> Sending CLUSTER RESET SOFT to the deleted node.');
      await c.call(['CLUSTER', 'RESET', 'SOFT']);
    }
    out(`[OK] Node ${leaving.id} removed.`);
    return 0;
  },
};

/**
 * Makes each replica of `leaving` a replica of another primary (planReplicaMoves: the fewest
 * replicas first). Done before any CLUSTER FORGET: a replica refuses to forget its own primary.
 */
async function reassignReplicas(t: Topology, leaving: ClusterNode, replicas: readonly ClusterNode[]): Promise<void> {
  if (replicas.length === 0) return;
  const candidates = primaries(t).filter((p) => p.id !== leaving.id && p.client !== null && !isFailing(p));
  if (candidates.length === 0) throw new OperationError(`no other reachable primary to take the replicas of ${nameOf(leaving)}`);
  const homes = candidates.map((p) => ({ id: p.id, replicas: t.nodes.filter((n) => n.primaryId === p.id).length, serving: p.slots.length > 0 }));
  for (const { replica, primary } of planReplicaMoves(replicas.map((r) => r.id), homes)) {
    const r = nodeById(t, replica);
    const target = nodeById(t, primary);
    out(`>>> ${r.addr} as replica of ${target.addr}`);
    await endpointOf(r).client.call(['CLUSTER', 'REPLICATE', target.id]);
  }
}

function isFailing(n: ClusterNode): boolean {
  return n.flags.includes('fail') || n.flags.includes('fail?') || n.flags.includes('pfail');
}
