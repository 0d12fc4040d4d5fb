// `tessera cluster local`: N cluster nodes on this host for development. Starts the server processes
// (this package's `tessera server`, or --server-bin such as redis-server), waits until each answers
// PING, creates the cluster unless their saved configs already form one, prints a line per node and
// stays in the foreground. SIGINT/SIGTERM stop every child (SIGTERM, then SIGKILL after a deadline)
// and exit 0; a child that dies on its own is reported, and when none is left the command exits 1.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasFlag, intFlag, stringFlag, type Address, type ParsedArgs } from '../args.js';
import { AdminClient, type AdminPool } from '../admin-client.js';
import type { ClusterCommand } from '../command.js';
import { OperationError, UsageError } from '../errors.js';
import { err, out, pollUntil } from '../output.js';
import { formatRanges, toRanges } from '../slots.js';
import { fetchOwnView } from '../topology.js';
import { DEFAULT_JOIN_WAIT_MS, createCluster, waitForAgreement } from './create.js';

const DEFAULT_DIR = 'tessera-local';
const START_DEADLINE_MS = 30_000;
const STOP_DEADLINE_MS = 10_000;
/** The cluster bus listens on port + 10000, which must stay a valid port. */
const MAX_BASE_PORT_PLUS_NODES = 65535 - 10000;

/** `dist/src/cli/main.js`, from `dist/src/cli/cluster/commands/local.js`. */
const TESSERA_MAIN = fileURLToPath(new URL('../../main.js', import.meta.url));

export const localCommand: ClusterCommand = {
  name: 'local',
  summary: 'run an N-node cluster on this host in the foreground',
  usage: 'tessera cluster local [--nodes N] [--replicas R] [--base-port P] [--dir DIR] [--node-timeout MS] [--shards K] [--http-base-port H] [--server-bin CMD] [-- SERVER FLAGS...]',
  details: [
    'Starts N servers on ports P..P+N-1 (each with --cluster-enabled yes, its own directory',
    'DIR/<port> holding nodes-<port>.conf and node.log), creates the cluster (unless the saved',
    'configs already form one), prints one line per node and runs until Ctrl-C or SIGTERM, which',
    'stop every node. Flags after -- go to every server.',
    '',
    '  --nodes N          how many nodes (default 3)',
    '  --replicas R       replicas per primary: N / (R + 1) primaries (default 0)',
    '  --base-port P      port of the first node (default 7000)',
    `  --dir DIR          where the nodes keep their files (default ./${DEFAULT_DIR})`,
    '  --node-timeout MS  the servers\' --cluster-node-timeout',
    '  --shards K         the servers\' --shards (Tessera only)',
    '  --http-base-port H node i serves HTTP (the dashboard at /, /metrics, the JSON API) on H+i',
    '                     (Tessera only; default: no HTTP)',
    '  --server-bin CMD   run CMD (e.g. redis-server) instead of `tessera server`',
    `  --wait MS          how long to wait for the cluster to form (default ${DEFAULT_JOIN_WAIT_MS})`,
    '  --tls --cacert F --cert F --key F',
    '                     TLS only: each node serves TLS on its port with these files as its own',
    '                     certificate (tls-port, port 0), and the bus and replication use TLS',
  ],
  flags: { nodes: 'value', replicas: 'value', 'base-port': 'value', dir: 'value', 'node-timeout': 'value', shards: 'value', 'http-base-port': 'value', 'server-bin': 'value', wait: 'value' },
  allowRest: true,
  async run(args: ParsedArgs, pool: AdminPool): Promise<number> {
    if (args.positionals.length > 0) throw new UsageError(`unexpected '${args.positionals.join(' ')}'`);
    const count = intFlag(args, 'nodes', 3, 1, 1000);
    const replicas = intFlag(args, 'replicas', 0, 0, 100);
    if (count < replicas + 1) throw new UsageError(`--nodes ${count} cannot make a primary with ${replicas} replica(s)`);
    const basePort = intFlag(args, 'base-port', 7000, 1, MAX_BASE_PORT_PLUS_NODES - count + 1);
    const dirText = stringFlag(args, 'dir') ?? DEFAULT_DIR;
    const serverBin = stringFlag(args, 'server-bin');
    const waitMs = intFlag(args, 'wait', DEFAULT_JOIN_WAIT_MS, 1);
    // The memcached and HTTP ports follow each node's port (port + 4832, port + 1701), so nodes
    // on nearby ports do not collide; a local cluster still leaves them off, as it always has,
    // unless they are given after `--` (later flags win).
    const extra: string[] = serverBin === undefined ? ['--memcache-port', '0', '--http-port', '0'] : [];
    if (hasFlag(args, 'node-timeout')) extra.push('--cluster-node-timeout', String(intFlag(args, 'node-timeout', 0, 1)));
    if (hasFlag(args, 'shards')) {
      if (serverBin !== undefined) throw new UsageError('--shards applies to Tessera only, not to --server-bin');
      extra.push('--shards', String(intFlag(args, 'shards', 1, 1, 1024)));
    }
    // Each node's HTTP port, when asked for (the dashboard): H+i, placed after '--http-port 0' so
    // that it wins, and before the flags given after -- so that those still win.
    const httpBase = hasFlag(args, 'http-base-port') ? intFlag(args, 'http-base-port', 0, 1, 65535 - count + 1) : null;
    if (httpBase !== null && serverBin !== undefined) throw new UsageError('--http-base-port applies to Tessera only, not to --server-bin');
    const tlsArgs = localTlsArgs(pool);
    const root = resolve(process.cwd(), dirText);
    const group = new NodeGroup();
    const stop = installSignalHandlers(group);
    try {
      for (let i = 0; i < count; i++) {
        const port = basePort + i;
        const dir = join(root, String(port));
        mkdirSync(dir, { recursive: true });
        const ports = tlsArgs === null ? ['--port', String(port)] : ['--port', '0', '--tls-port', String(port), ...tlsArgs];
        const http = httpBase === null ? [] : ['--http-port', String(httpBase + i)];
        const serverArgs = [...ports, '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--dir', dir, ...extra, ...http, ...args.rest];
        group.start(port, dir, serverBin ?? process.execPath, serverBin === undefined ? [TESSERA_MAIN, 'server', ...serverArgs] : serverArgs);
      }
      out(`>>> Started ${count} nodes (${serverBin ?? 'tessera server'}) on ports ${basePort}..${basePort + count - 1}; files in ${dirText}`);
      const addresses: Address[] = group.children.map((c) => ({ host: '127.0.0.1', port: c.port }));
      await Promise.race([Promise.all(addresses.map((a) => waitForPing(a, pool))), group.firstUnexpectedExit(), stop.signalled]);
      if (stop.isSignalled()) return await stop.done;
      const clients = await Promise.all(addresses.map((a) => pool.get(a)));
      const views = await Promise.all(clients.map((c) => fetchOwnView(c)));
      const fresh = views.every((v) => v.records.length === 1 && v.myself.slots.length === 0);
      const forming = fresh
        ? createCluster(pool, addresses, { assumeYes: true, joinWaitMs: waitMs, replicas })
        : (out('>>> The nodes have saved cluster state: not creating; waiting for them to agree'),
          waitForAgreement(clients, views.map((v) => v.myself.id), waitMs).then(() => 0));
      await Promise.race([forming, group.firstUnexpectedExit(), stop.signalled]);
      if (stop.isSignalled()) return await stop.done;
      for (let i = 0; i < clients.length; i++) {
        const { myself } = await fetchOwnView(clients[i]!);
        const child = group.children[i]!;
        const role = myself.flags.includes('master') ? 'master' : `replica of ${myself.primaryId?.slice(0, 8) ?? '?'}`;
        out(`${clients[i]!.address} ${myself.id} ${role} slots:${formatRanges(toRanges(myself.slots))} (${myself.slots.length}) pid ${child.proc.pid ?? '?'} log ${join(dirText, String(child.port), 'node.log')}${httpBase === null ? '' : ` http ${httpBase + i}`}`);
      }
      const cliTls = tlsArgs === null ? '' : ` --tls --cacert ${pool.tls?.cacertPath ?? ''}`;
      out(`Cluster ready: ${count} nodes. Connect with e.g. redis-cli -c${cliTls} -p ${basePort}. Ctrl-C stops them all.`);
      if (httpBase !== null) out(`Dashboard: http://127.0.0.1:${httpBase}/ (every node serves it on its HTTP port)`);
      await pool.closeAll();
      return await Promise.race([stop.done, group.allGone().then(() => (stop.isSignalled() ? stop.done : 1))]);
    } catch (e) {
      if (stop.isSignalled()) return await stop.done;
      await group.stopAll();
      throw e;
    } finally {
      stop.remove();
    }
  },
};

interface LocalNode {
  port: number;
  proc: ChildProcess;
  exited: Promise<void>;
  gone: boolean;
}

/** The child servers: started, watched, stopped. Every child is also killed if we exit abruptly. */
class NodeGroup {
  readonly children: LocalNode[] = [];
  stopping = false;
  private readonly unexpected: Promise<never>;
  private rejectUnexpected!: (e: Error) => void;
  private readonly killOnExit = (): void => {
    for (const c of this.children) if (!c.gone && c.proc.pid !== undefined) safeKill(c.proc.pid, 'SIGKILL');
  };

  constructor() {
    this.unexpected = new Promise<never>((_, reject) => (this.rejectUnexpected = reject));
    this.unexpected.catch(() => undefined); // observed through firstUnexpectedExit()
    process.on('exit', this.killOnExit);
  }

  start(port: number, dir: string, command: string, args: string[]): void {
    const log = openSync(join(dir, 'node.log'), 'a');
    const proc = spawn(command, args, { stdio: ['ignore', log, log] });
    closeSync(log);
    const node: LocalNode = { port, proc, gone: false, exited: Promise.resolve() };
    node.exited = new Promise<void>((resolveExit) => {
      const onGone = (what: string): void => {
        node.gone = true;
        if (!this.stopping) {
          err(`*** node on port ${port} (pid ${proc.pid ?? '?'}) ${what}; see ${join(dir, 'node.log')}`);
          this.rejectUnexpected(new OperationError(`node on port ${port} ${what}`));
        }
        resolveExit();
      };
      proc.on('exit', (code, signal) => onGone(`exited unexpectedly (${signal !== null ? `signal ${signal}` : `code ${code ?? '?'}`})`));
      proc.on('error', (e) => onGone(`could not start: ${e.message}`));
    });
    this.children.push(node);
  }

  /** Rejects when a child exits while we are not stopping them. */
  firstUnexpectedExit(): Promise<never> {
    return this.unexpected;
  }

  allGone(): Promise<void> {
    return Promise.all(this.children.map((c) => c.exited)).then(() => undefined);
  }

  /** SIGTERM to every child, SIGKILL to those still there after the deadline. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    for (const c of this.children) if (!c.gone && c.proc.pid !== undefined) safeKill(c.proc.pid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), STOP_DEADLINE_MS)));
    const result = await Promise.race([this.allGone().then(() => 'done' as const), deadline]);
    clearTimeout(timer);
    if (result === 'late') {
      for (const c of this.children) {
        if (c.gone || c.proc.pid === undefined) continue;
        err(`*** node on port ${c.port} did not stop within ${STOP_DEADLINE_MS} ms: SIGKILL`);
        safeKill(c.proc.pid, 'SIGKILL');
      }
      await this.allGone();
    }
    process.removeListener('exit', this.killOnExit);
  }
}

function safeKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** SIGINT/SIGTERM handling: the first signal stops the group; `done` resolves to exit code 0. */
function installSignalHandlers(group: NodeGroup): {
  signalled: Promise<void>;
  isSignalled(): boolean;
  done: Promise<number>;
  remove(): void;
} {
  let signalled = false;
  let onSignal!: () => void;
  const signalledP = new Promise<void>((r) => (onSignal = r));
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  const handler = (signal: NodeJS.Signals): void => {
    if (signalled) return;
    signalled = true;
    out(`\n>>> ${signal}: stopping ${group.children.length} nodes`);
    onSignal();
    void group.stopAll().then(() => {
      out('>>> All nodes stopped.');
      resolveDone(0);
    });
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signalled: signalledP,
    isSignalled: () => signalled,
    done,
    remove: () => {
      process.removeListener('SIGINT', handler);
      process.removeListener('SIGTERM', handler);
    },
  };
}

/** --tls: every node serves TLS only on its port, with the given files as its own certificate,
 * and the bus and replication over TLS too; null without --tls. */
function localTlsArgs(pool: AdminPool): string[] | null {
  const t = pool.tls;
  if (t === null) return null;
  if (t.certPath === undefined || t.keyPath === undefined || t.cacertPath === undefined) {
    throw new UsageError('--tls with cluster local needs --cacert, --cert and --key (the nodes use them as their own)');
  }
  return ['--tls-cert-file', resolve(t.certPath), '--tls-key-file', resolve(t.keyPath), '--tls-ca-cert-file', resolve(t.cacertPath), '--tls-cluster', 'yes', '--tls-replication', 'yes'];
}

/** Polls PING on a fresh connection until the node answers (bounded). */
async function waitForPing(addr: Address, pool: AdminPool): Promise<void> {
  await pollUntil(
    `${addr.host}:${addr.port} to answer PING`,
    async () => {
      const c = await AdminClient.connect(addr, 1_000, pool.tls);
      try {
        return (await c.callString(['PING'], 1_000)) === 'PONG';
      } finally {
        c.close();
      }
    },
    START_DEADLINE_MS,
    100,
  );
}
