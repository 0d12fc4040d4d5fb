// How the load generator opens its connections: plain TCP, or TLS with `tessera bench --tls`
// (redis-benchmark's --tls --cacert --cert --key). Set once per thread (the main thread and each
// worker, from its job) before the first connection; the files are read then, once.

import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

/** File paths as given on the command line (a worker's job carries them, not their bytes). */
export interface LoadgenTls {
  cacert?: string;
  cert?: string;
  key?: string;
}

let options: tls.ConnectionOptions | null = null;

export function setLinkTls(t: LoadgenTls | null | undefined): void {
  if (t === null || t === undefined) {
    options = null;
    return;
  }
  // As redis-benchmark: the chain is checked against --cacert, the host name is not.
  const o: tls.ConnectionOptions = { checkServerIdentity: () => undefined };
  if (t.cacert !== undefined) o.ca = readFileSync(t.cacert);
  if (t.cert !== undefined) o.cert = readFileSync(t.cert);
  if (t.key !== undefined) o.key = readFileSync(t.key);
  options = o;
}

/** A connection to host:port; `ready` is the event after which it counts as open. */
export function openLink(host: string, port: number): { socket: net.Socket; ready: 'connect' | 'secureConnect' } {
  if (options === null) return { socket: net.connect({ host, port, noDelay: true }), ready: 'connect' };
  const socket = tls.connect({ ...options, host, port });
  socket.setNoDelay(true);
  return { socket, ready: 'secureConnect' };
}
