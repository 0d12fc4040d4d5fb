// A description of the machine a benchmark ran on.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  ramGiB: number;
  node: string;
  redisServer: string;
  kernel: string;
}

export function describeMachine(): Machine {
  let cpu = 'unknown';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown';
  } catch {
    // not Linux
  }
  let redisServer = 'unknown';
  try {
    const out = execFileSync('redis-server', ['--version'], { encoding: 'utf8' });
    redisServer = /v=(\S+)/.exec(out)?.[1] ?? out.trim();
  } catch {
    // not installed; the run will fail later with a clearer message
  }
  let kernel = 'unknown';
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    // not Linux
  }
  return {
    cpu, cores: availableParallelism(), ramGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version, redisServer, kernel,
  };
}

/** The commit a benchmark measured in the checkout at `repoRoot`, with a note when the working
 * tree differs from it. */
export function gitRevision(repoRoot: string): string {
  try {
    const git = (...args: string[]): string =>
      execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' (with uncommitted changes)' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}
