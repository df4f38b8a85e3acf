/**
 * What the collector would have written for a cluster, computed from that cluster's real nodes and
 * pods: node-exporter series per node (instance = node IP:19100), kubelet and cadvisor per node,
 * kube-state-metrics per pod, up per target, DCGM per GPU node; and the k8s.cluster, k8s.node and
 * k8s.pod entities. Knobs take a source away, make it stale, or silence nodes, so each test seeds the
 * failure it is about. Job names are ARMS-style on purpose: verify must not depend on them.
 */
import type { StandinEntity } from './entities.js';
import type { Series } from './promql.js';

export interface SeedNode {
  name: string;
  ip: string;
  gpu?: boolean;
}
export interface SeedPod {
  name: string;
  namespace: string;
  node?: string;
}

export interface SeedOptions {
  clusterId: string;
  /** The label the data carries the id in (real products differ). */
  clusterLabel?: string;
  nodes: SeedNode[];
  pods: SeedPod[];
  now: number;
  /** Sources that send nothing: node-exporter, kube-state-metrics, kubelet, cadvisor, gpu-exporter, targets. */
  missing?: string[];
  /** Sources whose newest sample is this old (ms). */
  staleMs?: Record<string, number>;
  /** Nodes whose node-exporter sends nothing. */
  silentNodes?: string[];
  /** Leave out the k8s.cluster entity. */
  noClusterEntity?: boolean;
}

export function seedCluster(o: SeedOptions): { series: Series[]; entities: StandinEntity[] } {
  const label = o.clusterLabel ?? 'cluster_id';
  const series: Series[] = [];
  const add = (source: string, labels: Record<string, string>) => {
    if (o.missing?.includes(source)) return;
    const newest = o.now - (o.staleMs?.[source] ?? 15_000);
    // Two samples a scrape interval apart, as a real scrape history would have.
    series.push({ labels: { ...labels, [label]: o.clusterId }, samples: [{ t: newest - 30_000, v: 1 }, { t: newest, v: 1 }] });
  };
  for (const n of o.nodes) {
    if (!o.silentNodes?.includes(n.name)) {
      for (const mode of ['idle', 'user', 'system']) add('node-exporter', { __name__: 'node_cpu_seconds_total', job: '_arms-prom/node-exporter/0', instance: `${n.ip}:19100`, cpu: '0', mode });
      add('targets', { __name__: 'up', job: '_arms-prom/node-exporter/0', instance: `${n.ip}:19100` });
    }
    add('kubelet', { __name__: 'kubelet_node_name', job: '_arms/kubelet/metric', instance: `${n.ip}:10250`, node: n.name });
    add('targets', { __name__: 'up', job: '_arms/kubelet/metric', instance: `${n.ip}:10250` });
    if (n.gpu) add('gpu-exporter', { __name__: 'DCGM_FI_DEV_GPU_UTIL', job: 'gpu-exporter', instance: `${n.ip}:9445`, gpu: '0', Hostname: n.name });
  }
  for (const p of o.pods) {
    add('kube-state-metrics', { __name__: 'kube_pod_info', job: '_kube-state-metrics', instance: 'kube-state-metrics:8080', namespace: p.namespace, pod: p.name, node: p.node ?? '' });
    if (p.node) add('cadvisor', { __name__: 'container_cpu_usage_seconds_total', job: '_arms/kubelet/cadvisor', instance: `${o.nodes.find((n) => n.name === p.node)?.ip ?? p.node}:10250`, namespace: p.namespace, pod: p.name });
  }
  const seen = o.now - 20_000;
  const entity = (type: string, name: string): StandinEntity => ({ domain: 'k8s', type, entityId: `${type}/${o.clusterId}/${name}`, name, fields: { cluster_id: o.clusterId }, lastObservedMs: seen, firstObservedMs: o.now - 3_600_000, keepAliveSeconds: 60 });
  const entities = [
    ...(o.noClusterEntity ? [] : [entity('k8s.cluster', o.clusterId)]),
    ...o.nodes.map((n) => entity('k8s.node', n.name)),
    ...o.pods.map((p) => entity('k8s.pod', `${p.namespace}/${p.name}`)),
  ];
  return { series, entities };
}

export interface CollectorSim {
  /** Change what the simulated collector sends from the next round on (missing sources, silent nodes...). */
  set(o: Partial<Omit<SeedOptions, 'nodes' | 'pods' | 'now'>>): void;
  /** Seed once now (and wait for it). */
  tick(): Promise<void>;
  stop(): void;
}

/**
 * A stand-in for the collector's sending: every `intervalMs` it reads the cluster's current nodes and
 * pods and writes what a healthy collector would have sent by now into the stand-in, so data appears
 * once the release's pods exist, as it does on a real cluster.
 */
export function startCollectorSim(o: {
  list: () => Promise<{ nodes: SeedNode[]; pods: SeedPod[] }>;
  store: { setMetrics(id: string, s: Series[]): void; setEntities(ws: string, e: StandinEntity[], opts?: { region?: string }): void };
  instanceId: string;
  workspace: string;
  region: string;
  clusterId: string;
  intervalMs?: number;
}): CollectorSim {
  let knobs: Partial<SeedOptions> = {};
  let stopped = false;
  const tick = async () => {
    const { nodes, pods } = await o.list();
    // knobs.clusterId, when set, stands for another cluster's collector.
    const s = seedCluster({ clusterId: o.clusterId, ...knobs, nodes, pods, now: Date.now() });
    o.store.setMetrics(o.instanceId, s.series);
    o.store.setEntities(o.workspace, s.entities, { region: o.region });
  };
  const loop = async () => {
    while (!stopped) {
      await tick().catch(() => {});
      await new Promise((r) => setTimeout(r, o.intervalMs ?? 2000).unref());
    }
  };
  void loop();
  return {
    set: (k) => {
      knobs = { ...k };
    },
    tick,
    stop: () => {
      stopped = true;
    },
  };
}

/** Nodes and pods as the sim wants them, from `kubectl get nodes,pods -A -o json` output. */
export function fromKubectlJson(nodesJson: string, podsJson: string): { nodes: SeedNode[]; pods: SeedPod[] } {
  type Item = { metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: { nodeName?: string }; status?: { addresses?: { type: string; address: string }[]; capacity?: Record<string, string> } };
  const nodes = (JSON.parse(nodesJson) as { items: Item[] }).items.map((n) => ({
    name: n.metadata.name,
    ip: n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '',
    gpu: n.metadata.labels?.['nvidia.com/gpu.present'] === 'true' || n.metadata.labels?.['aliyun.accelerator/nvidia_name'] !== undefined || Number(n.status?.capacity?.['nvidia.com/gpu'] ?? 0) > 0,
  }));
  const pods = (JSON.parse(podsJson) as { items: Item[] }).items.map((p) => ({ name: p.metadata.name, namespace: p.metadata.namespace ?? 'default', ...(p.spec?.nodeName ? { node: p.spec.nodeName } : {}) }));
  return { nodes, pods };
}
