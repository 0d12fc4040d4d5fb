// MEMORY DOCTOR: Redis 7.0's report (its greeting, its "empty" and "no issue" texts, its list
// format and closing line), with checks that fit Tessera's memory: the arenas' free-listed and
// committed-but-unused bytes stand for the allocator's, the JavaScript heaps for process overhead.

import type { MainFigures, MemoryReport } from './memory-report.js';

const MB = 1024 * 1024;
/** Redis's floor under which the detector says the instance is empty. */
const EMPTY_BELOW_BYTES = 5 * MB;
/** Redis's floor for every fragmentation issue: smaller waste is not worth a report. */
const WASTE_MIN_BYTES = 10 * MB;
/** An arena grows by doubling, so up to 2x committed per used page is the normal slack. */
const ARENA_SLACK_RATIO = 2;
/** Node's runtime (heaps of the main thread and of each shard worker) alone takes tens of MB;
 * non-arena RSS is reported only past this and past the arenas' own size. */
const PROCESS_OVERHEAD_MIN_BYTES = 256 * MB;
const LAZY_FREE_MIN_BYTES = 64 * MB;

export const DOCTOR_EMPTY =
  "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. " +
  'Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n';
export const DOCTOR_FINE = "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n";
const HEADER = 'Sam, I detected a few issues in this Redis instance memory implants:\n\n';
const CLOSING = "I'm here to keep you safe, Sam. I want to help you.\n";

const PEAK =
  ' * Peak memory: In the past this instance used more than 150% the memory that is currently using. The arenas keep the pages they grew to and reuse freed blocks for new data, so you can expect to see a big fragmentation ratio; this is harmless and only due to the memory peak: the memory will be used again as soon as you fill the instance with more data. An arena never gives pages back to the system: if the peak was only occasional and you need the memory back, the only option is to restart the instance (it reloads its data from its snapshot and log).\n\n';
const ARENA_FRAG =
  ' * High arena fragmentation: The arenas hold more than 10% (and more than 10MB) of their used bytes in freed blocks waiting on their size-class free lists. This is usually due to a large peak memory or to a workload that deletes many values of one size and writes values of other sizes. The blocks are reused by new values of their size class; MEMORY MALLOC-STATS shows the free blocks per class.\n\n';
const ARENA_RSS =
  ' * High arena RSS overhead: The arenas hold more than twice (and more than 10MB) the pages they have handed out. An arena grows by doubling and never shrinks, so this follows a peak of the memory at the top of an arena. The pages are used again as data grows; restart the instance to give them back.\n\n';
const PROCESS_RSS =
  " * High process RSS overhead: This instance's Resident Set Size outside the arenas is larger than the arenas themselves and than 256MB (this means memory held by the JavaScript heaps of the main thread and the shard workers, or by buffers). This may be due to Lua scripts, large replies being sent, or a replica's full synchronization.\n\n";
const REPLICA_BUF =
  ' * Big replica buffers: The replica output buffers in this instance are greater than 10MB for each replica (on average). This likely means that there is some replica instance that is struggling receiving data, either because it is too slow or because of networking issues. As a result, data piles on the master output buffers. Please try to identify what replica is not receiving data correctly and why. You can use the INFO output in order to check the replicas delays and the CLIENT LIST command to check the output buffers of each replica.\n\n';
const CLIENT_BUF =
  ' * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n';
const SCRIPTS =
  " * Many scripts: There seem to be many cached scripts in this instance (more than 1000). This may be because scripts are generated and `EVAL`ed, instead of being parameterized (with KEYS and ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless `SCRIPT FLUSH` is called periodically, the scripts' caches may end up consuming most of your memory.\n\n";
const LAZY =
  ' * Lazy free backlog: More than 64MB of deleted values are still being freed in the background (a large collection was deleted or overwritten). The shards free them in bounded steps between commands; the memory comes back within seconds unless deletions keep coming faster.\n\n';

/** The doctor's text for a report (Redis's wording where Redis checks the same thing). */
export function doctorReport(r: MemoryReport, main: MainFigures): string {
  if (r.totalAllocated < EMPTY_BELOW_BYTES) return DOCTOR_EMPTY;
  const found: string[] = [];
  if (r.peakAllocated / r.totalAllocated > 1.5) found.push(PEAK);
  if (r.allocatorFragRatio > 1.1 && r.allocatorFragBytes > WASTE_MIN_BYTES) found.push(ARENA_FRAG);
  if (r.allocatorRssRatio > ARENA_SLACK_RATIO && r.allocatorRssBytes > WASTE_MIN_BYTES) found.push(ARENA_RSS);
  if (r.rssOverheadBytes > PROCESS_OVERHEAD_MIN_BYTES && r.rssOverheadRatio > 2) found.push(PROCESS_RSS);
  if (main.replicas > 0 && main.replicaBuffers / main.replicas > 10 * MB) found.push(REPLICA_BUF);
  if (main.clients > 0 && main.clientBuffers / main.clients > 200 * 1024) found.push(CLIENT_BUF);
  if (main.cachedScripts > 1000) found.push(SCRIPTS);
  if (r.lazyFreeBytes > LAZY_FREE_MIN_BYTES) found.push(LAZY);
  if (found.length === 0) return DOCTOR_FINE;
  return HEADER + found.join('') + CLOSING;
}
