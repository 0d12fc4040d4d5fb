// Pipelined bulk loader for commands whose every reply is one line (SET's +OK, HSET's and SADD's
// integers): commands 0..count-1, built as RESP text by the caller, go over a few raw sockets in
// batches, and each batch's replies are awaited before the next write (memory bounded on both sides).

import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface LineLoadOptions {
  /** Sockets, each loading one contiguous range of the commands. */
  connections?: number;
  /** Commands per write. */
  batch?: number;
  /** The reply every command must get (SET: '+OK'); by default any line but an error. */
  expect?: string;
  /** Names the commands in the error thrown on a bad reply: `${what} failed while loading: ...`. */
  what?: string;
}

/**
 * Sends commands 0..count-1 (`build(i)`, latin1 RESP text) and awaits every reply; throws on the
 * first bad reply (see LineLoadOptions.expect) or a lost connection. Returns the elapsed milliseconds.
 */
export async function loadCommands(port: number, count: number, build: (i: number) => string, opts: LineLoadOptions = {}): Promise<number> {
  const connections = opts.connections ?? 4;
  const started = performance.now();
  const per = Math.ceil(count / connections);
  const jobs: Array<Promise<void>> = [];
  for (let c = 0; c < connections; c++) {
    const first = c * per;
    const last = Math.min(count, first + per);
    if (first < last) jobs.push(loadRange(port, first, last, build, opts));
  }
  await Promise.all(jobs);
  return performance.now() - started;
}

async function loadRange(port: number, first: number, last: number, build: (i: number) => string, opts: LineLoadOptions): Promise<void> {
  const batch = opts.batch ?? 1000;
  const what = opts.what ?? 'command';
  const expect = opts.expect;
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
  socket.setNoDelay(true);
  let pending = 0;
  let carry = '';
  let wake: ((err?: Error) => void) | null = null;
  let failure: Error | null = null;
  socket.on('data', (chunk: Buffer) => {
    const text = carry + chunk.toString('latin1');
    let at = 0;
    while (true) {
      const end = text.indexOf('\r\n', at);
      if (end < 0) break;
      if (failure === null) {
        const bad = expect === undefined ? text[at] === '-' : text.slice(at, end) !== expect;
        if (bad) failure = new Error(`${what} failed while loading: ${text.slice(at, end)}`);
      }
      at = end + 2;
      pending--;
    }
    carry = text.slice(at);
    if ((pending === 0 || failure !== null) && wake) {
      const w = wake;
      wake = null;
      w(failure ?? undefined);
    }
  });
  socket.on('error', (err) => {
    failure = err;
    wake?.(err);
  });
  socket.on('close', () => {
    failure ??= new Error('connection closed while loading');
    wake?.(failure);
  });
  try {
    for (let i = first; i < last; i += batch) {
      const end = Math.min(last, i + batch);
      let text = '';
      for (let k = i; k < end; k++) text += build(k);
      pending += end - i;
      const done = new Promise<void>((resolve, reject) => {
        wake = (err) => (err ? reject(err) : resolve());
      });
      socket.write(text, 'latin1');
      await done;
    }
  } finally {
    socket.destroy();
  }
}
