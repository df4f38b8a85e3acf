import { describe, expect, it } from 'vitest';
import { clusterChecks, decideHelm, decideSkew, decideVersion, SKEW_FATAL_MS } from '../../../src/checks/preflight/cluster.js';
import { helmFeatures } from '../../../src/helm/helm.js';
import { runChecks } from '../../../src/checks/engine.js';
import { InsightError } from '../../../src/errors.js';
import { fakeCtx } from './helpers.js';

describe('cluster.version', () => {
  it('passes 1.18 and newer, fails older, tolerates vendor suffixes', () => {
    expect(decideVersion('v1.18.0').status).toBe('passed');
    expect(decideVersion('v1.36.3').status).toBe('passed');
    expect(decideVersion('v1.28.3-aliyun.1').status).toBe('passed');
    const old = decideVersion('v1.17.9');
    expect(old.status).toBe('failed');
    expect(old.message).toContain('too old');
    expect(old.severity).toBeUndefined(); // the check's own severity: fatal
    expect(decideVersion('garbage').severity).toBe('warning');
  });
});

describe('cluster.clock-skew', () => {
  const local = new Date('2026-01-01T00:00:00Z');
  it('passes within the measurement error, warns over 2 minutes, is fatal over 15 minutes', () => {
    expect(decideSkew(new Date(local.getTime() + 900), local, 100).status).toBe('passed');
    const warn = decideSkew(new Date(local.getTime() + 5 * 60_000), local, 100);
    expect(warn).toMatchObject({ status: 'failed', severity: 'warning' });
    expect(warn.message).toContain('behind');
    const fatal = decideSkew(new Date(local.getTime() - SKEW_FATAL_MS - 60_000), local, 100);
    expect(fatal).toMatchObject({ status: 'failed', severity: 'fatal' });
    expect(fatal.message).toMatch(/ahead of.*15 minutes/);
  });
  it('does not call a skew inside the measurement error fatal', () => {
    // 15 min + 1 s apart but the request took 4 s: the bound (2 s + 1 s) covers it.
    expect(decideSkew(new Date(local.getTime() + SKEW_FATAL_MS + 1000), local, 4000).severity).toBe('warning');
  });
  it('skips without a Date header', () => {
    expect(decideSkew(undefined, local, 10).status).toBe('skipped');
  });
});

describe('cluster checks through the engine', () => {
  it('reports anonymous access (SSAR forbidden) as not authenticated, and skips dependants', async () => {
    const forbidden = Object.assign(new Error('forbidden'), { code: 403, body: { message: 'forbidden' } });
    const ctx = fakeCtx({}, { kube: { authz: { createSelfSubjectAccessReview: async () => Promise.reject(forbidden) } as never } });
    const r = await runChecks(clusterChecks, ctx);
    const api = r.results.find((x) => x.id === 'cluster.api')!;
    expect(api.status).toBe('failed');
    expect(api.message).toContain('anonymous');
    expect(r.results.find((x) => x.id === 'cluster.version')!.status).toBe('skipped');
  });
  it('names a missing helm with the tool hint', async () => {
    const ctx = fakeCtx({}, {
      kube: { authz: { createSelfSubjectAccessReview: async () => ({ status: { allowed: true } }) } as never },
      helm: { features: async () => Promise.reject(new InsightError('tool', 'helm not found (helm)', { hint: 'Install helm >= 3.0.0' })) },
    });
    const r = await runChecks(clusterChecks, ctx);
    const helm = r.results.find((x) => x.id === 'cluster.helm')!;
    expect(helm).toMatchObject({ status: 'failed', severity: 'fatal' });
    expect(helm.message).toContain('helm not found');
    expect(helm.hint).toContain('Install helm');
    expect(r.results.find((x) => x.id === 'cluster.version')!.status).toBe('passed');
  });
});

describe('decideHelm', () => {
  const now = new Date('2026-12-01T00:00:00Z');
  it('names the major; helm 4 has nothing more to say', () => {
    const r = decideHelm(helmFeatures('v4.3.1'), now);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ status: 'passed', message: 'helm 4.3.1 (helm 4, server-side apply)' });
  });
  it('on helm 3 adds an info finding with the end of security fixes', () => {
    const r = decideHelm(helmFeatures('v3.21.4'), now);
    expect(r[0]!.message).toBe('helm 3.21.4 (helm 3)');
    expect(r[1]).toMatchObject({ status: 'failed', severity: 'info' });
    expect(r[1]!.message).toContain('until 2027-02-10');
  });
  it('turns it into a warning once the date has passed', () => {
    const r = decideHelm(helmFeatures('3.21.4'), new Date('2027-02-10T00:00:01Z'));
    expect(r[1]).toMatchObject({ status: 'failed', severity: 'warning' });
    expect(r[1]!.message).toContain('no longer gets security fixes');
  });
});
