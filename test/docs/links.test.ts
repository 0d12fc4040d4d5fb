// Every relative link in README.md and docs/**/*.md points at a file that exists in the repository
// and, when it names an anchor (`file.md#section`, `#section`), at a heading of that file, using
// GitHub's rule for heading ids. Links inside code (fenced blocks, `spans`) are not links; links
// with a scheme (https:, mailto:) are not checked (no network in tests).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

interface Link {
  line: number;
  target: string;
}

function markdownFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...markdownFiles(p));
    else if (p.endsWith('.md')) out.push(p);
  }
  return out;
}

/** The file's lines with fenced code blocks blanked (so nothing in them counts as a link or heading). */
function proseLines(text: string): string[] {
  const lines = text.split('\n');
  let fence: string | null = null;
  return lines.map((line) => {
    const m = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (fence !== null) {
      if (m !== null && m[1]![0] === fence[0] && m[1]!.length >= fence.length && line.trim() === m[1]) fence = null;
      return '';
    }
    if (m !== null) {
      fence = m[1]!;
      return '';
    }
    return line;
  });
}

/** Inline code spans removed: `[a](b)` inside backticks is text, not a link. */
function withoutCodeSpans(line: string): string {
  return line.replace(/(`+)[^`]*?\1/g, '');
}

function linksOf(text: string): Link[] {
  const out: Link[] = [];
  proseLines(text).forEach((raw, i) => {
    const line = withoutCodeSpans(raw);
    // [text](target) and ![alt](target); the target may be <...> or end at a space before a title.
    for (const m of line.matchAll(/!?\[(?:[^\]\\]|\\.)*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+"[^"]*")?\s*\)/g)) {
      out.push({ line: i + 1, target: m[1]!.replace(/^<|>$/g, '') });
    }
    // Reference definitions: [id]: target
    const def = /^\s{0,3}\[[^\]]+\]:\s+(\S+)/.exec(line);
    if (def !== null) out.push({ line: i + 1, target: def[1]! });
    // HTML src/href attributes (an <img> for the screenshot, say).
    for (const m of line.matchAll(/\b(?:href|src)="([^"]+)"/g)) out.push({ line: i + 1, target: m[1]! });
  });
  return out;
}

/** GitHub's heading id: the rendered text, lower-cased, punctuation dropped, spaces as '-'. */
function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text
    .replace(/<[^>]+>/g, '') // inline HTML tags
    .replace(/`/g, '')
    .replace(/\*+/g, '');
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a file defines: heading ids (with GitHub's -1, -2 for repeats) and <a id|name>. */
function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const add = (base: string): void => {
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  };
  const lines = proseLines(text);
  lines.forEach((line, i) => {
    const atx = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (atx !== null) add(slug(atx[1]!));
    else {
      const prev = lines[i - 1];
      // A setext heading: a paragraph line underlined with === or --- (tables' rules contain '|').
      if (prev !== undefined && prev.trim() !== '' && !prev.includes('|') && /^\s{0,3}(=+|-+)\s*$/.test(line)) add(slug(prev));
    }
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1]!);
  });
  return anchors;
}

function brokenLinks(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const broken: string[] = [];
  const where = (l: Link): string => `${relative(ROOT, file)}:${l.line}: ${l.target}`;
  for (const l of linksOf(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(l.target) || l.target.startsWith('//')) continue; // https:, mailto:
    const hash = l.target.indexOf('#');
    const pathPart = decodeURIComponent(hash < 0 ? l.target : l.target.slice(0, hash));
    const anchor = hash < 0 ? null : decodeURIComponent(l.target.slice(hash + 1));
    const path = pathPart === '' ? file : resolve(dirname(file), pathPart.split('?')[0]!);
    if (!path.startsWith(ROOT)) {
      broken.push(`${where(l)} (outside the repository)`);
      continue;
    }
    if (!existsSync(path)) {
      broken.push(`${where(l)} (no such file: ${relative(ROOT, path)})`);
      continue;
    }
    if (anchor === null || anchor === '') continue;
    if (!path.endsWith('.md')) {
      broken.push(`${where(l)} (an anchor into a file that is not Markdown)`);
      continue;
    }
    if (!anchorsOf(readFileSync(path, 'utf8')).has(anchor)) broken.push(`${where(l)} (no heading with id '${anchor}' in ${relative(ROOT, path)})`);
  }
  return broken;
}

test('slug follows GitHub: code, punctuation and repeats', () => {
  assert.is(slug('`tessera server`'), 'tessera-server');
  assert.is(slug('Undeclared keys (`script-undeclared-keys allow | slot | deny`, default allow, CONFIG SET-able)'), 'undeclared-keys-script-undeclared-keys-allow--slot--deny-default-allow-config-set-able');
  assert.is(slug('Transactions, scripts and pub/sub'), 'transactions-scripts-and-pubsub');
  assert.is(slug('What `-ERR max number of clients reached` means'), 'what--err-max-number-of-clients-reached-means');
  const a = anchorsOf('# A\n\n## Notes\n\n```\n# not a heading\n```\n\n## Notes\n\nSetext\n---\n');
  assert.equal([...a].sort(), ['a', 'notes', 'notes-1', 'setext']);
});

test('links: code is not a link; schemes are skipped; angle targets and titles parse', () => {
  const links = linksOf('see [a](x.md#y) and `[b](nope.md)`\n```\n[c](nope.md)\n```\n![i](img.png "t") [d](<sp ace.md>) [e]: ref.md\n');
  assert.equal(
    links.map((l) => l.target),
    ['x.md#y', 'img.png', 'sp ace.md'],
  );
  assert.equal(linksOf('[e]: ref.md').map((l) => l.target), ['ref.md']);
});

test('every relative link in README.md and docs/ points at an existing file and heading', () => {
  const files = [join(ROOT, 'README.md'), ...markdownFiles(join(ROOT, 'docs'))];
  assert.ok(files.length > 1, 'README.md and docs/*.md found');
  const broken = files.flatMap(brokenLinks);
  assert.ok(broken.length === 0, `${broken.length} broken link(s):\n${broken.join('\n')}`);
});

test.run();
