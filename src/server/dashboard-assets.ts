// Serves the dashboard page on the HTTP port: `/`, `/dashboard` and `/dashboard/` answer its
// index.html, `/dashboard/NAME` the files scripts/build-dashboard.mjs wrote to dist/dashboard.
// Invariants: only files of that one folder are served (a name is looked up in the list read from
// it, never joined into a path), each read once and kept (the folder is a few small files fixed
// at build time); index.html is revalidated on every load, the hashed files are immutable.

import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import type http from 'node:http';
import { fileURLToPath } from 'node:url';

/** dist/dashboard, seen from dist/src/server/. */
const ASSET_DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url));
const PREFIX = '/dashboard/';
const INDEX = 'index.html';
/** Most files the folder may hold: a build writes about six; more means something else is there. */
const FILES_MAX = 64;
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  png: 'image/png',
  svg: 'image/svg+xml',
};
/** The page runs only its own script and talks only to this node's API. uPlot sets styles from
 * script (CSSOM), which style-src does not restrict; 'unsafe-inline' covers its style attributes. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};
/** Names esbuild gave a content hash (app-XXXXXXXX.js): never change, cached for a year. */
const HASHED = /-[A-Z0-9]{8,}\.(js|css|map|txt)$/;

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
  readonly cache: string;
}

let assets: Map<string, Asset> | null = null;

/** The built files, read on the first request; null while the page is not built (not cached:
 * a later build is picked up without a restart). */
function load(): Map<string, Asset> | null {
  if (assets !== null) return assets;
  let names: string[];
  try {
    names = readdirSync(ASSET_DIR);
  } catch {
    return null;
  }
  if (!names.includes(INDEX) || names.length > FILES_MAX) return null;
  const m = new Map<string, Asset>();
  for (const name of names) {
    const type = CONTENT_TYPES[name.slice(name.lastIndexOf('.') + 1)];
    if (type === undefined) continue;
    const body = readFileSync(ASSET_DIR + name);
    const etag = `"${createHash('sha1').update(body).digest('base64url').slice(0, 20)}"`;
    const cache = name === INDEX ? 'no-cache' : HASHED.test(name) ? 'public, max-age=31536000, immutable' : 'public, max-age=300';
    m.set(name, { body, type, etag, cache });
  }
  assets = m;
  return m;
}

/** Whether `path` is one of the page's routes (the HTTP API answers it with serveDashboard). */
export function isDashboardPath(path: string): boolean {
  return path === '/' || path === '/dashboard' || path.startsWith(PREFIX);
}

/** Answers a GET or HEAD of a dashboard route; returns the status sent. */
export function serveDashboard(req: http.IncomingMessage, res: http.ServerResponse, path: string): number {
  const files = load();
  const name = path.startsWith(PREFIX) && path.length > PREFIX.length ? path.slice(PREFIX.length) : INDEX;
  const asset = files?.get(name);
  if (asset === undefined) {
    const status = files === null ? 503 : 404;
    const text = JSON.stringify({ error: files === null ? 'the dashboard is not built: run npm run build' : 'not found' });
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(req.method === 'HEAD' ? undefined : text);
    return status;
  }
  const headers = { ...SECURITY_HEADERS, 'content-type': asset.type, 'cache-control': asset.cache, etag: asset.etag };
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers);
    res.end();
    return 304;
  }
  res.writeHead(200, { ...headers, 'content-length': asset.body.length });
  res.end(req.method === 'HEAD' ? undefined : asset.body);
  return 200;
}
