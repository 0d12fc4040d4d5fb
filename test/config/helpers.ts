// What the configuration tests share.

import * as assert from 'uvu/assert';
import { ConfigError } from '../../src/config/config.js';

/** Asserts that fn throws a ConfigError whose message contains every fragment. */
export function refused(fn: () => unknown, ...fragments: string[]): void {
  try {
    fn();
  } catch (err) {
    assert.instance(err, ConfigError);
    const message = err instanceof Error ? err.message : '';
    for (const f of fragments) assert.ok(message.includes(f), `expected '${f}' in: ${message}`);
    return;
  }
  assert.unreachable('expected a ConfigError');
}
