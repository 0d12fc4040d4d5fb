// What the durable-collections e2e tests share (issue 14: a big hash and a big set survive kill -9,
// failover, reshard and a restart with another shard count): the collection size (DURABLE_SIZE,
// bounded by default, 1M in `npm run test:durable`), a model of one hash and one set, pipelined
// multi-field fills, a sequential writer that keeps changing both (so that at most one write is in
// flight when a server dies) and a full comparison of a node's hash and set with the model.
// Works through a plain ioredis client or an ioredis Cluster (which follows MOVED/ASK).

import { makeRandom } from '../../src/loadgen/keys.js';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import * as assert from 'uvu/assert';

/** Elements in the big hash and in the big set. */
export const SIZE = Number(process.env['DURABLE_SIZE'] ?? 100_000);
/** Per-test deadline, grown with SIZE (1M elements take about 16 s to load on a 2-core host, and
 * as long again to read back): 72 s at 100,000, 180 s at 1M. */
export const TEST_TIMEOUT_MS = 60_000 + Math.ceil((SIZE / 1_000_000) * 120_000);

/** Both keys share a hash tag, so one slot (and one shard) holds them. */
export const HASH_KEY = '{durable}:hash';
export const SET_KEY = '{durable}:set';
export const COUNTER_FIELD = 'counter';
/** EXPIRE's seconds: far enough that nothing expires during a test. */
export const TTL_S = 100_000;

export type Client = Redis | Cluster;

export interface Model {
  hash: Map<string, string>;
  set: Set<string>;
  /** Whether an acknowledged EXPIRE gave the key a TTL. */
  hashTtl: boolean;
  setTtl: boolean;
}

export type Op =
  | { kind: 'hset'; field: string; value: string }
  | { kind: 'hdel'; field: string }
  | { kind: 'hincrby'; field: string }
  | { kind: 'sadd'; member: string }
  | { kind: 'srem'; member: string }
  | { kind: 'expire'; key: 'hash' | 'set' };

const fieldOf = (i: number): string => `f:${i}`;
const valueOf = (i: number): string => `v:${i}`;
const memberOf = (i: number): string => `m:${i}`;

/** Fills HASH_KEY with `size` fields and SET_KEY with `size` members, 1000 per command, 20 commands
 * per pipeline; every reply is checked. Returns the model. */
export async function fillCollections(c: Client, size = SIZE): Promise<Model> {
  const PER_COMMAND = 1_000;
  const PER_PIPELINE = 20;
  const model: Model = { hash: new Map(), set: new Set(), hashTtl: false, setTtl: false };
  for (const kind of ['hash', 'set'] as const) {
    for (let start = 0; start < size; start += PER_COMMAND * PER_PIPELINE) {
      const p = c.pipeline();
      const expected: number[] = [];
      for (let b = start; b < Math.min(size, start + PER_COMMAND * PER_PIPELINE); b += PER_COMMAND) {
        const args: string[] = [];
        const end = Math.min(size, b + PER_COMMAND);
        for (let i = b; i < end; i++) {
          if (kind === 'hash') {
            args.push(fieldOf(i), valueOf(i));
            model.hash.set(fieldOf(i), valueOf(i));
          } else {
            args.push(memberOf(i));
            model.set.add(memberOf(i));
          }
        }
        if (kind === 'hash') p.hset(HASH_KEY, ...args);
        else p.sadd(SET_KEY, ...args);
        expected.push(end - b);
      }
      const r = await p.exec();
      assert.ok(r !== null, 'fill pipeline ran');
      r.forEach(([err, v], j) => {
        if (err !== null || v !== expected[j]) assert.unreachable(`fill of the ${kind} at ${start}: ${err?.message ?? String(v)}, expected ${expected[j]}`);
      });
    }
  }
  return model;
}

/** A deterministic pseudo-random source (the load generator's xorshift32), so that a failing run
 * can be replayed. */
export const rng = makeRandom;

/** The `step`-th write of the load: fields and members of the fill (existing or deleted by then)
 * and new ones, so that HSET updates and adds, HDEL and SREM mostly remove, SADD adds. */
export function nextOp(rand: () => number, step: number, size = SIZE): Op {
  const r = rand();
  const any = Math.floor(rand() * size);
  if (r < 0.25) return { kind: 'hset', field: fieldOf(any), value: `w:${step}` };
  if (r < 0.4) return { kind: 'hset', field: `n:${step}`, value: `w:${step}` };
  if (r < 0.5) return { kind: 'hdel', field: fieldOf(any) };
  if (r < 0.65) return { kind: 'sadd', member: `a:${step}` };
  if (r < 0.75) return { kind: 'srem', member: memberOf(any) };
  if (r < 0.8) return { kind: 'expire', key: step % 2 === 0 ? 'hash' : 'set' };
  return { kind: 'hincrby', field: COUNTER_FIELD };
}

/** Sends `op`; resolves with its reply (rejects when the connection is gone). */
export function sendOp(c: Client, op: Op): Promise<unknown> {
  switch (op.kind) {
    case 'hset':
      return c.hset(HASH_KEY, op.field, op.value);
    case 'hdel':
      return c.hdel(HASH_KEY, op.field);
    case 'hincrby':
      return c.hincrby(HASH_KEY, op.field, 1);
    case 'sadd':
      return c.sadd(SET_KEY, op.member);
    case 'srem':
      return c.srem(SET_KEY, op.member);
    case 'expire':
      return c.expire(op.key === 'hash' ? HASH_KEY : SET_KEY, TTL_S);
  }
}

/** The reply `op` must get on a server holding `model` (before applying it). */
export function expectedReply(model: Model, op: Op): unknown {
  switch (op.kind) {
    case 'hset':
      return model.hash.has(op.field) ? 0 : 1;
    case 'hdel':
      return model.hash.has(op.field) ? 1 : 0;
    case 'hincrby':
      return Number(model.hash.get(op.field) ?? '0') + 1;
    case 'sadd':
      return model.set.has(op.member) ? 0 : 1;
    case 'srem':
      return model.set.has(op.member) ? 1 : 0;
    case 'expire':
      return 1;
  }
}

export function applyOp(model: Model, op: Op): void {
  switch (op.kind) {
    case 'hset':
      model.hash.set(op.field, op.value);
      return;
    case 'hdel':
      model.hash.delete(op.field);
      return;
    case 'hincrby':
      model.hash.set(op.field, String(Number(model.hash.get(op.field) ?? '0') + 1));
      return;
    case 'sadd':
      model.set.add(op.member);
      return;
    case 'srem':
      model.set.delete(op.member);
      return;
    case 'expire':
      if (op.key === 'hash') model.hashTtl = true;
      else model.setTtl = true;
      return;
  }
}

/** A writer that sends one op at a time and applies each acknowledged one to the model. */
export interface Writer {
  /** Acknowledged ops. */
  acked(): number;
  /** The acknowledged ops in order (log.length === acked()). */
  log: Op[];
  /** The op sent and not yet acknowledged (the one a dying server may or may not have applied). */
  pending(): Op | null;
  /** The first reply that differed from the model's, or an error other than the connection going
   * away (or a redirection the cluster client could not follow). */
  unexpected(): string;
  /** Resolves once the writer has stopped: on stop(), or on its first error. */
  finished: Promise<void>;
  stop(): Promise<void>;
}

const GONE = /closed|ECONNRESET|EPIPE|ECONNREFUSED|writable|stream|Connection is closed/i;

/** Starts writing to `c` until stop() or an error; `seed` picks the ops. */
export function startWriter(c: Client, model: Model, seed: number, size = SIZE): Writer {
  const rand = rng(seed);
  let acked = 0;
  let pending: Op | null = null;
  let stop = false;
  let unexpected = '';
  const log: Op[] = [];
  const run = async (): Promise<void> => {
    for (let step = 0; !stop; step++) {
      const op = nextOp(rand, step, size);
      const want = expectedReply(model, op);
      pending = op;
      let got: unknown;
      try {
        got = await sendOp(c, op);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (!GONE.test(message)) unexpected ||= `${op.kind}: ${message}`;
        return;
      }
      pending = null;
      applyOp(model, op);
      log.push(op);
      acked++;
      if (got !== want) {
        unexpected ||= `step ${step} ${JSON.stringify(op)}: replied ${JSON.stringify(got)}, the model says ${JSON.stringify(want)}`;
        return;
      }
    }
  };
  const finished = run();
  return {
    acked: () => acked,
    log,
    pending: () => pending,
    unexpected: () => unexpected,
    finished,
    stop: async () => {
      stop = true;
      await finished;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Reading a node's collections back and comparing them with the model

/** The whole hash through HSCAN (COUNT 20000; a field seen twice by SCAN is kept once). */
export async function scanHash(c: Client): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = '0';
  let rounds = 0;
  do {
    const [next, flat] = await c.hscan(HASH_KEY, cursor, 'COUNT', 20_000);
    for (let i = 0; i + 1 < flat.length; i += 2) out.set(flat[i]!, flat[i + 1]!);
    cursor = next;
    if (++rounds > 10_000_000) throw new Error('HSCAN did not end');
  } while (cursor !== '0');
  return out;
}

/** The whole set through SSCAN (COUNT 20000). */
export async function scanSet(c: Client): Promise<Set<string>> {
  const out = new Set<string>();
  let cursor = '0';
  let rounds = 0;
  do {
    const [next, members] = await c.sscan(SET_KEY, cursor, 'COUNT', 20_000);
    for (const m of members) out.add(m);
    cursor = next;
    if (++rounds > 10_000_000) throw new Error('SSCAN did not end');
  } while (cursor !== '0');
  return out;
}

/** The differences between a node's collections and the model (at most `max` listed). */
export async function differences(c: Client, model: Model, max = 10): Promise<string[]> {
  const out: string[] = [];
  const note = (s: string): void => {
    if (out.length < max) out.push(s);
  };
  const [hlen, scard] = [await c.hlen(HASH_KEY), await c.scard(SET_KEY)];
  if (hlen !== model.hash.size) note(`HLEN ${hlen}, model ${model.hash.size}`);
  if (scard !== model.set.size) note(`SCARD ${scard}, model ${model.set.size}`);
  const hash = await scanHash(c);
  if (hash.size !== model.hash.size) note(`HSCAN saw ${hash.size} fields, model ${model.hash.size}`);
  for (const [f, v] of model.hash) if (hash.get(f) !== v) note(`field ${f}: ${JSON.stringify(hash.get(f) ?? null)}, model ${JSON.stringify(v)}`);
  for (const f of hash.keys()) if (!model.hash.has(f)) note(`field ${f}: present, not in the model`);
  const set = await scanSet(c);
  if (set.size !== model.set.size) note(`SSCAN saw ${set.size} members, model ${model.set.size}`);
  for (const m of model.set) if (!set.has(m)) note(`member ${m}: missing`);
  for (const m of set) if (!model.set.has(m)) note(`member ${m}: present, not in the model`);
  for (const [key, ttl] of [[HASH_KEY, model.hashTtl], [SET_KEY, model.setTtl]] as const) {
    const t = await c.ttl(key);
    if (ttl ? !(t > 0 && t <= TTL_S) : t !== -1) note(`TTL ${key}: ${t}, model ${ttl ? `about ${TTL_S}` : 'none (-1)'}`);
  }
  return out;
}

/** The node holds exactly the model; or, when `pending` is an op a dying server may have applied
 * before it died, the model with that op applied (the model is then updated to match). */
export async function assertHoldsModel(c: Client, model: Model, what: string, pending: Op | null = null): Promise<void> {
  let diff = await differences(c, model);
  if (diff.length > 0 && pending !== null) {
    applyOp(model, pending);
    const withPending = await differences(c, model);
    if (withPending.length === 0) return;
    diff = [...diff, `(and with the pending ${JSON.stringify(pending)} applied:)`, ...withPending];
  }
  assert.equal(diff, [], `${what}: the hash and the set differ from the model`);
}

// ---------------------------------------------------------------------------------------------
// Files and INFO

/** The total size of the files in `dir`/appendonlydir. */
export function aofBytes(dir: string): number {
  const d = join(dir, 'appendonlydir');
  return readdirSync(d).reduce((n, name) => n + statSync(join(d, name)).size, 0);
}

/** One numeric field of an INFO section. */
export async function infoField(c: Client, section: string, field: string): Promise<number> {
  const text = await c.info(section);
  const m = new RegExp(`^${field}:(\\S+)`, 'm').exec(text);
  if (m === null) throw new Error(`no ${field} in INFO ${section}`);
  return Number(m[1]);
}

// ---------------------------------------------------------------------------------------------
// Point-in-time: a snapshot taken while the writer ran holds the model after some prefix of its ops

/** A deep copy of the model (taken when a snapshot starts). */
export function cloneModel(m: Model): Model {
  return { hash: new Map(m.hash), set: new Set(m.set), hashTtl: m.hashTtl, setTtl: m.setTtl };
}

/** The element an op changes, as one id: `h:<field>`, `s:<member>`, `t:hash` or `t:set`. */
function elementOf(op: Op): string {
  switch (op.kind) {
    case 'hset':
    case 'hdel':
    case 'hincrby':
      return `h:${op.field}`;
    case 'sadd':
    case 'srem':
      return `s:${op.member}`;
    case 'expire':
      return `t:${op.key}`;
  }
}

/** An element's state after `op`, from its state before (null: absent). */
function stateAfter(op: Op, before: string | null): string | null {
  switch (op.kind) {
    case 'hset':
      return op.value;
    case 'hdel':
    case 'srem':
      return null;
    case 'hincrby':
      return String(Number(before ?? '0') + 1);
    case 'sadd':
    case 'expire':
      return '1';
  }
}

function stateIn(m: Model, id: string): string | null {
  const rest = id.slice(2);
  if (id.startsWith('h:')) return m.hash.get(rest) ?? null;
  if (id.startsWith('s:')) return m.set.has(rest) ? '1' : null;
  return (rest === 'hash' ? m.hashTtl : m.setTtl) ? '1' : null;
}

/**
 * Finds k in [0, ops.length] such that `node` holds `base` with ops[0..k) applied: the elements no op
 * touches must equal `base`, and the touched ones must all match one prefix. Returns k, or a
 * description of what differs.
 */
export async function prefixHeld(c: Client, base: Model, ops: readonly Op[]): Promise<number | string> {
  const hash = await scanHash(c);
  const set = await scanSet(c);
  const actual: Model = { hash, set, hashTtl: (await c.ttl(HASH_KEY)) > 0, setTtl: (await c.ttl(SET_KEY)) > 0 };
  const touched = new Set(ops.map(elementOf));
  const untouchedWrong: string[] = [];
  const check = (id: string): void => {
    if (!touched.has(id) && stateIn(actual, id) !== stateIn(base, id) && untouchedWrong.length < 10) {
      untouchedWrong.push(`${id}: ${JSON.stringify(stateIn(actual, id))}, before the snapshot ${JSON.stringify(stateIn(base, id))}`);
    }
  };
  for (const f of new Set([...base.hash.keys(), ...hash.keys()])) check(`h:${f}`);
  for (const m of new Set([...base.set, ...set])) check(`s:${m}`);
  check('t:hash');
  check('t:set');
  if (untouchedWrong.length > 0) return `elements no write touched differ: ${untouchedWrong.join('; ')}`;
  // Walk the prefixes, keeping the touched elements' states and how many differ from the node's.
  const cur = new Map<string, string | null>();
  let wrong = 0;
  for (const id of touched) {
    cur.set(id, stateIn(base, id));
    if (cur.get(id) !== stateIn(actual, id)) wrong++;
  }
  for (let k = 0; ; k++) {
    if (wrong === 0) return k;
    if (k === ops.length) break;
    const op = ops[k]!;
    const id = elementOf(op);
    const before = cur.get(id)!;
    const after = stateAfter(op, before);
    const want = stateIn(actual, id);
    wrong += (after !== want ? 1 : 0) - (before !== want ? 1 : 0);
    cur.set(id, after);
  }
  const diff = [...touched].filter((id) => cur.get(id) !== stateIn(actual, id)).slice(0, 5);
  return `no prefix of the ${ops.length} writes during the snapshot matches; after all of them ${wrong} touched elements differ, e.g. ${diff
    .map((id) => `${id}: ${JSON.stringify(stateIn(actual, id))} vs ${JSON.stringify(cur.get(id))}`)
    .join('; ')}`;
}
