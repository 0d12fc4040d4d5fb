import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CircuitBreaker } from '../../src/cluster/circuit-breaker.js';

function breaker(): { b: CircuitBreaker; advance(ms: number): void } {
  let now = 1_000_000;
  const b = new CircuitBreaker({ failureThreshold: 3, openMs: 1000, maxOpenMs: 4000, clock: () => now });
  return { b, advance: (ms) => (now += ms) };
}

test('stays closed below the failure threshold and resets on success', () => {
  const { b } = breaker();
  b.failure();
  b.failure();
  assert.is(b.state(), 'closed');
  assert.ok(b.allow());
  b.success();
  b.failure();
  b.failure();
  assert.is(b.state(), 'closed');
});

test('opens after consecutive failures and refuses calls until the open time has passed', () => {
  const { b, advance } = breaker();
  for (let i = 0; i < 3; i++) b.failure();
  assert.is(b.state(), 'open');
  assert.not.ok(b.allow());
  assert.is(b.retryInMs(), 1000);
  advance(999);
  assert.not.ok(b.allow());
  advance(1);
  assert.is(b.state(), 'half-open');
  assert.ok(b.allow(), 'one probe goes out');
  assert.not.ok(b.allow(), 'only one probe at a time');
  b.success();
  assert.is(b.state(), 'closed');
  assert.ok(b.allow());
});

test('a failed probe re-opens for twice as long, up to the maximum', () => {
  const { b, advance } = breaker();
  for (let i = 0; i < 3; i++) b.failure();
  const waits: number[] = [];
  for (let round = 0; round < 4; round++) {
    advance(b.retryInMs());
    assert.ok(b.allow());
    b.failure();
    waits.push(b.retryInMs());
  }
  assert.equal(waits, [2000, 4000, 4000, 4000]);
});

test.run();
