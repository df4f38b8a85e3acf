/**
 * The ClusterAliyunPipelineConfig: it exists, its operator reports success, and it is not stuck in
 * Terminating. Runs without the release too: a CR left behind by `helm uninstall` (operator gone,
 * finalizer never removed) is exactly the case to catch.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import { CR } from '../../defaults.js';
import { judgeOperator, operatorsInManifest, type OperatorRef, type OperatorVerdict } from '../../kube/operator.js';
import { isNotFound } from '../../kube/errors.js';
import { isOurs, type Installation } from '../../kube/ownership.js';
import type { Check, Finding } from '../engine.js';
import type { DoctorContext, Fix, PipelineConfig } from './context.js';

const CATEGORY = 'Custom resources';
/** A deletion older than this, with the finalizer still there, is stuck. */
const STUCK_AFTER_MS = 60_000;

/**
 * --fix: remove exactly our finalizer, guarded by a JSON-patch test so a concurrent change is not
 * clobbered. Right before the patch it re-reads the CR (still ours, still Terminating, same finalizer)
 * and the operator (still gone), and skips when either changed.
 */
export function stripFinalizerFix(cr: PipelineConfig, inst: Installation, operatorRefs: readonly OperatorRef[], source: { releaseGone: boolean }): Fix | undefined {
  const i = (cr.metadata.finalizers ?? []).findIndex((f) => CR.isOperatorFinalizer(f));
  if (i < 0) return undefined;
  const fin = cr.metadata.finalizers![i]!;
  const path = `/apis/${CR.group}/${CR.version}/${CR.plural}/${encodeURIComponent(cr.metadata.name)}`;
  return {
    id: `cr.strip-finalizer/${cr.metadata.name}`,
    description: `remove finalizer ${fin} from ${CR.kind} ${cr.metadata.name} (its operator is gone, so nothing else will)`,
    command: `kubectl patch ${CR.plural}.${CR.group} ${cr.metadata.name} --type=json -p '[{"op":"remove","path":"/metadata/finalizers/${i}"}]'`,
    async precondition({ api }) {
      let live: PipelineConfig;
      try {
        live = await api.getJson<PipelineConfig>(path);
      } catch (e) {
        if (isNotFound(e)) return `${cr.metadata.name} is gone already`;
        throw e;
      }
      if (!isOurs(live.metadata, inst)) return `${cr.metadata.name} is not this installation's`;
      if (!live.metadata.deletionTimestamp) return `${cr.metadata.name} is no longer being deleted`;
      if ((live.metadata.finalizers ?? [])[i] !== fin) return `the finalizers of ${cr.metadata.name} changed`;
      const deps = await Promise.all(
        operatorRefs.map(async (r) => {
          try {
            return await api.getJson<V1Deployment>(`/apis/apps/v1/namespaces/${encodeURIComponent(r.namespace)}/deployments/${encodeURIComponent(r.name)}`);
          } catch (e) {
            if (isNotFound(e)) return undefined;
            throw e;
          }
        }),
      );
      const v = judgeOperator(operatorRefs, deps, source);
      return v.state === 'gone' ? undefined : `the operator is ${v.state === 'running' ? 'running again' : 'starting'}`;
    },
    apply: ({ api }) =>
      api.send('PATCH', path, [
        { op: 'test', path: `/metadata/finalizers/${i}`, value: fin },
        { op: 'remove', path: `/metadata/finalizers/${i}` },
      ]),
  };
}

/** The decision for one CR, given whether the operator runs. */
export function judgeCr(cr: PipelineConfig, operator: OperatorVerdict, now: Date, inst: Installation, source: { releaseGone: boolean } = { releaseGone: false }): { finding: Finding; fix?: Fix } {
  const namespace = inst.namespace;
  const object = `${CR.plural}/${cr.metadata.name}`;
  if (cr.metadata.deletionTimestamp) {
    const age = now.getTime() - new Date(cr.metadata.deletionTimestamp).getTime();
    const evidence = [`deletionTimestamp=${cr.metadata.deletionTimestamp}`, `finalizers=${(cr.metadata.finalizers ?? []).join(',') || '<none>'}`, `operator ${operator.state === 'running' ? 'running' : operator.why}`];
    if (age < STUCK_AFTER_MS) return { finding: { status: 'passed', message: `${cr.metadata.name} is being deleted`, object, evidence } };
    if (operator.state !== 'running') {
      // Only a gone operator (deleted, scaled to zero, or not in the release) makes stripping safe; one
      // without a ready pod may be restarting, and doctor sees it only once.
      const fix = operator.state === 'gone' ? stripFinalizerFix(cr, inst, operator.refs, source) : undefined;
      return {
        finding: {
          status: 'failed',
          message: `${cr.metadata.name} is stuck Terminating for ${Math.round(age / 1000)}s: its operator is ${operator.state === 'gone' ? `gone (${operator.why})` : `not ready (${operator.why})`}, so its finalizer is not removed`,
          object,
          evidence,
          hint: `Run \`kubectl insight uninstall -n ${namespace}\` (it clears the finalizer), or \`kubectl insight doctor --fix\`${fix ? `, or by hand: \`${fix.command}\`` : ''}.`,
        },
        ...(fix ? { fix } : {}),
      };
    }
    return {
      finding: {
        status: 'failed',
        severity: 'warning',
        message: `${cr.metadata.name} is Terminating for ${Math.round(age / 1000)}s although the operator runs`,
        object,
        evidence,
        hint: `The operator fails to clean up its cloud-side resources: \`kubectl logs -n ${namespace} deploy/cms-loongcollector-operator --tail=100\`.`,
      },
    };
  }
  const st = cr.status;
  if (st?.success === true) return { finding: { status: 'passed', message: `${cr.metadata.name} reports success`, object, evidence: st.lastUpdateTime ? [`lastUpdateTime=${st.lastUpdateTime}`] : [] } };
  if (st?.success === false) {
    return {
      finding: {
        status: 'failed',
        message: `${cr.metadata.name} reports failure: ${st.message ?? 'no message'}`,
        object,
        evidence: [`status.success=false`, ...(st.message ? [`status.message=${st.message}`] : [])],
        hint: `The operator could not apply the pipeline (credentials, project or endpoint): \`kubectl logs -n ${namespace} deploy/cms-loongcollector-operator --tail=100\`; fix the values and \`kubectl insight upgrade\`.`,
      },
    };
  }
  return {
    finding: {
      status: 'failed',
      severity: 'warning',
      message: `${cr.metadata.name} has no status yet${operator.state === 'running' ? '' : ' (operator not ready)'}`,
      object,
      evidence: ['status.success unset'],
      hint: operator.state === 'running' ? `The operator has not reconciled it: \`kubectl logs -n ${namespace} deploy/cms-loongcollector-operator\`.` : 'Fix the operator first (see pods.health).',
    },
  };
}

export const crChecks: Check<DoctorContext>[] = [
  {
    id: 'cr.pipeline-config',
    category: CATEGORY,
    description: `${CR.kind} exists, reports success and is not stuck`,
    severity: 'fatal',
    async run(ctx) {
      const [{ items, missing }, rel, deployments] = await Promise.all([ctx.pipelineConfigs(), ctx.release().catch(() => undefined), ctx.deployments()]);
      const expected = (rel?.objects ?? []).filter((o) => o.kind === CR.kind).map((o) => o.metadata.name);
      if (missing) {
        if (!expected.length) return { status: 'skipped', message: `the ${CR.kind} CRD is not installed` };
        return { status: 'failed', message: `the ${CR.kind} CRD is missing but the release needs it`, hint: 'Re-run `kubectl insight upgrade` (it installs the CRDs).' };
      }
      // The one ownership rule (src/kube/ownership.ts) and the one operator rule (src/kube/operator.ts).
      const inst: Installation = { release: ctx.opts.release, namespace: ctx.opts.namespace, ownedNames: expected };
      const refs = rel
        ? operatorsInManifest(rel.objects, ctx.opts.namespace)
        : operatorsInManifest(deployments.filter((d) => isOurs(d.metadata ?? {}, inst)).map((d) => ({ kind: 'Deployment', metadata: { name: d.metadata?.name ?? '?', namespace: d.metadata?.namespace ?? ctx.opts.namespace, labels: d.metadata?.labels ?? {} }, spec: d.spec })), ctx.opts.namespace);
      const source = { releaseGone: !rel };
      const operator = judgeOperator(refs, refs.map((r) => deployments.find((d) => d.metadata?.name === r.name && (d.metadata?.namespace ?? ctx.opts.namespace) === r.namespace)), source);
      const ours = items.filter((c) => isOurs(c.metadata, inst));
      const findings: Finding[] = [];
      for (const name of expected) {
        if (!items.some((c) => c.metadata.name === name)) {
          findings.push({ status: 'failed', message: `${CR.kind} ${name} of the release does not exist`, object: `${CR.plural}/${name}`, hint: 'Re-apply the release: `kubectl insight upgrade`.' });
        }
      }
      for (const cr of ours) {
        const { finding, fix } = judgeCr(cr, operator, ctx.now, inst, source);
        findings.push(finding);
        if (fix) ctx.fixes.push(fix);
      }
      if (!findings.length) return { status: 'skipped', message: `no ${CR.kind} of this installation` };
      return findings;
    },
  },
];
