// The memcached binary protocol for the load generator: request templates (24-byte big-endian
// header, then extras, key, value) and a reply counter that walks response headers and skips
// bodies without buffering them, whatever their size and however the bytes are split.
// Every request carries a per-connection request number in its opaque field; the counter checks
// that replies come back in order carrying the same numbers (a mismatch is counted as an error).

import type { CommandTemplate, ReplyCounter } from './wire-types.js';

export const HEADER_BYTES = 24;
export const MAGIC_REQUEST = 0x80;
export const MAGIC_RESPONSE = 0x81;
export const OPCODE_GET = 0x00;
export const OPCODE_SET = 0x01;
/** Set's extras: flags (4 bytes, 0) and expiry (4 bytes, 0: never). */
const SET_EXTRAS_BYTES = 8;
/** Where the 32-bit opaque sits in a header. */
export const OPAQUE_AT = 12;
/** memcached's key length limit. */
export const KEY_BYTES_MAX = 250;

const STATUS_OK = 0x0000;
const STATUS_KEY_NOT_FOUND = 0x0001;
/** Status names of memcached's binary protocol, for the first error's text. */
const STATUS_NAMES: Record<number, string> = {
  0x0002: 'Key exists',
  0x0003: 'Value too large',
  0x0004: 'Invalid arguments',
  0x0005: 'Item not stored',
  0x0006: 'Incr/Decr on non-numeric value',
  0x0020: 'Authentication error',
  0x0081: 'Unknown command',
  0x0082: 'Out of memory',
};

export class MemcacheProtocolError extends Error {}

/** GET (opcode Get: the reply carries flags and value, not the key) or SET (flags 0, expiry 0) of `key`. */
export function memcacheTemplate(op: 'get' | 'set', key: Buffer, valueSize: number, digits: number): CommandTemplate {
  const extras = op === 'set' ? SET_EXTRAS_BYTES : 0;
  const value = op === 'set' ? valueSize : 0;
  const bytes = Buffer.alloc(HEADER_BYTES + extras + key.length + value, 'x');
  bytes.fill(0, 0, HEADER_BYTES + extras);
  bytes[0] = MAGIC_REQUEST;
  bytes[1] = op === 'set' ? OPCODE_SET : OPCODE_GET;
  bytes.writeUInt16BE(key.length, 2);
  bytes[4] = extras;
  bytes.writeUInt32BE(extras + key.length + value, 8);
  key.copy(bytes, HEADER_BYTES + extras);
  const keyAt = HEADER_BYTES + extras;
  return { bytes, keyAt, keyLen: key.length, digitsAt: keyAt + key.length - digits, opaqueAt: OPAQUE_AT };
}

/** One response header (and body) as a server would send it; for tests and warm-up. */
export function memcacheResponse(opcode: number, status: number, opaque: number, extras: Buffer, value: Buffer): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h[0] = MAGIC_RESPONSE;
  h[1] = opcode;
  h[4] = extras.length;
  h.writeUInt16BE(status, 6);
  h.writeUInt32BE(extras.length + value.length, 8);
  h.writeUInt32BE(opaque >>> 0, OPAQUE_AT);
  return Buffer.concat([h, extras, value]);
}

/** `count` replies numbered from 0: stored, hit (flags and a 3-byte value), miss, in turn. */
export function memcacheSampleReplies(count: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    if (i % 3 === 0) parts.push(memcacheResponse(OPCODE_SET, STATUS_OK, i, Buffer.alloc(0), Buffer.alloc(0)));
    else if (i % 3 === 1) parts.push(memcacheResponse(OPCODE_GET, STATUS_OK, i, Buffer.alloc(4), Buffer.from('abc')));
    else parts.push(memcacheResponse(OPCODE_GET, STATUS_KEY_NOT_FOUND, i, Buffer.alloc(0), Buffer.from('Not found')));
  }
  return Buffer.concat(parts);
}

export class MemcacheReplyCounter implements ReplyCounter {
  errors = 0;
  /** memcached has no redirects: always 0, and the position tables stay empty. */
  readonly redirects = 0;
  readonly redirectAt = new Int32Array(0);
  readonly redirectTarget = new Int32Array(0);
  readonly redirectCount = 0;
  hits = 0;
  misses = 0;
  firstError = '';
  /** The request number the next reply must carry. */
  private expectOpaque = 0;
  /** A header split across reads is gathered here. */
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerFill = 0;
  /** Body bytes of the current reply still to skip. */
  private bodyLeft = 0;

  /** Feeds received bytes; returns how many replies they completed. Throws MemcacheProtocolError
   *  on a header that is not a response's (the stream cannot be followed past it). */
  feed(chunk: Buffer): number {
    const len = chunk.length;
    let p = 0;
    let n = 0;
    while (p < len) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, len - p);
        p += take;
        this.bodyLeft -= take;
        if (this.bodyLeft === 0) n++;
        continue;
      }
      let h: Buffer;
      let at: number;
      if (this.headerFill === 0 && len - p >= HEADER_BYTES) {
        h = chunk;
        at = p;
        p += HEADER_BYTES;
      } else {
        const take = Math.min(HEADER_BYTES - this.headerFill, len - p);
        chunk.copy(this.header, this.headerFill, p, p + take);
        this.headerFill += take;
        p += take;
        if (this.headerFill < HEADER_BYTES) break;
        this.headerFill = 0;
        h = this.header;
        at = 0;
      }
      const bodyLen = h.readUInt32BE(at + 8);
      this.onHeader(h, at, chunk, p, bodyLen);
      if (bodyLen === 0) n++;
      else this.bodyLeft = bodyLen;
    }
    return n;
  }

  /** Counts one reply from its header at h[at..]; its body (if any) starts at chunk[bodyAt]. */
  private onHeader(h: Buffer, at: number, chunk: Buffer, bodyAt: number, bodyLen: number): void {
    if (h[at] !== MAGIC_RESPONSE) {
      throw new MemcacheProtocolError(`reply with magic 0x${h[at]!.toString(16)} instead of 0x81 (not a memcached binary protocol server?)`);
    }
    const opcode = h[at + 1]!;
    const status = h.readUInt16BE(at + 6);
    const opaque = h.readUInt32BE(at + OPAQUE_AT);
    const expected = this.expectOpaque;
    // After a mismatch, follow the server's numbering so that one lost reply is one error.
    this.expectOpaque = (opaque + 1) >>> 0;
    if (opaque !== expected) {
      this.errors++;
      if (this.firstError === '') this.firstError = `reply out of order: opaque ${opaque}, expected ${expected}`;
      return;
    }
    if (status === STATUS_OK) {
      if (opcode === OPCODE_GET) this.hits++;
    } else if (status === STATUS_KEY_NOT_FOUND && opcode === OPCODE_GET) {
      this.misses++;
    } else {
      this.errors++;
      if (this.firstError !== '') return;
      // memcached puts the error's text in the body; use it when this read holds all of it.
      const textAt = bodyAt + h[at + 4]! + h.readUInt16BE(at + 2);
      const text = bodyAt + bodyLen <= chunk.length ? chunk.toString('latin1', textAt, bodyAt + bodyLen) : (STATUS_NAMES[status] ?? 'error');
      this.firstError = `${text} (status 0x${status.toString(16).padStart(4, '0')}, opcode 0x${opcode.toString(16).padStart(2, '0')})`;
    }
  }
}
