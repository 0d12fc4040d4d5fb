// ACL against a real redis-server 7.0, byte for byte: every ACL subcommand's replies and errors
// (RESP2 and RESP3), AUTH / HELLO AUTH, NOPERM texts for command, key and channel denials, and
// ACL LOG's shape. Where Redis leaves an order open (single commands in a rule list come in its
// command dict's random order; ACL CAT <category> likewise) the replies are compared with that
// order normalised; ACL LOG's age-seconds and client-info are masked (times and ids differ).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rawClient, withTimeout, type Reply, type RespValue } from './harness.js';
import { ServerPair, groupsOn, s, timedOn, elems, type Compare } from './differential-helpers.js';
import { COMMANDS } from '../../src/commands/registry.js';
import { commandMeta } from '../../src/commands/command-meta.js';

const TEST_TIMEOUT_MS = 60_000;

/** Commands Redis 7.0 lacks (Tessera's own): they carry categories too, so a rule list may name
 * them and ACL CAT lists them; the comparison leaves them out. */
const TESSERA_ONLY = new Set<string>();
for (const e of commandMeta(COMMANDS).list) {
  if (!e.redis) TESSERA_ONLY.add(e.fullname);
  for (const sub of e.subs) if (!sub.redis) TESSERA_ONLY.add(sub.fullname);
}

/** A rule list with its single-command rules (after the last category rule) sorted. */
function normaliseRules(str: string): string {
  if (!/(^|\s)[+-]@/.test(str)) return str;
  const toks = str.split(' ');
  let last = -1;
  toks.forEach((t, i) => {
    if (/^[+-]@/.test(t)) last = i;
  });
  const singles = toks.slice(last + 1).filter((t) => !TESSERA_ONLY.has(t.slice(1)));
  return [...toks.slice(0, last + 1), ...singles.sort()].join(' ');
}

/** The reply with rule lists normalised and ACL LOG's times and client descriptions masked. */
function shape(v: RespValue, parentKey = ''): string {
  switch (v.type) {
    case 'array':
      return v.value === null ? '*-1' : `*${v.value.length}[${shapeList(v.value)}]`;
    case 'set':
      return `~${v.value.length}[${shapeList(v.value)}]`;
    case 'map':
      return `%${v.value.length}[${v.value.map(([k, x]) => `${shape(k)}:${shape(x, k.type === 'bulk' && k.value ? k.value.toString('latin1') : '')}`).join(',')}]`;
    case 'bulk': {
      if (v.value === null) return '$-1';
      if (parentKey === 'age-seconds' || parentKey === 'client-info') return '$<masked>';
      return `$${normaliseRules(v.value.toString('latin1'))}`;
    }
    case 'double':
      return parentKey === 'age-seconds' ? ',<masked>' : `,${v.value}`;
    case 'integer':
      return `:${v.value}`;
    case 'simple':
      return `+${v.value}`;
    case 'error':
      return `-${v.value}`;
    case 'null':
      return '_';
    default:
      return v.type;
  }
}

/** RESP2 flattens maps into arrays: a key is the element before its value. */
function shapeList(list: RespValue[]): string {
  return list.map((x, i) => {
    const prev = list[i - 1];
    const key = i % 2 === 1 && prev?.type === 'bulk' && prev.value ? prev.value.toString('latin1') : '';
    return shape(x, key);
  }).join(',');
}

const rules: Compare = (r, t) => {
  if (r.raw.equals(t.raw)) return null;
  const a = shape(r.value);
  const b = shape(t.value);
  return a === b ? null : `normalised replies differ:\n      redis   ${a}\n      tessera ${b}`;
};

/** ACL CAT <category>: the same commands in any order, Tessera's own left out. */
const sameCommands: Compare = (r, t) => {
  const re = elems(r.value);
  const te = elems(t.value)?.filter((n) => !TESSERA_ONLY.has(n)) ?? null;
  if (re === null || te === null) return r.raw.equals(t.raw) ? null : 'not arrays, and bytes differ';
  re.sort();
  te.sort();
  const missing = re.filter((n) => !te.includes(n));
  const extra = te.filter((n) => !re.includes(n));
  return missing.length === 0 && extra.length === 0 ? null : `missing ${JSON.stringify(missing)} extra ${JSON.stringify(extra)}`;
};

/** GENPASS: same type and length (the password is random). */
const sameLength: Compare = (r: Reply, t: Reply) => (r.raw.length === t.raw.length && r.raw[0] === t.raw[0] ? null : 'lengths differ');

const pair = new ServerPair({ tessera: { shards: 2 } });
const test = suite('acl differential');
test.before(pair.start);
test.after(pair.stop);
const group = groupsOn(test, pair, { protos: [2, 3], timeoutMs: TEST_TIMEOUT_MS });
const timed = timedOn(test, TEST_TIMEOUT_MS);

const RESET = s('ACL DELUSER alice bob carol dave eve sel u1 u2 u3', rules);

group('SETUSER and LIST / GETUSER / USERS: rules, their order and normalisation', [
  RESET,
  s('ACL SETUSER alice'),
  s('ACL LIST', rules),
  s('ACL GETUSER alice', rules),
  s('ACL SETUSER bob on >p1 #5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8 ~a* %R~b* %W~c* %RW~d* &ch* +@all -get'),
  s('ACL GETUSER bob', rules),
  s('ACL SETUSER carol on nopass +@read -@hash +set'),
  s('ACL SETUSER dave on nopass +@all -@dangerous'),
  s('ACL SETUSER eve on resetpass +@string +@list -lpush allkeys allchannels'),
  s('ACL LIST', rules),
  s('ACL USERS'),
  s('ACL SETUSER bob <p1'),
  s('ACL SETUSER bob !5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8'),
  s('ACL GETUSER bob', rules),
  s('ACL SETUSER bob reset'),
  s('ACL GETUSER bob', rules),
  s('ACL SETUSER bob +@all -@all +get +config|get'),
  s('ACL GETUSER bob', rules),
  s('ACL SETUSER bob allcommands nocommands +@read'),
  s('ACL GETUSER bob', rules),
  s('ACL SETUSER bob %R~* %W~* ~*'),
  s('ACL GETUSER bob', rules),
  s('ACL SETUSER bob resetkeys ~x ~x %R~x'),
  s('ACL GETUSER bob', rules),
  s('ACL SETUSER bob +select|0'),
  s('ACL GETUSER bob', rules),
  s('ACL SETUSER sel on >x ~a (~b +get) (%R~c +@string &ch)'),
  s('ACL GETUSER sel', rules),
  s('ACL LIST', rules),
  s('ACL SETUSER sel clearselectors'),
  s('ACL GETUSER sel', rules),
  s('ACL GETUSER nobody'),
  s('ACL GETUSER default', rules),
]);

group('SETUSER errors', [
  RESET,
  s('ACL SETUSER u1 maxx'),
  s(['ACL', 'SETUSER', 'u1', '<nope']),
  s('ACL SETUSER u1 #abc'),
  s('ACL SETUSER u1 !abc'),
  s('ACL SETUSER u1 +nosuch'),
  s('ACL SETUSER u1 +@nosuch'),
  s('ACL SETUSER u1 -@nosuch'),
  s('ACL SETUSER u1 -nosuch'),
  s('ACL SETUSER u1 ~a allkeys ~b'),
  s('ACL SETUSER u1 allchannels &x'),
  s('ACL SETUSER u1 -get|x'),
  s('ACL SETUSER u1 +config|nosuch'),
  s('ACL SETUSER u1 +get|'),
  s('ACL SETUSER u1 %X~a'),
  s('ACL SETUSER u1 %~a'),
  s('ACL SETUSER u1 %RWR~a'),
  s('ACL SETUSER u1 %R'),
  s('ACL SETUSER u1 ('),
  s('ACL SETUSER u1 (~a +get'),
  s('ACL SETUSER u1 (~a +nosuch)'),
  s(['ACL', 'SETUSER', 'a b']),
  s('ACL SETUSER u1'),
  s('ACL SETUSER'),
  s('ACL USERS'),
  s('ACL DELUSER default'),
  s('ACL DELUSER u1 nobody default'),
  s('ACL DELUSER u1 nobody'),
  s('ACL DELUSER'),
  s('ACL GETUSER'),
  s('ACL GETUSER a b'),
  s('ACL NOSUCH'),
  s('ACL'),
  s('ACL LIST x'),
  s('ACL USERS x'),
  s('ACL WHOAMI x'),
  s('ACL CAT a b'),
  s('ACL GENPASS 1 2'),
  s('ACL LOG 1 2'),
  s('ACL HELP x'),
  s('ACL SAVE'),
  s('ACL LOAD'),
]);

group('WHOAMI, CAT, GENPASS, HELP', [
  s('ACL WHOAMI'),
  s('ACL CAT'),
  s('ACL CAT nosuch'),
  s('ACL CAT read', sameCommands),
  s('ACL CAT WRITE', sameCommands),
  s('ACL GENPASS', sameLength),
  s('ACL GENPASS 5', sameLength),
  s('ACL GENPASS 4096', sameLength),
  s('ACL GENPASS 0'),
  s('ACL GENPASS -1'),
  s('ACL GENPASS 4097'),
  s('ACL GENPASS x'),
  s('ACL HELP'),
]);

group('DRYRUN: allowed, command / key / channel denials and errors', [
  RESET,
  s('ACL SETUSER u1 on nopass ~k* &c* %R~r* %W~w* +get +set +publish +subscribe +psubscribe +config|get +mget +lmove +copy +eval +bitfield'),
  s('ACL DRYRUN u1 get kx'),
  s('ACL DRYRUN u1 get zz'),
  s('ACL DRYRUN u1 del k'),
  s('ACL DRYRUN u1 publish zz m'),
  s('ACL DRYRUN u1 publish cx m'),
  s('ACL DRYRUN u1 subscribe c1 c2 zz'),
  s('ACL DRYRUN u1 psubscribe c*'),
  s('ACL DRYRUN u1 psubscribe c1*'),
  s('ACL DRYRUN u1 config set a b'),
  s('ACL DRYRUN u1 config get a'),
  s('ACL DRYRUN u1 set r1 v'),
  s('ACL DRYRUN u1 get r1'),
  s('ACL DRYRUN u1 set w1 v'),
  s('ACL DRYRUN u1 set w1 v GET'),
  s('ACL DRYRUN u1 get w1'),
  s('ACL DRYRUN u1 mget k1 r1 w1'),
  s('ACL DRYRUN u1 mget k1 r1 k2'),
  s('ACL DRYRUN u1 lmove r1 w1 left right'),
  s('ACL DRYRUN u1 lmove w1 r1 left right'),
  s('ACL DRYRUN u1 copy r1 w1'),
  s('ACL DRYRUN u1 eval x 2 k1 w1'),
  s('ACL DRYRUN u1 eval x 2 k1 z1'),
  s('ACL DRYRUN u1 bitfield r1 GET u8 0'),
  s('ACL DRYRUN u1 bitfield r1 SET u8 0 1'),
  s('ACL DRYRUN nobody get a'),
  s('ACL DRYRUN u1 nocmd a'),
  s('ACL DRYRUN u1 get'),
  s('ACL DRYRUN u1 get a b'),
  s('ACL DRYRUN u1 config nosuch'),
  s('ACL DRYRUN u1'),
  s('ACL SETUSER u2 on nopass ~a* (~b* +get) (%R~c* +@read)'),
  s('ACL DRYRUN u2 get a1'),
  s('ACL DRYRUN u2 get b1'),
  s('ACL DRYRUN u2 get c1'),
  s('ACL DRYRUN u2 set c1 v'),
  s('ACL DRYRUN u2 set b1 v'),
  s('ACL DRYRUN u2 mget b1 c1'),
  s('ACL DRYRUN u2 strlen c1'),
  s('ACL DRYRUN u2 ping'),
  s('ACL DRYRUN u2 auth a b'),
  s('ACL DRYRUN u2 select 0'),
  s('ACL SETUSER u3 on nopass +select|0 +@read ~*'),
  s('ACL DRYRUN u3 select 0'),
  s('ACL DRYRUN u3 select 1'),
]);

/** AUTH and HELLO AUTH, NOPERM on real commands, ACL LOG: on fresh connections (they log in). */
timed('AUTH, HELLO AUTH, NOPERM replies and ACL LOG, RESP2 and RESP3', async () => {
  const setup = [
    'ACL DELUSER alice u1', 'ACL LOG RESET',
    'ACL SETUSER alice on >secret ~k* &c* +@all -del -@dangerous',
    'ACL SETUSER u1 off >pw +@all ~*',
  ];
  const session: string[][] = [
    ['AUTH', 'nopass-for-default'],
    ['AUTH', 'alice', 'wrong'],
    ['AUTH', 'nobody', 'x'],
    ['AUTH', 'u1', 'pw'],
    ['AUTH', 'a', 'b', 'c'],
    ['HELLO', '2', 'AUTH', 'alice', 'wrong'],
    ['HELLO', '3', 'AUTH', 'alice'],
    ['AUTH', 'alice', 'secret'],
    ['ACL', 'WHOAMI'],
    ['SET', 'k1', 'v'],
    ['GET', 'k1'],
    ['GET', 'zz'],
    ['DEL', 'k1'],
    ['DEL', 'k1'],
    ['PUBLISH', 'zz', 'm'],
    ['PUBLISH', 'c1', 'm'],
    ['FLUSHALL'],
    ['MSET', 'k1', 'a', 'x1', 'b'],
    ['CONFIG', 'SET', 'maxmemory', '0'],
    ['MULTI'],
    ['GET', 'zz'],
    ['EXEC'],
    ['ACL', 'LOG'],
    ['ACL', 'LOG', '2'],
    ['ACL', 'LOG', '0'],
    ['ACL', 'LOG', '-1'],
    ['ACL', 'LOG', 'x'],
  ];
  for (const proto of [2, 3] as const) {
    const clients = await Promise.all([rawClient(pair.redis.port), rawClient(pair.tessera.port)]);
    const problems: string[] = [];
    try {
      const replies: string[][] = [[], []];
      for (let k = 0; k < 2; k++) {
        const c = clients[k]!;
        for (const line of setup) await c.call(line.split(' '));
        if (proto === 3) await c.call(['HELLO', '3']);
        for (const args of session) {
          const r = await c.call(args);
          replies[k]!.push(`${args.join(' ')} => ${r.raw.equals(Buffer.from('')) ? '' : shape(r.value)}`);
        }
        await c.call(['AUTH', 'default', 'x']).catch(() => undefined);
      }
      for (let i = 0; i < session.length; i++) {
        if (replies[0]![i] !== replies[1]![i]) problems.push(`redis:   ${replies[0]![i]}\n    tessera: ${replies[1]![i]}`);
      }
    } finally {
      for (const c of clients) c.close();
    }
    if (problems.length > 0) assert.unreachable(`RESP${proto}: ${problems.length} replies differ:\n  ${problems.join('\n  ')}`);
  }
});

group('cleanup', [RESET, s('ACL LOG RESET')]);

test.run();
void withTimeout;
