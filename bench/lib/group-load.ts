// A closed-loop consumer-group load (issue 17): each connection is one consumer of a group and a
// unit is XREADGROUP COUNT 1 '>' followed by XACK of the entry it got, so the XACK needs the reply.
// A connection writes P XREADGROUPs, together with the P XACKs of its previous batch's entries (one
// write, one round trip per batch, as a pipelining consumer does), awaits all the replies, takes
// the ids and repeats; its last write holds only XACKs. Every XACK must reply 1 (the entry was
// pending and is acked exactly once) and every XREADGROUP must return one entry (the caller loads
// enough), or the run fails. Nothing is queued beyond one batch per connection.

import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { decodeReply, encodeCommand, type Reply } from './resp-client.js';
import { percentile } from './scripting-math.js';
import { open } from './unit-load.js';

export interface GroupLoadOptions {
  port: number;
  connections: number;
  /** Units per batch (-P). */
  pipeline: number;
  /** Units (entries read and acked) in the whole run, over all connections. */
  units: number;
  stream: string;
  group: string;
  /** A run whose replies stop for this long fails (default 20 s). */
  stallMs?: number;
}

export interface GroupLoadResult {
  units: number;
  elapsedMs: number;
  unitsPerSec: number;
  /** Round trips of whole batches, in ms. */
  p50Ms: number;
  p99Ms: number;
}

/** The entry id in an XREADGROUP COUNT 1 reply ([[stream, [[id, fields]]]]), or why there is none. */
export function entryId(reply: Reply): string | Error {
  if (reply instanceof Error) return reply;
  const entries = Array.isArray(reply) && Array.isArray(reply[0]) ? reply[0][1] : undefined;
  const entry = Array.isArray(entries) && entries.length === 1 ? entries[0] : undefined;
  const id = Array.isArray(entry) ? entry[0] : undefined;
  return typeof id === 'string' ? id : new Error(`XREADGROUP returned no entry: ${JSON.stringify(reply)}`);
}

/** Runs the load; rejects on the first wrong reply, a lost connection or a stall. Every socket is
 * closed before it settles. */
export async function runGroupLoad(o: GroupLoadOptions): Promise<GroupLoadResult> {
  if (o.connections < 1 || o.pipeline < 1 || o.units < 1) throw new Error('runGroupLoad: connections, pipeline and units must be >= 1');
  const connections = Math.min(o.connections, o.units);
  const sockets: Socket[] = [];
  try {
    for (let c = 0; c < connections; c++) sockets.push(await open(o.port));
  } catch (err) {
    for (const s of sockets) s.destroy();
    throw err;
  }
  const latencies = new Float64Array(Math.ceil(o.units / o.pipeline) + 2 * connections);
  let recorded = 0;
  let lastProgress = performance.now();
  const started = performance.now();
  const per = Math.floor(o.units / connections);
  const extra = o.units % connections;

  const runOne = (socket: Socket, c: number, units: number): Promise<void> => new Promise((resolve, reject) => {
    const read = encodeCommand(['XREADGROUP', 'GROUP', o.group, `c${c}`, 'COUNT', '1', 'STREAMS', o.stream, '>']);
    const ackHead = (id: string): Buffer => encodeCommand(['XACK', o.stream, o.group, id]);
    let left = units;
    let acks: string[] = [];
    let reads = 0;
    let buf: Buffer = Buffer.alloc(0);
    let replies: Reply[] = [];
    let sentAt = 0;
    const send = (): void => {
      reads = Math.min(o.pipeline, left);
      left -= reads;
      const parts = acks.map(ackHead);
      for (let i = 0; i < reads; i++) parts.push(read);
      sentAt = performance.now();
      socket.write(Buffer.concat(parts));
    };
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      let at = 0;
      for (let d = decodeReply(buf, at); d !== null; d = decodeReply(buf, at)) {
        replies.push(d.reply);
        at = d.end;
      }
      buf = buf.subarray(at);
      const want = acks.length + reads;
      if (replies.length < want) return;
      if (replies.length > want) {
        reject(new Error(`${replies.length - want} more replies than commands sent`));
        return;
      }
      const now = performance.now();
      lastProgress = now;
      if (recorded < latencies.length) latencies[recorded++] = now - sentAt;
      for (let i = 0; i < acks.length; i++) {
        const r = replies[i];
        if (r !== 1) {
          reject(new Error(`XACK ${o.stream} ${o.group} ${acks[i]} replied ${r instanceof Error ? `-${r.message}` : JSON.stringify(r)}, not 1`));
          return;
        }
      }
      const next: string[] = [];
      for (let i = acks.length; i < want; i++) {
        const id = entryId(replies[i] ?? null);
        if (id instanceof Error) {
          reject(id);
          return;
        }
        next.push(id);
      }
      acks = next;
      replies = [];
      if (acks.length > 0 || left > 0) send();
      else resolve();
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('connection closed during the run')));
    send();
  });

  let watchdog: NodeJS.Timeout | undefined;
  const stallMs = o.stallMs ?? 20_000;
  const stalled = new Promise<never>((_, reject) => {
    watchdog = setInterval(() => {
      const idle = performance.now() - lastProgress;
      if (idle > stallMs) reject(new Error(`no reply for ${Math.round(idle)} ms (${recorded} batches done)`));
    }, Math.min(1000, stallMs));
  });
  try {
    await Promise.race([Promise.all(sockets.map((s, c) => runOne(s, c, per + (c < extra ? 1 : 0)))), stalled]);
  } finally {
    clearInterval(watchdog);
    for (const s of sockets) s.destroy();
  }
  const elapsedMs = performance.now() - started;
  const lat = latencies.subarray(0, recorded).sort();
  return { units: o.units, elapsedMs, unitsPerSec: (o.units * 1000) / elapsedMs, p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99) };
}
