// XREAD ... BLOCK ms and XREADGROUP ... BLOCK ms (Redis 7.0 semantics) on the blocking layer of
// docs/blocking.md. Without BLOCK both stay ordinary shard commands: the dispatcher picks the
// blocking form only when `blocksWith` finds BLOCK among the options. The main thread parses the
// options, then tries the keys' shards (`__xbtry`: serve at once after a claim, or register with
// `$` resolved to the stream's last id there and then). XADD marks the key ready; `__bserve` then
// serves every XREAD waiter whose id is below the stream's last id (reads consume nothing), and
// XREADGROUP waiters while their group has undelivered entries (each entry goes to one consumer).
// A deleted stream or group ends an XREADGROUP wait with Redis's error.

import type { ArgList, CommandSpec, MainCall, ShardContext } from './types.js';
import { argI64, argIs, argListOf } from './args.js';
import { ERR, XGROUP_ERR } from '../core/errors.js';
import { keySlot } from '../keyspace/slot.js';
import type { Keyspace } from '../keyspace/keyspace.js';
import type { Arena } from '../keyspace/arena.js';
import { TYPE_STREAM } from '../keyspace/value-types.js';
import * as S from '../keyspace/stream.js';
import * as G from '../keyspace/stream-groups.js';
import { SID_MAX, sid, sidCmp, sidCopy, sidIncr, sidParse, sidToBytes, sidFromBytes, type Sid } from '../util/stream-id.js';
import type { RespWriter } from '../protocol/resp-writer.js';
import { claimWait } from '../runtime/wait-claims.js';
import { latin1, type Waiter } from '../runtime/shard-waiters.js';
import { parseReadGroup, readArgs, xreadgroupCrossShard, xreadgroupServe } from './stream-group-family.js';
import { xreadCrossShard } from './stream-family.js';
import { RespWriter as Writer } from '../protocol/resp-writer.js';

/** Waiter.op of stream waits (the list and zset ops of blocking-family.ts are below 16). */
export const OP_XREAD = 16;
export const OP_XREADGROUP = 17;

export function isStreamOp(op: number): boolean {
  return op === OP_XREAD || op === OP_XREADGROUP;
}

const BLOCKED = Buffer.from('+__BLOCKED\r\n');
const TAKEN = Buffer.from('+__TAKEN\r\n');
/** Prefix of an error written after this shard claimed the wait (a later key's WRONGTYPE): the
 * main thread must deliver it, as no other outcome can win any more. */
const CLAIMED = Buffer.from('+__CLAIMED\r\n');

export const XBLOCK_ERR = {
  gtOnXread: 'ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.',
  groupOnXread: 'ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.',
  noackOnXread: 'ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.',
  // redis-server 7.0 names XREAD and '$' in this error for XREADGROUP too.
  unbalanced: "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
  keyDeleted: 'UNBLOCKED the stream key no longer exists',
  groupDeleted: 'NOGROUP the consumer group this client was blocked on no longer exists',
} as const;

// --- stream access ---------------------------------------------------------------------------------

interface StreamHost {
  readonly arena: Arena;
}

function arenaOf(ks: Keyspace): Arena {
  return (ks.kindOf(TYPE_STREAM) as unknown as StreamHost).arena;
}

const lastId = sid();
const fromId = sid();
const groupLast = sid();
const oneId = sid();

/** The group named by the bytes of stream e, or 0. */
function groupOf(ks: Keyspace, e: number, name: Uint8Array, off: number, len: number): number {
  return G.groupFind(arenaOf(ks), S.streamGroups(ks, e), name, off, len);
}

/** The id of the stream's last live entry into dst (Redis's streamLastValidID); false if empty. */
function lastValidId(ks: Keyspace, e: number, dst: Sid): boolean {
  S.streamIter(ks, e, fromId.fill(0), SID_MAX, true);
  if (!S.streamNext()) return false;
  sidCopy(dst, S.itId);
  return true;
}

/** Writes [key, entries after `after` (at most count; 0 = all)] for stream e: the part of XREAD's
 * reply for one key (without the RESP2 pair header, written by the caller). */
function writeEntriesAfter(ks: Keyspace, out: RespWriter, e: number, after: Readonly<Sid>, count: number): void {
  sidCopy(fromId, after);
  // An id of 2^64-1 - 2^64-1 has nothing after it.
  const none = !sidIncr(fromId);
  let n = 0;
  if (!none) {
    S.streamIter(ks, e, fromId, SID_MAX, false);
    while ((count === 0 || n < count) && S.streamNext()) n++;
  }
  out.array(n);
  if (n === 0) return;
  S.streamIter(ks, e, fromId, SID_MAX, false);
  for (let i = 0; i < n && S.streamNext(); i++) S.streamWriteEntry(out);
}

// --- the dispatcher's choice -------------------------------------------------------------------

/** True when XREAD / XREADGROUP's options (before STREAMS) include BLOCK with a value: the command
 * then runs in its blocking form. */
export function blocksWith(a: ArgList): boolean {
  for (let i = 1; i < a.argc - 1; i++) {
    if (argIs(a, i, 'BLOCK')) return true;
    if (argIs(a, i, 'COUNT')) i++;
    else if (argIs(a, i, 'GROUP')) i += 2;
    else if (argIs(a, i, 'STREAMS')) return false;
  }
  return false;
}

// --- main thread -----------------------------------------------------------------------------------

interface XReadRequest {
  group: boolean;
  timeoutMs: number;
  count: number;
  noack: boolean;
  groupName: Buffer | null;
  consumer: Buffer | null;
  keys: Buffer[];
  ids: Buffer[];
}

/** Redis's xreadCommand option loop, same checks in the same order; the request or an error text. */
function parseRequest(a: ArgList, group: boolean): XReadRequest | string {
  const r: XReadRequest = { group, timeoutMs: -1, count: 0, noack: false, groupName: null, consumer: null, keys: [], ids: [] };
  let streamsAt = 0;
  for (let i = 1; i < a.argc; i++) {
    const more = a.argc - i - 1;
    if (argIs(a, i, 'BLOCK') && more > 0) {
      i++;
      const t = argI64(a, i);
      if (Number.isNaN(t)) return XGROUP_ERR.timeoutNotInteger;
      if (t < 0) return XGROUP_ERR.timeoutNegative;
      // Redis adds the time now to it in a long long.
      if (t > 9223372036854775807 - Date.now()) return ERR.timeoutOutOfRange;
      r.timeoutMs = t;
    } else if (argIs(a, i, 'COUNT') && more > 0) {
      i++;
      const n = argI64(a, i);
      if (Number.isNaN(n)) return ERR.notInteger;
      r.count = n < 0 ? 0 : n;
    } else if (argIs(a, i, 'STREAMS') && more > 0) {
      streamsAt = i + 1;
      const n = a.argc - streamsAt;
      if (n % 2 !== 0) return XBLOCK_ERR.unbalanced;
      for (let k = 0; k < n / 2; k++) {
        r.keys.push(copyArg(a, streamsAt + k));
        r.ids.push(copyArg(a, streamsAt + n / 2 + k));
      }
      break;
    } else if (argIs(a, i, 'GROUP') && more >= 2) {
      if (!group) return XBLOCK_ERR.groupOnXread;
      r.groupName = copyArg(a, i + 1);
      r.consumer = copyArg(a, i + 2);
      i += 2;
    } else if (argIs(a, i, 'NOACK')) {
      if (!group) return XBLOCK_ERR.noackOnXread;
      r.noack = true;
    } else {
      return ERR.syntax;
    }
  }
  if (streamsAt === 0) return ERR.syntax;
  if (group && r.groupName === null) return XGROUP_ERR.missingGroup;
  return r;
}

function copyArg(a: ArgList, i: number): Buffer {
  return Buffer.from(a.buf.subarray(a.off[i]!, a.off[i]! + a.len[i]!));
}

function nullArrayReply(proto: 2 | 3): Buffer {
  return Buffer.from(proto === 3 ? '_\r\n' : '*-1\r\n');
}

function startsWith(b: Buffer, prefix: Buffer): boolean {
  return b.length >= prefix.length && b.subarray(0, prefix.length).equals(prefix);
}

const NOGROUP = Buffer.from('-NOGROUP ');

/** -ASK for an XREADGROUP BLOCK whose stream has left this node's MIGRATING slot (redis-server
 * answers -ASK before running a command with a key missing in such a slot; without this the
 * client got NOGROUP for a stream that exists on the target). Waits as cluster-router's
 * runInMigratingSlot does for a batch holding the key to be acknowledged. Null: no redirect. */
async function askIfMigrated(m: MainCall, shard: number, keys: Buffer[]): Promise<Buffer | null> {
  const c = m.server.cluster;
  if (c === null) return null;
  for (const key of keys) {
    const slot = keySlot(key, 0, key.length);
    const to = c.migratingTo(slot, !m.conn.tls);
    if (to === null) continue;
    const inFlight = m.server.inFlight;
    for (;;) {
      const take = inFlight.takeOf(shard);
      if (take !== undefined) {
        await take.catch(() => undefined);
        continue;
      }
      const moving = inFlight.waitFor(key.toString('latin1'));
      if (moving === undefined) break;
      await moving;
    }
    const exists = await m.server.callShard(shard, ['EXISTS', key], 2, m.conn.db);
    if (exists.equals(ZERO)) return Buffer.from(`-${ERR.ask(slot, to)}\r\n`);
  }
  return null;
}

const ZERO = Buffer.from(':0\r\n');

/** The blocking form of XREAD / XREADGROUP: tries each shard of its keys (in the order of each
 * shard's first key), then waits for a wake, a timeout or a cancel. */
async function xblock(m: MainCall, group: boolean): Promise<void> {
  const parsed = parseRequest(m.args, group);
  if (typeof parsed === 'string') return m.out.error(parsed);
  const r = parsed;
  const server = m.server;
  const proto = m.conn.proto;
  const slots = server.cluster !== null ? r.keys.map((k) => keySlot(k, 0, k.length)) : [];
  // Keys by shard: a shard holds one registration per wait, so all its keys go in one try.
  const byShard = new Map<number, number[]>();
  for (let k = 0; k < r.keys.length; k++) {
    const s = server.shardOfKey(r.keys[k]!, 0, r.keys[k]!.length);
    const list = byShard.get(s);
    if (list === undefined) byShard.set(s, [k]);
    else list.push(k);
  }
  if (byShard.size > 1) {
    // Keys on several shards: what is there now comes from the non-blocking read across them
    // (every key with entries, as Redis replies); the tries below only wait (or catch an entry
    // added meanwhile).
    const now = new Writer(256);
    now.proto = proto;
    await (group ? xreadgroupCrossShard : xreadCrossShard)({ server, conn: m.conn, args: m.args, out: now });
    const got = now.buf.subarray(now.start, now.length);
    if (!(got[0] === 95 || (got[0] === 42 && got[1] === 45))) return m.out.raw(got, 0, got.length);
  }
  let wait;
  try {
    wait = server.blocked.begin(m.conn, slots, nullArrayReply(proto));
  } catch {
    return m.out.error(ERR.tooManyBlocked);
  }
  try {
    let reply: Buffer | null = null;
    let claimed = false;
    let taken = false;
    for (const [shard, ks] of byShard) {
      if (reply !== null || taken || wait.result !== null) break;
      const args: Array<Uint8Array | string> = ['__xbtry', String(wait.slot), String(wait.gen)];
      if (group) args.push('XREADGROUP', 'GROUP', r.groupName!, r.consumer!);
      else args.push('XREAD');
      args.push('COUNT', String(r.count));
      if (r.noack) args.push('NOACK');
      args.push('STREAMS');
      for (const k of ks) args.push(r.keys[k]!);
      for (const k of ks) args.push(r.ids[k]!);
      const got = await server.callShard(shard, args, proto, m.conn.db);
      if (got.equals(BLOCKED)) wait.registered(shard);
      else if (got.equals(TAKEN)) taken = true;
      else if (startsWith(got, CLAIMED)) {
        reply = got.subarray(CLAIMED.length);
        claimed = true;
      } else {
        reply = got;
        claimed = got[0] !== 45;
        if (!claimed && group && startsWith(got, NOGROUP)) reply = (await askIfMigrated(m, shard, ks.map((k) => r.keys[k]!))) ?? got;
      }
    }
    let final: Buffer;
    if (reply !== null && claimed) final = reply;
    else if (reply !== null) final = wait.cancelWith(reply) ? reply : await wait.settle(0);
    else final = await wait.settle(r.timeoutMs);
    m.out.raw(final, 0, final.length);
  } finally {
    wait.end();
  }
}

/** The blocking forms, by command name (the dispatcher runs one when blocksWith is true). */
export const STREAM_BLOCKING_FORMS: Readonly<Record<string, (m: MainCall) => Promise<void>>> = {
  xread: (m) => xblock(m, false),
  xreadgroup: (m) => xblock(m, true),
};

// --- shard side ------------------------------------------------------------------------------------

/** The try's own command (from its 4th argument on) as an ArgList view, for the group family's
 * parser and server. */
const view: ArgList = { buf: new Uint8Array(0), off: new Int32Array(0), len: new Int32Array(0), argc: 0 };

function commandView(a: ArgList, from: number): ArgList {
  view.buf = a.buf;
  view.off = a.off.subarray(from);
  view.len = a.len.subarray(from);
  view.argc = a.argc - from;
  return view;
}

/** Runs fn with c.args = args and c.out = out. */
function runWith(c: ShardContext, args: ArgList, out: RespWriter, fn: () => void): void {
  const savedArgs = c.args;
  const savedOut = c.out;
  c.args = args;
  c.out = out;
  try {
    fn();
  } finally {
    c.args = savedArgs;
    c.out = savedOut;
  }
}

function argIsChar(a: ArgList, i: number, ch: number): boolean {
  return a.len[i] === 1 && a.buf[a.off[i]!] === ch;
}

/** __xbtry slot gen XREAD COUNT n STREAMS key... id...
 *  __xbtry slot gen XREADGROUP GROUP g c COUNT n [NOACK] STREAMS key... id...
 * Serves the wait at once (after claiming it) when a key has something for it, replies the
 * command's error, or registers the wait on every key (+__BLOCKED). */
function xbtryCommand(c: ShardContext): void {
  const a = c.args;
  const slot = Number(latin1(a.buf, a.off[1]!, a.len[1]!));
  const gen = Number(latin1(a.buf, a.off[2]!, a.len[2]!));
  const cmd = commandView(a, 3);
  if (argIs(cmd, 0, 'XREADGROUP')) xbtryGroup(c, cmd, slot, gen);
  else xbtryRead(c, cmd, slot, gen);
}

/** Where STREAMS' keys start in a try's command, and how many there are. */
function streamsOf(cmd: ArgList): number {
  for (let i = 1; i < cmd.argc; i++) if (argIs(cmd, i, 'STREAMS')) return i + 1;
  return cmd.argc;
}

const idBytes = new Uint8Array(16);

function xbtryRead(c: ShardContext, cmd: ArgList, slot: number, gen: number): void {
  const ks = c.ks;
  const out = c.out;
  const at = streamsOf(cmd);
  const n = (cmd.argc - at) / 2;
  const count = argI64(cmd, 2);
  // Checks in Redis's order, per key: its type, then its id. Ids resolved into 16 bytes each.
  const ids: Uint8Array[] = [];
  let ready = 0;
  for (let k = 0; k < n; k++) {
    const ki = at + k;
    const ii = at + n + k;
    const e = ks.find(cmd.buf, cmd.off[ki]!, cmd.len[ki]!);
    if (e !== 0 && ks.type(e) !== TYPE_STREAM) return out.error(ERR.wrongType);
    if (argIsChar(cmd, ii, 36)) {
      // $: the stream's last id now (0-0 for a missing key).
      if (e !== 0) S.streamLastId(ks, e, oneId);
      else oneId.fill(0);
    } else if (argIsChar(cmd, ii, 62)) {
      return out.error(XBLOCK_ERR.gtOnXread);
    } else if (cmd.len[ii]! > 127 || !sidParse(cmd.buf, cmd.off[ii]!, cmd.len[ii]!, oneId, 0)) {
      return out.error(XGROUP_ERR.invalidId);
    }
    sidToBytes(oneId, idBytes, 0);
    ids.push(idBytes.slice());
    if (e !== 0 && S.streamLength(ks, e) !== 0 && lastValidId(ks, e, lastId) && sidCmp(lastId, oneId) > 0) ready++;
  }
  if (ready === 0) {
    register(c, slot, gen, OP_XREAD, cmd, at, n, [Buffer.from(String(count)), ...ids]);
    return;
  }
  if (!claimWait(c.waiters.claims, slot, gen)) return out.raw(TAKEN, 0, TAKEN.length);
  // RESP3: a map of stream -> entries; RESP2: an array of [stream, entries] pairs.
  if (out.proto === 3) out.map(ready);
  else out.array(ready);
  for (let k = 0; k < n; k++) {
    const ki = at + k;
    const e = ks.find(cmd.buf, cmd.off[ki]!, cmd.len[ki]!);
    sidFromBytes(oneId, ids[k]!, 0);
    if (e === 0 || S.streamLength(ks, e) === 0 || !lastValidId(ks, e, lastId) || sidCmp(lastId, oneId) <= 0) continue;
    ks.touch(e);
    if (out.proto !== 3) out.array(2);
    out.bulk(cmd.buf, cmd.off[ki]!, cmd.len[ki]!);
    writeEntriesAfter(ks, out, e, oneId, count);
  }
}

function xbtryGroup(c: ShardContext, cmd: ArgList, slot: number, gen: number): void {
  const ks = c.ks;
  const out = c.out;
  const invalid = parseReadGroup(cmd);
  if (invalid !== null) return out.error(invalid);
  const at = streamsOf(cmd);
  const n = (cmd.argc - at) / 2;
  const gAt = 2; // XREADGROUP GROUP <g> <c>
  // Would the non-blocking command reply an error, or serve something? (It checks every key
  // before it serves any, so an error changes nothing and needs no claim.)
  let error = false;
  let ready = false;
  for (let k = 0; k < n && !error; k++) {
    const ki = at + k;
    const ii = at + n + k;
    const e = ks.find(cmd.buf, cmd.off[ki]!, cmd.len[ki]!);
    if (e === 0 || ks.type(e) !== TYPE_STREAM) error = true;
    else {
      const g = groupOf(ks, e, cmd.buf, cmd.off[gAt]!, cmd.len[gAt]!);
      if (g === 0 || argIsChar(cmd, ii, 36)) error = true;
      else if (!argIsChar(cmd, ii, 62)) {
        // A history id: served at once (even when empty), as Redis does; or an invalid id.
        if (cmd.len[ii]! > 127 || !sidParse(cmd.buf, cmd.off[ii]!, cmd.len[ii]!, oneId, 0)) error = true;
        else ready = true;
      } else if (groupHasNew(ks, e, g)) ready = true;
    }
  }
  if (!error && !ready) {
    register(c, slot, gen, OP_XREADGROUP, cmd, at, n, []);
    return;
  }
  if (!error && !claimWait(c.waiters.claims, slot, gen)) return out.raw(TAKEN, 0, TAKEN.length);
  // Relative to the reply's start: a reply that outgrows a borrowed region moves.
  const mark = out.length - out.start;
  runWith(c, cmd, out, () => {
    if (parseReadGroup(cmd) === null) xreadgroupServe(c, readArgs, false);
  });
  // An error after the claim (cannot happen with the checks above, but the wait must end).
  if (!error && out.length - out.start > mark && out.buf[out.start + mark] === 45) insertPrefix(out, mark);
}

/** True when the stream's last id is beyond the group's last delivered id (Redis compares
 * s->last_id when serving a blocked consumer). */
function groupHasNew(ks: Keyspace, e: number, g: number): boolean {
  G.groupLastId(arenaOf(ks), g, groupLast);
  S.streamLastId(ks, e, lastId);
  return sidCmp(lastId, groupLast) > 0;
}

function insertPrefix(out: RespWriter, mark: number): void {
  const err = Buffer.from(out.buf.subarray(out.start + mark, out.length));
  out.length = out.start + mark;
  out.raw(CLAIMED, 0, CLAIMED.length);
  out.raw(err, 0, err.length);
}

/** Registers the wait on the try's keys. extra: XREAD [count, id per key]; XREADGROUP [the
 * command's arguments from GROUP to STREAMS, copied, to rebuild a one-key command when served]. */
function register(c: ShardContext, slot: number, gen: number, op: number, cmd: ArgList, at: number, n: number, extra: Uint8Array[]): void {
  const keys: string[] = [];
  for (let k = 0; k < n; k++) keys.push(latin1(cmd.buf, cmd.off[at + k]!, cmd.len[at + k]!));
  if (op === OP_XREADGROUP) for (let i = 1; i < at; i++) extra.push(Buffer.from(cmd.buf.subarray(cmd.off[i]!, cmd.off[i]! + cmd.len[i]!)));
  c.waiters.add({ slot, gen, proto: c.out.proto === 3 ? 3 : 2, op, keys, extra });
  c.out.raw(BLOCKED, 0, BLOCKED.length);
}

/** __bserve's part for a stream waiter w on key (bytes kb), which the last command made ready
 * (XADD, a new key, a deletion, XGROUP DESTROY). Serves it (after claiming it) when the stream
 * has entries beyond its id; ends an XREADGROUP wait with an error when the stream or the group
 * is gone; otherwise leaves it blocked. */
export function serveStreamWaiter(c: ShardContext, w: Waiter, key: string, kb: Uint8Array): void {
  const ks = c.ks;
  const e = ks.find(kb, 0, kb.length);
  const isStream = e !== 0 && ks.type(e) === TYPE_STREAM;
  const out = c.wakeOut;
  if (w.op === OP_XREAD) {
    if (!isStream) return; // XREAD keeps waiting on a deleted key or one of another type
    const at = w.keys.indexOf(key);
    sidFromBytes(oneId, w.extra[1 + at]!, 0);
    S.streamLastId(ks, e, lastId);
    if (sidCmp(lastId, oneId) <= 0) return;
    if (!c.waiters.claim(w)) return;
    out.reset();
    out.proto = w.proto;
    ks.touch(e);
    if (out.proto === 3) out.map(1);
    else {
      out.array(1);
      out.array(2);
    }
    out.bulk(kb, 0, kb.length);
    writeEntriesAfter(ks, out, e, oneId, Number(latin1(w.extra[0]!, 0, w.extra[0]!.length)));
    c.wake(w);
    return;
  }
  // XREADGROUP ... > : the group's last id decides (other consumers may have moved it).
  const groupName = w.extra[1]!;
  let error: string | null = null;
  if (!isStream) error = XBLOCK_ERR.keyDeleted;
  else {
    const g = groupOf(ks, e, groupName, 0, groupName.length);
    if (g === 0) error = XBLOCK_ERR.groupDeleted;
    else if (!groupHasNew(ks, e, g)) return;
  }
  if (!c.waiters.claim(w)) return;
  out.reset();
  out.proto = w.proto;
  if (error !== null) out.error(error);
  else {
    // The one-key command the consumer would send now: XREADGROUP GROUP g c [COUNT n] [NOACK] STREAMS key >
    const parts: Array<Uint8Array | string> = ['XREADGROUP', ...w.extra, kb, '>'];
    const args = argListOf(parts);
    runWith(c, args, out, () => {
      if (parseReadGroup(args) === null) xreadgroupServe(c, readArgs, false);
      else out.error(XBLOCK_ERR.groupDeleted);
    });
  }
  c.wake(w);
}

const I = 'internal' as const;

export const STREAM_BLOCKING_COMMANDS = [
  { name: '__xbtry', arity: -9, flags: ['write'], keys: null, group: I, since: '0.1.0', summary: 'Internal: a blocking XREAD or XREADGROUP tries its keys on one shard.', shard: xbtryCommand, hidden: true },
] as const satisfies readonly CommandSpec[];
