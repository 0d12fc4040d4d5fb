// Redis's Lua error tables ({err = "CODE message"}), built as script_lua.c luaPushErrorBuff does,
// and the texts the engine raises (Redis 7.0's exact wording).

import type { LuaVm } from './lua-vm.js';

/** Pushes {err = ...}. `text` is an error reply without its '-' when fromReply (its first word is
 * the code; a single word gets "ERR"), else a message that gets the "ERR " code. A reply's error
 * also carries ignore_error_stats_update, as in Redis. */
export function pushErrorTable(vm: LuaVm, text: string, fromReply: boolean): void {
  let code = 'ERR';
  let msg = text;
  if (fromReply) {
    const sp = text.indexOf(' ');
    if (sp >= 0) {
      code = text.slice(0, sp);
      msg = text.slice(sp + 1);
    }
  }
  msg = trimCrlf(msg);
  vm.createtable(0, 2);
  vm.pushstring(code + ' ' + msg);
  vm.setfield(-2, 'err');
  if (fromReply) {
    vm.pushboolean(true);
    vm.setfield(-2, 'ignore_error_stats_update');
  }
}

/** sdstrim(s, "\r\n"): both ends. */
function trimCrlf(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 13 || s.charCodeAt(a) === 10)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 13 || s.charCodeAt(b - 1) === 10)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** Raises {err = "ERR " + message} (luaPushError + luaError). */
export function raiseError(vm: LuaVm, message: string): never {
  pushErrorTable(vm, message, false);
  return vm.error();
}

export const LUA_TEXT = {
  noArgs: 'Please specify at least one argument for this redis lib call',
  badArgType: 'Lua redis lib command arguments must be strings or integers',
  wrongArgs: 'wrong number of arguments',
  wrongArgsOrType: 'wrong number or type of arguments',
  logArgs: 'redis.log() requires two arguments or more.',
  logLevel: 'Invalid debug level.',
  setrespArgs: 'redis.setresp() requires one argument.',
  respVersion: 'RESP version must be 2 or 3.',
  setReplArgs: 'redis.set_repl() requires one argument.',
  replFlags: 'Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.',
  killed: 'Script killed by user with SCRIPT KILL...',
  // For hosts: what Redis 7.0 answers redis.call for an unknown command or a wrong arity (the
  // host writes them as "-ERR <text>"; the engine raises or returns them like any error reply).
  unknownCommand: 'Unknown Redis command called from script',
  wrongArity: 'Wrong number of args calling Redis command from script',
} as const;
