// COMMAND and its subcommands (Redis server.c's commandCommand family), written from the command
// table's entries (command-meta.ts) with Redis 7.0's reply shapes and types: flags and ACL
// categories as sets of status strings, tips as bulk strings, key specs and docs as maps.

import type { RespWriter } from '../protocol/resp-writer.js';
import type { ArgList, MainCall } from './types.js';
import type { ArgDecl, CommandDecl, KeySpecDecl, KeySpecFlag } from './command-decl.js';
import { commandMeta, type CommandEntry, type CommandMeta } from './command-meta.js';
import { argIs, argString, argLower, argListOf } from './args.js';
import { keyRange, keyStep, keysFirst, keysLast, keysSkip } from './key-range.js';
import { COMMAND_ERR, ERR } from '../core/errors.js';
import { arityOk } from './arity.js';
import { globMatch } from '../util/glob.js';

// --- COMMAND INFO ---------------------------------------------------------------------------------

function writeKeySpec(out: RespWriter, k: KeySpecDecl): void {
  out.map(k.notes !== undefined ? 4 : 3);
  if (k.notes !== undefined) {
    out.bulkString('notes');
    out.bulkString(k.notes);
  }
  out.bulkString('flags');
  out.set(k.flags.length);
  for (const f of k.flags) out.simple(f);
  out.bulkString('begin_search');
  out.map(2);
  out.bulkString('type');
  if (typeof k.begin === 'number') {
    out.bulkString('index');
    out.bulkString('spec');
    out.map(1);
    out.bulkString('index');
    out.integer(k.begin);
  } else if (k.begin !== null) {
    out.bulkString('keyword');
    out.bulkString('spec');
    out.map(2);
    out.bulkString('keyword');
    out.bulkString(k.begin[0]);
    out.bulkString('startfrom');
    out.integer(k.begin[1]);
  } else {
    out.bulkString('unknown');
    out.bulkString('spec');
    out.map(0);
  }
  out.bulkString('find_keys');
  out.map(2);
  out.bulkString('type');
  const f = k.find;
  if (f === null) {
    out.bulkString('unknown');
    out.bulkString('spec');
    out.map(0);
    return;
  }
  const [names, v] = 'range' in f ? [RANGE_FIELDS, f.range] : [KEYNUM_FIELDS, f.keynum];
  out.bulkString('range' in f ? 'range' : 'keynum');
  out.bulkString('spec');
  out.map(3);
  for (let i = 0; i < 3; i++) {
    out.bulkString(names[i]!);
    out.integer(v[i]!);
  }
}

const RANGE_FIELDS = ['lastkey', 'keystep', 'limit'] as const;
const KEYNUM_FIELDS = ['keynumidx', 'firstkey', 'keystep'] as const;

function writeInfo(out: RespWriter, e: CommandEntry): void {
  const d = e.decl;
  out.array(10);
  out.bulkString(e.fullname);
  out.integer(e.arity);
  out.set(d.flags.length);
  for (const f of d.flags) out.simple(f);
  out.integer(d.range[0]);
  out.integer(d.range[1]);
  out.integer(d.range[2]);
  out.set(d.acl.length);
  for (const c of d.acl) out.simple(c);
  const tips = d.tips ?? [];
  out.set(tips.length);
  for (const t of tips) out.bulkString(t);
  // Redis writes the key specs as a set, and the subcommands as an array unless there are none.
  const specs = d.keySpecs ?? [];
  out.set(specs.length);
  for (const k of specs) writeKeySpec(out, k);
  if (e.subs.length === 0) out.set(0);
  else out.array(e.subs.length);
  for (const s of e.subs) writeInfo(out, s);
}

// --- COMMAND DOCS ---------------------------------------------------------------------------------

function writeArgs(out: RespWriter, args: readonly ArgDecl[]): void {
  out.array(args.length);
  for (const a of args) {
    const n = 2 + (a.keySpecIndex !== undefined ? 1 : 0) + (a.token !== undefined ? 1 : 0) + (a.summary !== undefined ? 1 : 0)
      + (a.since !== undefined ? 1 : 0) + (a.deprecatedSince !== undefined ? 1 : 0) + (a.flags !== undefined ? 1 : 0)
      + (a.args !== undefined ? 1 : 0);
    out.map(n);
    out.bulkString('name');
    out.bulkString(a.name);
    out.bulkString('type');
    out.bulkString(a.type);
    if (a.keySpecIndex !== undefined) {
      out.bulkString('key_spec_index');
      out.integer(a.keySpecIndex);
    }
    if (a.token !== undefined) {
      out.bulkString('token');
      out.bulkString(a.token);
    }
    if (a.summary !== undefined) {
      out.bulkString('summary');
      out.bulkString(a.summary);
    }
    if (a.since !== undefined) {
      out.bulkString('since');
      out.bulkString(a.since);
    }
    if (a.deprecatedSince !== undefined) {
      out.bulkString('deprecated_since');
      out.bulkString(a.deprecatedSince);
    }
    if (a.flags !== undefined) {
      out.bulkString('flags');
      out.set(a.flags.length);
      for (const f of a.flags) out.simple(f);
    }
    if (a.args !== undefined) {
      out.bulkString('arguments');
      writeArgs(out, a.args);
    }
  }
}

function writeDocs(out: RespWriter, e: CommandEntry): void {
  const d: CommandDecl = e.decl;
  const n = 3 + (d.complexity !== undefined ? 1 : 0) + (d.docFlags !== undefined ? 1 : 0) + (d.deprecatedSince !== undefined ? 1 : 0)
    + (d.replacedBy !== undefined ? 1 : 0) + (d.history !== undefined ? 1 : 0) + (d.args !== undefined ? 1 : 0) + (e.subs.length > 0 ? 1 : 0);
  out.map(n);
  out.bulkString('summary');
  out.bulkString(d.summary);
  out.bulkString('since');
  out.bulkString(d.since);
  out.bulkString('group');
  out.bulkString(d.group);
  if (d.complexity !== undefined) {
    out.bulkString('complexity');
    out.bulkString(d.complexity);
  }
  if (d.docFlags !== undefined) {
    out.bulkString('doc_flags');
    out.set(d.docFlags.length);
    for (const f of d.docFlags) out.simple(f);
  }
  if (d.deprecatedSince !== undefined) {
    out.bulkString('deprecated_since');
    out.bulkString(d.deprecatedSince);
  }
  if (d.replacedBy !== undefined) {
    out.bulkString('replaced_by');
    out.bulkString(d.replacedBy);
  }
  if (d.history !== undefined) {
    out.bulkString('history');
    out.set(d.history.length);
    for (const [v, text] of d.history) {
      out.array(2);
      out.bulkString(v);
      out.bulkString(text);
    }
  }
  if (d.args !== undefined) {
    out.bulkString('arguments');
    writeArgs(out, d.args);
  }
  if (e.subs.length > 0) {
    out.bulkString('subcommands');
    out.map(e.subs.length);
    for (const s of e.subs) {
      out.bulkString(s.fullname);
      writeDocs(out, s);
    }
  }
}

// --- COMMAND GETKEYS ------------------------------------------------------------------------------

interface FoundKey {
  pos: number;
  flags: readonly KeySpecFlag[];
}

/** Redis's getKeysUsingKeySpecs: the keys of argv (argv[0] = command name) by the declared key
 * specs, or null when a spec is unknown, incomplete or points outside the arguments. */
function keysBySpecs(specs: readonly KeySpecDecl[], argv: readonly string[]): FoundKey[] | null {
  const argc = argv.length;
  const keys: FoundKey[] = [];
  for (const spec of specs) {
    if (spec.flags.includes('not_key')) continue;
    let first = 0;
    if (typeof spec.begin === 'number') {
      first = spec.begin;
    } else if (spec.begin !== null) {
      const [word, from] = spec.begin;
      const start = from > 0 ? from : argc + from;
      const end = from > 0 ? argc - 1 : 0;
      for (let i = start; i !== end; i = start <= end ? i + 1 : i - 1) {
        if (i >= argc || i < 1) break;
        if (argv[i]!.toLowerCase() === word.toLowerCase()) {
          first = i + 1;
          break;
        }
      }
      if (first === 0) continue;
    } else {
      return null;
    }
    let last: number;
    let step: number;
    const f = spec.find;
    if (f === null) return null;
    if ('range' in f) {
      const [lastkey, keystep, limit] = f.range;
      if (lastkey >= 0) last = first + lastkey;
      else if (limit === 0) last = argc + lastkey;
      else last = first + (Math.trunc((argc - first) / limit) + lastkey);
      step = keystep;
    } else {
      const [keynumidx, firstkey, keystep] = f.keynum;
      if (keynumidx >= argc) return null;
      const s = argv[first + keynumidx];
      if (s === undefined || !/^(0|-?[1-9][0-9]*)$/.test(s)) return null;
      const numkeys = Number(s);
      if (numkeys < 0) return null;
      first += firstkey;
      last = first + numkeys - 1;
      step = keystep;
    }
    if (last >= argc || last < first || first >= argc) return null;
    for (let i = first; i <= last; i += step) keys.push({ pos: i, flags: spec.flags });
    if (spec.flags.includes('incomplete')) return null;
  }
  return keys;
}

/** Redis's getkeys procedures for the commands whose specs cannot find every key (SORT's STORE,
 * MIGRATE's KEYS) or whose flags vary (SET with GET, BITFIELD with SET/INCRBY); every other
 * command's procedure finds none where its specs fail. */
function keysByProc(name: string, argv: readonly string[]): FoundKey[] {
  const argc = argv.length;
  if (name === 'set') {
    const get = argv.slice(3).some((w) => w.toLowerCase() === 'get');
    return [{ pos: 1, flags: get ? ['RW', 'access', 'update'] : ['OW', 'update'] }];
  }
  if (name === 'bitfield') {
    let readonly = true;
    for (let i = 2; i < argc; i++) {
      const w = argv[i]!.toLowerCase();
      const rest = argc - i - 1;
      if (w === 'get' && rest >= 2) i += 2;
      else if ((w === 'set' || w === 'incrby') && rest >= 3) {
        readonly = false;
        break;
      } else if (w === 'overflow' && rest >= 1) i += 1;
    }
    return [{ pos: 1, flags: readonly ? ['RO', 'access'] : ['RW', 'access', 'update'] }];
  }
  if (name === 'sort_ro') return [{ pos: 1, flags: ['RO', 'access'] }];
  if (name === 'sort') {
    const keys: FoundKey[] = [{ pos: 1, flags: ['RO', 'access'] }];
    let store = -1;
    const skip: Record<string, number> = { limit: 2, get: 1, by: 1 };
    for (let i = 2; i < argc; i++) {
      const w = argv[i]!.toLowerCase();
      if (skip[w] !== undefined) i += skip[w]!;
      else if (w === 'store' && i + 1 < argc) store = i + 1;
    }
    if (store > 0) keys.push({ pos: store, flags: ['OW', 'update'] });
    return keys;
  }
  if (name === 'migrate') {
    let first = 3;
    let num = 1;
    for (let i = 6; i < argc; i++) {
      if (argv[i]!.toLowerCase() === 'keys') {
        first = i + 1;
        num = argc - first;
        break;
      }
    }
    return Array.from({ length: num }, (_, i) => ({ pos: first + i, flags: ['RW', 'access', 'delete'] }));
  }
  return [];
}

/** Tessera-only commands: their own legacy key spec. */
function keysByLegacy(e: CommandEntry, inner: ArgList): FoundKey[] {
  const k = e.keys;
  if (!k || !keyRange(k, inner)) return [];
  const flags = e.decl.keySpecs?.[0]?.flags ?? ['RW'];
  const keys: FoundKey[] = [];
  for (let i = keysFirst; i <= keysLast; i += keyStep(k)) if (i !== keysSkip) keys.push({ pos: i, flags });
  return keys;
}

function getKeys(m: MainCall, meta: CommandMeta, withFlags: boolean): void {
  const a = m.args;
  const argv = Array.from({ length: a.argc - 2 }, (_, i) => argString(a, i + 2));
  const base = meta.byName.get(argv[0]!.toLowerCase());
  let e = base;
  if (base && base.subs.length > 0 && argv.length >= 2) e = meta.byName.get(`${base.fullname}|${argv[1]!.toLowerCase()}`);
  if (!e) {
    m.out.error(COMMAND_ERR.invalidCommand);
    return;
  }
  const specs = e.decl.keySpecs ?? [];
  if (specs.length === 0) {
    m.out.error(COMMAND_ERR.noKeyArguments);
    return;
  }
  if (!arityOk(e.arity, argv.length)) {
    m.out.error(COMMAND_ERR.invalidArgCount);
    return;
  }
  let keys: FoundKey[];
  if (e.redis) {
    // As Redis: the specs, unless one varies its flags with the arguments or cannot find its keys.
    const varies = specs.some((k) => k.flags.includes('variable_flags'));
    keys = (varies ? null : keysBySpecs(specs, argv)) ?? keysByProc(e.fullname, argv);
  } else {
    const inner = argListOf(Array.from({ length: argv.length }, (_, i) => a.buf.subarray(a.off[i + 2]!, a.off[i + 2]! + a.len[i + 2]!)));
    keys = keysByLegacy(e, inner);
  }
  if (keys.length === 0) {
    if (e.decl.flags.includes('no_mandatory_keys')) m.out.array(0);
    else m.out.error(COMMAND_ERR.invalidArgs);
    return;
  }
  m.out.array(keys.length);
  for (const k of keys) {
    const i = k.pos + 2;
    if (withFlags) {
      m.out.array(2);
      m.out.bulk(a.buf, a.off[i]!, a.len[i]!);
      m.out.set(k.flags.length);
      for (const f of k.flags) m.out.simple(f);
    } else {
      m.out.bulk(a.buf, a.off[i]!, a.len[i]!);
    }
  }
}

// --- COMMAND LIST ---------------------------------------------------------------------------------

function listNames(meta: CommandMeta, keep: (e: CommandEntry) => boolean): string[] {
  const names: string[] = [];
  for (const e of meta.list) {
    if (keep(e)) names.push(e.fullname);
    for (const s of e.subs) if (keep(s)) names.push(s.fullname);
  }
  return names;
}

function list(m: MainCall, meta: CommandMeta): void {
  const a = m.args;
  let names: string[];
  if (a.argc === 2) {
    names = listNames(meta, () => true);
  } else if (a.argc === 5 && argIs(a, 2, 'FILTERBY')) {
    const value = argString(a, 4);
    if (argIs(a, 3, 'PATTERN')) {
      const p = Buffer.from(value);
      names = listNames(meta, (e) => {
        const b = Buffer.from(e.fullname);
        return globMatch(p, 0, p.length, b, 0, b.length, true);
      });
    } else if (argIs(a, 3, 'ACLCAT')) {
      const cat = `@${value.toLowerCase()}`;
      names = listNames(meta, (e) => e.decl.acl.some((c) => c === cat));
    } else if (argIs(a, 3, 'MODULE')) {
      names = [];
    } else {
      m.out.error(ERR.syntax);
      return;
    }
  } else {
    m.out.error(ERR.syntax);
    return;
  }
  m.out.array(names.length);
  for (const n of names) m.out.bulkString(n);
}

const HELP = [
  'COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  '(no subcommand)',
  '    Return details about all Redis commands.',
  'COUNT',
  '    Return the total number of commands in this Redis server.',
  'LIST',
  '    Return a list of all commands in this Redis server.',
  'INFO [<command-name> ...]',
  '    Return details about multiple Redis commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'DOCS [<command-name> ...]',
  '    Return documentation details about multiple Redis commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'GETKEYS <full-command>',
  '    Return the keys from a full Redis command.',
  'GETKEYSANDFLAGS <full-command>',
  '    Return the keys and the access flags from a full Redis command.',
  'HELP',
  '    Prints this help.',
];

/** COMMAND [COUNT | LIST | INFO | DOCS | GETKEYS | GETKEYSANDFLAGS | HELP]. */
export function commandCommand(m: MainCall): void {
  const a = m.args;
  const meta = commandMeta(m.server.commands);
  const out = m.out;
  if (a.argc === 1) {
    out.array(meta.list.length);
    for (const e of meta.list) writeInfo(out, e);
    return;
  }
  switch (argLower(a, 1)) {
    case 'count':
      out.integer(meta.list.length);
      return;
    case 'list':
      list(m, meta);
      return;
    case 'info':
      if (a.argc === 2) {
        out.array(meta.list.length);
        for (const e of meta.list) writeInfo(out, e);
        return;
      }
      out.array(a.argc - 2);
      for (let i = 2; i < a.argc; i++) {
        const e = meta.byName.get(argLower(a, i));
        if (e) writeInfo(out, e);
        else out.nil();
      }
      return;
    case 'docs': {
      const found = a.argc === 2
        ? meta.list
        : Array.from({ length: a.argc - 2 }, (_, i) => meta.byName.get(argLower(a, i + 2))).filter((e): e is CommandEntry => e !== undefined);
      out.map(found.length);
      for (const e of found) {
        out.bulkString(e.fullname);
        writeDocs(out, e);
      }
      return;
    }
    case 'getkeys':
      getKeys(m, meta, false);
      return;
    case 'getkeysandflags':
      getKeys(m, meta, true);
      return;
    case 'help':
      out.array(HELP.length);
      for (const l of HELP) out.simple(l);
      return;
    default:
      out.error(ERR.unknownSubcommand(argString(a, 1), 'COMMAND'));
  }
}
