// What a command's shard handler gets (its context) and what the shard executor needs of the
// command table: the runtime defines the contract, the command layer above it fills the table.

import type { Keyspace } from '../keyspace/keyspace.js';
import type { RespWriter } from '../protocol/resp-writer.js';
import type { ShardPersistence } from '../persistence/shard-persistence.js';
import type { ArgList, ShardSettings } from '../core/types.js';
import type { ShardWaiters, Waiter } from './shard-waiters.js';

export interface ShardContext {
  readonly shardId: number;
  readonly ks: Keyspace;
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
}

export type ShardHandler = (c: ShardContext) => void;

/** What the shard executor reads of a command-table entry (a CommandSpec is one). */
export interface ShardCommand {
  readonly name: string;
  readonly flags: readonly string[];
  readonly shard?: ShardHandler;
}
