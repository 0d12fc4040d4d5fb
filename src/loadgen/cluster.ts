// Cluster topology for the load generator: one CLUSTER SLOTS query on a short-lived connection,
// turned into a node list and a slot -> node table. A server that answers CLUSTER SLOTS with an
// error (a plain redis-server or Tessera) or with no ranges is a single node that owns every slot.

import { SLOT_COUNT } from '../keyspace/slot.js';
import { valueEnd } from '../protocol/resp-value.js';
import { openLink } from './link.js';

export interface NodeAddress {
  host: string;
  port: number;
}

export interface Topology {
  nodes: NodeAddress[];
  /** Node index per hash slot, or null when the target is not a cluster (all keys to nodes[0]). */
  slotOwner: Uint16Array | null;
}

/** A decoded RESP reply; only for the few control replies, never on the hot path. */
export type RespValue = string | number | null | RespValue[] | { error: string };

const ASK_TIMEOUT_MS = 5000;
/** A control reply larger than this is refused rather than buffered (CLUSTER SLOTS is small). */
const ASK_REPLY_MAX_BYTES = 16 * 1024 * 1024;

export function decodeReply(b: Buffer, off: number): { value: RespValue; end: number } {
  const end = valueEnd(b, off);
  if (end < 0) throw new Error('incomplete reply');
  const nl = b.indexOf(13, off);
  const line = b.toString('latin1', off + 1, nl);
  switch (b[off]) {
    case 43: return { value: line, end };
    case 45: return { value: { error: line }, end };
    case 58: return { value: Number(line), end };
    case 36: return { value: Number(line) < 0 ? null : b.toString('latin1', nl + 2, nl + 2 + Number(line)), end };
    case 42: {
      const n = Number(line);
      const items: RespValue[] = [];
      let p = nl + 2;
      for (let i = 0; i < n; i++) {
        const r = decodeReply(b, p);
        items.push(r.value);
        p = r.end;
      }
      return { value: n < 0 ? null : items, end };
    }
    default: return { value: null, end };
  }
}

export function encodeCommand(args: string[]): Buffer {
  return Buffer.from(args.reduce((s, a) => s + `$${Buffer.byteLength(a)}\r\n${a}\r\n`, `*${args.length}\r\n`));
}

/** Sends one command on a fresh connection and resolves with its decoded reply. */
export function ask(node: NodeAddress, args: string[]): Promise<RespValue> {
  return new Promise((resolve, reject) => {
    const s = openLink(node.host, node.port).socket;
    let buf = Buffer.alloc(0);
    const fail = (e: Error): void => {
      clearTimeout(timer);
      s.destroy();
      reject(e);
    };
    const timer = setTimeout(() => fail(new Error(`${node.host}:${node.port} did not answer ${args[0]} within ${ASK_TIMEOUT_MS} ms`)), ASK_TIMEOUT_MS);
    s.on('error', fail);
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length > ASK_REPLY_MAX_BYTES) return fail(new Error(`${args[0]} reply over ${ASK_REPLY_MAX_BYTES} bytes`));
      if (valueEnd(buf, 0) < 0) return;
      clearTimeout(timer);
      s.destroy();
      resolve(decodeReply(buf, 0).value);
    });
    s.write(encodeCommand(args));
  });
}

/**
 * Builds a topology from a CLUSTER SLOTS reply; `seed` is the node that answered (an empty host
 * in a reply means "the address you reached me on"). Returns null for a non-cluster answer.
 */
export function parseClusterSlots(reply: RespValue, seed: NodeAddress): Topology | null {
  if (!Array.isArray(reply) || reply.length === 0) return null;
  const nodes: NodeAddress[] = [];
  const owner = new Uint16Array(SLOT_COUNT);
  for (const range of reply) {
    if (!Array.isArray(range)) continue;
    const [start, end, primary] = range;
    if (typeof start !== 'number' || typeof end !== 'number' || !Array.isArray(primary)) continue;
    const host = typeof primary[0] === 'string' && primary[0] !== '' && primary[0] !== '?' ? primary[0] : seed.host;
    const port = Number(primary[1]);
    let idx = nodes.findIndex((n) => n.host === host && n.port === port);
    if (idx < 0) idx = nodes.push({ host, port }) - 1;
    owner.fill(idx, start, end + 1);
  }
  return nodes.length > 0 ? { nodes, slotOwner: owner } : null;
}

/** The cluster's topology asked of `seeds` in turn (the first that answers), or `seeds[0]` alone. */
export async function fetchTopology(seeds: NodeAddress[]): Promise<Topology> {
  let lastError: unknown = null;
  for (const seed of seeds) {
    try {
      const topo = parseClusterSlots(await ask(seed, ['CLUSTER', 'SLOTS']), seed);
      return topo ?? { nodes: [seed], slotOwner: null };
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError instanceof Error ? lastError : new Error('no node answered CLUSTER SLOTS');
}
