import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { runChecks } from '../../../src/checks/engine.js';
import { decideAccess, installAccess, missingRbacYaml, rbacChecks, uninstallAccess } from '../../../src/checks/preflight/rbac.js';
import { fakeCtx } from './helpers.js';

/** Kubernetes' own cluster-scoped kinds among those a chart can hold (a fact of the API, not of the chart). */
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']);

/** Every kind the fixture chart creates, read from its templates and crds/ (no helm needed: apiVersion/kind lines are literal there). */
function fixtureChartKinds(): Array<{ group: string; resource: string; namespaced: boolean; kind: string }> {
  const chart = fileURLToPath(new URL('../../fixtures/charts/loongcollector-cluster-insight/', import.meta.url));
  const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : []));
  // The chart's own CRDs say whether their kinds are namespaced.
  const crdScope = new Map<string, boolean>();
  for (const f of files(join(chart, 'crds'))) {
    const crd = parse(readFileSync(f, 'utf8')) as { spec: { group: string; names: { kind: string }; scope: string } };
    crdScope.set(`${crd.spec.group}/${crd.spec.names.kind}`, crd.spec.scope === 'Namespaced');
  }
  const out = new Map<string, { group: string; resource: string; namespaced: boolean; kind: string }>();
  for (const f of [...files(join(chart, 'templates')), ...files(join(chart, 'crds'))]) {
    for (const doc of readFileSync(f, 'utf8').split(/^---\s*$/m)) {
      const apiVersion = /^apiVersion:\s*(\S+)/m.exec(doc)?.[1];
      const kind = /^kind:\s*(\w+)/m.exec(doc)?.[1];
      if (!apiVersion || !kind) continue;
      const group = apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
      const namespaced = crdScope.get(`${group}/${kind}`) ?? !CLUSTER_SCOPED.has(kind);
      out.set(`${group}/${kind}`, { group, kind, resource: `${kind.toLowerCase()}s`, namespaced });
    }
  }
  return [...out.values()];
}

describe('what install and uninstall need', () => {
  const kinds = fixtureChartKinds();
  const key = (a: { group: string; resource: string }) => `${a.resource}.${a.group}`;

  it('reads the kinds from the fixture chart', () => {
    // Guards the reader above: a chart without these would mean it found nothing.
    expect(kinds.map((k) => k.kind)).toEqual(expect.arrayContaining(['DaemonSet', 'Deployment', 'ClusterRole', 'CustomResourceDefinition', 'ClusterAliyunPipelineConfig']));
  });

  it('install may create, patch and update every kind the chart holds, in the right scope', () => {
    const inst = installAccess();
    for (const k of kinds) {
      for (const verb of ['create', 'patch', 'update']) {
        expect(inst.filter((a) => a.verb === verb && key(a) === key(k)).map((a) => a.namespaced), `${verb} ${key(k)}`).toEqual([k.namespaced]);
      }
    }
    // helm itself: --create-namespace, and its release records (Secrets) in the namespace.
    expect(inst.some((a) => a.verb === 'create' && a.resource === 'namespaces' && !a.namespaced)).toBe(true);
    expect(inst.some((a) => a.verb === 'create' && a.resource === 'secrets' && a.namespaced)).toBe(true);
    expect(inst.some((a) => a.verb === 'watch' && a.resource === 'pods')).toBe(true);
  });

  it('asks for nothing of a kind the chart does not hold (beyond what helm itself needs)', () => {
    const chart = new Set(kinds.map(key));
    const extra = [...new Set(installAccess().filter((a) => ['create', 'patch', 'update'].includes(a.verb)).map(key))].filter((k) => !chart.has(k));
    expect(extra).toEqual(['namespaces.']);
  });

  it('uninstall may delete every kind of the chart but CRDs (optional) and never the namespace', () => {
    const un = uninstallAccess();
    for (const k of kinds.filter((x) => x.kind !== 'CustomResourceDefinition')) {
      expect(un.some((a) => a.verb === 'delete' && key(a) === key(k) && a.namespaced === k.namespaced), `delete ${key(k)}`).toBe(true);
    }
    expect(un.find((a) => a.verb === 'delete' && a.resource === 'customresourcedefinitions')?.why).toMatch(/^optional/);
    expect(un.some((a) => a.verb === 'patch' && a.resource === 'clusteraliyunpipelineconfigs')).toBe(true);
    expect(un.some((a) => a.resource === 'namespaces')).toBe(false);
  });
});

describe('decideAccess', () => {
  const all = installAccess();
  it('passes when nothing is denied', () => {
    expect(decideAccess('install', [], all.length, 'ns')).toMatchObject({ status: 'passed' });
  });
  it('lists exactly the missing permissions and a ClusterRole + Role that grant them', () => {
    const denied = all.filter((a) => (a.resource === 'clusterroles' && a.verb === 'create') || (a.resource === 'daemonsets' && ['create', 'patch'].includes(a.verb)));
    const f = decideAccess('install', denied, all.length, 'cms-monitoring');
    expect(f.status).toBe('failed');
    expect(f.message).toBe(`you cannot install the chart: 3 of ${all.length} permissions missing`);
    expect(f.evidence).toEqual(['missing: create clusterroles.rbac.authorization.k8s.io (component ClusterRoles)', 'missing: create daemonsets.apps -n cms-monitoring (node-exporter, gpu-exporter)', 'missing: patch daemonsets.apps -n cms-monitoring (node-exporter, gpu-exporter)']);
    const docs = parseAllDocuments(f.hint!.slice(f.hint!.indexOf('\n') + 1)).map((d) => d.toJS());
    expect(docs).toEqual([
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'kubectl-insight-install' }, rules: [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['create'] }] },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'kubectl-insight-install', namespace: 'cms-monitoring' }, rules: [{ apiGroups: ['apps'], resources: ['daemonsets'], verbs: ['create', 'patch'] }] },
    ]);
  });
  it('only optional steps missing: an info, not a failure of the run', () => {
    const optional = uninstallAccess().filter((a) => a.why.startsWith('optional'));
    expect(decideAccess('uninstall', optional, 40, 'ns')).toMatchObject({ status: 'failed', severity: 'info' });
  });
  it('grants exactly the missing access: one rule per resource with its verbs, cluster kinds in a ClusterRole', () => {
    const missing = [
      { verb: 'create', group: 'apps', resource: 'daemonsets', namespaced: true, why: '' },
      { verb: 'patch', group: 'apps', resource: 'daemonsets', namespaced: true, why: '' },
      { verb: 'create', group: '', resource: 'secrets', namespaced: true, why: '' },
      { verb: 'create', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', namespaced: false, why: '' },
    ];
    expect(parseAllDocuments(missingRbacYaml(missing, 'ns', 'x')).map((d) => d.toJS())).toEqual([
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'x' }, rules: [{ apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['create'] }] },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'x', namespace: 'ns' },
        rules: [{ apiGroups: ['apps'], resources: ['daemonsets'], verbs: ['create', 'patch'] }, { apiGroups: [''], resources: ['secrets'], verbs: ['create'] }],
      },
    ]);
  });
});

describe('rbac checks through the engine', () => {
  it('asks one SelfSubjectAccessReview per access, namespaced ones in the release namespace', async () => {
    const asked: Array<Record<string, string | undefined>> = [];
    const ctx = fakeCtx({ namespace: 'obs' }, {
      kube: {
        authz: {
          createSelfSubjectAccessReview: async ({ body }: { body: { spec: { resourceAttributes: Record<string, string> } } }) => {
            const ra = body.spec.resourceAttributes;
            asked.push(ra);
            return { status: { allowed: !(ra.resource === 'secrets' && ra.verb === 'create') } };
          },
        } as never,
      },
    });
    const r = await runChecks(rbacChecks, ctx);
    const install = r.results.find((x) => x.id === 'rbac.install')!;
    expect(install.status).toBe('failed');
    expect(install.evidence).toEqual(['missing: create secrets -n obs (the AccessKey Secret and helm\'s release records)']);
    expect(r.results.find((x) => x.id === 'rbac.uninstall')!.status).toBe('passed');
    expect(asked.find((a) => a.resource === 'daemonsets')!.namespace).toBe('obs');
    expect(asked.find((a) => a.resource === 'clusterroles')!.namespace).toBeUndefined();
    expect(asked).toHaveLength(installAccess().length + uninstallAccess().length);
  });
});
