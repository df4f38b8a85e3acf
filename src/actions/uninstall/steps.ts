/** uninstall's five steps. Each re-reads the live state before acting, so a re-run after a kill finishes the job. */
import { deleteCustomObject, getCustomObject, refLabel, removeFinalizer, waitForCustomObjectGone, waitForGone, waitForNone, type LiveObject } from '../../kube/finalizers.js';
import { inspectCrdsOwnership } from '../../kube/ownership.js';
import { operatorNow, waitOperatorVerdict } from '../../kube/operator.js';
import { releaseManifest } from '../releases.js';
import { clearUninstallMark } from '../../kube/namespace.js';
import { CR, CRDS } from '../../defaults.js';
import { InsightError } from '../../errors.js';
import type { Step } from '../steps.js';
import { passed, type Discovery, type FoundCustomResource, type ItemOutcome, type ItemResult, type Plan, type StepId, type UninstallContext, type UninstallHelm, type UninstallKube, type UninstallOptions } from './model.js';
import { STEP_TITLES } from './plan.js';
import { findCustomResources, findHelmRelease, gitopsStep, installationOf, instanceSelector, markNamespace, namespaceState, operatorFinalizer, releaseWorkloads, templatedCrdsError, templatedCrdsInUse } from './discover.js';

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
  // A namespace an earlier run already deleted is only waited for: the API server refuses a second delete.
  if (!ns.terminating) await kube.delete(op, () => kube.core.deleteNamespace({ name: opts.namespace }));
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
  // The order is the point of this command: see WHY for each step.
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
export function newContext(kube: UninstallKube, helm: UninstallHelm, opts: UninstallOptions, discovery: Discovery, plan: Plan): UninstallContext {
  return { kube, helm, opts, discovery, plan, outcomes: [], timings: {} };
}
