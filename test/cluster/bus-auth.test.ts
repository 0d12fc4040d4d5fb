// BusHandshake: two ends with the same secret both finish, whatever the byte boundaries, and
// hand over the bus bytes that follow; a wrong secret, a peer without the handshake, or a replayed
// proof fail; the secret never appears in what is sent.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BusHandshake, type HandshakeStep } from '../../src/cluster/bus-auth.js';

interface End {
  hs: BusHandshake;
  sent: Buffer[];
  last: HandshakeStep | null;
}

function end(secret: string, role: 'dial' | 'accept'): End {
  const hs = new BusHandshake(Buffer.from(secret), role);
  return { hs, sent: [hs.hello()], last: null };
}

/** Delivers everything `from` sent (not yet delivered) to `to`, `chunk` bytes at a time. */
function deliver(from: End, to: End, chunk: number, delivered: { n: number }): void {
  const all = Buffer.concat(from.sent);
  while (delivered.n < all.length && (to.last === null || (to.last.failed === null && !to.last.done))) {
    const piece = all.subarray(delivered.n, Math.min(all.length, delivered.n + chunk));
    delivered.n += piece.length;
    const step = to.hs.push(piece);
    to.last = step;
    if (step.send !== null) to.sent.push(step.send);
  }
}

function run(a: End, b: End, chunk: number): void {
  const ab = { n: 0 };
  const ba = { n: 0 };
  for (let i = 0; i < 10; i++) {
    deliver(a, b, chunk, ab);
    deliver(b, a, chunk, ba);
  }
}

test('same secret: both ends finish, for every chunk size', () => {
  for (const chunk of [1, 3, 7, 32, 36, 68, 1000]) {
    const d = end('s3cret', 'dial');
    const a = end('s3cret', 'accept');
    run(d, a, chunk);
    assert.ok(d.last?.done, `dialer done (chunk ${chunk})`);
    assert.ok(a.last?.done, `acceptor done (chunk ${chunk})`);
    const wire = Buffer.concat([...d.sent, ...a.sent]);
    assert.is(wire.indexOf('s3cret'), -1, 'the secret is not on the wire');
  }
});

test('bytes after the proof are handed over as bus bytes', () => {
  const d = end('k', 'dial');
  const a = end('k', 'accept');
  const dStep = d.hs.push(a.hs.hello());
  assert.ok(dStep.send !== null && !dStep.done);
  const aStep = a.hs.push(Buffer.concat([d.hs.hello(), dStep.send, Buffer.from('FRAME')]));
  assert.ok(aStep.done);
  assert.is(aStep.rest.toString(), 'FRAME');
  const fin = d.hs.push(Buffer.concat([aStep.send!, Buffer.from('BACK')]));
  assert.ok(fin.done);
  assert.is(fin.rest.toString(), 'BACK');
});

test('a wrong secret fails at the acceptor; the dialer never finishes', () => {
  const d = end('one', 'dial');
  const a = end('two', 'accept');
  run(d, a, 5);
  assert.match(a.last?.failed ?? '', /wrong cluster-bus-secret/);
  assert.not.ok(d.last?.done);
  // Once failed, it stays failed.
  assert.ok(a.hs.push(Buffer.alloc(10)).failed !== null);
});

test('an acceptor without the secret cannot pass itself off: the dialer checks its proof', () => {
  const d = end('k', 'dial');
  const step = d.hs.push(Buffer.concat([Buffer.from('TBA1'), Buffer.alloc(32, 1)]));
  assert.ok(step.send !== null);
  const bad = d.hs.push(Buffer.alloc(32, 9));
  assert.match(bad.failed ?? '', /wrong/);
});

test('a peer that sends bus frames at once (no secret set there) is refused', () => {
  const a = end('k', 'accept');
  const step = a.hs.push(Buffer.alloc(64, 0x41));
  assert.match(step.failed ?? '', /no bus handshake/);
});

test('a recorded proof does not open a new link (fresh nonces)', () => {
  const d1 = end('k', 'dial');
  const a1 = end('k', 'accept');
  run(d1, a1, 100);
  assert.ok(a1.last?.done);
  // Replay the first dialer's bytes to a new acceptor.
  const a2 = end('k', 'accept');
  const step = a2.hs.push(Buffer.concat(d1.sent));
  assert.match(step.failed ?? '', /wrong/);
});

test('an empty secret is a programming error', () => {
  assert.throws(() => new BusHandshake(Buffer.alloc(0), 'dial'));
});

test.run();
