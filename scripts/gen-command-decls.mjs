#!/usr/bin/env node
// Generates src/commands/decls/*.ts, the declarations of Redis 7.0's commands (flags, ACL
// categories, key specs, tips, docs), from a running redis-server's COMMAND INFO and COMMAND DOCS
// in RESP3. Usage: node scripts/gen-command-decls.mjs [--check] [port] (no port: starts
// redis-server from PATH on a free port; --check: writes nothing, exits 1 when a file differs). Commands and subcommands are written sorted by name, so the output is
// stable (Redis's own order is its dict's, random per process). See docs/command-table.md.

import { spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const OUT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'commands', 'decls');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Parses one RESP3 value at buf[pos]; returns [value, next] or null when incomplete. Values:
 * { t: 'map' | 'set' | 'array' | 'bulk' | 'simple' | 'int' | 'null' | 'error', v }. */
function parse(buf, pos) {
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return null;
  const type = String.fromCharCode(buf[pos]);
  const line = buf.toString('latin1', pos + 1, eol);
  let next = eol + 2;
  switch (type) {
    case '+': return [{ t: 'simple', v: line }, next];
    case '-': return [{ t: 'error', v: line }, next];
    case ':': return [{ t: 'int', v: Number(line) }, next];
    case '_': return [{ t: 'null', v: null }, next];
    case '$': {
      const n = Number(line);
      if (n < 0) return [{ t: 'null', v: null }, next];
      if (buf.length < next + n + 2) return null;
      return [{ t: 'bulk', v: buf.toString('utf8', next, next + n) }, next + n + 2];
    }
    case '*': case '~': case '%': {
      const n = Number(line) * (type === '%' ? 2 : 1);
      const items = [];
      for (let i = 0; i < n; i++) {
        const r = parse(buf, next);
        if (!r) return null;
        items.push(r[0]);
        next = r[1];
      }
      if (type !== '%') return [{ t: type === '*' ? 'array' : 'set', v: items }, next];
      const m = new Map();
      for (let i = 0; i < items.length; i += 2) m.set(items[i].v, items[i + 1]);
      return [{ t: 'map', v: m }, next];
    }
    default:
      throw new Error(`unexpected RESP type ${type}`);
  }
}

function query(port, commands) {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const replies = [];
    sock.on('error', reject);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const r = parse(buf, 0);
        if (!r) break;
        replies.push(r[0]);
        buf = buf.subarray(r[1]);
      }
      if (replies.length === commands.length) {
        sock.end();
        resolve(replies);
      }
    });
    for (const args of commands) {
      sock.write(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join(''));
    }
  });
}

const strs = (x) => x.v.map((e) => e.v);

function keySpec(m) {
  const spec = m.v;
  const ks = {};
  if (spec.has('notes')) ks.notes = spec.get('notes').v;
  ks.flags = strs(spec.get('flags'));
  const bs = spec.get('begin_search').v;
  const bsSpec = bs.get('spec').v;
  switch (bs.get('type').v) {
    case 'index': ks.begin = bsSpec.get('index').v; break;
    case 'keyword': ks.begin = [bsSpec.get('keyword').v, bsSpec.get('startfrom').v]; break;
    default: ks.begin = null;
  }
  const fk = spec.get('find_keys').v;
  const fkSpec = fk.get('spec').v;
  switch (fk.get('type').v) {
    case 'range': ks.find = { range: [fkSpec.get('lastkey').v, fkSpec.get('keystep').v, fkSpec.get('limit').v] }; break;
    case 'keynum': ks.find = { keynum: [fkSpec.get('keynumidx').v, fkSpec.get('firstkey').v, fkSpec.get('keystep').v] }; break;
    default: ks.find = null;
  }
  return ks;
}

function arg(m) {
  const a = m.v;
  const out = { name: a.get('name').v, type: a.get('type').v };
  const known = new Set(['name', 'type', 'key_spec_index', 'token', 'summary', 'since', 'deprecated_since', 'flags', 'arguments']);
  for (const k of a.keys()) if (!known.has(k)) throw new Error(`unknown argument field ${k}`);
  if (a.has('key_spec_index')) out.keySpecIndex = a.get('key_spec_index').v;
  if (a.has('token')) out.token = a.get('token').v;
  if (a.has('summary')) out.summary = a.get('summary').v;
  if (a.has('since')) out.since = a.get('since').v;
  if (a.has('deprecated_since')) out.deprecatedSince = a.get('deprecated_since').v;
  if (a.has('flags')) out.flags = strs(a.get('flags'));
  if (a.has('arguments')) out.args = a.get('arguments').v.map(arg);
  return out;
}

/** One command's declaration from its COMMAND INFO entry and its COMMAND DOCS map. */
function decl(info, docs) {
  const [fullname, arity, flags, first, last, step, acl, tips, specs, subs] = info.v;
  const name = fullname.v.split('|').pop();
  const d = { name, arity: arity.v, flags: strs(flags), range: [first.v, last.v, step.v], acl: strs(acl) };
  if (tips.v.length) d.tips = strs(tips);
  if (specs.v.length) d.keySpecs = specs.v.map(keySpec);
  const doc = docs.v;
  const known = new Set(['summary', 'since', 'group', 'complexity', 'doc_flags', 'deprecated_since', 'replaced_by', 'history', 'arguments', 'subcommands']);
  for (const k of doc.keys()) if (!known.has(k)) throw new Error(`unknown docs field ${k} of ${fullname.v}`);
  if (subs.v.length) {
    const subDocs = doc.get('subcommands').v;
    d.subcommands = subs.v
      .map((s) => decl(s, subDocs.get(s.v[0].v)))
      .sort((x, y) => (x.name < y.name ? -1 : 1));
  }
  d.summary = doc.get('summary').v;
  d.since = doc.get('since').v;
  d.group = doc.get('group').v;
  if (doc.has('complexity')) d.complexity = doc.get('complexity').v;
  if (doc.has('doc_flags')) d.docFlags = strs(doc.get('doc_flags'));
  if (doc.has('deprecated_since')) d.deprecatedSince = doc.get('deprecated_since').v;
  if (doc.has('replaced_by')) d.replacedBy = doc.get('replaced_by').v;
  if (doc.has('history')) d.history = doc.get('history').v.map((h) => [h.v[0].v, h.v[1].v]);
  if (doc.has('arguments')) d.args = doc.get('arguments').v.map(arg);
  return d;
}

/** A declaration as TypeScript: one field a line at the top level, nested values as JSON. */
function print(d, indent) {
  const pad = ' '.repeat(indent);
  const lines = [];
  for (const [k, v] of Object.entries(d)) {
    if (k === 'subcommands') {
      lines.push(`${pad}  subcommands: [\n${v.map((s) => print(s, indent + 4)).join(',\n')},\n${pad}  ]`);
    } else {
      lines.push(`${pad}  ${k}: ${JSON.stringify(v)}`);
    }
  }
  return `${pad}{\n${lines.join(',\n')},\n${pad}}`;
}

function constName(group) {
  return group.toUpperCase().replace(/-/g, '_') + '_DECLS';
}

const CHECK = process.argv.includes('--check');
const stale = [];

/** Writes a generated file, or with --check notes it when its content differs. */
function emit(path, text) {
  if (!CHECK) writeFileSync(path, text);
  else if (!existsSync(path) || readFileSync(path, 'utf8') !== text) stale.push(path);
}

async function main() {
  let port = Number(process.argv.slice(2).find((a) => a !== '--check'));
  let child = null;
  if (!port) {
    port = await freePort();
    child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    for (let i = 0; ; i++) {
      try {
        await query(port, [['PING']]);
        break;
      } catch (e) {
        if (i > 100) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
  try {
    const [hello, infos, docs] = await query(port, [['HELLO', '3'], ['COMMAND', 'INFO'], ['COMMAND', 'DOCS']]);
    const version = hello.v.get('version').v;
    const byGroup = new Map();
    for (const info of infos.v) {
      const name = info.v[0].v;
      const d = decl(info, docs.v.get(name));
      if (!byGroup.has(d.group)) byGroup.set(d.group, []);
      byGroup.get(d.group).push(d);
    }
    if (!CHECK) mkdirSync(OUT_DIR, { recursive: true });
    const groups = [...byGroup.keys()].sort();
    for (const g of groups) {
      const list = byGroup.get(g).sort((x, y) => (x.name < y.name ? -1 : 1));
      const body = list.map((d) => print(d, 2)).join(',\n');
      emit(
        join(OUT_DIR, `${g}.ts`),
        `// Generated by scripts/gen-command-decls.mjs from redis-server ${version}: do not edit.\n` +
          `// The declarations of Redis's '${g}' commands (see ../command-decl.ts).\n\n` +
          `import type { CommandDecl } from '../command-decl.js';\n\n` +
          `export const ${constName(g)}: readonly CommandDecl[] = [\n${body},\n];\n`,
      );
    }
    const imports = groups.map((g) => `import { ${constName(g)} } from './${g}.js';`).join('\n');
    emit(
      join(OUT_DIR, 'index.ts'),
      `// Generated by scripts/gen-command-decls.mjs from redis-server ${version}: do not edit.\n` +
        `// Every Redis command's declaration by lower-case name (subcommands inside their parent's).\n\n` +
        `import type { CommandDecl } from '../command-decl.js';\n${imports}\n\n` +
        `export const REDIS_VERSION_DECLARED = ${JSON.stringify(version)};\n\n` +
        `export const REDIS_DECLS: ReadonlyMap<string, CommandDecl> = new Map(\n` +
        `  [${groups.map((g) => `...${constName(g)}`).join(', ')}].map((d) => [d.name, d]),\n);\n`,
    );
    if (CHECK && stale.length > 0) {
      console.error(`stale (run node scripts/gen-command-decls.mjs against redis-server ${version}): ${stale.join(' ')}`);
      process.exitCode = 1;
    } else {
      console.log(`${CHECK ? 'checked' : 'wrote'} ${groups.length} groups, ${infos.v.length} commands, from redis-server ${version}`);
    }
  } finally {
    if (child) child.kill();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
