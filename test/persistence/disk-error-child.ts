// Child process of disk-errors.test.ts: runs under `ulimit -f` so that writing a snapshot past the
// limit fails (EFBIG), and prints one JSON line describing what happened. Not a test file itself.
import { existsSync } from 'node:fs';
import { Keyspace } from '../../src/keyspace/keyspace.js';
import { ShardPersistence } from '../../src/persistence/shard-persistence.js';
import { entries, freshKs, put } from './helpers.js';

process.on('SIGXFSZ', () => undefined); // the write then fails with EFBIG instead of killing us

const [mode, path] = process.argv.slice(2) as [string, string];
const ks: Keyspace = freshKs();
const ps = new ShardPersistence(0, ks);
const value = new Uint8Array(1000).fill(7);
for (let i = 0; i < 5000; i++) put(ks, `k${i}`, value);

const out: Record<string, unknown> = { mode };
ps.snapshotStart(path);
const outcome = ps.snapshotWait().then(
  () => 'resolved',
  (e: Error) => `rejected: ${e.message}`,
);
if (mode === 'flush') {
  try {
    ks.flush();
    out['flush'] = 'ok';
  } catch (e) {
    out['flush'] = `threw: ${(e as Error).message}`;
  }
  out['keysAfterFlush'] = ks.size();
}
out['snapshot'] = await outcome;
await new Promise((r) => setTimeout(r, 100));
out['snapshotActive'] = ks.snapshotActive();
out['pending'] = entries(ks).filter((e) => ks.snapshotPending(e)).length;
out['file'] = existsSync(path);
out['tmp'] = existsSync(`${path}.tmp`);
out['keys'] = ks.size();
ks.checkIntegrity();
ps.close();
process.stdout.write(`${JSON.stringify(out)}\n`);
