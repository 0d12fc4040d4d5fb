// The dashboard's two rings: the event log (bounded, ids never reused, `since` paging across the
// wrap, slot assignments merged per owner) and the 1 s series (deltas between cumulative figures,
// percentiles from the latency histograms' buckets, bounded to SERIES_MAX samples).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EVENTS_MAX, events } from '../../src/observability/events.js';
import { SERIES_MAX, Series, quantileUs } from '../../src/observability/series.js';
import { LATENCY_BUCKETS_S, LATENCY_STRIDE } from '../../src/observability/latency.js';

/** A shard's cumulative histogram array (latency.ts layout) for `commands` commands. */
const histogram = (commands: number): Float64Array => new Float64Array(commands * LATENCY_STRIDE);
/** Counts one command of `seconds` as latency.ts lays it out (bucket counts, +Inf, sum). */
function record(h: Float64Array, cmd: number, seconds: number): void {
  let b = 0;
  while (b < LATENCY_BUCKETS_S.length && seconds > LATENCY_BUCKETS_S[b]!) b++;
  h[cmd * LATENCY_STRIDE + b]!++;
  h[cmd * LATENCY_STRIDE + LATENCY_STRIDE - 1]! += seconds;
}

const t = suite('dashboard rings');

t('the event log keeps the newest EVENTS_MAX, ids increasing, since= pages over the wrap', () => {
  const first = events.lastId + 1;
  for (let i = 0; i < EVENTS_MAX + 50; i++) events.record('save', `save ${i}`, 1000 + i);
  const all = events.since(0);
  assert.is(all.length, EVENTS_MAX);
  assert.is(all[0]!.id, first + 50);
  assert.is(all.at(-1)!.id, events.lastId);
  for (let i = 1; i < all.length; i++) assert.is(all[i]!.id, all[i - 1]!.id + 1);
  assert.equal(events.since(events.lastId - 3).map((e) => e.detail), ['save 1047', 'save 1048', 'save 1049']);
  assert.equal(events.since(events.lastId), []);
  assert.is(events.since(0, 10).length, 10);
});

t('slot assignments to one owner in a burst make one event; another owner or a pause starts a new one', () => {
  const before = events.lastId;
  for (let s = 100; s < 200; s++) events.slotAssigned(s, 'node-a', 5000);
  events.slotAssigned(300, 'node-a', 5001);
  events.slotAssigned(400, 'node-b', 5002);
  events.slotAssigned(401, 'node-b', 9000);
  const got = events.since(before);
  assert.equal(got.map((e) => e.detail), ['101 slots (100-199,300) now served by node-a', '1 slot (400) now served by node-b', '1 slot (401) now served by node-b']);
  assert.is(got[0]!.kind, 'slot-assigned');
  assert.is(got[0]!.time, 5001);
  // Another event in between ends the merge.
  events.slotAssigned(500, 'node-c', 9001);
  events.record('failover', 'x', 9001);
  events.slotAssigned(501, 'node-c', 9001);
  assert.is(events.since(before).length, 6);
});

t('quantiles from bucket counts: interpolated in the bucket, null when empty', () => {
  const counts = new Float64Array(LATENCY_BUCKETS_S.length + 1);
  assert.is(quantileUs(counts, 0.5), null);
  counts[0] = 100; // all under 1 us
  assert.is(quantileUs(counts, 0.5), 0.5);
  counts[3] = 100; // 5..10 us
  assert.is(quantileUs(counts, 0.99), 9.9);
  counts[LATENCY_BUCKETS_S.length] = 1000; // over the last bound
  assert.is(quantileUs(counts, 0.999), LATENCY_BUCKETS_S.at(-1)! * 1e6);
});

t('the series: ops/s and percentiles of each interval only; bounded to SERIES_MAX', () => {
  const s = new Series();
  const lat = histogram(3);
  s.sample(0, 0, [lat], 10, 20);
  assert.is(s.latest(), null, 'the first sample is the baseline');
  for (let i = 0; i < 100; i++) record(lat, 1, 3e-6);
  s.sample(1000, 100, [lat], 10, 20);
  const one = s.latest()!;
  assert.is(one.opsPerSec, 100);
  assert.ok(one.p50Us! > 2.5 && one.p50Us! <= 5, `p50 ${one.p50Us}`);
  // Nothing in the next second: no percentiles, 0 ops.
  s.sample(2000, 100, [lat], 10, 20);
  assert.equal(s.latest(), { t: 2000, opsPerSec: 0, p50Us: null, p99Us: null, p999Us: null, usedMemory: 10, rss: 20 });
  // Slow commands later: only they count.
  for (let i = 0; i < 10; i++) record(lat, 2, 0.002);
  s.sample(4000, 120, [lat], 10, 20);
  assert.is(s.latest()!.opsPerSec, 10, 'per second over 2 s');
  assert.ok(s.latest()!.p50Us! > 1000, 'the old fast commands are not in this interval');
  // A stats reset (counter going down) does not give a negative rate.
  s.sample(5000, 5, [histogram(3)], 10, 20);
  assert.is(s.latest()!.opsPerSec, 5);
  for (let i = 0; i < SERIES_MAX + 10; i++) s.sample(6000 + i * 1000, 5 + i, null, 10, 20);
  const all = s.since(0);
  assert.is(all.length, SERIES_MAX);
  assert.is(all.at(-1)!.t, 6000 + (SERIES_MAX + 9) * 1000);
  assert.is(s.since(all.at(-1)!.t - 2000).length, 3);
});

t.run();
