// Consumer groups of a stream (owner: the xgroups work). The stream's descriptor holds one u32
// word, `groups`: 0 means no groups, else a block of this module's. This stub knows no groups:
// every block is 0 and the image is the single byte 0 ("no groups").
import type { Arena } from './arena.js';

/** Arena bytes held by the groups block (for MEMORY USAGE and childBytes). */
export function groupsBytes(_arena: Arena, _block: number): number {
  return 0;
}

/** Frees the groups block and everything it owns. */
export function groupsRelease(_arena: Arena, _block: number): void {}

/** Bytes of the groups image (DUMP, snapshot, migration). An empty image is the single byte 0. */
export function groupsImageSize(_arena: Arena, _block: number): number {
  return 1;
}

/** Writes the image at dst[off], returns the end offset. */
export function groupsImageWrite(_arena: Arena, _block: number, dst: Uint8Array, off: number): number {
  dst[off] = 0;
  return off + 1;
}

/** Builds a groups block from an image checked by groupsImageError; 0 when it says "no groups". */
export function groupsStore(_arena: Arena, _src: Uint8Array, _off: number, _len: number): number {
  return 0;
}

/** Why the image at src[off, off+len) is malformed, or null when it is sound. */
export function groupsImageError(src: Uint8Array, off: number, len: number): string | null {
  if (len !== 1 || src[off] !== 0) return 'stream groups image: only the empty image is known';
  return null;
}
