// The dashboard's files on the HTTP port, without a browser: `/`, `/dashboard` and `/dashboard/`
// answer the page, its script and stylesheet (named by index.html) come with their content types,
// the hashed ones cached for a year and the page revalidated (ETag, 304), HEAD sends no body,
// unknown names and paths out of the folder are 404, other methods 405; the page is served with a
// password set too (it holds no secrets: the API asks for credentials).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTessera, type ServerHandle } from './harness.js';

const s = suite('dashboard assets');
let server: ServerHandle | null = null;
let locked: ServerHandle | null = null;

const get = (h: ServerHandle, path: string, init: RequestInit = {}): Promise<Response> =>
  fetch(`http://127.0.0.1:${h.httpPort}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });

s.before(async () => {
  server = await startTessera({ http: true, shards: 1 });
  locked = await startTessera({ http: true, shards: 1, args: ['--requirepass', 'dash-secret'] });
});

s.after(async () => {
  await server?.stop();
  await locked?.stop();
});

s('/, /dashboard and /dashboard/ answer the page, revalidated by its ETag', async () => {
  const h = server!;
  const bodies: string[] = [];
  for (const path of ['/', '/dashboard', '/dashboard/']) {
    const r = await get(h, path);
    assert.is(r.status, 200, path);
    assert.is(r.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.is(r.headers.get('cache-control'), 'no-cache');
    assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.is(r.headers.get('x-content-type-options'), 'nosniff');
    bodies.push(await r.text());
  }
  assert.ok(bodies.every((b) => b === bodies[0]));
  assert.match(bodies[0]!, /<script type="module" src="\/dashboard\/app-[A-Z0-9]+\.js">/);
  const first = await get(h, '/');
  const etag = first.headers.get('etag');
  assert.ok(etag !== null);
  await first.arrayBuffer();
  const again = await get(h, '/', { headers: { 'if-none-match': etag! } });
  assert.is(again.status, 304);
  assert.is((await again.text()).length, 0);
});

s('the script and stylesheet come with their types, immutable; HEAD has no body', async () => {
  const h = server!;
  const html = await (await get(h, '/')).text();
  const js = /src="(\/dashboard\/app-[A-Z0-9]+\.js)"/.exec(html)?.[1];
  const css = /href="(\/dashboard\/app-[A-Z0-9]+\.css)"/.exec(html)?.[1];
  assert.ok(js !== undefined && css !== undefined, html);
  for (const [path, type] of [[js!, 'text/javascript; charset=utf-8'], [css!, 'text/css; charset=utf-8'], ['/dashboard/favicon.svg', 'image/svg+xml']] as const) {
    const r = await get(h, path);
    assert.is(r.status, 200, path);
    assert.is(r.headers.get('content-type'), type, path);
    const body = Buffer.from(await r.arrayBuffer());
    assert.ok(body.length > 0);
    assert.is(Number(r.headers.get('content-length')), body.length);
    if (path !== '/dashboard/favicon.svg') assert.is(r.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    const head = await get(h, path, { method: 'HEAD' });
    assert.is(head.status, 200);
    assert.is(Number(head.headers.get('content-length')), body.length);
    assert.is((await head.arrayBuffer()).byteLength, 0);
  }
  // uPlot is in the bundle: nothing is fetched from elsewhere.
  const script = await (await get(h, js!)).text();
  assert.match(script, /uplot/);
  assert.not.match(html + script, /https?:\/\/(?!127\.0\.0\.1)[a-z0-9.-]+\.[a-z]{2,}\/[^"'\s]*\.(js|css)/i);
});

s('unknown names, paths out of the folder and other methods are refused', async () => {
  const h = server!;
  for (const path of ['/dashboard/nope.js', '/dashboard/../package.json', '/dashboard/%2e%2e/package.json', '/dashboard/app.ts', '/dashboard/sub/index.html']) {
    const r = await get(h, path);
    assert.is(r.status, 404, path);
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
    await r.text();
  }
  const post = await get(h, '/', { method: 'POST', body: 'x' });
  assert.is(post.status, 405);
  await post.text();
});

s('the page is served without credentials when a password is set; the API asks for them', async () => {
  const h = locked!;
  const page = await get(h, '/');
  assert.is(page.status, 200);
  await page.text();
  const scan = await get(h, '/v1/scan?cursor=0');
  assert.is(scan.status, 401);
  await scan.text();
});

s.run();
