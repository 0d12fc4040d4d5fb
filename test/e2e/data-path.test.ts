// The RESP data path the way users break it (issue 13's "Found" items 1, 2, 5, 6 and 8): a
// `redis-cli --pipe` bulk load that must never stall, clients that half-close (`nc -q1`) and must
// get every reply, a client that desyncs and must be cut off, refused clients that reset, and the
// output buffer limit enforced when it is crossed.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { encodeCommand, redisCli, startTessera, waitFor, withTimeout, type ServerHandle } from './harness.js';

const TEST_TIMEOUT_MS = 120_000;
let server: ServerHandle | undefined;
let client: Redis | undefined;
const work = mkdtempSync(join(tmpdir(), 'tessera-datapath-'));
const t = suite('RESP data path: bulk loads, half-close, desync, refused resets, output limits');

function requireTool(name: string, probe: string[]): void {
  const r = spawnSync(name, probe, { stdio: 'ignore' });
  if (r.error) throw new Error(`${name} is needed by this test and was not found on PATH (install it: see the README's test section)`);
}

/** Runs `nc` with `args`, feeding `input`; resolves with everything it printed. */
function nc(args: string[], input: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('nc', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('latin1')));
    child.on('error', reject);
    child.on('close', () => resolve(out));
    child.stdin.end(input);
  });
}

t.before(async () => {
  requireTool('nc', ['-h']);
  requireTool('redis-cli', ['--version']);
  // One shard, as in the report: one ring carries the whole load, so backpressure comes and goes.
  server = await startTessera({ shards: 1 });
  client = new Redis({ port: server.port, maxRetriesPerRequest: 0 });
});

t.after(async () => {
  client?.disconnect();
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

t('redis-cli --pipe loads 1M SETs to the end (the socket paused for backpressure is resumed)', async () => {
  const file = join(work, 'bulk.resp');
  const keys = 1_000_000;
  await new Promise<void>((resolve, reject) => {
    const out = createWriteStream(file);
    out.on('error', reject);
    out.on('finish', () => resolve());
    let batch: Buffer[] = [];
    for (let i = 0; i < keys; i++) {
      const k = `key:${String(i).padStart(12, '0')}`; // 16 bytes
      batch.push(encodeCommand(['SET', k, `value-${String(i).padStart(26, '0')}`])); // 32 bytes
      if (batch.length === 10_000) {
        out.write(Buffer.concat(batch));
        batch = [];
      }
    }
    out.end(Buffer.concat(batch));
  });
  await client!.flushall();
  const r = await redisCli(['-p', String(server!.port), '--pipe'], { input: readFileSync(file), timeoutMs: TEST_TIMEOUT_MS });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, `errors: 0, replies: ${keys}`);
  assert.is(await client!.dbsize(), keys);
  assert.is(await client!.get('key:000000999999'), `value-${String(999_999).padStart(26, '0')}`);
  // No connection is left behind: only ours.
  await waitFor('the pipe client to be gone', async () => String(await client!.client('LIST')).trim().split('\n').length === 1, 10_000);
});

t('a client that half-closes (nc -q1) gets every reply, in order, every time', async () => {
  await client!.flushall();
  for (let run = 0; run < 5; run++) {
    const out = await withTimeout(nc(['-q1', '127.0.0.1', String(server!.port)], 'SET a 1\r\nGET a\r\nPING\r\n'), 10_000, 'nc');
    assert.is(out, '+OK\r\n$1\r\n1\r\n+PONG\r\n', `run ${run}`);
  }
  await client!.flushall();
  const lines = Array.from({ length: 10_000 }, (_, i) => `SET k${i} ${i}\r\n`).join('');
  const out = await withTimeout(nc(['-q2', '127.0.0.1', String(server!.port)], lines), 30_000, 'nc');
  assert.is(out.split('+OK\r\n').length - 1, 10_000);
  assert.is(await client!.dbsize(), 10_000);
});

t('a half-closed connection with shard replies still in flight gets them before the FIN', async () => {
  await client!.flushall();
  const cmds = Buffer.concat(Array.from({ length: 2000 }, (_, i) => encodeCommand(['INCR', `c${i % 7}`])));
  const sock = net.connect(server!.port, '127.0.0.1');
  let got = '';
  sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
  const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()));
  sock.end(cmds);
  await withTimeout(closed, 20_000, 'the server to close after its replies');
  const replies = got.split('\r\n').filter((l) => l.startsWith(':'));
  assert.is(replies.length, 2000);
  // In order: the n-th INCR of a counter answers n.
  const seen = new Array<number>(7).fill(0);
  replies.forEach((r, i) => assert.is(r, `:${++seen[i % 7]!}`, `reply ${i}`));
});

t('a client that desyncs gets the error and is cut off: its writes fail soon', async () => {
  const sock = net.connect(server!.port, '127.0.0.1');
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
  let got = '';
  sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
  let written = 0;
  const gone = new Promise<void>((resolve) => {
    sock.on('error', () => resolve());
    sock.on('close', () => resolve());
  });
  sock.write(Buffer.from('*\x00'));
  const chunk = Buffer.alloc(16 * 1024, 120);
  const timer = setInterval(() => {
    if (sock.destroyed) return;
    sock.write(chunk);
    written += chunk.length;
  }, 1);
  try {
    await withTimeout(gone, 20_000, 'the server to close the desynced client');
  } finally {
    clearInterval(timer);
    sock.destroy();
  }
  assert.match(got, /^-ERR Protocol error: /);
  // Redis cuts such a client off after about 64 KiB; the kernel's buffers allow some more.
  assert.ok(written < 16 * 1024 * 1024, `the client wrote ${written} bytes before the server closed it`);
  assert.is(await client!.ping(), 'PONG');
});

t('clients refused at maxclients that reset (SO_LINGER 0) do not stop the server', async () => {
  await client!.config('SET', 'maxclients', '2');
  const extra = new Redis({ port: server!.port, maxRetriesPerRequest: 0 });
  try {
    await extra.ping();
    const resets = Array.from({ length: 100 }, () =>
      new Promise<void>((resolve) => {
        const s = net.connect(server!.port, '127.0.0.1', () => {
          s.resetAndDestroy();
          resolve();
        });
        s.on('error', () => resolve());
      }),
    );
    await withTimeout(Promise.all(resets), 20_000, 'the resets');
    assert.is(await client!.ping(), 'PONG');
    const info = await client!.info('stats');
    // Some resets reach the server before it accepts (the kernel drops those): most are refused.
    assert.ok(Number(/rejected_connections:(\d+)/.exec(info)?.[1]) >= 1, info);
  } finally {
    extra.disconnect();
    await client!.config('SET', 'maxclients', '10000');
  }
});

t('the output buffer hard limit cuts a client off when it is crossed, not later', async () => {
  await client!.config('SET', 'client-output-buffer-limit', 'normal 8mb 8mb 0');
  try {
    await client!.setrange('big', 1024 * 1024 - 1, 'x');
    const sock = net.connect(server!.port, '127.0.0.1');
    sock.on('error', () => undefined);
    await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
    sock.pause(); // never reads
    const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()));
    sock.write(Buffer.concat(Array.from({ length: 200 }, () => encodeCommand(['GET', 'big']))));
    await withTimeout(closed, 30_000, 'the non-reading client to be dropped');
    const m = /output buffer (\d+) bytes over the hard limit/.exec(server!.output());
    assert.ok(m, 'the drop is logged');
    // Crossed by at most one reply (1 MB) plus framing.
    assert.ok(Number(m![1]) <= 8 * 1024 * 1024 + 1024 * 1024 + 64, `dropped at ${m![1]} bytes`);
    assert.is((await client!.strlen('big')), 1024 * 1024);
  } finally {
    await client!.config('SET', 'client-output-buffer-limit', 'normal 0 0 0');
  }
});

t.run();
