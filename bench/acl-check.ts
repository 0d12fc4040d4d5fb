// The ACL check alone (issue 18): Acl.check of SET and GET for one of 100 users with three key
// patterns each (the users of `npm run bench:acl`), in one process, no server: what the check
// itself costs per command, beside the end-to-end figures of bench:acl, which a 2-core host's
// noise (+-5% between runs) cannot resolve to a few percent. Run with `npm run bench:acl-check`
// (ROUNDS, CHECKS to change); prints ns per check, the median of the rounds.

import { Acl } from '../src/acl/acl.js';
import { aclCatalogue } from '../src/commands/acl-catalogue.js';
import { COMMANDS, commandIndex } from '../src/commands/registry.js';
import { argListOf } from '../src/commands/args.js';
import type { AclUser } from '../src/core/acl.js';
import type { ArgList } from '../src/core/types.js';

const ROUNDS = Number(process.env['ROUNDS'] ?? 5);
const CHECKS = Number(process.env['CHECKS'] ?? 5_000_000);

const acl = new Acl(aclCatalogue(COMMANDS));
let user: AclUser = acl.defaultUser;
for (let n = 0; n < 100; n++) user = acl.setUser(`u${n}`, ['on', '>pw', `~other:{${n}}:*`, `~x${n}:*`, '~key:*', '+@all', '&*']);

const keys = Array.from({ length: 1000 }, (_, i) => `key:${String((i * 7919) % 100_000).padStart(12, '0')}`);
const cases: Array<[string, number, ArgList[]]> = [
  ['SET key value', commandIndex('set'), keys.map((k) => argListOf(['SET', k, 'xxx']))],
  ['GET key', commandIndex('get'), keys.map((k) => argListOf(['GET', k]))],
];

for (const [name, idx, lists] of cases) {
  const ns: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let refused = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < CHECKS; i++) if (acl.check(user, idx, lists[i % lists.length]!) !== null) refused++;
    ns.push(Number(process.hrtime.bigint() - t0) / CHECKS);
    if (refused !== 0) throw new Error(`${name}: ${refused} checks refused; the users' patterns must allow every key`);
  }
  ns.sort((a, b) => a - b);
  console.log(`${name}: ${ns[Math.floor(ns.length / 2)]!.toFixed(1)} ns per check (median of ${ROUNDS} rounds of ${CHECKS}; all ${ns.map((x) => x.toFixed(1)).join(' ')})`);
}
