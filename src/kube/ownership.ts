/**
 * Who owns or uses a CRD. Deleting a CRD deletes every object of its kind in every namespace, so before
 * `uninstall --purge-crds` removes one (and when preflight reports the Prometheus Operator CRDs), we list
 * every object of that kind and every owner signal, and decide: nothing foreign → delete; anything
 * foreign → keep, with the exact list of what deleting it would destroy.
 *
 * The decision is a pure function of the collected facts (`decideCrdOwnership`) so each owner signal is
 * unit-tested with fixtures; `inspectCrdOwnership` collects the facts from a cluster.
 */
import type { Kube } from './client.js';
import { CHART, OPERATOR_LABEL } from '../defaults.js';

/** The installation whose objects are "ours". */
export interface Installation {
  release: string;
  namespace: string;
  /** Names of cluster-scoped objects that are ours whatever their labels (the entity collector's CR). */
  ownedNames?: string[];
}

/** The metadata we read; a subset of V1ObjectMeta so fixtures stay small. */
export interface ObjectMetaLike {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ObjectLike {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMetaLike;
}

/** One thing that says who owns an object. */
export type OwnerSignal =
  /** meta.helm.sh/release-name + release-namespace annotations (helm >= 3.2 sets them on everything it creates). */
  | { type: 'helm-release'; release: string; namespace: string }
  /** app.kubernetes.io/managed-by other than Helm (argocd, kustomize, prometheus-operator, ...). */
  | { type: 'managed-by'; manager: string }
  /** The `release` label kube-prometheus-stack and many older charts put on their objects. */
  | { type: 'release-label'; release: string }
  /** `app: kube-prometheus-stack-*` (kube-prometheus-stack's own label). */
  | { type: 'app-label'; app: string }
  /** app.kubernetes.io/part-of or app.kubernetes.io/instance naming another application. */
  | { type: 'part-of'; app: string }
  /** No label or annotation names an owner: someone created it by hand or with a tool we do not know. */
  | { type: 'unknown' };

/** An object of a CRD's kind that does not belong to this installation: deleting the CRD destroys it. */
export interface ForeignObject {
  kind: string;
  namespace?: string;
  name: string;
  /** Human summary of the strongest signal, e.g. `helm release monitoring/kps`. */
  owner: string;
  signals: OwnerSignal[];
}

export interface ObjectRef {
  kind: string;
  namespace?: string;
  name: string;
}

/** A Deployment that runs the Prometheus Operator (it watches the monitoring.coreos.com kinds). */
export interface OperatorDeployment {
  namespace: string;
  name: string;
  replicas: number;
  ready: number;
  /** Who deployed it (same summary as ForeignObject.owner). */
  owner: string;
}

/** Everything we collected about one CRD. */
export interface CrdFacts {
  crd: string;
  /** false when the CRD is not in the cluster. */
  exists: boolean;
  kind: string;
  group: string;
  /** Labels/annotations of the CustomResourceDefinition object itself. */
  crdMeta?: ObjectMetaLike;
  objects: ObjectLike[];
  /** Running Prometheus Operators (only consulted for monitoring.coreos.com CRDs). */
  operators: OperatorDeployment[];
}

export type CrdDecision =
  | { crd: string; kind: string; action: 'absent'; ours: ObjectRef[]; foreign: ForeignObject[]; users: string[] }
  /** Only this installation uses it (or nothing does). */
  | { crd: string; kind: string; action: 'delete'; ours: ObjectRef[]; foreign: ForeignObject[]; users: string[] }
  /** Something else uses it: deleting would lose `foreign` (and break `users`). */
  | { crd: string; kind: string; action: 'keep'; ours: ObjectRef[]; foreign: ForeignObject[]; users: string[]; reasons: string[] };

export const HELM_RELEASE_NAME = 'meta.helm.sh/release-name';
export const HELM_RELEASE_NAMESPACE = 'meta.helm.sh/release-namespace';
export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const INSTANCE = 'app.kubernetes.io/instance';
export const PART_OF = 'app.kubernetes.io/part-of';
const KPS_APP = /^kube-prometheus-stack/;

export const PROMETHEUS_OPERATOR_GROUP = 'monitoring.coreos.com';

export function describeSignal(s: OwnerSignal): string {
  switch (s.type) {
    case 'helm-release':
      return `helm release ${s.namespace}/${s.release}`;
    case 'managed-by':
      return `managed by ${s.manager}`;
    case 'release-label':
      return `release=${s.release} label`;
    case 'app-label':
      return `app=${s.app} label`;
    case 'part-of':
      return `part of ${s.app}`;
    case 'unknown':
      return 'unknown owner (no owner labels or annotations)';
  }
}

/** True when the metadata says this object was created by our release. */
export function isOurs(meta: ObjectMetaLike, inst: Installation): boolean {
  const a = meta.annotations ?? {};
  const l = meta.labels ?? {};
  if (a[HELM_RELEASE_NAME] !== undefined || a[HELM_RELEASE_NAMESPACE] !== undefined) {
    return a[HELM_RELEASE_NAME] === inst.release && a[HELM_RELEASE_NAMESPACE] === inst.namespace;
  }
  // Objects left behind without helm's annotations (e.g. the chart's CR after a failed adoption): our
  // chart's labels, in our namespace (or cluster-scoped), and not claimed by another manager.
  const inOurNamespace = meta.namespace === undefined || meta.namespace === inst.namespace;
  if (l[INSTANCE] === inst.release && l[PART_OF] === CHART.name && inOurNamespace && (l[MANAGED_BY] ?? 'Helm') === 'Helm') return true;
  return meta.namespace === undefined && meta.name !== undefined && (inst.ownedNames ?? []).includes(meta.name);
}

/** Every owner signal on an object that is not ours, strongest first. */
export function ownerSignals(meta: ObjectMetaLike, inst: Installation): OwnerSignal[] {
  const a = meta.annotations ?? {};
  const l = meta.labels ?? {};
  const out: OwnerSignal[] = [];
  const rn = a[HELM_RELEASE_NAME];
  const rns = a[HELM_RELEASE_NAMESPACE];
  if (rn !== undefined && !(rn === inst.release && rns === inst.namespace)) out.push({ type: 'helm-release', release: rn, namespace: rns ?? '?' });
  const mb = l[MANAGED_BY];
  if (mb !== undefined && mb !== 'Helm') out.push({ type: 'managed-by', manager: mb });
  const app = l.app;
  if (app !== undefined && KPS_APP.test(app)) out.push({ type: 'app-label', app });
  const rel = l.release;
  if (rel !== undefined && rel !== inst.release) out.push({ type: 'release-label', release: rel });
  const partOf = l[PART_OF];
  if (partOf !== undefined && partOf !== CHART.name) out.push({ type: 'part-of', app: partOf });
  const instance = l[INSTANCE];
  if (instance !== undefined && instance !== inst.release && !out.some((s) => s.type === 'helm-release')) out.push({ type: 'part-of', app: instance });
  if (out.length === 0) out.push({ type: 'unknown' });
  return out;
}

function summary(signals: OwnerSignal[]): string {
  return describeSignal(signals[0] ?? { type: 'unknown' });
}

/** Deployments that run the Prometheus Operator, from their labels or image. Ours (loongcollector-operator) never counts. */
export function isPrometheusOperator(d: { metadata?: ObjectMetaLike; spec?: { template?: { spec?: { containers?: Array<{ image?: string }> } } } }): boolean {
  const l = d.metadata?.labels ?? {};
  if (l[OPERATOR_LABEL.key] === OPERATOR_LABEL.value) return false;
  if (l['app.kubernetes.io/name'] === 'prometheus-operator') return true;
  if (l.app === 'kube-prometheus-stack-operator' || l.app === 'prometheus-operator') return true;
  const images = d.spec?.template?.spec?.containers?.map((c) => c.image ?? '') ?? [];
  // quay.io/prometheus-operator/prometheus-operator:v0.x, but not .../prometheus-config-reloader.
  return images.some((i) => /(^|\/)prometheus-operator([:@]|$)/.test(i));
}

/** The decision, from facts only. Anything not proven ours is foreign: a CRD is only deleted when nobody else can lose data. */
export function decideCrdOwnership(f: CrdFacts, inst: Installation): CrdDecision {
  const ours: ObjectRef[] = [];
  const foreign: ForeignObject[] = [];
  for (const o of f.objects) {
    const meta = o.metadata ?? {};
    const ref = { kind: o.kind ?? f.kind, name: meta.name ?? '?', ...(meta.namespace ? { namespace: meta.namespace } : {}) };
    if (isOurs(meta, inst)) {
      ours.push(ref);
    } else {
      const signals = ownerSignals(meta, inst);
      foreign.push({ ...ref, owner: summary(signals), signals });
    }
  }
  const base = { crd: f.crd, kind: f.kind, ours, foreign };
  if (!f.exists) return { ...base, action: 'absent', users: [] };
  const reasons: string[] = [];
  const users: string[] = [];
  if (foreign.length > 0) reasons.push(`${foreign.length} ${f.kind} object(s) not from this installation`);
  // The CRD object itself installed by another helm release (e.g. prometheus-operator-crds chart).
  const crdMeta = f.crdMeta ?? {};
  const crdHelm = crdMeta.annotations?.[HELM_RELEASE_NAME];
  if (crdHelm !== undefined && !isOurs(crdMeta, inst)) {
    const s = summary(ownerSignals(crdMeta, inst));
    reasons.push(`the CRD itself belongs to ${s}`);
    users.push(`CRD owner: ${s}`);
  } else {
    const mb = crdMeta.labels?.[MANAGED_BY];
    if (mb !== undefined && mb !== 'Helm') {
      reasons.push(`the CRD itself is managed by ${mb}`);
      users.push(`CRD owner: managed by ${mb}`);
    }
  }
  if (f.group === PROMETHEUS_OPERATOR_GROUP) {
    for (const op of f.operators) {
      if (op.replicas > 0 || op.ready > 0) {
        reasons.push(`Prometheus Operator ${op.namespace}/${op.name} (${op.owner}) watches ${f.kind}`);
        users.push(`Deployment ${op.namespace}/${op.name} (prometheus-operator, ${op.ready}/${op.replicas} ready, ${op.owner})`);
      }
    }
  }
  if (reasons.length > 0) return { ...base, action: 'keep', users, reasons };
  return { ...base, action: 'delete', users };
}

// ---------------------------------------------------------------------------------------------------
// Collecting the facts from a cluster.

export type OwnershipKube = Pick<Kube, 'apiext' | 'custom' | 'apps' | 'call' | 'ifFound'>;

interface CrdObject {
  metadata?: ObjectMetaLike;
  spec?: { group?: string; names?: { kind?: string; plural?: string }; scope?: string; versions?: Array<{ name: string; served?: boolean; storage?: boolean }> };
}

/** Group, plural and a served version of a CRD (undefined when absent). */
export async function readCrd(kube: Pick<Kube, 'apiext' | 'ifFound'>, name: string): Promise<{ crd: CrdObject; group: string; plural: string; kind: string; version: string; namespaced: boolean } | undefined> {
  const crd = (await kube.ifFound({ verb: 'get', resource: 'customresourcedefinitions.apiextensions.k8s.io', name }, () => kube.apiext.readCustomResourceDefinition({ name }))) as CrdObject | undefined;
  if (!crd) return undefined;
  const [plural, ...g] = name.split('.');
  const versions = crd.spec?.versions ?? [];
  const version = (versions.find((v) => v.storage) ?? versions.find((v) => v.served) ?? versions[0])?.name ?? 'v1';
  return {
    crd,
    group: crd.spec?.group ?? g.join('.'),
    plural: crd.spec?.names?.plural ?? plural ?? name,
    kind: crd.spec?.names?.kind ?? name,
    version,
    namespaced: crd.spec?.scope !== 'Cluster',
  };
}

/** Every object of a custom kind, in all namespaces, paged. */
export async function listAllCustomObjects(kube: Pick<Kube, 'custom' | 'call'>, r: { group: string; version: string; plural: string }): Promise<ObjectLike[]> {
  const out: ObjectLike[] = [];
  let cont: string | undefined;
  do {
    const page = (await kube.call({ verb: 'list', resource: `${r.plural}.${r.group}` }, () =>
      kube.custom.listClusterCustomObject({ group: r.group, version: r.version, plural: r.plural, limit: 500, ...(cont ? { _continue: cont } : {}) }),
    )) as { items?: ObjectLike[]; metadata?: { _continue?: string; continue?: string } };
    out.push(...(page.items ?? []));
    cont = page.metadata?._continue ?? page.metadata?.continue;
  } while (cont);
  return out;
}

/** Prometheus Operator Deployments in all namespaces. */
export async function findPrometheusOperators(kube: Pick<Kube, 'apps' | 'call'>, inst: Installation): Promise<OperatorDeployment[]> {
  const out: OperatorDeployment[] = [];
  let cont: string | undefined;
  do {
    const page = await kube.call({ verb: 'list', resource: 'deployments.apps' }, () => kube.apps.listDeploymentForAllNamespaces({ limit: 500, ...(cont ? { _continue: cont } : {}) }));
    for (const d of page.items) {
      if (!isPrometheusOperator(d)) continue;
      const meta = d.metadata ?? {};
      out.push({
        namespace: meta.namespace ?? '',
        name: meta.name ?? '',
        replicas: d.spec?.replicas ?? 1,
        ready: d.status?.readyReplicas ?? 0,
        owner: isOurs(meta, inst) ? 'this installation' : summary(ownerSignals(meta, inst)),
      });
    }
    cont = page.metadata?._continue;
  } while (cont);
  return out;
}

/** Collect the facts about one CRD. `operators` may be passed in to avoid listing Deployments once per CRD. */
export async function collectCrdFacts(kube: OwnershipKube, crdName: string, inst: Installation, operators?: OperatorDeployment[]): Promise<CrdFacts> {
  const info = await readCrd(kube, crdName);
  const [plural, ...g] = crdName.split('.');
  if (!info) return { crd: crdName, exists: false, kind: plural ?? crdName, group: g.join('.'), objects: [], operators: [] };
  const objects = await listAllCustomObjects(kube, info);
  const ops = info.group === PROMETHEUS_OPERATOR_GROUP ? (operators ?? (await findPrometheusOperators(kube, inst))) : [];
  return { crd: crdName, exists: true, kind: info.kind, group: info.group, crdMeta: info.crd.metadata ?? {}, objects, operators: ops };
}

/** Who owns/uses one CRD, as a typed decision with the exact list of what deleting it would lose. */
export async function inspectCrdOwnership(kube: OwnershipKube, crdName: string, inst: Installation, operators?: OperatorDeployment[]): Promise<CrdDecision> {
  return decideCrdOwnership(await collectCrdFacts(kube, crdName, inst, operators), inst);
}

/** The decisions for several CRDs (lists the Prometheus Operator Deployments once). */
export async function inspectCrdsOwnership(kube: OwnershipKube, crdNames: readonly string[], inst: Installation): Promise<CrdDecision[]> {
  const needOps = crdNames.some((n) => n.endsWith(`.${PROMETHEUS_OPERATOR_GROUP}`));
  const operators = needOps ? await findPrometheusOperators(kube, inst) : [];
  const out: CrdDecision[] = [];
  for (const n of crdNames) out.push(await inspectCrdOwnership(kube, n, inst, operators));
  return out;
}
