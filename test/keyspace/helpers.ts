// Shared helpers for keyspace tests: byte keys from strings, reading keys/values back.
import { Keyspace, TYPE_STRING } from '../../src/keyspace/keyspace.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

export function b(s: string): Uint8Array {
  return enc.encode(s);
}

export function put(ks: Keyspace, key: string, value: string, expireAtMs = 0): number {
  const k = b(key);
  const v = b(value);
  return ks.set(k, 0, k.length, v, 0, v.length, TYPE_STRING, expireAtMs);
}

export function get(ks: Keyspace, key: string): string | null {
  const k = b(key);
  const e = ks.find(k, 0, k.length);
  return e === 0 ? null : valueOf(ks, e);
}

export function has(ks: Keyspace, key: string): boolean {
  const k = b(key);
  return ks.find(k, 0, k.length) !== 0;
}

export function del(ks: Keyspace, key: string): boolean {
  const k = b(key);
  return ks.delete(k, 0, k.length);
}

export function handle(ks: Keyspace, key: string): number {
  const k = b(key);
  return ks.find(k, 0, k.length);
}

export function keyOf(ks: Keyspace, e: number): string {
  const off = ks.keyOffset(e);
  return dec.decode(ks.bytes().slice(off, off + ks.keyLength(e)));
}

export function valueOf(ks: Keyspace, e: number): string {
  const off = ks.valueOffset(e);
  return dec.decode(ks.bytes().slice(off, off + ks.valueLength(e)));
}

export function fresh(initialBytes?: number): Keyspace {
  return new Keyspace(Keyspace.createMemory(initialBytes === undefined ? {} : { initialBytes }));
}

/** Deterministic PRNG (mulberry32) for reproducible workloads. */
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
