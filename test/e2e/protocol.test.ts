// The wire protocol over raw sockets: inline commands as nc sends them, a pipeline of 10,000
// commands in one write, a command split byte by byte, malformed input (exact Redis error text,
// then that connection alone is closed), clients vanishing mid-pipeline, and a bulk length over
// proto-max-bulk-len. The server runs with `--proto-max-bulk-len 1mb`. Texts were checked
// against redis-server 7.0 (E2E_SERVER=redis runs this file against it).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeCommand, rawClient, show, startTarget, withTimeout, type RawClient, type ServerHandle } from './harness.js';

const TEST_TIMEOUT_MS = 30_000;
const MB = 1024 * 1024;

let server: ServerHandle | undefined;
const opened: RawClient[] = [];

const proto = suite('protocol: raw sockets');

proto.before(async () => {
  server = await startTarget({ shards: 3, args: ['--proto-max-bulk-len', '1mb'] });
});

proto.after(async () => {
  for (const c of opened) c.close();
  await server?.stop();
});

async function connect(): Promise<RawClient> {
  if (server === undefined) throw new Error('server not started');
  const c = await rawClient(server.port);
  opened.push(c);
  return c;
}

/** Reads `n` replies and returns their exact bytes as latin1 strings. */
async function texts(c: RawClient, n: number, timeoutMs?: number): Promise<string[]> {
  return (await c.read(n, timeoutMs)).map((r) => r.text);
}

/** The server still serves a fresh connection. */
async function assertAlive(): Promise<void> {
  const c = await connect();
  c.send('*1\r\n$4\r\nPING\r\n');
  assert.equal(await texts(c, 1), ['+PONG\r\n'], 'a fresh connection still gets PONG');
  c.close();
}

function t(name: string, fn: () => Promise<void>): void {
  proto(name, () => withTimeout(fn(), TEST_TIMEOUT_MS, name));
}

t('inline commands as nc sends them', async () => {
  const c = await connect();
  c.send('PING\r\n');
  assert.equal(await texts(c, 1), ['+PONG\r\n']);
  c.send('SET a "hello world"\r\n');
  assert.equal(await texts(c, 1), ['+OK\r\n']);
  c.send('GET a\n');
  assert.equal(await texts(c, 1), ['$11\r\nhello world\r\n']);
  c.send('ping\nECHO   two   \r\nEXISTS a b\n');
  assert.equal(await texts(c, 3), ['+PONG\r\n', '$3\r\ntwo\r\n', ':1\r\n']);
  c.send("SET b 'single quoted' \r\nGET b\r\n");
  assert.equal(await texts(c, 2), ['+OK\r\n', '$13\r\nsingle quoted\r\n']);
  c.send('SET c "\\x41\\r\\n\\tz"\r\nGET c\r\n');
  assert.equal(await texts(c, 2), ['+OK\r\n', '$5\r\nA\r\n\tz\r\n']);
  // Empty lines and empty multibulks are skipped without a reply.
  c.send('\r\n\n*0\r\n   \r\nPING\r\n');
  assert.equal(await texts(c, 1), ['+PONG\r\n']);
  c.send('PING\r\n');
  assert.equal(await texts(c, 1), ['+PONG\r\n']);
  assert.is(c.pending(), 0, 'no reply for the empty lines');
  c.send('NOSUCH arg1 arg2\r\n');
  assert.equal(await texts(c, 1), ["-ERR unknown command 'NOSUCH', with args beginning with: 'arg1' 'arg2' \r\n"]);
  c.send('GET\r\n');
  assert.equal(await texts(c, 1), ["-ERR wrong number of arguments for 'get' command\r\n"]);
  c.close();
});

t('a pipeline of 10,000 commands in one write, replies in order', async () => {
  const c = await connect();
  const n = 10_000;
  const parts: Buffer[] = [encodeCommand(['DEL', 'pl:counter'])];
  for (let i = 0; i < n; i++) {
    switch (i % 4) {
      case 0:
        parts.push(encodeCommand(['SET', `pl:${i}`, `v${i}`]));
        break;
      case 1:
        parts.push(encodeCommand(['GET', `pl:${i - 1}`]));
        break;
      case 2:
        parts.push(encodeCommand(['INCR', 'pl:counter']));
        break;
      default:
        parts.push(encodeCommand(['ECHO', `e${i}`]));
    }
  }
  c.send(Buffer.concat(parts));
  const replies = await texts(c, n + 1, 20_000);
  assert.match(replies[0]!, /^:[01]\r\n$/);
  let incrs = 0;
  for (let i = 0; i < n; i++) {
    const got = replies[i + 1]!;
    let want: string;
    switch (i % 4) {
      case 0:
        want = '+OK\r\n';
        break;
      case 1: {
        const v = `v${i - 1}`;
        want = `$${v.length}\r\n${v}\r\n`;
        break;
      }
      case 2:
        want = `:${++incrs}\r\n`;
        break;
      default:
        want = `$${String(i).length + 1}\r\ne${i}\r\n`;
    }
    if (got !== want) assert.unreachable(`reply ${i}: expected ${show(want)}, got ${show(got)}`);
  }
  c.send('*1\r\n$4\r\nPING\r\n');
  assert.equal(await texts(c, 1), ['+PONG\r\n'], 'nothing extra after the pipeline');
  c.close();
});

t('large replies to a pipeline come back whole and in order', async () => {
  const c = await connect();
  const value = Buffer.alloc(256 * 1024);
  for (let i = 0; i < value.length; i++) value[i] = 97 + (i % 26);
  c.send(encodeCommand(['SET', 'big:v', value]));
  assert.equal(await texts(c, 1), ['+OK\r\n']);
  const parts: Buffer[] = [];
  for (let i = 0; i < 80; i++) parts.push(encodeCommand(['GET', 'big:v']), encodeCommand(['ECHO', String(i)]));
  c.send(Buffer.concat(parts));
  const replies = await c.read(160, 20_000);
  for (let i = 0; i < 80; i++) {
    const r = replies[2 * i]!;
    assert.ok(r.value.type === 'bulk' && r.value.value !== null && r.value.value.equals(value), `GET ${i} whole`);
    assert.is(replies[2 * i + 1]!.text, `$${String(i).length}\r\n${i}\r\n`);
  }
  c.close();
});

t('a command split byte by byte over many writes', async () => {
  const c = await connect();
  const cmd = Buffer.concat([
    encodeCommand(['SET', 'split:key', 'a value\r\nwith CRLF']),
    encodeCommand(['GET', 'split:key']),
    Buffer.from('ECHO inline\r\n'),
  ]);
  for (let i = 0; i < cmd.length; i++) {
    await new Promise<void>((resolve, reject) => c.socket.write(cmd.subarray(i, i + 1), (err) => (err ? reject(err) : resolve())));
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(await texts(c, 3), ['+OK\r\n', '$18\r\na value\r\nwith CRLF\r\n', '$6\r\ninline\r\n']);
  c.send('*1\r\n$4\r\nPING\r\n');
  assert.equal(await texts(c, 1), ['+PONG\r\n'], 'exactly three replies before');
  c.close();
});

/** Sends `bytes` on a fresh connection; expects exactly `replies`, then the server closing it. */
async function expectProtocolError(bytes: string, replies: string[]): Promise<void> {
  const bystander = await connect();
  bystander.send('*3\r\n$3\r\nSET\r\n$9\r\nbystander\r\n$1\r\n1\r\n');
  assert.equal(await texts(bystander, 1), ['+OK\r\n']);
  const c = await connect();
  c.send(bytes);
  assert.equal(await texts(c, replies.length), replies, `replies to ${show(bytes)}`);
  await c.waitClosed(5_000);
  assert.is(c.pending(), 0, 'nothing after the error');
  // The other connection did not notice.
  bystander.send('*2\r\n$4\r\nINCR\r\n$9\r\nbystander\r\n');
  assert.equal(await texts(bystander, 1), [':2\r\n'], 'another connection keeps working');
  bystander.close();
}

t('malformed multibulk length: exact error, then close', async () => {
  await expectProtocolError('*abc\r\n', ['-ERR Protocol error: invalid multibulk length\r\n']);
  await expectProtocolError('*99999999999\r\n', ['-ERR Protocol error: invalid multibulk length\r\n']);
});

t("expected '$': exact error, then close", async () => {
  await expectProtocolError('*2\r\n$3\r\nGET\r\n:1\r\n', ["-ERR Protocol error: expected '$', got ':'\r\n"]);
  await expectProtocolError('*1\r\nfoo\r\n', ["-ERR Protocol error: expected '$', got 'f'\r\n"]);
});

t('bad bulk lengths: exact error, then close', async () => {
  await expectProtocolError('*1\r\n$abc\r\n', ['-ERR Protocol error: invalid bulk length\r\n']);
  await expectProtocolError('*1\r\n$-5\r\n', ['-ERR Protocol error: invalid bulk length\r\n']);
  await expectProtocolError('*2\r\n$4\r\nECHO\r\n$-1\r\n', ['-ERR Protocol error: invalid bulk length\r\n']);
});

t('unbalanced quotes in an inline command: exact error, then close', async () => {
  await expectProtocolError('"unbalanced\r\n', ['-ERR Protocol error: unbalanced quotes in request\r\n']);
  await expectProtocolError("SET a 'x'y\r\n", ['-ERR Protocol error: unbalanced quotes in request\r\n']);
});

t('replies to good commands before a protocol error in the same write', async () => {
  await expectProtocolError('PING\r\n*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n:1\r\n*1\r\n$4\r\nPING\r\n', [
    '+PONG\r\n',
    '+PONG\r\n',
    "-ERR Protocol error: expected '$', got ':'\r\n",
  ]);
});

t('$x is an inline command: unknown command, connection stays open', async () => {
  const c = await connect();
  c.send('$x\r\n');
  assert.equal(await texts(c, 1), ["-ERR unknown command '$x', with args beginning with: \r\n"]);
  c.send('PING\r\n');
  assert.equal(await texts(c, 1), ['+PONG\r\n']);
  assert.not.ok(c.isClosed());
  c.close();
});

t('unknown command and wrong arity keep the connection', async () => {
  const c = await connect();
  c.send(
    Buffer.concat([
      encodeCommand(['NOPE']),
      encodeCommand(['nope', 'a', 'b']),
      encodeCommand(['SET', 'x']),
      encodeCommand(['GETRANGE', 'x', '1']),
      encodeCommand(['MSET', 'a', '1', 'b']),
      encodeCommand(['PING']),
    ]),
  );
  assert.equal(await texts(c, 6), [
    "-ERR unknown command 'NOPE', with args beginning with: \r\n",
    "-ERR unknown command 'nope', with args beginning with: 'a' 'b' \r\n",
    "-ERR wrong number of arguments for 'set' command\r\n",
    "-ERR wrong number of arguments for 'getrange' command\r\n",
    "-ERR wrong number of arguments for 'mset' command\r\n",
    '+PONG\r\n',
  ]);
  c.close();
});

t('a client vanishing in the middle of a pipeline disturbs nobody', async () => {
  const other = await connect();
  other.send('*3\r\n$3\r\nSET\r\n$5\r\nother\r\n$1\r\n0\r\n');
  assert.equal(await texts(other, 1), ['+OK\r\n']);
  for (let round = 0; round < 5; round++) {
    const c = await connect();
    const parts: Buffer[] = [];
    for (let i = 0; i < 5000; i++) parts.push(encodeCommand(['SET', `gone:${round}:${i}`, 'x'.repeat(100)]));
    parts.push(encodeCommand(['GET', 'gone:0:0']).subarray(0, 10));
    c.send(Buffer.concat(parts));
    c.close();
    // Half a command, then gone.
    const h = await connect();
    h.send('*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$100\r\nabc');
    h.close();
    other.send('*2\r\n$4\r\nINCR\r\n$5\r\nother\r\n');
    assert.equal(await texts(other, 1), [`:${round + 1}\r\n`], 'the other client is served');
  }
  await assertAlive();
  other.send('*2\r\n$6\r\nEXISTS\r\n$4\r\nhalf\r\n');
  assert.equal(await texts(other, 1), [':0\r\n'], 'the half command was never run');
  other.close();
});

t('a bulk over proto-max-bulk-len (1mb): invalid bulk length, then close', async () => {
  await expectProtocolError('*1\r\n$2000000\r\n', ['-ERR Protocol error: invalid bulk length\r\n']);
  await expectProtocolError(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${MB + 1}\r\n`, ['-ERR Protocol error: invalid bulk length\r\n']);
  // Exactly the limit is fine.
  const c = await connect();
  c.send(encodeCommand(['SET', 'at-limit', Buffer.alloc(MB, 'z')]));
  assert.equal(await texts(c, 1), ['+OK\r\n']);
  c.send(encodeCommand(['STRLEN', 'at-limit']));
  assert.equal(await texts(c, 1), [`:${MB}\r\n`]);
  c.close();
});

t('the server is alive after all of this', async () => {
  await assertAlive();
});

t('replies of every size in one pipeline, around the size a shard encodes in place', async () => {
  // A shard encodes each reply straight into its reply ring in a frame of 4 KiB; longer replies
  // are copied in. Sizes around that edge and far beyond it, interleaved, come back whole.
  const c = await connect();
  const sizes = [0, 1, 4080, 4081, 4086, 4087, 4095, 4096, 4097, 9000, 300_000];
  let setup = '';
  for (const n of sizes) setup += encodeCommand(['SET', `edge:{x}${n}`, 'v'.repeat(n)]);
  c.send(setup);
  assert.equal(await texts(c, sizes.length), sizes.map(() => '+OK\r\n'));
  let batch = '';
  const want: string[] = [];
  for (let round = 0; round < 300; round++) {
    for (const n of sizes) {
      batch += encodeCommand(['GET', `edge:{x}${n}`]);
      want.push(`$${n}\r\n${'v'.repeat(n)}\r\n`);
      batch += encodeCommand(['INCR', 'edge:counter']);
      want.push(`:${want.length / 2 + 0.5}\r\n`);
    }
  }
  c.send(batch);
  const got = await texts(c, want.length, 20_000);
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) assert.unreachable(`reply ${i}: ${show(got[i] ?? '').slice(0, 80)} instead of ${show(want[i]!).slice(0, 80)}`);
  }
  c.close();
});

proto.run();
