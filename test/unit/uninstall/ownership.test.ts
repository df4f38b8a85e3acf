import { describe, expect, it } from 'vitest';
import {
  decideCrdOwnership,
  isOurs,
  isPrometheusOperator,
  ownerSignals,
  type CrdFacts,
  type Installation,
  type ObjectLike,
  type OperatorDeployment,
} from '../../../src/kube/ownership.js';

const inst: Installation = { release: 'aliyun-loongcollector-cluster-insight', namespace: 'cms-monitoring', ownedNames: ['custom-kubernetes-c1-entity-collector'] };

/** An object our chart created: helm's ownership annotations (helm >= 3.2 sets them). */
const ours = (name: string, ns = 'cms-monitoring'): ObjectLike => ({
  kind: 'ServiceMonitor',
  metadata: {
    name,
    namespace: ns,
    annotations: { 'meta.helm.sh/release-name': inst.release, 'meta.helm.sh/release-namespace': inst.namespace },
    labels: { 'app.kubernetes.io/managed-by': 'Helm', 'app.kubernetes.io/instance': inst.release, 'app.kubernetes.io/part-of': 'loongcollector-cluster-insight' },
  },
});

const obj = (name: string, ns: string | undefined, labels: Record<string, string> = {}, annotations: Record<string, string> = {}): ObjectLike => ({
  kind: 'ServiceMonitor',
  metadata: { name, ...(ns ? { namespace: ns } : {}), labels, annotations },
});

const facts = (objects: ObjectLike[], extra: Partial<CrdFacts> = {}): CrdFacts => ({
  crd: 'servicemonitors.monitoring.coreos.com',
  exists: true,
  kind: 'ServiceMonitor',
  group: 'monitoring.coreos.com',
  crdMeta: {},
  objects,
  operators: [],
  ...extra,
});

describe('isOurs', () => {
  it('accepts helm annotations of our release and namespace only', () => {
    expect(isOurs(ours('a').metadata!, inst)).toBe(true);
    expect(isOurs({ name: 'a', annotations: { 'meta.helm.sh/release-name': inst.release, 'meta.helm.sh/release-namespace': 'other' } }, inst)).toBe(false);
    expect(isOurs({ name: 'a', annotations: { 'meta.helm.sh/release-name': 'kps', 'meta.helm.sh/release-namespace': inst.namespace } }, inst)).toBe(false);
  });
  it('helm annotations of another release win over our labels', () => {
    const m = { ...ours('a').metadata!, annotations: { 'meta.helm.sh/release-name': 'copy', 'meta.helm.sh/release-namespace': 'cms-monitoring' } };
    expect(isOurs(m, inst)).toBe(false);
  });
  it('accepts our chart labels without annotations only in our namespace', () => {
    const labels = { 'app.kubernetes.io/instance': inst.release, 'app.kubernetes.io/part-of': 'loongcollector-cluster-insight' };
    expect(isOurs({ name: 'a', namespace: 'cms-monitoring', labels }, inst)).toBe(true);
    expect(isOurs({ name: 'a', namespace: 'team-a', labels }, inst)).toBe(false);
    expect(isOurs({ name: 'a', namespace: 'cms-monitoring', labels: { ...labels, 'app.kubernetes.io/managed-by': 'argocd' } }, inst)).toBe(false);
  });
  it('accepts the entity collector CR by name (cluster-scoped only)', () => {
    expect(isOurs({ name: 'custom-kubernetes-c1-entity-collector' }, inst)).toBe(true);
    expect(isOurs({ name: 'custom-kubernetes-c2-entity-collector' }, inst)).toBe(false);
    expect(isOurs({ name: 'custom-kubernetes-c1-entity-collector', namespace: 'x' }, inst)).toBe(false);
  });
});

describe('ownerSignals: one fixture per signal', () => {
  it('helm release of another release', () => {
    const s = ownerSignals({ name: 'x', annotations: { 'meta.helm.sh/release-name': 'kps', 'meta.helm.sh/release-namespace': 'monitoring' } }, inst);
    expect(s[0]).toEqual({ type: 'helm-release', release: 'kps', namespace: 'monitoring' });
  });
  it('managed-by another manager', () => {
    expect(ownerSignals({ name: 'x', labels: { 'app.kubernetes.io/managed-by': 'argocd' } }, inst)[0]).toEqual({ type: 'managed-by', manager: 'argocd' });
  });
  it('managed-by Helm alone is not a foreign manager', () => {
    expect(ownerSignals({ name: 'x', labels: { 'app.kubernetes.io/managed-by': 'Helm' } }, inst)).toEqual([{ type: 'unknown' }]);
  });
  it('release label of another release', () => {
    expect(ownerSignals({ name: 'x', labels: { release: 'kps' } }, inst)).toContainEqual({ type: 'release-label', release: 'kps' });
  });
  it('app: kube-prometheus-stack-*', () => {
    expect(ownerSignals({ name: 'x', labels: { app: 'kube-prometheus-stack-apiserver' } }, inst)[0]).toEqual({ type: 'app-label', app: 'kube-prometheus-stack-apiserver' });
    expect(ownerSignals({ name: 'x', labels: { app: 'my-app' } }, inst)).toEqual([{ type: 'unknown' }]);
  });
  it('part-of / instance of another application', () => {
    expect(ownerSignals({ name: 'x', labels: { 'app.kubernetes.io/part-of': 'kube-prometheus-stack' } }, inst)[0]).toEqual({ type: 'part-of', app: 'kube-prometheus-stack' });
    expect(ownerSignals({ name: 'x', labels: { 'app.kubernetes.io/instance': 'loki' } }, inst)[0]).toEqual({ type: 'part-of', app: 'loki' });
  });
  it('no signal at all is an unknown owner', () => {
    expect(ownerSignals({ name: 'x' }, inst)).toEqual([{ type: 'unknown' }]);
  });
});

describe('decideCrdOwnership', () => {
  it('absent CRD', () => {
    const d = decideCrdOwnership(facts([], { exists: false }), inst);
    expect(d.action).toBe('absent');
  });
  it('no objects at all: delete', () => {
    expect(decideCrdOwnership(facts([]), inst).action).toBe('delete');
  });
  it('only our objects: delete, and lists them as ours', () => {
    const d = decideCrdOwnership(facts([ours('a'), ours('b')]), inst);
    expect(d.action).toBe('delete');
    expect(d.ours.map((o) => o.name)).toEqual(['a', 'b']);
    expect(d.foreign).toEqual([]);
  });
  it.each([
    ['helm release annotations', obj('kps-apiserver', 'monitoring', {}, { 'meta.helm.sh/release-name': 'kps', 'meta.helm.sh/release-namespace': 'monitoring' }), 'helm release monitoring/kps'],
    ['managed-by label', obj('argo-sm', 'argo', { 'app.kubernetes.io/managed-by': 'argocd' }), 'managed by argocd'],
    ['release label', obj('legacy', 'monitoring', { release: 'prom' }), 'release=prom label'],
    ['app kube-prometheus-stack-*', obj('kps-kubelet', 'monitoring', { app: 'kube-prometheus-stack-kubelet' }), 'app=kube-prometheus-stack-kubelet label'],
    ['hand-made object', obj('mine', 'team-a'), 'unknown owner (no owner labels or annotations)'],
  ])('keeps the CRD for a foreign object (%s) and names it', (_n, o, owner) => {
    const d = decideCrdOwnership(facts([ours('a'), o]), inst);
    expect(d.action).toBe('keep');
    expect(d.foreign).toHaveLength(1);
    expect(d.foreign[0]).toMatchObject({ kind: 'ServiceMonitor', namespace: o.metadata!.namespace, name: o.metadata!.name, owner });
    expect(d.ours).toHaveLength(1);
    if (d.action === 'keep') expect(d.reasons[0]).toMatch(/1 ServiceMonitor object\(s\) not from this installation/);
  });
  it('keeps a CRD that another helm release installed, even with no objects', () => {
    const d = decideCrdOwnership(facts([], { crdMeta: { annotations: { 'meta.helm.sh/release-name': 'prometheus-operator-crds', 'meta.helm.sh/release-namespace': 'monitoring' } } }), inst);
    expect(d.action).toBe('keep');
    expect(d.users).toEqual(['CRD owner: helm release monitoring/prometheus-operator-crds']);
  });
  it('keeps a CRD managed by another tool', () => {
    expect(decideCrdOwnership(facts([], { crdMeta: { labels: { 'app.kubernetes.io/managed-by': 'kustomize' } } }), inst).action).toBe('keep');
  });
  const op = (replicas: number, ready: number): OperatorDeployment => ({ namespace: 'monitoring', name: 'kps-operator', replicas, ready, owner: 'helm release monitoring/kps' });
  it('keeps monitoring.coreos.com CRDs while a prometheus-operator runs', () => {
    const d = decideCrdOwnership(facts([], { operators: [op(1, 1)] }), inst);
    expect(d.action).toBe('keep');
    expect(d.users[0]).toMatch(/Deployment monitoring\/kps-operator \(prometheus-operator, 1\/1 ready/);
  });
  it('a prometheus-operator scaled to zero does not hold the CRD', () => {
    expect(decideCrdOwnership(facts([], { operators: [op(0, 0)] }), inst).action).toBe('delete');
  });
  it('a prometheus-operator does not hold CRDs of other groups', () => {
    const d = decideCrdOwnership(facts([], { crd: 'aliyunlogconfigs.log.alibabacloud.com', group: 'log.alibabacloud.com', kind: 'AliyunLogConfig', operators: [op(1, 1)] }), inst);
    expect(d.action).toBe('delete');
  });
});

describe('isPrometheusOperator', () => {
  const dep = (labels: Record<string, string>, image = 'nginx') => ({ metadata: { labels }, spec: { template: { spec: { containers: [{ image }] } } } });
  it('by labels', () => {
    expect(isPrometheusOperator(dep({ 'app.kubernetes.io/name': 'prometheus-operator' }))).toBe(true);
    expect(isPrometheusOperator(dep({ app: 'kube-prometheus-stack-operator' }))).toBe(true);
  });
  it('by image, not the config reloader', () => {
    expect(isPrometheusOperator(dep({}, 'quay.io/prometheus-operator/prometheus-operator:v0.85.0'))).toBe(true);
    expect(isPrometheusOperator(dep({}, 'quay.io/prometheus-operator/prometheus-config-reloader:v0.85.0'))).toBe(false);
  });
  it('never our own loongcollector-operator', () => {
    expect(isPrometheusOperator(dep({ 'app.kubernetes.io/name': 'loongcollector-operator' }, 'x/prometheus-operator:v1'))).toBe(false);
  });
});
