#!/usr/bin/env node
// The `tessera` command: a small dispatch table of subcommands (server, bench; cluster
// later). Exit codes: 0 ok, 1 runtime or configuration error, 2 usage error.

import { readFileSync } from 'node:fs';
import { ConfigError, describeOptions, loadConfig, type Config } from '../config/config.js';
import { createLogger } from '../observability/logger.js';
import { claimDataDir } from '../persistence/data-dir.js';
import { DirLockedError } from '../persistence/dir-lock.js';
import { LOADGEN_USAGE } from '../loadgen/usage.js';

interface Subcommand {
  summary: string;
  usage: string;
  help(): string;
  run(args: string[]): Promise<number>;
}

const SUBCOMMANDS: Record<string, Subcommand> = {
  server: {
    summary: 'run a Tessera server',
    usage: 'tessera server [--config FILE] [--OPTION VALUE ...]',
    help: serverHelp,
    run: runServer,
  },
  bench: {
    summary: 'generate load against a RESP server or cluster (throughput, latency percentiles)',
    usage: 'tessera bench [options]',
    help: () => LOADGEN_USAGE,
    run: runBench,
  },
  cluster: {
    summary: 'operate a cluster: create, local, status, check, fix, add-node, remove-node, rebalance, reshard',
    usage: 'tessera cluster <subcommand> [options]',
    // Loaded on demand like bench; `tessera cluster help <subcommand>` prints a subcommand's options.
    help: () =>
      'Usage: tessera cluster <subcommand> [options]\n\nSubcommands: create, local, status, check, fix, add-node, ' +
      'remove-node, rebalance, reshard.\nRun `tessera cluster help <subcommand>` for its options.\n' +
      'Exit status: 0 ok, 1 operation failed or cluster not ok, 2 usage error.',
    run: async (args) => (await import('./cluster/main.js')).runCluster(args),
  },
};

async function runBench(args: string[]): Promise<number> {
  // Loaded on demand: starting a server never depends on the load generator's modules.
  const { LoadgenUsageError, parseLoadgenArgs, runLoadgen } = await import('../loadgen/run.js');
  let options;
  try {
    options = parseLoadgenArgs(args);
  } catch (e) {
    if (!(e instanceof LoadgenUsageError)) throw e;
    process.stderr.write(`tessera bench: ${e.message}\n`);
    return 2;
  }
  try {
    const results = await runLoadgen(options);
    return results.some((r) => r.requests === 0) ? 1 : 0;
  } catch (e) {
    // A run that fails (nothing listening, a stalled server) says why; a stack would not help.
    process.stderr.write(`tessera bench: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

function version(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
    if (typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string') {
      return pkg.version;
    }
  } catch {
    // fall through: version unknown
  }
  return 'unknown';
}

function usage(): string {
  const lines = Object.entries(SUBCOMMANDS).map(([name, s]) => `  ${name.padEnd(10)} ${s.summary}`);
  return [
    'Usage: tessera <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'tessera --help | tessera --version | tessera <command> --help',
  ].join('\n');
}

function serverHelp(): string {
  const options = describeOptions();
  const width = Math.max(...options.map((o) => o.name.length)) + 2;
  const rows = options.map((o) => {
    const dflt = o.defaultValue === '' ? "''" : o.defaultValue;
    const flags = o.mutable ? '' : ' [not settable at runtime]';
    return `  --${o.name.padEnd(width)} ${o.help}${flags}\n  ${' '.repeat(width + 2)} ${o.allowed}; default: ${dflt}`;
  });
  return [
    `Usage: ${SUBCOMMANDS.server?.usage ?? ''}`,
    '',
    'Every option is also a config file directive (redis.conf syntax) and an environment variable',
    '(TESSERA_MAXMEMORY_POLICY=allkeys-lru). Precedence: defaults < config file < environment < flags.',
    'The config file is --config FILE, else $TESSERA_CONFIG, else config/tessera.conf if present.',
    'Also --name=value. Memory values take units: 1k=1000, 1kb=1024, m, mb, g, gb.',
    '',
    '  --config FILE',
    ...rows,
  ].join('\n');
}

async function runServer(args: string[]): Promise<number> {
  const config = loadConfig(args, process.env);
  // Before anything reads or writes dir: a second server on the same dir stops here.
  const claim = claimDataDir(config);
  await logStartupNotes(config, claim.notes);
  const { startServer } = await import('../server/server.js');
  const server = await startServer(config);
  await server.closed;
  claim.release();
  // Nothing left behind (a stray timer or worker) may keep a stopped server's process alive.
  process.exit(0);
}

/** The ports this node will open (memcache-port and http-port follow port unless set) and the
 * notes of loading, in the server's log format, written out before the server starts. */
async function logStartupNotes(config: Config, lockNotes: string[]): Promise<void> {
  const v = config.values;
  const log = createLogger(v);
  log.info({ port: v.port, tlsPort: v.tlsPort, memcachePort: v.memcachePort, httpPort: v.httpPort, bind: v.bind, dir: v.dir }, 'Configured ports (0 = off)');
  for (const note of [...config.notes, ...lockNotes]) log.warn(note);
  await new Promise<void>((resolve) => log.flush(() => resolve()));
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    (command === undefined ? process.stderr : process.stdout).write(usage() + '\n');
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`tessera ${version()}\n`);
    return 0;
  }
  const sub = SUBCOMMANDS[command];
  if (sub === undefined) {
    process.stderr.write(`tessera: unknown command '${command}'\n\n${usage()}\n`);
    return 2;
  }
  // `-h` is bench's host flag, as in redis-benchmark; everywhere else it asks for help.
  // `tessera cluster <subcommand> --help` is answered by the cluster module itself.
  const ownHelp = command === 'cluster' && rest.length > 0 && !rest[0]!.startsWith('-');
  if (!ownHelp && (rest.includes('--help') || (command !== 'bench' && rest.includes('-h')))) {
    process.stdout.write(sub.help() + '\n');
    return 0;
  }
  try {
    return await sub.run(rest);
  } catch (err) {
    // A ConfigError's message is complete; other failures (e.g. port in use) print their message
    // and, for unexpected errors, the stack.
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`tessera: ${message}\n`);
    if (err instanceof DirLockedError) process.stderr.write('tessera: give each server its own dir (--dir)\n');
    const complete = err instanceof ConfigError || err instanceof DirLockedError;
    if (!complete && err instanceof Error && !('code' in err) && err.name !== 'PersistenceStartError') {
      process.stderr.write(`${err.stack ?? ''}\n`);
    }
    return 1;
  }
}

const code = await main(process.argv.slice(2));
// Exit at once on failure: a half-started server must not keep the process alive.
if (code !== 0) process.exit(code);
