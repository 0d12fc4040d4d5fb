// The node's scripts and functions, on the main thread. The script cache and the function
// libraries are per node: every script the node knows (SCRIPT LOAD, or a first EVAL) and every
// library is loaded into every shard's engine, sent through each shard's ring ahead of any command
// that could use it (rings are FIFO), so EVALSHA works on whichever shard its keys live. The main
// thread's own engine compiles first: what it rejects never reaches the cache. Libraries are saved
// in the data directory (FUNCTION DUMP's format) on every change and reach replicas.
// Also the -BUSY gate: one read of a shared word per command while no script is past the threshold.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync, fsyncSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { createLuaEngine, type LuaEngine } from '../scripting/lua-engine.js';
import { BUSY, BUSY_COUNT, FLAGS, FLAG_FUNCTION, FLAG_WROTE, KILL, READONLY_REPLICA, RUNNING, createScriptWords, shardBase } from '../scripting/shard-scripts.js';
import { ReplyError, SCRIPT_ERR } from '../core/errors.js';
import { shaText } from '../scripting/sha-text.js';
import type { ArgList, CommandSpec } from './types.js';
import { argInt, argIs } from './args.js';
import { decodeFunctionDump, encodeFunctionDump } from './function-dump.js';

export interface ScriptNodeHost {
  readonly shardCount: number;
  callShard(shard: number, args: ReadonlyArray<Uint8Array | string>, proto: 2 | 3): Promise<Buffer>;
  /** The data directory, and whether this node persists anything (appendonly or save points). */
  dataDir(): string;
  persistent(): boolean;
  /** This node is a replica that refuses writes (replica-read-only). */
  readOnlyReplica(): boolean;
  warn(msg: string): void;
}

/** The functions file in the data directory (FUNCTION DUMP's payload). */
export const FUNCTIONS_FILE = 'functions.tdump';

export type RestorePolicy = 'APPEND' | 'REPLACE' | 'FLUSH';

export class ScriptNode {
  readonly words: Int32Array;
  engine: LuaEngine | null = null;
  /** sha1 hex -> body. */
  readonly scripts = new Map<string, Buffer>();
  /** Library name -> code, in load order (FUNCTION DUMP keeps it). */
  readonly libraries = new Map<string, Buffer>();
  /** Replication: called with the whole FUNCTION DUMP payload after every change. */
  onFunctionsChanged: ((payload: Buffer) => void) | null = null;
  private host: ScriptNodeHost | null = null;
  private readonly allowBusy: Uint8Array;
  private readonly idx: { eval: number; evalRo: number; evalsha: number; evalshaRo: number; fcall: number; script: number; fn: number };

  constructor(shards: number, commands: readonly CommandSpec[]) {
    this.words = createScriptWords(shards);
    const at = (n: string): number => commands.findIndex((c) => c.name === n);
    this.idx = { eval: at('eval'), evalRo: at('eval_ro'), evalsha: at('evalsha'), evalshaRo: at('evalsha_ro'), fcall: at('fcall'), script: at('script'), fn: at('function') };
    const always = new Set(['shutdown', 'auth', 'hello']);
    this.allowBusy = Uint8Array.from(commands, (c) => (c.flags.includes('allow-busy') || always.has(c.name) ? 1 : 0));
  }

  /** Creates the main thread's engine and loads the saved libraries (before clients arrive). */
  async start(host: ScriptNodeHost): Promise<void> {
    this.host = host;
    this.engine = await createLuaEngine();
    if (!host.persistent()) return;
    const path = join(host.dataDir(), FUNCTIONS_FILE);
    if (!existsSync(path)) return;
    const codes = decodeFunctionDump(readFileSync(path));
    if (codes === null) {
      host.warn(`${path}: not a valid functions file; starting without functions`);
      return;
    }
    try {
      this.restore(codes, 'FLUSH', false);
    } catch (e) {
      host.warn(`${path}: ${(e as Error).message}; starting without functions`);
    }
  }

  // --- the dispatcher's gate --------------------------------------------------------------------

  /** An error for command idx before it is routed (-BUSY, or NOSCRIPT for a sha the node lacks),
   * or null; a first EVAL of a script adds it to the node's cache here. */
  admit(idx: number, a: ArgList): string | null {
    if (this.words[BUSY_COUNT] !== 0 && !this.busyAllowed(idx, a)) return this.busyError();
    const x = this.idx;
    if (idx === x.eval || idx === x.evalsha || idx === x.fcall) {
      // Before the script runs: its shard refuses its writes on a read-only replica.
      const ro = this.host?.readOnlyReplica() === true ? 1 : 0;
      if (this.words[READONLY_REPLICA] !== ro) Atomics.store(this.words, READONLY_REPLICA, ro);
    }
    if (idx === x.eval || idx === x.evalRo) {
      if (a.argc >= 3) this.learnFromEval(a);
    } else if (idx === x.evalsha || idx === x.evalshaRo) {
      if (a.argc >= 3 && !this.scripts.has(shaArg(a))) {
        // Redis checks the key count before the cache for a 40-character sha: the shard answers that.
        const n = argInt(a, 2);
        if (a.len[1] !== 40 || (n >= 0 && n <= a.argc - 3)) return SCRIPT_ERR.noScript;
      }
    }
    return null;
  }

  private busyAllowed(idx: number, a: ArgList): boolean {
    if (this.allowBusy[idx] === 1) return true;
    if (idx === this.idx.script) return a.argc === 2 && argIs(a, 1, 'KILL');
    if (idx === this.idx.fn) return a.argc === 2 && (argIs(a, 1, 'KILL') || argIs(a, 1, 'STATS'));
    return false;
  }

  private busyError(): string {
    for (let s = 0; s < this.shardCountOr1(); s++) {
      const b = shardBase(s);
      if (Atomics.load(this.words, b + BUSY) === 1) return (Atomics.load(this.words, b + FLAGS) & FLAG_FUNCTION) !== 0 ? SCRIPT_ERR.busyFunction : SCRIPT_ERR.busyEval;
    }
    return SCRIPT_ERR.busyEval;
  }

  private shardCountOr1(): number {
    return this.host?.shardCount ?? 1;
  }

  /** The cached bodies by length: an EVAL of a known script costs a byte compare on the main
   * thread, not a SHA1 (a hash object and a hex string per EVAL). */
  private readonly byLength = new Map<number, Buffer[]>();

  private knownBody(buf: Uint8Array, off: number, len: number): boolean {
    const same = this.byLength.get(len);
    if (same === undefined) return false;
    for (const b of same) if (Buffer.compare(b, buf.subarray(off, off + len)) === 0) return true;
    return false;
  }

  private learnFromEval(a: ArgList): void {
    if (this.knownBody(a.buf, a.off[1]!, a.len[1]!)) return;
    const body = a.buf.subarray(a.off[1]!, a.off[1]! + a.len[1]!);
    const sha = createHash('sha1').update(body).digest('hex');
    if (this.scripts.has(sha)) return;
    try {
      this.addScript(Buffer.from(body));
    } catch {
      // Does not compile: the shard answers the error, and the cache stays without it.
    }
  }

  // --- scripts ----------------------------------------------------------------------------------

  /** SCRIPT LOAD (and a first EVAL): compiles, caches, loads into every shard; returns the sha.
   * Throws ReplyError with the compile error. */
  addScript(body: Buffer): string {
    const sha = this.engine!.loadScript(body);
    if (!this.scripts.has(sha)) {
      this.scripts.set(sha, body);
      const same = this.byLength.get(body.length);
      if (same === undefined) this.byLength.set(body.length, [body]);
      else same.push(body);
      const flags = this.engine!.scriptFlags(sha);
      if (flags !== null && !flags.includes('allow-cross-slot-keys')) {
        this.boundBodies.add(body);
        this.boundShas.add(sha);
      }
      this.toEveryShard(['__script', 'load', body]);
    }
    return sha;
  }

  /** Cached bodies and shas of the scripts bound to their keys' slot (a shebang without
   * allow-cross-slot-keys): with several shards they may run in their keys' shard. */
  private readonly boundBodies = new Set<Buffer>();
  private readonly boundShas = new Set<string>();

  /** Whether the EVAL*, EVALSHA* or FCALL* in a is bound to its declared keys' slot, as Redis 7
   * binds a script with flags (a shebang, or any function) without allow-cross-slot-keys in
   * cluster mode: it then touches no key of another slot, so of another shard. A keyless one is
   * never (Redis binds it to the slot of its first key, not known in advance). */
  boundToKeys(a: ArgList, kind: 'eval' | 'evalsha' | 'fcall'): boolean {
    if (!(argInt(a, 2) >= 1)) return false;
    if (kind === 'fcall') {
      const info = this.engine?.functionInfo(Buffer.from(a.buf.subarray(a.off[1]!, a.off[1]! + a.len[1]!)).toString());
      return info !== undefined && !info.flags.includes('allow-cross-slot-keys');
    }
    if (kind === 'evalsha') return a.len[1] === 40 && this.boundShas.size > 0 && this.boundShas.has(shaArg(a));
    const same = this.byLength.get(a.len[1]!);
    if (same === undefined) return false;
    const body = a.buf.subarray(a.off[1]!, a.off[1]! + a.len[1]!);
    for (const b of same) if (Buffer.compare(b, body) === 0) return this.boundBodies.has(b);
    return false;
  }

  flushScripts(): void {
    this.boundBodies.clear();
    this.boundShas.clear();
    this.scripts.clear();
    this.byLength.clear();
    this.engine?.flushScripts();
    this.toEveryShard(['__script', 'flush']);
  }

  /** SCRIPT KILL (fn false) / FUNCTION KILL (fn true): null when the running script was asked to
   * stop, else the error reply. */
  kill(fn: boolean): string | null {
    for (let s = 0; s < this.shardCountOr1(); s++) {
      const b = shardBase(s);
      if (Atomics.load(this.words, b + RUNNING) !== 1) continue;
      const flags = Atomics.load(this.words, b + FLAGS);
      if ((flags & FLAG_WROTE) !== 0) return SCRIPT_ERR.unkillable;
      const isFn = (flags & FLAG_FUNCTION) !== 0;
      if (fn && !isFn) return SCRIPT_ERR.busyEval;
      if (!fn && isFn) return SCRIPT_ERR.busyFunction;
      Atomics.store(this.words, b + KILL, 1);
      return null;
    }
    return SCRIPT_ERR.notBusy;
  }

  /** The shard running a script now, or -1 (FUNCTION STATS). */
  runningShard(): { shard: number; fn: boolean } | null {
    for (let s = 0; s < this.shardCountOr1(); s++) {
      const b = shardBase(s);
      if (Atomics.load(this.words, b + RUNNING) === 1) return { shard: s, fn: (Atomics.load(this.words, b + FLAGS) & FLAG_FUNCTION) !== 0 };
    }
    return null;
  }

  /** INFO memory's script fields, as redis-server 7.0 names them; sizes are the code's bytes (the
   * engines' own memory is not measured). */
  memoryInfo(): Array<[string, string | number]> {
    let evalBytes = 0;
    for (const b of this.scripts.values()) evalBytes += b.length;
    let fnBytes = 0;
    for (const b of this.libraries.values()) fnBytes += b.length;
    const functions = this.engine?.libraries().reduce((n, l) => n + l.functions.length, 0) ?? 0;
    return [
      ['used_memory_scripts_eval', evalBytes],
      ['number_of_cached_scripts', this.scripts.size],
      ['number_of_functions', functions],
      ['number_of_libraries', this.libraries.size],
      ['used_memory_functions', fnBytes],
      ['used_memory_scripts', evalBytes + fnBytes],
    ];
  }

  // --- functions --------------------------------------------------------------------------------

  /** FUNCTION LOAD: returns the library's name; throws ReplyError with Redis's texts. */
  loadLibrary(code: Buffer, replace: boolean): string {
    const info = this.engine!.loadLibrary(code, replace);
    this.libraries.delete(info.name);
    this.libraries.set(info.name, code);
    this.toEveryShard(['__script', 'fnload', code]);
    this.functionsChanged();
    return info.name;
  }

  deleteLibrary(name: string): boolean {
    if (!this.engine!.deleteLibrary(name)) return false;
    this.libraries.delete(name);
    this.toEveryShard(['__script', 'fndelete', name]);
    this.functionsChanged();
    return true;
  }

  flushLibraries(): void {
    this.engine!.flushLibraries();
    this.libraries.clear();
    this.toEveryShard(['__script', 'fnflush']);
    this.functionsChanged();
  }

  dump(): Buffer {
    return encodeFunctionDump([...this.libraries.values()]);
  }

  /** FUNCTION RESTORE: all or nothing, as Redis. Throws ReplyError. */
  restore(codes: Uint8Array[], policy: RestorePolicy, announce = true): void {
    const engine = this.engine!;
    const before = [...this.libraries.values()];
    // Check on a scratch basis first: the main engine is rebuilt from `before` on failure.
    try {
      if (policy === 'FLUSH') {
        engine.flushLibraries();
        this.libraries.clear();
      }
      const seen = new Set<string>();
      for (const code of codes) {
        const b = Buffer.from(code);
        const name = libraryName(b);
        if (policy === 'APPEND' && name !== null && (this.libraries.has(name) || seen.has(name))) throw new ReplyError(SCRIPT_ERR.libraryExistsRestore(name));
        const info = engine.loadLibrary(b, policy === 'REPLACE');
        seen.add(info.name);
        this.libraries.delete(info.name);
        this.libraries.set(info.name, b);
      }
    } catch (e) {
      engine.flushLibraries();
      this.libraries.clear();
      for (const b of before) {
        const info = engine.loadLibrary(b, true);
        this.libraries.set(info.name, b);
      }
      throw e;
    }
    this.syncShardLibraries();
    if (announce) this.functionsChanged();
    else this.save();
  }

  /** Every shard's libraries become the node's (after a restore, a restart of the shard). */
  private syncShardLibraries(shard?: number): void {
    const args: Array<Uint8Array | string> = ['__script', 'fnset', ...this.libraries.values()];
    if (shard === undefined) this.toEveryShard(args);
    else void this.host?.callShard(shard, args, 2).catch(() => undefined);
  }

  /** A shard worker restarted with a fresh engine: it gets the node's scripts and libraries
   * before any request sent after this call. */
  shardRestarted(shard: number): void {
    for (const body of this.scripts.values()) void this.host?.callShard(shard, ['__script', 'load', body], 2).catch(() => undefined);
    if (this.libraries.size > 0) this.syncShardLibraries(shard);
  }

  /** A replica takes its primary's libraries (full sync, or a change). */
  replaceFromPrimary(payload: Uint8Array): void {
    const codes = decodeFunctionDump(payload);
    if (codes === null) {
      this.host?.warn('functions from the primary: bad payload, ignored');
      return;
    }
    try {
      this.restore(codes, 'FLUSH');
    } catch (e) {
      this.host?.warn(`functions from the primary: ${(e as Error).message}`);
    }
  }

  private functionsChanged(): void {
    this.save();
    this.onFunctionsChanged?.(this.dump());
  }

  /** Writes the libraries to the data directory, atomically (temporary file, fsync, rename). */
  private save(): void {
    const h = this.host;
    if (h === null || !h.persistent()) return;
    const path = join(h.dataDir(), FUNCTIONS_FILE);
    const tmp = `${path}.tmp`;
    try {
      writeFileSync(tmp, this.dump());
      const fd = openSync(tmp, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
    } catch (e) {
      h.warn(`writing ${path}: ${(e as Error).message}`);
    }
  }

  private toEveryShard(args: ReadonlyArray<Uint8Array | string>): void {
    const h = this.host;
    if (h === null) return;
    for (let s = 0; s < h.shardCount; s++) void h.callShard(s, args, 2).catch(() => undefined);
  }
}

function shaArg(a: ArgList): string {
  return shaText(a.buf, a.off[1]!, a.len[1]!);
}

/** The name in a library's "#!lua name=<lib>" shebang, or null. */
export function libraryName(code: Uint8Array): string | null {
  const end = code.indexOf(10);
  const line = Buffer.from(code.subarray(0, end < 0 ? code.length : end)).toString('utf8');
  const m = /^#!\S+\s.*?\bname=(\S+)/.exec(line);
  return m === null ? null : m[1]!;
}
