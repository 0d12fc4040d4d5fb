// The process logger: pino, with Redis's loglevel names mapped onto pino's levels.
// logfile '' writes to standard output; otherwise the file is appended to (created if missing).

import pino from 'pino';
import type { ServerConfig } from '../config/config.js';

export type Logger = pino.Logger;
export type RedisLogLevel = ServerConfig['loglevel'];

const PINO_LEVELS = {
  debug: 'debug',
  verbose: 'debug',
  notice: 'info',
  warning: 'warn',
  nothing: 'silent',
} as const satisfies Record<RedisLogLevel, pino.LevelWithSilent>;

/** The pino level for a Redis loglevel (for `logger.level = pinoLevel(...)` after CONFIG SET loglevel). */
export function pinoLevel(level: RedisLogLevel): pino.LevelWithSilent {
  return PINO_LEVELS[level];
}

export function createLogger(config: Pick<ServerConfig, 'loglevel' | 'logfile'>): Logger {
  const options: pino.LoggerOptions = { name: 'tessera', level: pinoLevel(config.loglevel) };
  const destination = config.logfile === ''
    ? pino.destination({ dest: 1, sync: false })
    : pino.destination({ dest: config.logfile, sync: false, mkdir: true });
  return pino(options, destination);
}
