// Shared by the in-process cluster bus tests: a free loopback port, and polling a condition with
// a deadline (never a fixed sleep).
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const a = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!a || typeof a !== 'object') throw new Error('no port');
  return a.port;
}

/** Waits until ok() holds, polling every pollMs; returns the ms it took, throws past deadlineMs. */
export async function until(what: string, deadlineMs: number, ok: () => boolean, pollMs = 20): Promise<number> {
  const started = Date.now();
  while (!ok()) {
    if (Date.now() - started > deadlineMs) throw new Error(`timed out after ${deadlineMs} ms waiting for: ${what}`);
    await sleep(pollMs);
  }
  return Date.now() - started;
}
