// Streams across restarts: the log (appendfsync always, then SIGKILL) and a snapshot (BGSAVE,
// then a start from it alone) bring back every entry, the last id, entries_added and
// max_deleted_entry_id, as XRANGE and XINFO STREAM FULL show them. Tessera only; temp dirs.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Redis } from 'ioredis';
import { withTimeout } from './harness.js';
import { bgsaveDone, cleanup, infoNumber, ioClient, kill9, restartIn, startIn, tempDir } from './persistence-helpers.js';

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
  assert.equal(await state(c2), before);
  // Writes go on from the restored last id.
  assert.is(await c2.xadd(KEYS[0]!, '*', 'after', 'restart') !== null, true);
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
  assert.equal(await state(c2), before);
});

p.run();
