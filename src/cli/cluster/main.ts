// `tessera cluster <subcommand>`: the dispatch table of the cluster ops CLI. Exit codes a script can
// rely on: 0 ok, 1 the operation failed or the cluster is not ok, 2 usage error. Messages go to
// stderr, results and the running log to stdout.

import { AdminPool, NodeError, setAdminCredentials } from './admin-client.js';
import { parseArgs } from './args.js';
import type { ClusterCommand } from './command.js';
import { OperationError, UsageError } from './errors.js';
import { err, out } from './output.js';
import { checkCommand, fixCommand } from './commands/check.js';
import { createCommand } from './commands/create.js';
import { localCommand } from './commands/local.js';
import { addNodeCommand, removeNodeCommand } from './commands/nodes.js';
import { rebalanceCommand, reshardCommand } from './commands/rebalance.js';
import { statusCommand } from './commands/status.js';
import { extractTlsFlags, TLS_FLAGS_HELP } from './tls-flags.js';

const COMMANDS: readonly ClusterCommand[] = [
  createCommand,
  localCommand,
  statusCommand,
  checkCommand,
  fixCommand,
  addNodeCommand,
  removeNodeCommand,
  rebalanceCommand,
  reshardCommand,
];

export function clusterUsage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    'Usage: tessera cluster <subcommand> [options]',
    '',
    'Subcommands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)} ${c.summary}`),
    '',
    ...TLS_FLAGS_HELP,
    '',
    'tessera cluster help <subcommand> (or tessera cluster <subcommand> --help) for its options.',
    'Every subcommand logs in with --user NAME --pass PASSWORD (or -a PASSWORD; TESSERA_USER, TESSERA_PASS).',
    'Exit status: 0 ok, 1 operation failed or cluster not ok, 2 usage error.',
  ].join('\n');
}

export function commandHelp(c: ClusterCommand): string {
  return [`Usage: ${c.usage}`, '', c.summary.charAt(0).toUpperCase() + c.summary.slice(1) + '.', ...c.details].join('\n');
}

/** Removes the credential options every subcommand takes (`--user NAME`, `--pass PASSWORD`, `-a
 * PASSWORD` as redis-cli), before a `--`, and makes them the admin connections' login; the
 * environment's TESSERA_USER / TESSERA_PASS (or redis-cli's REDISCLI_AUTH) when not given. */
function takeCredentials(argv: readonly string[]): string[] {
  const env = process.env;
  let username = env['TESSERA_USER'];
  let password = env['TESSERA_PASS'] ?? env['REDISCLI_AUTH'];
  const left: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      left.push(...argv.slice(i));
      break;
    }
    const eq = a.indexOf('=');
    const name = eq < 0 ? a : a.slice(0, eq);
    if (name !== '--user' && name !== '--pass' && name !== '-a') {
      left.push(a);
      continue;
    }
    const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`${name} needs a value`);
    if (name === '--user') username = value;
    else password = value;
  }
  setAdminCredentials({ ...(username !== undefined ? { username } : {}), ...(password !== undefined ? { password } : {}) });
  return left;
}

/** Runs `tessera cluster ARGS...` and returns the exit code. */
export async function runCluster(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    if (name === 'help' && rest[0] !== undefined && topic === undefined) {
      err(`tessera cluster: unknown subcommand '${rest[0]}'\n\n${clusterUsage()}`);
      return 2;
    }
    (name === undefined ? err : out)(topic !== undefined ? commandHelp(topic) : clusterUsage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    err(`tessera cluster: unknown subcommand '${name}'\n\n${clusterUsage()}`);
    return 2;
  }
  const beforeRest = rest.indexOf('--') < 0 ? rest : rest.slice(0, rest.indexOf('--'));
  if (beforeRest.includes('--help') || beforeRest.includes('-h')) {
    out(commandHelp(command));
    return 0;
  }
  let pool = new AdminPool();
  try {
    const split = extractTlsFlags(takeCredentials(rest));
    if (split.tls !== null) pool = new AdminPool(undefined, split.tls);
    const args = parseArgs(split.argv, command.flags, { allowRest: command.allowRest === true });
    return await command.run(args, pool);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`tessera cluster ${name}: ${e.message}\nUsage: ${command.usage}`);
      return 2;
    }
    if (e instanceof OperationError || e instanceof NodeError) {
      err(`tessera cluster ${name}: [ERR] ${e.message}`);
      return 1;
    }
    throw e;
  } finally {
    await pool.closeAll();
  }
}
