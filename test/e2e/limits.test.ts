// Output-buffer limit for normal clients: a client that asks for far more than it reads is
// disconnected once its pending output passes the hard limit; other clients don't notice.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { Redis } from 'ioredis';
import { encodeCommand, startTessera, waitFor, type ServerHandle } from './harness.js';

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
    slow.on('error', () => undefined);
    await new Promise<void>((resolve) => slow.once('connect', () => resolve()));
    slow.pause(); // never read: the replies (200 MB) pile up in the server
    const gets = Buffer.concat(Array.from({ length: 400 }, () => encodeCommand(['GET', 'big'])));
    slow.write(gets);
    // The server drops it once its pending output passes 1 MB: only the good client is left.
    await waitFor(
      'the slow client to be dropped',
      async () => String(await good.client('LIST')).trim().split('\n').length === 1,
      TEST_TIMEOUT_MS,
    );
    slow.destroy();
    assert.is(await good.get('missing'), null);
    assert.is((await good.get('big'))?.length, 512 * 1024);
    assert.match(server!.output(), /over the hard limit 1048576/);
  } finally {
    good.disconnect();
  }
});

t.run();
