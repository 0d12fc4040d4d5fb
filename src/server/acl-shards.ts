// Keeps the shards' copies of the restricted users' permissions (commands/script-acl.ts) in step
// with the ACL, for the redis.call checks of scripts run in a shard, and logs the denials those
// checks report. Permissions travel as `__aclperms` frames through each shard's request ring, so
// a command sent after an ACL change is checked against the change; a restarted shard gets them
// all again. Invariant: `sent` holds exactly the user slots whose permissions the shards hold.

import type { AclApi, AclUser } from '../core/acl.js';
import type { ClientInfo } from '../core/types.js';
import { aclClient, denialReasonOf, scriptDenialError } from '../commands/script-acl.js';
import type { ReplySink } from '../runtime/shard-port.js';

/** The server as this module needs it. */
export interface AclShardsHost {
  readonly acl: AclApi;
  readonly shardCount: number;
  callShard(shard: number, args: ReadonlyArray<Uint8Array | string>, proto: 2 | 3): Promise<Buffer>;
}

export class AclShards {
  /** User slot (id + 1) -> the bytes the shards hold for it. */
  private readonly sent = new Map<number, Uint8Array>();

  constructor(
    private readonly host: AclShardsHost,
    private readonly serialise: (user: AclUser) => Uint8Array,
  ) {}

  /** The `acl.onChange` side: a restricted user's permissions go to every shard; a deleted or
   * now unrestricted user's are dropped there. */
  changed(user: AclUser, deleted: boolean): void {
    const slot = user.id + 1;
    if (deleted || user.unrestricted) {
      if (!this.sent.delete(slot)) return;
      this.toAll(['__aclperms', String(slot)]);
      return;
    }
    const bytes = this.serialise(user);
    this.sent.set(slot, bytes);
    this.toAll(['__aclperms', String(slot), bytes]);
  }

  /** Every user known at start (config `user` lines, aclfile), before any client. */
  syncAll(users: Iterable<AclUser>): void {
    for (const u of users) if (!u.unrestricted) this.changed(u, false);
  }

  /** A restarted shard starts with no permissions: it gets them all again. */
  shardRestarted(shard: number): void {
    for (const [slot, bytes] of this.sent) this.send(shard, ['__aclperms', String(slot), bytes]);
  }

  /** A PUBLISH_ACL_DENIAL record from a shard: logged for the client whose script it was. */
  denied(from: ReplySink | null, object: Uint8Array, message: Uint8Array): void {
    const client = from === null ? null : isClient(from) ? from : (from as { readonly client?: ClientInfo }).client ?? null;
    if (client === null) return;
    const reason = denialReasonOf(message);
    const text = Buffer.from(object).toString('latin1');
    this.host.acl.logDenial(aclClient(client), client.user, { reason, object: text, error: scriptDenialError(reason) }, 'lua');
  }

  private toAll(args: ReadonlyArray<Uint8Array | string>): void {
    for (let s = 0; s < this.host.shardCount; s++) this.send(s, args);
  }

  private send(shard: number, args: ReadonlyArray<Uint8Array | string>): void {
    // A shard that is restarting gets them again from shardRestarted.
    this.host.callShard(shard, args, 2).catch(() => undefined);
  }
}

/** A client's own sink (a connection), not a fan-out's or an internal call's. */
function isClient(sink: ReplySink): sink is ReplySink & ClientInfo {
  const c = sink as Partial<ClientInfo>;
  return c.user !== undefined && c.subscriptions !== undefined && typeof c.addr === 'string';
}
