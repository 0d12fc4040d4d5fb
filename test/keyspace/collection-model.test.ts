// Regression cases for hashes and sets in the keyspace (src/keyspace/collection.ts), found by
// the model-based test.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Keyspace, TYPE_HASH, TYPE_SET } from '../../src/keyspace/keyspace.js';
import * as C from '../../src/keyspace/collection.js';
import { ENC_PACK, ENC_TABLE } from '../../src/keyspace/pack.js';

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');
const str = (b: Uint8Array, off: number, len: number): string => Buffer.from(b.buffer, b.byteOffset + off, len).toString('latin1');

// ---------------------------------------------------------------------------------------------
// Regressions the model found, as plain cases

test('regression: a listpack hash reports a value with its own length, not its field\'s', () => {
  const ks = new Keyspace(Keyspace.createMemory());
  const k = bytes('h');
  let e = C.createCollection(ks, k, 0, k.length, TYPE_HASH, ENC_PACK);
  for (const [f, v] of [['0', ''], ['ab', 'xyz12'], ['long-field', 'v']] as const) {
    const fb = bytes(f);
    const vb = bytes(v);
    e = C.elementPut(ks, e, fb, 0, fb.length, vb, 0, vb.length);
  }
  assert.is(ks.encoding(e), ENC_PACK);
  for (const [f, v] of [['0', ''], ['ab', 'xyz12'], ['long-field', 'v']] as const) {
    const fb = bytes(f);
    assert.ok(C.elementFind(ks, e, fb, 0, fb.length));
    assert.is(str(ks.bytes(), C.hitOff, C.hitLen), v, `value of ${f}`);
  }
});

test('regression: memory accounting holds while a deleted large collection is half freed', () => {
  const ks = new Keyspace(Keyspace.createMemory());
  const before = ks.usedMemory();
  const k = bytes('s');
  let e = C.createFor(ks, k, 0, k.length, TYPE_SET, ENC_TABLE);
  for (let i = 0; i < 300; i++) {
    const m = bytes(`member-${i}`);
    e = C.elementPut(ks, e, m, 0, m.length, null, 0, 0);
  }
  ks.deleteEntry(e);
  ks.checkIntegrity();
  let steps = 0;
  while (ks.lazyFreeStep(50)) {
    steps++;
    ks.checkIntegrity();
  }
  assert.ok(steps >= 5, `freed in ${steps} steps`);
  ks.checkIntegrity();
  assert.is(ks.usedMemory(), before);
});

test.run();
