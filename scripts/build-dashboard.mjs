// Builds the dashboard page (src/dashboard) into dist/dashboard: type-checks it with its own
// tsconfig (DOM types), bundles it and uPlot with esbuild into one script and one stylesheet whose
// names carry a content hash, and writes index.html naming them. Runs at `npm install` (prepare)
// and `npm run build`; the server serves the folder as it is, nothing is fetched at run time.

import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src', 'dashboard');
const OUT = join(ROOT, 'dist', 'dashboard');
const require = createRequire(import.meta.url);

// Type errors fail the build, as tsc does for the server.
try {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(SRC, 'tsconfig.json')], { stdio: 'inherit' });
} catch {
  console.error('dashboard: type errors (above); not built');
  process.exit(1);
}

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const result = await build({
  entryPoints: { app: join(SRC, 'main.ts') },
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  format: 'esm',
  target: ['chrome110', 'firefox115', 'safari16'],
  entryNames: '[name]-[hash]',
  outdir: OUT,
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((p) => p.split('/').at(-1));
const js = outputs.find((f) => /^app-[A-Z0-9]+\.js$/.test(f));
const css = outputs.find((f) => /^app-[A-Z0-9]+\.css$/.test(f));
if (js === undefined || css === undefined) throw new Error(`dashboard build: no app script or stylesheet in ${outputs.join(', ')}`);
const html = readFileSync(join(SRC, 'index.html'), 'utf8').replace('%APP_JS%', js).replace('%APP_CSS%', css);
writeFileSync(join(OUT, 'index.html'), html);
// The icon (a page without one makes the browser ask for /favicon.ico and log a 404).
copyFileSync(join(SRC, 'favicon.svg'), join(OUT, 'favicon.svg'));
console.log(`dashboard: ${readdirSync(OUT).join(', ')} in dist/dashboard`);
