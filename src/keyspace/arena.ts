// Block allocator over the growable SharedArrayBuffer: per-size-class free lists (the first word
// of a free block links to the next), bump allocation at the top, growth of the buffer when the
// top passes its end. Blocks are 8-aligned and never move. All state lives in the header.
// Invariant: F_USED = HEADER_BYTES + sum of CLASS_SIZE of every allocated block.
import { assert } from '../util/assert.js';
import { CLASS_SIZE, F_COUNT, F_USED, H_CARVE_END, H_CARVE_OFF, H_FREE, H_TOP, HEADER_BYTES, SMALL_CLASSES, classOf } from './layout.js';

/** Freed blocks at least this large become the carve region (see H_CARVE_OFF). */
const CARVE_MIN_BYTES = 256 * 1024;

/** The ES2024 growable SharedArrayBuffer API (not in this project's ES2023 lib). */
interface GrowableSharedArrayBuffer extends SharedArrayBuffer {
  readonly maxByteLength: number;
  grow(newByteLength: number): void;
}
type GrowableSabConstructor = new (byteLength: number, options: { maxByteLength: number }) => SharedArrayBuffer;

export const MAX_BYTE_LENGTH = 2 ** 32;
/** Highest usable byte: offsets and the bump pointer must fit in a u32. */
const MAX_ARENA_BYTES = MAX_BYTE_LENGTH - 65536;
const GROW_STEP_MAX_BYTES = 256 * 1024 * 1024;
const PAGE_BYTES = 65536;

/** Thrown when the arena cannot grow any further (4 GiB, or the host refused memory). */
export class KeyspaceFullError extends Error {
  constructor(readonly requestedBytes: number) {
    super(`keyspace arena full: cannot grow to ${requestedBytes} bytes`);
    this.name = 'KeyspaceFullError';
  }
}

export function roundToPage(bytes: number): number {
  return Math.ceil(bytes / PAGE_BYTES) * PAGE_BYTES;
}

export function newGrowableMemory(bytes: number): SharedArrayBuffer {
  // The lib in use lacks the ES2024 overload; Node 20 implements it.
  const Ctor = SharedArrayBuffer as unknown as GrowableSabConstructor;
  return new Ctor(roundToPage(bytes), { maxByteLength: MAX_BYTE_LENGTH });
}

export class Arena {
  /** Fixed-length views over the whole buffer, re-created after every grow (length-tracking views
   * are ~3x slower in Node 20). Callers must re-read these after anything that may allocate. */
  u8: Uint8Array;
  u32: Uint32Array;
  /** The f64 header counters (never moves). */
  readonly f64: Float64Array;

  constructor(readonly memory: SharedArrayBuffer) {
    this.u8 = new Uint8Array(memory, 0, memory.byteLength);
    this.u32 = new Uint32Array(memory, 0, memory.byteLength >>> 2);
    this.f64 = new Float64Array(memory, 0, F_COUNT);
  }

  /** Re-creates the views if the buffer grew behind our back (another incarnation). */
  refresh(): void {
    if (this.u8.length !== this.memory.byteLength) {
      this.u8 = new Uint8Array(this.memory, 0, this.memory.byteLength);
      this.u32 = new Uint32Array(this.memory, 0, this.memory.byteLength >>> 2);
    }
  }

  /** Empties the allocator: every block is forgotten, the top goes back to the header's end. */
  reset(): void {
    const u32 = this.u32;
    u32.fill(0, H_FREE, H_FREE + CLASS_SIZE.length);
    u32[H_CARVE_OFF] = 0;
    u32[H_CARVE_END] = 0;
    u32[H_TOP] = HEADER_BYTES;
    this.f64[F_USED] = HEADER_BYTES;
  }

  /** A block of class cls (contents undefined). May grow the buffer (views change). */
  alloc(cls: number): number {
    const size = CLASS_SIZE[cls]!;
    const u32 = this.u32;
    const head = u32[H_FREE + cls]!;
    if (head !== 0) {
      u32[H_FREE + cls] = u32[head >>> 2]!;
      this.f64[F_USED] = this.f64[F_USED]! + size;
      return head;
    }
    if (cls < SMALL_CLASSES) {
      const c = u32[H_CARVE_OFF]!;
      if (c !== 0 && c + size <= u32[H_CARVE_END]!) {
        u32[H_CARVE_OFF] = c + size;
        this.f64[F_USED] = this.f64[F_USED]! + size;
        return c;
      }
    }
    const top = u32[H_TOP]!;
    const end = top + size;
    if (end > this.u8.length) this.grow(end);
    this.u32[H_TOP] = end;
    this.f64[F_USED] = this.f64[F_USED]! + size;
    return top;
  }

  /** Gives back a block of class cls: lowers the top if it is the last block, else free-lists it. */
  free(off: number, cls: number): void {
    const size = CLASS_SIZE[cls]!;
    const u32 = this.u32;
    // A block outside the arena or off its alignment would corrupt a free list silently.
    assert(off >= HEADER_BYTES && (off & 7) === 0 && off + size <= u32[H_TOP]!, () => `arena: freeing a bad block ${off} of class ${cls}`);
    this.f64[F_USED] = this.f64[F_USED]! - size;
    if (off + size === u32[H_TOP]) {
      u32[H_TOP] = off;
      return;
    }
    if (size >= CARVE_MIN_BYTES && this.carveLeft() < CARVE_MIN_BYTES) {
      this.retireCarve();
      u32[H_CARVE_OFF] = off;
      u32[H_CARVE_END] = off + size;
      return;
    }
    u32[off >>> 2] = u32[H_FREE + cls]!;
    u32[H_FREE + cls] = off;
  }

  /** Bytes still uncut in the carve region. */
  carveLeft(): number {
    return this.u32[H_CARVE_END]! - this.u32[H_CARVE_OFF]!;
  }

  /** Ends the carve region: what is left of it goes to the free list of its size (sizes are
   * multiples of 8, and a remainder of at most CARVE_MIN_BYTES is a small or a large class). */
  private retireCarve(): void {
    const u32 = this.u32;
    let off = u32[H_CARVE_OFF]!;
    const end = u32[H_CARVE_END]!;
    u32[H_CARVE_OFF] = 0;
    u32[H_CARVE_END] = 0;
    // Cut the rest into blocks of exact class sizes, largest first, so that nothing is lost.
    while (end - off >= 8) {
      let cls = classOf(end - off);
      if (CLASS_SIZE[cls]! > end - off) cls--;
      const size = CLASS_SIZE[cls]!;
      u32[off >>> 2] = u32[H_FREE + cls]!;
      u32[H_FREE + cls] = off;
      off += size;
    }
  }

  top(): number {
    return this.u32[H_TOP]!;
  }

  /** Adds the length of each free list to counts[cls] (MEMORY MALLOC-STATS), following at most
   * maxLinks links in all so that a diagnostic never stalls the shard; false when it stopped early. */
  countFree(counts: Float64Array, maxLinks: number): boolean {
    const u32 = this.u32;
    let left = maxLinks;
    for (let cls = 0; cls < CLASS_SIZE.length; cls++) {
      for (let b = u32[H_FREE + cls]!; b !== 0; b = u32[b >>> 2]!) {
        if (left-- === 0) return false;
        counts[cls] = counts[cls]! + 1;
      }
    }
    return true;
  }

  private grow(minBytes: number): void {
    const cur = this.memory.byteLength;
    const limit = Math.min(MAX_ARENA_BYTES, (this.memory as GrowableSharedArrayBuffer).maxByteLength);
    if (minBytes > limit) throw new KeyspaceFullError(minBytes);
    const target = Math.min(limit, roundToPage(Math.max(minBytes, cur + Math.min(cur, GROW_STEP_MAX_BYTES))));
    try {
      (this.memory as GrowableSharedArrayBuffer).grow(target);
    } catch {
      throw new KeyspaceFullError(target);
    }
    this.refresh();
  }
}
