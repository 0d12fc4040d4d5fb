// The typed values of every option (Config.values): what the rest of the server reads.

import type { EvictionPolicy } from '../core/types.js';
import type { ProtectedMode } from './protected.js';

export interface ServerConfig {
  port: number;
  /** memcached protocols' port, 0 = off; unless set, port + 4832 (ports.ts). */
  memcachePort: number;
  /** Bytes, as memcached's -I. */
  memcacheMaxItemSize: number;
  /** HTTP port (health, metrics, REST), 0 = off; unless set, port + 1701 (ports.ts). */
  httpPort: number;
  /** The hosts every listener binds, resolved from the bind option (bind.ts): `*` is 0.0.0.0,
   * `::*` is ::, missing optional addresses are left out. CONFIG GET bind shows the option as given. */
  bind: string[];
  /** Tessera's own: shard worker threads. */
  shards: number;
  /** Tessera's own: shards in worker threads (yes) or on the main thread (no). */
  shardThreads: boolean;
  /** Bytes, 0 = no limit. */
  maxmemory: number;
  maxmemoryPolicy: EvictionPolicy;
  maxmemorySamples: number;
  hashMaxListpackEntries: number;
  hashMaxListpackValue: number;
  setMaxIntsetEntries: number;
  setMaxListpackEntries: number;
  setMaxListpackValue: number;
  listMaxListpackSize: number;
  listCompressDepth: number;
  zsetMaxListpackEntries: number;
  zsetMaxListpackValue: number;
  streamNodeMaxBytes: number;
  streamNodeMaxEntries: number;
  hllSparseMaxBytes: number;
  requirepass: string;
  enableDebugCommand: ProtectedMode;
  /** CONFIG SET of options naming files the server writes (Param.protected). */
  enableProtectedConfigs: ProtectedMode;
  loglevel: 'debug' | 'verbose' | 'notice' | 'warning' | 'nothing';
  /** '' = standard output. */
  logfile: string;
  maxclients: number;
  protoMaxBulkLen: number;
  busyReplyThreshold: number;
  /** Several standalone shards: may a script touch keys it did not declare (docs/scripting.md). */
  scriptUndeclaredKeys: 'allow' | 'slot' | 'deny';
  clientQueryBufferLimit: number;
  /** The "normal" class of client-output-buffer-limit; the other classes are only echoed back. */
  clientOutputBufferLimitNormal: { hardBytes: number; softBytes: number; softSeconds: number };
  /** Seconds idle before a client is closed, 0 = never. */
  timeout: number;
  hz: number;
  tcpKeepalive: number;
  /** Only db 0 is served; kept for CONFIG GET. */
  databases: number;
  /** Tessera's own. */
  activeExpireEnabled: boolean;
  /** Flags of core/keyspace-events.ts (0: no keyspace notifications). */
  notifyKeyspaceEvents: number;
  appendonly: boolean;
  appendfsync: 'always' | 'everysec' | 'no';
  appendfilename: string;
  /** Relative to dir unless absolute. */
  appenddirname: string;
  autoAofRewritePercentage: number;
  autoAofRewriteMinSize: number;
  aofLoadTruncated: boolean;
  /** Tessera's own: accept damaged persistence files at start. */
  persistenceRepair: boolean;
  /** Save points "<seconds> <changes> ...", '' = none. */
  save: string;
  dbfilename: string;
  dir: string;
  /** "<host> <port>" or ''. */
  replicaof: string;
  masterauth: string;
  masteruser: string;
  /** ACL LOG's length. */
  acllogMaxLen: number;
  /** File of ACL users ('' = none); relative to dir unless absolute. */
  aclfile: string;
  replBacklogSize: number;
  minReplicasToWrite: number;
  minReplicasMaxLag: number;
  replicaReadOnly: boolean;
  clusterEnabled: boolean;
  clusterMigrationBarrier: number;
  clusterReplicaNoFailover: boolean;
  clusterAllowReplicaMigration: boolean;
  /** Accepted and ignored. */
  clusterReplicaValidityFactor: number;
  /** Relative to dir unless absolute. */
  clusterConfigFile: string;
  clusterNodeTimeout: number;
  /** 0 = port + 10000. */
  clusterPort: number;
  clusterAnnounceIp: string;
  clusterBusSecret: string;
  /** SLOWLOG threshold, microseconds (negative: off). */
  slowlogLogSlowerThan: number;
  slowlogMaxLen: number;
  /** LATENCY's threshold, milliseconds (0: off). */
  latencyMonitorThreshold: number;
  clusterRequireFullCoverage: boolean;
  clusterAllowReadsWhenDown: boolean;
  clusterAllowPubsubshardWhenDown: boolean;
  /** Tessera's own: forward RESP commands for other nodes' slots instead of MOVED. */
  clusterForwarding: boolean;
  // ---- TLS (src/config/tls.ts) ----
  /** RESP over TLS, 0 = off. */
  tlsPort: number;
  tlsCertFile: string;
  tlsKeyFile: string;
  tlsKeyFilePass: string;
  tlsClientCertFile: string;
  tlsClientKeyFile: string;
  tlsClientKeyFilePass: string;
  tlsCaCertFile: string;
  tlsCaCertDir: string;
  tlsDhParamsFile: string;
  tlsAuthClients: 'no' | 'yes' | 'optional';
  /** Words of TLSv1 TLSv1.1 TLSv1.2 TLSv1.3, '' = TLSv1.2 TLSv1.3. */
  tlsProtocols: string;
  tlsCiphers: string;
  tlsCiphersuites: string;
  tlsPreferServerCiphers: boolean;
  tlsSessionCaching: boolean;
  tlsSessionCacheSize: number;
  tlsSessionCacheTimeout: number;
  tlsReplication: boolean;
  tlsCluster: boolean;
  /** Tessera's own: the memcached port speaks TLS. */
  memcacheTls: boolean;
  /** Tessera's own: HTTPS on the HTTP port. */
  httpTls: boolean;
  // ---- guard: protected mode and client limits (docs/security-guard.md) ----
  /** Redis's protected-mode: with no password for the default user, refuse non-loopback clients. */
  protectedMode: boolean;
  /** Tessera's own: commands per second per client, 0 = no limit. */
  clientOpsPerSec: number;
  /** Tessera's own: input bytes per second per client (its socket is paused), 0 = no limit. */
  clientBytesPerSec: number;
  /** Tessera's own: new connections per second from one source address, 0 = no limit. */
  maxNewConnectionsPerSec: number;
}
