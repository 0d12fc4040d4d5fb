// Holds this process's claim on its data directory for as long as it runs: the lock of `dir`
// (dir-lock.ts), moved along by CONFIG SET dir, and for a cluster node whose config file lies
// outside dir, a lock beside that file too. Everything is released on a clean exit.

import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { Config, SetGuard } from '../config/config.js';
import { DirLock, DirLockedError, type LockTaken } from './dir-lock.js';

/** Errors that mean the lock file cannot be written at all: nothing else can write there either. */
const UNWRITABLE = new Set(['EACCES', 'EPERM', 'EROFS']);

/** The locks held, and what is worth a line in the startup log. */
export interface DataDirClaim {
  notes: string[];
  release(): void;
}

/**
 * Locks config.values.dir (and an outside cluster config file) for this process, installs the
 * CONFIG SET dir guard that moves the lock, and releases everything when the process exits.
 * Throws DirLockedError when another live server holds one of them.
 */
export function claimDataDir(config: Config): DataDirClaim {
  const notes: string[] = [];
  const held: Array<DirLock | null> = []; // at most: start dir, cluster file, current dir
  const release = (): void => {
    for (const l of held) l?.release();
  };
  try {
    const v = config.values;
    const startLock = take(v.dir, undefined, undefined, notes);
    held.push(startLock);
    // A cluster node keeps writing nodes.conf where it started, whatever dir becomes later.
    let keepStartLock = false;
    if (v.clusterEnabled) {
      // nodes.conf inside dir is covered by the dir's lock; one elsewhere gets its own, as
      // Redis locks nodes.conf, so that two nodes never share one.
      const file = isAbsolute(v.clusterConfigFile) ? v.clusterConfigFile : join(v.dir, v.clusterConfigFile);
      if (resolve(dirname(file)) === resolve(v.dir)) keepStartLock = true;
      else held.push(take(dirname(file), `${basename(file)}.lock`, `cluster config file '${file}'`, notes));
    }
    let current = { dir: v.dir, lock: startLock };
    let pending: DirLock | null = null;
    config.guard('dir', {
      check(dir) {
        if (dir === current.dir) return null;
        try {
          pending = take(dir, undefined, undefined, notes);
          return null;
        } catch (err) {
          if (err instanceof DirLockedError) return `directory in use by another Tessera server (pid ${err.owner.pid})`;
          return `cannot lock the directory: ${(err as Error).message}`;
        }
      },
      settle(dir, committed) {
        if (dir === current.dir) return;
        const next = pending;
        pending = null;
        if (!committed) {
          next?.release();
          return;
        }
        const old = current.lock;
        if (old !== null && !(keepStartLock && old === startLock)) {
          old.release();
          held.splice(held.indexOf(old), 1);
        }
        current = { dir, lock: next };
        held.push(next);
      },
    } satisfies SetGuard);
  } catch (err) {
    release();
    throw err;
  }
  process.once('exit', release);
  return { notes, release };
}

/** A lock, or null (with a note) where the directory cannot be written. */
function take(dir: string, name: string | undefined, what: string | undefined, notes: string[]): DirLock | null {
  let taken: LockTaken;
  try {
    taken = DirLock.acquire(dir, name, what);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === undefined || !UNWRITABLE.has(code)) throw err;
    notes.push(`${what ?? `dir '${dir}'`} is not writable (${code}): running without its lock file`);
    return null;
  }
  if (taken.tookOverFrom !== null) {
    notes.push(`took over ${taken.lock.path}, left by pid ${taken.tookOverFrom.pid}, which is gone`);
  }
  return taken.lock;
}
