// In-cluster network probes end to end: the product creates real probe pods through the API server,
// the scheduler binds them to kwok's nodes, and a stand-in runtime (test/unit/net/helpers/
// probe-kubelet.ts) runs each pod's own command inside a network namespace that plays that node's
// network; the product reads the results back from the pod status and deletes the pods.
// Node kwok-node-0 gets a "good" network (the endpoints' stand-ins answer), every other node a
// "bad" one (nothing listens), so per-node results and the naming of failing nodes are visible.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKube, type Kube } from '../../src/kube/client.js';
import { runPreflight } from '../../src/checks/preflight/index.js';
import { PROBE_LABELS } from '../../src/net/probe-pods.js';
import { generatePki } from '../support/cloud-standin/pki.js';
import { createTestNetns, netnsSkipReason, type TestNetns } from '../unit/net/helpers/netns.js';
import { startProbeKubelet, type ProbeKubelet } from '../unit/net/helpers/probe-kubelet.js';
import { cluster, kubectl, kubectlJson, readyNodeNames, spawnCli, waitFor } from './support/index.js';

// A fresh name per run: a namespace from a previous run may still be terminating.
const NS = `insight-e2e-preflight-net-${Date.now().toString(36)}`;
const REGION = 'cn-hangzhou';
const SLS = `${REGION}.log.aliyuncs.com`;
const CMS = `cms.${REGION}.aliyuncs.com`;
const skip = netnsSkipReason();

describe.skipIf(skip)(`preflight network probes from probe pods${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let kube: Kube;
  let good: TestNetns;
  let bad: TestNetns;
  let nodes: string[];
  let overrides: Record<string, { address: string; port: number; ca?: string }>;
  const pki = generatePki(['*.cn-hangzhou.aliyuncs.com', '*.log.aliyuncs.com', '*.cn-hangzhou.log.aliyuncs.com']);

  beforeAll(async () => {
    cluster();
    kube = createKube({ kubeconfig: cluster().kubeconfig });
    // The nodes a probe can run on (other suites may leave a node NotReady).
    nodes = (await readyNodeNames()).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    await kubectl(['create', 'namespace', NS], { allowFail: true });
    good = createTestNetns(`ipf-good-${process.pid}`);
    bad = createTestNetns(`ipf-bad-${process.pid}`);
    const tls = await good.startServer({ mode: 'https', cert: pki.certPem, key: pki.keyPem });
    const plain = await good.startServer({ mode: 'http' });
    overrides = {
      [SLS]: { address: '127.0.0.1', port: tls.port, ca: pki.caPem },
      [CMS]: { address: '127.0.0.1', port: plain.port },
    };
  }, 120_000);

  afterAll(async () => {
    await kubectl(['delete', 'namespace', NS, '--wait=true', '--timeout=90s', '--ignore-not-found'], { allowFail: true });
    good?.destroy();
    bad?.destroy();
  });

  const netnsFor = (node: string) => (node === nodes[0] ? good : bad);
  const probePods = async () => (await kubectlJson<{ items: unknown[] }>(['get', 'pods', '-n', NS, '-l', `${PROBE_LABELS.name.key}=${PROBE_LABELS.name.value}`])).items;
  const run = (extra: Record<string, unknown> = {}) =>
    runPreflight({ region: REGION, only: ['network.'], endpointOverrides: overrides, probeNamespace: NS, probeTimeoutMs: 60_000, deps: { kube, probePollMs: 300 }, ...extra });

  it('probes from every node, names the failing ones, classifies each endpoint, and deletes the pods', async () => {
    const kubelet: ProbeKubelet = startProbeKubelet({ core: kube.core, namespace: NS, netnsFor });
    try {
      const report = await run();
      const rows = (id: string) => report.results.filter((r) => r.id === id);
      expect(new Set(kubelet.handled.values())).toEqual(new Set(nodes));
      const sls = rows('network.sls');
      expect(sls.find((r) => r.status === 'passed')).toMatchObject({ vantage: `node/${nodes[0]}`, object: `endpoint/${SLS}` });
      const slsFailed = sls.filter((r) => r.status === 'failed');
      expect(slsFailed.map((r) => r.vantage).sort()).toEqual(nodes.slice(1).map((n) => `node/${n}`).sort());
      for (const r of slsFailed) expect(r.message).toContain('refuses TCP 443');
      const cms = rows('network.cms');
      expect(cms.find((r) => r.vantage === `node/${nodes[0]}`)).toMatchObject({ status: 'failed', severity: 'warning' });
      expect(cms.find((r) => r.vantage === `node/${nodes[0]}`)!.message).toContain('plain HTTP');
      expect(rows('network.probe')[0]!.message).toContain(`probed from ${nodes.length} node`);
      expect(await probePods()).toEqual([]);
    } finally {
      await kubelet.stop();
    }
  }, 120_000);

  it('--sample 1 probes one node only', async () => {
    const kubelet = startProbeKubelet({ core: kube.core, namespace: NS, netnsFor });
    try {
      const report = await run({ sample: 1 });
      expect(kubelet.handled.size).toBe(1);
      const probe = report.results.find((r) => r.id === 'network.probe' && r.status === 'passed')!;
      expect(probe.evidence).toContain(`${nodes.length - 1} eligible nodes not probed (--sample)`);
      expect(await probePods()).toEqual([]);
    } finally {
      await kubelet.stop();
    }
  }, 120_000);

  it('an image the nodes cannot pull is named per node with the --probe-image hint; endpoints are not called reachable', async () => {
    const kubelet = startProbeKubelet({ core: kube.core, namespace: NS, netnsFor, pullable: (img) => !img.startsWith('unpullable.invalid/') });
    try {
      const report = await run({ probeImage: 'unpullable.invalid/curl:0' });
      const failures = report.results.filter((r) => r.id === 'network.probe' && r.status === 'failed');
      expect(failures.map((f) => f.vantage).sort()).toEqual(nodes.map((n) => `node/${n}`).sort());
      expect(failures[0]!.message).toContain('cannot pull the probe image unpullable.invalid/curl:0');
      expect(failures[0]!.hint).toContain('--probe-image');
      expect(report.results.filter((r) => r.id === 'network.sls').map((r) => r.status)).toEqual(['skipped']);
      expect(await probePods()).toEqual([]);
    } finally {
      await kubelet.stop();
    }
  }, 120_000);

  it('Ctrl-C during the probes: the CLI deletes its probe pods and exits 130', async () => {
    // No runtime: the pods stay Running without output, as if the probes hung.
    const child = spawnCli(['preflight', '--region', REGION, '--only', 'network.', '--probe-namespace', NS, '-o', 'json'], {
      env: { KUBECTL_INSIGHT_ENDPOINT_OVERRIDES: JSON.stringify(overrides) },
    });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += String(d)));
    child.stderr?.on('data', (d: Buffer) => (output += String(d)));
    await waitFor('probe pods created', async () => (await probePods()).length === nodes.length, { timeoutMs: 60_000 }).catch((e: Error) => {
      child.kill('SIGKILL');
      throw new Error(`${e.message}; CLI output: ${output.slice(0, 2000)}`);
    });
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    await waitFor('probe pods gone', async () => (await probePods()).length === 0, { timeoutMs: 20_000 });
  }, 120_000);
});
