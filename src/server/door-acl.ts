// The ACL on the memcached and HTTP doors: each request is checked as the Redis command it
// amounts to (memcached get -> GET, set -> SET, ...; HTTP PUT -> SET), with its key, by the same
// acl.check the RESP dispatcher calls, so a user has the same permissions on every door.
// The memcached path allocates nothing for an allowed request: the checked argument list is a
// module-level scratch (command name, key, a placeholder value) filled in place per request.

import type { AclApi, AclDenial, AclUser, AclClientDescription } from '../core/acl.js';
import type { ArgList } from '../core/types.js';
import { commandIndex } from '../commands/registry.js';
import { argListOf } from '../commands/args.js';
import { H_MAGIC, H_OPCODE, OP } from '../protocol/memcache.js';
import { MODE_META, META_ARITH, META_DEBUG, META_DELETE, META_GET, META_SET } from '../commands/memcache-family.js';

/** A Redis command as a door checks it: its table index and its name (argument 0). */
interface Checked {
  readonly idx: number;
  readonly name: Buffer;
  /** Arguments after the key (placeholders that give the command its arity). */
  readonly tail: Buffer;
}

function checked(name: string, tail: string): Checked {
  const idx = commandIndex(name.toLowerCase());
  if (idx < 0) throw new Error(`door-acl: no command ${name} in the table`);
  return { idx, name: Buffer.from(name, 'latin1'), tail: Buffer.from(tail, 'latin1') };
}

export const AS_GET = checked('GET', '');
export const AS_SET = checked('SET', '0');
export const AS_APPEND = checked('APPEND', '0');
export const AS_INCRBY = checked('INCRBY', '1');
export const AS_DECRBY = checked('DECRBY', '1');
export const AS_DEL = checked('DEL', '');
export const AS_EXPIRE = checked('EXPIRE', '0');
/** Get-and-touch changes the TTL: checked as GETEX (a write, as Redis counts it), so that a
 * read-only user cannot change expiry times through the memcached door. */
export const AS_GETEX = checked('GETEX', '');
export const AS_FLUSHALL = checked('FLUSHALL', '');
export const AS_INFO = checked('INFO', '');

/** The Redis command a keyed memcached request amounts to, from its 24-byte header at args[1]
 * (a binary request's own, or the synthetic one of a text or meta request). */
export function memcacheChecked(args: ArgList): Checked {
  const h = args.off[1]!;
  const op = args.buf[h + H_OPCODE]!;
  if (args.buf[h + H_MAGIC] === MODE_META) {
    switch (op) {
      case META_GET:
      case META_DEBUG:
        return AS_GET;
      case META_SET:
        return AS_SET;
      case META_DELETE:
        return AS_DEL;
      case META_ARITH:
        return AS_INCRBY;
      default:
        return AS_SET;
    }
  }
  switch (op) {
    case OP.GET:
    case OP.GETQ:
    case OP.GETK:
    case OP.GETKQ:
      return AS_GET;
    case OP.APPEND:
    case OP.APPENDQ:
    case OP.PREPEND:
    case OP.PREPENDQ:
      return AS_APPEND;
    case OP.INCREMENT:
    case OP.INCREMENTQ:
      return AS_INCRBY;
    case OP.DECREMENT:
    case OP.DECREMENTQ:
      return AS_DECRBY;
    case OP.DELETE:
    case OP.DELETEQ:
      return AS_DEL;
    case OP.TOUCH:
      return AS_EXPIRE;
    case OP.GAT:
    case OP.GATQ:
    case OP.GATK:
    case OP.GATKQ:
      return AS_GETEX;
    default:
      // SET, ADD, REPLACE and their quiet forms; anything else that reaches a shard writes.
      return AS_SET;
  }
}

/** Longest key the scratch holds (memcached's keys are at most 250 bytes). */
const SCRATCH_KEY_MAX = 1024;
const scratch: ArgList = { buf: Buffer.allocUnsafe(16 + SCRATCH_KEY_MAX + 16), off: new Int32Array(3), len: new Int32Array(3), argc: 0 };

/** Checks `user` running `cmd` on the key at (buf, off, len), or with no key when len < 0; logs
 * a denial in ACL LOG (context toplevel) and returns it. null: allowed (or unrestricted). */
export function doorCheck(
  acl: AclApi, user: AclUser, client: AclClientDescription, cmd: Checked,
  buf: Uint8Array | null, off: number, len: number,
): AclDenial | null {
  if (user.unrestricted) return null;
  let a: ArgList;
  if (buf !== null && len > SCRATCH_KEY_MAX) {
    // Longer than any memcached key: an HTTP key; allocating here is the exception.
    const parts: Uint8Array[] = [cmd.name, buf.subarray(off, off + len)];
    if (cmd.tail.length > 0) parts.push(cmd.tail);
    a = argListOf(parts);
  } else {
    a = scratch;
    const b = scratch.buf as Buffer;
    let p = 0;
    let n = 0;
    b.set(cmd.name, 0);
    scratch.off[n] = 0;
    scratch.len[n++] = cmd.name.length;
    p = cmd.name.length;
    if (buf !== null && len >= 0) {
      b.set(buf.subarray(off, off + len), p);
      scratch.off[n] = p;
      scratch.len[n++] = len;
      p += len;
      if (cmd.tail.length > 0) {
        b.set(cmd.tail, p);
        scratch.off[n] = p;
        scratch.len[n++] = cmd.tail.length;
      }
    }
    scratch.argc = n;
  }
  const denial = acl.check(user, cmd.idx, a);
  if (denial !== null) acl.logDenial(client, user, denial, 'toplevel');
  return denial;
}

/** Kept current on a door's clients: after an ACL change, a client of a deleted or disabled user
 * is closed (Redis closes them too), and one of a changed user sees the user's new state. */
export interface DoorClient {
  user: AclUser;
  kill(): void;
}

export function followUserChanges(user: AclUser, deleted: boolean, clients: Iterable<DoorClient>): void {
  for (const c of clients) {
    if (c.user.name !== user.name) continue;
    if (deleted || !user.enabled) c.kill();
    else c.user = user;
  }
}
