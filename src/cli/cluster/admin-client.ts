// Admin connections to cluster nodes: one plain ioredis connection per node address, set up to
// fail fast (no offline queue, no retries, no reconnect), and every call bounded by a deadline.
// Failures are NodeErrors carrying the node's address and whether the node replied an error
// (`reply`) or could not be reached in time (`connection`, `timeout`).

import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Redis } from 'ioredis';
import { formatAddress, type Address } from './args.js';
import type { AdminTls } from './tls-flags.js';

export const CONNECT_TIMEOUT_MS = 2_000;
export const CALL_TIMEOUT_MS = 10_000;

export type NodeErrorKind = 'reply' | 'connection' | 'timeout';

export class NodeError extends Error {
  constructor(
    readonly address: string,
    readonly kind: NodeErrorKind,
    /** The error reply itself (for `reply`), or what went wrong. */
    readonly detail: string,
  ) {
    super(`${address}: ${detail}`);
  }
}

export type Arg = string | number | Buffer;

/** The credentials every admin connection logs in with (`--user`/`--pass`, TESSERA_USER /
 * TESSERA_PASS or REDISCLI_AUTH): none by default. */
let credentials: { username?: string; password?: string } = {};

export function setAdminCredentials(c: { username?: string; password?: string }): void {
  credentials = { ...c };
}

export class AdminClient {
  readonly address: string;
  private readonly redis: Redis;
  private lastError = '';

  private constructor(readonly addr: Address, redis: Redis) {
    this.address = formatAddress(addr);
    this.redis = redis;
    // ioredis reports socket trouble as events; without a listener they would crash the process.
    redis.on('error', (err: Error) => {
      this.lastError = err.message;
    });
  }

  /** Connects within `connectTimeoutMs`; rejects with a NodeError of kind `connection`. */
  static async connect(addr: Address, connectTimeoutMs = CONNECT_TIMEOUT_MS, tls: AdminTls | null = null): Promise<AdminClient> {
    const redis = new Redis({
      ...(tls === null ? {} : { tls: tls.options }),
      host: addr.host,
      port: addr.port,
      lazyConnect: true,
      enableOfflineQueue: false,
      enableReadyCheck: false,
      connectTimeout: connectTimeoutMs,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      ...credentials,
    });
    const client = new AdminClient(addr, redis);
    try {
      await redis.connect();
    } catch (err) {
      redis.disconnect();
      throw new NodeError(client.address, 'connection', `cannot connect: ${client.lastError || messageOf(err)}`);
    }
    return client;
  }

  /** Sends one command; text replies decode as UTF-8 strings. */
  call(args: readonly Arg[], timeoutMs = CALL_TIMEOUT_MS): Promise<unknown> {
    return this.send(args, timeoutMs, false);
  }

  /** Like `call`, but bulk replies stay Buffers (for keys, which are binary). */
  callBuffer(args: readonly Arg[], timeoutMs = CALL_TIMEOUT_MS): Promise<unknown> {
    return this.send(args, timeoutMs, true);
  }

  async callString(args: readonly Arg[], timeoutMs = CALL_TIMEOUT_MS): Promise<string> {
    const r = await this.call(args, timeoutMs);
    if (typeof r === 'string') return r;
    if (Buffer.isBuffer(r)) return r.toString('utf8');
    throw new NodeError(this.address, 'reply', `${commandName(args)}: expected a string reply, got ${JSON.stringify(r)}`);
  }

  async callInteger(args: readonly Arg[], timeoutMs = CALL_TIMEOUT_MS): Promise<number> {
    const r = await this.call(args, timeoutMs);
    if (typeof r === 'number') return r;
    throw new NodeError(this.address, 'reply', `${commandName(args)}: expected an integer reply, got ${JSON.stringify(r)}`);
  }

  /** INFO `section` as a field map ("# Section" lines and blanks skipped). */
  async info(section: string): Promise<Map<string, string>> {
    return parseInfo(await this.callString(['INFO', section]));
  }

  /** False once the connection has closed (e.g. after a call timed out). */
  get alive(): boolean {
    return this.redis.status === 'ready' || this.redis.status === 'connect';
  }

  close(): void {
    this.redis.disconnect();
  }

  private async send(args: readonly Arg[], timeoutMs: number, buffers: boolean): Promise<unknown> {
    const [name, ...rest] = args;
    if (name === undefined) throw new Error('empty command');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // The reply may still come; the connection is no longer trustworthy for ordering.
        this.redis.disconnect();
        reject(new NodeError(this.address, 'timeout', `${commandName(args)} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
    });
    const command = buffers ? this.redis.callBuffer(String(name), ...rest) : this.redis.call(String(name), ...rest);
    try {
      return await Promise.race([command, timeout]);
    } catch (err) {
      if (err instanceof NodeError) throw err;
      const message = messageOf(err);
      // ioredis names reply errors ReplyError; anything else is the connection failing.
      const isReply = err instanceof Error && err.name === 'ReplyError';
      throw new NodeError(this.address, isReply ? 'reply' : 'connection', isReply ? message : `${commandName(args)}: ${message}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * One admin connection per node address for the duration of a subcommand. A node that could not
 * be reached is remembered, so that one dead node costs one connect timeout, not one per call.
 */
export class AdminPool {
  private readonly clients = new Map<string, Promise<AdminClient>>();

  constructor(
    private readonly connectTimeoutMs = CONNECT_TIMEOUT_MS,
    /** --tls: every node is reached over TLS. */
    readonly tls: AdminTls | null = null,
  ) {}

  async get(addr: Address): Promise<AdminClient> {
    const key = formatAddress(addr);
    const known = this.clients.get(key);
    if (known !== undefined) {
      const client = await known;
      if (client.alive) return client;
    }
    const p = AdminClient.connect(addr, this.connectTimeoutMs, this.tls);
    this.clients.set(key, p);
    return p;
  }

  /** A fresh connection not shared with anyone (e.g. to poll while the shared one is busy). */
  side(addr: Address): Promise<AdminClient> {
    return AdminClient.connect(addr, this.connectTimeoutMs, this.tls);
  }

  async closeAll(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    for (const r of await Promise.allSettled(all)) if (r.status === 'fulfilled') r.value.close();
  }
}

export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) out.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return out;
}

/** True for the error a server gives for a CLUSTER subcommand it does not have. */
export function isUnknownSubcommand(err: unknown): boolean {
  return err instanceof NodeError && err.kind === 'reply' && /^ERR unknown subcommand/i.test(err.detail);
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function commandName(args: readonly Arg[]): string {
  const [a, b] = args;
  const first = String(a ?? '').toUpperCase();
  return (first === 'CLUSTER' || first === 'CONFIG') && b !== undefined ? `${first} ${String(b).toUpperCase()}` : first;
}

/** The address with its host resolved to an IP (CLUSTER MEET and MIGRATE take IPs only). */
export async function resolveAddress(addr: Address): Promise<Address> {
  if (isIP(addr.host) !== 0) return addr;
  try {
    const { address } = await lookup(addr.host);
    return { host: address, port: addr.port };
  } catch (e) {
    throw new NodeError(formatAddress(addr), 'connection', `cannot resolve ${addr.host}: ${messageOf(e)}`);
  }
}
