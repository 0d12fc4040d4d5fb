// Bulk load through `redis-cli --pipe` (issue 13): a RESP file of N SETs loaded into a fresh
// Tessera and a fresh redis-server, alternating which goes first round by round; seconds, keys/s,
// the ratio pair by pair, memory per key at the end and a DBSIZE check. A load whose DBSIZE stops
// growing for --stall-s seconds is a stall: reported with the server's CLIENT LIST, and the run
// exits 1. Rewrites bench/BULK.md. Run with `npm run bench:bulk` (see --help).

import { rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { relative, resolve } from 'node:path';
import { renderBulkReport, runOk, type LoadRun, type ServerKind } from './lib/bulk-report.js';
import { parseFlags } from './lib/flags.js';
import { REPO_ROOT, startFreshRedis, startFreshTessera } from './lib/fresh-servers.js';
import { describeMachine, gitRevision } from './lib/machine.js';
import { info } from './lib/persist.js';
import { pipeLoad } from './lib/pipe-load.js';
import { RespClient, usedMemory } from './lib/resp-client.js';
import { respSetFile } from './lib/resp-file.js';
import { runBench } from './lib/run.js';
import { killAllNow, rssBytes, stopAll, type BenchServer } from './lib/servers.js';

interface Options {
  keys: number;
  rounds: number;
  valueBytes: number;
  shards: number | null;
  tesseraArgs: string[];
  stallS: number;
  fileDir: string;
  keepFile: boolean;
  results: string;
}

const HELP = `Usage: npm run bench:bulk [-- OPTIONS]   (or node dist/bench/bulk-load.js OPTIONS)
  --keys N          SET commands in the file (default 10000000; env BENCH_KEYS)
  --rounds N        pairs of loads, one per server, alternating which goes first (default 2; env BENCH_ROUNDS)
  --value-bytes N   value size (default 32; keys are 16 bytes; env BENCH_VALUE_BYTES)
  --shards N        Tessera shards (default 1; env BENCH_SHARDS)
  --tessera-args S  extra Tessera server flags, space-separated (env BENCH_TESSERA_ARGS)
  --stall-s N       seconds without DBSIZE progress that count as a stall (default 30; env BENCH_STALL_S)
  --file-dir DIR    where the RESP file is written (default: the system temp directory; env BENCH_FILE_DIR)
  --keep-file yes|no  keep the file for the next run, which reuses it (default no; env BENCH_KEEP_FILE)
  --results FILE    report to rewrite (default bench/BULK.md; env BENCH_RESULTS)`;

function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  const { raw, int } = parseFlags(argv, HELP, {
    env, known: ['keys', 'rounds', 'value-bytes', 'shards', 'tessera-args', 'stall-s', 'file-dir', 'keep-file', 'results'],
  });
  const keep = raw('keep-file', 'no');
  if (keep !== 'yes' && keep !== 'no') throw new Error(`--keep-file takes yes or no\n${HELP}`);
  return {
    keys: int('keys', 10_000_000, 1),
    rounds: int('rounds', 2, 1),
    valueBytes: int('value-bytes', 32, 18),
    shards: int('shards', 1, 1),
    tesseraArgs: raw('tessera-args', '').split(' ').filter((a) => a !== ''),
    stallS: int('stall-s', 30, 1),
    fileDir: resolve(raw('file-dir', tmpdir())),
    keepFile: keep === 'yes',
    results: resolve(REPO_ROOT, raw('results', 'bench/BULK.md')),
  };
}

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

function start(kind: ServerKind, opts: Options): Promise<BenchServer> {
  return kind === 'redis-server' ? startFreshRedis()
    : startFreshTessera([...(opts.shards === null ? [] : ['--shards', String(opts.shards)]), ...opts.tesseraArgs]);
}

/** One load into a fresh server of `kind`, stopped afterwards. */
async function loadOnce(kind: ServerKind, opts: Options, file: string, round: number, turn: number, shown: Map<ServerKind, string>): Promise<LoadRun> {
  const server = await start(kind, opts);
  try {
    if (!shown.has(kind)) shown.set(kind, server.commandLine.replace(/--port \d+/, '--port PORT').replace(/--dir \S+/, '--dir DIR'));
    const client = await RespClient.connect(server.port);
    try {
      const usedBefore = await usedMemory(client);
      const rssBefore = rssBytes(server.pid);
      const result = await pipeLoad(client, server.port, file, opts.stallS * 1000);
      const usedAfter = await usedMemory(client);
      const rssAfter = rssBytes(server.pid);
      const heap = Number((await info(client, 'memory')).get('used_memory_main_heap'));
      const stall = result.stall === null ? null
        : `DBSIZE stopped at ${result.stall.keys} of ${opts.keys} keys (last growth ${(result.stall.lastProgressMs / 1000).toFixed(1)} s `
          + `after the start); the server's view of the loading connection: ${result.stall.clients.map((c) => `\`${c}\``).join('; ') || 'none listed'}`;
      return {
        round, server: kind, turn, ms: result.ms, keys: opts.keys, replies: result.replies, errors: result.errors, dbsize: result.dbsize,
        rssPerKey: (rssAfter - rssBefore) / opts.keys, usedPerKey: (usedAfter - usedBefore) / opts.keys,
        mainHeapBytes: Number.isFinite(heap) ? heap : null, stall,
      };
    } finally {
      client.close();
    }
  } finally {
    await server.stop();
  }
}

function describeRun(r: LoadRun): string {
  const head = `  round ${r.round} ${r.server.padEnd(12)} ${(r.ms / 1000).toFixed(1)} s`;
  if (r.stall !== null) return `${head} STALLED: ${r.stall}`;
  return `${head} ${Math.round(r.keys / (r.ms / 1000)).toLocaleString('en-US')} keys/s, replies ${r.replies ?? 'n/a'}, errors ${r.errors ?? 'n/a'}, `
    + `DBSIZE ${r.dbsize}${r.dbsize === r.keys ? '' : ` (expected ${r.keys})`}, RSS ${r.rssPerKey.toFixed(1)} B/key, used_memory ${r.usedPerKey.toFixed(1)} B/key`;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2), process.env);
  const machine = describeMachine();
  const loadAtStart = loadavg()[0] ?? NaN;
  const made = Date.now();
  const file = respSetFile(opts.fileDir, opts.keys, opts.valueBytes);
  log(`${file.reused ? 'Reusing' : `Wrote (${((Date.now() - made) / 1000).toFixed(1)} s)`} ${file.path}: ${opts.keys} SETs, ${(file.bytes / 1e6).toFixed(0)} MB`);
  const runs: LoadRun[] = [];
  const shown = new Map<ServerKind, string>();
  try {
    for (let round = 1; round <= opts.rounds; round++) {
      const order: ServerKind[] = round % 2 === 1 ? ['redis-server', 'tessera'] : ['tessera', 'redis-server'];
      for (const [i, kind] of order.entries()) {
        const run = await loadOnce(kind, opts, file.path, round, i + 1, shown);
        runs.push(run);
        log(describeRun(run));
      }
    }
  } finally {
    if (!opts.keepFile) rmSync(file.path, { force: true });
  }
  const commands = [
    `node dist/bench/bulk-load.js ${process.argv.slice(2).join(' ')}`.trim(),
    `# FILE: ${opts.keys} RESP SETs, key:000000000000 ... (16 bytes), values of ${opts.valueBytes} bytes (bench/lib/resp-file.ts)`,
    '# per round, each server fresh and empty (a new temporary --dir), one at a time:',
    ...['redis-server', 'tessera'].map((k) => shown.get(k as ServerKind) ?? `# ${k}: not started`),
    'redis-cli -p PORT --pipe < FILE',
    `# meanwhile DBSIZE every second on another connection; no growth for ${opts.stallS} s = a stall`,
  ];
  const load = loadavg().map((n) => n.toFixed(2)).join(' ');
  const text = renderBulkReport({
    generatedAt: new Date(),
    machineLines: [
      `- CPU: ${machine.cpu}, ${machine.cores} cores available; RAM ${machine.ramGiB} GiB; Linux ${machine.kernel}`,
      `- Node.js ${machine.node}; redis-server ${machine.redisServer}; Tessera ${gitRevision(REPO_ROOT)}, shards: ${opts.shards ?? 'default'}`,
      `- Load average (1 min) at the start: ${loadAtStart.toFixed(2)}; at the end (1, 5, 15 min): ${load}. The load keeps about`,
      '  2 busy (the server and redis-cli); more than that means other work shared the cores.',
    ],
    commands, keys: opts.keys, valueBytes: opts.valueBytes, fileBytes: file.bytes, stallS: opts.stallS, runs,
  });
  log('\n' + text.slice(text.indexOf('## Result')));
  writeFileSync(opts.results, text);
  log(`Wrote ${relative(process.cwd(), opts.results) || opts.results}`);
  const failed = runs.filter((r) => !runOk(r));
  if (failed.length > 0) {
    throw new Error(`${failed.length} of ${runs.length} loads did not complete: `
      + failed.map((r) => `round ${r.round} ${r.server}${r.stall === null ? '' : ' (stalled)'}`).join(', '));
  }
}

await runBench('bench:bulk', main, killAllNow, stopAll);
