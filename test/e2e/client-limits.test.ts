// Tessera's own client limits (issue 18, docs/security-guard.md), counted rather than timed:
// client-ops-per-sec answers -LIMIT past each client's budget (every client has its own, so a
// limited client does not use up another's), on RESP, memcached and HTTP; client-bytes-per-sec
// pauses a client's socket while others are served; max-new-connections-per-sec refuses and
// closes a source address's connections past the cap on every door; INFO and /metrics count it;
// ACL users' ops-per-sec is one budget for all their clients, and maxclients refuses a login.

import { connect } from 'node:net';
import http from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { commandOnce, encodeCommand, rawClient, show, startTessera, waitFor, withTimeout, type RawClient } from './harness.js';
import { bin, OPS, parseBin } from './memcache-harness.js';

async function stats(port: number): Promise<Map<string, string>> {
  const info = String(await commandOnce(port, 'INFO', 'stats'));
  return new Map(info.split('\r\n').filter((l) => l.includes(':')).map((l) => l.split(':') as [string, string]));
}

/** Sends `n` PINGs in one write and reads the n replies: [PONGs, -LIMIT errors]. */
async function pingBurst(c: RawClient, n: number): Promise<[number, number]> {
  c.send(Buffer.concat(Array.from({ length: n }, () => encodeCommand(['PING']))));
  const replies = await c.read(n, 10_000);
  const pong = replies.filter((r) => r.text === '+PONG\r\n').length;
  const limited = replies.filter((r) => r.text.startsWith('-LIMIT request rate limit of ')).length;
  assert.is(pong + limited, n, `unexpected replies: ${show(replies.map((r) => r.text).join(''))}`);
  return [pong, limited];
}

/** One raw exchange on a fresh connection: what the server sent before closing (or a deadline). */
function exchange(port: number, payload: string | Buffer, deadlineMs = 3000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(payload));
    let text = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ text, closed: false });
    }, deadlineMs);
    s.on('data', (c: Buffer) => {
      text += c.toString('latin1');
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    s.on('error', reject);
  });
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return withTimeout(new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  }), 5000, `GET ${path}`);
}

const ops = suite('client-ops-per-sec');

ops('each client gets its own budget: past it -LIMIT, the request does not run; CONFIG SET 0 lifts it', async () => {
  const t = await startTessera({ memcache: true, http: true });
  try {
    assert.is(await commandOnce(t.port, 'CONFIG', 'SET', 'client-ops-per-sec', '20'), 'OK');
    assert.equal(await commandOnce(t.port, 'CONFIG', 'GET', 'client-ops-per-sec'), ['client-ops-per-sec', '20']);
    const a = await rawClient(t.port);
    const b = await rawClient(t.port);
    try {
      // Two bursts at once: each client has a full second's budget of its own (20, and at most a
      // token or two refilled while the burst is served).
      const [[pa, la], [pb, lb]] = await Promise.all([pingBurst(a, 100), pingBurst(b, 100)]);
      assert.ok(pa >= 20 && pa <= 24, `client a: ${pa} PONGs`);
      assert.ok(pb >= 20 && pb <= 24, `client b: ${pb} PONGs`);
      // A refused write did not run.
      a.send(Buffer.concat(Array.from({ length: 40 }, (_, i) => encodeCommand(['SET', `lim:${i}`, 'x']))));
      const sets = await a.read(40, 10_000);
      const ran = sets.filter((r) => r.text === '+OK\r\n').length;
      const limitedSets = sets.filter((r) => r.text.startsWith('-LIMIT request rate limit of 20/s exceeded for client')).length;
      assert.is(ran + limitedSets, 40, show(sets.map((r) => r.text).join('')));
      assert.ok(limitedSets > 0, 'some SETs were limited');
      const keys = Number(await commandOnce(t.port, 'DBSIZE'));
      assert.is(keys, ran, 'only the admitted SETs ran');
      const st = await stats(t.port);
      assert.is(Number(st.get('rate_limited_requests')), la + lb + limitedSets);
      const metrics = await httpGet(t.httpPort, '/metrics');
      assert.match(metrics.body, new RegExp(`tessera_guard_total\\{event="rate_limited_requests"\\} ${la + lb + limitedSets}`));
      // memcached: the same limit per connection, refused with SERVER_ERROR carrying the text.
      const mc = await exchange(t.memcachePort, Array.from({ length: 60 }, () => 'get k\r\n').join(''), 1500);
      const limitedMc = mc.text.split('\r\n').filter((l) => l.startsWith('SERVER_ERROR LIMIT request rate limit of 20/s')).length;
      assert.ok(limitedMc >= 30, `memcached: ${show(mc.text, 2000)}`);
      // HTTP: per connection, 429.
      const statuses: number[] = [];
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      for (let i = 0; i < 30; i++) {
        statuses.push(await withTimeout(new Promise<number>((resolve, reject) => {
          http.get({ host: '127.0.0.1', port: t.httpPort, path: '/v1/keys/nokey', agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          }).on('error', reject);
        }), 5000, 'HTTP GET'));
      }
      agent.destroy();
      assert.ok(statuses.includes(429), `HTTP statuses: ${statuses.join(' ')}`);
      assert.ok(statuses.filter((s) => s === 404).length >= 20, `HTTP statuses: ${statuses.join(' ')}`);
      // Lifted: a burst is served whole.
      assert.is(await commandOnce(t.port, 'CONFIG', 'SET', 'client-ops-per-sec', '0'), 'OK');
      assert.equal(await pingBurst(a, 100), [100, 0]);
    } finally {
      a.close();
      b.close();
    }
  } finally {
    await t.stop();
  }
});

ops.run();

const bytes = suite('client-bytes-per-sec');

bytes('a client over its input budget is paused (not refused), others are served meanwhile; every command runs in the end', async () => {
  const t = await startTessera();
  try {
    assert.is(await commandOnce(t.port, 'CONFIG', 'SET', 'client-bytes-per-sec', '20000'), 'OK');
    const heavy = await rawClient(t.port);
    const other = await rawClient(t.port);
    try {
      const value = 'v'.repeat(1000);
      const n = 100;
      heavy.send(Buffer.concat(Array.from({ length: n }, (_, i) => encodeCommand(['SET', `big:${i}`, value]))));
      // Some 100 KB at 20 KB/s: the heavy client waits seconds; the other one is answered while
      // the heavy one's commands are still unread.
      await waitFor('the heavy client to be paused', async () => Number((await stats(t.port)).get('bandwidth_limited_pauses')) >= 1);
      assert.is((await other.call(['PING'])).text, '+PONG\r\n');
      const setSoFar = Number(await commandOnce(t.port, 'DBSIZE'));
      assert.ok(setSoFar < n, `the heavy client is held back (${setSoFar} of ${n} keys set)`);
      const replies = await heavy.read(n, 20_000);
      assert.ok(replies.every((r) => r.text === '+OK\r\n'), 'every SET ran, none refused');
      assert.is(Number(await commandOnce(t.port, 'DBSIZE')), n);
    } finally {
      heavy.close();
      other.close();
    }
  } finally {
    await t.stop();
  }
});

bytes.run();

const conns = suite('max-new-connections-per-sec');

conns('past the cap a source address is refused with an error and closed, on every door; INFO counts it', async () => {
  const t = await startTessera({ memcache: true, http: true });
  try {
    assert.is(await commandOnce(t.port, 'CONFIG', 'SET', 'max-new-connections-per-sec', '5'), 'OK');
    const burst = await Promise.all(Array.from({ length: 20 }, () => exchange(t.port, encodeCommand(['PING']).toString('latin1'), 1500)));
    const refusedText = '-ERR max-new-connections-per-sec (5) reached for this address\r\n';
    const refused = burst.filter((r) => r.text === refusedText && r.closed).length;
    const served = burst.filter((r) => r.text === '+PONG\r\n').length;
    assert.is(refused + served, 20, show(burst.map((r) => r.text).join('|')));
    assert.ok(served >= 5 && served <= 10, `served ${served}`);
    const st = await stats(t.port);
    assert.is(Number(st.get('connections_rate_refused')), refused);
    // memcached and HTTP (the same per-address count): once a connection is admitted again, a burst.
    await waitFor('a new window', async () => (await exchange(t.port, encodeCommand(['PING']).toString('latin1'), 500)).text === '+PONG\r\n');
    const mc = await Promise.all(Array.from({ length: 12 }, () => exchange(t.memcachePort, 'version\r\n', 1500)));
    assert.ok(mc.some((r) => r.text === 'SERVER_ERROR ERR max-new-connections-per-sec (5) reached for this address\r\n' && r.closed), show(mc.map((r) => r.text).join('|')));
    await waitFor('a new window', async () => (await exchange(t.port, encodeCommand(['PING']).toString('latin1'), 500)).text === '+PONG\r\n');
    const hs = await Promise.all(Array.from({ length: 12 }, () => exchange(t.httpPort, 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 1500)));
    assert.ok(hs.some((r) => r.text.startsWith('HTTP/1.1 429 Too Many Requests\r\n') && r.text.includes('max-new-connections-per-sec (5)')), show(hs.map((r) => r.text).join('|')));
    assert.ok(hs.some((r) => r.text.startsWith('HTTP/1.1 200 ')));
  } finally {
    await t.stop();
  }
});

conns.run();

const users = suite('per-user limits (ACL ops-per-sec, maxclients)');

users('a user budget is shared by its clients (RESP and memcached); the default user is not slowed; maxclients refuses the login beyond it', async () => {
  const t = await startTessera({ memcache: true });
  const cs: RawClient[] = [];
  try {
    assert.is(await commandOnce(t.port, 'ACL', 'SETUSER', 'svc', 'on', '>svc-pass', '+@all', '~*', 'ops-per-sec=20', 'maxclients=2'), 'OK');
    const rules = String(await commandOnce(t.port, 'ACL', 'GETUSER', 'svc'));
    assert.ok(rules.length > 0);
    const a = await rawClient(t.port);
    const b = await rawClient(t.port);
    const c = await rawClient(t.port);
    const d = await rawClient(t.port);
    cs.push(a, b, c, d);
    // Logging in costs nothing of the budget it is not yet under; the first command after is.
    assert.is((await a.call(['AUTH', 'svc', 'svc-pass'])).text, '+OK\r\n');
    assert.is((await b.call(['AUTH', 'svc', 'svc-pass'])).text, '+OK\r\n');
    const [[pa, la], [pb, lb], [pc, lc]] = await Promise.all([pingBurst(a, 50), pingBurst(b, 50), pingBurst(c, 100)]);
    assert.ok(pa + pb >= 18 && pa + pb <= 24, `svc's two clients together: ${pa} + ${pb} PONGs`);
    assert.is(la + lb, 100 - pa - pb);
    assert.equal([pc, lc], [100, 0], 'the default user is not limited');
    a.send(encodeCommand(['PING']));
    const [r] = await a.read(1);
    assert.match(r!.text, /^(\+PONG|-LIMIT request rate limit of 20\/s exceeded for user 'svc')\r\n$/);
    // maxclients=2: a third login as svc is refused (AUTH and HELLO AUTH), the client stays as it was.
    const refused = "-ERR max number of clients reached for user 'svc' (maxclients=2)\r\n";
    assert.is((await c.call(['AUTH', 'svc', 'svc-pass'])).text, refused);
    assert.is((await c.call(['HELLO', '2', 'AUTH', 'svc', 'svc-pass'])).text, refused);
    assert.is((await c.call(['ACL', 'WHOAMI'])).text, '$7\r\ndefault\r\n');
    assert.is(Number((await stats(t.port)).get('user_maxclients_refused')), 2);
    // The memcached door counts too: a SASL login as svc is refused while two RESP clients are svc.
    const sasl = (await exchange(t.memcachePort, bin(OPS.SASL_AUTH, { key: 'PLAIN', value: '\0svc\0svc-pass' }), 1000)).text;
    assert.is(sasl.charCodeAt(0), 0x81);
    assert.is((sasl.charCodeAt(6) << 8) | sasl.charCodeAt(7), 0x20, 'AUTH_ERROR');
    assert.is(Number((await stats(t.port)).get('user_maxclients_refused')), 3);
    // Once one of svc's clients is gone, the login works.
    a.close();
    await waitFor('a login as svc once a client left', async () => (await d.call(['AUTH', 'svc', 'svc-pass'])).text === '+OK\r\n');
    // memcached requests of a user share its budget: a binary client logged in as svc (SASL), 60 gets.
    b.close();
    d.close();
    await waitFor('svc to have no RESP clients', async () => !String(await commandOnce(t.port, 'CLIENT', 'LIST')).includes('user=svc'));
    const payload = Buffer.concat([bin(OPS.SASL_AUTH, { key: 'PLAIN', value: '\0svc\0svc-pass' }), ...Array.from({ length: 60 }, () => bin(OPS.GET, { key: 'k' }))]);
    const mc = parseBin(Buffer.from((await exchange(t.memcachePort, payload, 1500)).text, 'latin1'));
    assert.is(mc.length, 61);
    assert.is(mc[0]!.status, 0, 'SASL login as svc');
    const limitedMc = mc.filter((r) => r.status === 0x86 && r.value.toString() === "LIMIT request rate limit of 20/s exceeded for user 'svc'").length;
    assert.ok(limitedMc >= 30 && limitedMc <= 42, `memcached as svc: ${limitedMc} limited`);
    assert.is(mc.filter((r) => r.status === 1).length, 60 - limitedMc, 'the others ran (key not found)');
  } finally {
    for (const c of cs) c.close();
    await t.stop();
  }
});

users.run();
