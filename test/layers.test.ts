// The layering rules as a test: every layer depends downward only, and no module imports itself
// back through others. Reads the sources' import statements (type imports included: a type cycle
// is a design cycle too), so a new upward import or circle fails here with its path.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SRC = join(ROOT, 'src');

/** Directories under src/ that each directory must not import (besides what the rules below say). */
const FORBIDDEN: Record<string, readonly string[]> = {
  core: ['*'],
  util: ['*', '!core'],
  protocol: ['*', '!core', '!util'],
  keyspace: ['*', '!core', '!util'],
  config: ['commands', 'server', 'cli', 'loadgen', 'runtime', 'cluster', 'persistence', 'replication', 'keyspace', 'observability'],
  observability: ['commands', 'server', 'cli', 'loadgen', 'runtime', 'cluster', 'persistence', 'replication'],
  runtime: ['commands', 'server', 'cli', 'loadgen', 'cluster', 'replication'],
  persistence: ['commands', 'server', 'cli', 'loadgen', 'cluster', 'replication'],
  replication: ['commands', 'server', 'cli', 'loadgen'],
  cluster: ['commands', 'server', 'cli', 'loadgen', 'runtime', 'persistence', 'replication'],
  commands: ['server', 'cli', 'loadgen'],
  server: ['cli', 'loadgen'],
  // The browser page: its own world, bundled apart (scripts/build-dashboard.mjs).
  dashboard: ['*'],
  acl: ['commands', 'server', 'cli', 'loadgen', 'runtime', 'cluster', 'persistence', 'replication', 'keyspace', 'observability'],
};

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Module -> the project modules it imports (or re-exports from). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const f of sources(SRC)) {
    const deps: string[] = [];
    for (const m of readFileSync(f, 'utf8').matchAll(/^(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/gm)) {
      const target = resolve(dirname(f), m[1]!.replace(/\.js$/, '.ts'));
      if (existsSync(target)) deps.push(target);
    }
    graph.set(f, deps);
  }
  return graph;
}

const layerOf = (file: string): string => relative(SRC, file).split('/')[0]!;

test('every layer imports only the layers below it', () => {
  const graph = importGraph();
  assert.ok(graph.size > 100, `read ${graph.size} modules`);
  const violations: string[] = [];
  for (const [file, deps] of graph) {
    const rules = FORBIDDEN[layerOf(file)];
    if (rules === undefined) continue;
    for (const dep of deps) {
      const to = layerOf(dep);
      // Same layer, or a module at the top of src/ (version.ts), which belongs to no layer.
      if (to === layerOf(file) || to.endsWith('.ts')) continue;
      const all = rules.includes('*');
      const forbidden = all ? !rules.includes(`!${to}`) : rules.includes(to);
      if (forbidden) violations.push(`${relative(ROOT, file)} imports ${relative(ROOT, dep)}`);
    }
  }
  assert.equal(violations, []);
});

test('no import circles', () => {
  const graph = importGraph();
  // Tarjan's strongly connected components: any component of two or more modules is a circle.
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        c.push(relative(ROOT, w));
      } while (w !== v);
      if (c.length > 1) circles.push(c);
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  assert.equal(circles, []);
});

test.run();
