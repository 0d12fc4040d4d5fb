// The Node floor: the least a Node.js RESP server can do per request, run as its own process
// (`node dist/bench/lib/node-floor.js --port N`). It counts the commands in each read and answers
// every one with +OK in one socket write per read, executing nothing; redis-benchmark does not check
// replies. Its rps and CPU per request are what Node's event loop and socket path cost before any
// command runs, the floor under Tessera's own figures.
//
// The counter is resumable across reads (a command may be split anywhere) and understands
// multibulk requests, which is all redis-benchmark sends; an inline command counts up to its '\n'.

import { createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

const CR = 13;
const LF = 10;
const STAR = 42;
const DOLLAR = 36;
const OK_BATCH = 1024;
const OK_REPLIES = Buffer.from('+OK\r\n'.repeat(OK_BATCH));
const OK_BYTES = 5;

type State = 'start' | 'count' | 'bulk-header' | 'bulk-length' | 'bulk-body' | 'inline';

/** Counts complete commands in a byte stream fed in arbitrary pieces. */
export class CommandCounter {
  #state: State = 'start';
  /** The number being read (multibulk count or bulk length). */
  #number = 0;
  #argsLeft = 0;
  /** Bytes of the current bulk argument (and its CRLF) still to skip. */
  #skip = 0;

  /** Feeds one read; returns how many commands it completed. */
  feed(buf: Buffer): number {
    let done = 0;
    let i = 0;
    while (i < buf.length) {
      const byte = buf[i] ?? 0;
      switch (this.#state) {
        case 'start':
          this.#state = byte === STAR ? 'count' : 'inline';
          this.#number = 0;
          if (byte === STAR) i++;
          break;
        case 'inline':
          i++;
          if (byte === LF) {
            done++;
            this.#state = 'start';
          }
          break;
        case 'count':
        case 'bulk-length':
          i++;
          if (byte >= 48 && byte <= 57) this.#number = this.#number * 10 + (byte - 48);
          else if (byte === LF) done += this.#endOfNumber();
          else if (byte !== CR) this.#state = 'inline';
          break;
        case 'bulk-header':
          i++;
          this.#state = byte === DOLLAR ? 'bulk-length' : 'inline';
          this.#number = 0;
          break;
        case 'bulk-body': {
          const take = Math.min(this.#skip, buf.length - i);
          i += take;
          this.#skip -= take;
          if (this.#skip === 0) done += this.#endOfArg();
          break;
        }
      }
    }
    return done;
  }

  /** A CRLF-terminated number has been read; returns 1 when that completed an (empty) command. */
  #endOfNumber(): number {
    if (this.#state === 'count') {
      this.#argsLeft = this.#number;
      this.#state = this.#argsLeft > 0 ? 'bulk-header' : 'start';
      return this.#argsLeft > 0 ? 0 : 1;
    }
    this.#skip = this.#number + 2;
    this.#state = 'bulk-body';
    return 0;
  }

  #endOfArg(): number {
    this.#argsLeft--;
    this.#state = this.#argsLeft > 0 ? 'bulk-header' : 'start';
    return this.#argsLeft > 0 ? 0 : 1;
  }
}

function okReplies(count: number): Buffer {
  if (count <= OK_BATCH) return OK_REPLIES.subarray(0, count * OK_BYTES);
  return Buffer.from('+OK\r\n'.repeat(count));
}

function serve(socket: Socket): void {
  socket.setNoDelay(true);
  const counter = new CommandCounter();
  socket.on('data', (chunk: Buffer) => {
    const count = counter.feed(chunk);
    if (count > 0) socket.write(okReplies(count));
  });
  socket.on('error', () => socket.destroy());
}

function main(argv: string[]): void {
  const at = argv.indexOf('--port');
  const port = Number(argv[at + 1]);
  if (at < 0 || !Number.isInteger(port) || port <= 0) throw new Error('usage: node-floor.js --port N');
  const server = createServer(serve);
  server.listen(port, '127.0.0.1');
  const stop = (): void => {
    server.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
