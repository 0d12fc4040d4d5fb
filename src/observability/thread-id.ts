// The Linux thread id (tid) of the calling thread, for per-thread CPU accounting: a shard reports it
// in its stats, INFO cpu lists it, and bench/lib/cpu.ts reads that thread's /proc entry. Node 20
// has no API for it; /proc/thread-self links to "<pid>/task/<tid>". Module state is per thread
// (each worker loads its own copy), so the cached value is this thread's.

import { readlinkSync } from 'node:fs';

let cached: number | null = null;

/** This thread's tid; 0 where /proc/thread-self does not exist (not Linux). */
export function osThreadId(): number {
  if (cached === null) {
    try {
      const m = /\/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'));
      cached = m?.[1] === undefined ? 0 : Number(m[1]);
    } catch {
      cached = 0;
    }
  }
  return cached;
}
