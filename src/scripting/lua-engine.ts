// The Lua engine behind EVAL / FCALL: one Lua state, Redis 7.0's sandbox, redis.* and the
// conversions both ways. A pure module: it knows nothing of shards or the server; commands reach
// the keyspace through a ScriptCallHost. Runs are synchronous and never nest: the engine keeps the
// current run's host and options in fields rather than allocating closures per call.

import { createHash } from 'node:crypto';
import { ReplyError } from '../core/errors.js';
import type { ArgList } from '../core/types.js';
import { RespWriter } from '../protocol/resp-writer.js';
import { formatDouble } from '../util/numbers.js';
import { LUA_TEXT, pushErrorTable, raiseError } from './lua-errors.js';
import { LRAND48_MAX, lrand48, srand48 } from './lua-random.js';
import { writeResult } from './lua-to-resp.js';
import { LUA_OK, T_FUNCTION, T_NUMBER, T_STRING, T_TABLE, type LuaVm, type VmName } from './lua-vm.js';
import { PRELUDE, PRELUDE_CHUNK } from './prelude.js';
import { pushReply } from './resp-to-lua.js';
import { installLibraries } from './libs.js';
import { FunctionRegistry, type FunctionInfo, type LibraryInfo } from './lua-functions.js';
import { createFengariVm } from './vm-fengari.js';
import { createWasmoonVm } from './vm-wasmoon.js';

export type { FunctionInfo, LibraryInfo } from './lua-functions.js';

export interface ScriptCallHost {
  /** redis.call / redis.pcall: runs args[0] with args[1..]; writes its reply in `out`, whose proto
   * the engine sets (2 by default, 3 after redis.setresp(3)). Command errors are written as RESP
   * errors (the engine turns them into raised errors for call, error tables for pcall); the host
   * never throws for them. The host checks everything command-side: unknown command, arity,
   * `noscript` commands, writes from a read-only script, keys of another shard / slot.
   * The args are views valid only during the call: copy what is kept. */
  call(args: Uint8Array[], out: RespWriter): void;
  /** As call, with the arguments in one ArgList (argument 0 the command's name); when present the
   * engine calls this instead of call, making no view per argument. Valid only during the call. */
  callList?(a: ArgList, out: RespWriter): void;
  /** redis.log(level, msg): level is 0..3 (LOG_DEBUG .. LOG_WARNING). */
  log(level: number, message: string): void;
}

export interface RunOptions {
  keys: Uint8Array[];
  argv: Uint8Array[];
  /** When set, KEYS and ARGV come from it instead (keys and argv are then ignored): KEYS are
   * arguments [keysFrom, keysFrom + numKeys), ARGV the ones after, up to args.argc. Read before
   * the script starts, without a view per argument. */
  args?: ArgList | undefined;
  keysFrom?: number;
  numKeys?: number;
  /** Called from an instruction-count hook (every ~100k instructions); true aborts the script with
   * Redis's "Script killed by user with SCRIPT KILL..." / FUNCTION KILL error. */
  interrupted: () => boolean;
}

export interface LuaEngine {
  readonly vm: VmName;
  /** EVAL / SCRIPT LOAD: compiles body (cached by its sha1 hex, which it returns). Throws
   * ReplyError (src/core/errors.ts) with Redis 7.0's "ERR Error compiling script ..." text. */
  loadScript(body: Uint8Array): string;
  hasScript(sha: string): boolean;
  /** The flags of a script's `#!lua flags=...` shebang; null for a script without a shebang. */
  scriptFlags(sha: string): string[] | null;
  flushScripts(): void;
  /** Runs a loaded script with KEYS and ARGV; writes its result converted by Redis's Lua-to-RESP
   * rules (or its error reply, with " script: <sha>, on @user_script:<line>." as Redis 7.0) to out,
   * in out.proto. Never throws for script errors. */
  runScript(sha: string, host: ScriptCallHost, opts: RunOptions, out: RespWriter): void;
  /** FUNCTION LOAD [REPLACE]: runs the library code ("#!lua name=<lib>\n...") and registers its
   * functions. Throws ReplyError with Redis's texts (library exists, no functions, bad name...). */
  loadLibrary(code: Uint8Array, replace: boolean): LibraryInfo;
  deleteLibrary(name: string): boolean;
  flushLibraries(): void;
  libraries(): LibraryInfo[];
  functionInfo(name: string): FunctionInfo | undefined;
  /** FCALL / FCALL_RO: as runScript, for a registered function (caller checked it exists). */
  callFunction(name: string, host: ScriptCallHost, opts: RunOptions, out: RespWriter): void;
}

/** How often (in VM instructions) the interruption hook runs, as Redis's luaMaskCountHook. */
const HOOK_INSTRUCTIONS = 100000;
const SCRIPT_CHUNK = '@user_script';
const NO_SCRIPT = 'NOSCRIPT No matching script. Please use EVAL.';
/** Flags a script's shebang may name (Redis 7.0 scripts: the function flags but allow-cross-slot). */
const SCRIPT_FLAGS = ['no-writes', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys'];

interface Script {
  ref: number;
  flags: string[] | null;
}

const NEVER = (): boolean => false;
/** redis.call's argument buffer: its first size, and the most it keeps between calls. */
const CALL_BUF_INITIAL = 1024;
const CALL_BUF_KEEP = 1 << 20;
/** Small integers as redis.call arguments, made once ("%.17g" of an integer is its digits). */
const SMALL_INT_ARGS: Buffer[] = Array.from({ length: 1024 }, (_, i) => Buffer.from(String(i), 'latin1'));

/** A number argument as Redis 7.0 writes it ("%.17g"). */
function numberArg(x: number): Uint8Array {
  if (Number.isSafeInteger(x) && !Object.is(x, -0)) {
    return x >= 0 && x < SMALL_INT_ARGS.length ? SMALL_INT_ARGS[x]! : Buffer.from(String(x), 'latin1');
  }
  return Buffer.from(formatDouble(x), 'latin1');
}

class Engine implements LuaEngine {
  readonly vm: VmName;
  private readonly scripts = new Map<string, Script>();
  private readonly functions: FunctionRegistry;
  /** Registry references of the prelude's entry points and the reused KEYS / ARGV tables. */
  private readonly errhRef: number;
  private readonly compileRef: number;
  private readonly keysRef: number;
  private readonly argvRef: number;
  private keysLen = 0;
  private argvLen = 0;
  /** The current run (null between runs). */
  private host: ScriptCallHost | null = null;
  private interrupted: () => boolean = NEVER;
  private killed = false;
  /** The script's protocol for redis.call replies (redis.setresp). */
  private resp: 2 | 3 = 2;
  private readonly callOut = new RespWriter(4096);
  /** redis.call's arguments, reused (grown, never shrunk). */
  private readonly callList: ArgList = { buf: new Uint8Array(CALL_BUF_INITIAL), off: new Int32Array(16), len: new Int32Array(16), argc: 0 };
  /** A JS exception thrown by a host inside a run: rethrown once the VM is back at the top. */
  private hostFailure: unknown = null;
  private readonly hook = (): void => this.onHook();
  /** While a library's load-time code runs: when it must stop (ms since the epoch), else 0. */
  private loadDeadline = 0;

  constructor(readonly lua: LuaVm) {
    this.vm = lua.name;
    const L = lua;
    if (L.load(Buffer.from(PRELUDE), PRELUDE_CHUNK) !== LUA_OK || L.pcall(0, 1, 0) !== LUA_OK) {
      throw new Error('Lua prelude failed: ' + L.tostring(-1));
    }
    // Stack: the prelude's table of entry points.
    L.getfield(1, 'errh');
    this.errhRef = L.ref();
    L.getfield(1, 'compile');
    this.compileRef = L.ref();
    installLibraries(L);
    this.installRedis();
    this.installRandom();
    L.createtable(16, 0);
    L.pushvalue(-1);
    this.keysRef = L.ref();
    L.setglobal('KEYS');
    L.createtable(16, 0);
    L.pushvalue(-1);
    this.argvRef = L.ref();
    L.setglobal('ARGV');
    // Library tables become read-only proxies.
    L.getfield(1, 'seal');
    L.createtable(8, 0);
    const libs = ['redis', 'string', 'table', 'math', 'coroutine', 'cjson', 'cmsgpack', 'bit', 'struct'];
    for (let i = 0; i < libs.length; i++) {
      L.pushstring(libs[i]!);
      L.rawseti(-2, i + 1);
    }
    if (L.pcall(1, 0, 0) !== LUA_OK) throw new Error('Lua sandbox failed: ' + L.tostring(-1));
    L.getfield(1, 'function_env');
    const functionEnvRef = L.ref();
    this.functions = new FunctionRegistry(L, {
      errhRef: () => this.errhRef,
      setLoadDeadline: (d) => {
        this.loadDeadline = d;
      },
    }, functionEnvRef);
    L.unref(functionEnvRef);
    L.settop(0);
    L.sethook(this.hook, HOOK_INSTRUCTIONS);
  }

  // ---- redis.* -------------------------------------------------------------------------------

  private installRedis(): void {
    const L = this.lua;
    L.createtable(0, 32);
    const fn = (name: string, f: () => number): void => {
      L.pushfunction(f);
      L.setfield(-2, name);
    };
    fn('call', () => this.redisCall(true));
    fn('pcall', () => this.redisCall(false));
    fn('log', () => this.redisLog());
    fn('setresp', () => this.redisSetResp());
    fn('sha1hex', () => this.redisSha1hex());
    fn('error_reply', () => this.singleFieldTable('err'));
    fn('status_reply', () => this.singleFieldTable('ok'));
    fn('set_repl', () => this.redisSetRepl());
    fn('replicate_commands', () => {
      L.pushboolean(true);
      return 1;
    });
    fn('breakpoint', () => {
      L.pushboolean(false);
      return 1;
    });
    fn('debug', () => 0);
    // No ACL users in Tessera's scripts: every command is allowed to the script's user.
    fn('acl_check_cmd', () => {
      if (L.gettop() < 1) raiseError(L, LUA_TEXT.noArgs);
      L.pushboolean(true);
      return 1;
    });
    const num = (name: string, v: number): void => {
      L.pushinteger(v);
      L.setfield(-2, name);
    };
    num('LOG_DEBUG', 0);
    num('LOG_VERBOSE', 1);
    num('LOG_NOTICE', 2);
    num('LOG_WARNING', 3);
    num('REPL_NONE', 0);
    num('REPL_AOF', 1);
    num('REPL_SLAVE', 2);
    num('REPL_REPLICA', 2);
    num('REPL_ALL', 3);
    L.pushstring(REDIS_VERSION);
    L.setfield(-2, 'REDIS_VERSION');
    num('REDIS_VERSION_NUM', REDIS_VERSION_NUM);
    L.setglobal('redis');
  }

  /** redis.call (raise) / redis.pcall. The arguments are copied into one reused ArgList (no view
   * per argument) and go to host.callList, or as views of it to host.call. */
  private redisCall(raise: boolean): number {
    const L = this.lua;
    const argc = L.gettop();
    if (argc === 0) return this.callError(LUA_TEXT.noArgs, raise);
    const a = this.callList;
    if (a.off.length < argc) {
      // argc is bounded by the Lua stack (LUAI_MAXSTACK), the buffer by the VM's strings.
      const n = Math.max(argc, a.off.length * 2);
      a.off = new Int32Array(n);
      a.len = new Int32Array(n);
    }
    let p = 0;
    for (let i = 1; i <= argc; i++) {
      const t = L.type(i);
      let n: number;
      if (t === T_STRING) {
        n = L.copybytes(i, a.buf, p);
        if (n > a.buf.length - p) {
          this.growCallBuf(p, n);
          L.copybytes(i, a.buf, p);
        }
      } else if (t === T_NUMBER) {
        const b = numberArg(L.tonumber(i));
        n = b.length;
        if (n > a.buf.length - p) this.growCallBuf(p, n);
        a.buf.set(b, p);
      } else {
        return this.callError(LUA_TEXT.badArgType, raise);
      }
      a.off[i - 1] = p;
      a.len[i - 1] = n;
      p += n;
    }
    a.argc = argc;
    const host = this.host;
    const out = this.callOut;
    out.reset();
    out.proto = this.resp;
    if (host === null) return this.callError('redis.call can only be called inside a script invocation', raise);
    try {
      if (host.callList !== undefined) host.callList(a, out);
      else host.call(this.callViews(a), out);
    } catch (e) {
      // A host bug: stop the script now, rethrow once the VM has unwound.
      this.hostFailure = e;
      L.pushstring('host failure');
      return L.error();
    }
    // A huge call's buffer is not kept for the next ones.
    if (a.buf.length > CALL_BUF_KEEP) a.buf = new Uint8Array(CALL_BUF_INITIAL);
    L.settop(0);
    const type = pushReply(L, out.buf, out.start);
    if (raise && (type === 45 || type === 33)) return L.error();
    return 1;
  }

  /** Grows the call buffer to hold `need` more bytes after the first `used` (kept). */
  private growCallBuf(used: number, need: number): void {
    const a = this.callList;
    const b = new Uint8Array(Math.max(a.buf.length * 2, used + need));
    b.set(a.buf.subarray(0, used));
    a.buf = b;
  }

  /** The call's arguments as views, for a host without callList. */
  private callViews(a: ArgList): Uint8Array[] {
    const args = new Array<Uint8Array>(a.argc);
    for (let i = 0; i < a.argc; i++) args[i] = a.buf.subarray(a.off[i]!, a.off[i]! + a.len[i]!);
    return args;
  }

  private callError(text: string, raise: boolean): number {
    pushErrorTable(this.lua, text, false);
    if (raise) return this.lua.error();
    return 1;
  }

  private redisLog(): number {
    const L = this.lua;
    const argc = L.gettop();
    if (argc < 2) raiseError(L, LUA_TEXT.logArgs);
    if (L.type(1) !== T_NUMBER) raiseError(L, 'First argument must be a number (log level).');
    const level = Math.trunc(L.tonumber(1));
    if (level < 0 || level > 3) raiseError(L, LUA_TEXT.logLevel);
    let msg = '';
    for (let i = 2; i <= argc; i++) {
      const t = L.type(i);
      if (t !== T_STRING && t !== T_NUMBER) continue;
      if (i > 2) msg += ' ';
      msg += Buffer.from(L.tobytes(i)).toString('latin1');
    }
    this.host?.log(level, msg);
    return 0;
  }

  private redisSetResp(): number {
    const L = this.lua;
    if (L.gettop() !== 1) raiseError(L, LUA_TEXT.setrespArgs);
    const v = L.tonumber(1);
    if (v !== 2 && v !== 3) raiseError(L, LUA_TEXT.respVersion);
    this.resp = v;
    return 0;
  }

  private redisSetRepl(): number {
    const L = this.lua;
    if (L.gettop() !== 1) raiseError(L, LUA_TEXT.setReplArgs);
    const v = L.tonumber(1);
    if (!(v >= 0 && v <= 3) || !Number.isInteger(v)) raiseError(L, LUA_TEXT.replFlags);
    // Tessera replicates a script's effects (the commands it ran) always: nothing to change.
    return 0;
  }

  private redisSha1hex(): number {
    const L = this.lua;
    if (L.gettop() !== 1) raiseError(L, LUA_TEXT.wrongArgs);
    const t = L.type(1);
    const bytes = t === T_STRING || t === T_NUMBER ? L.tobytes(1) : new Uint8Array(0);
    L.pushstring(createHash('sha1').update(bytes).digest('hex'));
    return 1;
  }

  /** redis.error_reply / redis.status_reply (luaRedisReturnSingleFieldTable, Redis 7.0). */
  private singleFieldTable(field: 'err' | 'ok'): number {
    const L = this.lua;
    if (L.gettop() !== 1 || L.type(-1) !== T_STRING) {
      pushErrorTable(L, LUA_TEXT.wrongArgsOrType, false);
      return 1;
    }
    if (field === 'ok') {
      L.createtable(0, 1);
      L.pushvalue(1);
      L.setfield(-2, 'ok');
      return 1;
    }
    const b = L.tobytes(1);
    const text = Buffer.from(b).toString('latin1');
    // error_reply adds the '-' when missing, then splits off the code as any error reply.
    pushErrorTable(L, text.startsWith('-') ? text.slice(1) : text, true);
    // ...without the stats flag, which only replies from commands carry.
    L.pushnil();
    L.setfield(-2, 'ignore_error_stats_update');
    return 1;
  }

  private installRandom(): void {
    const L = this.lua;
    L.getglobal('math');
    L.pushfunction(() => this.mathRandom());
    L.setfield(-2, 'random');
    L.pushfunction(() => {
      srand48(this.checkInt(1, 'randomseed'));
      return 0;
    });
    L.setfield(-2, 'randomseed');
    L.settop(-2);
  }

  /** luaL_checkint: a number (or numeric string), truncated to a C int. */
  private checkInt(arg: number, fname: string): number {
    const L = this.lua;
    const t = L.type(arg);
    let v = NaN;
    if (t === T_NUMBER) v = L.tonumber(arg);
    else if (t === T_STRING) v = Number(L.tostring(arg).trim());
    if (Number.isNaN(v) || (t !== T_NUMBER && t !== T_STRING)) {
      const got = t === T_STRING ? 'string' : typeNames[t] ?? 'no value';
      L.pushstring(L.where(1) + `bad argument #${arg} to '${fname}' (number expected, got ${L.gettop() < arg ? 'no value' : got})`);
      return L.error();
    }
    return Math.trunc(v) | 0;
  }

  /** Redis's math.random (lmathlib.c patched to use redisLrand48). */
  private mathRandom(): number {
    const L = this.lua;
    const r = (lrand48() % LRAND48_MAX) / LRAND48_MAX;
    const argc = L.gettop();
    if (argc === 0) {
      L.pushnumber(r);
    } else if (argc === 1) {
      const u = this.checkInt(1, 'random');
      if (u < 1) {
        L.pushstring(L.where(1) + "bad argument #1 to 'random' (interval is empty)");
        return L.error();
      }
      L.pushinteger(Math.floor(r * u) + 1);
    } else if (argc === 2) {
      const l = this.checkInt(1, 'random');
      const u = this.checkInt(2, 'random');
      if (l > u) {
        L.pushstring(L.where(1) + "bad argument #2 to 'random' (interval is empty)");
        return L.error();
      }
      L.pushinteger(Math.floor(r * (u - l + 1)) + l);
    } else {
      L.pushstring(L.where(1) + 'wrong number of arguments');
      return L.error();
    }
    return 1;
  }

  // ---- the interruption hook ---------------------------------------------------------------

  private onHook(): void {
    if (this.loadDeadline > 0) {
      if (Date.now() > this.loadDeadline) raiseError(this.lua, 'FUNCTION LOAD timeout');
      return;
    }
    if (this.host === null) return;
    if (!this.killed) {
      if (!this.interrupted()) return;
      this.killed = true;
      // From now on every line raises, so a pcall in the script cannot swallow the kill.
      this.lua.sethook(this.hook, 0);
    }
    raiseError(this.lua, LUA_TEXT.killed);
  }

  // ---- scripts -----------------------------------------------------------------------------

  loadScript(body: Uint8Array): string {
    const sha = createHash('sha1').update(body).digest('hex');
    if (this.scripts.has(sha)) return sha;
    const flags = scriptShebang(body);
    const L = this.lua;
    L.settop(0);
    L.rawgeti(L.registryIndex, this.compileRef);
    // A shebang line is not Lua: compile the body with that line blanked (line numbers stay).
    if (flags !== null) {
      const nl = body.indexOf(10);
      const copy = Uint8Array.from(body);
      copy.fill(32, 0, nl < 0 ? copy.length : nl);
      L.pushbytes(copy, 0, copy.length);
    } else L.pushbytes(body, 0, body.length);
    L.pushstring(SCRIPT_CHUNK);
    if (L.pcall(2, 2, 0) !== LUA_OK || L.type(1) !== T_FUNCTION) {
      const msg = L.tostring(2) || L.tostring(1);
      L.settop(0);
      throw new ReplyError(`ERR Error compiling script (new function): ${lua51Message(msg)}`);
    }
    L.settop(1);
    this.scripts.set(sha, { ref: L.ref(), flags });
    L.settop(0);
    return sha;
  }

  hasScript(sha: string): boolean {
    return this.scripts.has(sha);
  }

  scriptFlags(sha: string): string[] | null {
    return this.scripts.get(sha)?.flags ?? null;
  }

  flushScripts(): void {
    for (const s of this.scripts.values()) this.lua.unref(s.ref);
    this.scripts.clear();
  }

  runScript(sha: string, host: ScriptCallHost, opts: RunOptions, out: RespWriter): void {
    const script = this.scripts.get(sha);
    if (script === undefined) {
      out.error(NO_SCRIPT);
      return;
    }
    const L = this.lua;
    L.settop(0);
    this.pushArgs(opts);
    L.settop(0);
    L.rawgeti(L.registryIndex, this.errhRef);
    L.rawgeti(L.registryIndex, script.ref);
    this.run(host, opts, out, 0, sha);
  }

  /** Fills the reused KEYS and ARGV tables (extra old entries cleared) and leaves them on the
   * stack, KEYS below ARGV. */
  private pushArgs(opts: RunOptions): void {
    const L = this.lua;
    const a = opts.args;
    L.rawgeti(L.registryIndex, this.keysRef);
    const keysOld = Math.max(this.keysLen, L.rawlen(-1));
    if (a === undefined) this.keysLen = fillTable(L, opts.keys, keysOld);
    else {
      const from = opts.keysFrom ?? 0;
      this.keysLen = fillTableFrom(L, a, from, from + (opts.numKeys ?? 0), keysOld);
    }
    L.rawgeti(L.registryIndex, this.argvRef);
    const argvOld = Math.max(this.argvLen, L.rawlen(-1));
    if (a === undefined) this.argvLen = fillTable(L, opts.argv, argvOld);
    else this.argvLen = fillTableFrom(L, a, (opts.keysFrom ?? 0) + (opts.numKeys ?? 0), a.argc, argvOld);
  }

  /** Stack: errh, fn, nargs args. Runs it and writes the result or the error to out. */
  run(host: ScriptCallHost, opts: RunOptions, out: RespWriter, nargs: number, name: string): void {
    const L = this.lua;
    this.host = host;
    this.interrupted = opts.interrupted;
    this.killed = false;
    this.resp = 2;
    this.hostFailure = null;
    let status: number;
    try {
      status = L.pcall(nargs, 1, 1);
    } finally {
      this.host = null;
      this.interrupted = NEVER;
      if (this.killed) L.sethook(this.hook, HOOK_INSTRUCTIONS);
    }
    const failure = this.hostFailure;
    if (failure !== null) {
      this.hostFailure = null;
      L.settop(0);
      throw failure;
    }
    if (status === LUA_OK) writeResult(L, out, this.resp);
    else writeRunError(L, out, name);
    L.settop(0);
  }

  // ---- functions ---------------------------------------------------------------------------

  loadLibrary(code: Uint8Array, replace: boolean): LibraryInfo {
    return this.functions.load(code, replace);
  }

  deleteLibrary(name: string): boolean {
    return this.functions.delete(name);
  }

  flushLibraries(): void {
    this.functions.flush();
  }

  libraries(): LibraryInfo[] {
    return this.functions.list();
  }

  functionInfo(name: string): FunctionInfo | undefined {
    return this.functions.info(name);
  }

  callFunction(name: string, host: ScriptCallHost, opts: RunOptions, out: RespWriter): void {
    const ref = this.functions.ref(name);
    if (ref === undefined) {
      out.error('ERR Function not found');
      return;
    }
    const L = this.lua;
    L.settop(0);
    L.rawgeti(L.registryIndex, this.errhRef);
    L.rawgeti(L.registryIndex, ref);
    this.pushArgs(opts);
    this.run(host, opts, out, 2, name);
  }
}

const REDIS_VERSION = '7.0.15';
const REDIS_VERSION_NUM = 0x07000f;

const typeNames: Record<number, string> = {
  0: 'nil',
  1: 'boolean',
  2: 'userdata',
  3: 'number',
  4: 'string',
  5: 'table',
  6: 'function',
  7: 'userdata',
  8: 'thread',
};

/** Sets t[1..values.length] (t at the top) and clears up to oldLen; returns values.length. */
function fillTable(L: LuaVm, values: Uint8Array[], oldLen: number): number {
  const n = values.length;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    L.pushbytes(v, 0, v.length);
    L.rawseti(-2, i + 1);
  }
  for (let i = n + 1; i <= oldLen; i++) {
    L.pushnil();
    L.rawseti(-2, i);
  }
  return n;
}

/** As fillTable, with the values a's arguments [from, to). */
function fillTableFrom(L: LuaVm, a: ArgList, from: number, to: number, oldLen: number): number {
  for (let i = from; i < to; i++) {
    L.pushbytes(a.buf, a.off[i]!, a.len[i]!);
    L.rawseti(-2, i - from + 1);
  }
  const n = to - from;
  for (let i = n + 1; i <= oldLen; i++) {
    L.pushnil();
    L.rawseti(-2, i);
  }
  return n;
}

/** Lua 5.3/5.4 say `near <eof>`; Lua 5.1 (Redis) quotes it. */
export function lua51Message(msg: string): string {
  return msg.replace(/near <eof>/g, "near '<eof>'");
}

/** The error a failed run left at the top, written as Redis 7.0's luaCallFunction does. */
function writeRunError(L: LuaVm, out: RespWriter, name: string): void {
  if (L.type(-1) !== T_TABLE) {
    const msg = L.type(-1) === T_STRING ? L.tostring(-1) : 'execution failure';
    out.error(`ERR Error running script ${name}, ${msg.slice(0, 100)}`);
    return;
  }
  L.getfield(-1, 'err');
  let msg = L.type(-1) === T_STRING ? Buffer.from(L.tobytes(-1)).toString('latin1') : '';
  L.settop(-2);
  L.getfield(-1, 'source');
  const source = L.type(-1) === T_STRING ? L.tostring(-1) : '';
  L.settop(-2);
  L.getfield(-1, 'line');
  const hasLine = L.type(-1) === T_NUMBER || L.type(-1) === T_STRING;
  const line = hasLine ? Buffer.from(L.tobytes(-1)).toString('latin1') : '';
  L.settop(-2);
  msg = lua51Message(msg);
  if (hasLine && source !== '') msg += ` script: ${name}, on ${source}:${line}.`;
  out.error(msg.replace(/[\r\n]/g, ' '));
}

/** The flags of a `#!lua flags=a,b` first line; null without a shebang. Throws ReplyError for a
 * shebang Redis 7.0 refuses. */
function scriptShebang(body: Uint8Array): string[] | null {
  if (body[0] !== 35 || body[1] !== 33) return null; // "#!"
  let nl = body.indexOf(10);
  if (nl < 0) nl = body.length;
  const line = Buffer.from(body.subarray(0, nl)).toString('latin1');
  const parts = line.split(' ').filter((p) => p !== '');
  const engine = parts[0]!.slice(2);
  if (engine !== 'lua') throw new ReplyError(`ERR Unexpected engine in script shebang: ${parts[0]!}`);
  const flags: string[] = [];
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i]!;
    if (!p.startsWith('flags=')) throw new ReplyError(`ERR Unknown lua shebang option: ${p}`);
    for (const f of p.slice(6).split(',')) {
      if (f === '') continue;
      if (!SCRIPT_FLAGS.includes(f)) throw new ReplyError(`ERR Unexpected flag in script shebang: ${f}`);
      flags.push(f);
    }
  }
  return flags;
}

export type { Engine };

/** Creates an engine (wasmoon needs an await: a shard worker awaits this at start). `vm` picks
 * the VM (tests, the VM benchmark); the default is the one docs/lua.md's measurements chose. */
export async function createLuaEngine(vm: VmName = DEFAULT_VM): Promise<LuaEngine> {
  const L = vm === 'wasmoon' ? await createWasmoonVm() : createFengariVm();
  return new Engine(L);
}

export const DEFAULT_VM: VmName = 'wasmoon';
