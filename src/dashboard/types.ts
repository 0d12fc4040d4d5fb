// The dashboard API's JSON shapes (docs/http-api.md), as the page reads them. Fields the page
// does not need are left out; every figure may be missing on an older node, so views guard.

export type Range = [number, number];

export interface NodeStats {
  keys: number;
  usedMemory: number;
  opsPerSec: number;
  p99Us: number | null;
}

export interface ClusterNode {
  id: string;
  ip: string;
  port: number;
  tlsPort?: number;
  httpPort: number | null;
  role: 'primary' | 'replica';
  primaryId: string | null;
  flags: string[];
  linkState: string;
  configEpoch: number;
  slots: Range[];
  migrating: Array<[number, string]>;
  importing: Array<[number, string]>;
  stats: NodeStats | null;
}

export interface ClusterView {
  enabled: boolean;
  state: 'ok' | 'fail';
  myId: string;
  currentEpoch: number;
  slotsAssigned: number;
  nodes: ClusterNode[];
}

export interface ShardView {
  id: number;
  keys: number;
  expires: number;
  usedMemory: number;
  arenaBytes: number;
  arenaFree: number;
  opsPerSec: number;
  p50Us: number | null;
  p99Us: number | null;
  p999Us: number | null;
  restarts: number;
}

export interface NodeView {
  id: string;
  version: string;
  uptimeSeconds: number;
  role: string;
  shards: ShardView[];
  clients: Record<string, number | string>;
  memory: { used: number; rss: number; peak: number };
  persistence: Record<string, number | string | boolean | null>;
  replication: {
    role: string;
    offset: number;
    replicas: Array<{ id?: string; addr: string; offset: number; lagBytes: number; lagSeconds: number }>;
  };
}

export interface Sample {
  /** Milliseconds since the epoch. */
  t: number;
  opsPerSec: number;
  /** null: no command in that second. */
  p50Us: number | null;
  p99Us: number | null;
  p999Us: number | null;
  usedMemory: number;
  rss: number;
}

export interface SeriesView {
  intervalMs: number;
  samples: Sample[];
}

export interface ScanKey {
  key: string;
  type: string;
  ttl: number;
  encoding: string;
  memory: number;
}

export interface ScanView {
  cursor: string;
  keys: ScanKey[];
}

export interface KeyView extends ScanKey {
  preview: unknown;
}

export interface SlowlogEntry {
  id: number;
  time: number;
  durationUs: number;
  args: string[];
  client: string;
  clientName: string;
}

export interface EventEntry {
  /** 1, 2, 3...: never reused; `since` pages by it. */
  id: number;
  /** Milliseconds since the epoch. */
  time: number;
  kind: string;
  detail: string;
}

export interface Move {
  from: string;
  to: string;
  slots: Range[];
  count: number;
}

export interface Plan {
  needed: boolean;
  thresholdPct: number;
  worstPct: number;
  totalSlots: number;
  moves: Move[];
  loads: Array<{ id: string; actual: number; expected: number }>;
}

export interface RebalanceState {
  state: 'idle' | 'running' | 'done' | 'failed';
  plan: Plan | null;
  moved: number;
  total: number;
  keysMoved: number;
  startedAt: number | null;
  finishedAt: number | null;
  error: string | null;
}
