// Pieces the sorted-set command files share: the typed key lookup, storing a computed sorted set
// whole (ZUNIONSTORE, ZRANGESTORE...), and the packed (member, score) form in which whole sets
// travel between a cross-shard coordinator and the shards. Members in these lists are latin1
// strings (one char per byte), so that JS string order is memcmp order.

import type { ShardContext } from './types.js';
import { ERR } from '../core/errors.js';
import { readKey, writeKey, keyEvent } from './shard-helpers.js';
import { TYPE_ZSET, type Keyspace } from '../keyspace/keyspace.js';
import * as Z from '../keyspace/zset.js';

/** The sorted set at argument i: its handle, 0 when absent, -1 after replying WRONGTYPE. write
 * looks it up as Redis's lookupKeyWrite (no hit or miss counted). */
export function zsetArg(c: ShardContext, i: number, write = false): number {
  const e = write ? writeKey(c, i) : readKey(c, i);
  if (e !== 0 && c.ks.type(e) !== TYPE_ZSET) {
    c.out.error(ERR.wrongType);
    return -1;
  }
  return e;
}

let scratch = Buffer.allocUnsafe(256);

/** s's bytes (latin1) in a scratch buffer, valid until the next call. */
export function bytesOf(s: string): Buffer {
  if (s.length > scratch.length) scratch = Buffer.allocUnsafe(s.length * 2);
  scratch.write(s, 0, 'latin1');
  return scratch;
}

export function latin1(b: Uint8Array, off: number, len: number): string {
  return Buffer.from(b.buffer, b.byteOffset + off, len).toString('latin1');
}

/** A computed sorted set: members and their scores, parallel, in (score, member) order. */
export interface ScoredList {
  members: string[];
  scores: number[];
}

/** Sorts parallel members/scores by (score, member bytes), the sorted set's order. */
export function sortScored(members: string[], scores: number[]): ScoredList {
  const idx = members.map((_, i) => i);
  idx.sort((a, b) => {
    const sa = scores[a]!;
    const sb = scores[b]!;
    if (sa !== sb) return sa < sb ? -1 : 1;
    const ma = members[a]!;
    const mb = members[b]!;
    return ma < mb ? -1 : ma > mb ? 1 : 0;
  });
  return { members: idx.map((i) => members[i]!), scores: idx.map((i) => scores[i]!) };
}

/** Adds or updates member mb[mo, +ml) with score s (Z.zsetAdd). Redis's listpack stores -0 as 0
 * while its skiplist keeps -0: Z.zsetAdd applies that rule itself, after it has decided whether
 * this add converts the set (an add that converts keeps -0, as Redis's does). Returns the handle. */
export function addMember(ks: Keyspace, e: number, mb: Uint8Array, mo: number, ml: number, s: number): number {
  return Z.zsetAdd(ks, e, mb, mo, ml, s);
}

/** Replaces key kb[ko, +kl) with the sorted set of `list` (deletes the key when it is empty), in
 * the encoding the limits call for at its final size, as Redis's STORE forms leave it. */
export function storeZset(ks: Keyspace, kb: Uint8Array, ko: number, kl: number, list: ScoredList): number {
  // The key bytes may be argument bytes: they stay valid; the members are JS strings.
  storeReplaced = ks.delete(kb, ko, kl);
  const n = list.members.length;
  if (n === 0) return 0;
  let maxLen = 0;
  for (const m of list.members) if (m.length > maxLen) maxLen = m.length;
  // An overwrite, as Redis's setKey: no 'new' event for a key that was there.
  const onCreate = ks.onCreate;
  if (storeReplaced) ks.onCreate = null;
  let e: number;
  try {
    e = Z.zsetCreate(ks, kb, ko, kl, n, maxLen);
  } finally {
    ks.onCreate = onCreate;
  }
  for (let i = 0; i < n; i++) {
    const m = list.members[i]!;
    e = addMember(ks, e, bytesOf(m), 0, m.length, list.scores[i]!);
  }
  return n;
}

/** storeZset's last call found a value at its key (and deleted it). */
let storeReplaced = false;

/** storeZset on the key in argument ki with the STORE form's events: `event` when it stored
 * members, 'del' when an empty result deleted the key that was there (Redis's zunionstore...). */
export function storeZsetAt(c: ShardContext, ki: number, list: ScoredList, event: string): number {
  const a = c.args;
  const n = storeZset(c.ks, a.buf, a.off[ki]!, a.len[ki]!, list);
  if (n > 0) keyEvent(c, 'z', event, ki);
  else if (storeReplaced) keyEvent(c, 'g', 'del', ki);
  return n;
}

/** Packs a scored list as [u32 LE length][member][f64 LE score] per member (the coordinators'
 * wire form between shards). */
export function packScored(list: ScoredList): Buffer {
  let size = 0;
  for (const m of list.members) size += 12 + m.length;
  const b = Buffer.allocUnsafe(size);
  let p = 0;
  for (let i = 0; i < list.members.length; i++) {
    const m = list.members[i]!;
    b.writeUInt32LE(m.length, p);
    p += 4;
    p += b.write(m, p, 'latin1');
    b.writeDoubleLE(list.scores[i]!, p);
    p += 8;
  }
  return b;
}

export function unpackScored(buf: Uint8Array, off: number, len: number): ScoredList {
  const b = Buffer.from(buf.buffer, buf.byteOffset + off, len);
  const members: string[] = [];
  const scores: number[] = [];
  for (let p = 0; p < len; ) {
    const l = b.readUInt32LE(p);
    members.push(b.toString('latin1', p + 4, p + 4 + l));
    scores.push(b.readDoubleLE(p + 4 + l));
    p += 12 + l;
  }
  return { members, scores };
}

/** Writes a list of members (with their scores when withScores: flat pairs in RESP2, [m, s]
 * arrays in RESP3), as Redis's range replies. */
export function replyScored(c: ShardContext | { out: ShardContext['out'] }, list: ScoredList, withScores: boolean): void {
  const out = c.out;
  const n = list.members.length;
  out.array(withScores && out.proto === 2 ? n * 2 : n);
  for (let i = 0; i < n; i++) {
    if (withScores && out.proto === 3) out.array(2);
    const m = list.members[i]!;
    out.bulk(bytesOf(m), 0, m.length);
    if (withScores) out.double(list.scores[i]!);
  }
}
