import { describe, expect, it } from 'vitest';
import { preflightChecks, runPreflight } from '../../../src/checks/preflight/index.js';
import { exitCodeFor } from '../../../src/checks/engine.js';
import { withCalls } from '../../support/kube.js';

const fakeKube = withCalls({
  server: 'https://127.0.0.1:1',
  context: 'fake',
  authz: { createSelfSubjectAccessReview: async () => ({ status: { allowed: true } }) },
  version: { getCodeWithHttpInfo: async () => ({ data: { gitVersion: 'v1.30.0' }, headers: { date: new Date().toUTCString() } }) },
}) as never;

describe('runPreflight', () => {
  it('has stable, unique ids in five categories', () => {
    const checks = preflightChecks();
    const ids = checks.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...new Set(checks.map((c) => c.category))]).toEqual(['cluster', 'rbac', 'conflicts', 'network', 'cloud']);
    for (const c of checks) expect(c.id.startsWith(`${c.category}.`)).toBe(true);
  });

  it('a hanging network probe does not block the report: it times out, the others report, the probe is stopped', async () => {
    let aborted = false;
    const report = await runPreflight({
      region: 'cn-hangzhou',
      fromLocal: true,
      timeoutMs: 300,
      only: ['cluster.api', 'cluster.version', 'network.'],
      deps: {
        kube: fakeKube,
        helm: { version: async () => '3.21.0', list: async () => [] } as never,
        probes: {
          run: (signal) =>
            new Promise((_, reject) => {
              signal.addEventListener('abort', () => ((aborted = true), reject(new Error('aborted'))));
            }),
        },
      },
    });
    // The probe run never settles by itself: the report exists because the 300 ms deadline fired and aborted it.
    expect(aborted).toBe(true);
    expect(report.results.find((r) => r.id === 'cluster.version')).toMatchObject({ status: 'passed' });
    const sls = report.results.find((r) => r.id === 'network.sls')!;
    expect(sls).toMatchObject({ status: 'failed', severity: 'fatal' });
    expect(sls.message).toContain('timed out after 0.3s');
    expect(exitCodeFor(report)).toBe(1);
    expect(exitCodeFor({ ...report, results: report.results.filter((r) => r.id !== 'network.sls') }, 'fatal')).toBe(0);
    expect(exitCodeFor({ ...report, results: report.results.filter((r) => r.id !== 'network.sls') }, 'warning')).toBe(1);
  });

  it('starts the network probes at once, concurrently with the cluster checks', async () => {
    const events: string[] = [];
    const slowKube = {
      ...(fakeKube as object),
      version: { getCodeWithHttpInfo: async () => (await new Promise((r) => setTimeout(r, 200)), events.push('version answered'), { data: { gitVersion: 'v1.30.0' }, headers: {} }) },
    } as never;
    await runPreflight({
      region: 'cn-hangzhou',
      fromLocal: true,
      only: ['cluster.version', 'network.sls'],
      deps: { kube: slowKube, helm: { version: async () => '3.21.0', list: async () => [] } as never, probes: { run: async () => (events.push('probes started'), { results: [], failures: [] }) } },
    });
    expect(events).toEqual(['probes started', 'version answered']);
  });
});
