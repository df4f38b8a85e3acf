/** uninstall's types: options, the injection points, what discovery finds, the plan, outcomes, the steps' context. */
import diagnostics from 'node:diagnostics_channel';
import type { Kube } from '../../kube/client.js';
import { type CustomRef } from '../../kube/finalizers.js';
import { type CrdDecision, type ForeignObject, type ObjectRef } from '../../kube/ownership.js';
import type { Helm, HelmRelease } from '../../helm/helm.js';
import { type OperatorRef, type OperatorVerdict } from '../../kube/operator.js';
import { type ErrorKind } from '../../errors.js';
import { type GitOpsFinding } from '../../kube/gitops.js';

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
export const passed = (point: InjectionPoint) => points.publish(point);

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
  /** Deleted already (an earlier run was stopped while waiting): a second delete is refused with 409. */
  terminating?: boolean;
}

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
  /** --dry-run: the server's answer to the namespace mark patch made before the first deletion, when one is made. */
  namespaceMark?: { namespace: string; serverDryRun: ServerDryRun };
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

/** What the steps share: the clients, the options, what discovery found and what was done. */
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
