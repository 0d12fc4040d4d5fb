// Numbered databases (Redis's SELECT family in db.c): MOVE, SWAPDB, FLUSHALL and the checks every
// command naming a database shares. A shard holds one keyspace per database; the request frame
// carries the client's database, so these handlers only reach the *other* one (ctx.keyspaceOf).
// Cluster mode serves db 0 alone, with Redis's refusals. See docs/databases.md.

import type { CommandSpec, MainCall, ShardContext } from './types.js';
import { argInt } from './args.js';
import { ERR, shardOk } from '../core/errors.js';
import { keyEvent } from './shard-helpers.js';

/** `databases` when the settings predate it (tools, tests). */
const DEFAULT_DATABASES = 16;

/** Number of databases the shard serves (the `databases` option). */
export function databasesOf(c: ShardContext): number {
  return c.settings.databases ?? DEFAULT_DATABASES;
}

/** The database in argument i, or -1 after replying with Redis's error (not an integer, out of
 * range). */
export function dbArg(c: { args: ShardContext['args'] }, i: number, databases: number, error: (text: string) => void): number {
  const db = argInt(c.args, i);
  if (Number.isNaN(db)) {
    error(ERR.notInteger);
    return -1;
  }
  if (db < 0 || db >= databases) {
    error(ERR.dbIndexOutOfRange);
    return -1;
  }
  return db;
}

/** Copies entry e of the running command's keyspace to key argument ki of database `db` on this
 * shard, with its type and expiry (a deep copy through the value's portable image). */
export function cloneToDb(c: ShardContext, e: number, db: number, ki: number): void {
  const ks = c.ks;
  const dst = c.keyspaceOf(db);
  const a = c.args;
  ks.image(e);
  const img = Buffer.from(ks.imageBuf.subarray(ks.imageOff, ks.imageOff + ks.imageLen));
  dst.setImage(a.buf, a.off[ki]!, a.len[ki]!, ks.type(e), img, 0, img.length, ks.expireAt(e), ks.flags(e), ks.largeEncoding(e));
}

/** MOVE key db: as Redis 7.0's moveCommand (its checks in its order). */
function moveCommand(c: ShardContext): void {
  if (c.settings.scripts?.cluster === true) {
    c.out.error(ERR.moveInCluster);
    return;
  }
  const db = dbArg(c, 2, databasesOf(c), (t) => c.out.error(t));
  if (db < 0) return;
  if (db === c.db) {
    c.out.error(ERR.sameObject);
    return;
  }
  const a = c.args;
  const e = c.ks.find(a.buf, a.off[1]!, a.len[1]!);
  if (e === 0 || c.keyspaceOf(db).find(a.buf, a.off[1]!, a.len[1]!) !== 0) {
    c.out.integer(0);
    return;
  }
  cloneToDb(c, e, db, 1);
  c.ks.delete(a.buf, a.off[1]!, a.len[1]!);
  keyEvent(c, 'g', 'move_from', 1);
  c.notify('g', 'move_to', a.buf, a.off[1]!, a.len[1]!, db);
  c.out.integer(1);
}

/** SWAPDB index1 index2 (main thread): checked once, then every shard swaps its two keyspaces. */
async function swapdbCommand(m: MainCall): Promise<void> {
  if (m.server.cluster) {
    m.out.error(ERR.swapdbInCluster);
    return;
  }
  const n = m.server.config.values.databases;
  const a = argInt(m.args, 1);
  if (Number.isNaN(a)) return m.out.error(ERR.invalidFirstDb);
  const b = argInt(m.args, 2);
  if (Number.isNaN(b)) return m.out.error(ERR.invalidSecondDb);
  if (a < 0 || a >= n || b < 0 || b >= n) return m.out.error(ERR.dbIndexOutOfRange);
  if (a !== b) {
    const parts = await Promise.all(Array.from({ length: m.server.shardCount }, (_, s) => m.server.callShard(s, ['__swapdb', String(a), String(b)], 2)));
    for (const r of parts) shardOk(r);
  }
  m.out.ok();
}

/** __swapdb a b: this shard's part of SWAPDB. */
function shardSwapdbCommand(c: ShardContext): void {
  c.swapDbs(argInt(c.args, 1), argInt(c.args, 2));
  c.out.ok();
}

/** FLUSHALL [ASYNC|SYNC] on this shard: every database. */
export function flushallCommand(c: ShardContext): void {
  const a = c.args;
  if (a.argc > 2 || (a.argc === 2 && !isFlushMode(c))) {
    c.out.error(ERR.syntax);
    return;
  }
  c.flushAllDbs();
  c.out.ok();
}

function isFlushMode(c: ShardContext): boolean {
  const a = c.args;
  const s = Buffer.from(a.buf.subarray(a.off[1]!, a.off[1]! + a.len[1]!)).toString('latin1').toUpperCase();
  return s === 'ASYNC' || s === 'SYNC';
}

export const DATABASE_COMMANDS = [
  { name: 'move', arity: 3, flags: ['write', 'fast'], keys: { first: 1, last: 1, step: 1 }, group: 'generic', since: '1.0.0', summary: 'Moves a key to another database.', shard: moveCommand },
  { name: 'swapdb', arity: 3, flags: ['write', 'fast'], keys: null, group: 'server', since: '4.0.0', summary: 'Swaps two Redis databases.', main: swapdbCommand },
  { name: '__swapdb', arity: 3, flags: ['write'], keys: null, group: 'internal', since: '0', summary: 'internal', shard: shardSwapdbCommand, hidden: true },
] as const satisfies readonly CommandSpec[];
