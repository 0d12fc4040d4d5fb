// Loads a RESP file into a server with `redis-cli -p PORT --pipe < file`, as Redis users bulk-load
// data, and watches DBSIZE on a second connection meanwhile: a load whose key count stops growing
// for `stallMs` while redis-cli still runs is stalled (issue 13, item 1); redis-cli is then killed
// by pid and the stall reported with the server's view of the connection (CLIENT LIST).

import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { RespClient, type Reply } from './resp-client.js';

export interface PipeStall {
  /** DBSIZE when the load was given up. */
  keys: number;
  /** Milliseconds from the start to the last time DBSIZE grew. */
  lastProgressMs: number;
  /** The CLIENT LIST lines of the loading connection(s) at that moment (all but the watcher). */
  clients: string[];
}

export interface PipeResult {
  /** From starting redis-cli to its exit (or to giving up on a stall). */
  ms: number;
  /** What redis-cli printed last: `errors: E, replies: R`; null when it never got there. */
  replies: number | null;
  errors: number | null;
  /** DBSIZE after the load; -1 when the server did not answer within the stall time. */
  dbsize: number;
  stall: PipeStall | null;
  /** redis-cli's output, for the report when something went wrong. */
  output: string;
}

/** How often DBSIZE is read. */
const POLL_MS = 1000;
const OUTPUT_TAIL_BYTES = 4096;

/** Loads `file` into the server on `port`; `watcher`, a connection of the caller's to the same
 * server, reads DBSIZE meanwhile (so that CLIENT LIST shows only it and the loader). */
export async function pipeLoad(watcher: RespClient, port: number, file: string, stallMs: number): Promise<PipeResult> {
  const fd = openSync(file, 'r');
  const started = performance.now();
  let output = '';
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  let spawnError: Error | null = null;
  const child = spawn('redis-cli', ['-p', String(port), '--pipe'], { stdio: [fd, 'pipe', 'pipe'] });
  closeSync(fd);
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-OUTPUT_TAIL_BYTES);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve();
    });
    child.once('error', (err) => {
      spawnError = err;
      resolve();
    });
  });
  try {
    let keys = -1;
    let lastProgress = performance.now();
    let stall: PipeStall | null = null;
    while (exit === null && spawnError === null) {
      await Promise.race([exited, sleep(POLL_MS)]);
      if (exit !== null || spawnError !== null) break;
      const now = await withTimeout(dbsize(watcher), stallMs, -1);
      if (now > keys) {
        keys = now;
        lastProgress = performance.now();
      } else if (performance.now() - lastProgress >= stallMs) {
        stall = { keys, lastProgressMs: lastProgress - started, clients: await loaderClients(watcher) };
        child.kill('SIGKILL');
        await exited;
      }
    }
    const ms = performance.now() - started;
    if (spawnError !== null) {
      const err: Error = spawnError;
      throw new Error(`could not run redis-cli (${err.message}); it comes with redis (Debian: apt-get install redis-tools)`);
    }
    const done = /errors: (\d+), replies: (\d+)/.exec(output);
    const result: PipeResult = {
      ms, replies: done ? Number(done[2]) : null, errors: done ? Number(done[1]) : null,
      // -1 when the server no longer answers at all (a stall of the whole process).
      dbsize: await withTimeout(dbsize(watcher), stallMs, -1), stall, output,
    };
    if (stall === null && (exit as { code: number | null } | null)?.code !== 0) {
      throw new Error(`redis-cli --pipe exited with ${JSON.stringify(exit)}:\n${output}`);
    }
    return result;
  } finally {
    if (exit === null && spawnError === null) {
      child.kill('SIGKILL');
      await exited;
    }
  }
}

async function dbsize(client: RespClient): Promise<number> {
  const reply: Reply = await client.call('DBSIZE');
  if (typeof reply !== 'number') throw new Error(`DBSIZE replied ${String(reply)}`);
  return reply;
}

/** CLIENT LIST without the watcher's own line (the one running CLIENT). */
async function loaderClients(client: RespClient): Promise<string[]> {
  const reply = await withTimeout(client.call('CLIENT', 'LIST'), 5000, 'CLIENT LIST timed out');
  const text = typeof reply === 'string' ? reply : String(reply);
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/ cmd=client\|list( |$)/.test(l));
}

/** `promise`, or `fallback` if it has not settled within `ms`. */
async function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  const cancel = new AbortController();
  try {
    return await Promise.race([promise, sleep(ms, fallback, { signal: cancel.signal })]);
  } finally {
    cancel.abort();
  }
}
