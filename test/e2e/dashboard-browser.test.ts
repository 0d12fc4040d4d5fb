// The dashboard in a real browser: Debian's headless Chromium, driven by playwright-core, against
// a three-node `tessera cluster local` with an HTTP port per node. The page loads with no console
// errors, shows three nodes and all 16384 slots (a migrating one marked), its live charts grow
// while `tessera bench` runs, the key browser finds a key written by redis-cli, a rebalance
// started from the page (after `tessera cluster reshard` unbalanced the cluster) finishes with its
// progress shown, and at a phone's width (390 px) no view overflows sideways. With a password set
// (one more server), the page asks for credentials in its form, keeps them in sessionStorage and
// sends them.
// Screenshots go to an artifacts folder the test prints (TEST_ARTIFACTS_DIR, else under the OS
// tmpdir); with DASHBOARD_SCREENSHOT=1 the Live view's screenshot also replaces
// docs/images/dashboard.png (npm run dashboard:screenshot).

import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TESSERA_MAIN, redisCli, requireTool, waitFor, watchProcess } from './harness.js';
import { cliExpect } from './cluster-cli-helpers.js';
import { DESKTOP, DashboardCluster, NODES, PHONE, STEP_MS, VIEWS, apiJson as apiJsonAt, artifactsDir, ownerOf, startLocked, type ApiNode } from './dashboard-helpers.js';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const RESHARD_SLOTS = 600;
/** A slot the test opens (MIGRATING) and closes again. */
const MARKED_SLOT = 100;
const KEY = 'dashboard:browser:key';
const VALUE = 'written-by-redis-cli';
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const s = suite('dashboard in a browser');
// Every test first awaits the cluster and the browser (started once): a missing tool fails each
// test with its message (an error thrown in uvu's before hook would be lost).
const t = (name: string, fn: () => Promise<void>): void =>
  s(name, async () => {
    await (setup ??= start());
    await fn();
  });
let setup: Promise<void> | undefined;

const tmpRoot = mkdtempSync(join(tmpdir(), 'tessera-dashboard-'));
const cluster = new DashboardCluster(tmpRoot);
let artifacts = '';
let basePort = 0;
let httpBase = 0;
let browser: Browser | null = null;
/** Console errors and uncaught exceptions of every page, with the page's URL. */
const pageErrors: string[] = [];

const apiJson = <T>(path: string, port = httpBase): Promise<T> => apiJsonAt<T>(port, path);

async function openPage(view: string, port = httpBase, viewport = DESKTOP): Promise<Page> {
  if (browser === null) throw new Error('no browser');
  const page = await browser.newPage({ viewport });
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`${page.url()}: console: ${m.text()}`);
  });
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: uncaught: ${e.message}`));
  await page.goto(`http://127.0.0.1:${port}/#${view}`, { timeout: STEP_MS });
  return page;
}

async function shot(page: Page, name: string): Promise<string> {
  const path = join(artifacts, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

function assertNoPageErrors(): void {
  assert.equal(pageErrors, [], `the page logged errors:\n${pageErrors.join('\n')}`);
}

async function start(): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is needed by this test and was not found at ${CHROMIUM}: install Debian's chromium (.ci/run does) or set CHROMIUM_PATH`);
  }
  requireTool('redis-cli', ['--version'], 'redis-tools');
  artifacts = artifactsDir('dashboard');
  await cluster.start();
  ({ basePort, httpBase } = cluster);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'], timeout: STEP_MS });
}

s.after(async () => {
  await browser?.close().catch(() => undefined);
  await cluster.stop();
  rmSync(tmpRoot, { recursive: true, force: true });
});

t('the page loads with no console errors, shows 3 nodes and 16384 slots', async () => {
  const page = await openPage('cluster');
  try {
    await page.waitForSelector('[data-node-count="3"]', { timeout: STEP_MS });
    await page.waitForSelector('[data-cluster-state="ok"]', { timeout: STEP_MS });
    assert.is(await page.locator('#nodes-table tbody tr.node-row').count(), NODES);
    const canvas = page.locator('canvas.slot-map');
    await page.waitForSelector('canvas.slot-map[data-slots-assigned="16384"]', { timeout: STEP_MS });
    assert.is(await canvas.getAttribute('data-slots-drawn'), '16384');
    // Every node's address is in the table.
    const text = await page.locator('#nodes-table').innerText();
    for (let i = 0; i < NODES; i++) assert.ok(text.includes(`:${basePort + i}`), text);
    // Every view opens without an error.
    for (const v of VIEWS) {
      await page.click(`#tab-${v}`);
      await page.waitForSelector(`#view-${v}:not([hidden])`, { timeout: STEP_MS });
    }
    await page.click('#tab-cluster');
    await shot(page, 'cluster');
    assertNoPageErrors();
  } finally {
    await page.close();
  }
});

t('a migrating slot is marked on its owner\'s slot map', async () => {
  const { nodes } = await apiJson<{ nodes: ApiNode[] }>('/v1/cluster');
  const owner = ownerOf(nodes, MARKED_SLOT);
  const other = nodes.find((n) => n.role === 'primary' && n.id !== owner.id);
  if (other === undefined) throw new Error('no second primary');
  const setslot = async (...args: string[]): Promise<void> => {
    const r = await redisCli(['-p', String(owner.port), 'CLUSTER', 'SETSLOT', String(MARKED_SLOT), ...args]);
    assert.is(r.stdout.trim(), 'OK', r.stdout + r.stderr);
  };
  await setslot('MIGRATING', other.id);
  const page = await openPage('cluster', httpBase + owner.port - basePort);
  try {
    await page.locator('.legend', { hasText: '1 migrating/importing' }).waitFor({ timeout: STEP_MS });
    assert.match(await page.locator('#nodes-table').innerText(), /\(1 moving\)/);
    await shot(page, 'cluster-migrating');
    assertNoPageErrors();
  } finally {
    await page.close();
    await setslot('STABLE');
  }
});

t('the live charts grow while tessera bench runs', async () => {
  const page = await openPage('live');
  const bench = spawn(process.execPath, [TESSERA_MAIN, 'bench', '-p', String(basePort), '--cluster', '-c', '4', '-P', '4', '-r', '2000', '--duration', '4', '-t', 'set,get', '-q'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const b = watchProcess(bench, 'tessera bench', 5_000);
  try {
    const points = async (): Promise<number> => Number((await page.locator('#chart-ops').getAttribute('data-points')) ?? 0);
    await waitFor('the ops chart to have points', async () => (await points()) > 0, STEP_MS);
    const first = await points();
    await waitFor('the ops chart to grow by 3 points', async () => (await points()) >= first + 3, STEP_MS);
    // The bench's load shows in the node's series (and so in the chart's data).
    await waitFor('a sample with operations', async () => {
      const r = await apiJson<{ samples: Array<{ opsPerSec: number }> }>('/v1/series?seconds=30');
      return r.samples.some((x) => x.opsPerSec > 0);
    }, STEP_MS);
    await waitFor('bench to finish', () => b.gone(), STEP_MS);
    assert.is(bench.exitCode, 0, b.output());
    assert.ok((await points()) > first, 'the chart stopped growing');
    const path = await shot(page, 'live');
    if (process.env['DASHBOARD_SCREENSHOT'] === '1') {
      mkdirSync(join(REPO_ROOT, 'docs', 'images'), { recursive: true });
      copyFileSync(path, join(REPO_ROOT, 'docs', 'images', 'dashboard.png'));
      console.log('docs/images/dashboard.png updated');
    }
    assertNoPageErrors();
  } finally {
    await b.stop();
    await page.close();
  }
});

t('the key browser finds a key written by redis-cli', async () => {
  const w = await redisCli(['-c', '-p', String(basePort), 'SET', KEY, VALUE]);
  assert.is(w.stdout.trim(), 'OK', w.stdout + w.stderr);
  const slot = Number((await redisCli(['-p', String(basePort), 'CLUSTER', 'KEYSLOT', KEY])).stdout.trim());
  const { nodes } = await apiJson<{ nodes: ApiNode[] }>('/v1/cluster');
  const owner = ownerOf(nodes, slot);
  // The key is on the node that owns its slot: its own dashboard lists it (node i of cluster
  // local serves HTTP on httpBase + i).
  const page = await openPage('keys', httpBase + owner.port - basePort);
  try {
    await page.fill('#keys-pattern', 'dashboard:browser:*');
    await page.selectOption('#keys-type', 'string');
    await page.click('#keys-form button[type=submit]');
    const link = page.locator(`button.key-link[data-key="${KEY}"]`);
    await link.waitFor({ timeout: STEP_MS });
    await link.click();
    await page.locator('#key-preview', { hasText: VALUE }).waitFor({ timeout: STEP_MS });
    const detail = await page.locator('#key-detail').innerText();
    assert.match(detail, /string/);
    await shot(page, 'keys');
    assertNoPageErrors();
  } finally {
    await page.close();
  }
});

t('a rebalance started from the page finishes with its progress shown', async () => {
  const { nodes } = await apiJson<{ nodes: ApiNode[] }>('/v1/cluster');
  const primaries = nodes.filter((n) => n.role === 'primary');
  const [from, to] = [primaries[0], primaries[1]];
  if (from === undefined || to === undefined) throw new Error('fewer than two primaries');
  await cliExpect(0, ['reshard', `127.0.0.1:${basePort}`, '--from', from.id, '--to', to.id, '--slots', String(RESHARD_SLOTS), '--yes']);
  const page = await openPage('rebalance');
  try {
    const start = page.locator('#rebalance-start');
    await page.locator('#rebalance-total', { hasText: 'slots to move' }).waitFor({ timeout: STEP_MS });
    await shot(page, 'rebalance-plan');
    assert.ok(await start.isEnabled());
    // The progress as the page shows it, read while the rebalance runs.
    const seen: string[] = [];
    await start.click();
    await waitFor('the rebalance to finish on the page', async () => {
      const state = await page.locator('#view-rebalance').getAttribute('data-state');
      const moved = await page.locator('#rebalance-moved').innerText().catch(() => '');
      if (seen.at(-1) !== `${state} ${moved}`) seen.push(`${state} ${moved}`);
      if (state === 'failed') throw new Error(`rebalance failed: ${await page.locator('#rebalance-state').innerText()}`);
      return state === 'done';
    }, 90_000, 200);
    // <progress>'s value and max reflect to its attributes.
    const progress = page.locator('#rebalance-progress');
    const [value, max] = [Number(await progress.getAttribute('value')), Number(await progress.getAttribute('max'))];
    assert.ok(max > 1, `progress max ${max}`);
    assert.is(value, max, `progress ${value} of ${max}; seen: ${seen.join(' | ')}`);
    assert.match(await page.locator('#rebalance-moved').innerText(), new RegExp(`^${max.toLocaleString('en-US')} / ${max.toLocaleString('en-US')} slots`));
    await shot(page, 'rebalance-done');
    console.log(`rebalance as the page showed it: ${seen.join(' | ')}`);
    // The cluster is even again: every primary within the plan's threshold, all slots covered.
    const after = await apiJson<{ slotsAssigned: number; state: string }>('/v1/cluster');
    assert.is(after.slotsAssigned, 16384);
    assertNoPageErrors();
  } finally {
    await page.close();
  }
});

t('at a phone width (390 px) no view overflows sideways', async () => {
  const page = await openPage('cluster', httpBase, PHONE);
  try {
    await page.waitForSelector('[data-node-count="3"]', { timeout: STEP_MS });
    for (const v of VIEWS) {
      await page.click(`#tab-${v}`);
      await page.waitForSelector(`#view-${v}:not([hidden])`, { timeout: STEP_MS });
      if (v === 'live') await page.waitForSelector('#chart-ops .uplot', { timeout: STEP_MS });
      // (A string: this file is compiled without the DOM's types.)
      const [scroll, client] = (await page.evaluate('[document.documentElement.scrollWidth, document.documentElement.clientWidth]')) as [number, number];
      assert.ok(scroll <= client, `#${v} is ${scroll} px wide in a ${client} px viewport`);
      await shot(page, `phone-${v}`);
    }
    assertNoPageErrors();
  } finally {
    await page.close();
  }
});

t('with a password set, the page asks for credentials, keeps them for the tab and uses them', async () => {
  const password = 'dash-board-pass';
  const locked = await startLocked(password, KEY, VALUE);
  try {
    const page = await openPage('keys', locked.httpPort);
    try {
      const form = page.locator('dialog#login');
      await form.waitFor({ timeout: STEP_MS });
      assert.match(await form.innerText(), /NOAUTH/);
      // Cancelled: the view shows the refusal and the page does not ask again by itself...
      await page.click('dialog#login button[value=cancel]');
      await page.locator('#view-keys .error', { hasText: 'NOAUTH' }).waitFor({ timeout: STEP_MS });
      const signIn = page.locator('#sign-in');
      await signIn.waitFor({ state: 'visible', timeout: STEP_MS });
      assert.is(await form.count(), 0);
      // ...until Sign in is clicked.
      await signIn.click();
      await form.waitFor({ timeout: STEP_MS });
      await page.fill('dialog#login input[name=pass]', password);
      await page.click('dialog#login button[type=submit]');
      await page.locator(`button.key-link[data-key="${KEY}"]`).waitFor({ timeout: STEP_MS });
      const stored = (await page.evaluate("sessionStorage.getItem('tessera.dashboard.auth')")) as string | null;
      assert.is(stored, `Basic ${Buffer.from(`default:${password}`).toString('base64')}`);
      // A reload in the same tab asks no more.
      await page.reload();
      await page.locator(`button.key-link[data-key="${KEY}"]`).waitFor({ timeout: STEP_MS });
      assert.is(await form.count(), 0);
      await shot(page, 'keys-signed-in');
    } finally {
      await page.close();
    }
    // The 401s before signing in are the only console errors that page may log.
    const port = `:${locked.httpPort}/`;
    const expected = (e: string): boolean => e.includes(port) && /status of 401/.test(e);
    assert.ok(pageErrors.some(expected), 'the 401 was not seen');
    const others = pageErrors.filter((e) => !expected(e));
    pageErrors.length = 0;
    pageErrors.push(...others);
    assertNoPageErrors();
  } finally {
    await locked.stop();
  }
});

s.run();
