// Configuration safety (issue 13, items 4, 7, 8): ports that follow `port`, Redis 7's bind
// syntax resolved into one list of listen hosts, protected configs (CONFIG SET dir/dbfilename)
// with Redis's texts, and CONFIG SET guards (how the dir lock refuses a locked directory).

import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir, type NetworkInterfaceInfo } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { refused } from './helpers.js';
import { bindSyntaxError, resolveListenHosts } from '../../src/config/bind.js';
import { Config, describeOptions, loadConfig, type SetGuard } from '../../src/config/config.js';
import { derivePort } from '../../src/config/ports.js';
import { allowProtectedAction, isLoopbackClient } from '../../src/config/protected.js';

const tmp = mkdtempSync(join(tmpdir(), 'tessera-safety-'));
const emptyConf = join(tmp, 'empty.conf');
writeFileSync(emptyConf, '');
const load = (...flags: string[]): Config => loadConfig(['--config', emptyConf, ...flags], {});


// ---- ports that follow port -------------------------------------------------------------

const ports = suite('derived ports');

ports('the rule: port + offset, off for port 0 and above 65535', () => {
  assert.equal(derivePort(6379, 4832), { port: 11211, offReason: null });
  assert.equal(derivePort(7000, 1701), { port: 8701, offReason: null });
  assert.is(derivePort(0, 4832).port, 0);
  assert.is(derivePort(60703, 4832).port, 65535);
  const over = derivePort(60704, 4832);
  assert.is(over.port, 0);
  assert.match(over.offReason ?? '', /60704|65536/);
});

ports('defaults: 6379 keeps 11211 and 8080; the tutorial ports 7000..7005 get their own', () => {
  const d = load();
  assert.is(d.values.memcachePort, 11211);
  assert.is(d.values.httpPort, 8080);
  for (let p = 7000; p <= 7005; p++) {
    const c = load('--port', String(p), '--cluster-enabled', 'yes');
    assert.is(c.values.memcachePort, p + 4832);
    assert.is(c.values.httpPort, p + 1701);
    assert.equal(c.get(['memcache-port', 'http-port']), [['memcache-port', String(p + 4832)], ['http-port', String(p + 1701)]]);
  }
  assert.equal(new Config({ port: 7003 }).get(['memcache-port', 'http-port']), [['memcache-port', '11835'], ['http-port', '8704']]);
});

ports('port 0 leaves them off; above 65535 they are off with a note', () => {
  const random = load('--port', '0');
  assert.is(random.values.memcachePort, 0);
  assert.is(random.values.httpPort, 0);
  assert.equal(random.notes, [], 'a random port is not worth a warning');
  const high = load('--port', '64000');
  assert.is(high.values.memcachePort, 0);
  assert.is(high.values.httpPort, 0, '64000 + 1701 = 65701');
  assert.ok(high.notes.some((n) => n.startsWith('memcache-port is off') && n.includes('68832')), high.notes.join('; '));
  assert.ok(high.notes.some((n) => n.startsWith('http-port is off')), high.notes.join('; '));
});

ports('an explicit value from any source wins, 0 included', () => {
  assert.is(load('--port', '7000', '--memcache-port', '0').values.memcachePort, 0);
  assert.is(load('--port', '7000', '--memcache-port', '0').values.httpPort, 8701);
  assert.is(load('--memcache-port', '5000', '--port', '7000').values.memcachePort, 5000, 'flag order does not matter');
  const file = join(tmp, 'ports.conf');
  writeFileSync(file, 'http-port 9999\n');
  const c = loadConfig(['--config', file, '--port', '7001'], {});
  assert.is(c.values.httpPort, 9999);
  assert.is(c.values.memcachePort, 11833);
  assert.is(loadConfig(['--config', emptyConf], { TESSERA_PORT: '7002', TESSERA_HTTP_PORT: '0' }).values.httpPort, 0);
  assert.is(new Config({ port: 7000, memcachePort: 0 }).values.memcachePort, 0);
  assert.is(new Config({ port: 7000, memcachePort: 0 }).values.httpPort, 8701);
});

ports('--help states the rule instead of a fixed default', () => {
  const mc = describeOptions().find((o) => o.name === 'memcache-port');
  assert.is(mc?.defaultValue, 'port + 4832');
  assert.match(mc?.help ?? '', /port \+ 4832/);
  assert.is(describeOptions().find((o) => o.name === 'http-port')?.defaultValue, 'port + 1701');
});

ports.run();

// ---- bind -------------------------------------------------------------------------------

const bind = suite('bind');

const iface = (address: string, family: 'IPv4' | 'IPv6'): NetworkInterfaceInfo =>
  ({ address, family, netmask: '', mac: '', internal: false, cidr: null, ...(family === 'IPv6' ? { scopeid: 0 } : {}) }) as NetworkInterfaceInfo;
const dualStack = { lo: [iface('127.0.0.1', 'IPv4'), iface('::1', 'IPv6')], eth0: [iface('10.0.0.5', 'IPv4'), iface('fe80::1', 'IPv6')] };
const v4Only = { lo: [iface('127.0.0.1', 'IPv4')], eth0: [iface('10.0.0.5', 'IPv4')] };

bind('wildcards: * is every IPv4 address, ::* every IPv6 address', () => {
  assert.equal(resolveListenHosts(['*'], dualStack), { hosts: ['0.0.0.0'], skipped: [] });
  assert.equal(resolveListenHosts(['::*'], dualStack), { hosts: ['::'], skipped: [] });
  // Node's :: is dual-stack: a second listen on 0.0.0.0 would clash, and is not needed.
  assert.equal(resolveListenHosts(['*', '-::*'], dualStack), { hosts: ['::'], skipped: [] });
  assert.equal(resolveListenHosts(['*', '-::*'], v4Only), { hosts: ['0.0.0.0'], skipped: ['-::*'] });
  assert.equal(resolveListenHosts(['* ', '127.0.0.1', '::1'].map((w) => w.trim()), dualStack), { hosts: ['0.0.0.0', '::1'], skipped: [] },
    'a wildcard covers the specific addresses of its family');
});

bind('a leading - marks an address skipped when this host lacks it', () => {
  assert.equal(resolveListenHosts(['-10.9.9.9', '127.0.0.1'], dualStack), { hosts: ['127.0.0.1'], skipped: ['-10.9.9.9'] });
  assert.equal(resolveListenHosts(['-10.0.0.5', '-127.0.0.2'], dualStack), { hosts: ['10.0.0.5', '127.0.0.2'], skipped: [] });
  assert.equal(resolveListenHosts(['-fe80::1%eth0'], dualStack).hosts, ['fe80::1%eth0']);
  assert.equal(resolveListenHosts(['10.9.9.9'], dualStack).hosts, ['10.9.9.9'], 'a required address is kept: listen reports it');
  assert.equal(resolveListenHosts(['127.0.0.1', '127.0.0.1'], dualStack).hosts, ['127.0.0.1'], 'each once');
});

bind('syntax and refusals', () => {
  assert.is(bindSyntaxError(['*', '-::*', '127.0.0.1', '::1', 'fe80::1%eth0']), null);
  assert.is(bindSyntaxError([]), 'argument must be one or more IP addresses separated by spaces');
  assert.is(bindSyntaxError(['localhost']), 'argument must be one or more IP addresses separated by spaces');
  assert.is(bindSyntaxError(Array.from({ length: 17 }, () => '127.0.0.1')), 'Too many bind addresses specified.');
  refused(() => load('--bind', '-203.0.113.77'), 'flag --bind', 'none of the optional addresses');
});

bind('loaded: values.bind holds the listen hosts, CONFIG GET the words as given', () => {
  const c = load('--bind', '*', '-203.0.113.77');
  assert.ok(c.values.bind[0] === '0.0.0.0' || c.values.bind[0] === '::', c.values.bind.join(' '));
  assert.not.ok(c.values.bind.includes('*'));
  assert.equal(c.get(['bind']), [['bind', '* -203.0.113.77']]);
  assert.ok(c.notes.some((n) => n.includes('-203.0.113.77')), 'a skipped address is noted for the log');
  assert.equal(load().get(['bind']), [['bind', '127.0.0.1']]);
  assert.equal(load().values.bind, ['127.0.0.1']);
});

bind.run();

// ---- protected configs ------------------------------------------------------------------

const prot = suite('enable-protected-configs');
const PROTECTED = (name: string): string => `ERR CONFIG SET failed (possibly related to argument '${name}') - can't set protected config`;

prot('loopback clients, as Redis counts them (IPv4 through a dual-stack listener too)', () => {
  for (const a of ['127.0.0.1:5000', '127.1.2.3:1', '::1:5000', '::ffff:127.0.0.1:5000']) assert.ok(isLoopbackClient(a), a);
  for (const a of ['10.0.0.5:5000', '::ffff:10.0.0.5:1', 'fe80::1:5000', '::1a:2']) assert.not.ok(isLoopbackClient(a), a);
  assert.ok(allowProtectedAction('yes', undefined));
  assert.not.ok(allowProtectedAction('local', undefined));
  assert.not.ok(allowProtectedAction('no', '127.0.0.1:1'));
});

prot('no (the default): dir and dbfilename are refused with Redis text, whoever asks', () => {
  const c = new Config({ dir: tmp });
  assert.is(c.values.enableProtectedConfigs, 'no');
  assert.is(c.set([['dir', '/tmp']], { addr: '127.0.0.1:4000' }), PROTECTED('dir'));
  assert.is(c.set([['DIR', '/tmp']]), PROTECTED('DIR'), 'the argument is echoed as spelled');
  assert.is(c.set([['dbfilename', 'x.tdb']]), PROTECTED('dbfilename'));
  assert.is(c.set([['dbfilename', 'a/b']]), PROTECTED('dbfilename'), 'refused before the value is looked at');
  assert.is(c.set([['maxmemory', '1mb'], ['dir', '/tmp']]), PROTECTED('dir'));
  assert.is(c.values.maxmemory, 0, 'all or nothing');
  assert.is(c.values.dir, tmp);
  assert.is(c.set([['enable-protected-configs', 'yes']]),
    "ERR CONFIG SET failed (possibly related to argument 'enable-protected-configs') - can't set immutable config");
  for (const name of ['logfile', 'appendfilename', 'appenddirname', 'cluster-config-file']) {
    assert.is(c.set([[name, 'x']]), `ERR CONFIG SET failed (possibly related to argument '${name}') - can't set immutable config`, name);
  }
});

prot('yes: allowed, values checked as Redis does', () => {
  const other = mkdtempSync(join(tmp, 'd-'));
  const c = new Config({ dir: tmp, enableProtectedConfigs: 'yes' });
  assert.is(c.set([['dbfilename', 'a/b']]),
    "ERR CONFIG SET failed (possibly related to argument 'dbfilename') - dbfilename can't be a path, just a filename");
  assert.is(c.set([['dir', join(tmp, 'nope')]]), "ERR CONFIG SET failed (possibly related to argument 'dir') - No such file or directory");
  assert.is(c.set([['dir', emptyConf]]), "ERR CONFIG SET failed (possibly related to argument 'dir') - Not a directory");
  assert.is(c.set([['dir', other], ['dbfilename', 'x.tdb']]), null);
  assert.is(c.values.dir, other);
  assert.is(c.values.dbfilename, 'x.tdb');
});

prot('local: only for loopback clients', () => {
  const c = new Config({ dir: tmp, enableProtectedConfigs: 'local' });
  assert.is(c.set([['dbfilename', 'y.tdb']], { addr: '10.0.0.5:4000' }), PROTECTED('dbfilename'));
  assert.is(c.set([['dbfilename', 'y.tdb']]), PROTECTED('dbfilename'), 'no client: not local');
  assert.is(c.set([['dbfilename', 'y.tdb']], { addr: '127.0.0.1:4000' }), null);
  assert.is(c.values.dbfilename, 'y.tdb');
});

prot('file-name options refuse paths at load, with Redis texts', () => {
  refused(() => load('--dbfilename', 'a/b'), "dbfilename can't be a path, just a filename");
  refused(() => load('--appendfilename', 'a/b'), "appendfilename can't be a path, just a filename");
  refused(() => load('--appenddirname', 'a/b'), "appenddirname can't be a path, just a dirname");
  refused(() => load('--enable-protected-configs', 'maybe'), 'argument(s) must be one of the following: no, yes, local');
  assert.is(load('--enable-protected-configs', 'local').values.enableProtectedConfigs, 'local');
});

prot.run();

// ---- CONFIG SET guards ------------------------------------------------------------------

const guards = suite('CONFIG SET guards');

function recordingGuard(refuse: (v: string) => string | null): SetGuard & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    check(v) {
      log.push(`check ${v}`);
      return refuse(v);
    },
    settle(v, committed) {
      log.push(`${committed ? 'commit' : 'abort'} ${v}`);
    },
  };
}

guards('a guard sees the parsed value after every value parsed, and is told the outcome', () => {
  const a = mkdtempSync(join(tmp, 'g-'));
  const locked = mkdtempSync(join(tmp, 'g-'));
  mkdirSync(join(a, 'sub'));
  const c = new Config({ dir: tmp, enableProtectedConfigs: 'yes' });
  const g = recordingGuard((v) => (v === locked ? 'directory in use by another Tessera server (pid 42)' : null));
  c.guard('dir', g);
  assert.is(c.set([['dir', join(a, 'sub', '..')], ['maxmemory', 'lots']]),
    "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value");
  assert.equal(g.log, [], 'no reservation for a set that cannot commit');
  assert.is(c.set([['dir', locked], ['hz', '20']]),
    "ERR CONFIG SET failed (possibly related to argument 'dir') - directory in use by another Tessera server (pid 42)");
  assert.equal(g.log, [`check ${locked}`]);
  assert.is(c.values.hz, 10);
  assert.is(c.values.dir, tmp);
  assert.is(c.set([['dir', join(a, 'sub', '..')]]), null);
  assert.equal(g.log.slice(1), [`check ${a}`, `commit ${a}`], 'the resolved path');
  assert.is(c.values.dir, a);
});

guards.run();
