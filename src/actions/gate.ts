/**
 * The preflight gate of install: the checks run through a function the command wires to
 * src/checks/preflight, and the one failure install can work around (cms-vpc in Intranet mode).
 */
import type { Report } from '../checks/engine.js';
import { InsightError } from '../errors.js';
import type { StepReporter } from './steps.js';
import { getPath, setPath, type Values } from '../values/tree.js';

export interface PreflightRequest {
  mode: 'install' | 'upgrade';
  release: string;
  namespace: string;
  values: Values;
  signal?: AbortSignal;
  /** One line per finished check, for the progress display. */
  onProgress?: (line: string) => void;
}

/** Runs the preflight checks; the command wires it to src/checks/preflight (tests pass a fake). */
export type PreflightGate = (req: PreflightRequest) => Promise<Report>;

/** cms-vpc unreachable in Intranet mode: the one failure install can work around. */
const isCmsVpcFailure = (r: Report['results'][number]) => r.status === 'failed' && (r.id === 'network.cms' || /cms-vpc\./.test(r.object ?? '') || /cms-vpc\./.test(r.message));

export function cmsVpcUnreachable(report: Report): boolean {
  return report.results.some(isCmsVpcFailure);
}

export function fatalFindings(report: Report, ignoreCmsVpc: boolean): Report['results'] {
  return report.results.filter((r) => r.status === 'failed' && r.severity === 'fatal' && !(ignoreCmsVpc && isCmsVpcFailure(r)));
}

/** What the gate found, for the result. */
export interface GateSummary {
  passed: number;
  failed: number;
  warnings: number;
  skipped: boolean;
}

/** Run the preflight gate; handles the cms-vpc case (asks; --yes answers yes). */
export async function gate(
  ctx: { deps: { preflight?: PreflightGate }; opts: { release: string; namespace: string; confirm?: (q: string) => Promise<boolean | undefined> }; values: Values; alertRuleDisabled: boolean; notes: string[]; preflight?: GateSummary },
  mode: 'install' | 'upgrade',
  report: StepReporter,
): Promise<void> {
  let done = 0;
  const r = await ctx.deps.preflight!({ mode, release: ctx.opts.release, namespace: ctx.opts.namespace, values: ctx.values, onProgress: (line) => report.progress(`${++done} checks done; ${line}`) });
  ctx.preflight = { passed: r.summary.passed, failed: r.summary.failed, warnings: r.summary.warnings, skipped: false };
  const intranet = getPath(ctx.values, 'net') === 'Intranet';
  const alertOn = getPath(ctx.values, 'operator.enableAlertRule') !== false;
  const vpc = intranet && alertOn && cmsVpcUnreachable(r);
  if (vpc) {
    const q = 'The cms-vpc endpoint is not reachable from the cluster, so alert-rule sync (operator.enableAlertRule) cannot work in Intranet mode. Install with alert-rule sync disabled?';
    const ok = await ctx.opts.confirm?.(q);
    if (ok === undefined) {
      throw new InsightError('aborted', 'cms-vpc is not reachable from the cluster in Intranet mode: alert-rule sync would fail', {
        hint: 'Re-run with --disable-alert-rule (or --yes to accept it), or open the route to cms-vpc (100.103.0.0/16).',
      });
    }
    if (!ok) throw new InsightError('aborted', 'install cancelled: cms-vpc is not reachable and alert-rule sync was kept on', { hint: 'Re-run with --disable-alert-rule, or fix the route to cms-vpc.' });
    setPath(ctx.values, 'operator.enableAlertRule', false);
    ctx.alertRuleDisabled = true;
    ctx.notes.push('cms-vpc is not reachable: alert-rule sync disabled (operator.enableAlertRule=false)');
  }
  const fatal = fatalFindings(r, ctx.alertRuleDisabled);
  if (fatal.length) {
    const f = fatal[0]!;
    throw new InsightError('failed', `preflight failed: ${fatal.map((x) => `${x.id}: ${x.message}`).join('; ')}`, {
      hint: `Fix it, or pass --skip-preflight to install anyway; nothing was changed. ${f.hint ?? 'See `kubectl insight preflight` for details.'}`,
      details: { preflight: fatal.map((x) => ({ id: x.id, message: x.message, hint: x.hint, object: x.object })) },
    });
  }
  report.title(`Preflight: ${r.summary.passed} passed, ${r.summary.warnings} warning(s)`);
}

