// `--tls --cacert F [--cacertdir D] [--cert F --key F]`: redis-cli's TLS flags, accepted by every
// `tessera cluster` subcommand (before any `--`). They are taken out of the arguments before the
// subcommand's own flags are parsed; the files are read once, here, so a bad path is a usage error.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { UsageError } from './errors.js';

export interface AdminTls {
  /** The paths as given (`cluster local` hands them to the servers it starts). */
  cacertPath?: string;
  certPath?: string;
  keyPath?: string;
  /** ioredis's `tls` option: the CA's chain is checked, not the host name (nodes go by IP). */
  options: ConnectionOptions;
}

const VALUE_FLAGS = ['cacert', 'cacertdir', 'cert', 'key'] as const;
type ValueFlag = (typeof VALUE_FLAGS)[number];

export const TLS_FLAGS_HELP = [
  'TLS (every subcommand): --tls [--cacert FILE] [--cacertdir DIR] [--cert FILE --key FILE]',
  '  connect to the nodes over TLS; --cert/--key for servers that require client certificates',
];

/** Splits `argv` into the TLS settings (null without --tls) and the other arguments. */
export function extractTlsFlags(argv: readonly string[]): { tls: AdminTls | null; argv: string[] } {
  const rest: string[] = [];
  const values = new Map<ValueFlag, string>();
  let on = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (arg === '--tls') {
      on = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') ? arg.slice(2, eq < 0 ? undefined : eq) : '';
    const flag = VALUE_FLAGS.find((f) => f === name);
    if (flag === undefined) {
      rest.push(arg);
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '') throw new UsageError(`--${flag} needs a value`);
    if (values.has(flag)) throw new UsageError(`--${flag} given twice`);
    values.set(flag, value);
  }
  if (!on) {
    if (values.size > 0) throw new UsageError(`--${[...values.keys()][0]!} needs --tls`);
    return { tls: null, argv: rest };
  }
  const certPath = values.get('cert');
  const keyPath = values.get('key');
  if ((certPath === undefined) !== (keyPath === undefined)) throw new UsageError('--cert and --key go together');
  const cas: Buffer[] = [];
  const cacertPath = values.get('cacert');
  if (cacertPath !== undefined) cas.push(readFlagFile('cacert', cacertPath));
  const dir = values.get('cacertdir');
  if (dir !== undefined) {
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => /\.(pem|crt)$/.test(n));
    } catch (e) {
      throw new UsageError(`--cacertdir ${dir}: ${e instanceof Error ? e.message : String(e)}`);
    }
    for (const n of names) cas.push(readFlagFile('cacertdir', join(dir, n)));
  }
  const options: ConnectionOptions = { checkServerIdentity: () => undefined };
  if (cas.length > 0) options.ca = cas;
  if (certPath !== undefined && keyPath !== undefined) {
    options.cert = readFlagFile('cert', certPath);
    options.key = readFlagFile('key', keyPath);
  }
  const tls: AdminTls = { options };
  if (cacertPath !== undefined) tls.cacertPath = cacertPath;
  if (certPath !== undefined) tls.certPath = certPath;
  if (keyPath !== undefined) tls.keyPath = keyPath;
  return { tls, argv: rest };
}

function readFlagFile(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UsageError(`--${flag} ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
