// The aclfile: one `user <name> <rules...>` line per user (ACL SAVE writes ACL LIST's lines).
// Loading is all or nothing: any bad line leaves the users as they were. Saving writes a
// temporary file and renames it over the old one, so a crash never leaves half a file.

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { AclRuleError, type Acl } from './acl.js';
import { mergeSelectorArgs } from './user.js';

/** Parses an aclfile's text into [name, rules] pairs; throws AclRuleError with Redis's
 * "<file>:<line>: ..." texts. */
export function parseAclFile(text: string, file: string): Array<[string, string[]]> {
  const out: Array<[string, string[]]> = [];
  const seen = new Set<string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const words = line.split(' ').filter((w) => w.length > 0);
    if (words[0] !== 'user' || words.length < 2) throw new AclRuleError(`${file}:${i + 1}: line should start with user keyword`);
    const name = words[1]!;
    if (seen.has(name)) throw new AclRuleError(`${file}:${i + 1}: Duplicate user '${name}' found`);
    seen.add(name);
    const rules = mergeSelectorArgs(words.slice(2));
    if (!Array.isArray(rules)) throw new AclRuleError(`${file}:${i + 1}: Unmatched parenthesis in acl selector starting at '${rules.unmatched}'.`);
    out.push([name, rules]);
  }
  return out;
}

/** ACL LOAD: replaces every user with the file's; throws AclRuleError (nothing changed). */
export function loadAclFile(acl: Acl, file: string): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new AclRuleError(`Error loading ACLs, opening file '${file}': ${(e as Error).message}`);
  }
  const defs = parseAclFile(text, file);
  try {
    acl.replaceAll(defs);
  } catch (e) {
    if (e instanceof AclRuleError) throw new AclRuleError(`${file}: ${e.message}`);
    throw e;
  }
}

/** The aclfile's path ('' when none): relative to dir unless absolute. */
export function aclfilePath(dir: string, aclfile: string): string {
  if (aclfile === '' || isAbsolute(aclfile)) return aclfile;
  return join(dir, aclfile);
}

/** ACL SAVE: every user as ACL LIST shows it. */
export function saveAclFile(acl: Acl, file: string): void {
  let text = '';
  for (const u of acl.sortedUsers()) text += `user ${u.name} ${u.describe()}\n`;
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}
