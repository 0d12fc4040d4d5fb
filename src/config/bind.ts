// The bind option in Redis 7's syntax, turned into the one list of hosts every listener (RESP,
// memcached, HTTP, cluster bus) uses: `*` is every IPv4 address, `::*` every IPv6 address, and a
// leading `-` marks an address that may be missing on this host (it is skipped, not an error).

import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

export const BIND_MAX = 16;
export const IPV4_ANY = '0.0.0.0';
export const IPV6_ANY = '::';

/** Checks the syntax of each word; returns null when valid, else Redis's reason. */
export function bindSyntaxError(words: readonly string[]): string | null {
  if (words.length > BIND_MAX) return 'Too many bind addresses specified.';
  const valid = (w: string): boolean => {
    const addr = w.startsWith('-') ? w.slice(1) : w;
    return addr === '*' || addr === '::*' || /^[0-9a-fA-F:.]+(%[\w.-]+)?$/.test(addr);
  };
  if (words.length === 0 || !words.every(valid)) return 'argument must be one or more IP addresses separated by spaces';
  return null;
}

export interface ListenHosts {
  /** Addresses to listen on, in the order given, each once. */
  hosts: string[];
  /** Optional (`-`) addresses left out because this host has no such address. */
  skipped: string[];
}

type Interfaces = NodeJS.Dict<NetworkInterfaceInfo[]>;

/**
 * Resolves valid bind words (see bindSyntaxError) against this host's interfaces. Wildcards
 * cover the specific addresses of their family, which are dropped: Linux refuses a second listen
 * on a port a wildcard holds. `::` is dual-stack in Node (it also accepts IPv4), so with both
 * wildcards only `::` is kept. An empty result (every address optional and missing) is returned
 * as such; the caller refuses it.
 */
export function resolveListenHosts(words: readonly string[], interfaces: Interfaces = networkInterfaces()): ListenHosts {
  const all = Object.values(interfaces).flatMap((list) => list ?? []);
  const local = new Set(all.map((i) => stripZone(i.address).toLowerCase()));
  const hasV4 = all.some((i) => i.family === 'IPv4');
  const hasV6 = all.some((i) => i.family === 'IPv6');
  const available = (addr: string): boolean => {
    if (addr === IPV4_ANY) return hasV4;
    if (addr === IPV6_ANY) return hasV6;
    // Linux answers for all of 127.0.0.0/8, though only 127.0.0.1 is listed on lo.
    if (/^127\./.test(addr)) return hasV4;
    return local.has(stripZone(addr).toLowerCase());
  };
  const hosts: string[] = [];
  const skipped: string[] = [];
  for (const word of words) {
    const optional = word.startsWith('-');
    const bare = optional ? word.slice(1) : word;
    const addr = bare === '*' ? IPV4_ANY : bare === '::*' ? IPV6_ANY : bare;
    if (optional && !available(addr)) skipped.push(word);
    else if (!hosts.includes(addr)) hosts.push(addr);
  }
  if (hosts.includes(IPV6_ANY)) return { hosts: [IPV6_ANY], skipped };
  if (hosts.includes(IPV4_ANY)) return { hosts: hosts.filter((h) => h === IPV4_ANY || h.includes(':')), skipped };
  return { hosts, skipped };
}

function stripZone(addr: string): string {
  const pct = addr.indexOf('%');
  return pct < 0 ? addr : addr.slice(0, pct);
}
