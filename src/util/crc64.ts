// CRC-64/Jones (reflected, polynomial 0xad93d23594c935a9, reflected: 0x95ac9329ac4bc9b5), the checksum Redis puts on DUMP
// payloads; computed on two 32-bit halves so that no BigInt is made per byte.

const POLY_LO = 0xac4bc9b5;
const POLY_HI = 0x95ac9329;
const T_LO = new Uint32Array(256);
const T_HI = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let lo = n;
  let hi = 0;
  for (let k = 0; k < 8; k++) {
    const bit = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi = hi >>> 1;
    if (bit) {
      lo = (lo ^ POLY_LO) >>> 0;
      hi = (hi ^ POLY_HI) >>> 0;
    }
  }
  T_LO[n] = lo;
  T_HI[n] = hi;
}

/** Writes the CRC-64 of src[off, off+len) into out[at, at+8) little-endian. */
export function crc64(src: Uint8Array, off: number, len: number, out: Uint8Array, at: number): void {
  let lo = 0;
  let hi = 0;
  for (let i = off, end = off + len; i < end; i++) {
    const idx = (lo ^ src[i]!) & 0xff;
    lo = (((lo >>> 8) | (hi << 24)) ^ T_LO[idx]!) >>> 0;
    hi = ((hi >>> 8) ^ T_HI[idx]!) >>> 0;
  }
  for (let k = 0; k < 4; k++) {
    out[at + k] = (lo >>> (8 * k)) & 0xff;
    out[at + 4 + k] = (hi >>> (8 * k)) & 0xff;
  }
}
