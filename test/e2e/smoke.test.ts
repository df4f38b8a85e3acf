// Smoke test of the e2e harness itself: nodes, the fixture chart with real helm, DaemonSet pods on every
// node, exporters reached through the API server's pod proxy, the operator finalizer stand-in, uninstall.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FIXTURE_CHART_DIR, FIXTURE_VALUES, OPERATOR_FINALIZER, applyYaml, cluster, helm, kubectl, kubectlJson, nodeNames,
  podProxyGet, readyNodeNames, setGpuNode, setNodeExporterTls, skipUnlessNetns, waitFor, waitForPods,
} from './support/cluster.js';

const NS = 'cms-monitoring';
const RELEASE = 'aliyun-loongcollector-cluster-insight';
const CR = 'custom-kubernetes-c1234567890abcdef-entity-collector';
const CRDS = [
  'clusteraliyunpipelineconfigs.telemetry.alibabacloud.com',
  'aliyunlogconfigs.log.alibabacloud.com',
  'podmonitors.monitoring.coreos.com',
  'servicemonitors.monitoring.coreos.com',
  'prometheusrules.monitoring.coreos.com',
  'probes.monitoring.coreos.com',
];

async function crState(name: string): Promise<{ exists: boolean; finalizers: string[]; deleting: boolean }> {
  const r = await kubectl(['get', 'clusteraliyunpipelineconfigs', name, '-o', 'json', '--ignore-not-found'], { allowFail: true });
  if (!r.stdout.trim()) return { exists: false, finalizers: [], deleting: false };
  const o = JSON.parse(r.stdout);
  return { exists: true, finalizers: o.metadata.finalizers ?? [], deleting: Boolean(o.metadata.deletionTimestamp) };
}

describe('e2e harness smoke', () => {
  let nodes: string[] = [];
  let gpuNode = '';

  beforeAll(async () => {
    nodes = await nodeNames();
    gpuNode = nodes[nodes.length - 1] ?? '';
  });

  afterAll(async () => {
    // Leave the cluster as we found it for the next test file, whatever failed above.
    await helm(['uninstall', RELEASE, '-n', NS, '--wait', '--timeout', '60s'], { allowFail: true });
    for (const name of [CR, 'smoke-orphan']) {
      await kubectl(['patch', 'clusteraliyunpipelineconfigs', name, '--type=merge', '-p', '{"metadata":{"finalizers":null}}'], { allowFail: true });
      await kubectl(['delete', 'clusteraliyunpipelineconfigs', name, '--ignore-not-found', '--wait=false'], { allowFail: true });
    }
    await kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=false'], { allowFail: true });
    if (gpuNode) await setGpuNode(gpuNode, false).catch(() => {});
    if (!cluster().netnsSkipReason) await setNodeExporterTls(false).catch(() => {});
  });

  it('has every node Ready', async () => {
    const ready = await readyNodeNames();
    expect(nodes.length).toBeGreaterThan(0);
    if (cluster().mode === 'local') expect(nodes.length).toBe(Number(process.env.INSIGHT_E2E_NODES ?? 3));
    expect(ready.sort()).toEqual([...nodes].sort());
    const { stdout } = await kubectl(['get', 'nodes']);
    expect(stdout.match(/\sReady\s/g)?.length).toBe(nodes.length);
  });

  it('installs the fixture chart with helm: CRDs, DaemonSet pods on every node, the CR with its finalizer', async () => {
    await setGpuNode(gpuNode, true);
    // The secret goes through stdin, never argv.
    await helm(
      ['install', RELEASE, FIXTURE_CHART_DIR, '-n', NS, '--create-namespace', '-f', FIXTURE_VALUES, '-f', '-',
        '--set', 'kubeProxy.enabled=false', '--wait', '--timeout', '3m'],
      { input: 'accessKeySecret: fixture-not-a-secret\n', timeoutMs: 240_000 },
    );
    const crds = await kubectl(['get', 'crd', ...CRDS, '-o', 'name']);
    expect(crds.stdout.trim().split('\n')).toHaveLength(CRDS.length);

    const nodeExporters = await waitForPods(NS, 'app.kubernetes.io/name=node-exporter', nodes.length);
    expect(nodeExporters.map((p) => p.node).sort()).toEqual([...nodes].sort());
    const gpu = await waitForPods(NS, 'app.kubernetes.io/name=gpu-exporter', 1);
    expect(gpu[0]?.node).toBe(gpuNode);

    const cr = await crState(CR);
    expect(cr.exists).toBe(true);
    expect(cr.finalizers).toContain(OPERATOR_FINALIZER);
    const status = await helm(['status', RELEASE, '-n', NS, '-o', 'json']);
    expect(JSON.parse(status.stdout).info.status).toBe('deployed');
  });

  it('reaches node_exporter through the API server pod proxy (http, then https like kube-rbac-proxy)', async (ctx) => {
    skipUnlessNetns(ctx);
    const ps = await waitForPods(NS, 'app.kubernetes.io/name=node-exporter', nodes.length);
    const pod = ps[0]!;
    // hostNetwork: the pod IP is the node's InternalIP, inside the harness's network namespace.
    const nodeIp = (await kubectl(['get', 'node', pod.node!, '-o', 'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}'])).stdout;
    expect(pod.podIP).toBe(nodeIp);
    const http = await podProxyGet(NS, pod.name, 19100);
    expect(http.stdout).toMatch(/^node_uname_info\{/m);

    await setNodeExporterTls(true);
    const https = await podProxyGet(NS, pod.name, 19100, '/metrics', 'https');
    expect(https.stdout).toMatch(/^node_cpu_seconds_total\{/m);
    // Plain http against the TLS port fails the way seed 002 describes.
    const mismatch = await podProxyGet(NS, pod.name, 19100, '/metrics', 'http', { allowFail: true });
    expect(mismatch.exitCode).not.toBe(0);
    // node_exporter answers 400 "Client sent an HTTP request to an HTTPS server"; kubectl shows BadRequest.
    expect(mismatch.stderr).toMatch(/BadRequest/);
    await setNodeExporterTls(false);
  });

  it('releases the CR finalizer while the operator runs, and helm uninstall removes the release', async () => {
    // Uninstall step 1 of the doc: delete the CR while the operator is still there.
    await kubectl(['delete', 'clusteraliyunpipelineconfigs', CR, '--wait=false']);
    await waitFor('CR deleted by the operator stand-in', async () => !(await crState(CR)).exists, { timeoutMs: 30_000 });

    await helm(['uninstall', RELEASE, '-n', NS, '--wait', '--timeout', '2m'], { timeoutMs: 150_000 });
    const list = await helm(['list', '-n', NS, '-a', '-o', 'json']);
    expect(JSON.parse(list.stdout)).toEqual([]);
    const ds = await kubectlJson<{ items: unknown[] }>(['get', 'daemonsets', '-n', NS]);
    expect(ds.items).toEqual([]);
  });

  it('leaves a CR stuck when no operator is running, as the product does', async () => {
    // CRDs stay after helm uninstall (helm never deletes crds/), so the kind still exists.
    await applyYaml({
      apiVersion: 'telemetry.alibabacloud.com/v1alpha1', kind: 'ClusterAliyunPipelineConfig',
      metadata: { name: 'smoke-orphan', finalizers: [OPERATOR_FINALIZER] }, spec: { project: { name: 'smoke' }, config: {} },
    });
    await kubectl(['delete', 'clusteraliyunpipelineconfigs', 'smoke-orphan', '--wait=false']);
    await new Promise((r) => setTimeout(r, 3000));
    const cr = await crState('smoke-orphan');
    expect(cr).toEqual({ exists: true, deleting: true, finalizers: [OPERATOR_FINALIZER] });
  });
});
