// Smoke test of the e2e harness itself: nodes, the fixture chart with real helm, DaemonSet pods on every
// node, exporters reached through the API server's pod proxy, the operator finalizer stand-in, uninstall.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyYaml, cluster, crState, events, FIXTURE_CHART_DIR, FIXTURE_VALUES, fixtureCrdFlags, helm, HELM_LIST_ALL, helmLabel, hostPortConflict,
  kubectl, kubectlJson, mintKubeconfig, nodeInternalIp, nodeNames, OPERATOR_FINALIZER, podProxyGet, readyNodeNames, scenarioAnnotations,
  setGpuNode, setNodeExporterTls, setNodeNotReady, setPodScenario, skipUnlessNetns, startNetnsServer, waitFor, waitForPods,
} from './support/index.js';

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

describe(`e2e harness smoke (${helmLabel()})`, () => {
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
    await kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=true', '--timeout=90s'], { allowFail: true });
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
        '--set', 'kubeProxy.enabled=false', '--wait', '--timeout', '3m', ...(await fixtureCrdFlags())],
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
    const list = await helm(['list', '-n', NS, ...HELM_LIST_ALL, '-o', 'json']);
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

describe(`e2e harness scenarios (${helmLabel()})`, () => {
  const ns = 'insight-harness';
  const containerStatus = async (pod: string, container = 'app') => {
    const p = await kubectlJson<any>(['get', 'pod', pod, '-n', ns]);
    return { phase: p.status?.phase as string | undefined, ready: p.status?.conditions?.find((c: any) => c.type === 'Ready')?.status, cs: (p.status?.containerStatuses ?? []).find((c: any) => c.name === container) };
  };
  const pod = (name: string, annotations: Record<string, string> = {}, image = 'example.invalid/app:1') => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, annotations },
    spec: { containers: [{ name: 'app', image }, { name: 'sidecar', image: 'example.invalid/sidecar:1' }] },
  });

  beforeAll(async () => {
    await kubectl(['create', 'namespace', ns]);
    await waitFor('default ServiceAccount', async () => (await kubectl(['get', 'sa', 'default', '-n', ns], { allowFail: true })).exitCode === 0);
  });
  afterAll(async () => {
    // Wait: a namespace still terminating when the next file starts shows up in its before/after snapshots.
    await kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--wait=true', '--timeout=90s'], { allowFail: true, timeoutMs: 120_000 });
  });

  it('plays crashloop and oomkilled with growing restart counts, limited to one container', async () => {
    await applyYaml([
      pod('crash', scenarioAnnotations('crashloop', { container: 'app', restartInterval: '1s' })),
      pod('oom', scenarioAnnotations('oomkilled', { container: 'app', restartInterval: '1s' })),
    ]);
    const crash = await waitFor('crash restarted twice', async () => {
      const s = await containerStatus('crash');
      return s.cs?.restartCount >= 2 ? s : undefined;
    }, { timeoutMs: 30_000 });
    expect(crash.phase).toBe('Running');
    expect(crash.ready).toBe('False');
    expect(crash.cs.state.waiting.reason).toBe('CrashLoopBackOff');
    expect(crash.cs.lastState.terminated).toMatchObject({ reason: 'Error', exitCode: 1 });
    expect((await containerStatus('crash', 'sidecar')).cs).toMatchObject({ ready: true, restartCount: 0 });
    const oom = await waitFor('oom restarted', async () => {
      const s = await containerStatus('oom');
      return s.cs?.restartCount >= 1 ? s : undefined;
    }, { timeoutMs: 30_000 });
    expect(oom.cs.lastState.terminated).toMatchObject({ reason: 'OOMKilled', exitCode: 137 });
    expect((await events(ns, 'crash')).some((e) => e.reason === 'BackOff')).toBe(true);
  });

  it('plays imagepullbackoff naming the image, never-ready, and recovers when the annotation goes', async () => {
    await applyYaml([pod('pull', scenarioAnnotations('imagepullbackoff', { container: 'app' }), 'registry.example.invalid/team/app:2'), pod('unready', scenarioAnnotations('never-ready'))]);
    const pull = await waitFor('ImagePullBackOff', async () => {
      const s = await containerStatus('pull');
      return s.cs?.state?.waiting?.reason === 'ImagePullBackOff' ? s : undefined;
    });
    expect(pull.phase).toBe('Pending');
    expect(pull.cs.state.waiting.message).toContain('"registry.example.invalid/team/app:2"');
    const unready = await waitFor('never-ready', async () => {
      const s = await containerStatus('unready');
      return s.phase === 'Running' && s.ready === 'False' ? s : undefined;
    });
    expect(unready.cs.state.running).toBeDefined();

    await setPodScenario(ns, 'pull', null);
    await waitFor('pull Ready after the scenario is removed', async () => (await containerStatus('pull')).ready === 'True');
    await setPodScenario(ns, 'unready', 'crashloop', { restartInterval: '1s' });
    await waitFor('annotating a running pod switches its scenario', async () => (await containerStatus('unready')).cs?.state?.waiting?.reason === 'CrashLoopBackOff');
  });

  it('leaves a pod Pending with FailedScheduling when its hostPort is taken on the node', async () => {
    const [node] = await nodeNames();
    const r = await hostPortConflict({ node: node!, port: 19100, namespace: ns });
    expect(r.message).toMatch(/didn't have free ports/);
    expect((await containerStatus(r.pending)).phase).toBe('Pending');
  });

  it('turns a node NotReady and back', async () => {
    const nodes = await nodeNames();
    const node = nodes[0]!;
    await setNodeNotReady(node, true, 'container runtime is down');
    const cond = (await kubectlJson<any>(['get', 'node', node])).status.conditions.find((c: any) => c.type === 'Ready');
    expect(cond).toMatchObject({ status: 'False', reason: 'KubeletNotReady', message: 'container runtime is down' });
    await setNodeNotReady(node, false);
    expect(await readyNodeNames()).toContain(node);
  });

  it('mints kubeconfigs for other users that RBAC limits', async (ctx) => {
    if (!cluster().name) return ctx.skip('needs the local harness cluster');
    const kc = await mintKubeconfig('insight-e2e-viewer', ['insight-e2e']);
    const r = await kubectl(['--kubeconfig', kc, 'get', 'pods', '-n', ns], { allowFail: true });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/forbidden.*User "insight-e2e-viewer"/);
  });

  it('runs stand-in exporters in the network namespace on a node IP: http, https, blackhole', async (ctx) => {
    skipUnlessNetns(ctx);
    const ip = await nodeInternalIp((await nodeNames())[0]!);
    const http = await startNetnsServer({ ip, port: 18080, mode: 'http', body: 'custom_metric 42\n' });
    const https = await startNetnsServer({ ip, port: 18443, mode: 'https' });
    const hole = await startNetnsServer({ ip, port: 18999, mode: 'blackhole' });
    try {
      expect(await (await fetch(`${http.url}/metrics`)).text()).toBe('custom_metric 42\n');
      // Self-signed: a verifying client refuses it.
      await expect(fetch(`${https.url}/metrics`)).rejects.toThrow();
      // Held until our own deadline (TimeoutError), not refused at once (TypeError: fetch failed).
      await expect(fetch(`${hole.url}/metrics`, { signal: AbortSignal.timeout(1500) })).rejects.toMatchObject({ name: 'TimeoutError' });
      // Also through the API server, as the product reaches exporters: a hostNetwork pod on that node.
      await applyYaml({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'hostnet', namespace: ns }, spec: { hostNetwork: true, nodeName: (await nodeNames())[0], containers: [{ name: 'app', image: 'example.invalid/app:1' }] } });
      await waitFor('hostnet Running', async () => (await containerStatus('hostnet')).phase === 'Running');
      expect((await podProxyGet(ns, 'hostnet', 18080)).stdout.trim()).toBe('custom_metric 42');
      expect((await podProxyGet(ns, 'hostnet', 18443, '/metrics', 'https')).stdout).toContain('insight_test_up 1');
    } finally {
      await Promise.all([http.stop(), https.stop(), hole.stop()]);
    }
    await expect(fetch(`${http.url}/metrics`)).rejects.toThrow();
  });
});
