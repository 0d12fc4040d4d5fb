// ReplyOrder in process: whatever order replies arrive in (runs in increasing order go to the spill
// buffer, the rest to the map), the output is every reply in sequence order, each push right after
// the reply it follows, an emptied reply writing nothing; parkedBytes counts what waits.
// Seeded (MODEL_SEED, MODEL_RUNS as the keyspace model tests).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { ReplyOrder } from '../../src/server/reply-order.js';
import { RespWriter } from '../../src/protocol/resp-writer.js';

const SEED = Number(process.env['MODEL_SEED'] ?? 1616);
const RUNS = Number(process.env['MODEL_RUNS'] ?? 200);

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const text = (out: RespWriter): string => out.buf.toString('latin1', 0, out.length);

test('a pipelined transaction: early +OK/+QUEUED runs wait behind each EXEC, in order', () => {
  const order = new ReplyOrder();
  const out = new RespWriter(64);
  // Two transactions: seqs 0-3 (+OK, 3x +QUEUED) written at once, 4 the EXEC (shard), 5-8 early.
  for (let s = 0; s < 4; s++) assert.is(order.put(s, b(s === 0 ? '+OK\r\n' : '+QUEUED\r\n'), 0, s === 0 ? 5 : 9, out), true);
  for (let s = 5; s < 9; s++) assert.is(order.put(s, b(`+R${s}\r\n`), 0, 5, out), false);
  assert.is(order.parkedBytes(), 20);
  assert.is(order.put(9, b('*0\r\n'), 0, 4, out), false);
  assert.is(order.put(4, b('*0\r\n'), 0, 4, out), true);
  assert.is(order.headSeq, 10);
  assert.is(text(out), `+OK\r\n${'+QUEUED\r\n'.repeat(3)}*0\r\n+R5\r\n+R6\r\n+R7\r\n+R8\r\n*0\r\n`);
  assert.is(order.parkedBytes(), 0);
});

type Push = [at: number, ahead: number, len: number];
type Empty = [at: number, victim: number];

const reply = (seq: number, len: number): Buffer => {
  const r = Buffer.alloc(len);
  for (let i = 0; i < len; i++) r[i] = 33 + ((seq * 7 + i) % 90);
  return r;
};

/** Delivers replies 0..n-1 in `arrival` order, with pushes and emptied replies at the given
 * steps, and checks the output and parkedBytes after every step against the plain model. */
function check(n: number, lens: number[], arrival: number[], pushes: Push[], empties: Empty[]): void {
  const order = new ReplyOrder();
  const out = new RespWriter(16);
  const emptied = new Set<number>();
  const pushAfter = new Map<number, Buffer[]>();
  const pending = new Map<number, number>();
  let lastAfter = -1;
  const expected = (upTo: number): string => {
    let s = '';
    for (let q = 0; q < upTo; q++) {
      if (!emptied.has(q)) s += reply(q, lens[q]!).toString('latin1');
      for (const p of pushAfter.get(q) ?? []) s += p.toString('latin1');
    }
    return s;
  };
  arrival.forEach((seq, step) => {
    for (const [at, ahead, len] of pushes) {
      // A push is handed over only while its reply is still owed, `after` never decreasing.
      const after = Math.max(lastAfter, order.headSeq + ahead);
      if (at % n !== step || after >= n) continue;
      lastAfter = after;
      const f = Buffer.alloc(len, 'p'.charCodeAt(0) + (after % 8));
      order.pushAfter(after, f, 1 << 20);
      pushAfter.set(after, [...(pushAfter.get(after) ?? []), f]);
    }
    const r = reply(seq, lens[seq]!);
    const head = order.headSeq;
    const took = order.put(seq, r, 0, r.length, out);
    assert.is(took, seq === head);
    if (!took) pending.set(seq, r.length);
    for (const [at, victim] of empties) {
      if (at % n !== step || !pending.has(victim) || victim < order.headSeq || emptied.has(victim)) continue;
      assert.ok(order.emptyParked(victim));
      emptied.add(victim);
      pending.set(victim, 0);
    }
    for (const q of [...pending.keys()]) if (q < order.headSeq) pending.delete(q);
    assert.is(text(out), expected(order.headSeq));
    let waiting = 0;
    for (const v of pending.values()) waiting += v;
    for (const [after, fs] of pushAfter) if (after >= order.headSeq) for (const f of fs) waiting += f.length;
    assert.is(order.parkedBytes(), waiting);
  });
  assert.is(order.headSeq, n);
  assert.is(text(out), expected(n));
  assert.is(order.parkedBytes(), 0);
}

const lensArb = fc.array(fc.integer({ min: 0, max: 120 }), { minLength: 600, maxLength: 600 });
const pushesArb = fc.array(fc.tuple(fc.integer({ min: 0, max: 599 }), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 1, max: 30 })), { maxLength: 40 });
const emptiesArb = fc.array(fc.tuple(fc.integer({ min: 0, max: 599 }), fc.integer({ min: 0, max: 599 })), { maxLength: 20 });

test('model: any arrival order, pushes and emptied replies', () => {
  const scenario = fc.record({
    n: fc.integer({ min: 1, max: 300 }),
    lens: lensArb,
    // Arrival order: sorted by key, so that runs of increasing sequence are common.
    keys: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 300, maxLength: 300 }),
    pushes: pushesArb,
    empties: emptiesArb,
  });
  fc.assert(
    fc.property(scenario, ({ n, lens, keys, pushes, empties }) => {
      check(n, lens, Array.from({ length: n }, (_, i) => i).sort((x, y) => keys[x]! - keys[y]! || x - y), pushes, empties);
    }),
    { seed: SEED, numRuns: RUNS },
  );
});

test('model: pipelined transactions, each EXEC late by several transactions (the spill compacts)', () => {
  const scenario = fc.record({
    groups: fc.integer({ min: 1, max: 120 }),
    size: fc.integer({ min: 2, max: 5 }),
    lag: fc.integer({ min: 1, max: 4 }),
    lens: lensArb,
    pushes: pushesArb,
    empties: emptiesArb,
  });
  fc.assert(
    fc.property(scenario, ({ groups, size, lag, lens, pushes, empties }) => {
      // Group g is seqs g*size.. ; its last one (the EXEC) arrives after group g+lag's others.
      const arrival: number[] = [];
      for (let g = 0; g < groups + lag; g++) {
        if (g < groups) for (let k = 0; k < size - 1; k++) arrival.push(g * size + k);
        if (g - lag >= 0) arrival.push((g - lag) * size + size - 1);
      }
      check(groups * size, lens, arrival, pushes, empties);
    }),
    { seed: SEED, numRuns: RUNS },
  );
});

test.run();
