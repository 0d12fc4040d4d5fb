// `npm run soak`: the soak run from the command line (test/soak/soak.ts), then the bulk-load
// benchmark: `redis-cli --pipe` of the same keys into Tessera and into redis-server, in pairs
// whose first server alternates, with seconds, keys/s and resident bytes per key.
// Usage: npm run soak -- [--duration S] [--keys N] [--clients N] [--commands N] [--shards N]
//        [--server tessera|redis] [--output-limit-mb N] [--rss-limit-mb N] [--bench-pairs N]
//        [--soak no] (the bulk-load benchmark only)

import { bulkLoad, soak, type BulkLoadResult } from './soak.js';
import { startRedis, startTessera } from '../e2e/harness.js';

const HELP = 'usage: node dist/test/soak/main.js [--duration 180] [--keys 10000000] [--clients 8] [--commands 1000000]\n' +
  '  [--shards 3] [--server tessera|redis] [--output-limit-mb 8] [--rss-limit-mb 8192] [--bench-pairs 1 (0: no comparison)] [--soak no]';

function flags(argv: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      console.log(HELP);
      process.exit(0);
    }
    const v = argv[i + 1];
    if (!a.startsWith('--') || v === undefined) throw new Error(`bad argument ${a}\n${HELP}`);
    m.set(a.slice(2), v);
    i++;
  }
  return m;
}

const f = flags(process.argv.slice(2));
const num = (name: string, fallback: number): number => {
  const v = Number(f.get(name) ?? fallback);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name}: not a number\n${HELP}`);
  return v;
};
const log = (s: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);
const server = f.get('server') === 'redis' ? 'redis' : 'tessera';
const keys = num('keys', 10_000_000);
const clients = num('clients', 8);
const shards = num('shards', 3);

const runSoak = f.get('soak') !== 'no';
const report = !runSoak ? null : await soak({
  server,
  shards,
  keys,
  clients,
  commandsPerClient: Math.ceil(num('commands', 1_000_000) / clients / 3) * 3,
  durationS: num('duration', 180),
  outputLimitBytes: num('output-limit-mb', 8) * 1024 * 1024,
  rssLimitBytes: num('rss-limit-mb', 8192) * 1024 * 1024,
  log,
});
if (report) log(`soak passed: ${report.rounds} rounds, ${report.commands} pipelined commands, ${report.crashErrors} shard-crash errors, ` +
  `RSS peak ${(report.peakRssBytes / 1048576).toFixed(0)} MB, ${report.seconds.toFixed(0)} s`);

// The bulk-load benchmark: Tessera against redis-server, the first server alternating by pair.
const pairs = num('bench-pairs', 1);
const rows: BulkLoadResult[] = [];
for (let p = 0; p < pairs; p++) {
  const order = p % 2 === 0 ? (['redis', 'tessera'] as const) : (['tessera', 'redis'] as const);
  for (const kind of order) {
    const h = kind === 'redis' ? await startRedis() : await startTessera({ shards });
    try {
      rows.push(await bulkLoad(h, keys, log));
    } finally {
      await h.stop();
    }
  }
}
if (rows.length > 0) {
  console.log(`\nredis-cli --pipe, ${keys} keys (16-byte keys, 32-byte values), Tessera with ${shards} shards`);
  console.log('| server | seconds | keys/s | RSS MB | RSS bytes/key |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.server} | ${r.seconds.toFixed(2)} | ${Math.round(r.keysPerSecond)} | ${(r.rssBytes / 1048576).toFixed(0)} | ${r.rssBytesPerKey.toFixed(1)} |`);
}
