// The keys with a TTL: a compact array of 12-byte records [entry, expireAt low32, expireAt high]
// in one arena block, with swap-remove, so that active expiry and volatile-* eviction can sample
// uniformly. An entry with a TTL (META_VOL) holds the index of its record in its volWord; the
// keyspace sets and clears that bit and makes room for the word, this set keeps the word right
// when records move.
// Invariant: for i < len, record i names an entry with META_VOL whose volWord is i.
import type { Arena } from './arena.js';
import { classOf, H_VOL_CAP, H_VOL_LEN, H_VOL_OFF, VOL_RECORD_WORDS, volWord } from './layout.js';

const MIN_CAPACITY = 16;
const TWO_32 = 4294967296;

export class VolatileSet {
  constructor(private readonly arena: Arena) {}

  length(): number {
    return this.arena.u32[H_VOL_LEN]!;
  }

  bytes(): number {
    return this.arena.u32[H_VOL_CAP]! * VOL_RECORD_WORDS * 4;
  }

  /** Entry of record i. */
  entry(i: number): number {
    const u32 = this.arena.u32;
    return u32[(u32[H_VOL_OFF]! >>> 2) + i * VOL_RECORD_WORDS]!;
  }

  /** expireAt (ms) of record i. */
  expireAt(i: number): number {
    const u32 = this.arena.u32;
    const w = (u32[H_VOL_OFF]! >>> 2) + i * VOL_RECORD_WORDS;
    return u32[w + 2]! * TWO_32 + u32[w + 1]!;
  }

  setExpireAt(i: number, ms: number): void {
    const u32 = this.arena.u32;
    const w = (u32[H_VOL_OFF]! >>> 2) + i * VOL_RECORD_WORDS;
    u32[w + 1] = ms % TWO_32;
    u32[w + 2] = Math.floor(ms / TWO_32);
  }

  /** Adds a record for e (which has none); returns its index, for e's volWord (the caller writes
   * it: e may not have the word yet). */
  add(e: number, ms: number): number {
    let u32 = this.arena.u32;
    const len = u32[H_VOL_LEN]!;
    if (len === u32[H_VOL_CAP]) {
      this.resize(len === 0 ? MIN_CAPACITY : len * 2);
      u32 = this.arena.u32;
    }
    u32[(u32[H_VOL_OFF]! >>> 2) + len * VOL_RECORD_WORDS] = e;
    u32[H_VOL_LEN] = len + 1;
    this.setExpireAt(len, ms);
    return len;
  }

  /** Removes record i, moving the last record into its place (its entry's volWord follows). The
   * entry of record i is not touched: the caller clears its META_VOL. */
  remove(i: number): void {
    const u32 = this.arena.u32;
    const w = u32[H_VOL_OFF]! >>> 2;
    const last = u32[H_VOL_LEN]! - 1;
    if (i !== last) {
      const dst = w + i * VOL_RECORD_WORDS;
      const src = w + last * VOL_RECORD_WORDS;
      const moved = u32[src]!;
      u32[dst] = moved;
      u32[dst + 1] = u32[src + 1]!;
      u32[dst + 2] = u32[src + 2]!;
      u32[volWord(u32, moved)] = i;
    }
    u32[H_VOL_LEN] = last;
    const cap = u32[H_VOL_CAP]!;
    if (last === 0) this.resize(0);
    else if (cap > MIN_CAPACITY && last * 4 < cap) this.resize(cap / 2);
  }

  /** Points record i at e (its entry moved). */
  relink(i: number, e: number): void {
    const u32 = this.arena.u32;
    u32[(u32[H_VOL_OFF]! >>> 2) + i * VOL_RECORD_WORDS] = e;
  }

  /** Forgets the array without freeing (the arena is being reset). */
  reset(): void {
    const u32 = this.arena.u32;
    u32[H_VOL_OFF] = 0;
    u32[H_VOL_LEN] = 0;
    u32[H_VOL_CAP] = 0;
  }

  private resize(cap: number): void {
    let u32 = this.arena.u32;
    const oldOff = u32[H_VOL_OFF]!;
    const oldCap = u32[H_VOL_CAP]!;
    const len = u32[H_VOL_LEN]!;
    let off = 0;
    if (cap > 0) {
      off = this.arena.alloc(classOf(cap * VOL_RECORD_WORDS * 4));
      u32 = this.arena.u32;
      if (len > 0) u32.copyWithin(off >>> 2, oldOff >>> 2, (oldOff >>> 2) + len * VOL_RECORD_WORDS);
    }
    if (oldOff !== 0) this.arena.free(oldOff, classOf(oldCap * VOL_RECORD_WORDS * 4));
    u32 = this.arena.u32;
    u32[H_VOL_OFF] = off;
    u32[H_VOL_CAP] = cap;
  }
}
