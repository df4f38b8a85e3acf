/** Rendering of verify's report: the shared renderers, with a title naming the installation looked for. */
import type { ChalkInstance } from 'chalk';
import type { Report } from '../checks/engine.js';
import type { Installation } from '../checks/verify/context.js';
import { maskKeyId } from '../checks/preflight/cloud.js';
import { normalizeResults } from './preflight.js';
import { renderHuman, renderJson } from './report.js';

export interface VerifyMeta extends Installation {
  context: string;
  server: string;
  accessKeyId?: string;
  net: string;
  runs: number;
  gaveUp: boolean;
  durationMs: number;
}

export function verifyTitle(m: VerifyMeta): string {
  return `Data of cluster ${m.clusterId} (release ${m.namespace}/${m.release}) in workspace ${m.workspace ?? '(none)'}, ${m.region}${m.runs > 1 ? `, after ${m.runs} checks in ${Math.round(m.durationMs / 1000)}s` : ''}`;
}

export function renderVerifyHuman(report: Report, meta: VerifyMeta, c: ChalkInstance, opts: { verbose?: boolean } = {}): string {
  const text = renderHuman(report, c, { verbose: opts.verbose ?? false, title: verifyTitle(meta) });
  return meta.gaveUp ? `${text}\n${c.yellow(`still not arriving after waiting ${Math.round(meta.durationMs / 1000)}s`)}` : text;
}

export function renderVerifyJson(report: Report, meta: VerifyMeta & { exitCode: number }): string {
  const { accessKeyId, ...rest } = meta;
  // The key id is half-masked like every other report shows it.
  return renderJson(normalizeResults(report), { command: 'verify', ...rest, ...(accessKeyId ? { accessKeyId: maskKeyId(accessKeyId) } : {}) });
}

/** One line per pass of --wait. */
export function renderWaitLine(report: Report, run: number): string {
  const missing = report.results.filter((r) => r.status === 'failed').map((r) => (r.object ?? r.id).replace(/^source\//, ''));
  return `check ${run}: not arriving yet: ${[...new Set(missing)].join(', ') || 'nothing'}`;
}
