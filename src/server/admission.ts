// Admission: the checks every request passes before it runs, whichever front door it came
// through (RESP, memcached, HTTP), in one order: loading, authentication, the failover write
// pause, then the write gates (read-only replica, min-replicas-to-write). Out-of-memory is
// decided where the memory is, in the shard, for every door alike; cluster ownership (MOVED,
// ASK, forwarding) follows admission, in the cluster routing of each door.
// A pure function of (client, command, node state): no main-thread globals, so that it can run
// wherever parsing runs.

import { ERR } from '../core/errors.js';

/** What admission needs of a client. */
export interface AdmissionClient {
  readonly authenticated: boolean;
}

/** What admission needs of a command (from the command table, or a door's own mapping). */
export interface AdmissionCommand {
  /** Runs while the node is still loading its data (INFO, CONFIG, PING, ...). */
  readonly runsWhileLoading: boolean;
  /** Runs before authentication (AUTH, HELLO, QUIT, ...). */
  readonly noAuth: boolean;
  /** Changes data: held during a failover pause, refused by the write gates. */
  readonly write: boolean;
}

/** The node's state as admission sees it. */
export interface AdmissionState {
  readonly loading: boolean;
  /** A manual failover is pausing client writes. */
  readonly writesPaused: boolean;
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
  if (!cmd.write) return null;
  if (node.writesPaused) return HOLD;
  return node.writesGated ? node.writeRefusal() : null;
}

/** A command's admission traits from its table flags. */
export function admissionTraits(flags: readonly string[], group: string): AdmissionCommand {
  return {
    // CLUSTER is refused while loading: its state is not back yet.
    runsWhileLoading: flags.includes('loading') && group !== 'cluster',
    noAuth: flags.includes('no-auth'),
    write: flags.includes('write'),
  };
}

/** The manual failover's write pause: writes admitted as HOLD wait here, in arrival order, and
 * run when it ends (resume(), or its timeout). */
export class WritePause {
  private waiting: Array<() => void> | null = null;
  private timer: NodeJS.Timeout | null = null;

  get paused(): boolean {
    return this.waiting !== null;
  }

  /** Pauses writes until resume(), at most timeoutMs. */
  pause(timeoutMs: number): void {
    if (this.waiting === null) this.waiting = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.resume(), timeoutMs);
    this.timer.unref();
  }

  resume(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const waiting = this.waiting;
    this.waiting = null;
    for (const go of waiting ?? []) go();
  }

  /** Runs `run` now, or once the pause ends. */
  whenResumed(run: () => void): void {
    if (this.waiting === null) run();
    else this.waiting.push(run);
  }
}
