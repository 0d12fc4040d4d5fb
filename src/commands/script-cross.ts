// A script or function whose declared keys span shards, or that may reach undeclared keys
// (script-undeclared-keys allow, several shards): it runs on the main thread with the node's engine
// while every shard is locked for it (withShardsLocked, so no other client sees part of it), each
// redis.call sent to the shard that owns its keys and waited for synchronously; a call whose own
// keys span shards runs the command's multi-shard path under the same locks (spanning()). The main
// thread serves nobody meanwhile: such a script cannot be killed (no -BUSY, no SCRIPT KILL), which
// docs/scripting.md states; scripts bound to one shard, the fast path, run in that shard instead.

import { ERR, SCRIPT_ERR } from '../core/errors.js';
import type { ScriptCallHost } from '../scripting/lua-engine.js';
import type { RespWriter } from '../protocol/resp-writer.js';
import { argInt, argListOf } from './args.js';
import { keyRange, keyStep, keysFirst, keysLast, keysSkip } from './key-range.js';
import { HANDLED, resolveCall, scriptCommandSpec, type ScriptAcl } from './script-run.js';
import { aclClient } from './script-acl.js';
import type { ArgList, ClientInfo, ServerApi, ShardCaller } from './types.js';
import { runStepsSync } from './cross-steps.js';

/** How long one redis.call may wait for its shard (a shard restarting answers nothing). */
const CALL_TIMEOUT_MS = 30_000;

class CrossShardHost implements ScriptCallHost {
  /** Shards where this script wrote, each bracketed by `__atomic 1` before its first write (the
   * clients its pushes wake are served once the script ends, as Redis serves them after a script);
   * runAcrossShards ends the brackets. */
  readonly atomic: number[] = [];

  constructor(
    private readonly server: ServerApi,
    private readonly readOnly: boolean,
    private readonly lockedCall: ShardCaller,
    /** The caller's ACL check, made here with the main thread's Acl (null: unrestricted). */
    private readonly acl: ScriptAcl | null,
  ) {}

  /** Opens shard s's bracket: queued ahead of the write on the same ring, not waited for. */
  private beginAtomic(s: number): void {
    if (this.atomic.includes(s)) return;
    this.atomic.push(s);
    void this.lockedCall(s, ['__atomic', '1'], 2);
  }

  call(args: Uint8Array[], out: RespWriter): void {
    const idx = resolveCall(args, this.readOnly, out, this.acl);
    if (idx === HANDLED) return;
    const spec = scriptCommandSpec(idx);
    // Counted as a call here: the shard that runs it times it and counts its failure.
    this.server.countCall(idx, argListOf(args));
    // SELECT: the rest of the script runs in that database (every shard is locked for it; the
    // next locked operation starts in its own client's database again), as Redis 7.0.
    if (spec.name === 'select') return this.select(args, out);
    if (spec.name === 'publish' || spec.name === 'spublish') {
      // On the main thread: delivered now, with its receivers counted as PUBLISH does.
      const ps = this.server.pubsub;
      out.integer(spec.name === 'publish' ? ps.publish(args[1]!, args[2]!) : ps.spublish(args[1]!, args[2]!));
      return;
    }
    if (spec.flags.includes('write') && this.server.replication.isReplica && this.server.config.values.replicaReadOnly) return out.error(SCRIPT_ERR.readOnlyReplica);
    const a = argListOf(args);
    const proto = out.proto === 3 ? 3 : 2;
    const writes = spec.flags.includes('write');
    let shard = 0;
    if (spec.keys !== null && keyRange(spec.keys, a)) {
      shard = -1;
      const first = keysFirst;
      const last = keysLast;
      const step = keyStep(spec.keys);
      for (let i = first; i <= last; i += step) {
        if (i === keysSkip) continue;
        const s = this.server.shardOfKey(a.buf, a.off[i]!, a.len[i]!);
        if (shard === -1) shard = s;
        else if (s !== shard) {
          if (writes) for (let t = 0; t < this.server.shardCount; t++) this.beginAtomic(t);
          return this.spanning(idx, a, first, last, step, proto, out);
        }
      }
      if (shard === -1) shard = 0;
    }
    if (writes) this.beginAtomic(shard);
    const reply = this.server.callShardSync(shard, a, proto, CALL_TIMEOUT_MS);
    if (reply === null) return out.error(SCRIPT_ERR.shardNoReply);
    if (reply[0] === 45) this.server.countCall(-1, a);
    out.raw(reply, 0, reply.length);
  }

  private select(args: Uint8Array[], out: RespWriter): void {
    const db = args.length === 2 ? argInt(argListOf(args), 1) : NaN;
    if (Number.isNaN(db)) return out.error(ERR.notInteger);
    if (db < 0 || db >= this.server.config.values.databases) return out.error(ERR.dbIndexOutOfRange);
    this.server.setLockedDb(db);
    out.ok();
  }

  /** A call whose own keys span shards, run under the locks this script holds: a merged fan-out
   * (MGET, DEL...) as the dispatcher merges it, or the command's stepped coordinator (RPOPLPUSH,
   * LMOVE), both blocking; any other multi-shard command is refused. */
  private spanning(idx: number, a: ArgList, first: number, last: number, step: number, proto: 2 | 3, out: RespWriter): void {
    const spec = scriptCommandSpec(idx);
    if (spec.merge !== undefined) {
      const reply = this.server.fanKeysSync(idx, a, first, last, step, proto, CALL_TIMEOUT_MS);
      if (reply === null) return out.error(SCRIPT_ERR.shardNoReply);
      return out.raw(reply, 0, reply.length);
    }
    if (spec.crossShardSteps !== undefined) return runStepsSync(spec.crossShardSteps, this.server, a, out, CALL_TIMEOUT_MS);
    out.error(SCRIPT_ERR.callSpansShards);
  }

  log(level: number, message: string): void {
    if (level >= 3) process.stderr.write(`script: ${message}\n`);
  }
}

/** The ACL check of conn's script calls on the main thread, or null when its user may run everything. */
function callerAcl(server: ServerApi, conn: ClientInfo): ScriptAcl | null {
  const user = conn.user;
  if (user.unrestricted) return null;
  return {
    check: (idx, a) => server.acl.check(user, idx, a),
    denied: (d) => server.acl.logDenial(aclClient(conn), user, d, 'lua'),
  };
}

/** Runs a loaded script (fn false: name is its sha) or a function on the main thread, every shard
 * locked, for `conn` (its calls are checked against its user's permissions); its reply lands in
 * `out`. Keys and argv must be copies (the receive buffer moves on). */
export function runAcrossShards(server: ServerApi, conn: ClientInfo, fn: boolean, name: string, readOnly: boolean, keys: Uint8Array[], argv: Uint8Array[], out: RespWriter): Promise<void> {
  const engine = server.scripting.engine;
  if (engine === null) {
    out.error(SCRIPT_ERR.noEngine);
    return Promise.resolve();
  }
  const all = Array.from({ length: server.shardCount }, (_, i) => i);
  return server.withShardsLocked(all, async (call) => {
    const host = new CrossShardHost(server, readOnly, call, callerAcl(server, conn));
    const opts = { keys, argv, interrupted: () => false };
    try {
      if (fn) engine.callFunction(name, host, opts, out);
      else engine.runScript(name, host, opts, out);
    } finally {
      if (host.atomic.length > 0) await Promise.all(host.atomic.map((s) => call(s, ['__atomic', '0'], 2)));
    }
  });
}

/** Copies of arguments [from, to) (they outlive the receive buffer). */
export function copyArgs(a: ArgList, from: number, to: number): Uint8Array[] {
  const r: Uint8Array[] = [];
  for (let i = from; i < to; i++) r.push(a.buf.slice(a.off[i]!, a.off[i]! + a.len[i]!));
  return r;
}
