// The two drivers of a stepped cross-shard coordinator (CommandSpec.crossShardSteps): as a client
// command, under withShardsLocked with asynchronous shard calls; inside a script that already holds
// every shard's lock, with blocking calls (the Lua engine cannot wait for a promise). One
// implementation of the command's logic serves both; a step's reply is its raw RESP2 bytes.

import { ReplyError, SCRIPT_ERR } from '../core/errors.js';
import type { RespWriter } from '../protocol/resp-writer.js';
import { argListOf } from './args.js';
import type { ArgList, CrossShardSteps, MainHandler, ServerApi } from './types.js';

/** The command's crossShard handler: the steps under the lock of their shards. */
export function crossShardHandler(f: CrossShardSteps): MainHandler {
  return (m) => {
    const run = f(m.server, m.args, m.out);
    if (run === null) return;
    return m.server.withShardsLocked(run.shards, async (call) => {
      const g = run.steps;
      for (let s = g.next(); !s.done; s = g.next(await call(s.value.shard, s.value.args, 2)));
    });
  };
}

/** Runs the steps now, blocking on each shard call; the caller holds the lock of every shard.
 * A shard that does not answer, or a step's ReplyError, ends it with an error reply. */
export function runStepsSync(f: CrossShardSteps, server: ServerApi, a: ArgList, out: RespWriter, timeoutMs: number): void {
  const run = f(server, a, out);
  if (run === null) return;
  const g = run.steps;
  try {
    for (let s = g.next(); !s.done; ) {
      const reply = server.callShardSync(s.value.shard, argListOf(s.value.args), 2, timeoutMs);
      if (reply === null) {
        g.return();
        return out.error(SCRIPT_ERR.shardNoReply);
      }
      s = g.next(reply);
    }
  } catch (e) {
    if (e instanceof ReplyError) return out.error(e.reply);
    throw e;
  }
}
