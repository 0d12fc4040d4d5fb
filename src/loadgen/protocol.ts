// The wire protocol seam of the load generator. A protocol supplies command templates (encoded
// once; each request copies one and rewrites its key digits in place) and a reply counter that
// counts complete replies without making objects. RESP is the only protocol so far; the
// memcached text protocol will be a second `WireProtocol` (templates `get <key>\r\n` and
// `set <key> 0 0 <n>\r\n<value>\r\n`, a counter for VALUE/END/STORED lines) and nothing else
// in the load generator needs to change, except that it has no cluster mode.

import { ReplyScanner } from './reply-scanner.js';

export const PROTOCOL_NAMES = ['resp', 'memcache'] as const;
export type ProtocolName = (typeof PROTOCOL_NAMES)[number];
export type Operation = 'get' | 'set';

/** Keys are the prefix followed by this many decimal digits (the key's index, zero-padded). */
export const KEY_DIGITS = 12;

export interface CommandTemplate {
  bytes: Buffer;
  /** Where the key starts and how long it is (for its hash slot). */
  keyAt: number;
  keyLen: number;
  /** Where the key's KEY_DIGITS digits start. */
  digitsAt: number;
}

export interface ReplyCounter {
  /** Feeds received bytes; returns how many replies they completed. */
  feed(chunk: Buffer): number;
  /** Error replies so far, redirects included. */
  readonly errors: number;
  /** Cluster redirects (MOVED/ASK) so far. */
  readonly redirects: number;
  /** After feed(): positions among that feed's replies of its first `redirectCount` redirects. */
  readonly redirectAt: Int32Array;
  readonly redirectCount: number;
  readonly firstError: string;
}

export interface WireProtocol {
  readonly name: ProtocolName;
  /** Whether the protocol knows hash slots (CLUSTER SLOTS, MOVED). */
  readonly clusterCapable: boolean;
  template(op: Operation, keyPrefix: string, valueSize: number): CommandTemplate;
  replyCounter(): ReplyCounter;
}

const resp: WireProtocol = {
  name: 'resp',
  clusterCapable: true,
  template(op, keyPrefix, valueSize) {
    const key = Buffer.from(keyPrefix + '0'.repeat(KEY_DIGITS));
    const head = Buffer.from(op === 'set' ? `*3\r\n$3\r\nSET\r\n$${key.length}\r\n` : `*2\r\n$3\r\nGET\r\n$${key.length}\r\n`);
    const parts = [head, key, Buffer.from('\r\n')];
    if (op === 'set') parts.push(Buffer.from(`$${valueSize}\r\n`), Buffer.alloc(valueSize, 'x'), Buffer.from('\r\n'));
    return { bytes: Buffer.concat(parts), keyAt: head.length, keyLen: key.length, digitsAt: head.length + key.length - KEY_DIGITS };
  },
  replyCounter: () => new ReplyScanner(),
};

export class ProtocolNotImplementedError extends Error {}

export function wireProtocol(name: ProtocolName): WireProtocol {
  switch (name) {
    case 'resp':
      return resp;
    case 'memcache':
      throw new ProtocolNotImplementedError('--protocol memcache is not implemented yet (RESP only)');
  }
}

/** Writes `n` as KEY_DIGITS zero-padded decimal digits at buf[at..]. */
export function writeKeyDigits(buf: Buffer, at: number, n: number): void {
  let v = n;
  for (let i = KEY_DIGITS - 1; i >= 0; i--) {
    const q = Math.floor(v / 10);
    buf[at + i] = 48 + (v - q * 10);
    v = q;
  }
}
