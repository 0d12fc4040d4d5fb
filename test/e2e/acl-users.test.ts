// ACL users end to end: `user` lines in the config file, the aclfile (ACL SAVE, a restart,
// ACL LOAD of an edited file), Redis's rule against both at once, requirepass as the default
// user's password, ioredis and node-redis logging in with a username, and the login throttle
// (failures from one address refuse even the right password there, not from another address).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { rawClient, runTesseraCli, startTessera, withTimeout, type ServerHandle } from './harness.js';

const TEST_TIMEOUT_MS = 60_000;
const test = suite('acl users');
const dirs: string[] = [];
const servers: ServerHandle[] = [];
const freshDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'tessera-acl-'));
  dirs.push(d);
  return d;
};
test.after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const timed = (name: string, fn: () => Promise<void>): void => test(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));

timed('user lines in the config file; ioredis and node-redis log in with a username', async () => {
  const dir = freshDir();
  const conf = join(dir, 'tessera.conf');
  writeFileSync(conf, 'user alice on >wonder ~app:* +@read +@write -flushall +acl|whoami\nuser default on >adminpw ~* &* +@all\n');
  const srv = await startTessera({ args: ['--config', conf] });
  servers.push(srv);
  const io = new Redis({ port: srv.port, username: 'alice', password: 'wonder', lazyConnect: true, maxRetriesPerRequest: 0, enableReadyCheck: false });
  try {
    await io.connect();
    assert.is(await io.call('ACL', 'WHOAMI'), 'alice');
    assert.is(await io.set('app:1', 'v'), 'OK');
    assert.is(await io.get('app:1'), 'v');
    await io.set('other:1', 'v').then(() => assert.unreachable('allowed'), (e: Error) => assert.match(e.message, /NOPERM this user has no permissions to access one of the keys/));
    await io.flushall().then(() => assert.unreachable('allowed'), (e: Error) => assert.match(e.message, /NOPERM this user has no permissions to run the 'flushall' command/));
  } finally {
    io.disconnect();
  }
  const nr = createClient({ socket: { port: srv.port, host: '127.0.0.1', reconnectStrategy: false }, username: 'alice', password: 'wonder' });
  nr.on('error', () => undefined);
  try {
    await nr.connect();
    assert.is(await nr.get('app:1'), 'v');
    await nr.sendCommand(['CONFIG', 'GET', 'port']).then(() => assert.unreachable('allowed'), (e: Error) => assert.match(e.message, /NOPERM.*'config\|get'/));
  } finally {
    await nr.disconnect().catch(() => undefined);
  }
  // The default user has a password now: a new client must log in.
  const c = await rawClient(srv.port);
  try {
    assert.is((await c.call(['GET', 'app:1'])).text, '-NOAUTH Authentication required.\r\n');
    assert.is((await c.call(['AUTH', 'adminpw'])).text, '+OK\r\n');
    assert.is((await c.call(['ACL', 'WHOAMI'])).text, '$7\r\ndefault\r\n');
  } finally {
    c.close();
  }
});

timed("users in the config file and an aclfile at once are refused, as Redis refuses them", async () => {
  const dir = freshDir();
  const conf = join(dir, 'tessera.conf');
  writeFileSync(conf, `user alice on nopass +@all\naclfile ${join(dir, 'users.acl')}\n`);
  const r = await runTesseraCli(['server', '--config', conf, '--port', '0', '--memcache-port', '0', '--http-port', '0', '--dir', dir]);
  assert.is.not(r.code, 0);
  assert.match(r.out, /users defined in the config file and at the same setting an ACL file path is invalid/);
  // A bad user line stops the start with Redis's text for the rule.
  const bad = await runTesseraCli(['server', '--user', 'bob on +nosuch', '--port', '0', '--memcache-port', '0', '--http-port', '0', '--dir', dir, '--save', '']);
  assert.is.not(bad.code, 0);
  assert.match(bad.out, /Error in user declaration: Error in ACL SETUSER modifier '\+nosuch': Unknown command or category name in ACL/);
});

timed('aclfile: ACL SAVE, a restart keeps the users, ACL LOAD reads an edited file', async () => {
  const dir = freshDir();
  const file = join(dir, 'users.acl');
  writeFileSync(file, 'user default on nopass ~* &* +@all\nuser bob on >b1 ~b:* +get\n');
  let srv = await startTessera({ args: ['--dir', dir, '--aclfile', 'users.acl'] });
  const c = await rawClient(srv.port);
  try {
    assert.is((await c.call(['ACL', 'SETUSER', 'carol', 'on', '>c1', '%R~c:*', '+@read'])).text, '+OK\r\n');
    assert.is((await c.call(['ACL', 'SAVE'])).text, '+OK\r\n');
  } finally {
    c.close();
  }
  const saved = readFileSync(file, 'utf8');
  assert.match(saved, /^user bob on #[0-9a-f]{64} ~b:\* resetchannels -@all \+get$/m);
  assert.match(saved, /^user carol on #[0-9a-f]{64} %R~c:\* resetchannels -@all \+@read$/m);
  await srv.stop();
  srv = await startTessera({ args: ['--dir', dir, '--aclfile', 'users.acl'] });
  servers.push(srv);
  const d = await rawClient(srv.port);
  try {
    assert.is((await d.call(['ACL', 'USERS'])).text, '*3\r\n$3\r\nbob\r\n$5\r\ncarol\r\n$7\r\ndefault\r\n');
    assert.is((await d.call(['AUTH', 'carol', 'c1'])).text, '+OK\r\n');
    assert.is((await d.call(['GET', 'c:1'])).text, '$-1\r\n');
    assert.match((await d.call(['SET', 'c:1', 'v'])).text, /^-NOPERM/);
    assert.is((await d.call(['AUTH', 'default', 'any'])).text, '+OK\r\n');
    writeFileSync(file, `${saved}user dave on nopass +ping\n`.replace(/^user bob .*\n/m, ''));
    assert.is((await d.call(['ACL', 'LOAD'])).text, '+OK\r\n');
    assert.is((await d.call(['ACL', 'USERS'])).text, '*3\r\n$5\r\ncarol\r\n$4\r\ndave\r\n$7\r\ndefault\r\n');
    // A bad file changes nothing.
    writeFileSync(file, 'user eve on +nosuchcommand\n');
    assert.match((await d.call(['ACL', 'LOAD'])).text, /^-ERR .*users\.acl.*Unknown command or category name in ACL/);
    assert.is((await d.call(['ACL', 'USERS'])).text, '*3\r\n$5\r\ncarol\r\n$4\r\ndave\r\n$7\r\ndefault\r\n');
  } finally {
    d.close();
  }
});

timed('requirepass is the default user\'s password (CONFIG SET too)', async () => {
  const srv = await startTessera({ args: ['--requirepass', 'pw1'] });
  servers.push(srv);
  const c = await rawClient(srv.port);
  try {
    assert.is((await c.call(['PING'])).text, '-NOAUTH Authentication required.\r\n');
    assert.is((await c.call(['AUTH', 'pw1'])).text, '+OK\r\n');
    assert.match((await c.call(['ACL', 'LIST'])).text, /user default on #[0-9a-f]{64} ~\* &\* \+@all/);
    assert.is((await c.call(['CONFIG', 'SET', 'requirepass', 'pw2'])).text, '+OK\r\n');
    assert.is((await c.call(['AUTH', 'pw1'])).text, '-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    assert.is((await c.call(['AUTH', 'default', 'pw2'])).text, '+OK\r\n');
    assert.is((await c.call(['CONFIG', 'SET', 'requirepass', ''])).text, '+OK\r\n');
    assert.match((await c.call(['ACL', 'LIST'])).text, /user default on nopass ~\* &\* \+@all/);
  } finally {
    c.close();
  }
});

/** A raw RESP exchange from a chosen local address (loopback has all of 127/8). */
function authFrom(localAddress: string, port: number, user: string, pass: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: '127.0.0.1', port, localAddress });
    let got = '';
    s.on('connect', () => s.write(`*3\r\n$4\r\nAUTH\r\n$${user.length}\r\n${user}\r\n$${pass.length}\r\n${pass}\r\n`));
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.endsWith('\r\n')) {
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', reject);
  });
}

timed('login throttle: repeated failures from one address refuse it, not another address', async () => {
  const srv = await startTessera({ args: [] });
  servers.push(srv);
  const c = await rawClient(srv.port);
  try {
    assert.is((await c.call(['ACL', 'SETUSER', 'tom', 'on', '>right', '+@all', '~*'])).text, '+OK\r\n');
    for (let i = 0; i < 10; i++) assert.match(await authFrom('127.0.0.3', srv.port, 'tom', 'wrong'), /^-WRONGPASS/);
    // Throttled now: the right password is refused from that address without being checked...
    assert.match(await authFrom('127.0.0.3', srv.port, 'tom', 'right'), /^-WRONGPASS/);
    // ...while another address logs in.
    assert.is(await authFrom('127.0.0.4', srv.port, 'tom', 'right'), '+OK\r\n');
    const info = (await c.call(['INFO', 'stats'])).text;
    assert.match(info, /acl_login_throttled:[1-9]/);
    assert.match(info, /acl_access_denied_auth:1[1-9]/);
    const log = (await c.call(['ACL', 'LOG', '1'])).text;
    assert.match(log, /reason\r\n\$4\r\nauth\r\n/);
    assert.match(log, /count\r\n:1[01]\r\n/);
  } finally {
    c.close();
  }
});

test.run();
