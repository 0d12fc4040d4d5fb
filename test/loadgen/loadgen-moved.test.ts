// Cluster redirects: two fake cluster nodes in this process hand their slots over while
// `tessera bench --cluster` runs (first half of the slots, then all of them, to the second node).
// Every MOVED must be followed: each request is answered once, by the slot's owner, and no
// error is reported; connections to the node left without slots move to the other one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { keySlot, SLOT_COUNT } from '../../src/keyspace/slot.js';
import { parseLoadgenArgs, runLoadgen } from '../../src/loadgen/run.js';

/** Owner (0 or 1) per slot, shared by both fake nodes, as after a completed migration. */
const owner = new Uint8Array(SLOT_COUNT);
const served = [0, 0];
const servers: Server[] = [];
const sockets = new Set<Socket>();
const ports: number[] = [];
let flips = 0;

function bulk(s: string): string {
  return `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
}

function clusterSlots(): string {
  const ranges: string[] = [];
  let start = 0;
  for (let s = 1; s <= SLOT_COUNT; s++) {
    if (s === SLOT_COUNT || owner[s] !== owner[start]) {
      ranges.push(`*3\r\n:${start}\r\n:${s - 1}\r\n*3\r\n${bulk('127.0.0.1')}:${ports[owner[start]!]}\r\n${bulk(`node${owner[start]}`.padEnd(40, 'x'))}`);
      start = s;
    }
  }
  return `*${ranges.length}\r\n${ranges.join('')}`;
}

/** Parses one complete RESP command at buf[off..]: its arguments and end, or null if incomplete. */
function parseCommand(buf: Buffer, off: number): { args: Buffer[]; end: number } | null {
  let p = buf.indexOf('\r\n', off);
  if (p < 0) return null;
  const n = Number(buf.toString('latin1', off + 1, p));
  p += 2;
  const args: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const nl = buf.indexOf('\r\n', p);
    if (nl < 0) return null;
    const len = Number(buf.toString('latin1', p + 1, nl));
    if (nl + 2 + len + 2 > buf.length) return null;
    args.push(buf.subarray(nl + 2, nl + 2 + len));
    p = nl + 2 + len + 2;
  }
  return { args, end: p };
}

/** After 3000 answered GETs the first half of the slots moves to node 1; after 8000, all of them. */
function migrate(): void {
  const total = served[0]! + served[1]!;
  if (flips === 0 && total >= 3000) {
    owner.fill(1, 0, SLOT_COUNT / 2);
    flips++;
  } else if (flips === 1 && total >= 8000) {
    owner.fill(1);
    flips++;
  }
}

function fakeNode(me: number): Server {
  return createServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => {});
    sock.on('close', () => sockets.delete(sock));
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      let off = 0;
      let out = '';
      for (let cmd = parseCommand(buf, off); cmd !== null; cmd = parseCommand(buf, off)) {
        off = cmd.end;
        const name = cmd.args[0]!.toString().toUpperCase();
        if (name === 'CLUSTER') {
          out += clusterSlots();
          continue;
        }
        const key = cmd.args[1]!;
        const slot = keySlot(key, 0, key.length);
        if (owner[slot] !== me) {
          out += `-MOVED ${slot} 127.0.0.1:${ports[owner[slot]!]}\r\n`;
          continue;
        }
        served[me]!++;
        out += name === 'GET' ? '$-1\r\n' : '+OK\r\n';
        migrate();
      }
      buf = buf.subarray(off);
      if (out !== '') sock.write(out);
    });
  });
}

test.before(async () => {
  for (const me of [0, 1]) {
    const s = fakeNode(me);
    servers.push(s);
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    ports.push((s.address() as AddressInfo).port);
  }
});

test.after(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

function reset(): void {
  owner.fill(0);
  served.fill(0);
  flips = 0;
}

async function runMigrating(extra: string[]): Promise<void> {
  reset();
  const o = parseLoadgenArgs(['-p', String(ports[0]), '--cluster', '-t', 'get', '-c', '4', '-n', '20000', '-q', ...extra]);
  const [phase] = await runLoadgen(o);
  assert.ok(phase);
  assert.is(flips, 2, 'both migrations happened during the run');
  assert.is(phase.requests, 20000);
  assert.is(phase.errors, 0, phase.firstError);
  assert.is(served[0]! + served[1]!, 20000, 'every request answered exactly once, by its owner');
  assert.ok(phase.redirects > 0);
  assert.ok(phase.slotMapRefreshes >= 2, String(phase.slotMapRefreshes));
  assert.ok(served[0]! >= 3000 && served[1]! >= 12000, JSON.stringify(served));
  assert.ok(phase.latencyMs.p50 > 0 && phase.latencyMs.p50 <= phase.latencyMs.max);
}

test('closed loop: MOVED refreshes the slot map and the requests go again to the new owner', async () => {
  await runMigrating(['-P', '4']);
});

test('open loop: redirected requests are sent again, timed from their intended send time', async () => {
  await runMigrating(['--rate', '40000', '--threads', '2']);
});

test.run();
