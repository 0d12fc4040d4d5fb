// The same ACL users on every door: for a read-only user on app:*, a write-only user, a user with
// no key patterns and the default user with a password, the same operations through RESP
// (ioredis), memcached binary (SASL PLAIN), memcached text (the `set` auth form) and HTTP (Basic
// and Bearer credentials) are allowed or denied alike; the doors' denials are in ACL LOG with the
// door in client-info; wrong credentials are refused on each door; a SASL login's failures count
// in the same per-address throttle as AUTH's; a memcached client of a deleted user is closed.
// One server (memcached and HTTP ports open), stopped by pid in after().

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import memjs from 'memjs';
import { expectReject, startTessera, waitFor, withTimeout, type ServerHandle } from './harness.js';
import { OPS, bin, binCount, deltaExtras, exchange, parseBin, setExtras } from './memcache-harness.js';

const DEFAULT_PW = 'default-pw';
const AUTH_ERROR = 0x20;
/** A binary request's ACL denial: NOT_SUPPORTED with the NOPERM text. */
const DENIED = 0x83;

interface User {
  name: string;
  pass: string;
  rules: string[];
}

const USERS: readonly User[] = [
  { name: 'reader', pass: 'r-pw', rules: ['on', '>r-pw', '~app:*', '+@read', '+@connection'] },
  { name: 'writer', pass: 'w-pw', rules: ['on', '>w-pw', '~*', '+set', '+del', '+append', '+incrby', '+decrby', '+@connection'] },
  { name: 'nokeys', pass: 'n-pw', rules: ['on', '>n-pw', '+@all'] },
  { name: 'default', pass: DEFAULT_PW, rules: [] },
];

type Op = 'get' | 'set' | 'del' | 'incr' | 'append';

/** Operations as every door can say them: the key decides the key-pattern outcome. */
const OPS_TABLE: ReadonlyArray<{ op: Op; key: string }> = [
  { op: 'get', key: 'app:1' },
  { op: 'get', key: 'other:1' },
  { op: 'set', key: 'app:2' },
  { op: 'set', key: 'other:2' },
  { op: 'incr', key: 'app:n' },
  { op: 'append', key: 'app:1' },
  { op: 'del', key: 'app:3' },
  { op: 'del', key: 'other:3' },
];

/** Which ops the HTTP door has (GET, PUT, DELETE). */
const HTTP_OPS: ReadonlySet<Op> = new Set(['get', 'set', 'del']);

let s: ServerHandle | null = null;
const clients: Redis[] = [];

async function resp(user: string, pass: string): Promise<Redis> {
  const io = new Redis({ port: s!.port, host: '127.0.0.1', username: user, password: pass, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  io.on('error', () => undefined);
  clients.push(io);
  await withTimeout(io.connect(), 5000, 'connect');
  return io;
}

function admin(): Promise<Redis> {
  return resp('default', DEFAULT_PW);
}

/** 'denied' when the reply is an ACL denial, else 'allowed' (whatever else it says). */
type Outcome = 'allowed' | 'denied';

async function viaResp(u: User, op: Op, key: string): Promise<Outcome> {
  const io = await resp(u.name, u.pass);
  const argv: Record<Op, string[]> = { get: ['GET', key], set: ['SET', key, 'v'], del: ['DEL', key], incr: ['INCRBY', key, '1'], append: ['APPEND', key, 'x'] };
  try {
    await io.call(argv[op][0]!, ...argv[op].slice(1));
    return 'allowed';
  } catch (e) {
    return /^NOPERM/.test((e as Error).message) ? 'denied' : 'allowed';
  } finally {
    io.disconnect();
  }
}

function saslPlain(user: string, pass: string): Buffer {
  return bin(OPS.SASL_AUTH, { key: 'PLAIN', value: `\0${user}\0${pass}` });
}

async function viaBinary(u: User, op: Op, key: string): Promise<Outcome> {
  const req: Record<Op, Buffer> = {
    get: bin(OPS.GET, { key }),
    set: bin(OPS.SET, { key, extras: setExtras(0, 0), value: 'v' }),
    del: bin(OPS.DELETE, { key }),
    incr: bin(OPS.INCR, { key, extras: deltaExtras(1n, 0n, 0) }),
    append: bin(OPS.APPEND, { key, value: 'x' }),
  };
  const ex = await exchange(s!.memcachePort, [saslPlain(u.name, u.pass), req[op], bin(OPS.NOOP)], binCount(3));
  const [auth, r] = parseBin(ex.data);
  assert.is(auth?.status, 0, `SASL PLAIN as ${u.name}`);
  if (r!.status === DENIED) {
    assert.match(r!.value.toString(), /^NOPERM /);
    return 'denied';
  }
  return 'allowed';
}

function textAuth(user: string, pass: string): string {
  const data = `${user} ${pass}`;
  return `set auth 0 0 ${Buffer.byteLength(data)}\r\n${data}\r\n`;
}

async function viaText(u: User, op: Op, key: string): Promise<Outcome> {
  const line: Record<Op, string> = {
    get: `get ${key}\r\n`,
    set: `set ${key} 0 0 1\r\nv\r\n`,
    del: `delete ${key}\r\n`,
    incr: `incr ${key} 1\r\n`,
    append: `append ${key} 0 0 1\r\nx\r\n`,
  };
  const ex = await exchange(s!.memcachePort, Buffer.from(textAuth(u.name, u.pass) + line[op] + 'mn\r\n'), (d) => d.toString('latin1').endsWith('MN\r\n'));
  const text = ex.data.toString('latin1');
  assert.ok(text.startsWith('STORED\r\n'), `text auth as ${u.name}: ${text}`);
  return /^SERVER_ERROR NOPERM /m.test(text) ? 'denied' : 'allowed';
}

function basic(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

async function viaHttp(u: User, op: Op, key: string, scheme: 'basic' | 'bearer'): Promise<Outcome> {
  const method = op === 'get' ? 'GET' : op === 'set' ? 'PUT' : 'DELETE';
  const authorization = scheme === 'basic' ? basic(u.name, u.pass) : `Bearer ${u.name}:${u.pass}`;
  const res = await fetch(`http://127.0.0.1:${s!.httpPort}/v1/keys/${encodeURIComponent(key)}`, {
    method, headers: { authorization }, ...(op === 'set' ? { body: 'v' } : {}),
    signal: AbortSignal.timeout(5000),
  });
  const body = await res.text();
  assert.not.equal(res.status, 401, `HTTP login as ${u.name}: ${body}`);
  if (res.status === 403) {
    assert.match((JSON.parse(body) as { error: string }).error, /^NOPERM /);
    return 'denied';
  }
  return 'allowed';
}

async function resetData(): Promise<void> {
  const io = await admin();
  await io.mset('app:1', 'v', 'other:1', 'v', 'app:n', '1', 'app:3', 'v', 'other:3', 'v');
}

const t = suite('ACL on every door');

t.before(async () => {
  s = await startTessera({ memcache: true, http: true, args: ['--requirepass', DEFAULT_PW] });
  const io = await admin();
  for (const u of USERS) if (u.rules.length > 0) assert.is(await io.call('ACL', 'SETUSER', u.name, ...u.rules), 'OK');
});

t.after(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  await s?.stop();
});

t('each user gets the same allow/deny on RESP, memcached binary, memcached text and HTTP', async () => {
  const seen = new Set<Outcome>();
  for (const u of USERS) {
    for (const { op, key } of OPS_TABLE) {
      await resetData();
      const want = await viaResp(u, op, key);
      seen.add(want);
      await resetData();
      assert.is(await viaBinary(u, op, key), want, `${u.name} ${op} ${key}: memcached binary vs RESP`);
      await resetData();
      assert.is(await viaText(u, op, key), want, `${u.name} ${op} ${key}: memcached text vs RESP`);
      if (HTTP_OPS.has(op)) {
        await resetData();
        assert.is(await viaHttp(u, op, key, 'basic'), want, `${u.name} ${op} ${key}: HTTP Basic vs RESP`);
        assert.is(await viaHttp(u, op, key, 'bearer'), want, `${u.name} ${op} ${key}: HTTP Bearer vs RESP`);
      }
    }
  }
  assert.equal([...seen].sort(), ['allowed', 'denied'], 'the table has both outcomes');
});

t('memcached stats and flush_all are checked as INFO and FLUSHALL', async () => {
  const reader = USERS[0]!;
  const text = await exchange(s!.memcachePort, Buffer.from(textAuth(reader.name, reader.pass) + 'stats\r\nflush_all\r\nmn\r\n'), (d) => d.toString('latin1').endsWith('MN\r\n'));
  assert.is(
    text.data.toString('latin1'),
    "STORED\r\nSERVER_ERROR NOPERM this user has no permissions to run the 'info' command\r\n" +
      "SERVER_ERROR NOPERM this user has no permissions to run the 'flushall' command\r\nMN\r\n",
  );
  const b = await exchange(s!.memcachePort, [saslPlain(reader.name, reader.pass), bin(OPS.STAT), bin(OPS.FLUSH), bin(OPS.NOOP)], binCount(4));
  const [, stat, flush] = parseBin(b.data);
  assert.is(stat!.status, DENIED);
  assert.is(stat!.value.toString(), "NOPERM this user has no permissions to run the 'info' command");
  assert.is(flush!.status, DENIED);
  // The data is still there.
  assert.is(await (await admin()).get('app:1'), 'v');
});

t('a text get of several keys ends at a denied key, as at any SERVER_ERROR; meta commands are checked too', async () => {
  await resetData();
  const reader = USERS[0]!;
  const ex = await exchange(s!.memcachePort, Buffer.from(textAuth(reader.name, reader.pass) + 'get app:1 other:1 app:n\r\nmg app:1 v\r\nms other:2 1\r\nx\r\nmn\r\n'), (d) => d.toString('latin1').endsWith('MN\r\n'));
  assert.is(
    ex.data.toString('latin1'),
    'STORED\r\nVALUE app:1 0 1\r\nv\r\nSERVER_ERROR NOPERM this user has no permissions to access one of the keys used as arguments\r\n' +
      "VA 1\r\nv\r\nSERVER_ERROR NOPERM this user has no permissions to run the 'set' command\r\nMN\r\n",
  );
});

t('memjs logs in with SASL PLAIN; a denial fails that request only, the connection goes on', async () => {
  const mc = memjs.Client.create(`127.0.0.1:${s!.memcachePort}`, { username: 'reader', password: 'r-pw', retries: 0, timeout: 5, logger: { log: () => undefined } });
  try {
    await resetData();
    assert.is(String((await mc.get('app:1')).value), 'v');
    await expectReject(mc.set('app:1', 'x', {}), /NOPERM|Not supported|Unknown/i);
    await expectReject(mc.get('other:1'), /NOPERM|Not supported|Unknown/i);
    assert.is(String((await mc.get('app:1')).value), 'v');
  } finally {
    mc.close();
  }
});

t("ACL LOG shows the doors' denials with the door in client-info", async () => {
  const io = await admin();
  await io.call('ACL', 'LOG', 'RESET');
  const reader = USERS[0]!;
  assert.is(await viaBinary(reader, 'get', 'other:1'), 'denied');
  assert.is(await viaText(reader, 'set', 'app:1'), 'denied');
  assert.is(await viaHttp(reader, 'del', 'other:3', 'basic'), 'denied');
  const log = (await io.call('ACL', 'LOG')) as Array<Array<string | number>>;
  const entries = log.map((e) => Object.fromEntries(Array.from({ length: e.length / 2 }, (_, i) => [String(e[2 * i]), e[2 * i + 1]])));
  const http = entries.find((e) => String(e['client-info']).includes('cmd=http'));
  const mc = entries.filter((e) => String(e['client-info']).includes('cmd=memcached'));
  assert.ok(http, JSON.stringify(entries));
  assert.is(http['reason'], 'command');
  assert.is(http['object'], 'del');
  assert.is(http['username'], 'reader');
  assert.is(mc.length, 2, JSON.stringify(entries));
  const key = mc.find((e) => e['reason'] === 'key');
  assert.ok(key, JSON.stringify(mc));
  assert.is(key['object'], 'other:1');
  assert.is(key['context'], 'toplevel');
  assert.ok(mc.some((e) => e['reason'] === 'command' && e['object'] === 'set'), JSON.stringify(mc));
});

t('wrong credentials: SASL AUTH_ERROR, text CLIENT_ERROR and close, HTTP 401 with WWW-Authenticate; logged as auth', async () => {
  const io = await admin();
  await io.call('ACL', 'LOG', 'RESET');
  const b = await exchange(s!.memcachePort, [saslPlain('reader', 'nope'), bin(OPS.GET, { key: 'app:1' })], binCount(2));
  const [auth, get] = parseBin(b.data);
  assert.is(auth!.status, AUTH_ERROR);
  assert.is(get!.status, AUTH_ERROR, 'still not logged in');
  const tx = await exchange(s!.memcachePort, Buffer.from(textAuth('reader', 'nope')), () => false);
  assert.is(tx.data.toString('latin1'), 'CLIENT_ERROR authentication failure\r\n');
  assert.ok(tx.closed);
  for (const authorization of [basic('reader', 'nope'), 'Bearer reader:nope', 'Bearer nope', undefined]) {
    const res = await fetch(`http://127.0.0.1:${s!.httpPort}/v1/keys/app:1`, { headers: authorization === undefined ? {} : { authorization }, signal: AbortSignal.timeout(5000) });
    assert.is(res.status, 401, String(authorization));
    assert.match(res.headers.get('www-authenticate') ?? '', /Basic realm="tessera"/);
    await res.text();
  }
  const log = (await io.call('ACL', 'LOG')) as Array<Array<string | number>>;
  // Entries of the same reason, object and user are grouped, as Redis does: counts add up.
  const auths = log.filter((e) => e[e.indexOf('reason') + 1] === 'auth');
  const failures = auths.reduce((n, e) => n + Number(e[e.indexOf('count') + 1]), 0);
  assert.is(failures, 5, JSON.stringify(log));
  // Health stays open without credentials.
  assert.is((await fetch(`http://127.0.0.1:${s!.httpPort}/health/live`, { signal: AbortSignal.timeout(5000) })).status, 200);
});

t('a memcached client of a deleted user is closed', async () => {
  const io = await admin();
  await io.call('ACL', 'SETUSER', 'temp', 'on', '>t-pw', '+@all', '~*');
  const sock = connect(s!.memcachePort, '127.0.0.1');
  let data = '';
  let closed = false;
  sock.on('data', (d: Buffer) => (data += d.toString('latin1')));
  sock.on('close', () => (closed = true));
  sock.on('error', () => undefined);
  try {
    sock.write(textAuth('temp', 't-pw'));
    await waitFor('logged in', () => data === 'STORED\r\n', 5000);
    await io.call('ACL', 'DELUSER', 'temp');
    await waitFor('the connection closed', () => closed, 5000);
  } finally {
    sock.destroy();
  }
});

t('with a nopass default user a memcached connection needs no login; SASL failures are throttled as AUTH', async () => {
  const io = await admin();
  // The default user without a password: requests run at once.
  await io.call('ACL', 'SETUSER', 'default', 'nopass');
  const open = await exchange(s!.memcachePort, Buffer.from('set free 0 0 1\r\nx\r\nget free\r\n'), (d) => d.toString('latin1').endsWith('END\r\n'));
  assert.is(open.data.toString('latin1'), 'STORED\r\nVALUE free 0 1\r\nx\r\nEND\r\n');
  await io.call('ACL', 'SETUSER', 'default', 'resetpass', `>${DEFAULT_PW}`);
  // Wrong SASL passwords from this address until a right one is refused too; the throttle is per
  // address and shared with AUTH, so RESP's AUTH with the right password is refused as well (each
  // round of failures doubles the delay, so a slow machine still sees it within a round or two).
  const reader = USERS[0]!;
  let saslThrottled = false;
  let authThrottled = false;
  for (let round = 0; round < 5 && !authThrottled; round++) {
    const wrong = Array.from({ length: 12 }, (_, i) => saslPlain(reader.name, `wrong${i}`));
    const b = await exchange(s!.memcachePort, [...wrong, saslPlain(reader.name, reader.pass)], binCount(13));
    saslThrottled ||= parseBin(b.data)[12]!.status === AUTH_ERROR;
    const cli = new Redis({ port: s!.port, host: '127.0.0.1', lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    cli.on('error', () => undefined);
    clients.push(cli);
    await cli.connect();
    try {
      await cli.call('AUTH', reader.name, reader.pass);
    } catch (e) {
      authThrottled = /WRONGPASS/.test((e as Error).message);
    }
    cli.disconnect();
  }
  assert.ok(saslThrottled, 'a right SASL password after repeated failures is refused');
  assert.ok(authThrottled, 'RESP AUTH from the throttled address is refused too');
});

t.run();
