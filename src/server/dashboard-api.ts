// The dashboard's JSON API on the HTTP port (docs/http-api.md): /v1/cluster, /v1/node,
// /v1/series, /v1/events and the rebalance plan are figures only and open, like /metrics;
// /v1/scan, /v1/key and /v1/slowlog reveal keys or arguments, so they log the request in as an
// ACL user (http-api.ts's credentials: 401 without valid ones) and run their Redis commands as
// that user (403 with the NOPERM text when denied); POST /v1/rebalance needs credentials and a
// user allowed CLUSTER SETSLOT. http-api.ts hands every path owns() claims to handle().
// Invariants: every answer is JSON; an error never escapes handle() (it answers 4xx/5xx); the
// sampler's timer is the only timer and close() stops it.

import type http from 'node:http';
import type { AclClientDescription, AclUser } from '../core/acl.js';
import { ERR } from '../core/errors.js';
import { admit, HOLD, type AdmissionCommand } from './admission.js';
import type { FrontDoorServer } from './front-door-server.js';
import { CommandDenied, CommandRunner, type Caller } from './dashboard-commands.js';
import { DashboardSampler } from './dashboard-sampler.js';
import { ClusterView, infoFields } from './dashboard-cluster.js';
import { KeyBrowser, KeyRouteError, SCAN_COUNT_MAX } from './dashboard-keys.js';
import { events, EVENTS_MAX } from '../observability/events.js';
import { SERIES_INTERVAL_MS, SERIES_MAX } from '../observability/series.js';
import { VERSION } from '../version.js';
import { RespError, type Resp } from '../protocol/resp-decode.js';
import { Rebalancer, RebalanceBusy, RebalanceRefused } from './dashboard-rebalance.js';

/** What the dashboard takes from http-api.ts: how a request logs in and describes itself. */
export interface DashboardHooks {
  /** The user the request's credentials log in as (null: none or wrong ones). */
  userOf(req: http.IncomingMessage, client: AclClientDescription): AclUser | null;
  clientOf(req: http.IncomingMessage, user: () => string): AclClientDescription;
  readonly wwwAuthenticate: string;
  /** The HTTP port (known once listening). */
  httpPort(): number;
}

export interface DashboardApi {
  /** The path is one of the dashboard's routes. */
  owns(path: string): boolean;
  /** Answers the request; resolves with the status sent. Never rejects. */
  handle(req: http.IncomingMessage, res: http.ServerResponse, path: string, query: string): Promise<number>;
  close(): void;
}

const ROUTES: ReadonlySet<string> = new Set([
  '/v1/cluster', '/v1/node', '/v1/series', '/v1/scan', '/v1/key', '/v1/slowlog', '/v1/events', '/v1/rebalance', '/v1/rebalance/plan',
]);
/** The figures-only routes, open like /metrics. */
const OPEN: ReadonlySet<string> = new Set(['/v1/cluster', '/v1/node', '/v1/series', '/v1/events', '/v1/rebalance', '/v1/rebalance/plan']);
const READ: AdmissionCommand = { runsWhileLoading: false, noAuth: false, write: false };
/** Most slow log entries one request returns (SLOWLOG GET's count). */
const SLOWLOG_COUNT_MAX = 1000;
const SCAN_COUNT_DEFAULT = 50;

class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): number {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
  return status;
}

/** A whole number query parameter in [min, max], or `dflt` when absent. */
function intParam(q: URLSearchParams, name: string, dflt: number, min: number, max: number): number {
  const raw = q.get(name);
  if (raw === null || raw === '') return dflt;
  if (!/^-?\d+$/.test(raw)) throw new ApiError(400, `${name} must be a whole number`);
  return Math.min(max, Math.max(min, Number(raw)));
}

function text(r: Resp): string {
  return Buffer.isBuffer(r) ? r.toString('utf8') : typeof r === 'string' ? r : String(r);
}

export function createDashboardApi(server: FrontDoorServer, hooks: DashboardHooks): DashboardApi {
  const api = server.api;
  const runner = new CommandRunner({ api, acl: server.acl, callForKey: (k, a) => server.callForKey(k, a) });
  const sampler = new DashboardSampler({ shardStats: () => server.shardStats(), commandsTotal: () => server.serverStats().totalCommandsProcessed });
  sampler.start();
  const cluster = new ClusterView(api, sampler, hooks.httpPort);
  const keys = new KeyBrowser(runner);
  const rebalancer = new Rebalancer(api);
  const nodeCaller: Caller = { user: null, client: { addr: '127.0.0.1:0', describe: () => 'id=0 addr=127.0.0.1:0 name=dashboard cmd=http' } };

  /** The request's logged-in user (admission first: loading, then credentials), or throws 401/503. */
  const login = (req: http.IncomingMessage): Caller => {
    let user: AclUser | null = null;
    const client = hooks.clientOf(req, () => user?.name ?? 'default');
    user = hooks.userOf(req, client);
    const verdict = admit({ authenticated: user !== null }, READ, server.admissionState);
    if (verdict === ERR.noAuth || user === null) {
      throw new ApiError(401, req.headers.authorization === undefined ? ERR.noAuth : ERR.wrongPass, { 'www-authenticate': hooks.wwwAuthenticate });
    }
    if (verdict !== null && verdict !== HOLD) throw new ApiError(503, verdict);
    return { user, client };
  };

  const nodeJson = async (): Promise<unknown> => {
    const info = infoFields(text(await runner.call(nodeCaller, ['INFO', 'everything'])));
    const report = sampler.lastReport ?? (await server.shardStats());
    const num = (k: string, d = 0): number => {
      const x = Number(info.get(k));
      return Number.isFinite(x) ? x : d;
    };
    const role = info.get('role') === 'slave' ? 'replica' : 'primary';
    const offset = num(role === 'replica' ? 'slave_repl_offset' : 'master_repl_offset');
    const replicas: Array<{ addr: string; state: string; offset: number; lagBytes: number; lagSeconds: number }> = [];
    for (const [k, v] of info) {
      if (!/^slave\d+$/.test(k)) continue;
      const f = new Map(v.split(',').map((p) => p.split('=') as [string, string]));
      const off = Number(f.get('offset') ?? 0);
      replicas.push({ addr: `${f.get('ip') ?? '?'}:${f.get('port') ?? '?'}`, state: f.get('state') ?? '', offset: off, lagBytes: Math.max(0, offset - off), lagSeconds: Number(f.get('lag') ?? 0) });
    }
    const latest = (i: number): ReturnType<DashboardSampler['node']['latest']> => sampler.shards[i]?.latest() ?? null;
    return {
      id: api.cluster?.myId ?? api.runId,
      version: VERSION.tessera,
      redisVersion: VERSION.redisCompat,
      uptimeSeconds: Math.floor((Date.now() - server.startedAtMs) / 1000),
      role,
      shards: report.map((s) => ({
        id: s.shardId,
        keys: s.keys,
        expires: s.expires,
        usedMemory: s.usedMemory,
        arenaBytes: s.arenaBytes,
        arenaFree: Math.max(0, s.arenaBytes - s.usedMemory),
        opsPerSec: latest(s.shardId)?.opsPerSec ?? 0,
        p50Us: latest(s.shardId)?.p50Us ?? null,
        p99Us: latest(s.shardId)?.p99Us ?? null,
        p999Us: latest(s.shardId)?.p999Us ?? null,
        restarts: s.restarts,
      })),
      clients: { connected: num('connected_clients'), blocked: num('blocked_clients'), maxclients: num('maxclients') },
      memory: { used: num('used_memory'), rss: num('used_memory_rss'), peak: num('used_memory_peak'), maxmemory: num('maxmemory'), policy: info.get('maxmemory_policy') ?? '' },
      persistence: {
        lastSaveTime: num('rdb_last_save_time'),
        lastSaveStatus: info.get('rdb_last_bgsave_status') ?? 'ok',
        changesSinceLastSave: num('rdb_changes_since_last_save'),
        saveInProgress: num('rdb_bgsave_in_progress') === 1,
        aofEnabled: num('aof_enabled') === 1,
        aofSize: report.reduce((n, s) => n + s.persistence.aofBytes, 0),
        rewriteInProgress: num('aof_rewrite_in_progress') === 1,
        lastRewriteStatus: info.get('aof_last_bgrewrite_status') ?? 'ok',
      },
      replication: {
        role,
        offset,
        primary: role === 'replica' ? { addr: `${info.get('master_host') ?? ''}:${info.get('master_port') ?? ''}`, linkStatus: info.get('master_link_status') ?? 'down' } : null,
        replicas,
      },
    };
  };

  const slowlog = async (caller: Caller, count: number): Promise<unknown> => {
    const r = await runner.call(caller, ['SLOWLOG', 'GET', String(count)]);
    if (r instanceof RespError) {
      if (/^ERR unknown command/.test(r.message)) throw new ApiError(501, 'SLOWLOG is not available on this node');
      throw new ApiError(500, r.message);
    }
    return (Array.isArray(r) ? r : []).map((e) => {
      const f = Array.isArray(e) ? e : [];
      return {
        id: Number(f[0] ?? 0),
        time: Number(f[1] ?? 0),
        durationUs: Number(f[2] ?? 0),
        args: Array.isArray(f[3]) ? f[3].map(text) : [],
        client: text(f[4] ?? ''),
        clientName: text(f[5] ?? ''),
      };
    });
  };

  const route = async (req: http.IncomingMessage, res: http.ServerResponse, path: string, q: URLSearchParams): Promise<number> => {
    const method = req.method ?? 'GET';
    if (path === '/v1/rebalance' && method === 'POST') {
      const caller = login(req);
      const settings = rebalancer.settingsOf(q);
      try {
        return send(res, 202, await rebalancer.start(caller, runner, settings));
      } catch (e) {
        if (e instanceof RebalanceBusy) return send(res, 409, { error: e.message, rebalance: rebalancer.state() });
        if (e instanceof RebalanceRefused) return send(res, e.status, { error: e.message });
        throw e;
      }
    }
    if (method !== 'GET' && method !== 'HEAD') {
      throw new ApiError(405, `method ${method} not allowed`, { allow: path === '/v1/rebalance' ? 'GET, HEAD, POST' : 'GET, HEAD' });
    }
    const caller = OPEN.has(path) ? nodeCaller : login(req);
    switch (path) {
      case '/v1/cluster':
        return send(res, 200, await cluster.render());
      case '/v1/node':
        return send(res, 200, await nodeJson());
      case '/v1/series': {
        const seconds = intParam(q, 'seconds', SERIES_MAX, 1, SERIES_MAX);
        return send(res, 200, { intervalMs: SERIES_INTERVAL_MS, samples: sampler.node.since(Date.now() - seconds * 1000) });
      }
      case '/v1/events':
        return send(res, 200, events.since(intParam(q, 'since', 0, 0, Number.MAX_SAFE_INTEGER), intParam(q, 'limit', EVENTS_MAX, 1, EVENTS_MAX)));
      case '/v1/scan': {
        const count = intParam(q, 'count', SCAN_COUNT_DEFAULT, 1, SCAN_COUNT_MAX);
        const cursor = q.get('cursor') ?? '0';
        if (!/^\d+$/.test(cursor)) throw new ApiError(400, 'cursor must be a whole number');
        return send(res, 200, await keys.scan(caller, cursor, q.get('match') || '*', q.get('type') ?? '', count));
      }
      case '/v1/key': {
        const key = q.get('key');
        if (key === null || key === '') throw new ApiError(400, 'key is required');
        const k = await keys.key(caller, Buffer.from(key));
        if (k === null) throw new ApiError(404, 'no such key');
        return send(res, 200, k);
      }
      case '/v1/slowlog':
        return send(res, 200, await slowlog(caller, intParam(q, 'count', 128, 1, SLOWLOG_COUNT_MAX)));
      case '/v1/rebalance':
        return send(res, 200, rebalancer.state());
      case '/v1/rebalance/plan':
        try {
          return send(res, 200, await rebalancer.plan(rebalancer.settingsOf(q)));
        } catch (e) {
          if (e instanceof RebalanceRefused) return send(res, e.status, { error: e.message });
          throw e;
        }
      default:
        throw new ApiError(404, 'not found');
    }
  };

  return {
    owns: (path) => ROUTES.has(path),
    async handle(req, res, path, query) {
      try {
        return await route(req, res, path, new URLSearchParams(query));
      } catch (e) {
        if (res.headersSent) {
          res.destroy();
          return 500;
        }
        if (e instanceof ApiError) return send(res, e.status, { error: e.message }, e.headers);
        if (e instanceof CommandDenied) return send(res, 403, { error: e.message });
        if (e instanceof KeyRouteError) return send(res, e.status, { error: e.message });
        server.log.warn({ err: (e as Error).message, path }, 'dashboard API request failed');
        return send(res, 500, { error: (e as Error).message });
      }
    },
    close() {
      sampler.stop();
    },
  };
}
