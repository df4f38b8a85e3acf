// Bundles the CLI with esbuild. Why bundle: importing @kubernetes/client-node unbundled costs ~0.4 s
// and ~120 MB; oclif alone ~0.1 s. Code splitting keeps the heavy modules (client-node, listr2) in
// chunks that load only when a command needs them, so `--help` and `version` start fast.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: { cli: 'src/cli.ts', commands: 'src/commands.ts', 'fast-start': 'src/fast-start.ts' },
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
  // client-node's node-fetch (whatwg-url, tr46) requires Node's deprecated `punycode` builtin, which
  // prints a DeprecationWarning on Node >= 21 for every command: bundle the userland package instead.
  alias: { punycode: 'punycode/' },
  logLevel: 'warning',
  metafile: false,
});

// oclif's manifest: with it, oclif reads command metadata (flags, help text) from one JSON file
// instead of importing and introspecting every command on each start. Written from oclif's own
// Config, so it can never drift from the commands; version-stamped, oclif ignores a stale one.
const { Config } = await import('@oclif/core');
const root = new URL('..', import.meta.url).pathname;
rmSync(new URL('../oclif.manifest.json', import.meta.url), { force: true });
const config = await Config.load({ root });
const manifest = config.getPluginsList().find((p) => p.isRoot)?.manifest;
if (!manifest || Object.keys(manifest.commands).length === 0) throw new Error('build: oclif found no commands');
writeFileSync(new URL('../oclif.manifest.json', import.meta.url), JSON.stringify(manifest));

// The top-level help as oclif renders it into a pipe (80 columns), for src/fast-start.ts; the user
// agent line names the running Node, so it is marked here and filled in at run time.
const { USER_AGENT_MARK } = await import('../dist/fast-start.js');
const env = { ...process.env, INSIGHT_NO_FAST_START: '1' };
delete env.OCLIF_COLUMNS;
const help = execFileSync(process.execPath, [new URL('../bin/kubectl-insight.js', import.meta.url).pathname, '--help'], { env, encoding: 'utf8' });
const agent = `${pkg.name}/${pkg.version} ${process.platform}-${process.arch} node-${process.version}`;
if (!help.includes(agent)) throw new Error(`build: the rendered help has no user agent line (${agent})`);
writeFileSync(new URL('../dist/help.txt', import.meta.url), help.replace(agent, USER_AGENT_MARK));
