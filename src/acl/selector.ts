// A selector: one set of permissions (commands by a bitmap over catalogue ids, first-argument
// exceptions, key patterns with read/write flags, channel patterns). A user has a root selector
// and any number of others; a command runs when one of them allows it wholly. Rule syntax and
// error texts are Redis 7.0's (acl.c ACLSetSelector).

import { ACL_CATEGORY_NAMES, PERM_ALL, PERM_READ, PERM_WRITE, type AclCatalogue, type AclCommand } from './catalogue.js';

/** How a pattern matches, decided once (the check runs per command): a literal, a literal
 * prefix then `*`, or a general glob. */
export const MATCH_GLOB = 0;
export const MATCH_PREFIX = 1;
export const MATCH_EXACT = 2;

export interface KeyPattern {
  readonly text: string;
  readonly bytes: Uint8Array;
  readonly match: number;
  perm: number;
}

export interface ChannelPattern {
  readonly text: string;
  readonly bytes: Uint8Array;
  readonly match: number;
  /** The whole text's bytes (PSUBSCRIBE compares a pattern with it literally). */
  readonly whole: Uint8Array;
}

function matchKind(text: string): number {
  const body = text.endsWith('*') ? text.slice(0, -1) : text;
  if (/[*?[\\]/.test(body) || text.length === 0) return MATCH_GLOB;
  return body.length === text.length ? MATCH_EXACT : MATCH_PREFIX;
}

/** A pattern's compiled form (also for patterns read back from bytes). */
export function compilePattern(text: string): { text: string; bytes: Uint8Array; match: number; whole: Uint8Array } {
  const match = matchKind(text);
  // A plain Uint8Array, not a Buffer: the check reads it beside the argument bytes, and one
  // element kind keeps those reads monomorphic.
  const whole = new Uint8Array(Buffer.from(text, 'latin1'));
  return { text, bytes: match === MATCH_PREFIX ? whole.subarray(0, whole.length - 1) : whole, match, whole };
}

/** Why a rule was refused: Redis's errno, turned into its text by ruleErrorText(). */
export class RuleError extends Error {
  constructor(readonly code: 'EINVAL' | 'ENOENT' | 'EEXIST' | 'EISDIR' | 'ECHILD' | 'EBADMSG' | 'EALREADY' | 'ENODEV') {
    super(code);
  }
}

export function ruleErrorText(e: RuleError): string {
  switch (e.code) {
    case 'ENOENT': return 'Unknown command or category name in ACL';
    case 'EINVAL': return 'Syntax error';
    case 'EEXIST': return "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns";
    case 'EISDIR': return "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels";
    case 'ENODEV': return 'The password you are trying to remove from the user does not exist';
    case 'EBADMSG': return 'The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters';
    case 'EALREADY': return 'Duplicate user found. A user can only be defined once in config files';
    case 'ECHILD': return 'Allowing first-arg of a subcommand is not supported';
  }
}

export class Selector {
  /** Bit per catalogue id, plus one past the last: "future commands" (set only by +@all). */
  bits: Uint32Array;
  /** Allowed first arguments of otherwise denied commands (`+select|0`), by command id. */
  firstArgs: Map<number, string[]> | null = null;
  allCommands = false;
  allKeys = false;
  allChannels = false;
  keys: KeyPattern[] = [];
  /** Index of the key pattern that allowed the last key (a search hint, not state). */
  lastKeyHit = 0;
  channels: ChannelPattern[] = [];

  constructor(readonly cat: AclCatalogue, readonly root: boolean) {
    this.bits = new Uint32Array(((cat.byId.length + 1) >>> 5) + 1);
  }

  get futureBit(): number {
    return this.cat.byId.length;
  }

  has(id: number): boolean {
    return (this.bits[id >>> 5]! & (1 << (id & 31))) !== 0;
  }

  setBit(id: number, on: boolean): void {
    if (on) this.bits[id >>> 5]! |= 1 << (id & 31);
    else this.bits[id >>> 5]! &= ~(1 << (id & 31));
  }

  clone(): Selector {
    const s = new Selector(this.cat, this.root);
    s.bits = this.bits.slice();
    s.firstArgs = this.firstArgs === null ? null : new Map([...this.firstArgs].map(([k, v]) => [k, [...v]]));
    s.allCommands = this.allCommands;
    s.allKeys = this.allKeys;
    s.allChannels = this.allChannels;
    s.keys = this.keys.map((k) => ({ ...k }));
    s.channels = [...this.channels];
    return s;
  }

  /** Redis's ACLChangeSelectorPerm: the command and, for a container, every subcommand. */
  changePerm(cmd: AclCommand, allow: boolean): void {
    this.setBit(cmd.id, allow);
    if (this.firstArgs?.delete(cmd.id) === true && this.firstArgs.size === 0) this.firstArgs = null;
    for (const s of cmd.subs) this.setBit(s.id, allow);
  }

  setCategory(mask: number, allow: boolean): void {
    for (const c of this.cat.commands) {
      if ((c.categories & mask) !== 0) this.changePerm(c, allow);
      for (const s of c.subs) if ((s.categories & mask) !== 0) this.changePerm(s, allow);
    }
  }

  setAll(allow: boolean): void {
    this.bits.fill(allow ? 0xffffffff : 0);
    this.allCommands = allow;
    this.firstArgs = null;
  }

  /** One rule (Redis's ACLSetSelector); throws RuleError. */
  apply(op: string): void {
    const lower = op.toLowerCase();
    if (lower === 'allkeys' || op === '~*') {
      this.allKeys = true;
      this.keys = [];
    } else if (lower === 'resetkeys') {
      this.allKeys = false;
      this.keys = [];
    } else if (lower === 'allchannels' || op === '&*') {
      this.allChannels = true;
      this.channels = [];
    } else if (lower === 'resetchannels') {
      this.allChannels = false;
      this.channels = [];
    } else if (lower === 'allcommands' || lower === '+@all') {
      this.setAll(true);
    } else if (lower === 'nocommands' || lower === '-@all') {
      this.setAll(false);
    } else if (op[0] === '~' || op[0] === '%') {
      this.addKeyPattern(op);
    } else if (op[0] === '&') {
      if (this.allChannels) throw new RuleError('EISDIR');
      const text = op.slice(1);
      if (!this.channels.some((c) => c.text === text)) this.channels.push(compilePattern(text));
    } else if ((op[0] === '+' || op[0] === '-') && op[1] === '@') {
      const i = (ACL_CATEGORY_NAMES as readonly string[]).indexOf(lower.slice(2));
      if (i < 0) throw new RuleError('ENOENT');
      this.setCategory(1 << i, op[0] === '+');
      if (op[0] === '-') this.allCommands = false;
    } else if (op[0] === '+') {
      this.allowCommand(lower.slice(1));
    } else if (op[0] === '-') {
      const cmd = this.cat.byName.get(lower.slice(1));
      if (cmd === undefined) throw new RuleError('ENOENT');
      this.changePerm(cmd, false);
      this.allCommands = false;
    } else {
      throw new RuleError('EINVAL');
    }
  }

  private addKeyPattern(op: string): void {
    if (this.allKeys) throw new RuleError('EEXIST');
    let perm = 0;
    let offset = 1;
    if (op[0] === '%') {
      for (; offset < op.length; offset++) {
        const ch = op[offset]!.toUpperCase();
        if (ch === 'R' && (perm & PERM_READ) === 0) perm |= PERM_READ;
        else if (ch === 'W' && (perm & PERM_WRITE) === 0) perm |= PERM_WRITE;
        else if (op[offset] === '~') {
          offset++;
          break;
        } else throw new RuleError('EINVAL');
      }
      // Redis accepts `%R` without `~` (an empty pattern), not a `~` without permissions.
      if (perm === 0) throw new RuleError('EINVAL');
    } else {
      perm = PERM_ALL;
    }
    const text = op.slice(offset);
    if (text === '*' && perm === PERM_ALL) {
      this.allKeys = true;
      this.keys = [];
      return;
    }
    const found = this.keys.find((k) => k.text === text);
    if (found) found.perm |= perm;
    else this.keys.push({ ...compilePattern(text), perm });
  }

  private allowCommand(name: string): void {
    const bar = name.indexOf('|');
    if (bar < 0) {
      const cmd = this.cat.byName.get(name);
      if (cmd === undefined) throw new RuleError('ENOENT');
      this.changePerm(cmd, true);
      return;
    }
    const parent = this.cat.byName.get(name.slice(0, bar));
    if (parent === undefined) throw new RuleError('ENOENT');
    if (parent.parent !== null) throw new RuleError('ECHILD');
    const sub = name.slice(bar + 1);
    if (sub.length === 0) throw new RuleError('EINVAL');
    if (parent.subs.length > 0) {
      const cmd = this.cat.byName.get(name);
      if (cmd === undefined) throw new RuleError('ENOENT');
      this.changePerm(cmd, true);
      return;
    }
    // `+select|0`: the deprecated first-argument exception of a command without subcommands.
    this.firstArgs ??= new Map();
    const list = this.firstArgs.get(parent.id) ?? [];
    if (!list.includes(sub)) list.push(sub);
    this.firstArgs.set(parent.id, list);
  }

  /** Commands and keys and channels as ACL LIST shows them (Redis's ACLDescribeSelector). */
  describe(): string {
    let r = '';
    if (this.allKeys) r += '~* ';
    else for (const k of this.keys) r += `${patternString(k)} `;
    if (this.allChannels) r += '&* ';
    else {
      r += 'resetchannels ';
      for (const c of this.channels) r += `&${c.text} `;
    }
    return r + this.describeCommands();
  }

  describeKeys(): string {
    return this.allKeys ? '~*' : this.keys.map(patternString).join(' ');
  }

  describeChannels(): string {
    return this.allChannels ? '&*' : this.channels.map((c) => `&${c.text}`).join(' ');
  }

  /** Redis 7.0's ACLDescribeSelectorCommandRules: +@all or -@all, then the best-fitting
   * categories one by one, then single commands that still differ, then first-arg rules. */
  describeCommands(): string {
    const additive = !this.has(this.futureBit);
    let rules = additive ? '-@all ' : '+@all ';
    const fake = new Selector(this.cat, false);
    fake.setAll(!additive);
    const temp = new Selector(this.cat, false);
    temp.bits = this.bits.slice();
    const applied = new Array<boolean>(ACL_CATEGORY_NAMES.length).fill(false);
    for (;;) {
      let best = -1;
      let mindiff = Number.MAX_SAFE_INTEGER;
      let maxsame = 0;
      for (let j = 0; j < ACL_CATEGORY_NAMES.length; j++) {
        if (applied[j]) continue;
        let on = 0;
        let off = 0;
        for (const c of this.cat.commands) {
          if ((c.categories & (1 << j)) === 0) continue;
          if (temp.has(c.id)) on++;
          else off++;
        }
        const diff = additive ? off : on;
        const same = additive ? on : off;
        if (same > diff && (diff < mindiff || (diff === mindiff && same > maxsame))) {
          best = j;
          mindiff = diff;
          maxsame = same;
        }
      }
      if (best < 0) break;
      fake.setCategory(1 << best, additive);
      temp.setCategory(1 << best, !additive);
      rules += `${additive ? '+@' : '-@'}${ACL_CATEGORY_NAMES[best]} `;
      applied[best] = true;
    }
    for (const c of this.cat.commands) {
      const u = this.has(c.id);
      if (u !== fake.has(c.id)) {
        rules += `${u ? '+' : '-'}${c.fullname} `;
        fake.changePerm(c, u);
      }
      for (const s of c.subs) {
        const su = this.has(s.id);
        if (su !== fake.has(s.id)) {
          rules += `${su ? '+' : '-'}${s.fullname} `;
          fake.changePerm(s, su);
        }
      }
    }
    if (this.firstArgs !== null) {
      for (const [id, args] of this.firstArgs) {
        for (const a of args) rules += `+${this.cat.byId[id]!.fullname}|${a} `;
      }
    }
    return rules.slice(0, -1);
  }
}

function patternString(k: KeyPattern): string {
  if (k.perm === PERM_ALL) return `~${k.text}`;
  return k.perm === PERM_READ ? `%R~${k.text}` : `%W~${k.text}`;
}
