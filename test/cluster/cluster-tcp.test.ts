// Three ClusterNodes over real TCP on loopback: MEET, slots, convergence; one stops and is flagged
// PFAIL then FAIL by the others within the node timeout window; it restarts from its nodes.conf
// with the same id and slots and rejoins (FAIL cleared). Polls with deadlines, never fixed sleeps.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort, until } from './net-helpers.js';
import { ClusterNode, type ClusterNodeOptions } from '../../src/cluster/cluster-node.js';

const NODE_TIMEOUT_MS = 1000;


function flagged(observer: ClusterNode, id: string, flag: 'pfail' | 'fail'): boolean {
  return observer.node(id)?.flags.includes(flag) ?? false;
}

function healthy(observer: ClusterNode, all: ClusterNode[]): boolean {
  if (observer.nodes().length !== all.length) return false;
  for (const other of all) {
    const v = observer.node(other.myId);
    if (!v || v.flags.some((f) => f === 'pfail' || f === 'fail' || f === 'handshake')) return false;
    if (JSON.stringify(v.slots) !== JSON.stringify(other.myself().slots)) return false;
    if (other !== observer && !v.connected) return false;
  }
  return observer.state() === 'ok';
}

test('three nodes over TCP: converge, detect a stopped node, rejoin from nodes.conf', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-cluster-'));
  const log = pino({ level: 'silent' });
  const opts: ClusterNodeOptions[] = [];
  for (let i = 0; i < 3; i++) {
    opts.push({
      port: await freePort(), busPort: await freePort(), bindHost: '127.0.0.1', announceIp: '',
      configFile: join(dir, `nodes-${i}.conf`), nodeTimeoutMs: NODE_TIMEOUT_MS, requireFullCoverage: true, log,
    });
  }
  const nodes = opts.map((o) => new ClusterNode(o));
  try {
    for (const n of nodes) await n.start();
    const ranges: Array<[number, number]> = [[0, 5460], [5461, 10922], [10923, 16383]];
    nodes.forEach((n, i) => {
      const [from, to] = ranges[i]!;
      n.addSlots(Array.from({ length: to - from + 1 }, (_, k) => from + k));
    });
    nodes[0]!.meet('127.0.0.1', opts[1]!.port, opts[1]!.busPort);
    nodes[2]!.meet('127.0.0.1', opts[0]!.port, opts[0]!.busPort);
    const convergedMs = await until('convergence', 10_000, () => nodes.every((n) => healthy(n, nodes)));
    for (const n of nodes) {
      assert.is(n.myself().ip, '127.0.0.1', 'learned its own ip');
      assert.is(n.slotAddress(16383), `127.0.0.1:${opts[2]!.port}`);
      assert.ok(n.info().messages.some(([k, v]) => k === 'cluster_stats_messages_pong_received' && v > 0));
      assert.is(n.nodesText().split('\n').filter((l) => l !== '').length, 3);
    }

    // Stop node 2: the others flag it PFAIL, then FAIL (2 of 3 primaries are a majority).
    const victim = nodes[2]!;
    const victimId = victim.myId;
    const victimSlots = victim.myself().slots;
    await victim.stop();
    const others = nodes.slice(0, 2);
    const pfailMs = await until('PFAIL', 3 * NODE_TIMEOUT_MS, () => others.every((n) => flagged(n, victimId, 'pfail') || flagged(n, victimId, 'fail')));
    const failMs = await until('FAIL', 4 * NODE_TIMEOUT_MS, () => others.every((n) => flagged(n, victimId, 'fail')));
    assert.ok(pfailMs <= 2 * NODE_TIMEOUT_MS, `PFAIL after ${pfailMs} ms`);
    for (const n of others) {
      assert.is(n.state(), 'fail');
      assert.is(n.info().cluster_slots_fail, 5461);
    }

    // Restart it from its nodes.conf: same id, same slots, and the others clear its FAIL.
    const back = new ClusterNode(opts[2]!);
    nodes[2] = back;
    assert.is(back.myId, victimId);
    assert.equal(back.myself().slots, victimSlots);
    assert.is(back.nodes().length, 3, 'it remembers the nodes it knew');
    await back.start();
    const rejoinMs = await until('rejoin', 10_000, () => nodes.every((n) => healthy(n, nodes)));
    console.log(`  converged in ${convergedMs} ms; PFAIL after ${pfailMs} ms, FAIL after ${pfailMs + failMs} ms; rejoined in ${rejoinMs} ms`);
  } finally {
    for (const n of nodes) await n.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
