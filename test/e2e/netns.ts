// A network namespace joined to this host by a veth pair, so that a test can be a client from a
// non-loopback address (protected mode). Made with `ip` (iproute2) and removed at exit. Where
// namespaces cannot be made, setting TESSERA_NETNS_UNAVAILABLE=1 lets the tests be skipped with
// the reason printed; otherwise failing to make one fails the test.

import { spawn, spawnSync } from 'node:child_process';

export interface NetNs {
  readonly name: string;
  /** This host's end of the veth pair: servers bind it, clients in the namespace dial it. */
  readonly hostIp: string;
  /** The namespace's address (what the server sees as the client's). */
  readonly nsIp: string;
}

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.error) throw new Error(`'ip' (Debian's iproute2) is needed to make a network namespace: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed (status ${r.status}): ${r.stderr.trim()}`);
}

/** Makes the namespace (throws with the reason when it cannot be made). */
export function makeNetNs(tag: string): NetNs {
  const id = `${tag}${process.pid % 100000}`;
  const name = `tss-${id}`;
  const hostIf = `th${id}`.slice(0, 15);
  const nsIf = `tn${id}`.slice(0, 15);
  const net = `10.${200 + (process.pid % 50)}.${(process.pid >> 6) % 250}`;
  const hostIp = `${net}.1`;
  const nsIp = `${net}.2`;
  spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  ip(['netns', 'add', name]);
  process.on('exit', () => {
    spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    spawnSync('ip', ['link', 'del', hostIf], { stdio: 'ignore' });
  });
  ip(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
  ip(['link', 'set', nsIf, 'netns', name]);
  ip(['addr', 'add', `${hostIp}/30`, 'dev', hostIf]);
  ip(['link', 'set', hostIf, 'up']);
  ip(['netns', 'exec', name, 'ip', 'addr', 'add', `${nsIp}/30`, 'dev', nsIf]);
  ip(['netns', 'exec', name, 'ip', 'link', 'set', nsIf, 'up']);
  ip(['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  return { name, hostIp, nsIp };
}

/** The namespace, or the reason it cannot be had: only with TESSERA_NETNS_UNAVAILABLE=1 is the
 * reason returned (the caller skips, printing it); otherwise the failure is thrown. */
export function netNsOrSkipReason(tag: string): NetNs | string {
  try {
    return makeNetNs(tag);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    if (process.env.TESSERA_NETNS_UNAVAILABLE === '1') return `network namespaces cannot be made here (${why}); TESSERA_NETNS_UNAVAILABLE=1`;
    throw new Error(`cannot make a network namespace (run as root with iproute2; set TESSERA_NETNS_UNAVAILABLE=1 only where namespaces are impossible): ${why}`);
  }
}

// Connects, writes the payload (hex), and prints in hex everything read until the peer closes,
// or until the deadline: then it prints what it has, with a trailing " open".
const CLIENT = `
const net = require('net');
const [host, port, hex, ms] = process.argv.slice(1);
const chunks = [];
let done = false;
const finish = (open) => { if (done) return; done = true; process.stdout.write(Buffer.concat(chunks).toString('hex') + (open ? ' open' : '')); process.exit(0); };
const s = net.connect(Number(port), host, () => { if (hex.length > 0) s.write(Buffer.from(hex, 'hex')); });
s.on('data', (c) => chunks.push(c));
s.on('close', () => finish(false));
s.on('error', () => finish(false));
setTimeout(() => finish(true), Number(ms));
`;

export interface NsExchange {
  bytes: Buffer;
  /** The server had not closed the connection by the deadline. */
  open: boolean;
}

/** From inside the namespace: connects to host:port, sends `payload`, and returns what came back
 * before the server closed (or the deadline passed). */
export function exchangeFromNs(ns: NetNs, host: string, port: number, payload: Buffer | string, deadlineMs = 3000): Promise<NsExchange> {
  const hex = Buffer.from(payload).toString('hex');
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '-e', CLIENT, host, String(port), hex, String(deadlineMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const killer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), deadlineMs + 10_000);
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      if (code !== 0) {
        reject(new Error(`client in namespace ${ns.name} exited ${code}: ${err}`));
        return;
      }
      const open = out.endsWith(' open');
      resolve({ bytes: Buffer.from(open ? out.slice(0, -5) : out, 'hex'), open });
    });
  });
}
