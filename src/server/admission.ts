// Admission: the checks every request passes before it runs, whichever front door it came
// through (RESP, memcached, HTTP), in one order: loading, authentication, the client pause
// (CLIENT PAUSE WRITE|ALL and the failover's write pause: client-pause.ts), then the write gates (read-only replica, min-replicas-to-write). Out-of-memory is
// decided where the memory is, in the shard, for every door alike; cluster ownership (MOVED,
// ASK, forwarding) follows admission, in the cluster routing of each door.
// A pure function of (client, command, node state): no main-thread globals, so that it can run
// wherever parsing runs.

import { ERR } from '../core/errors.js';

/** What admission needs of a client. */
export interface AdmissionClient {
  readonly authenticated: boolean;
  /** A replica's link (REPLCONF capa): never paused, as Redis never pauses replicas. */
  readonly replCapa?: readonly string[];
}

/** What admission needs of a command (from the command table, or a door's own mapping). */
export interface AdmissionCommand {
  /** Runs while the node is still loading its data (INFO, CONFIG, PING, ...). */
  readonly runsWhileLoading: boolean;
  /** Runs before authentication (AUTH, HELLO, QUIT, ...). */
  readonly noAuth: boolean;
  /** Changes data: held during a failover pause, refused by the write gates. */
  readonly write: boolean;
  /** May propagate without being a write (Redis's may-replicate: EVAL, PUBLISH, PFCOUNT...):
   * held by CLIENT PAUSE WRITE like a write. Absent: false. */
  readonly mayReplicate?: boolean;
}

/** The node's state as admission sees it. */
export interface AdmissionState {
  readonly loading: boolean;
  /** A pause is in force (CLIENT PAUSE, a manual failover): writes are held. */
  readonly writesPaused: boolean;
  /** CLIENT PAUSE ALL: every command is held (read only while writesPaused). */
  readonly allPaused?: boolean;
  /** True when writeRefusal() must be asked (keeps it off the common path). */
  readonly writesGated: boolean;
  /** The write gates' refusal (READONLY, NOREPLICAS), or null. */
  writeRefusal(): string | null;
}

/** admit()'s answer for a write that must wait until the failover pause ends. */
export const HOLD = 1;


/** null: admitted. HOLD: a write to run once writes resume. A string: the error to reply. */
export function admit(client: AdmissionClient, cmd: AdmissionCommand, node: AdmissionState): string | typeof HOLD | null {
  // Loading before auth (as Redis): a client probing with PING must not take NOAUTH for "up".
  if (node.loading && !cmd.runsWhileLoading) return ERR.loading;
  if (!client.authenticated && !cmd.noAuth) return ERR.noAuth;
  // One test on the common path; replicas are never paused (client-pause.ts).
  if (node.writesPaused && (cmd.write || cmd.mayReplicate === true || node.allPaused === true) && !(client.replCapa !== undefined && client.replCapa.length > 0)) return HOLD;
  if (!cmd.write) return null;
  return node.writesGated ? node.writeRefusal() : null;
}

/** Redis 7.0's may-replicate commands that are not writes (its CMD_MAY_REPLICATE, which COMMAND
 * INFO does not show): CLIENT PAUSE WRITE holds them (checked on redis-server 7.0.15). */
const MAY_REPLICATE = new Set(['eval', 'evalsha', 'fcall', 'publish', 'spublish', 'pfcount']);

/** A command's admission traits from its table flags. */
export function admissionTraits(flags: readonly string[], group: string, name = ''): AdmissionCommand {
  return {
    mayReplicate: MAY_REPLICATE.has(name),
    // CLUSTER is refused while loading: its state is not back yet.
    runsWhileLoading: flags.includes('loading') && group !== 'cluster',
    noAuth: flags.includes('no-auth'),
    write: flags.includes('write'),
  };
}

/** The manual failover's write pause is one purpose of the node's client pause. */
export { ClientPause as WritePause } from './client-pause.js';
