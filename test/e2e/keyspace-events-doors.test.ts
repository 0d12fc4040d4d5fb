// Keyspace notifications for writes that arrive through the memcached port: the same events as the
// RESP commands they match (set, append, incrby/decrby, expire, del). A marker PUBLISH after the
// writes tells the subscriber every event is in (a shard's events leave with its reply).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { startTessera, waitFor, withTimeout, type ServerHandle } from './harness.js';
import { endsWith, exchange } from './memcache-harness.js';

const TEST_TIMEOUT_MS = 30_000;
let server: ServerHandle | undefined;
const t = suite('keyspace events at the memcached port');

t.before(async () => {
  server = await startTessera({ shards: 2, memcache: true });
});

t.after(async () => {
  await server?.stop();
});

async function say(port: number, text: string): Promise<string> {
  const r = await exchange(port, [Buffer.from(text), Buffer.from('mn\r\n')], endsWith('MN\r\n'));
  const s = r.data.toString('latin1');
  return s.slice(0, s.length - 4);
}

t('memcached writes emit the events of their RESP counterparts', () =>
  withTimeout(
    (async () => {
      const s = server!;
      const cmd = new Redis({ port: s.port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
      const sub = new Redis({ port: s.port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
      try {
        await cmd.config('SET', 'notify-keyspace-events', 'KE$g');
        const seen: string[] = [];
        let marked = false;
        sub.on('pmessage', (_p: string, ch: string, msg: string) => {
          if (ch.startsWith('__keyevent@0__:')) seen.push(`${ch.slice(15)} ${msg}`);
        });
        sub.on('message', () => {
          marked = true;
        });
        await sub.psubscribe('__key*__:*');
        await sub.subscribe('mark');
        const p = s.memcachePort;
        assert.is(
          await say(p, 'set m:a 0 0 2\r\n10\r\nappend m:a 0 0 1\r\n0\r\nincr m:a 5\r\ndecr m:a 1\r\ntouch m:a 100\r\ndelete m:a\r\ndelete m:a\r\n'),
          'STORED\r\nSTORED\r\n105\r\n104\r\nTOUCHED\r\nDELETED\r\nNOT_FOUND\r\n',
        );
        await cmd.publish('mark', 'done');
        await waitFor('the marker message', () => marked, 10_000);
        assert.equal(seen, ['set m:a', 'append m:a', 'incrby m:a', 'decrby m:a', 'expire m:a', 'del m:a']);
      } finally {
        cmd.disconnect();
        sub.disconnect();
      }
    })(),
    TEST_TIMEOUT_MS,
    'memcached events',
  ),
);

t.run();
