// One check per test of bench/scripting.ts that the server runs it right, before anything is
// measured: a test whose probe fails on either side is reported with the reason, not measured
// (redis-benchmark counts an error reply as a fast request). The probes also load the script.

import { RespClient, type Reply } from './resp-client.js';
import { runPublishLoad } from './pubsub-load.js';
import { MESSAGE, SCRIPT_BODY, SCRIPT_SHA, subscribersOf, TTL_S, txKey, txUnit, TX_REPLIES } from './scripting-data.js';

/** A reply as short text for the report. */
export function replyText(r: Reply): string {
  if (r instanceof Error) return `-${r.message}`;
  return JSON.stringify(r);
}

/** Keys of the EVALSHA probe: enough distinct ones that on Tessera every shard runs the script. */
const PROBE_KEYS = 64;

async function probeEvalsha(c: RespClient): Promise<string | null> {
  const sha = await c.call('SCRIPT', 'LOAD', SCRIPT_BODY);
  if (sha !== SCRIPT_SHA) return `SCRIPT LOAD replied ${replyText(sha)}`;
  for (let i = 0; i < PROBE_KEYS; i++) {
    const key = `probe:script:${i}`;
    await c.call('DEL', key);
    const r = await c.call('EVALSHA', SCRIPT_SHA, '1', key, TTL_S);
    if (r !== '1') return `EVALSHA on ${key} replied ${replyText(r)}`;
    const ttl = await c.call('TTL', key);
    if (typeof ttl !== 'number' || ttl <= 0) return `after EVALSHA, TTL ${key} replied ${replyText(ttl)}`;
    await c.call('DEL', key);
  }
  return null;
}

async function probeMulti(c: RespClient): Promise<string | null> {
  const key = txKey(999_999_999);
  await c.call('DEL', key);
  const replies = await c.pipeline([txUnit(key)].flatMap((unit) => splitCommands(unit)));
  if (replies.length !== TX_REPLIES) return `${replies.length} replies to a transaction`;
  const want = JSON.stringify(['OK', 'QUEUED', 'QUEUED', 'QUEUED', [1, 1, '1']]);
  if (JSON.stringify(replies.map((r) => (r instanceof Error ? `-${r.message}` : r))) !== want) {
    return `MULTI, INCR, EXPIRE, GET, EXEC replied ${replies.map(replyText).join(', ')}`;
  }
  await c.call('DEL', key);
  return null;
}

/** The RESP commands in `bytes`, one buffer each (RespClient.pipeline awaits one reply per buffer). */
export function splitCommands(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < bytes.length) {
    const start = at;
    const lineEnd = bytes.indexOf('\r\n', at);
    let args = Number(bytes.toString('latin1', at + 1, lineEnd));
    at = lineEnd + 2;
    while (args-- > 0) {
      const end = bytes.indexOf('\r\n', at);
      at = end + 2 + Number(bytes.toString('latin1', at + 1, end)) + 2;
    }
    out.push(bytes.subarray(start, at));
  }
  return out;
}

/** null when `test` runs right on the server at `port`, else why not (one line). */
export async function probeTest(port: number, test: string): Promise<string | null> {
  const subs = subscribersOf(test);
  try {
    if (subs !== null) {
      await runPublishLoad({ port, subscribers: Math.min(subs, 3), pipeline: 4, publishes: 10, channel: `probe:channel:${test}`, message: MESSAGE, stallMs: 5000 });
      return null;
    }
    const c = await RespClient.connect(port);
    try {
      if (test === 'evalsha') return await probeEvalsha(c);
      if (test === 'multi') return await probeMulti(c);
      return `no probe for test ${test}`;
    } finally {
      c.close();
    }
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * The sum of the counters under `prefix` (`script:`, `tx:`): every EVALSHA and every transaction
 * adds one, so a run that executed all its calls raises it by exactly their number. This is how a
 * run proves its calls ran (redis-benchmark counts an error reply as a request, and EXEC's replies
 * nest the commands' errors). SCAN with MATCH, values read with MGET, untimed.
 */
export async function counterSum(port: number, prefix: string): Promise<number> {
  const c = await RespClient.connect(port);
  try {
    let cursor = '0';
    let sum = 0;
    do {
      const r = await c.call('SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000');
      if (!Array.isArray(r) || typeof r[0] !== 'string' || !Array.isArray(r[1])) throw new Error(`SCAN replied ${replyText(r)}`);
      cursor = r[0];
      const keys = r[1].filter((k): k is string => typeof k === 'string');
      if (keys.length === 0) continue;
      const values = await c.call('MGET', ...keys);
      if (!Array.isArray(values)) throw new Error(`MGET replied ${replyText(values)}`);
      for (const v of values) if (v !== null) sum += Number(v);
    } while (cursor !== '0');
    return sum;
  } finally {
    c.close();
  }
}
