// The wire protocol seam of the load generator. A protocol supplies command templates (encoded
// once; each request copies one and rewrites its key digits, and its request number where the
// protocol carries one, in place) and a reply counter that counts complete replies, errors and
// GET hits and misses without making objects. RESP (cluster-capable: MOVED/ASK, ASKING) and the
// memcached binary protocol (no cluster mode) are the two.

import { KEY_BYTES_MAX, MemcacheReplyCounter, memcacheSampleReplies, memcacheTemplate } from './memcache-binary.js';
import { RedirectTargets, ReplyScanner } from './reply-scanner.js';
import type { CommandTemplate, ReplyCounter } from './wire-types.js';

export type { CommandTemplate, ReplyCounter };

export const PROTOCOL_NAMES = ['resp', 'memcache'] as const;
export type ProtocolName = (typeof PROTOCOL_NAMES)[number];
export type Operation = 'get' | 'set';

/** Keys are the prefix followed by this many decimal digits (the key's index, zero-padded). */
export const KEY_DIGITS = 12;



export interface WireProtocol {
  readonly name: ProtocolName;
  /** Whether the protocol knows hash slots (CLUSTER SLOTS, MOVED, ASK). */
  readonly clusterCapable: boolean;
  /** The encoded command that admits the next one into an importing slot (RESP's ASKING), or null. */
  readonly asking: Buffer | null;
  /** Longest key the protocol accepts, in bytes. */
  readonly keyBytesMax: number;
  template(op: Operation, keyPrefix: string, valueSize: number): CommandTemplate;
  /** A counter for one connection; `targets` interns the nodes named by ASK replies. */
  replyCounter(targets?: RedirectTargets): ReplyCounter;
  /** `count` typical replies (stored, hit, miss), numbered from 0, to warm the counter up. */
  sampleReplies(count: number): Buffer;
}

const resp: WireProtocol = {
  name: 'resp',
  clusterCapable: true,
  asking: Buffer.from('*1\r\n$6\r\nASKING\r\n'),
  keyBytesMax: 512 * 1024 * 1024,
  template(op, keyPrefix, valueSize) {
    const key = Buffer.from(keyPrefix + '0'.repeat(KEY_DIGITS));
    const head = Buffer.from(op === 'set' ? `*3\r\n$3\r\nSET\r\n$${key.length}\r\n` : `*2\r\n$3\r\nGET\r\n$${key.length}\r\n`);
    const parts = [head, key, Buffer.from('\r\n')];
    if (op === 'set') parts.push(Buffer.from(`$${valueSize}\r\n`), Buffer.alloc(valueSize, 'x'), Buffer.from('\r\n'));
    return { bytes: Buffer.concat(parts), keyAt: head.length, keyLen: key.length, digitsAt: head.length + key.length - KEY_DIGITS, opaqueAt: -1 };
  },
  replyCounter: (targets) => new ReplyScanner(targets ?? null),
  sampleReplies: (count) => Buffer.from(Array.from({ length: count }, (_, i) => ['+OK\r\n', '$3\r\nabc\r\n', '$-1\r\n'][i % 3]).join('')),
};

const memcache: WireProtocol = {
  name: 'memcache',
  clusterCapable: false,
  asking: null,
  keyBytesMax: KEY_BYTES_MAX,
  template: (op, keyPrefix, valueSize) => memcacheTemplate(op, Buffer.from(keyPrefix + '0'.repeat(KEY_DIGITS)), valueSize, KEY_DIGITS),
  replyCounter: () => new MemcacheReplyCounter(),
  sampleReplies: memcacheSampleReplies,
};

export function wireProtocol(name: ProtocolName): WireProtocol {
  switch (name) {
    case 'resp':
      return resp;
    case 'memcache':
      return memcache;
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
