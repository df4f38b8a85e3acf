import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { runChecks } from '../../../src/checks/engine.js';
import { accessText, decideAccess, installAccess, missingRbacYaml, rbacChecks, uninstallAccess } from '../../../src/checks/preflight/rbac.js';
import { fakeCtx } from './helpers.js';

describe('what install and uninstall need', () => {
  it('covers every kind the chart creates, with create/patch for install and delete for uninstall', () => {
    const inst = installAccess().map((a) => accessText(a, 'cms-monitoring'));
    for (const want of ['create customresourcedefinitions.apiextensions.k8s.io', 'create clusterroles.rbac.authorization.k8s.io', 'create clusterrolebindings.rbac.authorization.k8s.io', 'create namespaces', 'create daemonsets.apps -n cms-monitoring', 'patch deployments.apps -n cms-monitoring', 'create secrets -n cms-monitoring', 'create validatingwebhookconfigurations.admissionregistration.k8s.io', 'create servicemonitors.monitoring.coreos.com -n cms-monitoring', 'create clusteraliyunpipelineconfigs.telemetry.alibabacloud.com', 'watch pods -n cms-monitoring']) {
      expect(inst).toContain(want);
    }
    const un = uninstallAccess().map((a) => accessText(a, 'ns'));
    expect(un).toContain('delete clusterroles.rbac.authorization.k8s.io');
    expect(un).toContain('patch clusteraliyunpipelineconfigs.telemetry.alibabacloud.com');
    expect(un).not.toContain('delete namespaces');
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
  it('renders valid YAML', () => {
    expect(() => parse(missingRbacYaml(installAccess().slice(0, 1), 'ns', 'x'))).not.toThrow();
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
