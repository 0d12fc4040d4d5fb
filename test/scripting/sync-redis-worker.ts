// Worker side of SyncRedis (sync-redis.ts): owns two connections to a real server (RESP2, and
// RESP3 after HELLO 3), sends each request the main thread posts in the shared buffer, and
// writes back the complete reply bytes.

import { connect, type Socket } from 'node:net';
import { workerData } from 'node:worker_threads';
import { valueEnd } from '../../src/protocol/resp-value.js';

const { port, sab } = workerData as { port: number; sab: SharedArrayBuffer };
const ctrl = new Int32Array(sab, 0, 4);
const data = new Uint8Array(sab, 16);

interface Conn {
  socket: Socket;
  buf: Buffer;
  waiting: ((reply: Buffer) => void) | null;
}

function open(): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const c: Conn = { socket: connect({ port, host: '127.0.0.1' }), buf: Buffer.alloc(0), waiting: null };
    c.socket.on('data', (d: Buffer) => {
      c.buf = Buffer.concat([c.buf, d]);
      const end = valueEnd(c.buf, 0);
      if (end < 0 || c.waiting === null) return;
      const reply = c.buf.subarray(0, end);
      c.buf = c.buf.subarray(end);
      const w = c.waiting;
      c.waiting = null;
      w(reply);
    });
    c.socket.on('connect', () => resolve(c));
    c.socket.on('error', reject);
  });
}

function request(c: Conn, bytes: Uint8Array): Promise<Buffer> {
  return new Promise((resolve) => {
    c.waiting = resolve;
    c.socket.write(bytes);
  });
}

const c2 = await open();
const c3 = await open();
await request(c3, Buffer.from('*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n'));
Atomics.store(ctrl, 3, 1); // ready
Atomics.notify(ctrl, 3);

for (;;) {
  // Wait for a request (1) or the stop signal (9).
  let state = Atomics.load(ctrl, 0);
  while (state !== 1 && state !== 9) {
    const w = Atomics.waitAsync(ctrl, 0, state);
    if (w.async) await w.value;
    state = Atomics.load(ctrl, 0);
  }
  if (state === 9) break;
  const len = Atomics.load(ctrl, 1);
  const proto = Atomics.load(ctrl, 2);
  const reply = await request(proto === 3 ? c3 : c2, data.slice(0, len));
  data.set(reply, 0);
  Atomics.store(ctrl, 1, reply.length);
  Atomics.store(ctrl, 0, 2);
  Atomics.notify(ctrl, 0);
}
c2.socket.destroy();
c3.socket.destroy();
