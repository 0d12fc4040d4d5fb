// Merging the partial replies of a command fanned out over several shards into the one reply the
// client expects: integer sums (DEL, EXISTS), all-OK (MSET, FLUSHALL), arrays re-ordered by key
// (MGET) or concatenated (KEYS). The first error among the parts wins, as a single shard would.

import type { MergeKind } from '../commands/types.js';
import type { ReplySink } from '../runtime/shard-port.js';
import { valueEnd } from '../protocol/resp-value.js';

function headerEnd(b: Uint8Array, off: number): number {
  let p = off;
  while (b[p] !== 13) p++;
  return p + 2;
}

function headerCount(b: Uint8Array, off: number): number {
  let n = 0;
  for (let p = off + 1; b[p] !== 13; p++) n = n * 10 + (b[p]! - 48);
  return n;
}

/** Collects one part per shard (the part index travels as the frame's seq) and replies once. */
export class Gather implements ReplySink {
  private readonly parts: Array<Buffer | null>;
  private remaining: number;

  /**
   * @param keyOrder for 'gather': keyOrder[part] lists the positions (in the client's key order) of
   *   the elements that part returns.
   */
  constructor(
    readonly target: ReplySink,
    private readonly seq: number,
    private readonly kind: MergeKind,
    nParts: number,
    private readonly keyOrder: number[][] | null,
    private readonly totalKeys: number,
  ) {
    this.parts = new Array<Buffer | null>(nParts).fill(null);
    this.remaining = nParts;
  }

  /** The client's database: the parts run in it. */
  get db(): number {
    return this.target.db ?? 0;
  }

  deliver(part: number, buf: Uint8Array, off: number, len: number): void {
    this.parts[part] = Buffer.from(buf.subarray(off, off + len));
    if (--this.remaining === 0) this.finish();
  }

  private finish(): void {
    const parts = this.parts as Buffer[];
    const err = parts.find((p) => p[0] === 45);
    let reply: Buffer;
    if (err) {
      reply = err;
    } else if (this.kind === 'sum') {
      let sum = 0;
      for (const p of parts) sum += Number(p.subarray(1, p.length - 2).toString('latin1'));
      reply = Buffer.from(`:${sum}\r\n`);
    } else if (this.kind === 'ok') {
      reply = parts[0]!;
    } else if (this.kind === 'concat') {
      let count = 0;
      const bodies: Buffer[] = [];
      for (const p of parts) {
        count += headerCount(p, 0);
        bodies.push(p.subarray(headerEnd(p, 0)));
      }
      reply = Buffer.concat([Buffer.from(`*${count}\r\n`), ...bodies]);
    } else {
      const slots = new Array<Buffer>(this.totalKeys);
      parts.forEach((p, i) => {
        const order = this.keyOrder![i]!;
        let q = headerEnd(p, 0);
        for (const pos of order) {
          const end = valueEnd(p, q);
          slots[pos] = p.subarray(q, end);
          q = end;
        }
      });
      reply = Buffer.concat([Buffer.from(`*${this.totalKeys}\r\n`), ...slots]);
    }
    this.target.deliver(this.seq, reply, 0, reply.length);
  }
}

/** Resolves a promise with the reply bytes (control-path calls from main-thread handlers). */
export class PromiseSink implements ReplySink {
  readonly promise: Promise<Buffer>;
  private resolve!: (b: Buffer) => void;

  /** @param db the database the command runs in */
  constructor(readonly db = 0) {
    this.promise = new Promise<Buffer>((r) => (this.resolve = r));
  }

  deliver(_seq: number, buf: Uint8Array, off: number, len: number): void {
    this.resolve(Buffer.from(buf.subarray(off, off + len)));
  }
}
