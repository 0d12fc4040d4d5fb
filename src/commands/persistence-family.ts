// SAVE, BGSAVE, LASTSAVE, BGREWRITEAOF: Redis's replies over Tessera's forkless snapshots (the
// work is in persistence/persistence-manager.ts). SAVE answers when the save is on disk, but does
// not stop other clients meanwhile: the snapshot is taken while the shards go on serving.

import type { CommandSpec, MainCall, ShardContext } from './types.js';
import { argIs, argString } from './args.js';
import { ERR } from '../core/errors.js';
import type { FsyncPolicy } from '../persistence/append-log.js';

function saveCommand(m: MainCall): Promise<void> | void {
  const p = m.server.persistence;
  if (p.saveInProgress) {
    m.out.error('ERR Background save already in progress');
    return;
  }
  return p.save().done.then(
    () => m.out.simple('OK'),
    () => m.out.error('ERR Background save failed, check the logs'),
  );
}

function bgsaveCommand(m: MainCall): Promise<void> | undefined {
  const a = m.args;
  const schedule = a.argc === 2 && argIs(a, 1, 'SCHEDULE');
  if (a.argc > 2 || (a.argc === 2 && !schedule)) {
    m.out.error(ERR.syntax);
    return;
  }
  const p = m.server.persistence;
  if (p.saveInProgress) {
    m.out.error('ERR Background save already in progress');
  } else if (p.rewriteInProgress) {
    if (schedule) {
      p.scheduleSave();
      m.out.simple('Background saving scheduled');
    } else {
      m.out.error("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
    }
  } else {
    // The reply (and this client's next commands) wait for the snapshot's start, so that the
    // snapshot is the state at BGSAVE's place in the client's commands, as Redis's fork is.
    return p.save().started.then(
      () => m.out.simple('Background saving started'),
      (e: Error) => m.out.error(`ERR Background save failed: ${e.message}`),
    );
  }
  return undefined;
}

function lastsaveCommand(m: MainCall): void {
  m.out.integer(m.server.persistence.lastSaveSec);
}

function bgrewriteaofCommand(m: MainCall): Promise<void> | undefined {
  const p = m.server.persistence;
  if (p.rewriteInProgress) {
    m.out.error('ERR Background append only file rewriting already in progress');
  } else if (p.saveInProgress) {
    p.rewriteScheduled = true;
    m.out.simple('Background append only file rewriting scheduled');
  } else {
    return p.rewrite().started.then(
      () => m.out.simple('Background append only file rewriting started'),
      (e: Error) => m.out.error(`ERR Background append only file rewriting failed: ${e.message}`),
    );
  }
  return undefined;
}

/** __snapshot path [LOG logpath fsync gen]: starts the shard's snapshot at this point of its command
 * stream (first moving to a new log for a rewrite). Sent by the persistence manager while every
 * shard is locked, so the shards' snapshots start at one point. Reply: [dirty, keys]. */
function snapshotShardCommand(c: ShardContext): void {
  const a = c.args;
  const log = a.argc === 6 && argIs(a, 2, 'LOG') ? { path: argString(a, 3), fsync: argString(a, 4) as FsyncPolicy, gen: Number(argString(a, 5)) } : null;
  const r = c.persist.snapshotStart(argString(a, 1), log);
  c.out.array(2);
  c.out.integer(r.dirty);
  c.out.integer(r.keys);
}

const S = 'server' as const;

export const PERSISTENCE_COMMANDS = [
  { name: 'save', arity: 1, flags: ['admin', 'noscript', 'no-multi'], keys: null, group: S, since: '1.0.0', summary: 'Synchronously saves the database(s) to disk.', main: saveCommand },
  { name: 'bgsave', arity: -1, flags: ['admin', 'noscript'], keys: null, group: S, since: '1.0.0', summary: 'Asynchronously saves the database(s) to disk.', main: bgsaveCommand },
  { name: 'lastsave', arity: 1, flags: ['loading', 'stale', 'fast', 'random'], keys: null, group: S, since: '1.0.0', summary: 'Returns the Unix timestamp of the last successful save to disk.', main: lastsaveCommand },
  { name: 'bgrewriteaof', arity: 1, flags: ['admin', 'noscript'], keys: null, group: S, since: '1.0.0', summary: 'Asynchronously rewrites the append-only file to disk.', main: bgrewriteaofCommand },
  { name: '__snapshot', arity: -2, flags: ['admin'], keys: null, group: 'internal', since: '0', summary: 'internal', shard: snapshotShardCommand, hidden: true },
] as const satisfies readonly CommandSpec[];
