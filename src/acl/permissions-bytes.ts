// A user's permissions as bytes, for a shard to check redis.call without the main thread's user
// table: the selectors' bitmaps (ids are the same in every thread: both build the catalogue from
// the same command table), key patterns with their flags, channels, first-arg exceptions.
// Format: UTF-8 JSON (built once per user change; a shard caches the parsed form).

import type { AclDenial } from '../core/acl.js';
import type { ArgList } from '../core/types.js';
import type { AclCatalogue } from './catalogue.js';
import { ACL_OK, checkSelectors, deniedArg } from './check.js';
import { Selector, compilePattern } from './selector.js';
import type { User } from './user.js';
import { denialOfBytes } from './denial.js';

let catalogue: AclCatalogue | null = null;

/** The catalogue permissionsFromBytes() resolves command ids against (the Acl's constructor sets
 * it on the main thread; a shard sets it once from the same command table). */
export function setPermissionsCatalogue(c: AclCatalogue): void {
  catalogue = c;
}

interface SelectorJson {
  b: string;
  ac: boolean;
  ak: boolean;
  ach: boolean;
  k: Array<[number, string]>;
  c: string[];
  f: Array<[number, string[]]>;
}

function selectorJson(s: Selector): SelectorJson {
  return {
    b: Buffer.from(s.bits.buffer, s.bits.byteOffset, s.bits.byteLength).toString('base64'),
    ac: s.allCommands,
    ak: s.allKeys,
    ach: s.allChannels,
    k: s.keys.map((k) => [k.perm, k.text]),
    c: s.channels.map((c) => c.text),
    f: s.firstArgs === null ? [] : [...s.firstArgs],
  };
}

export function serialisePermissions(user: User): Uint8Array {
  return Buffer.from(JSON.stringify({ r: selectorJson(user.root), s: user.selectors.map(selectorJson) }), 'utf8');
}

function selectorFrom(cat: AclCatalogue, j: SelectorJson, root: boolean): Selector {
  const s = new Selector(cat, root);
  const raw = Buffer.from(j.b, 'base64');
  s.bits.set(new Uint32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)).subarray(0, s.bits.length));
  s.allCommands = j.ac;
  s.allKeys = j.ak;
  s.allChannels = j.ach;
  s.keys = j.k.map(([perm, text]) => ({ ...compilePattern(text), perm }));
  s.channels = j.c.map((text) => compilePattern(text));
  s.firstArgs = j.f.length === 0 ? null : new Map(j.f);
  return s;
}

export interface Permissions {
  /** Same answer as Acl.check for the user these bytes describe. */
  check(cmdIdx: number, a: ArgList): AclDenial | null;
}

export function permissionsFromBytes(bytes: Uint8Array, cat: AclCatalogue | null = catalogue): Permissions {
  if (cat === null) throw new Error('permissionsFromBytes: no catalogue (call setPermissionsCatalogue first)');
  const j = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as { r: SelectorJson; s: SelectorJson[] };
  const root = selectorFrom(cat, j.r, true);
  const others = j.s.map((s) => selectorFrom(cat, s, false));
  return {
    check(cmdIdx: number, a: ArgList): AclDenial | null {
      const c = cat.byIndex[cmdIdx] ?? null;
      if (c === null) return null;
      let cmd = c;
      if (c.subs.length > 0 && a.argc >= 2) {
        const sub = Buffer.from(a.buf.subarray(a.off[1]!, a.off[1]! + a.len[1]!)).toString('latin1').toLowerCase();
        const found = cat.byName.get(`${c.fullname}|${sub}`);
        if (found === undefined) return null;
        cmd = found;
      }
      const r = checkSelectors(root, others, cmd, a);
      return r === ACL_OK ? null : denialOfBytes(r, cmd, a, deniedArg);
    },
  };
}
