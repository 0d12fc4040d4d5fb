// The node's users (Redis 7.0's ACL): the user table, SETUSER/DELUSER, authentication with a
// per-address login throttle, the command check, channel checks and ACL LOG. Users change only
// through these methods; every change is announced to onChange listeners. The check reads the
// user's selectors directly and allocates nothing for an allowed command.

import { timingSafeEqual } from 'node:crypto';
import type { AclApi, AclClientDescription, AclContext, AclDenial, AclUser } from '../core/acl.js';
import type { ArgList } from '../core/types.js';
import type { AclCatalogue, AclCommand } from './catalogue.js';
import { ACL_OK, channelAllowedIn, checkSelectors, deniedArg } from './check.js';
import { denialOfBytes as denialOf } from './denial.js';
export { dryrunText } from './denial.js';
import { AclLog } from './acl-log.js';
import { LoginThrottle, ipOf } from './login-throttle.js';
import { RuleError, ruleErrorText } from './selector.js';
import { User, mergeSelectorArgs, sha256Hex } from './user.js';
import { setPermissionsCatalogue } from './permissions-bytes.js';

/** A SETUSER (or config-file `user` line) refused: Redis's error text, without 'ERR '. */
export class AclRuleError extends Error {}

export class Acl implements AclApi {
  private readonly users = new Map<string, User>();
  /** Ids are never reused: a request already on its way to a shard when its user is deleted
   * must not be checked against the permissions of a user created after it (frames carry the id). */
  private nextId = 1;
  readonly defaultUser: User;
  readonly log = new AclLog();
  readonly throttle = new LoginThrottle();
  /** Refusals by kind (INFO stats acl_access_denied_*, Redis 7.2's names). */
  readonly denied = { auth: 0, command: 0, key: 0, channel: 0 };
  private readonly listeners: Array<(user: AclUser, deleted: boolean) => void> = [];

  constructor(readonly catalogue: AclCatalogue) {
    setPermissionsCatalogue(catalogue);
    this.defaultUser = this.makeDefault();
    this.users.set('default', this.defaultUser);
  }

  private makeDefault(): User {
    const u = new User('default', 0, this.catalogue);
    for (const r of ['on', 'nopass', '~*', '&*', '+@all']) u.apply(r);
    return u;
  }

  get defaultNeedsAuth(): boolean {
    return !(this.defaultUser.enabled && this.defaultUser.nopass);
  }

  user(name: string): User | undefined {
    return this.users.get(name);
  }

  /** Users by name, sorted (ACL USERS, ACL LIST). */
  sortedUsers(): User[] {
    return [...this.users.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Applies rules to user `name` (created when missing) all or nothing. Throws AclRuleError. */
  setUser(name: string, rules: readonly string[]): User {
    if (/[ \0]/.test(name)) throw new AclRuleError("Usernames can't contain spaces or null characters");
    const merged = mergeSelectorArgs(rules);
    if (!Array.isArray(merged)) throw new AclRuleError(`Unmatched parenthesis in acl selector starting at '${merged.unmatched}'.`);
    const existing = this.users.get(name);
    const scratch = existing ? existing.clone() : new User(name, -1, this.catalogue);
    for (const r of merged) {
      try {
        scratch.apply(r);
      } catch (e) {
        if (e instanceof RuleError) throw new AclRuleError(`Error in ACL SETUSER modifier '${r}': ${ruleErrorText(e)}`);
        throw e;
      }
    }
    let u = existing;
    if (u === undefined) {
      u = new User(name, this.nextId++, this.catalogue);
      this.users.set(name, u);
    }
    u.assign(scratch);
    for (const l of this.listeners) l(u, false);
    return u;
  }

  /** Deletes users (not `default`); returns how many existed. */
  deleteUsers(names: readonly string[]): number {
    let n = 0;
    for (const name of names) {
      const u = this.users.get(name);
      if (u === undefined) continue;
      this.users.delete(name);
      n++;
      for (const l of this.listeners) l(u, true);
    }
    return n;
  }

  /** Replaces every user at once (ACL LOAD, the config file): entries of [name, rules]. The
   * default user is reset to its defaults first unless named. Throws AclRuleError, changing nothing. */
  replaceAll(defs: ReadonlyArray<readonly [string, readonly string[]]>): void {
    const fresh = new Acl(this.catalogue);
    const seen = new Set<string>();
    for (const [name, rules] of defs) {
      if (seen.has(name)) throw new AclRuleError(`Duplicate user '${name}' found`);
      seen.add(name);
      if (name === 'default') fresh.defaultUser.apply('reset');
      fresh.setUser(name, rules);
    }
    const old = new Map(this.users);
    for (const name of old.keys()) {
      if (name === 'default') continue;
      // Every user but `default` is replaced, as redis-server 7.0 frees them all: announced as
      // deleted, so that their clients are disconnected even when the file names them again.
      this.deleteUsers([name]);
    }
    for (const [name, nu] of fresh.users) {
      let u = this.users.get(name);
      if (u === undefined) {
        u = new User(name, this.nextId++, this.catalogue);
        this.users.set(name, u);
      }
      u.assign(nu.clone(u.id, name));
      for (const l of this.listeners) l(u, false);
    }
  }

  authenticate(name: string, pass: string, client: AclClientDescription): AclUser | null {
    const ip = ipOf(client.addr);
    if (this.throttle.blocked(ip)) {
      this.denied.auth++;
      this.log.add('auth', 'toplevel', 'auth', name, client.describe());
      return null;
    }
    const u = this.users.get(name);
    if (u !== undefined && u.enabled && this.passwordMatches(u, pass)) {
      this.throttle.succeeded(ip);
      return u;
    }
    this.throttle.failed(ip);
    this.denied.auth++;
    this.log.add('auth', 'toplevel', 'auth', name, client.describe());
    return null;
  }

  private passwordMatches(u: User, pass: string): boolean {
    if (u.nopass) return true;
    const got = Buffer.from(sha256Hex(Buffer.from(pass, 'latin1')), 'latin1');
    let ok = false;
    for (const p of u.passwords) if (timingSafeEqual(got, Buffer.from(p, 'latin1'))) ok = true;
    return ok;
  }

  /** The command for a table index and its arguments, the subcommand resolved; null if unknown. */
  resolve(cmdIdx: number, a: ArgList): AclCommand | null {
    const c = this.catalogue.byIndex[cmdIdx] ?? null;
    if (c === null || c.subs.length === 0 || a.argc < 2) return c;
    return findSub(c, a);
  }

  check(user: AclUser, cmdIdx: number, a: ArgList): AclDenial | null {
    const u = user as User;
    const cmd = this.resolve(cmdIdx, a);
    if (cmd === null) return null;
    const r = checkSelectors(u.root, u.selectors, cmd, a);
    return r === ACL_OK ? null : denialOf(r, cmd, a, deniedArg);
  }

  channelAllowed(user: AclUser, channel: Uint8Array, pattern: boolean): boolean {
    const u = user as User;
    if (channelAllowedIn(u.root, channel, 0, channel.length, pattern)) return true;
    for (const s of u.selectors) if (channelAllowedIn(s, channel, 0, channel.length, pattern)) return true;
    return false;
  }

  logDenial(client: AclClientDescription, user: AclUser, denial: AclDenial, context: AclContext): void {
    this.denied[denial.reason]++;
    this.log.add(denial.reason, context, denial.object, user.name, client.describe());
  }

  onChange(listener: (user: AclUser, deleted: boolean) => void): void {
    this.listeners.push(listener);
  }

  /** requirepass as Redis 7 maps it: the default user's only password (empty: nopass). */
  setRequirepass(pass: string): void {
    this.setUser('default', pass === '' ? ['nopass'] : ['resetpass', `>${pass}`]);
  }
}

function findSub(c: AclCommand, a: ArgList): AclCommand | null {
  const off = a.off[1]!;
  const len = a.len[1]!;
  for (const s of c.subs) {
    const name = s.fullname;
    const base = c.fullname.length + 1;
    if (name.length - base !== len) continue;
    let k = 0;
    for (; k < len; k++) {
      let ch = a.buf[off + k]!;
      if (ch >= 65 && ch <= 90) ch += 32;
      if (ch !== name.charCodeAt(base + k)) break;
    }
    if (k === len) return s;
  }
  return null;
}

