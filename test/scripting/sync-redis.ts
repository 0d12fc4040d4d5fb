// A synchronous connection to a real redis-server, for ScriptCallHost in tests: the engine's
// redis.call is synchronous, so a worker thread does the socket I/O while the caller waits on a
// shared buffer (Atomics.wait). The replies a script sees are then redis-server's own bytes.

import { Worker } from 'node:worker_threads';
import type { ScriptCallHost } from '../../src/scripting/lua-engine.js';
import type { RespWriter } from '../../src/protocol/resp-writer.js';

const DATA_BYTES = 4 * 1024 * 1024;
const WAIT_MS = 5000;

export class SyncRedis implements ScriptCallHost {
  private readonly sab = new SharedArrayBuffer(16 + DATA_BYTES);
  private readonly ctrl = new Int32Array(this.sab, 0, 4);
  private readonly data = new Uint8Array(this.sab, 16);
  private readonly worker: Worker;
  readonly logs: { level: number; message: string }[] = [];

  private constructor(port: number) {
    this.worker = new Worker(new URL('./sync-redis-worker.js', import.meta.url), { workerData: { port, sab: this.sab } });
  }

  static async open(port: number): Promise<SyncRedis> {
    const s = new SyncRedis(port);
    const w = Atomics.waitAsync(s.ctrl, 3, 0, WAIT_MS);
    if (w.async) await w.value;
    if (Atomics.load(s.ctrl, 3) !== 1) throw new Error('sync redis worker did not connect');
    return s;
  }

  /** Sends one command; returns the complete reply bytes. */
  command(args: Uint8Array[], proto: 2 | 3 = 2): Buffer {
    let p = 0;
    const put = (s: string): void => {
      p += Buffer.from(this.data.buffer, this.data.byteOffset).write(s, p, 'latin1');
    };
    put(`*${args.length}\r\n`);
    for (const a of args) {
      put(`$${a.length}\r\n`);
      this.data.set(a, p);
      p += a.length;
      put('\r\n');
    }
    Atomics.store(this.ctrl, 1, p);
    Atomics.store(this.ctrl, 2, proto);
    Atomics.store(this.ctrl, 0, 1);
    Atomics.notify(this.ctrl, 0);
    if (Atomics.wait(this.ctrl, 0, 1, WAIT_MS) === 'timed-out') throw new Error('sync redis: no reply');
    const len = Atomics.load(this.ctrl, 1);
    Atomics.store(this.ctrl, 0, 0);
    return Buffer.from(this.data.slice(0, len));
  }

  call(args: Uint8Array[], out: RespWriter): void {
    const r = this.command(args, out.proto);
    out.raw(r, 0, r.length);
  }

  log(level: number, message: string): void {
    this.logs.push({ level, message });
  }

  async close(): Promise<void> {
    Atomics.store(this.ctrl, 0, 9);
    Atomics.notify(this.ctrl, 0);
    await this.worker.terminate();
  }
}
