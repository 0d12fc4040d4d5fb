// The front doors besides RESP, on the same shards: the memcached port (binary, text and meta
// protocols, src/server/memcache-connection.ts) and the HTTP port (health, Prometheus metrics,
// the REST API, src/server/http-api.ts). The server calls startFrontDoors() once its shards are
// ready and close() on shutdown; everything they need of it is the FrontDoorServer interface,
// so server.ts carries only those two calls.

import net from 'node:net';
import type { ArgList, ShardStatsReport } from '../core/types.js';
import type { ReplySink } from '../runtime/shard-port.js';
import { commandIndex } from '../commands/registry.js';
import { argListOf, copyArgList } from '../commands/args.js';
import { HOLD, admit, type AdmissionCommand } from './admission.js';
import { MODE_META, META_DEBUG, META_GET } from '../commands/memcache-family.js';
import { H_MAGIC, H_OPCODE, OP } from '../protocol/memcache.js';
import { MemcacheConnection, type MemcacheClient, type MemcacheHost } from './memcache-connection.js';
import { MEMCACHE_VERSION } from '../protocol/memcache.js';
import { startHttpApi, type HttpApi } from './http-api.js';
import type { FrontDoorServer, MemcacheCounters } from './front-door-server.js';
import type { AclUser } from '../core/acl.js';
import { AS_FLUSHALL, AS_INFO, doorCheck, followUserChanges, memcacheChecked } from './door-acl.js';

export type { FrontDoorServer, MemcacheCounters };


export interface FrontDoors {
  readonly memcachePort: number;
  readonly httpPort: number;
  /** Open memcached and HTTP connections. */
  connections(): number;
  /** Stops accepting and closes every memcached and HTTP connection. */
  close(): Promise<void>;
}


const MC_CMD = commandIndex('__mc');
const MC_FLUSH_ARGS = argListOf(['__mcflush']);
const MC_FLUSH_CMD = commandIndex('__mcflush');

const READ = { runsWhileLoading: false, noAuth: false, write: false } as const satisfies AdmissionCommand;
const WRITE = { runsWhileLoading: false, noAuth: false, write: true } as const satisfies AdmissionCommand;
const FLUSH_TRAITS = WRITE;
/** memcached requests that only read (binary and text opcodes); everything else that reaches a
 * shard changes data (stores, deletes, arithmetic, touch and get-and-touch). */
const READ_OPCODES = new Set<number>([OP.GET, OP.GETQ, OP.GETK, OP.GETKQ, OP.NOOP, OP.VERSION, OP.STAT]);

/** A memcached request's admission traits from its header (args[1]: a binary request's own, or
 * the synthetic one of a text or meta request, whose opcode byte is then the meta letter). */
function memcacheTraits(args: ArgList): AdmissionCommand {
  const h = args.off[1]!;
  const op = args.buf[h + H_OPCODE]!;
  if (args.buf[h + H_MAGIC] === MODE_META) return op === META_GET || op === META_DEBUG ? READ : WRITE;
  return READ_OPCODES.has(op) ? READ : WRITE;
}

class MemcacheDoor implements MemcacheHost {
  readonly conns = new Set<MemcacheConnection>();
  readonly counters: MemcacheCounters = { commands: new Map(), connectionsTotal: 0, connectionsCurrent: 0 };
  private nextId = 1;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly server: FrontDoorServer) {
    server.acl.onChange((user, deleted) => followUserChanges(user, deleted, this.conns));
  }

  accept(sock: net.Socket): void {
    this.counters.connectionsTotal++;
    // Every socket has an error handler from its first moment: without one, a client that resets
    // (SO_LINGER 0) a connection refused below would end the process with an unhandled 'error'.
    sock.on('error', () => sock.destroy());
    // maxclients is one limit for the process, as in Redis: every door's connections count.
    if (this.server.connectionsOpen() >= this.server.config.values.maxclients) {
      // memcached's reply at its connection limit; the socket is destroyed once it is written
      // (a refused client is never read, and its FIN is not waited for).
      sock.end('ERROR Too many open connections\r\n', () => sock.destroy());
      return;
    }
    sock.setNoDelay(true);
    const conn = new MemcacheConnection(this.nextId++, sock, this);
    this.conns.add(conn);
    this.counters.connectionsCurrent = this.conns.size;
  }

  /** Clients with a request held by the failover write pause: their later requests queue behind
   * it, so that each connection's requests still run in its order. */
  private readonly held = new Map<MemcacheClient, Array<() => void>>();

  sendToShard(client: MemcacheClient, seq: number, args: ArgList, keyArg: number): void {
    const queue = this.held.get(client);
    if (queue !== undefined) {
      const copy = copyArgList(args);
      queue.push(() => this.sendToShard(client, seq, copy, keyArg));
      return;
    }
    // The same admission as RESP's, with the request's traits from its opcode.
    const verdict = admit(client, memcacheTraits(args), this.server.admissionState);
    if (verdict === HOLD) {
      const copy = copyArgList(args);
      const waiting: Array<() => void> = [() => this.sendToShard(client, seq, copy, keyArg)];
      this.held.set(client, waiting);
      this.server.whenWritesResume(() => {
        this.held.delete(client);
        for (const run of waiting) run();
        this.server.publishRequests();
      });
      return;
    }
    if (verdict !== null) {
      client.refuse(seq, verdict, args);
      return;
    }
    // The ACL, as the Redis command the request amounts to, with its key.
    const denial = doorCheck(this.server.acl, client.user, client, memcacheChecked(args), args.buf, args.off[keyArg]!, args.len[keyArg]!);
    if (denial !== null) {
      client.refuse(seq, denial.error, args, true);
      return;
    }
    // Cluster mode: a key of another node's slot, or of a slot moving away, is the server's to
    // forward or refuse.
    if (this.server.routeMemcache(client, seq, args, keyArg)) return;
    const s = this.server.shardOfKey(args.buf, args.off[keyArg]!, args.len[keyArg]!);
    this.server.links[s]!.send(client, seq, MC_CMD, 2, args, null);
  }

  flushAll(client: MemcacheClient, delaySeconds: number, done: (refusal: string | null) => void): void {
    const verdict = admit(client, FLUSH_TRAITS, this.server.admissionState);
    if (verdict === HOLD) {
      this.server.whenWritesResume(() => this.flushAll(client, delaySeconds, done));
      return;
    }
    if (verdict !== null) {
      done(verdict);
      return;
    }
    const denial = doorCheck(this.server.acl, client.user, client, AS_FLUSHALL, null, 0, -1);
    if (denial !== null) {
      done(denial.error);
      return;
    }
    const run = (after: () => void): void => {
      const links = this.server.links;
      let left = links.length;
      const sink: ReplySink = { deliver: () => (--left === 0 ? after() : undefined) };
      for (const l of links) l.send(sink, 0, MC_FLUSH_CMD, 2, MC_FLUSH_ARGS, null);
      this.server.publishRequests();
    };
    if (delaySeconds <= 0) {
      run(() => done(null));
      return;
    }
    const t = setTimeout(() => {
      this.timers.delete(t);
      run(() => undefined);
    }, delaySeconds * 1000);
    t.unref();
    this.timers.add(t);
    done(null);
  }

  async stats(): Promise<Array<[string, string]>> {
    const shards = await this.server.shardStats();
    const sum = (f: (s: ShardStatsReport) => number): number => shards.reduce((n, s) => n + f(s), 0);
    const nowMs = Date.now();
    const cmd = (name: string): number => this.counters.commands.get(name) ?? 0;
    const v = this.server.config.values;
    const pairs: Array<[string, number | string]> = [
      ['pid', process.pid],
      ['uptime', Math.floor((nowMs - this.server.startedAtMs) / 1000)],
      ['time', Math.floor(nowMs / 1000)],
      ['version', MEMCACHE_VERSION],
      ['pointer_size', 64],
      ['max_connections', v.maxclients],
      ['curr_connections', this.conns.size],
      ['total_connections', this.counters.connectionsTotal],
      ['cmd_get', cmd('get') + cmd('gat')],
      ['cmd_set', cmd('set') + cmd('add') + cmd('replace') + cmd('append') + cmd('prepend') + cmd('cas')],
      ['cmd_flush', cmd('flush')],
      ['cmd_touch', cmd('touch') + cmd('gat')],
      ['cmd_meta', cmd('meta')],
      ['get_hits', sum((s) => s.keyspaceHits)],
      ['get_misses', sum((s) => s.keyspaceMisses)],
      ['get_expired', sum((s) => s.expiredKeys)],
      ['store_too_large', cmd('too_large')],
      ['auth_errors', cmd('auth_error')],
      ['limit_maxbytes', v.maxmemory],
      ['threads', shards.length],
      ['bytes', sum((s) => s.usedMemory)],
      ['curr_items', sum((s) => s.keys)],
      ['evictions', sum((s) => s.evictedKeys)],
    ];
    return pairs.map(([k, x]) => [k, String(x)]);
  }

  publishRequests(): void {
    this.server.publishRequests();
  }

  get backlogged(): boolean {
    return this.server.backlogged;
  }

  maxItemBytes(): number {
    return this.server.config.values.memcacheMaxItemSize;
  }

  outputHardLimitBytes(): number {
    return this.server.config.values.clientOutputBufferLimitNormal.hardBytes;
  }

  dropped(conn: MemcacheConnection, reason: string): void {
    this.server.log.warn({ client: conn.id, door: 'memcached' }, `Client closed: ${reason}`);
  }

  defaultUser(): AclUser {
    return this.server.acl.defaultUser;
  }

  needsAuth(): boolean {
    return this.server.acl.defaultNeedsAuth;
  }

  authenticate(name: string, pass: string, client: MemcacheConnection): AclUser | null {
    return this.server.acl.authenticate(name, pass, client);
  }

  deniedNoKey(client: MemcacheConnection, _what: 'stats'): string | null {
    return doorCheck(this.server.acl, client.user, client, AS_INFO, null, 0, -1)?.error ?? null;
  }

  count(command: string): void {
    const m = this.counters.commands;
    m.set(command, (m.get(command) ?? 0) + 1);
  }

  closed(conn: MemcacheConnection): void {
    this.conns.delete(conn);
    this.counters.connectionsCurrent = this.conns.size;
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const c of [...this.conns]) c.kill();
  }
}

function listen(srv: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, host, () => {
      srv.off('error', reject);
      const addr = srv.address();
      resolve(addr && typeof addr === 'object' ? addr.port : port);
    });
  });
}

/** Opens the memcached and HTTP listeners on every bind address (a port of 0 = that door off). */
export async function startFrontDoors(server: FrontDoorServer): Promise<FrontDoors> {
  const v = server.config.values;
  const listeners: net.Server[] = [];
  const memcache = new MemcacheDoor(server);
  let memcachePort = 0;
  let http: HttpApi | null = null;
  try {
    if (v.memcachePort > 0) {
      for (const host of v.bind) {
        // allowHalfOpen: a client that sends its requests and shuts down its write side (nc,
        // a script) still gets every reply; the connection ends itself after the last one.
        if (v.memcacheTls) {
          // memcache-tls: the same port speaks TLS, with the RESP port's certificates (server-tls.ts).
          const tlsDoor = await server.tls.listen('memcached', v.memcachePort, host, (sock) => memcache.accept(sock));
          memcachePort = tlsDoor.port;
          listeners.push(tlsDoor.server);
          continue;
        }
        const srv = net.createServer({ noDelay: true, allowHalfOpen: true }, (sock) => memcache.accept(sock));
        memcachePort = await listen(srv, v.memcachePort, host);
        // After listen, an accept failure (EMFILE) is logged; the listener keeps serving.
        srv.on('error', (e) => server.log.warn({ err: e, door: 'memcached' }, 'memcached listener error'));
        listeners.push(srv);
      }
    }
    if (v.httpPort > 0) http = await startHttpApi(server, memcache.counters);
  } catch (e) {
    for (const s of listeners) s.close();
    throw e;
  }
  if (memcachePort > 0 || http) {
    server.log.info({ memcachePort, httpPort: http?.port ?? 0, memcacheTls: v.memcacheTls, httpTls: v.httpTls }, 'Front doors open (memcached, HTTP)');
  }
  return {
    memcachePort,
    httpPort: http?.port ?? 0,
    connections: () => memcache.conns.size + (http?.connections ?? 0),
    async close() {
      const closed = Promise.all(listeners.map((s) => new Promise<void>((r) => s.close(() => r()))));
      memcache.close();
      await Promise.all([closed, http?.close()]);
    },
  };
}
