// Pub/sub commands (Redis pubsub.c): SUBSCRIBE ... SPUBLISH and PUBSUB. They run on the main
// thread against server.pubsub (server/pubsub.ts). The shard-channel commands declare their
// channels as keys, so that in cluster mode the router answers -MOVED / -CROSSSLOT first; they
// use the `blocking` slot of the spec, which is what "main thread, after cluster routing" means.

import type { ArgList, ClientInfo, CommandSpec, MainCall, SubKind } from './types.js';
import { argString } from './args.js';
import { ERR } from '../core/errors.js';

export const SUB_CHANNEL = 0;
export const SUB_PATTERN = 1;
export const SUB_SHARD = 2;

/** Redis's CLIENT_PUBSUB flag: any subscription of any kind. In RESP2 it means subscribe mode. */
export function inSubscribeMode(c: ClientInfo): boolean {
  const s = c.subscriptions;
  return s.channels.size + s.patterns.size + s.shardChannels.size > 0;
}

/** The commands a RESP2 client in subscribe mode may still send. */
const SUBSCRIBE_MODE_COMMANDS = new Set(['subscribe', 'unsubscribe', 'psubscribe', 'punsubscribe', 'ssubscribe', 'sunsubscribe', 'ping', 'quit', 'reset']);

/** Redis 7.0's refusal of a command from a RESP2 client in subscribe mode, or null when allowed. */
export function subscribeModeRefusal(c: ClientInfo, spec: CommandSpec, a: ArgList): string | null {
  if (c.proto !== 2 || !inSubscribeMode(c) || SUBSCRIBE_MODE_COMMANDS.has(spec.name)) return null;
  return ERR.subscribeContext(spec.subcommands && a.argc >= 2 ? `${spec.name}|${argString(a, 1).toLowerCase()}` : spec.name);
}

function subscribe(kind: SubKind): (m: MainCall) => void {
  return (m) => {
    const a = m.args;
    for (let i = 1; i < a.argc; i++) m.server.pubsub.subscribe(m.conn, kind, a.buf.subarray(a.off[i]!, a.off[i]! + a.len[i]!), m.out);
  };
}

function unsubscribe(kind: SubKind): (m: MainCall) => void {
  return (m) => {
    const a = m.args;
    if (a.argc === 1) m.server.pubsub.unsubscribeAll(m.conn, kind, m.out);
    for (let i = 1; i < a.argc; i++) m.server.pubsub.unsubscribe(m.conn, kind, a.buf.subarray(a.off[i]!, a.off[i]! + a.len[i]!), m.out);
  };
}

function arg(a: ArgList, i: number): Uint8Array {
  return a.buf.subarray(a.off[i]!, a.off[i]! + a.len[i]!);
}

const PUBSUB_HELP = [
  'PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CHANNELS [<pattern>]',
  "    Return the currently active channels matching a <pattern> (default: '*').",
  'NUMPAT',
  '    Return number of subscriptions to patterns.',
  'NUMSUB [<channel> ...]',
  '    Return the number of subscribers for the specified channels, excluding',
  '    pattern subscriptions(default: no channels).',
  'SHARDCHANNELS [<pattern>]',
  "    Return the currently active shard level channels matching a <pattern> (default: '*').",
  'SHARDNUMSUB [<shardchannel> ...]',
  '    Return the number of subscribers for the specified shard level channel(s)',
  'HELP',
  '    Prints this help.',
];

function pubsubCommand(m: MainCall): void {
  const a = m.args;
  const out = m.out;
  const ps = m.server.pubsub;
  const sub = argString(a, 1).toLowerCase();
  if (sub === 'channels' || sub === 'shardchannels') {
    if (a.argc > 3) {
      out.error(ERR.subcommandSyntax(argString(a, 1), 'PUBSUB'));
      return;
    }
    const names = ps.names(sub === 'channels' ? SUB_CHANNEL : SUB_SHARD, a.argc === 3 ? arg(a, 2) : null);
    out.array(names.length);
    for (const n of names) out.bulk(n, 0, n.length);
  } else if (sub === 'numsub' || sub === 'shardnumsub') {
    const kind = sub === 'numsub' ? SUB_CHANNEL : SUB_SHARD;
    // Redis 7.0 answers a flat array of channel, count pairs, in RESP3 too.
    out.array((a.argc - 2) * 2);
    for (let i = 2; i < a.argc; i++) {
      out.bulk(a.buf, a.off[i]!, a.len[i]!);
      out.integer(ps.subscriberCount(kind, arg(a, i)));
    }
  } else if (sub === 'numpat') {
    out.integer(ps.counts().patterns);
  } else {
    // help (the dispatcher refused unknown subcommands and wrong arities)
    out.array(PUBSUB_HELP.length);
    for (const l of PUBSUB_HELP) out.simple(l);
  }
}

const P = 'pubsub' as const;
const SUBSCRIBE_FLAGS = ['pubsub', 'noscript', 'loading', 'stale'] as const;
const PUBSUB_FLAGS = ['pubsub', 'loading', 'stale'] as const;

export const PUBSUB_COMMANDS = [
  { name: 'subscribe', arity: -2, flags: SUBSCRIBE_FLAGS, keys: null, group: P, since: '2.0.0', summary: 'Listens for messages published to channels.', main: subscribe(SUB_CHANNEL) },
  { name: 'unsubscribe', arity: -1, flags: SUBSCRIBE_FLAGS, keys: null, group: P, since: '2.0.0', summary: 'Stops listening to messages posted to channels.', main: unsubscribe(SUB_CHANNEL) },
  { name: 'psubscribe', arity: -2, flags: SUBSCRIBE_FLAGS, keys: null, group: P, since: '2.0.0', summary: 'Listens for messages published to channels that match one or more patterns.', main: subscribe(SUB_PATTERN) },
  { name: 'punsubscribe', arity: -1, flags: SUBSCRIBE_FLAGS, keys: null, group: P, since: '2.0.0', summary: 'Stops listening to messages published to channels that match one or more patterns.', main: unsubscribe(SUB_PATTERN) },
  { name: 'ssubscribe', arity: -2, flags: SUBSCRIBE_FLAGS, keys: { first: 1, last: -1, step: 1 }, group: P, since: '7.0.0', summary: 'Listens for messages published to shard channels.', blocking: subscribe(SUB_SHARD) },
  { name: 'sunsubscribe', arity: -1, flags: SUBSCRIBE_FLAGS, keys: { first: 1, last: -1, step: 1 }, group: P, since: '7.0.0', summary: 'Stops listening to messages posted to shard channels.', blocking: unsubscribe(SUB_SHARD) },
  { name: 'publish', arity: 3, flags: ['pubsub', 'loading', 'stale', 'fast'], keys: null, group: P, since: '2.0.0', summary: 'Posts a message to a channel.', main: (m) => {
    m.out.integer(m.server.pubsub.publish(arg(m.args, 1), arg(m.args, 2)));
  } },
  { name: 'spublish', arity: 3, flags: ['pubsub', 'loading', 'stale', 'fast'], keys: { first: 1, last: 1, step: 1 }, group: P, since: '7.0.0', summary: 'Post a message to a shard channel', blocking: (m) => {
    m.out.integer(m.server.pubsub.spublish(arg(m.args, 1), arg(m.args, 2)));
  } },
  { name: 'pubsub', arity: -2, flags: [], keys: null, group: P, since: '2.8.0', summary: 'A container for Pub/Sub commands.', main: pubsubCommand,
    subcommands: [
      { name: 'channels', arity: -2, flags: PUBSUB_FLAGS, keys: null, summary: 'Returns the active channels.' },
      { name: 'numpat', arity: 2, flags: PUBSUB_FLAGS, keys: null, summary: 'Returns a count of unique pattern subscriptions.' },
      { name: 'numsub', arity: -2, flags: PUBSUB_FLAGS, keys: null, summary: 'Returns a count of subscribers to channels.' },
      { name: 'shardchannels', arity: -2, flags: PUBSUB_FLAGS, keys: null, summary: 'Returns the active shard channels.' },
      { name: 'shardnumsub', arity: -2, flags: PUBSUB_FLAGS, keys: null, summary: 'Returns the count of subscribers of shard channels.' },
      { name: 'help', arity: 2, flags: ['loading', 'stale'], keys: null, summary: 'Returns helpful text about the different subcommands.' },
    ] },
] as const satisfies readonly CommandSpec[];
