// Server configuration with Redis's option names, defaults and CONFIG GET/SET semantics.
// Sources, lowest first: defaults < config file (redis.conf syntax) < TESSERA_* environment <
// command-line flags. The parameters themselves are declared once, in params.ts.

import { existsSync, readFileSync } from 'node:fs';
import { ConfSyntaxError, parseConfText, splitArgs, type Directive } from './conf-file.js';
import { globMatch } from '../util/glob.js';
import { InvalidValue, PARAMS, PARAM_BY_NAME, defaultState, resolveDerivedPorts, type ConfigState, type Param } from './params.js';
import { allowProtectedAction } from './protected.js';
import type { EvictionPolicy } from '../core/types.js';
import type { ServerConfig } from './server-config.js';

export type { EvictionPolicy, ServerConfig };



/** A refused configuration: the message names the option, where it came from and what is allowed. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const DEFAULT_CONFIG_FILE = 'config/tessera.conf';
export const ENV_PREFIX = 'TESSERA_';
/** Environment variable naming the config file (same as --config; the flag wins). */
export const ENV_CONFIG_FILE = 'TESSERA_CONFIG';

/** Who asks for a CONFIG SET: its address decides `local` protected configs. */
export interface ConfigClient {
  /** "ip:port" as CLIENT LIST shows it. */
  addr: string;
}

/**
 * A check that CONFIG SET runs on a new value of one option, after every value parsed and before
 * anything changes. check() returns why the value is refused (Redis's text after " - ") or null,
 * and may reserve what the value needs (a directory lock); settle() then says whether the set
 * was committed or abandoned, so that the reservation is kept or given back.
 */
export interface SetGuard {
  check(value: string): string | null;
  settle(value: string, committed: boolean): void;
}

/**
 * A check of every value a CONFIG SET would leave, with the names it sets: null, or the option to
 * name and why (Redis's text after " - "). It may prepare what the values need and install it from
 * an onChange listener; it must not change anything itself.
 */
export type DraftCheck = (draft: Readonly<ServerConfig>, names: readonly string[]) => { name: string; why: string } | null;

export class Config {
  /** Current values; change them only through set(), which keeps this object and updates it. */
  readonly values: ServerConfig;
  /** Things worth a line in the startup log (ports left off, optional bind addresses skipped). */
  readonly notes: string[] = [];
  /** `user` directives (config file lines, --user flags): each the user's name then its rules. */
  readonly userLines: string[][] = [];
  #state: ConfigState;
  readonly #listeners: Array<(names: string[]) => void> = [];
  readonly #guards = new Map<string, SetGuard>();
  readonly #drafts: DraftCheck[] = [];

  /** Defaults with typed `overrides` (not range-checked): for tests and embedding. Ports not
   * overridden follow an overridden port, as they do when loaded. */
  constructor(overrides: Partial<ServerConfig> = {}) {
    this.#state = defaultState();
    Object.assign(this.#state.values, structuredClone(overrides));
    if (overrides.bind !== undefined) this.#state.bindWords = [...overrides.bind];
    if (overrides.memcachePort !== undefined) this.#state.portFollows.memcachePort = false;
    if (overrides.httpPort !== undefined) this.#state.portFollows.httpPort = false;
    resolveDerivedPorts(this.#state);
    this.values = this.#state.values;
  }

  /** Wraps a state built by loadConfig. */
  static fromState(state: ConfigState, notes: string[] = []): Config {
    const config = new Config();
    Object.assign(config.values, state.values);
    config.#state.otherOutputBufferLimits = state.otherOutputBufferLimits;
    config.#state.bindWords = state.bindWords;
    config.#state.bindSkipped = state.bindSkipped;
    config.#state.portFollows = state.portFollows;
    config.notes.push(...notes);
    return config;
  }

  /** client-output-buffer-limit of the replica or pubsub class (normal is values.clientOutputBufferLimitNormal). */
  outputBufferLimit(cls: 'replica' | 'pubsub'): { hardBytes: number; softBytes: number; softSeconds: number } {
    return this.#state.otherOutputBufferLimits[cls];
  }

  /** Installs the guard CONFIG SET runs on new values of `name` (one per option). */
  guard(name: string, guard: SetGuard): void {
    this.#guards.set(name, guard);
  }

  /** Installs a check CONFIG SET runs on the whole draft (options only valid together, as TLS's). */
  checkDraft(check: DraftCheck): void {
    this.#drafts.push(check);
  }

  /** CONFIG GET: (name, value) pairs whose name matches any pattern (Redis glob, case-insensitive), in table order. */
  get(patterns: string[]): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const p of PARAMS) {
      const name = Buffer.from(p.name);
      const matches = patterns.some((pattern) => {
        const glob = Buffer.from(pattern);
        return globMatch(glob, 0, glob.length, name, 0, name.length, true);
      });
      if (matches) out.push([p.name, p.format(this.#state)]);
    }
    return out;
  }

  /**
   * CONFIG SET: applies all pairs or none. Returns null, or Redis's error text without the
   * leading '-'. Options naming files the server writes (dir, dbfilename) are refused unless
   * enable-protected-configs allows `client` (Redis 7: a client must not make the server
   * overwrite files outside its data); without a client, only `yes` allows them.
   */
  set(pairs: Array<[string, string]>, client?: ConfigClient): string | null {
    const failed = (name: string, why: string): string =>
      `ERR CONFIG SET failed (possibly related to argument '${name}') - ${why}`;
    const params: Param[] = [];
    for (const [name] of pairs) {
      const param = PARAM_BY_NAME.get(name.toLowerCase());
      if (param === undefined) return `ERR Unknown option or number of arguments for CONFIG SET - '${name}'`;
      if (!param.mutable) return failed(name, "can't set immutable config");
      if (param.protected && !allowProtectedAction(this.values.enableProtectedConfigs, client?.addr)) {
        return failed(name, "can't set protected config");
      }
      if (params.includes(param)) return failed(name, 'duplicate parameter');
      params.push(param);
    }
    const draft = structuredClone(this.#state);
    for (const [i, [name, raw]] of pairs.entries()) {
      try {
        params[i]?.apply(draft, raw);
      } catch (err) {
        if (err instanceof InvalidValue) return failed(name, err.message);
        throw err;
      }
    }
    for (const check of this.#drafts) {
      const refused = check(draft.values, params.map((p) => p.name));
      if (refused !== null) return failed(refused.name, refused.why);
    }
    // Guards last, on parsed values: a reservation is only made for a set that can commit.
    const reserved: Array<[SetGuard, string]> = [];
    for (const [i, [name]] of pairs.entries()) {
      const param = params[i]!;
      const guard = this.#guards.get(param.name);
      if (guard === undefined) continue;
      const value = param.format(draft);
      const refused = guard.check(value);
      if (refused !== null) {
        for (const [g, v] of reserved) g.settle(v, false);
        return failed(name, refused);
      }
      reserved.push([guard, value]);
    }
    for (const [g, v] of reserved) g.settle(v, true);
    const changed = params.filter((p) => p.format(draft) !== p.format(this.#state)).map((p) => p.name);
    Object.assign(this.values, draft.values);
    this.#state.otherOutputBufferLimits = draft.otherOutputBufferLimits;
    if (changed.length > 0) for (const listener of this.#listeners) listener(changed);
    return null;
  }

  /** Called after each successful set() that changed something, with the changed names. Listeners must not throw. */
  onChange(listener: (names: string[]) => void): void {
    this.#listeners.push(listener);
  }
}

/** One option as --help shows it. */
export interface OptionInfo {
  name: string;
  allowed: string;
  defaultValue: string;
  mutable: boolean;
  help: string;
}

export function describeOptions(): OptionInfo[] {
  const defaults = defaultState();
  return PARAMS.map((p) => ({
    name: p.name, allowed: p.allowed, defaultValue: p.defaultText ?? p.format(defaults), mutable: p.mutable, help: p.help,
  }));
}

/** Builds the configuration from defaults < config file < TESSERA_* env < flags; throws ConfigError. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  const flags = parseFlags(argv);
  const state = defaultState();
  const userLines: string[][] = [];

  const fileFlag = flags.find((f) => f.name === 'config');
  if (fileFlag !== undefined && fileFlag.words.length !== 1) {
    throw new ConfigError(`flag --config takes one file, got: ${fileFlag.words.join(' ')}`);
  }
  let file = fileFlag?.words[0] ?? env[ENV_CONFIG_FILE];
  if (file === undefined && existsSync(DEFAULT_CONFIG_FILE)) file = DEFAULT_CONFIG_FILE;
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file '${file}': ${err instanceof Error ? err.message : String(err)}`);
    }
    let directives: Directive[];
    try {
      directives = parseConfText(text);
    } catch (err) {
      if (err instanceof ConfSyntaxError) throw new ConfigError(`${file}:${err.line}: ${err.message}`);
      throw err;
    }
    for (const d of directives) {
      if (d.name === 'user') userLines.push(d.args);
      else applySource(state, d.name, d.args, `${file}:${d.line}`);
    }
  }

  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith(ENV_PREFIX) || key === ENV_CONFIG_FILE || value === undefined) continue;
    const name = key.slice(ENV_PREFIX.length).toLowerCase().replaceAll('_', '-');
    applySource(state, name, [value], `environment variable ${key}`);
  }

  for (const f of flags) {
    if (f.name === 'user') userLines.push(f.words.length === 1 ? (splitArgs(f.words[0]!) ?? []) : f.words);
    else if (f.name !== 'config') applySource(state, f.name, f.words, `flag --${f.name}`);
  }
  const notes = resolveDerivedPorts(state);
  if (state.bindSkipped.length > 0) notes.push(`bind: skipped ${state.bindSkipped.join(' ')} (optional, not on this host)`);
  if (userLines.length > 0 && state.values.aclfile !== '') {
    // Redis's rule: one source of users, never both.
    throw new ConfigError('Configuring Tessera with users defined in the config file and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in the config file, but not both.');
  }
  const config = Config.fromState(state, notes);
  config.userLines.push(...userLines);
  return config;
}

interface Flag {
  name: string;
  words: string[];
}

/** `--name value...` (words up to the next `--`) or `--name=value`. */
function parseFlags(argv: string[]): Flag[] {
  const flags: Flag[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--') || arg.length === 2) {
      throw new ConfigError(`unexpected argument '${arg}': options are given as --name value`);
    }
    const eq = arg.indexOf('=');
    if (eq > 0) {
      flags.push({ name: arg.slice(2, eq).toLowerCase(), words: [arg.slice(eq + 1)] });
      continue;
    }
    const words: string[] = [];
    while (i + 1 < argv.length && !(argv[i + 1] ?? '').startsWith('--')) words.push(argv[++i] ?? '');
    const name = arg.slice(2).toLowerCase();
    if (words.length === 0) throw new ConfigError(`flag --${name} needs a value (use --${name}=VALUE for values starting with --)`);
    flags.push({ name, words });
  }
  return flags;
}

function applySource(state: ConfigState, name: string, words: string[], source: string): void {
  const param = PARAM_BY_NAME.get(name);
  if (param === undefined) {
    const near = closestName(name);
    const hint = near === undefined ? '' : ` (did you mean '${near}'?)`;
    throw new ConfigError(`${source}: unknown option '${name}'${hint}; 'tessera server --help' lists the options`);
  }
  if (!param.multiArg && words.length !== 1) {
    throw new ConfigError(`${source}: '${name}' takes exactly one value, got ${words.length}; allowed: ${param.allowed}`);
  }
  const raw = words.join(' ');
  try {
    param.apply(state, raw);
  } catch (err) {
    if (!(err instanceof InvalidValue)) throw err;
    throw new ConfigError(`${source}: bad value '${raw}' for '${name}': ${err.message}; allowed: ${param.allowed}`);
  }
}

function closestName(name: string): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const p of PARAMS) {
    const d = editDistance(name, p.name);
    if (d < bestDistance) [best, bestDistance] = [p.name, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}
