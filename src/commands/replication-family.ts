// Replication commands: REPLICAOF / SLAVEOF, ROLE, WAIT, and the two a replica sends its primary,
// REPLCONF and PSYNC (a Tessera stream, not RDB: a replica announces `REPLCONF capa tessera`).
// __replapply is the shard side of a replica applying its primary's records.

import type { CommandSpec, MainCall, ShardContext } from './types.js';
import { argInt, argIs, argLower, argString } from './args.js';
import { ERR } from '../core/errors.js';
import { parseOffsets } from '../replication/stream.js';

function replicaofCommand(m: MainCall): Promise<void> | void {
  const a = m.args;
  const repl = m.server.replication;
  if (m.server.cluster !== null) {
    m.out.error('ERR REPLICAOF not allowed in cluster mode.');
    return;
  }
  if (argIs(a, 1, 'NO') && argIs(a, 2, 'ONE')) {
    return repl.noOne().then(() => m.out.simple('OK'));
  }
  const port = Number(argString(a, 2));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    m.out.error('ERR Invalid master port');
    return;
  }
  const host = argString(a, 1);
  const r = repl.replica;
  if (r !== null && r.masterHost === host && r.masterPort === port) {
    m.out.simple('OK Already connected to specified master');
    return;
  }
  repl.replicaOf(host, port);
  m.out.simple('OK');
}

function roleCommand(m: MainCall): void {
  const role = m.server.replication.role();
  const out = m.out;
  out.array(role.length);
  for (const v of role) {
    if (typeof v === 'string') out.bulkString(v);
    else if (typeof v === 'number') out.integer(v);
    else {
      out.array(v.length);
      for (const row of v) {
        out.array(row.length);
        for (const x of row) out.bulkString(x);
      }
    }
  }
}

function waitCommand(m: MainCall): Promise<void> | void {
  const a = m.args;
  const want = argInt(a, 1);
  const timeout = argInt(a, 2);
  if (Number.isNaN(want) || Number.isNaN(timeout)) {
    m.out.error(ERR.notInteger);
    return;
  }
  if (timeout < 0) {
    m.out.error('ERR timeout is negative');
    return;
  }
  const repl = m.server.replication;
  if (repl.isReplica) {
    m.out.error('ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.');
    return;
  }
  return repl.primary.wait(want, timeout).then((n) => m.out.integer(n));
}

function replconfCommand(m: MainCall): void {
  const a = m.args;
  if ((a.argc - 1) % 2 !== 0) {
    m.out.error(ERR.syntax);
    return;
  }
  for (let i = 1; i < a.argc; i += 2) {
    const opt = argLower(a, i);
    const val = argString(a, i + 1);
    if (opt === 'ack') {
      // No reply to an acknowledgement, as Redis.
      const offs = parseOffsets(val);
      if (offs !== null) m.server.replication.primary.ack(m.conn, offs);
      return;
    }
    if (opt === 'listening-port') {
      const p = Number(val);
      if (!Number.isInteger(p) || p < 0 || p > 65535) {
        m.out.error('ERR Invalid listening port');
        return;
      }
      m.conn.replListeningPort = p;
    } else if (opt === 'capa') {
      m.conn.replCapa.push(val.toLowerCase());
    } else if (opt === 'getack' || opt === 'ip-address' || opt === 'rdb-only' || opt === 'rdb-filter-only') {
      // accepted, nothing to do
    } else {
      m.out.error(`ERR Unrecognized REPLCONF option: ${argString(a, i)}`);
      return;
    }
  }
  m.out.simple('OK');
}

function psyncCommand(m: MainCall): void {
  const a = m.args;
  if (!m.conn.replCapa.includes('tessera')) {
    // A Redis replica would wait for an RDB file; Tessera's stream is its own.
    m.out.error('ERR this primary streams Tessera records, not RDB: replicate it with a Tessera replica (REPLCONF capa tessera)');
    return;
  }
  m.server.replication.primary.psync(m.conn, argString(a, 1), argString(a, 2), m.conn.replListeningPort);
}

/** __replapply fromShard fromShards localShards|0 records: a replica applies its primary's records
 * (localShards > 0: keep only the keys of this shard's slots under that many local shards). */
function replapplyCommand(c: ShardContext): void {
  const a = c.args;
  const from = { shard: Number(argString(a, 1)), shards: Number(argString(a, 2)) };
  const local = Number(argString(a, 3));
  const keep = local > 0 ? { shards: local, shard: c.shardId } : null;
  const n = c.persist.apply(a.buf, a.off[4]!, a.len[4]!, from, keep);
  c.out.integer(n);
}

/** __replfeed on|mark: turns the shard's feed on, in order with its commands; `mark` only answers
 * (a barrier: every earlier command of this shard has run, and its feed batch was sent). */
function replfeedCommand(c: ShardContext): void {
  if (argIs(c.args, 1, 'ON')) c.persist.enableFeed(true);
  c.persist.endBatch();
  c.out.simple('OK');
}

const S = 'server' as const;

export const REPLICATION_COMMANDS = [
  { name: 'replicaof', arity: 3, flags: ['admin', 'noscript', 'stale'], keys: null, group: S, since: '5.0.0', summary: 'Configures a server as replica of another, or promotes it to a master.', main: replicaofCommand },
  { name: 'slaveof', arity: 3, flags: ['admin', 'noscript', 'stale'], keys: null, group: S, since: '1.0.0', summary: 'Sets a Redis server as a replica of another, or promotes it to being a master.', main: replicaofCommand },
  { name: 'role', arity: 1, flags: ['noscript', 'loading', 'stale', 'fast'], keys: null, group: S, since: '2.8.12', summary: 'Returns the replication role.', main: roleCommand },
  { name: 'wait', arity: 3, flags: ['noscript'], keys: null, group: 'generic', since: '3.0.0', summary: 'Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.', main: waitCommand },
  { name: 'replconf', arity: -1, flags: ['admin', 'noscript', 'loading', 'stale', 'allow-busy'], keys: null, group: S, since: '3.0.0', summary: 'An internal command for configuring the replication stream.', main: replconfCommand },
  { name: 'psync', arity: -3, flags: ['admin', 'noscript', 'no-multi'], keys: null, group: S, since: '2.8.0', summary: 'An internal command used in replication.', main: psyncCommand },
  { name: '__replfeed', arity: 2, flags: ['admin'], keys: null, group: 'internal', since: '0', summary: 'internal', shard: replfeedCommand, hidden: true },
  { name: '__replapply', arity: 5, flags: ['write'], keys: null, group: 'internal', since: '0', summary: 'internal', shard: replapplyCommand, hidden: true },
] as const satisfies readonly CommandSpec[];
