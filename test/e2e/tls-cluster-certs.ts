// Certificates for the replication and cluster TLS tests, made with openssl in a directory of the
// caller's: a CA, a certificate the nodes share (server and client use, as Redis's own test suite
// does) and a client certificate for the tools; `foreign` is a node certificate from another CA.
// Fails with a clear message when openssl is missing.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export interface TestCerts {
  ca: string;
  nodeCert: string;
  nodeKey: string;
  clientCert: string;
  clientKey: string;
  /** Signed by another CA: every node must refuse it. */
  foreignCert: string;
  foreignKey: string;
}

function openssl(dir: string, args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.error !== undefined) throw new Error(`openssl is needed by this test and was not found on PATH: install Debian's openssl (${r.error.message})`);
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

export function makeTestCerts(dir: string): TestCerts {
  for (const ca of ['ca', 'other-ca']) {
    openssl(dir, ['req', '-x509', '-new', '-nodes', '-newkey', 'rsa:2048', '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=Tessera test ${ca}`]);
  }
  for (const [who, ca] of [['node', 'ca'], ['client', 'ca'], ['foreign', 'other-ca']] as const) {
    openssl(dir, ['req', '-new', '-nodes', '-newkey', 'rsa:2048', '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who}`]);
    openssl(dir, ['x509', '-req', '-in', `${who}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${who}.crt`, '-days', '2']);
  }
  const p = (n: string): string => join(dir, n);
  return {
    ca: p('ca.crt'), nodeCert: p('node.crt'), nodeKey: p('node.key'), clientCert: p('client.crt'), clientKey: p('client.key'),
    foreignCert: p('foreign.crt'), foreignKey: p('foreign.key'),
  };
}
