// Outgoing node-to-node links (cluster bus, forwarding, slot migration, MIGRATE, a replica's link
// to its primary): plain TCP, or TLS when the caller has client options (tls-cluster,
// tls-replication). The options are read at each dial, so a certificate reload applies to the next
// link. As redis-server, the peer's certificate chain is checked against the CA but not its name:
// nodes are dialled by IP address.

import net from 'node:net';
import tls from 'node:tls';

/** Client options for an outgoing TLS link, or null for plain TCP. Called at each dial. */
export type TlsDialOptions = () => tls.ConnectionOptions | null;

export const PLAIN: TlsDialOptions = () => null;

export interface Dialed {
  socket: net.Socket;
  /** The event after which the link carries data ('secureConnect' once the handshake is done). */
  ready: 'connect' | 'secureConnect';
}

export function dial(host: string, port: number, options: tls.ConnectionOptions | null): Dialed {
  if (options === null) return { socket: net.connect({ host, port, noDelay: true }), ready: 'connect' };
  const socket = tls.connect({ ...options, host, port, checkServerIdentity: () => undefined });
  socket.setNoDelay(true);
  return { socket, ready: 'secureConnect' };
}
