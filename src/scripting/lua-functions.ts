// FUNCTION libraries: parsing the "#!lua name=<lib>" shebang, running the library code with the
// load-time API (redis.register_function, redis.log), validating names and flags with Redis 7.0's
// texts, and the registry of libraries and functions (each function a Lua registry reference).

import { ReplyError } from '../core/errors.js';
import { pushErrorTable } from './lua-errors.js';
import { LUA_OK, T_FUNCTION, T_NIL, T_NUMBER, T_STRING, T_TABLE, type LuaVm } from './lua-vm.js';

export interface FunctionInfo {
  name: string;
  description: string | null;
  flags: string[];
}
export interface LibraryInfo {
  name: string;
  engine: 'LUA';
  code: string;
  functions: FunctionInfo[];
}

interface Library {
  info: LibraryInfo;
  refs: Map<string, number>;
}

const FUNCTION_FLAGS = ['no-writes', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys'];
const NAME_RE = /^[A-Za-z0-9_]+$/;
const BAD_NAME =
  'Library names can only contain letters, numbers, or underscores(_) and must be at least one character long';
/** Redis stops a library's load-time code after this long (function_lua.c LOAD_TIMEOUT_MS). */
const LOAD_TIMEOUT_MS = 500;
const FUNCTION_CHUNK = '@user_function';

/** What the engine lends the registry: the error handler and the hook's deadline. */
export interface FunctionHost {
  errhRef(): number;
  setLoadDeadline(deadline: number): void;
}

export class FunctionRegistry {
  private readonly libs = new Map<string, Library>();
  private readonly fns = new Map<string, { lib: string; info: FunctionInfo; ref: number }>();
  private readonly compileRef: number;
  private readonly loadingRef: number;
  /** Functions registered by the library now loading (null when none is). */
  private pending: { info: FunctionInfo; ref: number }[] | null = null;

  constructor(
    private readonly L: LuaVm,
    private readonly host: FunctionHost,
    functionEnvRef: number,
  ) {
    L.rawgeti(L.registryIndex, functionEnvRef);
    L.pushfunction(() => this.registerFunction());
    if (L.pcall(1, 2, 0) !== LUA_OK) throw new Error('Lua function env failed: ' + L.tostring(-1));
    this.loadingRef = L.ref();
    this.compileRef = L.ref();
  }

  load(code: Uint8Array, replace: boolean): LibraryInfo {
    const name = parseShebang(code);
    if (!NAME_RE.test(name)) throw new ReplyError('ERR ' + BAD_NAME);
    const old = this.libs.get(name);
    if (old !== undefined && !replace) throw new ReplyError(`ERR Library '${name}' already exists`);
    const L = this.L;
    L.settop(0);
    // The shebang line is blanked, so that line numbers count it as Redis does.
    const nl = code.indexOf(10);
    const body = Uint8Array.from(code);
    body.fill(32, 0, nl < 0 ? body.length : nl);
    L.rawgeti(L.registryIndex, this.compileRef);
    L.pushbytes(body, 0, body.length);
    L.pushstring(FUNCTION_CHUNK);
    if (L.pcall(2, 2, 0) !== LUA_OK || L.type(1) !== T_FUNCTION) {
      const msg = L.tostring(2) || L.tostring(1);
      L.settop(0);
      throw new ReplyError(`ERR Error compiling function: ${msg.replace(/near <eof>/g, "near '<eof>'")}`);
    }
    L.settop(1);
    // Stack: chunk. Run it as errh(chunk) under the load-time API.
    L.rawgeti(L.registryIndex, this.host.errhRef());
    L.insert(1);
    this.setLoading(true);
    this.pending = [];
    this.host.setLoadDeadline(Date.now() + LOAD_TIMEOUT_MS);
    let status: number;
    try {
      status = L.pcall(0, 0, 1);
    } finally {
      this.host.setLoadDeadline(0);
      this.setLoading(false);
    }
    const pending = this.pending;
    this.pending = null;
    const drop = (): void => {
      for (const p of pending) L.unref(p.ref);
    };
    if (status !== LUA_OK) {
      let msg = L.tostring(-1);
      if (L.type(-1) === T_TABLE) {
        L.getfield(-1, 'err');
        msg = L.tostring(-1);
      }
      L.settop(0);
      drop();
      throw new ReplyError(`ERR Error registering functions: ${msg}`);
    }
    L.settop(0);
    if (pending.length === 0) {
      drop();
      throw new ReplyError('ERR No functions registered');
    }
    for (const p of pending) {
      const owner = this.fns.get(p.info.name);
      if (owner !== undefined && owner.lib !== name) {
        drop();
        throw new ReplyError(`ERR Function ${p.info.name} already exists`);
      }
    }
    if (old !== undefined) this.delete(name);
    const info: LibraryInfo = {
      name,
      engine: 'LUA',
      code: Buffer.from(code).toString('utf8'),
      functions: pending.map((p) => p.info),
    };
    const refs = new Map<string, number>();
    for (const p of pending) {
      refs.set(p.info.name, p.ref);
      this.fns.set(p.info.name, { lib: name, info: p.info, ref: p.ref });
    }
    this.libs.set(name, { info, refs });
    return info;
  }

  delete(name: string): boolean {
    const lib = this.libs.get(name);
    if (lib === undefined) return false;
    for (const [fname, ref] of lib.refs) {
      this.fns.delete(fname);
      this.L.unref(ref);
    }
    this.libs.delete(name);
    return true;
  }

  flush(): void {
    for (const name of [...this.libs.keys()]) this.delete(name);
  }

  list(): LibraryInfo[] {
    return [...this.libs.values()].map((l) => l.info);
  }

  info(name: string): FunctionInfo | undefined {
    return this.fns.get(name)?.info;
  }

  ref(name: string): number | undefined {
    return this.fns.get(name)?.ref;
  }

  private setLoading(on: boolean): void {
    const L = this.L;
    L.rawgeti(L.registryIndex, this.loadingRef);
    L.pushboolean(on);
    if (L.pcall(1, 0, 0) !== LUA_OK) L.settop(-2);
  }

  /** redis.register_function(name, callback) or redis.register_function{function_name=,
   * callback=, flags=, description=} (function_lua.c luaRegisterFunction). */
  private registerFunction(): number {
    const L = this.L;
    const pending = this.pending;
    if (pending === null) return raise(L, 'redis.register_function can only be called on FUNCTION LOAD command');
    const argc = L.gettop();
    let name: string | null = null;
    let description: string | null = null;
    const flags: string[] = [];
    let callback = 0; // stack index of the callback
    if (argc === 1) {
      if (L.type(1) !== T_TABLE) {
        return raise(L, 'calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).');
      }
      L.pushnil();
      while (L.next(1)) {
        // Stack: t, key, value
        if (L.type(-2) !== T_STRING) return raise(L, 'named argument key given to redis.register_function is not a string');
        const key = L.tostring(-2);
        if (key === 'function_name') {
          if (L.type(-1) !== T_STRING) return raise(L, 'function_name argument given to redis.register_function must be a string');
          name = L.tostring(-1);
        } else if (key === 'description') {
          if (L.type(-1) !== T_STRING && L.type(-1) !== T_NUMBER) return raise(L, 'description argument given to redis.register_function must be a string');
          description = Buffer.from(L.tobytes(-1)).toString('utf8');
        } else if (key === 'callback') {
          if (L.type(-1) !== T_FUNCTION) return raise(L, 'callback argument given to redis.register_function must be a function');
          L.pushvalue(-1);
          L.insert(2);
          callback = 2;
        } else if (key === 'flags') {
          if (L.type(-1) !== T_TABLE) return raise(L, 'flags argument to redis.register_function must be a table representing function flags');
          for (let i = 1; ; i++) {
            const t = L.rawgeti(-1, i);
            if (t === T_NIL) {
              L.settop(-2);
              break;
            }
            const f = t === T_STRING ? L.tostring(-1) : '';
            if (!FUNCTION_FLAGS.includes(f)) return raise(L, 'unknown flag given');
            flags.push(f);
            L.settop(-2);
          }
        } else {
          return raise(L, 'unknown argument given to redis.register_function');
        }
        L.settop(-2);
      }
      if (name === null) return raise(L, 'redis.register_function must get a function name argument');
      if (callback === 0) return raise(L, 'redis.register_function must get a callback argument');
    } else if (argc === 2) {
      if (L.type(1) !== T_STRING) return raise(L, 'first argument to redis.register_function must be a string');
      if (L.type(2) !== T_FUNCTION) return raise(L, 'second argument to redis.register_function must be a function');
      name = L.tostring(1);
      callback = 2;
    } else {
      return raise(L, 'wrong number of arguments to redis.register_function');
    }
    if (!NAME_RE.test(name)) return raise(L, BAD_NAME);
    for (const p of pending) if (p.info.name === name) return raise(L, 'Function already exists in the library');
    L.pushvalue(callback);
    pending.push({ info: { name, description, flags }, ref: L.ref() });
    return 0;
  }
}

function raise(L: LuaVm, text: string): never {
  pushErrorTable(L, text, false);
  return L.error();
}

/** The library name of a "#!<engine> name=<lib>" first line (functions.c
 * functionExtractLibMetaData), with Redis's errors. */
function parseShebang(code: Uint8Array): string {
  if (code[0] !== 35 || code[1] !== 33) throw new ReplyError('ERR Missing library metadata');
  let nl = code.indexOf(10);
  if (nl < 0) nl = code.length;
  const parts = Buffer.from(code.subarray(0, nl)).toString('utf8').split(' ').filter((p) => p !== '');
  const engine = parts[0]!.slice(2);
  if (engine.toLowerCase() !== 'lua') throw new ReplyError(`ERR Engine '${engine}' not found`);
  let name: string | null = null;
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i]!;
    if (p.startsWith('name=')) {
      if (name !== null) throw new ReplyError('ERR Invalid metadata value, name argument was given multiple times');
      name = p.slice(5);
    } else {
      throw new ReplyError(`ERR Invalid metadata value given: ${p}`);
    }
  }
  if (name === null) throw new ReplyError('ERR Library name was not given');
  return name;
}
