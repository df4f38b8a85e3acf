/**
 * Rendering of install and upgrade results (human and JSON). Everything printed passes through
 * redact(): the secret can only reach here as [REDACTED] anyway, this is the second belt.
 */
import type { ChalkInstance } from 'chalk';
import { stringify } from 'yaml';
import type { InstallResult } from '../actions/install.js';
import type { UpgradeResult } from '../actions/upgrade.js';
import type { ValueChange } from '../values/diff.js';
import type { NotReadyPod, WorkloadStatus } from '../kube/rollout.js';
import { InsightError } from '../errors.js';
import { redact } from '../secret.js';
import { SYMBOLS } from './style.js';

const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

function workloadLines(ws: readonly WorkloadStatus[], c: ChalkInstance): string[] {
  return ws.map((w) => `  ${w.ready ? c.green(SYMBOLS.passed) : c.red(SYMBOLS.failed)} ${w.kind}/${w.name}: ${w.message}`);
}

function noteLines(notes: readonly string[], c: ChalkInstance): string[] {
  return notes.map((n) => `  ${c.cyan(SYMBOLS.info)} ${n}`);
}

export function renderInstallText(r: InstallResult, c: ChalkInstance): string {
  const lines: string[] = [];
  const chart = `${r.chart.name} ${r.chart.version}${r.chart.appVersion ? ` (app ${r.chart.appVersion})` : ''}`;
  if (r.dryRun) {
    lines.push(c.bold(`Dry run: would install ${chart} as release ${r.release} in namespace ${r.namespace}. Nothing was changed.`));
    lines.push('Plan: create the namespace if missing → helm install → wait for the workloads → verify the CRDs and the custom resource.');
    if (r.crds.length) {
      lines.push('CRDs:');
      for (const x of r.crds) lines.push(`  - ${x.name}: ${x.state === 'absent' ? 'will be created' : x.state === 'ours' ? 'already from this release' : `exists (${x.owner ?? 'no owner recorded'}), left as is`}`);
    }
    lines.push(...noteLines(r.notes, c));
    if (r.values) lines.push('Values passed to helm (secret redacted):', indent(stringify(r.values).trimEnd(), 2));
    if (r.manifests) lines.push('Rendered manifests (secret redacted):', r.manifests.trimEnd());
    return redact(lines.join('\n'));
  }
  lines.push(c.green(`${SYMBOLS.passed} Installed ${chart} as release ${r.release} in ${r.namespace} (revision ${r.revision ?? 1}) in ${secs(r.durationMs)}.`));
  lines.push(...workloadLines(r.workloads, c));
  if (r.customResource) lines.push(`  ${c.green(SYMBOLS.passed)} ClusterAliyunPipelineConfig ${r.customResource.name} present`);
  lines.push(...noteLines(r.notes, c));
  lines.push(`Next: \`kubectl insight doctor -n ${r.namespace}\` checks that data flows.`);
  return redact(lines.join('\n'));
}

/** A workload's rollout state in the JSON documents of install and upgrade. */
const workloadJson = (w: InstallResult['workloads'][number]) => ({ kind: w.kind, name: w.name, namespace: w.namespace, ready: w.ready, desired: w.desired, available: w.available, message: w.message });

export function installJson(r: InstallResult): unknown {
  return {
    release: r.release,
    namespace: r.namespace,
    chart: r.chart,
    dryRun: r.dryRun,
    revision: r.revision,
    workloads: r.workloads.map(workloadJson),
    crds: r.crds,
    customResource: r.customResource,
    alertRuleDisabled: r.alertRuleDisabled,
    preflight: r.preflight,
    notes: r.notes,
    ...(r.dryRun ? { values: r.values, manifests: r.manifests } : {}),
    durationMs: r.durationMs,
  };
}

function changeLine(ch: ValueChange): string {
  const v = (x: unknown) => (typeof x === 'string' ? x : JSON.stringify(x));
  if (ch.kind === 'added') return `  + ${ch.path}: ${v(ch.to)}`;
  if (ch.kind === 'removed') return `  - ${ch.path}: ${v(ch.from)}`;
  return `  ~ ${ch.path}: ${v(ch.from)} → ${v(ch.to)}`;
}

export function renderUpgradeText(r: UpgradeResult, c: ChalkInstance): string {
  const lines: string[] = [];
  const from = `${r.from.version} (app ${r.from.appVersion}, revision ${r.from.revision})`;
  const to = `${r.to.version}${r.to.appVersion ? ` (app ${r.to.appVersion})` : ''}`;
  if (r.upToDate) {
    lines.push(c.green(`${SYMBOLS.passed} Nothing to upgrade: release ${r.release} already runs ${r.to.name} ${from} with these values.`));
    return redact(lines.join('\n'));
  }
  lines.push(`Installed: ${r.to.name} ${from}`);
  lines.push(`Target:    ${r.to.name} ${to}`);
  if (r.changes.length) lines.push('Value changes (secret redacted):', ...r.changes.map(changeLine));
  else lines.push('Values: unchanged');
  lines.push(...noteLines(r.notes, c));
  if (r.dryRun) {
    lines.push(c.bold('Dry run: nothing was changed.'));
    if (r.manifests) lines.push('Rendered manifests (secret redacted):', r.manifests.trimEnd());
    return redact(lines.join('\n'));
  }
  lines.push(c.green(`${SYMBOLS.passed} Upgraded ${r.release} to ${to}, revision ${r.revision ?? '?'}, in ${secs(r.durationMs)}.`));
  lines.push(...workloadLines(r.workloads, c));
  if (r.customResource) lines.push(`  ${c.green(SYMBOLS.passed)} ClusterAliyunPipelineConfig ${r.customResource.name} present`);
  return redact(lines.join('\n'));
}

export function upgradeJson(r: UpgradeResult): unknown {
  return {
    release: r.release,
    namespace: r.namespace,
    from: r.from,
    to: r.to,
    upToDate: r.upToDate,
    dryRun: r.dryRun,
    revision: r.revision,
    changes: r.changes,
    workloads: r.workloads.map(workloadJson),
    crds: r.crds,
    customResource: r.customResource,
    notes: r.notes,
    ...(r.dryRun ? { manifests: r.manifests } : {}),
    durationMs: r.durationMs,
  };
}

/** The pods a rollout timeout named, one per line (stderr, before the error line). */
export function renderNotReady(e: unknown, c: ChalkInstance): string | undefined {
  if (!(e instanceof InsightError)) return undefined;
  const pods = e.details?.notReadyPods as NotReadyPod[] | undefined;
  if (!pods?.length) return undefined;
  const lines = ['Not ready:'];
  for (const p of pods) {
    const where = p.pod === '-' ? p.workload : `${p.workload} pod ${p.pod}${p.node ? ` (node ${p.node})` : ''}`;
    lines.push(`  ${c.red(SYMBOLS.failed)} ${where}: ${p.reason}: ${p.message}`);
    if (p.hint) lines.push(`      ${c.dim(p.hint)}`);
  }
  return redact(lines.join('\n'));
}

function indent(s: string, n: number): string {
  const pad = ' '.repeat(n);
  return s.split('\n').map((l) => pad + l).join('\n');
}
