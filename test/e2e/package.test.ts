// What users install: the standalone executable of this machine's platform (run with no node on PATH),
// the krew manifest (checked by krew's own index validator, every platform installed over a loopback
// server), the plugin installed by the real krew, and the npm tarball installed into an empty prefix.
// Needs `npm run package` first (test:all runs it).
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cluster } from './support/index.js';
import { repoRoot } from './support/cli.js';
import { verifyAdhoc } from '../../scripts/macho.js';
import { PLATFORMS, hostPlatform } from '../../scripts/platforms.js';

const out = join(repoRoot, 'dist-package');
const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version as string;
const host = PLATFORMS.find((p) => p.id === hostPlatform())!;
const archiveOf = (id: string) => join(out, `kubectl-insight-v${version}-${id}.tar.gz`);
const work = mkdtempSync(join(tmpdir(), 'insight-package-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A bin dir with only the named tools of the test bed, so `node` is not on PATH. */
function toolsOnly(name: string, tools: string[]): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  for (const t of tools) symlinkSync(execFileSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8' }).trim(), join(dir, t));
  return dir;
}

async function run(cmd: string, args: string[], env: Record<string, string>) {
  const r = await execa(cmd, args, { env: { HOME: work, NO_COLOR: '1', ...env }, extendEnv: false, reject: false, timeout: 240_000 });
  return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? 1 };
}

beforeAll(() => {
  for (const p of PLATFORMS) if (!existsSync(archiveOf(p.id))) throw new Error(`no ${archiveOf(p.id)}: run \`npm run package\` first`);
});

describe('standalone executable', () => {
  const dir = join(work, 'standalone');
  beforeAll(() => {
    mkdirSync(dir);
    execFileSync('tar', ['xzf', archiveOf(host.id), '-C', dir]);
  });

  it('holds the executable and the licenses only', () => {
    expect(readdirSync(dir).sort()).toEqual([host.bin, 'LICENSE', 'LICENSE.node'].sort());
    expect(readFileSync(join(dir, 'LICENSE'), 'utf8')).toContain('Apache License');
  });

  it('runs --help, version and doctor with no node on PATH', async () => {
    const bin = toolsOnly('no-node', ['helm', 'kubectl']);
    const env = { PATH: bin, KUBECONFIG: cluster().kubeconfig };
    expect((await run('/bin/sh', ['-c', 'command -v node || echo none'], { PATH: bin })).stdout.trim()).toBe('none');
    const help = await run(join(dir, host.bin), ['--help'], env);
    expect(help.exitCode).toBe(0);
    for (const c of ['install', 'uninstall', 'doctor', 'completion']) expect(help.stdout).toContain(c);
    const v = await run(join(dir, host.bin), ['version', '-o', 'json'], env);
    expect(JSON.parse(v.stdout)).toMatchObject({ version });
    // The fast start and the full CLI say the same.
    expect((await run(join(dir, host.bin), ['version'], env)).stdout).toBe((await run(join(dir, host.bin), ['version'], { ...env, INSIGHT_NO_FAST_START: '1' })).stdout);
    expect(help.stdout).toBe((await run(join(dir, host.bin), ['--help'], { ...env, INSIGHT_NO_FAST_START: '1' })).stdout);
    // doctor reaches the cluster and reports on it (no release there: a failed check, not a crash).
    const d = await run(join(dir, host.bin), ['doctor', '-n', 'pkg-none', '-o', 'json'], env);
    expect(d.stderr).not.toMatch(/internal error|at .*\.cjs/);
    expect([0, 1]).toContain(d.exitCode);
    const doc = JSON.parse(d.stdout) as { command: string; namespace: string; findings: unknown[] };
    expect(doc).toMatchObject({ command: 'doctor', namespace: 'pkg-none' });
    expect(doc.findings.length).toBeGreaterThan(0);
    // Bad input: one line, the documented usage code.
    const bad = await run(join(dir, host.bin), ['doctor', '--output', 'yamlish'], env);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.trim().split('\n').filter((l) => l.startsWith('Error')).length).toBe(1);
  });

  it('named kubectl_complete-insight, it answers kubectl\'s plugin completion', async () => {
    const link = join(work, 'complete-link');
    mkdirSync(link);
    symlinkSync(join(dir, host.bin), join(link, host.os === 'windows' ? 'kubectl_complete-insight.exe' : 'kubectl_complete-insight'));
    const r = await run(join(link, 'kubectl_complete-insight'), ['doc'], { PATH: toolsOnly('complete-tools', ['kubectl']) });
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => l.split('\t')[0])).toContain('doctor');
    expect(lines.at(-1)).toMatch(/^:\d+$/);
  });

  it('darwin executables carry an ad-hoc signature that matches every page', () => {
    for (const p of PLATFORMS.filter((x) => x.os === 'darwin')) {
      const d = join(work, `sig-${p.id}`);
      mkdirSync(d);
      execFileSync('tar', ['xzf', archiveOf(p.id), '-C', d]);
      const v = verifyAdhoc(readFileSync(join(d, p.bin)));
      expect(v, p.id).toMatchObject({ ok: true, identifier: 'kubectl-insight', problems: [] });
    }
  });
});

describe('krew', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    // The archives over loopback HTTP, as a release page would serve them.
    server = createServer((req, res) => {
      const file = join(out, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, ''));
      if (!file.startsWith(out) || !existsSync(file)) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      createReadStream(file).pipe(res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => server?.close());

  /** The rendered manifest with its archive URIs on the loopback server (the sha256 values unchanged). */
  function manifestHere(): string {
    const dir = join(work, 'manifest');
    mkdirSync(dir, { recursive: true });
    const text = readFileSync(join(out, 'insight.yaml'), 'utf8').replace(/uri: \S+\/(kubectl-insight-v[^/\s]+\.tar\.gz)/g, `uri: ${base}/$1`);
    writeFileSync(join(dir, 'insight.yaml'), text);
    return join(dir, 'insight.yaml');
  }

  it("passes krew-index's validator: structure, every platform installs, a LICENSE comes with it", async () => {
    const manifest = manifestHere();
    expect(readFileSync(manifest, 'utf8').match(/^\s+- selector:/gm)).toHaveLength(PLATFORMS.length);
    // The validator runs `kubectl krew install` for each platform (KREW_OS/KREW_ARCH set).
    const bin = toolsOnly('krew-validate', ['kubectl', 'validate-krew-manifest']);
    symlinkSync(execFileSync('sh', ['-c', 'command -v krew'], { encoding: 'utf8' }).trim(), join(bin, 'kubectl-krew'));
    const r = await run('validate-krew-manifest', ['-manifest', manifest], { PATH: bin });
    expect(r.stderr + r.stdout).toContain(`all ${PLATFORMS.length} spec.platforms installed fine`);
    expect(r.exitCode).toBe(0);
  });

  it('a manifest with a wrong sha256 is refused by krew', async () => {
    const manifest = manifestHere();
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace(/sha256: ([0-9a-f])/, (_, c: string) => `sha256: ${c === '0' ? '1' : '0'}`));
    const root = join(work, 'krew-bad');
    const bin = toolsOnly('krew-bad-bin', ['kubectl']);
    symlinkSync(execFileSync('sh', ['-c', 'command -v krew'], { encoding: 'utf8' }).trim(), join(bin, 'kubectl-krew'));
    const first = PLATFORMS[0]!;
    const r = await run('kubectl', ['krew', 'install', `--manifest=${manifest}`], { PATH: bin, KREW_ROOT: root, KREW_OS: first.os, KREW_ARCH: first.arch });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/checksum|sha256/i);
  });

  it('installed by krew, kubectl runs it as `kubectl insight` and lists it', async () => {
    const root = join(work, 'krew-root');
    const bin = toolsOnly('krew-bin', ['kubectl', 'helm']);
    symlinkSync(execFileSync('sh', ['-c', 'command -v krew'], { encoding: 'utf8' }).trim(), join(bin, 'kubectl-krew'));
    const env = { PATH: `${join(root, 'bin')}${delimiter}${bin}`, KREW_ROOT: root, KUBECONFIG: cluster().kubeconfig };
    const inst = await run('kubectl', ['krew', 'install', `--manifest=${manifestHere()}`, `--archive=${archiveOf(host.id)}`], env);
    expect(inst.exitCode, inst.stderr).toBe(0);
    const v = await run('kubectl', ['insight', 'version'], env);
    expect(v.stdout).toMatch(new RegExp(`^kubectl-insight ${version.replaceAll('.', '\\.')} `));
    expect((await run('kubectl', ['plugin', 'list'], env)).stdout).toContain(join(root, 'bin', 'kubectl-insight'));
    // krew's record of the install (`krew list` would want a plugin index, which this test has none of).
    expect(readFileSync(join(root, 'receipts', 'insight.yaml'), 'utf8')).toContain('name: insight');
  });
});

describe('npm pack', () => {
  it('the packed tarball installs into an empty prefix with nothing else and runs as a kubectl plugin', async () => {
    const packDir = join(work, 'pack');
    const prefix = join(work, 'prefix');
    mkdirSync(packDir);
    const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', packDir], { cwd: repoRoot, encoding: 'utf8' }).trim().split('\n').pop()!;
    // --offline: every dependency is bundled, so the install needs nothing from a registry.
    execFileSync('npm', ['install', '-g', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, join(packDir, name)], { stdio: 'pipe' });
    const installed = join(prefix, 'lib', 'node_modules', 'kubectl-insight');
    expect(existsSync(join(installed, 'node_modules'))).toBe(false);
    const nodeDir = toolsOnly('npm-node', ['node', 'kubectl']);
    const env = { PATH: `${join(prefix, 'bin')}${delimiter}${nodeDir}`, KUBECONFIG: cluster().kubeconfig };
    const help = await run('kubectl', ['insight', '--help'], env);
    expect(help.exitCode, help.stderr).toBe(0);
    expect(help.stdout).toContain('uninstall');
    // A command past the fast start loads the whole bundle from the installed files.
    const docHelp = await run('kubectl', ['insight', 'doctor', '--help'], env);
    expect(docHelp.exitCode, docHelp.stderr).toBe(0);
    expect(docHelp.stdout).toContain('--output');
    expect((await run('kubectl', ['insight', 'version'], env)).stdout).toContain(`kubectl-insight ${version}`);
  });
});
