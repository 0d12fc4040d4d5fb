// 32-bit MurmurHash3 (x86_32) over key bytes, reading 4 bytes at a time. Used for index placement
// (low bits), bucket fingerprints (top 3 bits) and SCAN cursors. Allocation-free. hash32Words is
// the same function over a u32 view, for keys already in the arena (4-aligned): entries do not
// store their hash, and the index rehashes keys on every resize and backward shift.

const SEED = 0x5eed7e55;

/** MurmurHash3's scramble of one 4-byte block. */
function scramble(k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, 0x1b873593);
}

/** Folds one full block into the state. */
function mixBlock(h: number, k: number): number {
  h ^= scramble(k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Folds in the length and avalanches (fmix32). */
function finish(h: number, len: number): number {
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Unsigned 32-bit hash of buf[off, off+len). */
export function hash32(buf: Uint8Array, off: number, len: number): number {
  let h = SEED;
  const end4 = off + (len & ~3);
  let i = off;
  for (; i < end4; i += 4) h = mixBlock(h, buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
  const rem = len & 3;
  if (rem !== 0) {
    let k = buf[i]!;
    if (rem >= 2) k |= buf[i + 1]! << 8;
    if (rem === 3) k |= buf[i + 2]! << 16;
    h ^= scramble(k);
  }
  return finish(h, len);
}

/** True where a Uint32Array reads bytes little-endian, as MurmurHash3 reads its blocks. */
export const WORDS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** hash32 of the len bytes from byte offset 4 * w of the buffer under u32, when
 * WORDS_LITTLE_ENDIAN. Reads the whole word holding the last byte (it must be in the view). */
export function hash32Words(u32: Uint32Array, w: number, len: number): number {
  let h = SEED;
  const end = w + (len >>> 2);
  let i = w;
  for (; i < end; i++) h = mixBlock(h, u32[i]! | 0);
  const rem = len & 3;
  if (rem !== 0) h ^= scramble(u32[i]! & ((1 << (rem * 8)) - 1));
  return finish(h, len);
}
