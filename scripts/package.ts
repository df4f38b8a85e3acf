// Builds the standalone executables (Node single executable applications) for every platform krew
// installs on, one archive each (the executable and the licenses), and the krew manifest for them.
//   npm run package [-- --platform linux-amd64 ...] [--uri-base https://host/releases/v0.1.0]
//   tsx scripts/package.ts --fetch   (only the Node binaries, into the cache: npm run setup does this)
// Node binaries come from the npm registry's node-<os>-<arch> packages (cached outside the repo), the
// blob is made by the same Node version, and postject injects it. Output: dist-package/.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build, type BuildOptions } from 'esbuild';
import { krewManifest, type KrewArchive } from './krew.js';
import { PLATFORMS, SEA_NODE_VERSION, hostPlatform, seaNodeDir, type Platform } from './platforms.js';

const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const nodeVersion = SEA_NODE_VERSION;
const out = join(root, 'dist-package');

const { values } = parseArgs({ options: { platform: { type: 'string', multiple: true }, 'uri-base': { type: 'string' }, fetch: { type: 'boolean' } } });
const wanted = values.platform ?? PLATFORMS.map((p) => p.id);
for (const id of wanted) if (!PLATFORMS.some((p) => p.id === id)) throw new Error(`package: unknown platform ${id} (known: ${PLATFORMS.map((p) => p.id).join(', ')})`);
const host = hostPlatform();
const hostEntry = PLATFORMS.find((p) => p.id === host)!;

/** Node's binary for a platform, from its npm package, unpacked once into the cache. */
function nodeBinary(platform: Platform): { file: string; license: string | undefined } {
  const dir = seaNodeDir(platform);
  const file = join(dir, platform.nodeFile);
  if (existsSync(file)) return { file, license: existsSync(join(dir, 'LICENSE')) ? join(dir, 'LICENSE') : undefined };
  console.error(`package: fetching ${platform.npm}@${nodeVersion} from the npm registry`);
  const tmp = mkdtempSync(join(tmpdir(), 'insight-node-'));
  try {
    execFileSync('npm', ['pack', '--silent', `${platform.npm}@${nodeVersion}`], { cwd: tmp, stdio: ['ignore', 'ignore', 'inherit'] });
    const tgz = join(tmp, `${platform.npm}-${nodeVersion}.tgz`);
    execFileSync('tar', ['xzf', tgz, 'package/bin'], { cwd: tmp });
    rmSync(`${dir}.tmp`, { recursive: true, force: true });
    mkdirSync(`${dir}.tmp`, { recursive: true });
    renameSync(join(tmp, 'package', 'bin', platform.nodeFile), join(`${dir}.tmp`, platform.nodeFile));
    // Not every package carries Node's LICENSE (the Windows one does not).
    try {
      execFileSync('tar', ['xzf', tgz, 'package/LICENSE'], { cwd: tmp, stdio: 'ignore' });
      renameSync(join(tmp, 'package', 'LICENSE'), join(`${dir}.tmp`, 'LICENSE'));
    } catch {
      // none in this package
    }
    rmSync(dir, { recursive: true, force: true });
    renameSync(`${dir}.tmp`, dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return nodeBinary(platform);
}

/**
 * The executable's parts: its main script (src/sea.ts, the fast start) and the CLI (src/sea-main.ts)
 * as an asset, both CommonJS, with the rendered help inlined.
 */
async function seaScripts() {
  const dir = join(root, 'dist-sea');
  const common: BuildOptions = {
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: `node${nodeVersion.split('.')[0]}`,
    minify: true,
    define: {
      __INSIGHT_VERSION__: JSON.stringify(pkg.version),
      __INSIGHT_PJSON__: JSON.stringify({ name: pkg.name, version: pkg.version, description: pkg.description, oclif: pkg.oclif }),
      __INSIGHT_HELP__: JSON.stringify(readFileSync(join(root, 'dist/help.txt'), 'utf8')),
    },
    external: ['typescript', 'ts-node'],
    alias: { punycode: 'punycode/' },
    logLevel: 'warning',
  };
  await build({ ...common, entryPoints: [join(root, 'src/sea.ts')], outfile: join(dir, 'main.cjs') });
  // The CLI is one function expression, which src/sea.ts compiles and calls with the executable's require.
  await build({ ...common, entryPoints: [join(root, 'src/sea-main.ts')], outfile: join(dir, 'cli.cjs'), banner: { js: '(function (exports, require, module) {' }, footer: { js: '})' } });
  return { main: join(dir, 'main.cjs'), cli: join(dir, 'cli.cjs') };
}

/** V8's code cache of the CLI asset, made by the Node binary that will read it. */
function codeCache(node: string, scripts: { cli: string }, work: string): string {
  const file = join(work, 'cli.cache');
  const make = `const { Script } = require('node:vm'); const fs = require('node:fs');
    const script = new Script(fs.readFileSync(process.argv[1], 'utf8'), { filename: 'kubectl-insight.cjs', produceCachedData: true });
    fs.writeFileSync(process.argv[2], script.createCachedData());`;
  execFileSync(node, ['-e', make, scripts.cli, file]);
  return file;
}

/** The executable for one platform: Node's binary with the blob injected (and, on macOS, signed). */
async function executable(platform: Platform, scripts: { main: string; cli: string }, work: string): Promise<{ exe: string; nodeLicense: string | undefined }> {
  const macho = platform.os === 'darwin' ? await import('./macho.js') : undefined;
  const node = nodeBinary(platform);
  // The blob must come from the Node version it runs on; the code cache only from the same binary,
  // so it is made for this machine's platform only (V8 would reject another's).
  const maker = platform.id === host ? node.file : nodeBinary(hostEntry).file;
  const blob = join(work, `${platform.id}.blob`);
  const config = join(work, `${platform.id}.sea.json`);
  const assets = { 'cli.cjs': scripts.cli, ...(platform.id === host ? { 'cli.cache': codeCache(maker, scripts, work) } : {}) };
  writeFileSync(config, JSON.stringify({ main: scripts.main, output: blob, disableExperimentalSEAWarning: true, useCodeCache: platform.id === host, useSnapshot: false, assets }));
  execFileSync(maker, ['--experimental-sea-config', config], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exe = join(work, platform.id, platform.bin);
  mkdirSync(join(work, platform.id), { recursive: true });
  if (platform.os === 'darwin') writeFileSync(exe, macho!.removeSignature(readFileSync(node.file)));
  else copyFileSync(node.file, exe);
  chmodSync(exe, 0o755);
  // postject's LIEF prints harmless section-name warnings for Node's ELF notes: shown only on failure.
  const args = [join(root, 'node_modules/postject/dist/cli.js'), exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'];
  if (platform.os === 'darwin') args.push('--macho-segment-name', 'NODE_SEA');
  try {
    execFileSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`package: postject failed for ${platform.id}: ${String((e as { stderr?: unknown }).stderr ?? e)}`);
  }
  if (platform.os === 'darwin') {
    const signed = macho!.adhocSign(readFileSync(exe), 'kubectl-insight');
    const check = macho!.verifyAdhoc(signed);
    if (!check.ok) throw new Error(`package: the ${platform.id} signature does not verify: ${check.problems.join('; ')}`);
    writeFileSync(exe, signed);
  }
  return { exe, nodeLicense: node.license };
}

/** A tar.gz (sorted, owner 0, mtime 0; the host archive's V8 code cache differs from run to run) of the executable and the licenses, named for the krew platform. */
function archive(platform: Platform, built: { nodeLicense: string | undefined }, work: string): Omit<KrewArchive, 'uri'> & { file: string } {
  const dir = join(work, platform.id);
  copyFileSync(join(root, 'LICENSE'), join(dir, 'LICENSE'));
  const files = [platform.bin, 'LICENSE'];
  const nodeLicense = built.nodeLicense ?? nodeBinary(hostEntry).license;
  if (nodeLicense) {
    copyFileSync(nodeLicense, join(dir, 'LICENSE.node'));
    files.push('LICENSE.node');
  }
  const file = join(out, `kubectl-insight-v${pkg.version}-${platform.id}.tar.gz`);
  execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', dir, '-czf', file, ...files]);
  return { platform, file, sha256: createHash('sha256').update(readFileSync(file)).digest('hex'), files };
}

if (values.fetch) {
  for (const platform of PLATFORMS.filter((p) => wanted.includes(p.id))) nodeBinary(platform);
  process.exit(0);
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'insight-package-'));
try {
  const scripts = await seaScripts();
  const archives: (Omit<KrewArchive, 'uri'> & { file: string })[] = [];
  for (const platform of PLATFORMS.filter((p) => wanted.includes(p.id))) {
    const built = await executable(platform, scripts, work);
    archives.push(archive(platform, built, work));
    console.error(`package: ${platform.id} done`);
  }
  const base = values['uri-base'] ?? `https://example.invalid/kubectl-insight/releases/v${pkg.version}`;
  writeFileSync(join(out, 'insight.yaml'), krewManifest({ version: pkg.version, homepage: pkg.homepage ?? 'https://example.invalid/kubectl-insight', archives: archives.map((a) => ({ ...a, uri: `${base}/${a.file.split('/').pop()!}` })) }));
  for (const a of archives) console.log(a.file);
  console.log(join(out, 'insight.yaml'));
} finally {
  rmSync(work, { recursive: true, force: true });
}
