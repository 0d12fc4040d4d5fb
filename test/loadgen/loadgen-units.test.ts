// Load generator parts: histogram percentiles and merge, key samplers, reply counting over any
// split of the byte stream, option parsing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Histogram } from '../../src/loadgen/histogram.js';
import { makeRandom, uniformSampler, zipfSampler } from '../../src/loadgen/keys.js';
import { ReplyScanner } from '../../src/loadgen/reply-scanner.js';
import { parseLoadgenArgs, LoadgenUsageError } from '../../src/loadgen/run.js';

test('histogram percentiles are within 3.2% and merge adds counts', () => {
  const h = new Histogram();
  for (let v = 1; v <= 100_000; v++) h.record(v);
  for (const p of [50, 90, 99, 99.9]) {
    const want = (p / 100) * 100_000;
    const got = h.percentile(p);
    assert.ok(got >= want && got <= want * 1.032, `p${p}: ${got} vs ${want}`);
  }
  assert.is(h.percentile(100), 100_000);
  const a = new Histogram();
  const b = new Histogram();
  a.record(10);
  b.record(1000);
  b.record(2000);
  a.add(b);
  assert.is(a.total, 3);
  assert.is(a.maxUs, 2000);
  assert.ok(a.percentile(50) >= 1000 && a.percentile(50) < 1032);
  const shipped = new Histogram(a.counts.slice());
  assert.is(shipped.total, 3);
});

test('uniform sampler covers the key space evenly; zipf favours low ranks', () => {
  const r = makeRandom(7);
  const u = uniformSampler(10, r);
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < 100_000; i++) counts[u()]!++;
  for (const c of counts) assert.ok(c > 9000 && c < 11000, String(c));
  const z = zipfSampler(1000, 0.99, makeRandom(7));
  const zc = new Array<number>(1000).fill(0);
  for (let i = 0; i < 100_000; i++) zc[z()]!++;
  assert.ok(zc[0]! > zc[1]! && zc[1]! > zc[10]! && zc[10]! > zc[500]!);
  // Zipf(0.99) over 1000 keys: rank 0 takes about 13% of the draws.
  assert.ok(zc[0]! > 11000 && zc[0]! < 15500, String(zc[0]));
});

test('reply scanner counts replies however the bytes are split', () => {
  const stream = Buffer.from('+OK\r\n$-1\r\n$5\r\nhel\r\n\r\n-ERR bad\r\n:12\r\n*2\r\n$1\r\na\r\n*1\r\n_\r\n%1\r\n+k\r\n+v\r\n');
  const whole = new ReplyScanner();
  assert.is(whole.feed(stream), 7);
  assert.is(whole.errors, 1);
  assert.is(whole.firstError, 'ERR bad');
  for (let cut = 1; cut < stream.length; cut++) {
    const s = new ReplyScanner();
    const n = s.feed(stream.subarray(0, cut)) + s.feed(stream.subarray(cut));
    assert.is(n, 7, `split at ${cut}`);
  }
  const bytewise = new ReplyScanner();
  let n = 0;
  for (let i = 0; i < stream.length; i++) n += bytewise.feed(stream.subarray(i, i + 1));
  assert.is(n, 7);
});

test('options: redis-benchmark style flags, and refusals', () => {
  const o = parseLoadgenArgs(['-p', '7000', '-c', '8', '-n', '500', '-P', '4', '-d', '100', '-r', '50', '-t', 'get', '--threads', '2', '--dist', 'zipf']);
  assert.is(o.port, 7000);
  assert.is(o.clients, 8);
  assert.is(o.requests, 500);
  assert.is(o.pipeline, 4);
  assert.is(o.valueSize, 100);
  assert.is(o.keys, 50);
  assert.equal(o.tests, ['get']);
  assert.is(o.threads, 2);
  assert.is(o.dist, 'zipf');
  assert.equal(parseLoadgenArgs(['--ratio', '9:1']).ratio, [9, 1]);
  assert.throws(() => parseLoadgenArgs(['--bogus']), (e: unknown) => e instanceof LoadgenUsageError);
  assert.throws(() => parseLoadgenArgs(['-t', 'del']), (e: unknown) => e instanceof LoadgenUsageError);
  assert.throws(() => parseLoadgenArgs(['-c', '0']), (e: unknown) => e instanceof LoadgenUsageError);
});

test.run();
