// 32-bit MurmurHash3 (x86_32) over key bytes, reading 4 bytes at a time. Used for index placement
// (low bits), bucket fingerprints (top 3 bits) and SCAN cursors. Allocation-free.

const SEED = 0x5eed7e55;

/** Unsigned 32-bit hash of buf[off, off+len). */
export function hash32(buf: Uint8Array, off: number, len: number): number {
  let h = SEED;
  const end4 = off + (len & ~3);
  let i = off;
  for (; i < end4; i += 4) {
    let k = buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rem = len & 3;
  if (rem !== 0) {
    let k = buf[i]!;
    if (rem >= 2) k |= buf[i + 1]! << 8;
    if (rem === 3) k |= buf[i + 2]! << 16;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
