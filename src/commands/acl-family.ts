// ACL SETUSER, GETUSER, DELUSER, LIST, USERS, WHOAMI, CAT, GENPASS, LOG, SAVE, LOAD, DRYRUN, HELP
// (Redis 7.0's acl.c aclCommand): replies and errors as redis-server 7.0.15 gives them, RESP2
// and RESP3. The users themselves live in src/acl; these handlers only parse and reply.

import { randomBytes } from 'node:crypto';
import type { CommandSpec, MainCall } from './types.js';
import { argInt, argListOf, argLower, argString } from './args.js';
import { ERR } from '../core/errors.js';
import { AclRuleError, dryrunText } from '../acl/acl.js';
import { ACL_CATEGORY_NAMES, categoryBit, type AclCommand } from '../acl/catalogue.js';
import type { Selector } from '../acl/selector.js';
import { aclfilePath, loadAclFile, saveAclFile } from '../acl/acl-file.js';
import { arityOk } from './arity.js';

const HELP = [
  'ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CAT [<category>]',
  '    List all commands that belong to <category>, or all command categories',
  '    when no category is specified.',
  'DELUSER <username> [<username> ...]',
  '    Delete a list of users.',
  'DRYRUN <username> <command> [<arg> ...]',
  '    Returns whether the user can execute the given command without executing the command.',
  'GETUSER <username>',
  "    Get the user's details.",
  'GENPASS [<bits>]',
  '    Generate a secure 256-bit user password. The optional `bits` argument can',
  '    be used to specify a different size.',
  'LIST',
  '    Show users details in config file format.',
  'LOAD',
  '    Reload users from the ACL file.',
  'LOG [<count> | RESET]',
  '    Show the ACL log entries.',
  'SAVE',
  '    Save the current config to the ACL file.',
  'SETUSER <username> <attribute> [<attribute> ...]',
  '    Create or modify a user with the specified attributes.',
  'USERS',
  '    List all the registered usernames.',
  'WHOAMI',
  '    Return the current connection username.',
  'HELP',
  '    Prints this help.',
];

function syntaxError(m: MainCall, sub: string): void {
  m.out.error(`ERR unknown subcommand or wrong number of arguments for '${sub}'. Try ACL HELP.`);
}

function selectorFields(m: MainCall, s: Selector): void {
  m.out.bulkString('commands');
  m.out.bulkString(s.describeCommands());
  m.out.bulkString('keys');
  m.out.bulkString(s.describeKeys());
  m.out.bulkString('channels');
  m.out.bulkString(s.describeChannels());
}

function getuser(m: MainCall): void {
  const u = m.server.acl.user(argString(m.args, 2));
  const out = m.out;
  if (u === undefined) {
    out.nil();
    return;
  }
  out.map(6);
  out.bulkString('flags');
  const flags = u.flags();
  out.set(flags.length);
  for (const f of flags) out.bulkString(f);
  out.bulkString('passwords');
  out.array(u.passwords.length);
  for (const p of u.passwords) out.bulkString(p);
  selectorFields(m, u.root);
  out.bulkString('selectors');
  out.array(u.selectors.length);
  for (const s of u.selectors) {
    out.map(3);
    selectorFields(m, s);
  }
}

function cat(m: MainCall): void {
  const out = m.out;
  if (m.args.argc === 2) {
    out.array(ACL_CATEGORY_NAMES.length);
    for (const c of ACL_CATEGORY_NAMES) out.bulkString(c);
    return;
  }
  const name = argString(m.args, 2);
  const bit = categoryBit(name);
  if (bit === 0) {
    out.error(`ERR Unknown category '${name}'`);
    return;
  }
  const names: string[] = [];
  const walk = (c: AclCommand): void => {
    if ((c.categories & bit) !== 0) names.push(c.fullname);
    for (const s of c.subs) walk(s);
  };
  for (const c of m.server.acl.catalogue.commands) walk(c);
  out.array(names.length);
  for (const n of names) out.bulkString(n);
}

function genpass(m: MainCall): void {
  let bits = 256;
  if (m.args.argc === 3) {
    bits = argInt(m.args, 2);
    if (Number.isNaN(bits)) {
      m.out.error(ERR.notInteger);
      return;
    }
  }
  if (bits <= 0 || bits > 4096) {
    m.out.error('ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096');
    return;
  }
  const chars = Math.floor((bits + 3) / 4);
  m.out.bulkString(randomBytes(Math.ceil(chars / 2)).toString('hex').slice(0, chars));
}

function log(m: MainCall): void {
  const acl = m.server.acl;
  let count = 10;
  if (m.args.argc === 3) {
    if (argLower(m.args, 2) === 'reset') {
      acl.log.reset();
      m.out.ok();
      return;
    }
    count = argInt(m.args, 2);
    if (Number.isNaN(count) || count < 0) {
      m.out.error(count < 0 ? 'ERR value is out of range, must be positive' : ERR.notInteger);
      return;
    }
  }
  const entries = acl.log.entries.slice(0, count);
  const now = Date.now();
  const out = m.out;
  out.array(entries.length);
  for (const e of entries) {
    out.map(7);
    out.bulkString('count');
    out.integer(e.count);
    out.bulkString('reason');
    out.bulkString(e.reason);
    out.bulkString('context');
    out.bulkString(e.context);
    out.bulkString('object');
    out.bulkString(e.object);
    out.bulkString('username');
    out.bulkString(e.username);
    out.bulkString('age-seconds');
    out.double((now - e.ctimeMs) / 1000);
    out.bulkString('client-info');
    out.bulkString(e.clientInfo);
  }
}

function dryrun(m: MainCall): void {
  const a = m.args;
  const acl = m.server.acl;
  const name = argString(a, 2);
  const u = acl.user(name);
  if (u === undefined) {
    m.out.error(`ERR User '${name}' not found`);
    return;
  }
  const parts: Buffer[] = [];
  for (let i = 3; i < a.argc; i++) parts.push(Buffer.from(a.buf.subarray(a.off[i]!, a.off[i]! + a.len[i]!)));
  const sub = argListOf(parts);
  const want = argLower(a, 3);
  const idx = m.server.commands.findIndex((c) => c.name === want && c.hidden !== true);
  const cmd = idx < 0 ? null : acl.resolve(idx, sub);
  if (cmd === null) {
    m.out.error(`ERR Command '${argString(a, 3)}' not found`);
    return;
  }
  if (!arityOk(cmd.arity, sub.argc)) {
    m.out.error(ERR.wrongArity(cmd.fullname));
    return;
  }
  const d = acl.check(u, idx, sub);
  if (d === null) m.out.ok();
  else m.out.bulkString(dryrunText(d));
}

function aclCommand(m: MainCall): void {
  const a = m.args;
  const sub = argLower(a, 1);
  const acl = m.server.acl;
  const out = m.out;
  const v = m.server.config.values;
  switch (sub) {
    case 'setuser': {
      const rules: string[] = [];
      for (let i = 3; i < a.argc; i++) rules.push(argString(a, i));
      try {
        acl.setUser(argString(a, 2), rules);
        out.ok();
      } catch (e) {
        if (!(e instanceof AclRuleError)) throw e;
        out.error(`ERR ${e.message}`);
      }
      return;
    }
    case 'deluser': {
      const names: string[] = [];
      for (let i = 2; i < a.argc; i++) names.push(argString(a, i));
      if (names.includes('default')) {
        out.error("ERR The 'default' user cannot be removed");
        return;
      }
      out.integer(acl.deleteUsers(names));
      return;
    }
    case 'getuser':
      if (a.argc !== 3) break;
      getuser(m);
      return;
    case 'list':
    case 'users': {
      if (a.argc !== 2) break;
      const users = acl.sortedUsers();
      out.array(users.length);
      for (const u of users) out.bulkString(sub === 'users' ? u.name : `user ${u.name} ${u.describe()}`);
      return;
    }
    case 'whoami':
      if (a.argc !== 2) break;
      out.bulkString(m.conn.user.name);
      return;
    case 'cat':
      if (a.argc > 3) break;
      cat(m);
      return;
    case 'genpass':
      if (a.argc > 3) break;
      genpass(m);
      return;
    case 'log':
      if (a.argc > 3) break;
      log(m);
      return;
    case 'dryrun':
      dryrun(m);
      return;
    case 'save':
    case 'load': {
      if (a.argc !== 2) break;
      const file = aclfilePath(v.dir, v.aclfile);
      if (file === '') {
        out.error('ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.');
        return;
      }
      try {
        if (sub === 'save') saveAclFile(acl, file);
        else loadAclFile(acl, file);
        out.ok();
      } catch (e) {
        if (sub === 'save') out.error('ERR There was an error trying to save the ACLs. Please check the server logs for more information');
        else out.error(`ERR ${(e as Error).message}`);
      }
      return;
    }
    case 'help':
      if (a.argc !== 2) break;
      out.array(HELP.length);
      for (const l of HELP) out.simple(l);
      return;
    default:
      out.error(ERR.unknownSubcommand(argString(a, 1), 'ACL'));
      return;
  }
  syntaxError(m, argString(a, 1));
}

const S = 'server' as const;
const F = ['admin', 'noscript', 'loading', 'stale'] as const;

export const ACL_COMMANDS = [
  { name: 'acl', arity: -2, flags: [], keys: null, group: S, since: '6.0.0', summary: 'A container for Access List Control commands.', main: aclCommand,
    subcommands: [
      { name: 'cat', arity: -2, flags: ['noscript', 'loading', 'stale'], keys: null, summary: 'Lists the ACL categories, or the commands inside a category.' },
      { name: 'deluser', arity: -3, flags: F, keys: null, summary: 'Deletes ACL users, and terminates their connections.' },
      { name: 'dryrun', arity: -4, flags: F, keys: null, summary: 'Simulates the execution of a command by a user, without executing the command.' },
      { name: 'genpass', arity: -2, flags: ['noscript', 'loading', 'stale'], keys: null, summary: 'Generates a pseudorandom, secure password that can be used to identify ACL users.' },
      { name: 'getuser', arity: 3, flags: F, keys: null, summary: 'Lists the ACL rules of a user.' },
      { name: 'help', arity: 2, flags: ['loading', 'stale'], keys: null, summary: 'Returns helpful text about the different subcommands.' },
      { name: 'list', arity: 2, flags: F, keys: null, summary: 'Dumps the effective rules in ACL file format.' },
      { name: 'load', arity: 2, flags: F, keys: null, summary: 'Reloads the rules from the configured ACL file.' },
      { name: 'log', arity: -2, flags: F, keys: null, summary: 'Lists recent security events generated due to ACL rejections.' },
      { name: 'save', arity: 2, flags: F, keys: null, summary: 'Saves the effective ACL rules in the configured ACL file.' },
      { name: 'setuser', arity: -3, flags: F, keys: null, summary: 'Creates and modifies an ACL user and its rules.' },
      { name: 'users', arity: 2, flags: F, keys: null, summary: 'Lists all ACL users.' },
      { name: 'whoami', arity: 2, flags: ['noscript', 'loading', 'stale'], keys: null, summary: 'Returns the authenticated username of the current connection.' },
    ] },
] as const satisfies readonly CommandSpec[];
