// Shared helpers for the persistence unit tests: temporary directories, a keyspace's full state as a
// comparable map, frame offsets of a record file, and decoding of records read back.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyspace, TYPE_LIST, TYPE_STRING } from '../../src/keyspace/keyspace.js';
import { elementForEach } from '../../src/keyspace/collection.js';
import { readRecords, type ReadOutcome } from '../../src/persistence/record-reader.js';
import { DEL_HEADER, ELEMS_HEADER, FILE_HEADER, LIST_HEADER, OP_DEL, OP_ELEMS, OP_FLUSH, OP_LIST, OP_SET, SET_HEADER } from '../../src/persistence/records.js';
import { ShardPersistence, type LoadFile, type LoadPlan, type LoadReport } from '../../src/persistence/shard-persistence.js';

export const enc = new TextEncoder();

export function b(s: string): Uint8Array {
  return enc.encode(s);
}

export function freshKs(initialBytes?: number): Keyspace {
  return new Keyspace(Keyspace.createMemory(initialBytes === undefined ? {} : { initialBytes }));
}

/** A temporary directory, removed by the returned cleanup. */
export function tempDir(tag: string): { dir: string; path: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `tessera-${tag}-`));
  return { dir, path: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function put(ks: Keyspace, key: string | Uint8Array, value: string | Uint8Array, expireAtMs = 0, flags = 0): number {
  const k = typeof key === 'string' ? b(key) : key;
  const v = typeof value === 'string' ? b(value) : value;
  return ks.set(k, 0, k.length, v, 0, v.length, TYPE_STRING, expireAtMs, flags);
}

export function handle(ks: Keyspace, key: string | Uint8Array): number {
  const k = typeof key === 'string' ? b(key) : key;
  return ks.peek(k, 0, k.length);
}

export function valueOf(ks: Keyspace, e: number): Buffer {
  const off = ks.valueOffset(e);
  return Buffer.from(ks.bytes().slice(off, off + ks.valueLength(e)));
}

export function keyOf(ks: Keyspace, e: number): Buffer {
  const off = ks.keyOffset(e);
  return Buffer.from(ks.bytes().slice(off, off + ks.keyLength(e)));
}

/** A collection's elements in a canonical order (encodings and table orders differ between two
 * keyspaces holding the same thing). */
export function collectionId(ks: Keyspace, e: number): string {
  const items: string[] = [];
  elementForEach(ks, e, (buf, ko, kl, vo, vl) => {
    items.push(`${Buffer.from(buf.subarray(ko, ko + kl)).toString('hex')}=${Buffer.from(buf.subarray(vo, vo + vl)).toString('hex')}`);
  });
  return valueId(Buffer.from(items.sort().join(','), 'latin1'));
}

/** A list's elements in order (its image: the same whatever its encoding). */
export function listId(ks: Keyspace, e: number): string {
  ks.image(e);
  return valueId(ks.imageBuf.subarray(ks.imageOff, ks.imageOff + ks.imageLen));
}

/** Values longer than this are compared by digest (keeps state maps small). */
const DIGEST_OVER = 256;

export function valueId(v: Uint8Array): string {
  if (v.length <= DIGEST_OVER) return Buffer.from(v.buffer, v.byteOffset, v.length).toString('hex');
  return `${v.length}:${createHash('sha1').update(v).digest('hex')}`;
}

export interface KeyState {
  value: string;
  expireAt: number;
  flags: number;
  type: number;
}

/** Every live key of ks (expire-at > now or none), by its bytes as latin1. */
export function dump(ks: Keyspace, now = Date.now()): Map<string, KeyState> {
  const out = new Map<string, KeyState>();
  for (let slot = 0; slot < 16384; slot++) {
    for (let e = ks.slotHead(slot); e !== 0; e = ks.slotNext(e)) {
      const at = ks.expireAt(e);
      if (at !== 0 && at <= now) continue;
      const u8 = ks.bytes();
      const ko = ks.keyOffset(e);
      const key = Buffer.from(u8.buffer, u8.byteOffset + ko, ks.keyLength(e)).toString('latin1');
      const vo = ks.valueOffset(e);
      const value = ks.type(e) === TYPE_STRING ? valueId(u8.subarray(vo, vo + ks.valueLength(e))) : ks.type(e) === TYPE_LIST ? listId(ks, e) : collectionId(ks, e);
      out.set(key, { value, expireAt: at, flags: ks.flags(e), type: ks.type(e) });
    }
  }
  return out;
}

/** A readable difference of two state maps ('' when equal). */
export function diffStates(want: Map<string, KeyState>, got: Map<string, KeyState>, limit = 5): string {
  const lines: string[] = [];
  const show = (k: string): string => JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}...(${k.length})` : k);
  for (const [k, w] of want) {
    if (lines.length >= limit) break;
    const g = got.get(k);
    if (g === undefined) lines.push(`missing ${show(k)}`);
    else if (g.value !== w.value || g.expireAt !== w.expireAt || g.flags !== w.flags || g.type !== w.type) {
      lines.push(`differs ${show(k)}: want ${JSON.stringify({ ...w, value: w.value.slice(0, 40) })} got ${JSON.stringify({ ...g, value: g.value.slice(0, 40) })}`);
    }
  }
  for (const k of got.keys()) {
    if (lines.length >= limit) break;
    if (!want.has(k)) lines.push(`unexpected ${show(k)}`);
  }
  if (lines.length === 0 && want.size !== got.size) lines.push(`sizes ${want.size} vs ${got.size}`);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n(want ${want.size} keys, got ${got.size})`;
}

/** The byte offsets of the frames of a record file (after its header), and its end. */
export function frameOffsets(file: Buffer): number[] {
  const out: number[] = [];
  let p = FILE_HEADER;
  while (p + 8 <= file.length) {
    out.push(p);
    p += 8 + file.readUInt32LE(p);
  }
  return out;
}

export function frameOffsetsOf(path: string): number[] {
  return frameOffsets(readFileSync(path));
}

export type Decoded =
  | { op: 'set'; key: string; value: string; type: number; flags: number; expireAt: number }
  | { op: 'del'; key: string }
  | { op: 'elems'; key: string; count: number }
  | { op: 'list'; key: string; lop: number; count: number; lenBefore: number; bytes: number }
  | { op: 'flush' };

/** Decodes a visited record (copies: the reader reuses its buffer). Keys as latin1, values by valueId. */
export function decode(op: number, buf: Buffer, q: number, len: number): Decoded {
  if (op === OP_SET) {
    const kl = buf.readUInt32LE(q + 16);
    const vl = buf.readUInt32LE(q + 20);
    if (SET_HEADER + kl + vl !== len) throw new Error(`SET record length ${len} != ${SET_HEADER}+${kl}+${vl}`);
    const ko = q + SET_HEADER;
    return {
      op: 'set',
      key: buf.toString('latin1', ko, ko + kl),
      value: valueId(buf.subarray(ko + kl, ko + kl + vl)),
      type: buf[q + 1]!,
      flags: buf.readUInt32LE(q + 4),
      expireAt: buf.readDoubleLE(q + 8),
    };
  }
  if (op === OP_ELEMS) {
    const kl = buf.readUInt32LE(q + 16);
    return { op: 'elems', key: buf.toString('latin1', q + ELEMS_HEADER, q + ELEMS_HEADER + kl), count: buf.readUInt32LE(q + 4) };
  }
  if (op === OP_LIST) {
    const kl = buf.readUInt32LE(q + 16);
    return { op: 'list', key: buf.toString('latin1', q + LIST_HEADER, q + LIST_HEADER + kl), lop: buf[q + 1]!, count: buf.readUInt32LE(q + 4), lenBefore: buf.readUInt32LE(q + 20), bytes: len };
  }
  if (op === OP_DEL) {
    const kl = buf.readUInt32LE(q + 4);
    if (DEL_HEADER + kl !== len) throw new Error(`DEL record length ${len} != ${DEL_HEADER}+${kl}`);
    return { op: 'del', key: buf.toString('latin1', q + DEL_HEADER, q + DEL_HEADER + kl) };
  }
  if (op === OP_FLUSH) return { op: 'flush' };
  throw new Error(`unexpected op ${op}`);
}

export function readAll(path: string, magic: number): { records: Decoded[]; outcome: ReadOutcome } {
  const records: Decoded[] = [];
  const outcome = readRecords(path, magic, (op, buf, q, len) => records.push(decode(op, buf, q, len)));
  return { records, outcome };
}

export function loadFile(path: string, kind: 'snapshot' | 'log', over: Partial<LoadPlan> = {}, last = true): { ks: Keyspace; report: LoadReport } {
  const ks = freshKs();
  const file: LoadFile = { path, kind, last, from: { shard: 0, shards: 1 } };
  const report = new ShardPersistence(0, ks).load({ files: [file], keep: null, truncateTorn: true, repair: false, ...over });
  return { ks, report };
}

export function nextTurn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(r: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 256) | 0;
  return out;
}

/** Every entry of ks, in slot order. */
export function entries(ks: Keyspace): number[] {
  const out: number[] = [];
  for (let slot = 0; slot < 16384; slot++) for (let e = ks.slotHead(slot); e !== 0; e = ks.slotNext(e)) out.push(e);
  return out;
}
