// SLOWLOG GET/LEN/RESET/HELP and LATENCY LATEST/HISTORY/RESET/DOCTOR/GRAPH/HELP (Redis 7.0's
// slowlog.c and latency.c commands): replies and errors as redis-server 7.0.15 gives them. The
// logs themselves live in src/observability (slowlog.ts, latency-monitor.ts); these handlers read
// them. LATENCY HISTOGRAM is the per-command stats' (set through LATENCY_HOOKS).

import type { CommandSpec, MainCall, MainHandler } from './types.js';
import { argInt, argLower, argString } from './args.js';
import { ERR, OBSERVABILITY_ERR } from '../core/errors.js';
import { latencyGraph } from '../observability/latency-monitor.js';

const SLOWLOG_HELP = [
  'SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GET [<count>]',
  '    Return top <count> entries from the slowlog (default: 10, -1 mean all).',
  '    Entries are made of:',
  '    id, timestamp, time in microseconds, arguments array, client IP and port,',
  '    client name',
  'LEN',
  '    Return the length of the slowlog.',
  'RESET',
  '    Reset the slowlog.',
  'HELP',
  '    Prints this help.',
];

const LATENCY_HELP = [
  'LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'DOCTOR',
  '    Return a human readable latency analysis report.',
  'GRAPH <event>',
  '    Return an ASCII latency graph for the <event> class.',
  'HISTORY <event>',
  '    Return time-latency samples for the <event> class.',
  'LATEST',
  '    Return the latest latency samples for all events.',
  'RESET [<event> ...]',
  '    Reset latency data of one or more <event> classes.',
  '    (default: reset all data for all event classes)',
  'HISTOGRAM [COMMAND ...]',
  '    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.',
  '    If no commands are specified then all histograms are replied.',
  'HELP',
  '    Prints this help.',
];

/** LATENCY HISTOGRAM's handler, set by the per-command statistics (none: an empty reply). */
export const LATENCY_HOOKS: { histogram: MainHandler | null } = { histogram: null };

function help(m: MainCall, lines: readonly string[]): void {
  m.out.array(lines.length);
  for (const l of lines) m.out.simple(l);
}

function slowlogCommand(m: MainCall): void {
  const { args: a, out } = m;
  const log = m.server.slowlog;
  const sub = argLower(a, 1);
  switch (sub) {
    case 'get': {
      if (a.argc > 3) break;
      let count = 10;
      if (a.argc === 3) {
        count = argInt(a, 2);
        if (!Number.isSafeInteger(count) || count < -1) {
          out.error(OBSERVABILITY_ERR.slowlogCount);
          return;
        }
      }
      const entries = log.get(count);
      out.array(entries.length);
      for (const e of entries) {
        out.array(6);
        out.integer(e.id);
        out.integer(e.timeSec);
        out.integer(e.durationUs);
        out.array(e.args.length);
        for (const x of e.args) {
          if (typeof x === 'string') out.bulkString(x);
          else out.bulk(x, 0, x.length);
        }
        out.bulkString(e.addr);
        out.bulkString(e.name);
      }
      return;
    }
    case 'len':
      out.integer(log.length);
      return;
    case 'reset':
      log.reset();
      out.ok();
      return;
    case 'help':
      help(m, SLOWLOG_HELP);
      return;
  }
  out.error(`ERR unknown subcommand or wrong number of arguments for '${argString(a, 1)}'. Try SLOWLOG HELP.`);
}

function latencyCommand(m: MainCall): void | Promise<void> {
  const { args: a, out, server } = m;
  const mon = server.latencyMonitor;
  switch (argLower(a, 1)) {
    case 'latest': {
      const rows = mon.latest();
      out.array(rows.length);
      for (const [event, time, latency, max] of rows) {
        out.array(4);
        out.bulkString(event);
        out.integer(time);
        out.integer(latency);
        out.integer(max);
      }
      return;
    }
    case 'history': {
      const samples = mon.history(argString(a, 2));
      out.array(samples.length);
      for (const s of samples) {
        out.array(2);
        out.integer(s.timeSec);
        out.integer(s.latencyMs);
      }
      return;
    }
    case 'reset': {
      const names: string[] = [];
      for (let i = 2; i < a.argc; i++) names.push(argString(a, i));
      out.integer(mon.reset(names));
      return;
    }
    case 'doctor': {
      const v = server.config.values;
      out.verbatim(mon.doctor({ slowlogLogSlowerThanUs: v.slowlogLogSlowerThan, hz: v.hz, appendfsyncAlways: v.appendfsync === 'always' }));
      return;
    }
    case 'graph': {
      const event = argString(a, 2);
      const g = mon.graphSamples(event);
      if (g === null) {
        out.error(OBSERVABILITY_ERR.latencyNoSamples(event));
        return;
      }
      out.verbatim(latencyGraph(event, g.series, g.max, Math.floor(Date.now() / 1000)));
      return;
    }
    case 'histogram': {
      const h = LATENCY_HOOKS.histogram;
      if (h !== null) return h(m);
      if (out.proto === 3) out.map(0);
      else out.array(0);
      return;
    }
    case 'help':
      help(m, LATENCY_HELP);
      return;
  }
  out.error(ERR.unknownSubcommand(argString(a, 1), 'LATENCY'));
}

const S = 'server' as const;
const ADMIN = ['admin', 'noscript', 'loading', 'stale'] as const;
const SLOWLOG_FLAGS = ['admin', 'loading', 'stale'] as const;

export const OBSERVABILITY_COMMANDS = [
  { name: 'slowlog', arity: -2, flags: [], keys: null, group: S, since: '2.2.12', summary: 'A container for slow log commands.', main: slowlogCommand,
    subcommands: [
      { name: 'get', arity: -2, flags: SLOWLOG_FLAGS, keys: null, summary: "Returns the slow log's entries." },
      { name: 'help', arity: 2, flags: ['loading', 'stale'], keys: null, summary: 'Show helpful text about the different subcommands' },
      { name: 'len', arity: 2, flags: SLOWLOG_FLAGS, keys: null, summary: 'Returns the number of entries in the slow log.' },
      { name: 'reset', arity: 2, flags: SLOWLOG_FLAGS, keys: null, summary: 'Clears all entries from the slow log.' },
    ] },
  { name: 'latency', arity: -2, flags: [], keys: null, group: S, since: '2.8.13', summary: 'A container for latency diagnostics commands.', main: latencyCommand,
    subcommands: [
      { name: 'doctor', arity: 2, flags: ADMIN, keys: null, summary: 'Returns a human-readable latency analysis report.' },
      { name: 'graph', arity: 3, flags: ADMIN, keys: null, summary: 'Returns a latency graph for an event.' },
      { name: 'help', arity: 2, flags: ['loading', 'stale'], keys: null, summary: 'Returns helpful text about the different subcommands.' },
      { name: 'histogram', arity: -2, flags: ADMIN, keys: null, summary: 'Returns the cumulative distribution of latencies of a subset or all commands.' },
      { name: 'history', arity: 3, flags: ADMIN, keys: null, summary: 'Returns timestamp-latency samples for an event.' },
      { name: 'latest', arity: 2, flags: ADMIN, keys: null, summary: 'Returns the latest latency samples for all events.' },
      { name: 'reset', arity: -2, flags: ADMIN, keys: null, summary: 'Resets the latency data for one or more events.' },
    ] },
] as const satisfies readonly CommandSpec[];
