// What the keyspace needs of a value type beyond its entry's bytes: one object per type and shard
// (a ValueKind), so that deleting, copying, serializing and measuring a value never asks which type
// it is. A type that keeps everything in its entry (strings) has no kind; a collection's kind knows
// its encodings. Adding a type is its value module implementing this, plus one line in
// value-kinds.ts (see docs/typed-keyspace.md).
import type { CollectionLimits } from '../core/types.js';
import type { Arena } from './arena.js';
import type { ValueType } from './value-types.js';
import type { ElementEmit } from './element-table.js';
export type { ElementEmit };

/** The keyspace as a kind sees it (Keyspace implements it; no import of the keyspace here). */
export interface ValueHost {
  readonly limits: CollectionLimits;
  bytes(): Uint8Array;
  valueOffset(e: number): number;
  /** Writes key with a value of vlen bytes (copied from value unless null) of type. */
  set(key: Uint8Array, koff: number, klen: number, value: Uint8Array | null, voff: number, vlen: number, type: ValueType, expireAtMs: number, flags?: number): number;
}

/** Where image() leaves a value's portable bytes. */
export interface ImageOut {
  buf: Uint8Array;
  off: number;
  len: number;
}

export interface ValueKind {
  /** Elements of the value whose bytes are u8[vo, +vl). */
  count(u8: Uint8Array, vo: number, vl: number): number;
  /** Bytes it holds outside its entry block. */
  childBytes(u8: Uint8Array, vo: number, vl: number): number;
  /** Gives back what it holds outside its entry block. Returns 0 when done, or a block to put on
   * the keyspace's lazy-free queue (too large to free at once). */
  release(u8: Uint8Array, vo: number, vl: number): number;
  /** Frees up to `budget` elements of a queued block; true when nothing is left of it. */
  destroyStep(block: number, budget: number): boolean;
  /** Bytes still held by a queued block. */
  queuedBytes(block: number): number;
  /** The portable image of the value (see pack.ts), in out. */
  image(u8: Uint8Array, vo: number, vl: number, out: ImageOut, scratch: () => Buffer): void;
  /** Whether the value is large enough to be written to a snapshot element by element (its
   * elements carry snapshot marks; see element-table.ts), and the three steps of that. */
  piecewise(u8: Uint8Array, vo: number, vl: number): boolean;
  snapshotStep(u8: Uint8Array, vo: number, cursor: number, count: number, emit: ElementEmit): number;
  snapshotElement(u8: Uint8Array, vo: number, buf: Uint8Array, off: number, len: number, emit: ElementEmit): void;
  snapshotSettle(u8: Uint8Array, vo: number, vl: number): void;
  /** Writes key with the value of a checked image, in the encoding the host's limits call for, or
   * in the large encoding whatever its size when keepLarge (RENAME and COPY keep a value's
   * encoding, as Redis moves or duplicates the object; RESTORE and loads go by the limits). */
  store(host: ValueHost, key: Uint8Array, koff: number, klen: number, buf: Uint8Array, off: number, len: number, expireAtMs: number, flags: number, keepLarge?: boolean): number;
}

/** Makes a type's kind for one shard's arena. */
export type ValueKindFactory = (arena: Arena) => ValueKind;
