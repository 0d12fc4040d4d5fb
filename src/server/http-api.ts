// The HTTP port: /health (liveness and readiness), /metrics (Prometheus text format) and a small
// REST API over the same keyspace: GET, PUT and DELETE /v1/keys/{key}. Requests for keys run as
// the RESP commands GET / SET / DEL on the key's shard (so an HTTP write is a RESP write: flags 0,
// a new CAS). Errors are JSON {"error": "..."} with a status code. When requirepass is set, the
// key API (reads too, as RESP requires AUTH before GET) needs `Authorization: Bearer <password>`.
// Bounds: a PUT body larger than proto-max-bulk-len is refused (413) without being buffered.

import http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { FrontDoorServer, MemcacheCounters } from './front-doors.js';
import { Metrics } from '../observability/metrics.js';

export interface HttpApi {
  readonly port: number;
  close(): Promise<void>;
}

const KEY_PREFIX = '/v1/keys/';
const HEALTH_TIMEOUT_MS = 1000;
/** Largest TTL accepted, seconds (Redis's EX limit keeps ms within int64; this keeps them exact). */
const TTL_MAX_S = Math.floor(Number.MAX_SAFE_INTEGER / 1000) - Math.ceil(Date.now() / 1000);

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
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

  const count = (route: string, status: number): void => {
    const k = `${route} ${status}`;
    requests.set(k, (requests.get(k) ?? 0) + 1);
  };

  const authorized = (req: http.IncomingMessage): boolean => {
    const pw = server.config.values.requirepass;
    if (pw === '') return true;
    const h = req.headers.authorization ?? '';
    const m = /^Bearer (.+)$/i.exec(h);
    if (!m) return false;
    const given = Buffer.from(m[1]!);
    const want = Buffer.from(pw);
    return given.length === want.length && timingSafeEqual(given, want);
  };

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
      const [shards, respCommands] = [await server.shardStats(), server.commandStats()];
      return metrics.render({
        uptimeSeconds: (Date.now() - server.startedAtMs) / 1000,
        server: server.serverStats(),
        shards,
        inFlight: server.links.map((l) => l.inFlight),
        respCommands,
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

  const readBody = (req: http.IncomingMessage, limit: number): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > limit) {
        reject(new HttpError(413, `value larger than proto-max-bulk-len (${limit} bytes)`));
        return;
      }
      const parts: Buffer[] = [];
      let n = 0;
      req.on('data', (c: Buffer) => {
        n += c.length;
        if (n > limit) {
          reject(new HttpError(413, `value larger than proto-max-bulk-len (${limit} bytes)`));
          req.destroy();
          return;
        }
        parts.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(parts, n)));
      req.on('error', reject);
    });

  const ttlOf = (url: URL, req: http.IncomingMessage): number | null => {
    const q = url.searchParams.get('ttl');
    const h = req.headers['x-ttl'];
    const raw = q ?? (typeof h === 'string' ? h : null);
    if (raw === null) return null;
    if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > TTL_MAX_S) {
      throw new HttpError(400, 'ttl must be a whole number of seconds, at least 1');
    }
    return Number(raw);
  };

  const keys = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<number> => {
    if (!authorized(req)) {
      throw new HttpError(401, 'authentication required: Authorization: Bearer <requirepass>', { 'www-authenticate': 'Bearer' });
    }
    let key: string;
    try {
      key = decodeURIComponent(url.pathname.slice(KEY_PREFIX.length));
    } catch {
      throw new HttpError(400, 'malformed key encoding');
    }
    if (key === '') throw new HttpError(400, 'empty key');
    const kb = Buffer.from(key);
    switch (req.method) {
      case 'GET':
      case 'HEAD': {
        const v = bulkOf(await server.callForKey(kb, ['GET', kb]));
        if (v === null) throw new HttpError(404, 'no such key');
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': v.length });
        res.end(req.method === 'HEAD' ? undefined : v);
        return 200;
      }
      case 'PUT': {
        const ttl = ttlOf(url, req);
        const body = await readBody(req, server.config.values.protoMaxBulkLen);
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

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const route = path === '/health' || path === '/health/ready' || path === '/health/live' || path === '/metrics' ? path : path.startsWith(KEY_PREFIX) ? KEY_PREFIX : 'other';
    let status: number;
    try {
      if (route === KEY_PREFIX) status = await keys(req, res, url);
      else if (req.method !== 'GET' && req.method !== 'HEAD') {
        throw new HttpError(405, `method ${req.method ?? ''} not allowed`, { allow: 'GET, HEAD' });
      } else if (route === '/metrics') status = await renderMetrics(res);
      else if (route === '/health' || route === '/health/ready') status = await health(res, false);
      else if (route === '/health/live') status = await health(res, true);
      else throw new HttpError(404, 'not found');
    } catch (e) {
      if (e instanceof HttpError) {
        status = e.status;
        sendJson(res, e.status, { error: e.message }, e.headers);
      } else {
        status = 500;
        server.log.error({ err: (e as Error).message }, 'HTTP request failed');
        if (!res.headersSent) sendJson(res, 500, { error: (e as Error).message });
        else res.destroy();
      }
    }
    count(route, status);
  };

  const srv = http.createServer((req, res) => void handle(req, res));
  srv.keepAliveTimeout = 5000;
  const v = server.config.values;
  const servers: http.Server[] = [];
  let port = v.httpPort;
  for (const host of v.bind) {
    const s = servers.length === 0 ? srv : http.createServer((req, res) => void handle(req, res));
    port = await new Promise<number>((resolve, reject) => {
      s.once('error', reject);
      s.listen(v.httpPort, host, () => {
        s.off('error', reject);
        const addr = s.address();
        resolve(addr && typeof addr === 'object' ? addr.port : v.httpPort);
      });
    });
    servers.push(s);
  }
  return {
    port,
    close: () =>
      Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((r) => {
              s.close(() => r());
              s.closeAllConnections();
            }),
        ),
      ).then(() => undefined),
  };
}
