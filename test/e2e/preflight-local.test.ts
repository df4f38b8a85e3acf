// The built CLI with --from-local and the cloud checks: endpoints and cloud APIs mapped to loopback
// (the signing stand-in, a closed port) through KUBECTL_INSIGHT_ENDPOINT_OVERRIDES; the secret from
// stdin or the environment, and never in the output; usage errors exit 2.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aliyunNames, generatePki } from '../support/cloud-standin/pki.js';
import { startCloudStandin, type CloudStandin } from '../support/cloud-standin/server.js';
import { cli, cluster, parseJson } from './support/index.js';

const REGION = 'cn-hangzhou';
const PROJECT = 'pf-e2e-project';
const INSTANCE = 'rw-pfe2e0000000000000000000001';
const USER = { accessKeyId: 'LTAI5tPreflightE2e001', secret: 'pf-e2e-secret-0123456789abcdefABC' };

let standin: CloudStandin;
let overrides: string;
beforeAll(async () => {
  cluster();
  standin = await startCloudStandin({
    pki: generatePki(aliyunNames([REGION])),
    users: [{ ...USER, allowedActions: ['log:*', 'cms:*'], accountId: '9999888877776666', userName: 'pf' }],
    projects: [{ name: PROJECT, region: REGION }],
    prometheusInstances: [{ id: INSTANCE, region: REGION, name: 'pf-prom' }],
  });
  // SLS and STS answer (the stand-in); Cloud Monitor's port is closed.
  overrides = JSON.stringify({ ...standin.overrides(), [`cms.${REGION}.aliyuncs.com`]: { address: '127.0.0.1', port: 9 } });
});
afterAll(async () => standin?.close());

// Nothing inherited: the secret must come from stdin or the given environment only.
const run = (args: string[], opts: { input?: string; env?: Record<string, string> } = {}) =>
  cli(['preflight', ...args], { input: opts.input ?? '', env: { KUBECTL_INSIGHT_ENDPOINT_OVERRIDES: overrides, ...opts.env }, extendEnv: false });

const common = ['--region', REGION, '--from-local', '--only', 'network.', '--only', 'cloud.', '--access-key-id', USER.accessKeyId, '--project-name', PROJECT, '--prometheus-instance-id', INSTANCE];

describe('preflight --from-local with cloud checks (CLI)', () => {
  it('secret on stdin: network from local, identity and permissions pass; cms unreachable is only a warning', async () => {
    const r = await run([...common, '--access-key-secret-stdin', '-o', 'json'], { input: `${USER.secret}\n` });
    const report = parseJson<{ results: { id: string; status: string; severity: string; vantage: string; message: string; hint: string | null }[]; networkVantage: string }>({ stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 });
    expect(report.networkVantage).toBe('local');
    const sls = report.results.find((x) => x.id === 'network.sls')!;
    expect(sls).toMatchObject({ status: 'passed', vantage: 'local' });
    const cms = report.results.find((x) => x.id === 'network.cms')!;
    expect(cms).toMatchObject({ status: 'failed', severity: 'warning', vantage: 'local' });
    expect(cms.message).toContain('refuses');
    expect(report.results.find((x) => x.id === 'cloud.credentials')!.message).toContain('account 9999888877776666');
    expect(report.results.find((x) => x.id === 'cloud.sls-project')!.status).toBe('passed');
    const perms = report.results.filter((x) => x.id === 'cloud.permissions');
    expect(perms.some((x) => x.status === 'passed')).toBe(true);
    expect(perms.some((x) => x.status === 'failed' && x.severity === 'fatal')).toBe(false);
    // cms:GetPrometheusInstance could not be asked (port closed): undetermined, a warning.
    expect(perms.find((x) => x.status === 'failed')!.message).toContain('cms:GetPrometheusInstance');
    // GetPrometheusInstance goes to cms.<region>: its port is closed, so it is "could not check", a warning.
    expect(report.results.find((x) => x.id === 'cloud.prometheus-instance')).toMatchObject({ status: 'failed', severity: 'warning' });
    expect(r.exitCode).toBe(0);
    expect(`${r.stdout}${r.stderr}`).not.toContain(USER.secret);
  }, 60_000);

  it('--fail-on warning turns the warnings into exit 1', async () => {
    const r = await run([...common, '--fail-on', 'warning'], { env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: USER.secret } });
    expect(r.exitCode).toBe(1);
    expect(String(r.stdout)).toMatch(/^network$/m);
    expect(String(r.stdout)).toContain('[endpoint/cms.cn-hangzhou.aliyuncs.com, from local]');
  }, 60_000);

  it('a wrong secret from the environment: SignatureDoesNotMatch, exit 1, and the wrong secret is printed nowhere', async () => {
    const wrong = 'pf-wrong-secret-0123456789abcdefXY';
    const r = await run([...common, '-o', 'json'], { env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: wrong } });
    expect(r.exitCode).toBe(1);
    const out = `${r.stdout}${r.stderr}`;
    expect(out).toContain('SignatureDoesNotMatch');
    expect(out).not.toContain(wrong);
  }, 60_000);

  it('-f values.yaml supplies region, key, secret, project and instance; the secret is printed nowhere', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'insight-pf-values-'));
    try {
      const file = join(dir, 'values.yaml');
      writeFileSync(file, `region: ${REGION}\naccessKeyID: ${USER.accessKeyId}\naccessKeySecret: ${USER.secret}\nentityCollector:\n  projectName: ${PROJECT}\n`, { mode: 0o600 });
      const r = await run(['-f', file, '--only', 'cloud.credentials', '--only', 'cloud.sls-project', '-o', 'json']);
      expect(r.exitCode).toBe(0);
      const report = JSON.parse(String(r.stdout)) as { region: string; results: { id: string; status: string }[] };
      expect(report.region).toBe(REGION);
      expect(report.results.map((x) => [x.id, x.status])).toEqual([['cloud.credentials', 'passed'], ['cloud.sls-project', 'passed']]);
      expect(`${r.stdout}${r.stderr}`).not.toContain(USER.secret);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('usage errors exit 2: a misspelt region (with a suggestion), a secret without a key id', async () => {
    const a = await run(['--region', 'cn-hangzou']);
    expect(a.exitCode).toBe(2);
    expect(String(a.stderr)).toContain('did you mean cn-hangzhou');
    const b = await run(['--region', REGION], { env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: USER.secret } });
    expect(b.exitCode).toBe(2);
    expect(String(b.stderr)).toContain('without --access-key-id');
    expect(`${b.stdout}${b.stderr}`).not.toContain(USER.secret);
  }, 60_000);
});
