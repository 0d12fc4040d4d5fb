// One admission path for every front door (issue 13, item 3): the read-only replica check and
// min-replicas-to-write refuse writes that come through the memcached port (text, meta and
// binary) and the HTTP key API exactly as they refuse RESP writes, while reads still work.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from 'node:net';
import { freePort, waitFor, withTimeout } from './harness.js';
import { cleanupAll, linkUp, startNode, startReplica, type Node } from './replication-helpers.js';
import { OPS, bin, exchange, parseBin, setExtras } from './memcache-harness.js';

const t = suite('admission: memcached and HTTP writes pass the same gates as RESP');
let primary: Node | undefined;
let replica: Node | undefined;
let replicaMc = 0;
let replicaHttp = 0;
let primaryMc = 0;
let primaryHttp = 0;
const ETMPFAIL = 0x86;

const port = (n: Node): number => n.server.port;
const textUntil = (port: number, bytes: string, end: RegExp): Promise<string> =>
  exchange(port, Buffer.from(bytes), (d) => end.test(d.toString('latin1'))).then((x) => x.data.toString('latin1'));

t.before(async () => {
  primaryMc = await freePort();
  primaryHttp = await freePort();
  primary = await startNode('adm-primary', { args: ['--memcache-port', String(primaryMc), '--http-port', String(primaryHttp)] });
  replicaMc = await freePort();
  replicaHttp = await freePort();
  replica = await startReplica('adm-replica', primary, { args: ['--memcache-port', String(replicaMc), '--http-port', String(replicaHttp)] });
  await linkUp(replica);
  await primary.client.set('k', 'v');
  await withTimeout(
    (async () => {
      while ((await replica!.client.get('k')) !== 'v') await new Promise((r) => setImmediate(r));
    })(),
    10_000,
    'the replica to have k',
  );
});

t.after(async () => {
  await cleanupAll();
});

t('a read-only replica refuses RESP, memcached (text, meta, binary) and HTTP writes alike', async () => {
  const c = replica!.client;
  await c.set('x', '1').then(
    () => assert.unreachable('SET on a replica'),
    (e: Error) => assert.match(e.message, /^READONLY You can't write against a read only replica\./),
  );
  const text = await textUntil(replicaMc, 'set x 0 0 1\r\n1\r\nget k\r\n', /END\r\n$/);
  assert.is(text, "SERVER_ERROR READONLY You can't write against a read only replica.\r\nVALUE k 0 1\r\nv\r\nEND\r\n");
  const meta = await textUntil(replicaMc, 'ms x 1\r\n1\r\nmg k v\r\n', /VA 1\r\nv\r\n$/);
  assert.match(meta, /^SERVER_ERROR READONLY You can't write against a read only replica\.\r\nVA 1\r\nv\r\n$/);
  const flush = await textUntil(replicaMc, 'flush_all\r\n', /\r\n$/);
  assert.match(flush, /^SERVER_ERROR READONLY /);
  const b = await exchange(replicaMc, bin(OPS.SET, { key: 'x', value: '1', extras: setExtras(0, 0), opaque: 77 }), (d) => parseBin(d).length >= 1);
  const [r] = parseBin(b.data);
  assert.is(r?.status, ETMPFAIL);
  assert.is(r?.opaque, 77);
  assert.match(r?.value.toString() ?? '', /^READONLY /);
  const put = await fetch(`http://127.0.0.1:${replicaHttp}/v1/keys/x`, { method: 'PUT', body: '1' });
  assert.is(put.status, 503);
  assert.match(((await put.json()) as { error: string }).error, /^READONLY /);
  const del = await fetch(`http://127.0.0.1:${replicaHttp}/v1/keys/k`, { method: 'DELETE' });
  assert.is(del.status, 503);
  const get = await fetch(`http://127.0.0.1:${replicaHttp}/v1/keys/k`);
  assert.is(get.status, 200);
  assert.is(await get.text(), 'v');
  // Nothing was written by any door.
  assert.is(await c.exists('x'), 0);
  assert.is(await c.get('k'), 'v');
});

t('min-replicas-to-write refuses every door the same way on a primary without enough replicas', async () => {
  const c = primary!.client;
  await c.config('SET', 'min-replicas-to-write', '2');
  try {
    await c.set('y', '1').then(
      () => assert.unreachable('SET without enough replicas'),
      (e: Error) => assert.match(e.message, /^NOREPLICAS Not enough good replicas to write\./),
    );
    const text = await textUntil(primaryMc, 'set y 0 0 1\r\n1\r\n', /\r\n$/);
    assert.is(text, 'SERVER_ERROR NOREPLICAS Not enough good replicas to write.\r\n');
    const put = await fetch(`http://127.0.0.1:${primaryHttp}/v1/keys/y`, { method: 'PUT', body: '1' });
    assert.is(put.status, 503);
    assert.match(((await put.json()) as { error: string }).error, /^NOREPLICAS /);
    assert.is(await c.exists('y'), 0);
  } finally {
    await c.config('SET', 'min-replicas-to-write', '0');
  }
  const ok = await textUntil(primaryMc, 'set y 0 0 1\r\n1\r\n', /\r\n$/);
  assert.is(ok, 'STORED\r\n');
});

t('maxclients bounds the connections of every door together', async () => {
  const c = replica!.client; // the only client of the replica so far
  await c.config('SET', 'maxclients', '2');
  const held = connect(replicaMc, '127.0.0.1');
  held.on('error', () => undefined);
  try {
    await new Promise<void>((resolve) => held.once('connect', () => resolve()));
    // The held memcached connection fills the second place: RESP, memcached and HTTP refuse.
    await waitFor('the held connection to count', async () => {
      const mc = await textUntil(replicaMc, 'version\r\n', /\r\n$/);
      return mc.startsWith('ERROR Too many open connections') ? mc : undefined;
    });
    const resp = await exchange(port(replica!), Buffer.from('PING\r\n'), (d) => d.includes(10));
    assert.is(resp.data.toString('latin1'), '-ERR max number of clients reached\r\n');
    // A new HTTP connection (fetch would reuse an idle keep-alive one).
    const http = await exchange(replicaHttp, Buffer.from('GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), (d) => d.includes('\r\n\r\n'));
    assert.match(http.data.toString('latin1'), /^HTTP\/1\.1 503 /);
  } finally {
    held.destroy();
    await c.config('SET', 'maxclients', '10000');
  }
});

t.run();
