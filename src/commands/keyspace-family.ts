// Generic keyspace commands (Redis db.c and expire.c): existence, deletion, expiry, renaming,
// iteration. Commands whose keys may span shards either merge partial replies (DEL, EXISTS) or
// run a coordinator that locks the shards involved (RENAME, COPY), so they stay atomic.

import type { CommandSpec, CrossShardSteps, MainCall, ShardContext, ShardStep } from './types.js';
import { crossShardHandler } from './cross-steps.js';
import { argIs, argInt, argCopy, argString } from './args.js';
import { ERR, shardOk } from '../core/errors.js';
import { readKey, writeKey, expireWhenFrom, keyEvent, expireOrDelete, type ExpireUnit } from './shard-helpers.js';
import { globMatch } from '../util/glob.js';
import { keySlot } from '../keyspace/slot.js';
import { imageError } from '../keyspace/image.js';
import { TYPE_LIST, TYPE_NAMES, TYPE_STREAM, TYPE_STRING, TYPE_ZSET, type ValueType } from '../keyspace/keyspace.js';
import { encodingName } from '../keyspace/collection.js';
import { listEncodingName } from '../keyspace/list.js';
import { zsetEncodingName } from '../keyspace/zset.js';
import { parseIntMember } from '../keyspace/pack.js';
import { cloneToDb, databasesOf, dbArg, flushallCommand } from './database-family.js';

function countKeys(c: ShardContext, del: boolean, touch: boolean): void {
  const a = c.args;
  let n = 0;
  for (let i = 1; i < a.argc; i++) {
    if (del) {
      if (c.ks.delete(a.buf, a.off[i]!, a.len[i]!)) {
        n++;
        keyEvent(c, 'g', 'del', i);
      }
    } else {
      const e = touch ? readKey(c, i) : c.ks.find(a.buf, a.off[i]!, a.len[i]!);
      if (e !== 0) n++;
      else if (!touch) keyEvent(c, 'm', 'keymiss', i); // EXISTS: Redis's read lookup (its keymiss)
    }
  }
  c.out.integer(n);
}

const EXP_NX = 1;
const EXP_XX = 2;
const EXP_GT = 4;
const EXP_LT = 8;

function expireGeneric(c: ShardContext, unit: ExpireUnit, name: string): void {
  const a = c.args;
  let flags = 0;
  for (let i = 3; i < a.argc; i++) {
    if (argIs(a, i, 'NX')) flags |= EXP_NX;
    else if (argIs(a, i, 'XX')) flags |= EXP_XX;
    else if (argIs(a, i, 'GT')) flags |= EXP_GT;
    else if (argIs(a, i, 'LT')) flags |= EXP_LT;
    else {
      c.out.error(ERR.unsupportedOption(argString(a, i)));
      return;
    }
  }
  if (flags & EXP_NX && flags & (EXP_XX | EXP_GT | EXP_LT)) {
    c.out.error(ERR.nxXxGtLt);
    return;
  }
  if (flags & EXP_GT && flags & EXP_LT) {
    c.out.error(ERR.gtAndLt);
    return;
  }
  const when = expireWhenFrom(c, unit, 2, name);
  if (Number.isNaN(when)) return;
  const e = writeKey(c, 1);
  if (e === 0) {
    c.out.integer(0);
    return;
  }
  const cur = c.ks.expireAt(e);
  if (
    (flags & EXP_NX && cur !== 0) ||
    (flags & EXP_XX && cur === 0) ||
    (flags & EXP_GT && (cur === 0 || when <= cur)) ||
    (flags & EXP_LT && cur !== 0 && when >= cur)
  ) {
    c.out.integer(0);
    return;
  }
  expireOrDelete(c, e, when, 1);
  c.out.integer(1);
}

function ttlGeneric(c: ShardContext, ms: boolean, abs: boolean): void {
  const e = c.ks.find(c.args.buf, c.args.off[1]!, c.args.len[1]!);
  if (e === 0) {
    keyEvent(c, 'm', 'keymiss', 1);
    c.out.integer(-2);
    return;
  }
  const at = c.ks.expireAt(e);
  if (at === 0) {
    c.out.integer(-1);
    return;
  }
  let t = abs ? at : Math.max(0, at - c.ks.now);
  if (!ms) t = Math.floor((t + 500) / 1000);
  c.out.integer(t);
}

function persistCommand(c: ShardContext): void {
  const e = writeKey(c, 1);
  if (e === 0 || c.ks.expireAt(e) === 0) {
    c.out.integer(0);
    return;
  }
  c.ks.setExpireAt(e, 0);
  keyEvent(c, 'g', 'persist', 1);
  c.out.integer(1);
}

function typeCommand(c: ShardContext): void {
  const e = c.ks.find(c.args.buf, c.args.off[1]!, c.args.len[1]!);
  if (e === 0) keyEvent(c, 'm', 'keymiss', 1);
  c.out.simple(e === 0 ? 'none' : TYPE_NAMES[c.ks.type(e)]!);
}

function sameArg(c: ShardContext, i: number, j: number): boolean {
  const a = c.args;
  const n = a.len[i]!;
  if (n !== a.len[j]) return false;
  for (let k = 0; k < n; k++) if (a.buf[a.off[i]! + k] !== a.buf[a.off[j]! + k]) return false;
  return true;
}

/** Copies entry e to the key in argument ki with its type and expiry (a deep copy: a large
 * collection goes through its portable image). */
function cloneTo(c: ShardContext, e: number, ki: number): void {
  const ks = c.ks;
  const a = c.args;
  ks.image(e);
  // Copied out: the write below may move the arena's bytes, and a snapshot's copy-on-write of the
  // destination reuses the keyspace's image buffer.
  const img = Buffer.from(ks.imageBuf.subarray(ks.imageOff, ks.imageOff + ks.imageLen));
  // A large encoding stays large (Redis's RENAME moves the object, COPY duplicates it).
  ks.setImage(a.buf, a.off[ki]!, a.len[ki]!, ks.type(e), img, 0, img.length, ks.expireAt(e), 0, ks.largeEncoding(e));
}

function renameGeneric(c: ShardContext, nx: boolean): void {
  const src = writeKey(c, 1);
  if (src === 0) {
    c.out.error(ERR.noSuchKey);
    return;
  }
  if (sameArg(c, 1, 2)) {
    if (nx) c.out.integer(0);
    else c.out.ok();
    return;
  }
  if (nx && writeKey(c, 2) !== 0) {
    c.out.integer(0);
    return;
  }
  // The destination is deleted first and created again, as Redis's dbDelete + dbAdd (its 'new').
  const e = deleteOther(c, 2, src);
  cloneTo(c, e, 2);
  c.ks.delete(c.args.buf, c.args.off[1]!, c.args.len[1]!);
  keyEvent(c, 'g', 'rename_from', 1);
  keyEvent(c, 'g', 'rename_to', 2);
  if (nx) c.out.integer(1);
  else c.out.ok();
}

/** Deletes the key in argument ki (another key than entry e's); returns e's handle afterwards
 * (a delete may move entries: looked up again by its key when something was deleted). */
function deleteOther(c: ShardContext, ki: number, e: number): number {
  const a = c.args;
  if (!c.ks.delete(a.buf, a.off[ki]!, a.len[ki]!)) return e;
  return c.ks.find(a.buf, a.off[1]!, a.len[1]!);
}

/** COPY options; null after replying with an error. */
/** COPY options; db is the destination database (-1: the client's). */
function copyOptions(m: { args: ShardContext['args']; error: (t: string) => void }, databases: number): { replace: boolean; db: number } | null {
  const a = m.args;
  let replace = false;
  let db = -1;
  for (let i = 3; i < a.argc; i++) {
    if (argIs(a, i, 'REPLACE')) replace = true;
    else if (argIs(a, i, 'DB') && i + 1 < a.argc) {
      db = dbArg(m, ++i, databases, m.error);
      if (db < 0) return null;
    } else {
      m.error(ERR.syntax);
      return null;
    }
  }
  return { replace, db };
}

function copyCommand(c: ShardContext): void {
  const opts = copyOptions({ args: c.args, error: (t) => c.out.error(t) }, databasesOf(c));
  if (!opts) return;
  const db = opts.db < 0 ? c.db : opts.db;
  if (db !== c.db && c.settings.scripts?.cluster === true) {
    c.out.error(ERR.copyDbInCluster);
    return;
  }
  if (db === c.db && sameArg(c, 1, 2)) {
    c.out.error(ERR.sameObject);
    return;
  }
  const src = writeKey(c, 1);
  if (db !== c.db) {
    // Another database of this shard: the destination key lives in its keyspace.
    const a = c.args;
    const dst = c.keyspaceOf(db);
    if (src === 0 || (!opts.replace && dst.find(a.buf, a.off[2]!, a.len[2]!) !== 0)) {
      c.out.integer(0);
      return;
    }
    dst.delete(a.buf, a.off[2]!, a.len[2]!);
    cloneToDb(c, src, db, 2);
    c.notify('g', 'copy_to', a.buf, a.off[2]!, a.len[2]!, db);
    c.out.integer(1);
    return;
  }
  if (src === 0 || (!opts.replace && writeKey(c, 2) !== 0)) {
    c.out.integer(0);
    return;
  }
  cloneTo(c, deleteOther(c, 2, src), 2);
  keyEvent(c, 'g', 'copy_to', 2);
  c.out.integer(1);
}

// --- internal operations for cross-shard coordinators ---------------------------------------------
// An entry travels as a payload: type u8, expire-at f64 (little-endian ms, 0 = none), value bytes.

/** Internal entry payload (__dump, __restore, slot migration): type byte, expire-at float64 LE, value. */
export const PAYLOAD_HEADER = 9;

const payloadHead = Buffer.alloc(PAYLOAD_HEADER);

/** Payload type byte flag (`__dump key ENC` only): the value was in its large encoding, and
 * `__restore` keeps it so (cross-shard RENAME and COPY keep a value's encoding). */
const PAYLOAD_LARGE = 0x80;

/** Replies with entry e's internal payload as a bulk string (markLarge: see PAYLOAD_LARGE). */
export function replyPayload(c: ShardContext, e: number, markLarge = false): void {
  const ks = c.ks;
  ks.image(e);
  const vlen = ks.imageLen;
  payloadHead[0] = ks.type(e) | (markLarge && ks.largeEncoding(e) ? PAYLOAD_LARGE : 0);
  payloadHead.writeDoubleLE(ks.expireAt(e), 1);
  c.out.ascii(`$${PAYLOAD_HEADER + vlen}\r\n`);
  c.out.raw(payloadHead, 0, PAYLOAD_HEADER);
  c.out.raw(ks.imageBuf, ks.imageOff, vlen);
  c.out.ascii('\r\n');
}


/** __dump key [DEL] [ENC]: the entry's payload (nil when absent), deleting it with DEL, its
 * encoding marked with ENC. */
function dumpCommand(c: ShardContext): void {
  const e = writeKey(c, 1);
  if (e === 0) {
    c.out.nil();
    return;
  }
  const a = c.args;
  let del = false;
  let enc = false;
  for (let i = 2; i < a.argc; i++) {
    if (argIs(a, i, 'DEL')) del = true;
    else if (argIs(a, i, 'ENC')) enc = true;
  }
  replyPayload(c, e, enc);
  if (del) c.ks.deleteEntry(e);
}

/** __restore key payload REPLACE|NX: writes the entry; :1 when written, :0 when NX found a key. */
function restoreCommand(c: ShardContext): void {
  const a = c.args;
  const nx = argIs(a, 3, 'NX');
  if (nx && writeKey(c, 1) !== 0) {
    c.out.integer(0);
    return;
  }
  const p = a.off[2]!;
  const type = (a.buf[p]! & ~PAYLOAD_LARGE) as ValueType;
  const keepLarge = (a.buf[p]! & PAYLOAD_LARGE) !== 0;
  if (a.len[2]! < PAYLOAD_HEADER || imageError(type, a.buf, p + PAYLOAD_HEADER, a.len[2]! - PAYLOAD_HEADER) !== null) {
    c.out.error(ERR.badDataFormat);
    return;
  }
  const expireAt = new DataView(a.buf.buffer, a.buf.byteOffset + p + 1, 8).getFloat64(0, true);
  // REPLACE deletes first (RENAME and COPY across shards: the destination is new again, as Redis).
  if (!nx) c.ks.delete(a.buf, a.off[1]!, a.len[1]!);
  if (expireAt !== 0 && expireAt <= c.ks.now) c.ks.delete(a.buf, a.off[1]!, a.len[1]!);
  else c.ks.setImage(a.buf, a.off[1]!, a.len[1]!, type, a.buf, p + PAYLOAD_HEADER, a.len[2]! - PAYLOAD_HEADER, expireAt, 0, keepLarge);
  c.out.integer(1);
}

/** __event <class> <event> <key> [DEL]: a keyspace event for a cross-shard coordinator (RENAME,
 * COPY, SMOVE... across shards emit the events they would on one shard, in its order), deleting
 * the key first with DEL (no event of its own). Replies :1 when DEL deleted the key, else :0. */
function eventCommand(c: ShardContext): void {
  const a = c.args;
  let n = 0;
  if (a.argc > 4 && argIs(a, 4, 'DEL') && c.ks.delete(a.buf, a.off[3]!, a.len[3]!)) n = 1;
  c.notify(argString(a, 1), argString(a, 2), a.buf, a.off[3]!, a.len[3]!);
  c.out.integer(n);
}

/** A coordinator's view of a shard reply: nil (RESP2 or RESP3). */
export function isNil(r: Buffer): boolean {
  return r[0] === 95 || (r[0] === 36 && r[1] === 45);
}

/** The bytes of a bulk-string shard reply. */
export function bulkBody(r: Buffer): Buffer {
  const nl = r.indexOf(10);
  return r.subarray(nl + 1, r.length - 2);
}

/** Tries of one idempotent step of a locked cross-shard command whose shard crashes under it. */
const CRASH_RETRIES_MAX = 3;

/** Runs an idempotent shard call as a step (cross-steps.ts), again if the shard crashed while
 * running it (it restarts on its memory, so whether the first try took effect does not matter);
 * other errors are thrown. */
function* stepSurvivingCrash(shard: number, args: Array<Uint8Array | string>): Generator<ShardStep, Buffer, Buffer> {
  const crashed = `-${ERR.shardCrashed(shard)}`;
  for (let attempt = 1; ; attempt++) {
    const r = yield { shard, args };
    if (attempt < CRASH_RETRIES_MAX && r[0] === 45 && r.toString('latin1', 0, crashed.length) === crashed) continue;
    return shardOk(r);
  }
}

/** RENAME / RENAMENX with the two keys on two shards, as steps: run by the command itself and by
 * a script that spans shards. */
function renameSteps(nx: boolean): CrossShardSteps {
  return (server, a, out) => {
    const key = argCopy(a, 1);
    const dst = argCopy(a, 2);
    const s1 = server.shardOfKey(key, 0, key.length);
    const s2 = server.shardOfKey(dst, 0, dst.length);
    function* steps(): Generator<ShardStep, void, Buffer> {
      const peek = shardOk(yield { shard: s1, args: ['__dump', key] });
      if (isNil(peek)) return out.error(ERR.noSuchKey);
      if (nx && shardOk(yield { shard: s2, args: ['exists', dst] }).toString('latin1') !== ':0\r\n') return out.integer(0);
      // Copy first, then delete the source, each step repeated if its shard crashed under it: a
      // crash keeps the shard's memory, and both steps are idempotent while the shards are locked,
      // so the value ends in exactly one place (a DUMP with DEL lost it when the crash came between
      // the delete and the restore).
      const payload = bulkBody(yield* stepSurvivingCrash(s1, ['__dump', key, 'ENC']));
      yield* stepSurvivingCrash(s2, ['__restore', dst, payload, 'REPLACE']);
      // The events come in one shard's order: rename_from (with the delete), then rename_to.
      yield* stepSurvivingCrash(s1, ['__event', 'g', 'rename_from', key, 'DEL']);
      yield* stepSurvivingCrash(s2, ['__event', 'g', 'rename_to', dst]);
      if (nx) out.integer(1);
      else out.ok();
    }
    return { shards: [s1, s2], steps: steps() };
  };
}

const RENAME_STEPS = renameSteps(false);
const RENAMENX_STEPS = renameSteps(true);

async function copyCrossShard(m: MainCall): Promise<void> {
  const { server, args: a, conn } = m;
  const opts = copyOptions({ args: a, error: (t) => m.out.error(t) }, server.config.values.databases);
  if (!opts) return;
  const db = opts.db < 0 ? conn.db : opts.db;
  if (db !== conn.db && server.cluster) return m.out.error(ERR.copyDbInCluster);
  const key = argCopy(a, 1);
  const dst = argCopy(a, 2);
  const s1 = server.shardOfKey(key, 0, key.length);
  const s2 = server.shardOfKey(dst, 0, dst.length);
  await server.withShardsLocked([s1, s2], async (call) => {
    const r = shardOk(await call(s1, ['__dump', key, 'ENC'], conn.proto));
    if (isNil(r)) {
      m.out.integer(0);
      return;
    }
    const w = shardOk(await call(s2, ['__restore', dst, bulkBody(r), opts.replace ? 'REPLACE' : 'NX'], conn.proto, db));
    const copied = w.toString('latin1') === ':1\r\n';
    if (copied) shardOk(await call(s2, ['__event', 'g', 'copy_to', dst], conn.proto, db));
    m.out.integer(copied ? 1 : 0);
  });
}

// --- iteration -------------------------------------------------------------------------------------

function matchesFilters(c: ShardContext, e: number, patIdx: number, typeName: string | null): boolean {
  const ks = c.ks;
  if (typeName !== null && TYPE_NAMES[ks.type(e)] !== typeName) return false;
  if (patIdx < 0) return true;
  const a = c.args;
  return globMatch(a.buf, a.off[patIdx]!, a.len[patIdx]!, ks.bytes(), ks.keyOffset(e), ks.keyLength(e), false);
}

function keysCommand(c: ShardContext): void {
  const ks = c.ks;
  const all = c.args.len[1] === 1 && c.args.buf[c.args.off[1]!] === 42;
  const found: number[] = [];
  let cursor = 0;
  do {
    cursor = ks.scan(cursor, 1024, (e) => {
      if (ks.expireAt(e) !== 0 && ks.expireAt(e) <= ks.now) return;
      if (all || matchesFilters(c, e, 1, null)) found.push(e);
    });
  } while (cursor !== 0);
  c.out.array(found.length);
  for (const e of found) c.out.bulk(ks.bytes(), ks.keyOffset(e), ks.keyLength(e));
}

/** __scan cursor count [MATCH pattern] [TYPE type] on one shard: [next cursor, keys]. */
function shardScanCommand(c: ShardContext): void {
  const a = c.args;
  const ks = c.ks;
  const cursor = argInt(a, 1);
  const count = argInt(a, 2);
  let patIdx = -1;
  let typeName: string | null = null;
  for (let i = 3; i + 1 < a.argc; i += 2) {
    if (argIs(a, i, 'MATCH')) patIdx = i + 1;
    else if (argIs(a, i, 'TYPE')) typeName = argString(a, i + 1).toLowerCase();
  }
  const found: number[] = [];
  const next = ks.scan(cursor, count, (e) => {
    if (ks.expireAt(e) !== 0 && ks.expireAt(e) <= ks.now) return;
    if (matchesFilters(c, e, patIdx, typeName)) found.push(e);
  });
  c.out.array(2);
  c.out.bulkString(String(next));
  c.out.array(found.length);
  for (const e of found) c.out.bulk(ks.bytes(), ks.keyOffset(e), ks.keyLength(e));
}

function parseUnsigned(s: string): number {
  return /^[0-9]+$/.test(s) ? Number(s) : NaN;
}

/** SCAN over all shards: the cursor is shardCursor * shards + shard, so it names where to resume. */
async function scanCommand(m: MainCall): Promise<void> {
  const { server, args: a, conn } = m;
  const cursor = parseUnsigned(argString(a, 1));
  if (!Number.isSafeInteger(cursor)) {
    m.out.error(ERR.invalidCursor);
    return;
  }
  let count = 10;
  const rest: Array<Buffer | string> = [];
  for (let i = 2; i < a.argc; i++) {
    if (argIs(a, i, 'COUNT') && i + 1 < a.argc) {
      count = argInt(a, ++i);
      if (Number.isNaN(count)) {
        m.out.error(ERR.notInteger);
        return;
      }
      if (count < 1) {
        m.out.error(ERR.syntax);
        return;
      }
    } else if ((argIs(a, i, 'MATCH') || argIs(a, i, 'TYPE')) && i + 1 < a.argc) {
      rest.push(argCopy(a, i), argCopy(a, i + 1));
      i++;
    } else {
      m.out.error(ERR.syntax);
      return;
    }
  }
  const n = server.shardCount;
  let shard = cursor % n;
  let shardCursor = Math.floor(cursor / n);
  const r = shardOk(await server.callShard(shard, ['__scan', String(shardCursor), String(count), ...rest], conn.proto, conn.db));
  // Reply shape: *2 $len next *k keys...; re-encode the cursor globally.
  const text = r.toString('latin1');
  const m1 = /^\*2\r\n\$\d+\r\n(\d+)\r\n/.exec(text);
  if (!m1) {
    m.out.raw(r, 0, r.length);
    return;
  }
  shardCursor = Number(m1[1]);
  let next: number;
  if (shardCursor !== 0) next = shardCursor * n + shard;
  else if (++shard < n) next = shard;
  else next = 0;
  m.out.array(2);
  m.out.bulkString(String(next));
  const keysPart = r.subarray(m1[0].length);
  m.out.raw(keysPart, 0, keysPart.length);
}

async function randomkeyCommand(m: MainCall): Promise<void> {
  const n = m.server.shardCount;
  const start = Math.floor(Math.random() * n);
  for (let k = 0; k < n; k++) {
    const r = shardOk(await m.server.callShard((start + k) % n, ['__randomkey'], m.conn.proto, m.conn.db));
    if (!isNil(r)) {
      m.out.raw(r, 0, r.length);
      return;
    }
  }
  m.out.nil();
}

function shardRandomkeyCommand(c: ShardContext): void {
  const ks = c.ks;
  for (let tries = 0; tries < 100; tries++) {
    const e = ks.randomEntry();
    if (e === 0) break;
    if (ks.expireAt(e) !== 0 && ks.expireAt(e) <= ks.now) {
      if (ks.onExpire !== null) ks.onExpire(e);
      ks.deleteEntry(e);
      continue;
    }
    c.out.bulk(ks.bytes(), ks.keyOffset(e), ks.keyLength(e));
    return;
  }
  c.out.nil();
}

function flushCommand(c: ShardContext): void {
  const a = c.args;
  if (a.argc > 2 || (a.argc === 2 && !argIs(a, 1, 'ASYNC') && !argIs(a, 1, 'SYNC'))) {
    c.out.error(ERR.syntax);
    return;
  }
  c.ks.flush();
  c.out.ok();
}

// --- OBJECT -------------------------------------------------------------------------------

/** Redis's string encodings, from the value (Redis also keeps "raw" for strings that APPEND or
 * SETRANGE wrote; Tessera does not remember how a value was written). */
function stringEncoding(c: ShardContext, e: number): string {
  const ks = c.ks;
  const len = ks.valueLength(e);
  if (len <= 20 && !Number.isNaN(parseIntMember(ks.bytes(), ks.valueOffset(e), len))) return 'int';
  return len <= 44 ? 'embstr' : 'raw';
}

const LFU_POLICIES = new Set(['allkeys-lfu', 'volatile-lfu']);

/** __object subcommand key: OBJECT's per-key subcommands, on the key's shard. */
function shardObjectCommand(c: ShardContext): void {
  const a = c.args;
  const e = c.ks.find(a.buf, a.off[2]!, a.len[2]!);
  if (e === 0) {
    c.out.nil();
    return;
  }
  const lfu = LFU_POLICIES.has(c.settings.maxmemoryPolicy);
  if (argIs(a, 1, 'ENCODING')) {
    const type = c.ks.type(e);
    c.out.bulkString(type === TYPE_STRING ? stringEncoding(c, e) : type === TYPE_LIST ? listEncodingName(c.ks, e) : type === TYPE_ZSET ? zsetEncodingName(c.ks, e) : type === TYPE_STREAM ? 'stream' : encodingName(c.ks, e));
  } else if (argIs(a, 1, 'FREQ')) {
    if (!lfu) c.out.error(ERR.lfuNotSelected);
    else c.out.integer(c.ks.lfuFrequency(e));
  } else if (argIs(a, 1, 'IDLETIME')) {
    if (lfu) c.out.error(ERR.lruNotSelected);
    else c.out.integer(c.ks.idleTimeSec(e));
  } else c.out.integer(1); // REFCOUNT: nothing is shared
}

const OBJECT_HELP = [
  'OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'ENCODING <key>',
  '    Return the kind of internal representation used in order to store the value',
  '    associated with a <key>.',
  'FREQ <key>',
  '    Return the access frequency index of the <key>. The returned integer is',
  '    proportional to the logarithm of the recent access frequency of the key.',
  'IDLETIME <key>',
  '    Return the idle time of the <key>, that is the approximated number of',
  '    seconds elapsed since the last access to the key.',
  'REFCOUNT <key>',
  '    Return the number of references of the value associated with the specified',
  '    <key>.',
  'HELP',
  '    Prints this help.',
];

/** In cluster mode, a key of a slot this node does not serve answers -MOVED, as Redis's router
 * does for OBJECT and MEMORY USAGE (they run here on the main thread, beside the slot router).
 * Returns true after replying so. */
export function movedElsewhere(m: MainCall, key: Buffer): boolean {
  const cluster = m.server.cluster;
  if (cluster === null) return false;
  const slot = keySlot(key, 0, key.length);
  if (cluster.ownsSlot(slot)) return false;
  const addr = cluster.slotAddress(slot, !m.conn.tls);
  m.out.error(addr === null ? ERR.clusterDownUnbound : ERR.moved(slot, addr));
  return true;
}

async function objectCommand(m: MainCall): Promise<void> {
  if (argIs(m.args, 1, 'HELP')) {
    m.out.array(OBJECT_HELP.length);
    for (const line of OBJECT_HELP) m.out.simple(line);
    return;
  }
  const sub = argString(m.args, 1);
  const key = argCopy(m.args, 2);
  if (movedElsewhere(m, key)) return;
  const r = shardOk(await m.server.callShard(m.server.shardOfKey(key, 0, key.length), ['__object', sub, key], m.conn.proto, m.conn.db));
  m.out.raw(r, 0, r.length);
}

const G = 'generic' as const;
const I = 'internal' as const;
const ONE_KEY = { first: 1, last: 1, step: 1 };
const TWO_KEYS = { first: 1, last: 2, step: 1 };
const ALL_KEYS = { first: 1, last: -1, step: 1 };

export const KEYSPACE_COMMANDS = [
  { name: 'del', arity: -2, flags: ['write'], keys: ALL_KEYS, group: G, since: '1.0.0', summary: 'Deletes one or more keys.', shard: (c) => countKeys(c, true, false), merge: 'sum' },
  { name: 'unlink', arity: -2, flags: ['write', 'fast'], keys: ALL_KEYS, group: G, since: '4.0.0', summary: 'Asynchronously deletes one or more keys.', shard: (c) => countKeys(c, true, false), merge: 'sum' },
  { name: 'exists', arity: -2, flags: ['readonly', 'fast'], keys: ALL_KEYS, group: G, since: '1.0.0', summary: 'Determines whether one or more keys exist.', shard: (c) => countKeys(c, false, false), merge: 'sum' },
  { name: 'touch', arity: -2, flags: ['readonly', 'fast'], keys: ALL_KEYS, group: G, since: '3.2.1', summary: 'Returns the number of existing keys out of those specified after updating the time they were last accessed.', shard: (c) => countKeys(c, false, true), merge: 'sum' },
  { name: 'expire', arity: -3, flags: ['write', 'fast'], keys: ONE_KEY, group: G, since: '1.0.0', summary: 'Sets the expiration time of a key in seconds.', shard: (c) => expireGeneric(c, 'EX', 'expire') },
  { name: 'pexpire', arity: -3, flags: ['write', 'fast'], keys: ONE_KEY, group: G, since: '2.6.0', summary: 'Sets the expiration time of a key in milliseconds.', shard: (c) => expireGeneric(c, 'PX', 'pexpire') },
  { name: 'expireat', arity: -3, flags: ['write', 'fast'], keys: ONE_KEY, group: G, since: '1.2.0', summary: 'Sets the expiration time of a key to a Unix timestamp.', shard: (c) => expireGeneric(c, 'EXAT', 'expireat') },
  { name: 'pexpireat', arity: -3, flags: ['write', 'fast'], keys: ONE_KEY, group: G, since: '2.6.0', summary: 'Sets the expiration time of a key to a Unix milliseconds timestamp.', shard: (c) => expireGeneric(c, 'PXAT', 'pexpireat') },
  { name: 'ttl', arity: 2, flags: ['readonly', 'fast', 'random'], keys: ONE_KEY, group: G, since: '1.0.0', summary: 'Returns the expiration time in seconds of a key.', shard: (c) => ttlGeneric(c, false, false) },
  { name: 'pttl', arity: 2, flags: ['readonly', 'fast', 'random'], keys: ONE_KEY, group: G, since: '2.6.0', summary: 'Returns the expiration time in milliseconds of a key.', shard: (c) => ttlGeneric(c, true, false) },
  { name: 'expiretime', arity: 2, flags: ['readonly', 'fast'], keys: ONE_KEY, group: G, since: '7.0.0', summary: 'Returns the expiration time of a key as a Unix timestamp.', shard: (c) => ttlGeneric(c, false, true) },
  { name: 'pexpiretime', arity: 2, flags: ['readonly', 'fast'], keys: ONE_KEY, group: G, since: '7.0.0', summary: 'Returns the expiration time of a key as a Unix milliseconds timestamp.', shard: (c) => ttlGeneric(c, true, true) },
  { name: 'persist', arity: 2, flags: ['write', 'fast'], keys: ONE_KEY, group: G, since: '2.2.0', summary: 'Removes the expiration time of a key.', shard: persistCommand },
  { name: 'type', arity: 2, flags: ['readonly', 'fast'], keys: ONE_KEY, group: G, since: '1.0.0', summary: 'Determines the type of value stored at a key.', shard: typeCommand },
  { name: 'rename', arity: 3, flags: ['write'], keys: TWO_KEYS, group: G, since: '1.0.0', summary: 'Renames a key and overwrites the destination.', shard: (c) => renameGeneric(c, false), crossShard: crossShardHandler(RENAME_STEPS), crossShardSteps: RENAME_STEPS },
  { name: 'renamenx', arity: 3, flags: ['write', 'fast'], keys: TWO_KEYS, group: G, since: '1.0.0', summary: 'Renames a key only when the target key name doesn\'t exist.', shard: (c) => renameGeneric(c, true), crossShard: crossShardHandler(RENAMENX_STEPS), crossShardSteps: RENAMENX_STEPS },
  { name: 'copy', arity: -3, flags: ['write', 'denyoom'], keys: TWO_KEYS, group: G, since: '6.2.0', summary: 'Copies the value of a key to a new key.', shard: copyCommand, crossShard: copyCrossShard },
  { name: 'keys', arity: 2, flags: ['readonly'], keys: null, group: G, since: '1.0.0', summary: 'Returns all key names that match a pattern.', shard: keysCommand, allShards: true, merge: 'concat' },
  { name: 'scan', arity: -2, flags: ['readonly'], keys: null, group: G, since: '2.8.0', summary: 'Iterates over the key names in the database.', main: scanCommand },
  { name: 'randomkey', arity: 1, flags: ['readonly', 'random'], keys: null, group: G, since: '1.0.0', summary: 'Returns a random key name from the database.', main: randomkeyCommand },
  { name: 'dbsize', arity: 1, flags: ['readonly', 'fast'], keys: null, group: 'server', since: '1.0.0', summary: 'Returns the number of keys in the database.', shard: (c) => c.out.integer(c.ks.size()), allShards: true, merge: 'sum' },
  { name: 'flushdb', arity: -1, flags: ['write'], keys: null, group: 'server', since: '1.0.0', summary: 'Remove all keys from the current database.', shard: flushCommand, allShards: true, merge: 'ok' },
  { name: 'flushall', arity: -1, flags: ['write'], keys: null, group: 'server', since: '1.0.0', summary: 'Removes all keys from all databases.', shard: flushallCommand, allShards: true, merge: 'ok' },
  {
    name: 'object', arity: -2, flags: ['readonly'], keys: { first: 2, last: 2, step: 1 }, group: G, since: '2.2.3', summary: 'A container for object introspection commands.', main: objectCommand,
    subcommands: [
      { name: 'encoding', arity: 3, flags: ['readonly'], keys: { first: 2, last: 2, step: 1 }, summary: 'Returns the internal encoding of a Redis object.' },
      { name: 'freq', arity: 3, flags: ['readonly'], keys: { first: 2, last: 2, step: 1 }, summary: 'Returns the logarithmic access frequency counter of a Redis object.' },
      { name: 'idletime', arity: 3, flags: ['readonly'], keys: { first: 2, last: 2, step: 1 }, summary: 'Returns the time since the last access to a Redis object.' },
      { name: 'refcount', arity: 3, flags: ['readonly'], keys: { first: 2, last: 2, step: 1 }, summary: 'Returns the reference count of a value of a key.' },
      { name: 'help', arity: 2, flags: ['loading', 'stale'], keys: null, summary: 'Returns helpful text about the different subcommands.' },
    ],
  },
  { name: '__object', arity: 3, flags: ['readonly'], keys: { first: 2, last: 2, step: 1 }, group: I, since: '0', summary: 'internal', shard: shardObjectCommand, hidden: true },
  { name: '__dump', arity: -2, flags: ['write'], keys: ONE_KEY, group: I, since: '0', summary: 'internal', shard: dumpCommand, hidden: true },
  { name: '__event', arity: -4, flags: ['write'], keys: { first: 3, last: 3, step: 1 }, group: I, since: '0', summary: 'internal', shard: eventCommand, hidden: true },
  { name: '__restore', arity: 4, flags: ['write'], keys: ONE_KEY, group: I, since: '0', summary: 'internal', shard: restoreCommand, hidden: true },
  { name: '__scan', arity: -3, flags: ['readonly'], keys: null, group: I, since: '0', summary: 'internal', shard: shardScanCommand, hidden: true },
  { name: '__randomkey', arity: 1, flags: ['readonly'], keys: null, group: I, since: '0', summary: 'internal', shard: shardRandomkeyCommand, hidden: true },
] as const satisfies readonly CommandSpec[];
