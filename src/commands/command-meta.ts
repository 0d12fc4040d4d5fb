// The command table as COMMAND reports it: each visible spec (and subcommand) joined by name with
// its Redis declaration (decls/, generated), or, for a command Redis lacks, a declaration derived
// from the spec itself. Built once per table; entries keep the table's order.

import type { CommandFlag, CommandSpec, DeclOverride, KeySpec, SubcommandSpec } from './types.js';
import {
  ACL_CATEGORIES,
  COMMAND_FLAG_ORDER,
  type AclCategory,
  type CommandDecl,
  type DocGroup,
  type KeySpecDecl,
  type RedisCommandFlag,
} from './command-decl.js';
import { REDIS_DECLS } from './decls/index.js';

export interface CommandEntry {
  /** 'get', or 'config|get' for a subcommand. */
  readonly fullname: string;
  /** The spec's arity: what the dispatcher enforces. */
  readonly arity: number;
  readonly decl: CommandDecl;
  /** Declared by Redis 7.0 (false: derived from a Tessera-only spec). */
  readonly redis: boolean;
  /** Tessera's own key spec (legacy form), used where no Redis declaration exists. */
  readonly keys: KeySpec | null;
  readonly subs: readonly CommandEntry[];
}

export interface CommandMeta {
  readonly list: readonly CommandEntry[];
  /** By lower-case full name, subcommands included ('config|get'). */
  readonly byName: ReadonlyMap<string, CommandEntry>;
}

/** Redis's declaration of a command by lower-case name (subcommands: 'xgroup|create'), or undefined. */
export function redisDecl(name: string): CommandDecl | undefined {
  const bar = name.indexOf('|');
  if (bar < 0) return REDIS_DECLS.get(name);
  return REDIS_DECLS.get(name.slice(0, bar))?.subcommands?.find((s) => s.name === name.slice(bar + 1));
}

const FLAG_NAMES: Partial<Record<CommandFlag, RedisCommandFlag>> = {
  write: 'write', readonly: 'readonly', denyoom: 'denyoom', admin: 'admin', fast: 'fast', noscript: 'noscript',
  loading: 'loading', stale: 'stale', 'no-auth': 'no_auth', 'allow-busy': 'allow_busy', 'skip-slowlog': 'skip_slowlog',
  'no-multi': 'no_multi', blocking: 'blocking', pubsub: 'pubsub', asking: 'asking',
};

const DOC_GROUPS = new Set<string>([
  'generic', 'string', 'list', 'set', 'sorted-set', 'hash', 'pubsub', 'transactions', 'connection', 'server', 'scripting',
  'hyperloglog', 'cluster', 'sentinel', 'geo', 'stream', 'bitmap',
]);

/** Redis's docs group for a spec's group ('zset' is 'sorted-set'; internal ones are 'server'). */
function docGroup(g: string): DocGroup {
  if (g === 'zset') return 'sorted-set';
  return DOC_GROUPS.has(g) ? (g as DocGroup) : 'server';
}

const GROUP_ACL: Partial<Record<DocGroup, AclCategory>> = {
  string: '@string', list: '@list', hash: '@hash', set: '@set', 'sorted-set': '@sortedset', generic: '@keyspace',
  connection: '@connection', pubsub: '@pubsub', scripting: '@scripting', geo: '@geo', stream: '@stream',
  bitmap: '@bitmap', hyperloglog: '@hyperloglog', transactions: '@transaction',
};

/** A declaration for a command Redis does not have, from its spec: Redis's implicit ACL
 * categories (from the flags) plus its group's, one key spec from the legacy range. */
function derive(s: { name: string; arity: number; flags: readonly CommandFlag[]; keys: KeySpec | null; summary: string; decl?: DeclOverride }, group: DocGroup, since: string): CommandDecl {
  const movable = s.keys !== null && (s.keys.numkeysAt !== undefined || s.keys.extraKeyAt !== undefined);
  const has = (f: CommandFlag): boolean => s.flags.includes(f);
  const flags = COMMAND_FLAG_ORDER.filter((f) => s.flags.some((g) => FLAG_NAMES[g] === f) || (f === 'movablekeys' && movable));
  const acl = new Set<AclCategory>();
  if (has('write')) acl.add('@write');
  if (has('readonly')) acl.add('@read');
  if (has('admin')) acl.add('@admin').add('@dangerous');
  if (has('pubsub')) acl.add('@pubsub');
  if (has('blocking')) acl.add('@blocking');
  acl.add(has('fast') ? '@fast' : '@slow');
  const g = GROUP_ACL[group];
  if (g) acl.add(g);
  let keySpecs: KeySpecDecl[] | undefined;
  let range: [number, number, number] = [0, 0, 0];
  if (s.keys) {
    const k = s.keys;
    const kf: KeySpecDecl['flags'] = has('write') ? ['RW', 'update'] : ['RO', 'access'];
    if (k.numkeysAt !== undefined) {
      keySpecs = [{ flags: kf, begin: k.numkeysAt, find: { keynum: [0, 1, 1] } }];
    } else {
      range = [k.first, k.last, k.step];
      keySpecs = [{ flags: kf, begin: k.first, find: { range: [k.last < 0 ? k.last : k.last - k.first, k.step, 0] } }];
    }
  }
  return {
    name: s.name,
    arity: s.arity,
    flags,
    range,
    acl: ACL_CATEGORIES.filter((c) => acl.has(c)),
    ...(keySpecs ? { keySpecs } : {}),
    summary: s.summary,
    since,
    group,
    ...s.decl,
  };
}

function subEntry(parent: string, parentDecl: CommandDecl | undefined, parentRedis: boolean, s: SubcommandSpec, group: DocGroup, since: string): CommandEntry {
  const d = parentRedis ? parentDecl?.subcommands?.find((x) => x.name === s.name) : undefined;
  return {
    fullname: `${parent}|${s.name}`,
    arity: s.arity,
    decl: d ?? derive(s, group, since),
    redis: d !== undefined,
    keys: s.keys,
    subs: [],
  };
}

function build(commands: readonly CommandSpec[]): CommandMeta {
  const list: CommandEntry[] = [];
  const byName = new Map<string, CommandEntry>();
  for (const c of commands) {
    if (c.hidden) continue;
    const d = REDIS_DECLS.get(c.name);
    const decl = d ?? derive(c, docGroup(c.group), c.since);
    const subs = (c.subcommands ?? []).map((s) => subEntry(c.name, d, d !== undefined, s, decl.group, decl.since));
    const e: CommandEntry = { fullname: c.name, arity: c.arity, decl, redis: d !== undefined, keys: c.keys, subs };
    list.push(e);
    byName.set(e.fullname, e);
    for (const s of subs) byName.set(s.fullname, s);
  }
  return { list, byName };
}

let cachedFor: readonly CommandSpec[] | null = null;
let cached: CommandMeta = { list: [], byName: new Map() };

/** The entries of a command table (cached: the table never changes). */
export function commandMeta(commands: readonly CommandSpec[]): CommandMeta {
  if (cachedFor !== commands) {
    cached = build(commands);
    cachedFor = commands;
  }
  return cached;
}

/** A command's ACL categories (for ACL, issue 18): Redis's declaration, else derived from its spec. */
export function aclCategoriesOf(spec: CommandSpec, sub?: SubcommandSpec): readonly AclCategory[] {
  const d = redisDecl(sub ? `${spec.name}|${sub.name}` : spec.name);
  if (d) return d.acl;
  const group = docGroup(spec.group);
  return derive(sub ?? spec, group, spec.since).acl;
}

/** A category's bit in an ACL mask (its index in ACL_CATEGORIES). */
export function aclCategoryBit(c: AclCategory): number {
  return 1 << ACL_CATEGORIES.indexOf(c);
}

/** The command's ACL categories as a mask of aclCategoryBit()s (21 categories: fits an int). */
export function aclMaskOf(spec: CommandSpec, sub?: SubcommandSpec): number {
  let m = 0;
  for (const c of aclCategoriesOf(spec, sub)) m |= aclCategoryBit(c);
  return m;
}
