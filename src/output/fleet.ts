/**
 * Fleet output: a summary table (one row a context), then each context's own report under its name;
 * JSON `{ command, contexts: [{ context, server, verdict, report | error }], summary }`. The per-context
 * report is the single-context command's document, so a reader of one reads the other.
 */
import { stripVTControlCharacters } from 'node:util';
import type { ChalkInstance } from 'chalk';
import type { ContextFailure } from '../fleet/run.js';
import type { FleetTarget } from '../fleet/targets.js';
import type { ReleaseLookup } from '../fleet/inventory.js';
import { redact } from '../secret.js';

/** One context's line of the summary. */
export interface FleetRow {
  target: FleetTarget;
  /** The server that answered (else kubeconfig's). */
  server: string;
  kubernetesVersion?: string;
  release?: ReleaseLookup;
  /** The command's own verdict word (healthy, unhealthy, pass, fail...), or unreachable / error. */
  verdict: string;
  /** Passed at --fail-on (false for a context that could not be checked). */
  passed: boolean;
  topCause?: { id: string; message: string };
  durationMs: number;
  failure?: ContextFailure;
}

export interface FleetView {
  command: string;
  rows: FleetRow[];
  /** Each context's report as its command renders it: text for the human output, the JSON document's object. */
  text: Array<string | undefined>;
  json: unknown[];
  exitCode: number;
  durationMs: number;
  failOn?: string;
  summaryOnly: boolean;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

function chartCell(r: FleetRow): string {
  const l = r.release;
  if (!l) return '-';
  if (l.found) return l.release.chartVersion + (l.release.status !== 'deployed' ? ` (${l.release.status})` : '');
  return 'error' in l ? 'unknown' : 'not installed';
}

function verdictCell(r: FleetRow, c: ChalkInstance): string {
  const word = r.failure ? `${r.verdict} (${r.failure.reason})` : r.verdict;
  if (r.failure) return c.red(word);
  return r.passed ? (/degraded|warn/.test(r.verdict) ? c.yellow(word) : c.green(word)) : c.red(word);
}

function causeCell(r: FleetRow): string {
  // Redacted before it is cut: a secret cut in half is no longer found by the redaction of the whole text.
  const text = redact(r.failure ? r.failure.message : r.topCause ? `${r.topCause.id}: ${r.topCause.message}` : '-');
  return text.length > 72 ? `${text.slice(0, 71)}…` : text;
}

/** Columns padded to their widest cell (colour codes do not count). */
export function table(header: string[], rows: string[][]): string {
  const width = (s: string) => stripVTControlCharacters(s).length;
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(widths[i]! - width(cell)))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** The one namespace/release every context looks at, if they share it (then the title says it, not a column). */
function sharedRelease(rows: readonly FleetRow[]): string | undefined {
  const all = new Set(rows.map((r) => `${r.target.namespace}/${r.target.release}`));
  return all.size === 1 ? [...all][0] : undefined;
}

export function renderFleetTable(v: FleetView, c: ChalkInstance): string {
  const withRelease = !sharedRelease(v.rows);
  const rows = v.rows.map((r) => [r.target.context, r.server || '-', ...(withRelease ? [`${r.target.namespace}/${r.target.release}`] : []), chartCell(r), verdictCell(r, c), causeCell(r), seconds(r.durationMs)]);
  return table(['CONTEXT', 'SERVER', ...(withRelease ? ['RELEASE'] : []), 'CHART', 'VERDICT', 'TOP CAUSE', 'TIME'], rows);
}

/** The summary's counts by verdict, in the order they first appear. */
function counts(rows: readonly FleetRow[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) out[r.verdict] = (out[r.verdict] ?? 0) + 1;
  return out;
}

export function renderFleetHuman(v: FleetView, c: ChalkInstance): string {
  const shared = sharedRelease(v.rows);
  const lines = [c.bold(`kubectl insight ${v.command}: ${v.rows.length} context${v.rows.length === 1 ? '' : 's'}${shared ? `, release ${shared}` : ''}`), '', renderFleetTable(v, c)];
  if (!v.summaryOnly) {
    for (const [i, r] of v.rows.entries()) {
      lines.push('', c.bold(`=== ${r.target.context} ===`));
      if (r.failure) {
        lines.push(`${c.red('✖')} ${r.verdict} (${r.failure.reason}): ${r.failure.message}`);
        if (r.failure.hint) lines.push(`    ${c.cyan('hint:')} ${r.failure.hint}`);
      } else {
        lines.push(v.text[i] ?? '');
      }
    }
  }
  const n = counts(v.rows);
  lines.push('', `${v.exitCode === 0 ? c.green('PASS') : c.red('FAIL')}: ${Object.entries(n).map(([k, x]) => `${x} ${k}`).join(', ')} (${seconds(v.durationMs)})`);
  return redact(lines.join('\n'));
}

export function fleetJson(v: FleetView): string {
  const contexts = v.rows.map((r, i) => ({
    context: r.target.context,
    server: r.server,
    namespace: r.target.namespace,
    release: r.target.release,
    kubernetesVersion: r.kubernetesVersion ?? null,
    chart: r.release?.found ? { name: r.release.release.chartName, version: r.release.release.chartVersion, appVersion: r.release.release.appVersion, status: r.release.release.status, revision: r.release.release.revision } : null,
    verdict: r.verdict,
    passed: r.passed,
    topCause: r.topCause ?? null,
    durationMs: r.durationMs,
    ...(r.failure
      ? { error: { reason: r.failure.reason, kind: r.failure.kind, message: r.failure.message, hint: r.failure.hint ?? null, exitCode: r.failure.exitCode } }
      : v.summaryOnly ? {} : { report: v.json[i] }),
  }));
  const summary = { contexts: v.rows.length, passed: v.rows.filter((r) => r.passed).length, failed: v.rows.filter((r) => !r.passed && !r.failure).length, unreachable: v.rows.filter((r) => r.failure?.verdict === 'unreachable').length, error: v.rows.filter((r) => r.failure?.verdict === 'error').length, verdicts: counts(v.rows) };
  return redact(JSON.stringify({ command: v.command, fleet: true, exitCode: v.exitCode, ...(v.failOn ? { failOn: v.failOn } : {}), durationMs: v.durationMs, contexts, summary }, null, 2));
}

/** `version` with contexts: one line a context, what runs there. */
export function renderInventory(rows: readonly FleetRow[], c: ChalkInstance): string {
  const cells = rows.map((r) => {
    const l = r.release;
    const rel = l?.found ? [l.release.chartVersion, l.release.appVersion || '-', l.release.status, String(l.release.revision)] : [l && 'error' in l ? c.yellow(`unknown (${l.error})`) : 'not installed', '', '', ''];
    if (r.failure) return [r.target.context, r.server || '-', '-', `${r.target.namespace}/${r.target.release}`, c.red(`${r.failure.verdict} (${r.failure.reason}): ${r.failure.message}`), '', '', ''];
    return [r.target.context, r.server, r.kubernetesVersion || '-', `${r.target.namespace}/${r.target.release}`, ...rel];
  });
  return redact(table(['CONTEXT', 'SERVER', 'KUBERNETES', 'RELEASE', 'CHART', 'APP', 'STATUS', 'REVISION'], cells));
}

export function inventoryJson(info: Record<string, string>, rows: readonly FleetRow[], o: { exitCode: number; durationMs: number }): string {
  const contexts = rows.map((r) => ({
    context: r.target.context,
    server: r.server,
    namespace: r.target.namespace,
    release: r.target.release,
    reachable: !r.failure,
    kubernetesVersion: r.kubernetesVersion ?? null,
    installed: r.release?.found ?? false,
    chart: r.release?.found ? { name: r.release.release.chartName, version: r.release.release.chartVersion, appVersion: r.release.release.appVersion, status: r.release.release.status, revision: r.release.release.revision } : null,
    ...(r.release && !r.release.found && 'error' in r.release ? { releaseError: r.release.error } : {}),
    durationMs: r.durationMs,
    ...(r.failure ? { error: { reason: r.failure.reason, kind: r.failure.kind, message: r.failure.message, hint: r.failure.hint ?? null, exitCode: r.failure.exitCode } } : {}),
  }));
  const summary = { contexts: rows.length, reachable: rows.filter((r) => !r.failure).length, installed: rows.filter((r) => r.release?.found).length, unreachable: rows.filter((r) => r.failure?.verdict === 'unreachable').length, error: rows.filter((r) => r.failure?.verdict === 'error').length };
  return redact(JSON.stringify({ ...info, exitCode: o.exitCode, durationMs: o.durationMs, contexts, summary }, null, 2));
}
