// The reply writer encoding into a borrowed region (a shard's reply ring): replies that fit stay
// in place, a reply that outgrows the region moves whole into the writer's own buffer.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RespWriter } from '../../src/protocol/resp-writer.js';

test('replies are encoded in place in the borrowed region, and reset() rewinds to its start', () => {
  const region = Buffer.alloc(64, 0xee);
  const w = new RespWriter(16);
  w.borrow(region, 8, 40);
  w.ok();
  assert.ok(w.borrowed());
  assert.is(region.toString('latin1', 8, w.length), '+OK\r\n');
  w.reset();
  w.integer(42);
  assert.is(region.toString('latin1', w.start, w.length), ':42\r\n');
  assert.is(region[7], 0xee, 'nothing written before the region');
  w.unborrow();
  assert.not.ok(w.borrowed());
  assert.is(w.length, 0);
});

test('a reply that outgrows the borrowed region continues in the own buffer, whole', () => {
  const region = Buffer.alloc(64, 0xee);
  const w = new RespWriter(8);
  w.borrow(region, 4, 24);
  w.array(3);
  w.bulk(Buffer.from('abc'), 0, 3);
  const long = Buffer.alloc(100, 0x61);
  w.bulk(long, 0, long.length);
  w.integer(7);
  assert.not.ok(w.borrowed());
  assert.is(w.start, 0);
  assert.is(w.buf.toString('latin1', 0, w.length), `*3\r\n$3\r\nabc\r\n$100\r\n${'a'.repeat(100)}\r\n:7\r\n`);
  assert.is(region[24], 0xee, 'nothing written past the region');
});

test('the own buffer grows as before when nothing is borrowed', () => {
  const w = new RespWriter(4);
  const v = Buffer.alloc(1000, 0x62);
  w.bulk(v, 0, v.length);
  assert.is(w.buf.toString('latin1', 0, w.length), `$1000\r\n${'b'.repeat(1000)}\r\n`);
});

test('take() hands out the bytes without a copy; after handOff() they are never overwritten', () => {
  const w = new RespWriter(16);
  w.simple('first');
  const a = w.take()!;
  assert.is(a.toString(), '+first\r\n');
  w.simple('second');
  assert.is(a.toString(), '+second\r', 'without handOff() the buffer is reused');
  const b = w.take()!;
  w.handOff();
  w.simple('third');
  assert.is(b.toString(), '+second\r\n');
  assert.is(w.take()!.toString(), '+third\r\n');
  assert.is(w.take(), null);
});

test.run();
