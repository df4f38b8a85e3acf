import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

// Runs the built CLI (dist/, from `npm run build`) as users do.
const bin = fileURLToPath(new URL('../../../bin/kubectl-insight.js', import.meta.url));
const run = (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env }, input: '' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

beforeAll(() => {
  if (!existsSync(fileURLToPath(new URL('../../../dist/cli.js', import.meta.url)))) {
    execFileSync('npm', ['run', 'build'], { stdio: 'ignore' });
  }
});

describe('kubectl-insight CLI', () => {
  it.each(['install', 'upgrade', 'uninstall', 'preflight', 'doctor', 'version'])('%s --help has a summary, examples and the shared flags', (cmd) => {
    const r = run([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/USAGE/);
    expect(r.stdout).toMatch(/EXAMPLES/);
    for (const flag of ['--kubeconfig', '--context', '-n, --namespace', '--release', '-o, --output', '--no-color', '-v, --verbose', '-y, --yes']) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout).toContain('[default: cms-monitoring]');
    expect(r.stdout).toContain('[default: aliyun-loongcollector-cluster-insight]');
  });

  it('version prints text and JSON', () => {
    expect(run(['version']).stdout).toMatch(/^kubectl-insight \d+\.\d+\.\d+ \(node /);
    const j = JSON.parse(run(['version', '-o', 'json']).stdout);
    expect(j).toMatchObject({ version: expect.stringMatching(/^\d+\.\d+\.\d+/), node: process.versions.node });
  });

  it('an unknown flag is bad usage: one error line, one hint line, exit 2, no stack trace', () => {
    const r = run(['version', '--bogus']);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe('Error: unknown flag --bogus');
    expect(lines[1]).toMatch(/^Hint: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('an invalid --output value is bad usage with exit 2; with -o json errors are JSON on stdout', () => {
    const r = run(['version', '-o', 'yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^Error: --output must be one of: text, json/);
    const j = run(['preflight', '-o', 'json', '--kubeconfig', '/nonexistent/kubeconfig']);
    expect(j.code).not.toBe(0);
    expect(JSON.parse(j.stdout).error).toMatchObject({ message: expect.any(String), exitCode: j.code });
  });

  it('NO_COLOR and --no-color strip colour even when colour is forced', () => {
    const r = run(['version', '--bogus', '--no-color'], { FORCE_COLOR: '1', NO_COLOR: '' });
    expect(r.stderr).not.toContain('\u001b[');
    const forced = run(['version', '--bogus'], { FORCE_COLOR: '1', NO_COLOR: '' });
    expect(forced.stderr).toContain('\u001b[');
  });
});
