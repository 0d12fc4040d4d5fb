// The RESP dispatcher: looks each parsed command up in the one table, checks its arity, then
// admits it (src/server/admission.ts), routes it by cluster ownership (cluster-router.ts), and
// sends it to its shard, fans it out over several, or runs it on the main thread; it counts
// every call and rejection (INFO commandstats; shards count the rest) and feeds each command to
// MONITOR (monitor.ts). Depends downward only: admission, the cluster router, the shard router and
// the command table; the server object is reached through ServerApi.

import { COMMANDS, arityOk, lookupCommand } from '../commands/registry.js';
import { ERR, ReplyError } from '../core/errors.js';
import { argIs, argString, argsPreview, copyArgList } from '../commands/args.js';
import { keyRange, keyStep, keysFirst, keysLast } from '../commands/key-range.js';
import type { ArgList, ClientInfo, MainHandler, ServerApi, ServerStats } from '../commands/types.js';
import { RespWriter } from '../protocol/resp-writer.js';
import type { Logger } from 'pino';
import { HOLD, admissionTraits, admit, type AdmissionCommand, type AdmissionState } from './admission.js';
import type { ClientPause } from './client-pause.js';
import type { Monitors } from './monitor.js';
import { ANY_SLOTS, REJECTED, type ClusterRouter, type RoutedClient } from './cluster-router.js';
import type { ShardRouter } from './shard-router.js';
import { keySlot } from '../keyspace/slot.js';
import type { Transactions } from './transactions.js';
import { subscribeModeRefusal } from '../commands/pubsub-family.js';
import { clientLine } from '../commands/connection-family.js';
import { STREAM_BLOCKING_FORMS, blocksWith } from '../commands/stream-blocking.js';
import type { Guard, GuardClient } from './guard.js';
import { CommandStats, StatTable } from '../observability/command-stats.js';
import type { SlowFeed } from './slow-feed.js';

const SPARE_OUT_MAX_BYTES = 16 * 1024;

/** By command index: sent in MULTI, fed to MONITOR when EXEC runs it (all but the commands MULTI
 * runs at once: DISCARD, MULTI, WATCH, QUIT, RESET). */
const FED_AT_EXEC = Uint8Array.from(COMMANDS, (c) => (['discard', 'multi', 'watch', 'quit', 'reset'].includes(c.name) ? 0 : 1));

/** The database SELECT's arguments name (its current one when they name none). */
function selectedDb(a: ArgList, current: number): number {
  const s = argString(a, 1);
  return /^\d{1,5}$/.test(s) ? Number(s) : current;
}

/** A RESP client as the dispatcher sees it. */
export interface DispatchClient extends ClientInfo, RoutedClient, GuardClient {
  /** Holds further input until release() (a main-thread command awaiting something). */
  hold(): void;
  release(): void;
}

/** Stat ids of the command table (subcommands apart), the same in every thread. */
export const STAT_TABLE = new StatTable(COMMANDS);

export class Dispatcher {
  /** The main thread's share of the per-command statistics: every call and rejection (counted
   * here, where commands are dispatched), time and failures of main-thread commands, and the
   * errors replied from this thread. Shards count their own (merged on read). */
  readonly cmdStats = new CommandStats(STAT_TABLE);
  /** By command index: what admission needs of each command. */
  private readonly admission: readonly AdmissionCommand[] = COMMANDS.map((c) => admissionTraits(c.flags, c.group, c.name));
  /** XREAD / XREADGROUP with BLOCK: their specs with the blocking form (by command index). */
  private readonly blockingForms = COMMANDS.map((c) => (STREAM_BLOCKING_FORMS[c.name] !== undefined ? { ...c, blocking: STREAM_BLOCKING_FORMS[c.name] } : null));
  /** Takes the commands of a client in MULTI (set by the server). */
  transactions: Transactions | null = null;
  /** SLOWLOG / LATENCY of main-thread commands (set by the server). */
  slow: SlowFeed | null = null;

  constructor(
    private readonly server: ServerApi,
    private readonly shards: ShardRouter,
    private readonly clusterRouter: ClusterRouter,
    private readonly admissionState: AdmissionState,
    private readonly writePause: ClientPause,
    private readonly stats: ServerStats,
    private readonly log: Logger,
    private readonly guard: Guard,
  ) {}

  dispatch(conn: DispatchClient, a: ArgList): void {
    this.stats.totalCommandsProcessed++;
    const idx = lookupCommand(a.buf, a.off[0]!, a.len[0]!);
    let spec = idx >= 0 ? COMMANDS[idx]! : null;
    if (!spec || spec.hidden) {
      conn.replyError(ERR.unknownCommand(argString(a, 0).slice(0, 128), argsPreview(a, 1)));
      return;
    }
    // XREAD / XREADGROUP block only with BLOCK; in MULTI they are queued by index, non-blocking.
    if (idx >= 0 && this.blockingForms[idx] !== null && blocksWith(a)) spec = this.blockingForms[idx]!;
    const cs = this.cmdStats;
    let sid = STAT_TABLE.base[idx]!;
    if (!arityOk(spec.arity, a.argc)) {
      cs.rejected[sid]!++;
      conn.replyError(ERR.wrongArity(spec.name));
      return;
    }
    if (spec.subcommands && a.argc >= 2) {
      const sub = spec.subcommands.find((c) => argIs(a, 1, c.name.toUpperCase()));
      if (!sub) {
        // No command to count it against (Redis counts an unknown subcommand in errorstats only).
        conn.replyError(ERR.unknownSubcommand(argString(a, 1), spec.name.toUpperCase()));
        return;
      }
      sid = STAT_TABLE.statOf(idx, a);
      if (!arityOk(sub.arity, a.argc)) {
        cs.rejected[sid]!++;
        conn.replyError(ERR.wrongArity(`${spec.name}|${sub.name}`));
        return;
      }
    }
    const invalid = spec.validate ? spec.validate(a.argc) : null;
    if (invalid !== null) {
      cs.rejected[sid]!++;
      conn.replyError(invalid);
      return;
    }
    const verdict = admit(conn, this.admission[idx]!, this.admissionState);
    // CLIENT PAUSE WRITE: an EXEC whose queue writes waits too (one test while nothing is paused).
    if (verdict === null && this.writePause.mode !== 0 && conn.multi >= 0 && this.execWrites(conn, idx)) {
      this.holdUntilWritesResume(conn, a);
      return;
    }
    if (verdict !== null) {
      if (verdict === HOLD) {
        this.holdUntilWritesResume(conn, a);
        return;
      }
      cs.rejected[sid]!++;
      conn.replyError(verdict);
      return;
    }
    if (!conn.user.unrestricted && this.aclRefused(conn, idx, a)) {
      cs.rejected[sid]!++;
      return;
    }
    // Tessera's request-rate limits (guard.ts): one test when none is set.
    if (this.guard.limiting) {
      const limited = this.guard.request(conn, conn.user);
      if (limited !== null) {
        cs.rejected[sid]!++;
        conn.replyError(limited);
        return;
      }
    }
    const notInSubscribeMode = subscribeModeRefusal(conn, spec, a);
    if (notInSubscribeMode !== null) {
      cs.rejected[sid]!++;
      conn.replyError(notInSubscribeMode);
      return;
    }
    const scriptVerdict = this.server.scripting.admit(idx, a);
    if (scriptVerdict !== null) {
      cs.rejected[sid]!++;
      conn.replyError(scriptVerdict);
      return;
    }
    // MONITOR (server/monitor.ts): one test while no monitor is attached. In cluster mode a keyed
    // command is fed once routing keeps it here: one answered -MOVED/-ASK/-CLUSTERDOWN never ran,
    // and Redis does not show it.
    const feedAfterRouting = this.monitors.active && this.server.cluster !== null && spec.keys !== undefined && spec.main === undefined && !spec.allShards && conn.multi < 0;
    if (this.monitors.active && this.toMonitors(conn, idx, a, !feedAfterRouting)) {
      cs.rejected[sid]!++;
      return;
    }
    cs.calls[sid]!++;
    conn.lastCommand = spec.subcommands && a.argc >= 2 ? `${spec.name}|${argString(a, 1).toLowerCase()}` : spec.name;
    // ASKING holds for the next command only.
    const asking = conn.asking;
    if (asking) conn.asking = false;
    // In MULTI: queued, or EXEC / DISCARD (server/transactions.ts).
    if (conn.multi >= 0 && this.transactions !== null && this.transactions.inMulti(conn, idx, a, asking)) return;
    if (spec.main) {
      this.runMain(conn, a, spec.main, sid);
      return;
    }
    if (spec.allShards) {
      this.shards.fanAll(conn, idx, a);
      return;
    }
    const keys = spec.keys!;
    if (!keyRange(keys, a)) {
      if (feedAfterRouting) this.feedMonitors(conn, idx, a);
      if (spec.blocking) {
        // The blocking command's own argument errors (numkeys), on the main thread.
        this.runMain(conn, a, spec.blocking, sid);
        return;
      }
      // A keyless script that may reach any key (script-undeclared-keys allow): every shard locked.
      if (spec.crossShard && spec.reachesOtherKeys !== undefined && this.server.cluster === null && this.server.shardCount > 1 && spec.reachesOtherKeys(a, false, this.server)) {
        this.runMain(conn, a, spec.crossShard, sid);
        return;
      }
      // A key count that names no keys: any shard replies the command's own error (Redis runs it
      // locally too, with no slot to check).
      this.shards.send(0, conn, conn.takeSeq(), idx, conn.proto, a);
      return;
    }
    const first = keysFirst;
    const last = keysLast;
    const step = keyStep(keys);
    // Keys named inside other arguments (SORT's patterns) may lie anywhere: the coordinator.
    const other = spec.reachesOtherKeys !== undefined && (this.server.cluster !== null || this.server.shardCount > 1) && spec.reachesOtherKeys(a, this.server.cluster !== null, this.server);
    if (this.server.cluster !== null) {
      const routed = this.clusterRouter.route(conn, idx, spec, a, first, last, step, asking);
      if (typeof routed === 'function') {
        if (feedAfterRouting) this.feedMonitors(conn, idx, a);
        // A blocking command in a slot that is migrating away blocks here: once the slot is gone
        // the client gets -MOVED (BlockedClients.slotsChanged), as Redis redirects it.
        const here = spec.blocking !== undefined && this.server.cluster.ownsSlot(keySlot(a.buf, a.off[first]!, a.len[first]!));
        this.runMain(conn, a, here ? spec.blocking! : routed, sid);
        return;
      }
      if (routed === REJECTED) cs.rejected[sid]!++;
      if (routed < 0 && routed !== ANY_SLOTS) return;
      if (feedAfterRouting) this.feedMonitors(conn, idx, a);
      if (routed >= 0 && other && spec.crossShard) {
        this.runMain(conn, a, spec.crossShard, sid);
        return;
      }
      if (spec.blocking) {
        this.runMain(conn, a, spec.blocking, sid);
        return;
      }
      if (routed >= 0) {
        // One slot, so one shard: no second CRC16 pass over the keys.
        this.shards.send(this.shards.shardOfSlot(routed), conn, conn.takeSeq(), idx, conn.proto, a);
        return;
      }
    }
    if (spec.blocking) {
      this.runMain(conn, a, spec.blocking, sid);
      return;
    }
    const shard = this.shards.singleShard(a, first, last, step);
    if (shard >= 0 && !(other && spec.crossShard)) this.shards.send(shard, conn, conn.takeSeq(), idx, conn.proto, a);
    else if (spec.merge) this.shards.fanKeys(conn, idx, a, first, last, step);
    else if (spec.crossShard) this.runMain(conn, a, spec.crossShard, sid);
    else conn.replyError(`ERR internal: ${spec.name} cannot span shards`);
  }

  /** The ACL check of a restricted user's command: true when it was refused (replied, and
   * recorded in ACL LOG; in MULTI the transaction will abort, as Redis flags it). */
  private aclRefused(conn: DispatchClient, idx: number, a: ArgList): boolean {
    const acl = this.server.acl;
    const denial = acl.check(conn.user, idx, a);
    if (denial === null) return false;
    // ACL LOG's client-info names the refused command, as Redis's does.
    conn.lastCommand = acl.resolve(idx, a)?.fullname ?? conn.lastCommand;
    acl.logDenial({ addr: conn.addr, describe: () => clientLine(conn, Date.now()) }, conn.user, denial, conn.multi >= 0 ? 'multi' : 'toplevel');
    conn.replyError(denial.error);
    return true;
  }

  /** A command held by a pause (CLIENT PAUSE, a manual failover: client-pause.ts): dispatched, as
   * if it had just arrived, once the pause no longer holds it; the connection reads nothing more
   * until then (its order is kept). */
  private holdUntilWritesResume(conn: DispatchClient, a: ArgList): void {
    const copy = copyArgList(a);
    conn.hold();
    this.stats.totalCommandsProcessed--;
    this.writePause.whenResumed(() => {
      this.dispatch(conn, copy);
      conn.release();
    }, conn.id);
  }

  private readonly mayWrite = (i: number): boolean => this.admission[i]!.write || this.admission[i]!.mayReplicate === true;

  private execWrites(conn: DispatchClient, idx: number): boolean {
    return COMMANDS[idx]!.name === 'exec' && this.transactions !== null && this.transactions.queuedMayWrite(conn, this.mayWrite);
  }

  /** The monitors (set by the server). */
  monitors: Monitors | { readonly active: false } = { active: false };

  /** Feeds an admitted command to the monitors (now, or later when `feedNow` is false); true when
   * it was refused instead (a monitor's own keyspace command, as Redis refuses a replica's). */
  private toMonitors(conn: DispatchClient, idx: number, a: ArgList, feedNow: boolean): boolean {
    const spec = COMMANDS[idx]!;
    if (conn.monitoring && (spec.flags.some((f) => f === 'write' || f === 'readonly') || this.admission[idx]!.mayReplicate === true)) {
      conn.replyError(ERR.replicaKeyspace);
      return true;
    }
    if (feedNow) this.feedMonitors(conn, idx, a);
    return false;
  }

  private feedMonitors(conn: DispatchClient, idx: number, a: ArgList): void {
    const monitors = this.monitors as Monitors;
    const spec = COMMANDS[idx]!;
    // In MULTI, queued commands and EXEC are fed when EXEC runs them (Transactions.exec), as Redis.
    if (conn.multi >= 0 && FED_AT_EXEC[idx] === 1) return;
    if (!monitors.shows(idx, a)) return;
    // Fed before it runs: SELECT's line shows the database it selects, as Redis (which feeds
    // after running it) shows it.
    const db = spec.name === 'select' ? selectedDb(a, conn.db) : spec.name === 'reset' ? 0 : conn.db;
    if (!conn.monitoring) {
      monitors.feed(db, conn.addr, a);
      return;
    }
    // A monitor's own command (PING, RESET...): its line follows its reply, as in Redis.
    const copy = copyArgList(a);
    process.nextTick(() => monitors.feed(db, conn.addr, copy));
  }

  /** A writer for the next main-thread command: a synchronous one gives it back (its reply is
   * copied as it is delivered), an asynchronous one keeps it. Null while one is running. */
  private spareOut: RespWriter | null = new RespWriter(256);

  private runMain(conn: DispatchClient, a: ArgList, handler: MainHandler, sid: number): void {
    const seq = conn.takeSeq();
    // Taken, not shared: a handler that dispatches another command gets a writer of its own.
    const out = this.spareOut ?? new RespWriter(256);
    this.spareOut = null;
    out.reset();
    out.proto = conn.proto;
    // A double, not hrtime.bigint(): no BigInt allocated twice per command.
    const t0 = performance.now();
    // Counted at dispatch; a main-thread command counts once it has run, as Redis counts: INFO
    // commandstats does not list its own call, and one that CONFIG RESETSTAT zeroes counts after.
    this.cmdStats.calls[sid]!--;
    const nested = this.nestedErrors;
    let r: void | Promise<void> = undefined;
    try {
      this.shards.handlerDb = conn.db;
      r = handler({ server: this.server, conn, args: a, out });
    } catch (e) {
      this.failMain(out, e);
    }
    if (r instanceof Promise) {
      conn.hold();
      const slowEntry = this.slow?.before(a, handler) ?? null;
      r.then(
        () => undefined,
        (e: unknown) => this.failMain(out, e),
      ).finally(() => {
        this.cmdStats.calls[sid]!++;
        this.cmdStats.time(sid, performance.now() - t0);
        this.countReply(sid, out, nested);
        if (slowEntry !== null) this.slow!.after(conn, slowEntry, t0);
        conn.deliver(seq, out.buf, 0, out.length);
        conn.release();
      });
      return;
    }
    this.cmdStats.calls[sid]!++;
    this.cmdStats.time(sid, performance.now() - t0);
    this.countReply(sid, out, nested);
    if (this.slow !== null && this.slow.captureUs !== Infinity) this.slow.main(conn, a, t0, handler);
    conn.deliver(seq, out.buf, 0, out.length);
    // A writer grown by a large reply (INFO, CLIENT LIST) is not kept.
    if (out.buf.length <= SPARE_OUT_MAX_BYTES) this.spareOut = out;
  }

  /** Replaces a failed main-thread command's reply with its error. */
  private failMain(out: RespWriter, e: unknown): void {
    out.reset();
    if (e instanceof ReplyError) {
      out.error(e.reply);
      return;
    }
    this.log.error({ err: (e as Error).message, stack: (e as Error).stack }, 'command failed');
    out.error(`ERR ${(e as Error).message}`);
  }

  /** Error replies of the shard calls made by main-thread scripts (ServerApi.countCall). */
  nestedErrors = 0;

  /** Counts a main-thread command's reply when it is an error: a failed call and its prefix,
   * except for an error a script passes on from a call that already counted it (as Redis). */
  private countReply(sid: number, out: RespWriter, nestedBefore: number): void {
    if (out.length === 0 || out.buf[0] !== 45) return;
    if (this.nestedErrors !== nestedBefore) this.cmdStats.failed[sid]!++;
    else this.cmdStats.reply(sid, out.buf, 0, out.length, false);
  }

  resetStats(): void {
    this.cmdStats.reset();
  }
}
