// What every wire protocol of the load generator provides: a pre-encoded command template and
// a reply counter (RESP in protocol.ts, memcached binary in memcache-binary.ts).

export interface CommandTemplate {
  bytes: Buffer;
  /** Where the key starts and how long it is (for its hash slot). */
  keyAt: number;
  keyLen: number;
  /** Where the key's KEY_DIGITS digits start. */
  digitsAt: number;
  /** Where the 32-bit big-endian request number goes (memcached's opaque), or -1 for none. */
  opaqueAt: number;
}

export interface ReplyCounter {
  /** Feeds received bytes; returns how many replies they completed. May throw on bytes that
   *  cannot be followed (the connection is then unusable). */
  feed(chunk: Buffer): number;
  /** Error replies so far, redirects included. */
  readonly errors: number;
  /** Cluster redirects (MOVED/ASK) so far. */
  readonly redirects: number;
  /** GET replies with a value, and GET replies saying the key does not exist. */
  readonly hits: number;
  readonly misses: number;
  /** After feed(): positions among that feed's replies of its first `redirectCount` redirects. */
  readonly redirectAt: Int32Array;
  /** After feed(): per redirect, the ASK target's index in the counter's RedirectTargets, or -1 (MOVED). */
  readonly redirectTarget: Int32Array;
  readonly redirectCount: number;
  readonly firstError: string;
}
