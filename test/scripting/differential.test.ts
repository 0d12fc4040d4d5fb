// The engine against a real redis-server 7.0, byte for byte: each script runs as EVAL on
// redis-server, then on the engine whose host forwards redis.call to the same server (SyncRedis),
// from the same data; the replies must be the same bytes, in RESP2 and in RESP3. FUNCTION LOAD
// errors and FCALL replies likewise. Runs on both VMs; a case a VM cannot match names it in `not`.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rawClient, requireTool, show, startRedis, type RawClient, type ServerHandle } from '../e2e/harness.js';
import { createLuaEngine, type LuaEngine } from '../../src/scripting/lua-engine.js';
import type { VmName } from '../../src/scripting/lua-vm.js';
import { RespWriter } from '../../src/protocol/resp-writer.js';
import { ReplyError } from '../../src/core/errors.js';
import { SyncRedis } from './sync-redis.js';
import { LUA_TEXT } from '../../src/scripting/lua-errors.js';

interface Case {
  body: string;
  keys?: string[];
  argv?: string[];
  setup?: string[][];
  /** VMs whose Lua cannot give Redis's bytes here (see docs/lua.md). */
  not?: VmName[];
}

const SETUP_DATA: string[][] = [
  ['SET', 's', 'str'],
  ['SET', 'n', '10'],
  ['HSET', 'h', 'f1', 'v1'],
  ['RPUSH', 'l', 'a', 'b', 'c'],
  ['SADD', 'set1', 'only'],
  ['ZADD', 'z', '1.5', 'm'],
];

const CASES: Case[] = [
  // Lua -> RESP
  { body: 'return 1' },
  { body: 'return 3.99' },
  { body: 'return -3.99' },
  { body: "return 'str'" },
  { body: 'return true' },
  { body: 'return false' },
  { body: 'return nil' },
  { body: "return {1,2,{3,'x'},nil,5}" },
  { body: "return {ok='fine'}" },
  { body: "return {err='my err'}" },
  { body: "return {err='-x y'}" },
  { body: "return {err='a\\r\\nb'}" },
  { body: "return {ok='a\\nb'}" },
  { body: "return redis.status_reply('x')" },
  { body: "return redis.error_reply('MY err')" },
  { body: "return redis.error_reply('single')" },
  { body: "return redis.error_reply('-WRONG x')" },
  { body: 'return redis.error_reply()' },
  { body: 'return redis.status_reply(1)' },
  { body: 'return {double=3.5}' },
  { body: "return {big_number='123456789012345678901234567890'}" },
  { body: 'return {map={a=1}}' },
  { body: 'return {set={a=true}}' },
  { body: "return {verbatim_string={format='txt', string='hi there'}}" },
  { body: 'return 2^63' },
  { body: 'return -2^63' },
  { body: 'return 0/0' },
  { body: 'return math.huge' },
  { body: 'return 2^53 + 1' },
  { body: "redis.setresp(3) return {true, false}" },
  // KEYS / ARGV
  { body: 'return {KEYS[1], ARGV[1], #KEYS, #ARGV}', keys: ['k1', 'k2'], argv: ['a1'] },
  { body: "KEYS[1] = 'changed' return KEYS", keys: ['k1'] },
  // RESP -> Lua through real commands
  { body: "return redis.call('GET', 's')", setup: SETUP_DATA },
  { body: "return redis.call('INCR', 'n')", setup: SETUP_DATA },
  { body: "return type(redis.call('GET', 'missing'))" },
  { body: "return redis.call('GET', 'missing')" },
  { body: "return redis.call('PING')" },
  { body: "return redis.call('SET', 'x', 'y')" },
  { body: "return redis.call('HGETALL', 'h')", setup: SETUP_DATA },
  { body: "return redis.call('LRANGE', 'l', 0, -1)", setup: SETUP_DATA },
  { body: "return redis.call('SMEMBERS', 'set1')", setup: SETUP_DATA },
  { body: "return redis.call('ZSCORE', 'z', 'm')", setup: SETUP_DATA },
  { body: "return redis.call('TYPE', 'h')", setup: SETUP_DATA },
  { body: "local r = redis.call('PING') return r.ok" },
  { body: "redis.setresp(3) return redis.call('HGETALL', 'h')", setup: SETUP_DATA },
  { body: "redis.setresp(3) return redis.call('SMEMBERS', 'set1')", setup: SETUP_DATA },
  { body: "redis.setresp(3) return redis.call('ZSCORE', 'z', 'm')", setup: SETUP_DATA },
  { body: "redis.setresp(3) local d = redis.call('ZSCORE', 'z', 'm') return tostring(d.double)", setup: SETUP_DATA },
  { body: "redis.setresp(3) return type(redis.call('GET', 'missing'))" },
  { body: "redis.setresp(3) return redis.call('GET', 'missing')" },
  { body: "redis.setresp(3) local m = redis.call('HGETALL', 'h') return m.map.f1", setup: SETUP_DATA },
  { body: "redis.call('SET', 'f', 3.5) redis.call('SET', 'g', 0.1) redis.call('SET', 'e', 1e20) redis.call('SET', 'i', 42) return redis.call('MGET', 'f', 'g', 'e', 'i')" },
  // errors
  { body: "return redis.call('INCR', 's')", setup: SETUP_DATA },
  { body: "return redis.pcall('INCR', 's')", setup: SETUP_DATA },
  { body: "local e = redis.pcall('INCR', 's') return e.err", setup: SETUP_DATA },
  { body: "return redis.call('nosuch')" },
  { body: "return redis.pcall('nosuch')" },
  { body: "return redis.call('GET')" },
  { body: 'return redis.call()' },
  { body: "return redis.call('SET', 'a', {})" },
  { body: "return redis.pcall('SET', 'a', {})" },
  { body: "return redis.call('HGET', 's', 'x')", setup: SETUP_DATA },
  { body: "error('boom')" },
  { body: "error('boom', 0)" },
  { body: "error({err='TAB boom'})" },
  { body: 'error()' },
  { body: 'error(42)' },
  { body: "\n\nlocal x = 1\nerror('third')" },
  { body: 'return 1 +' },
  { body: 'return redis.setresp(4)' },
  { body: 'return redis.sha1hex()' },
  { body: 'return redis.set_repl(9)' },
  { body: 'return redis.log(1)' },
  { body: "return redis.log(9, 'x')" },
  // sandbox
  { body: 'x = 1' },
  { body: 'return y' },
  { body: "rawset(_G, 'x', 1)" },
  { body: 'string.x = 1' },
  { body: 'redis.x = 1' },
  { body: '_G.x = 1' },
  { body: 'return os' },
  { body: 'return io' },
  { body: 'return print' },
  { body: 'return type(redis.nosuch)' },
  { body: "return loadstring('return 7')()" },
  { body: "local f = loadstring('x = 1') f()" },
  { body: 'return _VERSION' },
  { body: "local t = {} for k in pairs(_G) do t[#t+1]=k end table.sort(t) return t" },
  { body: "local t = {} for k in pairs(redis) do t[#t+1]=k end table.sort(t) return t" },
  { body: "local t = {} for k in pairs(cjson) do t[#t+1]=k end table.sort(t) return t" },
  { body: "local t = {} for k in pairs(bit) do t[#t+1]=k end table.sort(t) return t" },
  // Lua 5.1 names and numbers
  { body: 'return unpack({1,2,3})' },
  { body: "return select('#', unpack({1,2,3}))" },
  { body: 'return table.getn({1,2,3})' },
  { body: 'return math.pow(2, 10)' },
  { body: 'return math.fmod(7, 3)' },
  { body: 'return tostring(10/2)' },
  { body: 'return tostring(7/2)' },
  { body: 'return tostring(2^53)' },
  { body: 'return tostring(1e15)' },
  { body: 'return tostring(-1e-7)' },
  { body: 'return tostring(1/3)' },
  { body: "return string.format('%d %s %5.2f', 3, 4.5, 1/3)" },
  { body: "return tonumber('0x10')" },
  { body: "return tostring(2147483647 + 1)", not: ['fengari'] },
  { body: "return tostring(1700000000 * 1000)", not: ['fengari'] },
  { body: 'return redis.sha1hex("abc")' },
  { body: 'return redis.REDIS_VERSION_NUM > 0' },
  { body: 'math.randomseed(7) return {math.random(10), math.random(5, 9), tostring(math.random())}' },
  { body: 'math.randomseed(1) return {math.random(100), math.random(1000)}' },
  { body: 'return math.random(0)' },
  // cjson
  { body: `return cjson.encode({1,2,'a"/\\n', {x=1}, {}, true, false, 1.5, 1e15, 123456789012})` },
  { body: 'return cjson.encode({[1]=1,[5]=2})' },
  { body: 'return cjson.encode({[1]=1,[15]=2})' },
  { body: `return cjson.encode(cjson.decode('{"a":[1,2,null,{"b":"\\\\u00e9x"}]}'))` },
  { body: `return cjson.encode(cjson.decode('{"c":1.5e3}'))` },
  { body: "return cjson.decode('[1,2')" },
  { body: "return cjson.decode('nul')" },
  { body: "return cjson.decode('{\"a\":1,}')" },
  { body: "return cjson.decode('[1,2] x')" },
  { body: "return cjson.decode('\"ab')" },
  { body: "return cjson.decode('')" },
  { body: 'return cjson.encode(0/0)' },
  { body: 'return cjson.encode(function() end)' },
  { body: 'return cjson.encode({[true]=1})' },
  { body: "return type(cjson.decode('null'))" },
  { body: 'return cjson.encode({a=cjson.null})' },
  { body: "return cjson.encode('\\1\\127\\128')" },
  { body: "return cjson.decode('[1.5, -0, 1e400, 12345678901234567890]')" },
  { body: "return cjson.encode(cjson.decode('[1.5, -0, 12345678901234567890, 0.1]'))" },
  { body: "return cjson.decode('{\"k\":\"v\"}').k" },
  // bit
  { body: 'return {bit.tobit(2^32+5), bit.tohex(255), bit.tohex(-1, -4), bit.bnot(0), bit.band(0xff, 0x0f), bit.bor(1,2,4), bit.bxor(3,1), bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(0x12345678, 8), bit.ror(0x12345678, 8), bit.bswap(0x12345678), bit.tobit(2.5), bit.tobit(3.5), bit.tohex(0x1234, 2)}' },
  { body: 'return bit.band()' },
  { body: "return bit.tobit('x')" },
  // cmsgpack
  { body: "return cmsgpack.pack(1, -1, 127, 128, 255, 256, 65536, -33, -129, -32769, 2^32, 1.5, 0.1, 'abc', string.rep('x', 40), string.rep('y', 300), true, false, {1,2}, {a=1}, nil)" },
  { body: "return {cmsgpack.unpack(cmsgpack.pack(1, 'x', {1, {2}}, 1.5, -40000, 2^40))}" },
  { body: "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2))}" },
  { body: "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}" },
  { body: "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 1, 2)}" },
  { body: "return cmsgpack.unpack(cmsgpack.pack({k = 'v'})).k" },
  { body: 'return cmsgpack.pack(nil)' },
  { body: 'return cmsgpack.pack()' },
  { body: "return select('#', cmsgpack.unpack(''))" },
  { body: "return cmsgpack.unpack(string.char(0xc1))" },
  { body: "return cmsgpack.unpack(string.char(0xcd, 1))" },
  // struct
  { body: "return struct.pack('>I2<i4bB', 258, -2, -1, 255)" },
  { body: "return {struct.unpack('>I2<i4', struct.pack('>I2<i4', 258, -2))}" },
  { body: "return struct.size('>I2<i4dc3')" },
  { body: "return {struct.unpack('s', 'ab' .. string.char(0) .. 'cd')}" },
  { body: "return struct.pack('<d', 1.5)" },
  { body: "return struct.pack('c3', 'abcdef')" },
  { body: "return {struct.unpack('<hHlL', struct.pack('<hHlL', -2, 65535, -3, 4))}" },
  { body: "return {struct.unpack('c2 c0', 'ab' .. string.char(3) .. 'xyz', 1)}" },
  { body: "return struct.pack('!4 b i', 1, 2)" },
  { body: "return struct.pack('q', 1)" },
  { body: "return {struct.unpack('>i', 'ab')}" },
  // shebang
  { body: '#!lua flags=no-writes\nreturn 1' },
  { body: "#!lua\nerror('x')" },
  { body: '#!lua flags=no-writes,bad\nreturn 1' },
  { body: '#!lua foo=bar\nreturn 1' },
  { body: '#!js\nreturn 1' },
];

const LIBRARIES: string[] = [
  'return 1',
  '#!lua\nreturn 1',
  '#!lua name=x\nreturn 1',
  '#!lua name=x foo=bar\nreturn 1',
  '#!js name=x\nreturn 1',
  "#!lua name=a-b\nredis.register_function('f', function() return 1 end)",
  "#!lua name=lib1\nredis.register_function('f1', function(keys, args) return {keys, args, redis.call('PING')} end)",
  "#!lua name=lib1\nredis.register_function('f1', function() return 1 end)",
  "#!lua name=lib2\nredis.register_function('f1', function() return 1 end)",
  "#!lua name=lib3\nredis.register_function('f-1', function() return 1 end)",
  "#!lua name=lib3\nredis.call('ping')",
  "#!lua name=lib3\nreturn redis.setresp(3)",
  "#!lua name=lib3\nredis.register_function{function_name='g', callback=function() return 1 end, flags={'no-writes','bad'}}",
  "#!lua name=lib3\nredis.register_function{function_name='g', callback=function() return 1 end, flags={'no-writes'}, description='d', x=1}",
  "#!lua name=lib3\nredis.register_function('g')",
  "#!lua name=lib3\nredis.register_function({})",
  "#!lua name=lib3\nredis.register_function(1, 2, 3)",
  '#!lua name=lib3\nx = 1',
  '#!lua name=lib3\nlocal a = 1 +',
  "#!lua name=lib3\nerror('boom')",
  '#!lua name=lib3\nlocal x = pairs',
  "#!lua name=lib3\nlocal function f() return 1 end\nredis.register_function('h2', f)\nredis.register_function('h2', f)",
  "#!lua name=lib3\nredis.register_function('x', 1)",
  "#!lua name=lib4\nredis.register_function('f4', function() error('boom') end)\nredis.register_function('f5', function() return redis.call('INCR', 's') end)\nredis.register_function('f6', function() x = 1 end)\nredis.register_function('f7', function() return KEYS end)\nredis.register_function('f8', function() return redis.nosuch end)",
  "#!lua name=lib5 name=lib6\nredis.register_function('z', function() end)",
];

const FCALLS: string[][] = [
  ['f1', '2', 'k1', 'k2', 'a1'],
  ['f4', '0'],
  ['f5', '0'],
  ['f6', '0'],
  ['f7', '0'],
  ['f8', '0'],
];

let redis: ServerHandle;
let client: RawClient;
let sync: SyncRedis;

test.before(async () => {
  requireTool('redis-server', ['--version'], 'redis-server');
  redis = await startRedis();
  client = await rawClient(redis.port);
  sync = await SyncRedis.open(redis.port);
});

test.after(async () => {
  client?.close();
  await sync?.close();
  await redis?.stop();
});

/** The host's part of redis.call: Redis answers an unknown command or a wrong arity from a script
 * with its own texts (a Tessera host checks these before running the command). */
const host = {
  call(args: Uint8Array[], out: RespWriter): void {
    const r = sync.command(args, out.proto);
    const text = r.toString('latin1');
    if (text.startsWith('-ERR unknown command')) out.error(`ERR ${LUA_TEXT.unknownCommand}`);
    else if (text.startsWith('-ERR wrong number of arguments')) out.error(`ERR ${LUA_TEXT.wrongArity}`);
    else out.raw(r, 0, r.length);
  },
  log(): void {},
};

function reset(setup: string[][] | undefined): void {
  sync.command([Buffer.from('FLUSHALL')]);
  sync.command([Buffer.from('FUNCTION'), Buffer.from('FLUSH')]);
  for (const c of setup ?? []) sync.command(c.map((a) => Buffer.from(a)));
}

/** The engine's reply to EVAL body (a compile error written as the server writes it). */
function evalOnEngine(engine: LuaEngine, c: Case, proto: 2 | 3): Buffer {
  const out = new RespWriter();
  out.proto = proto;
  try {
    const sha = engine.loadScript(Buffer.from(c.body));
    engine.runScript(sha, host, {
      keys: (c.keys ?? []).map((k) => Buffer.from(k)),
      argv: (c.argv ?? []).map((a) => Buffer.from(a)),
      interrupted: () => false,
    }, out);
  } catch (e) {
    if (!(e instanceof ReplyError)) throw e;
    out.error(e.reply);
  }
  return Buffer.from(out.buf.subarray(0, out.length));
}

for (const vm of ['wasmoon', 'fengari'] as VmName[]) {
  for (const proto of [2, 3] as const) {
    test(`EVAL on ${vm}, RESP${proto}: the same bytes as redis-server`, async () => {
      const engine = await createLuaEngine(vm);
      await client.call(['HELLO', String(proto)]);
      const failures: string[] = [];
      for (const c of CASES) {
        if (c.not?.includes(vm)) continue;
        const keys = c.keys ?? [];
        reset(c.setup);
        const real = (await client.call(['EVAL', c.body, String(keys.length), ...keys, ...(c.argv ?? [])])).raw;
        reset(c.setup);
        const ours = evalOnEngine(engine, c, proto);
        if (!real.equals(ours)) failures.push(`${JSON.stringify(c.body)}\n  redis:   ${show(real)}\n  tessera: ${show(ours)}`);
      }
      assert.is(failures.length, 0, `${failures.length} differ:\n${failures.join('\n')}`);
    });
  }

  test(`FUNCTION LOAD and FCALL on ${vm}: the same bytes as redis-server`, async () => {
    const engine = await createLuaEngine(vm);
    await client.call(['HELLO', '2']);
    reset(SETUP_DATA);
    const failures: string[] = [];
    for (const code of LIBRARIES) {
      const real = (await client.call(['FUNCTION', 'LOAD', code])).raw;
      const out = new RespWriter();
      try {
        const info = engine.loadLibrary(Buffer.from(code), false);
        out.bulkString(info.name);
      } catch (e) {
        if (!(e instanceof ReplyError)) throw e;
        out.error(e.reply);
      }
      const ours = Buffer.from(out.buf.subarray(0, out.length));
      if (!real.equals(ours)) failures.push(`load ${JSON.stringify(code)}\n  redis:   ${show(real)}\n  tessera: ${show(ours)}`);
    }
    for (const call of FCALLS) {
      const real = (await client.call(['FCALL', ...call])).raw;
      const out = new RespWriter();
      const n = Number(call[1]);
      const info = engine.functionInfo(call[0]!);
      assert.ok(info !== undefined, `function ${call[0]!} is registered`);
      engine.callFunction(call[0]!, host, {
        keys: call.slice(2, 2 + n).map((k) => Buffer.from(k)),
        argv: call.slice(2 + n).map((a) => Buffer.from(a)),
        interrupted: () => false,
      }, out);
      const ours = Buffer.from(out.buf.subarray(0, out.length));
      if (!real.equals(ours)) failures.push(`fcall ${call.join(' ')}\n  redis:   ${show(real)}\n  tessera: ${show(ours)}`);
    }
    assert.is(failures.length, 0, `${failures.length} differ:\n${failures.join('\n')}`);
  });
}

test.run();
