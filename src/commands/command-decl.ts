// Redis's declaration of a command (its commands/*.json): flags, ACL categories, key specs, tips
// and documentation. The declarations of Redis 7.0.15's commands are generated into decls/ by
// scripts/gen-command-decls.mjs; COMMAND INFO / DOCS / GETKEYS read them by the spec's name.

/** Command flags with Redis 7.0's names, in the order COMMAND INFO lists them. */
export const COMMAND_FLAG_ORDER = [
  'write', 'readonly', 'denyoom', 'module', 'admin', 'pubsub', 'noscript', 'blocking', 'loading', 'stale',
  'skip_monitor', 'skip_slowlog', 'asking', 'fast', 'no_auth', 'may_replicate', 'no_mandatory_keys',
  'no_async_loading', 'no_multi', 'movablekeys', 'allow_busy',
] as const;
export type RedisCommandFlag = (typeof COMMAND_FLAG_ORDER)[number];

/** ACL categories (Redis 7.0's ACL CAT), as COMMAND INFO writes them. */
export const ACL_CATEGORIES = [
  '@keyspace', '@read', '@write', '@set', '@sortedset', '@list', '@hash', '@string', '@bitmap', '@hyperloglog',
  '@geo', '@stream', '@pubsub', '@admin', '@fast', '@slow', '@blocking', '@dangerous', '@connection',
  '@transaction', '@scripting',
] as const;
export type AclCategory = (typeof ACL_CATEGORIES)[number];

export type KeySpecFlag =
  | 'RO' | 'RW' | 'OW' | 'RM' | 'access' | 'update' | 'insert' | 'delete' | 'not_key' | 'incomplete' | 'variable_flags';

export interface KeySpecDecl {
  readonly notes?: string;
  readonly flags: readonly KeySpecFlag[];
  /** begin_search: an index, [keyword, startfrom], or null (unknown). */
  readonly begin: number | readonly [string, number] | null;
  /** find_keys: range [lastkey, keystep, limit], keynum [keynumidx, firstkey, keystep], or null (unknown). */
  readonly find: { readonly range: readonly [number, number, number] } | { readonly keynum: readonly [number, number, number] } | null;
}

export type ArgType =
  | 'string' | 'integer' | 'double' | 'key' | 'pattern' | 'unix-time' | 'pure-token' | 'oneof' | 'block';
export type ArgFlag = 'optional' | 'multiple' | 'multiple_token';

export interface ArgDecl {
  readonly name: string;
  readonly type: ArgType;
  readonly keySpecIndex?: number;
  readonly token?: string;
  readonly summary?: string;
  readonly since?: string;
  readonly deprecatedSince?: string;
  readonly flags?: readonly ArgFlag[];
  readonly args?: readonly ArgDecl[];
}

export type DocGroup =
  | 'generic' | 'string' | 'list' | 'set' | 'sorted-set' | 'hash' | 'pubsub' | 'transactions' | 'connection'
  | 'server' | 'scripting' | 'hyperloglog' | 'cluster' | 'sentinel' | 'geo' | 'stream' | 'bitmap';

export interface CommandDecl {
  /** Lower-case name; a subcommand's own name ('get' of config|get). */
  readonly name: string;
  readonly arity: number;
  readonly flags: readonly RedisCommandFlag[];
  /** Redis's legacy (first, last, step) key range. */
  readonly range: readonly [number, number, number];
  readonly acl: readonly AclCategory[];
  readonly tips?: readonly string[];
  readonly keySpecs?: readonly KeySpecDecl[];
  readonly subcommands?: readonly CommandDecl[];
  readonly summary: string;
  readonly since: string;
  readonly group: DocGroup;
  readonly complexity?: string;
  readonly docFlags?: readonly ('deprecated' | 'syscmd')[];
  readonly deprecatedSince?: string;
  readonly replacedBy?: string;
  readonly history?: readonly (readonly [string, string])[];
  readonly args?: readonly ArgDecl[];
}
