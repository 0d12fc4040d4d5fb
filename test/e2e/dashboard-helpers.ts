// What the dashboard's browser tests share (Chromium via playwright-core, Firefox via
// puppeteer-core): a three-node `tessera cluster local` with an HTTP port per node, started once
// per test file and stopped by pid even after a failed start, the node's JSON API, and the views.

import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TESSERA_MAIN, redisCli, startTessera, waitFor, watchProcess, type ServerHandle, type WatchedProcess } from './harness.js';
import { consecutiveFreePorts } from './cluster-cli-helpers.js';

export const NODES = 3;
export const STEP_MS = 30_000;
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 900 };
/** The tabs, by the id of their `#tab-<id>` link and `#view-<id>` section. */
export const VIEWS = ['cluster', 'node', 'live', 'keys', 'logs', 'rebalance'] as const;
const NODE_TIMEOUT_MS = 2000;
const READY_MS = 60_000;

export interface ApiNode {
  id: string;
  port: number;
  httpPort: number | null;
  role: string;
  slots: Array<[number, number]>;
}

/** GET a dashboard API route of the node serving HTTP on `port`. */
export async function apiJson<T>(port: number, path: string): Promise<T> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(10_000) });
  if (!r.ok) throw new Error(`GET ${path}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

/** The slot's owner among the primaries of /v1/cluster. */
export function ownerOf(nodes: ApiNode[], slot: number): ApiNode {
  const n = nodes.find((x) => x.role === 'primary' && x.slots.some(([a, b]) => slot >= a && slot <= b));
  if (n === undefined) throw new Error(`no owner of slot ${slot}`);
  return n;
}

/** The screenshots' folder (TEST_ARTIFACTS_DIR, else under the OS tmpdir), created and printed. */
export function artifactsDir(name: string): string {
  const dir = process.env['TEST_ARTIFACTS_DIR'] ?? join(tmpdir(), 'tessera-artifacts', `${name}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  console.log(`${name} screenshots: ${dir}`);
  return dir;
}

/** `tessera cluster local --nodes 3`, node i answering RESP on basePort + i and HTTP on httpBase + i. */
export class DashboardCluster {
  basePort = 0;
  httpBase = 0;
  private proc: WatchedProcess | null = null;
  private readonly pids: number[] = [];

  constructor(private readonly cwd: string) {}

  async start(): Promise<void> {
    this.basePort = await consecutiveFreePorts(NODES);
    // A second run of free ports, clear of the first and its bus ports, for the HTTP ports.
    do this.httpBase = await consecutiveFreePorts(NODES);
    while (Math.abs(this.httpBase - this.basePort) < NODES + 1 || Math.abs(this.httpBase - this.basePort - 10_000) < NODES + 1);
    const child = spawn(
      process.execPath,
      [TESSERA_MAIN, 'cluster', 'local', '--nodes', String(NODES), '--base-port', String(this.basePort), '--http-base-port', String(this.httpBase), '--shards', '1', '--node-timeout', String(NODE_TIMEOUT_MS), '--', '--save', ''],
      { cwd: this.cwd, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const c = watchProcess(child, 'cluster local', 20_000);
    this.proc = c;
    await waitFor('cluster local to be ready', () => {
      if (c.gone()) throw new Error(`cluster local exited:\n${c.output()}`);
      return /Cluster ready/.test(c.output());
    }, READY_MS, 100);
    for (const m of c.output().matchAll(/ pid (\d+) /g)) this.pids.push(Number(m[1]));
  }

  /** SIGTERM to cluster local stops its nodes; any node still there after it is killed by pid. */
  async stop(): Promise<void> {
    await this.proc?.stop();
    for (const pid of this.pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** One Tessera with HTTP and `requirepass password`, holding `key` = `value` written by redis-cli
 * (the sign-in cases of both browser tests). */
export async function startLocked(password: string, key: string, value: string): Promise<ServerHandle> {
  const locked = await startTessera({ http: true, shards: 1, args: ['--requirepass', password] });
  const w = await redisCli(['-p', String(locked.port), '-a', password, '--no-auth-warning', 'SET', key, value]);
  if (w.stdout.trim() !== 'OK') {
    await locked.stop();
    throw new Error(`SET through redis-cli failed: ${w.stdout}${w.stderr}`);
  }
  return locked;
}
