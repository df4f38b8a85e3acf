// Bad input to the built CLI, with a canary secret where a user might paste one: one Error line and one
// Hint line (or one JSON error), the documented exit code, and the canary never printed back.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../..');
const cli = join(root, 'bin/kubectl-insight.js');
const CANARY = 'CanaryCliSecret0123456789abcdef';
// A kubeconfig whose only context is "x" (its server is a closed port: nothing is ever reached).
const kubeconfigX = join(mkdtempSync(join(tmpdir(), 'cli-errors-')), 'kubeconfig');
writeFileSync(kubeconfigX, 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n');

function contextsFile(text: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'cli-errors-ctx-')), 'clusters.txt');
  writeFileSync(f, text);
  return f;
}

function run(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, NODE_ENV: undefined, NO_COLOR: '1', KUBECONFIG: '/nonexistent/kubeconfig' }, timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const cases: Array<{ args: string[]; code: number; message: RegExp }> = [
  { args: ['preflight', `--access-key-secret=${CANARY}`], code: 2, message: /^Error: the AccessKey secret is not accepted on the command line \(--access-key-secret\)$/ },
  { args: ['doctor', `--access-key-secret=${CANARY}`], code: 2, message: /^Error: the AccessKey secret is not accepted on the command line/ },
  { args: ['uninstall', '--access-key-secret', CANARY], code: 2, message: /^Error: the AccessKey secret is not accepted on the command line/ },
  { args: ['preflight', `--access-key-secret-stdin=${CANARY}`], code: 2, message: /^Error: unexpected argument \(its value is not shown\)$/ },
  { args: ['preflight', CANARY], code: 2, message: /^Error: kubectl insight preflight: unexpected argument \(its value is not shown\)$/ },
  { args: [CANARY], code: 2, message: /^Error: unknown command/ },
  { args: ['doctor', `--bogus=${CANARY}`], code: 2, message: /^Error: unknown flag --bogus$/ },
  { args: ['doctor', `--fail-on=${CANARY}`], code: 2, message: /^Error: --fail-on must be one of: fatal, warning$/ },
  { args: ['doctor', '--probe-timeout', '3'], code: 2, message: /^Error: --probe-timeout 3: a duration needs a unit$/ },
  { args: ['doctor', '--watch-interval', '0s'], code: 2, message: /^Error: --watch-interval 0s is too short$/ },
  { args: ['uninstall', '--timeout', '1000h'], code: 2, message: /^Error: --timeout 1000h is too long$/ },
  { args: ['preflight', '--timeout', 'soon'], code: 2, message: /^Error: --timeout "soon" is not a duration$/ },
  { args: ['preflight', '--sample', 'x'], code: 2, message: /^Error: --sample: Expected an integer but received: "x"$/ },
  // A secret pasted into a flag that takes a name, a duration or a number is never printed back.
  { args: ['uninstall', '--cluster-id', CANARY], code: 2, message: /^Error: --cluster-id \(value not shown\) is not a cluster ID$/ },
  { args: ['uninstall', '--timeout', CANARY], code: 2, message: /^Error: --timeout \(value not shown\) is not a duration$/ },
  { args: ['preflight', '--sample', CANARY], code: 2, message: /^Error: --sample: Expected an integer but received: \(value not shown\)$/ },
  { args: ['doctor', '-n', CANARY], code: 2, message: /^Error: --namespace \(value not shown\) is not a namespace name$/ },
  { args: ['install', '-f', '/dev/zero'], code: 2, message: /^Error: values file \/dev\/zero is not a regular file$/ },
  { args: ['doctor', '-n', 'Team_Data'], code: 2, message: /^Error: --namespace "Team_Data" is not a namespace name$/ },
  { args: ['uninstall', '--release', `a${'b'.repeat(60)}`], code: 2, message: /^Error: --release \(value not shown\) is not a helm release name$/ },
  { args: ['uninstall', '--cluster-id', 'Not/An/Id'], code: 2, message: /^Error: --cluster-id "Not\/An\/Id" is not a cluster ID$/ },
  { args: ['preflight', '--probe-image', 'no such image!'], code: 2, message: /^Error: --probe-image "no such image!" is not an image reference$/ },
  { args: ['preflight', '--probe-namespace', '../x'], code: 2, message: /^Error: --probe-namespace "\.\.\/x" is not a namespace name$/ },
  { args: ['install', '--image-registry', 'https://mirror.example.com'], code: 2, message: /^Error: --image-registry \(value not shown\) is not a registry host$/ },
  { args: ['bundle', '--max-size', '5'], code: 2, message: /^Error: --max-size 5: a size needs a unit$/ },
  { args: ['bundle', '--log-bytes', CANARY], code: 2, message: /^Error: --log-bytes \(value not shown\) is not a size$/ },
  // The pattern may be the very text the user wants hidden: never echoed.
  { args: ['bundle', '--redact-extra', `(${CANARY}`], code: 2, message: /^Error: --redact-extra: the pattern is not a valid regular expression \(not shown\)$/ },
  { args: ['doctor', '--only', 'nosuchcheck'], code: 2, message: /^Error: --only "nosuchcheck" matches no check$/ },
  { args: ['preflight', '--only', 'nosuchcheck'], code: 2, message: /^Error: --only "nosuchcheck" matches no check$/ },
  { args: ['doctor', '--kubeconfig', kubeconfigX, '--context', 'no-such-context'], code: 2, message: /^Error: context "no-such-context" not found in kubeconfig$/ },
  { args: ['preflight', '--kubeconfig', kubeconfigX, '--context', 'no-such-context', '--from-local'], code: 2, message: /^Error: context "no-such-context" not found in kubeconfig$/ },
  // Fleet mode: every context and contexts-file line is checked before any cluster is contacted.
  { args: ['doctor', '--kubeconfig', kubeconfigX, '--context', 'x', '--context', CANARY], code: 2, message: /^Error: context not in kubeconfig: \(value not shown\) \(--context\)$/ },
  { args: ['version', '--kubeconfig', kubeconfigX, '--context', 'x', '--context', 'y'], code: 2, message: /^Error: context not in kubeconfig: "y" \(--context\)$/ },
  { args: ['doctor', '--kubeconfig', kubeconfigX, '--all-contexts', '--context', 'x'], code: 2, message: /^Error: --(all-contexts|context) cannot be used with --(all-contexts|context)$/ },
  { args: ['preflight', '--kubeconfig', kubeconfigX, '--contexts-file', '/nonexistent/clusters.txt'], code: 2, message: /^Error: --contexts-file \/nonexistent\/clusters\.txt does not exist$/ },
  { args: ['doctor', '--kubeconfig', kubeconfigX, '--contexts-file', contextsFile('x\nx Bad_Namespace\n')], code: 2, message: /^Error: --contexts-file .*:2: namespace "Bad_Namespace" is not a namespace name$/ },
  { args: ['doctor', '--kubeconfig', kubeconfigX, '--all-contexts', '--fix'], code: 2, message: /^Error: --fix works on one cluster at a time$/ },
  { args: ['doctor', '--kubeconfig', kubeconfigX, '--context', 'x', '--context', 'x', '--watch'], code: 2, message: /^Error: --watch works on one cluster at a time$/ },
  { args: ['doctor', '--all-contexts', '--parallel', '0'], code: 2, message: /^Error: --parallel: Expected an integer greater than or equal to 1/ },
  { args: ['doctor', '--all-contexts', '--context-timeout', '30'], code: 2, message: /^Error: --context-timeout 30: a duration needs a unit$/ },
  // The commands that change a cluster take one context; a second is refused before anything runs.
  { args: ['install', '--context', 'x', '--context', 'y'], code: 2, message: /^Error: --context is given 2 times: kubectl insight install works on one cluster at a time$/ },
  { args: ['uninstall', '--context', 'x', '--context', 'y', '--dry-run'], code: 2, message: /^Error: --context is given 2 times: kubectl insight uninstall works on one cluster at a time$/ },
  { args: ['bundle', '--context', 'x', '--context', 'y'], code: 2, message: /^Error: --context is given 2 times: kubectl insight bundle works on one cluster at a time$/ },
  { args: ['install', '--all-contexts'], code: 2, message: /^Error: unknown flag --all-contexts$/ },
];

describe.skipIf(!existsSync(join(root, 'dist/cli.js')))('bad input to the CLI', () => {
  it('the build is current', () => {
    expect(execFileSync(process.execPath, [cli, 'version'], { encoding: 'utf8' })).toMatch(/\d+\.\d+\.\d+/);
  });
  for (const c of cases) {
    const name = c.args.join(' ').replace(CANARY, '<canary>');
    it(`${name}: one error and one hint, exit ${c.code}, the canary never shown`, () => {
      const r = run(c.args);
      expect(r.code, r.stderr).toBe(c.code);
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).toHaveLength(2);
      expect(lines[0]).toMatch(c.message);
      expect(lines[1]).toMatch(/^Hint: /);
      expect(r.stdout + r.stderr).not.toContain(CANARY);
      const j = run([...c.args, '-o', 'json']);
      expect(j.code).toBe(c.code);
      expect(j.stdout + j.stderr).not.toContain(CANARY);
      expect(JSON.parse(j.stdout).error).toMatchObject({ kind: expect.stringMatching(/^(usage|invalid-input)$/), exitCode: 2 });
    });
  }
});

describe.skipIf(!existsSync(join(root, 'dist/cli.js')))('children never inherit the secret', () => {
  it('helm, run by uninstall and upgrade, sees no ALIBABA_CLOUD_ACCESS_KEY_SECRET', async () => {
    const { mkdtempSync, writeFileSync, chmodSync, readFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'env-helm-'));
    const envLog = join(dir, 'env.log');
    const helm = join(dir, 'helm');
    writeFileSync(helm, `#!/usr/bin/env bash\nenv >> "${envLog}"\ncase "$1" in version) echo v4.3.1 ;; list) echo '[]' ;; esac\n`);
    chmodSync(helm, 0o755);
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n');
    for (const args of [['uninstall', '--dry-run'], ['upgrade', '--dry-run']]) {
      writeFileSync(envLog, '');
      spawnSync(process.execPath, [cli, ...args, '--helm-binary', helm, '--kubeconfig', kubeconfig], { encoding: 'utf8', env: { ...process.env, NODE_ENV: undefined, ALIBABA_CLOUD_ACCESS_KEY_SECRET: CANARY }, timeout: 60_000 });
      const seen = readFileSync(envLog, 'utf8');
      expect(seen, args.join(' ')).toContain('PATH='); // helm ran
      expect(seen, args.join(' ')).not.toContain(CANARY);
    }
  });
});
