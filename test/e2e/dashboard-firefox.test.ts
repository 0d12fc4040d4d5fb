// The dashboard in Firefox: Debian's headless `firefox-esr`, driven by puppeteer-core over
// WebDriver BiDi (playwright needs its own patched Firefox; puppeteer drives a stock one), against
// a three-node `tessera cluster local` with an HTTP port per node. Every view loads its data with
// no console error, uncaught exception or error box; the Cluster view shows three nodes and draws
// all 16384 slots; the Live chart gains points; the key browser finds and previews a key written
// by redis-cli; the sign-in <dialog> works with a password set; at a phone's width (390 px) no
// view overflows sideways. Screenshots go to an artifacts folder the test prints.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { redisCli, requireTool } from './harness.js';
import { DESKTOP, DashboardCluster, NODES, PHONE, STEP_MS, VIEWS, apiJson, artifactsDir, ownerOf, startLocked, type ApiNode } from './dashboard-helpers.js';

const FIREFOX = process.env['FIREFOX_PATH'] ?? '/usr/bin/firefox-esr';
const KEY = 'dashboard:firefox:key';
const VALUE = 'written-by-redis-cli';
/** A selector that exists once each view has shown its node's data (its first refresh ended). */
const LOADED: Record<(typeof VIEWS)[number], string> = {
  cluster: 'canvas.slot-map[data-slots-assigned="16384"]',
  node: '#shards-table tbody tr',
  live: '#chart-ops .uplot',
  keys: '#keys-list > *',
  logs: '#slowlog table, #slowlog p',
  rebalance: '#rebalance-state-text',
};

const s = suite('dashboard in Firefox');
// Every test first awaits the cluster and the browser (started once): a missing tool fails each
// test with its message (an error thrown in uvu's before hook would be lost).
const t = (name: string, fn: () => Promise<void>): void =>
  s(name, async () => {
    await (setup ??= start());
    await fn();
  });
let setup: Promise<void> | undefined;

const tmpRoot = mkdtempSync(join(tmpdir(), 'tessera-dashboard-firefox-'));
const cluster = new DashboardCluster(tmpRoot);
let artifacts = '';
let browser: Browser | null = null;
/** Console errors and uncaught exceptions of every page, with the page's URL. */
const pageErrors: string[] = [];

async function start(): Promise<void> {
  if (!existsSync(FIREFOX)) {
    throw new Error(`Firefox is needed by this test and was not found at ${FIREFOX}: install Debian's firefox-esr (.ci/run does) or set FIREFOX_PATH`);
  }
  requireTool('redis-cli', ['--version'], 'redis-tools');
  artifacts = artifactsDir('dashboard-firefox');
  await cluster.start();
  browser = await puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX, headless: true, timeout: STEP_MS });
  console.log(`browser: ${await browser.version()}`);
}

s.after(async () => {
  await browser?.close().catch(() => undefined);
  await cluster.stop();
  rmSync(tmpRoot, { recursive: true, force: true });
});

async function openPage(view: string, port = cluster.httpBase, viewport = DESKTOP): Promise<Page> {
  if (browser === null) throw new Error('no browser');
  const page = await browser.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on('console', (m) => {
    // (The message's own URL: over BiDi, page.url() can still read about:blank while the page loads.)
    if (m.type() === 'error') pageErrors.push(`${m.location().url ?? page.url()}: console: ${m.text()}`);
  });
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: uncaught: ${e instanceof Error ? e.message : String(e)}`));
  await page.setViewport(viewport);
  await page.goto(`http://127.0.0.1:${port}/#${view}`);
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(artifacts, `${name}.png`) as `${string}.png`, fullPage: true });
}

/** The value of a JS expression in the page (a string: this file is compiled without the DOM's types). */
async function inPage<T>(page: Page, expr: string): Promise<T> {
  return (await page.evaluate(expr)) as T;
}

/** Shows view `v` by its tab and waits until it has its node's data and no error box. */
async function showView(page: Page, v: (typeof VIEWS)[number]): Promise<void> {
  await page.click(`#tab-${v}`);
  await page.waitForSelector(`#view-${v}:not([hidden])`);
  await page.waitForSelector(`#view-${v} :is(${LOADED[v]})`);
  const errors = await inPage<string[]>(page, `[...document.querySelectorAll('#view-${v} .error')].map((e) => e.textContent)`);
  assert.equal(errors, [], `#${v} shows errors`);
}

function assertNoPageErrors(): void {
  assert.equal(pageErrors, [], `the page logged errors:\n${pageErrors.join('\n')}`);
}

t('the page loads in Firefox with no errors, shows 3 nodes and 16384 slots', async () => {
  const page = await openPage('cluster');
  try {
    await page.waitForSelector('[data-node-count="3"]');
    await page.waitForSelector('[data-cluster-state="ok"]');
    await page.waitForSelector('canvas.slot-map[data-slots-assigned="16384"]');
    assert.is(await inPage<string | null>(page, "document.querySelector('canvas.slot-map').dataset.slotsDrawn"), '16384');
    assert.is(await inPage<number>(page, "document.querySelectorAll('#nodes-table tbody tr.node-row').length"), NODES);
    const text = await inPage<string>(page, "document.querySelector('#nodes-table').innerText");
    for (let i = 0; i < NODES; i++) assert.ok(text.includes(`:${cluster.basePort + i}`), text);
    await shot(page, 'cluster');
    assertNoPageErrors();
  } finally {
    await page.close();
  }
});

t('every view loads its data with no console error or error box', async () => {
  const page = await openPage('cluster');
  try {
    for (const v of VIEWS) {
      await showView(page, v);
      await shot(page, v);
    }
    // Back to the first: a view shown again refreshes as before.
    await showView(page, 'cluster');
    assertNoPageErrors();
  } finally {
    await page.close();
  }
});

t('the live chart gains points', async () => {
  const page = await openPage('live');
  try {
    const points = (): Promise<number> => inPage<number>(page, "Number(document.querySelector('#chart-ops')?.dataset.points ?? 0)");
    await page.waitForFunction("Number(document.querySelector('#chart-ops')?.dataset.points ?? 0) > 0", { polling: 100 });
    const first = await points();
    await page.waitForFunction(`Number(document.querySelector('#chart-ops').dataset.points) >= ${first + 3}`, { polling: 100 });
    // uPlot drew into its canvas (a canvas of the chart's size, not the empty placeholder).
    const [w, h] = await inPage<[number, number]>(page, "(() => { const c = document.querySelector('#chart-ops canvas'); return [c.width, c.height]; })()");
    assert.ok(w > 0 && h > 0, `chart canvas ${w} x ${h}`);
    await shot(page, 'live');
    assertNoPageErrors();
  } finally {
    await page.close();
  }
});

t('the key browser finds a key written by redis-cli and previews it', async () => {
  const w = await redisCli(['-c', '-p', String(cluster.basePort), 'SET', KEY, VALUE]);
  assert.is(w.stdout.trim(), 'OK', w.stdout + w.stderr);
  const slot = Number((await redisCli(['-p', String(cluster.basePort), 'CLUSTER', 'KEYSLOT', KEY])).stdout.trim());
  const { nodes } = await apiJson<{ nodes: ApiNode[] }>(cluster.httpBase, '/v1/cluster');
  const owner = ownerOf(nodes, slot);
  const page = await openPage('keys', cluster.httpBase + owner.port - cluster.basePort);
  try {
    await page.locator('#keys-pattern').fill('dashboard:firefox:*');
    await page.select('#keys-type', 'string');
    await page.click('#keys-form button[type=submit]');
    await page.click(`button.key-link[data-key="${KEY}"]`);
    await page.waitForFunction(`document.querySelector('#key-preview')?.textContent.includes(${JSON.stringify(VALUE)})`, { polling: 100 });
    assert.match(await inPage<string>(page, "document.querySelector('#key-detail').innerText"), /string/);
    await shot(page, 'keys-preview');
    assertNoPageErrors();
  } finally {
    await page.close();
  }
});

t('with a password set, the sign-in dialog takes credentials and the page uses them', async () => {
  const password = 'dash-board-pass';
  const locked = await startLocked(password, KEY, VALUE);
  try {
    const page = await openPage('keys', locked.httpPort);
    try {
      await page.waitForSelector('dialog#login[open]');
      assert.match(await inPage<string>(page, "document.querySelector('dialog#login').innerText"), /NOAUTH/);
      await page.locator('dialog#login input[name=pass]').fill(password);
      await page.click('dialog#login button[type=submit]');
      await page.waitForSelector(`button.key-link[data-key="${KEY}"]`);
      const stored = await inPage<string | null>(page, "sessionStorage.getItem('tessera.dashboard.auth')");
      assert.is(stored, `Basic ${Buffer.from(`default:${password}`).toString('base64')}`);
      // A reload in the same tab asks no more.
      await page.reload();
      await page.waitForSelector(`button.key-link[data-key="${KEY}"]`);
      assert.is(await inPage<number>(page, "document.querySelectorAll('dialog#login').length"), 0);
      await shot(page, 'keys-signed-in');
    } finally {
      await page.close();
    }
    // Firefox may log the 401s before signing in as console errors: those of this node only.
    const port = `:${locked.httpPort}/`;
    const others = pageErrors.filter((e) => !(e.includes(port) && /\b401\b/.test(e)));
    pageErrors.length = 0;
    pageErrors.push(...others);
    assertNoPageErrors();
  } finally {
    await locked.stop();
  }
});

t('at a phone width (390 px) no view overflows sideways', async () => {
  const page = await openPage('cluster', cluster.httpBase, PHONE);
  try {
    assert.is(await inPage<number>(page, 'window.innerWidth'), PHONE.width);
    for (const v of VIEWS) {
      await showView(page, v);
      const [scroll, client] = await inPage<[number, number]>(page, '[document.documentElement.scrollWidth, document.documentElement.clientWidth]');
      assert.ok(scroll <= client, `#${v} is ${scroll} px wide in a ${client} px viewport`);
      await shot(page, `phone-${v}`);
    }
    assertNoPageErrors();
  } finally {
    await page.close();
  }
});

s.run();
