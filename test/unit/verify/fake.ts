// A fake cloud and cluster for verify's checks. The cloud answers the query forms the checks send from
// an in-memory series set with Prometheus's instant-query lookback (5 minutes); a query form it does not
// know fails the test, so a check that changes its query is noticed.
import type { V1DaemonSet, V1Deployment, V1Node, V1Pod } from '@kubernetes/client-node';
import type { VerifyCloud, VerifyCluster } from '../../../src/checks/verify/context.js';
import type { CloudError } from '../../../src/cloud/errors.js';
import type { PromSample } from '../../../src/cloud/prometheus.js';
import { Secret } from '../../../src/secret.js';

export const CLUSTER = 'c0ffee1234';
export const NOW = new Date('2026-12-01T12:00:00Z');
const LOOKBACK_MS = 5 * 60_000;

export interface Series {
  labels: Record<string, string>;
  /** Newest sample, ms. */
  t: number;
}

export interface Entity {
  type: string;
  name: string;
  lastSeenMs: number;
}

export interface FakeWorld {
  nodes: V1Node[];
  pods: V1Pod[];
  daemonSets: V1DaemonSet[];
  deployments: V1Deployment[];
  series: Series[];
  entities: Entity[];
  /** Error every query call returns (e.g. a 403). */
  queryError?: CloudError;
  authToken?: string;
  logs?: Record<string, string>;
}

export const node = (name: string, ip: string, gpu = false): V1Node => ({
  metadata: { name, labels: gpu ? { 'nvidia.com/gpu.present': 'true' } : {} },
  status: { addresses: [{ type: 'InternalIP', address: ip }] },
});
export const pod = (name: string, nodeName: string, container = 'main'): V1Pod => ({
  metadata: { name, namespace: 'cms-monitoring' },
  spec: { nodeName, containers: [{ name: container, image: `registry/${container}:1` }] },
  status: { phase: 'Running' },
});

/** A healthy three-node world: every source sends, every entity is fresh. */
export function healthyWorld(): FakeWorld {
  const nodes = [node('n1', '10.0.0.1'), node('n2', '10.0.0.2'), node('n3', '10.0.0.3')];
  const fresh = NOW.getTime() - 20_000;
  const L = (name: string, extra: Record<string, string>) => ({ __name__: name, cluster_id: CLUSTER, ...extra });
  const series: Series[] = [];
  for (const n of nodes) {
    const ip = n.status!.addresses![0]!.address;
    series.push({ labels: L('node_cpu_seconds_total', { job: '_arms-prom/node-exporter/0', instance: `${ip}:9100`, cpu: '0', mode: 'idle' }), t: fresh });
    series.push({ labels: L('node_cpu_seconds_total', { job: '_arms-prom/node-exporter/0', instance: `${ip}:9100`, cpu: '0', mode: 'user' }), t: fresh });
    series.push({ labels: L('kubelet_node_name', { job: '_arms/kubelet/metric', instance: `${ip}:10250`, node: n.metadata!.name! }), t: fresh });
    series.push({ labels: L('container_cpu_usage_seconds_total', { job: '_arms/kubelet/cadvisor', instance: `${ip}:10250`, pod: 'x' }), t: fresh });
    series.push({ labels: L('up', { job: 'node-exporter', instance: `${ip}:9100` }), t: fresh });
  }
  series.push({ labels: L('kube_pod_info', { job: '_kube-state-metrics', instance: '10.1.0.9:8080', pod: 'a' }), t: fresh });
  const pods = [...nodes.map((n) => pod(`node-exporter-${n.metadata!.name}`, n.metadata!.name!)), pod('kube-state-metrics-0', 'n1'), pod('cms-loongcollector-cluster-0', 'n1', 'loongcollector')];
  return {
    nodes,
    pods,
    daemonSets: [{ metadata: { name: 'cms-node-exporter' } }],
    deployments: [{ metadata: { name: 'cms-kube-state-metrics' } }],
    series,
    entities: [{ type: 'k8s.cluster', name: CLUSTER, lastSeenMs: NOW.getTime() - 30_000 }, ...nodes.map((n) => ({ type: 'k8s.node', name: n.metadata!.name!, lastSeenMs: NOW.getTime() - 30_000 })), ...pods.map((p) => ({ type: 'k8s.pod', name: p.metadata!.name!, lastSeenMs: NOW.getTime() - 30_000 }))],
  };
}

const SEL = /\{__name__="([^"]+)", ([a-zA-Z_][a-zA-Z0-9_]*)="([^"]+)"\}/;

function select(w: FakeWorld, q: string, lookbackMs: number): Series[] {
  const m = SEL.exec(q);
  if (!m) throw new Error(`fake cloud: no selector in ${q}`);
  const [, name, label, value] = m;
  return w.series.filter((s) => s.labels.__name__ === name && s.labels[label!] === value && NOW.getTime() - s.t <= lookbackMs && s.t <= NOW.getTime());
}

function groupCount(series: Series[], by: string[]): PromSample[] {
  const groups = new Map<string, PromSample>();
  for (const s of series) {
    const metric = Object.fromEntries(by.filter((l) => s.labels[l] !== undefined).map((l) => [l, s.labels[l]!]));
    const k = JSON.stringify(metric);
    const g = groups.get(k) ?? { metric, t: NOW.getTime() / 1000, value: 0 };
    g.value++;
    groups.set(k, g);
  }
  return [...groups.values()];
}

export interface CloudCalls {
  queries: string[];
  instance: number;
  entities: string[];
}

export function fakeCloud(w: FakeWorld, calls: CloudCalls = { queries: [], instance: 0, entities: [] }): VerifyCloud {
  return {
    async instance(_c, region, id) {
      calls.instance++;
      return { ok: true, value: { prometheusInstanceId: id, regionId: region, httpApiInterUrl: 'https://p.cn-hangzhou.log.aliyuncs.com/prometheus/p/s', ...(w.authToken ? { authToken: new Secret(w.authToken) } : {}) } };
    },
    async labels() {
      if (w.queryError) return { ok: false, error: w.queryError };
      return { ok: true, value: [...new Set(w.series.filter((s) => NOW.getTime() - s.t <= 3_600_000).flatMap((s) => Object.keys(s.labels)))].sort() };
    },
    async query(_ep, q) {
      calls.queries.push(q);
      if (w.queryError) return { ok: false, error: w.queryError };
      let m: RegExpExecArray | null;
      // Discovery: how many series of the known sources carry label=id in the last hour.
      if ((m = /^count\(last_over_time\(\{__name__=~"([^"]+)", ([a-zA-Z_][a-zA-Z0-9_]*)="([^"]+)"\}\[1h\]\)\)$/.exec(q))) {
        const names = new Set(m[1]!.split('|'));
        const n = w.series.filter((s) => names.has(s.labels.__name__!) && s.labels[m![2]!] === m![3] && NOW.getTime() - s.t <= 3_600_000).length;
        return { ok: true, value: n ? [{ metric: {}, t: NOW.getTime() / 1000, value: n }] : [] };
      }
      if ((m = /^count by \(([a-zA-Z_][a-zA-Z0-9_]*)\) \(last_over_time\(\{__name__="up"\}\[1h\]\)\)$/.exec(q))) {
        return { ok: true, value: groupCount(w.series.filter((s) => s.labels.__name__ === 'up' && NOW.getTime() - s.t <= 3_600_000), [m[1]!]) };
      }
      if ((m = /^count by \(([^)]*)\) \(last_over_time\((.*)\[1h\]\)\)$/.exec(q))) return { ok: true, value: groupCount(select(w, m[2]!, 3_600_000), m[1]!.split(', ')) };
      if ((m = /^max\(timestamp\((.*)\)\)$/.exec(q))) {
        const s = select(w, m[1]!, LOOKBACK_MS);
        return { ok: true, value: s.length ? [{ metric: {}, t: NOW.getTime() / 1000, value: Math.max(...s.map((x) => x.t)) / 1000 }] : [] };
      }
      if ((m = /^count by \(([^)]*)\) \((\{.*\})\)$/.exec(q))) return { ok: true, value: groupCount(select(w, m[2]!, LOOKBACK_MS), m[1]!.split(', ')) };
      throw new Error(`fake cloud: unknown query form ${q}`);
    },
    async entities(_c, _r, _ws, q) {
      calls.entities.push(q.query);
      const type = /type='([^']+)'/.exec(q.query)?.[1];
      const rows = w.entities
        .filter((e) => e.type === type && e.lastSeenMs >= q.from.getTime() && e.lastSeenMs <= q.to.getTime())
        .map((e) => ({ __entity_type__: e.type, name: e.name, __last_observed_time__: String(Math.floor(e.lastSeenMs / 1000)), __keep_alive_seconds__: '60' }));
      return { ok: true, value: { header: ['__entity_type__', 'name', '__last_observed_time__', '__keep_alive_seconds__'], rows } };
    },
  };
}

export function fakeCluster(w: FakeWorld, reads: string[] = []): VerifyCluster {
  return {
    nodes: async () => w.nodes,
    pods: async () => w.pods,
    daemonSets: async () => w.daemonSets,
    deployments: async () => w.deployments,
    podCount: async () => w.pods.length,
    async collectorLog(p, container) {
      reads.push(`${p.metadata!.name}/${container}`);
      const text = w.logs?.[p.metadata!.name!];
      return text === undefined ? { error: 'exec: forbidden; logs: HTTP 403' } : { text, via: 'log file (exec)' };
    },
  };
}
