// Differential-test machinery shared by the tests that run the same command scripts, as raw RESP,
// against a real redis-server and against Tessera (differential, hash-commands, set-commands):
// the server pair, steps and their comparisons, and the runner that reports every mismatch of a
// group together. A step's comparison judges the pair of replies; `exact` (the default) wants the
// same bytes.

import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  encodeCommand,
  rawClient,
  startClusterNode,
  waitFor,
  show,
  startRedis,
  startTessera,
  withTimeout,
  type RawClient,
  type Reply,
  type RespValue,
  type ServerHandle,
  type StartOptions,
} from './harness.js';

// ---------------------------------------------------------------------------------------------
// Steps and comparisons

/** Null when the two replies agree, else why not. */
export type Compare = (redis: Reply, tessera: Reply) => string | null;

export interface CommandStep {
  args: string[];
  /** Bytes to send instead of `args` encoded as a multibulk (inline commands). */
  raw?: string;
  compare: Compare;
}

/** A procedure run on each server in turn (a whole SCAN iteration); its results must be equal. */
export interface ProbeStep {
  name: string;
  probe: (c: RawClient) => Promise<string>;
}

export type Step = CommandStep | ProbeStep;

export const exact: Compare = (r, t) => (r.raw.equals(t.raw) ? null : 'bytes differ');

/** Splits on single spaces; pass an array for arguments with spaces or empty ones. */
export function s(command: string | string[], compare: Compare = exact): CommandStep {
  return { args: typeof command === 'string' ? command.split(' ') : command, compare };
}

/** A scalar reply as text: a bulk string as latin1 ('(nil)' for a null one), a number's digits. */
export function text(v: RespValue): string {
  if (v.type === 'bulk') return v.value === null ? '(nil)' : v.value.toString('latin1');
  if (v.type === 'simple' || v.type === 'error' || v.type === 'double') return v.value;
  if (v.type === 'integer') return String(v.value);
  return `?${v.type}`;
}

/** The elements of an aggregate (array or set) as text, or null when it is not one. */
export function elems(v: RespValue): string[] | null {
  if ((v.type !== 'array' && v.type !== 'set') || v.value === null) return null;
  return v.value.map(text);
}

/** Same reply type (first byte), same elements in any order (a hashtable's members, KEYS); replies
 * that are not aggregates must be the same bytes. */
export const sorted: Compare = (r, t) => {
  if (r.raw[0] !== t.raw[0]) return 'reply types differ';
  const re = elems(r.value);
  const te = elems(t.value);
  if (re === null || te === null) return r.raw.equals(t.raw) ? null : 'not aggregates, and bytes differ';
  re.sort();
  te.sort();
  return JSON.stringify(re) === JSON.stringify(te) ? null : `sorted elements differ: redis ${JSON.stringify(re)} tessera ${JSON.stringify(te)}`;
};

// ---------------------------------------------------------------------------------------------
// Servers

export interface Servers {
  redis: ServerHandle;
  tessera: ServerHandle;
}

/** A redis-server and a Tessera for one test file, started together (once: start() is idempotent,
 * so several suites may call it from `before`) and stopped together. */
export class ServerPair {
  #redis: ServerHandle | undefined;
  #tessera: ServerHandle | undefined;

  constructor(private readonly opts: { redisArgs?: string[]; tessera?: StartOptions; startTimeoutMs?: number } = {}) {}

  start = async (): Promise<void> => {
    if (this.#redis !== undefined) return;
    [this.#redis, this.#tessera] = await withTimeout(
      Promise.all([startRedis({ args: this.opts.redisArgs ?? [] }), startTessera(this.opts.tessera)]),
      this.opts.startTimeoutMs ?? 30_000,
      'server start',
    );
  };

  stop = async (): Promise<void> => {
    await Promise.all([this.#redis?.stop(), this.#tessera?.stop()]);
    this.#redis = undefined;
    this.#tessera = undefined;
  };

  get redis(): ServerHandle {
    if (this.#redis === undefined) throw new Error('servers not started');
    return this.#redis;
  }

  get tessera(): ServerHandle {
    if (this.#tessera === undefined) throw new Error('servers not started');
    return this.#tessera;
  }

  /** A fresh raw connection to each: [redis, tessera]. */
  connect(): Promise<[RawClient, RawClient]> {
    return connectPair(this);
  }
}

export function connectPair(servers: Servers): Promise<[RawClient, RawClient]> {
  return Promise.all([rawClient(servers.redis.port), rawClient(servers.tessera.port)]);
}

// ---------------------------------------------------------------------------------------------
// Running steps

export interface RunOptions {
  /** 3: HELLO 3 on both connections first (it must reply a map; its contents name the server). */
  proto?: 2 | 3;
  /** FLUSHALL first (default true), so that every group starts from an empty keyspace. */
  flush?: boolean;
}

/**
 * Sends each step to both servers in turn on fresh connections and compares the replies. All
 * mismatches are reported together; a reply missing from Tessera ends the run, since the
 * connection can no longer be trusted to be in step. Redis failing to reply is the test's fault.
 */
export async function runSteps(servers: Servers, steps: Step[], opts: RunOptions = {}): Promise<void> {
  const proto = opts.proto ?? 2;
  const all = opts.flush === false ? steps : [s('FLUSHALL'), ...steps];
  const [r, t] = await connectPair(servers);
  const problems: string[] = [];
  try {
    if (proto === 3) {
      for (const c of [r, t]) {
        const hello = await c.call(['HELLO', '3']);
        assert.is(hello.value.type, 'map', `HELLO 3: ${show(hello.raw)}`);
      }
    }
    for (const step of all) {
      if ('probe' in step) {
        const [rv, tv] = [await step.probe(r), await step.probe(t).catch((e: Error) => `failed: ${e.message}`)];
        if (rv !== tv) problems.push(`${step.name}\n    redis:   ${show(rv)}\n    tessera: ${show(tv)}`);
        continue;
      }
      const bytes = step.raw !== undefined ? Buffer.from(step.raw, 'latin1') : encodeCommand(step.args);
      r.send(bytes);
      t.send(bytes);
      let rr: Reply;
      try {
        [rr] = (await r.read(1)) as [Reply];
      } catch (err) {
        throw new Error(`redis-server gave no reply to ${show(bytes)} (${(err as Error).message}): fix the test`);
      }
      let tr: Reply;
      try {
        [tr] = (await t.read(1)) as [Reply];
      } catch (err) {
        problems.push(`${show(bytes)}\n    redis:   ${show(rr.raw)}\n    tessera: no reply (${(err as Error).message})`);
        break;
      }
      const why = step.compare(rr, tr);
      if (why !== null) problems.push(`${show(step.args.join(' '), 200)}  [${why}]\n    redis:   ${show(rr.raw)}\n    tessera: ${show(tr.raw)}`);
    }
  } finally {
    r.close();
    t.close();
  }
  if (problems.length > 0) assert.unreachable(`RESP${proto}: ${problems.length} of ${all.length} replies differ:\n  ${problems.join('\n  ')}`);
}

/**
 * A `group(name, steps)` that declares, in `test`, one test per protocol of `protos` running the
 * steps on `pair`, each under `timeoutMs`; with more than one protocol the names end in
 * ` (RESPn)`. Steps given as a function are built when the test runs.
 */
export function groupsOn(
  test: Test,
  pair: ServerPair,
  opts: { protos: ReadonlyArray<2 | 3>; timeoutMs: number },
): (name: string, steps: Step[] | (() => Step[])) => void {
  return (name, steps) => {
    for (const proto of opts.protos) {
      const title = opts.protos.length > 1 ? `${name} (RESP${proto})` : name;
      test(title, () => withTimeout(runSteps(pair, typeof steps === 'function' ? steps() : steps, { proto }), opts.timeoutMs, name));
    }
  };
}

/** A `timed(name, fn)` that declares a test in `test` failing after `timeoutMs`. */
export function timedOn(test: Test, timeoutMs: number): (name: string, fn: () => Promise<void>) => void {
  return (name, fn) => test(name, () => withTimeout(fn(), timeoutMs, name));
}

// ---------------------------------------------------------------------------------------------
// One-node clusters

/** Runs `steps` byte for byte against a one-node redis-server cluster and a one-node Tessera
 * cluster (every slot served, `shards` shards), for the CROSSSLOT rules of multi-key commands;
 * asserts that every reply matches, then stops both and removes their directories. */
export async function compareInOneNodeClusters(prefix: string, shards: number, steps: string[][]): Promise<void> {
  const dirs = [mkdtempSync(join(tmpdir(), `${prefix}-redis-`)), mkdtempSync(join(tmpdir(), `${prefix}-tessera-`))];
  const servers: ServerHandle[] = [];
  try {
    servers.push(await startRedis({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', join(dirs[0]!, 'nodes.conf'), '--dir', dirs[0]!] }));
    servers.push((await startClusterNode({ nodeTimeoutMs: 5_000, shards, dir: dirs[1]! })).handle);
    for (const srv of servers) {
      const c = await rawClient(srv.port);
      try {
        assert.is((await c.call(['CLUSTER', 'ADDSLOTSRANGE', '0', '16383'])).raw.toString(), '+OK\r\n');
        await waitFor(`cluster_state:ok on ${srv.kind}`, async () => (await c.call(['CLUSTER', 'INFO'])).raw.toString().includes('cluster_state:ok'), 15_000);
      } finally {
        c.close();
      }
    }
    const [r, t] = await Promise.all(servers.map((x) => rawClient(x.port)));
    const problems: string[] = [];
    try {
      for (const args of steps) {
        const [rr, tr] = await Promise.all([r!.call(args), t!.call(args)]);
        if (!rr.raw.equals(tr.raw)) problems.push(`${args.join(' ')}\n    redis:   ${show(rr.raw)}\n    tessera: ${show(tr.raw)}`);
      }
    } finally {
      r!.close();
      t!.close();
    }
    assert.is(problems.length, 0, problems.join('\n  '));
  } finally {
    await Promise.all(servers.map((x) => x.stop()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}
