// doctor under API Priority and Fairness: run as a ServiceAccount whose FlowSchema sends it to a priority
// level with a single share and no queue, the real kube-apiserver rejects part of doctor's requests with
// 429. Doctor must slow down and come back with the same findings as an unthrottled run, not fail.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiMetric, flowIdentity, type FlowIdentity } from '../cluster/flow.js';
import { cli, cluster, FIXTURE_CHART_DIR, FIXTURE_VALUES, fixtureCrdFlags, helm, helmLabel, kubectl, nodeNames, waitForPods } from './support/index.js';

const NS = 'throttle-e2e';
const RELEASE = 'throttle-e2e';

interface Doc { exitCode: number; findings: Array<{ id: string; status: string; message: string }> }

async function doctor(kubeconfig: string): Promise<{ code: number; doc: Doc; stderr: string }> {
  const r = await cli(['doctor', '-n', NS, '--release', RELEASE, '-o', 'json', '--probe-timeout', '2s', '--kubelet-nodes', '1'], { kubeconfig });
  try {
    return { code: r.exitCode, doc: JSON.parse(r.stdout) as Doc, stderr: r.stderr };
  } catch {
    throw new Error(`doctor printed no JSON (exit ${r.exitCode}): ${r.stderr}\n${r.stdout}`);
  }
}
/** What doctor concluded, without the numbers that vary between runs (probe times). */
const verdicts = (d: Doc) => d.findings.map((f) => `${f.id} ${f.status}`).sort();

describe(`doctor throttled by API Priority and Fairness (${helmLabel()})`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'throttle-e2e-'));
  let open: FlowIdentity;
  let tight: FlowIdentity;

  beforeAll(async () => {
    const nodes = await nodeNames();
    await helm(
      ['install', RELEASE, FIXTURE_CHART_DIR, '-n', NS, '--create-namespace', '-f', FIXTURE_VALUES, '-f', '-',
        '--set', 'kubeProxy.enabled=false', '--set', 'gpuExporter.enabled=false', '--set', 'clusterID=throttle-e2e-1', '--wait', '--timeout', '3m', ...(await fixtureCrdFlags())],
      { input: 'accessKeySecret: fixture-not-a-secret\n', timeoutMs: 240_000 },
    );
    await waitForPods(NS, 'app.kubernetes.io/name=node-exporter', nodes.length);
    const admin = cluster().kubeconfig;
    open = await flowIdentity('kubectl', admin, { name: 'insight-e2e-open', shares: 100, reject: false, dir });
    // One share of the server's concurrency and no borrowing: a seat or two; Reject answers 429 at once.
    tight = await flowIdentity('kubectl', admin, { name: 'insight-e2e-tight', shares: 1, reject: true, dir });
  });

  afterAll(async () => {
    await open?.remove().catch(() => {});
    await tight?.remove().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    await helm(['uninstall', RELEASE, '-n', NS, '--wait', '--timeout', '60s'], { allowFail: true });
    await kubectl(['delete', 'clusteraliyunpipelineconfigs', 'custom-kubernetes-throttle-e2e-1-entity-collector', '--ignore-not-found', '--wait=false'], { allowFail: true });
    await kubectl(['patch', 'clusteraliyunpipelineconfigs', 'custom-kubernetes-throttle-e2e-1-entity-collector', '--type=merge', '-p', '{"metadata":{"finalizers":null}}'], { allowFail: true });
    await kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=true', '--timeout=90s'], { allowFail: true });
  });

  it('waits out the 429s and reports what an unthrottled run reports', async () => {
    const admin = cluster().kubeconfig;
    const reference = await doctor(open.kubeconfig);
    const rejected = () => apiMetric('kubectl', admin, 'apiserver_flowcontrol_rejected_requests_total', { flow_schema: tight.flowSchema });
    const before = await rejected();
    // Two doctors at once under the one tight identity: their lists contend for its seat or two.
    const [a, b] = await Promise.all([doctor(tight.kubeconfig), doctor(tight.kubeconfig)]);
    const after = await rejected();
    // The server really rejected some of them, so the runs below were really throttled.
    expect(after - before).toBeGreaterThan(0);
    for (const r of [a, b]) {
      expect(r.stderr).not.toMatch(/429|TooManyRequests|throttl/i);
      expect(r.code).toBe(reference.code);
      expect(verdicts(r.doc), JSON.stringify(r.doc.findings.filter((f) => f.status !== 'passed'))).toEqual(verdicts(reference.doc));
    }
  });
});
