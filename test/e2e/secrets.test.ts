// Secrets never leave the server (issue 18): every way a password reaches Tessera -- AUTH and
// HELLO AUTH (right and wrong), ACL SETUSER >pass, CONFIG SET requirepass / masterauth, MIGRATE AUTH and AUTH2, a
// replica's masterauth, cluster-bus-secret, memcached SASL PLAIN and text auth, HTTP bearer and basic credentials -- is used
// with the server logging at debug into a file; then none of the secret strings may appear in
// the log file, INFO all, CLIENT LIST, ACL LOG, ACL LIST / GETUSER (hashes only), SLOWLOG GET
// (every command logged: secrets shown as "(redacted)", issue 19) or any reply.

import { connect } from 'node:net';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rawClient, startTessera, waitFor, withTimeout, type RawClient, type ServerHandle } from './harness.js';
import { bin, OPS } from './memcache-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-secrets-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

// Distinct, greppable secrets: each names where it was used.
const S = {
  requirepass: 'Sx-requirepass-5b1f',
  wrongAuth: 'Sx-wrongauth-77c2',
  helloWrong: 'Sx-hellowrong-9d0e',
  masterauth: 'Sx-masterauth-3a44',
  replicaWrong: 'Sx-replicawrong-e610',
  migrate: 'Sx-migrate-auth-1c9b',
  migrate2: 'Sx-migrate-auth2-f2d8',
  saslWrong: 'Sx-saslwrong-8e31',
  textWrong: 'Sx-textwrong-04aa',
  bearerWrong: 'Sx-bearerwrong-c5d7',
  newpass: 'Sx-newpass-6f02',
  aclUser: 'Sx-acluser-pass-2b7e',
  aclWrong: 'Sx-aclwrong-a91d',
  aclHashed: 'Sx-aclhashed-55e0',
  busSecret: 'Sx-bussecret-7d13',
  basicWrong: 'Sx-basicwrong-0b6c',
  tlsPass: 'Sx-tlskeypass-93fa',
} as const;
const SECRETS = Object.values(S);

function leaks(where: string, text: string): string[] {
  return SECRETS.filter((s) => text.includes(s)).map((s) => `${s} in ${where}`);
}

/** Everything a raw exchange got back (the connection is closed by the server or after the deadline). */
function exchange(port: number, payload: Buffer | string, deadlineMs = 1500): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(payload));
    let text = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve(text);
    }, deadlineMs);
    s.on('data', (c: Buffer) => (text += c.toString('latin1')));
    s.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    s.on('error', reject);
  });
}

function httpGet(port: number, path: string, headers: Record<string, string>): Promise<string> {
  return withTimeout(new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = `${res.statusCode} ${JSON.stringify(res.headers)} `;
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  }), 5000, `GET ${path}`);
}

const test = suite('secrets');

test('no password used anywhere shows up in the debug log, INFO, CLIENT LIST or replies', async () => {
  const logfile = join(dir, 'tessera.log');
  const replicaLog = join(dir, 'replica.log');
  let replies = '';
  const t = await startTessera({ loglevel: 'debug', memcache: true, http: true, args: ['--logfile', logfile, '--requirepass', S.requirepass, '--slowlog-log-slower-than', '0', '--slowlog-max-len', '10000'] });
  let replica: ServerHandle | null = null;
  let target: ServerHandle | null = null;
  let c: RawClient | null = null;
  try {
    c = await rawClient(t.port);
    const call = async (...args: string[]): Promise<string> => {
      const r = (await c!.call(args)).text;
      replies += r;
      return r;
    };
    assert.match(await call('AUTH', S.wrongAuth), /^-WRONGPASS/);
    assert.match(await call('AUTH', 'default', S.wrongAuth), /^-WRONGPASS/);
    assert.match(await call('HELLO', '3', 'AUTH', 'default', S.helloWrong), /^-WRONGPASS/);
    assert.is(await call('AUTH', S.requirepass), '+OK\r\n');
    assert.match(await call('HELLO', '2', 'AUTH', 'default', S.requirepass), /^\*/);
    assert.is(await call('CONFIG', 'SET', 'masterauth', S.masterauth), '+OK\r\n');
    // ACL users: a password set in clear, failed logins as that user (ACL LOG records them).
    assert.is(await call('ACL', 'SETUSER', 'svc', 'on', `>${S.aclUser}`, `>${S.aclHashed}`, '+@all', '~*'), '+OK\r\n');
    assert.match(await call('AUTH', 'svc', S.aclWrong), /^-WRONGPASS/);
    assert.match(await call('HELLO', '3', 'AUTH', 'svc', S.aclWrong), /^-WRONGPASS/);
    const svc = await rawClient(t.port);
    replies += (await svc.call(['AUTH', 'svc', S.aclUser])).text;
    replies += (await svc.call(['CLIENT', 'SETNAME', 'svc-client'])).text;
    assert.match(await call('ACL', 'SETUSER', 'svc', `<${S.aclHashed}`), /^\+OK/);
    assert.match(await call('ACL', 'SETUSER', 'svc', 'bad-rule-here'), /^-ERR/);
    assert.is(await call('SET', 'mk', 'v'), '+OK\r\n');
    // MIGRATE with AUTH and AUTH2 to a target with another password: refused by the target.
    target = await startTessera({ args: ['--requirepass', 'other-target-pass'] });
    replies += await call('MIGRATE', '127.0.0.1', String(target.port), 'mk', '0', '2000', 'COPY', 'AUTH', S.migrate);
    replies += await call('MIGRATE', '127.0.0.1', String(target.port), 'mk', '0', '2000', 'COPY', 'AUTH2', 'default', S.migrate2);
    // A replica whose masterauth is wrong: its log must not show it either.
    replica = await startTessera({ loglevel: 'debug', args: ['--logfile', replicaLog, '--masterauth', S.replicaWrong, '--replicaof', '127.0.0.1', String(t.port)] });
    await waitFor('the replica to try its primary', () => readFileSync(replicaLog, 'utf8').includes('Primary replied to AUTH'));
    // memcached: SASL PLAIN with a wrong password, then the text protocol's auth.
    replies += await exchange(t.memcachePort, bin(OPS.SASL_AUTH, { key: 'PLAIN', value: `\0user\0${S.saslWrong}` }));
    replies += await exchange(t.memcachePort, `set auth 0 0 ${5 + S.textWrong.length}\r\nuser ${S.textWrong}\r\n`);
    // HTTP: a wrong bearer token, then the right one.
    replies += await httpGet(t.httpPort, '/v1/keys/mk', { authorization: `Bearer ${S.bearerWrong}` });
    replies += await httpGet(t.httpPort, '/v1/keys/mk', { authorization: `Bearer ${S.requirepass}` });
    replies += await httpGet(t.httpPort, '/v1/keys/mk', { authorization: `Basic ${Buffer.from(`svc:${S.basicWrong}`).toString('base64')}` });
    replies += await httpGet(t.httpPort, '/v1/keys/mk', { authorization: `Basic ${Buffer.from(`svc:${S.aclUser}`).toString('base64')}` });
    assert.is(await call('CONFIG', 'SET', 'cluster-bus-secret', S.busSecret), '+OK\r\n');
    // tls-key-file-pass: accepted or refused (no key file to decrypt here), never echoed either way.
    assert.match(await call('CONFIG', 'SET', 'tls-key-file-pass', S.tlsPass), /^[+-]/);
    // The password changes while clients are logged in.
    assert.is(await call('CONFIG', 'SET', 'requirepass', S.newpass), '+OK\r\n');
    // What an operator looks at.
    const info = await call('INFO', 'all');
    const list = await call('CLIENT', 'LIST');
    const aclLog = await call('ACL', 'LOG');
    const aclList = await call('ACL', 'LIST');
    const getUser = await call('ACL', 'GETUSER', 'svc');
    const slowlog = await call('SLOWLOG', 'GET', '-1');
    // Every password-carrying command is there, its secrets redacted as redis-server 7.0.15 does.
    for (const shown of ['AUTH', 'HELLO', 'MIGRATE', 'SETUSER', 'requirepass', 'masterauth', 'cluster-bus-secret', 'tls-key-file-pass']) {
      assert.ok(slowlog.includes(`${shown}\r\n`), `SLOWLOG shows ${shown}: ${slowlog.slice(0, 2000)}`);
    }
    assert.ok(slowlog.includes('$10\r\n(redacted)\r\n'), 'SLOWLOG shows (redacted)');
    assert.match(aclLog, /auth/, 'ACL LOG recorded the failed logins');
    svc.close();
    const failures = [...leaks('INFO all', info), ...leaks('CLIENT LIST', list), ...leaks('ACL LOG', aclLog), ...leaks('ACL LIST', aclList), ...leaks('ACL GETUSER', getUser), ...leaks('SLOWLOG GET', slowlog)];
    for (const x of [info, list, aclLog, aclList, getUser, slowlog]) replies = replies.replace(x, '');
    failures.push(...leaks('the replies', replies));
    await c.call(['SHUTDOWN', 'NOSAVE']).catch(() => undefined);
    await t.exited;
    await replica.stop();
    const log = readFileSync(logfile, 'utf8');
    assert.ok(log.includes('"level":20') || log.includes('ready to exit'), `the log was written at debug: ${log.slice(0, 500)}`);
    failures.push(...leaks('the log file', log), ...leaks("the replica's log file", readFileSync(replicaLog, 'utf8')));
    assert.equal(failures, []);
  } finally {
    c?.close();
    await Promise.all([t.stop(), replica?.stop(), target?.stop()]);
  }
});

test.run();
