// An ACL user: name, on/off, SHA-256 password hashes, the root selector and further selectors,
// Tessera's per-user limits. Changed only through setRules (Redis's ACLSetUser rule by rule, with
// its error texts); describe() is ACL LIST's line, in Redis 7.0's order.

import { createHash } from 'node:crypto';
import type { AclUser, UserLimits } from '../core/acl.js';
import type { AclCatalogue } from './catalogue.js';
import { RuleError, Selector } from './selector.js';

export function sha256Hex(pass: string | Uint8Array): string {
  return createHash('sha256').update(pass).digest('hex');
}

const HEX64 = /^[0-9a-f]{64}$/;
const LIMIT_RULE = /^(ops-per-sec|bytes-per-sec|maxclients)=(\d{1,15})$/i;

export class User implements AclUser {
  enabled = false;
  nopass = false;
  /** 'sanitize-payload' / 'skip-sanitize-payload' as last set (null: neither shown). */
  sanitize: 'sanitize-payload' | 'skip-sanitize-payload' | null = null;
  passwords: string[] = [];
  root: Selector;
  selectors: Selector[] = [];
  limits: UserLimits = { opsPerSec: 0, bytesPerSec: 0, maxClients: 0 };
  /** Bumped on every change (the serialised permissions a shard holds are keyed by it). */
  version = 0;

  constructor(
    readonly name: string,
    readonly id: number,
    readonly cat: AclCatalogue,
  ) {
    this.root = new Selector(cat, true);
  }

  get unrestricted(): boolean {
    const r = this.root;
    return r.allCommands && r.allKeys && r.allChannels;
  }

  clone(id = this.id, name = this.name): User {
    const u = new User(name, id, this.cat);
    u.enabled = this.enabled;
    u.nopass = this.nopass;
    u.sanitize = this.sanitize;
    u.passwords = [...this.passwords];
    u.root = this.root.clone();
    u.selectors = this.selectors.map((s) => s.clone());
    u.limits = { ...this.limits };
    u.version = this.version;
    return u;
  }

  /** Copies another user's state into this one (a SETUSER applied to a scratch copy first). */
  assign(from: User): void {
    this.enabled = from.enabled;
    this.nopass = from.nopass;
    this.sanitize = from.sanitize;
    this.passwords = from.passwords;
    this.root = from.root;
    this.selectors = from.selectors;
    this.limits = from.limits;
    this.version++;
  }

  /** One rule; throws RuleError. A selector rule `(...)` arrives whole, parentheses included. */
  apply(op: string): void {
    const lower = op.toLowerCase();
    if (lower === 'on') this.enabled = true;
    else if (lower === 'off') this.enabled = false;
    else if (lower === 'skip-sanitize-payload' || lower === 'sanitize-payload') this.sanitize = lower;
    else if (lower === 'nopass') {
      this.nopass = true;
      this.passwords = [];
    } else if (lower === 'resetpass') {
      this.nopass = false;
      this.passwords = [];
    } else if (op[0] === '>' || op[0] === '#') {
      let hash: string;
      if (op[0] === '>') hash = sha256Hex(Buffer.from(op.slice(1), 'latin1'));
      else {
        hash = op.slice(1);
        if (!HEX64.test(hash)) throw new RuleError('EBADMSG');
      }
      if (!this.passwords.includes(hash)) this.passwords.push(hash);
      this.nopass = false;
    } else if (op[0] === '<' || op[0] === '!') {
      let hash: string;
      if (op[0] === '<') hash = sha256Hex(Buffer.from(op.slice(1), 'latin1'));
      else {
        hash = op.slice(1);
        if (!HEX64.test(hash)) throw new RuleError('EBADMSG');
      }
      const i = this.passwords.indexOf(hash);
      if (i < 0) throw new RuleError('ENODEV');
      this.passwords.splice(i, 1);
    } else if (op[0] === '(' && op[op.length - 1] === ')') {
      const s = new Selector(this.cat, false);
      for (const part of op.slice(1, -1).split(' ')) if (part.length > 0) s.apply(part);
      this.selectors.push(s);
    } else if (lower === 'clearselectors') {
      this.selectors = [];
    } else if (lower === 'reset') {
      this.passwords = [];
      this.nopass = false;
      this.root.apply('resetkeys');
      this.root.apply('resetchannels');
      this.enabled = false;
      this.sanitize = 'sanitize-payload';
      this.selectors = [];
      this.root.apply('-@all');
      this.limits = { opsPerSec: 0, bytesPerSec: 0, maxClients: 0 };
    } else {
      const m = LIMIT_RULE.exec(op);
      if (m !== null) {
        const n = Number(m[2]);
        const k = m[1]!.toLowerCase();
        this.limits = {
          opsPerSec: k === 'ops-per-sec' ? n : this.limits.opsPerSec,
          bytesPerSec: k === 'bytes-per-sec' ? n : this.limits.bytesPerSec,
          maxClients: k === 'maxclients' ? n : this.limits.maxClients,
        };
      } else this.root.apply(op);
    }
  }

  /** ACL LIST's description after "user <name> " (Redis's ACLDescribeUser), then Tessera's
   * non-zero limits. */
  describe(): string {
    let r = this.enabled ? 'on ' : 'off ';
    if (this.nopass) r += 'nopass ';
    if (this.sanitize !== null) r += `${this.sanitize} `;
    for (const p of this.passwords) r += `#${p} `;
    r += this.root.describe();
    for (const s of this.selectors) r += ` (${s.describe()})`;
    const l = this.limitRules();
    return l.length > 0 ? `${r} ${l.join(' ')}` : r;
  }

  flags(): string[] {
    const f = [this.enabled ? 'on' : 'off'];
    if (this.nopass) f.push('nopass');
    if (this.sanitize !== null) f.push(this.sanitize);
    return f;
  }

  limitRules(): string[] {
    const l: string[] = [];
    if (this.limits.opsPerSec > 0) l.push(`ops-per-sec=${this.limits.opsPerSec}`);
    if (this.limits.bytesPerSec > 0) l.push(`bytes-per-sec=${this.limits.bytesPerSec}`);
    if (this.limits.maxClients > 0) l.push(`maxclients=${this.limits.maxClients}`);
    return l;
  }
}

/** Redis's ACLMergeSelectorArguments: arguments from one starting with '(' to one ending with
 * ')' become one rule. Returns the rules, or the index of the argument whose '(' is unmatched. */
export function mergeSelectorArgs(args: readonly string[]): string[] | { unmatched: string } {
  const out: string[] = [];
  let open: string | null = null;
  let first = '';
  for (const a of args) {
    if (open !== null) {
      open += ` ${a}`;
      if (a.endsWith(')')) {
        out.push(open);
        open = null;
      }
    } else if (a.startsWith('(') && !a.endsWith(')')) {
      open = a;
      first = a;
    }
    else out.push(a);
  }
  if (open !== null) return { unmatched: first };
  return out;
}
