// ACL categories, table-driven, against a real redis-server 7.0: for every category a user with
// `+@cat` and one with `+@all -@cat`, and ACL DRYRUN of every command and subcommand the table
// shares with Redis (arguments of its arity, all keys and channels allowed), so that each
// command is allowed or denied exactly as Redis allows or denies it. ACL CAT <cat> must list the
// same commands as Redis (Tessera's own commands aside).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeCommand, rawClient, withTimeout, type RawClient } from './harness.js';
import { ServerPair, elems } from './differential-helpers.js';
import { COMMANDS } from '../../src/commands/registry.js';
import { commandMeta } from '../../src/commands/command-meta.js';
import { ACL_CATEGORY_NAMES } from '../../src/acl/catalogue.js';

const TEST_TIMEOUT_MS = 120_000;

/** Every command line to DRYRUN: each command Redis declares, with its subcommands, filled up
 * to its arity with dummy arguments ('1' works as a key count and as a key). */
function commandLines(): string[][] {
  const lines: string[][] = [];
  const fill = (prefix: string[], arity: number): string[] => {
    const n = Math.max(Math.abs(arity), prefix.length);
    return [...prefix, ...new Array<string>(n - prefix.length).fill('1')];
  };
  for (const e of commandMeta(COMMANDS).list) {
    if (!e.redis) continue;
    if (e.subs.length === 0) lines.push(fill([e.fullname], e.decl.arity));
    for (const sub of e.subs) if (sub.redis) lines.push(fill([e.fullname, sub.decl.name], sub.decl.arity));
  }
  return lines;
}

async function pipeline(c: RawClient, cmds: string[][]): Promise<string[]> {
  c.send(Buffer.concat(cmds.map((x) => encodeCommand(x))));
  const replies = await c.read(cmds.length, 60_000);
  return replies.map((r) => r.text);
}

const pair = new ServerPair({ tessera: { shards: 1 } });
const test = suite('acl categories');
test.before(pair.start);
test.after(pair.stop);

test('every category: +@cat and +@all -@cat allow and deny every command as Redis does', () =>
  withTimeout((async () => {
    const lines = commandLines();
    assert.ok(lines.length > 300, `only ${lines.length} command lines`);
    const clients = await Promise.all([rawClient(pair.redis.port), rawClient(pair.tessera.port)]);
    const problems: string[] = [];
    try {
      for (const cat of ACL_CATEGORY_NAMES) {
        for (const [user, rule] of [[`in_${cat}`, `+@${cat}`], [`out_${cat}`, `-@${cat}`]] as const) {
          const setup = rule[0] === '+' ? ['ACL', 'SETUSER', user, 'reset', 'on', 'nopass', '~*', '&*', rule] : ['ACL', 'SETUSER', user, 'reset', 'on', 'nopass', '~*', '&*', '+@all', rule];
          const cmds = [setup, ...lines.map((l) => ['ACL', 'DRYRUN', user, ...l]), ['ACL', 'DELUSER', user]];
          const [r, t] = await Promise.all(clients.map((c) => pipeline(c, cmds)));
          for (let i = 0; i < cmds.length; i++) {
            if (r![i] !== t![i]) problems.push(`${setup.slice(-1)[0]}: ${cmds[i]!.slice(3).join(' ')}\n    redis:   ${JSON.stringify(r![i])}\n    tessera: ${JSON.stringify(t![i])}`);
          }
        }
      }
    } finally {
      for (const c of clients) c.close();
    }
    if (problems.length > 0) assert.unreachable(`${problems.length} DRYRUN replies differ:\n  ${problems.slice(0, 40).join('\n  ')}`);
  })(), TEST_TIMEOUT_MS, 'categories'));

test('ACL CAT <category> lists the commands Redis lists (those both servers have)', () =>
  withTimeout((async () => {
    const tesseraOnly = new Set<string>();
    for (const e of commandMeta(COMMANDS).list) {
      if (!e.redis) tesseraOnly.add(e.fullname);
      for (const sub of e.subs) if (!sub.redis) tesseraOnly.add(sub.fullname);
    }
    const known = new Set(commandMeta(COMMANDS).byName.keys());
    const clients = await Promise.all([rawClient(pair.redis.port), rawClient(pair.tessera.port)]);
    const problems: string[] = [];
    try {
      for (const cat of ACL_CATEGORY_NAMES) {
        const [r, t] = await Promise.all(clients.map((c) => c.call(['ACL', 'CAT', cat])));
        const re = new Set(elems(r!.value) ?? []);
        const te = new Set((elems(t!.value) ?? []).filter((n) => !tesseraOnly.has(n)));
        // A command Tessera does not implement at all (MONITOR, MODULE...) cannot be listed.
        const missing = [...re].filter((n) => !te.has(n) && known.has(n));
        const extra = [...te].filter((n) => !re.has(n));
        if (missing.length > 0 || extra.length > 0) problems.push(`@${cat}: missing ${missing.join(' ')}; extra ${extra.join(' ')}`);
      }
    } finally {
      for (const c of clients) c.close();
    }
    if (problems.length > 0) assert.unreachable(problems.join('\n'));
  })(), TEST_TIMEOUT_MS, 'acl cat'));

test.run();
