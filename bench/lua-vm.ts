// The Lua VM choice (issue 16): the same real scripts on wasmoon (Lua 5.4 in WebAssembly) and
// fengari (Lua 5.3 in JS) through the same engine (src/scripting), in one process, against a fake
// host that writes fixed replies (so only the VM and the engine are measured, not a keyspace).
// Rounds alternate between the VMs; the median of the rounds is reported, with the startup cost
// and the memory of one engine. Run with `npm run bench:lua-vm` (ROUNDS, ROUND_MS to change).

import { createLuaEngine, type LuaEngine, type ScriptCallHost } from '../src/scripting/lua-engine.js';
import { RespWriter } from '../src/protocol/resp-writer.js';
import type { VmName } from '../src/scripting/lua-vm.js';

const ROUNDS = Number(process.env['ROUNDS'] ?? 5);
const ROUND_MS = Number(process.env['ROUND_MS'] ?? 500);

/** Fixed replies by command name, as a keyspace would write them. */
const host: ScriptCallHost = {
  call(args, out) {
    const a0 = args[0]!;
    const c = a0[0]! | 32;
    if (c === 105) out.integer(7); // INCR
    else if (c === 101) out.integer(1); // EXPIRE
    else if (c === 103) out.bulkString('7'); // GET
    else if (c === 104 && (a0[1]! | 32) === 109 && (a0[2]! | 32) === 103) {
      // HMGET tokens ts
      out.array(2);
      out.bulkString('10');
      out.bulkString('1700000000000');
    } else out.ok(); // HMSET, PEXPIRE ...
  },
  log() {},
};

const SCRIPTS: { name: string; body: string; keys: string[]; argv: string[] }[] = [
  {
    name: '3 commands (INCR, EXPIRE, GET)',
    body: "redis.call('INCR', KEYS[1]) redis.call('EXPIRE', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])",
    keys: ['counter'],
    argv: ['60'],
  },
  {
    name: 'rate limiter (token bucket, HMGET/HMSET)',
    body: `
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local requested = tonumber(ARGV[4])
local state = redis.call('HMGET', key, 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
local delta = math.max(0, now - ts)
tokens = math.min(capacity, tokens + delta * rate / 1000)
local allowed = tokens >= requested
if allowed then tokens = tokens - requested end
redis.call('HMSET', key, 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', key, math.ceil(capacity / rate * 1000))
return { allowed and 1 or 0, math.floor(tokens) }`,
    keys: ['bucket:user42'],
    argv: ['10', '100', '1700000000500', '1'],
  },
  {
    name: 'cjson decode + encode',
    body: `
local doc = cjson.decode(ARGV[1])
doc.count = doc.count + 1
doc.tags[#doc.tags + 1] = 'seen'
return cjson.encode(doc)`,
    keys: [],
    argv: ['{"id":"u-1842","name":"Ada","count":41,"tags":["a","b","c"],"score":12.5,"active":true}'],
  },
  {
    name: 'pure Lua loop (10k iterations)',
    body: 'local s = 0 for i = 1, 10000 do s = s + (i % 7) * 2 end return s',
    keys: [],
    argv: [],
  },
];

interface Prepared {
  engine: LuaEngine;
  shas: string[];
}

const opts = (s: (typeof SCRIPTS)[number]) => ({
  keys: s.keys.map((k) => Buffer.from(k)),
  argv: s.argv.map((a) => Buffer.from(a)),
  interrupted: () => false,
});

function callsPerSecond(p: Prepared, i: number, out: RespWriter): number {
  const s = SCRIPTS[i]!;
  const o = opts(s);
  const sha = p.shas[i]!;
  const end = performance.now() + ROUND_MS;
  let n = 0;
  let now = performance.now();
  while (now < end) {
    for (let k = 0; k < 50; k++) {
      out.reset();
      p.engine.runScript(sha, host, o, out);
    }
    n += 50;
    now = performance.now();
  }
  return (n * 1000) / (ROUND_MS + (now - end));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function memoryNow(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
}

async function main(): Promise<void> {
  const vms: VmName[] = ['wasmoon', 'fengari'];
  const prepared = new Map<VmName, Prepared>();
  const startup = new Map<VmName, { ms: number; bytes: number }>();
  const gc = (globalThis as { gc?: () => void }).gc;
  for (const vm of vms) {
    gc?.();
    const before = memoryNow();
    const t0 = performance.now();
    const engine = await createLuaEngine(vm);
    const ms = performance.now() - t0;
    gc?.();
    startup.set(vm, { ms, bytes: memoryNow() - before });
    prepared.set(vm, { engine, shas: SCRIPTS.map((s) => engine.loadScript(Buffer.from(s.body))) });
  }
  // Same results on both VMs before timing anything.
  const out = new RespWriter();
  for (let i = 0; i < SCRIPTS.length; i++) {
    const replies = vms.map((vm) => {
      out.reset();
      const p = prepared.get(vm)!;
      p.engine.runScript(p.shas[i]!, host, opts(SCRIPTS[i]!), out);
      return out.buf.toString('latin1', 0, out.length);
    });
    if (replies[0] !== replies[1]) console.log(`note: ${SCRIPTS[i]!.name} replies differ: ${JSON.stringify(replies)}`);
  }
  const results = new Map<string, number[]>();
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? vms : [...vms].reverse();
    for (let i = 0; i < SCRIPTS.length; i++) {
      for (const vm of order) {
        const key = `${vm}/${i}`;
        const list = results.get(key) ?? [];
        list.push(callsPerSecond(prepared.get(vm)!, i, out));
        results.set(key, list);
      }
    }
  }
  console.log(`Lua VM benchmark: ${ROUNDS} rounds of ${ROUND_MS} ms per script and VM, median calls/s`);
  console.log(`node ${process.version}, ${process.platform} ${process.arch}`);
  console.log('');
  console.log('| script | wasmoon calls/s | fengari calls/s | wasmoon / fengari |');
  console.log('|---|---:|---:|---:|');
  for (let i = 0; i < SCRIPTS.length; i++) {
    const w = median(results.get(`wasmoon/${i}`)!);
    const f = median(results.get(`fengari/${i}`)!);
    console.log(`| ${SCRIPTS[i]!.name} | ${Math.round(w)} | ${Math.round(f)} | ${(w / f).toFixed(2)}x |`);
  }
  console.log('');
  console.log('| VM | engine startup (ms) | memory of one engine (MB, JS heap + external) |');
  console.log('|---|---:|---:|');
  for (const vm of vms) {
    const s = startup.get(vm)!;
    console.log(`| ${vm} | ${s.ms.toFixed(1)} | ${(s.bytes / 1048576).toFixed(1)} |`);
  }
}

await main();
