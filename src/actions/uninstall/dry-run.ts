/**
 * `uninstall --dry-run` asks the API server too: each delete and patch the plan would make is sent with
 * dryRun=All, so a missing permission (403), an admission webhook that refuses, or any other refusal
 * shows as a problem of that plan item before anything is changed. Nothing is persisted. `helm
 * uninstall` has no server-side dry run, so the helm release item is not checked.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Kube } from '../../kube/client.js';
import { isNotFound, type KubeOp } from '../../kube/errors.js';
import { finalizerPatch } from '../../kube/finalizers.js';
import { ExitCode, InsightError, type ErrorKind } from '../../errors.js';
import { marksNamespace, operatorFinalizer, patchMark } from './discover.js';
import type { Discovery, FoundCustomResource, Plan, PlanItem, ServerDryRun, UninstallOptions } from './model.js';

export type DryRunKube = Pick<Kube, 'core' | 'apiext' | 'custom' | 'call'>;

const DRY = 'All';

/** One dry-run request: what it does (for the reason) and how. */
interface DryCall {
  op: KubeOp;
  send: () => Promise<unknown>;
}

function customResourceCalls(kube: DryRunKube, cr: FoundCustomResource): DryCall[] {
  const { group, version, plural, name, namespace } = cr;
  const op = { resource: `${plural}.${group}`, name, namespace };
  const calls: DryCall[] = [
    {
      op: { verb: 'delete', ...op },
      send: () =>
        namespace
          ? kube.custom.deleteNamespacedCustomObject({ group, version, namespace, plural, name, dryRun: DRY })
          : kube.custom.deleteClusterCustomObject({ group, version, plural, name, dryRun: DRY }),
    },
  ];
  // The finalizer patch is the plan's fallback even while the operator runs, so it is checked either way.
  const fin = operatorFinalizer(cr.finalizers);
  if (fin) {
    const body = finalizerPatch(fin, cr.finalizers.indexOf(fin));
    const opts = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
    calls.push({
      op: { verb: 'patch', ...op },
      send: () =>
        namespace
          ? kube.custom.patchNamespacedCustomObject({ group, version, namespace, plural, name, body, dryRun: DRY }, opts)
          : kube.custom.patchClusterCustomObject({ group, version, plural, name, body, dryRun: DRY }, opts),
    });
  }
  return calls;
}

/** The dry-run requests for one plan item; none for items that change nothing or cannot be dry-run (helm). */
function callsFor(kube: DryRunKube, stepId: string, item: PlanItem, d: Discovery): DryCall[] {
  if (item.action === 'keep' || item.action === 'wait-gone' || item.action === 'helm-uninstall') return [];
  if (stepId === 'custom-resources') {
    const cr = d.customResources.find((c) => c.kind === item.kind && c.name === item.name && c.namespace === item.namespace);
    return cr ? customResourceCalls(kube, cr) : [];
  }
  if (stepId === 'crds') {
    const name = item.name;
    return [{ op: { verb: 'delete', resource: 'customresourcedefinitions.apiextensions.k8s.io', name }, send: () => kube.apiext.deleteCustomResourceDefinition({ name, dryRun: DRY }) }];
  }
  // A namespace already terminating is only waited for by the run: no delete to check.
  if (stepId === 'namespace' && !d.namespaceState.terminating) {
    const name = item.name;
    return [{ op: { verb: 'delete', resource: 'namespaces', name }, send: () => kube.core.deleteNamespace({ name, dryRun: DRY }) }];
  }
  return [];
}

/** Refusals are per item; not reaching the server or being unauthenticated stops the dry run as it would the run. */
async function attempt(kube: DryRunKube, c: DryCall): Promise<{ reason: string; kind: ErrorKind; hint?: string } | undefined> {
  try {
    await kube.call(c.op, c.send);
    return undefined;
  } catch (e) {
    // Gone meanwhile: the run records it as already gone, nothing to refuse.
    if (isNotFound(e)) return undefined;
    if (!(e instanceof InsightError) || e.kind === 'unreachable' || e.kind === 'unauthorized') throw e;
    return { reason: e.message, kind: e.kind, ...(e.hint ? { hint: e.hint } : {}) };
  }
}

/** The plan, with every item that would change something checked by a server-side dry run. */
export async function checkPlanOnServer(kube: DryRunKube, d: Discovery, plan: Plan, opts: Pick<UninstallOptions, 'namespace' | 'release' | 'deleteNamespace' | 'purgeCrds'>): Promise<Plan> {
  // The first write of a run that marks the namespace comes before every step's: check it too.
  let namespaceMark: Plan['namespaceMark'];
  if (marksNamespace(opts, d)) {
    const r = await attempt(kube, { op: { verb: 'patch', resource: 'namespaces', name: opts.namespace }, send: () => patchMark(kube, opts, DRY) });
    namespaceMark = { namespace: opts.namespace, serverDryRun: r ? { ok: false, ...r } : { ok: true } };
  }
  const steps = [];
  for (const s of plan.steps) {
    if (s.skipped && s.items.length === 0) {
      steps.push(s);
      continue;
    }
    const items: PlanItem[] = [];
    for (const item of s.items) {
      const calls = callsFor(kube, s.id, item, d);
      if (!calls.length) {
        items.push(item);
        continue;
      }
      const refused = [];
      for (const c of calls) {
        const r = await attempt(kube, c);
        if (r) refused.push(r);
      }
      const serverDryRun: ServerDryRun = refused.length
        ? { ok: false, reason: refused.map((r) => r.reason).join('; '), kind: refused.some((r) => r.kind === 'forbidden') ? 'forbidden' : refused[0]!.kind, ...(refused[0]!.hint ? { hint: refused.map((r) => r.hint).filter(Boolean).join(' ') } : {}) }
        : { ok: true };
      items.push({ ...item, serverDryRun });
    }
    steps.push({ ...s, items });
  }
  return { ...plan, steps, ...(namespaceMark ? { namespaceMark } : {}) };
}

/** Every refused write of a checked plan: the namespace mark's (as an item), then the steps' items. */
export function refusedItems(plan: Plan): Pick<PlanItem, 'serverDryRun'>[] {
  const mark = plan.namespaceMark && !plan.namespaceMark.serverDryRun.ok ? [{ serverDryRun: plan.namespaceMark.serverDryRun }] : [];
  return [...mark, ...plan.steps.flatMap((s) => s.items.filter((i) => i.serverDryRun && !i.serverDryRun.ok))];
}

/** Non-zero when the server refused a step: Forbidden when a refusal was a 403, else Failed. */
export function dryRunExitCode(plan: Plan): ExitCode {
  const refused = refusedItems(plan);
  if (!refused.length) return ExitCode.Ok;
  return refused.some((i) => i.serverDryRun?.ok === false && i.serverDryRun.kind === 'forbidden') ? ExitCode.Forbidden : ExitCode.Failed;
}
