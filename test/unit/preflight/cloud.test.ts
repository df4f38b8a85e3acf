// The cloud.* checks through the engine against the local stand-in (real TLS, signatures verified
// by the stand-in as the published schemes define, documented error codes). Traffic goes to
// 127.0.0.1 through endpoint overrides only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChecks } from '../../../src/checks/engine.js';
import { cloudChecks, maskKeyId } from '../../../src/checks/preflight/cloud.js';
import { renderPreflightJson } from '../../../src/output/preflight.js';
import { Secret } from '../../../src/secret.js';
import { aliyunNames, generatePki } from '../../support/cloud-standin/pki.js';
import { startCloudStandin, type CloudStandin } from '../../support/cloud-standin/server.js';
import { fakeCtx } from './helpers.js';

const REGION = 'cn-hangzhou';
const PROJECT = 'k8s-insight-proj';
const INSTANCE = 'rw-524ada714221af267c73122af2e1';
const FULL = { accessKeyId: 'LTAI5tPreflightFull01', secret: 'pf-full-secret-0123456789abcdefAB' };
const READONLY = { accessKeyId: 'LTAI5tPreflightRead01', secret: 'pf-read-secret-0123456789abcdefAB' };

let standin: CloudStandin;
beforeAll(async () => {
  standin = await startCloudStandin({
    pki: generatePki(aliyunNames([REGION])),
    users: [
      { ...FULL, allowedActions: ['log:*', 'cms:*'], accountId: '1111222233334444', userName: 'insight' },
      { ...READONLY, allowedActions: ['log:GetProject', 'log:ListMachineGroup', 'cms:GetPrometheusInstance'] },
    ],
    projects: [{ name: PROJECT, region: REGION }],
    prometheusInstances: [{ id: INSTANCE, region: REGION, name: 'prom-test', workspace: 'ws1' }],
  });
});
afterAll(async () => standin?.close());

async function run(user: { accessKeyId: string; secret: string }, extra: Record<string, unknown> = {}, now?: Date) {
  const ctx = fakeCtx({ region: REGION, accessKeyId: user.accessKeyId, accessKeySecret: new Secret(user.secret), projectName: PROJECT, prometheusInstanceId: INSTANCE, endpointOverrides: standin.overrides(), ...extra }, now ? { now } : {});
  if (!now) ctx.now = () => new Date();
  return runChecks(cloudChecks, ctx);
}
const byId = (r: Awaited<ReturnType<typeof run>>, id: string) => r.results.filter((x) => x.id === id);

describe('cloud checks', () => {
  it('a full key: identity, project, instance and every checkable permission pass', async () => {
    const r = await run(FULL);
    expect(byId(r, 'cloud.credentials')[0]).toMatchObject({ status: 'passed', vantage: 'local' });
    expect(byId(r, 'cloud.credentials')[0]!.message).toContain('account 1111222233334444');
    expect(byId(r, 'cloud.credentials')[0]!.message).toContain(maskKeyId(FULL.accessKeyId));
    expect(byId(r, 'cloud.sls-project')[0]!.status).toBe('passed');
    expect(byId(r, 'cloud.prometheus-instance')[0]!.message).toContain('prom-test');
    expect(byId(r, 'cloud.permissions').map((x) => x.status)).toEqual(['passed']);
  });

  it('a read-only key: the missing actions as a ready-to-paste policy', async () => {
    const r = await run(READONLY);
    const p = byId(r, 'cloud.permissions').find((x) => x.status === 'failed')!;
    expect(p.severity).toBe('fatal');
    expect(p.message).toContain('log:GetMachineGroup');
    const policy = JSON.parse(p.hint!.slice(p.hint!.indexOf('{'), p.hint!.lastIndexOf('}') + 1));
    expect(policy.Statement[0].Effect).toBe('Allow');
    expect(policy.Statement[0].Action).toContain('log:GetLogStore');
    expect(policy.Statement[0].Action).not.toContain('log:GetProject');
  });

  it('an unknown key id: InvalidAccessKeyId, and the dependants are skipped', async () => {
    const r = await run({ accessKeyId: 'LTAI5tNotAKeyAtAll01', secret: 'x'.repeat(30) });
    const c = byId(r, 'cloud.credentials')[0]!;
    expect(c).toMatchObject({ status: 'failed', severity: 'fatal' });
    expect(c.evidence!.join(' ')).toContain('InvalidAccessKeyId');
    expect(byId(r, 'cloud.sls-project')[0]!.status).toBe('skipped');
  });

  it('a wrong secret: SignatureDoesNotMatch, and the secret appears nowhere in the report', async () => {
    const wrong = 'wrong-secret-0123456789abcdefABCD';
    const r = await run({ ...FULL, secret: wrong });
    const c = byId(r, 'cloud.credentials')[0]!;
    expect(c.evidence!.join(' ')).toContain('SignatureDoesNotMatch');
    const json = renderPreflightJson(r, { context: 'c', server: 's', namespace: 'n', release: 'r', net: 'Internet', networkVantage: 'local', failOn: 'fatal', durationMs: 1, exitCode: 1 });
    expect(json).not.toContain(wrong);
    expect(json).not.toContain(FULL.secret);
  });

  it('this machine\'s clock 20 minutes off: RequestTimeExpired', async () => {
    const r = await run(FULL, {}, new Date(Date.now() - 20 * 60_000));
    const c = byId(r, 'cloud.credentials')[0]!;
    expect(c.status).toBe('failed');
    expect(c.evidence!.join(' ')).toMatch(/RequestTimeExpired/);
  });

  it('a project that does not exist, and a missing instance', async () => {
    const r = await run(FULL, { projectName: 'no-such-project', prometheusInstanceId: 'rw-nope' });
    expect(byId(r, 'cloud.sls-project')[0]!.message).toContain('does not exist');
    expect(byId(r, 'cloud.prometheus-instance')[0]!.message).toContain('does not exist');
  });

  it('no key: every cloud check is skipped with the way to pass one', async () => {
    const ctx = fakeCtx({ region: REGION });
    const r = await runChecks(cloudChecks, ctx);
    expect(r.results.every((x) => x.status === 'skipped')).toBe(true);
    expect(r.results[0]!.message).toContain('ALIBABA_CLOUD_ACCESS_KEY_SECRET');
  });

  it('an unreachable STS is "could not check" (warning), not a bad key', async () => {
    const r = await run(FULL, { endpointOverrides: { 'sts.aliyuncs.com': { address: '127.0.0.1', port: 9 } } });
    expect(byId(r, 'cloud.credentials')[0]).toMatchObject({ status: 'failed', severity: 'warning' });
    expect(byId(r, 'cloud.credentials')[0]!.message).toContain('could not check');
  });
});
