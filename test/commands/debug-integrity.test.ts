// DEBUG INTEGRITY's shard side (`__integrity`, run by the executor that owns the keyspace) on an
// arena damaged on purpose: it must answer an error naming what is broken, not +OK, and leave the
// shard serving. The passing case is covered by every fuzz run; this proves the check can fail.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Keyspace } from '../../src/keyspace/keyspace.js';
import { F_USED, H_SLOT_COUNT } from '../../src/keyspace/layout.js';
import { keySlot } from '../../src/keyspace/slot.js';
import { ShardExecutor } from '../../src/runtime/shard-runtime.js';
import { COMMANDS, commandIndex } from '../../src/commands/registry.js';
import { argListOf } from '../../src/commands/args.js';
import { TEST_SHARD_SETTINGS } from '../runtime/executor-helpers.js';



function withExecutor(body: (run: (args: string[]) => string, memory: SharedArrayBuffer) => void): void {
  const memory = Keyspace.createMemory();
  const exec = new ShardExecutor(COMMANDS, 0, memory, TEST_SHARD_SETTINGS, 0, () => undefined);
  try {
    body((args) => {
      Object.assign(exec.args, argListOf(args));
      exec.beginBatch();
      exec.run(commandIndex(args[0]!), 2);
      return Buffer.from(exec.writer.buf.subarray(0, exec.writer.length)).toString('latin1');
    }, memory);
  } finally {
    exec.close();
  }
}

test('DEBUG INTEGRITY (shard side): a slot whose key count is wrong is reported', () => {
  withExecutor((run, memory) => {
    for (let i = 0; i < 100; i++) assert.is(run(['SET', `k${i}`, `v${i}`]), '+OK\r\n');
    assert.is(run(['__integrity']), '+OK\r\n');
    const key = Buffer.from('k7');
    const slot = keySlot(key, 0, key.length);
    const u32 = new Uint32Array(memory);
    u32[H_SLOT_COUNT + slot] = u32[H_SLOT_COUNT + slot]! + 1;
    assert.is(run(['__integrity']), `-ERR keyspace integrity: slot ${slot}: count\r\n`);
    // The shard still serves; mended, the check passes again.
    assert.is(run(['GET', 'k7']), '$2\r\nv7\r\n');
    u32[H_SLOT_COUNT + slot] = u32[H_SLOT_COUNT + slot]! - 1;
    assert.is(run(['__integrity']), '+OK\r\n');
  });
});

test('DEBUG INTEGRITY (shard side): memory accounting that disagrees with the blocks is reported', () => {
  withExecutor((run, memory) => {
    assert.is(run(['SET', 'a', 'x'.repeat(1000)]), '+OK\r\n');
    const f64 = new Float64Array(memory, 0, F_USED + 1);
    const used = f64[F_USED]!;
    f64[F_USED] = used + 8;
    assert.is(run(['__integrity']), `-ERR keyspace integrity: usedMemory ${used + 8} but blocks sum to ${used}\r\n`);
    f64[F_USED] = Number.NaN; // what reserve(2^32-1) once left behind
    assert.match(run(['__integrity']), /^-ERR keyspace integrity: usedMemory NaN but blocks sum to \d+\r\n$/);
    f64[F_USED] = used;
    assert.is(run(['__integrity']), '+OK\r\n');
  });
});

test.run();
