/**
 * Whether this installation's operator is gone: the one decision that allows removing its finalizer
 * from a custom resource by hand. Asked by uninstall and by doctor --fix, and asked again right before
 * the patch.
 *
 * - The operator is the Deployment the release's own manifest holds with the operator's pod label; with
 *   no release left (helm uninstalled first), the installation's Deployments with that label (helm's
 *   ownership annotations). Never "any Deployment whose name contains operator", never another
 *   installation's.
 * - gone: no such Deployment, it is being deleted, or it is scaled to zero.
 * - not ready (0 ready pods, replicas wanted): a rolling restart or a crash. Not gone on one sample;
 *   `waitOperatorVerdict` watches for a grace period and calls it gone only if no pod became ready.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import { OPERATOR_LABEL } from '../defaults.js';
import { isOurs, type Installation } from './ownership.js';
import type { Kube } from './client.js';

export interface OperatorRef {
  namespace: string;
  name: string;
}

export type OperatorVerdict =
  | { state: 'running'; ready: number; refs: OperatorRef[] }
  | { state: 'not-ready'; why: string; refs: OperatorRef[] }
  /** The release is there but its manifest has no Deployment we recognise as the operator: never gone. */
  | { state: 'unknown'; why: string; refs: OperatorRef[] }
  | { state: 'gone'; why: string; refs: OperatorRef[] };

/** Where the refs came from: the release manifest (the release exists) or, with no release, the cluster. */
export interface OperatorSource {
  releaseGone: boolean;
}

/** How long an operator may have no ready pod before it counts as gone (a rolling restart takes less). */
export const OPERATOR_GRACE_MS = 30_000;

interface ManifestDocLike {
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: unknown;
}

const hasOperatorLabel = (labels: Record<string, string> | undefined) => labels?.[OPERATOR_LABEL.key] === OPERATOR_LABEL.value;

/** The operator Deployments a release manifest holds (by the pod template's label, as the chart sets it). */
export function operatorsInManifest(docs: readonly ManifestDocLike[], namespace: string): OperatorRef[] {
  return docs
    .filter((d) => d.kind === 'Deployment' && d.metadata?.name)
    .filter((d) => {
      const tpl = (d.spec as { template?: { metadata?: { labels?: Record<string, string> } } } | undefined)?.template?.metadata?.labels;
      return hasOperatorLabel(tpl) || hasOperatorLabel(d.metadata?.labels);
    })
    .map((d) => ({ namespace: d.metadata?.namespace ?? namespace, name: d.metadata!.name! }));
}

/** One sample: the Deployments as read now (undefined: not found). */
export function judgeOperator(refs: readonly OperatorRef[], live: ReadonlyArray<V1Deployment | undefined>, source: OperatorSource): OperatorVerdict {
  const label = refs.map((r) => `Deployment ${r.namespace}/${r.name}`).join(', ');
  if (!refs.length) {
    // No operator found: gone only when the release itself is gone. A release whose manifest holds no
    // Deployment with the operator's pod label (another chart version, a fork) may well run one.
    return source.releaseGone
      ? { state: 'gone', why: 'the release and its operator Deployment are uninstalled', refs: [] }
      : { state: 'unknown', why: `the release manifest has no Deployment with pod label ${OPERATOR_LABEL.key}=${OPERATOR_LABEL.value}, so whether its operator runs is unknown`, refs: [] };
  }
  const present = live.filter((d): d is V1Deployment => d !== undefined && !d.metadata?.deletionTimestamp);
  if (!present.length) return { state: 'gone', why: `${label} ${live.some(Boolean) ? 'is being deleted' : 'does not exist'}`, refs: [...refs] };
  const ready = present.reduce((n, d) => n + (d.status?.readyReplicas ?? 0), 0);
  if (ready > 0) return { state: 'running', ready, refs: [...refs] };
  if (present.every((d) => (d.spec?.replicas ?? 1) === 0)) return { state: 'gone', why: `${label} is scaled to zero`, refs: [...refs] };
  return { state: 'not-ready', why: `${label} has no ready pod`, refs: [...refs] };
}

export type OperatorKube = Pick<Kube, 'apps' | 'call' | 'ifFound'>;

/** Which Deployments are this installation's operator: from the manifest, else the installation's own by label. */
export async function findOperator(kube: OperatorKube, inst: Installation, manifestDocs: readonly ManifestDocLike[] | undefined): Promise<OperatorRef[]> {
  if (manifestDocs) return operatorsInManifest(manifestDocs, inst.namespace);
  // No release left: the installation's own Deployments, recognised by the same label as in a manifest.
  const list = await kube.call({ verb: 'list', resource: 'deployments.apps', namespace: inst.namespace }, () => kube.apps.listNamespacedDeployment({ namespace: inst.namespace }));
  const docs = list.items.filter((d) => isOurs(d.metadata ?? {}, inst)).map((d) => ({ kind: 'Deployment', metadata: { ...(d.metadata?.name ? { name: d.metadata.name } : {}), namespace: d.metadata?.namespace ?? inst.namespace, ...(d.metadata?.labels ? { labels: d.metadata.labels } : {}) }, spec: d.spec }));
  return operatorsInManifest(docs, inst.namespace);
}

/** One sample of the operator, read now. */
export async function operatorNow(kube: OperatorKube, refs: readonly OperatorRef[], source: OperatorSource): Promise<OperatorVerdict> {
  const live = await Promise.all(
    refs.map((r) => kube.ifFound({ verb: 'get', resource: 'deployments.apps', namespace: r.namespace, name: r.name }, () => kube.apps.readNamespacedDeployment({ namespace: r.namespace, name: r.name }))),
  );
  return judgeOperator(refs, live, source);
}

/**
 * The verdict to act on: a not-ready operator is sampled until it has a ready pod or the grace period
 * (bounded by `deadline`) is over; only then is it gone. `done` ends the wait early (the CR went away).
 */
export async function waitOperatorVerdict(
  kube: OperatorKube,
  refs: readonly OperatorRef[],
  opts: { source: OperatorSource; graceMs?: number; deadline: number; intervalMs?: number; done?: () => Promise<boolean>; sleep?: (ms: number) => Promise<void> },
): Promise<OperatorVerdict> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const started = Date.now();
  const graceMs = opts.graceMs ?? OPERATOR_GRACE_MS;
  const until = Math.min(started + graceMs, opts.deadline);
  let v = await operatorNow(kube, refs, opts.source);
  while (v.state === 'not-ready' && Date.now() < until) {
    await sleep(Math.min(opts.intervalMs ?? 1000, Math.max(1, until - Date.now())));
    if (opts.done && (await opts.done())) return v;
    v = await operatorNow(kube, refs, opts.source);
  }
  if (v.state !== 'not-ready') return v;
  // The user's deadline may end the wait before the grace period: then it is that deadline, not "gone".
  const waited = Math.round((Date.now() - started) / 1000);
  if (Date.now() - started < graceMs) return { state: 'not-ready', why: `${v.why} (waited ${waited}s, until --timeout)`, refs: v.refs };
  return { state: 'gone', why: `${v.why} for ${Math.round(graceMs / 1000)}s`, refs: v.refs };
}
