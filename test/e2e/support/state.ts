// Cluster state for before/after comparisons, and cleaning a release up the way the chart needs.
import { helm, kubectl, kubectlJson, waitFor } from './cluster.js';
import { ALIBABA_CRDS, presentCrds } from './fixtures.js';
import { HELM_LIST_ALL } from './helm.js';

/**
 * Everything install/upgrade could change, as sorted text: helm releases (all namespaces, all states),
 * namespaces, CRDs, cluster-scoped RBAC and webhooks, the custom resources, and the objects in the
 * given namespaces with their resourceVersions (so a modification shows, not only a creation).
 */
export async function snapshotText(namespaces: string[], kubeconfig?: string): Promise<string> {
  const kc = kubeconfig ? { kubeconfig } : {};
  const lines: string[] = [];
  const names = async (args: string[]) =>
    (await kubectl([...args, '-o', 'jsonpath={range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name}@{.metadata.resourceVersion}{"\\n"}{end}'], { ...kc, allowFail: true })).stdout.split('\n').filter(Boolean).sort();
  lines.push('# releases', ...(await helm(['list', '-A', ...HELM_LIST_ALL, '-o', 'json'], { ...kc, allowFail: true })).stdout.split('},{').sort());
  lines.push('# namespaces', ...(await names(['get', 'namespaces'])).map((l) => l.replace(/@\d+$/, '')));
  lines.push('# crds', ...(await names(['get', 'crd'])));
  lines.push('# cluster', ...(await names(['get', 'clusterroles,clusterrolebindings,validatingwebhookconfigurations,mutatingwebhookconfigurations', '-l', 'app.kubernetes.io/part-of=loongcollector-cluster-insight'])));
  lines.push('# cr', ...(await names(['get', 'clusteraliyunpipelineconfigs.telemetry.alibabacloud.com'])));
  for (const ns of namespaces) {
    lines.push(`# ns ${ns}`, ...(await names(['get', 'deployments,daemonsets,services,serviceaccounts,configmaps,secrets,roles,rolebindings', '-n', ns])).filter((l) => !l.includes('kube-root-ca.crt')));
  }
  return lines.join('\n');
}

const CLUSTER_KINDS = 'customresourcedefinitions,clusteraliyunpipelineconfigs,namespaces,clusterroles,clusterrolebindings,mutatingwebhookconfigurations,validatingwebhookconfigurations';
const NAMESPACED_KINDS =
  'servicemonitors,podmonitors,prometheusrules,probes,aliyunlogconfigs,deployments,daemonsets,statefulsets,replicasets,pods,services,configmaps,secrets,serviceaccounts,roles,rolebindings';

interface Item {
  kind: string;
  metadata: Record<string, any>;
  spec?: unknown;
  data?: unknown;
  rules?: unknown;
  subjects?: unknown;
  webhooks?: unknown;
}

/** What identifies an object and its desired state; volatile fields (resourceVersion, status, managedFields) dropped. */
function normalize(i: Item): Record<string, unknown> {
  const m = i.metadata;
  return {
    kind: i.kind,
    namespace: m.namespace,
    name: m.name,
    uid: m.uid,
    labels: m.labels,
    annotations: m.annotations,
    finalizers: m.finalizers,
    deletionTimestamp: m.deletionTimestamp,
    spec: i.kind === 'Namespace' ? undefined : i.spec,
    data: i.kind === 'Secret' ? Object.keys((i.data as object) ?? {}) : i.data,
    rules: i.rules,
    subjects: i.subjects,
    webhooks: i.webhooks,
  };
}

/**
 * Full relevant state as normalized objects: every kind the uninstall could touch, in every namespace,
 * plus helm's release list. Without resourceVersions (compare snapshotText for "nothing was written").
 */
export async function snapshotObjects(filter: (o: Record<string, unknown>) => boolean = () => true): Promise<Record<string, unknown>[]> {
  const existing = await presentCrds();
  // Kinds whose CRD is missing cannot be listed: ask only for what exists.
  const skip = (k: string) =>
    (k === 'clusteraliyunpipelineconfigs' && !existing.includes(ALIBABA_CRDS[0]!)) ||
    (k === 'aliyunlogconfigs' && !existing.includes(ALIBABA_CRDS[1]!)) ||
    (['servicemonitors', 'podmonitors', 'prometheusrules', 'probes'].includes(k) && !existing.includes(`${k}.monitoring.coreos.com`));
  const ck = CLUSTER_KINDS.split(',').filter((k) => !skip(k)).join(',');
  const nk = NAMESPACED_KINDS.split(',').filter((k) => !skip(k)).join(',');
  const a = await kubectlJson<{ items: Item[] }>(['get', ck]);
  const b = await kubectlJson<{ items: Item[] }>(['get', nk, '-A']);
  const releases = JSON.parse((await helm(['list', '-A', ...HELM_LIST_ALL, '-o', 'json'])).stdout) as unknown[];
  const items = [...a.items, ...b.items]
    .filter((i) => !(i.kind === 'Namespace' && i.metadata.name?.startsWith('kube-')))
    .map(normalize)
    .filter(filter)
    .sort((x, y) => `${String(x.kind)}/${String(x.namespace)}/${String(x.name)}`.localeCompare(`${String(y.kind)}/${String(y.namespace)}/${String(y.name)}`));
  return [...items, { kind: 'HelmReleases', releases }];
}

export async function namespaceGone(ns: string, timeoutMs = 90_000): Promise<void> {
  await waitFor(`namespace ${ns} gone`, async () => (await kubectl(['get', 'ns', ns], { allowFail: true })).exitCode !== 0, { timeoutMs });
}

/**
 * Remove what a test left of a release (never touches objects of other namespaces): the CR first with
 * its finalizer stripped by hand (tests may have left it stuck on purpose), then helm, then the
 * namespace, waiting until it is gone so the next file's snapshots do not see it terminating.
 */
export async function cleanup(release: string, ns: string, clusterID?: string): Promise<void> {
  if (clusterID) {
    const cr = `custom-kubernetes-${clusterID}-entity-collector`;
    if ((await kubectl(['get', 'clusteraliyunpipelineconfig', cr], { allowFail: true })).exitCode === 0) {
      await kubectl(['patch', 'clusteraliyunpipelineconfig', cr, '--type=merge', '-p', '{"metadata":{"finalizers":null}}'], { allowFail: true });
      await kubectl(['delete', 'clusteraliyunpipelineconfig', cr, '--ignore-not-found', '--wait=false'], { allowFail: true });
    }
  }
  await helm(['uninstall', release, '-n', ns, '--wait', '--timeout', '120s'], { allowFail: true, timeoutMs: 150_000 });
  await kubectl(['delete', 'ns', ns, '--ignore-not-found', '--wait=false'], { allowFail: true });
  await namespaceGone(ns);
}

export interface CrState {
  exists: boolean;
  deleting: boolean;
  finalizers: string[];
}

/**
 * A ClusterAliyunPipelineConfig's state. Absent also when its CRD is gone (after --purge-crds); any other
 * kubectl failure throws rather than reading as "absent".
 */
export async function crState(name: string): Promise<CrState> {
  const r = await kubectl(['get', 'clusteraliyunpipelineconfigs', name, '-o', 'json', '--ignore-not-found'], { allowFail: true });
  if (r.exitCode !== 0) {
    if (/doesn't have a resource type/.test(r.stderr)) return { exists: false, deleting: false, finalizers: [] };
    throw new Error(`kubectl get clusteraliyunpipelineconfigs ${name} exited ${r.exitCode}: ${r.stderr.trim()}`);
  }
  if (!r.stdout.trim()) return { exists: false, deleting: false, finalizers: [] };
  const o = JSON.parse(r.stdout) as { metadata: { deletionTimestamp?: string; finalizers?: string[] } };
  return { exists: true, deleting: Boolean(o.metadata.deletionTimestamp), finalizers: o.metadata.finalizers ?? [] };
}
