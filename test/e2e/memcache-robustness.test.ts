// Regression tests for issue 13 on the memcached port, against real Tessera processes: one
// request never ends the process (0xFFFFFFFF body lengths, SASL before authentication, clients
// reset at maxclients); announced lengths allocate nothing up front; a client that half-closes
// gets every reply (nc, as operators use it); a desynced client is cut off (its writes fail);
// oversize values are refused at once; the output is bounded (backpressure, and the hard limit).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { startTessera, waitFor, withTimeout, type ServerHandle } from './harness.js';
import { OPS, bin, binCount, endsWith, exchange, memcachedAvailable, parseBin, setExtras, startMemcached } from './memcache-harness.js';

const TEST_TIMEOUT_MS = 60_000;
const t = suite('memcached front door: robustness (issue 13)');
const servers: ServerHandle[] = [];

t.after.each(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

const it = (name: string, fn: () => Promise<void>): void => t(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));

async function start(args: string[] = []): Promise<ServerHandle> {
  const s = await startTessera({ shards: 1, memcache: true, args });
  servers.push(s);
  return s;
}

/** A field of /proc/PID/status in KiB (VmRSS, VmSize). */
function procKb(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]);
}

/** The process is up and its memcached port answers (text `version`, or binary NOOP when a
 * password is set: an auth error is an answer). */
async function assertAlive(s: ServerHandle, what: string): Promise<void> {
  assert.is(s.proc.exitCode, null, `${what}: the process exited:\n${s.output()}`);
  const r = await exchange(s.memcachePort, bin(OPS.NOOP), binCount(1));
  assert.is(parseBin(r.data).length, 1, `${what}: the memcached port answers`);
  const ping = await exchange(s.port, Buffer.from('*1\r\n$4\r\nPING\r\n'), (d) => d.includes('\r\n'));
  assert.match(ping.data.toString(), /^(\+PONG|-NOAUTH)/, `${what}: the RESP port answers`);
}

function requireTool(name: string): void {
  if (spawnSync('which', [name], { stdio: 'ignore' }).status !== 0) {
    throw new Error(`this test needs \`${name}\` on PATH (netcat-openbsd provides nc); it is not installed`);
  }
}

/** Runs `nc` with stdin = input; resolves with what it printed. */
function nc(args: string[], input: Buffer, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('nc', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      if (p.pid !== undefined) process.kill(p.pid, 'SIGKILL');
      reject(new Error(`nc ${args.join(' ')} timed out after ${timeoutMs} ms; stderr: ${err}`));
    }, timeoutMs);
    p.on('exit', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(out).toString('latin1'));
    });
    p.stdin.end(input);
  });
}

/** Writes `first`, then 64 KiB chunks without end; resolves with the bytes written once a
 * write fails or the connection closes, rejects if `limitBytes` go through. */
function floodUntilRefused(port: number, first: Buffer, limitBytes: number): Promise<{ sent: number; received: string }> {
  return new Promise((resolve, reject) => {
    // allowHalfOpen: the server's FIN alone must not stop this client's writes (Node would end
    // them itself); only the server refusing the bytes may.
    const sock = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const junk = Buffer.alloc(64 * 1024, 0x7a);
    let sent = 0;
    let received = '';
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      sock.destroy();
      resolve({ sent, received });
    };
    const pump = (): void => {
      while (!done) {
        if (sent > limitBytes) {
          done = true;
          sock.destroy();
          reject(new Error(`the server still read after ${sent} bytes of garbage`));
          return;
        }
        sent += junk.length;
        if (!sock.write(junk)) return;
      }
    };
    sock.on('connect', () => {
      sock.write(first);
      pump();
    });
    sock.on('drain', pump);
    sock.on('data', (d: Buffer) => (received += d.toString('latin1')));
    sock.on('error', finish);
    sock.on('close', finish);
  });
}

// ---- item 6: one request does not end the process ------------------------------------------------

it('binary: headers announcing 0xFFFFFFFF body bytes are refused from the header; the process stays up', async () => {
  const s = await start();
  const huge = (op: number, key: string, extras: Buffer = Buffer.alloc(0)): Buffer => {
    const b = bin(op, { key, extras });
    b.writeUInt32BE(0xffffffff, 8);
    return b;
  };
  // SET: too large (E2BIG), the body is swallowed as it comes; the connection stays open.
  const set = await exchange(s.memcachePort, [huge(OPS.SET, 'k', setExtras(0, 0)), Buffer.alloc(100_000)] as Buffer[], binCount(1));
  assert.is(parseBin(set.data)[0]!.status, 0x03);
  // An unknown opcode: unknown command, body swallowed. A GET with a body: EINVAL and close.
  const unknown = await exchange(s.memcachePort, huge(0x50, ''), binCount(1));
  assert.is(parseBin(unknown.data)[0]!.status, 0x81);
  const get = await exchange(s.memcachePort, huge(OPS.GET, 'k'), () => false);
  assert.ok(get.closed);
  assert.is(parseBin(get.data)[0]!.status, 0x04);
  // SASL AUTH without a password set: the data would go into an item: over the limit, ENOMEM.
  const sasl = await exchange(s.memcachePort, huge(OPS.SASL_AUTH, 'PLAIN'), binCount(1));
  assert.is(parseBin(sasl.data)[0]!.status, 0x82);
  await assertAlive(s, 'after 0xFFFFFFFF lengths');
});

it('binary: SASL AUTH with a 0xFFFFFFFF body before authentication (requirepass set) does not end the process', async () => {
  const s = await start(['--requirepass', 'sesame']);
  for (const op of [OPS.SASL_AUTH, 0x22]) {
    const b = bin(op, { key: 'PLAIN' });
    b.writeUInt32BE(0xffffffff, 8);
    const r = await exchange(s.memcachePort, b, binCount(1));
    assert.is(parseBin(r.data)[0]!.status, 0x82, 'ENOMEM, as memcached when the data cannot be an item');
  }
  // A mechanism name over 32 bytes: EINVAL. Then a real login still works on a new connection.
  const mech = await exchange(s.memcachePort, bin(OPS.SASL_AUTH, { key: 'M'.repeat(40), value: 'x' }), binCount(1));
  assert.is(parseBin(mech.data)[0]!.status, 0x04);
  const login = await exchange(s.memcachePort, [bin(OPS.SASL_AUTH, { key: 'PLAIN', value: '\0default\0sesame' }), bin(OPS.NOOP)], binCount(2));
  assert.equal(parseBin(login.data).map((r) => r.status), [0, 0]);
  // Before authentication, anything but SASL is refused and the connection closed.
  const refused = await exchange(s.memcachePort, bin(OPS.SET, { key: 'k', extras: setExtras(0, 0), value: 'v' }), () => false);
  assert.ok(refused.closed);
  assert.is(parseBin(refused.data)[0]!.status, 0x20);
  await assertAlive(s, 'after SASL with huge lengths');
});

it('many connections announcing bodies just under the item limit allocate nothing up front', async () => {
  const s = await start(['--memcache-max-item-size', '256mb']);
  const announce = 250 * 1024 * 1024;
  const sizeBefore = procKb(s.pid, 'VmSize');
  const rssBefore = procKb(s.pid, 'VmRSS');
  const socks: Socket[] = [];
  try {
    for (let i = 0; i < 32; i++) {
      const b = bin(OPS.SET, { key: `k${i}`, extras: setExtras(0, 0), value: 'partial value' });
      b.writeUInt32BE(8 + 2 + 3 + announce, 8);
      const sock = connect(s.memcachePort, '127.0.0.1');
      sock.on('error', () => undefined);
      socks.push(sock);
      await new Promise<void>((r) => sock.write(b, () => r()));
    }
    // Round trips on another connection let the server's event loop take all 32 headers in.
    for (let i = 0; i < 3; i++) await exchange(s.memcachePort, Buffer.from('version\r\n'), endsWith('\r\n'));
    const sizeGrowthMb = (procKb(s.pid, 'VmSize') - sizeBefore) / 1024;
    const rssGrowthMb = (procKb(s.pid, 'VmRSS') - rssBefore) / 1024;
    assert.ok(sizeGrowthMb < 2048, `virtual size grew ${sizeGrowthMb.toFixed(0)} MiB for 32 x 250 MiB announced`);
    assert.ok(rssGrowthMb < 128, `resident size grew ${rssGrowthMb.toFixed(0)} MiB`);
  } finally {
    for (const sock of socks) sock.destroy();
  }
  await assertAlive(s, 'after 32 large announcements');
});

it('maxclients: refused connections that reset (SO_LINGER 0) do not end the process, which still obeys SIGTERM', async () => {
  const s = await start(['--maxclients', '2']);
  const keep = [connect(s.memcachePort, '127.0.0.1'), connect(s.memcachePort, '127.0.0.1')];
  for (const k of keep) k.on('error', () => undefined);
  try {
    await Promise.all(keep.map((k) => new Promise<void>((r) => k.once('connect', () => r()))));
    // Each kept connection is counted once it has answered.
    for (const k of keep) {
      k.write('version\r\n');
      await new Promise<void>((r) => k.once('data', () => r()));
    }
    const refused = await exchange(s.memcachePort, Buffer.alloc(0), () => false);
    assert.ok(refused.closed);
    assert.is(refused.data.toString(), 'ERROR Too many open connections\r\n', "memcached's text at its connection limit");
    // 40 refused clients reset their connection: half at once, half after the refusal arrives.
    await Promise.all(Array.from({ length: 40 }, (_, i) => new Promise<void>((resolve) => {
      const sock = connect(s.memcachePort, '127.0.0.1');
      sock.on('error', () => resolve());
      sock.on('close', () => resolve());
      if (i % 2 === 0) sock.on('connect', () => sock.resetAndDestroy());
      else sock.on('data', () => sock.resetAndDestroy());
    })));
    // Alive: the kept connections still answer, and the RESP port too.
    assert.is(s.proc.exitCode, null, `the process exited:\n${s.output()}`);
    for (const k of keep) {
      k.write('version\r\n');
      const d = await new Promise<Buffer>((r) => k.once('data', r));
      assert.is(d.toString(), 'VERSION 1.6.18\r\n');
    }
    // maxclients counts every door's connections: the RESP port is full too, until one goes.
    const full = await exchange(s.port, Buffer.from('*1\r\n$4\r\nPING\r\n'), (d) => d.includes('\r\n'));
    assert.is(full.data.toString(), '-ERR max number of clients reached\r\n');
    keep[0]!.destroy();
    await waitFor('a place on the RESP port', async () => {
      const ping = await exchange(s.port, Buffer.from('*1\r\n$4\r\nPING\r\n'), (d) => d.includes('\r\n'));
      return ping.data.toString() === '+PONG\r\n';
    });
  } finally {
    for (const k of keep) k.destroy();
  }
  await s.stop();
  const exit = await s.exited;
  assert.is(exit.signal, null, `stopped by SIGTERM, not SIGKILL (exit ${JSON.stringify(exit)})`);
});

// ---- item 2: a half-closed client gets every reply -------------------------------------------

it('half-close: printf ... | nc -q1 prints both replies, every time (text and 10,000 sets)', async () => {
  requireTool('nc');
  const s = await start();
  const port = String(s.memcachePort);
  for (let i = 0; i < 5; i++) {
    const out = await nc(['-q1', '127.0.0.1', port], Buffer.from('set k 0 0 5\r\nhello\r\nget k\r\n'), 10_000);
    assert.is(out, 'STORED\r\nVALUE k 0 5\r\nhello\r\nEND\r\n', `run ${i}`);
  }
  // The same bytes through nc to memcached 1.6 give the same output.
  if (!memcachedAvailable()) throw new Error('this test compares with memcached 1.6: install memcached (it is not on PATH)');
  const mc = await startMemcached();
  try {
    const theirs = await nc(['-q1', '127.0.0.1', String(mc.port)], Buffer.from('set k 0 0 5\r\nhello\r\nget k\r\n'), 10_000);
    assert.is(theirs, 'STORED\r\nVALUE k 0 5\r\nhello\r\nEND\r\n');
  } finally {
    await mc.stop();
  }
  const sets = Array.from({ length: 10_000 }, (_, i) => `set key:${i} 0 0 6\r\nv${String(i).padStart(5, '0')}\r\n`).join('');
  const out = await nc(['-q2', '127.0.0.1', port], Buffer.from(sets), 30_000);
  assert.is(out.split('STORED\r\n').length - 1, 10_000);
  assert.is(out.replaceAll('STORED\r\n', ''), '');
});

it('half-close: a binary client that shuts down its write side gets every reply, then the close', async () => {
  const s = await start();
  const reqs: Buffer[] = [];
  for (let i = 0; i < 2000; i++) reqs.push(bin(OPS.SET, { key: `b:${i}`, extras: setExtras(0, 0), value: `value ${i}`, opaque: i }));
  reqs.push(bin(OPS.GETK, { key: 'b:1999', opaque: 2000 }));
  const data = await new Promise<Buffer>((resolve, reject) => {
    const sock = connect({ port: s.memcachePort, host: '127.0.0.1', allowHalfOpen: true });
    const got: Buffer[] = [];
    sock.on('connect', () => sock.end(Buffer.concat(reqs)));
    sock.on('data', (d: Buffer) => got.push(d));
    sock.on('error', reject);
    sock.on('end', () => resolve(Buffer.concat(got)));
  });
  const replies = parseBin(data);
  assert.is(replies.length, 2001);
  assert.equal(replies.map((r) => r.opaque), Array.from({ length: 2001 }, (_, i) => i), 'in order');
  assert.is(replies[2000]!.value.toString(), 'value 1999');
});

// ---- item 5: a desynced client is cut off ------------------------------------------------------

it('desync: after an error memcached answers by closing, the server stops reading (the writes fail)', async () => {
  const s = await start();
  const limit = 32 * 1024 * 1024;
  const line = await floodUntilRefused(s.memcachePort, Buffer.from('x'.repeat(3000)), limit);
  assert.ok(line.sent < limit, `line too long: ${line.sent} bytes went through`);
  const magic = await floodUntilRefused(s.memcachePort, Buffer.concat([bin(OPS.NOOP), Buffer.from('garbage')]), limit);
  assert.ok(magic.sent < limit);
  const key = await floodUntilRefused(s.memcachePort, bin(OPS.GET, { key: 'k'.repeat(251) }), limit);
  assert.ok(key.sent < limit);
  // (What the server sent may be lost to the client: closing a socket with unread input resets
  // it, as with memcached and redis-server; the point is that the writes fail.)
  const quit = await floodUntilRefused(s.memcachePort, Buffer.from('version\r\nquit\r\n'), limit);
  assert.ok(quit.sent < limit);
  await assertAlive(s, 'after desynced clients');
});

// ---- item 8: limits enforced when crossed ------------------------------------------------------

it('text: a set announcing a huge byte count is refused at once, its data swallowed without buffering', async () => {
  const s = await start();
  const expect = 'SERVER_ERROR object too large for cache\r\n';
  for (const line of ['set k 0 0 2000000000\r\n', 'ms k 2000000000\r\n']) {
    const r = await exchange(s.memcachePort, Buffer.from(line), endsWith(expect));
    assert.is(r.data.toString(), expect, `the refusal comes before any data (${JSON.stringify(line)})`);
  }
  const rssBefore = procKb(s.pid, 'VmRSS');
  const data = Buffer.alloc(256 * 1024 * 1024, 0x61);
  const r = await exchange(s.memcachePort, [Buffer.from(`set k 0 0 ${data.length}\r\n`), data, Buffer.from('\r\nversion\r\n')], endsWith('VERSION 1.6.18\r\n'), 30_000);
  assert.is(r.data.toString(), 'SERVER_ERROR object too large for cache\r\nVERSION 1.6.18\r\n');
  const growthMb = (procKb(s.pid, 'VmRSS') - rssBefore) / 1024;
  assert.ok(growthMb < 96, `256 MiB swallowed, resident size grew ${growthMb.toFixed(0)} MiB`);
});

it('output: a client that does not read is held back (bounded memory), and then gets every reply in order', async () => {
  const s = await start();
  const value = 'v'.repeat(512 * 1024);
  await exchange(s.memcachePort, Buffer.from(`set big 0 0 ${value.length}\r\n${value}\r\n`), endsWith('STORED\r\n'));
  const rssBefore = procKb(s.pid, 'VmRSS');
  const gets = 1000;
  const sock = connect(s.memcachePort, '127.0.0.1');
  sock.pause();
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.write('get big\r\n'.repeat(gets));
  // Unbounded, the server would hold 500 MiB of replies within a few turns; watch it for a while.
  let peakMb = 0;
  const watchUntil = Date.now() + 1500;
  await waitFor('the observation window', () => {
    peakMb = Math.max(peakMb, (procKb(s.pid, 'VmRSS') - rssBefore) / 1024);
    return Date.now() > watchUntil;
  }, 5000, 50);
  // Measured: about 100 MiB here (MAX_IN_FLIGHT replies of 512 KiB), about 300 MiB before the bound.
  assert.ok(peakMb < 200, `resident size grew ${peakMb.toFixed(0)} MiB while the client did not read`);
  const ends = await new Promise<number>((resolve, reject) => {
    let n = 0;
    let tail = '';
    sock.on('data', (d: Buffer) => {
      const s2 = tail + d.toString('latin1');
      n += s2.split('END\r\n').length - 1;
      tail = s2.slice(-4);
      if (n === gets) resolve(n);
    });
    sock.on('error', reject);
    sock.on('close', () => reject(new Error(`closed after ${n} replies`)));
    sock.resume();
  });
  sock.destroy();
  assert.is(ends, gets);
});

it('output: client-output-buffer-limit normal 8mb closes a client that never reads near 8 MB, not ten times later', async () => {
  const s = await start(['--client-output-buffer-limit', 'normal 8mb 8mb 0']);
  const value = 'w'.repeat(900 * 1024);
  await exchange(s.memcachePort, Buffer.from(`set big 0 0 ${value.length}\r\n${value}\r\n`), endsWith('STORED\r\n'));
  const sock = connect(s.memcachePort, '127.0.0.1');
  sock.on('error', () => undefined);
  sock.pause();
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.write('get big\r\n'.repeat(200));
  await waitFor('the server to close the client over its output limit', async () => {
    const r = await exchange(s.memcachePort, Buffer.from('stats\r\n'), endsWith('END\r\n'));
    return /STAT curr_connections 1\r\n/.test(r.data.toString());
  }, 20_000);
  let received = 0;
  await new Promise<void>((resolve) => {
    sock.on('data', (d: Buffer) => (received += d.length));
    sock.on('close', () => resolve());
    sock.resume();
  });
  assert.ok(received < 24 * 1024 * 1024, `the client received ${received} bytes before the cut (180 MB unbounded)`);
  await assertAlive(s, 'after the output limit');
});

t.run();
