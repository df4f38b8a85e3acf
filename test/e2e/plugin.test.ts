import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// kubectl finds plugins as executables named kubectl-<name> on PATH: what `npm install -g .` or
// `npm link` puts there is a link to bin/kubectl-insight.js.
const dir = mkdtempSync(join(tmpdir(), 'insight-plugin-'));
symlinkSync(resolve(import.meta.dirname, '../../bin/kubectl-insight.js'), join(dir, 'kubectl-insight'));
const env = { ...process.env, PATH: `${dir}${delimiter}${process.env.PATH}`, NO_COLOR: '1' };
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('kubectl plugin', () => {
  it('kubectl plugin list shows kubectl-insight', () => {
    const out = execFileSync('kubectl', ['plugin', 'list'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toContain(join(dir, 'kubectl-insight'));
  });

  it('kubectl insight runs the plugin (version, --help)', () => {
    expect(execFileSync('kubectl', ['insight', 'version'], { env, encoding: 'utf8' })).toMatch(/^kubectl-insight \d+\.\d+\.\d+/);
    const help = execFileSync('kubectl', ['insight', '--help'], { env, encoding: 'utf8' });
    for (const cmd of ['install', 'upgrade', 'uninstall', 'preflight', 'doctor', 'version']) expect(help).toContain(cmd);
  });
});
