import type { V1DaemonSet, V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { runChecks } from '../../../src/checks/engine.js';
import { conflictChecks, decideCrds, decideKubePrometheusStack, decideDuplicate, decideHostPort, decideRelease, decideTaints, isKubePrometheusStack } from '../../../src/checks/preflight/conflicts.js';
import { daemonSetScheduling } from '../../../src/checks/preflight/index.js';
import type { CrdDecision } from '../../../src/kube/ownership.js';
import { fakeCtx, node, pod, workload } from './helpers.js';

const inst = { release: 'aliyun-loongcollector-cluster-insight', namespace: 'cms-monitoring' };
const [nodeExporter, gpuExporter] = daemonSetScheduling();
const ours = { 'meta.helm.sh/release-name': inst.release, 'meta.helm.sh/release-namespace': inst.namespace };

describe('hostPort checks', () => {
  it('counts a hostNetwork pod\'s containerPort; a UDP hostPort does not take the TCP port', () => {
    const nodes = [node('n1')];
    expect(decideHostPort(19100, 'node-exporter', [pod('a', 'p', 'n1', [{ containerPort: 19100 }], { hostNetwork: true })], nodes, nodeExporter, inst).status).toBe('failed');
    expect(decideHostPort(19100, 'node-exporter', [pod('a', 'p', 'n1', [{ containerPort: 19100, hostPort: 19100, protocol: 'UDP' }])], nodes, nodeExporter, inst).status).toBe('passed');
  });
  it('names the nodes and pods holding 19100; ignores our own release and finished pods', () => {
    const nodes = [node('n1'), node('n2'), node('n3')];
    const pods = [
      pod('monitoring', 'other-ne-abc', 'n2', [{ containerPort: 19100, hostPort: 19100 }]),
      pod('cms-monitoring', 'cms-node-exporter-x', 'n1', [{ containerPort: 19100, hostPort: 19100 }], { annotations: ours }),
      pod('old', 'done', 'n3', [{ containerPort: 19100, hostPort: 19100 }], { phase: 'Succeeded' }),
    ];
    const f = decideHostPort(19100, 'node-exporter', pods, nodes, nodeExporter, inst);
    expect(f.status).toBe('failed');
    expect(f.message).toContain('1 node (n2)');
    expect(f.evidence).toEqual(['node/n2: pod monitoring/other-ne-abc (container c)']);
    expect(decideHostPort(19100, 'node-exporter', pods.slice(1), nodes, nodeExporter, inst).status).toBe('passed');
  });
  it('on an upgrade, our own pods (owned by our DaemonSet, without our labels) do not conflict', () => {
    const p = pod('cms-monitoring', 'cms-node-exporter-abc', 'n1', [{ containerPort: 19100, hostPort: 19100 }]);
    p.metadata!.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'cms-node-exporter', uid: 'u', controller: true }];
    expect(decideHostPort(19100, 'node-exporter', [p], [node('n1')], nodeExporter, inst, new Set(['cms-monitoring/cms-node-exporter'])).status).toBe('passed');
    expect(decideHostPort(19100, 'node-exporter', [p], [node('n1')], nodeExporter, inst, new Set()).status).toBe('failed');
  });
  it('checks 9445 only on GPU nodes, and not at all when gpu-exporter is disabled', () => {
    const taken = [pod('x', 'dcgm', 'cpu1', [{ containerPort: 9445, hostPort: 9445 }])];
    expect(decideHostPort(9445, 'gpu-exporter', taken, [node('cpu1')], gpuExporter, inst).message).toContain('no node carries');
    const gpu = node('cpu1', { labels: { 'aliyun.accelerator/nvidia_name': 'T4' } });
    expect(decideHostPort(9445, 'gpu-exporter', taken, [gpu], gpuExporter, inst).status).toBe('failed');
    expect(decideHostPort(9445, 'gpu-exporter', taken, [gpu], { ...gpuExporter!, enabled: false }, inst).status).toBe('skipped');
  });
});

describe('duplicates', () => {
  const kpsNe = workload<V1DaemonSet>('DaemonSet', 'monitoring', 'kps-prometheus-node-exporter', 'quay.io/prometheus/node-exporter:v1.9.1', { 'app.kubernetes.io/name': 'prometheus-node-exporter', release: 'kps', 'app.kubernetes.io/part-of': 'kube-prometheus-stack' });
  it('flags a foreign node-exporter and says which value disables ours', () => {
    const f = decideDuplicate('node-exporter', [kpsNe], true, inst, 'nodeExporter.enabled');
    expect(f.status).toBe('failed');
    expect(f.hint).toContain('--set nodeExporter.enabled=false');
    expect(f.evidence![0]).toContain('monitoring/kps-prometheus-node-exporter');
  });
  it('passes when ours is disabled, or the only one is ours', () => {
    expect(decideDuplicate('node-exporter', [kpsNe], false, inst, 'nodeExporter.enabled').status).toBe('passed');
    const mine = workload<V1DaemonSet>('DaemonSet', 'cms-monitoring', 'cms-node-exporter', 'x/node-exporter:1', {}, ours);
    expect(decideDuplicate('node-exporter', [mine], true, inst, 'nodeExporter.enabled').status).toBe('passed');
  });
  it('recognises kube-prometheus-stack by its labels', () => {
    expect(isKubePrometheusStack(kpsNe)).toBe('kps');
    expect(isKubePrometheusStack(workload<V1Deployment>('Deployment', 'm', 'op', 'i', { chart: 'kube-prometheus-stack-77.0.0', release: 'prom' }))).toBe('prom');
    expect(isKubePrometheusStack(workload<V1Deployment>('Deployment', 'm', 'x', 'i', { app: 'nginx' }))).toBeUndefined();
  });
});

describe('decideKubePrometheusStack', () => {
  // As the real chart labels them: the exporters are sub-charts with their own part-of.
  const op = workload<V1Deployment>('Deployment', 'mon', 'kps-kube-prometheus-stack-operator', 'quay.io/prometheus-operator/prometheus-operator:v0.85.0', { app: 'kube-prometheus-stack-operator', release: 'kps', 'app.kubernetes.io/part-of': 'kube-prometheus-stack' });
  const ne = workload<V1DaemonSet>('DaemonSet', 'mon', 'kps-prometheus-node-exporter', 'quay.io/prometheus/node-exporter:v1.9.1', { 'app.kubernetes.io/name': 'prometheus-node-exporter', 'app.kubernetes.io/part-of': 'prometheus-node-exporter', release: 'kps' });
  const ksm = workload<V1Deployment>('Deployment', 'mon', 'kps-kube-state-metrics', 'registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.16.0', { 'app.kubernetes.io/name': 'kube-state-metrics', 'app.kubernetes.io/part-of': 'kube-state-metrics', release: 'kps' });
  const otherNe = workload<V1DaemonSet>('DaemonSet', 'other', 'ne', 'quay.io/prometheus/node-exporter:v1', { release: 'kps' });
  it('finds its sub-chart exporters through the release', () => {
    const f = decideKubePrometheusStack([op, ne, ksm], true, true);
    expect(f.status).toBe('failed');
    expect(f.message).toContain('mon/kps');
    expect(f.message).toContain('node-exporter');
    expect(f.message).toContain('kube-state-metrics');
    expect(f.evidence).toEqual(['mon/kps: kps-kube-prometheus-stack-operator, kps-prometheus-node-exporter, kps-kube-state-metrics']);
  });
  it('a same-named release in another namespace is not part of it; disabled components do not double', () => {
    expect(decideKubePrometheusStack([op, otherNe], true, true).status).toBe('passed');
    expect(decideKubePrometheusStack([op, ne, ksm], false, false).status).toBe('passed');
    expect(decideKubePrometheusStack([ne, ksm], true, true).message).toBe('no kube-prometheus-stack in the cluster');
  });
});

describe('decideRelease', () => {
  const rel = (status: string, revision = 1) => ({ name: inst.release, namespace: inst.namespace, revision, status, chart: 'loongcollector-cluster-insight-1.0.0', app_version: '1.0.0' });
  it('install: absent passes, deployed points to upgrade, stuck ones get the fixing command', () => {
    expect(decideRelease('install', undefined, [], inst.release, inst.namespace).status).toBe('passed');
    expect(decideRelease('install', rel('deployed'), [], inst.release, inst.namespace).hint).toContain('kubectl insight upgrade');
    // pending-install: uninstall, then install (helm's --replace does not go over a pending release).
    const pi = decideRelease('install', rel('pending-install'), [], inst.release, inst.namespace);
    expect(pi.hint).toContain('kubectl insight uninstall');
    expect(pi.hint).not.toContain('--replace');
    expect(decideRelease('install', rel('pending-upgrade', 3), [], inst.release, inst.namespace).hint).toContain(`helm rollback ${inst.release} 2`);
    expect(decideRelease('install', rel('failed', 4), [], inst.release, inst.namespace).message).toContain('last upgrade');
    expect(decideRelease('install', rel('failed', 1), [], inst.release, inst.namespace).hint).toContain('--replace');
  });
  it('install: the chart under another release name collides', () => {
    const f = decideRelease('install', undefined, ['monitoring/aliyun-prometheus'], inst.release, inst.namespace);
    expect(f).toMatchObject({ status: 'failed' });
    expect(f.message).toContain('monitoring/aliyun-prometheus');
  });
  it('a release of another chart under our name is never ours', () => {
    const f = decideRelease('install', { ...rel('deployed'), chart: 'wordpress-19.0.1' }, [], inst.release, inst.namespace);
    expect(f).toMatchObject({ status: 'failed' });
    expect(f.message).toContain('runs chart wordpress-19.0.1');
    expect(decideRelease('upgrade', { ...rel('deployed'), chart: 'wordpress-19.0.1' }, [], inst.release, inst.namespace).status).toBe('failed');
  });
  it('upgrade: needs a deployed release', () => {
    expect(decideRelease('upgrade', undefined, [], inst.release, inst.namespace).status).toBe('failed');
    expect(decideRelease('upgrade', rel('deployed', 2), [], inst.release, inst.namespace).status).toBe('passed');
  });
});

describe('decideCrds', () => {
  const d = (action: CrdDecision['action'], extra: Partial<CrdDecision> = {}) => ({ crd: 'servicemonitors.monitoring.coreos.com', kind: 'ServiceMonitor', action, ours: [], foreign: [], users: [], reasons: [], ...extra }) as CrdDecision;
  it('says who owns a present CRD and that install will not take it over', () => {
    const [f] = decideCrds([d('keep', { users: ['Deployment monitoring/kps-operator (prometheus-operator, 1/1 ready, helm release monitoring/kps)'], reasons: ['Prometheus Operator monitoring/kps-operator watches ServiceMonitor'], foreign: [{ kind: 'ServiceMonitor', namespace: 'monitoring', name: 'kps-kubelet', owner: 'helm release monitoring/kps', signals: [] }] })], new Map([['servicemonitors.monitoring.coreos.com', true]]));
    expect(f).toMatchObject({ status: 'passed', object: 'crd/servicemonitors.monitoring.coreos.com' });
    expect(f!.message).toContain('never takes it over');
    expect(f!.evidence).toContain('ServiceMonitor monitoring/kps-kubelet (helm release monitoring/kps)');
  });
  it('warns when a present CRD does not serve v1', () => {
    expect(decideCrds([d('delete')], new Map([['servicemonitors.monitoring.coreos.com', false]]))[0]).toMatchObject({ status: 'failed', severity: 'warning' });
  });
});

describe('decideTaints', () => {
  it('lists nodes the DaemonSet cannot run on and the tolerations to add', () => {
    const ds = { ...nodeExporter!, tolerations: [] };
    const f = decideTaints([node('a'), node('gpu-1', { taints: [{ key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' }] })], ds);
    expect(f.status).toBe('failed');
    expect(f.evidence).toEqual(['node/gpu-1: nvidia.com/gpu=true:NoSchedule']);
    expect(f.hint).toContain('{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}');
    expect(decideTaints([node('gpu-1', { taints: [{ key: 'nvidia.com/gpu', effect: 'NoSchedule' }] })], nodeExporter!).status).toBe('passed');
  });
  it('reads tolerations from the values', () => {
    const [ne] = daemonSetScheduling({ nodeExporter: { tolerations: [{ key: 'a', operator: 'Exists' }], nodeSelector: { pool: 'x' } } });
    expect(ne).toMatchObject({ tolerations: [{ key: 'a', operator: 'Exists' }], nodeSelector: { pool: 'x' }, enabled: true });
  });
});

describe('conflict checks through the engine', () => {
  it('ARMS Prometheus: absent namespace passes, workloads there fail', async () => {
    const notFound = Object.assign(new Error('nf'), { code: 404, body: {} });
    const absent = fakeCtx({}, { kube: { core: { readNamespace: async () => Promise.reject(notFound) } as never } });
    const only = conflictChecks.filter((c) => c.id === 'conflicts.arms-prom');
    expect((await runChecks(only, absent)).results[0]!.status).toBe('passed');
    const present = fakeCtx({}, { kube: { core: { readNamespace: async () => ({}) } as never }, deployments: [workload<V1Deployment>('Deployment', 'arms-prom', 'arms-prometheus-ack-arms-prometheus', 'registry/arms-prom-operator:v1')] });
    const r = (await runChecks(only, present)).results[0]!;
    expect(r).toMatchObject({ status: 'failed', severity: 'warning' });
    expect(r.message).toContain('arms-prometheus-ack-arms-prometheus');
  });
  it('kube-prometheus-stack: names what doubles up and what to disable', async () => {
    const ctx = fakeCtx({}, {
      daemonSets: [workload<V1DaemonSet>('DaemonSet', 'monitoring', 'kps-prometheus-node-exporter', 'quay.io/prometheus/node-exporter:v1', { 'app.kubernetes.io/name': 'prometheus-node-exporter', release: 'kps', 'app.kubernetes.io/part-of': 'kube-prometheus-stack' })],
      deployments: [workload<V1Deployment>('Deployment', 'monitoring', 'kps-kube-state-metrics', 'registry.k8s.io/kube-state-metrics/kube-state-metrics:v2', { 'app.kubernetes.io/name': 'kube-state-metrics', release: 'kps', 'app.kubernetes.io/part-of': 'kube-prometheus-stack' })],
    });
    const r = (await runChecks(conflictChecks.filter((c) => c.id === 'conflicts.kube-prometheus-stack'), ctx)).results[0]!;
    expect(r.status).toBe('failed');
    expect(r.message).toContain('monitoring/kps');
    expect(r.hint).toContain('--set nodeExporter.enabled=false --set kubeStateMetrics.enabled=false');
  });
  it('DCGM on a GPU node', async () => {
    const ctx = fakeCtx({}, { nodes: [node('g1', { labels: { 'aliyun.accelerator/nvidia_name': 'A10' } }), node('c1')], pods: [pod('gpu', 'dcgm-exporter-x', 'g1', [], { image: 'nvcr.io/nvidia/k8s/dcgm-exporter:3.3' }), pod('gpu', 'dcgm-exporter-y', 'c1', [], { image: 'nvcr.io/nvidia/k8s/dcgm-exporter:3.3' })] });
    const r = (await runChecks(conflictChecks.filter((c) => c.id === 'conflicts.dcgm'), ctx)).results[0]!;
    expect(r.status).toBe('failed');
    expect(r.evidence).toEqual(['node/g1: pod gpu/dcgm-exporter-x (nvcr.io/nvidia/k8s/dcgm-exporter:3.3)']);
  });
});
