// The cluster family: CLUSTER and its subcommands, ASKING / READONLY / READWRITE, and moving keys
// between nodes (DUMP, RESTORE, RESTORE-ASKING, MIGRATE, and Tessera's RESTOREBATCH that slot
// migration streams into). Membership itself lives in src/cluster/; these handlers translate
// between it and Redis's replies. Slot data is read and written by shard handlers below.

import type { ArgList, CommandSpec, MainCall, ShardContext, SubcommandSpec } from './types.js';
import { argIs, argInt, argString, argCopy } from './args.js';
import { ERR, ReplyError, shardOk } from '../core/errors.js';
import { keyEvent, writeKey } from './shard-helpers.js';
import { PAYLOAD_HEADER, bulkBody, isNil, replyPayload } from './keyspace-family.js';
import { keySlot } from '../keyspace/slot.js';
import type { ValueType } from '../keyspace/keyspace.js';
import { imageError } from '../keyspace/image.js';
import { CLUSTER_SLOTS, type ClusterControl, type NodeView } from '../cluster/api.js';
import { crc64 } from '../util/crc64.js';
import { migrateSlots } from '../cluster/slot-migrator.js';
import { nodeAuthCommand } from '../cluster/node-auth.js';
import { PeerError } from '../cluster/peer-client.js';

// --- DUMP payloads (between Tessera nodes): type byte, value, 2-byte version, CRC-64 -----------

/** Not an RDB version: a real Redis refuses our payloads with its usual checksum error. */
const DUMP_VERSION = 0x5401;
const DUMP_FOOTER = 10;

export function encodeDump(type: number, src: Uint8Array, off: number, len: number): Buffer {
  const b = Buffer.allocUnsafe(1 + len + DUMP_FOOTER);
  b[0] = type;
  b.set(src.subarray(off, off + len), 1);
  b.writeUInt16LE(DUMP_VERSION, 1 + len);
  crc64(b, 0, 3 + len, b, 3 + len);
  return b;
}

/** Checks a DUMP payload; true when its version and checksum are ours. */
function dumpValid(buf: Uint8Array, off: number, len: number): boolean {
  if (len < 1 + DUMP_FOOTER) return false;
  const v = buf[off + len - 10]! | (buf[off + len - 9]! << 8);
  if (v !== DUMP_VERSION) return false;
  const sum = Buffer.allocUnsafe(8);
  crc64(buf, off, len - 8, sum, 0);
  for (let k = 0; k < 8; k++) if (sum[k] !== buf[off + len - 8 + k]) return false;
  return true;
}

// --- shard handlers ------------------------------------------------------------------------------

function dumpCommand(c: ShardContext): void {
  const e = c.ks.find(c.args.buf, c.args.off[1]!, c.args.len[1]!);
  if (e === 0) {
    c.ks.miss();
    c.out.nil();
    return;
  }
  c.ks.touch(e);
  const ks = c.ks;
  ks.image(e);
  const payload = encodeDump(ks.type(e), ks.imageBuf, ks.imageOff, ks.imageLen);
  c.out.bulk(payload, 0, payload.length);
}

/** RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f] (and RESTORE-ASKING). */
function restoreCommand(c: ShardContext): void {
  const a = c.args;
  let replace = false;
  let absTtl = false;
  let idle = false;
  let freq = false;
  for (let i = 4; i < a.argc; i++) {
    if (argIs(a, i, 'REPLACE')) replace = true;
    else if (argIs(a, i, 'ABSTTL')) absTtl = true;
    else if (argIs(a, i, 'IDLETIME') && i + 1 < a.argc && !freq) {
      const n = argInt(a, ++i);
      if (Number.isNaN(n)) return c.out.error(ERR.notInteger);
      if (n < 0) return c.out.error(ERR.invalidIdletime);
      idle = true;
    } else if (argIs(a, i, 'FREQ') && i + 1 < a.argc && !idle) {
      const n = argInt(a, ++i);
      if (Number.isNaN(n)) return c.out.error(ERR.notInteger);
      if (n < 0 || n > 255) return c.out.error(ERR.invalidFreq);
      freq = true;
    } else return c.out.error(ERR.syntax);
  }
  const ttl = argInt(a, 2);
  if (Number.isNaN(ttl)) return c.out.error(ERR.notInteger);
  if (ttl < 0) return c.out.error(ERR.invalidTtl);
  if (!replace && writeKey(c, 1) !== 0) return c.out.error(ERR.busyKey);
  const p = a.off[3]!;
  const plen = a.len[3]!;
  if (!dumpValid(a.buf, p, plen)) return c.out.error(ERR.badPayload);
  const type = a.buf[p]!;
  if (imageError(type, a.buf, p + 1, plen - 1 - DUMP_FOOTER) !== null) return c.out.error(ERR.badDataFormat);
  let expireAt = 0;
  if (ttl > 0) expireAt = absTtl ? ttl : c.ks.now + ttl;
  // REPLACE deletes first, as Redis (so that the key is new again: its 'new' event).
  const deleted = replace && c.ks.delete(a.buf, a.off[1]!, a.len[1]!);
  if (expireAt !== 0 && expireAt <= c.ks.now) {
    // Already expired: Redis deletes whatever was there and replies OK.
    if (deleted) keyEvent(c, 'g', 'del', 1);
    c.out.ok();
    return;
  }
  c.ks.setImage(a.buf, a.off[1]!, a.len[1]!, type as ValueType, a.buf, p + 1, plen - 1 - DUMP_FOOTER, expireAt);
  keyEvent(c, 'g', 'restore', 1);
  c.out.ok();
}

/** RESTOREBATCH key payload [key payload ...]: entries streamed by slot migration, in the
 * internal payload format (absolute expiry); replaces what is there. Replies how many were kept. */
function restoreBatchCommand(c: ShardContext): void {
  const a = c.args;
  if (a.argc % 2 === 0) return c.out.error(ERR.wrongArity('restorebatch'));
  let kept = 0;
  for (let i = 1; i < a.argc; i += 2) {
    const p = a.off[i + 1]!;
    const plen = a.len[i + 1]!;
    if (plen < PAYLOAD_HEADER || imageError(a.buf[p]!, a.buf, p + PAYLOAD_HEADER, plen - PAYLOAD_HEADER) !== null) return c.out.error(ERR.badDataFormat);
    const expireAt = new DataView(a.buf.buffer, a.buf.byteOffset + p + 1, 8).getFloat64(0, true);
    if (expireAt !== 0 && expireAt <= c.ks.now) {
      c.ks.delete(a.buf, a.off[i]!, a.len[i]!);
      continue;
    }
    c.ks.setImage(a.buf, a.off[i]!, a.len[i]!, a.buf[p]! as ValueType, a.buf, p + PAYLOAD_HEADER, plen - PAYLOAD_HEADER, expireAt);
    kept++;
  }
  c.out.integer(kept);
}

/** __ifhere nkeys key... ask-error command args...: runs the command if every listed key is in
 * this shard, else replies ask-error. The server's path for MIGRATING slots: checking and running
 * in one shard step means no migration batch can take a key in between. */
function ifHereCommand(c: ShardContext): void {
  const a = c.args;
  const n = argInt(a, 1);
  for (let i = 2; i < 2 + n; i++) {
    if (c.ks.find(a.buf, a.off[i]!, a.len[i]!) === 0) {
      c.out.error(argString(a, 2 + n));
      return;
    }
  }
  const from = 3 + n;
  const inner = c.commandNamed(argString(a, from))?.shard;
  if (!inner) {
    c.out.error(`ERR internal: ${argString(a, from)} does not run on shards`);
    return;
  }
  c.args = { buf: a.buf, off: a.off.subarray(from), len: a.len.subarray(from), argc: a.argc - from };
  try {
    inner(c);
  } finally {
    c.args = a;
  }
}

function countInSlotCommand(c: ShardContext): void {
  c.out.integer(c.ks.countInSlot(argInt(c.args, 1)));
}

/** __keysinslot slot count: up to count key names of the slot. */
function keysInSlotCommand(c: ShardContext): void {
  const ks = c.ks;
  const found: number[] = [];
  ks.keysInSlot(argInt(c.args, 1), argInt(c.args, 2), (e) => found.push(e));
  c.out.array(found.length);
  for (const e of found) c.out.bulk(ks.bytes(), ks.keyOffset(e), ks.keyLength(e));
}

/** __slottake count slot [slot ...]: takes up to count live entries of the slots (in the order
 * given) out of the keyspace, replying with them as a flat array of key and internal payload
 * (type, absolute expire-at, value), for RESTOREBATCH on the target. */
function slotTakeCommand(c: ShardContext): void {
  const ks = c.ks;
  const want = argInt(c.args, 1);
  const live: number[] = [];
  const expired: number[] = [];
  for (let i = 2; i < c.args.argc && live.length < want; i++) {
    // Expired entries met on the way are deleted (after the walk, which must not mutate).
    ks.keysInSlot(argInt(c.args, i), (want - live.length) * 2, (e) => {
      const at = ks.expireAt(e);
      if (at !== 0 && at <= ks.now) expired.push(e);
      else if (live.length < want) live.push(e);
    });
  }
  for (const e of expired) ks.deleteEntry(e);
  c.out.array(live.length * 2);
  for (const e of live) {
    c.out.bulk(ks.bytes(), ks.keyOffset(e), ks.keyLength(e));
    replyPayload(c, e);
  }
  for (const e of live) ks.deleteEntry(e);
}

// --- main-thread helpers -----------------------------------------------------------------------

function clusterOf(m: MainCall): ClusterControl {
  const c = m.server.cluster;
  if (!c) throw new ReplyError(ERR.clusterDisabled);
  return c;
}

function slotArg(a: ArgList, i: number, err: string = ERR.invalidSlotOrRange): number {
  const n = argInt(a, i);
  if (!Number.isInteger(n) || n < 0 || n >= CLUSTER_SLOTS) throw new ReplyError(err);
  return n;
}

function nodeIdArg(a: ArgList, i: number): string {
  return argString(a, i);
}

/** The reply's integer value, for shard replies like ":12\r\n". */
function replyInt(r: Buffer): number {
  return Number(shardOk(r).toString('latin1', 1, r.length - 2));
}

function addr(n: NodeView): string {
  return n.ip;
}

function health(n: NodeView): string {
  return n.flags.includes('fail') || n.flags.includes('pfail') ? 'failed' : 'online';
}

function isPrimary(n: NodeView): boolean {
  return n.flags.includes('master');
}

/** Redis 7's isReplicaAvailable: CLUSTER SLOTS lists a replica once it is not FAIL and has
 * replicated something (offset not 0). */
function replicaAvailable(n: NodeView): boolean {
  return !n.flags.includes('fail') && n.replOffset !== 0;
}

/** Replicas of each primary (by primary id), in table order. */
function replicasByPrimary(nodes: readonly NodeView[]): Map<string, NodeView[]> {
  const out = new Map<string, NodeView[]>();
  for (const n of nodes) {
    if (!n.flags.includes('slave') || n.primaryId === null || n.flags.includes('handshake')) continue;
    const list = out.get(n.primaryId) ?? [];
    list.push(n);
    out.set(n.primaryId, list);
  }
  return out;
}

// --- CLUSTER subcommands -------------------------------------------------------------------------

type ClusterHandler = (m: MainCall, c: ClusterControl) => void | Promise<void>;

function slotsList(m: MainCall, from: number): number[] {
  const a = m.args;
  const seen = new Set<number>();
  const out: number[] = [];
  for (let i = from; i < a.argc; i++) {
    const s = slotArg(a, i);
    if (seen.has(s)) throw new ReplyError(ERR.slotTwice(s));
    seen.add(s);
    out.push(s);
  }
  return out;
}

function slotRanges(m: MainCall, from: number, sub: string): number[] {
  const a = m.args;
  if ((a.argc - from) % 2 !== 0) throw new ReplyError(ERR.wrongArity(`cluster|${sub}`));
  const seen = new Set<number>();
  const out: number[] = [];
  for (let i = from; i < a.argc; i += 2) {
    const lo = slotArg(a, i);
    const hi = slotArg(a, i + 1);
    if (lo > hi) throw new ReplyError(ERR.slotRangeOrder(lo, hi));
    for (let s = lo; s <= hi; s++) {
      if (seen.has(s)) throw new ReplyError(ERR.slotTwice(s));
      seen.add(s);
      out.push(s);
    }
  }
  return out;
}

async function totalKeys(m: MainCall): Promise<number> {
  const stats = await m.server.shardStats();
  return stats.reduce((n, s) => n + s.keys, 0);
}

function clusterSlots(m: MainCall, c: ClusterControl): void {
  const nodes = c.nodes();
  // Redis 7.0: under tls-cluster a client without TLS is given the nodes' plain ports (pport).
  const plain = c.tlsCluster && !m.conn.tls;
  const replicas = replicasByPrimary(nodes);
  const ranges: Array<{ from: number; to: number; node: NodeView; replicas: NodeView[] }> = [];
  for (const n of nodes) {
    if (!isPrimary(n) || n.flags.includes('handshake')) continue;
    const available = (replicas.get(n.id) ?? []).filter(replicaAvailable);
    for (const [from, to] of n.slots) ranges.push({ from, to, node: n, replicas: available });
  }
  ranges.sort((x, y) => x.from - y.from);
  const out = m.out;
  out.array(ranges.length);
  for (const r of ranges) {
    out.array(3 + r.replicas.length);
    out.integer(r.from);
    out.integer(r.to);
    for (const n of [r.node, ...r.replicas]) {
      out.array(4);
      out.bulkString(addr(n));
      const pport = n.pport ?? 0;
      out.integer(plain && pport > 0 ? pport : n.port);
      out.bulkString(n.id);
      out.map(0);
    }
  }
}

function clusterShards(m: MainCall, c: ClusterControl): void {
  const nodes = c.nodes();
  const replicas = replicasByPrimary(nodes);
  const primaries = nodes.filter((n) => isPrimary(n) && !n.flags.includes('handshake'));
  const out = m.out;
  out.array(primaries.length);
  for (const p of primaries) {
    out.map(2);
    out.bulkString('slots');
    out.array(p.slots.length * 2);
    for (const [from, to] of p.slots) {
      out.integer(from);
      out.integer(to);
    }
    out.bulkString('nodes');
    const members = [p, ...(replicas.get(p.id) ?? [])];
    out.array(members.length);
    for (const n of members) {
      // Redis 7.0 with tls-cluster yes: the announced port is the TLS one, and the plain one (pport)
      // is shown as `port` when the node has one; the same to TLS and plain clients.
      const ports: Array<[string, number]> = !c.tlsCluster ? [['port', n.port]] : (n.pport ?? 0) > 0 ? [['port', n.pport ?? 0], ['tls-port', n.port]] : [['tls-port', n.port]];
      const fields: Array<[string, string | number]> = [
        ['id', n.id],
        ...ports,
        ['ip', addr(n)],
        ['endpoint', addr(n)],
      ];
      if (n.hostname !== '') fields.push(['hostname', n.hostname]);
      const primary = n === p;
      // As Redis 7.0: a replica that has replicated nothing yet is 'loading'.
      const h = !primary && health(n) === 'online' && n.replOffset === 0 ? 'loading' : health(n);
      fields.push(['role', primary ? 'master' : 'replica'], ['replication-offset', n.replOffset], ['health', h]);
      out.map(fields.length);
      for (const [k, v] of fields) {
        out.bulkString(k);
        if (typeof v === 'number') out.integer(v);
        else out.bulkString(v);
      }
    }
  }
}

function clusterReplicas(m: MainCall, c: ClusterControl): void {
  const id = nodeIdArg(m.args, 2);
  c.replicasOf(id); // Redis's errors for an unknown node or a replica
  const lines = c.replicaLines(id, !m.conn.tls);
  m.out.array(lines.length);
  for (const l of lines) m.out.bulkString(l);
}

async function clusterReplicate(m: MainCall, c: ClusterControl): Promise<void> {
  const id = nodeIdArg(m.args, 2);
  // Keys are counted only when they decide (a primary must be empty), as the count costs a
  // round trip to every shard.
  const me = c.myself();
  const keys = isPrimary(me) && me.slots.length === 0 && c.node(id) !== null && id !== c.myId ? await totalKeys(m) : 0;
  c.replicate(id, keys);
  m.out.ok();
}

function clusterFailover(m: MainCall, c: ClusterControl): void {
  const a = m.args;
  if (a.argc > 3) throw new ReplyError("ERR unknown subcommand or wrong number of arguments for 'failover'. Try CLUSTER HELP.");
  let mode: 'default' | 'force' | 'takeover' = 'default';
  if (a.argc === 3) {
    if (argIs(a, 2, 'FORCE')) mode = 'force';
    else if (argIs(a, 2, 'TAKEOVER')) mode = 'takeover';
    else throw new ReplyError(ERR.syntax);
  }
  c.failover(mode);
  m.out.ok();
}

/** (Tessera) CLUSTER FAILOVERS: the role changes this node saw, oldest first, one line each:
 * "<unix ms> <kind> <new primary id> <node id> <epoch>". */
function clusterFailovers(m: MainCall, c: ClusterControl): void {
  const events = c.failoverLog();
  m.out.array(events.length);
  for (const e of events) m.out.bulkString(`${e.timeMs} ${e.kind} ${e.primaryId} ${e.nodeId} ${e.epoch}`);
}

function clusterInfo(m: MainCall, c: ClusterControl): void {
  const f = c.info();
  const lines = [
    `cluster_state:${f.cluster_state}`,
    `cluster_slots_assigned:${f.cluster_slots_assigned}`,
    `cluster_slots_ok:${f.cluster_slots_ok}`,
    `cluster_slots_pfail:${f.cluster_slots_pfail}`,
    `cluster_slots_fail:${f.cluster_slots_fail}`,
    `cluster_known_nodes:${f.cluster_known_nodes}`,
    `cluster_size:${f.cluster_size}`,
    `cluster_current_epoch:${f.cluster_current_epoch}`,
    `cluster_my_epoch:${f.cluster_my_epoch}`,
    ...f.messages.map(([k, v]) => `${k}:${v}`),
    'total_cluster_links_buffer_limit_exceeded:0',
  ];
  m.out.verbatim(`${lines.join('\r\n')}\r\n`);
}

async function clusterCountKeysInSlot(m: MainCall): Promise<void> {
  const slot = slotArg(m.args, 2, ERR.invalidSlot);
  const r = await m.server.callShard(m.server.shardOfSlot(slot), ['__countinslot', String(slot)], 2);
  m.out.integer(replyInt(r));
}

async function clusterGetKeysInSlot(m: MainCall): Promise<void> {
  const a = m.args;
  const slot = argInt(a, 2);
  const count = argInt(a, 3);
  if (Number.isNaN(slot) || Number.isNaN(count)) throw new ReplyError(ERR.notInteger);
  if (slot < 0 || slot >= CLUSTER_SLOTS || count < 0) throw new ReplyError(ERR.invalidSlotOrCount);
  const r = shardOk(await m.server.callShard(m.server.shardOfSlot(slot), ['__keysinslot', String(slot), String(count)], m.conn.proto));
  m.out.raw(r, 0, r.length);
}

function clusterSetSlot(m: MainCall, c: ClusterControl): void {
  const a = m.args;
  const slot = slotArg(a, 2, ERR.invalidSlot);
  const action = argString(a, 3).toUpperCase();
  if ((action === 'IMPORTING' || action === 'MIGRATING' || action === 'NODE') && a.argc === 5) {
    const id = nodeIdArg(a, 4);
    if (action === 'IMPORTING') c.setSlotImporting(slot, id);
    else if (action === 'MIGRATING') c.setSlotMigrating(slot, id);
    else c.setSlotNode(slot, id);
  } else if (action === 'STABLE' && a.argc === 4) {
    c.setSlotStable(slot);
  } else {
    throw new ReplyError(ERR.setslotSyntax);
  }
  m.out.ok();
}

function clusterMeet(m: MainCall, c: ClusterControl): void {
  const a = m.args;
  if (a.argc > 5) throw new ReplyError(ERR.syntax);
  const ip = argString(a, 2);
  const port = argInt(a, 3);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ReplyError(ERR.invalidBasePort(argString(a, 3)));
  let cport: number | undefined;
  if (a.argc === 5) {
    cport = argInt(a, 4);
    if (!Number.isInteger(cport) || cport < 0 || cport > 65535) throw new ReplyError(ERR.invalidBusPort(argString(a, 4)));
  }
  c.meet(ip, port, cport);
  m.out.ok();
}

async function clusterReset(m: MainCall, c: ClusterControl): Promise<void> {
  const a = m.args;
  let hard = false;
  if (a.argc === 3) {
    if (argIs(a, 2, 'HARD')) hard = true;
    else if (!argIs(a, 2, 'SOFT')) throw new ReplyError(ERR.syntax);
  } else if (a.argc > 3) throw new ReplyError(ERR.syntax);
  // Redis's rule: only a primary must be empty. A replica becomes an empty primary: reset stops
  // its replication (becomePrimary), then its copy of the old primary's data goes, so that it
  // can join a cluster again (remove-node resets the replicas it removes).
  const wasReplica = !isPrimary(c.myself());
  if (!wasReplica && (await totalKeys(m)) > 0) throw new ReplyError(ERR.resetWithKeys);
  c.reset(hard);
  if (wasReplica) await Promise.all(Array.from({ length: m.server.shardCount }, (_, s) => m.server.callShard(s, ['flushall'], 2)));
  m.out.ok();
}

async function clusterFlushSlots(m: MainCall, c: ClusterControl): Promise<void> {
  if ((await totalKeys(m)) > 0) throw new ReplyError(ERR.flushslotsNotEmpty);
  const mine: number[] = [];
  for (const [from, to] of c.myself().slots) for (let s = from; s <= to; s++) mine.push(s);
  if (mine.length > 0) c.delSlots(mine);
  m.out.ok();
}

/** CLUSTER MIGRATESLOT slot host port [TIMEOUT ms] [BATCH keys] [SLOTS slot ...] (Tessera):
 * streams every key of MIGRATING slots to the importing node in bulk, batches spanning slots;
 * replies with the number of keys moved. */
async function clusterMigrateSlot(m: MainCall, c: ClusterControl): Promise<void> {
  const a = m.args;
  const slots = [slotArg(a, 2, ERR.invalidSlot)];
  const host = argString(a, 3);
  const port = argInt(a, 4);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new ReplyError(ERR.invalidBasePort(argString(a, 4)));
  let timeoutMs = 5000;
  let batch = 5000;
  for (let i = 5; i < a.argc; i++) {
    if (argIs(a, i, 'TIMEOUT') && i + 1 < a.argc) timeoutMs = argInt(a, ++i);
    else if (argIs(a, i, 'BATCH') && i + 1 < a.argc) batch = argInt(a, ++i);
    else if (argIs(a, i, 'SLOTS')) {
      while (i + 1 < a.argc) slots.push(slotArg(a, ++i, ERR.invalidSlot));
    } else throw new ReplyError(ERR.syntax);
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || !Number.isInteger(batch) || batch <= 0) throw new ReplyError(ERR.notInteger);
  }
  for (const slot of slots) {
    if (!c.ownsSlot(slot)) throw new ReplyError(`ERR I'm not the owner of hash slot ${slot}`);
    if (c.migratingTo(slot) === null) throw new ReplyError(`ERR slot ${slot} is not in MIGRATING state`);
  }
  try {
    m.out.integer(await migrateSlots(m.server, slots, host, port, { timeoutMs, batchKeys: batch, auth: nodeAuthCommand(m.server.config.values) }));
  } catch (e) {
    if (e instanceof PeerError) throw new ReplyError(e.message.startsWith('IOERR') ? e.message : `IOERR ${e.message}`);
    throw e;
  }
}

const CLUSTER_HELP = [
  'CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'ADDSLOTS <slot> [<slot> ...]',
  '    Assign slots to current node.',
  'ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]',
  '    Assign slots which are between <start-slot> and <end-slot> to current node.',
  'BUMPEPOCH',
  '    Advance the cluster config epoch.',
  'COUNT-FAILURE-REPORTS <node-id>',
  '    Return number of failure reports for <node-id>.',
  'COUNTKEYSINSLOT <slot>',
  '    Return the number of keys in <slot>.',
  'DELSLOTS <slot> [<slot> ...]',
  '    Delete slots information from current node.',
  'DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]',
  '    Delete slots information which are between <start-slot> and <end-slot> from current node.',
  'FAILOVER [FORCE|TAKEOVER]',
  '    Promote current replica node to being a master.',
  'FAILOVERS',
  '    (Tessera) Return the role changes this node saw: time, kind, new master, node, epoch.',
  'FORGET <node-id>',
  '    Remove a node from the cluster.',
  'GETKEYSINSLOT <slot> <count>',
  '    Return key names stored by current node in a slot.',
  'FLUSHSLOTS',
  '    Delete current node own slots information.',
  'INFO',
  '    Return information about the cluster.',
  'KEYSLOT <key>',
  '    Return the hash slot for <key>.',
  'MEET <ip> <port> [<bus-port>]',
  '    Connect nodes into a working cluster.',
  'MIGRATESLOT <slot> <host> <port> [TIMEOUT <ms>] [BATCH <keys>]',
  '    (Tessera) Stream every key of MIGRATING slots to the importing node.',
  'MYID',
  '    Return the node id.',
  'NODES',
  '    Return cluster configuration seen by node. Output format:',
  '    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...',
  'REPLICATE <node-id>',
  '    Configure current node as replica to <node-id>.',
  'REPLICAS <node-id>',
  '    Return <node-id> replicas.',
  'RESET [HARD|SOFT]',
  '    Reset current node (default: soft).',
  'SET-CONFIG-EPOCH <epoch>',
  '    Set config epoch of current node.',
  'SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)',
  '    Set slot state.',
  'SAVECONFIG',
  '    Force saving cluster configuration on disk.',
  'SLAVES <node-id>',
  '    Return <node-id> replicas.',
  'SLOTS',
  '    Return information about slots range mappings. Each range is made of:',
  '    start, end, master and replicas IP addresses, ports and ids',
  'SHARDS',
  '    Return information about slot range mappings and the nodes associated with them.',
  'HELP',
  '    Prints this help.',
];

interface ClusterSub extends SubcommandSpec {
  run: ClusterHandler;
}

const sub = (name: string, arity: number, summary: string, run: ClusterHandler, flags: SubcommandSpec['flags'] = []): ClusterSub => ({
  name, arity, flags, keys: null, summary, run,
});

const CLUSTER_SUBS: readonly ClusterSub[] = [
  sub('addslots', -3, 'Assigns new hash slots to a node.', (m, c) => {
    c.addSlots(slotsList(m, 2));
    m.out.ok();
  }, ['admin']),
  sub('addslotsrange', -4, 'Assigns new hash slot ranges to a node.', (m, c) => {
    c.addSlots(slotRanges(m, 2, 'addslotsrange'));
    m.out.ok();
  }, ['admin']),
  sub('bumpepoch', 2, 'Advances the cluster config epoch.', (m, c) => m.out.simple(c.bumpEpoch()), ['admin']),
  sub('count-failure-reports', 3, 'Returns the number of active failure reports active for a node.', (m, c) => {
    const id = nodeIdArg(m.args, 2);
    if (!c.node(id)) throw new ReplyError(`ERR Unknown node ${id}`);
    m.out.integer(c.countFailureReports(id));
  }, ['admin']),
  sub('countkeysinslot', 3, 'Returns the number of keys in a hash slot.', (m) => clusterCountKeysInSlot(m)),
  sub('delslots', -3, 'Sets hash slots as unbound for a node.', (m, c) => {
    c.delSlots(slotsList(m, 2));
    m.out.ok();
  }, ['admin']),
  sub('delslotsrange', -4, 'Sets hash slot ranges as unbound for a node.', (m, c) => {
    c.delSlots(slotRanges(m, 2, 'delslotsrange'));
    m.out.ok();
  }, ['admin']),
  sub('flushslots', 2, "Deletes all slots information from a node.", (m, c) => clusterFlushSlots(m, c), ['admin']),
  sub('failover', -2, 'Forces a replica to perform a manual failover of its master.', clusterFailover, ['admin']),
  sub('failovers', 2, '(Tessera) Returns the role changes this node saw.', clusterFailovers),
  sub('forget', 3, 'Removes a node from the nodes table.', (m, c) => {
    c.forget(nodeIdArg(m.args, 2));
    m.out.ok();
  }, ['admin']),
  sub('getkeysinslot', 4, 'Returns the key names in a hash slot.', (m) => clusterGetKeysInSlot(m)),
  sub('help', 2, 'Returns helpful text about the different subcommands.', (m) => {
    m.out.array(CLUSTER_HELP.length);
    for (const l of CLUSTER_HELP) m.out.simple(l);
  }),
  sub('info', 2, 'Returns information about the state of a node.', clusterInfo),
  sub('keyslot', 3, 'Returns the hash slot for a key.', (m) => {
    const a = m.args;
    m.out.integer(keySlot(a.buf, a.off[2]!, a.len[2]!));
  }),
  sub('meet', -4, 'Forces a node to handshake with another node.', clusterMeet, ['admin']),
  sub('migrateslot', -5, '(Tessera) Streams the keys of a migrating slot to the importing node.', clusterMigrateSlot, ['admin']),
  sub('myid', 2, 'Returns the ID of a node.', (m, c) => m.out.bulkString(c.myId)),
  sub('nodes', 2, 'Returns the cluster configuration for a node.', (m, c) => m.out.verbatim(c.nodesText(!m.conn.tls))),
  sub('replicas', 3, 'Lists the replica nodes of a master node.', clusterReplicas, ['admin']),
  sub('replicate', 3, 'Configure a node as replica of a master node.', clusterReplicate, ['admin']),
  sub('reset', -2, 'Resets a node.', clusterReset, ['admin']),
  sub('saveconfig', 2, 'Forces a node to save the cluster configuration to disk.', (m, c) => {
    c.saveConfig();
    m.out.ok();
  }, ['admin']),
  sub('set-config-epoch', 3, 'Sets the configuration epoch for a new node.', (m, c) => {
    const e = argInt(m.args, 2);
    if (!Number.isInteger(e) || e < 0) throw new ReplyError(ERR.invalidConfigEpoch(argString(m.args, 2)));
    c.setConfigEpoch(e);
    m.out.ok();
  }, ['admin']),
  sub('setslot', -4, 'Binds a hash slot to a node.', clusterSetSlot, ['admin']),
  sub('shards', 2, 'Returns the mapping of cluster slots to shards.', clusterShards),
  sub('slaves', 3, 'Lists the replica nodes of a master node.', clusterReplicas, ['admin']),
  sub('slots', 2, 'Returns the mapping of cluster slots to nodes.', clusterSlots),
];

function clusterCommand(m: MainCall): void | Promise<void> {
  const name = argString(m.args, 1).toLowerCase();
  const s = CLUSTER_SUBS.find((x) => x.name === name)!;
  return s.run(m, clusterOf(m));
}

function askingCommand(m: MainCall): void {
  clusterOf(m);
  m.conn.asking = true;
  m.out.ok();
}

function readonlyCommand(m: MainCall): void {
  clusterOf(m);
  m.conn.readonlyMode = true;
  m.out.ok();
}

function readwriteCommand(m: MainCall): void {
  clusterOf(m);
  m.conn.readonlyMode = false;
  m.out.ok();
}

// --- MIGRATE -------------------------------------------------------------------------------------

interface MigrateOptions {
  host: string;
  port: number;
  db: number;
  timeoutMs: number;
  copy: boolean;
  replace: boolean;
  auth: string[] | null;
  keys: Buffer[];
}

function migrateOptions(a: ArgList): MigrateOptions {
  const port = argInt(a, 2);
  const db = argInt(a, 4);
  const timeoutMs = argInt(a, 5);
  if (Number.isNaN(port) || Number.isNaN(db) || Number.isNaN(timeoutMs)) throw new ReplyError(ERR.notInteger);
  const o: MigrateOptions = {
    host: argString(a, 1), port, db, timeoutMs: timeoutMs <= 0 ? 1000 : timeoutMs, copy: false, replace: false, auth: null, keys: [],
  };
  let keysFrom = -1;
  for (let i = 6; i < a.argc && keysFrom < 0; i++) {
    if (argIs(a, i, 'COPY')) o.copy = true;
    else if (argIs(a, i, 'REPLACE')) o.replace = true;
    else if (argIs(a, i, 'AUTH') && i + 1 < a.argc) o.auth = [argString(a, ++i)];
    else if (argIs(a, i, 'AUTH2') && i + 2 < a.argc) o.auth = [argString(a, i + 1), argString(a, i + 2)], (i += 2);
    else if (argIs(a, i, 'KEYS')) {
      if (a.len[3] !== 0) throw new ReplyError(ERR.migrateKeysEmpty);
      keysFrom = i + 1;
    } else throw new ReplyError(ERR.syntax);
  }
  if (keysFrom > 0) for (let i = keysFrom; i < a.argc; i++) o.keys.push(argCopy(a, i));
  else o.keys.push(argCopy(a, 3));
  return o;
}

async function migrateCommand(m: MainCall): Promise<void> {
  const o = migrateOptions(m.args);
  const { server } = m;
  if (server.cluster && o.db !== 0) throw new ReplyError(ERR.selectNotAllowed);
  const shards = o.keys.map((k) => server.shardOfKey(k, 0, k.length));
  await server.withShardsLocked(shards, async (call) => {
    const now = Date.now();
    const found: Array<{ key: Buffer; shard: number; ttl: number; payload: Buffer }> = [];
    for (let i = 0; i < o.keys.length; i++) {
      const key = o.keys[i]!;
      const r = shardOk(await call(shards[i]!, ['__dump', key], 2));
      if (isNil(r)) continue;
      const p = bulkBody(r);
      const expireAt = p.readDoubleLE(1);
      const ttl = expireAt === 0 ? 0 : Math.max(1, Math.round(expireAt - now));
      found.push({ key, shard: shards[i]!, ttl, payload: encodeDump(p[0]!, p, PAYLOAD_HEADER, p.length - PAYLOAD_HEADER) });
    }
    if (found.length === 0) {
      m.out.simple('NOKEY');
      return;
    }
    const preamble: string[][] = [];
    if (o.auth) preamble.push(['AUTH', ...o.auth]);
    if (o.db !== 0) preamble.push(['SELECT', String(o.db)]);
    const peer = server.peers.get(o.host, o.port, `migrate/${o.auth?.join('\0') ?? ''}/${o.db}`, preamble);
    const restore = server.cluster ? 'RESTORE-ASKING' : 'RESTORE';
    let replies: Buffer[];
    try {
      replies = await Promise.all(
        found.map((f) => peer.call([restore, f.key, String(f.ttl), f.payload, ...(o.replace ? ['REPLACE'] : [])], o.timeoutMs)),
      );
    } catch (e) {
      throw new ReplyError(ERR.migrateIo(e instanceof PeerError && e.message.includes('connecting') ? 'connecting to' : 'reading from'));
    }
    let firstError: string | null = null;
    const moved: typeof found = [];
    replies.forEach((r, i) => {
      if (r[0] === 45) firstError ??= r.toString('latin1', 1, r.length - 2);
      else moved.push(found[i]!);
    });
    if (!o.copy) {
      for (const f of moved) shardOk(await call(f.shard, ['del', f.key], 2));
    }
    if (firstError !== null) throw new ReplyError(ERR.migrateTarget(firstError));
    m.out.ok();
  });
}

// --- memcached requests forwarded by another node ------------------------------------------------

/** TESSERA.MC header extras key value [...] (Tessera, between nodes): runs a memcached request
 * that another node's memcached port received for a slot served here; replies with the memcached
 * reply bytes as a bulk string. */
async function memcacheForwardedCommand(m: MainCall): Promise<void> {
  const a = m.args;
  const c = m.server.cluster;
  const slot = keySlot(a.buf, a.off[3]!, a.len[3]!);
  if (c && !c.ownsSlot(slot)) {
    const to = c.slotAddress(slot);
    throw new ReplyError(to === null ? ERR.clusterDownUnbound : ERR.moved(slot, to));
  }
  if (c && c.migratingTo(slot) !== null) throw new ReplyError(ERR.tryAgain);
  const parts: Buffer[] = [Buffer.from('__mc')];
  for (let i = 1; i < a.argc; i++) parts.push(argCopy(a, i));
  const r = await m.server.callShard(m.server.shardOfSlot(slot), parts, 2);
  // No memcached reply starts with '-': this is the shard's RESP error (a crash).
  if (r[0] === 45) throw new ReplyError(r.toString('latin1', 1, r.length - 2));
  m.out.bulk(r, 0, r.length);
}

// --- the table -----------------------------------------------------------------------------------

const C = 'cluster' as const;
const I = 'internal' as const;

export const CLUSTER_COMMANDS = [
  {
    name: 'cluster', arity: -2, flags: [], keys: null, group: C, since: '3.0.0',
    summary: 'A container for Redis Cluster commands.', main: clusterCommand,
    subcommands: CLUSTER_SUBS.map(({ run: _run, ...spec }) => spec),
  },
  { name: 'asking', arity: 1, flags: ['fast'], keys: null, group: C, since: '3.0.0', summary: 'Signals that a cluster client is following an -ASK redirect.', main: askingCommand },
  { name: 'readonly', arity: 1, flags: ['fast', 'loading', 'stale'], keys: null, group: C, since: '3.0.0', summary: 'Enables read-only queries for a connection to a Redis Cluster replica node.', main: readonlyCommand },
  { name: 'readwrite', arity: 1, flags: ['fast', 'loading', 'stale'], keys: null, group: C, since: '3.0.0', summary: 'Enables read-write queries for a connection to a Reids Cluster replica node.', main: readwriteCommand },
  { name: 'dump', arity: 2, flags: ['readonly'], keys: { first: 1, last: 1, step: 1 }, group: 'generic', since: '2.6.0', summary: 'Returns a serialized representation of the value stored at a key.', shard: dumpCommand },
  { name: 'restore', arity: -4, flags: ['write', 'denyoom'], keys: { first: 1, last: 1, step: 1 }, group: 'generic', since: '2.6.0', summary: 'Creates a key from the serialized representation of a value.', shard: restoreCommand },
  { name: 'restore-asking', arity: -4, flags: ['write', 'denyoom', 'asking'], keys: { first: 1, last: 1, step: 1 }, group: 'server', since: '3.0.0', summary: 'An internal command for migrating keys in a cluster.', shard: restoreCommand },
  { name: 'restorebatch', arity: -3, flags: ['write', 'denyoom', 'asking'], keys: { first: 1, last: -1, step: 2 }, merge: 'sum', multiSlot: true, group: C, since: '0.1.0', summary: '(Tessera) Restores entries streamed by CLUSTER MIGRATESLOT.', shard: restoreBatchCommand },
  { name: 'tessera.mc', arity: -5, flags: ['write', 'denyoom'], keys: null, group: C, since: '0.1.0', summary: '(Tessera) Runs a memcached request forwarded by another node.', main: memcacheForwardedCommand },
  { name: 'migrate', arity: -6, flags: ['write'], keys: null, group: 'generic', since: '2.6.0', summary: 'Atomically transfers a key from one Redis instance to another.', main: migrateCommand },
  { name: '__ifhere', arity: -5, flags: ['write'], keys: null, group: I, since: '0', summary: 'internal', shard: ifHereCommand, hidden: true },
  { name: '__countinslot', arity: 2, flags: ['readonly'], keys: null, group: I, since: '0', summary: 'internal', shard: countInSlotCommand, hidden: true },
  { name: '__keysinslot', arity: 3, flags: ['readonly'], keys: null, group: I, since: '0', summary: 'internal', shard: keysInSlotCommand, hidden: true },
  { name: '__slottake', arity: -3, flags: ['write'], keys: null, group: I, since: '0', summary: 'internal', shard: slotTakeCommand, hidden: true },
] as const satisfies readonly CommandSpec[];
