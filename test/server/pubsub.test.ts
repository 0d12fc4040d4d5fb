// Pub/sub in process: PUBLISH to many subscribers encodes each frame once per protocol and hands
// every subscriber the same bytes; subscriptions stay consistent both ways; pushes that arrive
// before a reply still owed wait behind it (ReplyOrder), never inside or ahead of it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PubSub } from '../../src/server/pubsub.js';
import { framesEncoded } from '../../src/protocol/pubsub-frames.js';
import * as frames from '../../src/protocol/pubsub-frames.js';
import { ReplyOrder } from '../../src/server/reply-order.js';
import { RespWriter } from '../../src/protocol/resp-writer.js';
import type { ClientInfo, ClientSubscriptions } from '../../src/core/types.js';

/** The part of a client pub/sub uses: its protocol, its subscriptions, and what was pushed. */
class Subscriber {
  readonly subscriptions: ClientSubscriptions = { channels: new Set(), patterns: new Set(), shardChannels: new Set() };
  readonly got: Uint8Array[] = [];
  constructor(readonly proto: 2 | 3) {}
  push(frame: Uint8Array): void {
    this.got.push(frame);
  }
  pushAfterCurrentReply(): void {}
}

const asClient = (s: Subscriber): ClientInfo => s as unknown as ClientInfo;
const b = (s: string): Buffer => Buffer.from(s, 'latin1');

test('one encoding per protocol for 1000 subscribers, the same bytes to each', () => {
  const ps = new PubSub();
  const subs = Array.from({ length: 1000 }, (_, i) => new Subscriber(i % 2 === 0 ? 2 : 3));
  const out = new RespWriter(64);
  for (const s of subs) ps.subscribe(asClient(s), 0, b('news'), out);
  const before = frames.framesEncoded;
  assert.is(ps.publish(b('news'), b('hello')), 1000);
  assert.is(frames.framesEncoded - before, 2, 'one RESP2 frame and one RESP3 frame');
  const f2 = subs[0]!.got[0]!;
  const f3 = subs[1]!.got[0]!;
  assert.is(Buffer.from(f2).toString('latin1'), '*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n');
  for (const s of subs) {
    assert.is(s.got.length, 1);
    assert.ok(s.got[0] === (s.proto === 2 ? f2 : f3), 'the very same bytes, not a copy per subscriber');
  }
  assert.ok(typeof framesEncoded === 'number');
});

test('pattern messages: one encoding per matching pattern and protocol', () => {
  const ps = new PubSub();
  const out = new RespWriter(64);
  const subs = Array.from({ length: 10 }, () => new Subscriber(2));
  for (const s of subs) {
    ps.subscribe(asClient(s), 1, b('n*'), out);
    ps.subscribe(asClient(s), 1, b('*s'), out);
  }
  const before = frames.framesEncoded;
  assert.is(ps.publish(b('news'), b('x')), 20);
  assert.is(frames.framesEncoded - before, 2);
  assert.is(ps.publish(b('nope'), b('x')), 10);
  assert.is(ps.publish(b('zzz'), b('x')), 0);
});

test('subscriptions are kept both ways, and empty names are removed', () => {
  const ps = new PubSub();
  const out = new RespWriter(64);
  const a = new Subscriber(2);
  const c = new Subscriber(3);
  ps.subscribe(asClient(a), 0, b('x'), out);
  ps.subscribe(asClient(a), 0, b('x'), out);
  ps.subscribe(asClient(c), 0, b('x'), out);
  ps.subscribe(asClient(a), 2, b('s'), out);
  ps.subscribe(asClient(a), 1, b('p*'), out);
  assert.equal(ps.counts(), { channels: 1, patterns: 1, shardChannels: 1 });
  assert.is(ps.subscriberCount(0, b('x')), 2);
  ps.forget(asClient(a));
  assert.equal(ps.counts(), { channels: 1, patterns: 0, shardChannels: 0 });
  assert.is(a.subscriptions.channels.size + a.subscriptions.patterns.size + a.subscriptions.shardChannels.size, 0);
  out.reset();
  out.proto = 3;
  ps.unsubscribeAll(asClient(c), 0, out);
  assert.is(out.buf.toString('latin1', 0, out.length), '>3\r\n$11\r\nunsubscribe\r\n$1\r\nx\r\n:0\r\n');
  assert.equal(ps.counts(), { channels: 0, patterns: 0, shardChannels: 0 });
});

test('dropShardChannels sends sunsubscribe notices for the lost slots only', () => {
  const ps = new PubSub();
  const out = new RespWriter(64);
  const a = new Subscriber(2);
  // {a} hashes to slot 15495, {b} to 3300.
  ps.subscribe(asClient(a), 2, b('{a}1'), out);
  ps.subscribe(asClient(a), 2, b('{b}1'), out);
  ps.dropShardChannels((slot) => slot === 15495);
  assert.is(a.got.length, 1);
  assert.is(Buffer.from(a.got[0]!).toString('latin1'), '*3\r\n$12\r\nsunsubscribe\r\n$4\r\n{a}1\r\n:1\r\n');
  assert.equal([...a.subscriptions.shardChannels], ['{b}1']);
  assert.is(ps.spublish(b('{a}1'), b('m')), 0);
  assert.is(ps.spublish(b('{b}1'), b('m')), 1);
});

test('onPropagate gets PUBLISH and SPUBLISH, not local deliveries', () => {
  const ps = new PubSub();
  const seen: string[] = [];
  ps.onPropagate = (ch, msg, sharded) => seen.push(`${Buffer.from(ch).toString()}:${Buffer.from(msg).toString()}:${sharded}`);
  ps.publish(b('a'), b('1'));
  ps.spublish(b('b'), b('2'));
  ps.publishLocal(b('c'), b('3'));
  ps.spublishLocal(b('d'), b('4'));
  assert.equal(seen, ['a:1:false', 'b:2:true']);
});

test('a push waits behind the reply it must follow, and never splits one', () => {
  const order = new ReplyOrder();
  const out = new RespWriter(64);
  const r0 = b('$1\r\nv\r\n');
  const r1 = b('*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n');
  // Reply 1 (the SUBSCRIBE) is ready before reply 0 (a shard's GET): it is parked, and so is a
  // message published meanwhile, behind it.
  assert.is(order.put(1, r1, 0, r1.length, out), false);
  const msg = b('*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n');
  order.pushAfter(1, msg, 1 << 20);
  assert.is(order.parkedBytes(), r1.length + msg.length);
  assert.is(out.length, 0);
  assert.is(order.put(0, r0, 0, r0.length, out), true);
  assert.is(out.buf.toString('latin1', 0, out.length), r0.toString('latin1') + r1.toString('latin1') + msg.toString('latin1'));
  assert.is(order.parkedBytes(), 0);
});

/** Keeps a copy of each frame (pushed frames are views of a scratch encoder, reused by the next). */
class CopyingSubscriber extends Subscriber {
  override push(frame: Uint8Array): void {
    this.got.push(Buffer.from(frame));
  }
}
const texts = (s: Subscriber): string[] => s.got.map((f) => Buffer.from(f).toString('latin1'));

test('the channel the last PUBLISH found is compared by bytes, and forgotten with its topic', () => {
  const ps = new PubSub();
  const out = new RespWriter(64);
  const a = new CopyingSubscriber(2);
  const c = new CopyingSubscriber(3);
  ps.subscribe(asClient(a), 0, b('news'), out);
  ps.subscribe(asClient(c), 0, b('newt'), out);
  assert.is(ps.publish(b('news'), b('1')), 1);
  assert.is(ps.publish(b('newt'), b('2')), 1, 'same length, other bytes');
  assert.is(ps.publish(b('news'), b('3')), 1);
  ps.unsubscribe(asClient(a), 0, b('news'), null);
  assert.is(ps.publish(b('news'), b('4')), 0, 'a removed topic is not found again');
  const d = new CopyingSubscriber(2);
  ps.subscribe(asClient(d), 0, b('news'), out);
  assert.is(ps.publish(b('news'), b('5')), 1, 'the new topic of the same name');
  assert.equal(texts(a), ['*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$1\r\n1\r\n', '*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$1\r\n3\r\n']);
  assert.equal(texts(c), ['>3\r\n$7\r\nmessage\r\n$4\r\nnewt\r\n$1\r\n2\r\n']);
  assert.equal(texts(d), ['*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$1\r\n5\r\n']);
  ps.subscribe(asClient(d), 2, b('news'), out);
  assert.is(ps.spublish(b('news'), b('6')), 1);
  assert.is(texts(d)[1], '*3\r\n$8\r\nsmessage\r\n$4\r\nnews\r\n$1\r\n6\r\n', 'a shard channel keeps its own prefix');
});

test('a frame from its prefix is the same bytes as one encoded whole', () => {
  const verb = b('message');
  for (const proto of [2, 3] as const) {
    for (const msg of [b(''), b('x'), Buffer.alloc(100, 'm'), Buffer.alloc(70 * 1024, 'z')]) {
      const whole = Buffer.from(frames.encodeMessage(proto, verb, null, b('ch'), msg));
      const after = Buffer.from(frames.encodeMessageAfter(proto, frames.messagePrefix(proto, verb, null, b('ch')), msg));
      assert.ok(whole.equals(after), `proto ${proto}, ${msg.length} bytes`);
    }
  }
});

test.run();
