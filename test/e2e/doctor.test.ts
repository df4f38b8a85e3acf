// doctor end to end: the fixture chart installed with real helm on the local control plane, each
// failure created for real (kwok scenarios, a held hostPort, an https exporter, stand-in exporters in
// the harness's network namespace), and doctor run as the built CLI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyYaml, cli, cluster, deleteYaml, FIXTURE_CHART_DIR, FIXTURE_VALUES, fixtureCrdFlags, helm, helmLabel, kubectl, kubectlJson,
  netnsSkipReason, nodeNames, occupyHostPort, OPERATOR_FINALIZER, pods, setNodeExporterTls, setPodScenario, startNetnsServer, waitFor,
  waitForPods, type NetnsServer,
} from './support/index.js';
import { STANDIN_METRICS } from '../cluster/standin-metrics.js';

const NS = 'doctor-e2e';
const RELEASE = 'doctor-e2e';
const CLUSTER_ID = 'doctor-e2e-1';
const CR = `custom-kubernetes-${CLUSTER_ID}-entity-collector`;

interface Finding { id: string; status: string; severity: string; message: string; object: string | null; evidence: string[]; hint: string | null }
interface Doc { verdict: string; exitCode: number; findings: Finding[]; fixes: Array<{ id: string; outcome?: string }> }

async function doctor(args: string[] = []): Promise<{ code: number; doc: Doc; ms: number; stderr: string }> {
  const r = await cli(['doctor', '-n', NS, '--release', RELEASE, '-o', 'json', '--probe-timeout', '2s', ...args]);
  let doc: Doc;
  try {
    doc = JSON.parse(r.stdout) as Doc;
  } catch {
    throw new Error(`doctor printed no JSON (exit ${r.exitCode}): ${r.stderr}\n${r.stdout}`);
  }
  return { code: r.exitCode, doc, ms: r.ms, stderr: r.stderr };
}
const failed = (d: Doc) => d.findings.filter((f) => f.status === 'failed');
const find = (d: Doc, id: string, re: RegExp) => d.findings.find((f) => f.id === id && f.status === 'failed' && re.test(f.message));

const { kubeStateMetrics: KSM_BODY, operator: OP_BODY, kubelet: KUBELET_BODY } = STANDIN_METRICS;
const servers: Array<NetnsServer & { stop: () => Promise<void> }> = [];

async function podOf(app: string): Promise<{ name: string; podIP?: string; node?: string }> {
  const [p] = await waitForPods(NS, `app.kubernetes.io/name=${app}`, 1);
  return p!;
}

describe.skipIf(Boolean(netnsSkipReason()))(`doctor (${helmLabel()})`, () => {
  let nodes: string[] = [];
  let ksmServer: (NetnsServer & { stop: () => Promise<void> }) | undefined;
  let kubeletServer: (NetnsServer & { stop: () => Promise<void> }) | undefined;
  let kubeletIp = '';

  beforeAll(async () => {
    nodes = await nodeNames();
    await helm(
      ['install', RELEASE, FIXTURE_CHART_DIR, '-n', NS, '--create-namespace', '-f', FIXTURE_VALUES, '-f', '-',
        '--set', 'kubeProxy.enabled=false', '--set', 'gpuExporter.enabled=false', '--set', `clusterID=${CLUSTER_ID}`, '--wait', '--timeout', '3m', ...(await fixtureCrdFlags())],
      { input: 'accessKeySecret: fixture-not-a-secret\n', timeoutMs: 240_000 },
    );
    await waitForPods(NS, 'app.kubernetes.io/name=node-exporter', nodes.length);
    // Stand-in exporters on the pod IPs the fake pods got, and kubelets on the node IPs.
    const ksm = await podOf('kube-state-metrics');
    const op = await podOf('loongcollector-operator');
    ksmServer = await startNetnsServer({ ip: ksm.podIP!, port: 8080, mode: 'http', body: KSM_BODY });
    servers.push(ksmServer, await startNetnsServer({ ip: op.podIP!, port: 8888, mode: 'http', body: OP_BODY }));
    const nodeIps = (await pods(NS, 'app.kubernetes.io/name=node-exporter')).map((p) => p.podIP!);
    kubeletIp = nodeIps[0]!;
    kubeletServer = await startNetnsServer({ ip: kubeletIp, port: 10250, mode: 'https', body: KUBELET_BODY });
    servers.push(kubeletServer);
    // The operator stand-in does not report status; the real operator sets status.success.
    await kubectl(['patch', 'clusteraliyunpipelineconfigs', CR, '--subresource=status', '--type=merge', '-p', '{"status":{"success":true,"message":"ok"}}']);
  });

  afterAll(async () => {
    for (const s of servers) await s.stop().catch(() => {});
    if (!cluster().netnsSkipReason) await setNodeExporterTls(false).catch(() => {});
    await kubectl(['delete', 'clusteraliyunpipelineconfigs', CR, '--ignore-not-found', '--wait=false'], { allowFail: true });
    await waitFor('CR gone', async () => !(await kubectl(['get', 'clusteraliyunpipelineconfigs', CR, '--ignore-not-found', '-o', 'name'], { allowFail: true })).stdout.trim(), { timeoutMs: 30_000 }).catch(() => {});
    await helm(['uninstall', RELEASE, '-n', NS, '--wait', '--timeout', '60s'], { allowFail: true });
    for (const name of [CR, 'doctor-e2e-stuck', 'doctor-e2e-foreign']) {
      await kubectl(['patch', 'clusteraliyunpipelineconfigs', name, '--type=merge', '-p', '{"metadata":{"finalizers":null}}'], { allowFail: true });
      await kubectl(['delete', 'clusteraliyunpipelineconfigs', name, '--ignore-not-found', '--wait=false'], { allowFail: true });
    }
    await kubectl(['delete', 'pod', '-n', 'default', '--ignore-not-found', '--wait=false', '-l', 'app.kubernetes.io/name=hostport-holder'], { allowFail: true });
    await kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=true', '--timeout=90s'], { allowFail: true });
  });

  it('gives a healthy install a clean report and exit 0', async () => {
    const { code, doc } = await doctor(['--kubelet-nodes', '1', '--fail-on', 'warning']);
    expect(failed(doc).map((f) => `${f.id}: ${f.message}`)).toEqual([]);
    expect(code).toBe(0);
    expect(doc.verdict).toBe('healthy');
    const ne = doc.findings.find((f) => f.id === 'exporters.node-exporter')!;
    expect(ne.message).toMatch(new RegExp(`^node-exporter answers over http on ${nodes.length} of ${nodes.length} pods`));
    expect(ne.evidence.join("\n")).toContain("has node_cpu_seconds_total");
  });

  it('names a crash-looping pod with its restarts and last exit', async () => {
    const ksm = await podOf('kube-state-metrics');
    await setPodScenario(NS, ksm.name, 'crashloop');
    try {
      await waitFor('CrashLoopBackOff', async () => {
        const p = await kubectlJson(['get', 'pod', '-n', NS, ksm.name]);
        return p.status?.containerStatuses?.some((c: any) => c.state?.waiting?.reason === 'CrashLoopBackOff');
      });
      const { code, doc } = await doctor(['--logs', '--only', 'pods']);
      const f = find(doc, 'pods.health', /CrashLoopBackOff/);
      expect(f, JSON.stringify(failed(doc))).toBeDefined();
      expect(f!.severity).toBe('fatal');
      expect(f!.message).toMatch(/\d+ restarts?; last exit: /);
      expect(f!.hint).toContain(`kubectl logs -n ${NS} ${ksm.name} -c kube-state-metrics --previous`);
      expect(code).toBe(1);
    } finally {
      await setPodScenario(NS, ksm.name, null);
      await kubectl(['delete', 'pod', '-n', NS, ksm.name, '--wait=false']);
    }
  });

  it('names a bad image with its registry and the --image-registry hint', async () => {
    const op = await podOf('loongcollector-operator');
    await setPodScenario(NS, op.name, 'imagepullbackoff');
    try {
      await waitFor('ImagePullBackOff', async () => {
        const p = await kubectlJson(['get', 'pod', '-n', NS, op.name]);
        return p.status?.containerStatuses?.some((c: any) => /ImagePull|ErrImage/.test(c.state?.waiting?.reason ?? ''));
      });
      const { code, doc } = await doctor(['--only', 'pods']);
      const f = find(doc, 'pods.health', /cannot pull image registry-cn-hangzhou\.ack\.aliyuncs\.com\/acs\/loongcollector-operator/);
      expect(f, JSON.stringify(failed(doc))).toBeDefined();
      expect(f!.hint).toContain('--image-registry');
      expect(f!.hint).toContain('registry-cn-hangzhou.ack.aliyuncs.com');
      expect(code).toBe(1);
    } finally {
      await setPodScenario(NS, op.name, null);
      await kubectl(['delete', 'pod', '-n', NS, op.name, '--wait=false']);
      await waitForPods(NS, 'app.kubernetes.io/name=loongcollector-operator', 1);
    }
  });

  it('names a hostPort held by another pod as the reason node-exporter stays Pending', async () => {
    const node = nodes[0]!;
    // Another pod holds 19200 on the node; then the chart moves node-exporter to 19200. (Deleting a
    // running DaemonSet pod to make it re-schedule onto a held port did not reproduce the conflict here.)
    const holder = await occupyHostPort({ node, port: 19200, namespace: 'default', name: 'doctor-e2e-hostport' });
    try {
      await helm(['upgrade', RELEASE, FIXTURE_CHART_DIR, '-n', NS, '--reuse-values', '--set', 'nodeExporter.port=19200'], { timeoutMs: 120_000 });
      await waitFor('a Pending node-exporter', async () => (await pods(NS, 'app.kubernetes.io/name=node-exporter')).some((p) => p.phase === 'Pending'));
      await waitFor('FailedScheduling event', async () => (await kubectl(['get', 'events', '-n', NS, '--field-selector', 'reason=FailedScheduling', '-o', 'name'])).stdout.trim());
      const { code, doc } = await doctor(['--only', 'pods']);
      const f = find(doc, 'pods.health', /cannot be scheduled: .*free ports/);
      expect(f, JSON.stringify(failed(doc))).toBeDefined();
      expect(f!.severity).toBe('fatal');
      expect(f!.hint).toContain('hostPort 19200');
      expect(f!.evidence.join('\n')).toContain(`node: ${node}`);
      expect(find(doc, 'pods.daemonset-coverage', /not Running on 1 of/)).toBeDefined();
      expect(code).toBe(1);
    } finally {
      await kubectl(['delete', 'pod', '-n', 'default', holder, '--wait=true']);
      await helm(['upgrade', RELEASE, FIXTURE_CHART_DIR, '-n', NS, '--reuse-values', '--set', 'nodeExporter.port=19100', '--wait', '--timeout', '2m'], { timeoutMs: 150_000 });
      await waitForPods(NS, 'app.kubernetes.io/name=node-exporter', nodes.length);
    }
  });

  it('names a ServiceMonitor with scheme http against an exporter serving https', async () => {
    await setNodeExporterTls(true);
    try {
      const { code, doc } = await doctor(['--only', 'scrape', '--only', 'exporters.node-exporter']);
      const f = find(doc, 'scrape.servicemonitors', /cms-node-exporter endpoint http-metrics: scheme http but the endpoint .*:19100 speaks https/);
      expect(f, JSON.stringify(failed(doc))).toBeDefined();
      expect(f!.severity).toBe('fatal');
      expect(f!.evidence.join('\n')).toMatch(/http: wrong protocol/);
      expect(f!.hint).toContain('scheme: https');
      expect(code).toBe(1);
      // The exporter check still sees it answering (over https), so the cause is the monitor, not the exporter.
      expect(doc.findings.find((x) => x.id === 'exporters.node-exporter' && x.status === 'passed')!.message).toMatch(/answers over https/);
    } finally {
      await setNodeExporterTls(false);
    }
  });

  it('names a port name that matches nothing and a Service that selects no pod', async () => {
    const objs = [
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'doctor-orphan', namespace: NS, labels: { app: 'doctor-orphan' } }, spec: { selector: { app: 'nothing-has-this' }, ports: [{ name: 'metrics', port: 9100 }] } },
      { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'doctor-orphan', namespace: NS }, spec: { selector: { matchLabels: { app: 'doctor-orphan' } }, endpoints: [{ port: 'metrics' }] } },
      { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'doctor-badport', namespace: NS }, spec: { selector: { matchLabels: { 'app.kubernetes.io/name': 'node-exporter' } }, endpoints: [{ port: 'https-metrics', scheme: 'https' }] } },
    ];
    await applyYaml(objs);
    try {
      const { code, doc } = await doctor(['--only', 'scrape']);
      const port = find(doc, 'scrape.servicemonitors', /doctor-badport endpoint https-metrics: port "https-metrics" matches no port/);
      expect(port, JSON.stringify(failed(doc))).toBeDefined();
      expect(port!.evidence.join('\n')).toContain('http-metrics=19100');
      const orphan = find(doc, 'scrape.servicemonitors', /Service doctor-e2e\/doctor-orphan has no endpoints: its selector matches no pod/);
      expect(orphan, JSON.stringify(failed(doc))).toBeDefined();
      expect(orphan!.object).toBe(`service/${NS}/doctor-orphan`);
      expect(code).toBe(1);
    } finally {
      await deleteYaml(objs);
    }
  });

  it('names a stopped exporter (refused) and a black-holed one (timed out, bounded by the probe timeout)', async () => {
    const ksm = await podOf('kube-state-metrics');
    await ksmServer?.stop();
    servers.splice(servers.indexOf(ksmServer!), 1);
    let r = await doctor(['--only', 'exporters.kube-state-metrics']);
    let f = find(r.doc, 'exporters.kube-state-metrics', /connection refused on 1 of 1 pod/);
    expect(f, JSON.stringify(failed(r.doc))).toBeDefined();
    expect(f!.severity).toBe('fatal');
    expect(f!.evidence.join('\n')).toContain(`${ksm.podIP}:8080: connect: connection refused`);
    expect(r.code).toBe(1);

    const hole = await startNetnsServer({ ip: ksm.podIP!, port: 8080, mode: 'blackhole' });
    servers.push(hole);
    r = await doctor(['--only', 'exporters.kube-state-metrics']);
    f = find(r.doc, 'exporters.kube-state-metrics', /timed out on 1 of 1 pod/);
    expect(f, JSON.stringify(failed(r.doc))).toBeDefined();
    expect(f!.hint).toMatch(/firewall/);
    // What a black-holed exporter costs in time is measured by scripts/bench-doctor.ts, not bounded here.
    await hole.stop();
    servers.splice(servers.indexOf(hole), 1);
    ksmServer = await startNetnsServer({ ip: ksm.podIP!, port: 8080, mode: 'http', body: KSM_BODY });
    servers.push(ksmServer);
  });

  it('tells a kubelet answering 401 (token webhook off) from one answering 403 (RBAC nodes/metrics)', async () => {
    const swap = async (status: number) => {
      await kubeletServer!.stop();
      servers.splice(servers.indexOf(kubeletServer!), 1);
      kubeletServer = await startNetnsServer({ ip: kubeletIp, port: 10250, mode: 'https', status, body: status === 200 ? KUBELET_BODY : 'Unauthorized' });
      servers.push(kubeletServer);
    };
    try {
      await swap(401);
      let r = await doctor(['--only', 'kubelet', '--kubelet-nodes', '1']);
      let f = find(r.doc, 'kubelet.cadvisor', /401 Unauthorized/);
      expect(f, JSON.stringify(failed(r.doc))).toBeDefined();
      expect(f!.hint).toContain('--authentication-token-webhook=true --authorization-mode=Webhook');
      expect(r.code).toBe(1);
      await swap(403);
      r = await doctor(['--only', 'kubelet', '--kubelet-nodes', '1']);
      f = find(r.doc, 'kubelet.metrics', /403 Forbidden/);
      expect(f, JSON.stringify(failed(r.doc))).toBeDefined();
      expect(f!.hint).toContain('nodes/metrics');
    } finally {
      await swap(200);
    }
  });

  it('names a CR stuck Terminating with the operator gone, and --fix --yes clears it', async () => {
    await kubectl(['scale', 'deployment', '-n', NS, 'cms-loongcollector-operator', '--replicas=0']);
    try {
      await waitFor('operator gone', async () => (await pods(NS, 'app.kubernetes.io/name=loongcollector-operator')).length === 0);
      const cr = (name: string, release: string, namespace: string) => ({
        apiVersion: 'telemetry.alibabacloud.com/v1alpha1', kind: 'ClusterAliyunPipelineConfig',
        metadata: { name, annotations: { 'meta.helm.sh/release-name': release, 'meta.helm.sh/release-namespace': namespace }, finalizers: [OPERATOR_FINALIZER] },
        spec: { project: { name: 'p' }, config: {} },
      });
      // Ours, and another installation's (stuck too): only ours may lose its finalizer.
      await applyYaml([cr('doctor-e2e-stuck', RELEASE, NS), cr('doctor-e2e-foreign', 'other-team', 'other-team-ns')]);
      await kubectl(['delete', 'clusteraliyunpipelineconfigs', 'doctor-e2e-stuck', 'doctor-e2e-foreign', '--wait=false']);
      const foreignBefore = (await kubectlJson<any>(['get', 'clusteraliyunpipelineconfigs', 'doctor-e2e-foreign'])).metadata;
      // doctor calls a deletion stuck after a minute: wait it out rather than fake the clock.
      await new Promise((r) => setTimeout(r, 62_000));
      const { code, doc } = await doctor(['--only', 'cr']);
      const f = find(doc, 'cr.pipeline-config', /doctor-e2e-stuck is stuck Terminating .*operator is gone \(Deployment doctor-e2e\/cms-loongcollector-operator is scaled to zero\)/);
      expect(doc.findings.some((x) => x.message.includes('doctor-e2e-foreign'))).toBe(false);
      expect(f, JSON.stringify(failed(doc))).toBeDefined();
      expect(f!.severity).toBe('fatal');
      expect(f!.hint).toContain('kubectl insight uninstall');
      expect(f!.hint).toContain('--fix');
      expect(doc.fixes.map((x) => x.id)).toEqual(['cr.strip-finalizer/doctor-e2e-stuck']);
      expect(code).toBe(1);

      // Without a terminal and without --yes, --fix refuses to change anything.
      const refused = await cli(['doctor', '-n', NS, '--release', RELEASE, '--only', 'cr', '--fix']);
      expect(refused.exitCode).toBe(6);
      const fixed = await doctor(['--only', 'cr', '--fix', '--yes']);
      expect(fixed.doc.fixes).toEqual([expect.objectContaining({ id: 'cr.strip-finalizer/doctor-e2e-stuck', outcome: 'applied' })]);
      await waitFor('stuck CR gone', async () => !(await kubectl(['get', 'clusteraliyunpipelineconfigs', 'doctor-e2e-stuck', '--ignore-not-found', '-o', 'name'])).stdout.trim());
      // The other installation's CR is exactly as it was: still Terminating, finalizer on, same version.
      const foreignAfter = (await kubectlJson<any>(['get', 'clusteraliyunpipelineconfigs', 'doctor-e2e-foreign'])).metadata;
      expect({ rv: foreignAfter.resourceVersion, finalizers: foreignAfter.finalizers }).toEqual({ rv: foreignBefore.resourceVersion, finalizers: [OPERATOR_FINALIZER] });
    } finally {
      await kubectl(['scale', 'deployment', '-n', NS, 'cms-loongcollector-operator', '--replicas=1']);
    }
  });
});
