// Cluster node ids: 40 lower-case hex characters, as Redis Cluster's. Random from crypto by
// default, or from an injected PRNG so that a simulation replays exactly.

import { randomBytes } from 'node:crypto';

export const NODE_ID_LENGTH = 40;
const NODE_ID_RE = /^[0-9a-f]{40}$/;

/** A new random node id; `random` (uniform in [0, 1)) makes it deterministic. */
export function randomNodeId(random?: () => number): string {
  if (!random) return randomBytes(NODE_ID_LENGTH / 2).toString('hex');
  let id = '';
  for (let i = 0; i < NODE_ID_LENGTH; i++) id += Math.floor(random() * 16).toString(16);
  return id;
}

export function isNodeId(s: string): boolean {
  return NODE_ID_RE.test(s);
}
