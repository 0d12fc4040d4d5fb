// What a command's shard handler gets (its context) and what the shard executor needs of the
// command table: the runtime defines the contract, the command layer above it fills the table.

import type { Keyspace } from '../keyspace/keyspace.js';
import type { RespWriter } from '../protocol/resp-writer.js';
import type { ShardPersistence } from '../persistence/shard-persistence.js';
import type { ArgList, ShardSettings } from '../core/types.js';
import type { ShardWaiters, Waiter } from './shard-waiters.js';

export interface ShardContext {
  readonly shardId: number;
  /** The keyspace of the client's database (the executor switches it per command). */
  ks: Keyspace;
  /** The client's database (SELECT). */
  readonly db: number;
  /** The requesting client's ACL user slot (frames.ts REQ_USER): 0 = nothing to check. */
  readonly userSlot: number;
  /** Database db's keyspace on this shard, created empty on first use (MOVE, COPY ... DB). */
  keyspaceOf(db: number): Keyspace;
  /** SWAPDB on this shard: the two databases trade contents. */
  swapDbs(a: number, b: number): void;
  /** FLUSHALL on this shard: every database is emptied. */
  flushAllDbs(): void;
  /** Makes db the database of what runs next (a script's SELECT). */
  selectDb(db: number): void;
  readonly settings: ShardSettings;
  /** Where the reply goes; its `proto` is the requesting connection's protocol. */
  out: RespWriter;
  args: ArgList;
  /** Stops the shard abruptly, as a crash would (DEBUG SHARD-CRASH). */
  crash(): never;
  /** The table entry of a command by name, case-insensitive (a command that runs another). */
  commandNamed(name: string): ShardCommand | undefined;
  /** The shard's log, feed and snapshot job (persistence commands). */
  readonly persist: ShardPersistence;
  /** Clients blocked on this shard's keys (blocking commands). */
  readonly waiters: ShardWaiters;
  /** Where a blocked client's reply is encoded before wake() sends it (its proto set by wake's
   * caller); replies to blocked clients never go through `out`. */
  readonly wakeOut: RespWriter;
  /** Sends the reply in wakeOut to the blocked client w (after the current command's reply). */
  wake(w: Waiter): void;
  /** The table index of a command by name, case-insensitive; -1 when there is none. */
  commandIndex(name: string): number;
  /** Runs command `cmd`'s shard handler now, on `args`, with its reply (or its error: out of
   * memory, MISCONF, a handler's failure) in `out`; what it changed is logged as one command.
   * For commands run by another command (EXEC, a script's redis.call). `ctx.args` and `ctx.out`
   * are restored afterwards. A command without a shard handler gets an error reply. */
  execute(cmd: number, args: ArgList, out: RespWriter): void;
  /** Brackets commands that must look atomic (a transaction, a script): blocked clients made
   * ready by them are served only at the matching endAtomic, as Redis serves them after EXEC. */
  beginAtomic(): void;
  endAtomic(): void;
  /** Publishes after the current command's reply: mode 0 = local delivery (keyspace
   * notifications), 1 = PUBLISH (propagates in a cluster), 2 = SPUBLISH. Whether anyone could
   * receive it is not decidable in the shard, so every call reaches the main thread. The bytes are
   * copied at once. */
  publish(channel: Uint8Array, message: Uint8Array, mode: 0 | 1 | 2 | 3): void;
  /** A keyspace notification (notify-keyspace-events) for key[off, off+len): `type` is one of
   * Redis's class letters ('g' generic, '$' string, 'l' list, 's' set, 'h' hash, 'z' zset,
   * 'x' expired, 'e' evicted, 'n' new key, 'm' key miss, 't' stream, 'd' module). Emits
   * `__keyspace@0__:<key>` (message: event) and/or `__keyevent@0__:<event>` (message: key), as
   * enabled, through publish mode 0; nothing (one integer test) when the class is not enabled. */
  notify(type: string, event: string, key: Uint8Array, off: number, len: number, db?: number): void;
  /** notify-keyspace-events flags (core/keyspace-events.ts); 0 when no events are emitted, for a
   * handler whose fast path cannot see what its events need (plain ZADD: updates). */
  readonly keyspaceEvents: number;
}

export type ShardHandler = (c: ShardContext) => void;

/** What the shard executor reads of a command-table entry (a CommandSpec is one). */
export interface ShardCommand {
  readonly name: string;
  readonly flags: readonly string[];
  /** Subcommands (counted apart, as `config|get`) and internal commands: for the statistics. */
  readonly subcommands?: readonly { readonly name: string }[];
  readonly hidden?: boolean;
  readonly shard?: ShardHandler;
  /** Keyspace event [class letter, event name] for argument 1, emitted after every reply that is
   * not an error (commands whose event always follows success: APPEND, INCR, HSET...). Handlers
   * emit the conditional ones themselves (ShardContext.notify). */
  readonly event?: readonly [string, string];
}
