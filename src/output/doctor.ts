/**
 * Doctor's output: the shared report renderer (grouped by category, summary, verdict) plus the
 * header naming the cluster and release, the --fix plan and outcomes, and the JSON document whose
 * `findings` carry id, severity, object, evidence, hint and docs link for every result.
 */
import type { ChalkInstance } from 'chalk';
import type { FixView } from '../actions/doctor.js';
import type { Report } from '../checks/engine.js';
import { redact } from '../secret.js';
import { renderHuman } from './report.js';

export interface DoctorMeta {
  context: string;
  server: string;
  namespace: string;
  release: string;
  exitCode: number;
  durationMs: number;
  /** --watch: how many runs were made. */
  runs?: number;
}


/** The verdict in one word, as the human summary line says it. */
export function verdict(report: Report): 'healthy' | 'degraded' | 'unhealthy' {
  return report.summary.failed ? 'unhealthy' : report.summary.warnings ? 'degraded' : 'healthy';
}

export function renderDoctorHuman(report: Report, meta: DoctorMeta, c: ChalkInstance, opts: { verbose?: boolean; fixes?: FixView[] } = {}): string {
  const title = `kubectl insight doctor: release ${meta.release} in ${meta.namespace} (context ${meta.context})`;
  const lines = [renderHuman(report, c, { title, ...(opts.verbose !== undefined ? { verbose: opts.verbose } : {}) })];
  const fixes = opts.fixes ?? [];
  if (fixes.length) {
    lines.push('', c.bold('Fixes'));
    for (const f of fixes) {
      const mark =
        f.outcome === 'applied' ? c.green('✔ applied') : f.outcome === 'failed' ? c.red('✖ failed') : f.outcome === 'declined' ? c.dim('- declined') : f.outcome === 'skipped' ? c.yellow('- skipped') : f.outcome === 'planned' ? c.cyan('would apply') : c.cyan('available');
      lines.push(`${mark} ${f.description}${f.error ? c.dim(` (${f.error})`) : ''}`, c.dim(`    ${f.command}`));
      if (f.outcome === 'applied' && f.next) lines.push(`    next: ${f.next}`);
    }
    if (fixes.every((f) => !f.outcome)) lines.push(c.dim('Apply them with `kubectl insight doctor --fix` (see each first with --fix --dry-run).'));
    else if (fixes.some((f) => f.outcome === 'planned')) lines.push(c.dim('Dry run: nothing was changed. Apply them with `kubectl insight doctor --fix`.'));
  }
  const v = verdict(report);
  const word = v === 'healthy' ? c.green('healthy') : v === 'degraded' ? c.yellow('degraded') : c.red('unhealthy');
  lines.push(`Verdict: ${word} (${(meta.durationMs / 1000).toFixed(1)}s${meta.runs && meta.runs > 1 ? `, ${meta.runs} runs` : ''})`);
  return redact(lines.join('\n'));
}

export function renderDoctorJson(report: Report, meta: DoctorMeta, fixes: FixView[] = []): string {
  return redact(JSON.stringify(doctorDocument(report, meta, fixes), null, 2));
}

/** The `-o json` document of one context (also each context's `report` in fleet mode). */
export function doctorDocument(report: Report, meta: DoctorMeta, fixes: FixView[] = []): Record<string, unknown> {
  const findings = report.results.map((r) => ({
    id: r.id,
    category: r.category,
    status: r.status,
    severity: r.severity,
    message: r.message,
    object: r.object ?? null,
    evidence: r.evidence ?? [],
    hint: r.hint ?? null,
    docs: r.docs ?? null,
    durationMs: r.durationMs,
  }));
  return {
    command: 'doctor',
    verdict: verdict(report),
    exitCode: meta.exitCode,
    context: meta.context,
    server: meta.server,
    namespace: meta.namespace,
    release: meta.release,
    durationMs: meta.durationMs,
    ...(meta.runs ? { runs: meta.runs } : {}),
    summary: report.summary,
    findings,
    fixes,
  };
}

/** One line for --watch progress on stderr. */
export function renderWatchLine(report: Report, run: number): string {
  const s = report.summary;
  return `run ${run}: ${verdict(report)} (${s.failed} failed, ${s.warnings} warnings, ${s.passed} passed)`;
}

/** A fix about to be applied: what it does and its kubectl equivalent. */
export function renderFixToApply(f: FixView, c: ChalkInstance): string {
  return `${c.bold('Fix:')} ${f.description}\n  ${c.dim(f.command)}`;
}
