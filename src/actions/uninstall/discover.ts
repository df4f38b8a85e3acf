/** uninstall's discovery: the release, its custom resources, operator, workloads and namespace, read live. */
import type { Kube } from '../../kube/client.js';
import { type LiveObject } from '../../kube/finalizers.js';
import { inspectCrdsOwnership, isOurs, listAllCustomObjects, readCrd, type CrdDecision, type Installation, type ObjectRef } from '../../kube/ownership.js';
import type { HelmRelease } from '../../helm/helm.js';
import { findOperator, operatorNow, type OperatorKube } from '../../kube/operator.js';
import { releaseManifest } from '../releases.js';
import type { ManifestDoc as ManifestDocLike } from '../../helm/release.js';
import { judgeRelease } from '../../helm/release-state.js';
import { inspectNamespace, NAMESPACE_MARK, uninstallMarkOf } from '../../kube/namespace.js';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { CR, CRDS, LOG_CONFIG } from '../../defaults.js';
import { InsightError } from '../../errors.js';
import type { Step } from '../steps.js';
import { gitopsGate, gitopsSummary, gitopsTargetOf } from '../../kube/gitops.js';
import { type Discovery, type FoundCustomResource, type NamespaceState, type OperatorState, type UninstallContext, type UninstallHelm, type UninstallKube, type UninstallOptions } from './model.js';

const PIPELINE_CRD = CRDS[0].name;
const LOG_CONFIG_CRD = CRDS[1].name;

export function installationOf(release: string, namespace: string, clusterID?: string): Installation {
  return { release, namespace, ownedNames: clusterID ? [CR.entityCollectorName(clusterID)] : [] };
}

export async function findHelmRelease(helm: UninstallHelm, o: Pick<UninstallOptions, 'release' | 'namespace'>): Promise<HelmRelease | undefined> {
  const list = await helm.list(o.namespace, o.release);
  return list.find((r) => r.name === o.release);
}

async function findClusterID(helm: UninstallHelm, o: UninstallOptions, rel: HelmRelease | undefined): Promise<{ id?: string; source: Discovery['clusterIDSource'] }> {
  if (o.clusterID) return { id: o.clusterID, source: 'flag' };
  if (rel) {
    const v = await helm.getValues(o.release, o.namespace);
    const id = v.clusterID;
    if (typeof id === 'string' && id !== '') return { id, source: 'helm-values' };
  }
  return { source: 'unknown' };
}

const ENTITY_NAME = /^custom-kubernetes-(.+)-entity-collector$/;

/** ClusterAliyunPipelineConfigs and AliyunLogConfigs that belong to this installation. */
export async function findCustomResources(kube: UninstallKube, inst: Installation): Promise<FoundCustomResource[]> {
  const out: FoundCustomResource[] = [];
  for (const [crdName, kind] of [
    [PIPELINE_CRD, CR.kind],
    [LOG_CONFIG_CRD, LOG_CONFIG.kind],
  ] as const) {
    const info = await readCrd(kube, crdName);
    if (!info) continue;
    for (const o of await listAllCustomObjects(kube, info)) {
      const m = o.metadata ?? {};
      if (!m.name || !isOurs(m, inst)) continue;
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- LiveObject's metadata has deletionTimestamp and finalizers; the listed object's type does not
      const live = o as LiveObject;
      out.push({
        group: info.group,
        version: info.version,
        plural: info.plural,
        kind,
        name: m.name,
        ...(info.namespaced && m.namespace ? { namespace: m.namespace } : {}),
        deleting: Boolean(live.metadata?.deletionTimestamp),
        finalizers: live.metadata?.finalizers ?? [],
      });
    }
  }
  return out;
}

/** This installation's operator and one sample of it (the plan shows it; deleting re-checks it). */
export async function operatorState(kube: OperatorKube, inst: Installation, docs: readonly ManifestDocLike[] | undefined): Promise<OperatorState> {
  const refs = await findOperator(kube, inst, docs);
  const releaseGone = docs === undefined;
  const v = await operatorNow(kube, refs, { releaseGone });
  return { deployments: refs.map((r) => r.name), ready: v.state === 'running' ? v.ready : 0, refs, releaseGone, state: v.state, ...(v.state !== 'running' ? { why: v.why } : {}) };
}

/**
 * The operator's finalizer as it appears on the object. The doc spells it
 * clusteraliyunpipelineconfig.finalizers.telemetry.alibabacloud.com, 65 bytes without a "/", which the
 * API server rejects as a finalizer name (at most 63 after the last "/"); a real operator must add a
 * "/suffix". So we accept exactly that name or that name + "/<anything>", and remove only that entry.
 */
export function operatorFinalizer(finalizers: readonly string[] | undefined): string | undefined {
  return (finalizers ?? []).find((f) => CR.isOperatorFinalizer(f));
}

export const instanceSelector = (release: string) => `app.kubernetes.io/instance=${release}`;

/** The release's workloads and pods, by the chart's instance label. */
export async function releaseWorkloads(kube: Pick<Kube, 'apps' | 'core' | 'call'>, release: string, namespace: string): Promise<ObjectRef[]> {
  const labelSelector = instanceSelector(release);
  const [deps, dss, sts, pods] = await Promise.all([
    kube.call({ verb: 'list', resource: 'deployments.apps', namespace }, () => kube.apps.listNamespacedDeployment({ namespace, labelSelector })),
    kube.call({ verb: 'list', resource: 'daemonsets.apps', namespace }, () => kube.apps.listNamespacedDaemonSet({ namespace, labelSelector })),
    kube.call({ verb: 'list', resource: 'statefulsets.apps', namespace }, () => kube.apps.listNamespacedStatefulSet({ namespace, labelSelector })),
    kube.call({ verb: 'list', resource: 'pods', namespace }, () => kube.core.listNamespacedPod({ namespace, labelSelector })),
  ]);
  const refs = (kind: string, items: Array<{ metadata?: { name?: string } }>) => items.map((i) => ({ kind, namespace, name: i.metadata?.name ?? '?' }));
  return [...refs('Deployment', deps.items), ...refs('DaemonSet', dss.items), ...refs('StatefulSet', sts.items), ...refs('Pod', pods.items)];
}

/**
 * What is in the namespace, by the one namespace rule (src/kube/namespace.ts): every object of every
 * listable namespaced type, judged against the release.
 */
export async function namespaceState(kube: Pick<Kube, 'core' | 'kc' | 'ifFound'>, inst: Installation, releaseHere: boolean): Promise<NamespaceState> {
  const ns = await kube.ifFound({ verb: 'get', resource: 'namespaces', name: inst.namespace }, () => kube.core.readNamespace({ name: inst.namespace }));
  if (!ns) return { exists: false, others: [] };
  const hadRelease = releaseHere || uninstallMarkOf(ns.metadata) === inst.release;
  const { ApiClient } = await import('../../kube/proxy.js');
  const api = await ApiClient.create(kube.kc, { maxSockets: 8 });
  try {
    const v = await inspectNamespace(api, inst.namespace, inst);
    return {
      exists: true,
      hadRelease,
      ...(ns.metadata?.deletionTimestamp ? { terminating: true } : {}),
      others: [
        ...v.foreign.map((f) => ({ kind: f.split(' ')[0]!, namespace: inst.namespace, name: f.split(' ').slice(1).join(' ') })),
        ...v.unlisted.map((u) => ({ kind: 'Unlisted', namespace: inst.namespace, name: u })),
      ],
    };
  } finally {
    api.close();
  }
}

/** Before the first destructive step: mark the namespace as this release's, for a re-run (see NAMESPACE_MARK). */
export async function markNamespace(ctx: UninstallContext): Promise<void> {
  const { kube, opts, discovery } = ctx;
  if (!marksNamespace(opts, discovery)) return;
  await kube.call({ verb: 'patch', resource: 'namespaces', name: opts.namespace }, () => patchMark(kube, opts));
}

/** Whether a run marks the namespace: the mark also lets a re-run of --purge-crds know the installation was here once helm's part is done. */
export function marksNamespace(opts: Pick<UninstallOptions, 'deleteNamespace' | 'purgeCrds'>, discovery: Pick<Discovery, 'helmRelease' | 'namespaceState'>): boolean {
  return (opts.deleteNamespace || opts.purgeCrds) && Boolean(discovery.helmRelease) && discovery.namespaceState.exists;
}

/** The mark, as a merge patch (dryRun: 'All' for the dry run's check of it). */
export function patchMark(kube: Pick<Kube, 'core'>, opts: Pick<UninstallOptions, 'namespace' | 'release'>, dryRun?: 'All') {
  return kube.core.patchNamespace({ name: opts.namespace, body: { metadata: { annotations: { [NAMESPACE_MARK]: opts.release } } }, ...(dryRun ? { dryRun } : {}) }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
}

async function markedForRelease(kube: Pick<Kube, 'core' | 'ifFound'>, inst: Installation): Promise<boolean> {
  const ns = await kube.ifFound({ verb: 'get', resource: 'namespaces', name: inst.namespace }, () => kube.core.readNamespace({ name: inst.namespace }));
  return !!ns && uninstallMarkOf(ns.metadata) === inst.release;
}

/** Read everything the plan needs. Changes nothing. */
export async function discover(kube: UninstallKube, helm: UninstallHelm, o: UninstallOptions): Promise<Discovery> {
  const rel = await findHelmRelease(helm, o);
  // The chart is part of the release's identity: another application's release under our name is not ours.
  const v = rel ? judgeRelease(rel) : undefined;
  if (v && !v.ourChart && !o.force) {
    throw new InsightError('conflict', `${v.message}: uninstalling it would remove another application`, {
      hint: 'Check --release and -n (`helm list -A`). To uninstall it anyway, add --force. Nothing was changed.',
    });
  }
  const cid = await findClusterID(helm, o, rel);
  const inst = installationOf(o.release, o.namespace, cid.id);
  const customResources = await findCustomResources(kube, inst);
  let { id: clusterID, source } = cid;
  if (!clusterID) {
    const m = customResources.map((c) => ENTITY_NAME.exec(c.name)?.[1]).find(Boolean);
    if (m) {
      clusterID = m;
      source = 'custom-resource';
    }
  }
  const manifest = await releaseManifest(helm, o.release, o.namespace, rel);
  const gitops = await gitopsGate(kube, gitopsTargetOf(o.release, o.namespace, rel), manifest ?? [], 'uninstall', o.force);
  if (!o.force) {
    const inUse = await templatedCrdsInUse(kube, manifest, inst);
    if (inUse.length) throw templatedCrdsError(inUse);
  }
  const [operator, workloads, ns] = await Promise.all([
    operatorState(kube, inst, manifest),
    releaseWorkloads(kube, o.release, o.namespace),
    o.deleteNamespace ? namespaceState(kube, installationOf(o.release, o.namespace, cid.id), Boolean(rel && rel.namespace === o.namespace)) : Promise.resolve<NamespaceState>({ exists: true, others: [] }),
  ]);
  const crds = o.purgeCrds ? await inspectCrdsOwnership(kube, CRDS.map((c) => c.name), inst) : [];
  // CRDs are cluster-wide: purge them only for an installation that is (or was, by the mark) in this namespace.
  const installationSeen = Boolean(rel && rel.namespace === o.namespace) || customResources.length > 0 || workloads.length > 0 || Boolean(ns.hadRelease) || (o.purgeCrds && (await markedForRelease(kube, inst)));
  return {
    installationSeen,
    release: o.release,
    namespace: o.namespace,
    ...(rel ? { helmRelease: { name: rel.name, namespace: rel.namespace, status: rel.status, chart: rel.chart, revision: rel.revision } } : {}),
    ...(clusterID ? { clusterID } : {}),
    clusterIDSource: source,
    customResources,
    operator,
    workloads,
    crds,
    namespaceState: ns,
    gitops,
  };
}

/** Runs the GitOps check again right before the first deletion: the plan may have waited for a confirmation. */
export function gitopsStep(): Step<UninstallContext> {
  return {
    title: 'Check for a GitOps controller (Argo CD, Flux)',
    async run(ctx, report) {
      const { helm, kube, opts } = ctx;
      const rel = await findHelmRelease(helm, opts);
      const manifest = await releaseManifest(helm, opts.release, opts.namespace, rel);
      const f = await gitopsGate(kube, gitopsTargetOf(opts.release, opts.namespace, rel), manifest ?? [], 'uninstall', opts.force);
      report.title(gitopsSummary(f));
    },
  };
}

/**
 * CRDs the release's templates hold (a chart version that ships them in templates/ rather than crds/):
 * `helm uninstall` deletes those, and every object of their kinds, whatever --purge-crds says. Any that
 * something else uses stops the uninstall before anything changes, unless --force.
 */
export async function templatedCrdsInUse(kube: UninstallKube, manifestDocs: readonly ManifestDocLike[] | undefined, inst: Installation): Promise<CrdDecision[]> {
  const names = (manifestDocs ?? []).filter((d) => d.kind === 'CustomResourceDefinition' && d.metadata?.name).map((d) => d.metadata!.name!);
  if (!names.length) return [];
  return (await inspectCrdsOwnership(kube, names, inst)).filter((d) => d.action === 'keep');
}

export function templatedCrdsError(inUse: readonly CrdDecision[]): InsightError {
  const lost = inUse.flatMap((d) => (d.action === 'keep' ? d.foreign : []));
  return new InsightError('conflict', `helm uninstall would delete CRD ${inUse.map((d) => d.crd).join(', ')} (the release's templates hold ${inUse.length > 1 ? 'them' : 'it'}), and with ${inUse.length > 1 ? 'them' : 'it'} ${lost.length} object(s) of others: ${lost.slice(0, 5).map((l) => `${l.kind} ${l.namespace ? `${l.namespace}/` : ''}${l.name} (${l.owner})`).join(', ')}${lost.length > 5 ? ', ...' : ''}`, {
    hint: 'Move those objects or their owners first, or keep this release. `--force` uninstalls anyway and those objects are lost. Nothing was changed.',
    details: { crds: inUse.map((d) => d.crd), lost },
  });
}
