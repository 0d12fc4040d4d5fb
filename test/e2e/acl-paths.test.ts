// ACL on the paths around the dispatcher's own check, against a real redis-server 7.0 byte for
// byte: MULTI/EXEC (a denial when queueing aborts EXEC; a rule changed before EXEC denies the
// command's slot), scripts and functions (redis.call / redis.pcall denied for the caller, in a
// shard and on the cross-shard path of a four-shard Tessera), pub/sub channel denials, ACL LOG's
// entries (reason, context, object, username, the client's user; a script's entry also its
// command), and what a user change does to open clients (DELUSER and ACL LOAD disconnect; a
// revoked channel kills the subscriber; `off` does not). One case through ioredis.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { rawClient, show, waitFor, type RawClient, type Reply, type RespValue, type ServerHandle } from './harness.js';
import { ServerPair, timedOn } from './differential-helpers.js';
import { keyOn } from './shard-keys.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TEST_TIMEOUT_MS = 60_000;
const SHARDS = 4;
/** One aclfile read by both servers (ACL LOAD). */
const aclDir = mkdtempSync(join(tmpdir(), 'acl-paths-'));
const ACLFILE = join(aclDir, 'users.acl');
const ACL_DEFAULT = 'user default on nopass sanitize-payload ~* &* +@all\n';
writeFileSync(ACLFILE, ACL_DEFAULT);
const pair = new ServerPair({ redisArgs: ['--aclfile', ACLFILE], tessera: { shards: SHARDS, args: ['--aclfile', ACLFILE] } });
const t = suite('acl paths: redis-server vs tessera');
t.before(pair.start);
t.after(async () => {
  await pair.stop();
  rmSync(aclDir, { recursive: true, force: true });
});
const timed = timedOn(t, TEST_TIMEOUT_MS);

type Cmd = Array<string | Buffer>;

/** Both servers, one raw connection each; every call goes to both and returns both replies. */
class Both {
  private constructor(readonly r: RawClient, readonly t: RawClient) {}

  static async open(): Promise<Both> {
    return new Both(await rawClient(pair.redis.port), await rawClient(pair.tessera.port));
  }

  async call(args: Cmd): Promise<[Reply, Reply]> {
    return [await this.r.call(args), await this.t.call(args)];
  }

  /** Sends args to both and asserts the replies are the same bytes. */
  async same(args: Cmd, what = args.join(' ')): Promise<Reply> {
    const [r, tt] = await this.call(args);
    assert.is(show(tt.raw, 2000), show(r.raw, 2000), `${what}: tessera differs from redis-server`);
    return r;
  }

  /** Sends every command at once (a pipeline) and compares the replies in order. */
  async pipeline(cmds: Cmd[]): Promise<void> {
    for (const c of cmds) {
      this.r.sendCommand(...c);
      this.t.sendCommand(...c);
    }
    const [rr, tr] = [await this.r.read(cmds.length), await this.t.read(cmds.length)];
    for (let i = 0; i < cmds.length; i++) assert.is(show(tr[i]!.raw, 2000), show(rr[i]!.raw, 2000), `${cmds[i]!.join(' ')}: tessera differs`);
  }

  close(): void {
    this.r.close();
    this.t.close();
  }
}

/** An admin connection (the default user) to each server. */
let admin: Both;

async function setUser(name: string, ...rules: string[]): Promise<void> {
  await admin.same(['ACL', 'SETUSER', name, ...rules]);
}

/** A connection of each server logged in as `user` (passwordless). */
async function loggedIn(user: string): Promise<Both> {
  const b = await Both.open();
  await b.same(['AUTH', user, 'pw']);
  return b;
}

function text(v: RespValue): string {
  switch (v.type) {
    case 'bulk':
      return v.value === null ? '' : v.value.toString('latin1');
    case 'simple':
    case 'double':
      return v.value;
    case 'integer':
      return String(v.value);
    case 'verbatim':
      return v.value.toString('latin1');
    default:
      return v.type;
  }
}

/** ACL LOG's entries, newest first, reduced to what both servers must agree on (age and the
 * client's id, address and buffers differ by nature). */
function logEntries(reply: Reply): string[] {
  const v = reply.value;
  if (v.type !== 'array' || v.value === null) throw new Error(`ACL LOG: ${show(reply.raw)}`);
  return v.value.map((e) => {
    const items = e.type === 'map' ? e.value.flat() : e.type === 'array' && e.value !== null ? e.value : [];
    const f = new Map<string, string>();
    for (let i = 0; i + 1 < items.length; i += 2) f.set(text(items[i]!), text(items[i + 1]!));
    const info = f.get('client-info') ?? '';
    const field = (n: string): string => new RegExp(`(?:^| )${n}=(\\S*)`).exec(info)?.[1] ?? '?';
    // cmd= of a script's entry is the script's command (EVAL, FCALL...); the dispatcher's own
    // entries are the acl part's to compare (test/e2e/acl*.test.ts).
    const cmd = f.get('context') === 'lua' ? ` cmd=${field('cmd')}` : '';
    return `count=${f.get('count')} reason=${f.get('reason')} context=${f.get('context')} object=${f.get('object')} username=${f.get('username')}${cmd} user=${field('user')}`;
  });
}

async function sameLog(what: string): Promise<void> {
  const [r, tt] = await admin.call(['ACL', 'LOG']);
  assert.equal(logEntries(tt), logEntries(r), `ACL LOG after ${what}`);
}

async function resetLog(): Promise<void> {
  await admin.same(['ACL', 'LOG', 'RESET']);
}

t.before(async () => {
  admin = await Both.open();
  const lib = "#!lua name=acllib\nredis.register_function('setk', function(k, a) return redis.call('set', k[1], 'v') end)\nredis.register_function('getzz', function(k, a) return redis.pcall('get', 'zz') end)";
  await admin.same(['FUNCTION', 'LOAD', 'REPLACE', lib]);
});
t.after(() => admin.close());

timed('MULTI: a command denied when queued replies NOPERM and EXEC aborts (ACL LOG context multi)', async () => {
  await resetLog();
  await setUser('mq', 'reset', 'on', 'nopass', '+@all', '-set', '~*', '&*');
  const c = await loggedIn('mq');
  try {
    await c.pipeline([['MULTI'], ['GET', 'a'], ['SET', 'a', 'b'], ['EXEC']]);
    await sameLog('a queue-time denial');
    await c.pipeline([['MULTI'], ['GET', 'a'], ['PUBLISH', 'chan', 'm'], ['EXEC']]);
  } finally {
    c.close();
  }
});

timed('MULTI: rules changed before EXEC deny each command in its slot (command, key, channel)', async () => {
  await resetLog();
  await setUser('mx', 'reset', 'on', 'nopass', '+@all', '~*', '&*');
  const c = await loggedIn('mx');
  try {
    await c.pipeline([['MULTI'], ['GET', 'k'], ['SET', 'k', 'v'], ['PUBLISH', 'chan', 'm'], ['GET', 'x1']]);
    await setUser('mx', '-set', 'resetkeys', '~x*', 'resetchannels', '&x*');
    await c.same(['EXEC']);
    await sameLog('exec-time denials');
    await c.same(['GET', 'x1']);
  } finally {
    c.close();
  }
});

timed('MULTI: a blocking command (queued in its non-blocking form) is checked as sent at EXEC', async () => {
  await resetLog();
  await setUser('mb', 'reset', 'on', 'nopass', '+@all', '~*', '&*');
  const c = await loggedIn('mb');
  try {
    await c.pipeline([['MULTI'], ['BLPOP', 'mbl', '0'], ['LPUSH', 'mbl', 'x'], ['BRPOP', 'mbl', '0']]);
    await setUser('mb', '-blpop');
    await c.same(['EXEC']);
    await sameLog('a blocking command denied at EXEC');
  } finally {
    c.close();
  }
});

timed('MULTI: a transaction whose commands span shards, one of them denied at EXEC', async () => {
  await resetLog();
  await setUser('ms', 'reset', 'on', 'nopass', '+@all', '~*', '&*');
  const c = await loggedIn('ms');
  const k0 = keyOn(0, SHARDS, 'ms');
  const k1 = keyOn(1, SHARDS, 'ms');
  try {
    await c.pipeline([['MULTI'], ['SET', k0, '1'], ['INCR', k1], ['GET', k0]]);
    await setUser('ms', '-incr');
    await c.same(['EXEC']);
    await sameLog('a spanning transaction');
  } finally {
    c.close();
  }
});

const SCRIPT_CASES: Cmd[] = [
  ['EVAL', "return redis.call('set','k1','v')", '0'],
  ['EVAL', "return redis.pcall('set','k1','v')", '0'],
  ['EVAL', "return redis.call('get','zz')", '0'],
  ['EVAL', "local r = redis.pcall('get','zz'); return r['err']", '0'],
  ['EVAL', "return redis.call('publish','chan','m')", '0'],
  ['EVAL', "return redis.call('publish','xchan','m')", '0'],
  ['EVAL', "return redis.call('config','get','x')", '0'],
  ['EVAL', "return redis.call('get', KEYS[1])", '1', 'k5'],
  ['EVAL', "redis.call('get', KEYS[1]); return redis.call('set', KEYS[1], 'v')", '1', 'k6'],
  ['EVAL_RO', "return redis.call('set','k1','v')", '0'],
  ['FCALL', 'setk', '1', 'k1'],
  ['FCALL', 'getzz', '0'],
];

/** Runs fn with Tessera's script-undeclared-keys at `mode`: `deny` keeps every script in the
 * shard of its keys (0 keys: any one shard), so that its calls are checked there; `allow` (the
 * default) runs a script that may reach any key on the main thread, every shard locked. */
async function undeclaredKeys(mode: 'deny' | 'allow', fn: () => Promise<void>): Promise<void> {
  const set = async (m: string): Promise<void> => {
    const r = await admin.t.call(['CONFIG', 'SET', 'script-undeclared-keys', m]);
    assert.is(r.text, '+OK\r\n');
  };
  await set(mode);
  try {
    await fn();
  } finally {
    await set('allow');
  }
}

async function scriptCases(user: string): Promise<void> {
  await resetLog();
  await setUser(user, 'reset', 'on', 'nopass', '+@all', '-set', '~k*', '&x*');
  const c = await loggedIn(user);
  try {
    for (const cmd of SCRIPT_CASES) await c.same(cmd);
    const sha = text((await c.same(['SCRIPT', 'LOAD', "return redis.call('set','k1','v')"])).value);
    await c.same(['EVALSHA', sha, '0']);
    await c.same(['EVALSHA', sha, '1', 'k2']);
    await sameLog('denied script calls');
  } finally {
    c.close();
  }
}

timed('scripts in a shard: redis.call / redis.pcall denied for the caller (ACL LOG context lua)', () => undeclaredKeys('deny', () => scriptCases('sc')));

timed('scripts that may reach any key (every shard locked): calls checked on the main thread', () => undeclaredKeys('allow', () => scriptCases('sa')));

timed('scripts spanning shards: each redis.call checked on the main thread', async () => {
  await resetLog();
  await setUser('sx', 'reset', 'on', 'nopass', '+@all', '-set', '~k*', '&x*');
  const c = await loggedIn('sx');
  const ka = keyOn(0, SHARDS, 'k');
  const kb = keyOn(2, SHARDS, 'k');
  try {
    await c.same(['SET', ka, '1']);
    await c.same(['EVAL', "redis.call('get', KEYS[1]); return redis.call('set', KEYS[2], 'v')", '2', ka, kb]);
    await c.same(['EVAL', "redis.call('get', KEYS[1]); return redis.pcall('get', 'zz')", '2', ka, kb]);
    await c.same(['EVAL', "redis.call('get', KEYS[2]); return redis.call('publish', 'chan', 'm')", '2', ka, kb]);
    await c.same(['EVAL', "return {redis.call('get', KEYS[1]), redis.call('exists', KEYS[2])}", '2', ka, kb]);
    await c.same(['FCALL', 'setk', '2', ka, kb]);
    await sameLog('denied calls of spanning scripts');
  } finally {
    c.close();
  }
});

timed('scripts: a change of the rules reaches the shards before the next command', () => undeclaredKeys('deny', async () => {
  await setUser('sr', 'reset', 'on', 'nopass', '+@all', '~*', '&*');
  const c = await loggedIn('sr');
  try {
    for (let i = 0; i < 3; i++) {
      await c.same(['EVAL', "return redis.call('set',KEYS[1],'v')", '1', 'k1']);
      await setUser('sr', '-set');
      await c.same(['EVAL', "return redis.call('set',KEYS[1],'v')", '1', 'k1']);
      await setUser('sr', '+set');
    }
    await setUser('sr', '-@all', '+eval');
    await c.same(['EVAL', "return redis.pcall('ping')", '0']);
    await admin.same(['ACL', 'DELUSER', 'sr']);
  } finally {
    c.close();
  }
}));

timed('scripts: a restarted shard gets the users\' permissions back (tessera: DEBUG SHARD-CRASH)', () => undeclaredKeys('deny', async () => {
  await setUser('sk', 'reset', 'on', 'nopass', '+@all', '-set', '~*', '&*');
  const k = keyOn(1, SHARDS, 'sk');
  const c = await rawClient(pair.tessera.port);
  try {
    assert.is((await c.call(['AUTH', 'sk', 'pw'])).text, '+OK\r\n');
    assert.is((await admin.t.call(['DEBUG', 'SHARD-CRASH', '1'])).text, '+OK\r\n');
    // Allowed calls run, denied ones are denied: the shard holds sk's permissions again.
    const get = ['EVAL', "return redis.call('incr', KEYS[1])", '1', k];
    await waitFor('shard 1 back', async () => (await c.call(get)).raw[0] === 58);
    const r = await c.call(['EVAL', "return redis.pcall('set', KEYS[1], 'v')", '1', k]);
    assert.is(r.text, "-ERR The user executing the script can't run this command or subcommand\r\n");
  } finally {
    c.close();
  }
}));

timed('pub/sub: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, PUBLISH, SPUBLISH against the channel rules', async () => {
  await resetLog();
  await setUser('ps', 'reset', 'on', 'nopass', '+@all', '~*', '&x*');
  const c = await loggedIn('ps');
  try {
    await c.same(['PUBLISH', 'chan', 'm']);
    await c.same(['PUBLISH', 'x1', 'm']);
    await c.same(['SPUBLISH', 'chan', 'm']);
    await c.same(['SUBSCRIBE', 'x1', 'chan']);
    await c.same(['PSUBSCRIBE', '*']);
    await c.same(['PSUBSCRIBE', 'x*']);
    await c.same(['SSUBSCRIBE', 'chan']);
    await c.same(['UNSUBSCRIBE', 'chan']);
    await sameLog('pub/sub denials');
  } finally {
    c.close();
  }
});

/** Whether each server closed the connection after `change`: both must agree. */
async function closedAfter(c: Both, what: string): Promise<boolean> {
  const probe = async (x: RawClient): Promise<boolean> => {
    if (x.isClosed()) return true;
    x.sendCommand('PING');
    try {
      await x.read(1, 3_000);
      return false;
    } catch {
      await x.waitClosed(3_000);
      return true;
    }
  };
  const [r, tt] = [await probe(c.r), await probe(c.t)];
  assert.is(tt, r, `${what}: closed by redis-server ${r}, by tessera ${tt}`);
  return r;
}

for (const mode of ['deny', 'allow'] as const) {
  timed(`scripts inside a transaction across shards (script-undeclared-keys ${mode}): calls checked`, () => undeclaredKeys(mode, async () => {
    await resetLog();
    await setUser('st', 'reset', 'on', 'nopass', '+@all', '-set', '~*', '&*');
    const c = await loggedIn('st');
    const k0 = keyOn(0, SHARDS, 'st');
    const k1 = keyOn(3, SHARDS, 'st');
    try {
      await c.pipeline([
        ['MULTI'],
        ['INCR', k0],
        ['EVAL', "return redis.pcall('set', KEYS[1], 'v')", '1', k1],
        ['EVAL', "return redis.call('exists', KEYS[1])", '1', k1],
        ['EXEC'],
      ]);
      await sameLog('a script denied inside EXEC');
    } finally {
      c.close();
    }
  }));
}

timed('user changes: DELUSER disconnects, revoked channels kill subscribers, off keeps clients', async () => {
  const cases: Array<{ name: string; setup: string[]; sub: Cmd | null; change: Cmd; closed: boolean }> = [
    { name: 'd1', setup: ['&*'], sub: null, change: ['ACL', 'DELUSER', 'd1'], closed: true },
    { name: 'd2', setup: ['&*'], sub: null, change: ['ACL', 'SETUSER', 'd2', 'off'], closed: false },
    { name: 'd3', setup: ['&*'], sub: null, change: ['ACL', 'SETUSER', 'd3', 'resetchannels'], closed: false },
    { name: 'p1', setup: ['&*'], sub: ['SUBSCRIBE', 'chan'], change: ['ACL', 'SETUSER', 'p1', 'resetchannels', '&other'], closed: true },
    { name: 'p2', setup: ['&*'], sub: ['SUBSCRIBE', 'chan'], change: ['ACL', 'SETUSER', 'p2', 'resetchannels', '&ch*'], closed: false },
    { name: 'p3', setup: ['&*'], sub: ['PSUBSCRIBE', 'ch*'], change: ['ACL', 'SETUSER', 'p3', 'resetchannels', '&chan'], closed: true },
    { name: 'p4', setup: ['&ch*'], sub: ['PSUBSCRIBE', 'ch*'], change: ['ACL', 'SETUSER', 'p4', '&other'], closed: false },
    { name: 'p5', setup: ['&*'], sub: ['SSUBSCRIBE', 'chan'], change: ['ACL', 'SETUSER', 'p5', 'resetchannels'], closed: true },
    { name: 'p6', setup: ['&*'], sub: ['SUBSCRIBE', 'chan'], change: ['ACL', 'SETUSER', 'p6', 'reset'], closed: true },
    { name: 'p7', setup: ['&*'], sub: ['SUBSCRIBE', 'chan'], change: ['ACL', 'SETUSER', 'p7', 'off'], closed: false },
  ];
  for (const k of cases) {
    await setUser(k.name, 'reset', 'on', 'nopass', '+@all', '~*', ...k.setup);
    const c = await loggedIn(k.name);
    // A bystander logged in as another user stays connected.
    const other = await loggedIn('default');
    try {
      if (k.sub !== null) await c.same(k.sub);
      await admin.same(k.change);
      assert.is(await closedAfter(c, `${k.name}: ${k.change.join(' ')}`), k.closed, `${k.name}: redis-server's behaviour changed?`);
      assert.is(await closedAfter(other, `${k.name}: bystander`), false);
    } finally {
      c.close();
      other.close();
    }
  }
});

timed('user changes: ACL DELUSER of its own user replies, then closes; a blocked client of it is closed', async () => {
  await setUser('self', 'reset', 'on', 'nopass', '+@all', '~*', '&*');
  const blocked = await loggedIn('self');
  const c = await loggedIn('self');
  try {
    blocked.r.sendCommand('BLPOP', 'acl-paths-never', '0');
    blocked.t.sendCommand('BLPOP', 'acl-paths-never', '0');
    await waitFor('the BLPOP blocked on both', async () => {
      const [r, tt] = await admin.call(['CLIENT', 'LIST']);
      return /cmd=blpop/.test(r.text) && /cmd=blpop/.test(tt.text);
    });
    // Pipelined: the PING after it is never answered (the connection closes after the reply).
    for (const x of [c.r, c.t]) x.send(Buffer.from('*3\r\n$3\r\nACL\r\n$7\r\nDELUSER\r\n$4\r\nself\r\n*1\r\n$4\r\nPING\r\n'));
    const [rr, tr] = [await c.r.read(1), await c.t.read(1)];
    assert.is(tr[0]!.text, rr[0]!.text);
    await c.r.waitClosed();
    await c.t.waitClosed();
    assert.is(c.t.pending(), 0);
    await blocked.r.waitClosed();
    await blocked.t.waitClosed();
  } finally {
    c.close();
    blocked.close();
  }
});

timed('ACL LOAD: clients of every user but default are disconnected, named again or not', async () => {
  writeFileSync(ACLFILE, `${ACL_DEFAULT}user l1 on nopass ~* &* +@all\nuser l2 on nopass ~* &* +@all\n`);
  await admin.same(['ACL', 'LOAD']);
  const l1 = await loggedIn('l1');
  const l2 = await loggedIn('l2');
  const l1sub = await loggedIn('l1');
  const dflt = await loggedIn('default');
  try {
    await l1sub.same(['SUBSCRIBE', 'c']);
    writeFileSync(ACLFILE, `${ACL_DEFAULT}user l1 on nopass ~* &* +@all\n`);
    await admin.same(['ACL', 'LOAD']);
    assert.is(await closedAfter(l1, 'l1 (still in the file)'), true);
    assert.is(await closedAfter(l2, 'l2 (gone from the file)'), true);
    assert.is(await closedAfter(l1sub, 'an l1 subscriber'), true);
    assert.is(await closedAfter(dflt, 'a default client'), false);
    await admin.same(['ACL', 'USERS']);
  } finally {
    for (const c of [l1, l2, l1sub, dflt]) c.close();
    writeFileSync(ACLFILE, ACL_DEFAULT);
    await admin.same(['ACL', 'LOAD']);
  }
});

timed('ioredis: a script denied a call rejects with Redis 7.0 text; the ACL LOG entry is there', async () => {
  await resetLog();
  await setUser('io', 'reset', 'on', '>secret', '+@all', '-set', '~*', '&*');
  const servers: ServerHandle[] = [pair.redis, pair.tessera];
  const messages: string[] = [];
  for (const srv of servers) {
    const io = new Redis({ port: srv.port, host: '127.0.0.1', username: 'io', password: 'secret', lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await io.connect();
      const err = await io.eval("return redis.call('set', KEYS[1], 'v')", 1, 'iokey').then(
        () => null,
        (e: Error) => e.message,
      );
      messages.push(String(err));
      assert.is(await io.eval("return redis.call('get', KEYS[1])", 1, 'iokey'), null);
    } finally {
      io.disconnect();
    }
  }
  assert.is(messages[1], messages[0]);
  assert.match(messages[0]!, /can't run this command or subcommand/);
  await waitFor('the ACL LOG entry', async () => {
    const [r, tt] = await admin.call(['ACL', 'LOG']);
    return logEntries(tt).join('\n') === logEntries(r).join('\n');
  });
});

t.run();
