// Server commands (Redis server.c, config.c, debug.c): introspection and administration on the
// main thread. COMMAND's replies are generated from the command table itself.

import os from 'node:os';
import type { CommandSpec, MainCall, ShardContext, ShardStatsReport } from './types.js';
import { argIs, argInt, argString, argLower } from './args.js';
import { ERR } from '../core/errors.js';
import { VERSION } from '../version.js';
import { commandCommand } from './command-command.js';
import { commandstatsLines, errorstatsLines, latencystatsLines } from './info-command-stats.js';
import type { MergedCommandStats } from '../observability/command-stats.js';

// --- INFO ------------------------------------------------------------------------------------------

const DEFAULT_SECTIONS = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'modules', 'errorstats', 'cluster', 'keyspace'];
/** Every section, in the order Redis prints them whatever the order asked. */
const ALL_SECTIONS = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'modules', 'commandstats', 'errorstats', 'latencystats', 'cluster', 'keyspace'];

function human(bytes: number): string {
  const units = ['B', 'K', 'M', 'G', 'T'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${bytes}B` : `${v.toFixed(2)}${units[u]}`;
}

let peakMemory = 0;

function infoSection(m: MainCall, name: string, shards: ShardStatsReport[], merged: () => MergedCommandStats): string {
  const s = m.server;
  const v = s.config.values;
  const st = s.serverStats();
  const sum = (f: (r: ShardStatsReport) => number): number => shards.reduce((n, r) => n + f(r), 0);
  const lines: string[] = [];
  const add = (k: string, val: string | number): void => {
    lines.push(`${k}:${val}`);
  };
  switch (name) {
    case 'server': {
      const upMs = Date.now() - s.startedAtMs;
      add('redis_version', VERSION.redisCompat);
      add('tessera_version', VERSION.tessera);
      add('redis_mode', m.server.cluster ? 'cluster' : 'standalone');
      add('os', `${os.type()} ${os.release()} ${os.arch()}`);
      add('arch_bits', 64);
      add('multiplexing_api', 'epoll');
      add('process_id', process.pid);
      add('process_supervised', 'no');
      add('run_id', s.runId);
      add('tcp_port', s.port);
      add('server_time_usec', Date.now() * 1000);
      add('uptime_in_seconds', Math.floor(upMs / 1000));
      add('uptime_in_days', Math.floor(upMs / 86400000));
      add('hz', v.hz);
      add('configured_hz', v.hz);
      add('executable', process.argv[1] ?? '');
      add('config_file', '');
      add('shards', s.shardCount);
      add('node_version', process.version);
      break;
    }
    case 'clients':
      add('connected_clients', st.connectedClients);
      add('cluster_connections', 0);
      add('maxclients', v.maxclients);
      {
        // Redis's "recent" maxima are over its last few seconds; here, over the clients now.
        let maxIn = 0;
        let maxOut = 0;
        for (const c of m.server.clients()) {
          maxIn = Math.max(maxIn, c.queryBufferBytes());
          maxOut = Math.max(maxOut, c.outputBufferBytes());
        }
        add('client_recent_max_input_buffer', maxIn);
        add('client_recent_max_output_buffer', maxOut);
      }
      // Clients held by CLIENT PAUSE count as blocked, as in Redis (BLOCKED_POSTPONE).
      add('blocked_clients', m.server.blocked.count + m.server.clientPause.heldCount);
      add('tracking_clients', 0);
      add('clients_in_timeout_table', 0);
      break;
    case 'memory': {
      const used = sum((r) => r.usedMemory);
      const rss = process.memoryUsage.rss();
      peakMemory = Math.max(peakMemory, used);
      add('used_memory', used);
      add('used_memory_human', human(used));
      add('used_memory_rss', rss);
      add('used_memory_rss_human', human(rss));
      add('used_memory_peak', peakMemory);
      add('used_memory_peak_human', human(peakMemory));
      add('used_memory_dataset', used);
      add('used_memory_arenas', sum((r) => r.arenaBytes));
      add('used_memory_main_heap', process.memoryUsage().heapUsed);
      add('total_system_memory', os.totalmem());
      add('total_system_memory_human', human(os.totalmem()));
      add('maxmemory', v.maxmemory);
      add('maxmemory_human', human(v.maxmemory));
      add('maxmemory_policy', v.maxmemoryPolicy);
      add('mem_fragmentation_ratio', used > 0 ? (rss / used).toFixed(2) : '0.00');
      add('mem_allocator', 'tessera-arena');
      for (const [k, val] of s.scripting.memoryInfo()) add(k, val);
      break;
    }
    case 'persistence':
      for (const [k, val] of s.persistence.info(shards)) add(k, val);
      break;
    case 'stats':
      add('total_connections_received', st.totalConnectionsReceived);
      add('total_commands_processed', st.totalCommandsProcessed);
      add('total_net_input_bytes', st.totalNetInputBytes);
      add('total_net_output_bytes', st.totalNetOutputBytes);
      add('rejected_connections', st.rejectedConnections);
      add('expired_keys', sum((r) => r.expiredKeys));
      add('evicted_keys', sum((r) => r.evictedKeys));
      add('keyspace_hits', sum((r) => r.keyspaceHits));
      add('keyspace_misses', sum((r) => r.keyspaceMisses));
      {
        const ps = m.server.pubsub.counts();
        add('pubsub_channels', ps.channels);
        add('pubsub_patterns', ps.patterns);
        add('pubsubshard_channels', ps.shardChannels);
      }
      // Errors replayed from the AOF or a primary are Redis's unexpected ones: none are counted.
      add('unexpected_error_replies', 0);
      add('total_error_replies', merged().errorTotal);
      add('shard_commands_processed', sum((r) => r.commandsProcessed));
      add('shard_restarts', st.shardRestarts);
      {
        const acl = m.server.acl;
        add('acl_access_denied_auth', acl.denied.auth);
        add('acl_access_denied_cmd', acl.denied.command);
        add('acl_access_denied_key', acl.denied.key);
        add('acl_access_denied_channel', acl.denied.channel);
        add('acl_login_throttled', acl.throttle.throttled);
      }
      // guard (docs/security-guard.md): Tessera's own refusal and limit counters
      add('protected_mode_refused', st.protectedModeRefused);
      add('connections_rate_refused', st.connectionsRateRefused);
      add('rate_limited_requests', st.rateLimitedRequests);
      add('bandwidth_limited_pauses', st.bandwidthLimitedPauses);
      add('user_maxclients_refused', st.userMaxclientsRefused);
      // MONITOR (docs/observability-clients.md): monitors closed at their output bound
      add('monitor_output_disconnections', m.server.monitors.dropped);
      break;
    case 'replication':
      for (const [k, val] of s.replication.info()) add(k, val);
      break;
    case 'cpu': {
      const u = process.cpuUsage();
      add('used_cpu_sys', (u.system / 1e6).toFixed(6));
      add('used_cpu_user', (u.user / 1e6).toFixed(6));
      // Which OS thread runs each shard, so that a benchmark can split the CPU time per thread
      // (/proc/PID/task/TID); the main thread's tid is process_id.
      for (const r of shards) add(`shard${r.shardId}`, `tid=${r.threadId}`);
      break;
    }
    case 'cluster':
      add('cluster_enabled', m.server.cluster ? 1 : 0);
      break;
    case 'keyspace': {
      // One line per database holding keys, summed over shards (avg_ttl is not estimated: 0).
      const perDb = new Map<number, [number, number]>();
      for (const r of shards) {
        for (const [db, keys, expires] of r.dbs ?? [[0, r.keys, r.expires]]) {
          const t = perDb.get(db) ?? [0, 0];
          perDb.set(db, [t[0] + keys, t[1] + expires]);
        }
      }
      for (const db of [...perDb.keys()].sort((x, y) => x - y)) {
        const [keys, expires] = perDb.get(db)!;
        if (keys > 0) add(`db${db}`, `keys=${keys},expires=${expires},avg_ttl=0`);
      }
      break;
    }
    case 'commandstats':
      lines.push(...commandstatsLines(merged()));
      break;
    case 'errorstats':
      lines.push(...errorstatsLines(merged()));
      break;
    case 'latencystats':
      lines.push(...latencystatsLines(merged(), v.latencyTracking, v.latencyTrackingInfoPercentiles));
      break;
    default:
      break;
  }
  // Redis's titles: the first letter capitalised, but "# CPU".
  const title = name === 'cpu' ? 'CPU' : name[0]!.toUpperCase() + name.slice(1);
  return `# ${title}\r\n${lines.map((l) => l + '\r\n').join('')}`;
}

async function infoCommand(m: MainCall): Promise<void> {
  const a = m.args;
  let sections: string[] = [];
  for (let i = 1; i < a.argc; i++) {
    const s = argLower(a, i);
    if (s === 'default') sections.push(...DEFAULT_SECTIONS);
    else if (s === 'all' || s === 'everything') sections.push(...ALL_SECTIONS);
    else sections.push(s);
  }
  if (sections.length === 0) sections = DEFAULT_SECTIONS;
  sections = [...new Set(sections)];
  const shards = await m.server.shardStats();
  let stats: MergedCommandStats | null = null;
  const merged = (): MergedCommandStats => (stats ??= m.server.mergedCommandStats(shards));
  const text = ALL_SECTIONS
    .filter((s) => sections.includes(s))
    .map((s) => infoSection(m, s, shards, merged))
    .join('\r\n');
  m.out.verbatim(text);
}

// --- CONFIG ----------------------------------------------------------------------------------------

function configCommand(m: MainCall): void | Promise<void> {
  const a = m.args;
  const sub = argLower(a, 1);
  const cfg = m.server.config;
  if (sub === 'get' && a.argc >= 3) {
    const pairs = cfg.get(Array.from({ length: a.argc - 2 }, (_, i) => argString(a, i + 2)));
    m.out.map(pairs.length);
    for (const [k, v] of pairs) {
      m.out.bulkString(k);
      m.out.bulkString(v);
    }
  } else if (sub === 'set' && a.argc >= 4) {
    if ((a.argc - 2) % 2 !== 0) {
      m.out.error(ERR.wrongArity('config|set'));
      return;
    }
    const pairs: Array<[string, string]> = [];
    for (let i = 2; i < a.argc; i += 2) pairs.push([argString(a, i), argString(a, i + 1)]);
    const err = cfg.set(pairs, m.conn);
    if (err !== null) m.out.error(err);
    // Settings reach the shards over their control ports, unordered with the request rings: the
    // reply waits until every shard has them, so the client's next command runs under them.
    else return m.server.settingsApplied().then(() => m.out.ok());
  } else if (sub === 'resetstat' && a.argc === 2) {
    return m.server.resetStats().then(() => m.out.ok());
  } else if (sub === 'rewrite' && a.argc === 2) {
    m.out.error('ERR The server is running without a config file');
  } else if (sub === 'help' && a.argc === 2) {
    const help = [
      'CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
      'GET <pattern>',
      '    Return parameters matching the glob-like <pattern> and their values.',
      'SET <directive> <value>',
      '    Set the configuration <directive> to <value>.',
      'RESETSTAT',
      '    Reset statistics reported by the INFO command.',
      'HELP',
      '    Prints this help.',
    ];
    m.out.array(help.length);
    for (const l of help) m.out.simple(l);
  } else if (['get', 'set', 'resetstat', 'rewrite', 'help'].includes(sub)) {
    m.out.error(ERR.wrongArity(`config|${sub}`));
  } else {
    m.out.error(ERR.unknownSubcommand(argString(a, 1), 'CONFIG'));
  }
}

// --- LOLWUT ----------------------------------------------------------------------------------------

/** LOLWUT [VERSION v]: Redis 7.0's own version (anything but 5 and 6) prints the version line; the
 * art of versions 5 and 6 (random drawings) is not drawn, every version prints that line. */
function lolwutCommand(m: MainCall): void {
  const a = m.args;
  if (a.argc >= 3 && argIs(a, 1, 'VERSION') && Number.isNaN(argInt(a, 2))) {
    m.out.error(ERR.notInteger);
    return;
  }
  m.out.verbatim(`Redis ver. ${VERSION.redisCompat}\n`);
}

// --- TIME, SHUTDOWN, DEBUG -------------------------------------------------------------------------

function timeCommand(m: MainCall): void {
  const us = BigInt(Date.now()) * 1000n + (process.hrtime.bigint() / 1000n) % 1000n;
  m.out.array(2);
  m.out.bulkString((us / 1000000n).toString());
  m.out.bulkString((us % 1000000n).toString());
}

function shutdownCommand(m: MainCall): Promise<void> | void {
  const a = m.args;
  let save: boolean | null = null;
  let force = false;
  for (let i = 1; i < a.argc; i++) {
    if (argIs(a, i, 'ABORT')) {
      m.out.error('ERR No shutdown in progress.');
      return;
    }
    if (argIs(a, i, 'NOSAVE')) save = save === true ? null : false;
    else if (argIs(a, i, 'SAVE')) save = save === false ? null : true;
    else if (argIs(a, i, 'FORCE')) force = true;
    else if (!argIs(a, i, 'NOW')) {
      m.out.error(ERR.syntax);
      return;
    }
  }
  if (a.argc > 2 && save === null && (hasArg(a, 'SAVE') || hasArg(a, 'NOSAVE'))) {
    m.out.error(ERR.syntax);
    return;
  }
  // Redis saves first and stays up when that fails (unless FORCE); then the connection closes
  // with the server, without a reply.
  return m.server.persistence.beforeShutdown(save).then(
    () => new Promise<void>(() => void m.server.shutdown('SHUTDOWN command', false)),
    (e: Error) => {
      if (force) return new Promise<void>(() => void m.server.shutdown('SHUTDOWN FORCE after a failed save', false));
      m.server.persistence.noteShutdownError(e);
      m.out.error('ERR Errors trying to SHUTDOWN. Check logs.');
      return undefined;
    },
  );
}

function hasArg(a: MainCall['args'], word: string): boolean {
  for (let i = 1; i < a.argc; i++) if (argIs(a, i, word)) return true;
  return false;
}

function isLocal(addr: string): boolean {
  return addr.startsWith('127.') || addr.startsWith('::1') || addr.startsWith('::ffff:127.');
}

async function debugCommand(m: MainCall): Promise<void> {
  const a = m.args;
  const mode = m.server.config.values.enableDebugCommand;
  if (mode === 'no' || (mode === 'local' && !isLocal(m.conn.addr))) {
    m.out.error(ERR.debugNotAllowed);
    return;
  }
  const sub = argLower(a, 1);
  switch (sub) {
    case 'help': {
      const help = ['DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:', 'SHARD-CRASH <shard>', '    Crash shard worker <shard>; it is restarted on its memory.', 'INTEGRITY <shard>', '    Check every structural invariant of shard <shard>\'s keyspace (O(memory)).', 'SLEEP <seconds>', '    Stop the server for <seconds>. Decimals allowed.', 'SET-ACTIVE-EXPIRE <0|1>', '    Setting it to 0 disables expiring keys in background.', 'LOG <message>', '    Write <message> to the server log.', 'CLUSTER-PARTITION [<node-id> ...]', '    Drop cluster bus traffic to and from these nodes (none: heal). For partition tests.', 'HELP', '    Print this help.'];
      m.out.array(help.length);
      for (const l of help) m.out.simple(l);
      return;
    }
    case 'shard-crash': {
      const n = a.argc === 3 ? argInt(a, 2) : NaN;
      if (Number.isNaN(n) || n < 0 || n >= m.server.shardCount) {
        m.out.error(`ERR shard must be an integer from 0 to ${m.server.shardCount - 1}`);
        return;
      }
      await m.server.callShard(n, ['__crash'], m.conn.proto);
      m.out.ok();
      return;
    }
    case 'integrity': {
      // For the fuzzer and soak runs: the arena's own check, run inside the shard that owns it.
      const n = a.argc === 3 ? argInt(a, 2) : NaN;
      if (Number.isNaN(n) || n < 0 || n >= m.server.shardCount) {
        m.out.error(`ERR shard must be an integer from 0 to ${m.server.shardCount - 1}`);
        return;
      }
      const r = await m.server.callShard(n, ['__integrity'], m.conn.proto);
      m.out.raw(r, 0, r.length);
      return;
    }
    case 'sleep': {
      const secs = a.argc === 3 ? Number(argString(a, 2)) : NaN;
      if (!Number.isFinite(secs) || secs < 0) {
        m.out.error(ERR.notFloat);
        return;
      }
      // Blocks the main thread on purpose, as DEBUG SLEEP blocks redis-server.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, secs * 1000);
      m.out.ok();
      return;
    }
    case 'set-active-expire': {
      if (a.argc !== 3) break;
      const err = m.server.config.set([['active-expire-enabled', argInt(a, 2) === 0 ? 'no' : 'yes']]);
      if (err) m.out.error(err);
      else m.out.ok();
      return;
    }
    case 'log':
      if (a.argc !== 3) break;
      m.out.ok();
      return;
    case 'cluster-partition': {
      if (m.server.cluster === null) {
        m.out.error('ERR This instance has cluster support disabled');
        return;
      }
      const ids: string[] = [];
      for (let i = 2; i < a.argc; i++) ids.push(argString(a, i).toLowerCase());
      m.server.cluster.debugPartition(ids);
      m.out.ok();
      return;
    }
    default:
      break;
  }
  m.out.error(ERR.unknownSubcommand(argString(a, 1), 'DEBUG'));
}

function crashCommand(c: ShardContext): void {
  c.crash();
}

function integrityCommand(c: ShardContext): void {
  try {
    c.ks.checkIntegrity();
    c.out.ok();
  } catch (e) {
    c.out.error(`ERR ${e instanceof Error ? e.message : String(e)}`.replace(/[\r\n]/g, ' '));
  }
}

const S = 'server' as const;

export const SERVER_COMMANDS = [
  { name: 'info', arity: -1, flags: ['loading', 'stale'], keys: null, group: S, since: '1.0.0', summary: 'Returns information and statistics about the server.', main: infoCommand },
  { name: 'config', arity: -2, flags: ['admin'], keys: null, group: S, since: '2.0.0', summary: 'A container for server configuration commands.', main: configCommand,
    subcommands: [
      { name: 'get', arity: -3, flags: ['admin', 'loading', 'stale'], keys: null, summary: 'Returns the effective values of configuration parameters.' },
      { name: 'set', arity: -4, flags: ['admin', 'loading', 'stale'], keys: null, summary: 'Sets configuration parameters in-flight.' },
      { name: 'resetstat', arity: 2, flags: ['admin', 'loading', 'stale'], keys: null, summary: 'Resets the server\'s statistics.' },
      { name: 'rewrite', arity: 2, flags: ['admin', 'loading', 'stale'], keys: null, summary: 'Persists the effective configuration to file.' },
      { name: 'help', arity: 2, flags: ['loading', 'stale'], keys: null, summary: 'Returns helpful text about the different subcommands.' },
    ] },
  { name: 'command', arity: -1, flags: ['loading', 'stale'], keys: null, group: S, since: '2.8.13', summary: 'Returns detailed information about all commands.', main: commandCommand,
    subcommands: [
      { name: 'count', arity: 2, flags: ['loading', 'stale'], keys: null, summary: 'Returns a count of commands.' },
      { name: 'docs', arity: -2, flags: ['loading', 'stale'], keys: null, summary: 'Returns documentary information about one, multiple or all commands.' },
      { name: 'getkeys', arity: -4, flags: ['loading', 'stale'], keys: null, summary: 'Extracts the key names from an arbitrary command.' },
      { name: 'getkeysandflags', arity: -4, flags: ['loading', 'stale'], keys: null, summary: 'Extracts the key names and access flags for an arbitrary command.' },
      { name: 'info', arity: -2, flags: ['loading', 'stale'], keys: null, summary: 'Returns information about one, multiple or all commands.' },
      { name: 'list', arity: -2, flags: ['loading', 'stale'], keys: null, summary: 'Returns a list of command names.' },
      { name: 'help', arity: 2, flags: ['loading', 'stale'], keys: null, summary: 'Returns helpful text about the different subcommands.' },
    ] },
  { name: 'lolwut', arity: -1, flags: ['readonly', 'fast'], keys: null, group: S, since: '5.0.0', summary: 'Displays computer art and the Redis version', main: lolwutCommand },
  { name: 'time', arity: 1, flags: ['loading', 'stale', 'fast', 'random'], keys: null, group: S, since: '2.6.0', summary: 'Returns the server time.', main: timeCommand },
  { name: 'shutdown', arity: -1, flags: ['admin', 'loading', 'stale'], keys: null, group: S, since: '1.0.0', summary: 'Synchronously saves the database(s) to disk and shuts down the Redis server.', main: shutdownCommand },
  { name: 'debug', arity: -2, flags: ['admin', 'loading', 'stale'], keys: null, group: S, since: '1.0.0', summary: 'A container for debugging commands.', main: debugCommand },
  { name: '__integrity', arity: 1, flags: ['admin'], keys: null, group: 'internal', since: '0', summary: 'internal', shard: integrityCommand, hidden: true },
  { name: '__crash', arity: 1, flags: ['admin'], keys: null, group: 'internal', since: '0', summary: 'internal', shard: crashCommand, hidden: true },
] as const satisfies readonly CommandSpec[];
