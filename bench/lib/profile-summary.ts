// Summaries of V8 CPU profiles (.cpuprofile JSON, as `node --cpu-prof` writes one per thread): for
// each thread its idle share and the functions with the most self time. Self time is sampled: each
// sample's node is charged the time until the next sample (as Chrome's DevTools does).

import { readdirSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: CallFrame }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  name: string;
  /** Repository-relative file and 1-based line, or Node's own module name. */
  location: string;
  selfMs: number;
  /** Of the thread's whole profiled time. */
  share: number;
}

export interface ThreadSummary {
  /** Node's thread id (0 = main thread), from the file name. */
  threadId: number;
  totalMs: number;
  idleShare: number;
  gcShare: number;
  top: FunctionTime[];
}

/** Profiles in `dir`, main thread first; `repoRoot` is cut from file URLs. */
export function summarizeProfiles(dir: string, repoRoot: string, topN = 12): ThreadSummary[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => summarizeProfile(JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile, threadIdOf(f), repoRoot, topN))
    .sort((a, b) => a.threadId - b.threadId);
}

/** CPU.<date>.<time>.<pid>.<thread id>.<sequence>.cpuprofile */
function threadIdOf(file: string): number {
  const parts = file.split('.');
  return Number(parts[parts.length - 3] ?? NaN);
}

export function summarizeProfile(profile: CpuProfile, threadId: number, repoRoot: string, topN: number): ThreadSummary {
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const selfUs = new Map<string, { frame: CallFrame; us: number }>();
  let at = profile.startTime;
  const stamps = profile.timeDeltas.map((d) => (at += d));
  profile.samples.forEach((id, i) => {
    const frame = frames.get(id);
    if (frame === undefined) return;
    const us = (stamps[i + 1] ?? profile.endTime) - (stamps[i] ?? profile.startTime);
    const key = `${frame.functionName}\u0000${frame.url}\u0000${frame.lineNumber}`;
    const entry = selfUs.get(key) ?? { frame, us: 0 };
    entry.us += Math.max(0, us);
    selfUs.set(key, entry);
  });
  const totalUs = [...selfUs.values()].reduce((sum, e) => sum + e.us, 0) || 1;
  const shareOf = (name: string): number =>
    [...selfUs.values()].filter((e) => e.frame.functionName === name).reduce((sum, e) => sum + e.us, 0) / totalUs;
  const top = [...selfUs.values()]
    .filter((e) => e.frame.functionName !== '(idle)')
    .sort((a, b) => b.us - a.us)
    .slice(0, topN)
    .map((e) => ({ name: e.frame.functionName || '(anonymous)', location: location(e.frame, repoRoot), selfMs: e.us / 1000, share: e.us / totalUs }));
  return { threadId, totalMs: totalUs / 1000, idleShare: shareOf('(idle)'), gcShare: shareOf('(garbage collector)'), top };
}

function location(frame: CallFrame, repoRoot: string): string {
  if (frame.url === '') return '';
  let path = frame.url.replace(/^file:\/\//, '');
  const root = repoRoot.endsWith(sep) ? repoRoot : repoRoot + sep;
  if (path.startsWith(root)) path = path.slice(root.length);
  // Anything left absolute would name this machine's directories in the report.
  else if (path.startsWith('/')) path = path.split('/').slice(-2).join('/');
  return `${path}:${frame.lineNumber + 1}`;
}
