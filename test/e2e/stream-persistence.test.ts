// Streams across restarts: the log (appendfsync always, then SIGKILL) and a snapshot (BGSAVE,
// then a start from it alone) bring back every entry, the last id, entries_added and
// max_deleted_entry_id, as XRANGE and XINFO STREAM FULL show them. Tessera only; temp dirs.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Redis } from 'ioredis';
import { withTimeout } from './harness.js';
import { bgsaveDone, cleanup, fileSize, infoNumber, ioClient, kill9, newestIncr, restartIn, shardOf, startIn, tempDir } from './persistence-helpers.js';

const TEST_TIMEOUT_MS = 40_000;
const p = suite('streams: persistence');
p.after.each(cleanup);

function t(name: string, fn: () => Promise<void>): void {
  p(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));
}

const KEYS = ['st:a', 'st:b', 'st:{c}', 'st:d'];

/** Streams with several nodes, deleted entries, a trimmed start and a moved last id. */
async function fill(c: Redis): Promise<void> {
  for (const [k, key] of KEYS.entries()) {
    const pl = c.pipeline();
    for (let i = 1; i <= 260 + 40 * k; i++) pl.xadd(key, `${i}-${k}`, 'f', `v${i}`, ...(i % 11 === 0 ? ['extra', 'x'.repeat(i % 50)] : []));
    await pl.exec();
    await c.xdel(key, `5-${k}`, `150-${k}`);
    await c.xtrim(key, 'MAXLEN', '~', 150);
  }
  await c.xsetid(KEYS[0]!, '9999-0', 'ENTRIESADDED', '5000', 'MAXDELETEDID', '200-0');
  await c.xtrim(KEYS[1]!, 'MINID', '250-1');
}

async function state(c: Redis): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const key of KEYS) out.push(await c.type(key), await c.call('XINFO', 'STREAM', key, 'FULL', 'COUNT', '0'));
  return out;
}

/** Compares states key by key, naming the first key that differs. */
function same(got: unknown[], want: unknown[]): void {
  for (let i = 0; i < want.length; i++) {
    const g = JSON.stringify(got[i]);
    const w = JSON.stringify(want[i]);
    if (g !== w) assert.unreachable(`${KEYS[i >> 1]} differs:\n got  ${g.slice(0, 600)}\n want ${w.slice(0, 600)}`);
  }
}

t('the log brings streams back after a SIGKILL', async () => {
  const dir = tempDir('stream-log');
  const s = await startIn(dir, ['--appendonly', 'yes', '--appendfsync', 'always']);
  const c = await ioClient(s);
  await fill(c);
  const before = await state(c);
  c.disconnect();
  await kill9(s);
  const again = await restartIn(s.port, dir, ['--appendonly', 'yes']);
  const c2 = await ioClient(again);
  same(await state(c2), before);
  // Writes go on from the restored last id.
  assert.is(await c2.xadd(KEYS[0]!, '*', 'after', 'restart') !== null, true);
});

t('the log records an XADD, XDEL or trim on a large stream as its entries, not the stream', async () => {
  const dir = tempDir('stream-delta');
  const s = await startIn(dir, ['--appendonly', 'yes', '--appendfsync', 'always']);
  const c = await ioClient(s);
  const key = 'st:big';
  for (let i = 1; i <= 5000; i += 500) {
    const pl = c.pipeline();
    for (let j = i; j < i + 500; j++) pl.xadd(key, `${j}-0`, 'field', `value-${j}`, 'n', String(j));
    await pl.exec();
  }
  const incr = newestIncr(dir, shardOf(key, 2)).path;
  const before = fileSize(incr);
  for (let j = 5001; j <= 5100; j++) await c.xadd(key, 'MAXLEN', '~', '4900', `${j}-0`, 'field', `value-${j}`, 'n', String(j));
  await c.xdel(key, '300-0', '301-0');
  const perCommand = (fileSize(incr) - before) / 101;
  // The stream's image is over 100 KB; an entry's record is a few dozen bytes.
  assert.ok(perCommand < 400, `${perCommand} bytes of log per command`);
  const want = await c.call('XINFO', 'STREAM', key, 'FULL', 'COUNT', '0');
  c.disconnect();
  await kill9(s);
  const again = await restartIn(s.port, dir, ['--appendonly', 'yes']);
  const c2 = await ioClient(again);
  assert.equal(await c2.call('XINFO', 'STREAM', key, 'FULL', 'COUNT', '0'), want);
});

t('a snapshot brings streams back', async () => {
  const dir = tempDir('stream-snap');
  const s = await startIn(dir);
  const c = await ioClient(s);
  await fill(c);
  const before = await state(c);
  const saves = await infoNumber(c, 'rdb_saves');
  await c.bgsave();
  await bgsaveDone(c, saves);
  c.disconnect();
  await s.stop();
  const again = await restartIn(s.port, dir);
  const c2 = await ioClient(again);
  same(await state(c2), before);
});

p.run();
