/**
 * Can we act on the cluster: the API server answers, and the user may do what helm will do
 * (SelfSubjectAccessReviews, before helm changes anything).
 */
import type { Kube } from '../kube/client.js';
import { InsightError } from '../errors.js';
import type { RenderedChart } from './chart.js';

/** Check that the API server answers and remember its version (helm template renders for it). */
export async function connect<K extends Pick<Kube, 'version' | 'call'>>(ctx: { kube?: K; deps: { kube: () => K }; kubeVersion?: string }): Promise<void> {
  const kube = (ctx.kube ??= ctx.deps.kube());
  const v = await kube.call({ verb: 'get', resource: 'version' }, () => kube.version.getCode(), { attempts: 2 });
  ctx.kubeVersion = v.gitVersion;
}

export interface AccessNeed {
  verb: string;
  group: string;
  resource: string;
  namespace?: string;
}

/** API group of an apiVersion (`apps/v1` → `apps`, `v1` → core ''). */
const groupOf = (apiVersion = '') => (apiVersion.includes('/') ? apiVersion.split('/')[0]! : '');
/**
 * The resource name of a kind, with the API server's own pluralisation rules (k8s.io/gengo namer):
 * NetworkPolicy → networkpolicies, Ingress → ingresses, Endpoints stays. Discovery would be exact but
 * costs a round trip per group; the chart only uses regular kinds.
 */
export function resourceOf(kind: string): string {
  const k = kind.toLowerCase();
  if (k === 'endpoints') return k;
  if (/[^aeiou]y$/.test(k)) return `${k.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/.test(k)) return `${k}es`;
  return `${k}s`;
}

/**
 * What helm will do to the cluster with these manifests: create (install) or create and patch
 * (upgrade) each kind, in the release namespace or cluster-wide; plus helm's own release records
 * (Secrets) and the namespace.
 */
export function accessNeeds(rendered: RenderedChart, namespace: string, verbs: readonly string[], opts: { createNamespace: boolean; skipCrds: boolean }): AccessNeed[] {
  const seen = new Map<string, AccessNeed>();
  const add = (n: AccessNeed) => seen.set(`${n.verb} ${n.group} ${n.resource} ${n.namespace ?? ''}`, n);
  const clusterScoped = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'PriorityClass', 'StorageClass', 'ClusterAliyunPipelineConfig']);
  for (const d of rendered.docs) {
    if (!d.kind) continue;
    if (d.kind === 'CustomResourceDefinition' && opts.skipCrds && !rendered.crdsTemplated.includes(d.metadata?.name ?? '')) continue;
    const ns = clusterScoped.has(d.kind) ? undefined : (d.metadata?.namespace ?? namespace);
    for (const verb of d.kind === 'CustomResourceDefinition' && !rendered.crdsTemplated.includes(d.metadata?.name ?? '') ? ['create'] : verbs) {
      add({ verb, group: groupOf(d.apiVersion), resource: resourceOf(d.kind), ...(ns ? { namespace: ns } : {}) });
    }
  }
  for (const verb of verbs) add({ verb, group: '', resource: 'secrets', namespace }); // helm's release records
  if (opts.createNamespace) add({ verb: 'create', group: '', resource: 'namespaces' });
  return [...seen.values()];
}

/** One SelfSubjectAccessReview per need; throws a forbidden error (exit 4) listing every denial. */
export async function checkAccess(kube: Pick<Kube, 'authz' | 'call'>, needs: readonly AccessNeed[]): Promise<void> {
  const denied: AccessNeed[] = [];
  await Promise.all(
    needs.map(async (n) => {
      const r = await kube.call({ verb: 'create', resource: 'selfsubjectaccessreviews.authorization.k8s.io' }, () =>
        kube.authz.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { verb: n.verb, group: n.group, resource: n.resource, ...(n.namespace ? { namespace: n.namespace } : {}) } } } }),
      );
      if (!r.status?.allowed) denied.push(n);
    }),
  );
  if (!denied.length) return;
  denied.sort((a, b) => `${a.group}/${a.resource}/${a.verb}`.localeCompare(`${b.group}/${b.resource}/${b.verb}`));
  const text = (n: AccessNeed) => `${n.verb} ${n.resource}${n.group ? `.${n.group}` : ''}${n.namespace ? ` in ${n.namespace}` : ''}`;
  const first = denied[0]!;
  throw new InsightError('forbidden', `forbidden: you cannot ${text(first)}${denied.length > 1 ? ` (and ${denied.length - 1} more: ${denied.slice(1, 4).map(text).join(', ')}${denied.length > 4 ? ', …' : ''})` : ''}`, {
    hint: `Ask a cluster admin for these permissions (\`kubectl insight preflight\` prints a ready-to-apply ClusterRole); check one with \`kubectl auth can-i ${first.verb} ${first.resource}${first.group ? `.${first.group}` : ''}${first.namespace ? ` -n ${first.namespace}` : ''}\`. Nothing was changed.`,
    details: { denied },
  });
}

/** Whether the namespace exists (helm --create-namespace creates it otherwise). */
export async function namespaceExists(kube: Pick<Kube, 'core' | 'ifFound'>, name: string): Promise<boolean> {
  return (await kube.ifFound({ verb: 'get', resource: 'namespaces', name }, () => kube.core.readNamespace({ name }))) !== undefined;
}

