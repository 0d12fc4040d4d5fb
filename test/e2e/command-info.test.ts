// COMMAND against redis-server 7.0.15: for every command and subcommand both servers know, COMMAND
// INFO and COMMAND DOCS give the same bytes in RESP2 and RESP3 (subcommands in name order on both
// sides: Redis lists them in its dict's order, random per process, and only the common ones), except
// the EXCEPTIONS below; COMMAND LIST (plain and filtered) and COUNT agree on the common commands;
// GETKEYS / GETKEYSANDFLAGS agree byte for byte on a table of commands.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { REDIS_VERSION_DECLARED } from '../../src/commands/decls/index.js';
import { rawClient, type RawClient, type RespValue } from './harness.js';
import { ServerPair, timedOn } from './differential-helpers.js';

const TEST_TIMEOUT_MS = 120_000;

/** Commands whose COMMAND INFO / DOCS differ from Redis 7.0.15's on purpose, and why. */
const EXCEPTIONS: Record<string, string> = {
};

/** Commands Tessera has and Redis 7.0 has not: its own (tessera.*, RESTOREBATCH, CLUSTER
 * MIGRATESLOT/FAILOVERS) and two of Redis 7.2's CLIENT subcommands that clients send. */
const TESSERA_ONLY = new Set([
  'client|no-touch', 'client|setinfo', 'cluster|failovers', 'cluster|migrateslot', 'restorebatch', 'tessera.keyjson', 'tessera.mc',
]);

const pair = new ServerPair({ startTimeoutMs: 20_000 });
const test = suite('COMMAND: redis-server vs tessera');
test.before(pair.start);
test.after(pair.stop);
const timed = timedOn(test, TEST_TIMEOUT_MS);

// --- RESP values back to bytes, after putting subcommands in a canonical order -----------------

const CRLF = '\r\n';

function encode(v: RespValue): string {
  switch (v.type) {
    case 'simple': return `+${v.value}${CRLF}`;
    case 'error': return `-${v.value}${CRLF}`;
    case 'integer': return `:${v.value}${CRLF}`;
    case 'bulk': return v.value === null ? `$-1${CRLF}` : `$${v.value.length}${CRLF}${v.value.toString('latin1')}${CRLF}`;
    case 'array': return v.value === null ? `*-1${CRLF}` : `*${v.value.length}${CRLF}${v.value.map(encode).join('')}`;
    case 'null': return `_${CRLF}`;
    case 'set': return `~${v.value.length}${CRLF}${v.value.map(encode).join('')}`;
    case 'map': return `%${v.value.length}${CRLF}${v.value.map(([k, x]) => encode(k) + encode(x)).join('')}`;
    default: throw new Error(`unexpected reply type ${v.type}`);
  }
}

function str(v: RespValue | undefined): string {
  if (v?.type === 'bulk' && v.value !== null) return v.value.toString('latin1');
  if (v?.type === 'simple') return v.value;
  return `?${v?.type}`;
}

/** Pairs of a map reply, in RESP3 (a map) or RESP2 (a flat array). */
function pairsOf(v: RespValue): Array<[RespValue, RespValue]> {
  if (v.type === 'map') return v.value;
  if (v.type === 'array' && v.value !== null) {
    const r: Array<[RespValue, RespValue]> = [];
    for (let i = 0; i + 1 < v.value.length; i += 2) r.push([v.value[i]!, v.value[i + 1]!]);
    return r;
  }
  throw new Error(`not a map: ${v.type}`);
}

function mapLike(like: RespValue, pairs: Array<[RespValue, RespValue]>): RespValue {
  return like.type === 'map' ? { type: 'map', value: pairs } : { type: 'array', value: pairs.flat() };
}

const byName = (a: [RespValue, RespValue] | RespValue, b: [RespValue, RespValue] | RespValue): number => {
  const na = Array.isArray(a) ? str(a[0]) : a.type === 'array' && a.value ? str(a.value[0]) : '';
  const nb = Array.isArray(b) ? str(b[0]) : b.type === 'array' && b.value ? str(b.value[0]) : '';
  return na < nb ? -1 : na > nb ? 1 : 0;
};

/** A COMMAND INFO entry with its subcommands (element 10) restricted to `keep`, in name order. */
function canonInfo(v: RespValue, keep: Set<string>): RespValue {
  if (v.type !== 'array' || v.value === null || v.value.length !== 10) return v;
  const subs = v.value[9]!;
  if (subs.type !== 'array' || subs.value === null) return v;
  const kept = subs.value.filter((s) => s.type === 'array' && s.value !== null && keep.has(str(s.value[0]))).map((s) => canonInfo(s, keep));
  kept.sort(byName);
  return { type: 'array', value: [...v.value.slice(0, 9), { type: 'array', value: kept }] };
}

/** A COMMAND DOCS reply (name -> doc) with each doc's subcommands restricted to `keep`, sorted. */
function canonDocs(v: RespValue, keep: Set<string>): RespValue {
  return mapLike(v, pairsOf(v).map(([name, doc]) => [name, mapLike(doc, pairsOf(doc).map(([k, x]) => {
    if (str(k) !== 'subcommands') return [k, x];
    const subs = pairsOf(canonDocs(x, keep)).filter(([n]) => keep.has(str(n)));
    subs.sort(byName);
    return [k, mapLike(x, subs)];
  }))]));
}

// --- Helpers ---------------------------------------------------------------------------------

async function clients(proto: 2 | 3): Promise<[RawClient, RawClient]> {
  const c = await Promise.all([rawClient(pair.redis.port), rawClient(pair.tessera.port)]);
  if (proto === 3) for (const x of c) await x.call(['HELLO', '3']);
  return c;
}

async function names(c: RawClient, args: string[] = []): Promise<string[]> {
  const r = await c.call(['COMMAND', 'LIST', ...args]);
  assert.is(r.value.type, 'array', `COMMAND LIST ${args.join(' ')}: ${r.text.slice(0, 200)}`);
  return (r.value.type === 'array' && r.value.value ? r.value.value : []).map(str);
}

let common = new Set<string>();

timed('the reference is redis-server ' + REDIS_VERSION_DECLARED + ', and src/commands/decls is what the generator makes from it', async () => {
  const [r] = await clients(3);
  let version = '';
  try {
    version = (await r.call(['INFO', 'server'])).text.match(/redis_version:([^\r]+)/)?.[1] ?? '?';
  } finally {
    r.close();
  }
  assert.is(version, REDIS_VERSION_DECLARED, `these comparisons need redis-server ${REDIS_VERSION_DECLARED} on PATH, found ${version}`);
  const script = fileURLToPath(new URL('../../../scripts/gen-command-decls.mjs', import.meta.url));
  const res = await new Promise<{ code: number; out: string }>((resolve) => {
    execFile(process.execPath, [script, '--check', String(pair.redis.port)], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? 1 : 0, out: stdout + stderr }));
  });
  assert.is(res.code, 0, res.out);
});

timed('COMMAND LIST and COUNT: the common commands, Tessera\'s own, and the commands still missing', async () => {
  const [r, t] = await clients(2);
  try {
    const rn = new Set(await names(r));
    const tn = new Set(await names(t));
    common = new Set([...tn].filter((n) => rn.has(n)));
    assert.equal([...tn].filter((n) => !rn.has(n)).sort(), [...TESSERA_ONLY].sort(), 'commands Tessera has and Redis 7.0 has not');
    assert.ok(common.size > 250, `only ${common.size} common commands`);
    const count = await t.call(['COMMAND', 'COUNT']);
    assert.is(count.text, `:${[...tn].filter((n) => !n.includes('|')).length}\r\n`, 'COUNT counts the top-level commands LIST lists');
    const missing = [...rn].filter((n) => !tn.has(n)).sort();
    console.log(`  ${common.size} common commands and subcommands; Redis 7.0.15 has ${missing.length} more: ${missing.join(' ')}`);
  } finally {
    r.close();
    t.close();
  }
});

timed('COMMAND LIST FILTERBY ACLCAT / PATTERN / MODULE, filtered to the common commands', async () => {
  const [r, t] = await clients(2);
  try {
    const cats = (await r.call(['ACL', 'CAT'])).value;
    assert.is(cats.type, 'array');
    const filters: string[][] = [];
    for (const c of cats.type === 'array' && cats.value ? cats.value : []) filters.push(['ACLCAT', str(c)]);
    filters.push(['ACLCAT', 'nosuchcategory'], ['PATTERN', 'CONFIG*'], ['PATTERN', '*|*'], ['PATTERN', 'z?a*'], ['PATTERN', 'x*'], ['MODULE', 'foo']);
    const bad: string[] = [];
    for (const f of filters) {
      const rn = (await names(r, ['FILTERBY', ...f])).filter((n) => common.has(n)).sort();
      const tn = (await names(t, ['FILTERBY', ...f])).filter((n) => common.has(n)).sort();
      if (JSON.stringify(rn) !== JSON.stringify(tn)) bad.push(`FILTERBY ${f.join(' ')}: redis ${rn.join(',')} tessera ${tn.join(',')}`);
    }
    assert.equal(bad, []);
    for (const args of [['LIST', 'x'], ['LIST', 'FILTERBY', 'ACLCAT'], ['LIST', 'FILTERBY', 'foo', 'x'], ['COUNT', 'x'], ['NOSUCH'], ['HELP']]) {
      const [a, b] = await Promise.all([r.call(['COMMAND', ...args]), t.call(['COMMAND', ...args])]);
      assert.is(b.text, a.text, `COMMAND ${args.join(' ')}`);
    }
  } finally {
    r.close();
    t.close();
  }
});

for (const proto of [2, 3] as const) {
  timed(`COMMAND INFO and COMMAND DOCS of every common command, byte for byte (RESP${proto})`, async () => {
    const [r, t] = await clients(proto);
    try {
      const bad: string[] = [];
      for (const name of [...common].sort()) {
        if (EXCEPTIONS[name] !== undefined) continue;
        for (const sub of ['INFO', 'DOCS'] as const) {
          const [a, b] = await Promise.all([r.call(['COMMAND', sub, name]), t.call(['COMMAND', sub, name])]);
          const canon = (v: RespValue): string => {
            if (sub === 'DOCS') return encode(canonDocs(v, common));
            if (v.type !== 'array' || v.value === null) return encode(v);
            return encode({ type: 'array', value: v.value.map((x) => canonInfo(x, common)) });
          };
          const [ca, cb] = [canon(a.value), canon(b.value)];
          if (ca !== cb) {
            let i = 0;
            while (ca[i] === cb[i]) i++;
            bad.push(`COMMAND ${sub} ${name}: from byte ${i}: redis ${JSON.stringify(ca.slice(Math.max(0, i - 40), i + 80))} tessera ${JSON.stringify(cb.slice(Math.max(0, i - 40), i + 80))}`);
          }
        }
      }
      assert.equal(bad, [], `${bad.length} differences:\n${bad.join('\n')}`);
      // Several names at once, unknown ones included (INFO: a null; DOCS: left out).
      for (const args of [['INFO', 'get', 'nosuch', 'SET'], ['DOCS', 'get', 'nosuch', 'SET'], ['INFO', 'config|get', 'config|nosuch']]) {
        const [a, b] = await Promise.all([r.call(['COMMAND', ...args]), t.call(['COMMAND', ...args])]);
        assert.is(b.text, a.text, `COMMAND ${args.join(' ')}`);
      }
    } finally {
      r.close();
      t.close();
    }
  });
}

/** GETKEYS / GETKEYSANDFLAGS cases (commands Tessera has; X* ones are skipped until it has them). */
const GETKEYS: string[][] = [
  ['get', 'k'], ['set', 'k', 'v', 'EX', '10'], ['mset', 'a', '1', 'b', '2'], ['mget', 'a', 'b', 'c'], ['del', 'a', 'b'],
  ['lmove', 'a', 'b', 'left', 'right'], ['blmove', 'a', 'b', 'left', 'right', '0'], ['rpoplpush', 'a', 'b'],
  ['zunionstore', 'd', '2', 'a', 'b', 'WEIGHTS', '1', '2'], ['zunionstore', 'd', '0', 'a'], ['zunionstore', 'd', '3', 'a'],
  ['zinter', '2', 'a', 'b'], ['zdiffstore', 'd', '1', 'a'], ['sintercard', '2', 'a', 'b', 'LIMIT', '1'],
  ['lmpop', '2', 'a', 'b', 'LEFT'], ['blmpop', '0', '2', 'a', 'b', 'LEFT'], ['zmpop', '1', 'a', 'MIN'], ['bzmpop', '0', '1', 'a', 'MIN'],
  ['eval', 's', '2', 'a', 'b', 'x'], ['eval', 's', '0'], ['eval', 's', '1'], ['evalsha', 'x', '1', 'a'], ['fcall', 'f', '1', 'a'],
  ['fcall_ro', 'f', '0'], ['sort', 'a', 'BY', 'x', 'STORE', 'b'], ['sort', 'a', 'LIMIT', '0', '1', 'GET', '#'], ['sort_ro', 'a'],
  ['migrate', 'h', '1', '', '0', '5', 'KEYS', 'a', 'b'], ['migrate', 'h', '1', 'k', '0', '5'],
  ['georadius', 's', '0', '0', '1', 'km', 'STORE', 'a', 'STOREDIST', 'b'], ['georadius', 's', '0', '0', '1', 'km', 'STORE', 'a'],
  ['georadiusbymember', 's', 'm', '1', 'km', 'STOREDIST', 'b'], ['geosearchstore', 'd', 's', 'FROMMEMBER', 'm', 'BYRADIUS', '1', 'km'],
  ['bitop', 'AND', 'd', 'a', 'b'], ['bitfield', 'k', 'GET', 'u8', '0'], ['bitfield_ro', 'k', 'GET', 'u8', '0'], ['lcs', 'a', 'b'],
  ['pfmerge', 'd', 'a', 'b'], ['pfcount', 'a', 'b'], ['memory', 'usage', 'k'], ['object', 'encoding', 'k'], ['copy', 'a', 'b'],
  ['rename', 'a', 'b'], ['smove', 'a', 'b', 'm'], ['renamenx', 'a', 'b'], ['watch', 'a', 'b'], ['exists', 'a'], ['touch', 'a', 'b'],
  ['blpop', 'a', 'b', '0'], ['bzpopmin', 'a', '0'], ['getex', 'k', 'PERSIST'], ['hset', 'h', 'f', 'v'], ['sunionstore', 'd', 'a'],
  ['xread', 'COUNT', '1', 'STREAMS', 'a', 'b', '0', '0'], ['xreadgroup', 'GROUP', 'g', 'c', 'STREAMS', 'a', '>'], ['xadd', 's', '*', 'f', 'v'],
  ['xgroup', 'create', 's', 'g', '$'], ['xinfo', 'stream', 's'], ['move', 'k', '1'],
  // Errors: unknown command, no keys, wrong count, unknown subcommand, keys not found.
  ['nosuch', 'a'], ['ping', 'x'], ['config', 'get', 'x'], ['set', 'a'], ['memory', 'nosuch', 'k'], ['xread', 'COUNT', '1', 'x'],
];

timed('COMMAND GETKEYS and GETKEYSANDFLAGS, byte for byte (RESP2 and RESP3)', async () => {
  for (const proto of [2, 3] as const) {
    const [r, t] = await clients(proto);
    try {
      const bad: string[] = [];
      for (const args of GETKEYS) {
        if (!common.has(args[0]!) && args[0] !== 'nosuch') continue;
        for (const sub of ['GETKEYS', 'GETKEYSANDFLAGS']) {
          const cmd = ['COMMAND', sub, ...args];
          const [a, b] = await Promise.all([r.call(cmd), t.call(cmd)]);
          if (!a.raw.equals(b.raw)) bad.push(`RESP${proto} ${cmd.join(' ')}: redis ${JSON.stringify(a.text)} tessera ${JSON.stringify(b.text)}`);
        }
      }
      assert.equal(bad, [], bad.join('\n'));
    } finally {
      r.close();
      t.close();
    }
  }
});

timed('SUBSTR, LOLWUT and PFSELFTEST, byte for byte (RESP2 and RESP3)', async () => {
  const steps = [
    ['SET', 'str', 'Hello, World'], ['SUBSTR', 'str', '0', '4'], ['SUBSTR', 'str', '-5', '-1'], ['SUBSTR', 'str', '5', '1'],
    ['SUBSTR', 'str', '0', '-100'], ['SUBSTR', 'nokey', '0', '1'], ['SUBSTR', 'str', 'x', '1'], ['SUBSTR', 'str', '0'],
    ['RPUSH', 'list', 'a'], ['SUBSTR', 'list', '0', '1'],
    ['LOLWUT'], ['LOLWUT', 'VERSION', '7'], ['LOLWUT', 'VERSION', 'x'], ['LOLWUT', 'foo'], ['LOLWUT', 'VERSION', '7', '1', '2'],
    ['PFSELFTEST'], ['PFSELFTEST', 'x'],
  ];
  for (const proto of [2, 3] as const) {
    const [r, t] = await clients(proto);
    try {
      await Promise.all([r.call(['FLUSHALL']), t.call(['FLUSHALL'])]);
      const bad: string[] = [];
      for (const args of steps) {
        const [a, b] = await Promise.all([r.call(args, 30_000), t.call(args, 30_000)]);
        if (!a.raw.equals(b.raw)) bad.push(`RESP${proto} ${args.join(' ')}: redis ${JSON.stringify(a.text)} tessera ${JSON.stringify(b.text)}`);
      }
      assert.equal(bad, [], bad.join('\n'));
    } finally {
      r.close();
      t.close();
    }
  }
});

timed('COMMAND with no arguments: one entry per command, equal to its COMMAND INFO', async () => {
  const [, t] = await clients(3);
  try {
    const all = await t.call(['COMMAND'], 20_000);
    const info = await t.call(['COMMAND', 'INFO'], 20_000);
    assert.ok(all.raw.equals(info.raw), 'COMMAND and COMMAND INFO without names differ');
    const count = await t.call(['COMMAND', 'COUNT']);
    assert.is(all.value.type === 'array' && all.value.value ? `:${all.value.value.length}\r\n` : '?', count.text);
    // Tessera's own commands: derived from their specs, with a spec's `decl` on top.
    const own = await t.call(['COMMAND', 'INFO', 'restorebatch', 'client|setinfo']);
    assert.ok(own.text.includes('restorebatch\r\n:-3\r\n~3\r\n+write\r\n+denyoom\r\n+asking\r\n'), own.text);
    assert.ok(own.text.includes('client|setinfo\r\n:4\r\n~3\r\n+noscript\r\n+loading\r\n+stale\r\n:0\r\n:0\r\n:0\r\n~2\r\n+@slow\r\n+@connection\r\n'), own.text);
    const docs = await t.call(['COMMAND', 'DOCS', 'client|setinfo']);
    assert.ok(docs.text.includes('since\r\n$5\r\n7.2.0\r\n'), docs.text);
  } finally {
    t.close();
  }
});

test.run();
