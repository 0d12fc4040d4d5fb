// Server behaviour that needs its own process or configuration: requirepass, maxclients,
// maxmemory under noeviction and allkeys-lru, expiry on access and the active expire cycle,
// INFO fields, CONFIG SET/GET, CLIENT LIST/KILL, and shutting down by SHUTDOWN, SIGTERM and
// SIGINT with exit code 0. Texts were checked against redis-server 7.0 (E2E_SERVER=redis).

import { existsSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import {
  encodeCommand,
  plain,
  rawClient,
  show,
  startTarget,
  waitFor,
  withTimeout,
  type RawClient,
  type Reply,
  type ServerHandle,
} from './harness.js';

const TEST_TIMEOUT_MS = 30_000;

const servers: ServerHandle[] = [];
const clients: RawClient[] = [];
let main: ServerHandle | undefined;

const srv = suite('server: auth, limits, memory, expiry, INFO, CONFIG, CLIENT, shutdown');

srv.before(async () => {
  main = await start();
});

srv.after(async () => {
  for (const c of clients) c.close();
  await Promise.all(servers.map((s) => s.stop()));
});

async function start(args: string[] = [], shards = 3): Promise<ServerHandle> {
  const s = await startTarget({ shards, args });
  servers.push(s);
  return s;
}

async function connect(server: ServerHandle | undefined = main): Promise<RawClient> {
  if (server === undefined) throw new Error('server not started');
  const c = await rawClient(server.port);
  clients.push(c);
  return c;
}

/** Sends one command (args split on spaces unless given as an array) and returns the reply text. */
async function call(c: RawClient, command: string | Array<string | Buffer>): Promise<string> {
  return (await c.call(typeof command === 'string' ? command.split(' ') : command)).text;
}

/** An INFO field as a string, or undefined. */
function infoField(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)\\r$`, 'm').exec(info)?.[1];
}

async function info(c: RawClient, section = ''): Promise<string> {
  const r: Reply = await c.call(section ? ['INFO', section] : ['INFO']);
  const v = plain(r.value);
  if (typeof v !== 'string') throw new Error(`INFO replied ${show(r.raw)}`);
  return v;
}

function t(name: string, fn: () => Promise<void>, timeoutMs = TEST_TIMEOUT_MS): void {
  srv(name, () => withTimeout(fn(), timeoutMs, name));
}

t('requirepass: NOAUTH before AUTH, WRONGPASS, AUTH ok, HELLO 3 AUTH', async () => {
  const s = await start(['--requirepass', 's3cret']);
  const c = await connect(s);
  assert.is(await call(c, 'GET a'), '-NOAUTH Authentication required.\r\n');
  assert.is(await call(c, 'SET a 1'), '-NOAUTH Authentication required.\r\n');
  assert.is(await call(c, 'AUTH wrong'), '-WRONGPASS invalid username-password pair or user is disabled.\r\n');
  assert.is(await call(c, 'AUTH default wrong'), '-WRONGPASS invalid username-password pair or user is disabled.\r\n');
  assert.is(await call(c, 'GET a'), '-NOAUTH Authentication required.\r\n');
  assert.is(await call(c, 'AUTH s3cret'), '+OK\r\n');
  assert.is(await call(c, 'SET a 1'), '+OK\r\n');
  assert.is(await call(c, 'GET a'), '$1\r\n1\r\n');

  const h = await connect(s);
  assert.is(await call(h, 'GET a'), '-NOAUTH Authentication required.\r\n');
  assert.is(await call(h, 'HELLO 3 AUTH default wrong'), '-WRONGPASS invalid username-password pair or user is disabled.\r\n');
  const hello = await h.call(['HELLO', '3', 'AUTH', 'default', 's3cret']);
  assert.is(hello.value.type, 'map', `HELLO 3 AUTH replies a map: ${show(hello.raw)}`);
  assert.is(await call(h, 'GET a'), '$1\r\n1\r\n');
  assert.is(await call(h, 'GET missing'), '_\r\n', 'RESP3 nil');

  const d = await connect(s);
  assert.is(await call(d, 'AUTH default s3cret'), '+OK\r\n');
  assert.is(await call(d, 'DBSIZE'), ':1\r\n');

  const io = new Redis({ port: s.port, host: '127.0.0.1', password: 's3cret', lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await withTimeout(io.connect(), 10_000, 'ioredis connect with password');
    assert.is(await io.get('a'), '1');
  } finally {
    io.disconnect();
  }
  await s.stop();
});

t('maxclients 2: a third connection is refused with Redis text', async () => {
  const s = await start(['--maxclients', '2']);
  // The start-up PING connection may still be closing on the server side: retry until two hold.
  const ready: RawClient[] = [];
  await waitFor('two connections accepted', async () => {
    const c = await connect(s);
    try {
      if ((await call(c, 'PING')) === '+PONG\r\n') ready.push(c);
      else c.close();
    } catch {
      c.close();
    }
    return ready.length >= 2;
  });
  const third = await connect(s);
  assert.equal((await third.read(1)).map((r) => r.text), ['-ERR max number of clients reached\r\n']);
  await third.waitClosed();
  assert.is(await call(ready[0]!, 'PING'), '+PONG\r\n', 'the first two still work');
  assert.is(await call(ready[1]!, 'PING'), '+PONG\r\n');
  ready[1]!.close();
  const again = await waitFor('a slot freed by a closed client', async () => {
    const c = await connect(s);
    try {
      if ((await call(c, 'PING')) === '+PONG\r\n') return c;
    } catch {
      // refused: try again
    }
    c.close();
    return undefined;
  });
  again.close();
  await s.stop();
});

t('maxmemory 10mb noeviction: -OOM once full; reads and DEL still work', async () => {
  const s = await start(['--maxmemory', '10mb', '--maxmemory-policy', 'noeviction']);
  const c = await connect(s);
  const value = Buffer.alloc(10 * 1024, 'v');
  let oom: string | undefined;
  let stored = 0;
  for (let batch = 0; batch < 40 && oom === undefined; batch++) {
    const parts: Buffer[] = [];
    for (let i = 0; i < 100; i++) parts.push(encodeCommand(['SET', `fill:${batch}:${i}`, value]));
    c.send(Buffer.concat(parts));
    for (const r of await c.read(100)) {
      if (r.text === '+OK\r\n') stored++;
      else oom ??= r.text;
    }
  }
  assert.is(oom, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
  assert.ok(stored > 200 && stored < 1100, `stored ${stored} values of 10 KiB under 10 MB`);
  assert.is(await call(c, 'GET fill:0:0'), `$${value.length}\r\n${value.toString()}\r\n`, 'reads still work');
  assert.is(await call(c, 'EXISTS fill:0:1'), ':1\r\n');
  assert.is(await call(c, 'DEL fill:0:0'), ':1\r\n', 'DEL is allowed when full');
  assert.is(await call(c, 'FLUSHALL'), '+OK\r\n');
  assert.is(await call(c, 'SET after-flush x'), '+OK\r\n', 'writes work again after freeing');
  const mem = await info(c, 'memory');
  assert.is(infoField(mem, 'maxmemory'), String(10 * 1024 * 1024));
  assert.is(infoField(mem, 'maxmemory_policy'), 'noeviction');
  await s.stop();
});

t('maxmemory 10mb allkeys-lru: writes keep succeeding, DBSIZE bounded, evicted_keys > 0', async () => {
  const s = await start(['--maxmemory', '10mb', '--maxmemory-policy', 'allkeys-lru']);
  const c = await connect(s);
  const value = Buffer.alloc(10 * 1024, 'w');
  const total = 5000;
  for (let batch = 0; batch < total / 100; batch++) {
    const parts: Buffer[] = [];
    for (let i = 0; i < 100; i++) parts.push(encodeCommand(['SET', `lru:${batch * 100 + i}`, value]));
    c.send(Buffer.concat(parts));
    const bad = (await c.read(100)).filter((r) => r.text !== '+OK\r\n');
    assert.equal(bad.map((r) => r.text), [], `batch ${batch}: every SET succeeds`);
  }
  const dbsize = Number((await call(c, 'DBSIZE')).slice(1, -2));
  assert.ok(dbsize > 100 && dbsize < 1100, `DBSIZE ${dbsize} bounded by 10 MB of 10 KiB values`);
  const stats = await info(c, 'stats');
  const evicted = Number(infoField(stats, 'evicted_keys'));
  assert.ok(evicted > 0, `evicted_keys ${evicted}`);
  assert.ok(evicted + dbsize >= total, `every key is either there or evicted (${evicted} + ${dbsize})`);
  assert.is(await call(c, `GET lru:${total - 1}`), `$${value.length}\r\n${value.toString()}\r\n`, 'the newest key survives');
  const used = Number(infoField(await info(c, 'memory'), 'used_memory'));
  assert.ok(used < 12 * 1024 * 1024, `used_memory ${used} near the 10 MB limit`);
  await s.stop();
});

t('expiry on access: SET PX 50, GET turns nil', async () => {
  const c = await connect();
  assert.is(await call(c, 'SET short v PX 50'), '+OK\r\n');
  assert.is(await call(c, 'GET short'), '$1\r\nv\r\n');
  await waitFor('short to expire', async () => (await call(c, 'GET short')) === '$-1\r\n', 5_000);
  assert.is(await call(c, 'EXISTS short'), ':0\r\n');
  assert.is(await call(c, 'TTL short'), ':-2\r\n');
});

t('active expiry: 1000 keys with PX 100 vanish without being touched', async () => {
  const c = await connect();
  assert.is(await call(c, 'FLUSHALL'), '+OK\r\n');
  const parts: Buffer[] = [];
  for (let i = 0; i < 1000; i++) parts.push(encodeCommand(['SET', `vol:${i}`, 'x', 'PX', '100']));
  c.send(Buffer.concat(parts));
  assert.ok((await c.read(1000)).every((r) => r.text === '+OK\r\n'));
  await waitFor('DBSIZE to reach 0', async () => (await call(c, 'DBSIZE')) === ':0\r\n', 10_000, 50);
  const ks = await info(c, 'keyspace');
  assert.not.match(ks, /db0:/, 'keyspace section empty');
  const expired = Number(infoField(await info(c, 'stats'), 'expired_keys'));
  assert.ok(expired >= 1000, `expired_keys ${expired}`);
}, 15_000);

t('INFO sections hold the expected fields', async () => {
  const c = await connect();
  assert.is(await call(c, 'FLUSHALL'), '+OK\r\n');
  assert.is(await call(c, 'MSET i1 a i2 b i3 c'), '+OK\r\n');
  assert.is(await call(c, 'EXPIRE i1 1000'), ':1\r\n');
  assert.is(await call(c, 'SET i4 d'), '+OK\r\n');
  const all = await info(c);
  for (const section of ['Server', 'Clients', 'Memory', 'Stats', 'Keyspace']) {
    assert.match(all, `# ${section}\r\n`, `section ${section}`);
  }
  assert.ok(all.endsWith('\r\n'));
  assert.match(infoField(all, 'redis_version') ?? '', /^\d+\.\d+\.\d+$/);
  assert.is(infoField(all, 'tcp_port'), String(main?.port));
  assert.ok(Number(infoField(all, 'connected_clients')) >= 1);
  assert.ok(Number(infoField(all, 'used_memory')) > 0);
  assert.ok(infoField(all, 'used_memory_human') !== undefined);
  assert.ok(Number(infoField(all, 'total_commands_processed')) > 0);
  assert.ok(Number(infoField(all, 'total_connections_received')) > 0);
  assert.match(infoField(all, 'db0') ?? '', /^keys=4,expires=1,avg_ttl=\d+$/);
  const server = await info(c, 'server');
  assert.match(server, /^# Server\r\n/);
  assert.not.match(server, /# Clients/, 'only the asked section');
  assert.ok(Number(infoField(server, 'uptime_in_seconds')) >= 0);
  const clientsSection = await info(c, 'clients');
  assert.match(clientsSection, /^# Clients\r\nconnected_clients:\d+\r\n/);
  const cs = await info(c, 'commandstats');
  assert.match(cs, /^# Commandstats\r\n/);
  assert.match(infoField(cs, 'cmdstat_set') ?? '', /^calls=\d+,usec=\d+,usec_per_call=\d+\.\d+,rejected_calls=\d+,failed_calls=\d+$/);
  assert.match(infoField(cs, 'cmdstat_mset') ?? '', /^calls=1,/);
  assert.is(await call(c, 'INFO nosuchsection'), '$0\r\n\r\n');
});

t('INFO cpu names the OS thread of each shard: a task of the server process, not its main thread', async () => {
  const c = await connect();
  const cpu = await info(c, 'cpu');
  const pid = main?.pid ?? 0;
  const tids = [0, 1, 2].map((i) => Number(/^tid=(\d+)$/.exec(infoField(cpu, `shard${i}`) ?? '')?.[1]));
  for (const tid of tids) {
    assert.ok(Number.isInteger(tid) && tid > 0, `shard tids in ${show(cpu)}`);
    assert.is.not(tid, pid, 'a shard thread is not the main thread');
    // bench/lib/cpu.ts reads each thread's CPU time from here.
    assert.ok(existsSync(`/proc/${pid}/task/${tid}/schedstat`), `/proc/${pid}/task/${tid} exists`);
  }
  assert.is(new Set(tids).size, 3, 'one thread per shard');
});

t('CONFIG SET then CONFIG GET; RESETSTAT', async () => {
  const c = await connect();
  assert.is(await call(c, 'CONFIG SET maxmemory 100mb'), '+OK\r\n');
  assert.is(await call(c, 'CONFIG GET maxmemory'), '*2\r\n$9\r\nmaxmemory\r\n$9\r\n104857600\r\n');
  assert.is(await call(c, 'CONFIG SET maxmemory-policy allkeys-lru'), '+OK\r\n');
  assert.is(await call(c, 'CONFIG GET maxmemory-policy'), '*2\r\n$16\r\nmaxmemory-policy\r\n$11\r\nallkeys-lru\r\n');
  assert.is(infoField(await info(c, 'memory'), 'maxmemory'), '104857600');
  assert.is(await call(c, 'CONFIG SET maxmemory 0'), '+OK\r\n');
  assert.is(await call(c, 'CONFIG SET maxmemory-policy noeviction'), '+OK\r\n');
  assert.is(await call(c, 'CONFIG GET maxmemory'), '*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n');
  assert.is(await call(c, 'CONFIG SET maxmemory abc'), "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value\r\n");
  assert.is(await call(c, 'SET x y'), '+OK\r\n');
  assert.is(await call(c, 'CONFIG RESETSTAT'), '+OK\r\n');
  const cs = await info(c, 'commandstats');
  assert.not.match(cs, /cmdstat_set:/, `commandstats cleared: ${cs}`);
});

t('CLIENT LIST shows both clients; CLIENT KILL ID closes one', async () => {
  const a = await connect();
  const b = await connect();
  assert.is(await call(a, 'CLIENT SETNAME alpha'), '+OK\r\n');
  assert.is(await call(b, 'CLIENT SETNAME beta'), '+OK\r\n');
  const idB = plain((await b.call(['CLIENT', 'ID'])).value);
  assert.type(idB, 'number');
  const list = plain((await a.call(['CLIENT', 'LIST'])).value);
  assert.type(list, 'string');
  const lines = (list as string).split('\n').filter((l) => l !== '');
  const alpha = lines.find((l) => / name=alpha /.test(l));
  const beta = lines.find((l) => / name=beta /.test(l));
  assert.ok(alpha !== undefined && beta !== undefined, `both in CLIENT LIST:\n${String(list)}`);
  assert.match(beta, new RegExp(`^id=${String(idB)} addr=127\\.0\\.0\\.1:\\d+ `));
  const info = plain((await b.call(['CLIENT', 'INFO'])).value);
  assert.match(String(info), new RegExp(`^id=${String(idB)} .* name=beta `));
  assert.is(await call(a, `CLIENT KILL ID ${String(idB)}`), ':1\r\n');
  await b.waitClosed();
  assert.is(await call(a, `CLIENT KILL ID ${String(idB)}`), ':0\r\n');
  assert.is(await call(a, 'CLIENT KILL ID abc'), '-ERR client-id should be greater than 0\r\n');
  const after = plain((await a.call(['CLIENT', 'LIST'])).value);
  assert.not.match(String(after), / name=beta /, 'the killed client is gone from the list');
  assert.is(await call(a, 'PING'), '+PONG\r\n');
  // Redis names the last command with its subcommand.
  assert.match(alpha, / cmd=client\|list /, `CLIENT LIST line: ${alpha}`);
});

async function expectCleanExit(s: ServerHandle, what: string): Promise<void> {
  const { code, signal } = await withTimeout(s.exited, 10_000, `${what}: process exit`);
  assert.is(signal, null, `${what}: not killed by a signal`);
  assert.is(code, 0, `${what}: exit code 0; output:\n${s.output().slice(-2000)}`);
}

t('SHUTDOWN makes the process exit with code 0', async () => {
  const s = await start();
  const c = await connect(s);
  assert.is(await call(c, 'SET k v'), '+OK\r\n');
  c.sendCommand('SHUTDOWN');
  await c.waitClosed(10_000);
  await expectCleanExit(s, 'SHUTDOWN');
});

t('SIGTERM with no client connected: exit code 0', async () => {
  const s = await start();
  s.proc.kill('SIGTERM');
  await expectCleanExit(s, 'SIGTERM');
});

t('SIGTERM with a client connected: the server closes it and exits with code 0', async () => {
  const s = await start();
  const c = await connect(s);
  assert.is(await call(c, 'SET k v'), '+OK\r\n');
  s.proc.kill('SIGTERM');
  await expectCleanExit(s, 'SIGTERM');
  await c.waitClosed();
});

t('SIGINT makes the process exit with code 0', async () => {
  const s = await start();
  s.proc.kill('SIGINT');
  await expectCleanExit(s, 'SIGINT');
});

srv.run();
