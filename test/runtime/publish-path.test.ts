// The shard -> main publish path (ShardContext.publish) without a server: a command that calls
// ShardContext.publish in each mode, run by an InlineShard, reaches the PublishHooks after its
// reply, in order, with its bytes intact; the publish queue packs records and unpacks them whole;
// notify() emits nothing while events are off and the keyspace/keyevent pair when on.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InlineShard } from '../../src/runtime/inline-shard.js';
import { PublishQueue, forEachRecord, type PublishMode } from '../../src/runtime/publish-queue.js';
import type { ShardCommand, ShardContext } from '../../src/runtime/shard-context.js';
import type { ReplySink } from '../../src/runtime/shard-port.js';
import { argListOf } from '../../src/commands/args.js';
import { createClaimWords } from '../../src/runtime/wait-claims.js';
import { keyspaceEventsFromString } from '../../src/core/keyspace-events.js';
import { TEST_SHARD_SETTINGS } from './executor-helpers.js';

/** pub channel message mode: publishes; note key: a string-class event on key. */
const COMMANDS: ShardCommand[] = [
  {
    name: 'pub',
    flags: [],
    shard: (c: ShardContext) => {
      const a = c.args;
      const arg = (i: number): Uint8Array => a.buf.subarray(a.off[i]!, a.off[i]! + a.len[i]!);
      c.publish(arg(1), arg(2), Number(Buffer.from(arg(3)).toString()) as PublishMode);
      c.out.ok();
    },
  },
  {
    name: 'note',
    flags: [],
    shard: (c: ShardContext) => {
      c.notify('$', 'set', c.args.buf, c.args.off[1]!, c.args.len[1]!);
      c.out.ok();
    },
  },
];

function harness(flags: string) {
  const log: string[] = [];
  const sink: ReplySink = { deliver: (seq, buf, off, len) => log.push(`reply ${seq} ${Buffer.from(buf.subarray(off, off + len)).toString().trim()}`) };
  const shard = new InlineShard(0, { ...TEST_SHARD_SETTINGS, notifyKeyspaceEvents: keyspaceEventsFromString(flags) }, () => undefined, COMMANDS,
    { claims: createClaimWords(), onWake: () => undefined, onRestart: () => undefined },
    { onPublish: (ch, msg, mode) => log.push(`pub ${mode} ${Buffer.from(ch).toString()} ${Buffer.from(msg).toString()}`) });
  return { log, shard, sink };
}

test('publish in each mode reaches the hooks after the reply, in order', () => {
  const { log, shard, sink } = harness('');
  shard.send(sink, 1, 0, 2, argListOf(['pub', 'a', 'one', '0']), null);
  shard.send(sink, 2, 0, 2, argListOf(['pub', 'b', 'two', '1']), null);
  shard.send(sink, 3, 0, 2, argListOf(['pub', 'c', 'three', '2']), null);
  assert.equal(log, ['reply 1 +OK', 'pub 0 a one', 'reply 2 +OK', 'pub 1 b two', 'reply 3 +OK', 'pub 2 c three']);
  void shard.stop();
});

test('notify: nothing while events are off; keyspace and keyevent when on; only the classes enabled', () => {
  const off = harness('');
  off.shard.send(off.sink, 1, 1, 2, argListOf(['note', 'k']), null);
  assert.equal(off.log, ['reply 1 +OK']);
  void off.shard.stop();
  const on = harness('KE$');
  on.shard.send(on.sink, 1, 1, 2, argListOf(['note', 'k']), null);
  assert.equal(on.log, ['reply 1 +OK', 'pub 0 __keyspace@0__:k set', 'pub 0 __keyevent@0__:set k']);
  void on.shard.stop();
  const other = harness('KEg');
  other.shard.send(other.sink, 1, 1, 2, argListOf(['note', 'k']), null);
  assert.equal(other.log, ['reply 1 +OK']);
  void other.shard.stop();
});

test('the publish queue packs records whole, binary bytes included, and grows past its first buffer', () => {
  const q = new PublishQueue();
  const got: string[] = [];
  const bin = Uint8Array.from([0, 255, 13, 10, 1]);
  const big = Buffer.alloc(100_000, 120);
  q.push(1, Buffer.from('pre:'), bin, 1, 3, big, 0, big.length);
  q.push(2, new Uint8Array(0), Buffer.from('ch'), 0, 2, bin, 0, bin.length);
  forEachRecord(q.bytes, 0, q.length, (ch, msg, mode) => got.push(`${mode} ${Buffer.from(ch).toString('hex')} ${msg.length} ${Buffer.from(msg.subarray(0, 5)).toString('hex')}`));
  assert.equal(got, [`1 ${Buffer.from('pre:').toString('hex')}ff0d0a 100000 7878787878`, `2 ${Buffer.from('ch').toString('hex')} 5 00ff0d0a01`]);
  q.clear();
  assert.is(q.length, 0);
});

test.run();
