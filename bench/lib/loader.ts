// Bulk loader: SETs `count` keys over one raw socket in pipelined batches, awaiting each batch's
// replies before sending the next (bounded memory on both sides). Keys are "key:" + 12 digits
// (16 bytes, the same shape as redis-benchmark's), values a fixed number of bytes.

import { RespClient, encodeCommand } from './resp-client.js';

export interface LoadOptions {
  port: number;
  count: number;
  valueBytes: number;
  batch?: number;
}

export function benchKey(i: number): string {
  return `key:${String(i).padStart(12, '0')}`;
}

/** Loads the keys; throws on the first error reply. Returns the elapsed milliseconds. */
export async function loadKeys(opts: LoadOptions): Promise<number> {
  const batch = opts.batch ?? 1000;
  const value = Buffer.alloc(opts.valueBytes, 'v');
  const client = await RespClient.connect(opts.port);
  const started = Date.now();
  try {
    for (let first = 0; first < opts.count; first += batch) {
      const last = Math.min(first + batch, opts.count);
      const commands: Buffer[] = [];
      for (let i = first; i < last; i++) commands.push(encodeCommand(['SET', benchKey(i), value]));
      const replies = await client.pipeline(commands);
      const bad = replies.find((r) => r !== 'OK');
      if (bad !== undefined) throw new Error(`SET failed while loading: ${String(bad)}`);
    }
  } finally {
    client.close();
  }
  return Date.now() - started;
}
