// The command table: every family's specs in one array (the index is the command id that crosses
// the rings, identical in the main thread and in shards since both build it from the same code),
// and a lookup by name bytes that makes no string.

import type { CommandSpec } from './types.js';
import { STRING_COMMANDS } from './string-family.js';
import { HASH_COMMANDS } from './hash-family.js';
import { KEYSPACE_COMMANDS } from './keyspace-family.js';
import { SET_COMMANDS } from './set-family.js';
import { SORT_COMMANDS } from './sort-family.js';
import { LIST_COMMANDS } from './list-family.js';
import { ZSET_COMMANDS } from './zset-family.js';
import { CONNECTION_COMMANDS } from './connection-family.js';
import { SERVER_COMMANDS } from './server-family.js';
import { OBSERVABILITY_COMMANDS } from './observability-family.js';
import { CLUSTER_COMMANDS } from './cluster-family.js';
import { MEMCACHE_COMMANDS } from './memcache-family.js';
import { PERSISTENCE_COMMANDS } from './persistence-family.js';
import { REPLICATION_COMMANDS } from './replication-family.js';
import { HTTP_COMMANDS } from './http-family.js';
import { BLOCKING_COMMANDS } from './blocking-family.js';
import { SCRIPT_COMMANDS } from './script-family.js';
import { FUNCTION_COMMANDS } from './function-family.js';
import { SCRIPT_ACL_COMMANDS } from './script-acl.js';
import { bindScriptCommands } from './script-run.js';
import { TRANSACTION_COMMANDS } from './transaction-family.js';
import { PUBSUB_COMMANDS } from './pubsub-family.js';
import { GEO_COMMANDS } from './geo-family.js';
import { BITMAP_COMMANDS } from './bitmap-family.js';
import { HLL_COMMANDS } from './hll-family.js';
import { STREAM_COMMANDS } from './stream-family.js';
import { DATABASE_COMMANDS } from './database-family.js';
import { STREAM_GROUP_COMMANDS } from './stream-group-family.js';
import { STREAM_BLOCKING_COMMANDS } from './stream-blocking.js';
import { ACL_COMMANDS } from './acl-family.js';
import { MEMORY_COMMANDS } from './memory-family.js';

export const COMMANDS: readonly CommandSpec[] = [
  ...STRING_COMMANDS,
  ...HASH_COMMANDS,
  ...KEYSPACE_COMMANDS,
  ...DATABASE_COMMANDS,
  ...SET_COMMANDS,
  ...SORT_COMMANDS,
  ...LIST_COMMANDS,
  ...ZSET_COMMANDS,
  ...CONNECTION_COMMANDS,
  ...SERVER_COMMANDS,
  ...OBSERVABILITY_COMMANDS,
  ...CLUSTER_COMMANDS,
  ...MEMCACHE_COMMANDS,
  ...PERSISTENCE_COMMANDS,
  ...REPLICATION_COMMANDS,
  ...HTTP_COMMANDS,
  ...BLOCKING_COMMANDS,
  ...SCRIPT_COMMANDS,
  ...FUNCTION_COMMANDS,
  ...SCRIPT_ACL_COMMANDS,
  ...TRANSACTION_COMMANDS,
  ...PUBSUB_COMMANDS,
  ...GEO_COMMANDS,
  ...BITMAP_COMMANDS,
  ...HLL_COMMANDS,
  ...STREAM_COMMANDS,
  ...STREAM_GROUP_COMMANDS,
  ...STREAM_BLOCKING_COMMANDS,
  ...ACL_COMMANDS,
  ...MEMORY_COMMANDS,
];

const TABLE_BITS = 10;
const TABLE_SIZE = 1 << TABLE_BITS;
const table = new Int32Array(TABLE_SIZE).fill(-1);
const nameBytes: Uint8Array[] = COMMANDS.map((c) => Buffer.from(c.name, 'latin1'));

function hashLower(buf: Uint8Array, off: number, len: number): number {
  let h = 2166136261;
  for (let i = 0; i < len; i++) {
    let c = buf[off + i]!;
    if (c >= 65 && c <= 90) c += 32;
    h = Math.imul(h ^ c, 16777619);
  }
  return (h >>> 0) & (TABLE_SIZE - 1);
}

COMMANDS.forEach((c, i) => {
  const b = nameBytes[i]!;
  let h = hashLower(b, 0, b.length);
  while (table[h] !== -1) h = (h + 1) & (TABLE_SIZE - 1);
  table[h] = i;
});

/** Index of the command named by buf[off, off+len) (any case), or -1. */
export function lookupCommand(buf: Uint8Array, off: number, len: number): number {
  let h = hashLower(buf, off, len);
  for (;;) {
    const i = table[h]!;
    if (i < 0) return -1;
    const name = nameBytes[i]!;
    if (name.length === len) {
      let k = 0;
      for (; k < len; k++) {
        let c = buf[off + k]!;
        if (c >= 65 && c <= 90) c += 32;
        if (c !== name[k]) break;
      }
      if (k === len) return i;
    }
    h = (h + 1) & (TABLE_SIZE - 1);
  }
}

export function commandIndex(name: string): number {
  const b = Buffer.from(name, 'latin1');
  return lookupCommand(b, 0, b.length);
}

export { arityOk } from './arity.js';

// redis.call looks commands up in this table (script-run.ts cannot import the registry back).
bindScriptCommands(COMMANDS, lookupCommand);
