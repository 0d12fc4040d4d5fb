// Output-buffer limit for normal clients: a client that asks for far more than it reads is
// disconnected once its pending output passes the hard limit; other clients don't notice.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { Redis } from 'ioredis';
import { encodeCommand, startTessera, withTimeout, type ServerHandle } from './harness.js';

const TEST_TIMEOUT_MS = 30_000;
let server: ServerHandle | undefined;
const t = suite('client-output-buffer-limit');

t.before(async () => {
  server = await startTessera({ shards: 2, args: ['--client-output-buffer-limit', 'normal 1mb 0 0'] });
});

t.after(async () => {
  await server?.stop();
});

t('a client that does not read its replies is dropped at the hard limit; others keep working', async () => {
  const good = new Redis({ port: server!.port, maxRetriesPerRequest: 0 });
  try {
    await good.set('big', Buffer.alloc(512 * 1024, 120));
    const slow = net.connect(server!.port, '127.0.0.1');
    const closed = new Promise<void>((resolve) => slow.once('close', () => resolve()));
    slow.on('error', () => undefined);
    await new Promise<void>((resolve) => slow.once('connect', () => resolve()));
    const gets = Buffer.concat(Array.from({ length: 400 }, () => encodeCommand(['GET', 'big'])));
    slow.write(gets);
    // The replies (200 MB) pass the 1 MB limit in the server's first write; read to see the end.
    let received = 0;
    slow.on('data', (b: Buffer) => (received += b.length));
    slow.resume();
    await withTimeout(closed, TEST_TIMEOUT_MS, 'server closing the slow client');
    assert.ok(received < 400 * 512 * 1024, `received all ${received} bytes: the limit was not applied`);
    assert.is(await good.get('missing'), null);
    assert.is((await good.get('big'))?.length, 512 * 1024);
    const list = await good.client('LIST');
    assert.is(String(list).trim().split('\n').length, 1, 'only the good client is left');
  } finally {
    good.disconnect();
  }
});

t.run();
