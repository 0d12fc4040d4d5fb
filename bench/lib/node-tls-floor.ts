// The Node TLS floor: bench/lib/node-floor.ts's least-possible RESP server (count the commands of
// each read, answer each with +OK in one write, execute nothing) behind node:tls, as its own
// process (`node dist/bench/lib/node-tls-floor.js --port N --cert F --key F`). Its rps and CPU per
// request are what Node's TLS socket path costs before any command runs: the floor under
// Tessera's TLS figures in bench/TLS.md.

import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { CommandCounter } from './node-floor.js';

const OK = Buffer.from('+OK\r\n'.repeat(1024));

function serve(socket: tls.TLSSocket): void {
  const counter = new CommandCounter();
  socket.on('data', (chunk: Buffer) => {
    const count = counter.feed(chunk);
    if (count > 0) socket.write(count <= 1024 ? OK.subarray(0, count * 5) : Buffer.from('+OK\r\n'.repeat(count)));
  });
  socket.on('error', () => socket.destroy());
}

function main(argv: string[]): void {
  const arg = (name: string): string => {
    const at = argv.indexOf(`--${name}`);
    if (at < 0 || at + 1 >= argv.length) throw new Error('usage: node-tls-floor.js --port N --cert FILE --key FILE');
    return argv[at + 1]!;
  };
  const server = tls.createServer({ cert: readFileSync(arg('cert')), key: readFileSync(arg('key')), noDelay: true }, serve);
  server.listen(Number(arg('port')), '127.0.0.1');
  const stop = (): void => {
    server.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
