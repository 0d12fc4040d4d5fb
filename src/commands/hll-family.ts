// HyperLogLog commands (Redis hyperloglog.c): PFADD, PFCOUNT, PFMERGE over string values in
// Redis's exact HLL representation (src/util/hll.ts). Keys on several shards: PFCOUNT and PFMERGE
// gather each shard's registers (__pfregs) under withShardsLocked, PFMERGE then stores (__pfstore).

import type { CommandSpec, MainCall, ShardContext } from './types.js';
import { argCopy, argIs, argString } from './args.js';
import { ERR, HLL_ERR } from '../core/errors.js';
import { readKey, writeKey, isString, keyEvent } from './shard-helpers.js';
import { TYPE_STRING } from '../keyspace/keyspace.js';
import * as H from '../util/hll.js';
import { hllSelfTest } from '../util/hll-selftest.js';

const DEFAULT_SPARSE_MAX_BYTES = 3000;
/** Registers of a PFCOUNT / PFMERGE of several keys, plus a last byte: 1 when an input was dense. */
const regs = new Uint8Array(H.HLL_REGISTERS + 1);

function sparseMax(c: ShardContext): number {
  return c.settings.hllSparseMaxBytes ?? DEFAULT_SPARSE_MAX_BYTES;
}

/** The HLL check of entry e (a string in Redis's HLL form); replies and returns false if not. */
function checkHll(c: ShardContext, e: number): boolean {
  if (!isString(c, e)) {
    c.out.error(ERR.wrongType);
    return false;
  }
  const ks = c.ks;
  if (!H.hllIsValid(ks.bytes(), ks.valueOffset(e), ks.valueLength(e))) {
    c.out.error(HLL_ERR.notHll);
    return false;
  }
  return true;
}

/** Writes `work` back as the value of the key in argument i, keeping its expiry. */
function storeWork(c: ShardContext, i: number, e: number): void {
  const a = c.args;
  const at = e === 0 ? 0 : c.ks.expireAt(e);
  c.ks.set(a.buf, a.off[i]!, a.len[i]!, H.work, 0, H.workLen, TYPE_STRING, at);
}

function pfaddCommand(c: ShardContext): void {
  const a = c.args;
  const e = writeKey(c, 1);
  let updated = 0;
  if (e === 0) {
    H.hllInitEmpty();
    updated = 1;
  } else {
    if (!checkHll(c, e)) return;
    const off = c.ks.valueOffset(e);
    if (c.ks.bytes()[off + 4] === H.HLL_DENSE) {
      pfaddDense(c, e, off);
      return;
    }
    H.hllLoad(c.ks.bytes(), off, c.ks.valueLength(e));
  }
  const max = sparseMax(c);
  for (let j = 2; j < a.argc; j++) {
    const r = H.hllAdd(a.buf, a.off[j]!, a.len[j]!, max);
    if (r < 0) {
      c.out.error(HLL_ERR.invalid);
      return;
    }
    updated += r;
  }
  if (updated) {
    H.hllInvalidateCache();
    storeWork(c, 1, e);
    keyEvent(c, '$', 'pfadd', 1);
  }
  c.out.integer(updated ? 1 : 0);
}

/** PFADD to a dense value: registers change in place in the arena (no copy of its 12 KB); the
 * register code never touches a byte past the value. */
function pfaddDense(c: ShardContext, e: number, off: number): void {
  const a = c.args;
  const ks = c.ks;
  let updated = 0;
  for (let j = 2; j < a.argc; j++) {
    const bytes = ks.bytes();
    const reg = H.hllDenseAddTarget(bytes, off, a.buf, a.off[j]!, a.len[j]!);
    if (reg < 0) continue;
    if (updated === 0) ks.bumpCas(e); // before the bytes change (keyspace observers see the old value)
    H.hllDenseSetAt(ks.bytes(), off, reg, H.denseAddCount);
    updated++;
  }
  if (updated) keyEvent(c, '$', 'pfadd', 1);
  c.out.integer(updated ? 1 : 0);
}

/** Max-merges the HLLs in arguments from..argc-1 into `regs` (missing keys are empty); false
 * after replying with an error. regs' last byte says whether an input was dense. */
function gatherRegs(c: ShardContext, from: number): boolean {
  regs.fill(0);
  const ks = c.ks;
  for (let j = from; j < c.args.argc; j++) {
    const e = readKey(c, j);
    if (e === 0) continue;
    if (!checkHll(c, e)) return false;
    const off = ks.valueOffset(e);
    if (ks.bytes()[off + 4] === H.HLL_DENSE) regs[H.HLL_REGISTERS] = 1;
    if (!H.hllMergeInto(regs, ks.bytes(), off, ks.valueLength(e))) {
      c.out.error(HLL_ERR.invalid);
      return false;
    }
  }
  return true;
}

function pfcountCommand(c: ShardContext): void {
  if (c.args.argc > 2) {
    if (gatherRegs(c, 1)) c.out.integer(H.hllCountRegs(regs));
    return;
  }
  const e = readKey(c, 1);
  if (e === 0) {
    c.out.integer(0);
    return;
  }
  if (!checkHll(c, e)) return;
  const ks = c.ks;
  const off = ks.valueOffset(e);
  // The cached cardinality (header bytes 8..15, top bit = stale) is read, or computed and stored.
  H.hllLoad(ks.bytes(), off, H.HLL_HDR_SIZE);
  const cached = H.hllCachedCount();
  if (cached >= 0) {
    c.out.integer(cached);
    return;
  }
  H.hllLoad(ks.bytes(), off, ks.valueLength(e));
  const n = H.hllCountWork();
  if (n < 0) {
    c.out.error(HLL_ERR.invalid);
    return;
  }
  ks.bumpCas(e); // before the bytes change (keyspace observers see the old value)
  ks.bytes().set(H.work.subarray(8, 16), ks.valueOffset(e) + 8);
  c.out.integer(n);
}

/** Stores `regs` into the HLL in argument i (created when missing), as PFMERGE does. */
function storeRegs(c: ShardContext, i: number): void {
  const e = writeKey(c, i);
  if (e === 0) H.hllInitEmpty();
  else {
    if (!checkHll(c, e)) return;
    H.hllLoad(c.ks.bytes(), c.ks.valueOffset(e), c.ks.valueLength(e));
  }
  if (!H.hllStoreRegs(regs, regs[H.HLL_REGISTERS] === 1, sparseMax(c))) {
    c.out.error(HLL_ERR.invalid);
    return;
  }
  storeWork(c, i, e);
  // Redis emits 'pfadd' for PFMERGE too (a mass add of elements).
  keyEvent(c, '$', 'pfadd', i);
  c.out.ok();
}

function pfmergeCommand(c: ShardContext): void {
  if (gatherRegs(c, 1)) storeRegs(c, 1);
}

/** PFDEBUG GETREG|DECODE|ENCODING|TODENSE key (Redis's debugging subcommands). */
function pfdebugCommand(c: ShardContext): void {
  const a = c.args;
  const e = writeKey(c, 2);
  if (e === 0) {
    c.out.error('ERR The specified key does not exist');
    return;
  }
  if (!checkHll(c, e)) return;
  const sub = argString(a, 1);
  const known = ['GETREG', 'DECODE', 'ENCODING', 'TODENSE'].some((n) => argIs(a, 1, n));
  if (!known) {
    c.out.error(`ERR Unknown PFDEBUG subcommand '${sub}'`);
    return;
  }
  if (a.argc !== 3) {
    c.out.error(`ERR Wrong number of arguments for the '${sub}' subcommand`);
    return;
  }
  const ks = c.ks;
  H.hllLoad(ks.bytes(), ks.valueOffset(e), ks.valueLength(e));
  const sparse = H.hllEncoding() === H.HLL_SPARSE;
  if (argIs(a, 1, 'ENCODING')) {
    c.out.simple(sparse ? 'sparse' : 'dense');
    return;
  }
  if (argIs(a, 1, 'DECODE')) {
    if (!sparse) c.out.error('ERR HLL encoding is not sparse');
    else c.out.bulkString(H.hllDecodeSparse());
    return;
  }
  // GETREG and TODENSE leave the value dense.
  if (sparse) {
    if (!H.hllToDense()) {
      c.out.error(HLL_ERR.invalid);
      return;
    }
    storeWork(c, 2, e);
  }
  if (argIs(a, 1, 'TODENSE')) {
    c.out.integer(sparse ? 1 : 0);
    return;
  }
  c.out.array(H.HLL_REGISTERS);
  for (let i = 0; i < H.HLL_REGISTERS; i++) c.out.integer(H.hllWorkRegister(i));
}

/** __pfregs key...: the merged registers of the keys (plus the dense byte) as one bulk. */
function shardRegs(c: ShardContext): void {
  if (gatherRegs(c, 1)) c.out.bulk(regs, 0, regs.length);
}

/** __pfstore key regs: PFMERGE's store of registers gathered by the coordinator. */
function shardStore(c: ShardContext): void {
  const a = c.args;
  if (a.len[2] !== regs.length) {
    c.out.error('ERR internal: __pfstore needs the registers');
    return;
  }
  regs.set(a.buf.subarray(a.off[2]!, a.off[2]! + regs.length), 0);
  storeRegs(c, 1);
}

/** The registers of keys spread over shards, merged in key order of their shards' first key;
 * null after replying with the first error. */
async function regsAcross(m: MainCall, call: (s: number, args: Array<Uint8Array | string>, proto: 2 | 3) => Promise<Buffer>, keys: Buffer[]): Promise<Uint8Array | null> {
  const byShard = new Map<number, Buffer[]>();
  for (const k of keys) {
    const s = m.server.shardOfKey(k, 0, k.length);
    let g = byShard.get(s);
    if (!g) byShard.set(s, (g = []));
    g.push(k);
  }
  const merged = new Uint8Array(H.HLL_REGISTERS + 1);
  const replies = await Promise.all([...byShard].map(([s, ks]) => call(s, ['__pfregs', ...ks], 2)));
  for (const r of replies) {
    if (r[0] === 45) {
      m.out.error(r.toString('latin1', 1, r.length - 2));
      return null;
    }
    const body = r.indexOf(10) + 1;
    for (let i = 0; i <= H.HLL_REGISTERS; i++) if (r[body + i]! > merged[i]!) merged[i] = r[body + i]!;
  }
  return merged;
}

async function pfcountCrossShard(m: MainCall): Promise<void> {
  const a = m.args;
  const keys: Buffer[] = [];
  for (let i = 1; i < a.argc; i++) keys.push(argCopy(a, i));
  const shards = [...new Set(keys.map((k) => m.server.shardOfKey(k, 0, k.length)))];
  await m.server.withShardsLocked(shards, async (call) => {
    const merged = await regsAcross(m, call, keys);
    if (merged) m.out.integer(H.hllCountRegs(merged));
  });
}

async function pfmergeCrossShard(m: MainCall): Promise<void> {
  const a = m.args;
  const keys: Buffer[] = [];
  for (let i = 1; i < a.argc; i++) keys.push(argCopy(a, i));
  const dst = keys[0]!;
  const shards = [...new Set(keys.map((k) => m.server.shardOfKey(k, 0, k.length)))];
  await m.server.withShardsLocked(shards, async (call) => {
    const merged = await regsAcross(m, call, keys);
    if (!merged) return;
    const r = await call(m.server.shardOfKey(dst, 0, dst.length), ['__pfstore', dst, merged], m.conn.proto);
    m.out.raw(r, 0, r.length);
  });
}

/** PFSELFTEST: the HLL codec's self-test (util/hll-selftest.ts), on the main thread. */
function pfselftestCommand(m: MainCall): void {
  const failed = hllSelfTest();
  if (failed === null) m.out.ok();
  else m.out.error(failed);
}

// Redis's group is 'hyperloglog'; CommandSpec's group union has no such member yet.
const STR = 'string' as const;
const I = 'internal' as const;

export const HLL_COMMANDS = [
  { name: 'pfadd', arity: -2, flags: ['write', 'denyoom', 'fast'], keys: { first: 1, last: 1, step: 1 }, group: STR, since: '2.8.9', summary: 'Adds the specified elements to the specified HyperLogLog.', shard: pfaddCommand },
  { name: 'pfcount', arity: -2, flags: ['readonly'], keys: { first: 1, last: -1, step: 1 }, group: STR, since: '2.8.9', summary: 'Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).', shard: pfcountCommand, crossShard: pfcountCrossShard },
  { name: 'pfmerge', arity: -2, flags: ['write', 'denyoom'], keys: { first: 1, last: -1, step: 1 }, group: STR, since: '2.8.9', summary: 'Merge N different HyperLogLogs into a single one.', shard: pfmergeCommand, crossShard: pfmergeCrossShard },
  { name: 'pfdebug', arity: 3, flags: ['write', 'denyoom', 'admin'], keys: { first: 2, last: 2, step: 1 }, group: STR, since: '2.8.9', summary: 'Internal commands for debugging HyperLogLog values.', shard: pfdebugCommand },
  { name: 'pfselftest', arity: 1, flags: ['admin'], keys: null, group: STR, since: '2.8.9', summary: 'An internal command for testing HyperLogLog values.', main: pfselftestCommand },
  { name: '__pfregs', arity: -2, flags: ['readonly'], keys: null, group: I, since: '0.1.0', summary: 'Internal: the merged HLL registers of keys on one shard.', shard: shardRegs, hidden: true },
  { name: '__pfstore', arity: 3, flags: ['write', 'denyoom'], keys: null, group: I, since: '0.1.0', summary: 'Internal: PFMERGE\'s store of merged registers.', shard: shardStore, hidden: true },
] as const satisfies readonly CommandSpec[];
