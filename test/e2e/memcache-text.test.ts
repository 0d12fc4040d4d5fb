// The memcached text and meta protocols over a raw socket, libmemcached's tools (memccp, memccat,
// memcslap --binary) against a real Tessera, and a differential run against memcached 1.6 where it
// is installed: the same bytes in, the same bytes out (CAS values masked).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startTessera, withTimeout, type ServerHandle } from './harness.js';
import { endsWith, exchange, memcachedAvailable, startMemcached, type MemcachedHandle } from './memcache-harness.js';

const TEST_TIMEOUT_MS = 30_000;
let server: ServerHandle | undefined;
let memcached: MemcachedHandle | undefined;
const t = suite('memcached text and meta protocols');

t.before(async () => {
  server = await startTessera({ shards: 2, memcache: true });
  if (memcachedAvailable()) memcached = await startMemcached();
});

t.after(async () => {
  await server?.stop();
  await memcached?.stop();
});

const it = (name: string, fn: () => Promise<void>): void => t(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));

/** Sends `text` (plus "mn\r\n" as an end marker) and returns what came back before "MN\r\n". */
async function say(port: number, text: string | Buffer): Promise<string> {
  const r = await exchange(port, [Buffer.from(text), Buffer.from('mn\r\n')], endsWith('MN\r\n'));
  const s = r.data.toString('latin1');
  return s.slice(0, s.length - 4);
}

it('storage, retrieval, cas, delete, incr/decr, touch, gat', async () => {
  const p = server!.memcachePort;
  assert.is(await say(p, 'set t:k 5 0 3\r\nabc\r\nget t:k t:none t:k\r\n'), 'STORED\r\nVALUE t:k 5 3\r\nabc\r\nVALUE t:k 5 3\r\nabc\r\nEND\r\n');
  const gets = await say(p, 'gets t:k\r\n');
  const cas = /^VALUE t:k 5 3 (\d+)\r\n/.exec(gets)?.[1];
  assert.ok(cas, gets);
  assert.is(await say(p, `cas t:k 1 0 1 ${Number(cas) + 100}\r\nx\r\ncas t:k 1 0 1 ${cas}\r\ny\r\ncas t:none 0 0 1 1\r\nz\r\n`), 'EXISTS\r\nSTORED\r\nNOT_FOUND\r\n');
  assert.is(await say(p, 'add t:k 0 0 1\r\nq\r\nreplace t:none 0 0 1\r\nq\r\nappend t:k 0 0 2\r\n!!\r\nprepend t:k 0 0 1\r\n<\r\nget t:k\r\n'), 'NOT_STORED\r\nNOT_STORED\r\nSTORED\r\nSTORED\r\nVALUE t:k 1 4\r\n<y!!\r\nEND\r\n');
  assert.is(await say(p, 'set t:n 0 0 2\r\n10\r\nincr t:n 5\r\ndecr t:n 100\r\nget t:n\r\nincr t:k 1\r\nincr t:n abc\r\nincr t:none 1\r\n'),
    'STORED\r\n15\r\n0\r\nVALUE t:n 0 2\r\n0 \r\nEND\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\nCLIENT_ERROR invalid numeric delta argument\r\nNOT_FOUND\r\n');
  assert.is(await say(p, 'set t:w 0 0 20\r\n18446744073709551615\r\nincr t:w 1\r\n'), 'STORED\r\n0\r\n');
  assert.is(await say(p, 'touch t:k 100\r\ntouch t:none 1\r\ngat 100 t:k t:none\r\n'), 'TOUCHED\r\nNOT_FOUND\r\nVALUE t:k 1 4\r\n<y!!\r\nEND\r\n');
  assert.is(await say(p, 'delete t:k\r\ndelete t:k\r\ndelete t:k 0\r\ndelete t:k 5\r\n'),
    'DELETED\r\nNOT_FOUND\r\nNOT_FOUND\r\nCLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n');
  assert.is(await say(p, 'set t:q 0 0 1 noreply\r\nx\r\ndelete t:q noreply\r\nincr t:q 1 noreply\r\nget t:q\r\n'), 'END\r\n');
  assert.is(await say(p, 'set t:e 0 -1 1\r\nx\r\nget t:e\r\n'), 'STORED\r\nEND\r\n');
});

it('gat, touch and mg T on items whose block has no room for a TTL word (the item moves)', async () => {
  // 24-byte header + 4-byte key + 8-byte value + the flags word = 40 bytes: a full block.
  const p = server!.memcachePort;
  const set = ['t:g1', 't:g2', 't:g3'].map((k) => `set ${k} 7 0 8\r\n12345678\r\n`).join('');
  assert.is(await say(p, set), 'STORED\r\nSTORED\r\nSTORED\r\n');
  assert.is(await say(p, 'gat 100 t:g1\r\ntouch t:g2 100\r\n'), 'VALUE t:g1 7 8\r\n12345678\r\nEND\r\nTOUCHED\r\n');
  assert.match(await say(p, 'mg t:g3 T100 v f t\r\n'), /^VA 8 f7 t(99|100)\r\n12345678\r\n$/);
  assert.is(await say(p, 'get t:g1 t:g2 t:g3\r\n'), 'VALUE t:g1 7 8\r\n12345678\r\nVALUE t:g2 7 8\r\n12345678\r\nVALUE t:g3 7 8\r\n12345678\r\nEND\r\n');
  assert.match(await say(p, 'mg t:g1 t\r\nmg t:g2 t\r\n'), /^HD t(99|100)\r\nHD t(99|100)\r\n$/);
});

it('errors and limits: unknown commands, bad data chunks, long keys, oversize values', async () => {
  const p = server!.memcachePort;
  assert.is(await say(p, 'bogus\r\n\r\nGET a\r\nset k 0 0\r\n'), 'ERROR\r\nERROR\r\nERROR\r\nERROR\r\n');
  assert.is(await say(p, 'set t:c 0 0 3\r\nabcd\r\nget t:c\r\n'), 'CLIENT_ERROR bad data chunk\r\nERROR\r\nEND\r\n');
  assert.is(await say(p, `get ${'x'.repeat(251)}\r\n`), 'CLIENT_ERROR bad command line format\r\n');
  assert.is(await say(p, `set ${'x'.repeat(251)} 0 0 1\r\nx\r\nversion\r\n`), 'CLIENT_ERROR bad command line format\r\nERROR\r\nVERSION 1.6.18\r\n');
  assert.is(await say(p, 'set k abc 0 1\r\nx\r\nset k 0 0 -1\r\n'), 'CLIENT_ERROR bad command line format\r\nERROR\r\nCLIENT_ERROR bad command line format\r\n');
  const big = 'x'.repeat(2_000_000);
  assert.is(await say(p, `set t:big 0 0 ${big.length}\r\n${big}\r\nget t:big\r\n`), 'SERVER_ERROR object too large for cache\r\nEND\r\n');
  const line = await exchange(p, Buffer.from('x'.repeat(3000)), () => false);
  assert.ok(line.closed, 'a line over 2048 bytes without a newline closes the connection');
  assert.is(await say(p, 'version\r\n'), 'VERSION 1.6.18\r\n', 'other connections are unaffected');
  const q = await exchange(p, Buffer.from('version\r\nquit\r\nversion\r\n'), () => false);
  assert.ok(q.closed);
  assert.is(q.data.toString(), 'VERSION 1.6.18\r\n');
});

it('meta commands: mg ms md ma mn me with their common flags', async () => {
  const p = server!.memcachePort;
  const r = await say(p, 'set m:a 9 0 5\r\nhello\r\nmg m:a v\r\nmg m:a s f t v k O123\r\nmg m:none v\r\nmg m:none v q\r\nmg m:a\r\n');
  assert.is(r, 'STORED\r\nVA 5\r\nhello\r\nVA 5 s5 f9 t-1 km:a O123\r\nhello\r\nEN\r\nHD\r\n');
  const ms = await say(p, 'ms m:b 3\r\nabc\r\nms m:b 3 F5 T100 c\r\nxyz\r\nmg m:b f v t\r\n');
  assert.match(ms, /^HD\r\nHD c\d+\r\nVA 3 f5 t(99|100)\r\nxyz\r\n$/);
  assert.is(await say(p, 'ms m:b 1 C1 q\r\nz\r\nms m:c 1 ME\r\nz\r\nms m:c 1 ME\r\nz\r\nms m:c 1 MA\r\nq\r\nmg m:c v\r\n'), 'EX\r\nHD\r\nNS\r\nHD\r\nVA 2\r\nzq\r\n');
  assert.is(await say(p, 'md m:c\r\nmd m:c\r\nmd m:c q\r\n'), 'HD\r\nNF\r\nNF\r\n');
  assert.is(await say(p, 'ma m:n\r\nma m:n N0 J10 v\r\nma m:n v\r\nma m:n MD D3 v\r\nma m:n D100 MD v\r\nma m:b\r\nma m:n q\r\n'),
    'NF\r\nVA 2\r\n10\r\nVA 2\r\n11\r\nVA 1\r\n8\r\nVA 1\r\n0\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n');
  assert.is(await say(p, 'mg\r\nms m:x\r\nms m:x abc\r\nmg m:a zz\r\nme m:none\r\n'),
    'ERROR\r\nCLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\nCLIENT_ERROR invalid flag\r\nEN\r\n');
  assert.match(await say(p, 'me m:a\r\n'), /^ME m:a exp=-1 la=\d+ cas=\d+ fetch=no cls=1 size=\d+\r\n$/);
  assert.is(await say(p, 'ms Zm9v 3 b\r\nbar\r\nget foo\r\nmg Zm9v b k v\r\n'), 'HD\r\nVALUE foo 0 3\r\nbar\r\nEND\r\nVA 3 kZm9v b\r\nbar\r\n');
});

it('cross-protocol: text SET is a RESP string, RESP SET is a text item with flags 0', async () => {
  const redis = new Redis({ port: server!.port, maxRetriesPerRequest: 0 });
  try {
    const p = server!.memcachePort;
    await say(p, 'set x:t 42 0 5\r\nhello\r\n');
    assert.is(await redis.get('x:t'), 'hello');
    await redis.set('x:r', 'from resp', 'EX', 100);
    assert.is(await say(p, 'get x:r\r\n'), 'VALUE x:r 0 9\r\nfrom resp\r\nEND\r\n');
    assert.match(await say(p, 'mg x:r t\r\n'), /^HD t(99|100)\r\n$/);
    await say(p, 'flush_all\r\n');
    assert.is(await redis.dbsize(), 0);
  } finally {
    redis.disconnect();
  }
});

const DIFF_TEXT = [
  'get a b\r\n',
  'set k 5 0 3\r\nabc\r\nget k nope k\r\n',
  'set k2 0 0 1 noreply\r\nx\r\nget k2\r\n',
  'set k3 0 0 3\r\nabcd\r\nget k3\r\n',
  `get ${'x'.repeat(251)}\r\n`,
  `set ${'x'.repeat(251)} 0 0 1\r\nx\r\nversion\r\n`,
  'set n 0 0 2\r\n10\r\nincr n 5\r\ndecr n 100\r\nget n\r\nincr k 1\r\nincr n abc\r\nincr nokey 1\r\nincr n -1\r\n',
  'touch k 100\r\ntouch nokey 1\r\ngat 100 k nokey\r\n',
  'delete k\r\ndelete k\r\ndelete k 0\r\ndelete k 5\r\ndelete k noreply\r\n',
  'append nokey 0 0 1\r\nx\r\nset a 7 0 1\r\n1\r\nappend a 0 0 1\r\n2\r\nprepend a 0 0 1\r\n0\r\nget a\r\n',
  'version\r\nverbosity 1\r\nverbosity\r\nflush_all\r\nflush_all 0\r\nflush_all noreply\r\nbogus\r\n\r\nGET a\r\n',
  'set k abc 0 1\r\nx\r\nset k 0 0 -1\r\nset k 0 0\r\n',
  'set k 0 -1 1\r\nx\r\nget k\r\nadd k 0 0 1\r\ny\r\nget k\r\n',
  'set m 9 0 5\r\nhello\r\nmg m v\r\nmg m s f t k v O123\r\nmg missing v\r\nmg missing v q\r\nmg m\r\n',
  'ms m2 3\r\nabc\r\nmg m2 f v t\r\nms m3 1 ME\r\nz\r\nms m3 1 ME\r\nz\r\nms m3 1 MA\r\nq\r\nmg m3 v\r\nms m3 1 I\r\nq\r\n',
  'md m3\r\nmd m3\r\nmd m3 q\r\nma cnt\r\nma cnt N0 J10 v\r\nma cnt v\r\nma cnt MD D3 v\r\nma cnt D100 MD v\r\nma m2\r\nma cnt q\r\n',
  'mg\r\nms m\r\nms m abc\r\nmg m zz\r\nme nokey\r\n',
  'ms Zm9v 3 b\r\nbar\r\nget foo\r\nmg Zm9v b k v\r\n',
];

t('differential: the same text and meta commands give the same bytes as memcached 1.6 (CAS aside)', async () => {
  if (!memcached) throw new Error('this test compares with memcached 1.6: install memcached (it is not on PATH)');
  const mask = (s: string): string => s.replace(/^(VALUE \S+ \d+ \d+) \d+\r\n/gm, '$1 CAS\r\n').replace(/ c\d+/g, ' cCAS');
  for (const script of DIFF_TEXT) {
    const [ours, theirs] = await withTimeout(Promise.all([say(server!.memcachePort, script), say(memcached.port, script)]), TEST_TIMEOUT_MS);
    assert.is(mask(ours), mask(theirs), JSON.stringify(script));
  }
});

function toolAvailable(name: string): boolean {
  return spawnSync('which', [name], { stdio: 'ignore' }).status === 0;
}

function runTool(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => {
      if (p.pid !== undefined) process.kill(p.pid, 'SIGKILL');
      reject(new Error(`${cmd} timed out after ${timeoutMs} ms: ${out}`));
    }, timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

it('libmemcached tools: memccp then memccat (text and --binary), memcslap --binary', async () => {
  for (const tool of ['memccp', 'memccat', 'memcslap']) {
    if (!toolAvailable(tool)) throw new Error(`this test needs ${tool}: install libmemcached-tools (it is not on PATH)`);
  }
  const servers = `--servers=127.0.0.1:${server!.memcachePort}`;
  const dir = mkdtempSync(join(tmpdir(), 'tessera-mc-'));
  try {
    const file = join(dir, 'payload.txt');
    const payload = 'payload from memccp\n'.repeat(100);
    writeFileSync(file, payload);
    for (const mode of [[], ['--binary']]) {
      const cp = await runTool('memccp', [servers, ...mode, file], 10_000);
      assert.is(cp.code, 0, cp.out);
      const cat = await runTool('memccat', [servers, ...mode, 'payload.txt'], 10_000);
      assert.is(cat.code, 0, cat.out);
      assert.is(cat.out, `${payload}\n`, 'memccat prints the value and a newline (as with memcached)');
    }
    const redis = new Redis({ port: server!.port, maxRetriesPerRequest: 0 });
    try {
      assert.is(await redis.get('payload.txt'), readFileSync(file, 'utf8'));
    } finally {
      redis.disconnect();
    }
    const slap = await runTool('memcslap', [servers, '--binary', '--concurrency=4', '--execute-number=2000', '--test=get'], 25_000);
    assert.is(slap.code, 0, slap.out);
    assert.match(slap.out, /Time to get\s+8000 keys by\s+4 threads/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

t.run();
