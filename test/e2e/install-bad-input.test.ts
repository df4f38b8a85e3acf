// Bad input to install: each case asserts the exit code, the one-line error message, and that the
// cluster is exactly as before (snapshot of releases, namespaces, CRDs, cluster RBAC, CRs, objects).
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chartTgz, cli, helmLabel, kubectl, requiredValues, serveCharts, snapshotText, writeValues } from './support/index.js';

const NS = 'e2e-bad-input';
const RELEASE = 'insight-e2e-bad';
const SECRET = 'BadInputE2eSecretValue012345678';
const READER_ROLE = 'insight-e2e-bad-input-reader';

interface Case {
  name: string;
  args: () => string[];
  env?: Record<string, string | undefined>;
  input?: string;
  code: number;
  message: RegExp;
  skip?: () => string | false;
}

/** The one `Error:` line on stderr (text mode prints exactly one). */
function errorLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.startsWith('Error:'));
  expect(lines, stderr).toHaveLength(1);
  return lines[0]!;
}

describe(`install with bad input changes nothing (${helmLabel()})`, () => {
  let chart: string;
  let values: string;
  let before: string;
  let work: string;
  let readerKubeconfig: string | undefined;
  let repo: { url: string; close(): Promise<void> } | undefined;
  let repoUrl: string;
  const cluster = inject('insightCluster');
  const withValues = (release = RELEASE) => ['install', '--no-verify', '--release', release, '-n', NS, '--chart', chart, '-f', values, '--skip-preflight'];
  const env = { ALIBABA_CLOUD_ACCESS_KEY_SECRET: SECRET };

  beforeAll(async () => {
    chart = await chartTgz('1.0.0');
    values = writeValues(requiredValues('e2e-bad-1'));
    work = mkdtempSync(join(tmpdir(), 'insight-bad-'));
    writeFileSync(join(work, 'bad.yaml'), 'region: cn-hangzhou\nclusterID: [unclosed\n');
    writeFileSync(join(work, 'unreachable.kubeconfig'), (await kubectl(['config', 'view', '--raw'])).stdout.replace(/server: .*/, 'server: https://127.0.0.1:1'));
    // helm 2 answers `version --template` with an error and prints a Client: line.
    writeFileSync(join(work, 'helm2'), '#!/bin/sh\necho \'Client: &version.Version{SemVer:"v2.17.0", GitCommit:"a690bad", GitTreeState:"clean"}\'\necho "Error: unknown flag: --template" >&2\nexit 1\n');
    chmodSync(join(work, 'helm2'), 0o755);
    // A chart repository on loopback serving the packaged fixtures.
    repo = await serveCharts();
    repoUrl = repo.url;
    // A user who may read everything and create nothing.
    if (cluster.name) {
      await kubectl(['create', 'clusterrole', READER_ROLE, '--verb=get,list,watch', '--resource=*.*'], { allowFail: true });
      await kubectl(['create', 'clusterrolebinding', READER_ROLE, `--clusterrole=${READER_ROLE}`, '--user=insight-e2e-reader'], { allowFail: true });
      const { mintKubeconfig } = await import('../cluster/cluster.js');
      readerKubeconfig = await mintKubeconfig(cluster.name, 'insight-e2e-reader');
    }
    await kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=true']);
    before = await snapshotText([NS]);
  });

  afterAll(async () => {
    await repo?.close();
    await kubectl(['delete', 'clusterrolebinding,clusterrole', READER_ROLE, '--ignore-not-found'], { allowFail: true });
  });

  const cases: Case[] = [
    {
      name: 'every required value missing',
      args: () => ['install', '--no-verify', '--release', RELEASE, '-n', NS, '--chart', chart, '--skip-preflight'],
      code: 2,
      message: /^Error: missing required values: aliUid \(--ali-uid\), accessKeyID \(--access-key-id or ALIBABA_CLOUD_ACCESS_KEY_ID\), accessKeySecret \(.*\), clusterID \(--cluster-id\), .*entityCollector\.projectName \(--project-name\)$/,
    },
    { name: 'only the secret missing (no TTY to prompt)', args: withValues, code: 2, message: /^Error: missing required value: accessKeySecret \(ALIBABA_CLOUD_ACCESS_KEY_SECRET, --access-key-secret-stdin, -f or the prompt\)$/ },
    { name: 'region typo', args: () => [...withValues(), '--region', 'cn-hangzohu'], env, code: 2, message: /^Error: unknown region "cn-hangzohu" \(did you mean cn-hangzhou\?\); pass --allow-unknown-region/ },
    { name: 'clusterID against naming rules', args: () => [...withValues(), '--cluster-id', 'Prod_Cluster'], env, code: 2, message: /^Error: clusterID "Prod_Cluster" must be lowercase letters, digits and '-'/ },
    { name: 'temporary STS AccessKey', args: () => [...withValues(), '--access-key-id', 'STS.NUgYrLnoC37mZZCNnAbez2'], env, code: 2, message: /^Error: accessKeyID is a temporary STS key/ },
    { name: 'secret in --set', args: () => [...withValues(), '--set', `accessKeySecret=${SECRET}`], code: 2, message: /^Error: the AccessKey secret is not accepted on the command line \(--set accessKeySecret=\.\.\.\)$/ },
    { name: 'secret as a flag', args: () => [...withValues(), '--access-key-secret', SECRET], code: 2, message: /^Error: the AccessKey secret is not accepted on the command line \(--access-key-secret\)$/ },
    { name: 'values file missing', args: () => ['install', '--no-verify', '--release', RELEASE, '-n', NS, '--chart', chart, '-f', '/nonexistent/values.yaml'], env, code: 2, message: /^Error: values file \/nonexistent\/values\.yaml cannot be read \(ENOENT\)$/ },
    { name: 'values file not YAML', args: () => [...withValues(), '-f', join(work, 'bad.yaml')], env, code: 2, message: /^Error: values file .*bad\.yaml is not valid YAML \(line \d+, column \d+\)$/ },
    { name: '--set syntax', args: () => [...withValues(), '--set', 'tolerations[x]=1'], env, code: 2, message: /^Error: cannot parse --set tolerations\[x\]=1: list index "x" is not a number$/ },
    { name: '--timeout not a duration', args: () => [...withValues(), '--timeout', 'soon'], env, code: 2, message: /^Error: --timeout "soon" is not a duration$/ },
    { name: '--timeout without a unit', args: () => [...withValues(), '--timeout', '300'], env, code: 2, message: /^Error: --timeout 300: a duration needs a unit$/ },
    { name: '--timeout 0s', args: () => [...withValues(), '--timeout', '0s'], env, code: 2, message: /^Error: --timeout 0s is too short$/ },
    { name: '--timeout beyond a day (timer overflow)', args: () => [...withValues(), '--timeout', '1000h'], env, code: 2, message: /^Error: --timeout 1000h is too long$/ },
    { name: '--net not a mode', args: () => [...withValues(), '--net', 'vpc'], env, code: 2, message: /^Error: --net must be one of: Internet, Intranet$/ },
    { name: 'empty stdin for the secret', args: () => [...withValues(), '--access-key-secret-stdin'], input: '', code: 2, message: /^Error: --access-key-secret-stdin was given but stdin was empty$/ },
    { name: 'invalid release name', args: () => withValues('Bad_Release'), env, code: 2, message: /^Error: --release "Bad_Release" is not a helm release name$/ },
    { name: 'kubeconfig file missing', args: () => [...withValues(), '--kubeconfig', '/nonexistent/kubeconfig'], env, code: 2, message: /^Error: kubeconfig file \/nonexistent\/kubeconfig does not exist$/ },
    { name: 'kubeconfig context missing', args: () => [...withValues(), '--context', 'no-such-context'], env, code: 2, message: /^Error: context "no-such-context" not found in kubeconfig$/ },
    { name: 'API server unreachable', args: () => [...withValues(), '--kubeconfig', join(work, 'unreachable.kubeconfig')], env, code: 3, message: /^Error: cannot reach the API server at https:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)$/ },
    { name: 'no helm', args: () => [...withValues(), '--helm-binary', '/nonexistent/helm'], env, code: 5, message: /^Error: helm not found \(\/nonexistent\/helm\)$/ },
    { name: 'helm 2', args: () => [...withValues(), '--helm-binary', join(work, 'helm2')], env, code: 5, message: /^Error: .*helm2 does not look like helm 3/ },
    {
      name: '403: a user who cannot create',
      args: () => [...withValues(), '--kubeconfig', readerKubeconfig!],
      env,
      code: 4,
      message: /^Error: forbidden: you cannot create \w+.* \(and \d+ more: .*create namespaces/,
      skip: () => (readerKubeconfig ? false : 'needs a harness cluster to mint a user certificate'),
    },
    { name: 'chart path not found', args: () => ['install', '--no-verify', '--release', RELEASE, '-n', NS, '--chart', '/nonexistent/chart.tgz', '-f', values], env, code: 2, message: /^Error: chart not found: \/nonexistent\/chart\.tgz does not exist$/ },
    {
      name: 'chart version not in the repository',
      args: () => ['install', '--no-verify', '--release', RELEASE, '-n', NS, '--repo-url', repoUrl, '--version', '9.9.9', '-f', values, '--skip-preflight'],
      env,
      code: 2,
      message: /^Error: chart not found: loongcollector-cluster-insight from http:\/\/127\.0\.0\.1:\d+ version 9\.9\.9/,
    },
    { name: 'chart repository unreachable', args: () => ['install', '--no-verify', '--release', RELEASE, '-n', NS, '--repo-url', 'http://127.0.0.1:1/charts', '-f', values, '--skip-preflight'], env, code: 1, message: /^Error: cannot fetch the chart loongcollector-cluster-insight from http:\/\/127\.0\.0\.1:1\/charts: .*connection refused/ },
    { name: '--version with a local chart', args: () => [...withValues(), '--version', '1.0.0'], env, code: 2, message: /^Error: --version cannot be used with a local chart/ },
  ];

  it('has at least 15 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });

  for (const c of cases) {
    it(c.name, async (ctx) => {
      const why = c.skip?.();
      if (why) ctx.skip(why);
      const r = await cli(c.args(), { ...(c.env ? { env: c.env } : { env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: undefined } }), ...(c.input !== undefined ? { input: c.input } : {}) });
      expect(r.exitCode, r.stderr).toBe(c.code);
      expect(errorLine(r.stderr)).toMatch(c.message);
      expect(r.stderr).toMatch(/^Hint: /m);
      expect(r.stdout + r.stderr).not.toContain(SECRET);
      expect(await snapshotText([NS])).toBe(before);
    });
  }

  it('a working install still succeeds with the same chart repository (the cases fail for their reason only)', async () => {
    const r = await cli(['install', '--no-verify', '--release', RELEASE, '-n', NS, '--repo-url', repoUrl, '--version', '1.0.0', '-f', values, '--skip-preflight', '--dry-run'], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('would install loongcollector-cluster-insight 1.0.0');
  });
});
