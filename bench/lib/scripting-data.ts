// What bench/scripting.ts sends (issue 16), as pure data: the 3-command script and its sha1, the
// MULTI/EXEC unit, the pub/sub frames whose exact bytes let a subscriber count deliveries by length,
// the test names and their labels. The same 3 commands (INCR, EXPIRE, GET on one key) run in the
// script and in the transaction, so that the two figures compare the two ways of running them.

import { createHash } from 'node:crypto';
import { encodeCommand } from './resp-client.js';

/** KEYS[1] is incremented, given a TTL of ARGV[1] seconds and read back. */
export const SCRIPT_BODY = "redis.call('INCR', KEYS[1]) redis.call('EXPIRE', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])";
export const SCRIPT_SHA = createHash('sha1').update(SCRIPT_BODY).digest('hex');
/** The TTL the script and the transaction set: longer than a whole benchmark, so that no counter
 * expires between the sums that check a run (bench/lib/scripting-probe.ts counterSum). */
export const TTL_S = '3600';
/** redis-benchmark's custom command for the EVALSHA test (-r expands __rand_int__ to 12 digits). */
export const EVALSHA_COMMAND: readonly string[] = ['EVALSHA', SCRIPT_SHA, '1', 'script:__rand_int__', TTL_S];

/** Key i of the transaction test, the shape redis-benchmark gives `tx:__rand_int__`. */
export const txKey = (i: number): string => `tx:${String(i).padStart(12, '0')}`;
/** One transaction: the replies are +OK, three +QUEUED and EXEC's array of 3. */
export const TX_REPLIES = 5;
export function txUnit(key: string): Buffer {
  return Buffer.concat([encodeCommand(['MULTI']), encodeCommand(['INCR', key]), encodeCommand(['EXPIRE', key, TTL_S]),
    encodeCommand(['GET', key]), encodeCommand(['EXEC'])]);
}

/** The message every PUBLISH sends: 32 bytes, as the other benchmarks' values (-d 32). */
export const MESSAGE = Buffer.alloc(32, 'm');
/** The channel of run n; all the same length, so that a frame's size never changes. A run gets
 * its own channel so that the subscribers of the last run, which the server may not have dropped
 * yet, never receive (nor count in PUBLISH's reply). */
export const channelName = (run: number): string => `bench:channel:${String(run % 1e9).padStart(9, '0')}`;

/** The bytes a RESP2 subscriber receives per message. */
export function messageFrame(channel: string, message: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`*3\r\n$7\r\nmessage\r\n$${Buffer.byteLength(channel)}\r\n${channel}\r\n$${message.length}\r\n`), message, Buffer.from('\r\n')]);
}

/** The reply to SUBSCRIBE of one channel by a connection subscribed to nothing else. */
export function subscribeReply(channel: string): Buffer {
  return Buffer.from(`*3\r\n$9\r\nsubscribe\r\n$${Buffer.byteLength(channel)}\r\n${channel}\r\n:1\r\n`);
}

/** PUBLISH's reply when `subscribers` connections receive the message. */
export const publishReply = (subscribers: number): Buffer => Buffer.from(`:${subscribers}\r\n`);

export const BASE_TESTS = ['evalsha', 'multi', 'publish'] as const;
export type BaseTest = (typeof BASE_TESTS)[number];

/** The measured tests: evalsha, multi, and publish-S for each subscriber count S. */
export function expandTests(base: readonly BaseTest[], subscriberCounts: readonly number[]): string[] {
  return base.flatMap((t) => (t === 'publish' ? subscriberCounts.map((s) => `publish-${s}`) : [t]));
}

/** The subscriber count of a publish-S test, null for the others. */
export function subscribersOf(test: string): number | null {
  const m = /^publish-(\d+)$/.exec(test);
  return m ? Number(m[1]) : null;
}

export function scriptingLabel(test: string, pipeline: number): string {
  const subs = subscribersOf(test);
  const name = test === 'evalsha' ? 'EVALSHA (INCR+EXPIRE+GET)' : test === 'multi' ? 'MULTI/EXEC (INCR+EXPIRE+GET)'
    : subs !== null ? `PUBLISH to ${subs} subscriber${subs === 1 ? '' : 's'}` : test;
  return `${name} -P ${pipeline}`;
}

/** What a test's rate counts. */
export function rateUnit(test: string): string {
  return test === 'evalsha' ? 'calls/s' : test === 'multi' ? 'transactions/s' : 'messages delivered/s';
}
