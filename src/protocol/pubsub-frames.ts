// Pub/sub frames in RESP2 and RESP3: (un)subscribe confirmations and message frames. RESP2 sends
// them as arrays, RESP3 as `>` pushes. Knows nothing of the server.

import { RespWriter } from './resp-writer.js';

/** Frames at least this long are shared between subscribers (their sockets keep a reference)
 * instead of being copied into each one's output. */
export const PUSH_SHARE_MIN_BYTES = 64 * 1024;

/** Writes one (un)subscribe confirmation: [verb, name or null, count], a push in RESP3. */
export function writeConfirmation(out: RespWriter, verb: string, name: Uint8Array | null, count: number): void {
  if (out.proto === 3) out.ascii('>3\r\n');
  else out.array(3);
  out.bulkString(verb);
  if (name === null) out.nil();
  else out.bulk(name, 0, name.length);
  out.integer(count);
}

// Scratch encoders, one per protocol: a delivery encodes each frame once into them.
const enc2 = new RespWriter(4096);
const enc3 = new RespWriter(4096);
enc3.proto = 3;

/** Message frames encoded so far (tests check one encoding per protocol per delivery). */
export let framesEncoded = 0;

/** Everything of a [verb, (pattern,) channel, message] frame before the message's bulk. */
function writeHead(w: RespWriter, proto: 2 | 3, verb: Uint8Array, pattern: Uint8Array | null, ch: Uint8Array): void {
  const n = pattern === null ? 3 : 4;
  if (proto === 3) w.ascii(n === 3 ? '>3\r\n' : '>4\r\n');
  else w.array(n);
  w.bulk(verb, 0, verb.length);
  if (pattern !== null) w.bulk(pattern, 0, pattern.length);
  w.bulk(ch, 0, ch.length);
}

/** The bytes of a [verb, (pattern,) channel, message] frame before the message's bulk: a copy of
 * its own, for a topic to keep (encodeMessageAfter then writes only the message). */
export function messagePrefix(proto: 2 | 3, verb: Uint8Array, pattern: Uint8Array | null, ch: Uint8Array): Buffer {
  const w = new RespWriter(64 + ch.length + (pattern === null ? 0 : pattern.length));
  w.proto = proto;
  writeHead(w, proto, verb, pattern, ch);
  return Buffer.from(w.buf.subarray(0, w.length));
}

/** A message frame from its prefix (messagePrefix of the same proto) and the message; the same
 * bytes as encodeMessage's, valid as long. */
export function encodeMessageAfter(proto: 2 | 3, prefix: Uint8Array, msg: Uint8Array): Uint8Array {
  framesEncoded++;
  const w = proto === 3 ? enc3 : enc2;
  w.reset();
  w.raw(prefix, 0, prefix.length);
  w.bulk(msg, 0, msg.length);
  const view = w.buf.subarray(0, w.length);
  return w.length >= PUSH_SHARE_MIN_BYTES ? Buffer.from(view) : view;
}

/**
 * [verb, (pattern,) channel, message] for proto: `message` / `pmessage` / `smessage`. The bytes
 * stay valid until the next call for the same proto, unless the frame is PUSH_SHARE_MIN_BYTES or
 * longer: such a frame gets bytes of its own, for the subscribers' sockets to share.
 */
export function encodeMessage(proto: 2 | 3, verb: Uint8Array, pattern: Uint8Array | null, ch: Uint8Array, msg: Uint8Array): Uint8Array {
  framesEncoded++;
  const w = proto === 3 ? enc3 : enc2;
  w.reset();
  writeHead(w, proto, verb, pattern, ch);
  w.bulk(msg, 0, msg.length);
  const view = w.buf.subarray(0, w.length);
  return w.length >= PUSH_SHARE_MIN_BYTES ? Buffer.from(view) : view;
}
