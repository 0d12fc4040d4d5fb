// Test certificates made with the openssl command into a fresh temporary directory: a CA, server
// certificates (for localhost and 127.0.0.1) with distinct subjects and serials, a client
// certificate, an expired server certificate, a passphrase-protected key, and a certificate from
// another CA. Reused by the TLS, replication and cluster tests and by bench/tls-bench.ts. A missing
// openssl is an error with a clear message, never a silent pass.

import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  dir: string;
  /** The CA that signed server, server2, client and expired. */
  caCert: string;
  /** A directory holding caCert only (for tls-ca-cert-dir). */
  caDir: string;
  serverCert: string;
  serverKey: string;
  /** serverKey encrypted with keyPass (for tls-key-file-pass). */
  serverKeyEncrypted: string;
  keyPass: string;
  /** Another server certificate of the same CA: subject CN=tessera-reloaded, its own serial. */
  server2Cert: string;
  server2Key: string;
  clientCert: string;
  clientKey: string;
  /** A server certificate whose validity ended yesterday. */
  expiredCert: string;
  expiredKey: string;
  /** Another CA, and a client and a server certificate it signed. */
  otherCaCert: string;
  otherCert: string;
  otherKey: string;
  /** Serial numbers (upper-case hex, as Node's getPeerCertificate().serialNumber). */
  serials: { server: string; server2: string };
  /** Removes the directory. */
  remove(): void;
}

/** Throws a clear error when the openssl command is missing. */
export function requireOpenssl(): void {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    throw new Error('openssl is required to make the TLS test certificates (apt-get install openssl): ' + (r.error?.message ?? r.stderr));
  }
}

function ssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** An EC P-256 key and a CSR for `cn`. */
function keyAndCsr(dir: string, name: string, cn: string): void {
  ssl(dir, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
}

function sign(dir: string, name: string, ca: string, serial: string, days: number, ext: string): void {
  writeFileSync(join(dir, `${name}.ext`), ext);
  ssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-set_serial', `0x${serial}`,
    '-days', String(days), '-out', `${name}.crt`, '-extfile', `${name}.ext`]);
}

function makeCa(dir: string, name: string, cn: string): void {
  ssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30',
    '-keyout', `${name}.key`, '-out', `${name}.crt`, '-subj', `/CN=${cn}`]);
}

const SERVER_EXT = 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n';
const CLIENT_EXT = 'extendedKeyUsage=clientAuth\n';

/** Makes a fresh set of certificates (about a second of openssl runs). */
export function makeTestCerts(): TestCerts {
  requireOpenssl();
  const dir = mkdtempSync(join(tmpdir(), 'tessera-tls-'));
  makeCa(dir, 'ca', 'Tessera Test CA');
  makeCa(dir, 'other-ca', 'Another CA');
  const serials = { server: '1A01', server2: '1A02' };
  keyAndCsr(dir, 'server', 'localhost');
  sign(dir, 'server', 'ca', serials.server, 30, SERVER_EXT);
  keyAndCsr(dir, 'server2', 'tessera-reloaded');
  sign(dir, 'server2', 'ca', serials.server2, 30, SERVER_EXT);
  keyAndCsr(dir, 'client', 'tessera-client');
  sign(dir, 'client', 'ca', '1A03', 30, CLIENT_EXT);
  keyAndCsr(dir, 'expired', 'localhost');
  sign(dir, 'expired', 'ca', '1A04', -1, SERVER_EXT);
  keyAndCsr(dir, 'other', 'localhost');
  sign(dir, 'other', 'other-ca', '1A05', 30, SERVER_EXT);
  const keyPass = 'tls-key-secret';
  ssl(dir, ['pkey', '-in', 'server.key', '-aes256', '-passout', `pass:${keyPass}`, '-out', 'server-enc.key']);
  const caDir = join(dir, 'ca-dir');
  mkdirSync(caDir);
  copyFileSync(join(dir, 'ca.crt'), join(caDir, 'ca.pem'));
  const p = (f: string): string => join(dir, f);
  return {
    dir,
    caCert: p('ca.crt'),
    caDir,
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    serverKeyEncrypted: p('server-enc.key'),
    keyPass,
    server2Cert: p('server2.crt'),
    server2Key: p('server2.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    expiredCert: p('expired.crt'),
    expiredKey: p('expired.key'),
    otherCaCert: p('other-ca.crt'),
    otherCert: p('other.crt'),
    otherKey: p('other.key'),
    serials,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The server options of a TLS server using `certs` (Tessera and redis-server take the same). */
export function tlsServerArgs(certs: TestCerts, tlsPort: number, extra: { authClients?: 'yes' | 'no' | 'optional' } = {}): string[] {
  return ['--tls-port', String(tlsPort), '--tls-cert-file', certs.serverCert, '--tls-key-file', certs.serverKey,
    '--tls-ca-cert-file', certs.caCert, '--tls-auth-clients', extra.authClients ?? 'no'];
}

/** File contents, for client options (ca, cert, key). */
export function pem(path: string): Buffer {
  return readFileSync(path);
}
