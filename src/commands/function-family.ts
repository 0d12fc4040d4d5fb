// FUNCTION (on the main thread: libraries are the node's, see script-node.ts) and FCALL /
// FCALL_RO (in the shard that owns their keys, keyless ones in shard 0, as EVAL).

import { ERR, ReplyError, SCRIPT_ERR } from '../core/errors.js';
import { shardEngine } from '../scripting/shard-scripts.js';
import { argCopy, argIs, argString } from './args.js';
import { runInShard } from './script-run.js';
import { helpReply, mayReachUndeclared, numKeys } from './script-family.js';
import { decodeFunctionDump } from './function-dump.js';
import { globMatch } from '../util/glob.js';
import { copyArgs, runAcrossShards } from './script-cross.js';
import type { LuaEngine } from '../scripting/lua-engine.js';
import type { ArgList, CommandSpec, MainCall, MainHandler, ShardContext } from './types.js';
import type { RestorePolicy } from './script-node.js';

const SC = 'scripting' as const;

/** FCALL's checks in Redis's order: the function, the key count, the flags. */
function prepareFcall(a: ArgList, engine: LuaEngine, ro: boolean, cluster: boolean): { name: string; n: number; readOnly: boolean } | string {
  const name = argString(a, 1);
  const info = engine.functionInfo(name);
  if (info === undefined) return SCRIPT_ERR.functionNotFound;
  const n = numKeys(a, SCRIPT_ERR.badNumKeys);
  if (typeof n === 'string') return n;
  const noWrites = info.flags.includes('no-writes');
  if (ro && !noWrites) return SCRIPT_ERR.writeFlagRo;
  if (info.flags.includes('no-cluster') && cluster) return SCRIPT_ERR.noCluster;
  return { name, n, readOnly: ro || noWrites };
}

function fcallGeneric(c: ShardContext, ro: boolean): void {
  const a = c.args;
  const engine = shardEngine(c.shardId);
  if (engine === undefined) return c.out.error(SCRIPT_ERR.noEngine);
  const p = prepareFcall(a, engine, ro, c.settings.scripts?.cluster === true);
  if (typeof p === 'string') return c.out.error(p);
  runInShard(c, engine, true, p.name, p.readOnly, p.n);
}

/** FCALL whose keys span shards: on the main thread, every shard locked (script-cross.ts). */
function crossShardFcall(ro: boolean): MainHandler {
  return (m) => {
    const a = m.args;
    const engine = m.server.scripting.engine;
    if (engine === null) return m.out.error(SCRIPT_ERR.noEngine);
    const p = prepareFcall(a, engine, ro, false);
    if (typeof p === 'string') return m.out.error(p);
    return runAcrossShards(m.server, m.conn, true, p.name, p.readOnly, copyArgs(a, 3, 3 + p.n), copyArgs(a, 3 + p.n, a.argc), m.out);
  };
}

const FCALL_REACH = mayReachUndeclared('fcall');

function functionCommand(m: MainCall): void {
  const a = m.args;
  const s = m.server.scripting;
  const out = m.out;
  const changes = argIs(a, 1, 'LOAD') || argIs(a, 1, 'DELETE') || argIs(a, 1, 'FLUSH') || argIs(a, 1, 'RESTORE');
  // A replica takes its libraries from its primary only (the subcommands are writes in Redis).
  if (changes && m.server.replication.isReplica && m.server.config.values.replicaReadOnly) return out.error(SCRIPT_ERR.readOnlyReplica);
  try {
    if (argIs(a, 1, 'LOAD')) {
      let replace = false;
      if (a.argc === 4) {
        if (!argIs(a, 2, 'REPLACE')) return out.error(`ERR Unknown option given: ${argString(a, 2)}`);
        replace = true;
      } else if (a.argc > 4) {
        return out.error(ERR.wrongArity('function|load'));
      }
      out.bulkString(s.loadLibrary(argCopy(a, a.argc - 1), replace));
    } else if (argIs(a, 1, 'DELETE')) {
      if (!s.deleteLibrary(argString(a, 2))) return out.error(SCRIPT_ERR.libraryNotFound);
      out.ok();
    } else if (argIs(a, 1, 'FLUSH')) {
      if (a.argc > 3 || (a.argc === 3 && !argIs(a, 2, 'SYNC') && !argIs(a, 2, 'ASYNC'))) return out.error(SCRIPT_ERR.functionFlushOption);
      s.flushLibraries();
      out.ok();
    } else if (argIs(a, 1, 'LIST')) {
      listCommand(m);
    } else if (argIs(a, 1, 'DUMP')) {
      const d = s.dump();
      out.bulk(d, 0, d.length);
    } else if (argIs(a, 1, 'RESTORE')) {
      let policy: RestorePolicy = 'APPEND';
      if (a.argc === 4) {
        if (argIs(a, 3, 'FLUSH')) policy = 'FLUSH';
        else if (argIs(a, 3, 'REPLACE')) policy = 'REPLACE';
        else if (!argIs(a, 3, 'APPEND')) return out.error(SCRIPT_ERR.badRestorePolicy);
      } else if (a.argc > 4) {
        return out.error("ERR unknown subcommand or wrong number of arguments for 'RESTORE'. Try FUNCTION HELP.");
      }
      const codes = decodeFunctionDump(argCopy(a, 2));
      if (codes === null) return out.error(SCRIPT_ERR.badDump);
      s.restore(codes, policy);
      out.ok();
    } else if (argIs(a, 1, 'STATS')) {
      statsCommand(m);
    } else if (argIs(a, 1, 'KILL')) {
      const err = s.kill(true);
      if (err !== null) out.error(err);
      else out.ok();
    } else {
      helpReply(m, 'FUNCTION', FUNCTION_HELP);
    }
  } catch (e) {
    if (e instanceof ReplyError) {
      out.reset();
      return out.error(e.reply);
    }
    throw e;
  }
}

function listCommand(m: MainCall): void {
  const a = m.args;
  let withCode = false;
  let pattern: Buffer | null = null;
  for (let i = 2; i < a.argc; i++) {
    if (argIs(a, i, 'WITHCODE') && !withCode) {
      withCode = true;
    } else if (argIs(a, i, 'LIBRARYNAME') && pattern === null) {
      if (i + 1 >= a.argc) return m.out.error(SCRIPT_ERR.libraryNameMissing);
      pattern = argCopy(a, ++i);
    } else {
      return m.out.error(SCRIPT_ERR.unknownArgument(argString(a, i)));
    }
  }
  const libs = (m.server.scripting.engine?.libraries() ?? []).filter((l) => {
    if (pattern === null) return true;
    const name = Buffer.from(l.name);
    return globMatch(pattern, 0, pattern.length, name, 0, name.length, true);
  });
  const out = m.out;
  out.array(libs.length);
  for (const l of libs) {
    out.map(withCode ? 4 : 3);
    out.bulkString('library_name');
    out.bulkString(l.name);
    out.bulkString('engine');
    out.bulkString(l.engine);
    out.bulkString('functions');
    out.array(l.functions.length);
    for (const f of l.functions) {
      out.map(3);
      out.bulkString('name');
      out.bulkString(f.name);
      out.bulkString('description');
      if (f.description === null) out.nil();
      else out.bulkString(f.description);
      out.bulkString('flags');
      out.set(f.flags.length);
      for (const flag of f.flags) out.simple(flag);
    }
    if (withCode) {
      out.bulkString('library_code');
      out.bulkString(l.code);
    }
  }
}

function statsCommand(m: MainCall): void {
  const s = m.server.scripting;
  const out = m.out;
  const libs = s.engine?.libraries() ?? [];
  out.map(2);
  out.bulkString('running_script');
  const running = s.runningShard();
  if (running === null || !running.fn) {
    out.nil();
  } else {
    // The shard does not say which function runs; its name and arguments stay unknown here.
    out.map(3);
    out.bulkString('name');
    out.bulkString('');
    out.bulkString('command');
    out.array(0);
    out.bulkString('duration_ms');
    out.integer(0);
  }
  out.bulkString('engines');
  out.map(1);
  out.bulkString('LUA');
  out.map(2);
  out.bulkString('libraries_count');
  out.integer(libs.length);
  out.bulkString('functions_count');
  out.integer(libs.reduce((n, l) => n + l.functions.length, 0));
}

const FUNCTION_HELP = [
  'LOAD [REPLACE] <FUNCTION CODE>',
  '    Create a new library with the given library name and code.',
  'DELETE <LIBRARY NAME>',
  '    Delete the given library.',
  'LIST [LIBRARYNAME PATTERN] [WITHCODE]',
  '    Return general information on all the libraries:',
  '    * Library name',
  '    * The engine used to run the Library',
  '    * Library description',
  '    * Functions list',
  '    * Library code (if WITHCODE is given)',
  '    It also possible to get only function that matches a pattern using LIBRARYNAME argument.',
  'STATS',
  '    Return information about the current function running:',
  '    * Function name',
  '    * Command used to run the function',
  '    * Duration in MS that the function is running',
  '    If no function is running, return nil',
  '    In addition, returns a list of available engines.',
  'KILL',
  '    Kill the current running function.',
  'FLUSH [ASYNC|SYNC]',
  '    Delete all the libraries.',
  '    When called without the optional mode argument, the behavior is determined by the',
  '    lazyfree-lazy-user-flush configuration directive. Valid modes are:',
  '    * ASYNC: Asynchronously flush the libraries.',
  '    * SYNC: Synchronously flush the libraries.',
  'DUMP',
  '    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command',
  'RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]',
  '    Restore the libraries represented by the given payload, it is possible to give a restore policy to',
  '    control how to handle existing libraries (default APPEND):',
  '    * FLUSH: delete all existing libraries.',
  '    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.',
  '    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old',
  '      libraries with the new libraries (notice that even on this option there is a chance of failure',
  '      in case of functions name collision with another library).',
  'HELP',
  '    Prints this help.',
];

const FCALL_KEYS = { first: 0, last: 0, step: 0, numkeysAt: 2 };

export const FUNCTION_COMMANDS = [
  { name: 'fcall', arity: -3, flags: ['noscript', 'stale'], keys: FCALL_KEYS, group: SC, since: '7.0.0', summary: 'Invokes a function.', shard: (c) => fcallGeneric(c, false), reachesOtherKeys: FCALL_REACH, crossShard: crossShardFcall(false) },
  { name: 'fcall_ro', arity: -3, flags: ['noscript', 'stale', 'readonly'], keys: FCALL_KEYS, group: SC, since: '7.0.0', summary: 'Invokes a read-only function.', shard: (c) => fcallGeneric(c, true), reachesOtherKeys: FCALL_REACH, crossShard: crossShardFcall(true) },
  {
    name: 'function', arity: -2, flags: [], keys: null, group: SC, since: '7.0.0', summary: 'A container for function commands.', main: functionCommand,
    subcommands: [
      { name: 'delete', arity: 3, flags: ['noscript', 'write'], keys: null, summary: 'Deletes a library and its functions.' },
      { name: 'dump', arity: 2, flags: ['noscript'], keys: null, summary: 'Dumps all libraries into a serialized binary payload.' },
      { name: 'flush', arity: -2, flags: ['noscript', 'write'], keys: null, summary: 'Deletes all libraries and functions.' },
      { name: 'help', arity: 2, flags: ['loading', 'stale'], keys: null, summary: 'Returns helpful text about the different subcommands.' },
      { name: 'kill', arity: 2, flags: ['noscript', 'allow-busy'], keys: null, summary: 'Terminates a function during execution.' },
      { name: 'list', arity: -2, flags: ['noscript'], keys: null, summary: 'Returns information about all libraries.' },
      { name: 'load', arity: -3, flags: ['noscript', 'write', 'denyoom'], keys: null, summary: 'Creates a library.' },
      { name: 'restore', arity: -3, flags: ['noscript', 'write', 'denyoom'], keys: null, summary: 'Restores all libraries from a payload.' },
      { name: 'stats', arity: 2, flags: ['noscript', 'allow-busy'], keys: null, summary: 'Returns information about a function during execution.' },
    ],
  },
] as const satisfies readonly CommandSpec[];
