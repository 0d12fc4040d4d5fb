// `npm run fuzz`: the long fuzz run. In-process targets first (each protocol's parsers and
// decoders, reporting inputs per second), then optionally the network run against a real server.
// Options: see USAGE (`--help`). Exit code 1 when any input failed; each failure is printed with
// its seed and input bytes.

import { TARGETS } from './targets.js';
import { runTarget, type RunReport } from './target.js';
import { inputSeed } from './prng.js';
import { printNetworkReport, runNetworkFuzz } from './network.js';

const USAGE = `Usage: npm run fuzz -- [options]   (or node dist/test/fuzz/main.js [options])

Seeded fuzzing of every input Tessera parses (docs/fuzzing.md).

Options:
  --protocol a,b   in-process protocols to run (default all: ${Object.keys(TARGETS).join(', ')})
  --seed N         run seed (default 1); input i of a run replays from (seed, i)
  --count N        inputs per protocol (default 10000000)
  --duration S     at most S seconds per protocol (default: no limit)
  --replay I       rerun input I of --seed on the first --protocol, printing its bytes
  --network S      then S seconds against a real server (every front door, and a maxclients phase)
  --no-inprocess   skip the in-process protocols (with --network: network only)
  --help, -h       print this and exit

Exit code 1 when any input failed.
`;

interface Options {
  protocols: string[];
  seed: number;
  count: number;
  durationMs: number;
  replay: number | null;
  networkS: number;
  help: boolean;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
  const o: Options = { protocols: Object.keys(TARGETS), seed: 1, count: 10_000_000, durationMs: Infinity, replay: null, networkS: 0, help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    const need = (): string => {
      if (v === undefined) throw new Error(`${a} needs a value`);
      i++;
      return v;
    };
    if (a === '--protocol') o.protocols = need().split(',');
    else if (a === '--seed') o.seed = Number(need());
    else if (a === '--count') o.count = Number(need());
    else if (a === '--duration') o.durationMs = Number(need()) * 1000;
    else if (a === '--replay') o.replay = Number(need());
    else if (a === '--network') o.networkS = Number(need());
    else if (a === '--help' || a === '-h') o.help = true;
    else if (a === '--no-inprocess') o.protocols = [];
    else throw new UsageError(`unknown option ${a}`);
  }
  for (const p of o.protocols) if (!(p in TARGETS)) throw new UsageError(`unknown protocol ${p}; known: ${Object.keys(TARGETS).join(', ')}`);
  return o;
}

function printReport(r: RunReport): void {
  const rate = Math.round(r.perSecond).toLocaleString('en-US');
  process.stdout.write(`${r.target.padEnd(12)} ${r.inputs.toLocaleString('en-US').padStart(12)} inputs  ${(r.ms / 1000).toFixed(1).padStart(7)} s  ${rate.padStart(10)} inputs/s  ${r.failures.length} failures\n`);
  for (const f of r.failures) {
    process.stdout.write(`  FAIL ${f.target} --seed ${f.runSeed} --replay ${f.index} (input seed ${f.inputSeed}): ${f.message}\n    input: ${f.inputHex.slice(0, 400)}\n`);
  }
}

async function main(): Promise<number> {
  let o: Options;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`fuzz: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (o.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (o.replay !== null) {
    const name = o.protocols[0]!;
    const t = TARGETS[name]!(1);
    const s = inputSeed(o.seed, o.replay);
    process.stdout.write(`${name} seed ${o.seed} input ${o.replay} (input seed ${s}): ${t.input(s).toString('hex')}\n`);
    t.run(s);
    process.stdout.write('passed\n');
    return 0;
  }
  let failed = 0;
  process.stdout.write(`fuzz: seed ${o.seed}, up to ${o.count.toLocaleString('en-US')} inputs${Number.isFinite(o.durationMs) ? ` or ${o.durationMs / 1000} s` : ''} per protocol\n`);
  for (const name of o.protocols) {
    const r = runTarget(TARGETS[name]!(), {
      seed: o.seed,
      count: o.count,
      durationMs: o.durationMs,
      maxFailures: 10,
      progress: (done, ms) => process.stderr.write(`  ${name}: ${done.toLocaleString('en-US')} inputs, ${Math.round(done / (ms / 1000)).toLocaleString('en-US')}/s\n`),
    });
    printReport(r);
    failed += r.failures.length;
  }
  if (o.networkS > 0) {
    const r = await runNetworkFuzz({ seed: o.seed, durationMs: o.networkS * 1000 });
    printNetworkReport(r);
    failed += r.problems.length;
  }
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main();
