import { describe, expect, it } from 'vitest';
import { buildPlan, operatorFinalizer, INJECTION_POINTS, type Discovery } from '../../../src/actions/uninstall/index.js';
import type { CrdDecision } from '../../../src/kube/ownership.js';
import { renderPlan } from '../../../src/output/uninstall.js';
import { Chalk } from 'chalk';
import { cr, FIN } from './fixtures.js';

const installed = (over: Partial<Discovery> = {}): Discovery => ({
  release: 'rel',
  namespace: 'cms-monitoring',
  helmRelease: { name: 'rel', namespace: 'cms-monitoring', status: 'deployed', chart: 'loongcollector-cluster-insight-1.0.0', revision: 1 },
  clusterID: 'c1',
  clusterIDSource: 'helm-values',
  customResources: [cr()],
  operator: { deployments: ['cms-loongcollector-operator'], ready: 1 },
  workloads: [
    { kind: 'Deployment', namespace: 'cms-monitoring', name: 'cms-loongcollector-operator' },
    { kind: 'Pod', namespace: 'cms-monitoring', name: 'cms-loongcollector-operator-abc' },
  ],
  crds: [],
  namespaceState: { exists: true, others: [], hadRelease: true },
  ...over,
});

const empty = (over: Partial<Discovery> = {}): Discovery => {
  const { helmRelease: _h, clusterID: _c, ...rest } = installed({ customResources: [], workloads: [], operator: { deployments: [], ready: 0 }, clusterIDSource: 'unknown' });
  return { ...rest, ...over };
};

const opts = { purgeCrds: false, force: false, deleteNamespace: false, timeoutMs: 60_000 };

const crd = (name: string, action: CrdDecision['action'], extra: Partial<CrdDecision> = {}): CrdDecision =>
  ({ crd: name, kind: 'ServiceMonitor', action, ours: [], foreign: [], users: [], ...(action === 'keep' ? { reasons: ['1 ServiceMonitor object(s) not from this installation'] } : {}), ...extra }) as CrdDecision;

describe('buildPlan', () => {
  it('orders the steps as the official procedure: CRs, helm, workloads, CRDs, namespace', () => {
    const p = buildPlan(installed(), opts);
    expect(p.steps.map((s) => s.id)).toEqual(['custom-resources', 'helm-release', 'workloads', 'crds', 'namespace']);
    expect(p.nothingInstalled).toBe(false);
    expect(p.steps[3]!.skipped).toMatch(/--purge-crds/);
    expect(p.steps[4]!.skipped).toMatch(/--delete-namespace/);
  });

  it('lets a running operator remove its finalizer', () => {
    const item = buildPlan(installed(), opts).steps[0]!.items[0]!;
    expect(item.action).toBe('delete');
    expect(item.reason).toMatch(/wait up to 60s for the operator .*1 ready pod/);
  });

  it('plans to strip exactly the finalizer when the operator is not running', () => {
    const p = buildPlan(installed({ operator: { deployments: [], ready: 0 } }), opts);
    const item = p.steps[0]!.items[0]!;
    expect(item.action).toBe('delete-strip-finalizer');
    expect(item.reason).toContain(FIN);
    expect(item.reason).toMatch(/operator not running \(the release has no operator Deployment/);
  });

  it('a scaled-to-zero operator is gone; one without a ready pod (restarting) is waited for, not stripped at once', () => {
    const zero = buildPlan(installed({ operator: { deployments: ['op'], ready: 0, state: 'gone', why: 'Deployment ns/op is scaled to zero' } }), opts).steps[0]!.items[0]!;
    expect(zero).toMatchObject({ action: 'delete-strip-finalizer' });
    expect(zero.reason).toContain('scaled to zero');
    const restarting = buildPlan(installed({ operator: { deployments: ['op'], ready: 0, state: 'not-ready', why: 'Deployment ns/op has no ready pod' } }), opts).steps[0]!.items[0]!;
    expect(restarting.action).toBe('delete');
    expect(restarting.reason).toMatch(/wait up to 60s for the operator \(Deployment ns\/op has no ready pod\)/);
  });

  it('recovers a CR stuck Terminating after a wrong-order removal (no release, no operator)', () => {
    const p = buildPlan(empty({ customResources: [cr({ deleting: true })] }), opts);
    expect(p.nothingInstalled).toBe(false);
    expect(p.steps[0]!.items[0]).toMatchObject({ action: 'delete-strip-finalizer' });
    expect(p.steps[0]!.items[0]!.reason).toMatch(/^stuck Terminating/);
    expect(p.steps[1]!.skipped).toMatch(/no helm release/);
  });

  it('a CR without the operator finalizer is just deleted', () => {
    const p = buildPlan(installed({ operator: { deployments: [], ready: 0 }, customResources: [cr({ finalizers: ['other.io/keep'] })] }), opts);
    expect(p.steps[0]!.items[0]).toMatchObject({ action: 'delete', reason: 'no operator finalizer' });
  });

  it('nothing installed: says so', () => {
    const p = buildPlan(empty(), opts);
    expect(p.nothingInstalled).toBe(true);
    expect(p.steps.every((s) => s.items.length === 0)).toBe(true);
  });

  it('nothing installed even with --purge-crds when every CRD is absent or kept', () => {
    const p = buildPlan(empty({ crds: [crd('a.x', 'absent'), crd('servicemonitors.monitoring.coreos.com', 'keep')] }), { ...opts, purgeCrds: true });
    expect(p.nothingInstalled).toBe(true);
    expect(p.steps[3]!.items).toHaveLength(1);
    expect(p.steps[3]!.items[0]!.action).toBe('keep');
  });

  it('--purge-crds: deletes unused CRDs, keeps used ones with the list of what would be lost', () => {
    const lost = [{ kind: 'ServiceMonitor', namespace: 'monitoring', name: 'kps-apiserver', owner: 'helm release monitoring/kps', signals: [] }];
    const d = installed({
      crds: [
        crd('clusteraliyunpipelineconfigs.telemetry.alibabacloud.com', 'delete'),
        crd('servicemonitors.monitoring.coreos.com', 'keep', { foreign: lost, users: ['Deployment monitoring/kps-operator'] }),
        crd('probes.monitoring.coreos.com', 'absent'),
      ],
    });
    const items = buildPlan(d, { ...opts, purgeCrds: true }).steps[3]!.items;
    expect(items.map((i) => [i.name, i.action])).toEqual([
      ['clusteraliyunpipelineconfigs.telemetry.alibabacloud.com', 'delete'],
      ['servicemonitors.monitoring.coreos.com', 'keep'],
    ]);
    expect(items[1]!.lost).toEqual(lost);
    expect(items[1]!.reason).toMatch(/^in use: 1 ServiceMonitor/);
  });

  it('--purge-crds (even with --force) keeps every CRD when nothing of the installation is in the namespace', () => {
    const d = empty({ installationSeen: false, crds: [crd('clusteraliyunpipelineconfigs.telemetry.alibabacloud.com', 'delete'), crd('servicemonitors.monitoring.coreos.com', 'keep')] });
    const p = buildPlan(d, { ...opts, purgeCrds: true, force: true });
    expect(p.steps[3]!.items).toEqual([]);
    expect(p.steps[3]!.skipped).toMatch(/^CRDs are kept: nothing of release \S+ is in namespace/);
    expect(p.nothingInstalled).toBe(true);
  });

  it('--force turns keep into delete-forced and still carries the list', () => {
    const lost = [{ kind: 'ServiceMonitor', namespace: 'monitoring', name: 'kps-apiserver', owner: 'helm release monitoring/kps', signals: [] }];
    const d = installed({ crds: [crd('servicemonitors.monitoring.coreos.com', 'keep', { foreign: lost })] });
    const item = buildPlan(d, { ...opts, purgeCrds: true, force: true }).steps[3]!.items[0]!;
    expect(item.action).toBe('delete-forced');
    expect(item.lost).toEqual(lost);
    const text = renderPlan(buildPlan(d, { ...opts, purgeCrds: true, force: true }), new Chalk({ level: 0 }));
    expect(text).toContain('DELETE (--force) CustomResourceDefinition servicemonitors.monitoring.coreos.com');
    expect(text).toContain('ServiceMonitor monitoring/kps-apiserver  owner: helm release monitoring/kps');
  });

  it('--delete-namespace: keeps a namespace with other workloads and names them', () => {
    const d = installed({ namespaceState: { exists: true, hadRelease: true, others: [{ kind: 'Deployment', namespace: 'cms-monitoring', name: 'team-app' }, { kind: 'Secret', namespace: 'cms-monitoring', name: 'db-password' }] } });
    const item = buildPlan(d, { ...opts, deleteNamespace: true }).steps[4]!.items[0]!;
    expect(item).toMatchObject({ action: 'keep', reason: "not only the release's: Deployment team-app, Secret db-password" });
  });

  it('--delete-namespace: never deletes a namespace the release was never in, even an empty one', () => {
    const d = empty({ namespaceState: { exists: true, hadRelease: false, others: [] } });
    const item = buildPlan(d, { ...opts, deleteNamespace: true }).steps[4]!.items[0]!;
    expect(item).toMatchObject({ action: 'keep', reason: 'release rel was never installed in it' });
  });

  it('--delete-namespace: deletes an empty namespace; skips a missing one', () => {
    expect(buildPlan(installed(), { ...opts, deleteNamespace: true }).steps[4]!.items[0]!.action).toBe('delete');
    const p = buildPlan(empty({ namespaceState: { exists: false, others: [] } }), { ...opts, deleteNamespace: true });
    expect(p.steps[4]!.skipped).toMatch(/does not exist/);
    expect(p.nothingInstalled).toBe(true);
  });

  it('lists every workload to wait for, and waits even when the release is already gone', () => {
    const p = buildPlan(empty({ workloads: [{ kind: 'Pod', namespace: 'cms-monitoring', name: 'left-over' }] }), opts);
    expect(p.steps[2]!.items).toEqual([{ kind: 'Pod', namespace: 'cms-monitoring', name: 'left-over', action: 'wait-gone' }]);
    expect(p.nothingInstalled).toBe(false);
  });
});

describe('operatorFinalizer', () => {
  it("matches the doc's name and the name with a /suffix, nothing else", () => {
    expect(operatorFinalizer(['a', FIN])).toBe(FIN);
    expect(operatorFinalizer(['clusteraliyunpipelineconfig.finalizers.telemetry.alibabacloud.com'])).toBe('clusteraliyunpipelineconfig.finalizers.telemetry.alibabacloud.com');
    expect(operatorFinalizer(['clusteraliyunpipelineconfig.finalizers.telemetry.alibabacloud.com.evil'])).toBeUndefined();
    expect(operatorFinalizer(undefined)).toBeUndefined();
  });
});

describe('INJECTION_POINTS', () => {
  it("has a point after discovery and after each of the plan's steps, in the plan's order", () => {
    // The e2e fault suite kills the process at each point; a step without one would go untested there.
    const stepIds = buildPlan(installed(), { ...opts, purgeCrds: true, deleteNamespace: true }).steps.map((s) => s.id);
    const boundaries = INJECTION_POINTS.filter((p) => !p.includes(':'));
    expect(boundaries).toEqual(['discover', ...stepIds]);
  });

  it('each point inside a step comes before that step ends', () => {
    for (const [i, p] of INJECTION_POINTS.entries()) {
      if (!p.includes(':')) continue;
      const step = p.split(':')[0]!;
      expect(INJECTION_POINTS.indexOf(step as (typeof INJECTION_POINTS)[number]), p).toBeGreaterThan(i);
      expect(INJECTION_POINTS.slice(0, i).filter((q) => !q.includes(':')).at(-1), p).not.toBe(step);
    }
  });
});
