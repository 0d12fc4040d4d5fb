// Model-based test of the keyspace: random sequences of string and key commands (SET with its
// options, GET, DEL, INCR, APPEND, EXPIRE/PEXPIRE/PERSIST/TTL/PTTL, RENAME, MSET/MGET/EXISTS
// across shards, FLUSHDB), bulk loads and deletes that grow and shrink the index tables, and
// crashes of a shard (DEBUG SHARD-CRASH), run against a real server with three shards and against
// a plain Map; every reply is compared with the model's, and the whole keyspace after each step.
// Time: a key given a short TTL (PEXPIRE / SET PX, a few ms) is in flight until its deadline has
// certainly passed; it may then be present or absent, and the model settles it (waits out the
// deadline) before a command touches it. Long TTLs (100 s and more) never pass during a run.
// A second suite runs writes under maxmemory with eviction and checks what the model can know:
// a key holds its last written value or nothing, never more keys than written, memory bounded.
// Seeded and replayable: MODEL_SEED, MODEL_PATH (fast-check's replay path), MODEL_RUNS,
// MODEL_COMMANDS (or `npm run test:model` for a longer run). E2E_SERVER=redis runs the same model
// against redis-server (shard crashes left out), which checks the model itself.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import {
  againstRedis,
  encodeCommand,
  plain,
  rawClient,
  show,
  startTarget,
  waitFor,
  withTimeout,
  type Plain,
  type RawClient,
  type ServerHandle,
} from './harness.js';

const SEED = Number(process.env['MODEL_SEED'] ?? 1313);
const RUNS = Number(process.env['MODEL_RUNS'] ?? 25);
const MAX_COMMANDS = Number(process.env['MODEL_COMMANDS'] ?? 60);
const REPLAY_PATH = process.env['MODEL_PATH'];
/** The whole property, shrinking included, per suite (the runner kills a file after 120 s). */
const PROPERTY_TIME_LIMIT_MS = Number(process.env['MODEL_TIME_LIMIT_S'] ?? 60) * 1000;
const SHARDS = 3;
const POOL = Array.from({ length: 10 }, (_, i) => `mk:${i}`);
const SHORT_TTL_MS_MAX = 15;
/** Clock slack between this process's Date.now() and the server's (same host; ms rounding). */
const CLOCK_SLACK_MS = 2;
const BULK_CHUNK = 500;

// ---------------------------------------------------------------------------------------------
// The model

interface Ttl {
  /** Bounds of the server's expire-at time: the command was sent at lo - ttl, answered at hi - ttl. */
  lo: number;
  hi: number;
  short: boolean;
}

interface Entry {
  value: string;
  ttl: Ttl | null;
}

class Model {
  readonly keys = new Map<string, Entry>();
  /** Keys certainly expired but perhaps not yet reaped: DBSIZE may still count them. */
  readonly ghosts = new Set<string>();
  bulkCount = 0;
  bulkGen = 0;

  certainCount(): number {
    let n = 0;
    for (const e of this.keys.values()) if (e.ttl === null || !e.ttl.short) n++;
    return n + this.bulkCount;
  }

  inFlightCount(): number {
    let n = 0;
    for (const e of this.keys.values()) if (e.ttl?.short) n++;
    return n;
  }

  /** Before a command touches `keys`: waits out any short TTL among them, so that the server
   * certainly sees those keys expired, and drops them (a lookup on the server deletes them). */
  async settle(keys: readonly string[]): Promise<void> {
    for (const k of keys) {
      this.ghosts.delete(k);
      const e = this.keys.get(k);
      if (e?.ttl?.short) {
        const end = e.ttl.hi + CLOCK_SLACK_MS;
        await waitFor(`short TTL of ${k} over`, () => Date.now() > end, 1000, 1);
        this.keys.delete(k);
      }
    }
  }

  /** Drops short-TTL keys whose deadline certainly passed (a check met them gone or may). */
  expireDue(now: number): void {
    for (const [k, e] of this.keys) {
      if (e.ttl?.short && now > e.ttl.hi + CLOCK_SLACK_MS) {
        this.keys.delete(k);
        this.ghosts.add(k);
      }
    }
  }
}

interface Real {
  c: RawClient;
  server: ServerHandle;
  restarts: number;
}

// ---------------------------------------------------------------------------------------------
// Talking to the server

async function call(r: Real, args: string[]): Promise<{ text: string; value: Plain; sent: number; received: number }> {
  const sent = Date.now();
  const reply = await r.c.call(args, 10_000);
  return { text: reply.text, value: plain(reply.value), sent, received: Date.now() };
}

function expectReply(args: string[], got: string, want: string): void {
  if (got !== want) assert.unreachable(`${args.join(' ')}: expected ${show(want)}, got ${show(got)}`);
}

/** A bulk reply as the raw client's `text` shows it (bytes as latin1). */
const bulk = (s: string | null): string => (s === null ? '$-1\r\n' : Buffer.from(`$${Buffer.byteLength(s)}\r\n${s}\r\n`).toString('latin1'));
const int = (n: number): string => `:${n}\r\n`;
const OK = '+OK\r\n';
const NOT_INTEGER = '-ERR value is not an integer or out of range\r\n';
const NO_SUCH_KEY = '-ERR no such key\r\n';

/** Redis's string2ll: the exact text of an int64, nothing else. */
function asInteger(s: string): bigint | null {
  if (!/^(0|-?[1-9][0-9]*)$/.test(s)) return null;
  const n = BigInt(s);
  return n >= -(2n ** 63n) && n < 2n ** 63n ? n : null;
}

function ttlFrom(sent: number, received: number, ms: number): Ttl {
  return { lo: sent + ms, hi: received + ms, short: ms <= SHORT_TTL_MS_MAX };
}

/** The whole keyspace against the model: every pool key (MGET across shards), DBSIZE, and with
 * `full` every bulk key and each pool key by its own GET. */
async function checkAll(m: Model, r: Real, full: boolean): Promise<void> {
  const { value, sent, received } = await call(r, ['MGET', ...POOL]);
  assert.ok(Array.isArray(value) && value.length === POOL.length, `MGET replied ${JSON.stringify(value)}`);
  POOL.forEach((k, i) => {
    const got = value[i];
    const e = m.keys.get(k);
    m.ghosts.delete(k);
    if (e === undefined) {
      if (got !== null) assert.unreachable(`${k}: model has no key, server has ${JSON.stringify(got)}`);
    } else if (got === null) {
      // Only a key whose short TTL may have passed by then may be gone.
      if (!(e.ttl?.short && received + CLOCK_SLACK_MS >= e.ttl.lo)) assert.unreachable(`${k}: lost (model: ${JSON.stringify(e)}, at ${sent})`);
      m.keys.delete(k);
    } else {
      if (got !== e.value) assert.unreachable(`${k}: expected ${JSON.stringify(e.value)}, got ${JSON.stringify(got)}`);
      if (e.ttl?.short && sent > e.ttl.hi + CLOCK_SLACK_MS) assert.unreachable(`${k}: still served after its TTL (${JSON.stringify(e.ttl)}, at ${sent})`);
    }
  });
  if (full) {
    for (const k of POOL) {
      const e = m.keys.get(k);
      const got = await call(r, ['GET', k]);
      if (got.value === null && e?.ttl?.short) m.keys.delete(k);
      else expectReply(['GET', k], got.text, bulk(e?.value ?? null));
    }
    await checkBulk(m, r);
  }
  const size = await call(r, ['DBSIZE']);
  m.expireDue(size.sent);
  const n = Number(size.value);
  const lo = m.certainCount();
  const hi = lo + m.inFlightCount() + m.ghosts.size;
  if (!(n >= lo && n <= hi)) assert.unreachable(`DBSIZE ${n}, model says ${lo}..${hi}`);
}

async function checkBulk(m: Model, r: Real): Promise<void> {
  for (let start = 0; start < m.bulkCount; start += BULK_CHUNK) {
    const keys = Array.from({ length: Math.min(BULK_CHUNK, m.bulkCount - start) }, (_, j) => `bulk:${start + j}`);
    const got = (await call(r, ['MGET', ...keys])).value;
    assert.ok(Array.isArray(got), 'bulk MGET');
    keys.forEach((k, j) => {
      if (got[j] !== bulkValue(m.bulkGen, start + j)) assert.unreachable(`${k}: expected ${bulkValue(m.bulkGen, start + j)}, got ${JSON.stringify(got[j])}`);
    });
  }
}

const bulkValue = (gen: number, i: number): string => `b${gen}:${i}`;

/** Sends commands as one pipeline and checks that every reply is `want`. */
async function pipeline(r: Real, cmds: string[][], want: string): Promise<void> {
  r.c.send(Buffer.concat(cmds.map((a) => encodeCommand(a))));
  const replies = await r.c.read(cmds.length, 30_000);
  replies.forEach((x, i) => expectReply(cmds[i]!, x.text, want));
}

async function restarts(r: Real): Promise<number> {
  const info = String((await call(r, ['INFO', 'stats'])).value);
  const mm = /^shard_restarts:(\d+)\r?$/m.exec(info);
  if (mm === null) throw new Error(`no shard_restarts in INFO stats`);
  return Number(mm[1]);
}

// ---------------------------------------------------------------------------------------------
// Commands: each runs one step on the server and the model, and checks the reply

type Step = fc.AsyncCommand<Model, Real>;
let stepsRun = 0;

function step(label: string, run: (m: Model, r: Real) => Promise<void>, check: (m: Model) => boolean = () => true): Step {
  return { check, run: async (m, r) => {
    stepsRun++;
    await run(m, r);
    await checkAll(m, r, false);
  }, toString: () => label };
}

const key = fc.constantFrom(...POOL);
const value = fc.oneof(
  fc.integer({ min: -20, max: 200 }).map(String),
  fc.constantFrom('abc', 'x', '', '007', ' 1', '9223372036854775807', '-9223372036854775808', 'héllo'),
  fc.string({ maxLength: 40 }),
);
const longTtlS = fc.integer({ min: 100, max: 100_000 });
const shortTtlMs = fc.integer({ min: 1, max: SHORT_TTL_MS_MAX });

type SetTtl = { kind: 'none' } | { kind: 'keep' } | { kind: 'ex'; s: number } | { kind: 'px'; ms: number };
const setTtl: fc.Arbitrary<SetTtl> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.constant({ kind: 'keep' as const }),
  longTtlS.map((s) => ({ kind: 'ex' as const, s })),
  shortTtlMs.map((ms) => ({ kind: 'px' as const, ms })),
);

const setCmd = fc.record({ k: key, v: value, cond: fc.constantFrom('', 'NX', 'XX'), get: fc.boolean(), ttl: setTtl }).map(({ k, v, cond, get, ttl }) => {
  const args = ['SET', k, v];
  if (cond) args.push(cond);
  if (get) args.push('GET');
  if (ttl.kind === 'keep') args.push('KEEPTTL');
  if (ttl.kind === 'ex') args.push('EX', String(ttl.s));
  if (ttl.kind === 'px') args.push('PX', String(ttl.ms));
  return step(args.join(' '), async (m, r) => {
    await m.settle([k]);
    const old = m.keys.get(k);
    const res = await call(r, args);
    const doSet = cond === '' || (cond === 'NX') === (old === undefined);
    expectReply(args, res.text, get ? bulk(old?.value ?? null) : doSet ? OK : bulk(null));
    if (!doSet) return;
    const t = ttl.kind === 'keep' ? old?.ttl ?? null : ttl.kind === 'ex' ? ttlFrom(res.sent, res.received, ttl.s * 1000) : ttl.kind === 'px' ? ttlFrom(res.sent, res.received, ttl.ms) : null;
    m.keys.set(k, { value: v, ttl: t });
  });
});

const getCmd = key.map((k) => step(`GET ${k}`, async (m, r) => {
  await m.settle([k]);
  expectReply(['GET', k], (await call(r, ['GET', k])).text, bulk(m.keys.get(k)?.value ?? null));
}));

const delCmd = fc.uniqueArray(key, { minLength: 1, maxLength: 4 }).map((ks) => step(`DEL ${ks.join(' ')}`, async (m, r) => {
  await m.settle(ks);
  let n = 0;
  for (const k of ks) if (m.keys.delete(k)) n++;
  expectReply(['DEL', ...ks], (await call(r, ['DEL', ...ks])).text, int(n));
}));

const existsCmd = fc.array(key, { minLength: 1, maxLength: 4 }).map((ks) => step(`EXISTS ${ks.join(' ')}`, async (m, r) => {
  await m.settle(ks);
  const n = ks.filter((k) => m.keys.has(k)).length;
  expectReply(['EXISTS', ...ks], (await call(r, ['EXISTS', ...ks])).text, int(n));
}));

const incrCmd = fc.record({ k: key, by: fc.option(fc.integer({ min: -1000, max: 1000 }), { nil: undefined }) }).map(({ k, by }) => {
  const args = by === undefined ? ['INCR', k] : ['INCRBY', k, String(by)];
  return step(args.join(' '), async (m, r) => {
    await m.settle([k]);
    const e = m.keys.get(k);
    const cur = e === undefined ? 0n : asInteger(e.value);
    const res = await call(r, args);
    const next = cur === null ? null : cur + BigInt(by ?? 1);
    if (next === null || next >= 2n ** 63n || next < -(2n ** 63n)) {
      expectReply(args, res.text, cur === null ? NOT_INTEGER : '-ERR increment or decrement would overflow\r\n');
      return;
    }
    expectReply(args, res.text, `:${next}\r\n`);
    m.keys.set(k, { value: String(next), ttl: e?.ttl ?? null });
  });
});

const appendCmd = fc.record({ k: key, v: value }).map(({ k, v }) => step(`APPEND ${k} ${JSON.stringify(v)}`, async (m, r) => {
  await m.settle([k]);
  const e = m.keys.get(k);
  const next = (e?.value ?? '') + v;
  expectReply(['APPEND', k, v], (await call(r, ['APPEND', k, v])).text, int(Buffer.byteLength(next)));
  m.keys.set(k, { value: next, ttl: e?.ttl ?? null });
}));

const expireCmd = fc.record({ k: key, how: fc.oneof(longTtlS.map((s) => ['EXPIRE', String(s)]), shortTtlMs.map((ms) => ['PEXPIRE', String(ms)]), fc.constant(['EXPIRE', '-1'])) }).map(({ k, how }) => {
  const args = [how[0]!, k, how[1]!];
  return step(args.join(' '), async (m, r) => {
    await m.settle([k]);
    const e = m.keys.get(k);
    const res = await call(r, args);
    expectReply(args, res.text, int(e === undefined ? 0 : 1));
    if (e === undefined) return;
    const n = Number(how[1]);
    if (n <= 0) m.keys.delete(k);
    else e.ttl = ttlFrom(res.sent, res.received, how[0] === 'EXPIRE' ? n * 1000 : n);
  });
});

const persistCmd = key.map((k) => step(`PERSIST ${k}`, async (m, r) => {
  await m.settle([k]);
  const e = m.keys.get(k);
  expectReply(['PERSIST', k], (await call(r, ['PERSIST', k])).text, int(e?.ttl ? 1 : 0));
  if (e) e.ttl = null;
}));

const ttlCmd = fc.record({ k: key, ms: fc.boolean() }).map(({ k, ms }) => {
  const args = [ms ? 'PTTL' : 'TTL', k];
  return step(args.join(' '), async (m, r) => {
    await m.settle([k]);
    const e = m.keys.get(k);
    const res = await call(r, args);
    if (e === undefined || e.ttl === null) {
      expectReply(args, res.text, int(e === undefined ? -2 : -1));
      return;
    }
    // Remaining time lies between what was left at the latest and earliest moments it ran.
    const unit = ms ? 1 : 1000;
    const lo = Math.floor((e.ttl.lo - res.received - CLOCK_SLACK_MS) / unit);
    const hi = Math.ceil((e.ttl.hi - res.sent + CLOCK_SLACK_MS) / unit);
    const got = Number(res.value);
    if (!(typeof res.value === 'number' && got >= lo && got <= hi)) assert.unreachable(`${args.join(' ')}: ${show(res.text)}, expected ${lo}..${hi}`);
  });
});

const renameCmd = fc.record({ a: key, b: key }).map(({ a, b }) => step(`RENAME ${a} ${b}`, async (m, r) => {
  await m.settle([a, b]);
  const e = m.keys.get(a);
  const res = await call(r, ['RENAME', a, b]);
  if (e === undefined) {
    expectReply(['RENAME', a, b], res.text, NO_SUCH_KEY);
    return;
  }
  expectReply(['RENAME', a, b], res.text, OK);
  m.keys.delete(a);
  m.keys.set(b, e);
}));

const msetCmd = fc.array(fc.tuple(key, value), { minLength: 1, maxLength: 5 }).map((pairs) => {
  const args = ['MSET', ...pairs.flat()];
  return step(`MSET ${pairs.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}`, async (m, r) => {
    await m.settle(pairs.map(([k]) => k));
    expectReply(args, (await call(r, args)).text, OK);
    for (const [k, v] of pairs) m.keys.set(k, { value: v, ttl: null });
  });
});

const mgetCmd = fc.array(key, { minLength: 1, maxLength: 6 }).map((ks) => step(`MGET ${ks.join(' ')}`, async (m, r) => {
  await m.settle(ks);
  const got = (await call(r, ['MGET', ...ks])).value;
  assert.equal(got, ks.map((k) => m.keys.get(k)?.value ?? null), `MGET ${ks.join(' ')}`);
}));

const flushCmd = fc.constant(null).map(() => step('FLUSHDB', async (m, r) => {
  expectReply(['FLUSHDB'], (await call(r, ['FLUSHDB'])).text, OK);
  m.keys.clear();
  m.ghosts.clear();
  m.bulkCount = 0;
}));

/** Writes (or rewrites) bulk:0..n-1 with a new generation: the index tables grow. */
const bulkLoadCmd = fc.integer({ min: 200, max: 6000 }).map((n) => {
  const s = step(`BULK-LOAD ${n}`, async (m, r) => {
    const gen = m.bulkGen + 1;
    const cmds: string[][] = [];
    for (let start = 0; start < n; start += BULK_CHUNK) {
      const args = ['MSET'];
      for (let i = start; i < Math.min(n, start + BULK_CHUNK); i++) args.push(`bulk:${i}`, bulkValue(gen, i));
      cmds.push(args);
    }
    // Keys past n from an earlier, larger load go first, so that bulk:* is exactly 0..n-1.
    const stale: string[][] = [];
    for (let i = n; i < m.bulkCount; i += BULK_CHUNK) stale.push(['DEL', ...Array.from({ length: Math.min(BULK_CHUNK, m.bulkCount - i) }, (_, j) => `bulk:${i + j}`)]);
    if (stale.length) {
      r.c.send(Buffer.concat(stale.map((a) => encodeCommand(a))));
      await r.c.read(stale.length, 30_000);
    }
    await pipeline(r, cmds, OK);
    m.bulkGen = gen;
    m.bulkCount = n;
    await checkBulk(m, r);
  });
  return s;
});

/** Deletes every bulk key: the index tables shrink (the shard's cron starts it). */
const bulkDeleteCmd = fc.constant(null).map(() => step('BULK-DELETE', async (m, r) => {
  const cmds: string[][] = [];
  for (let i = 0; i < m.bulkCount; i += BULK_CHUNK) cmds.push(['DEL', ...Array.from({ length: Math.min(BULK_CHUNK, m.bulkCount - i) }, (_, j) => `bulk:${i + j}`)]);
  r.c.send(Buffer.concat(cmds.map((a) => encodeCommand(a))));
  const replies = await r.c.read(cmds.length, 30_000);
  const deleted = replies.reduce((n, x) => n + Number(plain(x.value)), 0);
  assert.is(deleted, m.bulkCount, 'every bulk key deleted');
  m.bulkCount = 0;
}));

/** Crashes one shard; after its restart on its memory every acknowledged write is there. */
const crashCmd = fc.integer({ min: 0, max: SHARDS - 1 }).map((n) => step(`DEBUG SHARD-CRASH ${n}`, async (m, r) => {
  expectReply(['DEBUG', 'SHARD-CRASH', String(n)], (await call(r, ['DEBUG', 'SHARD-CRASH', String(n)])).text, OK);
  r.restarts++;
  await waitFor(`shard_restarts:${r.restarts}`, async () => (await restarts(r)) === r.restarts, 15_000);
  await checkAll(m, r, true);
}));

function allCommands(): Array<fc.Arbitrary<Step>> {
  const cmds: Array<fc.Arbitrary<Step>> = [
    setCmd, setCmd, setCmd, getCmd, delCmd, existsCmd, incrCmd, incrCmd, appendCmd, expireCmd, expireCmd, persistCmd, ttlCmd,
    renameCmd, msetCmd, mgetCmd, flushCmd, bulkLoadCmd, bulkDeleteCmd,
  ];
  if (!againstRedis()) cmds.push(crashCmd);
  return cmds;
}

// ---------------------------------------------------------------------------------------------
// Suites

/** fast-check's report names the counterexample; the failed check's own message is its cause. */
function withCause(err: unknown): never {
  const cause = err instanceof Error ? err.cause : undefined;
  if (cause instanceof Error) console.error(`  first failure of the counterexample: ${cause.message}`);
  throw err;
}

function fcParams(): fc.Parameters<[Iterable<Step>]> {
  return {
    seed: SEED,
    numRuns: RUNS,
    ...(REPLAY_PATH !== undefined ? { path: REPLAY_PATH } : {}),
    // Shrinking runs the server again per candidate: bounded, the seed and path replay it anyway.
    interruptAfterTimeLimit: PROPERTY_TIME_LIMIT_MS,
    markInterruptAsFailure: false,
    verbose: 1,
  };
}

const model = suite('model: keyspace against a Map');
let server: ServerHandle | undefined;
let client: RawClient | undefined;

model.before(async () => {
  server = await startTarget({ shards: SHARDS });
  client = await rawClient(server.port);
});

model.after(async () => {
  client?.close();
  await server?.stop();
});

model(`random command sequences (seed ${SEED}, ${RUNS} runs of up to ${MAX_COMMANDS} commands)`, async () => {
  const real: Real = { c: client!, server: server!, restarts: againstRedis() ? 0 : await restarts({ c: client!, server: server!, restarts: 0 }) };
  let runs = 0;
  const prop = fc.asyncProperty(fc.commands(allCommands(), { maxCommands: MAX_COMMANDS, size: 'max', ...(REPLAY_PATH !== undefined ? { replayPath: REPLAY_PATH } : {}) }), async (cmds) => {
    runs++;
    const m = new Model();
    expectReply(['FLUSHALL'], (await call(real, ['FLUSHALL'])).text, OK);
    await fc.asyncModelRun(() => ({ model: m, real }), cmds);
    // Every run ends with the full check, a crash's check included.
    await checkAll(m, real, true);
  });
  await withTimeout(fc.assert(prop, fcParams()).catch(withCause), PROPERTY_TIME_LIMIT_MS + 30_000, 'model property');
  assert.ok(runs > 0, 'no run happened');
  console.log(`  (${runs} runs, ${stepsRun} steps)`);
});

model.run();

// Eviction: maxmemory with allkeys-lru; the model knows only what was written.
const evict = suite('model: eviction under maxmemory');
let evServer: ServerHandle | undefined;
let evClient: RawClient | undefined;
const MAXMEMORY = 4 * 1024 * 1024;

evict.before(async () => {
  evServer = await startTarget({ shards: SHARDS, args: ['--maxmemory', String(MAXMEMORY), '--maxmemory-policy', 'allkeys-lru'] });
  evClient = await rawClient(evServer.port);
});

evict.after(async () => {
  evClient?.close();
  await evServer?.stop();
});

interface EvModel {
  last: Map<string, string>;
}

/** A value that names its key and version, so that a value served for the wrong key shows. */
const evValue = (k: string, version: number, size: number): string => `${k}#${version}#`.padEnd(size, String.fromCharCode(97 + (version % 26)));

function evCheckGet(m: EvModel, k: string, got: Plain): void {
  if (got === null) return;
  const want = m.last.get(k);
  if (got !== want) assert.unreachable(`${k}: served ${JSON.stringify(String(got).slice(0, 60))}, last written ${JSON.stringify(want?.slice(0, 60))}`);
}

evict(`writes past maxmemory ${MAXMEMORY} (allkeys-lru): values intact, keys and memory bounded`, async () => {
  const c = evClient!;
  const real: Real = { c, server: evServer!, restarts: 0 };
  const writeBurst = fc.record({ n: fc.integer({ min: 50, max: 3000 }), size: fc.integer({ min: 16, max: 4000 }), base: fc.nat(20_000) });
  const action = fc.oneof(
    writeBurst.map((w) => ({ kind: 'write' as const, ...w })),
    fc.uniqueArray(fc.nat(25_000), { minLength: 1, maxLength: 50 }).map((ids) => ({ kind: 'read' as const, ids })),
  );
  let runs = 0;
  const prop = fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 12 }), async (actions) => {
    runs++;
    expectReply(['FLUSHALL'], (await call(real, ['FLUSHALL'])).text, OK);
    const m: EvModel = { last: new Map() };
    let version = 0;
    for (const a of actions) {
      if (a.kind === 'write') {
        const cmds: string[][] = [];
        for (let i = 0; i < a.n; i++) {
          const k = `ev:${(a.base + i * 7) % 25_000}`;
          const v = evValue(k, ++version, a.size);
          m.last.set(k, v);
          cmds.push(['SET', k, v]);
        }
        await pipeline(real, cmds, OK);
      } else {
        const keys = a.ids.map((i) => `ev:${i}`);
        const got = (await call(real, ['MGET', ...keys])).value;
        assert.ok(Array.isArray(got), 'MGET');
        keys.forEach((k, i) => evCheckGet(m, k, got[i]!));
      }
      const size = Number((await call(real, ['DBSIZE'])).value);
      if (size > m.last.size) assert.unreachable(`DBSIZE ${size} but only ${m.last.size} keys were written`);
      const info = String((await call(real, ['INFO', 'memory'])).value);
      const used = Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
      // Each shard may pass its share by the one command that crossed it (and its index growth).
      if (!againstRedis() && !(used <= MAXMEMORY + SHARDS * 256 * 1024)) assert.unreachable(`used_memory ${used} over maxmemory ${MAXMEMORY}`);
    }
    // Every surviving key holds its last value.
    const all = [...m.last.keys()];
    for (let i = 0; i < all.length; i += BULK_CHUNK) {
      const keys = all.slice(i, i + BULK_CHUNK);
      const got = (await call(real, ['MGET', ...keys])).value;
      assert.ok(Array.isArray(got), 'MGET');
      keys.forEach((k, j) => evCheckGet(m, k, got[j]!));
    }
  });
  await withTimeout(fc.assert(prop, { seed: SEED, numRuns: Math.max(3, Math.ceil(RUNS / 3)), interruptAfterTimeLimit: 30_000, markInterruptAsFailure: false }).catch(withCause), 60_000, 'eviction property');
  const info = String((await call(real, ['INFO', 'stats'])).value);
  const evicted = Number(/^evicted_keys:(\d+)/m.exec(info)?.[1]);
  assert.ok(runs > 0, 'no run happened');
  console.log(`  (${runs} runs, ${evicted} keys evicted in the last)`);
});

evict.run();
