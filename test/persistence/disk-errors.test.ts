// A snapshot whose writes fail (file size limit: EFBIG, as a full disk would) is abandoned cleanly:
// its wait rejects, no file or temporary file is left, no entry stays pending, the keyspace is
// intact; a FLUSHALL during it still flushes (the snapshot's error is the snapshot's, not the
// command's). Runs the work in a child under `ulimit -f`.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tempDir } from './helpers.js';

const tmp = tempDir('diskerr');
test.after(() => tmp.cleanup());
const child = join(dirname(fileURLToPath(import.meta.url)), 'disk-error-child.js');

/** Runs the child with a 2 MiB file size limit (the snapshot is about 5 MB). */
function run(mode: string): Record<string, unknown> {
  const out = execFileSync('bash', ['-c', 'ulimit -f 2048 && exec "$0" "$@"', process.execPath, child, mode, tmp.path(`${mode}.tsnap`)], { encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

test('a snapshot failing to write (EFBIG) is abandoned: rejected, no files left, nothing pending', () => {
  const r = run('step');
  assert.match(String(r['snapshot']), /^rejected: .*EFBIG/);
  assert.is(r['snapshotActive'], false);
  assert.is(r['pending'], 0);
  assert.is(r['file'], false);
  assert.is(r['tmp'], false);
  assert.is(r['keys'], 5000);
});

test('FLUSHALL during a snapshot whose writes fail: the flush happens, the snapshot fails', () => {
  const r = run('flush');
  assert.match(String(r['snapshot']), /^rejected: .*EFBIG/);
  assert.is(r['snapshotActive'], false);
  assert.is(r['pending'], 0);
  assert.is(r['file'], false);
  assert.is(r['tmp'], false);
  assert.is(r['flush'], 'ok', `the flush command failed because of the snapshot's disk error: ${String(r['flush'])}`);
  assert.is(r['keysAfterFlush'], 0);
});

test.run();
