// Manifests: write/read round trip, load order of a shard's files, and rejection of bad content.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { filesOfShard, readManifest, writeManifest, type Manifest } from '../../src/persistence/manifest.js';
import { tempDir } from './helpers.js';

const tmp = tempDir('manifest');
test.after(() => tmp.cleanup());

const sample: Manifest = {
  shards: 3,
  seq: 42,
  files: [
    { name: 'appendonly.aof.42.0.base.tsnap', shard: 0, role: 'b' },
    { name: 'appendonly.aof.41.0.incr.aof', shard: 0, role: 'i' },
    { name: 'appendonly.aof.42.1.base.tsnap', shard: 1, role: 'b' },
    { name: 'appendonly.aof.42.0.incr.aof', shard: 0, role: 'i' },
    { name: 'appendonly.aof.42.1.incr.aof', shard: 1, role: 'i' },
    { name: 'dump-2.tsnap', shard: 2, role: 's' },
  ],
};

test('write then read gives the same manifest; no temporary file is left', () => {
  const path = tmp.path('roundtrip.manifest');
  writeManifest(path, sample);
  assert.equal(readManifest(path), sample);
  assert.equal(readdirSync(tmp.dir).filter((f) => f.endsWith('.tmp')), []);
  const text = readFileSync(path, 'utf8');
  assert.ok(text.startsWith('#'), 'starts with the comment header');
  assert.ok(text.endsWith('\n'));
  // Replacing it.
  const next: Manifest = { shards: 1, seq: 43, files: [{ name: 'x.tsnap', shard: 0, role: 's' }] };
  writeManifest(path, next);
  assert.equal(readManifest(path), next);
  // No files at all.
  writeManifest(path, { shards: 2, seq: 0, files: [] });
  assert.equal(readManifest(path), { shards: 2, seq: 0, files: [] });
});

test('a missing manifest reads as null', () => {
  assert.is(readManifest(tmp.path('absent.manifest')), null);
});

test('comments, blank lines and extra whitespace are ignored', () => {
  const path = tmp.path('spaces.manifest');
  writeFileSync(path, '# comment\n\n  version 1  \nshards\t2\r\nseq 7\n# another\nfile  a.aof  shard 1  role i\n\n');
  assert.equal(readManifest(path), { shards: 2, seq: 7, files: [{ name: 'a.aof', shard: 1, role: 'i' }] });
});

test('filesOfShard: base and snapshot files first, then logs in the order listed', () => {
  assert.equal(filesOfShard(sample, 0).map((f) => f.name), ['appendonly.aof.42.0.base.tsnap', 'appendonly.aof.41.0.incr.aof', 'appendonly.aof.42.0.incr.aof']);
  assert.equal(filesOfShard(sample, 1).map((f) => f.name), ['appendonly.aof.42.1.base.tsnap', 'appendonly.aof.42.1.incr.aof']);
  assert.equal(filesOfShard(sample, 2).map((f) => f.name), ['dump-2.tsnap']);
  assert.equal(filesOfShard(sample, 5), []);
  const logFirst: Manifest = { shards: 1, seq: 1, files: [{ name: 'l1', shard: 0, role: 'i' }, { name: 'b', shard: 0, role: 'b' }, { name: 'l2', shard: 0, role: 'i' }] };
  assert.equal(filesOfShard(logFirst, 0).map((f) => f.name), ['b', 'l1', 'l2']);
});

const bad: Array<[string, string]> = [
  ['version 2', 'version 2\nshards 1\nseq 1\n'],
  ['missing version number', 'version\nshards 1\nseq 1\n'],
  ['unknown keyword', 'version 1\nshards 1\nseq 1\nbogus line\n'],
  ['shards with extra words', 'version 1\nshards 1 2\nseq 1\n'],
  ['no shards line', 'version 1\nseq 1\n'],
  ['zero shards', 'version 1\nshards 0\nseq 1\n'],
  ['shards not a number', 'version 1\nshards many\nseq 1\n'],
  ['seq not a number', 'version 1\nshards 1\nseq soon\n'],
  ['seq fractional', 'version 1\nshards 1\nseq 1.5\n'],
  ['file with a slash', 'version 1\nshards 1\nseq 1\nfile ../evil shard 0 role b\n'],
  ['file with a subdirectory', 'version 1\nshards 1\nseq 1\nfile dir/x shard 0 role b\n'],
  ['file role unknown', 'version 1\nshards 1\nseq 1\nfile x shard 0 role z\n'],
  ['file role two letters', 'version 1\nshards 1\nseq 1\nfile x shard 0 role bi\n'],
  ['file missing role', 'version 1\nshards 1\nseq 1\nfile x shard 0\n'],
  ['file misspelt fields', 'version 1\nshards 1\nseq 1\nfile x shards 0 role b\n'],
  ['file shard out of range', 'version 1\nshards 2\nseq 1\nfile x shard 2 role b\n'],
  ['file shard negative', 'version 1\nshards 2\nseq 1\nfile x shard -1 role b\n'],
  ['file shard not a number', 'version 1\nshards 2\nseq 1\nfile x shard one role b\n'],
];

for (const [what, text] of bad) {
  test(`rejects a manifest with ${what}`, () => {
    const path = tmp.path('bad.manifest');
    writeFileSync(path, text);
    assert.throws(() => readManifest(path), /Bad manifest/);
  });
}

test('the error names the file and the line', () => {
  const path = tmp.path('line.manifest');
  writeFileSync(path, '# header\nversion 1\nshards 1\nnonsense here\n');
  try {
    readManifest(path);
    assert.unreachable('must throw');
  } catch (e) {
    const msg = (e as Error).message;
    assert.ok(msg.includes(path), msg);
    assert.ok(msg.includes('line 4'), msg);
    assert.ok(msg.includes('nonsense here'), msg);
  }
  assert.ok(existsSync(path));
});

test.run();
