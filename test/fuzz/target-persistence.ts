// In-process target: the log and snapshot loaders (ShardPersistence.load over readRecords) and the
// manifest reader. Each input is a file of valid, lying or damaged records, loaded with a random
// policy (cut a torn tail, repair, or neither): the load ends in a report, with an error text when
// it refuses, never an exception; after a repair or a cut the file loads again with no damage;
// the keyspace passes its integrity check. Manifests end in a value or a 'Bad manifest' error.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyspace } from '../../src/keyspace/keyspace.js';
import { readManifest } from '../../src/persistence/manifest.js';
import { FILE_HEADER, FORMAT_VERSION, MAGIC_LOG, MAGIC_SNAPSHOT, RecordBuffer } from '../../src/persistence/records.js';
import { ShardPersistence, type LoadFile } from '../../src/persistence/shard-persistence.js';
import { recordRun, validRecords } from './gen-records.js';
import { mutate, Prng } from './prng.js';
import { check, type Target } from './target.js';

const KEYSPACE_BYTES = 4 * 1024 * 1024;

function fileInput(r: Prng): { bytes: Buffer; kind: 'snapshot' | 'log'; manifest: boolean } {
  if (r.int(6) === 0) {
    const files = Array.from({ length: r.int(4) }, (_, i) => `file f${i}.tsa shard ${r.int(3)} role ${r.pick(['b', 'i', 's'])}`);
    const text = ['# m', 'version 1', `shards ${r.range(1, 3)}`, `seq ${r.int(9)}`, ...files, ''].join('\n');
    return { bytes: mutate(r, Buffer.from(text)), kind: 'log', manifest: true };
  }
  const kind = r.chance(0.5) ? 'snapshot' : 'log';
  const head = Buffer.alloc(FILE_HEADER);
  head.writeUInt32LE(kind === 'log' ? MAGIC_LOG : MAGIC_SNAPSHOT, 0);
  head.writeUInt32LE(FORMAT_VERSION, 4);
  const body = recordRun(r).bytes;
  let tail = Buffer.alloc(0);
  if (kind === 'snapshot') {
    const rb = new RecordBuffer(64);
    rb.end(r.chance(0.8) ? 0 : r.int(10));
    tail = Buffer.from(rb.buf.subarray(0, rb.length));
  }
  if (r.chance(0.3)) head.writeUInt32LE(r.pick([0, 1, 0xffffffff, r.int(1000)]), 12);
  let bytes: Buffer = Buffer.concat([head, body, tail, r.chance(0.3) ? validRecords(r, r.int(4)).bytes : Buffer.alloc(0)]);
  if (r.chance(0.15)) bytes = mutate(r, bytes);
  return { bytes, kind, manifest: false };
}

/** integrityEvery: as in target-repl.ts (every input's keyspace starts empty, so a sampled check
 * still judges only the input it follows). */
export function persistenceTarget(integrityEvery = 16): Target {
  // tmpfs when there is one: the loader reads real files, and this target writes one per input.
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dir = mkdtempSync(join(base, 'tessera-fuzz-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'f.tsa');
  const ks = new Keyspace(Keyspace.createMemory({ initialBytes: KEYSPACE_BYTES }));
  const ps = new ShardPersistence(0, ks);
  let runs = 0;
  return {
    name: 'persistence',
    input: (seed) => fileInput(new Prng(seed)).bytes,
    run(seed: number): void {
      const r = new Prng(seed);
      const inp = fileInput(r);
      writeFileSync(path, inp.bytes);
      if (inp.manifest) {
        try {
          readManifest(path);
        } catch (e) {
          check(e instanceof Error && e.message.startsWith('Bad manifest'), `readManifest threw ${String(e)}`);
        }
        return;
      }
      if (ks.size() > 0) ks.flush();
      const integrity = ++runs % integrityEvery === 0;
      const file: LoadFile = { path, kind: inp.kind, last: r.chance(0.7), from: { shard: 0, shards: 1 } };
      const repair = r.chance(0.4);
      const truncateTorn = r.chance(0.5);
      const keep = r.chance(0.7) ? null : { shards: 2, shard: r.int(2) };
      const load = () => ps.load({ files: [file], keep, truncateTorn, repair });
      const report = load();
      check(report.error === null || report.error.length > 0, 'an empty error text');
      if (integrity) ks.checkIntegrity();
      if (report.truncated.length > 0) {
        if (ks.size() > 0) ks.flush();
        const again = load();
        // A snapshot without its END record stays one (a repair keeps what precedes the damage):
        // a second load may report it again, but must cut nothing more and refuse nothing.
        check(again.error === null && again.truncated.every((t) => t.droppedBytes === 0), `after a cut the file still fails: ${again.error ?? JSON.stringify(again.truncated)}`);
        if (integrity) ks.checkIntegrity();
      }
    },
  };
}
