// The ports a node opens besides its RESP port, derived from it so that N nodes on one host
// differ only in --port (Redis's six-node cluster tutorial), as Redis derives the cluster bus
// port. Offsets are chosen so that the default port 6379 keeps the familiar 11211 and 8080.

export const PORT_MAX = 65535;
/** memcache-port = port + 4832: 6379 -> 11211, 7000..7005 -> 11832..11837. */
export const MEMCACHE_PORT_OFFSET = 4832;
/** http-port = port + 1701: 6379 -> 8080, 7000..7005 -> 8701..8706. */
export const HTTP_PORT_OFFSET = 1701;
/** cluster-port = port + 10000, as in Redis. */
export const CLUSTER_BUS_PORT_OFFSET = 10000;

/** What a derived port is: the port number, or 0 (off) with the reason. */
export type DerivedPort = { port: number; offReason: null } | { port: 0; offReason: string };

/**
 * The port `offset` above `port`. A random RESP port (0) gives no fixed port to derive from,
 * and a sum above 65535 is no port: both leave the derived port off rather than refuse to start.
 */
export function derivePort(port: number, offset: number): DerivedPort {
  if (port === 0) return { port: 0, offReason: 'port is 0 (random), so there is no port to derive it from' };
  const derived = port + offset;
  if (derived > PORT_MAX) return { port: 0, offReason: `port + ${offset} = ${derived} is above ${PORT_MAX}` };
  return { port: derived, offReason: null };
}
