import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliPath, kubectl } from './support/index.js';

// kubectl finds plugins as executables named kubectl-<name> on PATH: what `npm install -g .` or
// `npm link` puts there is a link to bin/kubectl-insight.js.
const dir = mkdtempSync(join(tmpdir(), 'insight-plugin-'));
symlinkSync(cliPath(), join(dir, 'kubectl-insight'));
const env = { PATH: `${dir}${delimiter}${process.env.PATH}`, NO_COLOR: '1' };
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('kubectl plugin', () => {
  it('kubectl plugin list shows kubectl-insight', async () => {
    const out = (await kubectl(['plugin', 'list'], { env })).stdout;
    expect(out).toContain(join(dir, 'kubectl-insight'));
  });

  it('kubectl insight runs the plugin (version, --help)', async () => {
    expect((await kubectl(['insight', 'version'], { env })).stdout).toMatch(/^kubectl-insight \d+\.\d+\.\d+/);
    const help = (await kubectl(['insight', '--help'], { env })).stdout;
    for (const cmd of ['install', 'upgrade', 'uninstall', 'preflight', 'doctor', 'verify', 'version']) expect(help).toContain(cmd);
  });
});
