// Load generator parts: histogram percentiles and cross-thread merge, key samplers, reply
// counting (RESP and memcached binary) over any split of the byte stream, ASK targets, command
// templates and routing by hash slot, CLUSTER SLOTS parsing, option parsing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { keySlot } from '../../src/keyspace/slot.js';
import { decodeReply, parseClusterSlots } from '../../src/loadgen/cluster.js';
import { LatencyHistogram } from '../../src/loadgen/histogram.js';
import { makeRandom, uniformSampler, zipfSampler } from '../../src/loadgen/keys.js';
import { MemcacheProtocolError, MemcacheReplyCounter, memcacheResponse, memcacheSampleReplies } from '../../src/loadgen/memcache-binary.js';
import { KEY_DIGITS, wireProtocol, writeKeyDigits, type ReplyCounter } from '../../src/loadgen/protocol.js';
import { RedirectTargets, ReplyScanner } from '../../src/loadgen/reply-scanner.js';
import { parseLoadgenArgs, LoadgenUsageError } from '../../src/loadgen/run.js';

test('histogram percentiles are within 0.1%, and merging encoded histograms adds counts', () => {
  const h = new LatencyHistogram();
  for (let v = 1; v <= 100_000; v++) h.record(v);
  for (const p of [50, 90, 99, 99.9]) {
    const want = (p / 100) * 100_000;
    const got = h.percentileUs(p);
    assert.ok(Math.abs(got - want) <= want * 0.001 + 1, `p${p}: ${got} vs ${want}`);
  }
  assert.is(h.percentileUs(100), 100_000);
  assert.is(h.maxUs, 100_000);
  // As the parent merges workers: each ships its encoding, the parent decodes and adds.
  const a = new LatencyHistogram();
  const b = new LatencyHistogram();
  for (let i = 0; i < 990; i++) a.record(100);
  for (let i = 0; i < 10; i++) b.record(5000);
  const merged = new LatencyHistogram();
  merged.add(LatencyHistogram.decode(a.encode()));
  merged.add(LatencyHistogram.decode(b.encode()));
  assert.is(merged.total, 1000);
  assert.is(merged.percentileUs(50), 100);
  assert.is(merged.percentileUs(99), 100);
  assert.ok(Math.abs(merged.percentileUs(99.9) - 5000) <= 5, String(merged.percentileUs(99.9)));
  assert.ok(Math.abs(merged.maxUs - 5000) <= 5);
  merged.reset();
  assert.is(merged.total, 0);
  assert.is(merged.percentileUs(99), 0);
});

test('uniform sampler covers the key space evenly; zipf follows 1/rank^s', () => {
  const u = uniformSampler(10, makeRandom(7));
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < 100_000; i++) counts[u()]!++;
  for (const c of counts) assert.ok(c > 9000 && c < 11000, String(c));
  const keys = 1000;
  const s = 0.99;
  const draws = 200_000;
  const z = zipfSampler(keys, s, makeRandom(7));
  const zc = new Array<number>(keys).fill(0);
  for (let i = 0; i < draws; i++) {
    const k = z();
    assert.ok(k >= 0 && k < keys);
    zc[k]!++;
  }
  let norm = 0;
  for (let r = 1; r <= keys; r++) norm += 1 / Math.pow(r, s);
  // Ranks 1, 2, 10: observed share within 10% of 1/(rank^s * H).
  for (const rank of [1, 2, 10]) {
    const want = (draws / Math.pow(rank, s)) / norm;
    assert.ok(Math.abs(zc[rank - 1]! - want) < want * 0.1, `rank ${rank}: ${zc[rank - 1]} vs ${want.toFixed(0)}`);
  }
  // The tail half of the ranks still gets its (small) share.
  const tail = zc.slice(keys / 2).reduce((a, b) => a + b, 0);
  let tailWant = 0;
  for (let r = keys / 2 + 1; r <= keys; r++) tailWant += draws / Math.pow(r, s) / norm;
  assert.ok(Math.abs(tail - tailWant) < tailWant * 0.1, `tail ${tail} vs ${tailWant.toFixed(0)}`);
});

test('reply scanner counts replies, errors and redirects however the bytes are split', () => {
  const stream = Buffer.from(
    '+OK\r\n$-1\r\n$5\r\nhel\r\n\r\n-ERR bad\r\n:12\r\n*2\r\n$1\r\na\r\n*1\r\n_\r\n%1\r\n+k\r\n+v\r\n' +
      '-MOVED 3999 127.0.0.1:6381\r\n*-1\r\n-ASK 3999 127.0.0.1:6381\r\n$0\r\n\r\n',
  );
  const REPLIES = 11;
  const check = (s: ReplyScanner, n: number, what: string): void => {
    assert.is(n, REPLIES, what);
    assert.is(s.errors, 3, what);
    assert.is(s.redirects, 2, what);
    assert.is(s.firstError, 'ERR bad', what);
    // Top-level bulk strings are GET hits ($5, $0), nils misses ($-1); nested ones are neither.
    assert.is(s.hits, 2, what);
    assert.is(s.misses, 1, what);
  };
  const targets = new RedirectTargets();
  const whole = new ReplyScanner(targets);
  check(whole, whole.feed(stream), 'whole');
  assert.equal([...whole.redirectAt.subarray(0, whole.redirectCount)], [7, 9]);
  // MOVED has no target (-1); ASK names a node, interned once for every scanner sharing `targets`.
  assert.equal([...whole.redirectTarget.subarray(0, whole.redirectCount)], [-1, 0]);
  assert.equal(targets.addresses, [{ host: '127.0.0.1', port: 6381 }]);
  for (let cut = 1; cut < stream.length; cut++) {
    const s = new ReplyScanner(targets);
    const first = s.feed(stream.subarray(0, cut));
    const ask = s.redirectCount > 0 && s.redirectTarget[s.redirectCount - 1] === 0 ? 1 : 0;
    check(s, first + s.feed(stream.subarray(cut)), `split at ${cut}`);
    assert.is(ask + (s.redirectCount > 0 && s.redirectTarget[s.redirectCount - 1] === 0 ? 1 : 0), 1, `ASK target found once, split at ${cut}`);
  }
  assert.is(targets.addresses.length, 1, 'one target, however the bytes were split');
  const bytewise = new ReplyScanner();
  let n = 0;
  for (let i = 0; i < stream.length; i++) n += bytewise.feed(stream.subarray(i, i + 1));
  check(bytewise, n, 'byte by byte');
  // An incomplete reply completes nothing.
  assert.is(new ReplyScanner().feed(Buffer.from('$5\r\nhel')), 0);
});

test('ASK targets: host:port parsed once per node, IPv6 by the last colon, bad ones refused', () => {
  const targets = new RedirectTargets();
  const at = (text: string): number => targets.intern(Buffer.from(`..${text}..`), 2, 2 + Buffer.byteLength(text));
  assert.is(at('10.0.0.1:7000'), 0);
  assert.is(at('10.0.0.2:7000'), 1);
  assert.is(at('10.0.0.1:7000'), 0);
  assert.is(at('::1:7001'), 2);
  assert.equal(targets.addresses[2], { host: '::1', port: 7001 });
  assert.is(at('nohost'), -1);
  assert.is(at('h:99999'), -1);
  assert.is(targets.addresses.length, 3);
  // A scanner without targets reports every redirect as a MOVED.
  const s = new ReplyScanner();
  s.feed(Buffer.from('-ASK 1 10.0.0.1:7000\r\n'));
  assert.equal([s.redirects, s.redirectTarget[0]], [1, -1]);
});

test('memcached replies: counted, hits and misses, errors with their text, however the bytes are split', () => {
  const none = Buffer.alloc(0);
  const stream = Buffer.concat([
    memcacheResponse(0x01, 0x0000, 0, none, none), // stored
    memcacheResponse(0x00, 0x0000, 1, Buffer.alloc(4), Buffer.alloc(300, 'v')), // hit, long value
    memcacheResponse(0x00, 0x0001, 2, none, Buffer.from('Not found')), // miss
    memcacheResponse(0x01, 0x0003, 3, none, Buffer.from('Too large.')), // error
    memcacheResponse(0x00, 0x0000, 4, Buffer.alloc(4), none), // hit, empty value
  ]);
  const check = (c: ReplyCounter, n: number, what: string): void => {
    assert.is(n, 5, what);
    assert.is(c.hits, 2, what);
    assert.is(c.misses, 1, what);
    assert.is(c.errors, 1, what);
    assert.is(c.redirects, 0, what);
  };
  const whole = new MemcacheReplyCounter();
  check(whole, whole.feed(stream), 'whole');
  assert.is(whole.firstError, 'Too large. (status 0x0003, opcode 0x01)');
  for (let cut = 1; cut < stream.length; cut++) {
    const c = new MemcacheReplyCounter();
    check(c, c.feed(stream.subarray(0, cut)) + c.feed(stream.subarray(cut)), `split at ${cut}`);
    assert.match(c.firstError, /status 0x0003/);
  }
  const bytewise = new MemcacheReplyCounter();
  let n = 0;
  for (let i = 0; i < stream.length; i++) n += bytewise.feed(stream.subarray(i, i + 1));
  check(bytewise, n, 'byte by byte');
  assert.is(bytewise.firstError, 'Value too large (status 0x0003, opcode 0x01)', 'the status name when the text is not in one read');
  // The warm-up sample is what the counter expects.
  const sample = new MemcacheReplyCounter();
  assert.is(sample.feed(memcacheSampleReplies(64)), 64);
  assert.is(sample.errors, 0);
  // Replies must carry the request numbers in order: a lost one is one error, then it resyncs.
  const gap = new MemcacheReplyCounter();
  const ok = (i: number): Buffer => memcacheResponse(0x01, 0, i, none, none);
  assert.is(gap.feed(Buffer.concat([ok(0), ok(2), ok(3)])), 3);
  assert.is(gap.errors, 1);
  assert.is(gap.firstError, 'reply out of order: opaque 2, expected 1');
  // Bytes that are not a binary response cannot be followed.
  assert.throws(() => new MemcacheReplyCounter().feed(Buffer.from('SERVER_ERROR unknown command\r\n')), (e: unknown) => e instanceof MemcacheProtocolError);
});

test('memcached templates: 24-byte header, Set with flags 0 and expiry 0, key digits and request number in place', () => {
  const mc = wireProtocol('memcache');
  const set = mc.template('set', 'k:', 5);
  const get = mc.template('get', 'k:', 5);
  const key = 2 + KEY_DIGITS;
  assert.is(set.bytes.length, 24 + 8 + key + 5);
  assert.is(get.bytes.length, 24 + key);
  const b = Buffer.from(set.bytes);
  writeKeyDigits(b, set.digitsAt, 42);
  b.writeUInt32BE(7, set.opaqueAt);
  assert.equal([b[0], b[1], b.readUInt16BE(2), b[4], b[5], b.readUInt16BE(6)], [0x80, 0x01, key, 8, 0, 0]);
  assert.is(b.readUInt32BE(8), 8 + key + 5, 'total body length');
  assert.is(b.readUInt32BE(12), 7, 'opaque');
  assert.is(b.readBigUInt64BE(16), 0n, 'cas');
  assert.is(b.readBigUInt64BE(24), 0n, 'flags and expiry');
  assert.is(b.toString('latin1', set.keyAt, set.keyAt + set.keyLen), 'k:000000000042');
  assert.is(b.toString('latin1', 24 + 8 + key), 'xxxxx');
  const g = Buffer.from(get.bytes);
  assert.equal([g[0], g[1], g.readUInt16BE(2), g[4], g.readUInt32BE(8)], [0x80, 0x00, key, 0, key]);
  assert.is(get.keyAt, 24);
  assert.is(wireProtocol('resp').template('get', 'k:', 5).opaqueAt, -1);
});

test('RESP templates: key digits rewritten in place, and the key routes to its hash slot', () => {
  const resp = wireProtocol('resp');
  const set = resp.template('set', 'user:{42}:', 4);
  const get = resp.template('get', 'key:', 4);
  const buf = Buffer.alloc(set.bytes.length);
  set.bytes.copy(buf);
  writeKeyDigits(buf, set.digitsAt, 1234);
  assert.is(buf.toString(), `*3\r\n$3\r\nSET\r\n$${10 + KEY_DIGITS}\r\nuser:{42}:000000001234\r\n$4\r\nxxxx\r\n`);
  // With a hash tag every key shares the tag's slot; without, each key hashes whole.
  assert.is(keySlot(buf, set.keyAt, set.keyLen), keySlot(Buffer.from('42'), 0, 2));
  const g = Buffer.from(get.bytes);
  for (const n of [0, 7, 99_999, 123_456_789]) {
    writeKeyDigits(g, get.digitsAt, n);
    const key = `key:${String(n).padStart(KEY_DIGITS, '0')}`;
    assert.is(g.toString('latin1', get.keyAt, get.keyAt + get.keyLen), key);
    const k = Buffer.from(key);
    assert.is(keySlot(g, get.keyAt, get.keyLen), keySlot(k, 0, k.length));
  }
  // Known slots (redis-cli CLUSTER KEYSLOT).
  assert.is(keySlot(Buffer.from('foo'), 0, 3), 12182);
  assert.is(keySlot(Buffer.from('{user1000}.following'), 0, 20), keySlot(Buffer.from('{user1000}.followers'), 0, 20));
});

test('CLUSTER SLOTS reply becomes a node list and a slot owner table; an error reply means one node', () => {
  const reply = Buffer.from(
    '*2\r\n' +
      '*3\r\n:0\r\n:8191\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$40\r\n' + 'a'.repeat(40) + '\r\n' +
      '*4\r\n:8192\r\n:16383\r\n*3\r\n$0\r\n\r\n:7001\r\n$40\r\n' + 'b'.repeat(40) + '\r\n*3\r\n$9\r\n127.0.0.1\r\n:7002\r\n$40\r\n' + 'c'.repeat(40) + '\r\n',
  );
  const seed = { host: '10.0.0.1', port: 7000 };
  const topo = parseClusterSlots(decodeReply(reply, 0).value, seed);
  assert.ok(topo !== null && topo.slotOwner !== null);
  assert.equal(topo.nodes, [{ host: '127.0.0.1', port: 7000 }, { host: '10.0.0.1', port: 7001 }]);
  assert.is(topo.slotOwner[0], 0);
  assert.is(topo.slotOwner[8191], 0);
  assert.is(topo.slotOwner[8192], 1);
  assert.is(topo.slotOwner[16383], 1);
  assert.is(topo.slotOwner[12182], 1); // where "foo" goes
  assert.is(parseClusterSlots(decodeReply(Buffer.from('-ERR This instance has cluster support disabled\r\n'), 0).value, seed), null);
  assert.is(parseClusterSlots(decodeReply(Buffer.from('*0\r\n'), 0).value, seed), null);
});

test('options: redis-benchmark style flags, and refusals', () => {
  const o = parseLoadgenArgs(['-p', '7000', '-c', '8', '-n', '500', '-P', '4', '-d', '100', '-r', '50', '-t', 'get', '--threads', '2', '--dist', 'zipf', '-q']);
  assert.is(o.port, 7000);
  assert.is(o.clients, 8);
  assert.is(o.requests, 500);
  assert.is(o.pipeline, 4);
  assert.is(o.valueSize, 100);
  assert.is(o.keys, 50);
  assert.equal(o.tests, ['get']);
  assert.is(o.threads, 2);
  assert.is(o.dist, 'zipf');
  assert.is(o.quiet, true);
  assert.is(o.protocol, 'resp');
  assert.equal(parseLoadgenArgs(['--ratio', '9:1']).ratio, [9, 1]);
  assert.is(parseLoadgenArgs(['--threads', '8', '-c', '2']).threads, 2);
  const usage = (argv: string[]): void => assert.throws(() => parseLoadgenArgs(argv), (e: unknown) => e instanceof LoadgenUsageError);
  usage(['--bogus']);
  usage(['-t', 'del']);
  usage(['-c', '0']);
  usage(['--ratio', '0:0']);
  usage(['--dist', 'pareto']);
  usage(['--protocol', 'http']);
  const mc = parseLoadgenArgs(['--protocol', 'memcache']);
  assert.equal([mc.protocol, mc.port], ['memcache', 11211]);
  assert.is(parseLoadgenArgs(['--protocol', 'memcache', '-p', '7000']).port, 7000);
  assert.throws(() => parseLoadgenArgs(['--protocol', 'memcache', '--cluster']), /--cluster needs a protocol with hash slots \(resp\); memcache has no cluster mode/);
  usage(['--protocol', 'memcache', '--key-prefix', 'k'.repeat(240)]); // memcached keys are at most 250 bytes
  assert.is(parseLoadgenArgs(['--key-prefix', 'k'.repeat(240)]).keyPrefix.length, 240);
});

test.run();
