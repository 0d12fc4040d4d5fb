// ACL for scripts that run inside a shard: the shard's copy of each restricted user's permissions
// (sent by the main thread as `__aclperms` frames through the request ring, so that a command sent
// after an ACL change sees the change), looked up by the user slot of the running request
// (frames.ts REQ_USER; 0 = a user who may run everything: nothing is looked up). A denied call
// goes back to the main thread's ACL LOG as a publish record (PUBLISH_ACL_DENIAL) after the script's
// reply. Invariant: slot s holds the permissions of the user whose id is s - 1, or nothing.

import type { AclClientDescription, AclDenial, AclDenialReason } from '../core/acl.js';
import { ACL_PATH_ERR } from '../core/errors.js';
import { PUBLISH_ACL_DENIAL } from '../runtime/publish-queue.js';
import type { ArgList, ClientInfo, CommandSpec, ShardContext } from './types.js';
import { clientLine } from './connection-family.js';
import { aclCatalogue } from './acl-catalogue.js';
import type { AclCatalogue } from '../acl/catalogue.js';
import { permissionsFromBytes } from '../acl/permissions-bytes.js';

/** What the shard keeps of one user: the same check as the main thread's Acl.check. */
export interface UserPermissions {
  check(cmdIdx: number, a: ArgList): AclDenial | null;
}

/** The command table (bound by the registry through bindScriptCommands) and the ACL's view of
 * it, built on the first user's permissions (ids must match the main thread's: same table). */
let commands: readonly CommandSpec[] = [];
let catalogue: AclCatalogue | null = null;

export function bindAclCommands(table: readonly CommandSpec[]): void {
  commands = table;
  catalogue = null;
}

/** By user slot (AclUser.id + 1; ids are never reused, so a slot never names another user). */
const slots = new Map<number, UserPermissions>();

/** Denies everything: a slot the shard has no permissions for (cannot happen while the main
 * thread sends every restricted user's permissions before the user's first command). */
const DENY_ALL: UserPermissions = {
  check: (_idx, a) => ({ reason: 'command', object: Buffer.from(a.buf.subarray(a.off[0]!, a.off[0]! + a.len[0]!)).toString('latin1').toLowerCase(), error: '' }),
};

/** The permissions of the request's user, or null when nothing is to be checked. */
export function permissionsOfSlot(slot: number): UserPermissions | null {
  if (slot === 0) return null;
  return slots.get(slot) ?? DENY_ALL;
}

/** The script error a denied redis.call answers, as Redis 7.0 words it. */
export function scriptDenialError(reason: AclDenialReason): string {
  return reason === 'command' ? ACL_PATH_ERR.scriptCommand : reason === 'key' ? ACL_PATH_ERR.scriptKey : ACL_PATH_ERR.scriptChannel;
}

const REASONS: readonly AclDenialReason[] = ['command', 'key', 'channel'];
const reasonByte = new Uint8Array(1);

/** Queues the denial for the main thread's ACL LOG (context lua), after the script's reply. */
export function reportDenial(c: ShardContext, d: AclDenial): void {
  reasonByte[0] = REASONS.indexOf(d.reason);
  c.publish(Buffer.from(d.object, 'latin1'), reasonByte, PUBLISH_ACL_DENIAL);
}

/** A client as ACL LOG records it (its CLIENT LIST line, made only when an entry is written). */
export function aclClient(conn: ClientInfo): AclClientDescription {
  return { addr: conn.addr, describe: () => clientLine(conn, Date.now()) };
}

/** The main thread's side of reportDenial: the reason of a denial record. */
export function denialReasonOf(message: Uint8Array): AclDenialReason {
  return REASONS[message[0] ?? 0] ?? 'command';
}

/** __aclperms slot [bytes]: the permissions of the user in `slot`; without bytes the slot is
 * emptied (the user was deleted or may now run everything). */
function shardAclPerms(c: ShardContext): void {
  const a = c.args;
  const slot = Number(Buffer.from(a.buf.subarray(a.off[1]!, a.off[1]! + a.len[1]!)).toString('latin1'));
  // REQ_USER is a 32-bit word.
  if (!Number.isInteger(slot) || slot <= 0 || slot > 0xffffffff) return c.out.error('ERR invalid user slot');
  if (a.argc < 3) {
    slots.delete(slot);
    return c.out.ok();
  }
  catalogue ??= aclCatalogue(commands);
  const bytes = a.buf.slice(a.off[2]!, a.off[2]! + a.len[2]!);
  slots.set(slot, permissionsFromBytes(bytes, catalogue));
  c.out.ok();
}

export const SCRIPT_ACL_COMMANDS = [
  { name: '__aclperms', arity: -2, flags: [], keys: null, group: 'internal', since: '0.1.0', summary: 'Internal: an ACL user\'s permissions, for the redis.call checks of scripts run in this shard.', shard: shardAclPerms, hidden: true },
] as const satisfies readonly CommandSpec[];
