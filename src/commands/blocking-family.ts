// The blocking commands (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP), Redis 7.0
// semantics. The main thread parses the command and tries the keys' shards in key order
// (`__btry`): a shard with data claims the wait (runtime/wait-claims.ts) and pops at once; a shard
// without registers the client on its keys. Later, the command that creates one of those keys
// also serves its waiters, in the order they blocked, before the shard runs anything else
// (`__bserve`, run by the executor after every command that made a watched key ready). The reply
// reaches the client as a wake frame; a timeout, CLIENT UNBLOCK or a disconnect cancels the wait
// instead (server/blocked-clients.ts). Exactly one of them wins the claim.

import type { ArgList, CommandSpec, MainCall, ShardContext } from './types.js';
import { argInt, argIs, argString } from './args.js';
import { ERR } from '../core/errors.js';
import { TYPE_LIST, TYPE_ZSET } from '../keyspace/keyspace.js';
import { keySlot } from '../keyspace/slot.js';
import * as L from '../keyspace/list.js';
import * as Z from '../keyspace/zset.js';
import type { RespWriter } from '../protocol/resp-writer.js';
import { claimWait } from '../runtime/wait-claims.js';
import { latin1, type Waiter } from '../runtime/shard-waiters.js';
import { isStreamOp, serveStreamWaiter } from './stream-blocking.js';

// What a served wait does (Waiter.op).
const OP_LPOP = 0; // BLPOP / BRPOP: extra = [where]; reply [key, element]
const OP_LMPOP = 1; // BLMPOP: extra = [where, count]; reply [key, [elements]]
const OP_LMOVE = 2; // BLMOVE / BRPOPLPUSH, destination on this shard: extra = [dst, from, to]; reply element
const OP_LMOVE_OUT = 3; // the same with the destination on another shard: the main thread pushes; reply element
const OP_ZPOP = 4; // BZPOPMIN / BZPOPMAX: extra = [max]; reply [key, member, score]
const OP_ZMPOP = 5; // BZMPOP: extra = [max, count]; reply [key, [[member, score]...]]

const BLOCKED = Buffer.from('+__BLOCKED\r\n');
const TAKEN = Buffer.from('+__TAKEN\r\n');

function opType(op: number): number {
  return op >= OP_ZPOP ? TYPE_ZSET : TYPE_LIST;
}

// --- shard side ----------------------------------------------------------------------------------

/** A pop for the wait's op on the non-empty key e (type checked), its reply written to out.
 * Returns false when it could not run (a move whose destination holds another type). */
function serveOn(c: ShardContext, out: RespWriter, op: number, kb: Uint8Array, e: number, extra: readonly Uint8Array[]): boolean {
  const ks = c.ks;
  switch (op) {
    case OP_LPOP: {
      const where = extra[0]![0] === 1 ? 1 : 0;
      e = L.listPop(ks, e, where);
      out.array(2);
      out.bulk(kb, 0, kb.length);
      out.bulk(L.hitBuf, L.hitOff, L.hitLen);
      popEvents(c, kb, where === 1 ? 'rpop' : 'lpop', listEmptied(c, e));
      return true;
    }
    case OP_LMPOP: {
      const where = extra[0]![0] === 1 ? 1 : 0;
      const n = Math.min(Number(Buffer.from(extra[1]!).toString('latin1')), L.listLength(ks, e));
      out.array(2);
      out.bulk(kb, 0, kb.length);
      out.array(n);
      for (let i = 0; i < n; i++) {
        e = L.listPop(ks, e, where);
        out.bulk(L.hitBuf, L.hitOff, L.hitLen);
      }
      popEvents(c, kb, where === 1 ? 'rpop' : 'lpop', listEmptied(c, e));
      return true;
    }
    case OP_LMOVE: {
      const dst = extra[0]!;
      let d = ks.find(dst, 0, dst.length);
      if (d !== 0 && ks.type(d) !== TYPE_LIST) return false;
      e = L.listPop(ks, e, extra[1]![0] === 1 ? 1 : 0);
      // The element outlives the next list call: keep it.
      const el = Buffer.from(L.hitBuf.subarray(L.hitOff, L.hitOff + L.hitLen));
      const emptied = listEmptied(c, e);
      d = ks.find(dst, 0, dst.length);
      if (d === 0) d = L.listCreate(ks, dst, 0, dst.length);
      L.listPush(ks, d, extra[2]![0] === 1 ? 1 : 0, el, 0, el.length);
      // Redis's order (lmoveHandlePush first): the push on the destination, then the pop.
      c.notify('l', extra[2]![0] === 1 ? 'rpush' : 'lpush', dst, 0, dst.length);
      popEvents(c, kb, extra[1]![0] === 1 ? 'rpop' : 'lpop', emptied);
      out.bulk(el, 0, el.length);
      return true;
    }
    case OP_LMOVE_OUT: {
      e = L.listPop(ks, e, extra[1]![0] === 1 ? 1 : 0);
      out.bulk(L.hitBuf, L.hitOff, L.hitLen);
      popEvents(c, kb, extra[1]![0] === 1 ? 'rpop' : 'lpop', listEmptied(c, e));
      return true;
    }
    case OP_ZPOP: {
      const max = extra[0]![0] === 1;
      Z.zsetAt(ks, e, max ? Z.zsetCount(ks, e) - 1 : 0);
      out.array(3);
      out.bulk(kb, 0, kb.length);
      popEvents(c, kb, max ? 'zpopmax' : 'zpopmin', popMember(c, out, e) === 0, 'z');
      return true;
    }
    case OP_ZMPOP: {
      const max = extra[0]![0] === 1;
      const n = Math.min(Number(Buffer.from(extra[1]!).toString('latin1')), Z.zsetCount(ks, e));
      out.array(2);
      out.bulk(kb, 0, kb.length);
      out.array(n);
      for (let i = 0; i < n; i++) {
        Z.zsetAt(ks, e, max ? Z.zsetCount(ks, e) - 1 : 0);
        out.array(2);
        e = popMember(c, out, e);
        if (e === 0) break;
      }
      popEvents(c, kb, max ? 'zpopmax' : 'zpopmin', e === 0, 'z');
      return true;
    }
  }
  return false;
}

/** Deletes list e when the pop emptied it; true when it did. */
function listEmptied(c: ShardContext, e: number): boolean {
  if (L.listLength(c.ks, e) !== 0) return false;
  c.ks.deleteEntry(e);
  return true;
}

/** A served pop's events on key kb: the pop, then 'del' when the key was emptied. */
function popEvents(c: ShardContext, kb: Uint8Array, event: string, emptied: boolean, type = 'l'): void {
  c.notify(type, event, kb, 0, kb.length);
  if (emptied) c.notify('g', 'del', kb, 0, kb.length);
}

/** Replies member and score of the member zsetAt found and removes it; returns the handle, 0
 * when the set emptied (and its key was deleted). */
function popMember(c: ShardContext, out: RespWriter, e: number): number {
  const ks = c.ks;
  const m = Buffer.from(Z.hitBuf.subarray(Z.hitOff, Z.hitOff + Z.hitLen));
  const score = Z.score;
  out.bulk(m, 0, m.length);
  out.double(score);
  Z.zsetRemove(ks, e, m, 0, m.length);
  e = Z.removedHandle;
  if (Z.zsetCount(ks, e) === 0) {
    ks.deleteEntry(e);
    return 0;
  }
  return e;
}

function argBytes(a: ArgList, i: number): Uint8Array {
  return a.buf.subarray(a.off[i]!, a.off[i]! + a.len[i]!);
}

/** __btry slot gen op nkeys key... extra...: pops for the wait from the first of the keys that
 * holds data (claiming it first), or registers the wait on all of them. Replies the client's
 * reply, an error, +__BLOCKED (registered) or +__TAKEN (another shard served the wait). */
function btryCommand(c: ShardContext): void {
  const a = c.args;
  const ks = c.ks;
  const slot = argInt(a, 1);
  const gen = argInt(a, 2);
  const op = argInt(a, 3);
  const n = argInt(a, 4);
  const extra: Uint8Array[] = [];
  for (let i = 5 + n; i < a.argc; i++) extra.push(argBytes(a, i));
  const type = opType(op);
  for (let i = 5; i < 5 + n; i++) {
    const e = ks.find(a.buf, a.off[i]!, a.len[i]!);
    if (e === 0) continue;
    if (ks.type(e) !== type) {
      c.out.error(ERR.wrongType);
      return;
    }
    if (op === OP_LMOVE) {
      const dst = extra[0]!;
      const d = ks.find(dst, 0, dst.length);
      if (d !== 0 && ks.type(d) !== TYPE_LIST) {
        c.out.error(ERR.wrongType);
        return;
      }
    }
    if (!claimWait(c.waiters.claims, slot, gen)) {
      c.out.raw(TAKEN, 0, TAKEN.length);
      return;
    }
    ks.touch(e);
    serveOn(c, c.out, op, argBytes(a, i), e, extra);
    return;
  }
  const keys: string[] = [];
  for (let i = 5; i < 5 + n; i++) keys.push(latin1(a.buf, a.off[i]!, a.len[i]!));
  c.waiters.add({ slot, gen, proto: c.out.proto === 3 ? 3 : 2, op, keys, extra: extra.map((x) => Buffer.from(x)) });
  c.out.raw(BLOCKED, 0, BLOCKED.length);
}

/** __bserve: serves the clients blocked on the keys the last command made ready, per key in the
 * order they blocked, one pop each, while the key holds data of their type. */
function bserveCommand(c: ShardContext): void {
  const ws = c.waiters;
  const ks = c.ks;
  for (let key = ws.nextReady(); key !== undefined; key = ws.nextReady()) {
    const kb = Buffer.from(key, 'latin1');
    for (const w of ws.waitersOn(key)) {
      // XREAD / XREADGROUP waiters (stream-blocking.ts): served, or kept, by their own rules.
      if (isStreamOp(w.op)) {
        serveStreamWaiter(c, w, key, kb);
        continue;
      }
      const e = ks.find(kb, 0, kb.length);
      // Not break: a stream waiter further on may still be ended by the deletion.
      if (e === 0) continue;
      // A waiter for another type, or a move whose destination holds another type, stays
      // blocked (as Redis leaves it); the next in line is looked at.
      if (ks.type(e) !== opType(w.op) || (w.op === OP_LMOVE && !destinationOk(c, w))) continue;
      if (!ws.claim(w)) continue;
      const out = c.wakeOut;
      out.reset();
      out.proto = w.proto;
      serveOn(c, out, w.op, kb, e, w.extra);
      c.wake(w);
    }
  }
}

function destinationOk(c: ShardContext, w: Waiter): boolean {
  const dst = w.extra[0]!;
  const d = c.ks.find(dst, 0, dst.length);
  return d === 0 || c.ks.type(d) === TYPE_LIST;
}

/** __bcancel slot gen: the wait ended elsewhere; its registration here goes. */
function bcancelCommand(c: ShardContext): void {
  c.waiters.cancel(argInt(c.args, 1), argInt(c.args, 2));
  c.out.ok();
}

/** __bpush key where element: the push half of a BLMOVE whose destination is on this shard and
 * its source on another. */
function bpushCommand(c: ShardContext): void {
  const a = c.args;
  const ks = c.ks;
  let e = ks.find(a.buf, a.off[1]!, a.len[1]!);
  if (e !== 0 && ks.type(e) !== TYPE_LIST) {
    c.out.error(ERR.wrongType);
    return;
  }
  if (e === 0) e = L.listCreate(ks, a.buf, a.off[1]!, a.len[1]!);
  const where = a.buf[a.off[2]!] === 49 ? 1 : 0;
  e = L.listPush(ks, e, where, a.buf, a.off[3]!, a.len[3]!);
  c.notify('l', where === 1 ? 'rpush' : 'lpush', a.buf, a.off[1]!, a.len[1]!);
  c.out.integer(L.listLength(ks, e));
}

// --- main thread ---------------------------------------------------------------------------------

/** Redis's getTimeoutFromObjectOrReply in seconds: ms, or an error text. */
function parseTimeout(a: ArgList, i: number): number | string {
  return timeoutFromText(argString(a, i));
}

/** parseTimeout on a text (a blocking command queued in MULTI checks its timeout as Redis does). */
export function timeoutFromText(s: string): number | string {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return ERR.timeoutNotFloat;
  // Redis truncates seconds * 1000 to whole ms: a timeout under 1 ms blocks forever, as there.
  const ms = Math.trunc(Number(s) * 1000);
  // redis-server 7.0 converts the milliseconds to a long long unchecked: an infinite or too large
  // timeout comes out negative there (x86's conversion gives LLONG_MIN), so it says "negative".
  if (ms < 0 || !Number.isFinite(ms) || ms >= 2 ** 63) return ERR.timeoutNegative;
  if (ms > 2 ** 62) return ERR.timeoutOutOfRange;
  return ms;
}

/** LEFT/RIGHT as the where byte (0 head, 1 tail), or -1. */
function listWhere(a: ArgList, i: number): number {
  if (argIs(a, i, 'LEFT')) return 0;
  if (argIs(a, i, 'RIGHT')) return 1;
  return -1;
}

interface BlockRequest {
  op: number;
  keys: Buffer[];
  extra: Buffer[];
  timeoutMs: number;
  /** Timeout's reply: a null array, or a null bulk. */
  nullArray: boolean;
  /** A move whose destination is on another shard: where the main thread pushes the element. */
  moveOut?: { dst: Buffer; from: number; to: number };
}

function nullReply(proto: 2 | 3, array: boolean): Buffer {
  return Buffer.from(proto === 3 ? '_\r\n' : array ? '*-1\r\n' : '$-1\r\n');
}

function same(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && a.equals(b);
}

/** Runs a blocking request: tries the keys' shards in key order, then waits. */
async function runBlocking(m: MainCall, r: BlockRequest): Promise<void> {
  const server = m.server;
  const proto = m.conn.proto;
  const slots = server.cluster !== null ? r.keys.map((k) => keySlot(k, 0, k.length)) : [];
  let wait;
  try {
    wait = server.blocked.begin(m.conn, slots, nullReply(proto, r.nullArray));
  } catch {
    m.out.error(ERR.tooManyBlocked);
    return;
  }
  try {
    let reply: Buffer | null = null;
    let taken = false;
    for (let i = 0; i < r.keys.length && reply === null && !taken && wait.result === null; ) {
      const shard = server.shardOfKey(r.keys[i]!, 0, r.keys[i]!.length);
      let j = i + 1;
      while (j < r.keys.length && server.shardOfKey(r.keys[j]!, 0, r.keys[j]!.length) === shard) j++;
      const args: Array<Uint8Array | string> = ['__btry', String(wait.slot), String(wait.gen), String(r.op), String(j - i)];
      for (let k = i; k < j; k++) args.push(r.keys[k]!);
      args.push(...r.extra);
      const got = await server.callShard(shard, args, proto);
      if (same(got, BLOCKED)) wait.registered(shard);
      else if (same(got, TAKEN)) taken = true;
      else reply = got;
      i = j;
    }
    let final: Buffer;
    if (reply !== null && reply[0] !== 45) {
      final = reply; // served by the shard that claimed the wait
    } else if (reply !== null) {
      // An error (WRONGTYPE, a crashed shard): unless another shard claimed the wait meanwhile.
      final = wait.cancelWith(reply) ? reply : await wait.settle(0);
    } else {
      final = await wait.settle(r.timeoutMs);
    }
    if (r.moveOut !== undefined && final[0] === 36 && final[1] !== 45) final = await pushOut(m, r, final);
    m.out.raw(final, 0, final.length);
  } finally {
    wait.end();
  }
}

/** The push half of a BLMOVE across shards: the element (a bulk reply) goes to the destination;
 * if the destination refuses it (another type), it goes back where it came from. */
async function pushOut(m: MainCall, r: BlockRequest, bulk: Buffer): Promise<Buffer> {
  const mv = r.moveOut!;
  const nl = bulk.indexOf(13);
  const el = bulk.subarray(nl + 2, bulk.length - 2);
  const server = m.server;
  const pushed = await server.callShard(server.shardOfKey(mv.dst, 0, mv.dst.length), ['__bpush', mv.dst, String(mv.to), el], 2);
  if (pushed[0] !== 45) return bulk;
  const src = r.keys[0]!;
  await server.callShard(server.shardOfKey(src, 0, src.length), ['__bpush', src, String(mv.from), el], 2);
  return pushed;
}

/** BLPOP / BRPOP / BZPOPMIN / BZPOPMAX key [key ...] timeout: op with its one-byte side (0 the
 * head or the lowest score, 1 the tail or the highest). */
function popCommand(op: number, side: number) {
  return (m: MainCall): Promise<void> | void => {
    const a = m.args;
    const t = parseTimeout(a, a.argc - 1);
    if (typeof t === 'string') return m.out.error(t);
    const keys: Buffer[] = [];
    for (let i = 1; i < a.argc - 1; i++) keys.push(Buffer.from(argBytes(a, i)));
    return runBlocking(m, { op, keys, extra: [Buffer.from([side])], timeoutMs: t, nullArray: true });
  };
}

/** BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout, BRPOPLPUSH source destination timeout */
function moveCommand(m: MainCall, from: number, to: number, timeoutAt: number): Promise<void> | void {
  const a = m.args;
  const t = parseTimeout(a, timeoutAt);
  if (typeof t === 'string') return m.out.error(t);
  const src = Buffer.from(argBytes(a, 1));
  const dst = Buffer.from(argBytes(a, 2));
  const server = m.server;
  const here = server.shardOfKey(src, 0, src.length) === server.shardOfKey(dst, 0, dst.length);
  return runBlocking(m, {
    op: here ? OP_LMOVE : OP_LMOVE_OUT,
    keys: [src],
    extra: [dst, Buffer.from([from]), Buffer.from([to])],
    timeoutMs: t,
    // Redis 7.0 answers every timed-out list wait with a null array, BLMOVE's too.
    nullArray: true,
    moveOut: here ? undefined : { dst, from, to },
  });
}

function blmoveCommand(m: MainCall): Promise<void> | void {
  const a = m.args;
  const from = listWhere(a, 3);
  const to = listWhere(a, 4);
  if (from < 0 || to < 0) return m.out.error(ERR.syntax);
  return moveCommand(m, from, to, 5);
}

/** BLMPOP / BZMPOP timeout numkeys key [key ...] LEFT|RIGHT (MIN|MAX) [COUNT count]: Redis's
 * lmpopGenericCommand / zmpopGenericCommand parse (numkeys, then where, then COUNT, then the
 * timeout). */
function mpopCommand(zset: boolean) {
  return (m: MainCall): Promise<void> | void => {
    const a = m.args;
    const numkeys = argInt(a, 2);
    if (!(numkeys >= 1)) return m.out.error('ERR numkeys should be greater than 0');
    const whereAt = 2 + numkeys + 1;
    if (whereAt >= a.argc) return m.out.error(ERR.syntax);
    const where = zset ? (argIs(a, whereAt, 'MIN') ? 0 : argIs(a, whereAt, 'MAX') ? 1 : -1) : listWhere(a, whereAt);
    if (where < 0) return m.out.error(ERR.syntax);
    let count = -1;
    for (let j = whereAt + 1; j < a.argc; j++) {
      if (count === -1 && argIs(a, j, 'COUNT') && j + 1 < a.argc) {
        count = argInt(a, ++j);
        if (!(count >= 1)) return m.out.error(ERR.countAboveZero);
      } else {
        return m.out.error(ERR.syntax);
      }
    }
    if (count === -1) count = 1;
    const t = parseTimeout(a, 1);
    if (typeof t === 'string') return m.out.error(t);
    const keys: Buffer[] = [];
    for (let i = 3; i < 3 + numkeys; i++) keys.push(Buffer.from(argBytes(a, i)));
    return runBlocking(m, {
      op: zset ? OP_ZMPOP : OP_LMPOP,
      keys,
      extra: [Buffer.from([where]), Buffer.from(String(count))],
      timeoutMs: t,
      nullArray: true,
    });
  };
}

const LI = 'list' as const;
const ZS = 'zset' as const;
const I = 'internal' as const;

export const BLOCKING_COMMANDS = [
  { name: 'blpop', arity: -3, flags: ['write', 'noscript', 'blocking'], keys: { first: 1, last: -2, step: 1 }, group: LI, since: '2.0.0', summary: 'Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.', blocking: popCommand(OP_LPOP, 0) },
  { name: 'brpop', arity: -3, flags: ['write', 'noscript', 'blocking'], keys: { first: 1, last: -2, step: 1 }, group: LI, since: '2.0.0', summary: 'Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.', blocking: popCommand(OP_LPOP, 1) },
  { name: 'brpoplpush', arity: 4, flags: ['write', 'denyoom', 'noscript', 'blocking'], keys: { first: 1, last: 2, step: 1 }, group: LI, since: '2.2.0', summary: 'Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.', blocking: (m: MainCall) => moveCommand(m, 1, 0, 3) },
  { name: 'blmove', arity: 6, flags: ['write', 'denyoom', 'noscript', 'blocking'], keys: { first: 1, last: 2, step: 1 }, group: LI, since: '6.2.0', summary: 'Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.', blocking: blmoveCommand },
  { name: 'blmpop', arity: -5, flags: ['write', 'blocking'], keys: { first: 0, last: 0, step: 0, numkeysAt: 2 }, group: LI, since: '7.0.0', summary: 'Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.', blocking: mpopCommand(false) },
  { name: 'bzpopmin', arity: -3, flags: ['write', 'noscript', 'blocking', 'fast'], keys: { first: 1, last: -2, step: 1 }, group: ZS, since: '5.0.0', summary: 'Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.', blocking: popCommand(OP_ZPOP, 0) },
  { name: 'bzpopmax', arity: -3, flags: ['write', 'noscript', 'blocking', 'fast'], keys: { first: 1, last: -2, step: 1 }, group: ZS, since: '5.0.0', summary: 'Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.', blocking: popCommand(OP_ZPOP, 1) },
  { name: 'bzmpop', arity: -5, flags: ['write', 'blocking'], keys: { first: 0, last: 0, step: 0, numkeysAt: 2 }, group: ZS, since: '7.0.0', summary: 'Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.', blocking: mpopCommand(true) },
  { name: '__btry', arity: -6, flags: ['write'], keys: null, group: I, since: '0.1.0', summary: 'Internal: a blocking command tries its keys on one shard.', shard: btryCommand, hidden: true },
  { name: '__bserve', arity: 1, flags: [], keys: null, group: I, since: '0.1.0', summary: 'Internal: serves blocked clients on ready keys (run by the shard itself).', shard: bserveCommand, hidden: true },
  { name: '__bcancel', arity: 3, flags: [], keys: null, group: I, since: '0.1.0', summary: 'Internal: drops a blocked client registration.', shard: bcancelCommand, hidden: true },
  { name: '__bpush', arity: 4, flags: ['write'], keys: null, group: I, since: '0.1.0', summary: 'Internal: the push half of a cross-shard BLMOVE.', shard: bpushCommand, hidden: true },
] as const satisfies readonly CommandSpec[];
