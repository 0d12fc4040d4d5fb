// What SLOWLOG costs a shard: a ShardExecutor (no worker, no sockets) runs batches of SET and GET
// with the capture off (slowlog-log-slower-than -1, latency monitor off), at Redis's default
// threshold (10000 us: one comparison per command), and at 0 (every command recorded, the worst
// case). Rounds alternate so that a busy machine hurts each mode alike; prints ns per command and
// the ratios. Run: npx tsc -p tsconfig.json && node dist/bench/slowlog-shard.js [commands-per-round]

import { cpus } from 'node:os';
import { ShardExecutor } from '../src/runtime/shard-runtime.js';
import { Keyspace } from '../src/keyspace/keyspace.js';
import { COMMANDS, commandIndex } from '../src/commands/registry.js';
import { argListOf } from '../src/commands/args.js';
import type { ArgList } from '../src/core/types.js';
import { TEST_SHARD_SETTINGS } from '../test/runtime/executor-helpers.js';

const N = Number(process.argv[2] ?? 200_000);
const ROUNDS = 6;
const BATCH = 16;
const MODES = [
  ['off', Infinity],
  ['default (10000 us)', 10000],
  ['every command (0)', 0],
] as const;

const exec = new ShardExecutor(COMMANDS, 0, Keyspace.createMemory(), TEST_SHARD_SETTINGS, 0, () => undefined);
const SET = commandIndex('set');
const GET = commandIndex('get');
const cmds: Array<[number, ArgList]> = [];
for (let i = 0; i < 1000; i++) {
  cmds.push([SET, argListOf(['SET', `key:${i}`, 'value-of-some-16b'])]);
  cmds.push([GET, argListOf(['GET', `key:${i}`])]);
}

function round(captureUs: number): number {
  exec.configure({ ...TEST_SHARD_SETTINGS, slowCaptureUs: captureUs });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    if (i % BATCH === 0) exec.beginBatch();
    const [idx, a] = cmds[i % cmds.length]!;
    Object.assign(exec.args, a);
    exec.run(idx, 2);
    // What the worker does after each reply: hand the records over (here: drop them).
    if (exec.slow.count > 0) exec.slow.clear();
  }
  return Number(process.hrtime.bigint() - t0) / N;
}

const totals = new Map<string, number[]>(MODES.map(([name]) => [name, []]));
round(Infinity); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, us] of r % 2 === 0 ? MODES : [...MODES].reverse()) totals.get(name)!.push(round(us));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(totals.get('off')!);
console.log(`slowlog shard cost: ${N} commands x ${ROUNDS} rounds per mode, SET/GET alternating, batches of ${BATCH}; ${cpus()[0]?.model ?? '?'}, node ${process.version}`);
for (const [name] of MODES) {
  const m = median(totals.get(name)!);
  console.log(`  ${name.padEnd(20)} ${m.toFixed(1)} ns/command  x${(m / base).toFixed(3)} of off`);
}
exec.close();
