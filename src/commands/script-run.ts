// A script or function running inside its shard: the ScriptCallHost behind redis.call, which
// checks what Redis checks from a script (unknown command, arity, noscript, the caller's ACL
// permissions, writes from a read-only script, keys of another shard or slot) and runs the
// command through ctx.execute;
// and the shared words that show the run to the main thread (-BUSY, SCRIPT KILL).
// Invariant: a run holds ctx.beginAtomic() for its whole length, and its RUNNING word is cleared
// however it ends.

import type { LuaEngine, RunOptions, ScriptCallHost } from '../scripting/lua-engine.js';
import { BUSY, BUSY_COUNT, FLAGS, FLAG_FUNCTION, FLAG_WROTE, KILL, READONLY_REPLICA, RUNNING, createScriptWords, shardBase, wordsShards } from '../scripting/shard-scripts.js';
import type { RespWriter } from '../protocol/resp-writer.js';
import type { ArgList, CommandSpec, ShardContext } from './types.js';
import { arityOk } from './arity.js';
import { keyRange, keyStep, keysFirst, keysLast, keysSkip } from './key-range.js';
import { keySlot, shardOfSlot } from '../keyspace/slot.js';
import { ERR, SCRIPT_ERR } from '../core/errors.js';
import { argInt, argListOf } from './args.js';
import type { AclDenial } from '../core/acl.js';
import { bindAclCommands, permissionsOfSlot, reportDenial, scriptDenialError, type UserPermissions } from './script-acl.js';

type Lookup = (buf: Uint8Array, off: number, len: number) => number;

// The command table, bound by the registry (which imports this family: a direct import back
// would be a circle).
let table: readonly CommandSpec[] = [];
let lookup: Lookup = () => -1;
let idxPing = -1;
let idxEcho = -1;
let idxTime = -1;
let idxPublish = -1;
let idxSpublish = -1;
let idxSelect = -1;
/** By table index, read per redis.call instead of the spec's flag list: CALL_* bits. */
let callBits = new Uint8Array(0);
const CALL_HIDDEN = 1;
/** Not runnable from a script: no shard handler, or flagged noscript. */
const CALL_DENIED = 2;
const CALL_WRITE = 4;
/** Answered or run specially by the hosts (PING, ECHO, TIME, PUBLISH, SPUBLISH, SELECT). */
const CALL_SPECIAL = 8;

/** The ACL check of a script's calls, for the script's caller (absent: the caller's user may run
 * everything, and nothing is checked). */
export interface ScriptAcl {
  check(idx: number, a: ArgList): AclDenial | null;
  /** Records a denial (ACL LOG, context lua). */
  denied(d: AclDenial): void;
}

export function bindScriptCommands(commands: readonly CommandSpec[], find: Lookup): void {
  table = commands;
  lookup = find;
  bindAclCommands(commands);
  const at = (n: string): number => commands.findIndex((c) => c.name === n);
  idxPing = at('ping');
  idxEcho = at('echo');
  idxTime = at('time');
  idxPublish = at('publish');
  idxSpublish = at('spublish');
  idxSelect = at('select');
  callBits = Uint8Array.from(commands, (c) => (c.hidden === true ? CALL_HIDDEN : 0)
    | (c.shard === undefined || c.flags.includes('noscript') ? CALL_DENIED : 0)
    | (c.flags.includes('write') ? CALL_WRITE : 0));
  for (const i of [idxPing, idxEcho, idxTime, idxPublish, idxSpublish, idxSelect]) if (i >= 0) callBits[i]! |= CALL_SPECIAL;
}

/** resolveCall(): the call was answered (an error, or PING / ECHO / TIME answered in place). */
export const HANDLED = -1;

/** What redis.call checks before running a command, for both hosts (in a shard, and on the main
 * thread for a script spanning shards): the command's table index, or HANDLED when the reply
 * (its error, or PING / ECHO / TIME's answer) is already in `out`. PUBLISH / SPUBLISH come back
 * as their index for the host to deliver. */
export function resolveCall(args: Uint8Array[], readOnly: boolean, out: RespWriter, acl: ScriptAcl | null = null): number {
  return resolveCallList(argListOf(args), readOnly, out, acl);
}

/** resolveCall over an ArgList (the engine's own, on the shard's path). */
export function resolveCallList(a: ArgList, readOnly: boolean, out: RespWriter, acl: ScriptAcl | null = null): number {
  const idx = a.argc === 0 ? -1 : lookup(a.buf, a.off[0]!, a.len[0]!);
  const spec = idx >= 0 ? table[idx] : undefined;
  const bits = callBits[idx] ?? 0;
  if (spec === undefined || (bits & CALL_HIDDEN) !== 0) return err(out, SCRIPT_ERR.unknownCommand);
  if (!arityOk(spec.arity, a.argc)) return err(out, SCRIPT_ERR.wrongArgs);
  // Redis 7.0's order: a command refused to scripts is refused as such, before the ACL check.
  if (acl !== null && (bits & (CALL_DENIED | CALL_SPECIAL)) !== CALL_DENIED) {
    const d = acl.check(idx, a);
    if (d !== null) {
      acl.denied(d);
      return err(out, scriptDenialError(d.reason));
    }
  }
  if (idx === idxPing) {
    if (a.argc > 2) return err(out, SCRIPT_ERR.wrongArgs);
    if (a.argc === 2) out.bulk(a.buf, a.off[1]!, a.len[1]!);
    else out.simple('PONG');
    return HANDLED;
  }
  if (idx === idxEcho) {
    out.bulk(a.buf, a.off[1]!, a.len[1]!);
    return HANDLED;
  }
  if (idx === idxTime) {
    const us = BigInt(Date.now()) * 1000n + BigInt(Math.floor((performance.now() % 1) * 1000));
    out.array(2);
    out.bulkString(String(us / 1_000_000n));
    out.bulkString(String(us % 1_000_000n));
    return HANDLED;
  }
  if (idx === idxPublish || idx === idxSpublish) return a.argc === 3 ? idx : err(out, SCRIPT_ERR.wrongArgs);
  // SELECT runs in the script's shard (its database lasts until the script ends, as in 7.0).
  if (idx === idxSelect) return idx;
  if ((bits & CALL_DENIED) !== 0) return err(out, SCRIPT_ERR.notAllowed);
  if (readOnly && (bits & CALL_WRITE) !== 0) return err(out, SCRIPT_ERR.writeFromReadOnly);
  return idx;
}

function err(out: RespWriter, text: string): number {
  out.error(text);
  return HANDLED;
}

/** The table entry of index idx (after resolveCall). */
export function scriptCommandSpec(idx: number): CommandSpec {
  return table[idx]!;
}

/** Words of a shard started without the node's (unit tests, tools). */
const LOCAL_WORDS = createScriptWords(1);
const MAX_SCRATCH_ARGS = 1 << 20;

class ShardScriptHost implements ScriptCallHost {
  ctx: ShardContext | null = null;
  readOnly = false;
  words: Int32Array = LOCAL_WORDS;
  base = shardBase(0);
  startMs = 0;
  busy = false;
  /** FLAG_WROTE is set in the shared words (this run wrote). */
  wrote = false;
  thresholdMs = 5000;
  shardCount = 1;
  cluster = false;
  private readonly a: ArgList = { buf: new Uint8Array(256), off: new Int32Array(16), len: new Int32Array(16), argc: 0 };
  /** The caller's permissions for this run (null: nothing to check, the common case). */
  perms: UserPermissions | null = null;
  private readonly aclCheck: ScriptAcl = {
    check: (idx, a) => this.perms!.check(idx, a),
    denied: (d) => reportDenial(this.ctx!, d),
  };

  call(args: Uint8Array[], out: RespWriter): void {
    this.callList(this.fill(args), out);
  }

  callList(a: ArgList, out: RespWriter): void {
    const c = this.ctx!;
    const idx = resolveCallList(a, this.readOnly, out, this.perms === null ? null : this.aclCheck);
    if (idx === HANDLED) return;
    if (idx === idxPublish || idx === idxSpublish) return this.publish(c, a, out, idx === idxSpublish);
    if (idx === idxSelect) return this.select(c, a, out);
    const keyErr = this.checkKeys(c, table[idx]!, a);
    if (keyErr !== null) return out.error(keyErr);
    if ((callBits[idx]! & CALL_WRITE) !== 0) {
      if (Atomics.load(this.words, READONLY_REPLICA) === 1) return out.error(SCRIPT_ERR.readOnlyReplica);
      // Once per run: the main thread reads it only to refuse SCRIPT KILL.
      if (!this.wrote) {
        this.wrote = true;
        Atomics.or(this.words, this.base + FLAGS, FLAG_WROTE);
      }
    }
    c.execute(idx, a, out);
  }

  /** SELECT from a script: the rest of the script runs in that database (runInShard restores
   * the caller's at the end). */
  private select(c: ShardContext, a: ArgList, out: RespWriter): void {
    const db = argInt(a, 1);
    if (Number.isNaN(db)) return out.error(ERR.notInteger);
    if (this.cluster && db !== 0) return out.error(ERR.selectNotAllowed);
    if (db < 0 || db >= (c.settings.databases ?? 16)) return out.error(ERR.dbIndexOutOfRange);
    c.selectDb(db);
    out.ok();
  }

  log(level: number, message: string): void {
    // Redis writes these to its log at the script's level; warnings reach stderr here.
    if (level >= 3) process.stderr.write(`script: ${message}\n`);
  }

  /** PUBLISH / SPUBLISH from a script in a shard: delivered by the main thread after the script's
   * reply (ShardContext.publish). The shard cannot count the receivers: the reply is 0. */
  private publish(c: ShardContext, a: ArgList, out: RespWriter, sharded: boolean): void {
    c.publish(a.buf.subarray(a.off[1]!, a.off[1]! + a.len[1]!), a.buf.subarray(a.off[2]!, a.off[2]! + a.len[2]!), sharded ? 2 : 1);
    out.integer(0);
  }

  private checkKeys(c: ShardContext, spec: CommandSpec, a: ArgList): string | null {
    if (spec.keys === null || (this.shardCount === 1 && !this.cluster) || !keyRange(spec.keys, a)) return null;
    const step = keyStep(spec.keys);
    for (let i = keysFirst; i <= keysLast; i += step) {
      if (i === keysSkip) continue;
      // Redis 7.0 lets a script reach any key of its node (cluster: of a slot the node serves);
      // a shard reaches only its own slots, whichever node owns the others.
      if (shardOfSlot(keySlot(a.buf, a.off[i]!, a.len[i]!), this.shardCount) !== c.shardId) return SCRIPT_ERR.otherShard;
    }
    return null;
  }

  /** The call's arguments as an ArgList over one scratch buffer (reused: no allocation per call). */
  private fill(args: Uint8Array[]): ArgList {
    const a = this.a;
    let total = 0;
    for (const x of args) total += x.length;
    if (a.buf.length < total) a.buf = new Uint8Array(Math.max(total, a.buf.length * 2));
    if (a.off.length < args.length) {
      if (args.length > MAX_SCRATCH_ARGS) throw new RangeError('too many arguments');
      a.off = new Int32Array(args.length * 2);
      a.len = new Int32Array(args.length * 2);
    }
    let p = 0;
    for (let i = 0; i < args.length; i++) {
      const x = args[i]!;
      a.buf.set(x, p);
      a.off[i] = p;
      a.len[i] = x.length;
      p += x.length;
    }
    a.argc = args.length;
    return a;
  }

  /** The engine's instruction hook: marks the shard busy past the threshold, reads KILL. */
  readonly interrupted = (): boolean => {
    const w = this.words;
    if (!this.busy && performance.now() - this.startMs > this.thresholdMs) {
      this.busy = true;
      Atomics.store(w, this.base + BUSY, 1);
      Atomics.add(w, BUSY_COUNT, 1);
    }
    return Atomics.load(w, this.base + KILL) === 1;
  };
}

// One per thread: runs never overlap in a thread (redis.call cannot start a script).
const host = new ShardScriptHost();

const NO_ARGS: Uint8Array[] = [];
/** The run's options, reused: KEYS and ARGV are read from c.args when the run starts. */
const runOpts: RunOptions = { keys: NO_ARGS, argv: NO_ARGS, interrupted: host.interrupted, args: undefined, keysFrom: 3, numKeys: 0 };

/** Runs a loaded script (sha) or a registered function (name) in shard c, its reply in c.out;
 * c.args is the EVAL-like command: its numKeys keys from argument 3, then its ARGV. */
export function runInShard(c: ShardContext, engine: LuaEngine, fn: boolean, name: string, readOnly: boolean, numKeys: number): void {
  const s = c.settings.scripts;
  const words = s !== undefined && wordsShards(s.words) > c.shardId ? s.words : LOCAL_WORDS;
  const base = words === LOCAL_WORDS ? shardBase(0) : shardBase(c.shardId);
  host.ctx = c;
  const callerDb = c.db;
  host.readOnly = readOnly;
  host.perms = permissionsOfSlot(c.userSlot);
  host.words = words;
  host.base = base;
  host.thresholdMs = s?.busyReplyThresholdMs ?? 5000;
  host.shardCount = s?.shardCount ?? 1;
  host.cluster = s?.cluster ?? false;
  host.busy = false;
  host.wrote = false;
  host.startMs = performance.now();
  Atomics.store(words, base + KILL, 0);
  Atomics.store(words, base + FLAGS, fn ? FLAG_FUNCTION : 0);
  Atomics.store(words, base + RUNNING, 1);
  c.beginAtomic();
  try {
    runOpts.args = c.args;
    runOpts.numKeys = numKeys;
    if (fn) engine.callFunction(name, host, runOpts, c.out);
    else engine.runScript(name, host, runOpts, c.out);
  } finally {
    runOpts.args = undefined;
    Atomics.store(words, base + RUNNING, 0);
    if (host.busy) {
      Atomics.store(words, base + BUSY, 0);
      Atomics.sub(words, BUSY_COUNT, 1);
    }
    // KILL and FLAGS are left as they are: the main thread reads them only while RUNNING or BUSY
    // is 1, and the next run stores both before it sets RUNNING.
    host.ctx = null;
    if (c.db !== callerDb) c.selectDb(callerDb);
    c.endAtomic();
  }
}
