// TLS on every client door, with certificates made by openssl for this run (tls-certs.ts):
// redis-cli --tls, ioredis and node-redis with TLS options (SET/GET, pipelines, pub/sub), mutual
// TLS (tls-auth-clients yes / optional / no), a client refusing an expired server certificate or
// one of another CA, CONFIG SET reloads (a new connection sees the new certificate; a bad file is
// refused and the old one kept), tls-protocols and session caching, memcached over TLS, HTTPS,
// the plain port beside tls-port, TLS only (port 0), and garbage on the TLS port.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import tls from 'node:tls';
import https from 'node:https';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import {
  TESSERA_MAIN, encodeCommand, freePort, parseReply, plain, redisCli, requireTool, startTessera, waitFor, withTimeout,
  type Plain, type ServerHandle,
} from './harness.js';
import { makeTestCerts, pem, tlsServerArgs, type TestCerts } from './tls-certs.js';

const TEST_TIMEOUT_MS = 30_000;
const t = suite('TLS: tls-port, mutual TLS, reload, memcached and HTTPS');

let certs: TestCerts;
/** TLS on all three doors, tls-auth-clients no; plain port too. */
let main: ServerHandle;
let mainTls = 0;
/** tls-auth-clients yes, an encrypted key (tls-key-file-pass), the CA from tls-ca-cert-dir. */
let mutual: ServerHandle;
let mutualTls = 0;

t.before(async () => {
  requireTool('redis-cli', ['--version'], 'redis-tools');
  certs = makeTestCerts();
  mainTls = await freePort();
  mutualTls = await freePort();
  [main, mutual] = await Promise.all([
    startTessera({ shards: 2, memcache: true, http: true, args: [...tlsServerArgs(certs, mainTls), '--memcache-tls', 'yes', '--http-tls', 'yes'] }),
    startTessera({ shards: 1, args: ['--tls-port', String(mutualTls), '--tls-cert-file', certs.serverCert, '--tls-key-file', certs.serverKeyEncrypted,
      '--tls-key-file-pass', certs.keyPass, '--tls-ca-cert-dir', certs.caDir, '--tls-auth-clients', 'yes'] }),
  ]);
});

t.after(async () => {
  await Promise.all([main?.stop(), mutual?.stop()]);
  certs?.remove();
});

const it = (name: string, fn: () => Promise<void>): void => t(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));

/** A TLS socket once its handshake is done (rejects on a handshake or verification error). */
function tlsOpen(port: number, opts: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port, ca: pem(certs.caCert), ...opts }, () => {
      sock.off('error', reject);
      resolve(sock);
    });
    sock.once('error', reject);
  });
}

/** Sends one RESP command and reads its reply; rejects when the server closes or errs first. */
function tlsCommand(sock: tls.TLSSocket, args: string[]): Promise<Plain> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const r = parseReply(buf, 0);
      if (r === null) return;
      done();
      resolve(plain(r.value));
    };
    const onEnd = (): void => {
      done();
      reject(new Error('connection closed before a reply'));
    };
    const onError = (e: Error): void => {
      done();
      reject(e);
    };
    const done = (): void => {
      sock.off('data', onData);
      sock.off('close', onEnd);
      sock.off('error', onError);
    };
    sock.on('data', onData);
    sock.once('close', onEnd);
    sock.once('error', onError);
    sock.write(encodeCommand(args));
  });
}

/** PING over a fresh TLS connection: 'PONG', or the error that ended it. */
async function tlsPing(port: number, opts: tls.ConnectionOptions = {}): Promise<string> {
  let sock: tls.TLSSocket | undefined;
  try {
    sock = await tlsOpen(port, opts);
    const r = await tlsCommand(sock, ['PING']);
    return String(r);
  } catch (e) {
    return `error: ${(e as Error).message}`;
  } finally {
    sock?.destroy();
  }
}

const clientCert = (): tls.ConnectionOptions => ({ cert: pem(certs.clientCert), key: pem(certs.clientKey) });

it('redis-cli --tls --cacert: SET/GET over TLS, seen on the plain port too', async () => {
  const cli = (extra: string[], ...cmd: string[]) => redisCli(['-p', String(mainTls), '--tls', '--cacert', certs.caCert, ...extra, ...cmd], { timeoutMs: 10_000 });
  const set = await cli([], 'SET', 'tls:cli', 'hello');
  assert.is(set.stdout.trim(), 'OK', set.stderr);
  assert.is((await cli([], 'GET', 'tls:cli')).stdout.trim(), 'hello');
  const plainPort = await redisCli(['-p', String(main.port), 'GET', 'tls:cli'], { timeoutMs: 10_000 });
  assert.is(plainPort.stdout.trim(), 'hello');
  // Without --tls, redis-cli's plain text on the TLS port is not served.
  const noTls = await redisCli(['-p', String(mainTls), 'PING'], { timeoutMs: 10_000 });
  assert.not.ok(noTls.stdout.includes('PONG'));
  // CLIENT LIST shows a TLS client like any other (Redis 7.0 has no TLS field).
  const list = await cli([], 'CLIENT', 'LIST');
  assert.match(list.stdout, new RegExp(`laddr=127\\.0\\.0\\.1:${mainTls} `));
});

it('redis-cli --tls with --cert/--key against tls-auth-clients yes (encrypted key, CA directory)', async () => {
  const base = ['-p', String(mutualTls), '--tls', '--cacert', certs.caCert];
  const ok = await redisCli([...base, '--cert', certs.clientCert, '--key', certs.clientKey, 'SET', 'm', '1'], { timeoutMs: 10_000 });
  assert.is(ok.stdout.trim(), 'OK', ok.stderr + ok.stdout);
  const refused = await redisCli([...base, 'PING'], { timeoutMs: 10_000 });
  assert.not.ok(refused.stdout.includes('PONG'), refused.stdout);
});

it('ioredis tls: SET/GET, a pipeline of 100, pub/sub', async () => {
  const opts = { host: '127.0.0.1', port: mainTls, tls: { ca: pem(certs.caCert) }, maxRetriesPerRequest: 0, retryStrategy: () => null };
  const r = new Redis(opts);
  const sub = new Redis(opts);
  try {
    assert.is(await r.set('tls:io', 'v'), 'OK');
    assert.is(await r.get('tls:io'), 'v');
    const p = r.pipeline();
    for (let i = 0; i < 100; i++) p.set(`tls:p:${i}`, String(i));
    for (let i = 0; i < 100; i++) p.get(`tls:p:${i}`);
    const res = await p.exec();
    assert.is(res?.length, 200);
    assert.equal(res?.slice(100).map(([e, v]) => (e === null ? v : String(e))), Array.from({ length: 100 }, (_, i) => String(i)));
    const got = new Promise<string>((resolve) => sub.on('message', (_ch: string, msg: string) => resolve(msg)));
    await sub.subscribe('tls:chan');
    await waitFor('subscriber counted', async () => (await r.publish('tls:chan', 'over tls')) === 1, 5000);
    assert.is(await got, 'over tls');
  } finally {
    r.disconnect();
    sub.disconnect();
  }
});

it('node-redis socket.tls: SET/GET, MULTI, pub/sub', async () => {
  const c = createClient({ socket: { host: '127.0.0.1', port: mainTls, tls: true, ca: pem(certs.caCert), reconnectStrategy: false } });
  c.on('error', () => undefined);
  const sub = c.duplicate();
  sub.on('error', () => undefined);
  await Promise.all([c.connect(), sub.connect()]);
  try {
    assert.is(await c.set('tls:nr', 'x'), 'OK');
    assert.is(await c.get('tls:nr'), 'x');
    assert.equal(await c.multi().incr('tls:n').incr('tls:n').exec(), [1, 2]);
    const got = new Promise<string>((resolve) => void sub.subscribe('tls:nr:chan', (m) => resolve(m)));
    await waitFor('subscriber counted', async () => (await c.publish('tls:nr:chan', 'hi')) === 1, 5000);
    assert.is(await got, 'hi');
  } finally {
    await Promise.allSettled([c.quit(), sub.quit()]);
  }
});

it('tls-auth-clients yes refuses a client without a certificate or with another CA\'s; optional accepts none, refuses a bad one', async () => {
  assert.is(await tlsPing(mutualTls, clientCert()), 'PONG');
  assert.match(await tlsPing(mutualTls), /^error:/);
  assert.match(await tlsPing(mutualTls, { cert: pem(certs.otherCert), key: pem(certs.otherKey) }), /^error:/);
  const admin = await tlsOpen(mutualTls, clientCert());
  try {
    assert.is(await tlsCommand(admin, ['CONFIG', 'SET', 'tls-auth-clients', 'optional']), 'OK');
    assert.is(await tlsPing(mutualTls), 'PONG');
    assert.is(await tlsPing(mutualTls, clientCert()), 'PONG');
    assert.match(await tlsPing(mutualTls, { cert: pem(certs.otherCert), key: pem(certs.otherKey) }), /^error:/);
    assert.is(await tlsCommand(admin, ['CONFIG', 'SET', 'tls-auth-clients', 'yes']), 'OK');
    assert.match(await tlsPing(mutualTls), /^error:/);
  } finally {
    admin.destroy();
  }
});

it('the client refuses an expired server certificate and one of a CA it does not trust', async () => {
  const port = await freePort();
  const expired = await startTessera({ shards: 1, args: ['--tls-port', String(port), '--tls-cert-file', certs.expiredCert, '--tls-key-file', certs.expiredKey, '--tls-auth-clients', 'no'] });
  try {
    assert.match(await tlsPing(port), /certificate has expired/);
    const cli = await redisCli(['-p', String(port), '--tls', '--cacert', certs.caCert, 'PING'], { timeoutMs: 10_000 });
    assert.not.ok(cli.stdout.includes('PONG'));
    assert.match(cli.stderr + cli.stdout, /certificate has expired|SSL/i);
  } finally {
    await expired.stop();
  }
  assert.match(await tlsPing(mainTls, { ca: pem(certs.otherCaCert) }), /unable to verify|self.signed|certificate/i);
  const cli = await redisCli(['-p', String(mainTls), '--tls', '--cacert', certs.otherCaCert, 'PING'], { timeoutMs: 10_000 });
  assert.not.ok(cli.stdout.includes('PONG'));
});

it('tls-protocols and tls-session-caching take effect for new connections', async () => {
  const admin = await tlsOpen(mainTls);
  try {
    assert.is(await tlsCommand(admin, ['CONFIG', 'SET', 'tls-protocols', 'TLSv1.3']), 'OK');
    assert.match(await tlsPing(mainTls, { maxVersion: 'TLSv1.2' }), /^error:/);
    assert.is(await tlsPing(mainTls, { minVersion: 'TLSv1.3' }), 'PONG');
    assert.equal(await tlsCommand(admin, ['CONFIG', 'SET', 'tls-protocols', 'TLSv9']),
      { error: "ERR CONFIG SET failed (possibly related to argument 'tls-protocols') - Unable to update TLS configuration. Check server logs." });
    assert.is(await tlsCommand(admin, ['CONFIG', 'SET', 'tls-protocols', 'TLSv1.2 TLSv1.3']), 'OK');
    // Session resumption (TLSv1.2 session ids / tickets): on by default, off with caching no.
    const resumed = async (): Promise<boolean> => {
      const first = await tlsOpen(mainTls, { maxVersion: 'TLSv1.2' });
      await tlsCommand(first, ['PING']);
      const session = first.getSession();
      first.destroy();
      const second = await tlsOpen(mainTls, { maxVersion: 'TLSv1.2', session });
      const reused = second.isSessionReused();
      second.destroy();
      return reused;
    };
    assert.ok(await resumed(), 'a session is resumed with tls-session-caching yes');
    assert.is(await tlsCommand(admin, ['CONFIG', 'SET', 'tls-session-caching', 'no']), 'OK');
    assert.not.ok(await resumed(), 'no resumption with tls-session-caching no');
    assert.is(await tlsCommand(admin, ['CONFIG', 'SET', 'tls-session-caching', 'yes']), 'OK');
    assert.equal(await tlsCommand(admin, ['CONFIG', 'GET', 'tls-session-cache-*']), ['tls-session-cache-size', '20480', 'tls-session-cache-timeout', '300']);
  } finally {
    admin.destroy();
  }
});

it('memcached text protocol over TLS (memcache-tls yes)', async () => {
  const sock = await tlsOpen(main.memcachePort);
  try {
    let got = '';
    sock.on('data', (c: Buffer) => (got += c.toString('latin1')));
    sock.write('set tls:mc 5 0 3\r\nabc\r\nget tls:mc\r\n');
    await waitFor('memcached reply over TLS', () => got.endsWith('END\r\n'), 5000);
    assert.is(got, 'STORED\r\nVALUE tls:mc 5 3\r\nabc\r\nEND\r\n');
  } finally {
    sock.destroy();
  }
});

it('HTTPS on the HTTP port (http-tls yes): /health and /v1/keys with the CA', async () => {
  const get = (path: string, ca: Buffer): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port: main.httpPort, path, ca, timeout: 5000 }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
    });
  const health = await get('/health', pem(certs.caCert));
  assert.is(health.status, 200);
  assert.is((JSON.parse(health.body) as { status: string }).status, 'ok');
  const r = new Redis({ port: main.port, maxRetriesPerRequest: 0 });
  await r.set('tls:http', 'via https');
  r.disconnect();
  assert.equal(await get('/v1/keys/tls%3Ahttp', pem(certs.caCert)), { status: 200, body: 'via https' });
  let refused = '';
  await get('/health', pem(certs.otherCaCert)).catch((e: Error) => (refused = e.message));
  assert.match(refused, /certificate|verify/i);
});

it('garbage and plain text on the TLS port close only that connection', async () => {
  const keep = await tlsOpen(mainTls);
  try {
    for (const junk of ['PING\r\n', '*1\r\n$4\r\nPING\r\n', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 37) % 256))]) {
      const raw = tcpConnect(mainTls, '127.0.0.1');
      raw.on('error', () => undefined);
      let answer = '';
      raw.on('data', (c: Buffer) => (answer += c.toString('latin1')));
      raw.write(junk);
      await withTimeout(new Promise((r) => raw.once('close', r)), 15_000, 'server closes a non-TLS connection');
      assert.not.ok(answer.includes('PONG'));
    }
    // A handshake that never completes: closed by the handshake timeout; others go on meanwhile.
    const silent = tcpConnect(mainTls, '127.0.0.1');
    silent.on('error', () => undefined);
    assert.is(await tlsCommand(keep, ['PING']), 'PONG');
    assert.is(await tlsPing(mainTls), 'PONG');
    silent.destroy();
  } finally {
    keep.destroy();
  }
});

it('TLS connections count towards maxclients, with the plain port\'s', async () => {
  const port = await freePort();
  const small = await startTessera({ shards: 1, args: [...tlsServerArgs(certs, port), '--maxclients', '2'] });
  const open: tls.TLSSocket[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const s = await tlsOpen(port);
      assert.is(await tlsCommand(s, ['PING']), 'PONG');
      open.push(s);
    }
    const third = await tlsOpen(port);
    open.push(third);
    assert.equal(await tlsCommand(third, ['PING']), { error: 'ERR max number of clients reached' });
    const plainCli = await redisCli(['-p', String(small.port), 'PING'], { timeoutMs: 10_000 });
    assert.match(plainCli.stdout + plainCli.stderr, /max number of clients reached/);
  } finally {
    for (const s of open) s.destroy();
    await small.stop();
  }
});

it('port 0 with tls-port serves TLS only (as Redis)', async () => {
  const port = await freePort();
  const proc = spawn(process.execPath, [TESSERA_MAIN, 'server', '--port', '0', '--shards', '1', '--memcache-port', '0', '--http-port', '0',
    '--save', '', '--dir', certs.dir, ...tlsServerArgs(certs, port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
  try {
    await waitFor("TLS-only server answers PING", async () => (await tlsPing(port)) === 'PONG', 15_000);
    assert.match(out, /"port":0/);
    assert.not.match(out, /Ready to accept connections tcp/);
  } finally {
    if (proc.pid !== undefined && proc.exitCode === null) process.kill(proc.pid, 'SIGKILL');
  }
});

it('CONFIG SET tls-cert-file/tls-key-file reloads: a new connection sees the new certificate, old ones stay; a bad file is refused', async () => {
  const before = await tlsOpen(mainTls);
  assert.is(before.getPeerCertificate().serialNumber, certs.serials.server);
  try {
    assert.equal(await tlsCommand(before, ['CONFIG', 'SET', 'tls-cert-file', '/nonexistent/cert.pem']),
      { error: "ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - Unable to update TLS configuration. Check server logs." });
    // A key that does not match the certificate is refused too, and nothing changes.
    assert.ok(typeof (await tlsCommand(before, ['CONFIG', 'SET', 'tls-cert-file', certs.server2Cert])) === 'object');
    assert.equal(await tlsCommand(before, ['CONFIG', 'GET', 'tls-cert-file']), ['tls-cert-file', certs.serverCert]);
    assert.is(await tlsCommand(before, ['CONFIG', 'SET', 'tls-cert-file', certs.server2Cert, 'tls-key-file', certs.server2Key]), 'OK');
    const after = await tlsOpen(mainTls);
    const peer = after.getPeerCertificate();
    assert.is(peer.serialNumber, certs.serials.server2);
    assert.is(peer.subject.CN, 'tessera-reloaded');
    assert.is(await tlsCommand(after, ['PING']), 'PONG');
    after.destroy();
    // The connection made before the reload goes on with its session.
    assert.is(await tlsCommand(before, ['PING']), 'PONG');
    // memcached and HTTPS use the reloaded certificate as well.
    const mc = await tlsOpen(main.memcachePort);
    assert.is(mc.getPeerCertificate().serialNumber, certs.serials.server2);
    mc.destroy();
  } finally {
    before.destroy();
  }
});

t.run();
