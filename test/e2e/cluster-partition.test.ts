// A network partition of a real six-process cluster (three primaries, three replicas, made by
// `redis-cli --cluster create --cluster-replicas 1`, cluster-node-timeout 1000, one shard per
// node). Network namespaces are not available to the tests, so the partition is built with the
// DEBUG CLUSTER-PARTITION test hook: primary A drops cluster-bus traffic to and from every other
// node, and every other node drops it to and from A (the client connections and the replication
// link stay up). Checks that the minority primary A stops taking writes (cluster_state:fail,
// CLUSTERDOWN), that the majority promotes A's replica B, which takes writes on A's slots; that
// after healing every node agrees on exactly one primary per slot (B for A's old range), A is a
// replica of B and cluster_state is ok everywhere; and that no write acknowledged by WAIT (before
// or during the partition) nor any write acknowledged by the new primary is lost.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import calculateSlot from 'cluster-key-slot';
import { plain, rawClient, redisCli, startClusterNode, waitFor, withTimeout, type ClusterNode, type Plain } from './harness.js';

const NODE_TIMEOUT_MS = 1000;
const TEST_TIMEOUT_MS = 60_000;
const CALL_TIMEOUT_MS = 3_000;
const POLL_MS = 50;

type Node = ClusterNode;

const nodes: Node[] = [];

function startNode(): Promise<Node> {
  return startClusterNode({ nodeTimeoutMs: NODE_TIMEOUT_MS, shards: 1 });
}

/** One command on a fresh raw connection (with timeouts); the reply as plain JS ({ error } for errors). */
async function call(port: number, ...args: Array<string | number>): Promise<Plain> {
  const c = await rawClient(port, CALL_TIMEOUT_MS);
  try {
    return plain((await c.call(args.map(String), CALL_TIMEOUT_MS)).value);
  } finally {
    c.close();
  }
}

/** As call(), but an error reply throws. */
async function ok(port: number, ...args: Array<string | number>): Promise<Plain> {
  const r = await call(port, ...args);
  if (r !== null && typeof r === 'object' && 'error' in r) throw new Error(`${args.join(' ')} on ${port}: ${r.error}`);
  return r;
}

function errorText(r: Plain): string | null {
  return r !== null && typeof r === 'object' && !Array.isArray(r) && 'error' in r ? r.error : null;
}

/** A persistent raw connection for a write stream (SET then WAIT on the same connection). */
type Conn = Awaited<ReturnType<typeof rawClient>>;
async function exec(c: Conn, ...args: Array<string | number>): Promise<Plain> {
  return plain((await c.call(args.map(String), CALL_TIMEOUT_MS)).value);
}

interface Line {
  id: string;
  port: number;
  flags: string[];
  primaryId: string | null;
  /** Slot ranges [from, to] (importing/migrating markers left out). */
  ranges: Array<[number, number]>;
}

function parseNodes(text: string): Line[] {
  return text.trim().split('\n').map((l) => {
    const f = l.split(' ');
    const ranges = f.slice(8).filter((s) => !s.startsWith('[')).map((s): [number, number] => {
      const [a, b] = s.split('-').map(Number);
      return [a!, b ?? a!];
    });
    return { id: f[0]!, port: Number(f[1]!.split('@')[0]!.split(':')[1]), flags: f[2]!.split(','), primaryId: f[3] === '-' ? null : f[3]!, ranges };
  });
}

async function nodesOf(port: number): Promise<Line[]> {
  return parseNodes(String(await ok(port, 'CLUSTER', 'NODES')));
}

async function clusterState(port: number): Promise<string> {
  const m = /cluster_state:(\w+)/.exec(String(await ok(port, 'CLUSTER', 'INFO')));
  return m?.[1] ?? '?';
}

function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)\r?$`, 'm').exec(info)?.[1]?.trim();
}

async function replicationInfo(port: number): Promise<string> {
  return String(await ok(port, 'INFO', 'replication'));
}

function inRanges(slot: number, ranges: Array<[number, number]>): boolean {
  return ranges.some(([a, b]) => slot >= a && slot <= b);
}

/** Owner (by node id) of every slot, as seen from `port` through CLUSTER NODES; null on a double claim. */
function ownersFromNodes(lines: Line[]): { owner: Array<string | undefined>; doubleClaims: number[] } {
  const owner: Array<string | undefined> = new Array(16384);
  const doubleClaims: number[] = [];
  for (const l of lines) {
    if (!l.flags.includes('master')) continue;
    for (const [a, b] of l.ranges) {
      for (let s = a; s <= b; s++) {
        if (owner[s] !== undefined && owner[s] !== l.id) doubleClaims.push(s);
        owner[s] = l.id;
      }
    }
  }
  return { owner, doubleClaims };
}

const ms = (t0: number): number => Date.now() - t0;

const p = suite('cluster partition');

p.before(async () => {
  const started = await Promise.allSettled(Array.from({ length: 6 }, () => startNode()));
  for (const s of started) if (s.status === 'fulfilled') nodes.push(s.value);
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  const r = await redisCli(['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'], { timeoutMs: 30_000 });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /\[OK\] All 16384 slots covered/);
});

p.after(async () => {
  // Every node stopped by pid (SIGTERM, then SIGKILL), then its dir removed.
  await Promise.all(nodes.map((n) => n.handle.stop()));
  for (const n of nodes) rmSync(n.dir, { recursive: true, force: true });
});

p('a partitioned primary stops taking writes, its replica takes over, and after healing one primary per slot and no acknowledged write lost', () =>
  withTimeout((async () => {
    const tStart = Date.now();
    // 1. Three primaries with one synced replica each, cluster_state:ok everywhere.
    await waitFor('cluster_state:ok everywhere, three primaries with one replica each', async () => {
      for (const n of nodes) if ((await clusterState(n.port)) !== 'ok') return false;
      const lines = await nodesOf(nodes[0]!.port);
      const primaries = lines.filter((l) => l.flags.includes('master') && l.ranges.length > 0);
      return primaries.length === 3 && primaries.every((pr) => lines.filter((l) => l.primaryId === pr.id).length === 1);
    }, 20_000, 100);
    const lines = await nodesOf(nodes[0]!.port);
    const replicas = lines.filter((l) => l.flags.includes('slave'));
    await waitFor('every replica synced (master_link_status:up, master_sync_in_progress:0)', async () => {
      for (const r of replicas) {
        const info = await replicationInfo(r.port);
        if (infoField(info, 'master_link_status') !== 'up' || infoField(info, 'master_sync_in_progress') !== '0') return false;
      }
      return true;
    }, 20_000, 100);
    const A = lines.find((l) => l.flags.includes('master') && l.ranges.length > 0)!;
    const B = lines.find((l) => l.primaryId === A.id)!;
    const others = lines.filter((l) => l.id !== A.id);
    const aRanges = A.ranges;
    console.log(`  cluster up in ${ms(tStart)} ms; A = ${A.port} (${A.id.slice(0, 8)}, slots ${aRanges.map((r) => r.join('-')).join(',')}), its replica B = ${B.port}`);

    let keyN = 0;
    const keyInA = (prefix: string): string => {
      for (;;) {
        const k = `${prefix}:${keyN++}`;
        if (inRanges(calculateSlot(k), aRanges)) return k;
      }
    };

    // 2. Writes on A, each followed by WAIT 1 1000; acknowledged when WAIT says >= 1.
    const waitAcked = new Map<string, string>();
    const onA = await rawClient(A.port, CALL_TIMEOUT_MS);
    try {
      let notAcked = 0;
      for (let i = 0; i < 100; i++) {
        const k = keyInA('pre');
        const v = `pre-${i}`;
        assert.equal(await exec(onA, 'SET', k, v), 'OK');
        const n = await exec(onA, 'WAIT', 1, 1000);
        if (typeof n === 'number' && n >= 1) waitAcked.set(k, v);
        else notAcked++;
      }
      assert.ok(waitAcked.size >= 90, `only ${waitAcked.size} of 100 writes acknowledged by WAIT 1 before the partition (${notAcked} not)`);
    } finally {
      onA.close();
    }

    // 3. Partition A from everyone: A cuts all others, every other node cuts A.
    const tCut = Date.now();
    await Promise.all([
      ok(A.port, 'DEBUG', 'CLUSTER-PARTITION', ...others.map((o) => o.id)),
      ...others.map((o) => ok(o.port, 'DEBUG', 'CLUSTER-PARTITION', A.id)),
    ]);

    // The minority primary: cluster_state:fail and writes refused with CLUSTERDOWN. Writes it
    // still accepts before it notices are kept when WAIT 1 acknowledges them (the replication
    // link is still up), and must then survive like the others.
    const acceptedOnAWhileCut: string[] = [];
    const aWrites = await rawClient(A.port, CALL_TIMEOUT_MS);
    let aFailAt = 0;
    let aDownAt = 0;
    let downError = '';
    try {
      await waitFor('A (minority) to say cluster_state:fail and refuse writes with CLUSTERDOWN', async () => {
        if (aFailAt === 0 && (await clusterState(A.port)) === 'fail') aFailAt = ms(tCut);
        if (aDownAt === 0) {
          const k = keyInA('cut');
          const v = `cut-${k}`;
          const r = await exec(aWrites, 'SET', k, v);
          const e = errorText(r);
          if (e === null) {
            acceptedOnAWhileCut.push(k);
            const n = await exec(aWrites, 'WAIT', 1, 200);
            if (typeof n === 'number' && n >= 1) waitAcked.set(k, v);
          } else {
            assert.ok(e.startsWith('CLUSTERDOWN'), `write on the minority primary: ${e}`);
            downError = e;
            aDownAt = ms(tCut);
          }
        }
        return aFailAt > 0 && aDownAt > 0;
      }, 8_000, POLL_MS);
    } finally {
      aWrites.close();
    }
    console.log(`  partition: A cluster_state:fail after ${aFailAt} ms, CLUSTERDOWN on writes after ${aDownAt} ms ("${downError}"); ${acceptedOnAWhileCut.length} writes accepted before that, ${acceptedOnAWhileCut.filter((k) => waitAcked.has(k)).length} of them WAIT-acknowledged`);

    // The majority: B is primary with A's slots (ROLE on B; CLUSTER NODES of every majority node).
    const bPrimaryAt = await waitFor('B (A\'s replica) to be primary with A\'s slots on the majority side', async () => {
      const role = await ok(B.port, 'ROLE');
      if (!Array.isArray(role) || role[0] !== 'master') return false;
      for (const o of others) {
        const view = await nodesOf(o.port);
        const b = view.find((l) => l.id === B.id);
        if (!b || !b.flags.includes('master')) return false;
        const { owner } = ownersFromNodes(view);
        for (const [a, z] of aRanges) for (let s = a; s <= z; s++) if (owner[s] !== B.id) return false;
      }
      return ms(tCut);
    }, 8_000, POLL_MS);
    await waitFor('cluster_state:ok on the majority side', async () => {
      for (const o of others) if ((await clusterState(o.port)) !== 'ok') return false;
      return true;
    }, 10_000, POLL_MS);
    console.log(`  partition: B primary on every majority node after ${bPrimaryAt} ms`);

    // Writes on the new primary (A's old slots) succeed; WAIT 1 may well say 0 (B has no replica
    // now), so these count as acknowledged by the primary.
    const primaryAcked = new Map<string, string>();
    const onB = await rawClient(B.port, CALL_TIMEOUT_MS);
    let waitOnB = 0;
    try {
      for (let i = 0; i < 50; i++) {
        const k = keyInA('maj');
        const v = `maj-${i}`;
        const r = await exec(onB, 'SET', k, v);
        assert.equal(r, 'OK', `write ${k} on the new primary B`);
        primaryAcked.set(k, v);
        const n = await exec(onB, 'WAIT', 1, 50);
        if (typeof n === 'number' && n >= 1) waitOnB++;
      }
    } finally {
      onB.close();
    }
    // The minority primary still refuses writes, all through the partition.
    const still = errorText(await call(A.port, 'SET', keyInA('late'), 'x'));
    assert.ok(still !== null && still.startsWith('CLUSTERDOWN'), `write on the minority primary late in the partition: ${String(still)}`);
    console.log(`  partition: ${primaryAcked.size} writes on B (WAIT 1 acknowledged ${waitOnB})`);

    // 4. Heal; every node agrees: B owns A's old slots, exactly one primary per slot, A is a
    // replica of B, cluster_state:ok everywhere.
    const tHeal = Date.now();
    await Promise.all(nodes.map((n) => ok(n.port, 'DEBUG', 'CLUSTER-PARTITION')));
    let lastProblem = '';
    await waitFor('after healing: one primary per slot (B for A\'s old range) on every node, A a replica of B, cluster_state:ok', async () => {
      for (const n of nodes) {
        const st = await clusterState(n.port);
        if (st !== 'ok') return (lastProblem = `${n.port}: cluster_state:${st}`), false;
        const view = await nodesOf(n.port);
        const { owner, doubleClaims } = ownersFromNodes(view);
        if (doubleClaims.length > 0) return (lastProblem = `${n.port}: ${doubleClaims.length} slots claimed by two primaries (e.g. ${doubleClaims[0]})`), false;
        for (let s = 0; s < 16384; s++) if (owner[s] === undefined) return (lastProblem = `${n.port}: slot ${s} unowned`), false;
        for (const [a, z] of aRanges) for (let s = a; s <= z; s++) if (owner[s] !== B.id) return (lastProblem = `${n.port}: slot ${s} owned by ${owner[s]}`), false;
        const a = view.find((l) => l.id === A.id);
        if (!a || !a.flags.includes('slave') || a.primaryId !== B.id) return (lastProblem = `${n.port}: A is ${a?.flags.join(',')} of ${a?.primaryId}`), false;
        if (view.filter((l) => l.flags.includes('master') && l.ranges.length > 0).length !== 3) return (lastProblem = `${n.port}: not three primaries with slots`), false;
        // CLUSTER SLOTS agrees: every range of A's old slots is served by B.
        const slots = (await ok(n.port, 'CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, string, ...unknown[]], ...unknown[]]>;
        for (const [from, to, primary] of slots) {
          const overlaps = aRanges.some(([a0, z0]) => from <= z0 && to >= a0);
          if (overlaps && (primary[2] !== B.id || primary[1] !== B.port)) return (lastProblem = `${n.port}: CLUSTER SLOTS ${from}-${to} served by ${primary[1]}`), false;
        }
      }
      const roleA = await ok(A.port, 'ROLE');
      if (!Array.isArray(roleA) || roleA[0] !== 'slave' || roleA[2] !== B.port) return (lastProblem = `ROLE on A: ${JSON.stringify(roleA)}`), false;
      return true;
    }, 15_000, 100).catch((err: Error) => {
      throw new Error(`${err.message}; last problem: ${lastProblem}`);
    });
    const converged = ms(tHeal);
    // A catches up with B (its replica link up, no sync in progress).
    await waitFor('A synced as a replica of B', async () => {
      const info = await replicationInfo(A.port);
      return infoField(info, 'master_link_status') === 'up' && infoField(info, 'master_sync_in_progress') === '0' && infoField(info, 'master_port') === String(B.port);
    }, 15_000, 100);
    console.log(`  healed: every node agrees after ${converged} ms, A synced as B's replica after ${ms(tHeal)} ms`);

    // 5. Every acknowledged write is readable through the new primary.
    const lost: string[] = [];
    const read = await rawClient(B.port, CALL_TIMEOUT_MS);
    try {
      for (const [k, v] of [...waitAcked, ...primaryAcked]) {
        const got = await exec(read, 'GET', k);
        if (got !== v) lost.push(`${k}=${JSON.stringify(got)} (wanted ${v})`);
      }
    } finally {
      read.close();
    }
    assert.equal(lost, [], `acknowledged writes lost: ${lost.slice(0, 10).join(', ')}`);
    // A, now B's replica, converges on B's data (READONLY reads; replication is asynchronous).
    const onOldA = await rawClient(A.port, CALL_TIMEOUT_MS);
    try {
      assert.equal(await exec(onOldA, 'READONLY'), 'OK');
      for (const [k, v] of [...waitAcked, ...primaryAcked]) {
        await waitFor(`${k} on the old primary A, now B's replica`, async () => (await exec(onOldA, 'GET', k)) === v, 5_000, 20);
      }
    } finally {
      onOldA.close();
    }
    console.log(`  ${waitAcked.size} WAIT-acknowledged and ${primaryAcked.size} primary-acknowledged writes all read back from B and from A; total ${ms(tStart)} ms`);
  })(), TEST_TIMEOUT_MS, 'partition test'));

p.run();
