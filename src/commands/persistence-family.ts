// SAVE, BGSAVE, LASTSAVE, BGREWRITEAOF: Redis's replies over Tessera's forkless snapshots (the
// work is in persistence/persistence-manager.ts). SAVE answers when the save is on disk, but does
// not stop other clients meanwhile: the snapshot is taken while the shards go on serving.

import type { CommandSpec, MainCall } from './types.js';
import { argIs } from './args.js';
import { ERR } from './errors.js';

function saveCommand(m: MainCall): Promise<void> | void {
  const p = m.server.persistence;
  if (p.saveInProgress) {
    m.out.error('ERR Background save already in progress');
    return;
  }
  return p.save().then(
    () => m.out.simple('OK'),
    () => m.out.error('ERR Background save failed, check the logs'),
  );
}

function bgsaveCommand(m: MainCall): void {
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
    p.save().catch(() => undefined);
    m.out.simple('Background saving started');
  }
}

function lastsaveCommand(m: MainCall): void {
  m.out.integer(m.server.persistence.lastSaveSec);
}

function bgrewriteaofCommand(m: MainCall): void {
  const p = m.server.persistence;
  if (p.rewriteInProgress) {
    m.out.error('ERR Background append only file rewriting already in progress');
  } else if (p.saveInProgress) {
    p.rewriteScheduled = true;
    m.out.simple('Background append only file rewriting scheduled');
  } else {
    p.rewrite().catch(() => undefined);
    m.out.simple('Background append only file rewriting started');
  }
}

const S = 'server' as const;

export const PERSISTENCE_COMMANDS = [
  { name: 'save', arity: 1, flags: ['admin', 'noscript', 'no-multi'], keys: null, group: S, since: '1.0.0', summary: 'Synchronously saves the database(s) to disk.', main: saveCommand },
  { name: 'bgsave', arity: -1, flags: ['admin', 'noscript'], keys: null, group: S, since: '1.0.0', summary: 'Asynchronously saves the database(s) to disk.', main: bgsaveCommand },
  { name: 'lastsave', arity: 1, flags: ['loading', 'stale', 'fast', 'random'], keys: null, group: S, since: '1.0.0', summary: 'Returns the Unix timestamp of the last successful save to disk.', main: lastsaveCommand },
  { name: 'bgrewriteaof', arity: 1, flags: ['admin', 'noscript'], keys: null, group: S, since: '1.0.0', summary: 'Asynchronously rewrites the append-only file to disk.', main: bgrewriteaofCommand },
] as const satisfies readonly CommandSpec[];
