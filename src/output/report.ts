import type { ChalkInstance } from 'chalk';
import type { CheckResult, Report } from '../checks/engine.js';
import { redact } from '../secret.js';
import { SYMBOLS } from './style.js';

export interface ReportMeta {
  /** `preflight` or `doctor`. */
  command: string;
  /** Exit code the command will return, so JSON readers need not recompute it. */
  exitCode: number;
  /** Extra top-level facts (cluster context, release, vantage). */
  [key: string]: unknown;
}

function symbol(r: CheckResult, c: ChalkInstance): string {
  if (r.status === 'passed') return c.green(SYMBOLS.passed);
  if (r.status === 'skipped') return c.dim(SYMBOLS.skipped);
  if (r.severity === 'fatal') return c.red(SYMBOLS.failed);
  if (r.severity === 'warning') return c.yellow(SYMBOLS.warning);
  return c.blue(SYMBOLS.info);
}

/** The human report: grouped by category, one line per result, evidence and hints indented below. */
export function renderHuman(report: Report, c: ChalkInstance, opts: { verbose?: boolean; title?: string } = {}): string {
  const lines: string[] = [];
  if (opts.title) lines.push(c.bold(opts.title), '');
  let category = '';
  for (const r of report.results) {
    if (r.category !== category) {
      if (category) lines.push('');
      category = r.category;
      lines.push(c.bold(category));
      lines.push(c.dim('-'.repeat(category.length)));
    }
    const where = [r.object, r.vantage && r.vantage !== r.object ? `from ${r.vantage}` : undefined].filter(Boolean).join(', ');
    lines.push(`${symbol(r, c)} ${r.message}${where ? c.dim(` [${where}]`) : ''}${opts.verbose ? c.dim(` (${r.id})`) : ''}`);
    if (r.status === 'failed' || opts.verbose) {
      for (const e of r.evidence ?? []) lines.push(c.dim(`    ${e}`));
    }
    if (r.status === 'failed' && r.hint) lines.push(`    ${c.cyan('hint:')} ${r.hint}`);
  }
  const s = report.summary;
  lines.push('');
  const parts = [`${s.passed} passed`, `${s.failed} failed`, `${s.warnings} warnings`];
  if (s.skipped) parts.push(`${s.skipped} skipped`);
  const verdict = s.failed ? c.red('FAIL') : s.warnings ? c.yellow('PASS with warnings') : c.green('PASS');
  lines.push(`${verdict}: ${parts.join(', ')}`);
  return redact(lines.join('\n'));
}

/** JSON report: every result with id, status, severity, message, hint, object, evidence, vantage. */
export function renderJson(report: Report, meta: ReportMeta): string {
  return redact(JSON.stringify(reportDocument(report, meta), null, 2));
}

/** The JSON document as an object (fleet mode nests it under each context). */
export function reportDocument(report: Report, meta: ReportMeta): Record<string, unknown> {
  const results = report.results.map(({ durationMs, ...r }) => ({ ...r, durationMs }));
  return { ...meta, summary: report.summary, results };
}
