// A rebalance carried out by a node (POST /v1/rebalance): the planner's moves (rebalance-plan.ts,
// the one `tessera cluster rebalance` uses), in groups of up to GROUP_SLOTS consecutive slots
// between the same two primaries: IMPORTING on the target, MIGRATING on the source, the keys
// moved with CLUSTER MIGRATESLOT (the source streams them in bulk), then SETSLOT NODE on the
// target, the source and every other primary. Every node, this one included, is reached over
// the node-to-node links (logged in as cluster forwarding is). Stops at the first failure,
// leaving that group's slots open (`tessera cluster fix` resumes them), as the CLI does.

import type { NodeView } from './api.js';
import type { SlotMove } from './rebalance-plan.js';

/** Slots opened, moved and assigned together (one pipelined round per node). */
export const GROUP_SLOTS = 128;
/** Redis's reply to SETSLOT on a replica: a node that became one already knows the owner. */
const SETSLOT_ON_REPLICA = 'ERR Please use SETSLOT only with masters.';

export interface RebalanceLinks {
  /** Sends a command to a node; resolves with its raw reply (errors as `-...` bytes). */
  call(node: NodeView, args: ReadonlyArray<string>, timeoutMs: number): Promise<Buffer>;
}

export interface RunSettings {
  /** MIGRATESLOT's I/O timeout; each call may take several of it. */
  timeoutMs: number;
}

export class RebalanceStepError extends Error {}

async function ok(p: Promise<Buffer>, what: string): Promise<Buffer> {
  const r = await p;
  if (r[0] === 45) throw new RebalanceStepError(`${what}: ${r.toString('utf8', 1).trim()}`);
  return r;
}

/** Runs the moves; `progress(slotsDone, keysMoved)` after each group. Resolves with keys moved. */
export async function runMoves(
  nodes: readonly NodeView[],
  moves: readonly SlotMove[],
  links: RebalanceLinks,
  settings: RunSettings,
  progress: (slotsDone: number, keysMoved: number) => void,
): Promise<number> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const primaries = nodes.filter((n) => !n.flags.includes('slave') && !n.flags.includes('fail') && !n.flags.includes('handshake'));
  const node = (id: string): NodeView => {
    const n = byId.get(id);
    if (n === undefined) throw new RebalanceStepError(`node ${id} is no longer known`);
    return n;
  };
  const t = settings.timeoutMs;
  let done = 0;
  let keys = 0;
  for (let i = 0; i < moves.length; ) {
    const first = moves[i]!;
    const group: string[] = [];
    while (i < moves.length && group.length < GROUP_SLOTS && moves[i]!.from === first.from && moves[i]!.to === first.to) {
      group.push(String(moves[i]!.slot));
      i++;
    }
    const src = node(first.from);
    const dst = node(first.to);
    await Promise.all(group.map((s) => ok(links.call(dst, ['CLUSTER', 'SETSLOT', s, 'IMPORTING', src.id], t), `SETSLOT ${s} IMPORTING on ${dst.ip}:${dst.port}`)));
    await Promise.all(group.map((s) => ok(links.call(src, ['CLUSTER', 'SETSLOT', s, 'MIGRATING', dst.id], t), `SETSLOT ${s} MIGRATING on ${src.ip}:${src.port}`)));
    // Counted once MIGRATING, when no key can enter the slots any more.
    const counts = await Promise.all(group.map((s) => ok(links.call(src, ['CLUSTER', 'COUNTKEYSINSLOT', s], t), `COUNTKEYSINSLOT ${s}`)));
    const loaded = group.filter((_, k) => counts[k]!.toString('latin1', 1).trim() !== '0');
    if (loaded.length > 0) {
      const r = await ok(
        links.call(src, ['CLUSTER', 'MIGRATESLOT', loaded[0]!, dst.ip, String(dst.port), 'TIMEOUT', String(t), 'SLOTS', ...loaded.slice(1)], t * 10),
        `MIGRATESLOT from ${src.ip}:${src.port} to ${dst.ip}:${dst.port}`,
      );
      keys += Number(r.toString('latin1', 1).trim()) || 0;
    }
    // The target first: it owns the slots from then on (and bumps its epoch).
    await Promise.all(group.map((s) => ok(links.call(dst, ['CLUSTER', 'SETSLOT', s, 'NODE', dst.id], t), `SETSLOT ${s} NODE on ${dst.ip}:${dst.port}`)));
    const tell = async (n: NodeView): Promise<void> => {
      await Promise.all(
        group.map(async (s) => {
          const r = await links.call(n, ['CLUSTER', 'SETSLOT', s, 'NODE', dst.id], t);
          if (r[0] === 45 && !r.toString('utf8', 1).startsWith(SETSLOT_ON_REPLICA)) {
            throw new RebalanceStepError(`SETSLOT ${s} NODE on ${n.ip}:${n.port}: ${r.toString('utf8', 1).trim()}`);
          }
        }),
      );
    };
    await tell(src);
    await Promise.all(primaries.filter((p) => p.id !== src.id && p.id !== dst.id).map(tell));
    done += group.length;
    progress(done, keys);
  }
  return keys;
}
