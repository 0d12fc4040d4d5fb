// The Lua engine in-process with a fake host, on both VMs: what the differential test cannot
// drive from a real server (the kill hook, a failing host, RESP3 replies of every kind fed to
// the script, binary arguments, the library registry, the KEYS/ARGV reuse).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLuaEngine, type LuaEngine, type RunOptions, type ScriptCallHost } from '../../src/scripting/lua-engine.js';
import type { VmName } from '../../src/scripting/lua-vm.js';
import { RespWriter } from '../../src/protocol/resp-writer.js';
import { ReplyError } from '../../src/core/errors.js';
import { argListOf } from '../../src/commands/args.js';
import { shaText } from '../../src/scripting/sha-text.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Replies by command name; records the arguments it got (copied). */
function fakeHost(replies: Record<string, string>): ScriptCallHost & { calls: Buffer[][]; logs: string[] } {
  const calls: Buffer[][] = [];
  const logs: string[] = [];
  return {
    calls,
    logs,
    call(args, out) {
      calls.push(args.map((a) => Buffer.from(a)));
      const name = Buffer.from(args[0]!).toString('latin1').toLowerCase();
      if (name === 'echo') {
        const a = args[1]!;
        out.bulk(a, 0, a.length);
        return;
      }
      if (name === 'proto') {
        out.integer(out.proto);
        return;
      }
      const r = replies[name];
      if (r === undefined) out.error('ERR Unknown Redis command called from script');
      else out.raw(b(r), 0, r.length);
    },
    log(level, message) {
      logs.push(`${level}:${message}`);
    },
  };
}

const opts = (keys: string[] = [], argv: string[] = [], interrupted = (): boolean => false): RunOptions => ({
  keys: keys.map(b),
  argv: argv.map(b),
  interrupted,
});

function run(e: LuaEngine, body: string | Buffer, host: ScriptCallHost, o: RunOptions = opts(), proto: 2 | 3 = 2): string {
  const out = new RespWriter();
  out.proto = proto;
  e.runScript(e.loadScript(typeof body === 'string' ? b(body) : body), host, o, out);
  return out.buf.toString('latin1', 0, out.length);
}

for (const vm of ['wasmoon', 'fengari'] as VmName[]) {
  test(`${vm}: RESP3 replies reach the script as Redis converts them`, async () => {
    const e = await createLuaEngine(vm);
    const h = fakeHost({
      map: '%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n*2\r\n:1\r\n:2\r\n',
      set: '~2\r\n$1\r\nx\r\n$1\r\ny\r\n',
      dbl: ',3.25\r\n',
      inf: ',inf\r\n',
      big: '(12345678901234567890\r\n',
      verb: '=9\r\ntxt:hello\r\n',
      tru: '#t\r\n',
      fal: '#f\r\n',
      nul: '_\r\n',
      attr: '|1\r\n+k\r\n+v\r\n:42\r\n',
      bulkerr: '!11\r\nERR bad one\r\n',
    });
    const s = (body: string): string => run(e, `redis.setresp(3) ${body}`, h);
    assert.is(s("local m = redis.call('map') return {m.map.a, m.map.b[2]}"), '*2\r\n:1\r\n:2\r\n');
    assert.is(s("local t = redis.call('set') return {tostring(t.set.x), tostring(t.set.y)}"), '*2\r\n$4\r\ntrue\r\n$4\r\ntrue\r\n');
    assert.is(s("return tostring(redis.call('dbl').double)"), '$4\r\n3.25\r\n');
    assert.is(s("return tostring(redis.call('inf').double)"), '$3\r\ninf\r\n');
    assert.is(s("return redis.call('big').big_number"), '$20\r\n12345678901234567890\r\n');
    assert.is(s("local v = redis.call('verb').verbatim_string return {v.format, v.string}"), '*2\r\n$3\r\ntxt\r\n$5\r\nhello\r\n');
    assert.is(s("return {redis.call('tru') == true, redis.call('fal') == false}"), '*2\r\n:1\r\n:1\r\n');
    assert.is(s("return type(redis.call('nul'))"), '$3\r\nnil\r\n');
    assert.is(s("return redis.call('attr')"), ':42\r\n');
    assert.is(s("return redis.pcall('bulkerr').err"), '$11\r\nERR bad one\r\n');
    // The script's protocol is what the host is asked for.
    assert.is(run(e, "return redis.call('proto')", h), ':2\r\n');
    assert.is(run(e, "redis.setresp(3) return redis.call('proto')", h), ':3\r\n');
    // ...and it starts at 2 again on the next run.
    assert.is(run(e, "return redis.call('proto')", h), ':2\r\n');
  });

  test(`${vm}: arguments and replies are binary-safe`, async () => {
    const e = await createLuaEngine(vm);
    const h = fakeHost({});
    const all = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) all[i] = i;
    const out = new RespWriter();
    e.runScript(e.loadScript(b("return redis.call('echo', ARGV[1])")), h, { keys: [], argv: [all], interrupted: () => false }, out);
    const want = Buffer.concat([b('$256\r\n'), all, b('\r\n')]);
    assert.ok(out.buf.subarray(0, out.length).equals(want));
    assert.ok(h.calls[0]![1]!.equals(all));
    // A script body with non-UTF-8 bytes keeps them.
    const body = Buffer.concat([b("return '"), Buffer.from([0xff, 0xfe, 0x80]), b("'")]);
    assert.is(run(e, body, h), '$3\r\n\xff\xfe\x80\r\n');
  });

  test(`${vm}: KEYS and ARGV are refilled on every run`, async () => {
    const e = await createLuaEngine(vm);
    const h = fakeHost({});
    assert.is(run(e, "table.insert(KEYS, 'extra') return #KEYS", h, opts(['a', 'b', 'c'])), ':4\r\n');
    assert.is(run(e, 'return {#KEYS, #ARGV, KEYS[1]}', h, opts(['x'], [])), '*3\r\n:1\r\n:0\r\n$1\r\nx\r\n');
  });

  test(`${vm}: KEYS and ARGV from an ArgList; callList gets the arguments, long ones included`, async () => {
    const e = await createLuaEngine(vm);
    const got: Buffer[][] = [];
    const h: ScriptCallHost = {
      call() {
        throw new Error('callList expected');
      },
      callList(a, out) {
        const args: Buffer[] = [];
        for (let i = 0; i < a.argc; i++) args.push(Buffer.from(a.buf.subarray(a.off[i]!, a.off[i]! + a.len[i]!)));
        got.push(args);
        out.integer(a.argc);
      },
      log() {},
    };
    const a = argListOf(['EVALSHA', 'sha', '2', 'k1', 'k2', 'v1', 'v2', 'v3']);
    const fromList = (numKeys: number): RunOptions => ({ keys: [], argv: [], interrupted: () => false, args: a, keysFrom: 3, numKeys });
    assert.is(run(e, 'return {#KEYS, #ARGV, KEYS[2], ARGV[3]}', h, fromList(2)), '*4\r\n:2\r\n:3\r\n$2\r\nk2\r\n$2\r\nv3\r\n');
    assert.is(run(e, 'return {#KEYS, #ARGV, ARGV[1]}', h, fromList(0)), '*3\r\n:0\r\n:5\r\n$2\r\nk1\r\n');
    // Arguments past the engine's first buffer (1 KiB), numbers among them.
    const big = 'x'.repeat(3000);
    assert.is(run(e, `return redis.call('set', ARGV[1], 42, ARGV[1] .. 'y', 2.5)`, h, opts([], [big])), ':5\r\n');
    assert.equal(got.at(-1)!.map((x) => x.toString('latin1')), ['set', big, '42', big + 'y', '2.5']);
    // A call past the buffer the engine keeps (1 MiB), then a small one.
    assert.is(run(e, "redis.call('set', 'k', string.rep('z', 3000000)) return redis.call('get', 'k')", h), ':2\r\n');
    assert.is(got.at(-2)![2]!.length, 3000000);
    assert.equal(got.at(-1)!.map((x) => x.toString('latin1')), ['get', 'k']);
    assert.is(run(e, "return redis.pcall('get', {}).err", h), '$63\r\nERR Lua redis lib command arguments must be strings or integers\r\n');
  });

  test(`${vm}: the interruption hook stops a runaway script, and pcall cannot catch it`, async () => {
    const e = await createLuaEngine(vm);
    const h = fakeHost({});
    let polls = 0;
    const stopAfter3 = (): boolean => ++polls >= 3;
    const r = run(e, 'local i = 0 while true do i = i + 1 end', h, opts([], [], stopAfter3));
    assert.match(r, /^-ERR Script killed by user with SCRIPT KILL\.\.\. script: [0-9a-f]{40}, on @user_script:1\.\r\n$/);
    polls = 0;
    const r2 = run(e, 'local ok = pcall(function() while true do end end) while true do end', h, opts([], [], stopAfter3));
    assert.match(r2, /^-ERR Script killed by user/);
    // The engine is usable afterwards, and the hook is back to counting.
    assert.is(run(e, 'local s = 0 for i = 1, 300000 do s = s + 1 end return s', h), ':300000\r\n');
  });

  test(`${vm}: a host that throws stops the script and the exception reaches the caller`, async () => {
    const e = await createLuaEngine(vm);
    const boom = new Error('host bug');
    const h: ScriptCallHost = {
      call() {
        throw boom;
      },
      log() {},
    };
    const out = new RespWriter();
    const sha = e.loadScript(b("local ok = pcall(redis.call, 'x') return 1"));
    assert.throws(() => e.runScript(sha, h, opts(), out), (err: unknown) => err === boom);
    assert.is(run(e, 'return 7', fakeHost({})), ':7\r\n');
  });

  test(`${vm}: redis.call from a coroutine, redis.log, NOSCRIPT`, async () => {
    const e = await createLuaEngine(vm);
    const h = fakeHost({ incr: ':9\r\n' });
    assert.is(run(e, "local co = coroutine.create(function() return redis.call('incr', 'k') end) local ok, v = coroutine.resume(co) return v", h), ':9\r\n');
    run(e, "redis.log(redis.LOG_NOTICE, 'a', 'b')", h);
    assert.equal(h.logs, ['2:a b']);
    const out = new RespWriter();
    e.runScript('0'.repeat(40), h, opts(), out);
    assert.is(out.buf.toString('latin1', 0, out.length), '-NOSCRIPT No matching script. Please use EVAL.\r\n');
  });

  test(`${vm}: the script cache and shebang flags`, async () => {
    const e = await createLuaEngine(vm);
    const sha = e.loadScript(b('return 1'));
    assert.is(sha, 'e0e1f9fabfc9d4800c877a703b823ac0578ff8db');
    assert.ok(e.hasScript(sha));
    assert.is(e.scriptFlags(sha), null);
    const ro = e.loadScript(b('#!lua flags=no-writes,allow-oom\nreturn 1'));
    assert.equal(e.scriptFlags(ro), ['no-writes', 'allow-oom']);
    assert.equal(e.scriptFlags(e.loadScript(b('#!lua\nreturn 1'))), []);
    assert.throws(() => e.loadScript(b('return +')), (err: unknown) => err instanceof ReplyError && err.reply.startsWith('ERR Error compiling script (new function): user_script:1:'));
    e.flushScripts();
    assert.not.ok(e.hasScript(sha));
  });

  test(`${vm}: the library registry: replace, delete, flush, list`, async () => {
    const e = await createLuaEngine(vm);
    const h = fakeHost({});
    const lib = (v: number): Buffer => b(`#!lua name=mylib\nredis.register_function{function_name='get_v', callback=function() return ${v} end, flags={'no-writes'}, description='the v'}`);
    const info = e.loadLibrary(lib(1), false);
    assert.equal(info.functions, [{ name: 'get_v', description: 'the v', flags: ['no-writes'] }]);
    assert.throws(() => e.loadLibrary(lib(2), false), (err: unknown) => err instanceof ReplyError && err.reply === "ERR Library 'mylib' already exists");
    e.loadLibrary(lib(2), true);
    const out = new RespWriter();
    e.callFunction('get_v', h, opts(), out);
    assert.is(out.buf.toString('latin1', 0, out.length), ':2\r\n');
    assert.equal(e.libraries().map((l) => l.name), ['mylib']);
    // A failed REPLACE keeps the old library.
    assert.throws(() => e.loadLibrary(b('#!lua name=mylib\nerror("no")'), true));
    assert.ok(e.functionInfo('get_v') !== undefined);
    assert.ok(e.deleteLibrary('mylib'));
    assert.not.ok(e.deleteLibrary('mylib'));
    assert.is(e.functionInfo('get_v'), undefined);
    e.loadLibrary(lib(3), false);
    e.flushLibraries();
    assert.equal(e.libraries(), []);
    // A library whose load-time code never ends is stopped.
    assert.throws(() => e.loadLibrary(b('#!lua name=spin\nwhile true do end'), false), (err: unknown) => err instanceof ReplyError && err.reply === 'ERR Error registering functions: ERR FUNCTION LOAD timeout');
  });
}

test('both VMs give the same replies on a mixed script', async () => {
  const h = fakeHost({ hmget: '*2\r\n$2\r\n10\r\n$-1\r\n', hmset: '+OK\r\n' });
  const body = "local s = redis.call('hmget', KEYS[1], 'a', 'b') local n = tonumber(s[1]) * 3 redis.call('hmset', KEYS[1], 'a', n) return {n, s[2], cjson.encode({n}), bit.band(n, 6), tostring(n / 4)}";
  const w = run(await createLuaEngine('wasmoon'), body, h, opts(['k']));
  const f = run(await createLuaEngine('fengari'), body, h, opts(['k']));
  assert.is(w, f);
  assert.is(w, '*5\r\n:30\r\n$-1\r\n$4\r\n[30]\r\n:6\r\n$3\r\n7.5\r\n');
});

test('shaText: lowercase text of a sha argument, cached by its bytes', () => {
  const sha = 'e0e1f9fabfc9d4800c877a703b823ac0578ff8db';
  for (let i = 0; i < 3; i++) {
    assert.is(shaText(b(sha), 0, 40), sha);
    assert.is(shaText(b('..' + sha.toUpperCase()), 2, 40), sha);
  }
  // Bytes that only look alike once OR-ed with 0x20 are not the sha.
  const ctl = b(sha);
  ctl[0] = 0x05; // 0x05 | 0x20 is '%', and 0x10 | 0x20 would be '0'
  ctl[1] = 0x10;
  assert.is.not(shaText(ctl, 0, 40), sha);
  assert.is(shaText(b('ABC'), 0, 3), 'abc');
  assert.is(shaText(b('Z'.repeat(40)), 0, 40), 'z'.repeat(40));
});

test.run();
