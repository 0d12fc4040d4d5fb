// The assertion helper: what it throws, that a message function runs only on failure, and that
// InvariantError is recognised across module instances (by name).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvariantError, assert as invariant, isInvariantError, unreachable } from '../../src/util/assert.js';

test('assert passes on a truthy condition and does not build its message', () => {
  let built = 0;
  invariant(1, () => `never ${++built}`);
  invariant('x', 'not thrown');
  assert.is(built, 0);
});

test('assert throws an InvariantError with its message on a falsy condition', () => {
  for (const falsy of [false, 0, '', null, undefined]) {
    try {
      invariant(falsy, () => 'index: entry 8 not found');
      assert.unreachable('did not throw');
    } catch (e) {
      assert.instance(e, InvariantError);
      assert.is((e as Error).name, 'InvariantError');
      assert.is((e as Error).message, 'index: entry 8 not found');
    }
  }
});

test('unreachable throws an InvariantError', () => {
  assert.throws(() => unreachable('branch taken'), (e: unknown) => isInvariantError(e) && (e as Error).message === 'branch taken');
});

test('isInvariantError: by class, or by name for one from another realm; not for other errors', () => {
  assert.ok(isInvariantError(new InvariantError('a')));
  const foreign = new Error('b');
  foreign.name = 'InvariantError';
  assert.ok(isInvariantError(foreign));
  assert.not.ok(isInvariantError(new Error('c')));
  assert.not.ok(isInvariantError(new TypeError('d')));
  assert.not.ok(isInvariantError('InvariantError'));
});

test.run();
