// Configuration: sources and their precedence, refusals with clear messages, memory units,
// CONFIG GET patterns, CONFIG SET atomicity and Redis's error texts, the tessera command's exits.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { refused } from './helpers.js';
import { splitArgs } from '../../src/config/conf-file.js';
import { Config, describeOptions, loadConfig } from '../../src/config/config.js';
import { PARAMS, defaultState, parseMemory } from '../../src/config/params.js';

const MAIN_JS = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const tmp = mkdtempSync(join(tmpdir(), 'tessera-config-'));
let fileCount = 0;

function confFile(text: string): string {
  const path = join(tmp, `t${fileCount++}.conf`);
  writeFileSync(path, text);
  return path;
}


// ---- loading ----------------------------------------------------------------------------

const load = suite('loadConfig');

load('defaults when no file, env or flags', () => {
  const c = loadConfig(['--config', confFile('')], {});
  assert.is(c.values.port, 6379);
  assert.equal(c.values.bind, ['127.0.0.1']);
  assert.is(c.values.maxmemory, 0);
  assert.is(c.values.maxmemoryPolicy, 'noeviction');
  assert.is(c.values.maxmemorySamples, 5);
  assert.is(c.values.protoMaxBulkLen, 512 * 1024 * 1024);
  assert.is(c.values.clientQueryBufferLimit, 1024 * 1024 * 1024);
  assert.equal(c.values.clientOutputBufferLimitNormal, { hardBytes: 0, softBytes: 0, softSeconds: 0 });
  assert.is(c.values.enableDebugCommand, 'no');
  assert.is(c.values.loglevel, 'notice');
  assert.is(c.values.hz, 10);
  assert.is(c.values.activeExpireEnabled, true);
  assert.is(c.values.appendonly, false);
  assert.ok(c.values.shards >= 1);
  assert.is(c.values.dir, process.cwd());
});

load('every ServerConfig field has a default', () => {
  const values = defaultState().values;
  for (const [key, value] of Object.entries(values)) assert.ok(value !== undefined, key);
  // 70 + the TLS block (22: tls-*, memcache-tls, http-tls) + acllog-max-len, aclfile, cluster-bus-secret
  // + protected-mode, client-ops-per-sec, client-bytes-per-sec, max-new-connections-per-sec
  // + slowlog-log-slower-than, slowlog-max-len, latency-monitor-threshold
  assert.is(Object.keys(values).length, 70 + 22 + 3 + 4 + 3);
  assert.is(values.clusterBusSecret, '');
  assert.is(values.acllogMaxLen, 128);
  assert.is(values.aclfile, '');
  assert.is(values.busyReplyThreshold, 5000);
  assert.is(values.scriptUndeclaredKeys, 'allow');
  assert.is(values.hashMaxListpackEntries, 512);
  assert.is(values.hashMaxListpackValue, 64);
  assert.is(values.setMaxIntsetEntries, 512);
  assert.is(values.setMaxListpackEntries, 128);
  assert.is(values.setMaxListpackValue, 64);
  assert.is(values.listMaxListpackSize, -2);
  assert.is(values.listCompressDepth, 0);
  assert.is(values.zsetMaxListpackEntries, 128);
  assert.is(values.zsetMaxListpackValue, 64);
  assert.is(values.memcachePort, 11211);
  assert.is(values.memcacheMaxItemSize, 1024 * 1024);
  assert.is(values.httpPort, 8080);
});

load('the shipped config/tessera.conf loads and holds the defaults', () => {
  const shipped = loadConfig([], {}); // run from the repository root
  const defaults = new Config();
  assert.equal(shipped.get(['*']), defaults.get(['*']));
});

load('precedence: file < env < flags', () => {
  const file = confFile('port 7001\nmaxmemory 1mb\nhz 20\nloglevel warning\n');
  const env = { TESSERA_MAXMEMORY: '2mb', TESSERA_HZ: '30', PATH: '/usr/bin' };
  const c = loadConfig(['--config', file, '--hz', '40'], env);
  assert.is(c.values.port, 7001);
  assert.is(c.values.loglevel, 'warning');
  assert.is(c.values.maxmemory, 2 * 1024 * 1024);
  assert.is(c.values.hz, 40);
});

load('env names map underscores to dashes; TESSERA_CONFIG names the file', () => {
  const file = confFile('port 7002\n');
  const c = loadConfig([], { TESSERA_MAXMEMORY_POLICY: 'allkeys-lru', TESSERA_CONFIG: file });
  assert.is(c.values.maxmemoryPolicy, 'allkeys-lru');
  assert.is(c.values.port, 7002);
  const d = loadConfig(['--config', confFile('port 7003\n')], { TESSERA_CONFIG: file });
  assert.is(d.values.port, 7003);
});

load('flags: --name value, --name=value, several words, case-insensitive names', () => {
  const c = loadConfig(['--config', confFile(''), '--maxmemory-policy', 'allkeys-lfu', '--port=7004',
    '--bind', '127.0.0.1', '::1', '--REQUIREPASS', 'pw', '--requirepass=--odd'], {});
  assert.is(c.values.maxmemoryPolicy, 'allkeys-lfu');
  assert.is(c.values.port, 7004);
  assert.equal(c.values.bind, ['127.0.0.1', '::1']);
  assert.is(c.values.requirepass, '--odd');
});

load('config file: comments, quotes, multi-word values, case-insensitive names', () => {
  const file = confFile([
    '# a comment',
    '   ',
    'PORT 7005',
    'requirepass "with space \\x41\\n"',
    "logfile 'it''s'".replace("''", "\\'"),
    'bind 127.0.0.1 ::1',
    'save 900 1 300 10',
    'client-output-buffer-limit normal 1mb 512kb 10 pubsub 1k 1k 1',
    '',
  ].join('\n'));
  const c = loadConfig(['--config', file], {});
  assert.is(c.values.port, 7005);
  assert.is(c.values.requirepass, 'with space A\n');
  assert.is(c.values.logfile, "it's");
  assert.equal(c.values.bind, ['127.0.0.1', '::1']);
  assert.is(c.values.save, '900 1 300 10');
  assert.equal(c.values.clientOutputBufferLimitNormal, { hardBytes: 1048576, softBytes: 524288, softSeconds: 10 });
  assert.equal(c.get(['client-output-buffer-limit']), [
    ['client-output-buffer-limit', 'normal 1048576 524288 10 slave 268435456 67108864 60 pubsub 1000 1000 1'],
  ]);
});

load('unknown options are refused, naming the source', () => {
  refused(() => loadConfig(['--config', confFile('port 1\nmaxmemroy 1mb\n')], {}),
    't', '.conf:2', "unknown option 'maxmemroy'", "did you mean 'maxmemory'");
  refused(() => loadConfig(['--config', confFile('')], { TESSERA_BOGUS: '1' }),
    'environment variable TESSERA_BOGUS', "unknown option 'bogus'");
  refused(() => loadConfig(['--config', confFile(''), '--bogus', '1'], {}), 'flag --bogus', "unknown option 'bogus'");
  refused(() => loadConfig(['stray'], {}), "unexpected argument 'stray'");
  refused(() => loadConfig(['--config', confFile(''), 'stray'], {}), '--config takes one file');
  refused(() => loadConfig(['--config', confFile(''), '--port'], {}), '--port needs a value');
});

load('bad values are refused with what is allowed', () => {
  const base = ['--config', confFile('')];
  refused(() => loadConfig([...base, '--maxmemory', 'lots'], {}),
    'flag --maxmemory', "'lots'", 'argument must be a memory value', 'kb');
  refused(() => loadConfig([...base, '--hz', '-1'], {}), 'argument must be between 0 and 2147483647 inclusive');
  assert.is(loadConfig([...base, '--hz', '0'], {}).values.hz, 1, 'hz is clamped as in Redis');
  assert.is(loadConfig([...base, '--hz', '1000'], {}).values.hz, 500);
  refused(() => loadConfig([...base, '--port', 'x'], {}), "couldn't be parsed into an integer", 'from 0 to 65535');
  refused(() => loadConfig([...base, '--port', '70000'], {}), 'between 0 and 65535');
  refused(() => loadConfig([...base, '--maxmemory-policy', 'lru'], {}), 'one of the following', 'allkeys-lru');
  refused(() => loadConfig([...base, '--appendonly', 'maybe'], {}), "'yes' or 'no'");
  refused(() => loadConfig([...base, '--port', '1', '2'], {}), 'exactly one value');
  refused(() => loadConfig([...base, '--proto-max-bulk-len', '1000'], {}), 'between 1048576 and 9223372036854775807 inclusive');
  refused(() => loadConfig(['--config', confFile('loglevel\tloud\n')], {}), '.conf:1', "'loglevel'", 'debug, verbose');
  refused(() => loadConfig(['--config', confFile('requirepass "open\n')], {}), '.conf:1', 'unbalanced quotes');
  refused(() => loadConfig(['--config', join(tmp, 'missing.conf')], {}), 'cannot read config file', 'missing.conf');
  refused(() => loadConfig([...base, '--dir', join(tmp, 'nope')], {}), 'No such file or directory');
});

load.run();

// ---- value parsing ----------------------------------------------------------------------

const values = suite('value parsing');

values('memory units as Redis: k=1000 kb=1024 m mb g gb, case-insensitive', () => {
  assert.is(parseMemory('0'), 0);
  assert.is(parseMemory('123'), 123);
  assert.is(parseMemory('10b'), 10);
  assert.is(parseMemory('1k'), 1000);
  assert.is(parseMemory('1kb'), 1024);
  assert.is(parseMemory('1K'), 1000);
  assert.is(parseMemory('1KB'), 1024);
  assert.is(parseMemory('2m'), 2_000_000);
  assert.is(parseMemory('2mb'), 2 * 1024 * 1024);
  assert.is(parseMemory('3g'), 3_000_000_000);
  assert.is(parseMemory('3Gb'), 3 * 1024 ** 3);
  for (const bad of ['', '-1', '1.5mb', '1tb', 'mb', '1 mb', ' 1', '0x10']) assert.is(parseMemory(bad), null, bad);
});

values('splitArgs follows sdssplitargs', () => {
  assert.equal(splitArgs('a  b\tc'), ['a', 'b', 'c']);
  assert.equal(splitArgs('"a b" \'c d\''), ['a b', 'c d']);
  assert.equal(splitArgs('"\\t\\x41\\\\"'), ['\tA\\']);
  assert.equal(splitArgs("'it\\'s'"), ["it's"]);
  assert.equal(splitArgs('""'), ['']);
  assert.is(splitArgs('"a"b'), null);
  assert.is(splitArgs('"open'), null);
  assert.is(splitArgs("'open"), null);
});

values.run();

// ---- CONFIG GET / SET -------------------------------------------------------------------

const get = suite('CONFIG GET');

get('patterns, case-insensitive, no duplicates, Redis formatting', () => {
  const c = new Config({ shards: 3 });
  assert.equal(c.get(['maxmemory']), [['maxmemory', '0']]);
  assert.equal(c.get(['MAXMEMORY-POLICY']), [['maxmemory-policy', 'noeviction']]);
  const names = c.get(['maxmemory*', '*policy', 'maxmemory']).map(([n]) => n);
  assert.equal(names, ['maxmemory', 'maxmemory-policy', 'maxmemory-samples']);
  assert.equal(c.get(['bind', 'appendonly', 'save', 'shards', 'proto-max-bulk-len']), [
    ['bind', '127.0.0.1'], ['shards', '3'], ['proto-max-bulk-len', '536870912'], ['appendonly', 'no'], ['save', '3600 1 300 100 60 10000'],
  ]);
  assert.equal(c.get(['client-output-buffer-limit']), [
    ['client-output-buffer-limit', 'normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60'],
  ]);
  assert.equal(c.get(['nosuch*']), []);
  assert.equal(c.get(['h?', 'tcp-[k]eep*', '[^a-z]*']).map(([n]) => n), ['hz', 'tcp-keepalive']);
  assert.is(c.get(['*']).length, PARAMS.length);
});

const set = suite('CONFIG SET');

set('sets values and notifies the changed names', () => {
  const c = new Config();
  const seen: string[][] = [];
  c.onChange((names) => seen.push(names));
  const values = c.values;
  assert.is(c.set([['maxmemory', '10mb'], ['MAXMEMORY-POLICY', 'allkeys-lru'], ['hz', '10']]), null);
  assert.is(c.values.maxmemory, 10 * 1024 * 1024);
  assert.is(c.values.maxmemoryPolicy, 'allkeys-lru');
  assert.is(values, c.values, 'the values object is kept and updated');
  assert.equal(seen, [['maxmemory', 'maxmemory-policy']]);
  assert.equal(c.get(['maxmemory']), [['maxmemory', '10485760']]);
  assert.is(c.set([['hz', '10']]), null);
  assert.is(seen.length, 1, 'no notification when nothing changed');
});

set('all or nothing', () => {
  const c = new Config();
  const err = c.set([['maxmemory', '5mb'], ['hz', '20'], ['maxmemory-samples', 'many']]);
  assert.is(err, "ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument couldn't be parsed into an integer");
  assert.is(c.values.maxmemory, 0);
  assert.is(c.values.hz, 10);
  assert.is(c.set([['client-output-buffer-limit', 'pubsub 1mb 1mb 1'], ['maxmemory-samples', '0']]),
    "ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument must be between 1 and 2147483647 inclusive");
  assert.equal(c.get(['client-output-buffer-limit'])[0]?.[1],
    'normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60');
});

set('Redis error texts', () => {
  const c = new Config();
  assert.is(c.set([['foo', 'bar']]), "ERR Unknown option or number of arguments for CONFIG SET - 'foo'");
  assert.is(c.set([['maxmemory', 'lots']]),
    "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value");
  for (const name of ['port', 'bind', 'shards', 'databases', 'logfile']) {
    assert.is(c.set([[name, '1']]), `ERR CONFIG SET failed (possibly related to argument '${name}') - can't set immutable config`);
  }
  assert.is(c.set([['hz', '5'], ['HZ', '6']]),
    "ERR CONFIG SET failed (possibly related to argument 'HZ') - duplicate parameter");
  assert.is(c.set([['maxmemory-policy', 'lru']]),
    "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction");
  assert.is(c.set([['active-expire-enabled', 'on']]),
    "ERR CONFIG SET failed (possibly related to argument 'active-expire-enabled') - argument must be 'yes' or 'no'");
  assert.is(c.set([['client-output-buffer-limit', 'normal 1 2']]),
    "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Wrong number of arguments in buffer limit configuration.");
  assert.is(c.set([['client-output-buffer-limit', 'master 1 2 3']]),
    "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Invalid client class specified in buffer limit configuration.");
  assert.is(c.set([['save', '900']]),
    "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters");
  assert.is(c.set([['requirepass', 'secret'], ['save', '']]), null);
  assert.is(c.values.requirepass, 'secret');
});

set('help lists every option with its default', () => {
  const options = describeOptions();
  assert.is(options.length, PARAMS.length);
  assert.equal(options.find((o) => o.name === 'maxmemory-policy')?.defaultValue, 'noeviction');
  assert.is(new Set(options.map((o) => o.name)).size, options.length, 'names are unique');
});

get.run();
set.run();

// ---- the tessera command ----------------------------------------------------------------

const cli = suite('tessera command');

function tessera(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN_JS, ...args], { encoding: 'utf8', timeout: 20_000, env: { PATH: process.env['PATH'] ?? '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

cli('server --bogus exits 1 with a message', () => {
  const r = tessera('server', '--bogus', 'x');
  assert.is(r.status, 1);
  assert.match(r.stderr, /^tessera: flag --bogus: unknown option 'bogus'/);
});

cli('server with a bad value exits 1 naming the option', () => {
  const r = tessera('server', '--maxmemory', 'lots');
  assert.is(r.status, 1);
  assert.match(r.stderr, /maxmemory.*memory value/);
});

cli('--help, server --help, --version, unknown command', () => {
  const help = tessera('--help');
  assert.is(help.status, 0);
  assert.match(help.stdout, /server/);
  const serverHelp = tessera('server', '--help');
  assert.is(serverHelp.status, 0);
  for (const p of PARAMS) assert.ok(serverHelp.stdout.includes(`--${p.name}`), p.name);
  const v = tessera('--version');
  assert.is(v.status, 0);
  assert.match(v.stdout, /^tessera \d+\.\d+\.\d+/);
  const unknown = tessera('frobnicate');
  assert.is(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  assert.match(unknown.stderr, /Usage: tessera/);
});

cli.run();
