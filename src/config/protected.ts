// Redis 7's "protected" actions: settings that reach outside the server's own data (where files
// are written) and commands meant for operators (DEBUG). Each is gated by a no|yes|local option;
// `local` admits only clients on a loopback address.

export type ProtectedMode = 'no' | 'yes' | 'local';

/** True for a client address ("ip:port", as CLIENT LIST shows it) on the loopback interface,
 * including an IPv4 client seen through a dual-stack IPv6 listener. */
export function isLoopbackClient(addr: string): boolean {
  return addr.startsWith('127.') || addr.startsWith('::1:') || addr === '::1' || addr.startsWith('::ffff:127.');
}

/** Redis's allowProtectedAction: `yes`, or `local` for a loopback client. No client (an internal
 * caller) counts as not local. */
export function allowProtectedAction(mode: ProtectedMode, clientAddr: string | undefined): boolean {
  return mode === 'yes' || (mode === 'local' && clientAddr !== undefined && isLoopbackClient(clientAddr));
}
