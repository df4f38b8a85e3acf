// A fake API for doctor's checks: lists answered from an in-memory object set (label and field
// selectors honoured the way the checks use them), proxied probes answered by a function.
import { gzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import type { DoctorApi } from '../../../src/checks/doctor/context.js';
import { DEFAULT_OPTIONS, DoctorContext } from '../../../src/checks/doctor/context.js';
import type { ProbeResult, ProxyTarget } from '../../../src/kube/proxy.js';
import { RawApiError } from '../../../src/kube/proxy.js';

export type Obj = Record<string, any>;
export type ProbeFn = (t: ProxyTarget, path: string) => Partial<ProbeResult> & { outcome: ProbeResult['outcome'] };

export const NS = 'cms-monitoring';
export const REL = 'aliyun-loongcollector-cluster-insight';

export function helmSecret(opts: { status?: string; revision?: number; manifest: Obj[]; config?: Obj }): Obj {
  const rel = { name: REL, version: opts.revision ?? 1, info: { status: opts.status ?? 'deployed' }, chart: { metadata: { name: 'loongcollector-cluster-insight', version: '1.0.0' } }, manifest: opts.manifest.map((m) => stringify(m)).join('---\n'), ...(opts.config ? { config: opts.config } : {}) };
  const helmEncoded = gzipSync(Buffer.from(JSON.stringify(rel))).toString('base64');
  return {
    metadata: { name: `sh.helm.release.v1.${REL}.v${opts.revision ?? 1}`, namespace: NS, labels: { owner: 'helm', name: REL, status: opts.status ?? 'deployed', version: String(opts.revision ?? 1) } },
    data: { release: Buffer.from(helmEncoded).toString('base64') },
  };
}

function labelsMatch(labels: Record<string, string> | undefined, sel: string | null): boolean {
  if (!sel) return true;
  return sel.split(',').every((kv) => {
    const [k, v] = kv.split('=');
    return (labels ?? {})[k!] === v;
  });
}

export class FakeApi implements DoctorApi {
  readonly probes: Array<{ t: ProxyTarget; path: string }> = [];
  constructor(
    readonly lists: Record<string, Obj[]>,
    readonly probeFn: ProbeFn = () => ({ outcome: 'refused', detail: 'connection refused' }),
    readonly namespaces: string[] = [NS],
  ) {}
  async get(path: string) {
    const m = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(path);
    if (m) return { status: this.namespaces.includes(m[1]!) ? 200 : 404, body: '{}', truncated: false };
    if (path.includes('/log?')) return { status: 200, body: 'line 1\npanic: boom\n', truncated: false };
    return { status: 404, body: '', truncated: false };
  }
  async getJson<T>(path: string): Promise<T> {
    return JSON.parse((await this.get(path)).body) as T;
  }
  async list<T>(path: string, q: { labelSelector?: string; fieldSelector?: string } = {}): Promise<T[]> {
    const items = this.lists[path];
    if (!items) throw new RawApiError(404, JSON.stringify({ kind: 'Status', code: 404, reason: 'NotFound', message: 'the server could not find the requested resource' }));
    return items.filter((o) => labelsMatch(o.metadata?.labels, q.labelSelector ?? null) && (!q.fieldSelector || q.fieldSelector !== 'type=Warning' || o.type === 'Warning')) as T[];
  }
  async probe(t: ProxyTarget, path: string): Promise<ProbeResult> {
    this.probes.push({ t, path });
    return { detail: '', ms: 1, url: path, ...this.probeFn(t, path) };
  }
}

export function ctxFor(api: FakeApi, over: Partial<typeof DEFAULT_OPTIONS> = {}): DoctorContext {
  return new DoctorContext(api, { ...DEFAULT_OPTIONS, now: new Date('2026-11-22T03:00:00Z'), ...over });
}

// ---- a small healthy installation ----

export const sel = (name: string) => ({ 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': REL });

export function node(name: string, extra: Obj = {}): Obj {
  return { metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(extra.labels ?? {}) } }, spec: { taints: extra.taints ?? [] }, status: { conditions: [{ type: 'Ready', status: extra.ready === false ? 'False' : 'True' }], addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] } };
}

export function pod(name: string, labels: Record<string, string>, nodeName: string, ports: Obj[], extra: Obj = {}): Obj {
  return {
    metadata: { name, namespace: NS, uid: `uid-${name}`, labels },
    spec: { nodeName, containers: [{ name: 'main', image: 'registry-cn-hangzhou.ack.aliyuncs.com/acs/x:v1', ports }] },
    status: extra.status ?? { phase: 'Running', podIP: '10.1.0.1', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'main', ready: true, restartCount: 0, state: { running: {} } }] },
  };
}

export function daemonSet(name: string, app: string): Obj {
  return { kind: 'DaemonSet', apiVersion: 'apps/v1', metadata: { name, namespace: NS }, spec: { selector: { matchLabels: sel(app) }, template: { spec: { tolerations: [{ operator: 'Exists' }], containers: [] } } }, status: { desiredNumberScheduled: 2, currentNumberScheduled: 2, numberReady: 2 } };
}

export function deployment(name: string, app: string, ready = 1): Obj {
  return { kind: 'Deployment', apiVersion: 'apps/v1', metadata: { name, namespace: NS }, spec: { selector: { matchLabels: sel(app) } }, status: { readyReplicas: ready } };
}

export function service(name: string, app: string, portName: string, port: number, selector: Record<string, string> = sel(app)): Obj {
  return { metadata: { name, namespace: NS, labels: sel(app) }, spec: { selector, ports: [{ name: portName, port }] } };
}

export function slice(svc: string, portName: string, port: number, podNames: string[], ready = true): Obj {
  return { metadata: { name: `${svc}-abc`, namespace: NS, labels: { 'kubernetes.io/service-name': svc } }, ports: [{ name: portName, port }], endpoints: podNames.map((p) => ({ addresses: ['10.1.0.1'], conditions: { ready }, targetRef: { kind: 'Pod', name: p, namespace: NS } })) };
}

export function serviceMonitor(name: string, app: string, port: string, scheme: string, extra: Obj = {}): Obj {
  return { metadata: { name, namespace: NS }, spec: { selector: { matchLabels: sel(app) }, namespaceSelector: { matchNames: [NS] }, endpoints: [{ port, scheme, path: '/metrics', ...extra }] } };
}

export const NE_BODY = '# TYPE node_cpu_seconds_total counter\nnode_cpu_seconds_total{cpu="0",mode="idle"} 1\nnode_memory_MemAvailable_bytes 5\n';
export const KSM_BODY = 'kube_pod_info{pod="a"} 1\nkube_node_info{node="n"} 1\n';

/** Two nodes, node-exporter (http) on both, kube-state-metrics, the CR reporting success. */
export function healthy(): Record<string, Obj[]> {
  const ne = daemonSet('cms-node-exporter', 'node-exporter');
  const ksm = deployment('cms-kube-state-metrics', 'kube-state-metrics');
  const op = deployment('cms-loongcollector-operator', 'loongcollector-operator');
  const cr = { apiVersion: 'telemetry.alibabacloud.com/v1alpha1', kind: 'ClusterAliyunPipelineConfig', metadata: { name: 'custom-kubernetes-c1-entity-collector', finalizers: ['clusteraliyunpipelineconfig.finalizers.telemetry.alibabacloud.com/cleanup'] }, status: { success: true } };
  return {
    [`/api/v1/namespaces/${NS}/secrets`]: [helmSecret({ manifest: [ne, ksm, op, { apiVersion: cr.apiVersion, kind: cr.kind, metadata: { name: cr.metadata.name } }] })],
    [`/api/v1/namespaces/${NS}/configmaps`]: [],
    '/api/v1/nodes': [node('n1'), node('n2')],
    '/api/v1/pods': [],
    [`/api/v1/namespaces/${NS}/pods`]: [
      pod('ne-1', sel('node-exporter'), 'n1', [{ name: 'http-metrics', containerPort: 19100, hostPort: 19100 }]),
      pod('ne-2', sel('node-exporter'), 'n2', [{ name: 'http-metrics', containerPort: 19100, hostPort: 19100 }]),
      pod('ksm-1', sel('kube-state-metrics'), 'n1', [{ name: 'http-metrics', containerPort: 8080 }]),
      pod('op-1', sel('loongcollector-operator'), 'n2', [{ name: 'http-metrics', containerPort: 8888 }]),
    ],
    [`/api/v1/namespaces/${NS}/events`]: [],
    [`/apis/apps/v1/namespaces/${NS}/deployments`]: [ksm, op],
    [`/apis/apps/v1/namespaces/${NS}/daemonsets`]: [ne],
    [`/apis/apps/v1/namespaces/${NS}/statefulsets`]: [],
    '/apis/apps/v1/daemonsets': [ne],
    [`/api/v1/namespaces/${NS}/services`]: [service('cms-node-exporter', 'node-exporter', 'http-metrics', 19100), service('cms-kube-state-metrics', 'kube-state-metrics', 'http-metrics', 8080)],
    [`/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`]: [slice('cms-node-exporter', 'http-metrics', 19100, ['ne-1', 'ne-2']), slice('cms-kube-state-metrics', 'http-metrics', 8080, ['ksm-1'])],
    [`/apis/monitoring.coreos.com/v1/namespaces/${NS}/servicemonitors`]: [serviceMonitor('cms-node-exporter', 'node-exporter', 'http-metrics', 'http'), serviceMonitor('cms-kube-state-metrics', 'kube-state-metrics', 'http-metrics', 'http')],
    [`/apis/monitoring.coreos.com/v1/namespaces/${NS}/podmonitors`]: [],
    '/apis/telemetry.alibabacloud.com/v1alpha1/clusteraliyunpipelineconfigs': [cr],
  };
}

/** Probes of a healthy installation: everything speaks http and serves its families. */
export const healthyProbe: ProbeFn = (t, path) => {
  if (t.kind === 'node') return { outcome: 'ok', status: 200, body: path.includes('cadvisor') ? 'container_cpu_usage_seconds_total{id="/"} 1\n' : 'kubelet_node_name{node="n"} 1\n' };
  if (t.scheme === 'https') return { outcome: 'wrong-protocol', detail: 'tls: first record does not look like a TLS handshake' };
  const name = (t as { name: string }).name;
  if (name.startsWith('ne-')) return { outcome: 'ok', status: 200, body: path === '/' ? '<html>Node Exporter</html>' : NE_BODY };
  if (name.startsWith('ksm-')) return { outcome: 'ok', status: 200, body: KSM_BODY };
  if (name.startsWith('op-')) return { outcome: 'ok', status: 200, body: 'controller_runtime_reconcile_total{controller="x"} 3\n' };
  return { outcome: 'refused', detail: 'connection refused' };
};
