// src/config/tls.ts alone: what a configuration of tls-* options builds to, and each refusal with
// the reason the log gets (Redis's text where Redis has one). Certificates come from openssl
// (test/e2e/tls-certs.ts); the TLS doors themselves are tested end to end in test/e2e/tls.test.ts.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { Config } from '../../src/config/config.js';
import { InvalidValue } from '../../src/config/params.js';
import { TlsContexts, buildTlsMaterial, tlsInUse, type TlsValues } from '../../src/config/tls.js';
import { makeTestCerts, type TestCerts } from '../e2e/tls-certs.js';

const t = suite('config/tls: TlsContexts from the tls-* options');
let certs: TestCerts;

t.before(() => {
  certs = makeTestCerts();
});
t.after(() => certs?.remove());

function values(over: Partial<TlsValues> = {}): TlsValues {
  const v = new Config().values;
  return { ...v, tlsCertFile: certs.serverCert, tlsKeyFile: certs.serverKey, tlsCaCertFile: certs.caCert, ...over };
}

function refusal(over: Partial<TlsValues>): string {
  try {
    buildTlsMaterial(values(over));
  } catch (e) {
    assert.instance(e, InvalidValue);
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
}

t('defaults: TLSv1.2 to TLSv1.3, client certificates required, sessions cached 20480 x 300 s', () => {
  const m = buildTlsMaterial(values());
  assert.is(m.serverOptions.minVersion, 'TLSv1.2');
  assert.is(m.serverOptions.maxVersion, 'TLSv1.3');
  assert.is(m.authClients, 'yes');
  assert.is(m.sessionCacheMax, 20480);
  assert.is(m.sessionTimeoutMs, 300_000);
  const c = new TlsContexts(values());
  assert.is(c.server().requestCert, true);
  assert.is(c.server().rejectUnauthorized, true);
  assert.is(c.client().rejectUnauthorized, true);
});

t('tls-protocols: a range from the words given; an unknown word gets Redis\'s text', () => {
  const m = buildTlsMaterial(values({ tlsProtocols: 'TLSv1.3' }));
  assert.is(m.serverOptions.minVersion, 'TLSv1.3');
  assert.is(m.serverOptions.maxVersion, 'TLSv1.3');
  assert.is(refusal({ tlsProtocols: 'TLSv1.2 SSLv3' }),
    "Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.");
});

t('a CA is required unless tls-auth-clients no (and no replication or cluster TLS), as Redis', () => {
  const text = 'Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or tls-auth-clients are enabled!';
  assert.is(refusal({ tlsCaCertFile: '' }), text);
  assert.is(refusal({ tlsCaCertFile: '', tlsAuthClients: 'no', tlsReplication: true }), text);
  assert.ok(buildTlsMaterial(values({ tlsCaCertFile: '', tlsAuthClients: 'no' })));
  assert.ok(buildTlsMaterial(values({ tlsCaCertFile: '', tlsCaCertDir: certs.caDir })).serverOptions.ca);
  assert.is(refusal({ tlsCertFile: '' }), 'No tls-cert-file configured!');
});

t('files: missing, a key that does not match, an encrypted key with and without its passphrase', () => {
  assert.match(refusal({ tlsCertFile: '/nonexistent.crt' }), /^Failed to load certificate: \/nonexistent\.crt: /);
  assert.match(refusal({ tlsKeyFile: certs.server2Key }), /^Failed to configure TLS: /);
  assert.match(refusal({ tlsKeyFile: certs.serverKeyEncrypted }), /^Failed to configure TLS: /);
  assert.ok(buildTlsMaterial(values({ tlsKeyFile: certs.serverKeyEncrypted, tlsKeyFilePass: certs.keyPass })));
  // Outgoing links use tls-client-cert-file when set.
  const m = buildTlsMaterial(values({ tlsClientCertFile: certs.clientCert, tlsClientKeyFile: certs.clientKey }));
  assert.ok(Buffer.isBuffer(m.clientOptions.cert) && m.clientOptions.cert.equals(readFileSync(certs.clientCert)));
});

t('ciphers: each of tls-ciphers and tls-ciphersuites keeps the default of the other; a bad list is refused', () => {
  const m = buildTlsMaterial(values({ tlsCiphersuites: 'TLS_CHACHA20_POLY1305_SHA256' }));
  assert.ok(m.serverOptions.ciphers?.startsWith('TLS_CHACHA20_POLY1305_SHA256:ECDHE-'));
  const m2 = buildTlsMaterial(values({ tlsCiphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }));
  assert.ok(m2.serverOptions.ciphers?.endsWith(':ECDHE-ECDSA-AES128-GCM-SHA256'));
  assert.ok(m2.serverOptions.ciphers?.startsWith('TLS_'));
  assert.match(refusal({ tlsCiphers: 'BOGUS' }), /^Failed to configure TLS: /);
});

t('tlsInUse: any TLS door or link', () => {
  const v = new Config().values;
  assert.is(tlsInUse(v), false);
  for (const over of [{ tlsPort: 1 }, { memcacheTls: true }, { httpTls: true }, { tlsReplication: true }, { tlsCluster: true }]) {
    assert.is(tlsInUse({ ...v, ...over }), true, JSON.stringify(over));
  }
});

t('CONFIG GET tls-*: Redis\'s names and defaults', () => {
  assert.equal(new Config().get(['tls-*']), [
    ['tls-port', '0'], ['tls-cert-file', ''], ['tls-key-file', ''], ['tls-key-file-pass', ''], ['tls-client-cert-file', ''],
    ['tls-client-key-file', ''], ['tls-client-key-file-pass', ''], ['tls-ca-cert-file', ''], ['tls-ca-cert-dir', ''],
    ['tls-dh-params-file', ''], ['tls-auth-clients', 'yes'], ['tls-protocols', ''], ['tls-ciphers', ''], ['tls-ciphersuites', ''],
    ['tls-prefer-server-ciphers', 'no'], ['tls-session-caching', 'yes'], ['tls-session-cache-size', '20480'],
    ['tls-session-cache-timeout', '300'], ['tls-replication', 'no'], ['tls-cluster', 'no'],
  ]);
  assert.equal(new Config().get(['*-tls']), [['memcache-tls', 'no'], ['http-tls', 'no']]);
});



t.run();
