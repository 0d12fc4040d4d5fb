// Test runner: runs every dist/test/**/*.test.js in its own node process (unit tests first, then
// e2e/), streams its output, reads uvu's summary, and ends with exactly one line
// "N passed, M failed". A file that crashes, times out or prints no summary counts as one failure.
// Usage: node dist/test/run.js [FILTER...]   (runs files whose path contains any FILTER)

import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TEST_DIR = dirname(fileURLToPath(import.meta.url));
const FILE_TIMEOUT_MS = Number(process.env['TEST_FILE_TIMEOUT_S'] ?? 120) * 1000;
const E2E_DIR = 'e2e';

interface FileResult {
  file: string;
  passed: number;
  failed: number;
  skipped: number;
  note: string;
  durationMs: number;
}

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findTests(path));
    else if (entry.isFile() && entry.name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

/** Unit tests first, then e2e/, each group sorted by path. */
function orderTests(files: string[]): string[] {
  const isE2e = (f: string): boolean => relative(TEST_DIR, f).split(sep)[0] === E2E_DIR;
  const sorted = [...files].sort();
  return [...sorted.filter((f) => !isE2e(f)), ...sorted.filter(isE2e)];
}

const ANSI = /\x1b\[[0-9;]*m/g;

/** The last uvu summary in `output`, or null when there is none. */
function parseSummary(output: string): { total: number; passed: number; skipped: number } | null {
  const text = output.replace(ANSI, '');
  const last = (label: string): number | null => {
    const matches = [...text.matchAll(new RegExp(`^\\s*${label}:\\s+(\\d+)\\s*$`, 'gm'))];
    const m = matches.at(-1);
    return m === undefined ? null : Number(m[1]);
  };
  const total = last('Total');
  const passed = last('Passed');
  if (total === null || passed === null) return null;
  return { total, passed, skipped: last('Skipped') ?? 0 };
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is already gone
  }
}

function runFile(file: string): Promise<FileResult> {
  const started = Date.now();
  const name = relative(TEST_DIR, file);
  process.stdout.write(`\n# ${name}\n`);
  return new Promise((resolvePromise) => {
    // Own process group, so a timeout also kills servers the test spawned.
    const child = spawn(process.execPath, [file], {
      cwd: process.cwd(),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    let output = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, FILE_TIMEOUT_MS);
    child.on('error', (err) => {
      output += `\nspawn error: ${err.message}\n`;
    });
    child.on('exit', () => {
      // Leftover grandchildren (spawned servers) would hold the pipes open: end the group.
      killGroup(child.pid);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const durationMs = Date.now() - started;
      const summary = parseSummary(output);
      const result: FileResult = { file: name, passed: 0, failed: 0, skipped: 0, note: '', durationMs };
      if (summary !== null) {
        result.passed = summary.passed;
        result.failed = Math.max(0, summary.total - summary.passed);
        result.skipped = summary.skipped;
      }
      if (timedOut) {
        result.note = `timed out after ${FILE_TIMEOUT_MS / 1000} s`;
      } else if (summary === null) {
        result.note = `no uvu summary (exit ${code ?? signal})`;
      } else if (code !== 0 && result.failed === 0) {
        result.note = `exit ${code ?? signal} after its tests`;
      }
      if (result.note !== '' && result.failed === 0) result.failed = 1;
      resolvePromise(result);
    });
  });
}

async function main(filters: string[]): Promise<number> {
  const all = orderTests(findTests(TEST_DIR));
  const files = filters.length === 0 ? all : all.filter((f) => filters.some((x) => relative(TEST_DIR, f).includes(x)));
  if (files.length === 0) process.stdout.write(`no test files${filters.length ? ` matching ${filters.join(', ')}` : ''}\n`);
  const results: FileResult[] = [];
  for (const file of files) results.push(await runFile(file));

  process.stdout.write('\n# Summary\n');
  for (const r of results) {
    const mark = r.failed === 0 ? 'ok  ' : 'FAIL';
    const skipped = r.skipped ? `, ${r.skipped} skipped` : '';
    const note = r.note ? ` (${r.note})` : '';
    process.stdout.write(`${mark} ${r.file}: ${r.passed} passed, ${r.failed} failed${skipped}, ${(r.durationMs / 1000).toFixed(1)} s${note}\n`);
  }
  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  const skipped = results.reduce((n, r) => n + r.skipped, 0);
  process.stdout.write(`${files.length} files, ${skipped} skipped\n`);
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
