/**
 * uninstall's plan: the ordered steps with every object each would touch, and why each comes where it
 * does. buildPlan is pure (unit-tested on Discovery data); planUninstall discovers, then builds.
 */
import { gitopsNotes } from '../../kube/gitops.js';
import { passed, type Discovery, type Plan, type PlanItem, type PlanStep, type StepId, type UninstallHelm, type UninstallKube, type UninstallOptions, type OperatorState } from './model.js';
import { discover, operatorFinalizer } from './discover.js';

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

export async function planUninstall(kube: UninstallKube, helm: UninstallHelm, opts: UninstallOptions): Promise<{ discovery: Discovery; plan: Plan }> {
  const discovery = await discover(kube, helm, opts);
  const plan = buildPlan(discovery, opts);
  passed('discover');
  return { discovery, plan };
}
