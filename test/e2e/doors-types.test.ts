// Every front door against keys holding hashes, sets and lists, in their small and large encodings
// (the server's limits are lowered so that 8 elements make a hashtable or a quicklist): the memcached text, meta
// and binary protocols (raw sockets and memjs) refuse every operation that would read, change or
// compare the value with WRONGTYPE, replace or delete it where Redis's SET and DEL would, and the
// HTTP key API renders collections as JSON. After every refused operation the collection is
// checked through RESP: same DUMP, same encoding, same elements (HGETALL for hashes, LRANGE for lists).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import memjs from 'memjs';
import { Redis } from 'ioredis';
import { expectReject, startTessera, withTimeout, type ServerHandle } from './harness.js';
import { bin, deltaExtras, endsWith, exchange, OPS, parseBin, setExtras, u32 } from './memcache-harness.js';
import { Keyspace, TYPE_HASH, TYPE_SET, type ValueType } from '../../src/keyspace/keyspace.js';
import * as C from '../../src/keyspace/collection.js';
import { ENC_INTSET, ENC_PACK } from '../../src/keyspace/pack.js';
import { encodeDump } from '../../src/commands/cluster-family.js';

const TEST_TIMEOUT_MS = 30_000;
const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';
const TEXT_WRONGTYPE = `SERVER_ERROR ${WRONGTYPE}\r\n`;
const VERSION_LINE = 'VERSION 1.6.18\r\n';
const EINVAL = 0x04;

let server: ServerHandle | undefined;
let redis: Redis | undefined;
const t = suite('front doors on hash, set and list keys');

type Fixture = { key: string; type: 'hash' | 'set' | 'list'; encoding: string; hash?: Array<[string, Buffer]>; members?: Buffer[]; list?: Buffer[] };
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
const many = (n: number, p: string): string[] => Array.from({ length: n }, (_, i) => `${p}${i}`);

const FIXTURES: Fixture[] = [
  { key: 'dt:h:small', type: 'hash', encoding: 'listpack', hash: [['f1', utf8('v1')], ['é', utf8('välue "q"\n')], ['n', utf8('42')]] },
  { key: 'dt:h:big', type: 'hash', encoding: 'hashtable', hash: many(8, 'field').map((f, i) => [f, utf8(`value${i}`)] as [string, Buffer]) },
  { key: 'dt:s:int', type: 'set', encoding: 'intset', members: ['1', '2', '300'].map(utf8) },
  { key: 'dt:s:small', type: 'set', encoding: 'listpack', members: ['a', 'b', 'ü'].map(utf8) },
  { key: 'dt:s:big', type: 'set', encoding: 'hashtable', members: many(8, 'member').map(utf8) },
  { key: 'dt:l:small', type: 'list', encoding: 'listpack', list: ['a', 'b', 'a', 'ü'].map(utf8) },
  { key: 'dt:l:big', type: 'list', encoding: 'quicklist', list: many(8, 'item').map(utf8) },
];

/** A DUMP payload of the collection, built in-process with the keyspace's own element
 * operations (RESTORE converts it to the encoding the server's limits call for). */
function dumpOf(f: Fixture): Buffer {
  const ks = new Keyspace(Keyspace.createMemory());
  const k = Buffer.from('x');
  const type: ValueType = f.type === 'hash' ? TYPE_HASH : TYPE_SET;
  let e = C.createCollection(ks, k, 0, 1, type, f.encoding === 'intset' ? ENC_INTSET : ENC_PACK);
  if (f.hash) for (const [field, v] of f.hash) e = C.elementPut(ks, e, utf8(field), 0, utf8(field).length, v, 0, v.length);
  for (const m of f.members ?? []) e = C.elementPut(ks, e, m, 0, m.length, null, 0, 0);
  ks.image(e);
  return encodeDump(type, ks.imageBuf, ks.imageOff, ks.imageLen);
}

/** What a fixture looks like through RESP, to compare after each refused operation. */
async function state(key: string): Promise<{ type: string; encoding: string; dump: string; json: string }> {
  const r = redis!;
  const [type, encoding, dump, json] = await Promise.all([
    r.type(key),
    r.call('OBJECT', 'ENCODING', key) as Promise<string>,
    r.callBuffer('DUMP', key) as Promise<Buffer>,
    r.call('TESSERA.KEYJSON', key) as Promise<string>,
  ]);
  return { type, encoding, dump: dump.toString('hex'), json };
}

const expected = new Map<string, Awaited<ReturnType<typeof state>>>();

/** Makes the fixture's key afresh: hashes with HSET, lists with RPUSH, sets from a DUMP payload
 * (RESTORE). */
async function create(f: Fixture): Promise<void> {
  if (f.list) {
    await redis!.del(f.key);
    await redis!.rpush(f.key, ...f.list);
  } else if (f.hash) {
    await redis!.del(f.key);
    await redis!.hset(f.key, ...f.hash.flatMap(([k, v]) => [k, v]));
  } else {
    await redis!.callBuffer('RESTORE', f.key, '0', dumpOf(f), 'REPLACE');
  }
}

async function createAll(): Promise<void> {
  for (const f of FIXTURES) await create(f);
}

/** The collection is exactly as created: type, encoding, DUMP bytes and every element. */
async function intact(f: Fixture, after: string): Promise<void> {
  const s = await state(f.key);
  assert.equal(s, expected.get(f.key), `${f.key} changed after ${after}`);
  const doc = JSON.parse(s.json) as { value: Record<string, string> | string[] };
  if (f.hash) {
    assert.equal(await redis!.hgetallBuffer(f.key), Object.fromEntries(f.hash), `${f.key} HGETALL after ${after}`);
    assert.equal(doc.value, Object.fromEntries(f.hash.map(([k, v]) => [k, v.toString('utf8')])), `${f.key} fields after ${after}`);
  }
  else if (f.list) {
    assert.equal(await redis!.lrangeBuffer(f.key, 0, -1), f.list, `${f.key} LRANGE after ${after}`);
    assert.equal(doc.value, f.list.map((m) => m.toString('utf8')), `${f.key} elements after ${after}`);
  }
  else assert.equal([...(doc.value as string[])].sort(), f.members!.map((m) => m.toString('utf8')).sort(), `${f.key} members after ${after}`);
}

t.before(async () => {
  server = await startTessera({
    shards: 2,
    memcache: true,
    http: true,
    args: ['--hash-max-listpack-entries', '4', '--set-max-intset-entries', '4', '--set-max-listpack-entries', '4', '--list-max-listpack-size', '4'],
  });
  redis = new Redis({ port: server.port, maxRetriesPerRequest: 0, lazyConnect: false });
  await createAll();
  for (const f of FIXTURES) {
    const s = await state(f.key);
    assert.is(s.type, f.type, `${f.key} type`);
    assert.is(s.encoding, f.encoding, `${f.key} encoding`);
    expected.set(f.key, s);
  }
});

t.after(async () => {
  redis?.disconnect();
  await server?.stop();
});

const it = (name: string, fn: () => Promise<void>): void => t(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));

/** Sends text-protocol bytes followed by `version`, and returns what came back before VERSION. */
async function text(bytes: string): Promise<string> {
  const r = await exchange(server!.memcachePort, Buffer.from(`${bytes}version\r\n`, 'latin1'), endsWith(VERSION_LINE));
  const s = r.data.toString('latin1');
  assert.ok(s.endsWith(VERSION_LINE), `the connection served the next command after ${JSON.stringify(bytes)}: ${JSON.stringify(s)}`);
  return s.slice(0, -VERSION_LINE.length);
}

it('text and meta: every read, append, arithmetic, CAS and touch on a collection is WRONGTYPE', async () => {
  for (const f of FIXTURES) {
    const k = f.key;
    const refused: string[] = [
      `get ${k}\r\n`,
      `gets ${k}\r\n`,
      `gat 100 ${k}\r\n`,
      `gats 100 ${k}\r\n`,
      `append ${k} 0 0 1\r\nx\r\n`,
      `prepend ${k} 0 0 1\r\nx\r\n`,
      `append ${k} 0 0 1 noreply\r\nx\r\n`, // errors are sent even with noreply, as memcached's own
      `incr ${k} 1\r\n`,
      `decr ${k} 1\r\n`,
      `cas ${k} 0 0 1 1\r\nx\r\n`,
      `touch ${k} 100\r\n`,
      `mg ${k} v\r\n`,
      `mg ${k} s f c t\r\n`,
      `mg ${k} v q\r\n`, // q hides misses, not errors
      `ms ${k} 1 MA\r\nx\r\n`,
      `ms ${k} 1 MP\r\nx\r\n`,
      `ms ${k} 1 C1\r\nx\r\n`,
      `md ${k} C1\r\n`,
      `ma ${k}\r\n`,
      `ma ${k} N0 J5 MD\r\n`,
    ];
    for (const cmd of refused) {
      assert.is(await text(cmd), TEXT_WRONGTYPE, `${JSON.stringify(cmd)} on ${f.encoding} ${f.type}`);
      await intact(f, cmd);
    }
    // ms in add mode finds the key taken, as add does on any key; me shows metadata only.
    assert.is(await text(`add ${k} 0 0 1\r\nx\r\n`), 'NOT_STORED\r\n');
    assert.is(await text(`ms ${k} 1 ME\r\nx\r\n`), 'NS\r\n');
    assert.match(await text(`me ${k}\r\n`), new RegExp(`^ME ${k} exp=-1 la=\\d+ cas=\\d+ fetch=no cls=1 size=\\d+\\r\\n$`));
    await intact(f, 'add / ms ME / me');
  }
});

it('text: a multi-key get ends at the collection key, as memcached ends a get at its first error', async () => {
  await redis!.set('dt:str:a', 'A');
  await redis!.set('dt:str:b', 'B');
  for (const f of FIXTURES) {
    assert.is(await text(`get dt:str:a ${f.key} dt:str:b\r\n`), `VALUE dt:str:a 0 1\r\nA\r\n${TEXT_WRONGTYPE}`);
    assert.is(await text(`get ${f.key} dt:str:a\r\n`), TEXT_WRONGTYPE);
    assert.is(await text(`gat 10 dt:str:a dt:str:b ${f.key}\r\n`), `VALUE dt:str:a 0 1\r\nA\r\nVALUE dt:str:b 0 1\r\nB\r\n${TEXT_WRONGTYPE}`);
    // Pipelined: the get after the failed one is whole.
    assert.is(await text(`get ${f.key} dt:str:a\r\nget dt:str:b\r\n`), `${TEXT_WRONGTYPE}VALUE dt:str:b 0 1\r\nB\r\nEND\r\n`);
    await intact(f, 'multi-key get');
  }
  // Many keys over both shards, the collection in the middle: values up to it, then the error.
  const keys = many(40, 'dt:str:m');
  for (const k of keys) await redis!.set(k, k);
  const line = [...keys.slice(0, 20), 'dt:h:big', ...keys.slice(20)].join(' ');
  assert.is(await text(`get ${line}\r\n`), keys.slice(0, 20).map((k) => `VALUE ${k} 0 ${k.length}\r\n${k}\r\n`).join('') + TEXT_WRONGTYPE);
});

it('text and meta: set, replace and ms S replace a collection (as SET); delete and md delete it (as DEL)', async () => {
  const replaceWith = [
    { cmd: (k: string) => `set ${k} 5 0 3\r\nnew\r\n`, reply: 'STORED\r\n' },
    { cmd: (k: string) => `replace ${k} 5 0 3\r\nnew\r\n`, reply: 'STORED\r\n' },
    { cmd: (k: string) => `ms ${k} 3 F5\r\nnew\r\n`, reply: 'HD\r\n' },
    { cmd: (k: string) => `ms ${k} 3 F5 MR\r\nnew\r\n`, reply: 'HD\r\n' },
  ];
  for (const f of FIXTURES) {
    for (const { cmd, reply } of replaceWith) {
      await create(f);
      assert.is(await text(cmd(f.key)), reply, cmd(f.key));
      assert.is(await redis!.type(f.key), 'string');
      assert.is(await text(`get ${f.key}\r\n`), `VALUE ${f.key} 5 3\r\nnew\r\nEND\r\n`);
    }
    for (const [cmd, reply] of [[`delete ${f.key}\r\n`, 'DELETED\r\n'], [`md ${f.key}\r\n`, 'HD\r\n'], [`md ${f.key} q\r\n`, '']]) {
      await create(f);
      assert.is(await text(cmd!), reply!, cmd);
      assert.is(await redis!.exists(f.key), 0, `${cmd} deleted ${f.key}`);
    }
  }
  await createAll();
});

/** Runs binary requests (a NOOP appended to mark the end) and returns the responses before it. */
async function binary(reqs: Buffer[]): Promise<ReturnType<typeof parseBin>> {
  const all = [...reqs, bin(OPS.NOOP, { opaque: 0xfeed })];
  const r = await exchange(server!.memcachePort, all, (d) => parseBin(d).some((x) => x.opaque === 0xfeed));
  const out = parseBin(r.data);
  assert.is(out[out.length - 1]!.opaque, 0xfeed);
  return out.slice(0, -1);
}

it('binary: every keyed opcode that reads, appends, counts, touches or compares a CAS answers EINVAL with WRONGTYPE', async () => {
  for (const f of FIXTURES) {
    const key = f.key;
    const refused: Array<[string, Buffer]> = [
      ['GET', bin(OPS.GET, { key })],
      ['GETQ', bin(OPS.GETQ, { key })],
      ['GETK', bin(OPS.GETK, { key })],
      ['GETKQ', bin(OPS.GETKQ, { key })],
      ['GAT', bin(OPS.GAT, { key, extras: u32(100) })],
      ['GATQ', bin(OPS.GATQ, { key, extras: u32(100) })],
      ['GATK', bin(OPS.GATK, { key, extras: u32(100) })],
      ['GATKQ', bin(OPS.GATKQ, { key, extras: u32(100) })],
      ['TOUCH', bin(OPS.TOUCH, { key, extras: u32(100) })],
      ['APPEND', bin(OPS.APPEND, { key, value: 'x' })],
      ['APPENDQ', bin(OPS.APPENDQ, { key, value: 'x' })],
      ['PREPEND', bin(OPS.PREPEND, { key, value: 'x' })],
      ['PREPENDQ', bin(OPS.PREPENDQ, { key, value: 'x' })],
      ['INCR', bin(OPS.INCR, { key, extras: deltaExtras(1n, 0n, 0xffffffff) })],
      ['INCR auto-create', bin(OPS.INCR, { key, extras: deltaExtras(1n, 5n, 0) })],
      ['INCRQ', bin(OPS.INCRQ, { key, extras: deltaExtras(1n, 0n, 0) })],
      ['DECR', bin(OPS.DECR, { key, extras: deltaExtras(1n, 0n, 0xffffffff) })],
      ['DECRQ', bin(OPS.DECRQ, { key, extras: deltaExtras(1n, 0n, 0) })],
      ['SET with CAS', bin(OPS.SET, { key, extras: setExtras(0, 0), value: 'x', cas: 1n })],
      ['SETQ with CAS', bin(OPS.SETQ, { key, extras: setExtras(0, 0), value: 'x', cas: 1n })],
      ['REPLACE with CAS', bin(OPS.REPLACE, { key, extras: setExtras(0, 0), value: 'x', cas: 1n })],
      ['DELETE with CAS', bin(OPS.DELETE, { key, cas: 1n })],
      ['DELETEQ with CAS', bin(OPS.DELETEQ, { key, cas: 1n })],
    ];
    for (const [name, req] of refused) {
      const [r, ...rest] = await binary([req]);
      assert.is(rest.length, 0, `${name}: one response`);
      assert.ok(r !== undefined, `${name} on ${f.key}: an error response even when quiet`);
      assert.is(r!.status, EINVAL, `${name} on ${f.key}: status`);
      assert.is(r!.opcode, req[1]!, `${name}: opcode echoed`);
      assert.is(r!.value.toString(), WRONGTYPE, `${name}: body`);
      assert.is(r!.extras.length, 0);
      assert.is(r!.key, '');
      await intact(f, `binary ${name}`);
    }
    // ADD finds the key taken, as for any key.
    const [add] = await binary([bin(OPS.ADD, { key, extras: setExtras(0, 0), value: 'x' })]);
    assert.is(add!.status, 0x02);
    await intact(f, 'binary ADD');
  }
});

it('binary: SET and REPLACE without a CAS replace a collection, DELETE deletes it', async () => {
  for (const f of FIXTURES) {
    for (const op of [OPS.SET, OPS.REPLACE, OPS.SETQ]) {
      await create(f);
      const r = await binary([bin(op, { key: f.key, extras: setExtras(9, 0), value: 'new' }), bin(OPS.GET, { key: f.key })]);
      const got = r[r.length - 1]!;
      assert.is(got.status, 0);
      assert.is(got.value.toString(), 'new');
      assert.is(got.extras.readUInt32BE(0), 9);
      assert.is(await redis!.type(f.key), 'string');
    }
    for (const op of [OPS.DELETE, OPS.DELETEQ]) {
      await create(f);
      const r = await binary([bin(op, { key: f.key })]);
      assert.is(r.length, op === OPS.DELETE ? 1 : 0);
      if (op === OPS.DELETE) assert.is(r[0]!.status, 0);
      assert.is(await redis!.exists(f.key), 0);
    }
  }
  await createAll();
});

it('memjs: reads, appends, counters and touch fail with an error; set replaces, delete deletes', async () => {
  const mc = memjs.Client.create(`127.0.0.1:${server!.memcachePort}`, { retries: 0, timeout: 5, logger: { log: () => undefined } });
  try {
    for (const f of FIXTURES) {
      await expectReject(mc.get(f.key), /MemJS GET: Invalid arguments/);
      await expectReject(mc.append(f.key, 'x'), /MemJS APPEND: Invalid arguments/);
      await expectReject(mc.increment(f.key, 1, {}), /MemJS INCREMENT: Invalid arguments/);
      await expectReject(mc.decrement(f.key, 1, { initial: 3 }), /MemJS DECREMENT: Invalid arguments/);
      await expectReject(mc.touch(f.key, 100), /MemJS TOUCH: Invalid arguments/);
      assert.not.ok(await mc.add(f.key, 'x', {}));
      await intact(f, 'memjs');
      assert.ok(await mc.set(f.key, 'plain', {}));
      assert.is((await mc.get(f.key)).value?.toString(), 'plain');
      await create(f);
      assert.ok(await mc.delete(f.key));
      assert.is((await mc.get(f.key)).value, null);
      await create(f);
    }
  } finally {
    mc.close();
  }
});

const http = (path: string, init?: RequestInit): Promise<Response> =>
  fetch(`http://127.0.0.1:${server!.httpPort}${path}`, { ...init, signal: AbortSignal.timeout(5000) });

it('HTTP: GET renders a hash as a JSON object, a set and a list as a JSON array, with type, encoding and length', async () => {
  for (const f of FIXTURES) {
    const path = `/v1/keys/${encodeURIComponent(f.key)}`;
    const r = await http(path);
    assert.is(r.status, 200, f.key);
    assert.is(r.headers.get('content-type'), 'application/json');
    assert.is(r.headers.get('x-key-type'), f.type);
    const doc = (await r.json()) as { type: string; encoding: string; length: number; base64: boolean; value: unknown };
    const n = f.hash ? f.hash.length : f.list ? f.list.length : f.members!.length;
    assert.equal({ ...doc, value: null }, { type: f.type, encoding: f.encoding, length: n, base64: false, value: null });
    if (f.hash) assert.equal(doc.value, Object.fromEntries(f.hash.map(([k, v]) => [k, v.toString('utf8')])));
    else if (f.list) assert.equal(doc.value, f.list.map((m) => m.toString('utf8')));
    else assert.equal([...(doc.value as string[])].sort(), f.members!.map((m) => m.toString('utf8')).sort());
    const head = await http(path, { method: 'HEAD' });
    assert.is(head.status, 200);
    assert.is(head.headers.get('x-key-type'), f.type);
    assert.is(Number(head.headers.get('content-length')), Buffer.byteLength(JSON.stringify(doc)));
    await intact(f, 'HTTP GET');
  }
  // A compact hash's JSON, byte for byte (fields in insertion order; escapes as JSON.stringify).
  const small = await (await http('/v1/keys/dt%3Ah%3Asmall')).text();
  assert.is(small, '{"type":"hash","encoding":"listpack","length":3,"base64":false,"value":{"f1":"v1","é":"välue \\"q\\"\\n","n":"42"}}');
  // A list's JSON, byte for byte: its elements head to tail, duplicates kept.
  const list = await (await http('/v1/keys/dt%3Al%3Asmall')).text();
  assert.is(list, '{"type":"list","encoding":"listpack","length":4,"base64":false,"value":["a","b","a","ü"]}');
});

it('HTTP: any byte string that is not UTF-8 makes the whole document base64; ?format=base64 asks for it', async () => {
  const f: Fixture = { key: 'dt:h:bin', type: 'hash', encoding: 'listpack', hash: [['text', utf8('plain')], ['bin', Buffer.from([0xff, 0x00, 0xc3])]] };
  await create(f);
  const doc = (await (await http('/v1/keys/dt%3Ah%3Abin')).json()) as { base64: boolean; value: Record<string, string> };
  assert.is(doc.base64, true);
  const decoded = Object.fromEntries(Object.entries(doc.value).map(([k, v]) => [Buffer.from(k, 'base64').toString('latin1'), Buffer.from(v, 'base64')]));
  assert.equal(decoded, { text: utf8('plain'), bin: Buffer.from([0xff, 0x00, 0xc3]) });
  const forced = (await (await http('/v1/keys/dt%3As%3Asmall?format=base64')).json()) as { base64: boolean; value: string[] };
  assert.is(forced.base64, true);
  assert.equal(forced.value.map((m) => Buffer.from(m, 'base64').toString('utf8')).sort(), ['a', 'b', 'ü']);
  // A list with one element that is not UTF-8: all of them base64, in order.
  await redis!.del('dt:l:bin');
  await redis!.rpush('dt:l:bin', 'text', Buffer.from([0xff, 0x00, 0xc3]));
  const listDoc = (await (await http('/v1/keys/dt%3Al%3Abin')).json()) as { type: string; base64: boolean; value: string[] };
  assert.is(listDoc.type, 'list');
  assert.is(listDoc.base64, true);
  assert.equal(listDoc.value.map((m) => Buffer.from(m, 'base64')), [utf8('text'), Buffer.from([0xff, 0x00, 0xc3])]);
  // Strings keep their raw form unless JSON is asked for.
  await redis!.set('dt:str:j', 'v');
  const raw = await http('/v1/keys/dt%3Astr%3Aj');
  assert.is(raw.headers.get('content-type'), 'application/octet-stream');
  assert.is(raw.headers.get('x-key-type'), 'string');
  assert.is(await raw.text(), 'v');
  assert.equal(await (await http('/v1/keys/dt%3Astr%3Aj?format=json')).json(), { type: 'string', length: 1, base64: false, value: 'v' });
  assert.equal(await (await http('/v1/keys/dt%3Astr%3Aj?format=base64')).json(), { type: 'string', length: 1, base64: true, value: 'dg==' });
  const bad = await http('/v1/keys/dt%3Astr%3Aj?format=xml');
  assert.is(bad.status, 400);
  assert.equal(await bad.json(), { error: 'format must be json or base64' });
  assert.is((await http('/v1/keys/dt%3Anone?format=json')).status, 404);
});

it('HTTP: PUT replaces a collection (as SET), DELETE deletes it (as DEL), POST is not allowed', async () => {
  for (const f of FIXTURES) {
    const path = `/v1/keys/${encodeURIComponent(f.key)}`;
    const post = await http(path, { method: 'POST', body: 'x' });
    assert.is(post.status, 405);
    await intact(f, 'HTTP POST');
    assert.is((await http(path, { method: 'PUT', body: 'replaced' })).status, 204);
    assert.is(await redis!.type(f.key), 'string');
    assert.is(await (await http(path)).text(), 'replaced');
    await create(f);
    assert.is((await http(path, { method: 'DELETE' })).status, 204);
    assert.is(await redis!.exists(f.key), 0);
    await create(f);
  }
});

t.run();
