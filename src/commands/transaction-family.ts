// MULTI, EXEC, DISCARD, WATCH, UNWATCH (Redis 7.0), and the shard operations behind them. Outside
// a transaction these commands run here on the main thread; inside one, the dispatcher hands every
// command to server/transactions.ts first, which queues it or runs EXEC/DISCARD. A transaction on
// one shard runs there as one `__exec` (watch check, then each command through ctx.execute,
// between beginAtomic/endAtomic); the others run under the shards' lock (server/transactions.ts).
// The shard side of WATCH is the keyspace's watch registry (keyspace/watch-registry.ts).

import type { ArgList, CommandSpec, MainCall, ShardContext } from './types.js';
import { argInt } from './args.js';
import { ERR } from '../core/errors.js';
import { timeoutFromText } from './blocking-family.js';
import { TYPE_LIST, TYPE_ZSET } from '../keyspace/keyspace.js';
import { watchRegistryOf } from '../keyspace/watch-registry.js';
import * as L from '../keyspace/list.js';
import * as Z from '../keyspace/zset.js';

// --- main thread, outside a transaction ---------------------------------------------------------

function multiCommand(m: MainCall): void {
  m.server.transactions.multi(m.conn);
  m.out.ok();
}

async function watchCommand(m: MainCall): Promise<void> {
  const a = m.args;
  const keys: Uint8Array[] = [];
  // Copies: the arguments are views into the receive buffer, which the await outlives.
  for (let i = 1; i < a.argc; i++) keys.push(Buffer.from(a.buf.subarray(a.off[i]!, a.off[i]! + a.len[i]!)));
  await m.server.transactions.watch(m.conn, keys);
  m.out.ok();
}

function unwatchCommand(m: MainCall): void {
  m.server.transactions.unwatch(m.conn);
  m.out.ok();
}

// --- shard side ---------------------------------------------------------------------------------

/** Scratch view of one queued command inside an `__exec` frame (no copy of its arguments). */
const sub: ArgList = { buf: new Uint8Array(0), off: new Int32Array(16), len: new Int32Array(16), argc: 0 };

/** __watch id key...: client id watches the keys; replies this registry's epoch. */
function shardWatch(c: ShardContext): void {
  const a = c.args;
  const id = argInt(a, 1);
  const reg = watchRegistryOf(c.ks);
  for (let i = 2; i < a.argc; i++) reg.watch(id, a.buf, a.off[i]!, a.len[i]!);
  c.out.integer(reg.epoch);
}

/** __unwatch id. */
function shardUnwatch(c: ShardContext): void {
  watchRegistryOf(c.ks).unwatch(argInt(c.args, 1));
  c.out.ok();
}

/** True when client id, which watched here in registry epoch `epoch` (0: watched nothing here),
 * may run its transaction; its watches here end either way (EXEC unwatches at once, as Redis). */
function watchClean(c: ShardContext, id: number, epoch: number): boolean {
  if (epoch === 0) return true;
  const reg = watchRegistryOf(c.ks);
  // Another incarnation of the shard: its watches died with the worker; nothing can be promised.
  const clean = reg.epoch === epoch && reg.clean(id);
  reg.unwatch(id);
  return clean;
}

/** __txcheck id epoch: `:1` when client id's watched keys here are unchanged, else `:0`. The
 * coordinator asks every watched shard, under their lock, before it runs anything. */
function shardTxCheck(c: ShardContext): void {
  c.out.integer(watchClean(c, argInt(c.args, 1), argInt(c.args, 2)) ? 1 : 0);
}

/** __exec id (cmd argc arg...)... epoch: a whole transaction on this shard. Replies EXEC's array
 * (or the null array when a watched key changed), each command run through ctx.execute with its
 * own checks (OOM, MISCONF) and logged as itself; blocked clients woken by its pushes are served
 * after the last command. */
function shardExec(c: ShardContext): void {
  const a = c.args;
  const out = c.out;
  const id = argInt(a, 1);
  const end = a.argc - 1;
  if (!watchClean(c, id, argInt(a, end))) {
    out.nilArray();
    return;
  }
  let n = 0;
  for (let i = 2; i < end; i += 2 + argInt(a, i + 1)) n++;
  out.array(n);
  c.beginAtomic();
  try {
    for (let i = 2; i < end; ) {
      const cmd = argInt(a, i);
      const argc = argInt(a, i + 1);
      if (sub.off.length < argc) {
        sub.off = new Int32Array(argc * 2);
        sub.len = new Int32Array(argc * 2);
      }
      for (let k = 0; k < argc; k++) {
        sub.off[k] = a.off[i + 2 + k]!;
        sub.len[k] = a.len[i + 2 + k]!;
      }
      sub.buf = a.buf;
      sub.argc = argc;
      c.execute(cmd, sub, out);
      i += 2 + argc;
    }
  } finally {
    c.endAtomic();
  }
}

/** __atomic 1|0: brackets the commands a coordinator runs here for one transaction, so that the
 * clients its pushes wake are served after the last one (ctx.beginAtomic / endAtomic). */
function shardAtomic(c: ShardContext): void {
  if (argInt(c.args, 1) === 1) c.beginAtomic();
  else c.endAtomic();
  c.out.ok();
}

// What __popnow pops (a blocking pop inside MULTI, which never blocks).
const POP_LEFT = 0;
const POP_RIGHT = 1;
const POP_ZMIN = 2;
const POP_ZMAX = 3;

/** __popnow op key...: BLPOP / BRPOP / BZPOPMIN / BZPOPMAX as Redis runs them inside MULTI (or a
 * script): the first key holding data is popped, no key -> the null array; a key of another type
 * -> WRONGTYPE. */
function shardPopNow(c: ShardContext): void {
  const a = c.args;
  const ks = c.ks;
  const out = c.out;
  const op = argInt(a, 1);
  const type = op >= POP_ZMIN ? TYPE_ZSET : TYPE_LIST;
  for (let i = 2; i < a.argc; i++) {
    const e = ks.find(a.buf, a.off[i]!, a.len[i]!);
    if (e === 0) continue;
    if (ks.type(e) !== type) {
      out.error(ERR.wrongType);
      return;
    }
    if (type === TYPE_LIST) {
      const h = L.listPop(ks, e, op === POP_RIGHT ? 1 : 0);
      out.array(2);
      out.bulk(a.buf, a.off[i]!, a.len[i]!);
      out.bulk(L.hitBuf, L.hitOff, L.hitLen);
      if (L.listLength(ks, h) === 0) ks.deleteEntry(h);
      return;
    }
    Z.zsetAt(ks, e, op === POP_ZMAX ? Z.zsetCount(ks, e) - 1 : 0);
    const member = Buffer.from(Z.hitBuf.subarray(Z.hitOff, Z.hitOff + Z.hitLen));
    const score = Z.score;
    out.array(3);
    out.bulk(a.buf, a.off[i]!, a.len[i]!);
    out.bulk(member, 0, member.length);
    out.double(score);
    Z.zsetRemove(ks, e, member, 0, member.length);
    const h = Z.removedHandle;
    if (Z.zsetCount(ks, h) === 0) ks.deleteEntry(h);
    return;
  }
  out.nilArray();
}

/** __popnow whose keys span shards (standalone mode, run by the transaction coordinator under the
 * shards' lock, so the walk is atomic): each run of keys on one shard in turn, in key order,
 * until one pops. */
async function popNowCrossShard(m: MainCall): Promise<void> {
  const a = m.args;
  const parts: Uint8Array[] = [];
  for (let i = 0; i < a.argc; i++) parts.push(Buffer.from(a.buf.subarray(a.off[i]!, a.off[i]! + a.len[i]!)));
  const shardOf = (k: Uint8Array): number => m.server.shardOfKey(k, 0, k.length);
  for (let i = 2; i < parts.length; ) {
    const s = shardOf(parts[i]!);
    let j = i + 1;
    while (j < parts.length && shardOf(parts[j]!) === s) j++;
    const r = await m.server.callShard(s, [...parts.slice(0, 2), ...parts.slice(i, j)], m.conn.proto, m.conn.db);
    // A pop or an error ends the walk; the null array goes on to the next shard.
    if (r[0] !== 95 && !(r[0] === 42 && r[1] === 45)) {
      m.out.raw(r, 0, r.length);
      return;
    }
    i = j;
  }
  m.out.nilArray();
}

/** The non-blocking form of a blocking command queued in MULTI: its arguments for the shards
 * (argument 0 the command to run), or null for a command that does not block. Redis runs a
 * blocking command inside a transaction as if its timeout had passed at once. */
export function nonBlockingForm(name: string, args: Uint8Array[]): Array<Uint8Array | string> | null {
  // Redis parses the timeout first: a bad one is the command's error, in place in EXEC's reply.
  const at = TIMEOUT_AT[name];
  if (at !== undefined) {
    const t = timeoutFromText(Buffer.from(args[at < 0 ? args.length + at : at] ?? '').toString('latin1'));
    if (typeof t === 'string') return ['__txerror', t];
  }
  const keysAndTimeout = (op: number): Array<Uint8Array | string> => ['__popnow', String(op), ...args.slice(1, -1)];
  switch (name) {
    case 'blpop':
      return keysAndTimeout(POP_LEFT);
    case 'brpop':
      return keysAndTimeout(POP_RIGHT);
    case 'bzpopmin':
      return keysAndTimeout(POP_ZMIN);
    case 'bzpopmax':
      return keysAndTimeout(POP_ZMAX);
    case 'blmove':
      return ['lmove', ...args.slice(1, 5)];
    case 'brpoplpush':
      return ['rpoplpush', ...args.slice(1, 3)];
    case 'blmpop':
      return ['lmpop', ...args.slice(2)];
    case 'bzmpop':
      return ['zmpop', ...args.slice(2)];
    default:
      return null;
  }
}

/** Where each blocking command's timeout is (negative: from the end). */
const TIMEOUT_AT: Record<string, number> = {
  blpop: -1, brpop: -1, bzpopmin: -1, bzpopmax: -1, blmove: 5, brpoplpush: 3, blmpop: 1, bzmpop: 1,
};

const T = 'generic' as const;
const I = 'internal' as const;
const TX_FLAGS = ['noscript', 'loading', 'stale', 'fast', 'allow-busy'] as const;

export const TRANSACTION_COMMANDS = [
  { name: 'multi', arity: 1, flags: TX_FLAGS, keys: null, group: T, since: '1.2.0', summary: 'Starts a transaction.', main: multiCommand },
  // Inside MULTI the dispatcher gives EXEC and DISCARD to the transactions module; here they are
  // only ever called outside one.
  { name: 'exec', arity: 1, flags: ['noscript', 'loading', 'stale', 'skip-slowlog'], keys: null, group: T, since: '1.2.0', summary: 'Executes all commands in a transaction.', main: (m) => m.out.error(ERR.execWithoutMulti) },
  { name: 'discard', arity: 1, flags: TX_FLAGS, keys: null, group: T, since: '2.0.0', summary: 'Discards a transaction.', main: (m) => m.out.error(ERR.discardWithoutMulti) },
  { name: 'watch', arity: -2, flags: TX_FLAGS, keys: { first: 1, last: -1, step: 1 }, group: T, since: '2.2.0', summary: 'Monitors changes to keys to determine the execution of a transaction.', main: watchCommand },
  { name: 'unwatch', arity: 1, flags: TX_FLAGS, keys: null, group: T, since: '2.2.0', summary: 'Forgets about watched keys of a transaction.', main: unwatchCommand },
  { name: '__watch', arity: -3, flags: [], keys: null, group: I, since: '0.1.0', summary: 'Internal: WATCH on one shard.', shard: shardWatch, hidden: true },
  { name: '__unwatch', arity: 2, flags: [], keys: null, group: I, since: '0.1.0', summary: 'Internal: UNWATCH on one shard.', shard: shardUnwatch, hidden: true },
  { name: '__txcheck', arity: 3, flags: [], keys: null, group: I, since: '0.1.0', summary: 'Internal: the watch check of a transaction run by the coordinator.', shard: shardTxCheck, hidden: true },
  { name: '__exec', arity: -3, flags: [], keys: null, group: I, since: '0.1.0', summary: 'Internal: a whole transaction on one shard.', shard: shardExec, hidden: true },
  { name: '__txerror', arity: 2, flags: [], keys: null, group: I, since: '0.1.0', summary: 'Internal: a queued command\'s own error, replied in place by EXEC.', main: (m) => m.out.error(Buffer.from(m.args.buf.subarray(m.args.off[1]!, m.args.off[1]! + m.args.len[1]!)).toString('latin1')), hidden: true },
  { name: '__atomic', arity: 2, flags: [], keys: null, group: I, since: '0.1.0', summary: 'Internal: begins or ends a transaction run by the coordinator.', shard: shardAtomic, hidden: true },
  { name: '__popnow', arity: -3, flags: ['write'], keys: { first: 2, last: -1, step: 1 }, group: I, since: '0.1.0', summary: 'Internal: a blocking pop inside MULTI.', shard: shardPopNow, crossShard: popNowCrossShard, hidden: true },
] as const satisfies readonly CommandSpec[];
