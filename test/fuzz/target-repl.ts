// In-process target: the replication stream (src/replication/stream.ts) and a replica applying
// its primary's records (ShardPersistence.apply). Frames of every kind, carrying valid, lying or
// damaged records, are cut by FrameReader whole and in random pieces (same frames both ways);
// applying a payload ends in a count or a clean 'replication: ...' error, and the keyspace passes
// its integrity check afterwards.

import { Keyspace } from '../../src/keyspace/keyspace.js';
import { ShardPersistence } from '../../src/persistence/shard-persistence.js';
import { frame, FrameReader, KIND_FEED, KIND_GETACK, KIND_PING, KIND_SNAP, KIND_SNAP_END } from '../../src/replication/stream.js';
import { recordRun } from './gen-records.js';
import { mutate, Prng, splitRandomly } from './prng.js';
import { check, type Target } from './target.js';

function streamInput(r: Prng): { bytes: Buffer; clean: boolean } {
  const parts: Buffer[] = [];
  let clean = true;
  const n = 1 + r.int(4);
  for (let i = 0; i < n; i++) {
    const kind = r.pick([KIND_SNAP, KIND_FEED, KIND_FEED, KIND_SNAP_END, KIND_PING, KIND_GETACK, 0, 9]);
    const payload = kind === KIND_SNAP || kind === KIND_FEED ? recordRun(r) : { bytes: null, clean: true };
    clean &&= payload.clean;
    parts.push(frame(kind, r.int(4), payload.bytes));
  }
  const bytes = Buffer.concat(parts);
  if (r.chance(0.3)) return { bytes: mutate(r, bytes), clean: false };
  return { bytes, clean };
}

const KEYSPACE_BYTES = 4 * 1024 * 1024;
const FLUSH_EVERY = 64;

/** integrityEvery: run the keyspace's O(memory) check after every n-th input (1 when replaying,
 * so that a failure names its own input; sampled in long runs, where it would dominate). */
export function replTarget(integrityEvery = 16): Target {
  const ks = new Keyspace(Keyspace.createMemory({ initialBytes: KEYSPACE_BYTES }));
  const ps = new ShardPersistence(0, ks);
  let runs = 0;
  return {
    name: 'replication',
    input: (seed) => streamInput(new Prng(seed)).bytes,
    run(seed: number): void {
      const r = new Prng(seed);
      const inp = streamInput(r);
      const cut = (chunks: Buffer[]): string[] => {
        const reader = new FrameReader();
        const out: string[] = [];
        for (const c of chunks) {
          reader.push(c);
          for (let f = reader.next(), guard = 0; f !== null; f = reader.next(), guard++) {
            check(guard <= c.length + inp.bytes.length, 'FrameReader made no progress');
            out.push(`${f.kind}/${f.shard}/${f.payload.toString('hex')}`);
          }
        }
        return out;
      };
      const whole = cut([inp.bytes]);
      const split = cut(splitRandomly(r, inp.bytes));
      check(whole.length === split.length && whole.every((f, i) => f === split[i]), 'whole and split streams give different frames');
      const reader = new FrameReader();
      reader.push(inp.bytes);
      for (let f = reader.next(); f !== null; f = reader.next()) {
        if (f.kind !== KIND_SNAP && f.kind !== KIND_FEED) continue;
        try {
          ps.apply(f.payload, 0, f.payload.length, { shard: f.shard, shards: 4 }, r.chance(0.5) ? null : { shards: 2, shard: r.int(2) });
        } catch (e) {
          check(!inp.clean, `clean records refused: ${String(e)}`);
          check(e instanceof Error && e.message.startsWith('replication: '), `apply threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
        }
      }
      runs++;
      if (runs % integrityEvery === 0) ks.checkIntegrity();
      if (runs % FLUSH_EVERY === 0) ks.flush();
    },
  };
}
