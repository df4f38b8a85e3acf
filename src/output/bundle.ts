/**
 * The bundle command's output: what was written (or, with --dry-run, what would be), the files left
 * out and the components that failed. The archive's own manifest.json is written by the action.
 */
import type { ChalkInstance } from 'chalk';
import type { BundleResult } from '../actions/bundle.js';
import { formatSize } from '../size.js';

export function renderBundleHuman(r: BundleResult, c: ChalkInstance): string {
  if (r.dryRun) {
    const width = Math.min(60, Math.max(...r.files.map((f) => f.path.length)));
    const lines = [c.bold(`kubectl insight bundle --dry-run: ${r.files.length} files would be collected (nothing written)`)];
    for (const f of r.files) lines.push(`  ${f.path.padEnd(width)}  ${c.dim(f.source)}`);
    lines.push('  README.txt, manifest.json');
    if (r.sampledOut.length) lines.push(c.dim(`logs of ${r.sampledOut.length} healthy pods sampled out (listed in manifest.json)`));
    if (r.errors.length) lines.push(...failures(r, c));
    return lines.join('\n');
  }
  const written = r.files.filter((f) => f.status === 'written');
  const omitted = r.files.filter((f) => f.status === 'omitted');
  const total = Object.values(r.redactions).reduce((a: number, b) => a + (b ?? 0), 0);
  const lines = [`${c.green('✔')} wrote ${r.path} (${formatSize(r.bytes ?? 0)}, ${written.length + 1} files, ${total} redactions, ${(r.durationMs / 1000).toFixed(1)}s)`];
  if (omitted.length) lines.push(c.yellow(`${omitted.length} file${omitted.length === 1 ? '' : 's'} left out to stay under --max-size: ${omitted.slice(0, 5).map((f) => f.path).join(', ')}${omitted.length > 5 ? ', ...' : ''}`));
  if (r.sampledOut.length) lines.push(c.dim(`logs of ${r.sampledOut.length} healthy pods sampled out (listed in manifest.json)`));
  lines.push(...failures(r, c));
  if (!r.errors.length) lines.push('every component answered');
  lines.push(c.dim('Look through it before you send it on: manifest.json says what was redacted.'));
  return lines.join('\n');
}

function failures(r: BundleResult, c: ChalkInstance): string[] {
  if (!r.errors.length) return [];
  return [
    c.yellow(`${r.errors.length} component${r.errors.length === 1 ? '' : 's'} failed (recorded in manifest.json):`),
    ...r.errors.slice(0, 10).map((e) => `  ${e.component}: ${e.message}`),
    ...(r.errors.length > 10 ? [`  ... and ${r.errors.length - 10} more`] : []),
  ];
}

export function renderBundleJson(r: BundleResult): unknown {
  return {
    command: 'bundle',
    dryRun: r.dryRun,
    path: r.path ?? null,
    bytes: r.bytes ?? null,
    files: r.files,
    errors: r.errors,
    sampledOut: r.sampledOut,
    redactions: r.redactions,
    durationMs: r.durationMs,
  };
}
