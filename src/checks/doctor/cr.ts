/**
 * The ClusterAliyunPipelineConfig: it exists, its operator reports success, and it is not stuck in
 * Terminating. Runs without the release too: a CR left behind by `helm uninstall` (operator gone,
 * finalizer never removed) is exactly the case to catch (seed 000 Q1).
 */
import { CR } from '../../defaults.js';
import type { Check, Finding } from '../engine.js';
import type { DoctorContext, Fix, PipelineConfig } from './context.js';

const CATEGORY = 'Custom resources';
/** A deletion older than this, with the finalizer still there, is stuck. */
const STUCK_AFTER_MS = 60_000;

/** --fix: remove exactly our finalizer, guarded by a JSON-patch test so a concurrent change is not clobbered. */
export function stripFinalizerFix(cr: PipelineConfig): Fix | undefined {
  const i = (cr.metadata.finalizers ?? []).findIndex((f) => CR.isOperatorFinalizer(f));
  if (i < 0) return undefined;
  const fin = cr.metadata.finalizers![i]!;
  const path = `/apis/${CR.group}/${CR.version}/${CR.plural}/${encodeURIComponent(cr.metadata.name)}`;
  return {
    id: `cr.strip-finalizer/${cr.metadata.name}`,
    description: `remove finalizer ${fin} from ${CR.kind} ${cr.metadata.name} (its operator is gone, so nothing else will)`,
    command: `kubectl patch ${CR.plural}.${CR.group} ${cr.metadata.name} --type=json -p '[{"op":"remove","path":"/metadata/finalizers/${i}"}]'`,
    apply: (api) =>
      api.send('PATCH', path, [
        { op: 'test', path: `/metadata/finalizers/${i}`, value: fin },
        { op: 'remove', path: `/metadata/finalizers/${i}` },
      ]),
  };
}

export interface OperatorState {
  present: boolean;
  ready: boolean;
}

/** The decision for one CR, given whether the operator runs. */
export function judgeCr(cr: PipelineConfig, operator: OperatorState, now: Date, namespace: string): { finding: Finding; fix?: Fix } {
  const object = `${CR.plural}/${cr.metadata.name}`;
  if (cr.metadata.deletionTimestamp) {
    const age = now.getTime() - new Date(cr.metadata.deletionTimestamp).getTime();
    const evidence = [`deletionTimestamp=${cr.metadata.deletionTimestamp}`, `finalizers=${(cr.metadata.finalizers ?? []).join(',') || '<none>'}`, `operator ${operator.present ? (operator.ready ? 'running' : 'not ready') : 'not installed'}`];
    if (age < STUCK_AFTER_MS) return { finding: { status: 'passed', message: `${cr.metadata.name} is being deleted`, object, evidence } };
    if (!operator.ready) {
      const fix = stripFinalizerFix(cr);
      return {
        finding: {
          status: 'failed',
          message: `${cr.metadata.name} is stuck Terminating for ${Math.round(age / 1000)}s: its operator is ${operator.present ? 'not ready' : 'gone'}, so its finalizer is never removed`,
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
      message: `${cr.metadata.name} has no status yet${operator.ready ? '' : ' (operator not ready)'}`,
      object,
      evidence: ['status.success unset'],
      hint: operator.ready ? `The operator has not reconciled it: \`kubectl logs -n ${namespace} deploy/cms-loongcollector-operator\`.` : 'Fix the operator first (see pods.health).',
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
      const op = deployments.find((d) => /operator/.test(d.metadata?.name ?? '') && !/webhook/.test(d.metadata?.name ?? ''));
      const operator: OperatorState = { present: !!op, ready: !!op && (op.status?.readyReplicas ?? 0) > 0 };
      const ours = items.filter((c) => expected.includes(c.metadata.name) || c.metadata.labels?.['app.kubernetes.io/instance'] === ctx.opts.release || (c.metadata.finalizers ?? []).some((f) => CR.isOperatorFinalizer(f)));
      const findings: Finding[] = [];
      for (const name of expected) {
        if (!items.some((c) => c.metadata.name === name)) {
          findings.push({ status: 'failed', message: `${CR.kind} ${name} of the release does not exist`, object: `${CR.plural}/${name}`, hint: 'Re-apply the release: `kubectl insight upgrade`.' });
        }
      }
      for (const cr of ours) {
        const { finding, fix } = judgeCr(cr, operator, ctx.now, ctx.opts.namespace);
        findings.push(finding);
        if (fix) ctx.fixes.push(fix);
      }
      if (!findings.length) return { status: 'skipped', message: `no ${CR.kind} of this installation` };
      return findings;
    },
  },
];
