// The benchmarks' own measuring pieces: the RESP file for redis-cli --pipe, the per-thread CPU
// split, the bulk load's DBSIZE stall detector (against a server that stops reading) and a real
// load into redis-server. Needs redis-server and redis-cli (Debian: redis-server, redis-tools).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { splitCpu, threadCpuNs, threadRoles } from '../../bench/lib/cpu.js';
import { pairRatio, runOk, type LoadRun } from '../../bench/lib/bulk-report.js';
import { pipeLoad } from '../../bench/lib/pipe-load.js';
import { decodeReply, RespClient } from '../../bench/lib/resp-client.js';
import { commandBytes, fileKey, KEY_BYTES, respSetFile } from '../../bench/lib/resp-file.js';
import { startRedis, withTimeout } from '../e2e/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-lib-test-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('respSetFile writes N SETs of 16-byte keys and fixed-size values, and reuses a complete file', () => {
  const count = 1234;
  const first = respSetFile(dir, count, 32);
  assert.is(first.reused, false);
  const buf = readFileSync(first.path);
  assert.is(buf.length, count * commandBytes(32));
  let at = 0;
  for (let i = 0; i < count; i++) {
    const cmd = decodeReply(buf, at);
    if (cmd === null) throw new Error(`command ${i} incomplete`);
    at = cmd.end;
    const [name, key, value] = cmd.reply as string[];
    assert.is(name, 'SET');
    assert.is(key, fileKey(i));
    assert.is(key?.length, KEY_BYTES);
    assert.is(value?.length, 32);
    assert.ok(value?.includes(String(i).padStart(12, '0')), `value ${value} names its key`);
  }
  assert.is(at, buf.length, 'nothing after the last command');
  assert.is(respSetFile(dir, count, 32).reused, true);
});

test('threadRoles reads INFO cpu shard lines; splitCpu splits main, shards and the rest', () => {
  const roles = threadRoles(100, '# CPU\r\nused_cpu_sys:1.0\r\nshard1:tid=102\r\nshard0:tid=101\r\n');
  assert.equal(roles, { pid: 100, main: 100, shards: [101, 102] });
  assert.equal(threadRoles(100, '# CPU\r\nused_cpu_sys:1.0\r\n').shards, []);
  const before = new Map([[100, 1_000_000], [101, 0], [102, 500_000], [103, 0]]);
  // 104 started during the run: it counts from zero.
  const after = new Map([[100, 3_000_000], [101, 1_000_000], [102, 1_500_000], [103, 250_000], [104, 250_000]]);
  assert.equal(splitCpu(roles, before, after), { totalUs: 4500, mainUs: 2000, shardUs: [1000, 1000], otherUs: 500 });
  // Inline shards run on the main thread: they count there, not twice.
  const inline = threadRoles(100, 'shard0:tid=100\r\n');
  assert.equal(splitCpu(inline, before, after).shardUs, [0]);
  assert.is(splitCpu(inline, before, after).mainUs, 2000);
});

test('threadCpuNs sees this process\'s main thread run', () => {
  const start = threadCpuNs(process.pid).get(process.pid);
  assert.ok(start !== undefined, 'the main thread is listed under its pid');
  let now: number | undefined = start;
  for (let spins = 0; now === start && spins < 1000; spins++) {
    let x = 0;
    for (let i = 0; i < 1e6; i++) x += i;
    assert.ok(x > 0);
    now = threadCpuNs(process.pid).get(process.pid);
  }
  assert.ok((now ?? 0) > start, 'CPU time grew');
});

test('pairRatio compares complete pairs only', () => {
  const run = (round: number, server: LoadRun['server'], ms: number, dbsize = 10): LoadRun => ({
    round, server, turn: 1, ms, keys: 10, replies: 10, errors: 0, dbsize, rssPerKey: 1, usedPerKey: 1, mainHeapBytes: null, stall: null,
  });
  assert.ok(runOk(run(1, 'tessera', 1)));
  assert.not.ok(runOk(run(1, 'tessera', 1, 9)));
  assert.is(pairRatio([run(1, 'redis-server', 1000), run(1, 'tessera', 2000), run(2, 'tessera', 1000), run(2, 'redis-server', 500, 9)]), 0.5);
});

/** A RESP server whose first connection (the watcher) is answered and whose later ones (redis-cli)
 * are never read: a load into it stalls at once. */
function stalledServer(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    let connections = 0;
    const server = createServer((socket: Socket) => {
      socket.on('error', () => undefined);
      if (connections++ > 0) {
        socket.pause();
        return;
      }
      let buf = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        for (let cmd = decodeReply(buf, 0); cmd !== null; cmd = decodeReply(buf, 0)) {
          buf = buf.subarray(cmd.end);
          const name = String((cmd.reply as string[])[0]).toUpperCase();
          const list = 'id=9 addr=127.0.0.1:1 idle=5 qbuf=67 events=r cmd=set\nid=8 addr=127.0.0.1:2 cmd=client|list\n';
          socket.write(name === 'DBSIZE' ? ':7\r\n' : name === 'CLIENT' ? `$${list.length}\r\n${list}\r\n` : '+OK\r\n');
        }
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address !== null ? address.port : 0 });
    });
  });
}

test('pipeLoad gives up on a load whose DBSIZE stops growing, and names the loading connection', async () => {
  const { server, port } = await stalledServer();
  const watcher = await RespClient.connect(port);
  try {
    const file = respSetFile(dir, 1000, 32);
    const result = await withTimeout(pipeLoad(watcher, port, file.path, 1000), 20_000, 'stalled pipeLoad');
    assert.ok(result.stall !== null, 'a stall was reported');
    assert.is(result.stall?.keys, 7);
    assert.equal(result.stall?.clients, ['id=9 addr=127.0.0.1:1 idle=5 qbuf=67 events=r cmd=set']);
    assert.is(result.replies, null, 'redis-cli never reported its replies');
  } finally {
    watcher.close();
    server.close();
  }
});

test('pipeLoad loads a file into redis-server: every reply, no error, DBSIZE = N', async () => {
  const redis = await startRedis();
  const watcher = await RespClient.connect(redis.port);
  try {
    const file = respSetFile(dir, 20_000, 32);
    const result = await withTimeout(pipeLoad(watcher, redis.port, file.path, 10_000), 30_000, 'pipeLoad into redis-server');
    assert.is(result.stall, null, result.output);
    assert.is(result.replies, 20_000);
    assert.is(result.errors, 0);
    assert.is(result.dbsize, 20_000);
    assert.is(await watcher.call('GET', fileKey(19_999)), `value:${String(19_999).padStart(12, '0')}`.padEnd(32, 'v'));
  } finally {
    watcher.close();
    await redis.stop();
  }
});

test.run();
