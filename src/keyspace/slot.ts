// Redis Cluster hash slots: CRC16/XMODEM (poly 0x1021, init 0) of the key, or of the content of its
// hash tag, modulo 16384. Matches Redis's keyHashSlot exactly (only the first '{' is considered; an
// empty tag "{}" hashes the whole key). Allocation-free.

export const SLOT_COUNT = 16384;

const CRC16_TABLE = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let crc = i << 8;
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  CRC16_TABLE[i] = crc;
}

/** CRC16/XMODEM of buf[off, off+len). */
export function crc16(buf: Uint8Array, off: number, len: number): number {
  let crc = 0;
  const end = off + len;
  for (let i = off; i < end; i++) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >>> 8) ^ buf[i]!) & 0xff]!;
  return crc;
}

/** The cluster slot (0..16383) of the key buf[off, off+len), honouring `{hash tags}` like Redis. */
export function keySlot(buf: Uint8Array, off: number, len: number): number {
  const end = off + len;
  let s = off;
  while (s < end && buf[s] !== 0x7b /* { */) s++;
  if (s === end) return crc16(buf, off, len) & 0x3fff;
  let e = s + 1;
  while (e < end && buf[e] !== 0x7d /* } */) e++;
  if (e === end || e === s + 1) return crc16(buf, off, len) & 0x3fff;
  return crc16(buf, s + 1, e - s - 1) & 0x3fff;
}

/** The shard (of `shards`) that owns a slot: contiguous ranges of slots, in shard order. */
export function shardOfSlot(slot: number, shards: number): number {
  return Math.floor((slot * shards) / SLOT_COUNT);
}
