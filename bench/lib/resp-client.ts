// A minimal RESP client for benchmarks: pipelined requests over one socket, replies decoded in
// order. Just enough for PING, INFO, CONFIG GET and bulk loading; not a general client.

import { connect, type Socket } from 'node:net';

export type Reply = string | number | null | Error | Reply[];

/** Encodes one command as a RESP multibulk request. */
export function encodeCommand(args: Array<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg) : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Decodes one reply at `offset`; returns it and the offset after it, or null when incomplete. */
export function decodeReply(buf: Buffer, offset: number): { reply: Reply; end: number } | null {
  const lineEnd = buf.indexOf('\r\n', offset);
  if (lineEnd < 0) return null;
  const type = String.fromCharCode(buf[offset] ?? 0);
  const line = buf.toString('latin1', offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case '+': return { reply: line, end: next };
    case '-': return { reply: new Error(line), end: next };
    case ':': return { reply: Number(line), end: next };
    case '$': {
      const len = Number(line);
      if (len < 0) return { reply: null, end: next };
      if (buf.length < next + len + 2) return null;
      return { reply: buf.toString('utf8', next, next + len), end: next + len + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { reply: null, end: next };
      const items: Reply[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = decodeReply(buf, at);
        if (item === null) return null;
        items.push(item.reply);
        at = item.end;
      }
      return { reply: items, end: at };
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)}`);
  }
}

export class RespClient {
  #socket: Socket;
  #buf: Buffer = Buffer.alloc(0);
  #waiting: Array<{ resolve: (r: Reply) => void; reject: (e: Error) => void }> = [];
  #closedError: Error | null = null;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    const fail = (err: Error): void => {
      this.#closedError = err;
      for (const w of this.#waiting.splice(0)) w.reject(err);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(this.#closedError ?? new Error('connection closed')));
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RespClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host });
      socket.setNoDelay(true);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RespClient(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Sends one command and resolves with its reply (errors come back as Error values). */
  call(...args: string[]): Promise<Reply> {
    return this.pipeline([encodeCommand(args)]).then((r) => r[0] ?? null);
  }

  /** Writes the encoded commands in one write and resolves with all their replies, in order. */
  pipeline(commands: Buffer[]): Promise<Reply[]> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    const replies = commands.map(() => new Promise<Reply>((resolve, reject) => this.#waiting.push({ resolve, reject })));
    this.#socket.write(commands.length === 1 ? (commands[0] ?? Buffer.alloc(0)) : Buffer.concat(commands));
    return Promise.all(replies);
  }

  close(): void {
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    let offset = 0;
    while (offset < this.#buf.length) {
      const decoded = decodeReply(this.#buf, offset);
      if (decoded === null) break;
      offset = decoded.end;
      this.#waiting.shift()?.resolve(decoded.reply);
    }
    this.#buf = this.#buf.subarray(offset);
  }
}

/** Parses INFO output into a field map. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** used_memory from INFO memory, in bytes. */
export async function usedMemory(client: RespClient): Promise<number> {
  const info = await client.call('INFO', 'memory');
  if (typeof info !== 'string') throw new Error(`INFO memory failed: ${String(info)}`);
  const value = Number(parseInfo(info).get('used_memory'));
  if (!Number.isFinite(value)) throw new Error('INFO memory has no used_memory field');
  return value;
}
