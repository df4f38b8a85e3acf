import diagnostics from 'node:diagnostics_channel';
/**
 * `uninstall`: the official removal order (seed 000), made safe to re-run at any point.
 *
 *   discover → plan → 1 custom resources → 2 helm release → 3 workloads gone → 4 CRDs (--purge-crds)
 *   → 5 namespace (--delete-namespace)
 *
 * Each step is its own function, reads the live state again before acting (so a second run after a
 * kill or a lost connection finishes the job), and records one outcome per object: deleted, already
 * gone, or kept and why. Nothing here prints; the command renders the plan and the outcome.
 */
import type { Kube } from '../kube/client.js';
import {
  deleteCustomObject,
  getCustomObject,
  refLabel,
  removeFinalizer,
  waitForCustomObjectGone,
  waitForGone,
  waitForNone,
  type CustomRef,
  type LiveObject,
} from '../kube/finalizers.js';
import {
  inspectCrdsOwnership,
  isOurs,
  listAllCustomObjects,
  readCrd,
  type CrdDecision,
  type ForeignObject,
  type Installation,
  type ObjectRef,
} from '../kube/ownership.js';
import type { Helm, HelmRelease } from '../helm/helm.js';
import { findOperator, operatorNow, waitOperatorVerdict, type OperatorKube, type OperatorRef, type OperatorVerdict } from '../kube/operator.js';
import { releaseManifest } from './releases.js';
import type { ManifestDoc as ManifestDocLike } from '../helm/release.js';
import { judgeRelease } from '../helm/release-state.js';
import { clearUninstallMark, inspectNamespace, NAMESPACE_MARK, uninstallMarkOf } from '../kube/namespace.js';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { CR, CRDS, LOG_CONFIG } from '../defaults.js';
import { InsightError, type ErrorKind } from '../errors.js';
import type { Step } from './steps.js';
import { gitopsGate, gitopsNotes, gitopsSummary, gitopsTargetOf, type GitOpsFinding } from '../kube/gitops.js';

export interface UninstallOptions {
  release: string;
  namespace: string;
  /** --cluster-id; otherwise read from the release's values. */
  clusterID?: string;
  purgeCrds: boolean;
  /**
   * With purgeCrds: delete CRDs that others use too (after the plan has listed what is lost). Also
   * uninstall a release of another chart, or one an Argo CD Application or Flux HelmRelease manages.
   */
  force: boolean;
  deleteNamespace: boolean;
  /** How long to wait for the operator to clear its finalizer, and for each deletion to finish. */
  timeoutMs: number;
  /** How long an operator without a ready pod counts as restarting, not gone (default OPERATOR_GRACE_MS). */
  operatorGraceMs?: number;
}

/**
 * Every point where the process can be interrupted and a re-run must still finish cleanly. Each one
 * passed is published on the POINT_CHANNEL diagnostics channel (free when nobody listens), so a
 * fault-injection test can stop the process exactly there without a hook in the product.
 */
export const INJECTION_POINTS = [
  'discover',
  'custom-resources:delete-sent',
  'custom-resources',
  'helm-release',
  'workloads',
  'crds:one-deleted',
  'crds',
  'namespace',
] as const;
export type InjectionPoint = (typeof INJECTION_POINTS)[number];

export const POINT_CHANNEL = 'kubectl-insight:uninstall:point';
const points = diagnostics.channel(POINT_CHANNEL);
const passed = (point: InjectionPoint) => points.publish(point);

export type UninstallKube = Pick<Kube, 'core' | 'apps' | 'apiext' | 'custom' | 'objects' | 'kc' | 'call' | 'ifFound' | 'delete'>;
export type UninstallHelm = Pick<Helm, 'list' | 'getValues' | 'getManifest' | 'uninstall'>;

export type StepId = 'custom-resources' | 'helm-release' | 'workloads' | 'crds' | 'namespace';

/** One custom resource of this installation, as found. */
export interface FoundCustomResource extends CustomRef {
  deleting: boolean;
  finalizers: string[];
}

export interface OperatorState {
  /** The installation's operator Deployments (from the release manifest; src/kube/operator.ts). */
  deployments: string[];
  ready: number;
  refs?: OperatorRef[];
  /** running, not-ready (counts as gone only after a grace period), unknown (never gone), gone. */
  state?: OperatorVerdict['state'];
  /** No release to read the operator from (judged from the cluster instead). */
  releaseGone?: boolean;
  why?: string;
}

export interface NamespaceState {
  exists: boolean;
  /** Objects in the namespace that are not the release's, and types that could not be listed. */
  others: ObjectRef[];
  /**
   * The release lives (or lived) here: its helm release is in this namespace, or an earlier run of this
   * uninstall marked the namespace before it removed the release. Never delete a namespace without it.
   */
  hadRelease?: boolean;
}

export { NAMESPACE_MARK } from '../kube/namespace.js';

/** What discovery found: the input of the plan builder (pure data, so the builder is unit-tested). */
export interface Discovery {
  release: string;
  namespace: string;
  helmRelease?: Pick<HelmRelease, 'name' | 'namespace' | 'status' | 'chart' | 'revision'>;
  clusterID?: string;
  clusterIDSource: 'flag' | 'helm-values' | 'custom-resource' | 'unknown';
  customResources: FoundCustomResource[];
  operator: OperatorState;
  /** Deployments, DaemonSets, StatefulSets and pods labelled app.kubernetes.io/instance=<release>. */
  workloads: ObjectRef[];
  /** Only with --purge-crds. */
  crds: CrdDecision[];
  /** Something of the installation is here (release, CRs, workloads) or an earlier run marked the namespace. */
  installationSeen?: boolean;
  namespaceState: NamespaceState;
  /** Argo CD / Flux objects that manage the release (only with --force when one syncs it), and what could not be checked. */
  gitops?: GitOpsFinding;
}

export type PlanAction =
  /** Delete and let the operator clear its finalizer (strip it only if it does not). */
  | 'delete'
  /** Operator not running: delete, then strip exactly its finalizer. */
  | 'delete-strip-finalizer'
  | 'helm-uninstall'
  | 'wait-gone'
  | 'keep'
  /** --force: delete although others use it. */
  | 'delete-forced';

export interface PlanItem {
  kind: string;
  namespace?: string;
  name: string;
  action: PlanAction;
  reason?: string;
  /** What deleting would destroy (CRDs used by others). */
  lost?: ForeignObject[];
  users?: string[];
  /** --dry-run only: the API server's answer to this item's deletes and patches sent with dryRun=All. */
  serverDryRun?: ServerDryRun;
}

export type ServerDryRun = { ok: true } | { ok: false; reason: string; kind: ErrorKind; hint?: string };

export interface PlanStep {
  id: StepId;
  title: string;
  /** Why this step comes at this point of the order. */
  why: string;
  items: PlanItem[];
  /** Set when the step will not run (e.g. CRDs without --purge-crds). */
  skipped?: string;
}

export interface Plan {
  release: string;
  namespace: string;
  clusterID?: string;
  clusterIDSource: Discovery['clusterIDSource'];
  /** True when nothing of this installation is in the cluster (and nothing else was asked). */
  nothingInstalled: boolean;
  /** Warnings about a GitOps controller; only present when there is one (or it could not be checked). */
  gitops?: string[];
  steps: PlanStep[];
}

export type ItemResult = 'deleted' | 'already-gone' | 'kept';

export interface ItemOutcome {
  step: StepId;
  kind: string;
  namespace?: string;
  name: string;
  result: ItemResult;
  /** How, or why kept: "operator removed its finalizer", "finalizer removed: operator not running". */
  detail: string;
  lost?: ForeignObject[];
}

export interface UninstallResult {
  plan: Plan;
  outcomes: ItemOutcome[];
  /** Timing per step, ms. */
  timings: Partial<Record<StepId, number>>;
}

// ---------------------------------------------------------------------------------------------------
// Discovery

const PIPELINE_CRD = CRDS[0].name;
const LOG_CONFIG_CRD = CRDS[1].name;

export function installationOf(release: string, namespace: string, clusterID?: string): Installation {
  return { release, namespace, ownedNames: clusterID ? [CR.entityCollectorName(clusterID)] : [] };
}

async function findHelmRelease(helm: UninstallHelm, o: Pick<UninstallOptions, 'release' | 'namespace'>): Promise<HelmRelease | undefined> {
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

const instanceSelector = (release: string) => `app.kubernetes.io/instance=${release}`;

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
  const { ApiClient } = await import('../kube/proxy.js');
  const api = await ApiClient.create(kube.kc, { maxSockets: 8 });
  try {
    const v = await inspectNamespace(api, inst.namespace, inst);
    return {
      exists: true,
      hadRelease,
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
  // The mark also lets a re-run of --purge-crds know the installation was here once helm's part is done.
  if ((!opts.deleteNamespace && !opts.purgeCrds) || !discovery.helmRelease || !discovery.namespaceState.exists) return;
  await kube.call({ verb: 'patch', resource: 'namespaces', name: opts.namespace }, () =>
    kube.core.patchNamespace({ name: opts.namespace, body: { metadata: { annotations: { [NAMESPACE_MARK]: opts.release } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)),
  );
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

// ---------------------------------------------------------------------------------------------------
// The plan (pure)

export const STEP_TITLES: Record<StepId, string> = {
  'custom-resources': 'Delete custom resources (the operator clears its finalizer)',
  'helm-release': 'Uninstall the helm release',
  workloads: "Confirm the release's workloads and pods are gone",
  crds: 'Delete CRDs that nothing else uses',
  namespace: 'Delete the namespace',
};

const WHY: Record<StepId, string> = {
  'custom-resources': 'first, while the operator still runs: only it removes its finalizer, so after helm uninstall the object would stay Terminating',
  'helm-release': 'after the custom resources, so the operator was alive to finalize them',
  workloads: 'helm returns when it has sent the deletes; pods may still be terminating',
  crds: 'last: deleting a CRD deletes every object of its kind in every namespace',
  namespace: 'after everything in it is gone; only if nothing else lives there',
};

function operatorSummary(op: OperatorState): string {
  if (op.deployments.length === 0) return op.why ?? 'the release has no operator Deployment';
  if (op.state && op.state !== 'running' && op.why) return op.why;
  return `Deployment ${op.deployments.join(', ')} has ${op.ready} ready pod(s)`;
}

export function buildPlan(d: Discovery, o: Pick<UninstallOptions, 'purgeCrds' | 'force' | 'deleteNamespace' | 'timeoutMs'>): Plan {
  // Not ready is not gone: the delete waits a grace period for the operator before anything is stripped.
  const opReady = d.operator.ready > 0 || d.operator.state === 'not-ready' || d.operator.state === 'unknown';
  const crItems: PlanItem[] = d.customResources.map((c) => ({
    kind: c.kind,
    ...(c.namespace ? { namespace: c.namespace } : {}),
    name: c.name,
    action: opReady || !operatorFinalizer(c.finalizers) ? 'delete' : 'delete-strip-finalizer',
    reason: !operatorFinalizer(c.finalizers)
      ? `no operator finalizer${c.deleting ? ' (already Terminating)' : ''}`
      : opReady
        ? `${c.deleting ? 'already Terminating; ' : ''}wait up to ${Math.round(o.timeoutMs / 1000)}s for the operator (${operatorSummary(d.operator)}) to remove ${operatorFinalizer(c.finalizers)}, else remove it by patch`
        : `${c.deleting ? 'stuck Terminating; ' : ''}operator not running (${operatorSummary(d.operator)}): remove exactly ${operatorFinalizer(c.finalizers)} by patch`,
  }));
  const helmItems: PlanItem[] = d.helmRelease
    ? [{ kind: 'HelmRelease', namespace: d.namespace, name: d.release, action: 'helm-uninstall', reason: `helm uninstall --wait (status ${d.helmRelease.status}, ${d.helmRelease.chart})` }]
    : [];
  const workloadItems: PlanItem[] = d.workloads.map((w) => ({ ...w, action: 'wait-gone' }));
  const crdItems: PlanItem[] = d.crds
    .filter((c) => c.action !== 'absent')
    .map((c) => {
      const ours = c.ours.length ? `; ${c.ours.length} object(s) of this installation go with it` : '';
      if (c.action === 'delete') return { kind: 'CustomResourceDefinition', name: c.crd, action: 'delete', reason: `used only by this installation${ours}` };
      const lost = c.foreign;
      const why = c.reasons.join('; ');
      return o.force
        ? { kind: 'CustomResourceDefinition', name: c.crd, action: 'delete-forced', reason: `--force: deleting although ${why}`, lost, users: c.users }
        : { kind: 'CustomResourceDefinition', name: c.crd, action: 'keep', reason: `in use: ${why}`, lost, users: c.users };
    });
  const ns = d.namespaceState;
  const nsItems: PlanItem[] =
    o.deleteNamespace && ns.exists
      ? [
          !ns.hadRelease
            ? { kind: 'Namespace', name: d.namespace, action: 'keep', reason: `release ${d.release} was never installed in it` }
            : ns.others.length === 0
              ? { kind: 'Namespace', name: d.namespace, action: 'delete', reason: 'everything in it is the release\'s (checked again right before deleting)' }
              : { kind: 'Namespace', name: d.namespace, action: 'keep', reason: `not only the release's: ${ns.others.map((x) => `${x.kind} ${x.name}`).join(', ')}` },
        ]
      : [];
  const step = (id: StepId, items: PlanItem[], skipped?: string): PlanStep => ({ id, title: STEP_TITLES[id], why: WHY[id], items, ...(skipped ? { skipped } : {}) });
  const steps: PlanStep[] = [
    step('custom-resources', crItems, crItems.length ? undefined : 'no custom resources of this installation'),
    step('helm-release', helmItems, helmItems.length ? undefined : `no helm release ${d.release} in namespace ${d.namespace}`),
    step('workloads', workloadItems, workloadItems.length || helmItems.length ? undefined : 'no workloads of the release'),
    step(
      'crds',
      d.installationSeen === false ? [] : crdItems,
      !o.purgeCrds
        ? 'CRDs are kept (pass --purge-crds to remove them)'
        : d.installationSeen === false
          ? `CRDs are kept: nothing of release ${d.release} is in namespace ${d.namespace} (they may serve another installation; check -n and --release)`
          : crdItems.length ? undefined : 'none of the CRDs is in the cluster',
    ),
    step('namespace', nsItems, !o.deleteNamespace ? 'namespace kept (pass --delete-namespace to remove it)' : !ns.exists ? `namespace ${d.namespace} does not exist` : undefined),
  ];
  const actionable = [...crItems, ...helmItems, ...workloadItems, ...(d.installationSeen === false ? [] : crdItems), ...nsItems].some((i) => i.action !== 'keep');
  return {
    release: d.release,
    namespace: d.namespace,
    ...(d.clusterID ? { clusterID: d.clusterID } : {}),
    clusterIDSource: d.clusterIDSource,
    nothingInstalled: !actionable,
    ...(d.gitops && gitopsNotes(d.gitops, 'uninstall').length ? { gitops: gitopsNotes(d.gitops, 'uninstall') } : {}),
    steps,
  };
}

// ---------------------------------------------------------------------------------------------------
// The steps. Each re-reads the live state, so it is correct on a first run and on a re-run.

export interface UninstallContext {
  kube: UninstallKube;
  helm: UninstallHelm;
  opts: UninstallOptions;
  discovery: Discovery;
  plan: Plan;
  outcomes: ItemOutcome[];
  timings: Partial<Record<StepId, number>>;
  /** The namespace mark is set (once, before the first step acts). */
  marked?: boolean;
}

const secs = (ms: number) => `${Math.round(ms / 1000)}s`;

/** Adds which step failed and that a re-run resumes, to errors that escape a step. */
function inStep(id: StepId, e: unknown): unknown {
  if (!(e instanceof InsightError)) return e;
  const resume = 'Nothing is half-done: fix the cause and run the same command again to finish.';
  return new InsightError(e.kind, `${STEP_TITLES[id].toLowerCase()}: ${e.message}`, {
    hint: e.hint ? `${e.hint} ${resume}` : resume,
    exitCode: e.exitCode,
    cause: e.cause ?? e,
    details: { ...(e.details ?? {}), step: id },
  });
}

/** Step 1: delete each CR; the operator removes its finalizer; if it cannot, remove exactly that one. */
export async function deleteCustomResources(ctx: UninstallContext, progress: (m: string) => void): Promise<void> {
  const { kube, opts } = ctx;
  // Re-find: a previous run may have deleted some, or the finalizer may be gone already.
  const found = await findCustomResources(kube, installationOf(opts.release, opts.namespace, ctx.discovery.clusterID));
  const planned = ctx.plan.steps.find((s) => s.id === 'custom-resources')?.items ?? [];
  for (const p of planned) {
    if (!found.some((f) => f.name === p.name && f.namespace === p.namespace && f.kind === p.kind)) {
      ctx.outcomes.push({ step: 'custom-resources', kind: p.kind, ...(p.namespace ? { namespace: p.namespace } : {}), name: p.name, result: 'already-gone', detail: 'already gone' });
    }
  }
  const sent: Array<{ ref: FoundCustomResource; initial: string }> = [];
  for (const ref of found) {
    progress(`deleting ${refLabel(ref)}`);
    const r = await deleteCustomObject(kube, ref);
    sent.push({ ref, initial: r });
  }
  if (found.length) passed('custom-resources:delete-sent');
  for (const { ref, initial } of sent) {
    const base = { step: 'custom-resources' as const, kind: ref.kind, ...(ref.namespace ? { namespace: ref.namespace } : {}), name: ref.name };
    if (initial === 'already-gone') {
      ctx.outcomes.push({ ...base, result: 'already-gone', detail: 'already gone' });
      continue;
    }
    const live = await getCustomObject(kube, ref);
    if (!live) {
      // Gone before we looked: with its finalizer on, only the operator can have removed it.
      const detail = operatorFinalizer(ref.finalizers) ? 'deleted; the operator removed its finalizer at once' : 'deleted';
      ctx.outcomes.push({ ...base, result: 'deleted', detail });
      continue;
    }
    const ourFinalizer = operatorFinalizer(live.metadata?.finalizers);
    const started = Date.now();
    const why = ourFinalizer ? await untilOperatorFinalizes(ctx, ref, progress) : undefined;
    if (why === 'gone') {
      ctx.outcomes.push({ ...base, result: 'deleted', detail: `deleted; the operator removed its finalizer in ${((Date.now() - started) / 1000).toFixed(1)}s` });
      continue;
    }
    if (why && ourFinalizer) {
      progress(`removing finalizer ${ourFinalizer} from ${refLabel(ref)}: ${why}`);
      await removeFinalizer(kube, ref, ourFinalizer);
    }
    const w = await waitForCustomObjectGone(kube, ref, { timeoutMs: opts.timeoutMs });
    if (w !== 'gone') {
      const left = (await getCustomObject(kube, ref))?.metadata?.finalizers ?? [];
      throw new InsightError('timeout', `${refLabel(ref)} is still there after ${secs(opts.timeoutMs)}${left.length ? ` (finalizers: ${left.join(', ')})` : ''}`, {
        hint: left.length
          ? `Another controller owns ${left.join(', ')}; it must finish first. kubectl-insight only ever removes ${CR.finalizer}[/...].`
          : 'Run the command again; raise --timeout on a slow API server.',
      });
    }
    ctx.outcomes.push({ ...base, result: 'deleted', detail: why ? `deleted; finalizer ${ourFinalizer} removed by patch because ${why}` : 'deleted' });
  }
}

/**
 * Waits while the installation's operator can still remove its finalizer; returns 'gone' when it did
 * (the CR is deleted), else why stripping is now allowed: the operator is gone (deleted, scaled to
 * zero, or without a ready pod for the grace period) or the user's --timeout ended. The operator is
 * sampled again right before returning a reason, so a restart in between is seen.
 */
async function untilOperatorFinalizes(ctx: UninstallContext, ref: FoundCustomResource, progress: (m: string) => void): Promise<string> {
  const { kube, opts } = ctx;
  const deadline = Date.now() + opts.timeoutMs;
  const refs = ctx.discovery.operator.refs ?? [];
  const source = { releaseGone: ctx.discovery.operator.releaseGone ?? !ctx.discovery.helmRelease };
  const crGone = async () => (await getCustomObject(kube, ref)) === undefined;
  for (;;) {
    const v = await waitOperatorVerdict(kube, refs, { source, deadline, done: crGone, ...(opts.operatorGraceMs !== undefined ? { graceMs: opts.operatorGraceMs } : {}) });
    if (await crGone()) return 'gone';
    if (v.state === 'gone') {
      // Re-check right before acting: a restarted operator gets its chance again.
      const again = await operatorNow(kube, refs, source);
      if (again.state === 'gone') return `the operator is gone (${v.why})`;
      if (Date.now() >= deadline) return `the operator did not remove it within ${secs(opts.timeoutMs)}`;
      continue;
    }
    progress(`waiting for the operator to remove the finalizer of ${refLabel(ref)} (up to ${secs(Math.max(0, deadline - Date.now()))})`);
    const left = deadline - Date.now();
    if (left <= 0) return `the operator did not remove it within ${secs(opts.timeoutMs)}`;
    // Wait for the CR in slices, so an operator that dies meanwhile is noticed before the deadline.
    const w = await waitForCustomObjectGone(kube, ref, { timeoutMs: Math.min(left, OPERATOR_RECHECK_MS) });
    if (w === 'gone') return 'gone';
    if (Date.now() >= deadline) return `the operator did not remove it within ${secs(opts.timeoutMs)}`;
  }
}

/** While the operator runs, how often the wait for its finalizer looks at the operator again. */
const OPERATOR_RECHECK_MS = 10_000;

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

/** Step 2: helm uninstall --wait. A release already gone is fine (a previous run got this far). */
export async function uninstallRelease(ctx: UninstallContext, progress: (m: string) => void): Promise<void> {
  const { helm, kube, opts } = ctx;
  const base = { step: 'helm-release' as const, kind: 'HelmRelease', namespace: opts.namespace, name: opts.release };
  const rel = await findHelmRelease(helm, opts);
  if (!rel) {
    ctx.outcomes.push({ ...base, result: 'already-gone', detail: 'no such release (already uninstalled)' });
    return;
  }
  if (!opts.force) {
    // Asked at discovery, and again right before helm acts.
    const inUse = await templatedCrdsInUse(kube, await releaseManifest(helm, opts.release, opts.namespace, rel), installationOf(opts.release, opts.namespace, ctx.discovery.clusterID));
    if (inUse.length) throw templatedCrdsError(inUse);
  }
  progress(`helm uninstall ${opts.release} -n ${opts.namespace}, waiting until its objects are gone`);
  try {
    await helm.uninstall({ release: opts.release, namespace: opts.namespace, timeoutMs: opts.timeoutMs });
  } catch (e) {
    if (e instanceof InsightError && e.kind === 'not-found') {
      ctx.outcomes.push({ ...base, result: 'already-gone', detail: 'no such release (already uninstalled)' });
      return;
    }
    throw e;
  }
  ctx.outcomes.push({ ...base, result: 'deleted', detail: `uninstalled (was revision ${rel.revision}, ${rel.status})` });
}

/** Step 3: the release's workloads and pods are gone (helm's --wait does not cover pods of a ReplicaSet). */
export async function confirmWorkloadsGone(ctx: UninstallContext, progress: (m: string) => void): Promise<void> {
  const { kube, opts } = ctx;
  const before = new Map(ctx.discovery.workloads.map((w) => [`${w.kind}/${w.name}`, w]));
  const labelSelector = instanceSelector(opts.release);
  const listPods = async () => {
    const l = await kube.call({ verb: 'list', resource: 'pods', namespace: opts.namespace }, () => kube.core.listNamespacedPod({ namespace: opts.namespace, labelSelector }));
    return { names: l.items.map((p) => p.metadata?.name ?? '?'), resourceVersion: l.metadata?.resourceVersion };
  };
  const w = await waitForNone(kube.kc, `/api/v1/namespaces/${opts.namespace}/pods`, { labelSelector }, listPods, {
    timeoutMs: opts.timeoutMs,
    onProgress: (left) => progress(`${left.length} pod(s) still terminating`),
  });
  const remaining = await releaseWorkloads(kube, opts.release, opts.namespace);
  if (w !== 'gone' || remaining.length > 0) {
    throw new InsightError('timeout', `workloads of ${opts.release} still present after ${secs(opts.timeoutMs)}: ${remaining.map((r) => `${r.kind} ${r.name}`).join(', ')}`, {
      hint: 'Pods may be held by a finalizer or a slow node; check `kubectl get pods -n ' + opts.namespace + '`, then run the command again.',
    });
  }
  for (const [, r] of before) ctx.outcomes.push({ step: 'workloads', ...r, result: 'deleted', detail: 'gone' });
}

async function deleteCrd(kube: UninstallKube, name: string, timeoutMs: number): Promise<'deleted' | 'already-gone'> {
  const op = { resource: 'customresourcedefinitions.apiextensions.k8s.io', name };
  if ((await kube.delete(op, () => kube.apiext.deleteCustomResourceDefinition({ name }))) === 'already-gone') return 'already-gone';
  const get = async () => (await kube.ifFound({ verb: 'get', ...op }, () => kube.apiext.readCustomResourceDefinition({ name }))) as LiveObject | undefined;
  const w = await waitForGone(kube.kc, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', name, get, { timeoutMs });
  if (w !== 'gone') {
    throw new InsightError('timeout', `CRD ${name} is still terminating after ${secs(timeoutMs)}`, {
      hint: `Its remaining objects may carry finalizers: \`kubectl get ${name} -A\`. Run the command again.`,
    });
  }
  return 'deleted';
}

/** Step 4: CRDs, each decided again now (the helm release is gone, others may have appeared). */
export async function purgeCrds(ctx: UninstallContext, progress: (m: string) => void): Promise<void> {
  const { kube, opts } = ctx;
  const inst = installationOf(opts.release, opts.namespace, ctx.discovery.clusterID);
  let deletedOne = false;
  for (const c of CRDS) {
    // Decided for this CRD right before deleting it, not for all six up front: an object someone
    // creates while an earlier CRD is being deleted must still keep this one.
    const [d] = await inspectCrdsOwnership(kube, [c.name], inst);
    if (!d) continue;
    const base = { step: 'crds' as const, kind: 'CustomResourceDefinition', name: d.crd };
    if (d.action === 'absent') {
      ctx.outcomes.push({ ...base, result: 'already-gone', detail: 'not in the cluster' });
      continue;
    }
    if (d.action === 'keep' && !opts.force) {
      ctx.outcomes.push({ ...base, result: 'kept', detail: `in use: ${d.reasons.join('; ')}`, lost: d.foreign });
      continue;
    }
    progress(`deleting CRD ${d.crd}`);
    const r = await deleteCrd(kube, d.crd, opts.timeoutMs);
    ctx.outcomes.push({
      ...base,
      result: r,
      detail: d.action === 'keep' ? `deleted with --force although ${d.reasons.join('; ')}` : r === 'deleted' ? 'deleted; used only by this installation' : 'already gone',
      ...(d.action === 'keep' ? { lost: d.foreign } : {}),
    });
    if (r === 'deleted' && !deletedOne) {
      deletedOne = true;
      passed('crds:one-deleted');
    }
  }
  // The last step when the namespace stays. With every CRD dealt with the uninstall is complete and its
  // mark goes; a CRD kept because others use it leaves the mark, so `--purge-crds --force` here can follow.
  const keptOne = ctx.outcomes.some((o) => o.step === 'crds' && o.result === 'kept');
  if (!opts.deleteNamespace && !keptOne) await unmarkNamespace(ctx);
}

/** Step 5: the namespace, only when nothing else lives there. */
export async function deleteNamespace(ctx: UninstallContext, progress: (m: string) => void): Promise<void> {
  const { kube, opts } = ctx;
  const base = { step: 'namespace' as const, kind: 'Namespace', name: opts.namespace };
  // The plan's answer is not enough: ask again right before deleting (someone may have added something).
  const ns = await namespaceState(kube, installationOf(opts.release, opts.namespace, ctx.discovery.clusterID), Boolean(ctx.discovery.helmRelease));
  if (!ns.exists) {
    ctx.outcomes.push({ ...base, result: 'already-gone', detail: 'does not exist' });
    return;
  }
  if (!ns.hadRelease || ns.others.length > 0) {
    const detail = !ns.hadRelease ? `kept: release ${opts.release} was never installed in it` : `kept, not only the release's: ${ns.others.map((x) => `${x.kind} ${x.name}`).join(', ')}`;
    ctx.outcomes.push({ ...base, result: 'kept', detail });
    await unmarkNamespace(ctx);
    return;
  }
  progress(`deleting namespace ${opts.namespace}`);
  const op = { resource: 'namespaces', name: opts.namespace };
  await kube.delete(op, () => kube.core.deleteNamespace({ name: opts.namespace }));
  const get = async () => (await kube.ifFound({ verb: 'get', ...op }, () => kube.core.readNamespace({ name: opts.namespace }))) as LiveObject | undefined;
  const w = await waitForGone(kube.kc, '/api/v1/namespaces', opts.namespace, get, { timeoutMs: opts.timeoutMs });
  if (w !== 'gone') {
    throw new InsightError('timeout', `namespace ${opts.namespace} is still terminating after ${secs(opts.timeoutMs)}`, {
      hint: `See \`kubectl get namespace ${opts.namespace} -o yaml\` (status.conditions) for what holds it; run the command again.`,
    });
  }
  ctx.outcomes.push({ ...base, result: 'deleted', detail: 'deleted' });
}

async function unmarkNamespace(ctx: UninstallContext): Promise<void> {
  await clearUninstallMark(ctx.kube, ctx.opts.namespace, ctx.opts.release);
}

/** The ordered steps, for the command's task tree. Skips come from the plan. */
export function uninstallSteps(): Step<UninstallContext>[] {
  const wrap = (id: StepId, fn: (ctx: UninstallContext, progress: (m: string) => void) => Promise<void>): Step<UninstallContext> => ({
    title: STEP_TITLES[id],
    skip: (ctx) => ctx.plan.steps.find((s) => s.id === id)?.skipped ?? false,
    async run(ctx, report) {
      const started = Date.now();
      try {
        if (!ctx.marked) {
          ctx.marked = true;
          await markNamespace(ctx);
        }
        await fn(ctx, (m) => report.progress(m));
      } catch (e) {
        throw inStep(id, e);
      }
      ctx.timings[id] = Date.now() - started;
      report.title(`${STEP_TITLES[id]}: ${stepSummary(ctx.outcomes.filter((o) => o.step === id))}`);
      passed(id);
    },
  });
  // The order is the point of this command (seed 000): see WHY for each step.
  return [
    gitopsStep(),
    wrap('custom-resources', deleteCustomResources),
    wrap('helm-release', uninstallRelease),
    wrap('workloads', confirmWorkloadsGone),
    wrap('crds', purgeCrds),
    wrap('namespace', deleteNamespace),
  ];
}

export function stepSummary(outcomes: ItemOutcome[]): string {
  if (outcomes.length === 0) return 'nothing to do';
  const n = (r: ItemResult) => outcomes.filter((o) => o.result === r).length;
  return [n('deleted') && `${n('deleted')} deleted`, n('already-gone') && `${n('already-gone')} already gone`, n('kept') && `${n('kept')} kept`].filter(Boolean).join(', ');
}

/** Discover and plan (used by --dry-run, and before confirmation). */
export async function planUninstall(kube: UninstallKube, helm: UninstallHelm, opts: UninstallOptions): Promise<{ discovery: Discovery; plan: Plan }> {
  const discovery = await discover(kube, helm, opts);
  const plan = buildPlan(discovery, opts);
  passed('discover');
  return { discovery, plan };
}

export function newContext(kube: UninstallKube, helm: UninstallHelm, opts: UninstallOptions, discovery: Discovery, plan: Plan): UninstallContext {
  return { kube, helm, opts, discovery, plan, outcomes: [], timings: {} };
}
