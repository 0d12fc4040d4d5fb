// The data directory lock: exclusive between live processes (real child processes hold it),
// released by its owner only, taken over from a process that is gone (exited, or a pid reused
// by a younger process), and taken over by exactly one of several racing starters.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DirLock, DirLockedError, LOCK_FILE_NAME, parseOwner } from '../../src/persistence/dir-lock.js';

const DIR_LOCK_JS = fileURLToPath(new URL('../../src/persistence/dir-lock.js', import.meta.url));
const CHILD_DEADLINE_MS = 10_000;
const root = mkdtempSync(join(tmpdir(), 'tessera-dirlock-'));
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid, 'SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

let dirCount = 0;
const freshDir = (): string => mkdtempSync(join(root, `d${dirCount++}-`));
const lockText = (pid: number, started: string, host = hostname()): string => `pid ${pid}\nstarted ${started}\nhost ${host}\n`;

/** A process that tries to take the lock of `dir`, prints "ok" or "locked <pid>", and holds the
 * lock until its stdin closes. */
function lockHolder(dir: string): { child: ChildProcess; first: Promise<string> } {
  const script = `
    import { DirLock, DirLockedError } from ${JSON.stringify(DIR_LOCK_JS)};
    try {
      const { lock } = DirLock.acquire(${JSON.stringify(dir)});
      process.stdout.write('ok\\n');
      process.stdin.resume();
      process.stdin.on('end', () => { lock.release(); process.exit(0); });
    } catch (e) {
      process.stdout.write(e instanceof DirLockedError ? 'locked ' + e.owner.pid + '\\n' : 'error ' + e.message + '\\n');
      process.exit(0);
    }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const first = new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`lock holder said nothing within ${CHILD_DEADLINE_MS} ms`)), CHILD_DEADLINE_MS);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(out.trim());
      }
    });
  });
  return { child, first };
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
}

/** The pid of a process that has exited and been reaped. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  assert.ok(r.pid > 0);
  return r.pid;
}

function procStartTime(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
}

const lock = suite('dir lock');

lock('taken and released by its owner; the file names the owner', () => {
  const dir = freshDir();
  const { lock: l, tookOverFrom } = DirLock.acquire(dir);
  assert.is(tookOverFrom, null);
  const owner = parseOwner(readFileSync(join(dir, LOCK_FILE_NAME), 'utf8'));
  assert.is(owner?.pid, process.pid);
  assert.is(owner?.host, hostname());
  assert.is(DirLock.acquire(dir).tookOverFrom, null, 'the same process may take it again');
  l.release();
  assert.not.ok(existsSync(join(dir, LOCK_FILE_NAME)));
  l.release();
  assert.equal(readdirSync(dir), [], 'no temporary files left');
});

lock('a live process holding it refuses a second one, naming its pid', async () => {
  const dir = freshDir();
  const holder = lockHolder(dir);
  assert.is(await holder.first, 'ok');
  try {
    DirLock.acquire(dir);
    assert.unreachable('expected DirLockedError');
  } catch (e) {
    assert.instance(e, DirLockedError);
    const err = e as DirLockedError;
    assert.is(err.owner.pid, holder.child.pid);
    assert.match(err.message, new RegExp(`dir '.*' is in use by another Tessera server \\(pid ${holder.child.pid}; lock file .*tessera\\.lock\\)`));
  }
  const second = lockHolder(dir);
  assert.is(await second.first, `locked ${holder.child.pid}`);
  holder.child.stdin?.end();
  await exited(holder.child);
  assert.not.ok(existsSync(join(dir, LOCK_FILE_NAME)), 'released on a clean exit');
  DirLock.acquire(dir).lock.release();
});

lock('release leaves a lock that is not its own', () => {
  const dir = freshDir();
  const { lock: l } = DirLock.acquire(dir);
  const other = lockText(process.ppid, procStartTime(process.ppid));
  writeFileSync(join(dir, LOCK_FILE_NAME), other);
  l.release();
  assert.is(readFileSync(join(dir, LOCK_FILE_NAME), 'utf8'), other);
});

lock('a lock whose owner is gone is taken over: exited, killed, or a pid now used by a younger process', async () => {
  const gone = deadPid();
  const dir = freshDir();
  writeFileSync(join(dir, LOCK_FILE_NAME), lockText(gone, '1'));
  const a = DirLock.acquire(dir);
  assert.is(a.tookOverFrom?.pid, gone);
  assert.is(parseOwner(readFileSync(join(dir, LOCK_FILE_NAME), 'utf8'))?.pid, process.pid);
  a.lock.release();

  const reused = freshDir();
  writeFileSync(join(reused, LOCK_FILE_NAME), lockText(process.ppid, '1')); // alive, but started at another time
  assert.is(DirLock.acquire(reused).tookOverFrom?.pid, process.ppid);

  const killed = freshDir();
  const holder = lockHolder(killed);
  assert.is(await holder.first, 'ok');
  holder.child.kill('SIGKILL');
  await exited(holder.child);
  assert.ok(existsSync(join(killed, LOCK_FILE_NAME)), 'SIGKILL leaves the file');
  assert.is(DirLock.acquire(killed).tookOverFrom?.pid, holder.child.pid);

  const garbage = freshDir();
  writeFileSync(join(garbage, LOCK_FILE_NAME), 'not a lock');
  assert.ok(DirLock.acquire(garbage).tookOverFrom !== null);
});

lock('a live owner is not taken over; one on another host counts as live', () => {
  const live = freshDir();
  writeFileSync(join(live, LOCK_FILE_NAME), lockText(process.ppid, procStartTime(process.ppid)));
  assert.throws(() => DirLock.acquire(live), (e: unknown) => e instanceof DirLockedError && e.owner.pid === process.ppid);
  const remote = freshDir();
  writeFileSync(join(remote, LOCK_FILE_NAME), lockText(deadPid(), '1', 'elsewhere.example'));
  assert.throws(() => DirLock.acquire(remote), (e: unknown) => e instanceof DirLockedError && /on host elsewhere\.example/.test(e.message));
});

lock('several starters racing for a stale lock: exactly one gets it', async () => {
  const dir = freshDir();
  writeFileSync(join(dir, LOCK_FILE_NAME), lockText(deadPid(), '1'));
  const racers = Array.from({ length: 6 }, () => lockHolder(dir));
  const answers = await Promise.all(racers.map((r) => r.first));
  const winners = racers.filter((_, i) => answers[i] === 'ok');
  assert.is(winners.length, 1, answers.join(', '));
  const winnerPid = winners[0]!.child.pid;
  for (const a of answers) if (a !== 'ok') assert.is(a, `locked ${winnerPid}`);
  for (const r of racers) r.child.stdin?.end();
  await Promise.all(racers.map((r) => exited(r.child)));
  assert.equal(readdirSync(dir), [], 'lock, takeover lock and temporaries all gone');
});

lock.run();
