// The logger: Redis loglevels mapped to pino levels, logfile written as JSON lines.
// (Lives beside the config tests because it is configured by loglevel and logfile.)

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger, pinoLevel } from '../../src/observability/logger.js';

test('Redis loglevels map onto pino levels', () => {
  assert.is(pinoLevel('debug'), 'debug');
  assert.is(pinoLevel('verbose'), 'debug');
  assert.is(pinoLevel('notice'), 'info');
  assert.is(pinoLevel('warning'), 'warn');
  assert.is(pinoLevel('nothing'), 'silent');
});

test('logfile receives records at or above the level', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'tessera-log-')), 'sub', 'server.log');
  const logger = createLogger({ loglevel: 'warning', logfile: file });
  logger.info('not written');
  logger.warn({ port: 1 }, 'written');
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  let text = '';
  for (let i = 0; i < 50 && text === ''; i++, await sleep(20)) {
    try { text = readFileSync(file, 'utf8'); } catch { /* not created yet */ }
  }
  const lines = text.trim().split('\n').map((l): unknown => JSON.parse(l));
  assert.is(lines.length, 1);
  assert.match(text, /"msg":"written"/);
  assert.match(text, /"port":1/);
});

test.run();
