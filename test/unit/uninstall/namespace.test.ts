import { describe, expect, it } from 'vitest';
import { inspectNamespace, judgeNamespace, type NamespaceObject } from '../../../src/kube/namespace.js';

const inst = { release: 'rel', namespace: 'cms' };
const helmOwned = { 'meta.helm.sh/release-name': 'rel', 'meta.helm.sh/release-namespace': 'cms' };
const o = (kind: string, name: string, meta: Partial<NamespaceObject['metadata']> = {}): NamespaceObject => ({ apiVersion: 'v1', kind, metadata: { name, namespace: 'cms', ...meta } });

describe('may the namespace be deleted?', () => {
  it('yes when everything is the release\'s, its controllers\' children, its helm storage, or what every namespace has', () => {
    const dep = o('Deployment', 'op', { uid: 'd1', annotations: helmOwned });
    const rs = o('ReplicaSet', 'op-1', { uid: 'r1', ownerReferences: [{ uid: 'd1' }] });
    const pod = o('Pod', 'op-1-x', { uid: 'p1', ownerReferences: [{ uid: 'r1' }] });
    const svc = o('Service', 'op', { uid: 's1', annotations: helmOwned });
    const objs = [
      dep, rs, pod, svc,
      o('Endpoints', 'op'),
      o('EndpointSlice', 'op-abc', { ownerReferences: [{ uid: 's1' }] }),
      o('Secret', 'sh.helm.release.v1.rel.v1', { labels: { owner: 'helm', name: 'rel' } }),
      o('ServiceAccount', 'default'),
      o('ConfigMap', 'kube-root-ca.crt'),
      o('Event', 'op.123'),
    ];
    expect(judgeNamespace(objs, inst, [])).toEqual({ deletable: true, foreign: [], unlisted: [], ours: 6 });
  });

  it('no when anything else lives there, of any kind: another team\'s Secret, CronJob, ConfigMap, PVC, custom resource', () => {
    const objs = [
      o('Secret', 'db-password'),
      o('CronJob', 'backup'),
      o('ConfigMap', 'team-config', { annotations: { 'meta.helm.sh/release-name': 'other', 'meta.helm.sh/release-namespace': 'cms' } }),
      o('PersistentVolumeClaim', 'data'),
      o('Widget', 'w1'),
      o('Secret', 'sh.helm.release.v1.other.v1', { labels: { owner: 'helm', name: 'other' } }),
      o('Endpoints', 'not-our-service'),
    ];
    const v = judgeNamespace(objs, inst, []);
    expect(v.deletable).toBe(false);
    expect(v.foreign).toEqual(['Secret db-password', 'CronJob backup', 'ConfigMap team-config', 'PersistentVolumeClaim data', 'Widget w1', 'Secret sh.helm.release.v1.other.v1', 'Endpoints not-our-service']);
  });

  it('no for an object helm was told to keep (helm.sh/resource-policy: keep), even the release\'s own', () => {
    const v = judgeNamespace([o('PersistentVolumeClaim', 'data', { annotations: { ...helmOwned, 'helm.sh/resource-policy': 'keep' } })], inst, []);
    expect(v).toMatchObject({ deletable: false, foreign: ['PersistentVolumeClaim data'] });
  });

  it('sees kinds served only in a non-preferred version of a group', async () => {
    const listed: string[] = [];
    const api = {
      getJson: async (path: string): Promise<any> => {
        if (path === '/api/v1') return { groupVersion: 'v1', resources: [] };
        if (path === '/apis') return { groups: [{ preferredVersion: { groupVersion: 'monitoring.coreos.com/v1' }, versions: [{ groupVersion: 'monitoring.coreos.com/v1' }, { groupVersion: 'monitoring.coreos.com/v1alpha1' }] }] };
        if (path === '/apis/monitoring.coreos.com/v1') return { groupVersion: 'monitoring.coreos.com/v1', resources: [{ name: 'servicemonitors', kind: 'ServiceMonitor', namespaced: true, verbs: ['list'] }] };
        if (path === '/apis/monitoring.coreos.com/v1alpha1') return { groupVersion: 'monitoring.coreos.com/v1alpha1', resources: [{ name: 'alertmanagerconfigs', kind: 'AlertmanagerConfig', namespaced: true, verbs: ['list'] }, { name: 'servicemonitors', kind: 'ServiceMonitor', namespaced: true, verbs: ['list'] }] };
        throw new Error(path);
      },
      list: async (path: string): Promise<any[]> => {
        listed.push(path);
        return path.endsWith('/alertmanagerconfigs') ? [{ metadata: { name: 'team-routes' } }] : [];
      },
    };
    const v = await inspectNamespace(api, 'cms', inst);
    expect(listed.sort()).toEqual(['/apis/monitoring.coreos.com/v1/namespaces/cms/servicemonitors', '/apis/monitoring.coreos.com/v1alpha1/namespaces/cms/alertmanagerconfigs']);
    expect(v).toMatchObject({ deletable: false, foreign: ['AlertmanagerConfig team-routes'] });
  });

  it('no when a type could not be listed: what we cannot see we may not delete', () => {
    expect(judgeNamespace([], inst, ['secrets (HTTP 403)'])).toMatchObject({ deletable: false, unlisted: ['secrets (HTTP 403)'] });
  });

  it('lists every namespaced, listable type discovery reports, including custom resources', async () => {
    const listed: string[] = [];
    const api = {
      getJson: async (path: string): Promise<any> => {
        if (path === '/api/v1') return { groupVersion: 'v1', resources: [{ name: 'secrets', kind: 'Secret', namespaced: true, verbs: ['list'] }, { name: 'nodes', kind: 'Node', namespaced: false, verbs: ['list'] }, { name: 'pods/log', kind: 'Pod', namespaced: true, verbs: ['get'] }, { name: 'events', kind: 'Event', namespaced: true, verbs: ['list'] }] };
        if (path === '/apis') return { groups: [{ preferredVersion: { groupVersion: 'batch/v1' }, versions: [] }, { preferredVersion: { groupVersion: 'example.com/v1' }, versions: [] }, { preferredVersion: { groupVersion: 'metrics.k8s.io/v1beta1' }, versions: [] }] };
        if (path === '/apis/batch/v1') return { groupVersion: 'batch/v1', resources: [{ name: 'cronjobs', kind: 'CronJob', namespaced: true, verbs: ['list', 'get'] }] };
        if (path === '/apis/example.com/v1') return { groupVersion: 'example.com/v1', resources: [{ name: 'widgets', kind: 'Widget', namespaced: true, verbs: ['list'] }] };
        throw Object.assign(new Error('HTTP 503: unavailable'), { code: 503, body: 'unavailable' });
      },
      list: async (path: string): Promise<any[]> => {
        listed.push(path);
        if (path.endsWith('/cronjobs')) return [{ metadata: { name: 'backup' } }];
        if (path.endsWith('/secrets')) throw Object.assign(new Error('HTTP 403: forbidden'), { code: 403, body: 'forbidden' });
        return [];
      },
    };
    const v = await inspectNamespace(api, 'cms', inst);
    expect(listed.sort()).toEqual(['/api/v1/namespaces/cms/secrets', '/apis/batch/v1/namespaces/cms/cronjobs', '/apis/example.com/v1/namespaces/cms/widgets']);
    expect(v.foreign).toEqual(['CronJob backup']);
    expect(v.unlisted).toEqual(['metrics.k8s.io/v1beta1 (HTTP 503: unavailable)', 'secrets (HTTP 403: forbidden)']);
    expect(v.deletable).toBe(false);
  });
});

/** RFC 7386 merge patch, as the API server applies one to an object (null deletes a key). */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

describe('clearUninstallMark', () => {
  const fake = (annotations: Record<string, string> | undefined, failRead = false) => {
    const patches: object[] = [];
    let ns: Record<string, unknown> = { metadata: { name: 'ns', ...(annotations ? { annotations } : {}) } };
    return {
      patches,
      namespace: () => ns,
      kube: {
        core: {
          readNamespace: async () => {
            if (failRead) throw new Error('forbidden');
            return structuredClone(ns);
          },
          patchNamespace: async (req: { body: object }) => {
            patches.push(req.body);
            ns = mergePatch(ns, req.body) as Record<string, unknown>;
          },
        },
      },
    };
  };
  it("removes this release's mark, and nothing when the mark names another release or is absent", async () => {
    const { clearUninstallMark, NAMESPACE_MARK } = await import('../../../src/kube/namespace.js');
    const own = fake({ [NAMESPACE_MARK]: 'rel', 'team.example.com/owner': 'data' });
    await clearUninstallMark(own.kube, 'ns', 'rel');
    // Applied as the API server would: the mark is gone, everything else of the namespace stays.
    expect(own.patches).toHaveLength(1);
    expect(own.namespace()).toEqual({ metadata: { name: 'ns', annotations: { 'team.example.com/owner': 'data' } } });
    const other = fake({ [NAMESPACE_MARK]: 'someone-else' });
    await clearUninstallMark(other.kube, 'ns', 'rel');
    expect(other.patches).toEqual([]);
    const none = fake(undefined);
    await clearUninstallMark(none.kube, 'ns', 'rel');
    expect(none.patches).toEqual([]);
    const denied = fake({ [NAMESPACE_MARK]: 'rel' }, true);
    await expect(clearUninstallMark(denied.kube, 'ns', 'rel')).resolves.toBeUndefined();
  });
});
