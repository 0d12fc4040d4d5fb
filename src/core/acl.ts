// What the rest of the server sees of the ACL (src/acl/ implements it): a user as an identity with
// a few traits, one permission check per command, channel checks, authentication and the log.
// Kept at the bottom layer so that the client record (ClientInfo), every front door and the
// shards can speak of users without importing the ACL's rule machinery.

import type { AclUser, ArgList } from './types.js';

// The user's identity lives beside ClientInfo (types.ts), which names it: no import circle.
export type { AclUser, UserLimits } from './types.js';

export type AclDenialReason = 'command' | 'key' | 'channel';

export interface AclDenial {
  readonly reason: AclDenialReason;
  /** ACL LOG's `object`: the command's full name ('config|set'), the key or the channel. */
  readonly object: string;
  /** The reply, Redis's text: "NOPERM this user has no permissions to run the 'x' command" etc. */
  readonly error: string;
}

/** Where a denied command was called from (ACL LOG's `context`). */
export type AclContext = 'toplevel' | 'multi' | 'lua';

/** What ACL LOG records of a client (Redis's `client-info` is built from it). */
export interface AclClientDescription {
  /** The CLIENT LIST line of the client, or a door's own description. */
  describe(): string;
  /** "ip:port" of the peer (the login throttle keys on the ip). */
  readonly addr: string;
}

export interface AclApi {
  readonly defaultUser: AclUser;
  /** True when a new client must authenticate (the default user is off or has no `nopass`). */
  readonly defaultNeedsAuth: boolean;
  /** The user `name` with `pass` logs in as, or null (wrong password, unknown or disabled user,
   * or the address is throttled after repeated failures). Timing-safe. A failure is recorded in
   * ACL LOG (reason auth, the client's context). */
  authenticate(name: string, pass: string, client: AclClientDescription): AclUser | null;
  /** The command at table index `cmdIdx` with arguments `a` (argument 0 is the command name): null
   * when `user` may run it, else why not. Allocates nothing for an allowed command. */
  check(user: AclUser, cmdIdx: number, a: ArgList): AclDenial | null;
  /** A channel (or, with `pattern`, a pattern as PSUBSCRIBE gives it) `user` may use. */
  channelAllowed(user: AclUser, channel: Uint8Array, pattern: boolean): boolean;
  /** Records a denial in ACL LOG. */
  logDenial(client: AclClientDescription, user: AclUser, denial: AclDenial, context: AclContext): void;
  /** Called after a user changes (SETUSER, DELUSER, LOAD): the server disconnects clients of a
   * deleted or disabled user and subscribers to channels no longer allowed. */
  onChange(listener: (user: AclUser, deleted: boolean) => void): void;
}
