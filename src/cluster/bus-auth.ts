// Mutual authentication of a cluster bus link (Tessera's own `cluster-bus-secret`; Redis has
// none): before any bus frame, both ends send a magic and a fresh 32-byte nonce; the dialer then
// proves it knows the secret with HMAC-SHA256(secret, "dial" | acceptor nonce | dialer nonce), and
// the acceptor answers with HMAC-SHA256(secret, "accept" | dialer nonce | acceptor nonce). Only
// then does either end read frames: nothing a peer without the secret sends is ever decoded.
// The secret itself never crosses the wire; fresh nonces on both sides defeat replay. A pure state
// machine over bytes (no sockets), so that it is tested alone.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const MAGIC = Buffer.from('TBA1', 'latin1');
const NONCE_BYTES = 32;
const MAC_BYTES = 32;
const HELLO_BYTES = MAGIC.length + NONCE_BYTES;
/** Longest a link may take to authenticate before it is closed. */
export const BUS_AUTH_TIMEOUT_MS = 5000;

export type BusRole = 'dial' | 'accept';

export interface HandshakeStep {
  /** Bytes to send now, or null. */
  readonly send: Buffer | null;
  /** Authenticated: `rest` (possibly empty) is the first bus bytes. */
  readonly done: boolean;
  /** Why the peer is refused (close the link), or null. */
  readonly failed: string | null;
  /** Bytes received past the handshake (when done). */
  readonly rest: Buffer;
}

const EMPTY = Buffer.alloc(0);

function mac(secret: Buffer, label: string, a: Buffer, b: Buffer): Buffer {
  return createHmac('sha256', secret).update(label).update(a).update(b).digest();
}

/** One end of one link's handshake. Feed it what the peer sends; send what it returns. */
export class BusHandshake {
  private readonly nonce = randomBytes(NONCE_BYTES);
  private peerNonce: Buffer | null = null;
  private inbuf: Buffer = EMPTY;
  private finished = false;
  private refused: string | null = null;

  constructor(
    private readonly secret: Buffer,
    readonly role: BusRole,
  ) {
    if (secret.length === 0) throw new Error('bus-auth: empty secret');
  }

  /** The first bytes this end sends (both ends send theirs at once). */
  hello(): Buffer {
    return Buffer.concat([MAGIC, this.nonce]);
  }

  push(chunk: Buffer): HandshakeStep {
    if (this.refused !== null) return { send: null, done: false, failed: this.refused, rest: EMPTY };
    if (this.finished) return { send: null, done: true, failed: null, rest: chunk };
    this.inbuf = this.inbuf.length === 0 ? chunk : Buffer.concat([this.inbuf, chunk]);
    let send: Buffer | null = null;
    if (this.peerNonce === null) {
      if (this.inbuf.length < HELLO_BYTES) return this.wait(null);
      if (!this.inbuf.subarray(0, MAGIC.length).equals(MAGIC)) return this.fail('peer did not authenticate (no bus handshake: is cluster-bus-secret set there?)');
      this.peerNonce = Buffer.from(this.inbuf.subarray(MAGIC.length, HELLO_BYTES));
      this.inbuf = this.inbuf.subarray(HELLO_BYTES);
      // The dialer proves itself first; the acceptor answers only a valid proof.
      if (this.role === 'dial') send = mac(this.secret, 'dial', this.peerNonce, this.nonce);
    }
    if (this.inbuf.length < MAC_BYTES) return this.wait(send);
    const given = this.inbuf.subarray(0, MAC_BYTES);
    const want = this.role === 'accept' ? mac(this.secret, 'dial', this.nonce, this.peerNonce) : mac(this.secret, 'accept', this.nonce, this.peerNonce);
    if (!timingSafeEqual(given, want)) return this.fail('peer failed the bus authentication (wrong cluster-bus-secret)');
    if (this.role === 'accept') send = mac(this.secret, 'accept', this.peerNonce, this.nonce);
    this.finished = true;
    const rest = this.inbuf.subarray(MAC_BYTES);
    this.inbuf = EMPTY;
    return { send, done: true, failed: null, rest };
  }

  private wait(send: Buffer | null): HandshakeStep {
    return { send, done: false, failed: null, rest: EMPTY };
  }

  private fail(why: string): HandshakeStep {
    this.refused = why;
    this.inbuf = EMPTY;
    return { send: null, done: false, failed: why, rest: EMPTY };
  }
}
