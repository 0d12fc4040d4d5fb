// What the `tessera cluster` end-to-end tests share: running the CLI as a child process (killed by
// pid at a deadline), its --json status, node ids, and reading every written key back through an
// ioredis Cluster client, and a run of free ports with their bus ports. Works the same against
// Tessera and redis-server nodes.

import { createServer } from 'node:net';
import { spawn } from 'node:child_process';
import { Cluster, Redis } from 'ioredis';
import * as assert from 'uvu/assert';
import { TESSERA_MAIN, waitFor, type ServerHandle } from './harness.js';

const CLI_TIMEOUT_MS = 60_000;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `tessera cluster ARGS` to completion (killed by pid after the deadline). */
export function cli(args: string[], timeoutMs = CLI_TIMEOUT_MS): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TESSERA_MAIN, 'cluster', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      reject(new Error(`tessera cluster ${args.join(' ')} timed out; stdout: ${stdout.slice(-2000)}; stderr: ${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs the CLI and asserts its exit code, showing its output when it differs. */
export async function cliExpect(code: number, args: string[]): Promise<CliResult> {
  const r = await cli(args);
  assert.is(r.code, code, `tessera cluster ${args.join(' ')} exited ${r.code}\nstdout:\n${r.stdout.slice(-3000)}\nstderr:\n${r.stderr.slice(-3000)}`);
  return r;
}

export interface StatusJson {
  ok: boolean;
  clusterState: string;
  slotsAssigned: number;
  nodes: Array<{ id: string; addr: string; slots: number; ranges: string; keys: number; reachable: boolean; role: string; primaryId: string | null }>;
}

export async function statusJson(port: number): Promise<StatusJson> {
  const r = await cliExpect(0, ['status', `127.0.0.1:${port}`, '--json', '--no-ops']);
  return JSON.parse(r.stdout) as StatusJson;
}

export function addr(h: ServerHandle): string {
  return `127.0.0.1:${h.port}`;
}

export async function myId(h: ServerHandle): Promise<string> {
  const r = new Redis({ port: h.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await r.connect();
    return String(await r.call('CLUSTER', 'MYID'));
  } finally {
    r.disconnect();
  }
}

/** Connects an ioredis Cluster client and waits until it has the slot map. */
export async function clusterClient(port: number): Promise<Cluster> {
  const c = new Cluster([{ host: '127.0.0.1', port }], { redisOptions: { maxRetriesPerRequest: 3 }, slotsRefreshTimeout: 2000 });
  c.on('error', () => undefined);
  await waitFor('the cluster client to be ready', () => c.status === 'ready', 15_000);
  return c;
}

/** Every key written so far reads back its value through a Cluster client, with no error. */
export async function readAll(port: number, keys: ReadonlyMap<string, string>): Promise<void> {
  const c = await clusterClient(port);
  try {
    let errors = 0;
    let wrong = 0;
    const firstErrors: string[] = [];
    await Promise.all(
      [...keys].map(async ([k, v]) => {
        try {
          const got = await c.get(k);
          if (got !== v) wrong++;
        } catch (e) {
          errors++;
          if (firstErrors.length < 3) firstErrors.push(e instanceof Error ? e.message : String(e));
        }
      }),
    );
    assert.is(errors, 0, `read errors: ${firstErrors.join('; ')}`);
    assert.is(wrong, 0, 'values read back differ');
  } finally {
    c.disconnect();
  }
}

/** A base port P with P..P+n-1 and their bus ports P+10000.. all free a moment ago. */
export async function consecutiveFreePorts(n: number): Promise<number> {
  const free = (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let i = 0; i < n && ok; i++) ok = (await free(base + i)) && (await free(base + i + 10_000));
    if (ok) return base;
  }
  throw new Error('no run of free ports');
}
