// TESSERA.KEYJSON run by a shard executor in-process, on collections built with the keyspace's
// element operations: every encoding, escapes, the base64 switch, large tables, and the byte
// length the reply announces (the command asserts it; a mismatch would throw here).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Keyspace, TYPE_HASH, TYPE_SET } from '../../src/keyspace/keyspace.js';
import * as C from '../../src/keyspace/collection.js';
import { ENC_INTSET, ENC_PACK } from '../../src/keyspace/pack.js';
import { ShardExecutor } from '../../src/runtime/shard-runtime.js';
import { COMMANDS, commandIndex } from '../../src/commands/registry.js';
import { argListOf } from '../../src/commands/args.js';
import { TEST_SHARD_SETTINGS } from '../runtime/executor-helpers.js';

const exec = new ShardExecutor(COMMANDS, 0, Keyspace.createMemory(), TEST_SHARD_SETTINGS, 0, () => undefined);
const ks = exec.ks;
const b = (s: string | Buffer): Buffer => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s);

function run(args: Array<string | Buffer>): Buffer {
  Object.assign(exec.args, argListOf(args));
  exec.beginBatch();
  exec.run(commandIndex(String(args[0])), 2);
  return Buffer.from(exec.writer.buf.subarray(exec.writer.start, exec.writer.length));
}

/** The bulk string of a reply, checked against its announced length. */
function doc(args: Array<string | Buffer>): unknown {
  const r = run(args);
  assert.is(r[0], 36, `bulk reply: ${r.toString('latin1').slice(0, 80)}`);
  const nl = r.indexOf('\r\n');
  const n = Number(r.toString('latin1', 1, nl));
  assert.is(r.length, nl + 2 + n + 2, 'announced length');
  assert.is(r.toString('latin1', r.length - 2), '\r\n');
  return JSON.parse(r.toString('utf8', nl + 2, nl + 2 + n));
}

function hash(key: string, pairs: Array<[string | Buffer, string | Buffer]>): void {
  const k = b(key);
  let e = C.createCollection(ks, k, 0, k.length, TYPE_HASH, ENC_PACK);
  for (const [f, v] of pairs) e = C.elementPut(ks, e, b(f), 0, b(f).length, b(v), 0, b(v).length);
}

function set(key: string, members: Array<string | Buffer>, enc = ENC_PACK): void {
  const k = b(key);
  let e = C.createCollection(ks, k, 0, k.length, TYPE_SET, enc);
  for (const m of members) e = C.elementPut(ks, e, b(m), 0, b(m).length, null, 0, 0);
}

test('a small hash: fields in order, values escaped; a missing key is nil', () => {
  hash('h', [['a', '1'], ['quote"', 'line\nbreak'], ['ctl', '\u0001'], ['', '']]);
  assert.equal(doc(['TESSERA.KEYJSON', 'h']), {
    type: 'hash', encoding: 'listpack', length: 4, base64: false,
    value: { a: '1', 'quote"': 'line\nbreak', ctl: '\u0001', '': '' },
  });
  assert.is(run(['TESSERA.KEYJSON', 'none']).toString(), '$-1\r\n');
  assert.is(run(['TESSERA.KEYJSON', 'h', 'NOPE']).toString(), '-ERR syntax error\r\n');
  assert.is(run(['TESSERA.KEYJSON', 'h', 'BASE64', 'x']).toString(), '-ERR syntax error\r\n');
});

test('sets: intset members as decimals, listpack members, an empty-string member', () => {
  set('si', ['3', '-7', '100000'], ENC_INTSET);
  const si = doc(['TESSERA.KEYJSON', 'si']) as { encoding: string; value: string[] };
  assert.is(si.encoding, 'intset');
  assert.equal([...si.value].sort(), ['-7', '100000', '3']);
  set('sp', ['x', '', 'ü']);
  assert.equal(doc(['TESSERA.KEYJSON', 'sp']), { type: 'set', encoding: 'listpack', length: 3, base64: false, value: ['x', '', 'ü'] });
});

test('one byte string that is not UTF-8 turns the whole document to base64; BASE64 forces it', () => {
  hash('hb', [['ok', 'fine'], ['bad', Buffer.from([0xfe, 0x41])]]);
  const d = doc(['TESSERA.KEYJSON', 'hb']) as { base64: boolean; value: Record<string, string> };
  assert.is(d.base64, true);
  assert.equal(Object.keys(d.value).map((k) => Buffer.from(k, 'base64').toString()), ['ok', 'bad']);
  assert.equal(Buffer.from(d.value[Buffer.from('bad').toString('base64')]!, 'base64'), Buffer.from([0xfe, 0x41]));
  const forced = doc(['TESSERA.KEYJSON', 'sp', 'base64']) as { base64: boolean; value: string[] };
  assert.is(forced.base64, true);
  assert.equal(forced.value.map((m) => Buffer.from(m, 'base64').toString()), ['x', '', 'ü']);
  run(['SET', 'str', 'v\u00e9']);
  assert.equal(doc(['TESSERA.KEYJSON', 'str']), { type: 'string', length: 3, base64: false, value: 'vé' });
});

test('large encodings: a hashtable hash and set of 5000 elements render every element once', () => {
  const pairs: Array<[string, string]> = Array.from({ length: 5000 }, (_, i) => [`field:${i}`, `v"${i}\u0002`]);
  hash('big', pairs);
  const d = doc(['TESSERA.KEYJSON', 'big']) as { encoding: string; length: number; value: Record<string, string> };
  assert.is(d.encoding, 'hashtable');
  assert.is(d.length, 5000);
  assert.equal(d.value, Object.fromEntries(pairs));
  const members = Array.from({ length: 5000 }, (_, i) => `m${i}`);
  set('bigs', members);
  const s = doc(['TESSERA.KEYJSON', 'bigs']) as { encoding: string; value: string[] };
  assert.is(s.encoding, 'hashtable');
  assert.equal([...s.value].sort(), [...members].sort());
  ks.checkIntegrity();
});

test('lists: elements head to tail with duplicates, a quicklist of 5000, base64 when one is not UTF-8', () => {
  run(['RPUSH', 'l', 'a', '', 'a', 'ü', 'q"\n']);
  assert.equal(doc(['TESSERA.KEYJSON', 'l']), { type: 'list', encoding: 'listpack', length: 5, base64: false, value: ['a', '', 'a', 'ü', 'q"\n'] });
  const items = Array.from({ length: 5000 }, (_, i) => `item:${i}\u0003`);
  run(['RPUSH', 'bigl', ...items]);
  const d = doc(['TESSERA.KEYJSON', 'bigl']) as { encoding: string; length: number; value: string[] };
  assert.is(d.encoding, 'quicklist');
  assert.is(d.length, 5000);
  assert.equal(d.value, items);
  run(['LPUSH', 'lb', Buffer.from([0xff]), 'x']);
  const bl = doc(['TESSERA.KEYJSON', 'lb']) as { base64: boolean; value: string[] };
  assert.is(bl.base64, true);
  assert.equal(bl.value.map((m) => Buffer.from(m, 'base64')), [Buffer.from('x'), Buffer.from([0xff])]);
  ks.checkIntegrity();
});

test.after(() => exec.close());
test.run();
