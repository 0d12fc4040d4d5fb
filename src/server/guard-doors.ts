// How the memcached and HTTP doors word a connection the guard refused (guard.ts): the same text
// as RESP's -DENIED / -ERR, framed in the door's protocol, then the socket is closed. A refused
// socket is never parsed: memcached's first byte only picks the binary or the text framing.

import type net from 'node:net';
import { GUARD_ERR } from '../core/errors.js';
import { REQ_MAGIC, refusalResponse } from '../protocol/memcache.js';

/** Longest a refused memcached client is waited for to say which protocol it speaks. */
const MEMCACHE_FIRST_BYTES_WAIT_MS = 1_000;

/** Answers a refused memcached client in its protocol (a binary error response carrying the text,
 * with the request's opcode and opaque, or a SERVER_ERROR line), then closes. memcached clients
 * speak first, so the answer waits for the first bytes (at most a second: then the text line). */
export function refuseMemcacheSocket(sock: net.Socket, text: string): void {
  let done = false;
  const answer = (first: Buffer | null): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    const binary = first !== null && first.length >= 16 && first[0] === REQ_MAGIC;
    const opaque = binary ? first.readUInt32BE(12) : 0;
    const r = refusalResponse(binary, binary ? first[1]! : 0, opaque, text);
    sock.pause();
    sock.end(r, () => sock.destroy());
  };
  const timer = setTimeout(() => answer(null), MEMCACHE_FIRST_BYTES_WAIT_MS);
  timer.unref();
  sock.once('data', (chunk: Buffer) => answer(chunk));
  sock.once('end', () => answer(null));
  sock.once('close', () => clearTimeout(timer));
}

/** The HTTP answer to a refused connection: 403 for protected mode, 429 for the new-connection
 * cap, a JSON body `{"error": text}`, then the connection closes. */
export function httpRefusal(text: string): string {
  const [status, reason] = text === GUARD_ERR.protectedMode ? [403, 'Forbidden'] : [429, 'Too Many Requests'];
  const body = JSON.stringify({ error: text });
  return (
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
    `connection: close\r\n\r\n${body}`
  );
}
