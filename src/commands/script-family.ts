// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO (run in the shard that owns their keys; keyless ones in
// shard 0), SCRIPT (on the main thread: the cache is the node's, see script-node.ts), and the
// internal __script that keeps every shard's engine in step with the node.

import { ERR, ReplyError, SCRIPT_ERR } from '../core/errors.js';
import { shardEngine } from '../scripting/shard-scripts.js';
import type { LuaEngine } from '../scripting/lua-engine.js';
import { argCopy, argInt, argIs, argString } from './args.js';
import { keySlot } from '../keyspace/slot.js';
import { runInShard } from './script-run.js';
import { shaText } from '../scripting/sha-text.js';
import { copyArgs, runAcrossShards } from './script-cross.js';
import type { ArgList, CommandSpec, MainCall, MainHandler, ServerApi, ShardContext } from './types.js';

const SC = 'scripting' as const;
const I = 'internal' as const;

function view(a: ArgList, i: number): Uint8Array {
  return a.buf.subarray(a.off[i]!, a.off[i]! + a.len[i]!);
}

/** The key count of EVAL-like commands, or its error reply. */
export function numKeys(a: ArgList, badText: string = ERR.notInteger): number | string {
  const n = argInt(a, 2);
  if (Number.isNaN(n)) return badText;
  if (n < 0) return SCRIPT_ERR.keysNegative;
  if (n > a.argc - 3) return SCRIPT_ERR.keysTooMany;
  return n;
}

function engineOf(c: ShardContext): LuaEngine | null {
  const e = shardEngine(c.shardId);
  if (e === undefined) {
    c.out.error(SCRIPT_ERR.noEngine);
    return null;
  }
  return e;
}

/** EVAL's checks, in Redis's order (the sha's length, the key count, the cache or the compile,
 * the shebang's flags): the script's sha and whether it runs read-only, or the error reply. */
function prepareEval(a: ArgList, engine: LuaEngine, bySha: boolean, ro: boolean, cluster: boolean): { sha: string; n: number; readOnly: boolean } | string {
  if (bySha && a.len[1] !== 40) return SCRIPT_ERR.noScript;
  const n = numKeys(a);
  if (typeof n === 'string') return n;
  let sha: string;
  if (bySha) {
    sha = shaText(a.buf, a.off[1]!, a.len[1]!);
    if (!engine.hasScript(sha)) return SCRIPT_ERR.noScript;
  } else {
    try {
      sha = engine.loadScript(view(a, 1));
    } catch (e) {
      if (e instanceof ReplyError) return e.reply;
      throw e;
    }
  }
  const flags = engine.scriptFlags(sha);
  let readOnly = ro;
  if (flags !== null) {
    const noWrites = flags.includes('no-writes');
    if (ro && !noWrites) return SCRIPT_ERR.writeFlagRo;
    if (flags.includes('no-cluster') && cluster) return SCRIPT_ERR.noCluster;
    readOnly = readOnly || noWrites;
  }
  return { sha, n, readOnly };
}

function evalGeneric(c: ShardContext, bySha: boolean, ro: boolean): void {
  const a = c.args;
  const engine = engineOf(c);
  if (engine === null) return;
  const p = prepareEval(a, engine, bySha, ro, c.settings.scripts?.cluster === true);
  if (typeof p === 'string') return c.out.error(p);
  runInShard(c, engine, false, p.sha, p.readOnly, p.n);
}

/** EVAL whose keys span shards (standalone with several shards): on the main thread, every shard
 * locked (script-cross.ts). */
function crossShardEval(bySha: boolean, ro: boolean): MainHandler {
  return (m) => {
    const a = m.args;
    const engine = m.server.scripting.engine;
    if (engine === null) return m.out.error(SCRIPT_ERR.noEngine);
    const p = prepareEval(a, engine, bySha, ro, false);
    if (typeof p === 'string') return m.out.error(p);
    return runAcrossShards(m.server, m.conn, false, p.sha, p.readOnly, copyArgs(a, 3, 3 + p.n), copyArgs(a, 3 + p.n, a.argc), m.out);
  };
}

/** With several standalone shards: whether the script may touch keys beyond its declared ones'
 * shard, so that it must run with every shard locked. `deny`: never (another shard's key is an
 * error). `allow` (the default): unless its flags bind it to its keys' slot (redis-server
 * standalone's semantics for every script, at the cost of locking every shard for most). `slot`:
 * unless its declared keys all hash to one slot or its flags bind it to them, Redis Cluster's
 * rule, under which a script reaches undeclared keys of its keys' slot (a shared {hash tag}). */
export function mayReachUndeclared(kind: 'eval' | 'evalsha' | 'fcall'): (a: ArgList, cluster: boolean, server: ServerApi) => boolean {
  return (a, cluster, server) => {
    const mode = server.config.values.scriptUndeclaredKeys;
    if (cluster || mode === 'deny') return false;
    if (mode === 'slot' && declaredKeysShareSlot(a)) return false;
    return !server.scripting.boundToKeys(a, kind);
  };
}

/** Whether EVAL*'s / FCALL*'s declared keys (numkeys at argument 2) are at least one, all in one slot. */
function declaredKeysShareSlot(a: ArgList): boolean {
  const n = argInt(a, 2);
  if (!(n >= 1) || 3 + n > a.argc) return false;
  const slot = keySlot(a.buf, a.off[3]!, a.len[3]!);
  for (let i = 4; i < 3 + n; i++) if (keySlot(a.buf, a.off[i]!, a.len[i]!) !== slot) return false;
  return true;
}

const EVAL_REACH = mayReachUndeclared('eval');
const EVALSHA_REACH = mayReachUndeclared('evalsha');

// --- SCRIPT ---------------------------------------------------------------------------------------

function scriptCommand(m: MainCall): void {
  const a = m.args;
  const s = m.server.scripting;
  if (argIs(a, 1, 'LOAD')) {
    try {
      m.out.bulkString(s.addScript(argCopy(a, 2)));
    } catch (e) {
      if (e instanceof ReplyError) return m.out.error(e.reply);
      throw e;
    }
  } else if (argIs(a, 1, 'EXISTS')) {
    m.out.array(a.argc - 2);
    for (let i = 2; i < a.argc; i++) m.out.integer(s.scripts.has(argString(a, i).toLowerCase()) ? 1 : 0);
  } else if (argIs(a, 1, 'FLUSH')) {
    if (a.argc > 3 || (a.argc === 3 && !argIs(a, 2, 'SYNC') && !argIs(a, 2, 'ASYNC'))) return m.out.error(SCRIPT_ERR.scriptFlushOption);
    s.flushScripts();
    m.out.ok();
  } else if (argIs(a, 1, 'KILL')) {
    const err = s.kill(false);
    if (err !== null) m.out.error(err);
    else m.out.ok();
  } else if (argIs(a, 1, 'HELP')) {
    helpReply(m, 'SCRIPT', SCRIPT_HELP);
  } else {
    m.out.error(SCRIPT_ERR.scriptDebugUnsupported);
  }
}

const SCRIPT_HELP = [
  'DEBUG (YES|SYNC|NO)',
  '    Set the debug mode for subsequent scripts executed.',
  'EXISTS <sha1> [<sha1> ...]',
  '    Return information about the existence of the scripts in the script cache.',
  'FLUSH [ASYNC|SYNC]',
  '    Flush the Lua scripts cache. Very dangerous on replicas.',
  '    When called without the optional mode argument, the behavior is determined by the',
  '    lazyfree-lazy-user-flush configuration directive. Valid modes are:',
  '    * ASYNC: Asynchronously flush the scripts cache.',
  '    * SYNC: Synchronously flush the scripts cache.',
  'KILL',
  '    Kill the currently executing Lua script.',
  'LOAD <script>',
  '    Load a script into the scripts cache without executing it.',
  'HELP',
  '    Prints this help.',
];

export function helpReply(m: MainCall, cmd: string, lines: readonly string[]): void {
  m.out.array(lines.length + 1);
  m.out.simple(`${cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:`);
  for (const l of lines) m.out.simple(l);
}

// --- __script: the node's cache and libraries, kept in step in every shard ------------------------

function internalScript(c: ShardContext): void {
  const a = c.args;
  const engine = engineOf(c);
  if (engine === null) return;
  try {
    if (argIs(a, 1, 'LOAD')) {
      c.out.bulkString(engine.loadScript(view(a, 2)));
    } else if (argIs(a, 1, 'FLUSH')) {
      engine.flushScripts();
      c.out.ok();
    } else if (argIs(a, 1, 'FNLOAD')) {
      c.out.bulkString(engine.loadLibrary(view(a, 2), true).name);
    } else if (argIs(a, 1, 'FNDELETE')) {
      engine.deleteLibrary(argString(a, 2));
      c.out.ok();
    } else if (argIs(a, 1, 'FNFLUSH')) {
      engine.flushLibraries();
      c.out.ok();
    } else if (argIs(a, 1, 'FNSET')) {
      engine.flushLibraries();
      for (let i = 2; i < a.argc; i++) engine.loadLibrary(view(a, i), true);
      c.out.ok();
    } else {
      c.out.error(ERR.syntax);
    }
  } catch (e) {
    if (e instanceof ReplyError) return c.out.error(e.reply);
    throw e;
  }
}

const EVAL_KEYS = { first: 0, last: 0, step: 0, numkeysAt: 2 };

export const SCRIPT_COMMANDS = [
  { name: 'eval', arity: -3, flags: ['noscript', 'stale'], keys: EVAL_KEYS, group: SC, since: '2.6.0', summary: 'Executes a server-side Lua script.', shard: (c) => evalGeneric(c, false, false), reachesOtherKeys: EVAL_REACH, crossShard: crossShardEval(false, false) },
  { name: 'evalsha', arity: -3, flags: ['noscript', 'stale'], keys: EVAL_KEYS, group: SC, since: '2.6.0', summary: 'Executes a server-side Lua script by SHA1 digest.', shard: (c) => evalGeneric(c, true, false), reachesOtherKeys: EVALSHA_REACH, crossShard: crossShardEval(true, false) },
  { name: 'eval_ro', arity: -3, flags: ['noscript', 'stale', 'readonly'], keys: EVAL_KEYS, group: SC, since: '7.0.0', summary: 'Executes a read-only server-side Lua script.', shard: (c) => evalGeneric(c, false, true), reachesOtherKeys: EVAL_REACH, crossShard: crossShardEval(false, true) },
  { name: 'evalsha_ro', arity: -3, flags: ['noscript', 'stale', 'readonly'], keys: EVAL_KEYS, group: SC, since: '7.0.0', summary: 'Executes a read-only server-side Lua script by SHA1 digest.', shard: (c) => evalGeneric(c, true, true), reachesOtherKeys: EVALSHA_REACH, crossShard: crossShardEval(true, true) },
  {
    name: 'script', arity: -2, flags: [], keys: null, group: SC, since: '2.6.0', summary: 'A container for Lua scripts management commands.', main: scriptCommand,
    subcommands: [
      { name: 'exists', arity: -3, flags: ['noscript'], keys: null, summary: 'Determines whether server-side Lua scripts exist in the script cache.' },
      { name: 'flush', arity: -2, flags: ['noscript'], keys: null, summary: 'Removes all server-side Lua scripts from the script cache.' },
      { name: 'kill', arity: 2, flags: ['noscript', 'allow-busy'], keys: null, summary: 'Terminates a server-side Lua script during execution.' },
      { name: 'load', arity: 3, flags: ['noscript', 'stale'], keys: null, summary: 'Loads a server-side Lua script to the script cache.' },
      { name: 'help', arity: 2, flags: ['loading', 'stale'], keys: null, summary: 'Returns helpful text about the different subcommands.' },
      { name: 'debug', arity: 3, flags: ['noscript'], keys: null, summary: 'Sets the debug mode of server-side Lua scripts.' },
    ],
  },
  { name: '__script', arity: -2, flags: [], keys: null, group: I, since: '0', summary: "Internal: the node's scripts and libraries, loaded into a shard's engine.", shard: internalScript, hidden: true },
] as const satisfies readonly CommandSpec[];
