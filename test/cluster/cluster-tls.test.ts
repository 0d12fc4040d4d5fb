// The cluster bus under tls-cluster, in process: three ClusterNodes whose bus is mutual TLS
// converge over real loopback sockets; a node whose certificate comes from another CA is refused
// by every bus (it never completes its handshake nor learns a slot); a PeerClient dials TLS and
// talks RESP to a TLS server. Certificates are made with openssl (fails when it is missing).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import pino from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort, until } from './net-helpers.js';
import { ClusterNode, type ClusterNodeOptions } from '../../src/cluster/cluster-node.js';
import { PeerClient } from '../../src/cluster/peer-client.js';
import { makeTestCerts, type TestCerts } from '../e2e/tls-certs.js';

const NODE_TIMEOUT_MS = 1000;

function busTls(c: TestCerts, cert: string, key: string): NonNullable<ClusterNodeOptions['tls']> {
  const ca = readFileSync(c.caCert);
  const material = { ca, cert: readFileSync(cert), key: readFileSync(key) };
  return { server: () => ({ ...material }), client: () => ({ ...material, checkServerIdentity: () => undefined }) };
}

test('three nodes over a mutual-TLS bus converge; a node with a foreign certificate is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-cluster-tls-'));
  const certs = makeTestCerts();
  const log = pino({ level: 'silent' });
  const opts: ClusterNodeOptions[] = [];
  for (let i = 0; i < 4; i++) {
    const foreign = i === 3;
    opts.push({
      port: await freePort(), busPort: await freePort(), bindHost: '127.0.0.1', announceIp: '',
      configFile: join(dir, `nodes-${i}.conf`), nodeTimeoutMs: NODE_TIMEOUT_MS, requireFullCoverage: true, log,
      tls: foreign ? busTls(certs, certs.otherCert, certs.otherKey) : busTls(certs, certs.serverCert, certs.serverKey),
      // Node 0 also has a plain port: the others learn it (CLUSTER SHARDS shows it as `port`).
      ...(i === 0 ? { plainPort: 4321 } : {}),
    });
  }
  const nodes = opts.map((o) => new ClusterNode(o));
  try {
    for (const n of nodes) await n.start();
    const trio = nodes.slice(0, 3);
    const ranges: Array<[number, number]> = [[0, 5460], [5461, 10922], [10923, 16383]];
    trio.forEach((n, i) => {
      const [from, to] = ranges[i]!;
      n.addSlots(Array.from({ length: to - from + 1 }, (_, k) => from + k));
    });
    nodes[0]!.meet('127.0.0.1', opts[1]!.port, opts[1]!.busPort);
    nodes[2]!.meet('127.0.0.1', opts[0]!.port, opts[0]!.busPort);
    await until('convergence over TLS', 10_000, () =>
      trio.every((n) => n.state() === 'ok' && n.nodes().length === 3 && n.nodes().every((v) => !v.flags.includes('handshake') && (v.flags.includes('myself') || v.connected))),
    );
    for (const n of trio) {
      assert.is(n.node(nodes[0]!.myId)?.pport, 4321, 'the plain port of node 0 is gossiped');
      assert.is(n.node(nodes[1]!.myId)?.pport, 0);
      assert.ok(n.tlsCluster);
      assert.is(n.slotAddress(16383), `127.0.0.1:${opts[2]!.port}`);
    }

    // The foreign node meets node 0 both ways: neither handshake completes.
    const foreign = nodes[3]!;
    foreign.meet('127.0.0.1', opts[0]!.port, opts[0]!.busPort);
    nodes[0]!.meet('127.0.0.1', opts[3]!.port, opts[3]!.busPort);
    // Long enough for many heartbeats (every node pings several times a second at this timeout).
    const deadline = Date.now() + 3 * NODE_TIMEOUT_MS;
    while (Date.now() < deadline) {
      assert.ok(!nodes[0]!.nodes().some((v) => v.id === foreign.myId), 'node 0 learned the foreign node');
      assert.is(foreign.nodes().filter((v) => !v.flags.includes('handshake')).length, 1, 'the foreign node learned a peer');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.is(foreign.myself().slots.length, 0);
    assert.is(foreign.slotAddress(0), null);
  } finally {
    for (const n of nodes) await n.stop();
    rmSync(dir, { recursive: true, force: true });
    certs.remove();
  }
});

test('a PeerClient dials TLS and gets its replies in order', async () => {
  const certs = makeTestCerts();
  const material = { ca: readFileSync(certs.caCert), cert: readFileSync(certs.serverCert), key: readFileSync(certs.serverKey) };
  let clientAuthorized = false;
  const server = tls.createServer({ ...material, requestCert: true, rejectUnauthorized: true }, (sock) => {
    clientAuthorized = sock.authorized;
    // Each request is one PING (*1\r\n$4\r\nPING\r\n, 14 bytes): one PONG per whole request.
    let received = 0;
    let answered = 0;
    sock.on('data', (d: Buffer) => {
      received += d.length;
      for (; answered < Math.floor(received / 14); answered++) sock.write('+PONG\r\n');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const peer = new PeerClient('127.0.0.1', port, [], () => ({ ...material, checkServerIdentity: () => undefined }));
  try {
    const replies = await Promise.all([1, 2, 3].map(() => peer.call(['PING'], 5_000)));
    assert.equal(replies.map((b) => b.toString()), ['+PONG\r\n', '+PONG\r\n', '+PONG\r\n']);
    assert.ok(clientAuthorized, 'the peer presented its certificate');
  } finally {
    peer.close();
    await new Promise<void>((r) => server.close(() => r()));
    certs.remove();
  }
});

test.run();
