// Manifests: small text files naming the data files that make up a node's persisted state, per
// shard, and the number of shards that wrote them. Replacing a manifest (temporary name, fsync,
// rename, fsync of the directory) is the one atomic step of every save and rewrite: until it is
// renamed the old set of files stays the valid one, so a crash at any point leaves a loadable set.
//   dump (dbfilename):          base snapshots only, one per shard ('s' lines)
//   append-only (appenddirname): per shard one base snapshot ('b', optional) then logs ('i') in order

import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { syncDir } from './snapshot-job.js';

export type FileRole = 'b' | 'i' | 's';

export interface ManifestFile {
  name: string;
  shard: number;
  role: FileRole;
}

export interface Manifest {
  shards: number;
  seq: number;
  files: ManifestFile[];
}

const HEADER = '# Tessera persistence manifest: written by the server, do not edit';

export function readManifest(path: string): Manifest | null {
  if (!existsSync(path)) return null;
  const m: Manifest = { shards: 0, seq: 0, files: [] };
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const w = line.split(/\s+/);
    const bad = (): never => {
      throw new Error(`Bad manifest ${path} line ${i + 1}: '${line}'`);
    };
    if (w[0] === 'version') {
      if (w[1] !== '1') bad();
    } else if (w[0] === 'shards' && w.length === 2) {
      m.shards = Number(w[1]);
    } else if (w[0] === 'seq' && w.length === 2) {
      m.seq = Number(w[1]);
    } else if (w[0] === 'file' && w.length === 6 && w[2] === 'shard' && w[4] === 'role' && /^[bis]$/.test(w[5]!)) {
      if (w[1]!.includes('/')) bad();
      m.files.push({ name: w[1]!, shard: Number(w[3]), role: w[5] as FileRole });
    } else {
      bad();
    }
  });
  if (!Number.isInteger(m.shards) || m.shards < 1 || !Number.isInteger(m.seq) || m.files.some((f) => !Number.isInteger(f.shard) || f.shard < 0 || f.shard >= m.shards)) {
    throw new Error(`Bad manifest ${path}: inconsistent shard count or sequence`);
  }
  return m;
}

export function writeManifest(path: string, m: Manifest): void {
  const text = [
    HEADER,
    'version 1',
    `shards ${m.shards}`,
    `seq ${m.seq}`,
    ...m.files.map((f) => `file ${f.name} shard ${f.shard} role ${f.role}`),
    '',
  ].join('\n');
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncDir(dirname(path));
}

/** The files of one shard, in load order (base first, then logs in the order listed). */
export function filesOfShard(m: Manifest, shard: number): ManifestFile[] {
  const mine = m.files.filter((f) => f.shard === shard);
  return [...mine.filter((f) => f.role !== 'i'), ...mine.filter((f) => f.role === 'i')];
}
