// CPU time of a server process's threads, from /proc/PID/task/TID. Read before and after a run;
// the difference divided by the requests is the CPU cost per request, per thread and in all, which
// on a small host says more than rps alone: there the load generator competes with the server for
// the same cores.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | null = null;

/** USER_HZ, the unit of /proc/PID/task/TID/stat's times (100 on every common Linux; asked once). */
function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

// Node 20 has no per-thread CPU API, so each thread's time is read from /proc/PID/task/TID:
// schedstat's first field is the nanoseconds the thread ran (exact; stat's utime + stime count in
// clock ticks of 10 ms, too coarse for a run of a second). Tessera names the OS thread of each
// shard in INFO cpu (shardN:tid=...); a process's main thread has tid = pid.

/** CPU time so far of every live thread of `pid`, in nanoseconds, by tid. */
export function threadCpuNs(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of readdirSync(`/proc/${pid}/task`)) {
    const tid = Number(name);
    try {
      out.set(tid, threadNs(pid, tid));
    } catch {
      // the thread exited between the listing and the read
    }
  }
  return out;
}

function threadNs(pid: number, tid: number): number {
  try {
    const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    if (Number.isFinite(ns)) return ns;
  } catch {
    // a kernel without schedstat: fall back to stat's clock ticks
  }
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e9) / clockTicks();
}

/** Which of a server's threads do what: the main thread, and one thread per shard (Tessera). */
export interface ThreadRoles {
  pid: number;
  main: number;
  /** Shard threads by shard id; empty for redis-server, the main thread's tid when inline. */
  shards: number[];
}

/** The roles from INFO cpu's `shardN:tid=T` lines (none on redis-server). */
export function threadRoles(pid: number, infoCpu: string): ThreadRoles {
  const shards: number[] = [];
  for (const m of infoCpu.matchAll(/^shard(\d+):tid=(\d+)\r?$/gm)) shards[Number(m[1])] = Number(m[2]);
  return { pid, main: pid, shards: Array.from(shards, (t) => t ?? 0) };
}

/** CPU time spent between two readings, in microseconds, split by role. */
export interface CpuSplit {
  totalUs: number;
  mainUs: number;
  /** By shard id; a shard run inline counts in mainUs and shows 0 here. */
  shardUs: number[];
  /** Every other thread: V8's GC and compiler helpers, libuv's pool, Redis's bio threads. */
  otherUs: number;
}

/**
 * Splits the CPU time between `before` and `after` (threadCpuNs readings). A thread that started
 * in between counts from zero; one that ended in between is lost (its last slice is unknown).
 */
export function splitCpu(roles: ThreadRoles, before: Map<number, number>, after: Map<number, number>): CpuSplit {
  const delta = (tid: number): number => ((after.get(tid) ?? 0) - (before.get(tid) ?? 0)) / 1000;
  let totalUs = 0;
  for (const tid of after.keys()) totalUs += delta(tid);
  const mainUs = delta(roles.main);
  const shardUs = roles.shards.map((tid) => (tid === roles.main || tid === 0 ? 0 : delta(tid)));
  return { totalUs, mainUs, shardUs, otherUs: totalUs - mainUs - shardUs.reduce((a, b) => a + b, 0) };
}
