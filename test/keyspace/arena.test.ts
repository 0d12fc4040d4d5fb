// The block allocator: a freed large block (an old index table) becomes the carve region that
// small blocks are cut from before the top grows, and nothing is lost or handed out twice.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Arena, newGrowableMemory } from '../../src/keyspace/arena.js';
import { CLASS_SIZE, F_USED, HEADER_BYTES, classOf } from '../../src/keyspace/layout.js';
import { fresh, get, put } from './helpers.js';

function freshArena(): Arena {
  const a = new Arena(newGrowableMemory(HEADER_BYTES + (1 << 20)));
  a.reset();
  return a;
}

test('small blocks come out of a freed large block, inside it, before the top moves', () => {
  const a = freshArena();
  const bigCls = classOf(1 << 20);
  const big = a.alloc(bigCls);
  const guard = a.alloc(classOf(72)); // keeps the big block from being the top
  a.free(big, bigCls);
  const top = a.top();
  const used = a.f64[F_USED]!;
  const seen = new Set<number>();
  const small = classOf(72);
  const n = Math.floor(CLASS_SIZE[bigCls]! / 72);
  for (let i = 0; i < n; i++) {
    const b = a.alloc(small);
    assert.ok(b >= big && b + 72 <= big + CLASS_SIZE[bigCls]!, `block ${i} at ${b} is inside the freed block`);
    assert.not.ok(seen.has(b), 'handed out once');
    seen.add(b);
  }
  assert.is(a.top(), top, 'the top did not move');
  assert.is(a.f64[F_USED], used + n * 72);
  const next = a.alloc(small);
  assert.ok(next === top || (next >= big && next < big + CLASS_SIZE[bigCls]!), 'then the top (or the last sliver)');
  assert.ok(guard < big || guard >= big + CLASS_SIZE[bigCls]!);
});

test('a new carve region hands what is left of the old one to the free lists, exactly', () => {
  const a = freshArena();
  const c1 = classOf(512 * 1024);
  const c2 = classOf(1 << 20);
  const b1 = a.alloc(c1);
  const b2 = a.alloc(c2);
  a.alloc(classOf(8));
  a.free(b1, c1);
  // Use all but 100 * 8 bytes + 1000 of the first region.
  let cut = 0;
  while (a.carveLeft() >= 1024 + 800 + 1000) {
    a.alloc(classOf(1024));
    cut++;
  }
  const left = a.carveLeft();
  assert.ok(cut > 0 && left > 0);
  a.free(b2, c2); // the first region has less than the carve minimum left: retired
  assert.is(a.carveLeft(), CLASS_SIZE[c2]!);
  // The retired remainder is in the free lists: allocating its pieces does not touch the top or
  // the new region.
  const top = a.top();
  let got = 0;
  for (let cls = classOf(left); cls >= 0 && got < left; cls--) {
    for (;;) {
      const before = a.carveLeft();
      const b = a.alloc(cls);
      if (a.carveLeft() !== before || a.top() !== top) break;
      assert.ok(b >= b1 && b < b1 + CLASS_SIZE[c1]!, 'a piece of the old region');
      got += CLASS_SIZE[cls]!;
    }
  }
  assert.is(got, left, 'every byte of the remainder came back');
});

test('a keyspace growing through many index resizes reuses the old tables for entries', () => {
  const ks = fresh();
  const N = 300_000;
  for (let i = 0; i < N; i++) put(ks, `key:${String(i).padStart(12, '0')}`, 'v'.repeat(32));
  ks.checkIntegrity();
  for (let i = 0; i < N; i += 997) assert.is(get(ks, `key:${String(i).padStart(12, '0')}`), 'v'.repeat(32));
  // Without reuse the freed tables (together about the size of the current one) sit in free
  // lists between used memory and the top; with it, all that is not used is the uncut rest of
  // the current carve region (plus slivers).
  const carveLeft = (ks as unknown as { arena: Arena }).arena.carveLeft();
  const idle = ks.arenaTop() - ks.usedMemory() - carveLeft;
  // Tables under the carve minimum (256 KiB) stay in free lists: together at most that much.
  assert.ok(idle < 512 * 1024, `top ${ks.arenaTop()}, used ${ks.usedMemory()}, carve region ${carveLeft}: ${idle} bytes idle`);
  assert.ok(ks.stats().indexCapacity * 4 >= 2 << 20, 'the index grew to 2 MiB or more (its old tables: as much again)');
});

test('countFree counts each free list (MEMORY MALLOC-STATS) and stops at its bound', () => {
  const a = freshArena();
  const c72 = classOf(72);
  const c200 = classOf(200);
  const blocks = Array.from({ length: 10 }, () => a.alloc(c72));
  const other = Array.from({ length: 4 }, () => a.alloc(c200));
  a.alloc(c72); // keeps the freed blocks below the top
  for (const b of blocks.slice(0, 6)) a.free(b, c72);
  for (const b of other.slice(0, 3)) a.free(b, c200);
  const counts = new Float64Array(CLASS_SIZE.length);
  assert.ok(a.countFree(counts, 1000));
  assert.is(counts[c72], 6);
  assert.is(counts[c200], 3);
  assert.is(counts.reduce((x, y) => x + y, 0), 9);
  const some = new Float64Array(CLASS_SIZE.length);
  assert.not.ok(a.countFree(some, 4), 'false once the bound is reached');
  assert.is(some.reduce((x, y) => x + y, 0), 4);
  assert.is(a.top() - a.f64[F_USED]! - a.carveLeft(), 6 * CLASS_SIZE[c72]! + 3 * CLASS_SIZE[c200]!, 'free-listed bytes = top - used - carve');
});

test.run();
