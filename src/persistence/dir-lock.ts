// One Tessera process per data directory: a lock file in the directory names the process
// holding it (pid, its start time and host), so that a second server on the same dir refuses to
// start instead of overwriting the first one's snapshots, logs and nodes.conf. Redis has no such
// lock (it locks only nodes.conf); we do. Invariants: the file appears whole or not at all (a
// hard link of a finished file, atomic and exclusive); only its owner removes it, except a lock
// whose owner is gone, which is taken over under a second lock so that two starters cannot both
// take it over.

import { hostname } from 'node:os';
import { join } from 'node:path';
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';

export const LOCK_FILE_NAME = 'tessera.lock';
/** Tries to take a lock whose owner is gone, or to wait out a concurrent takeover. */
const ACQUIRE_ATTEMPTS = 20;
const TAKEOVER_PAUSE_MS = 10;

/** Who holds a lock, as written in its file. */
export interface LockOwner {
  pid: number;
  /** The process's start time in clock ticks since boot (Linux /proc), '' where unknown: tells a
   * live owner from a new process that was given the same pid. */
  startTime: string;
  host: string;
}

/** The directory (or file) is locked by another live process; the message names it. */
export class DirLockedError extends Error {
  override name = 'DirLockedError';
  constructor(readonly what: string, readonly lockPath: string, readonly owner: LockOwner) {
    const where = owner.host === hostname() ? '' : ` on host ${owner.host}`;
    super(`${what} is in use by another Tessera server (pid ${owner.pid}${where}; lock file ${lockPath})`);
  }
}

/** What taking a lock did, for the startup log. */
export interface LockTaken {
  lock: DirLock;
  /** The dead owner whose lock was taken over, if any. */
  tookOverFrom: LockOwner | null;
}

export class DirLock {
  #released = false;

  private constructor(readonly dir: string, readonly path: string, readonly owner: LockOwner) {}

  /**
   * Takes the lock file `name` in `dir` for this process, taking over one left by a process that
   * is gone. Throws DirLockedError (naming `what`, by default the dir) when a live process holds
   * it, and the file system's error when the lock file cannot be written (a read-only dir: the
   * caller decides whether that matters).
   */
  static acquire(dir: string, name = LOCK_FILE_NAME, what = `dir '${dir}'`): LockTaken {
    const path = join(dir, name);
    const me = selfOwner();
    let tookOverFrom: LockOwner | null = null;
    for (let attempt = 0; attempt < ACQUIRE_ATTEMPTS; attempt++) {
      if (createExclusive(path, me)) return { lock: new DirLock(dir, path, me), tookOverFrom };
      const text = readOrNull(path);
      if (text === null) continue; // removed meanwhile: try again
      const owner = parseOwner(text);
      if (owner !== null && sameOwner(owner, me)) return { lock: new DirLock(dir, path, me), tookOverFrom };
      if (owner !== null && isAlive(owner)) throw new DirLockedError(what, path, owner);
      // The owner is gone (or the file is not a lock we wrote): take it over, under a takeover
      // lock, removing only the very file we judged stale.
      const guard = `${path}.takeover`;
      if (!createExclusive(guard, me)) {
        const g = readOrNull(guard);
        const gOwner = g === null ? null : parseOwner(g);
        if (gOwner !== null && !isAlive(gOwner) && readOrNull(guard) === g) tryUnlink(guard);
        pause(TAKEOVER_PAUSE_MS);
        continue;
      }
      try {
        if (readOrNull(path) === text) {
          tryUnlink(path);
          tookOverFrom = owner ?? { pid: 0, startTime: '', host: '?' };
        }
      } finally {
        tryUnlink(guard);
      }
    }
    throw new Error(`could not take the lock file ${path}: it keeps changing (other servers starting on the same dir?)`);
  }

  /** Removes the lock file if it is still this process's. Idempotent; safe in an exit handler. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    const text = readOrNull(this.path);
    const owner = text === null ? null : parseOwner(text);
    if (owner !== null && sameOwner(owner, this.owner)) tryUnlink(this.path);
  }
}

/** Creates `path` holding `owner`, whole, only if it does not exist; false if it does. */
function createExclusive(path: string, owner: LockOwner): boolean {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, formatOwner(owner));
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    tryUnlink(tmp);
  }
}

function formatOwner(o: LockOwner): string {
  return `pid ${o.pid}\nstarted ${o.startTime}\nhost ${o.host}\n`;
}

export function parseOwner(text: string): LockOwner | null {
  const m = /^pid (\d+)\nstarted (\d*)\nhost (.*)\n$/.exec(text);
  if (!m) return null;
  return { pid: Number(m[1]), startTime: m[2] ?? '', host: m[3] ?? '' };
}

function selfOwner(): LockOwner {
  return { pid: process.pid, startTime: procStartTime(process.pid) ?? '', host: hostname() };
}

function sameOwner(a: LockOwner, b: LockOwner): boolean {
  return a.pid === b.pid && a.startTime === b.startTime && a.host === b.host;
}

/** A process on another host cannot be checked: it counts as alive (the safe answer). */
function isAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    // EPERM: it exists, owned by another user.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = procStat(owner.pid);
  if (stat === null) return true; // no /proc: trust the pid
  if (stat.state === 'Z' || stat.state === 'X') return false; // exited, not yet reaped
  return owner.startTime === '' || stat.startTime === owner.startTime;
}

function procStartTime(pid: number): string | null {
  return procStat(pid)?.startTime ?? null;
}

/** State and start time from /proc/<pid>/stat (Linux); null elsewhere or when unreadable. */
function procStat(pid: number): { state: string; startTime: string } | null {
  const text = readOrNull(`/proc/${pid}/stat`);
  if (text === null) return null;
  // The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = fields[19]; // field 22 of the whole line
  return state === undefined || startTime === undefined ? null : { state, startTime };
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function tryUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
