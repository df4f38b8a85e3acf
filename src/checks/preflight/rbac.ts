/**
 * RBAC checks: one SelfSubjectAccessReview per verb and resource the chart's install (and uninstall)
 * needs, so the report lists exactly what is missing and gives a ready-to-apply ClusterRole, instead
 * of helm failing half-way through with the first 403.
 */
import pLimit from 'p-limit';
import { stringify } from 'yaml';
import { CR, LOG_CONFIG } from '../../defaults.js';
import type { Check, Finding } from '../engine.js';
import type { PreflightContext } from './context.js';

export const CATEGORY = 'rbac';

export interface Access {
  verb: string;
  group: string;
  resource: string;
  /** Set for namespaced resources (the release namespace). */
  namespaced: boolean;
  subresource?: string;
  /** Why it is needed, for the evidence line. */
  why: string;
}

interface Kind {
  group: string;
  resource: string;
  namespaced: boolean;
  why: string;
}

/** Every kind the chart creates (fixture chart = the documented real chart), plus what helm itself uses. */
export const CHART_KINDS: Kind[] = [
  { group: '', resource: 'namespaces', namespaced: false, why: 'helm --create-namespace' },
  { group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', namespaced: false, why: 'the chart installs 6 CRDs' },
  { group: 'rbac.authorization.k8s.io', resource: 'clusterroles', namespaced: false, why: 'component ClusterRoles' },
  { group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', namespaced: false, why: 'component ClusterRoleBindings' },
  { group: 'rbac.authorization.k8s.io', resource: 'roles', namespaced: true, why: 'operator Role' },
  { group: 'rbac.authorization.k8s.io', resource: 'rolebindings', namespaced: true, why: 'operator RoleBinding' },
  { group: 'admissionregistration.k8s.io', resource: 'validatingwebhookconfigurations', namespaced: false, why: 'operator webhook' },
  { group: 'apps', resource: 'daemonsets', namespaced: true, why: 'node-exporter, gpu-exporter' },
  { group: 'apps', resource: 'deployments', namespaced: true, why: 'operator, loongcollector, kube-state-metrics, entity-collector' },
  { group: '', resource: 'services', namespaced: true, why: 'component Services' },
  { group: '', resource: 'serviceaccounts', namespaced: true, why: 'component ServiceAccounts' },
  { group: '', resource: 'secrets', namespaced: true, why: 'the AccessKey Secret and helm\'s release records' },
  { group: '', resource: 'configmaps', namespaced: true, why: 'collector configuration' },
  { group: 'monitoring.coreos.com', resource: 'servicemonitors', namespaced: true, why: 'component ServiceMonitors' },
  { group: CR.group, resource: CR.plural, namespaced: false, why: 'the entity collector pipeline config' },
];

const INSTALL_VERBS = ['get', 'list', 'create', 'patch', 'update'];
const UNINSTALL_VERBS = ['get', 'list', 'delete'];

/** What `install`/`upgrade` needs. */
export function installAccess(): Access[] {
  const out: Access[] = [];
  for (const k of CHART_KINDS) {
    // helm creates the namespace only; it never updates it.
    const verbs = k.resource === 'namespaces' ? ['get', 'create'] : INSTALL_VERBS;
    for (const verb of verbs) out.push({ verb, group: k.group, resource: k.resource, namespaced: k.namespaced, why: k.why });
  }
  // Waiting for the rollout and explaining a stuck pod.
  for (const [group, resource] of [['', 'pods'], ['apps', 'replicasets'], ['', 'events']] as const) {
    for (const verb of ['get', 'list', 'watch']) out.push({ verb, group, resource, namespaced: true, why: 'waiting for the rollout' });
  }
  return out;
}

/** What `uninstall` needs (CRD deletion is optional and checked separately). */
export function uninstallAccess(): Access[] {
  const out: Access[] = [];
  for (const k of CHART_KINDS) {
    if (k.resource === 'customresourcedefinitions' || k.resource === 'namespaces') continue;
    for (const verb of UNINSTALL_VERBS) out.push({ verb, group: k.group, resource: k.resource, namespaced: k.namespaced, why: k.why });
  }
  // Removing a stuck finalizer from the entity collector CR.
  out.push({ verb: 'patch', group: CR.group, resource: CR.plural, namespaced: false, why: 'removing a stuck finalizer' });
  out.push({ verb: 'delete', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', namespaced: false, why: 'optional: --purge-crds' });
  out.push({ verb: 'list', group: LOG_CONFIG.group, resource: LOG_CONFIG.plural, namespaced: true, why: 'optional: --purge-crds checks who uses the CRD' });
  return out;
}

export function accessText(a: Access, namespace: string): string {
  const res = a.group ? `${a.resource}.${a.group}` : a.resource;
  return `${a.verb} ${res}${a.namespaced ? ` -n ${namespace}` : ''}`;
}

/** A ClusterRole (cluster-scoped kinds) and Role (namespaced kinds) granting exactly the missing access. */
export function missingRbacYaml(missing: Access[], namespace: string, name: string): string {
  const rules = (items: Access[]) => {
    const byKey = new Map<string, { apiGroups: string[]; resources: string[]; verbs: string[] }>();
    for (const a of items) {
      const key = `${a.group}/${a.resource}`;
      const r = byKey.get(key) ?? { apiGroups: [a.group], resources: [a.resource], verbs: [] };
      if (!r.verbs.includes(a.verb)) r.verbs.push(a.verb);
      byKey.set(key, r);
    }
    return [...byKey.values()];
  };
  const docs: unknown[] = [];
  const cluster = missing.filter((a) => !a.namespaced);
  const ns = missing.filter((a) => a.namespaced);
  if (cluster.length) docs.push({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules: rules(cluster) });
  if (ns.length) docs.push({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace }, rules: rules(ns) });
  return docs.map((d) => stringify(d)).join('---\n');
}

/** Ask the API server about each access; returns the denied ones. */
export async function reviewAccess(ctx: PreflightContext, access: Access[], signal?: AbortSignal): Promise<{ denied: Access[]; errors: string[] }> {
  const limit = pLimit(8);
  const denied: Access[] = [];
  const errors: string[] = [];
  await Promise.all(
    access.map((a) =>
      limit(async () => {
        if (signal?.aborted) return;
        const r = await ctx.kube.call(
          { verb: 'create', resource: 'selfsubjectaccessreviews.authorization.k8s.io' },
          () =>
            ctx.kube.authz.createSelfSubjectAccessReview({
              body: { spec: { resourceAttributes: { verb: a.verb, group: a.group, resource: a.resource, ...(a.subresource ? { subresource: a.subresource } : {}), ...(a.namespaced ? { namespace: ctx.input.namespace } : {}) } } },
            }),
        );
        if (!r.status?.allowed) denied.push(a);
        if (r.status?.evaluationError) errors.push(r.status.evaluationError);
      }),
    ),
  );
  const order = new Map(access.map((a, i) => [a, i]));
  denied.sort((x, y) => order.get(x)! - order.get(y)!);
  return { denied, errors };
}

export function decideAccess(what: 'install' | 'uninstall', denied: Access[], total: number, namespace: string): Finding {
  if (!denied.length) return { status: 'passed', message: `you may ${what} the chart: all ${total} permissions granted` };
  const required = denied.filter((a) => !a.why.startsWith('optional'));
  const optional = denied.filter((a) => a.why.startsWith('optional'));
  const evidence = denied.map((a) => `missing: ${accessText(a, namespace)} (${a.why})`);
  const yaml = missingRbacYaml(denied, namespace, `kubectl-insight-${what}`);
  const hint = `Ask a cluster admin to grant the missing permissions, e.g. apply this and bind it to your user:\n${yaml.trimEnd()}`;
  if (!required.length) {
    return { status: 'failed', severity: 'info', message: `you may ${what} the chart, but not use the optional steps (${optional.length} permission${optional.length === 1 ? '' : 's'} missing)`, evidence, hint };
  }
  return { status: 'failed', message: `you cannot ${what} the chart: ${required.length} of ${total} permissions missing`, evidence, hint };
}

export const rbacChecks: Check<PreflightContext>[] = [
  {
    id: 'rbac.install',
    category: CATEGORY,
    description: 'permissions to install the chart (SelfSubjectAccessReview per verb and resource)',
    severity: 'fatal',
    needs: ['cluster.api'],
    async run(ctx, signal) {
      const access = installAccess();
      const { denied } = await reviewAccess(ctx, access, signal);
      return decideAccess('install', denied, access.length, ctx.input.namespace);
    },
  },
  {
    id: 'rbac.uninstall',
    category: CATEGORY,
    description: 'permissions to uninstall the chart later',
    severity: 'warning',
    needs: ['cluster.api'],
    async run(ctx, signal) {
      const access = uninstallAccess();
      const { denied } = await reviewAccess(ctx, access, signal);
      return decideAccess('uninstall', denied, access.length, ctx.input.namespace);
    },
  },
];
