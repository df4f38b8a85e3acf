/**
 * Rendering of the preflight report: the shared human renderer with a title that says where the
 * network results come from, and JSON in which every result carries id, status, severity, message,
 * hint, docs and vantage (null/`local` rather than missing, so consumers need no existence checks).
 */
import type { ChalkInstance } from 'chalk';
import type { Report } from '../checks/engine.js';
import { renderHuman, renderJson, reportDocument, type ReportMeta } from './report.js';

export interface PreflightMeta {
  context: string;
  server: string;
  namespace: string;
  release: string;
  region?: string;
  net: string;
  /** `nodes` (probe pods) or `local` (--from-local). */
  networkVantage: 'nodes' | 'local';
  probeImage?: string;
  failOn: 'fatal' | 'warning';
  durationMs: number;
}

export function preflightTitle(m: PreflightMeta): string {
  const where = m.networkVantage === 'local' ? 'network probed from this machine (--from-local)' : 'network probed from the nodes';
  return `Preflight for context ${m.context} (${m.server}): release ${m.namespace}/${m.release}, region ${m.region ?? '(none)'}, ${m.net}, ${where}`;
}

export function renderPreflightHuman(report: Report, meta: PreflightMeta, c: ChalkInstance, opts: { verbose?: boolean } = {}): string {
  return renderHuman(report, c, { verbose: opts.verbose ?? false, title: preflightTitle(meta) });
}

/** Results measured through the API server or the cloud APIs were all made from this machine. */
export function normalizeResults(report: Report): Report {
  return {
    ...report,
    results: report.results.map((r) => ({ ...r, hint: r.hint ?? (null as unknown as undefined), docs: r.docs ?? (null as unknown as undefined), vantage: r.vantage ?? 'local' })),
  };
}

export function renderPreflightJson(report: Report, meta: PreflightMeta & { exitCode: number }): string {
  const m: ReportMeta = { command: 'preflight', ...meta };
  return renderJson(normalizeResults(report), m);
}

/** The JSON document as an object: each context's `report` in fleet mode. */
export function preflightDocument(report: Report, meta: PreflightMeta & { exitCode: number }): Record<string, unknown> {
  return reportDocument(normalizeResults(report), { command: 'preflight', ...meta });
}
