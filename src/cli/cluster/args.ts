// Argument parsing for `tessera cluster <subcommand>`: flags are declared per subcommand as data,
// every problem is a UsageError (exit code 2), and nothing here touches the network.

import { UsageError } from './errors.js';

export { UsageError };

/** bool: `--yes`; value: `--slots 10` or `--slots=10`; multi: repeatable `--weight a=1 --weight b=2`. */
export type FlagKind = 'bool' | 'value' | 'multi';

export type FlagSpec = Readonly<Record<string, FlagKind>>;

export interface ParsedArgs {
  positionals: string[];
  /** Values by flag name (without dashes); a bool flag that was given maps to ['']. */
  flags: Map<string, string[]>;
  /** Everything after a bare `--` (only when the subcommand accepts it). */
  rest: string[];
}

/** Parses `argv` against `spec`; unknown flags, missing values and stray `--` are UsageErrors. */
export function parseArgs(argv: readonly string[], spec: FlagSpec, opts: { allowRest?: boolean } = {}): ParsedArgs {
  const out: ParsedArgs = { positionals: [], flags: new Map(), rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      if (opts.allowRest !== true) throw new UsageError("unexpected '--'");
      out.rest = argv.slice(i + 1);
      break;
    }
    if (!arg.startsWith('--') || arg.length === 2) {
      out.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const kind = spec[name];
    if (kind === undefined) throw new UsageError(`unknown option --${name}`);
    let value: string;
    if (kind === 'bool') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      value = '';
    } else if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`--${name} needs a value`);
      value = next;
      i++;
    }
    const list = out.flags.get(name) ?? [];
    if (kind !== 'multi' && list.length > 0) throw new UsageError(`--${name} given twice`);
    list.push(value);
    out.flags.set(name, list);
  }
  return out;
}

export function hasFlag(args: ParsedArgs, name: string): boolean {
  return args.flags.has(name);
}

export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  return args.flags.get(name)?.[0];
}

/** An integer flag within [min, max], or `fallback` when absent. */
export function intFlag(args: ParsedArgs, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = stringFlag(args, name);
  if (raw === undefined) return fallback;
  return parseIntArg(`--${name}`, raw, min, max);
}

export function parseIntArg(what: string, raw: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(raw)) throw new UsageError(`${what} needs an integer, got '${raw}'`);
  const n = Number(raw);
  if (n < min || n > max) throw new UsageError(`${what} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** A number flag (may be fractional) >= min, or `fallback` when absent. */
export function numberFlag(args: ParsedArgs, name: string, fallback: number, min = 0): number {
  const raw = stringFlag(args, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < min) throw new UsageError(`--${name} needs a number >= ${min}, got '${raw}'`);
  return n;
}

/** One of `choices`, or `fallback` when absent. */
export function choiceFlag<T extends string>(args: ParsedArgs, name: string, choices: readonly T[], fallback: T): T {
  const raw = stringFlag(args, name);
  if (raw === undefined) return fallback;
  const found = choices.find((c) => c === raw);
  if (found === undefined) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got '${raw}'`);
  return found;
}

export interface Address {
  host: string;
  port: number;
}

/** "host:port" (IPv6 as "[::1]:7000" or "::1:7000", the last colon separating the port). */
export function parseAddress(text: string): Address {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) throw new UsageError(`expected host:port, got '${text}'`);
  let host = text.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = parseIntArg(`port in '${text}'`, text.slice(colon + 1), 1, 65535);
  return { host, port };
}

export function formatAddress(a: Address): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** Exactly `n` positionals, else a UsageError naming what was expected. */
export function expectPositionals(args: ParsedArgs, n: number, what: string): string[] {
  if (args.positionals.length !== n) {
    throw new UsageError(`expected ${what}, got ${args.positionals.length === 0 ? 'nothing' : `'${args.positionals.join(' ')}'`}`);
  }
  return args.positionals;
}
