// Fast-check properties of the ACL itself, in process (no server):
// 1. random rule lists -> describe (ACL LIST) -> re-parse gives the same user: same description,
//    same command bitmap, keys, channels and selectors (what Redis asserts when it describes);
// 2. key and channel permissions against a model: a key is allowed for a command when some
//    pattern with the permission its key spec asks for matches it (glob as a RegExp here).
// Seeded; ACL_MODEL_RUNS for longer runs (npm run test:model).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Acl } from '../../src/acl/acl.js';
import { aclCatalogue } from '../../src/commands/acl-catalogue.js';
import { COMMANDS, commandIndex } from '../../src/commands/registry.js';
import { argListOf } from '../../src/commands/args.js';
import { permissionsFromBytes, serialisePermissions } from '../../src/acl/permissions-bytes.js';
import { ACL_CATEGORY_NAMES } from '../../src/acl/catalogue.js';
import type { User } from '../../src/acl/user.js';

const SEED = Number(process.env['MODEL_SEED'] ?? 1818);
const RUNS = Number(process.env['ACL_MODEL_RUNS'] ?? process.env['MODEL_RUNS'] ?? 200);

const cat = aclCatalogue(COMMANDS);
const names = [...cat.byName.keys()];

const pattern = fc.stringMatching(/^[abk][a-c*?]{0,3}$/);
const cmdRule = fc.oneof(
  fc.constantFrom(...names).chain((n) => fc.constantFrom(`+${n}`, `-${n}`)),
  fc.constantFrom(...ACL_CATEGORY_NAMES).chain((c) => fc.constantFrom(`+@${c}`, `-@${c}`)),
  fc.constantFrom('+@all', '-@all', 'allcommands', 'nocommands', '+select|0', '+select|3'),
);
const keyRule = fc.oneof(
  pattern.map((p) => `~${p}`),
  fc.tuple(fc.constantFrom('%R~', '%W~', '%RW~', '%WR~'), pattern).map(([a, p]) => a + p),
  fc.constantFrom('resetkeys', 'allkeys'),
);
const chanRule = fc.oneof(pattern.map((p) => `&${p}`), fc.constantFrom('resetchannels', 'allchannels'));
const simpleRule = fc.oneof({ weight: 5, arbitrary: cmdRule }, { weight: 3, arbitrary: keyRule }, { weight: 2, arbitrary: chanRule },
  { weight: 1, arbitrary: fc.constantFrom('on', 'off', 'nopass', 'resetpass', '>pw', '>other', 'reset', 'sanitize-payload', 'ops-per-sec=5', 'maxclients=2', 'bytes-per-sec=0') });
const selectorRule = fc.array(fc.oneof(cmdRule, keyRule, chanRule), { maxLength: 4 }).map((rs) => `(${rs.join(' ')})`);
const ruleList = fc.array(fc.oneof({ weight: 6, arbitrary: simpleRule }, { weight: 1, arbitrary: selectorRule }, { weight: 1, arbitrary: fc.constant('clearselectors') }), { maxLength: 14 });

/** Applies each rule on its own, skipping refused ones (a refused SETUSER changes nothing). */
function build(acl: Acl, name: string, rules: string[]): User {
  acl.setUser(name, []);
  for (const r of rules) {
    try {
      acl.setUser(name, [r]);
    } catch {
      // refused, as Redis would refuse it: the user is unchanged
    }
  }
  return acl.user(name)!;
}

function state(u: User): string {
  const sel = (s: User['root']): string => JSON.stringify([Array.from(s.bits), s.allKeys, s.allChannels, s.keys.map((k) => [k.text, k.perm]), s.channels.map((c) => c.text), s.firstArgs ? [...s.firstArgs] : null]);
  return JSON.stringify([u.enabled, u.nopass, u.passwords, u.limits, sel(u.root), u.selectors.map(sel)]);
}

/** ACL LIST's rules split as an aclfile loader splits them (selectors whole). */
function tokens(description: string): string[] {
  const out: string[] = [];
  let open: string | null = null;
  for (const w of description.split(' ')) {
    if (open !== null) {
      open += ` ${w}`;
      if (w.endsWith(')')) {
        out.push(open);
        open = null;
      }
    } else if (w.startsWith('(') && !w.endsWith(')')) open = w;
    else out.push(w);
  }
  return out;
}

test('describe -> re-parse gives the same user', () => {
  fc.assert(
    fc.property(ruleList, (rules) => {
      const acl = new Acl(cat);
      const u = build(acl, 'u', rules);
      const d = u.describe();
      const again = acl.setUser('v', tokens(d));
      assert.is(again.describe(), d, `rules ${JSON.stringify(rules)}`);
      assert.is(state(again), state(u), `rules ${JSON.stringify(rules)} described as ${d}`);
    }),
    { seed: SEED, numRuns: RUNS },
  );
});

function globRegex(p: string): RegExp {
  let r = '^';
  for (const ch of p) r += ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`${r}$`, 's');
}

const KEY_COMMANDS: Array<{ args: (k: string[]) => string[]; perm: Array<'R' | 'W'> }> = [
  { args: (k) => ['get', k[0]!], perm: ['R'] },
  { args: (k) => ['set', k[0]!, 'v'], perm: ['W'] },
  { args: (k) => ['set', k[0]!, 'v', 'GET'], perm: ['R', 'W'] },
  { args: (k) => ['mget', ...k], perm: ['R'] },
  { args: (k) => ['del', ...k], perm: ['W'] },
  { args: (k) => ['incr', k[0]!], perm: ['R', 'W'] },
  { args: (k) => ['exists', ...k], perm: [] },
];

test('key and channel permissions follow the patterns (model), and the serialised form agrees', () => {
  const keyPat = fc.tuple(fc.constantFrom('R', 'W', 'RW'), pattern);
  fc.assert(
    fc.property(
      fc.array(keyPat, { maxLength: 4 }),
      fc.array(pattern, { maxLength: 3 }),
      fc.array(fc.stringMatching(/^[abk][a-c]{0,3}$/), { minLength: 1, maxLength: 3 }),
      fc.nat(KEY_COMMANDS.length - 1),
      fc.stringMatching(/^[abk][a-c]{0,3}$/),
      (pats, chans, keys, which, channel) => {
        const acl = new Acl(cat);
        const rules = ['on', 'nopass', '+@all', ...pats.map(([f, p]) => (f === 'RW' ? `~${p}` : `%${f}~${p}`)), ...chans.map((c) => `&${c}`)];
        const u = acl.setUser('m', rules);
        const kc = KEY_COMMANDS[which]!;
        const args = kc.args(keys);
        const a = argListOf(args);
        const idx = commandIndex(args[0]!);
        const denial = acl.check(u, idx, a);
        // Rules on the same pattern merge their permissions (Redis keeps one entry per pattern).
        const merged = new Map<string, string>();
        for (const [f, p] of pats) merged.set(p, (merged.get(p) ?? '') + f);
        const keyAllowed = (k: string): boolean =>
          [...merged].some(([p, f]) => kc.perm.every((need) => f.includes(need)) && globRegex(p).test(k));
        const keyArgs = args[0] === 'set' || args[0] === 'get' || args[0] === 'incr' ? [keys[0]!] : keys;
        const expectKeysOk = keyArgs.every(keyAllowed);
        assert.is(denial === null, expectKeysOk, `${JSON.stringify(rules)} ${args.join(' ')}: ${denial?.error}`);
        if (denial !== null) assert.is(denial.reason, 'key');
        // The shard's copy of the permissions answers the same.
        const perms = permissionsFromBytes(serialisePermissions(u));
        assert.equal(perms.check(idx, a), denial);
        // Channels: PUBLISH matches patterns; PSUBSCRIBE wants the pattern itself.
        const allCh = chans.includes('*');
        const pub = acl.check(u, commandIndex('publish'), argListOf(['publish', channel, 'm']));
        assert.is(pub === null, allCh || chans.some((c) => globRegex(c).test(channel)), `publish ${channel} with ${chans}`);
        const psub = acl.check(u, commandIndex('psubscribe'), argListOf(['psubscribe', channel]));
        assert.is(psub === null, allCh || chans.includes(channel), `psubscribe ${channel} with ${chans}`);
        assert.is(acl.channelAllowed(u, Buffer.from(channel), false), pub === null);
      },
    ),
    { seed: SEED, numRuns: RUNS },
  );
});

test('an allowed check allocates nothing measurable (100k checks of a user with key patterns)', () => {
  const acl = new Acl(cat);
  const u = acl.setUser('p', ['on', 'nopass', '+@all', '~key:*', '~other:7:*']);
  const a = argListOf(['set', 'key:123', 'value']);
  const idx = commandIndex('set');
  for (let i = 0; i < 1000; i++) acl.check(u, idx, a);
  global.gc?.();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 100_000; i++) if (acl.check(u, idx, a) !== null) throw new Error('denied');
  const grown = process.memoryUsage().heapUsed - before;
  // Without --expose-gc the heap may still hold garbage of the warm-up: a generous bound.
  assert.ok(grown < 4 * 1024 * 1024, `heap grew ${grown} bytes over 100k checks`);
});


test('a deleted user\'s id is never given to a later user (frames in flight carry it)', () => {
  const acl = new Acl(cat);
  const a = acl.setUser('a', ['on', '>p', '~a:*', '+get']);
  assert.is(acl.deleteUsers(['a']), 1);
  const b = acl.setUser('b', ['on', '>p', '~*', '+@all']);
  assert.is.not(b.id, a.id);
  acl.replaceAll([['c', ['on', '>p', '~c:*', '+get']]]);
  assert.ok(acl.user('c')!.id > b.id, 'ACL LOAD makes new ids too');
});

test.run();
