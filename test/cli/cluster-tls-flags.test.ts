// `tessera cluster`'s TLS flags (redis-cli's names): taken out of the arguments before the
// subcommand's own flags, files read at once, and every misuse a usage error.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UsageError } from '../../src/cli/cluster/errors.js';
import { extractTlsFlags } from '../../src/cli/cluster/tls-flags.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-tls-flags-'));
const file = (name: string): string => {
  const p = join(dir, name);
  writeFileSync(p, `-----BEGIN CERTIFICATE-----\n${name}\n-----END CERTIFICATE-----\n`);
  return p;
};
const ca = file('ca.crt');
const cert = file('c.crt');
const key = file('c.key');

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('no --tls: arguments pass through untouched', () => {
  const r = extractTlsFlags(['127.0.0.1:7000', '--yes', '--', '--tls']);
  assert.is(r.tls, null);
  assert.equal(r.argv, ['127.0.0.1:7000', '--yes', '--', '--tls']);
});

test('--tls with files (both spellings) is taken out; the rest stays in order', () => {
  const r = extractTlsFlags(['a:1', '--tls', '--cacert', ca, '--yes', `--cert=${cert}`, '--key', key, 'b:2']);
  assert.equal(r.argv, ['a:1', '--yes', 'b:2']);
  assert.ok(r.tls !== null);
  assert.is(r.tls.cacertPath, ca);
  assert.is(r.tls.certPath, cert);
  assert.is(r.tls.keyPath, key);
  assert.ok(Array.isArray(r.tls.options.ca) && r.tls.options.ca.length === 1);
  assert.ok(Buffer.isBuffer(r.tls.options.cert));
  assert.is(r.tls.options.checkServerIdentity?.('x', {} as never), undefined);
});

test('flags after -- belong to the servers (cluster local)', () => {
  const r = extractTlsFlags(['--tls', '--', '--cacert', 'x']);
  assert.ok(r.tls !== null);
  assert.equal(r.argv, ['--', '--cacert', 'x']);
});

test('misuse is a usage error', () => {
  const bad: string[][] = [
    ['--cacert', ca],
    ['--tls', '--cert', cert],
    ['--tls', '--cacert'],
    ['--tls', '--cacert', join(dir, 'missing.crt')],
    ['--tls', '--cacert', ca, '--cacert', ca],
  ];
  for (const argv of bad) assert.throws(() => extractTlsFlags(argv), (e: unknown) => e instanceof UsageError, argv.join(' '));
});

test.run();
