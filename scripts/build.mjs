// Bundles the CLI with esbuild. Why bundle: importing @kubernetes/client-node unbundled costs ~0.4 s
// and ~120 MB; oclif alone ~0.1 s. Code splitting keeps the heavy modules (client-node, listr2) in
// chunks that load only when a command needs them, so `--help` and `version` start fast.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: { cli: 'src/cli.ts', commands: 'src/commands.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  sourcemap: 'linked',
  minify: true,
  keepNames: false,
  chunkNames: 'chunks/[name]-[hash]',
  define: { __INSIGHT_VERSION__: JSON.stringify(pkg.version) },
  // CommonJS dependencies call require() at run time; give the ESM bundle a real one.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  // oclif only loads TypeScript to run commands from .ts sources in development; never in a build.
  external: ['typescript', 'ts-node'],
  logLevel: 'warning',
  metafile: false,
});
