import type { ChalkInstance } from 'chalk';
import type { ItemOutcome, Plan, PlanItem, UninstallResult } from '../actions/uninstall/index.js';
import type { ForeignObject } from '../kube/ownership.js';
import { refusedItems } from '../actions/uninstall/dry-run.js';
import { SYMBOLS } from './style.js';

const where = (x: { namespace?: string; name: string }) => `${x.namespace ? `${x.namespace}/` : ''}${x.name}`;

const ACTION_LABEL: Record<PlanItem['action'], string> = {
  delete: 'delete',
  'delete-strip-finalizer': 'delete + remove finalizer',
  'helm-uninstall': 'helm uninstall',
  'wait-gone': 'wait until gone',
  keep: 'KEEP',
  'delete-forced': 'DELETE (--force)',
};

function lostLines(lost: ForeignObject[] | undefined, users: string[] | undefined, c: ChalkInstance, indent: string, verb: string): string[] {
  const out: string[] = [];
  if (lost?.length) {
    out.push(`${indent}${c.yellow(`${verb} (${lost.length}):`)}`);
    for (const f of lost) out.push(`${indent}  ${f.kind} ${where(f)}  ${c.dim(`owner: ${f.owner}`)}`);
  }
  for (const u of users ?? []) out.push(`${indent}${c.yellow('used by:')} ${u}`);
  return out;
}

export function clusterIdLine(plan: Plan): string {
  if (!plan.clusterID) return 'cluster ID unknown (no release values; pass --cluster-id if its custom resource is left)';
  const from = { flag: '--cluster-id', 'helm-values': 'helm values', 'custom-resource': 'its custom resource', unknown: '?' }[plan.clusterIDSource];
  return `cluster ID ${plan.clusterID} (from ${from})`;
}

/** The ordered plan: every object each step would touch, and why the step comes where it does. */
export function renderPlan(plan: Plan, c: ChalkInstance): string {
  const lines = [c.bold(`Uninstall plan for release ${plan.release} in namespace ${plan.namespace}`), c.dim(clusterIdLine(plan))];
  for (const g of plan.gitops ?? []) lines.push(`${c.yellow(SYMBOLS.warning)} ${g}`);
  plan.steps.forEach((s, i) => {
    lines.push(`${i + 1}. ${s.title}${s.skipped ? c.dim(` (skipped: ${s.skipped})`) : ''}`);
    if (s.skipped && s.items.length === 0) return;
    lines.push(`   ${c.dim(`why here: ${s.why}`)}`);
    for (const it of s.items) {
      const act = it.action === 'keep' ? c.yellow(ACTION_LABEL[it.action]) : it.action === 'delete-forced' ? c.red(ACTION_LABEL[it.action]) : ACTION_LABEL[it.action];
      lines.push(`   - ${act} ${it.kind} ${where(it)}${it.reason ? c.dim(` — ${it.reason}`) : ''}`);
      lines.push(...lostLines(it.lost, it.users, c, '       ', it.action === 'keep' ? 'deleting it would lose' : 'will be lost'));
      lines.push(...serverDryRunLines(it, c));
    }
  });
  return lines.join('\n');
}

function serverDryRunLines(it: Pick<PlanItem, 'serverDryRun'>, c: ChalkInstance): string[] {
  const r = it.serverDryRun;
  if (!r) return [];
  if (r.ok) return [`       ${c.dim(`${SYMBOLS.passed} server dry run: accepted`)}`];
  return [`       ${c.red(`${SYMBOLS.failed} server dry run: refused — ${r.reason}`)}`, ...(r.hint ? [`         ${c.dim(r.hint)}`] : [])];
}

/** --dry-run: the plan as the API server answered it, and whether it would refuse a step. */
export function renderDryRun(plan: Plan, c: ChalkInstance): string {
  const refused = refusedItems(plan).length;
  const lines = [renderPlan(plan, c)];
  if (plan.namespaceMark) lines.push(`Before the first deletion: mark namespace ${plan.namespaceMark.namespace} as this release's (patch)`, ...serverDryRunLines(plan.namespaceMark, c));
  lines.push(c.dim('Dry run: nothing was changed.'));
  if (refused) lines.push(c.red(`The API server refused ${refused} step(s) of this plan (see above): the uninstall would stop there.`));
  return lines.join('\n');
}

const RESULT_SYMBOL = (o: ItemOutcome, c: ChalkInstance) =>
  o.result === 'deleted' ? c.green(SYMBOLS.passed) : o.result === 'already-gone' ? c.dim(SYMBOLS.skipped) : c.yellow(SYMBOLS.warning);

/** What each step did to each object. */
export function renderOutcome(r: Pick<UninstallResult, 'outcomes' | 'plan'>, c: ChalkInstance): string {
  const lines: string[] = [];
  const order = ['custom-resources', 'helm-release', 'workloads', 'crds', 'namespace'] as const;
  for (const id of order) {
    const os = r.outcomes.filter((o) => o.step === id);
    const step = r.plan.steps.find((s) => s.id === id);
    if (!step) continue;
    if (os.length === 0) {
      lines.push(`${c.dim(SYMBOLS.skipped)} ${step.title}: ${c.dim(step.skipped ?? 'not run')}`);
      continue;
    }
    lines.push(`${step.title}:`);
    for (const o of os) {
      lines.push(`  ${RESULT_SYMBOL(o, c)} ${o.result.padEnd(12)} ${o.kind} ${where(o)}${c.dim(` — ${o.detail}`)}`);
      lines.push(...lostLines(o.lost, undefined, c, '      ', o.result === 'kept' ? 'deleting it would lose' : 'deleted with it'));
    }
  }
  const kept = r.outcomes.filter((o) => o.result === 'kept');
  lines.push(kept.length ? c.yellow(`Uninstalled; kept ${kept.length} object(s) (see above).`) : c.green('Uninstalled.'));
  return lines.join('\n');
}

export function renderNothingInstalled(plan: Plan, c: ChalkInstance): string {
  const kept = plan.steps.flatMap((s) => s.items.filter((i) => i.action === 'keep'));
  const lines = [`Nothing of release ${plan.release} is installed in namespace ${plan.namespace}: nothing to do.`];
  for (const g of plan.gitops ?? []) lines.push(`  ${c.yellow(SYMBOLS.warning)} ${g}`);
  for (const k of kept) {
    lines.push(`  ${c.yellow(SYMBOLS.warning)} kept ${k.kind} ${where(k)}${c.dim(` — ${k.reason ?? ''}`)}`);
    lines.push(...lostLines(k.lost, k.users, c, '      ', 'deleting it would lose'));
  }
  return lines.join('\n');
}

export type UninstallJson =
  | { result: 'planned'; dryRun: true; plan: Plan }
  | { result: 'nothing-installed'; plan: Plan }
  | { result: 'uninstalled'; plan: Plan; steps: StepStatus[]; outcomes: ItemOutcome[]; timingsMs: UninstallResult['timings'] };

/** Per step: done (with a summary of its outcomes) or skipped (with the reason). */
export interface StepStatus {
  id: string;
  status: 'done' | 'skipped';
  reason?: string;
  summary?: string;
}

export function stepStatuses(r: Pick<UninstallResult, 'outcomes' | 'plan'>, summarize: (o: ItemOutcome[]) => string): StepStatus[] {
  return r.plan.steps.map((s) => {
    const os = r.outcomes.filter((o) => o.step === s.id);
    return s.skipped && os.length === 0 ? { id: s.id, status: 'skipped', reason: s.skipped } : { id: s.id, status: 'done', summary: summarize(os) };
  });
}

export function renderUninstallJson(j: UninstallJson): string {
  return JSON.stringify(j, null, 2);
}
