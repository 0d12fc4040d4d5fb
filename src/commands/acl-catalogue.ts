// The ACL's view of the command table (src/acl/catalogue.ts): ids, categories, key specs with
// the permission each asks for, channel arguments. Built from COMMANDS and their Redis
// declarations (command-meta.ts), the same table COMMAND INFO and ACL CAT report; deterministic,
// so the main thread and the shards (scripts' redis.call) agree on every id.

import type { CommandSpec } from './types.js';
import { commandMeta, type CommandEntry } from './command-meta.js';
import {
  CH_PATTERN, CH_PUBLISH, CH_SUBSCRIBE, FIND_KEYNUM, FIND_RANGE, PERM_READ, PERM_WRITE, catalogueOf, categoryBit,
  type AclCatalogue, type AclChannelSpec, type AclCommand, type AclKeySpec,
} from '../acl/catalogue.js';

const CHANNELS: Record<string, AclChannelSpec> = {
  subscribe: { flags: CH_SUBSCRIBE, first: 1, last: -1 },
  ssubscribe: { flags: CH_SUBSCRIBE, first: 1, last: -1 },
  psubscribe: { flags: CH_SUBSCRIBE | CH_PATTERN, first: 1, last: -1 },
  publish: { flags: CH_PUBLISH, first: 1, last: 1 },
  spublish: { flags: CH_PUBLISH, first: 1, last: 1 },
};

function keySpecsOf(e: CommandEntry): AclKeySpec[] {
  const out: AclKeySpec[] = [];
  for (const k of e.decl.keySpecs ?? []) {
    if (k.flags.includes('not_key') || k.begin === null || k.find === null) continue;
    let perm = 0;
    if (k.flags.includes('access')) perm |= PERM_READ;
    if (k.flags.includes('insert') || k.flags.includes('delete') || k.flags.includes('update')) perm |= PERM_WRITE;
    const f = 'range' in k.find ? k.find.range : k.find.keynum;
    const b = k.begin;
    out.push({
      perm,
      index: typeof b === 'number' ? b : 0,
      keyword: typeof b === 'number' ? null : b[0],
      startFrom: typeof b === 'number' ? 0 : b[1],
      find: 'range' in k.find ? FIND_RANGE : FIND_KEYNUM,
      f0: f[0],
      f1: f[1],
      f2: f[2],
      fixed: typeof b === 'number' && 'range' in k.find && f[0] >= 0 && f[1] > 0,
    });
  }
  return out;
}

let cachedFor: readonly CommandSpec[] | null = null;
let cached: AclCatalogue | null = null;

/** The catalogue of a command table (cached: the table never changes). */
export function aclCatalogue(commands: readonly CommandSpec[]): AclCatalogue {
  if (cachedFor === commands && cached !== null) return cached;
  const meta = commandMeta(commands);
  let nextId = 0;
  const make = (e: CommandEntry, parent: AclCommand | null): AclCommand => {
    let categories = 0;
    for (const c of e.decl.acl) categories |= categoryBit(c.slice(1));
    const name = e.fullname;
    const cmd: { -readonly [K in keyof AclCommand]: AclCommand[K] } = {
      id: nextId++,
      fullname: name,
      arity: e.arity,
      categories,
      noAuth: e.decl.flags.includes('no_auth'),
      keySpecs: keySpecsOf(e),
      variableFlags: name === 'set' ? 'set' : name === 'bitfield' ? 'bitfield' : null,
      channels: CHANNELS[name] ?? null,
      subs: [],
      parent,
    };
    cmd.subs = e.subs.map((s) => make(s, cmd));
    return cmd;
  };
  const byIndex = commands.map((c) => {
    const e = c.hidden ? undefined : meta.byName.get(c.name);
    return e === undefined ? null : make(e, null);
  });
  cached = catalogueOf(byIndex);
  cachedFor = commands;
  return cached;
}
