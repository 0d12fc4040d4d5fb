// Helpers for the memcached-protocol tests: a throwaway memcached 1.6 to compare with (killed by
// pid), binary request encoding and response parsing, and an exchange over a raw socket that ends
// when a condition on the received bytes holds, the peer closes, or a deadline passes (no sleeps).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { freePort, waitFor } from './harness.js';

export const OPS = {
  GET: 0x00, SET: 0x01, ADD: 0x02, REPLACE: 0x03, DELETE: 0x04, INCR: 0x05, DECR: 0x06, QUIT: 0x07,
  FLUSH: 0x08, GETQ: 0x09, NOOP: 0x0a, VERSION: 0x0b, GETK: 0x0c, GETKQ: 0x0d, APPEND: 0x0e,
  PREPEND: 0x0f, STAT: 0x10, SETQ: 0x11, ADDQ: 0x12, REPLACEQ: 0x13, DELETEQ: 0x14, INCRQ: 0x15,
  DECRQ: 0x16, QUITQ: 0x17, FLUSHQ: 0x18, APPENDQ: 0x19, PREPENDQ: 0x1a, VERBOSITY: 0x1b, TOUCH: 0x1c,
  GAT: 0x1d, GATQ: 0x1e, SASL_LIST: 0x20, SASL_AUTH: 0x21, GATK: 0x23, GATKQ: 0x24,
} as const;

export interface BinRequest {
  key?: string | Buffer;
  extras?: Buffer;
  value?: string | Buffer;
  opaque?: number;
  cas?: bigint;
  magic?: number;
}

export function bin(op: number, r: BinRequest = {}): Buffer {
  const k = Buffer.from(r.key ?? '');
  const e = r.extras ?? Buffer.alloc(0);
  const v = Buffer.from(r.value ?? '');
  const h = Buffer.alloc(24);
  h[0] = r.magic ?? 0x80;
  h[1] = op;
  h.writeUInt16BE(k.length, 2);
  h[4] = e.length;
  h.writeUInt32BE(e.length + k.length + v.length, 8);
  h.writeUInt32BE(r.opaque ?? 0x1234, 12);
  h.writeBigUInt64BE(r.cas ?? 0n, 16);
  return Buffer.concat([h, e, k, v]);
}

/** Extras of SET/ADD/REPLACE: flags, exptime. */
export function setExtras(flags: number, exptime: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(flags >>> 0, 0);
  b.writeUInt32BE(exptime >>> 0, 4);
  return b;
}

/** Extras of INCR/DECR: delta, initial, exptime (0xffffffff: do not create). */
export function deltaExtras(delta: bigint, initial: bigint, exptime: number): Buffer {
  const b = Buffer.alloc(20);
  b.writeBigUInt64BE(delta, 0);
  b.writeBigUInt64BE(initial, 8);
  b.writeUInt32BE(exptime >>> 0, 16);
  return b;
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export interface BinResponse {
  opcode: number;
  status: number;
  opaque: number;
  cas: bigint;
  extras: Buffer;
  key: string;
  value: Buffer;
  raw: Buffer;
}

/** The complete responses at the start of buf. */
export function parseBin(buf: Buffer): BinResponse[] {
  const out: BinResponse[] = [];
  let p = 0;
  while (p + 24 <= buf.length) {
    const bodyLen = buf.readUInt32BE(p + 8);
    if (p + 24 + bodyLen > buf.length) break;
    const keyLen = buf.readUInt16BE(p + 2);
    const extLen = buf[p + 4]!;
    const body = p + 24;
    out.push({
      opcode: buf[p + 1]!,
      status: buf.readUInt16BE(p + 6),
      opaque: buf.readUInt32BE(p + 12),
      cas: buf.readBigUInt64BE(p + 16),
      extras: buf.subarray(body, body + extLen),
      key: buf.toString('latin1', body + extLen, body + extLen + keyLen),
      value: buf.subarray(body + extLen + keyLen, body + bodyLen),
      raw: buf.subarray(p, body + bodyLen),
    });
    p = body + bodyLen;
  }
  return out;
}

/** The responses with their CAS fields zeroed (CAS values differ between servers). */
export function maskCas(buf: Buffer): Buffer {
  const copy = Buffer.from(buf);
  let p = 0;
  while (p + 24 <= copy.length) {
    copy.fill(0, p + 16, p + 24);
    p += 24 + copy.readUInt32BE(p + 8);
  }
  return copy;
}

export interface Exchange {
  data: Buffer;
  closed: boolean;
}

/** Sends bytes on a fresh connection and collects what comes back until `done(data)` holds or
 * the server closes; rejects after timeoutMs. */
export function exchange(port: number, bytes: Buffer | Buffer[], done: (data: Buffer) => boolean, timeoutMs = 5000): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    let finished = false;
    const finish = (closed: boolean): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ data, closed });
    };
    const timer = setTimeout(() => {
      if (finished) return;
      finished = true;
      sock.destroy();
      reject(new Error(`exchange timed out after ${timeoutMs} ms; got ${JSON.stringify(data.toString('latin1').slice(0, 300))}`));
    }, timeoutMs);
    sock.on('connect', () => {
      for (const b of Array.isArray(bytes) ? bytes : [bytes]) sock.write(b);
    });
    sock.on('data', (d: Buffer) => {
      data = Buffer.concat([data, d]);
      if (done(data)) finish(false);
    });
    sock.on('close', () => finish(true));
    sock.on('error', () => finish(true));
  });
}

/** Done when `n` binary responses have arrived. */
export const binCount = (n: number) => (d: Buffer): boolean => parseBin(d).length >= n;
/** Done when the text received ends with `suffix`. */
export const endsWith = (suffix: string) => (d: Buffer): boolean => d.toString('latin1').endsWith(suffix);

export interface MemcachedHandle {
  port: number;
  stop(): Promise<void>;
}

export function memcachedAvailable(): boolean {
  return spawnSync('memcached', ['-h'], { stdio: 'ignore' }).status === 0;
}

/** Starts memcached 1.6 on a free loopback port (killed by pid in stop()). */
export async function startMemcached(args: string[] = []): Promise<MemcachedHandle> {
  const port = await freePort();
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0 ? ['-u', 'root'] : [];
  const proc: ChildProcess = spawn('memcached', [...asRoot, '-p', String(port), '-U', '0', '-l', '127.0.0.1', ...args], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    if (proc.pid !== undefined) process.kill(proc.pid, 'SIGKILL');
    await exited;
  };
  process.once('exit', () => {
    if (proc.pid !== undefined && proc.exitCode === null) {
      try {
        process.kill(proc.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
  try {
    await waitFor('memcached to answer version', async () => {
      const r = await exchange(port, Buffer.from('version\r\n'), endsWith('\r\n'), 500);
      return r.data.toString().startsWith('VERSION');
    }, 10_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, stop };
}
