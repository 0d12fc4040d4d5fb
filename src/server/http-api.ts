// The HTTP port: /health (liveness and readiness), /metrics (Prometheus text format) and a small
// REST API over the same keyspace: GET, PUT and DELETE /v1/keys/{key}. Requests for keys run as
// the RESP commands GET / SET / DEL on the key's shard (so an HTTP write is a RESP write: flags 0,
// a new CAS). Errors are JSON {"error": "..."} with a status code. The key API logs each request
// in as an ACL user (`Authorization: Basic base64(user:pass)`, `Bearer user:pass`, or `Bearer
// <password>` for the default user; no header: the default user when it needs no password),
// before anything else of the request is read: 401 for none or wrong credentials, then 403 when
// the user may not run the route's Redis command on the key (GET, SET, DEL), as RESP would deny
// it (docs/security-doors.md).
// A GET of a hash or a set answers its JSON rendering (TESSERA.KEYJSON, made in the shard); a
// string's bytes come back as they are unless ?format=json or ?format=base64 asks for the JSON
// form. PUT replaces whatever the key holds (SET), DELETE deletes any type (DEL). Shapes in
// docs/doors-types.md and the README.
// Invariants: no request, however malformed, ends the process: every handler runs inside error
// handling that answers (4xx/5xx JSON) or closes only that connection, logged once. Memory per
// connection is bounded (header section, body up to proto-max-bulk-len, counted as it arrives)
// and so is time (HTTP_LIMITS); connections count against maxclients with every other door's.

import http from 'node:http';
import tls from 'node:tls';
import { HOLD, admit, type AdmissionCommand } from './admission.js';
import { ERR, GUARD_ERR } from '../core/errors.js';
import type net from 'node:net';
import type { AclClientDescription, AclUser } from '../core/acl.js';
import { AS_DEL, AS_GET, AS_SET, doorCheck } from './door-acl.js';
import { credentialsOf } from '../protocol/http-auth.js';
import type { FrontDoorServer, MemcacheCounters } from './front-door-server.js';
import { Metrics } from '../observability/metrics.js';
import { parseRequestTarget } from '../protocol/http-target.js';
import { createHttpListener, type HttpListenerHooks } from './http-listener.js';
import { isDashboardPath, serveDashboard } from './dashboard-assets.js';
import { httpRefusal } from './guard-doors.js';
import type { GuardClient } from './guard.js';
import { createDashboardApi } from './dashboard-api.js';

export interface HttpApi {
  readonly port: number;
  /** Open HTTP connections (counted against maxclients with every other door's). */
  readonly connections: number;
  close(): Promise<void>;
}

const KEY_PREFIX = '/v1/keys/';
/** The 401's challenges: Basic (any HTTP client) and Bearer (today's form, and `user:password`). */
const WWW_AUTHENTICATE = 'Basic realm="tessera", charset="UTF-8", Bearer realm="tessera"';
/** The key API's admission traits: GET and HEAD read, PUT and DELETE write. */
const KEY_READ: AdmissionCommand = { runsWhileLoading: false, noAuth: false, write: false };
const KEY_WRITE: AdmissionCommand = { runsWhileLoading: false, noAuth: false, write: true };
/** Routes counted under their own path in tessera_http_requests_total (keys under KEY_PREFIX). */
const ROUTES: ReadonlySet<string> = new Set(['/health', '/health/ready', '/health/live', '/metrics']);
const HEALTH_TIMEOUT_MS = 1000;
/** Body bytes read and dropped after a 413 before the connection is closed. */
const DISCARD_MAX_BYTES = 16 * 1024 * 1024;
/** Most requests of one connection queued or running; beyond it, reading that connection stops. */
const PIPELINE_MAX = 64;
/** Backstop for PIPELINE_MAX: a connection with this many requests queued is closed. */
const PIPELINE_HARD_MAX = 8192;
/** Largest TTL accepted, seconds (Redis's EX limit keeps ms within int64; this keeps them exact). */
const TTL_MAX_S = Math.floor(Number.MAX_SAFE_INTEGER / 1000) - Math.ceil(Date.now() / 1000);
/** Reads of a key whose type changes between GET and TESSERA.KEYJSON (a collection replaced by a
 * string): tries before the JSON rendering is answered as it is. */
const READ_TRIES_MAX = 3;
const WRONGTYPE_REPLY = Buffer.from('-WRONGTYPE ');
const STRING_DOC = Buffer.from('{"type":"string"');

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Resolves when `sock` has drained its write buffer, or closed. */
function drained(sock: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      sock.off('drain', done);
      sock.off('close', done);
      resolve();
    };
    sock.on('drain', done);
    sock.on('close', done);
  });
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** The bulk-string payload of a RESP reply: a Buffer, null for a nil, or throws on an error. */
function bulkOf(reply: Buffer): Buffer | null {
  if (reply[0] === 36) {
    const nl = reply.indexOf(13);
    const n = Number(reply.toString('latin1', 1, nl));
    return n < 0 ? null : reply.subarray(nl + 2, nl + 2 + n);
  }
  if (reply[0] === 95) return null; // RESP3 null
  throw new HttpError(500, reply.toString('utf8', 1).trim());
}

function startsWith(b: Buffer, prefix: Buffer): boolean {
  return b.length >= prefix.length && b.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

function integerOf(reply: Buffer): number {
  if (reply[0] === 58) return Number(reply.toString('latin1', 1).trim());
  throw new HttpError(500, reply.toString('utf8', 1).trim());
}

function checkReply(reply: Buffer): void {
  if (reply[0] === 45) {
    const text = reply.toString('utf8', 1).trim();
    throw new HttpError(text.startsWith('OOM') ? 507 : 500, text);
  }
}

export async function startHttpApi(server: FrontDoorServer, memcache: MemcacheCounters): Promise<HttpApi> {
  const metrics = new Metrics();
  const requests = new Map<string, number>();
  let scrape: Promise<unknown> = Promise.resolve();
  let connections = 0;
  // Requests that sent `Expect: 100-continue`: the PUT handler sends the 100 just before it reads.
  const continueWanted = new WeakSet<http.IncomingMessage>();
  // Per connection: its requests run one at a time, in order (see onRequest).
  const lanes = new WeakMap<object, { tail: Promise<void>; pending: number; paused: boolean }>();
  // Connections whose failure was logged already (a failure is logged once per connection).
  const failedLogged = new WeakSet<object>();
  // Per connection: its token buckets (guard.ts), made on its first limited request.
  const guardClients = new WeakMap<object, GuardClient>();
  const guardClientOf = (sock: object): GuardClient => {
    let c = guardClients.get(sock);
    if (c === undefined) guardClients.set(sock, (c = { guardBuckets: null }));
    return c;
  };

  const count = (route: string, status: number): void => {
    const k = `${route} ${status}`;
    requests.set(k, (requests.get(k) ?? 0) + 1);
  };

  /** ACL LOG's view of an HTTP request's client. */
  const clientOf = (req: http.IncomingMessage, user: () => string): AclClientDescription => {
    const sock = req.socket;
    const addr = `${sock.remoteAddress ?? '?'}:${sock.remotePort ?? 0}`;
    return {
      addr,
      describe: () => `id=0 addr=${addr} laddr=${sock.localAddress ?? '?'}:${sock.localPort ?? 0} fd=-1 name= age=0 idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=http user=${user()} redir=-1 resp=0`,
    };
  };

  /** The user the request's credentials log in as; with none, the default user when it needs no
   * password; null: not logged in (no, malformed or wrong credentials; the ACL logs a failure). */
  const userOf = (req: http.IncomingMessage, client: AclClientDescription): AclUser | null => {
    const h = req.headers.authorization;
    if (h === undefined) return server.acl.defaultNeedsAuth ? null : server.acl.defaultUser;
    const c = credentialsOf(h);
    return c === null ? null : server.acl.authenticate(c.user, c.pass, client);
  };

  // The dashboard's JSON API (/v1/cluster, /v1/node, ...: dashboard-api.ts).
  const dashboard = createDashboardApi(server, {
    userOf, clientOf, wwwAuthenticate: WWW_AUTHENTICATE, httpPort: () => port,
    rateLimited: (req, user) => (server.guard.limiting ? server.guard.request(guardClientOf(req.socket), user) : null),
  });

  const health = async (res: http.ServerResponse, live: boolean): Promise<number> => {
    if (live) {
      sendJson(res, 200, { status: 'ok' });
      return 200;
    }
    // Ready when every shard answers its control port in time.
    let timer: NodeJS.Timeout | undefined;
    try {
      const shards = await Promise.race([
        server.shardStats(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`shards did not answer within ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS);
        }),
      ]);
      sendJson(res, 200, {
        status: 'ok',
        uptimeSeconds: Math.floor((Date.now() - server.startedAtMs) / 1000),
        shards: shards.length,
        keys: shards.reduce((n, s) => n + s.keys, 0),
      });
      return 200;
    } catch (e) {
      sendJson(res, 503, { status: 'unavailable', error: (e as Error).message });
      return 503;
    } finally {
      clearTimeout(timer);
    }
  };

  const renderMetrics = async (res: http.ServerResponse): Promise<number> => {
    const run = async (): Promise<string> => {
      const shards = await server.shardStats();
      return metrics.render({
        uptimeSeconds: (Date.now() - server.startedAtMs) / 1000,
        server: server.serverStats(),
        shards,
        inFlight: server.links.map((l) => l.inFlight),
        commands: server.mergedCommandStats(shards),
        memcacheCommands: memcache.commands,
        memcacheConnections: { current: memcache.connectionsCurrent, total: memcache.connectionsTotal },
        httpRequests: requests,
      });
    };
    // One scrape at a time: the metrics read the snapshot of the scrape being rendered.
    const p = scrape.then(run, run);
    scrape = p.catch(() => undefined);
    const text = await p;
    res.writeHead(200, { 'content-type': metrics.contentType });
    res.end(text);
    return 200;
  };

  /** The request body, refused with 413 as soon as it is known (declared length) or seen (bytes
   * received, for chunked bodies) to exceed `limit`: at most `limit` bytes are ever held. */
  const readBody = (req: http.IncomingMessage, res: http.ServerResponse, limit: number): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const tooLarge = (): HttpError => new HttpError(413, `value larger than proto-max-bulk-len (${limit} bytes)`, { connection: 'close' });
      const declared = req.headers['content-length'];
      if (declared !== undefined && Number(declared) > limit) {
        reject(tooLarge());
        return;
      }
      if (continueWanted.has(req)) res.writeContinue();
      const parts: Buffer[] = [];
      let n = 0;
      let over = false;
      req.on('data', (c: Buffer) => {
        n += c.length;
        if (over) {
          // A body that goes on well past the answer closes the connection.
          if (n - limit > DISCARD_MAX_BYTES) req.socket.destroy();
          return;
        }
        if (n > limit) {
          // Answer now, and keep reading and dropping the rest (a lingering close): closing at
          // once would make the client's next write meet a reset, which can lose the 413 it has
          // not read yet. The connection stays usable if the body ends.
          over = true;
          parts.length = 0;
          reject(new HttpError(413, `value larger than proto-max-bulk-len (${limit} bytes)`));
          return;
        }
        parts.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(parts, n)));
      req.on('error', reject);
    });

  const ttlOf = (query: URLSearchParams, req: http.IncomingMessage): number | null => {
    const q = query.get('ttl');
    const h = req.headers['x-ttl'];
    const raw = q ?? (typeof h === 'string' ? h : null);
    if (raw === null) return null;
    if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > TTL_MAX_S) {
      throw new HttpError(400, 'ttl must be a whole number of seconds, at least 1');
    }
    return Number(raw);
  };

  const keys = async (req: http.IncomingMessage, res: http.ServerResponse, rawPath: string, rawQuery: string): Promise<number> => {
    // Admission first (the same checks as RESP and memcached, credentials among them): nothing
    // else of a refused request is parsed or read.
    const traits = req.method === 'PUT' || req.method === 'DELETE' ? KEY_WRITE : KEY_READ;
    let user: AclUser | null = null;
    const client = clientOf(req, () => user?.name ?? 'default');
    user = userOf(req, client);
    for (;;) {
      const verdict = admit({ authenticated: user !== null }, traits, server.admissionState);
      if (verdict === null) break;
      if (verdict === HOLD) {
        // A manual failover pauses writes: this one runs when it ends, as a RESP write would.
        await new Promise<void>((resolve) => server.whenWritesResume(resolve));
        continue;
      }
      if (verdict === ERR.noAuth) {
        throw new HttpError(401, req.headers.authorization === undefined ? ERR.noAuth : ERR.wrongPass, { 'www-authenticate': WWW_AUTHENTICATE });
      }
      // LOADING, READONLY, NOREPLICAS: Redis's text, as a temporary refusal.
      throw new HttpError(503, verdict);
    }
    // Tessera's request-rate limits (guard.ts), per connection and per user: one test when none is set.
    if (server.guard.limiting) {
      const limited = server.guard.request(guardClientOf(req.socket), user ?? undefined);
      if (limited !== null) throw new HttpError(429, limited);
    }
    let key: string;
    try {
      key = decodeURIComponent(rawPath.slice(KEY_PREFIX.length));
    } catch {
      throw new HttpError(400, 'malformed key encoding');
    }
    if (key === '') throw new HttpError(400, 'empty key');
    const kb = Buffer.from(key);
    // The ACL, as the Redis command the route amounts to, with the key (user is set: admitted).
    const as = req.method === 'PUT' ? AS_SET : req.method === 'DELETE' ? AS_DEL : AS_GET;
    if (user !== null && (req.method === 'GET' || req.method === 'HEAD' || req.method === 'PUT' || req.method === 'DELETE')) {
      const denial = doorCheck(server.acl, user, client, as, kb, 0, kb.length);
      if (denial !== null) throw new HttpError(403, denial.error);
    }
    switch (req.method) {
      case 'GET':
      case 'HEAD': {
        const format = new URLSearchParams(rawQuery).get('format');
        if (format !== null && format !== 'json' && format !== 'base64') throw new HttpError(400, 'format must be json or base64');
        for (let tries = 1; ; tries++) {
          if (format === null) {
            const r = await server.callForKey(kb, ['GET', kb]);
            if (!startsWith(r, WRONGTYPE_REPLY)) {
              const v = bulkOf(r);
              if (v === null) throw new HttpError(404, 'no such key');
              res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': v.length, 'x-key-type': 'string' });
              res.end(req.method === 'HEAD' ? undefined : v);
              return 200;
            }
          }
          const doc = bulkOf(await server.callForKey(kb, format === 'base64' ? ['TESSERA.KEYJSON', kb, 'BASE64'] : ['TESSERA.KEYJSON', kb]));
          if (doc === null) throw new HttpError(404, 'no such key');
          // Became a string since the GET: read it as a string again.
          if (format === null && startsWith(doc, STRING_DOC) && tries < READ_TRIES_MAX) continue;
          const type = doc.toString('latin1', 9, doc.indexOf(34, 9));
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': doc.length, 'x-key-type': type });
          res.end(req.method === 'HEAD' ? undefined : doc);
          return 200;
        }
      }
      case 'PUT': {
        const ttl = ttlOf(new URLSearchParams(rawQuery), req);
        const body = await readBody(req, res, server.config.values.protoMaxBulkLen);
        const args: Array<string | Buffer> = ['SET', kb, body];
        if (ttl !== null) args.push('EX', String(ttl));
        checkReply(await server.callForKey(kb, args));
        res.writeHead(204);
        res.end();
        return 204;
      }
      case 'DELETE': {
        if (integerOf(await server.callForKey(kb, ['DEL', kb])) === 0) throw new HttpError(404, 'no such key');
        res.writeHead(204);
        res.end();
        return 204;
      }
      default:
        throw new HttpError(405, `method ${req.method ?? ''} not allowed`, { allow: 'GET, HEAD, PUT, DELETE' });
    }
  };

  /** Answers one request; every error becomes a JSON answer, or closes this connection only. */
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    let route = 'other';
    let status: number;
    try {
      const target = parseRequestTarget(req.url ?? '');
      if (target === null) throw new HttpError(400, 'malformed request target', { connection: 'close' });
      const path = target.path;
      route = ROUTES.has(path) ? path : path.startsWith(KEY_PREFIX) ? KEY_PREFIX : 'other';
      if (route === KEY_PREFIX) status = await keys(req, res, path, target.query);
      else if (dashboard.owns(path)) status = await dashboard.handle(req, res, (route = path), target.query);
      else if (req.method !== 'GET' && req.method !== 'HEAD') {
        throw new HttpError(405, `method ${req.method ?? ''} not allowed`, { allow: 'GET, HEAD' });
      } else if (route === '/metrics') status = await renderMetrics(res);
      else if (route === '/health' || route === '/health/ready') status = await health(res, false);
      else if (route === '/health/live') status = await health(res, true);
      else if (isDashboardPath(path)) status = serveDashboard(req, res, path);
      else throw new HttpError(404, 'not found');
    } catch (e) {
      status = e instanceof HttpError ? e.status : 500;
      answerError(req, res, e);
    }
    count(route, status);
  };

  /** The error answer: an HttpError as its status; anything else is a bug, logged once per
   * connection, answered 500 with the connection closed (its state is unknown), or the
   * connection destroyed when a response had already begun. */
  const answerError = (req: http.IncomingMessage, res: http.ServerResponse, e: unknown): void => {
    if (!(e instanceof HttpError)) {
      const sock = req.socket;
      if (!failedLogged.has(sock)) {
        failedLogged.add(sock);
        server.log.error({ err: e instanceof Error ? e.stack ?? e.message : String(e), method: req.method, url: req.url }, 'HTTP request failed; closing its connection');
      }
    }
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    if (e instanceof HttpError) sendJson(res, e.status, { error: e.message }, e.headers);
    else sendJson(res, 500, { error: e instanceof Error ? e.message : String(e) }, { connection: 'close' });
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    // A stream error with no listener would be an uncaught exception: the peer went away, or a
    // write after the end; either way only this connection is concerned.
    req.on('error', () => req.socket.destroy());
    res.on('error', () => res.destroy());
    if (req.headers.expect !== undefined && /^100-continue$/i.test(req.headers.expect)) continueWanted.add(req);
    // Node parses pipelined requests as they arrive and emits each at once; run them one after
    // the other, as RESP does, so that `PUT k` then `GET k` on one connection reads the PUT.
    const sock = req.socket;
    let lane = lanes.get(sock);
    if (lane === undefined) {
      const l = { tail: Promise.resolve(), pending: 0, paused: false };
      // Node resumes the socket by itself (each response written, each request body read); while
      // the queue is over its bound, stop it again (synchronously, before any read can happen).
      sock.on('resume', () => {
        if (l.paused) sock.pause();
      });
      lanes.set(sock, l);
      lane = l;
    }
    const l = lane;
    l.pending++;
    if (l.pending > PIPELINE_MAX && !l.paused) {
      // Bound the requests queued per connection: stop reading until half have been answered.
      // The requests of the chunk being parsed still arrive, so the queue can pass PIPELINE_MAX
      // by one read's worth (64 KiB of requests); PIPELINE_HARD_MAX is a backstop, never reached
      // while the pause holds.
      l.paused = true;
      sock.pause();
    }
    if (l.pending > PIPELINE_HARD_MAX) {
      if (!failedLogged.has(sock)) {
        failedLogged.add(sock);
        server.log.warn({ pending: l.pending }, 'HTTP connection over its pipelined request bound; closing it');
      }
      sock.destroy();
    }
    const run = async (): Promise<void> => {
      // A client that does not read its answers: wait until the last one has left the socket's
      // buffer before making the next, so a connection holds about one answer (a GET of a large
      // value, at most proto-max-bulk-len), not all its queued ones; the idle timeout closes it
      // if it never reads.
      if (sock.writableNeedDrain) await drained(sock);
      if (sock.destroyed) return;
      await handle(req, res).catch((e: unknown) => {
        // Only reached if answering the error failed itself.
        try {
          answerError(req, res, e);
        } catch {
          sock.destroy();
        }
      });
    };
    l.tail = l.tail.then(run).finally(() => {
      l.pending--;
      if (l.paused && l.pending <= PIPELINE_MAX / 2) {
        l.paused = false;
        sock.resume();
      }
    });
  };

  const hooks: HttpListenerHooks = {
    log: server.log,
    // maxclients is one limit for the whole process, as in Redis: RESP, memcached and HTTP
    // connections together.
    mayAdmit: () => server.connectionsOpen() < server.config.values.maxclients,
    admitted: (delta) => {
      connections += delta;
    },
    rejected: (status) => count('rejected', status),
    refuse: (sock) => {
      const refusal = server.guard.refuseConnection(sock.remoteAddress);
      if (refusal === null) return null;
      count('rejected', refusal === GUARD_ERR.protectedMode ? 403 : 429);
      return httpRefusal(refusal);
    },
  };

  const v = server.config.values;
  const servers: http.Server[] = [];
  let port = v.httpPort;
  try {
    for (const host of v.bind) {
      const tlsContexts = v.httpTls ? server.tls.contexts : null;
      const s = createHttpListener(hooks, onRequest, tlsContexts?.server() ?? null);
      // https: reloads, tls-auth-clients and the session cache follow CONFIG SET (server-tls.ts).
      if (tlsContexts && s instanceof tls.Server) tlsContexts.adopt(s, server.tls.failureLogger('http'));
      servers.push(s);
      port = await new Promise<number>((resolve, reject) => {
        s.once('error', reject);
        s.listen(v.httpPort, host, () => {
          s.off('error', reject);
          // A listener error after the start (EMFILE on accept, say) is logged, not fatal.
          s.on('error', (err) => server.log.warn({ err: err.message }, 'HTTP listener error'));
          const addr = s.address();
          resolve(addr && typeof addr === 'object' ? addr.port : v.httpPort);
        });
      });
    }
  } catch (e) {
    for (const s of servers) s.close();
    dashboard.close();
    throw e;
  }
  return {
    port,
    get connections() {
      return connections;
    },
    close: () => {
      dashboard.close();
      return Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((r) => {
              s.close(() => r());
              s.closeAllConnections();
            }),
        ),
      ).then(() => undefined);
    },
  };
}
