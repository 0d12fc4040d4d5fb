// PUBLISH and SPUBLISH on a standalone primary reach its replicas' subscribers, as redis-server
// propagates them through the replication stream; a replica's own PUBLISH stays on the replica.
// Real processes on loopback ports, ioredis subscribers; every wait has a deadline.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { waitFor, withTimeout } from './harness.js';
import { cleanupAll, linkUp, startNode, startReplica } from './replication-helpers.js';

const TEST_TIMEOUT_MS = 60_000;
const r = suite('pub/sub on replicas');
r.after.each(cleanupAll);

function subscriber(port: number): Redis {
  const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on('error', () => undefined);
  return c;
}

r('a primary PUBLISH and SPUBLISH reach a replica subscriber in order; a replica PUBLISH stays local', () =>
  withTimeout(
    (async () => {
      const primary = await startNode('ps-primary', { shards: 2 });
      const replica = await startReplica('ps-replica', primary, { shards: 2 });
      await linkUp(replica);
      const onReplica = subscriber(replica.server.port);
      const onPrimary = subscriber(primary.server.port);
      try {
        await onReplica.connect();
        await onPrimary.connect();
        const got: string[] = [];
        const gotPrimary: string[] = [];
        onReplica.on('message', (ch: string, m: string) => got.push(`${ch}:${m}`));
        onReplica.on('smessage', (ch: string, m: string) => got.push(`s:${ch}:${m}`));
        onPrimary.on('message', (ch: string, m: string) => gotPrimary.push(`${ch}:${m}`));
        await onReplica.subscribe('news');
        await onReplica.ssubscribe('orders');
        await onPrimary.subscribe('news');
        // The primary's reply counts its own subscribers only, as Redis does.
        for (let i = 0; i < 50; i++) assert.is(await primary.client.publish('news', `m${i}`), 1);
        assert.is(await primary.client.call('SPUBLISH', 'orders', 'o1'), 0);
        // Binary-safe: NUL and CRLF inside the message.
        await primary.client.publish('news', 'a\u0000b\r\nc');
        await waitFor('the replica subscriber has every message', () => got.length === 52, 10_000);
        assert.equal(got.slice(0, 50), Array.from({ length: 50 }, (_, i) => `news:m${i}`));
        assert.is(got[50], 's:orders:o1');
        assert.is(got[51], 'news:a\u0000b\r\nc');
        // A PUBLISH on the replica reaches the replica's subscribers, not the primary's.
        assert.is(await replica.client.publish('news', 'from-replica'), 1);
        await waitFor('the replica subscriber gets the replica publish', () => got.length === 53, 10_000);
        assert.is(got[52], 'news:from-replica');
        await primary.client.publish('news', 'last');
        await waitFor('both get the last message', () => gotPrimary.includes('news:last') && got.length === 54, 10_000);
        assert.not.ok(gotPrimary.includes('news:from-replica'), 'a replica PUBLISH does not go up to the primary');
      } finally {
        onReplica.disconnect();
        onPrimary.disconnect();
      }
    })(),
    TEST_TIMEOUT_MS,
    'pub/sub on replicas',
  ),
);

r.run();
