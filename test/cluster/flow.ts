// A client identity of its own on the local cluster, for measuring and throttling what one CLI run asks
// of the API server: a ServiceAccount bound to cluster-admin, a FlowSchema that sends its requests to a
// priority level of its own (so API Priority and Fairness counts them apart, and can be made to reject
// them with 429), and a kubeconfig with the account's token.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './procs.js';

export interface FlowIdentityOptions {
  /** Names the ServiceAccount (in `default`), its binding, the FlowSchema and the priority level. */
  name: string;
  /** The priority level's share of the server's concurrency; 1 leaves it a seat or two. */
  shares: number;
  /** Reject (429) what does not fit at once, instead of queueing it. */
  reject: boolean;
  /** Where the kubeconfig is written. */
  dir: string;
}

export interface FlowIdentity {
  kubeconfig: string;
  /** The flow_schema label of this identity's APF metrics. */
  flowSchema: string;
  remove(): Promise<void>;
}

function manifests(o: FlowIdentityOptions): unknown[] {
  const limitResponse = o.reject ? { type: 'Reject' } : { type: 'Queue', queuing: { queues: 64, handSize: 8, queueLengthLimit: 50 } };
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: o.name, namespace: 'default' } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: o.name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: o.name, namespace: 'default' }],
    },
    {
      apiVersion: 'flowcontrol.apiserver.k8s.io/v1', kind: 'PriorityLevelConfiguration', metadata: { name: o.name },
      // No borrowing: the level's own seats are all it gets, so a small share really throttles.
      spec: { type: 'Limited', limited: { nominalConcurrencyShares: o.shares, lendablePercent: 0, borrowingLimitPercent: 0, limitResponse } },
    },
    {
      apiVersion: 'flowcontrol.apiserver.k8s.io/v1', kind: 'FlowSchema', metadata: { name: o.name },
      spec: {
        priorityLevelConfiguration: { name: o.name },
        // Before every built-in schema but exempt (1) and the probes' (2).
        matchingPrecedence: 500,
        distinguisherMethod: { type: 'ByUser' },
        rules: [{
          subjects: [{ kind: 'ServiceAccount', serviceAccount: { name: o.name, namespace: 'default' } }],
          resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'], clusterScope: true, namespaces: ['*'] }],
          nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
        }],
      },
    },
  ];
}

/** Creates (or updates) the identity with the cluster's admin kubeconfig `adminKubeconfig`. */
export async function flowIdentity(kubectl: string, adminKubeconfig: string, o: FlowIdentityOptions): Promise<FlowIdentity> {
  const k = (args: string[], input?: string) => run(kubectl, ['--kubeconfig', adminKubeconfig, ...args], input === undefined ? {} : { input });
  await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests(o) }));
  const token = (await k(['create', 'token', o.name, '-n', 'default', '--duration=6h'])).stdout.trim();
  const admin = JSON.parse((await k(['config', 'view', '--raw', '--minify', '-o', 'json'])).stdout) as {
    clusters: Array<{ name: string; cluster: Record<string, unknown> }>;
  };
  const cluster = admin.clusters[0]!;
  const kubeconfig = join(o.dir, `${o.name}.kubeconfig`);
  writeFileSync(kubeconfig, JSON.stringify({
    apiVersion: 'v1', kind: 'Config', clusters: [cluster], users: [{ name: o.name, user: { token } }],
    contexts: [{ name: o.name, context: { cluster: cluster.name, user: o.name } }], 'current-context': o.name,
  }), { mode: 0o600 });
  return {
    kubeconfig,
    flowSchema: o.name,
    remove: async () => {
      for (const kind of ['flowschema', 'prioritylevelconfiguration', 'clusterrolebinding']) await k(['delete', kind, o.name, '--ignore-not-found']);
      await k(['delete', 'serviceaccount', o.name, '-n', 'default', '--ignore-not-found']);
    },
  };
}

/** The API server's metrics, summed per family over the series whose labels include `match`. */
export async function apiMetric(kubectl: string, adminKubeconfig: string, family: string, match: Record<string, string> = {}): Promise<number> {
  const text = (await run(kubectl, ['--kubeconfig', adminKubeconfig, 'get', '--raw', '/metrics'])).stdout;
  return sumMetric(text, family, match);
}

/** Sum of a counter family's samples whose labels include every `match` pair (exposition text). */
export function sumMetric(text: string, family: string, match: Record<string, string> = {}): number {
  let sum = 0;
  const want = Object.entries(match).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${family}{`) && !line.startsWith(`${family} `)) continue;
    const close = line.lastIndexOf('}');
    const labels = close > 0 ? line.slice(family.length + 1, close) : '';
    if (!want.every((w) => labels.split(/,(?=[a-z_]+=")/).includes(w))) continue;
    sum += Number(line.slice(close > 0 ? close + 1 : family.length).trim().split(' ')[0]);
  }
  return sum;
}
