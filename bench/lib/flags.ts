// The benchmarks' command-line flags: `--name value` or `--name=value`, `--help` prints the usage
// and exits, BENCH_NAME in the environment is the fallback where a benchmark allows it, and a
// preset flag (`--quick`) fills in values the command line did not give.

export interface Flags {
  given: Map<string, string>;
  raw(name: string, fallback: string): string;
  int(name: string, fallback: number, min: number): number;
  list(name: string, fallback: string): string[];
}

export interface FlagOptions {
  /** Environment for BENCH_* fallbacks (omitted: none). */
  env?: NodeJS.ProcessEnv;
  /** Flags without a value that stand for several others (e.g. --quick). */
  presets?: Record<string, ReadonlyArray<readonly [string, string]>>;
  /** The accepted names (omitted: any). */
  known?: readonly string[];
}

export function parseFlags(argv: readonly string[], help: string, opts: FlagOptions = {}): Flags {
  const given = new Map<string, string>();
  const presets: Array<readonly [string, string]> = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(help + '\n');
      process.exit(0);
    }
    const preset = opts.presets?.[arg.replace(/^--/, '')];
    if (arg.startsWith('--') && preset !== undefined) {
      presets.push(...preset);
      continue;
    }
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    const value = m?.[2] ?? argv[++i];
    if (!m?.[1] || value === undefined) throw new Error(`bad argument '${arg}'\n${help}`);
    given.set(m[1], value);
  }
  for (const [k, v] of presets) if (!given.has(k)) given.set(k, v);
  if (opts.known) for (const name of given.keys()) if (!opts.known.includes(name)) throw new Error(`unknown option --${name}\n${help}`);
  const env = opts.env;
  const raw = (name: string, fallback: string): string =>
    given.get(name) ?? (env ? env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`] : undefined) ?? fallback;
  return {
    given,
    raw,
    int(name, fallback, min) {
      const n = Number(raw(name, String(fallback)));
      if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}`);
      return n;
    },
    list: (name, fallback) => raw(name, fallback).split(',').map((s) => s.trim()).filter((s) => s !== ''),
  };
}
