import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Chalk } from 'chalk';
import { doctorChecks } from '../../../src/checks/doctor/index.js';
import { exitCodeFor, runChecks, type Report } from '../../../src/checks/engine.js';
import { renderDoctorHuman, renderDoctorJson, verdict } from '../../../src/output/doctor.js';
import { FakeApi, NS, ctxFor, healthy, healthyProbe, service, slice, type ProbeFn } from './fake.js';

const golden = (name: string) => new URL(`../../fixtures/golden/${name}`, import.meta.url);

/** Compare with the golden file; UPDATE_GOLDEN=1 rewrites it (review the diff before committing). */
function expectGolden(name: string, text: string): void {
  if (process.env.UPDATE_GOLDEN) writeFileSync(golden(name), text);
  expect(text).toBe(readFileSync(golden(name), 'utf8'));
}

async function brokenReport(): Promise<Report> {
  const l = healthy();
  l[`/api/v1/namespaces/${NS}/services`]![1] = service('cms-kube-state-metrics', 'kube-state-metrics', 'http-metrics', 8080, { app: 'nothing' });
  l[`/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`]![1] = slice('cms-kube-state-metrics', 'http-metrics', 8080, []);
  const probe: ProbeFn = (t, p) => {
    if ((t as { name: string }).name === 'ne-2') return { outcome: 'timeout', detail: 'no answer within 3000 ms' };
    if (t.kind === 'node' && p.includes('cadvisor')) return { outcome: 'unauthorized', status: 401, detail: 'HTTP 401 from the endpoint: Unauthorized' };
    return healthyProbe(t, p);
  };
  const report = await runChecks(doctorChecks, ctxFor(new FakeApi(l, probe, [NS, 'arms-prom'])), {}, {});
  for (const r of report.results) r.durationMs = 0; // timing is not part of the golden text
  return report;
}

const meta = (report: Report) => ({ context: 'test', server: 'https://127.0.0.1:6443/', namespace: NS, release: 'aliyun-loongcollector-cluster-insight', exitCode: exitCodeFor(report), durationMs: 1234 });

describe('doctor renderers', () => {
  it('renders the human report grouped by category, with hints, fixes and a verdict', async () => {
    const report = await brokenReport();
    const text = renderDoctorHuman(report, meta(report), new Chalk({ level: 0 }), { fixes: [{ id: 'cr.strip-finalizer/x', description: 'remove finalizer f from x', command: 'kubectl patch ...' }] });
    expectGolden('doctor-human.txt', `${text}\n`);
    expect(verdict(report)).toBe('unhealthy');
  });

  it('renders JSON with id, severity, object, evidence and hint for every finding', async () => {
    const report = await brokenReport();
    const json = renderDoctorJson(report, meta(report));
    expectGolden('doctor.json', `${json}\n`);
    const doc = JSON.parse(json);
    expect(doc.exitCode).toBe(1);
    for (const f of doc.findings) expect(Object.keys(f)).toEqual(expect.arrayContaining(['id', 'severity', 'object', 'evidence', 'hint']));
  });

  it('says healthy for a clean run', async () => {
    const report = await runChecks(doctorChecks, ctxFor(new FakeApi(healthy(), healthyProbe)), {}, {});
    const text = renderDoctorHuman(report, meta(report), new Chalk({ level: 0 }));
    expect(text).toMatch(/^PASS: \d+ passed, 0 failed, 0 warnings/m);
    expect(text).toMatch(/Verdict: healthy/);
  });
});
