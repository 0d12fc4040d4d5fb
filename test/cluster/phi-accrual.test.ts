// The phi-accrual failure detector: phi grows with silence relative to the heartbeat history, stays
// 0 without enough samples, never suspects before the minimum pause, and adapts to jitter.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PhiAccrual } from '../../src/cluster/phi-accrual.js';

const OPTS = { threshold: 8, windowSize: 16, minStdDevMs: 50, minPauseMs: 500, minSamples: 3 };

function regular(intervalMs: number, beats: number, opts = OPTS): { d: PhiAccrual; last: number } {
  const d = new PhiAccrual(opts);
  let t = 1000;
  for (let i = 0; i < beats; i++, t += intervalMs) d.heartbeat(t);
  return { d, last: t - intervalMs };
}

test('phi is 0 until enough intervals are known', () => {
  const d = new PhiAccrual(OPTS);
  assert.is(d.phi(5000), 0);
  d.heartbeat(0);
  d.heartbeat(100);
  d.heartbeat(200);
  assert.is(d.samples, 2);
  assert.is(d.phi(100_000), 0);
  assert.not.ok(d.suspects(100_000));
  d.heartbeat(300);
  assert.ok(d.phi(100_000) > 8);
});

test('phi grows monotonically with silence and crosses the threshold near mean + k * stddev', () => {
  const { d, last } = regular(200, 20);
  assert.is(d.meanMs(), 200);
  assert.is(d.stdDevMs(), 50); // the minimum: the intervals are exact
  let prev = -1;
  for (let t = last; t < last + 1000; t += 10) {
    const phi = d.phi(t);
    assert.ok(phi >= prev, `phi decreased at ${t - last} ms`);
    prev = phi;
  }
  assert.ok(d.phi(last + 200) < 1);
  assert.ok(d.phi(last + 450) > 3 && d.phi(last + 450) < 8);
  assert.ok(d.phi(last + 600) > 8);
});

test('never suspects before the minimum pause, even with a tiny mean', () => {
  const { d, last } = regular(20, 20);
  assert.ok(d.phi(last + 400) > 8);
  assert.not.ok(d.suspects(last + 400));
  assert.not.ok(d.suspects(last + 499));
  assert.ok(d.suspects(last + 500));
});

test('jittery heartbeats widen the distribution (later suspicion)', () => {
  const steady = regular(200, 32).d;
  const jittery = new PhiAccrual(OPTS);
  let t = 1000;
  for (let i = 0; i < 32; i++) {
    jittery.heartbeat(t);
    t += i % 2 === 0 ? 50 : 350;
  }
  assert.ok(jittery.stdDevMs() > steady.stdDevMs());
  const at = (d: PhiAccrual): number => {
    const last = d.lastHeartbeatMs;
    let s = last;
    while (d.phi(s) <= 8) s += 5;
    return s - last;
  };
  assert.ok(at(jittery) > at(steady));
});

test('the window slides: old intervals are forgotten', () => {
  const d = new PhiAccrual({ ...OPTS, windowSize: 4 });
  let t = 0;
  for (let i = 0; i < 10; i++, t += 1000) d.heartbeat(t);
  for (let i = 0; i < 5; i++, t += 100) d.heartbeat(t);
  assert.is(d.samples, 4);
  assert.is(Math.round(d.meanMs()), 100);
});

test('reset forgets history; time going backwards is ignored', () => {
  const { d, last } = regular(100, 10);
  d.heartbeat(last - 50);
  assert.is(d.samples, 9);
  d.reset();
  assert.is(d.samples, 0);
  assert.is(d.phi(last + 10_000), 0);
  assert.not.ok(d.suspects(last + 10_000));
});

test.run();
