import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHELLS } from '../../../src/completion/scripts.js';

// The built CLI (dist/, from `npm run build`) as the shells and kubectl run it.
const bin = fileURLToPath(new URL('../../../bin/kubectl-insight.js', import.meta.url));
const completeBin = fileURLToPath(new URL('../../../bin/kubectl_complete-insight.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'completion-cli-'));
const run = (file: string, args: string[], env: NodeJS.ProcessEnv = {}) => {
  const r = spawnSync(process.execPath, [file, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', HOME: dir, KUBECONFIG: '', NODE_ENV: undefined, ...env }, input: '', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

let blackHole: Server;
const sockets: Socket[] = [];
let holeKubeconfig = '';
beforeAll(async () => {
  if (!existsSync(fileURLToPath(new URL('../../../dist/cli.js', import.meta.url)))) execFileSync('npm', ['run', 'build'], { stdio: 'ignore' });
  blackHole = createServer((s) => sockets.push(s));
  blackHole.listen(0, '127.0.0.1');
  await once(blackHole, 'listening');
  holeKubeconfig = join(dir, 'hole.yaml');
  const port = (blackHole.address() as AddressInfo).port;
  writeFileSync(holeKubeconfig, `apiVersion: v1\nkind: Config\ncurrent-context: hole\nclusters:\n- name: hole\n  cluster:\n    server: http://127.0.0.1:${port}\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: hole\n  context:\n    cluster: hole\n    user: u\n`);
});
afterAll(() => {
  for (const s of sockets) s.destroy();
  blackHole.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('kubectl-insight __complete', () => {
  it('prints Cobra\'s protocol on stdout, nothing on stderr, exit 0', () => {
    const r = run(bin, ['__complete', '--', 'doc']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^doctor\tFind why metrics are not arriving[^\n]*\n:4\n$/);
  });

  it('completes a line that holds --help (oclif would print the help instead)', () => {
    const r = run(bin, ['__complete', '--', 'doctor', '--help', '--out']);
    expect(r.stdout).toBe('--output\tOutput format.\n:4\n');
  });

  it('kubectl_complete-insight takes the words as kubectl passes them (the last one empty after a space)', () => {
    const r = run(completeBin, ['doctor', '--fail-on', '']);
    expect(r).toMatchObject({ code: 0, stderr: '', stdout: 'fatal\nwarning\n:4\n' });
    expect(run(completeBin, ['']).stdout).toContain('completion\tPrint the shell completion script');
    expect(run(completeBin, ['']).stdout).not.toContain('__complete');
  });

  it('offers no namespaces and says nothing when the cluster never answers, and ends soon after its deadline', () => {
    const t0 = Date.now();
    const r = run(bin, ['__complete', '--', 'doctor', '-n', ''], { KUBECONFIG: holeKubeconfig });
    expect(r).toEqual({ code: 0, stderr: '', stdout: ':4\n' });
    expect(Date.now() - t0).toBeLessThan(15_000);
    const none = run(bin, ['__complete', '--', 'doctor', '--kubeconfig', join(dir, 'missing'), '-n', '']);
    expect(none).toEqual({ code: 0, stderr: '', stdout: ':4\n' });
  });

  it('never reads stdin nor prints the AccessKey secret', async () => {
    const secret = 'SeCrEt-0123456789-abcdef';
    const child = spawn(process.execPath, [bin, '__complete', '--', 'install', '--access-key-secret-stdin', '--access-key-secret', ''], {
      env: { ...process.env, HOME: dir, KUBECONFIG: '', NODE_ENV: undefined, ALIBABA_CLOUD_ACCESS_KEY_SECRET: secret },
    });
    // stdin stays open with the secret on it: a command that waited for it would never end.
    child.stdin.write(`${secret}\n`);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(timer);
    child.stdin.destroy();
    expect(code).toBe(0);
    expect(out).toBe(':4\n');
    expect(out + err).not.toContain(secret);
  });
});

describe('kubectl-insight completion', () => {
  it.each(SHELLS)('%s: a script that registers for kubectl-insight and asks __complete', (shell) => {
    const r = run(bin, ['completion', shell]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('kubectl-insight');
    expect(r.stdout).toContain('__complete --');
  });

  it('bash and zsh scripts parse', () => {
    const bash = run(bin, ['completion', 'bash']).stdout;
    expect(spawnSync('bash', ['-n'], { input: bash }).status).toBe(0);
    expect(bash).toMatch(/^complete -o default -F __kubectl_insight_complete kubectl-insight$/m);
    if (existsSync('/usr/bin/zsh') || existsSync('/bin/zsh')) expect(spawnSync('zsh', ['-n'], { input: run(bin, ['completion', 'zsh']).stdout }).status).toBe(0);
  });

  it('refuses an unknown shell with one usage line and a hint (exit 2), not echoing a long word', () => {
    const r = run(bin, ['completion', 'tcsh']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual(['Error: unknown shell "tcsh"', expect.stringMatching(/^Hint: Give one of: bash, zsh, fish, powershell/)]);
    const long = run(bin, ['completion', 'a-pasted-secret-value-0123456789']);
    expect(long.code).toBe(2);
    expect(long.stderr).not.toContain('a-pasted-secret-value-0123456789');
    const missing = run(bin, ['completion']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^Error: which shell\?/);
  });

  it('is listed in --help; __complete is not', () => {
    const help = run(bin, ['--help'], { INSIGHT_NO_FAST_START: '1' }).stdout;
    expect(help).toMatch(/^\s+completion\s/m);
    expect(help).not.toContain('__complete');
  });
});
