// Fresh, empty benchmark servers: redis-server and Tessera each started on a free port in a new
// temporary directory that is removed when the server stops, with saving off on both, so that no
// dump left behind by anyone puts keys into a server that must start empty.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';
import { startServer, type BenchServer } from './servers.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
export const TESSERA_MAIN = 'dist/src/cli/main.js';

/** A fresh server and its data directory (for the size of the files it writes there). */
export interface FreshServer extends BenchServer {
  dir: string;
}

/**
 * A fresh empty directory per server, removed when it stops: both servers load a dump found in
 * their directory at start, even with saving off, and a shared one (a dump.rdb left in the
 * system temp directory by anyone) put keys into Redis that skewed the memory figures.
 */
async function withDataDir(start: (dir: string) => Promise<BenchServer>): Promise<FreshServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-data-'));
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    const server = await start(dir);
    return { ...server, dir, stop: (signal) => server.stop(signal).finally(removeDir) };
  } catch (err) {
    removeDir();
    throw err;
  }
}

/** redis-server with no snapshots and no append-only file; `serverArgs` are added after those
 * (the last of a repeated option wins, e.g. --appendonly yes). */
export async function startFreshRedis(serverArgs: string[] = []): Promise<FreshServer> {
  const port = await freePort();
  return withDataDir((dir) => startServer({
    name: 'redis-server', command: 'redis-server', port, cwd: dir,
    args: ['--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'no', ...serverArgs],
  }));
}

/** Tessera as Redis above (the shipped config has save points), its memcached and HTTP ports
 * off so that parallel runs never clash; `serverArgs` are added (e.g. --shards 2; the last of a
 * repeated option wins), `nodeArgs` go to node (e.g. --cpu-prof). */
export async function startFreshTessera(serverArgs: string[] = [], nodeArgs: string[] = []): Promise<FreshServer> {
  const port = await freePort();
  return withDataDir((dir) => startServer({
    name: 'tessera', command: 'node', port, cwd: REPO_ROOT,
    args: [...nodeArgs, TESSERA_MAIN, 'server', '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'no',
      '--memcache-port', '0', '--http-port', '0', ...serverArgs],
  }));
}
