// The configuration parameters, one declarative entry each: Redis name, field, default, whether
// CONFIG SET may change it, and how its value is parsed and printed. Adding a parameter means
// adding its field to ServerConfig and one entry to PARAMS; loading, CONFIG GET/SET, `--help` and
// the environment mapping all read this table. Parse errors use Redis's wording.

import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { EvictionPolicy } from '../core/types.js';
import type { ServerConfig } from './server-config.js';
import { keyspaceEventsFromString, keyspaceEventsToString } from '../core/keyspace-events.js';
import { bindSyntaxError, resolveListenHosts } from './bind.js';
import { CLUSTER_BUS_PORT_OFFSET, HTTP_PORT_OFFSET, MEMCACHE_PORT_OFFSET, derivePort } from './ports.js';

export interface OutputBufferLimit {
  hardBytes: number;
  softBytes: number;
  softSeconds: number;
}

/** Everything a Config holds: the typed values, plus settings kept only to echo them back. */
export interface ConfigState {
  values: ServerConfig;
  /** client-output-buffer-limit for the replica and pubsub classes (not used yet). */
  otherOutputBufferLimits: { replica: OutputBufferLimit; pubsub: OutputBufferLimit };
  /** bind as given (CONFIG GET echoes it); values.bind holds the resolved listen hosts. */
  bindWords: string[];
  /** Optional bind addresses left out because this host lacks them (for the startup log). */
  bindSkipped: string[];
  /** Ports that follow `port` because no source set them (see resolveDerivedPorts). */
  portFollows: Record<DerivedPortKey, boolean>;
}

/** The ports derived from `port` unless set. */
export type DerivedPortKey = 'memcachePort' | 'httpPort';

/** A value refused by a parameter; the message is Redis's text (as after "CONFIG SET failed ... - "). */
export class InvalidValue extends Error {}

export interface Param {
  /** Redis option name, lower case. */
  readonly name: string;
  /** CONFIG SET may change it while running. */
  readonly mutable: boolean;
  /** Takes several words (bind, save, client-output-buffer-limit); they are joined with spaces. */
  readonly multiArg: boolean;
  /** What the value may be, for error messages and --help. */
  readonly allowed: string;
  readonly help: string;
  /** Names a file or directory the server writes: CONFIG SET needs enable-protected-configs. */
  readonly protected: boolean;
  /** The default for --help, where it is not a fixed value. */
  readonly defaultText?: string;
  /** Writes the default value into `state`. */
  reset(state: ConfigState): void;
  /** Parses `raw` into `state`; throws InvalidValue when refused, leaving `state` unchanged. */
  apply(state: ConfigState, raw: string): void;
  /** The value as CONFIG GET prints it. */
  format(state: ConfigState): string;
}

const INT_MAX = 2147483647;
const MAX_BYTES = Number.MAX_SAFE_INTEGER;
const MB = 1024 * 1024;
const GB = 1024 * MB;

/** In Redis's order, which its error message lists. */
export const EVICTION_POLICIES = [
  'volatile-lru', 'volatile-lfu', 'volatile-random', 'volatile-ttl', 'allkeys-lru', 'allkeys-lfu',
  'allkeys-random', 'noeviction',
] as const satisfies readonly EvictionPolicy[];
const LLONG_MAX_TEXT = '9223372036854775807';

// ---- value kinds: parse + format + a description of what is allowed -------------------------

interface Kind<T> {
  allowed: string;
  parse(raw: string, state: ConfigState): T;
  format(value: T): string;
}

function integer(min: number, max: number): Kind<number> {
  return {
    allowed: `an integer from ${min} to ${max}`,
    parse(raw) {
      const n = /^-?\d+$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n)) throw new InvalidValue("argument couldn't be parsed into an integer");
      if (n < min || n > max) throw new InvalidValue(`argument must be between ${min} and ${max} inclusive`);
      return n;
    },
    format: (n) => String(n),
  };
}

/** An integer accepted in a wide range and then clamped, as Redis does for hz. */
function clamped(lo: number, hi: number): Kind<number> {
  const wide = integer(0, INT_MAX);
  return {
    allowed: `an integer (values outside ${lo}..${hi} are clamped)`,
    parse: (raw, state) => Math.min(hi, Math.max(lo, wide.parse(raw, state))),
    format: wide.format,
  };
}

const MEMORY_UNITS: Record<string, number> = {
  '': 1, b: 1, k: 1000, kb: 1024, m: 1000 * 1000, mb: MB, g: 1000 * 1000 * 1000, gb: GB,
};

/** Redis memtoull: digits with an optional case-insensitive unit (k=1000, kb=1024, ...); null if invalid. */
export function parseMemory(raw: string): number | null {
  const m = /^(\d+)([a-z]*)$/i.exec(raw);
  const unit = MEMORY_UNITS[(m?.[2] ?? '').toLowerCase()];
  if (!m || unit === undefined) return null;
  const n = Number(m[1]) * unit;
  return Number.isSafeInteger(n) ? n : null;
}

/** Bytes from `min` up; the upper bound is what a JS number holds exactly, reported as Redis's LLONG_MAX. */
function memory(min: number): Kind<number> {
  return {
    allowed: `bytes${min > 0 ? ` (at least ${min})` : ''}, with an optional unit k, kb, m, mb, g, gb (e.g. 100mb)`,
    parse(raw) {
      const n = parseMemory(raw);
      if (n === null) throw new InvalidValue('argument must be a memory value');
      if (n < min || n > MAX_BYTES) throw new InvalidValue(`argument must be between ${min} and ${LLONG_MAX_TEXT} inclusive`);
      return n;
    },
    format: (n) => String(n),
  };
}

function oneOf<const T extends string>(choices: readonly T[]): Kind<T> {
  return {
    allowed: `one of ${choices.join(', ')}`,
    parse(raw) {
      const found = choices.find((c) => c === raw.toLowerCase());
      if (found === undefined) throw new InvalidValue(`argument(s) must be one of the following: ${choices.join(', ')}`);
      return found;
    },
    format: (v) => v,
  };
}

const yesNo: Kind<boolean> = {
  allowed: 'yes or no',
  parse(raw) {
    const v = raw.toLowerCase();
    if (v !== 'yes' && v !== 'no') throw new InvalidValue("argument must be 'yes' or 'no'");
    return v === 'yes';
  },
  format: (b) => (b ? 'yes' : 'no'),
};

/** notify-keyspace-events: Redis's letters in, its normalised text out (core/keyspace-events.ts). */
const keyspaceEvents: Kind<number> = {
  allowed: "letters of 'Ag$lshzxeKEtmdn', '' = none",
  parse(raw) {
    const flags = keyspaceEventsFromString(raw);
    if (flags < 0) throw new InvalidValue("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
    return flags;
  },
  format: keyspaceEventsToString,
};

const text: Kind<string> = { allowed: 'any string', parse: (raw) => raw, format: (s) => s };

/**
 * A plain name (no directory part), as Redis requires of dbfilename, appendfilename and
 * appenddirname, with Redis's text naming the option. Stricter than Redis: '', '.' and '..' are
 * refused too, since they name no file of their own inside dir.
 */
function fileName(option: string, what: 'filename' | 'dirname'): Kind<string> {
  return {
    allowed: `a ${what === 'filename' ? 'file' : 'directory'} name without a directory part`,
    parse(raw) {
      if (raw === '' || raw.includes('/') || raw === '.' || raw === '..') throw new InvalidValue(`${option} can't be a path, just a ${what}`);
      return raw;
    },
    format: (s) => s,
  };
}

/** "<host> <port>" or '' (replicaof). */
const hostPort: Kind<string> = {
  allowed: "'' or <host> <port>",
  parse(raw) {
    const w = raw.split(/\s+/).filter((x) => x !== '');
    if (w.length === 0 || (w.length === 2 && w[0]!.toLowerCase() === 'no' && w[1]!.toLowerCase() === 'one')) return '';
    const port = Number(w[1]);
    if (w.length !== 2 || !Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidValue('Invalid master port');
    return `${w[0]} ${port}`;
  },
  format: (s) => s,
};

/** bind: the words as given are kept for CONFIG GET; values.bind gets the resolved hosts (bind.ts). */
const bind: Param = {
  name: 'bind',
  mutable: false,
  multiArg: true,
  protected: false,
  allowed: 'up to 16 IP addresses separated by spaces: * = all IPv4, ::* = all IPv6, a leading - = skip it if this host lacks it',
  help: 'Addresses to listen on (every port: RESP, memcached, HTTP, cluster bus)',
  reset(state) {
    state.bindWords = ['127.0.0.1'];
    state.bindSkipped = [];
    state.values.bind = ['127.0.0.1'];
  },
  apply(state, raw) {
    const words = raw.split(/\s+/).filter((a) => a !== '');
    const syntax = bindSyntaxError(words);
    if (syntax !== null) throw new InvalidValue(syntax);
    const { hosts, skipped } = resolveListenHosts(words);
    if (hosts.length === 0) throw new InvalidValue(`none of the optional addresses ${words.join(' ')} is on this host`);
    state.bindWords = words;
    state.bindSkipped = skipped;
    state.values.bind = hosts;
  },
  format: (state) => state.bindWords.join(' '),
};

const savePoints: Kind<string> = {
  allowed: "'' (off) or pairs of <seconds> <changes>, e.g. \"3600 1 300 100\"",
  parse(raw) {
    const words = raw.split(/\s+/).filter((w) => w !== '');
    if (words.length % 2 !== 0 || !words.every((w) => /^\d+$/.test(w))) {
      throw new InvalidValue('Invalid save parameters');
    }
    return words.map((w) => String(Number(w))).join(' ');
  },
  format: (s) => s,
};

const directory: Kind<string> = {
  allowed: 'an existing directory',
  parse(raw) {
    const path = resolve(raw);
    let isDir = false;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      throw new InvalidValue('No such file or directory');
    }
    if (!isDir) throw new InvalidValue('Not a directory');
    return path;
  },
  format: (s) => s,
};

// ---- client-output-buffer-limit: three classes, only "normal" is a ServerConfig field --------

const OUTPUT_LIMIT_CLASSES: Record<string, 'normal' | 'replica' | 'pubsub'> = {
  normal: 'normal', slave: 'replica', replica: 'replica', pubsub: 'pubsub',
};

const clientOutputBufferLimit: Param = {
  name: 'client-output-buffer-limit',
  mutable: true,
  multiArg: true,
  protected: false,
  allowed: 'groups of <class> <hard> <soft> <soft-seconds>, class normal, replica or pubsub, sizes in memory units',
  help: 'Disconnect clients whose pending output exceeds hard, or soft for soft-seconds (0 = no limit); the normal and pubsub classes are enforced',
  reset(state) {
    state.values.clientOutputBufferLimitNormal = { hardBytes: 0, softBytes: 0, softSeconds: 0 };
    state.otherOutputBufferLimits = {
      replica: { hardBytes: 256 * MB, softBytes: 64 * MB, softSeconds: 60 },
      pubsub: { hardBytes: 32 * MB, softBytes: 8 * MB, softSeconds: 60 },
    };
  },
  apply(state, raw) {
    const words = raw.split(/\s+/).filter((w) => w !== '');
    if (words.length === 0 || words.length % 4 !== 0) {
      throw new InvalidValue('Wrong number of arguments in buffer limit configuration.');
    }
    const updates: Array<['normal' | 'replica' | 'pubsub', OutputBufferLimit]> = [];
    for (let i = 0; i < words.length; i += 4) {
      const cls = OUTPUT_LIMIT_CLASSES[(words[i] ?? '').toLowerCase()];
      if (cls === undefined) throw new InvalidValue('Invalid client class specified in buffer limit configuration.');
      const hardBytes = parseMemory(words[i + 1] ?? '');
      const softBytes = parseMemory(words[i + 2] ?? '');
      const seconds = words[i + 3] ?? '';
      if (hardBytes === null || softBytes === null || !/^\d+$/.test(seconds)) {
        throw new InvalidValue('Error in hard, soft or soft_seconds setting in buffer limit configuration.');
      }
      updates.push([cls, { hardBytes, softBytes, softSeconds: Number(seconds) }]);
    }
    for (const [cls, limit] of updates) {
      if (cls === 'normal') state.values.clientOutputBufferLimitNormal = limit;
      else state.otherOutputBufferLimits[cls] = limit;
    }
  },
  format(state) {
    const f = (l: OutputBufferLimit): string => `${l.hardBytes} ${l.softBytes} ${l.softSeconds}`;
    const other = state.otherOutputBufferLimits;
    return `normal ${f(state.values.clientOutputBufferLimitNormal)} slave ${f(other.replica)} pubsub ${f(other.pubsub)}`;
  },
};

// ---- ports derived from port ---------------------------------------------------------------

/** A port that is `port + offset` until a source sets it (0 = off); see ports.ts. */
function derivedPort(name: string, key: DerivedPortKey, offset: number, what: string): Param {
  const kind = integer(0, 65535);
  return {
    name,
    mutable: false,
    multiArg: false,
    protected: false,
    allowed: kind.allowed,
    help: `TCP port for ${what}, 0 = off; unset, it is port + ${offset} (off when port is 0 or the sum is above 65535)`,
    defaultText: `port + ${offset}`,
    reset(state) {
      state.portFollows[key] = true;
      state.values[key] = derivePort(state.values.port, offset).port;
    },
    apply(state, raw) {
      state.values[key] = kind.parse(raw, state);
      state.portFollows[key] = false;
    },
    format: (state) => String(state.values[key]),
  };
}

const DERIVED_PORTS: ReadonlyArray<{ key: DerivedPortKey; name: string; offset: number }> = [
  { key: 'memcachePort', name: 'memcache-port', offset: MEMCACHE_PORT_OFFSET },
  { key: 'httpPort', name: 'http-port', offset: HTTP_PORT_OFFSET },
];

/**
 * Gives each port that no source set its value from the final `port`. Call once every source
 * is applied (port is immutable afterwards). Returns a note for each port left off because
 * its derived number is no port, for the startup log.
 */
export function resolveDerivedPorts(state: ConfigState): string[] {
  const notes: string[] = [];
  for (const { key, name, offset } of DERIVED_PORTS) {
    if (!state.portFollows[key]) continue;
    const derived = derivePort(state.values.port, offset);
    state.values[key] = derived.port;
    if (derived.offReason !== null && state.values.port !== 0) notes.push(`${name} is off: ${derived.offReason}; set ${name} to open it`);
  }
  return notes;
}

// ---- the table ----------------------------------------------------------------------------

interface FieldSpec<K extends keyof ServerConfig> extends Kind<ServerConfig[K]> {
  name: string;
  key: K;
  default: () => ServerConfig[K];
  mutable: boolean;
  multiArg?: boolean;
  /** See Param.protected. */
  protected?: boolean;
  help: string;
}

/** A parameter stored in one ServerConfig field. */
function field<K extends keyof ServerConfig>(spec: FieldSpec<K>): Param {
  return {
    name: spec.name,
    mutable: spec.mutable,
    multiArg: spec.multiArg ?? false,
    allowed: spec.allowed,
    help: spec.help,
    protected: spec.protected ?? false,
    reset(state) { state.values[spec.key] = spec.default(); },
    apply(state, raw) { state.values[spec.key] = spec.parse(raw, state); },
    format: (state) => spec.format(state.values[spec.key]),
  };
}

type LimitKey = 'hashMaxListpackEntries' | 'hashMaxListpackValue' | 'setMaxIntsetEntries' | 'setMaxListpackEntries' | 'setMaxListpackValue'
  | 'listMaxListpackSize' | 'listCompressDepth' | 'zsetMaxListpackEntries' | 'zsetMaxListpackValue'
  | 'streamNodeMaxBytes' | 'streamNodeMaxEntries';

/** An encoding threshold, and Redis's older name for it where it has one (both are CONFIG names). */
function collectionLimit(name: string, key: LimitKey, def: number, help: string, alias?: string, min = 0): Param[] {
  const one = (n: string): Param => field({ name: n, key, ...integer(min, INT_MAX), default: () => def, mutable: true, help: n === name ? help : `Alias of ${name}` });
  return alias === undefined ? [one(name)] : [one(name), one(alias)];
}

type TlsFileKey = 'tlsCertFile' | 'tlsKeyFile' | 'tlsKeyFilePass' | 'tlsClientCertFile' | 'tlsClientKeyFile'
  | 'tlsClientKeyFilePass' | 'tlsCaCertFile' | 'tlsCaCertDir' | 'tlsDhParamsFile';

/** The TLS options naming files (and their passwords): CONFIG SET of any reloads the certificates. */
export const TLS_FILE_OPTIONS: ReadonlyArray<readonly [string, TlsFileKey, string]> = [
  ['tls-cert-file', 'tlsCertFile', "Server certificate (PEM) for every TLS port; also the client certificate of outgoing links unless tls-client-cert-file"],
  ['tls-key-file', 'tlsKeyFile', 'Private key (PEM) of tls-cert-file'],
  ['tls-key-file-pass', 'tlsKeyFilePass', "Passphrase of tls-key-file ('' = none)"],
  ['tls-client-cert-file', 'tlsClientCertFile', "Client certificate of outgoing links (replication, cluster) ('' = tls-cert-file)"],
  ['tls-client-key-file', 'tlsClientKeyFile', 'Private key of tls-client-cert-file'],
  ['tls-client-key-file-pass', 'tlsClientKeyFilePass', "Passphrase of tls-client-key-file ('' = none)"],
  ['tls-ca-cert-file', 'tlsCaCertFile', 'CA certificates (PEM) that client and peer certificates must chain to'],
  ['tls-ca-cert-dir', 'tlsCaCertDir', 'A directory of CA certificates (PEM files), besides tls-ca-cert-file'],
  ['tls-dh-params-file', 'tlsDhParamsFile', "DH parameters (PEM) for DHE ciphers ('' = automatic)"],
];

export const PARAMS: readonly Param[] = [
  field({ name: 'port', key: 'port', ...integer(0, 65535), default: () => 6379, mutable: false,
    help: 'TCP port to listen on' }),
  derivedPort('memcache-port', 'memcachePort', MEMCACHE_PORT_OFFSET, 'the memcached binary and text protocols'),
  field({ name: 'memcache-max-item-size', key: 'memcacheMaxItemSize', ...memory(1024), default: () => MB, mutable: true,
    help: "Largest memcached item (key + value + memcached's 59 bytes of overhead), as memcached -I" }),
  derivedPort('http-port', 'httpPort', HTTP_PORT_OFFSET, 'HTTP (/health, /metrics, /v1/keys)'),
  bind,
  field({ name: 'shards', key: 'shards', ...integer(1, 1024),
    default: () => Math.max(1, availableParallelism() - 1), mutable: false,
    help: 'Shard worker threads (default: CPU cores - 1)' }),
  field({ name: 'shard-threads', key: 'shardThreads', ...yesNo, default: () => true, mutable: false,
    help: 'Run each shard in its own worker thread (no: shards run on the main thread)' }),
  field({ name: 'maxmemory', key: 'maxmemory', ...memory(0), default: () => 0, mutable: true,
    help: 'Memory limit for data, 0 = no limit' }),
  field({ name: 'maxmemory-policy', key: 'maxmemoryPolicy', ...oneOf(EVICTION_POLICIES),
    default: (): EvictionPolicy => 'noeviction', mutable: true,
    help: 'What to evict when maxmemory is reached' }),
  field({ name: 'maxmemory-samples', key: 'maxmemorySamples', ...integer(1, INT_MAX), default: () => 5, mutable: true,
    help: 'Keys sampled per eviction' }),
  ...collectionLimit('hash-max-listpack-entries', 'hashMaxListpackEntries', 512, 'Most fields of a hash kept in its compact (listpack) encoding', 'hash-max-ziplist-entries'),
  ...collectionLimit('hash-max-listpack-value', 'hashMaxListpackValue', 64, 'Longest field or value (bytes) of a hash kept in its compact encoding', 'hash-max-ziplist-value'),
  ...collectionLimit('set-max-intset-entries', 'setMaxIntsetEntries', 512, 'Most members of a set of integers kept as an intset'),
  ...collectionLimit('set-max-listpack-entries', 'setMaxListpackEntries', 128, "Most members of a small set kept in its compact (listpack) encoding (Redis 7.2's; 0 = as Redis 7.0, hashtable)"),
  ...collectionLimit('set-max-listpack-value', 'setMaxListpackValue', 64, 'Longest member (bytes) of a set kept in its compact encoding'),
  ...collectionLimit('list-max-listpack-size', 'listMaxListpackSize', -2,
    'Size of a list node: > 0 most elements, -1..-5 most bytes (4, 8, 16, 32, 64 KiB)', 'list-max-ziplist-size', -2147483648),
  ...collectionLimit('list-compress-depth', 'listCompressDepth', 0, 'Nodes at each end of a list left uncompressed (0 = compress none)'),
  ...collectionLimit('zset-max-listpack-entries', 'zsetMaxListpackEntries', 128, 'Most members of a sorted set kept in its compact (listpack) encoding', 'zset-max-ziplist-entries'),
  ...collectionLimit('zset-max-listpack-value', 'zsetMaxListpackValue', 64, 'Longest member (bytes) of a sorted set kept in its compact encoding', 'zset-max-ziplist-value'),
  ...collectionLimit('stream-node-max-bytes', 'streamNodeMaxBytes', 4096, 'Most bytes of a stream node (0 = no limit)'),
  ...collectionLimit('stream-node-max-entries', 'streamNodeMaxEntries', 100, 'Most entries of a stream node (0 = no limit)'),
  field({ name: 'hll-sparse-max-bytes', key: 'hllSparseMaxBytes', ...memory(0), default: () => 3000, mutable: true,
    help: 'Largest sparse HyperLogLog (bytes, header included) before it becomes dense' }),
  field({ name: 'requirepass', key: 'requirepass', ...text, default: () => '', mutable: true,
    help: "Password for AUTH, '' = none" }),
  field({ name: 'enable-debug-command', key: 'enableDebugCommand', ...oneOf(['no', 'yes', 'local'] as const),
    default: () => 'no' as const, mutable: false,
    help: 'Allow DEBUG (local = from loopback clients only)' }),
  field({ name: 'enable-protected-configs', key: 'enableProtectedConfigs', ...oneOf(['no', 'yes', 'local'] as const),
    default: () => 'no' as const, mutable: false,
    help: 'Allow CONFIG SET of options naming files or directories the server writes (dir, dbfilename; local = from loopback clients only)' }),
  field({ name: 'loglevel', key: 'loglevel', ...oneOf(['debug', 'verbose', 'notice', 'warning', 'nothing'] as const),
    default: () => 'notice' as const, mutable: true,
    help: 'Log verbosity' }),
  field({ name: 'logfile', key: 'logfile', ...text, default: () => '', mutable: false,
    help: "Log file, '' = standard output" }),
  field({ name: 'maxclients', key: 'maxclients', ...integer(1, INT_MAX), default: () => 10000, mutable: true,
    help: 'Most simultaneous client connections' }),
  field({ name: 'proto-max-bulk-len', key: 'protoMaxBulkLen', ...memory(MB), default: () => 512 * MB,
    mutable: true, help: 'Largest bulk string a client may send' }),
  ...['busy-reply-threshold', 'lua-time-limit'].map((name) => field({ name, key: 'busyReplyThreshold', ...integer(0, INT_MAX), default: () => 5000, mutable: true,
    help: name === 'lua-time-limit' ? 'Alias of busy-reply-threshold' : 'Milliseconds a script runs before other clients get -BUSY (SCRIPT KILL / FUNCTION KILL then stop it)' })),
  field({ name: 'script-undeclared-keys', key: 'scriptUndeclaredKeys', ...oneOf(['allow', 'slot', 'deny'] as const),
    default: () => 'allow' as const, mutable: true,
    help: 'Several shards: allow = a script may touch any key, as on redis-server, running with every shard locked unless its shebang flags bind it to its keys\' slot; slot = a script whose declared keys share one slot runs in its shard and may touch undeclared keys of that shard only (Redis Cluster\'s rule; a {hash tag}), any other runs with every shard locked; deny = a script runs in its keys\' shard and another shard\'s key is an error' }),
  field({ name: 'client-query-buffer-limit', key: 'clientQueryBufferLimit', ...memory(MB),
    default: () => GB, mutable: true, help: 'Most bytes buffered for one unfinished command' }),
  clientOutputBufferLimit,
  field({ name: 'timeout', key: 'timeout', ...integer(0, INT_MAX), default: () => 0, mutable: true,
    help: 'Close clients idle this many seconds, 0 = never' }),
  field({ name: 'hz', key: 'hz', ...clamped(1, 500), default: () => 10, mutable: true,
    help: 'Background task frequency (expiry, timeouts) per second' }),
  field({ name: 'tcp-keepalive', key: 'tcpKeepalive', ...integer(0, INT_MAX), default: () => 300, mutable: true,
    help: 'TCP keepalive interval in seconds, 0 = off' }),
  field({ name: 'databases', key: 'databases', ...integer(1, INT_MAX), default: () => 16, mutable: false,
    help: 'Number of databases (SELECT 0 to databases-1; cluster mode serves db 0 only)' }),
  field({ name: 'active-expire-enabled', key: 'activeExpireEnabled', ...yesNo, default: () => true, mutable: true,
    help: 'Reclaim expired keys in the background, not only on access' }),
  field({ name: 'notify-keyspace-events', key: 'notifyKeyspaceEvents', ...keyspaceEvents, default: () => 0, mutable: true,
    help: 'Keyspace notifications over pub/sub: K keyspace, E keyevent, classes g $ l s h z x e t m d n, A = g$lshzxetd' }),
  field({ name: 'appendonly', key: 'appendonly', ...yesNo, default: () => false, mutable: true,
    help: 'Log every change to a per-shard append-only file (turned on at run time, a rewrite makes its base)' }),
  field({ name: 'appendfsync', key: 'appendfsync', ...oneOf(['always', 'everysec', 'no'] as const),
    default: () => 'everysec' as const, mutable: true,
    help: 'When the log reaches the disk: before each reply (always), once a second, or when the OS likes (no)' }),
  field({ name: 'appendfilename', key: 'appendfilename', ...fileName('appendfilename', 'filename'), default: () => 'appendonly.aof', mutable: false,
    help: 'Prefix of the append-only files' }),
  field({ name: 'appenddirname', key: 'appenddirname', ...fileName('appenddirname', 'dirname'), default: () => 'appendonlydir', mutable: false,
    help: 'Directory of the append-only files, inside dir' }),
  field({ name: 'auto-aof-rewrite-percentage', key: 'autoAofRewritePercentage', ...integer(0, INT_MAX), default: () => 100, mutable: true,
    help: 'Rewrite the log when it has grown this much (percent) since the last rewrite, 0 = never' }),
  field({ name: 'auto-aof-rewrite-min-size', key: 'autoAofRewriteMinSize', ...memory(0), default: () => 64 * MB, mutable: true,
    help: 'No automatic rewrite below this log size' }),
  field({ name: 'aof-load-truncated', key: 'aofLoadTruncated', ...yesNo, default: () => true, mutable: true,
    help: 'At start, cut a log that ends inside a record (a crash while writing) and go on' }),
  field({ name: 'persistence-repair', key: 'persistenceRepair', ...yesNo, default: () => false, mutable: false,
    help: "Tessera's own: at start, accept a damaged log or snapshot, keep what precedes the damage and cut the file there" }),
  field({ name: 'save', key: 'save', ...savePoints, default: () => '3600 1 300 100 60 10000', mutable: true, multiArg: true,
    help: "Snapshot points: save after <seconds> if at least <changes> changes, '' = never" }),
  field({ name: 'dbfilename', key: 'dbfilename', ...fileName('dbfilename', 'filename'), default: () => 'dump.tdb', mutable: true, protected: true,
    help: "The snapshot's manifest; its per-shard files are named after it" }),
  field({ name: 'dir', key: 'dir', ...directory, default: () => process.cwd(), mutable: true, protected: true,
    help: 'Working directory for persistence files' }),
  field({ name: 'replicaof', key: 'replicaof', ...hostPort, default: () => '', mutable: false, multiArg: true,
    help: "Start as a replica of <host> <port> ('' = a primary; REPLICAOF changes it at run time)" }),
  field({ name: 'masterauth', key: 'masterauth', ...text, default: () => '', mutable: true,
    help: "Password a replica sends its primary ('' = none)" }),
  field({ name: 'masteruser', key: 'masteruser', ...text, default: () => '', mutable: true,
    help: "User a replica authenticates as ('' = default)" }),
  field({ name: 'repl-backlog-size', key: 'replBacklogSize', ...memory(16 * 1024), default: () => MB, mutable: false,
    help: 'Bytes of recent changes each shard keeps for replicas that reconnect (partial resync)' }),
  field({ name: 'min-replicas-to-write', key: 'minReplicasToWrite', ...integer(0, INT_MAX), default: () => 0, mutable: true,
    help: 'Refuse writes unless this many replicas acknowledged within min-replicas-max-lag, 0 = off' }),
  field({ name: 'min-replicas-max-lag', key: 'minReplicasMaxLag', ...integer(0, INT_MAX), default: () => 10, mutable: true,
    help: 'Seconds since its last acknowledgement for a replica to count as good' }),
  field({ name: 'replica-read-only', key: 'replicaReadOnly', ...yesNo, default: () => true, mutable: true,
    help: 'A replica refuses writes from clients' }),
  field({ name: 'cluster-enabled', key: 'clusterEnabled', ...yesNo, default: () => false, mutable: false,
    help: 'Run as a Redis Cluster node (slots, MOVED/ASK, cluster bus)' }),
  field({ name: 'cluster-config-file', key: 'clusterConfigFile', ...text, default: () => 'nodes.conf', mutable: false,
    help: "The node's cluster state file, relative to dir; written by the node" }),
  field({ name: 'cluster-node-timeout', key: 'clusterNodeTimeout', ...integer(1, INT_MAX), default: () => 15000, mutable: true,
    help: 'Milliseconds without a heartbeat after which a node is suspected failing' }),
  field({ name: 'cluster-port', key: 'clusterPort', ...integer(0, 65535), default: () => 0, mutable: false,
    help: `Cluster bus port, 0 = port + ${CLUSTER_BUS_PORT_OFFSET}` }),
  field({ name: 'cluster-announce-ip', key: 'clusterAnnounceIp', ...text, default: () => '', mutable: true,
    help: "IP this node announces to the others ('' = as seen by peers)" }),
  field({ name: 'cluster-require-full-coverage', key: 'clusterRequireFullCoverage', ...yesNo, default: () => true, mutable: true,
    help: 'Refuse keyed commands while any slot is not served' }),
  field({ name: 'cluster-allow-reads-when-down', key: 'clusterAllowReadsWhenDown', ...yesNo, default: () => false, mutable: true,
    help: 'Serve reads of owned slots while the cluster is down' }),
  field({ name: 'cluster-allow-pubsubshard-when-down', key: 'clusterAllowPubsubshardWhenDown', ...yesNo, default: () => true, mutable: true,
    help: 'Serve SSUBSCRIBE, SUNSUBSCRIBE and SPUBLISH of owned slots while the cluster is down' }),
  field({ name: 'cluster-migration-barrier', key: 'clusterMigrationBarrier', ...integer(0, INT_MAX), default: () => 1, mutable: true,
    help: 'A replica migrates to an orphaned primary only if its own primary keeps at least this many working replicas' }),
  field({ name: 'cluster-replica-no-failover', key: 'clusterReplicaNoFailover', ...yesNo, default: () => false, mutable: true,
    help: 'This replica never starts an automatic failover (CLUSTER FAILOVER still works)' }),
  field({ name: 'cluster-allow-replica-migration', key: 'clusterAllowReplicaMigration', ...yesNo, default: () => true, mutable: true,
    help: 'Replicas may migrate to orphaned primaries' }),
  field({ name: 'cluster-replica-validity-factor', key: 'clusterReplicaValidityFactor', ...integer(0, INT_MAX), default: () => 10, mutable: true,
    help: 'Accepted for compatibility and ignored: a replica with stale data may still be elected (it ranks last)' }),
  field({ name: 'cluster-forwarding', key: 'clusterForwarding', ...yesNo, default: () => false, mutable: true,
    help: "Tessera's own: RESP commands for another node's slot are forwarded to it instead of answered with MOVED (memcached and HTTP always forward)" }),
  // ---- TLS (Redis's names and defaults; src/config/tls.ts builds the contexts, docs/security-tls.md) ----
  field({ name: 'tls-port', key: 'tlsPort', ...integer(0, 65535), default: () => 0, mutable: false,
    help: 'TCP port for RESP over TLS, 0 = off (port 0 with tls-port N serves TLS only)' }),
  ...TLS_FILE_OPTIONS.map(([name, key, help]) => field({ name, key, ...text, default: () => '', mutable: true, help })),
  field({ name: 'tls-auth-clients', key: 'tlsAuthClients', ...oneOf(['no', 'yes', 'optional'] as const),
    default: () => 'yes' as const, mutable: true,
    help: 'Client certificates: yes = required, optional = checked when given, no = not asked for' }),
  field({ name: 'tls-protocols', key: 'tlsProtocols', ...text, default: () => '', mutable: true,
    help: "Protocols allowed, of TLSv1 TLSv1.1 TLSv1.2 TLSv1.3 ('' = TLSv1.2 TLSv1.3)" }),
  field({ name: 'tls-ciphers', key: 'tlsCiphers', ...text, default: () => '', mutable: true,
    help: "TLSv1.2 cipher list, OpenSSL syntax ('' = Node's default)" }),
  field({ name: 'tls-ciphersuites', key: 'tlsCiphersuites', ...text, default: () => '', mutable: true,
    help: "TLSv1.3 cipher suites, OpenSSL syntax ('' = Node's default)" }),
  field({ name: 'tls-prefer-server-ciphers', key: 'tlsPreferServerCiphers', ...yesNo, default: () => false, mutable: true,
    help: "Choose the cipher by the server's order rather than the client's" }),
  field({ name: 'tls-session-caching', key: 'tlsSessionCaching', ...yesNo, default: () => true, mutable: true,
    help: 'Let clients resume TLS sessions (session ids and tickets)' }),
  field({ name: 'tls-session-cache-size', key: 'tlsSessionCacheSize', ...integer(0, INT_MAX), default: () => 20480, mutable: true,
    help: 'Most sessions kept for resumption by id (0 = the cap of 1048576)' }),
  field({ name: 'tls-session-cache-timeout', key: 'tlsSessionCacheTimeout', ...integer(0, INT_MAX), default: () => 300, mutable: true,
    help: 'Seconds a cached session may be resumed' }),
  field({ name: 'tls-replication', key: 'tlsReplication', ...yesNo, default: () => false, mutable: true,
    help: 'A replica dials its primary with TLS (the primary must serve tls-port)' }),
  field({ name: 'tls-cluster', key: 'tlsCluster', ...yesNo, default: () => false, mutable: true,
    help: 'The cluster bus, forwarding and migration use TLS; CLUSTER SLOTS/SHARDS/NODES announce tls-port' }),
  field({ name: 'memcache-tls', key: 'memcacheTls', ...yesNo, default: () => false, mutable: false,
    help: "Tessera's own: the memcached port speaks TLS, with the tls-* certificates and tls-auth-clients" }),
  field({ name: 'http-tls', key: 'httpTls', ...yesNo, default: () => false, mutable: false,
    help: "Tessera's own: HTTPS on the HTTP port, with the tls-* certificates and tls-auth-clients" }),
  // ACL (issue 18, acl): users themselves are `user` lines (config.ts) or the aclfile.
  field({ name: 'acllog-max-len', key: 'acllogMaxLen', ...integer(0, Number.MAX_SAFE_INTEGER), default: () => 128, mutable: true,
    help: 'Most entries ACL LOG keeps (denied commands and failed logins)' }),
  field({ name: 'aclfile', key: 'aclfile', ...text, default: () => '', mutable: false,
    help: "File of ACL users ('user' lines, ACL SAVE / ACL LOAD); relative to dir; '' = users come from 'user' lines" }),
  // ---- guard: protected mode and client limits (docs/security-guard.md) ----
  field({ name: 'protected-mode', key: 'protectedMode', ...yesNo, default: () => true, mutable: true,
    help: 'With no password for the default user, refuse clients not on the loopback interface (every door)' }),
  field({ name: 'client-ops-per-sec', key: 'clientOpsPerSec', ...integer(0, INT_MAX), default: () => 0, mutable: true,
    help: "Tessera's own: most commands per second of one client (over it: -LIMIT), 0 = no limit" }),
  field({ name: 'client-bytes-per-sec', key: 'clientBytesPerSec', ...integer(0, INT_MAX), default: () => 0, mutable: true,
    help: "Tessera's own: most input bytes per second of one client (its socket is not read until the budget refills), 0 = no limit" }),
  field({ name: 'max-new-connections-per-sec', key: 'maxNewConnectionsPerSec', ...integer(0, INT_MAX), default: () => 0, mutable: true,
    help: "Tessera's own: most new connections per second from one source address (over it: refused and closed), 0 = no limit" }),
  // doors: node-to-node authentication of the cluster bus (Redis has none).
  field({ name: 'cluster-bus-secret', key: 'clusterBusSecret', ...text, default: () => '', mutable: true,
    help: "Tessera's own: the cluster bus accepts and dials links only with a peer that proves it knows this secret (HMAC challenge-response, the secret never sent); '' = off; new links use a changed value" }),
  // SLOWLOG and LATENCY (issue 19, slowlog; docs/observability-slowlog.md).
  field({ name: 'slowlog-log-slower-than', key: 'slowlogLogSlowerThan', ...integer(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER), default: () => 10000, mutable: true,
    help: 'Commands slower than this many microseconds go in the slow log (0 = every command, negative = none); timed where they run' }),
  field({ name: 'slowlog-max-len', key: 'slowlogMaxLen', ...integer(0, Number.MAX_SAFE_INTEGER), default: () => 128, mutable: true,
    help: 'Most entries SLOWLOG keeps (the oldest go first)' }),
  field({ name: 'latency-monitor-threshold', key: 'latencyMonitorThreshold', ...integer(0, Number.MAX_SAFE_INTEGER), default: () => 0, mutable: true,
    help: 'LATENCY records events (slow commands, expire cycles, fsyncs...) of this many milliseconds or more; 0 = off' }),
];

export const PARAM_BY_NAME: ReadonlyMap<string, Param> = new Map(PARAMS.map((p) => [p.name, p]));

/** A fresh state holding every parameter's default. */
export function defaultState(): ConfigState {
  const state: ConfigState = {
    values: {} as ServerConfig, // every field is written by the resets below
    otherOutputBufferLimits: {
      replica: { hardBytes: 0, softBytes: 0, softSeconds: 0 },
      pubsub: { hardBytes: 0, softBytes: 0, softSeconds: 0 },
    },
    bindWords: [],
    bindSkipped: [],
    portFollows: { memcachePort: true, httpPort: true },
  };
  for (const p of PARAMS) p.reset(state);
  resolveDerivedPorts(state);
  return state;
}
