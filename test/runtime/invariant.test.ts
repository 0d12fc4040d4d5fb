// A broken invariant inside a shard stops that shard instead of becoming an error reply: in an
// executor called directly it escapes run(); in a worker shard (ShardLink, as the server runs it)
// the worker ends, the request in flight gets the shard-crash error, the supervisor restarts the
// worker on the same memory, and every key is still there.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pino } from 'pino';
import { Keyspace } from '../../src/keyspace/keyspace.js';
import { H_SLOT_COUNT } from '../../src/keyspace/layout.js';
import { keySlot } from '../../src/keyspace/slot.js';
import { ShardExecutor } from '../../src/runtime/shard-runtime.js';
import { ShardLink } from '../../src/runtime/shard-link.js';
import { RingProducer, type RingMemory } from '../../src/runtime/ring.js';
import { REP_HEADER, REP_KIND, REP_SEQ, REPLY_INLINE } from '../../src/runtime/frames.js';
import { COMMANDS, commandIndex } from '../../src/commands/registry.js';
import { argListOf } from '../../src/commands/args.js';
import { TEST_SHARD_SETTINGS } from './executor-helpers.js';
import { isInvariantError } from '../../src/util/assert.js';

const TEST_TIMEOUT_MS = 20_000;
const KEYS = 2000;



/** Breaks the keyspace's books for `key`'s slot (says it holds no keys) and returns the undo. */
function breakSlotCount(memory: SharedArrayBuffer, key: string): () => void {
  const b = Buffer.from(key);
  const w = H_SLOT_COUNT + keySlot(b, 0, b.length);
  const u32 = new Uint32Array(memory);
  const saved = u32[w]!;
  assert.ok(saved > 0, 'the slot holds the key');
  u32[w] = 0;
  return () => {
    u32[w] = saved;
  };
}

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: timed out`)), TEST_TIMEOUT_MS))),
  ]).finally(() => clearTimeout(timer));
}

test('executor: a broken invariant escapes run() instead of becoming an error reply', () => {
  const memory = Keyspace.createMemory();
  const exec = new ShardExecutor(COMMANDS, 0, memory, TEST_SHARD_SETTINGS, 0, () => undefined);
  try {
    const run = (args: string[]): string => {
      const a = argListOf(args);
      Object.assign(exec.args, a);
      exec.beginBatch();
      exec.run(commandIndex(args[0]!), 2);
      return Buffer.from(exec.writer.buf.subarray(0, exec.writer.length)).toString('latin1');
    };
    assert.is(run(['SET', 'k', 'v']), '+OK\r\n');
    const undo = breakSlotCount(memory, 'k');
    let thrown: unknown;
    try {
      run(['DEL', 'k']);
    } catch (e) {
      thrown = e;
    }
    assert.ok(isInvariantError(thrown), `DEL threw ${String(thrown)}`);
    assert.match((thrown as Error).message, /slot \d+, whose count is 0/);
    // The assertion fired before anything changed: with the books mended, the state is whole.
    undo();
    exec.ks.checkIntegrity();
    assert.is(run(['GET', 'k']), '$1\r\nv\r\n');
    assert.is(run(['DEL', 'k']), ':1\r\n');
    exec.ks.checkIntegrity();
  } finally {
    exec.close();
  }
});

/** A worker shard behind a ShardLink, driven as the server does: send() queues a command and
 * publishes it, reply() waits for its answer, restarted() for the supervisor's next restart. */
async function startLink(): Promise<{
  link: ShardLink;
  replies: Map<number, string>;
  send: (args: string[]) => number;
  reply: (seq: number) => Promise<string>;
  restarted: (count: number) => Promise<void>;
}> {
  const link = new ShardLink(0, TEST_SHARD_SETTINGS, pino({ level: 'silent' }), () => undefined, () => undefined);
  await withTimeout(link.ready, 'worker start');
  const replies = new Map<number, string>();
  const sink = { deliver: (seq: number, buf: Uint8Array, off: number, len: number) => void replies.set(seq, Buffer.from(buf.subarray(off, off + len)).toString('latin1')) };
  let seq = 0;
  const until = (what: string, done: () => boolean): Promise<void> =>
    withTimeout(
      (async () => {
        while (!done()) await new Promise((r) => setTimeout(r, 5));
      })(),
      what,
    );
  return {
    link,
    replies,
    send: (args) => {
      const s = ++seq;
      link.send(sink, s, commandIndex(args[0]!), 2, argListOf(args), null);
      link.flush();
      return s;
    },
    reply: async (s) => {
      await until(`reply ${s}`, () => replies.has(s));
      return replies.get(s)!;
    },
    restarted: (count) => until('the worker to be restarted', () => link.restarts >= count),
  };
}

test('worker shard: a broken invariant ends the worker; it restarts on its memory with every key', async () => {
  const { link, replies, send, reply, restarted } = await startLink();
  try {
    let last = 0;
    for (let i = 0; i < KEYS; i++) last = send(['SET', `inv:${i}`, `v${i}`]);
    await reply(last);
    for (let i = 1; i <= last; i++) assert.is(replies.get(i), '+OK\r\n');

    const undo = breakSlotCount(link.keyspace, 'inv:7');
    const crashed = await reply(send(['DEL', 'inv:7']));
    assert.match(crashed, /^-ERR shard 0 crashed/, `DEL on broken books replied ${JSON.stringify(crashed)}`);
    await restarted(1);
    assert.is(link.restarts, 1);
    undo();
    // Every key is still there, served by the new worker, and the keyspace is whole.
    const gets: number[] = [];
    for (let i = 0; i < KEYS; i++) gets.push(send(['GET', `inv:${i}`]));
    await reply(gets.at(-1)!);
    for (let i = 0; i < KEYS; i++) assert.is(replies.get(gets[i]!), `$${`v${i}`.length}\r\nv${i}\r\n`, `inv:${i}`);
    new Keyspace(link.keyspace).checkIntegrity();
    assert.is(await reply(send(['DEL', 'inv:7'])), ':1\r\n');
  } finally {
    await link.stop();
  }
});

test('main thread: a reply the link cannot match to a request restarts the worker instead of being logged and passed over', async () => {
  const { link, replies, send, reply, restarted } = await startLink();
  try {
    assert.is(await reply(send(['SET', 'k', 'v'])), '+OK\r\n');
    // A reply frame nobody asked for, published into the reply ring as a worker would.
    const repMem = (link as unknown as { repMem: RingMemory }).repMem;
    const rogue = new RingProducer(repMem);
    rogue.resync();
    const p = rogue.reserve(REP_HEADER + 5);
    assert.ok(p >= 0);
    rogue.view.setUint32(p + REP_SEQ, 99, true);
    rogue.view.setUint32(p + REP_KIND, REPLY_INLINE, true);
    rogue.bytes.set(Buffer.from('+OK\r\n'), p + REP_HEADER);
    rogue.commit();
    rogue.notify();
    await restarted(1);
    assert.not.ok(replies.has(99), 'the rogue reply was not delivered');
    // The new worker serves the same memory.
    assert.is(await reply(send(['GET', 'k'])), '$1\r\nv\r\n');
  } finally {
    await link.stop();
  }
});

test.run();
