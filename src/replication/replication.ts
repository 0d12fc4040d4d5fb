// A node's replication role: always a primary to its own replicas (ReplicationPrimary), and, when
// told REPLICAOF, also a replica of another node (ReplicationReplica). INFO replication and ROLE
// read from here; the router asks it whether a write may run (a replica refuses client writes,
// a primary without enough good replicas refuses them under min-replicas-to-write).

import type { Logger } from 'pino';
import { ReplicationPrimary, type PrimaryHost } from './primary.js';
import { ReplicationReplica, type ReplicaHost } from './replica.js';

export interface ReplicationSettings {
  minReplicasToWrite: number;
  minReplicasMaxLag: number;
  replicaReadOnly: boolean;
}

export class Replication {
  readonly primary: ReplicationPrimary;
  replica: ReplicationReplica | null = null;

  constructor(
    private readonly log: Logger,
    primaryHost: PrimaryHost,
    private readonly replicaHost: ReplicaHost,
    private readonly settings: () => ReplicationSettings,
  ) {
    this.primary = new ReplicationPrimary(primaryHost);
  }

  get isReplica(): boolean {
    return this.replica !== null;
  }

  /** The error a client write gets now, or null when it may run. */
  writeRefusal(clusterMode = false): string | null {
    const s = this.settings();
    if (this.replica !== null && s.replicaReadOnly && !clusterMode) return "READONLY You can't write against a read only replica.";
    if (s.minReplicasToWrite > 0 && this.replica === null && this.primary.goodReplicas(s.minReplicasMaxLag) < s.minReplicasToWrite) {
      return 'NOREPLICAS Not enough good replicas to write.';
    }
    return null;
  }

  /** True when the router must ask writeRefusal() (keeps the check off the common path). */
  get gatesWrites(): boolean {
    return this.replica !== null || this.settings().minReplicasToWrite > 0;
  }

  /** Called when this node starts replicating (blocked clients are answered then). */
  onBecomingReplica: (() => void) | null = null;

  /** REPLICAOF host port. */
  replicaOf(host: string, port: number): void {
    const old = this.replica;
    if (old !== null && old.masterHost === host && old.masterPort === port) return;
    this.onBecomingReplica?.();
    const resume = old !== null && old.masterHost === host && old.masterPort === port ? old.resumePoint() : null;
    old?.stop();
    this.log.info({ primary: `${host}:${port}` }, `Connecting to MASTER ${host}:${port}`);
    this.replica = new ReplicationReplica(this.replicaHost, host, port, resume);
  }

  /** REPLICAOF NO ONE: keeps the data, starts a new history that continues the old one. */
  async noOne(): Promise<void> {
    const r = this.replica;
    if (r === null) return;
    this.replica = null;
    r.stop();
    await r.drain();
    this.primary.promoted(r.masterReplid, r.offsets ?? []);
    this.log.info('MASTER MODE enabled (user request from replicaof no one)');
  }

  /** ROLE's reply, as plain values. */
  role(): Array<string | number | Array<Array<string>>> {
    const r = this.replica;
    if (r !== null) {
      const state = r.state === 'connected' ? 'connected' : r.state === 'sync' ? 'sync' : r.state === 'connecting' ? 'connecting' : 'connect';
      return ['slave', r.masterHost, r.masterPort, state, r.offset];
    }
    const list = [...this.primary.replicas].filter((x) => x.state === 'online').map((x) => [x.ip, String(x.port), String(x.ackOffset)]);
    return ['master', this.primary.offset, list];
  }

  info(): Array<[string, string | number]> {
    const p = this.primary;
    const r = this.replica;
    const rows: Array<[string, string | number]> = [['role', r !== null ? 'slave' : 'master']];
    if (r !== null) {
      rows.push(
        ['master_host', r.masterHost],
        ['master_port', r.masterPort],
        ['master_link_status', r.linkUp ? 'up' : 'down'],
        ['master_last_io_seconds_ago', r.lastIoMs > 0 ? Math.floor((Date.now() - r.lastIoMs) / 1000) : -1],
        ['master_sync_in_progress', r.syncInProgress ? 1 : 0],
        ['slave_read_repl_offset', r.readOffset],
        ['slave_repl_offset', r.offset],
        ['slave_priority', 100],
        ['slave_read_only', this.settings().replicaReadOnly ? 1 : 0],
        ['replica_announced', 1],
      );
    }
    const replicas = [...p.replicas];
    rows.push(['connected_slaves', replicas.length]);
    if (this.settings().minReplicasToWrite > 0) rows.push(['min_slaves_good_slaves', p.goodReplicas(this.settings().minReplicasMaxLag)]);
    replicas.forEach((x, i) => {
      const lag = Math.floor((Date.now() - x.ackTimeMs) / 1000);
      rows.push([`slave${i}`, `ip=${x.ip},port=${x.port},state=${x.state},offset=${x.ackOffset},lag=${lag}`]);
    });
    rows.push(
      ['master_failover_state', 'no-failover'],
      ['master_replid', r !== null ? r.masterReplid : p.replid],
      ['master_replid2', p.replid2],
      ['master_repl_offset', r !== null ? r.offset : p.offset],
      ['second_repl_offset', p.secondOffset],
      ['repl_backlog_active', p.backlogActive ? 1 : 0],
      ['repl_backlog_size', this.primaryBacklogSize()],
      ['repl_backlog_first_byte_offset', p.backlogFirstByte()],
      ['repl_backlog_histlen', p.backlogHistlen()],
    );
    return rows;
  }

  private primaryBacklogSize(): number {
    return this.primaryBacklogBytes;
  }

  /** Set by the server (repl-backlog-size): each shard keeps this much of its feed. */
  primaryBacklogBytes = 0;

  stop(): void {
    this.replica?.stop();
    this.primary.stop();
  }
}
