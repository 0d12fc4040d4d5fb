// The command table is consistent: unique names, valid arities and key specs, a way to run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { COMMANDS, lookupCommand, commandIndex } from '../../src/commands/registry.js';

test('names are unique and lower-case', () => {
  const names = COMMANDS.map((c) => c.name);
  assert.is(new Set(names).size, names.length);
  for (const n of names) assert.is(n, n.toLowerCase());
});

test('every command has exactly one place to run', () => {
  for (const c of COMMANDS) {
    const places = [c.shard !== undefined || c.allShards === true, c.main !== undefined, c.blocking !== undefined].filter(Boolean).length;
    assert.is(places, 1, c.name);
    // (The shard-channel pub/sub commands use the blocking slot too: main thread after routing.)
    if (c.blocking) assert.ok(c.keys && (c.flags.includes('blocking') || c.flags.includes('pubsub')), `${c.name}: a blocking command has keys and the blocking flag`);
    if (c.allShards) assert.ok(c.shard && c.merge, `${c.name}: allShards needs a shard handler and a merge`);
    if (c.shard && !c.hidden && !c.allShards) assert.ok(c.keys, `${c.name}: a shard command needs keys`);
  }
});

test('multi-key shard commands say how to span shards', () => {
  for (const c of COMMANDS) {
    if (!c.keys || !c.shard) continue;
    const multi = c.keys.last < 0 || c.keys.last > c.keys.first;
    if (multi) assert.ok(c.merge || c.crossShard, `${c.name} spans shards without merge or coordinator`);
  }
});

test('write and readonly flags are exclusive; arity is never 0', () => {
  for (const c of COMMANDS) {
    assert.not.ok(c.flags.includes('write') && c.flags.includes('readonly'), c.name);
    assert.is.not(c.arity, 0, c.name);
  }
});

test('lookup ignores case and rejects unknown names', () => {
  const b = Buffer.from('gEt');
  assert.is(COMMANDS[lookupCommand(b, 0, b.length)]!.name, 'get');
  const u = Buffer.from('nosuchcommand');
  assert.is(lookupCommand(u, 0, u.length), -1);
  for (const c of COMMANDS) assert.is(commandIndex(c.name.toUpperCase()), COMMANDS.indexOf(c));
});

test.run();
