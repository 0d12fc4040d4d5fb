// What a change of an ACL user does to the clients logged in as that user, as redis-server 7.0
// does it (checked against 7.0.15): a deleted user's clients are disconnected (ACL DELUSER, and
// ACL LOAD for every user but `default`); a user whose channel rules no longer allow one of a
// subscriber's channels, patterns or shard channels has that subscriber disconnected. Turning a
// user `off`, or changing its passwords, commands or keys, leaves its open clients connected.

import type { AclApi, AclUser } from '../core/acl.js';
import type { ClientInfo } from '../core/types.js';

/** The server as the listener needs it. */
export interface AclClientsHost {
  readonly acl: AclApi;
  clients(): Iterable<ClientInfo>;
}

/** The `acl.onChange` listener of a server: disconnects what Redis disconnects. */
export function aclChangeListener(host: AclClientsHost): (user: AclUser, deleted: boolean) => void {
  return (user, deleted) => {
    // Collected first: killing a client may remove it from the set being iterated.
    const doomed: ClientInfo[] = [];
    for (const c of host.clients()) {
      if (c.user.name !== user.name) continue;
      if (deleted || !subscriptionsAllowed(host.acl, user, c)) doomed.push(c);
    }
    // Closed after the replies they are owed: the client that ran the change (ACL DELUSER of its
    // own user) gets its reply first, as Redis closes it after the command. Any still open after
    // this turn (one waiting in a blocking command) is closed then.
    if (doomed.length === 0) return;
    for (const c of doomed) c.closeAfterReply();
    setImmediate(() => {
      for (const c of doomed) c.kill();
    });
  };
}

/** Every channel, pattern and shard channel c subscribes to is still allowed to `user`. A pattern
 * is allowed only by an identical pattern rule or allchannels (Redis compares patterns literally). */
function subscriptionsAllowed(acl: AclApi, user: AclUser, c: ClientInfo): boolean {
  const s = c.subscriptions;
  if (s.channels.size === 0 && s.patterns.size === 0 && s.shardChannels.size === 0) return true;
  for (const ch of s.channels) if (!acl.channelAllowed(user, Buffer.from(ch, 'latin1'), false)) return false;
  for (const ch of s.shardChannels) if (!acl.channelAllowed(user, Buffer.from(ch, 'latin1'), false)) return false;
  for (const p of s.patterns) if (!acl.channelAllowed(user, Buffer.from(p, 'latin1'), true)) return false;
  return true;
}
