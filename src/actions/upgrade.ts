/**
 * `upgrade`: find the release → work out the target chart and the values (the release's own values
 * kept, new ones on top: helm's --reuse-values, but computed here so the diff can be shown and new
 * chart defaults still apply) → render → helm upgrade → wait → verify; any failure after helm
 * changed the release rolls back to the previous revision unless --no-rollback.
 */
import semver from 'semver';
import { CHART } from '../defaults.js';
import { chartVersionOf, checkTargetChart, judgeRelease } from '../helm/release-state.js';
import { InsightError } from '../errors.js';
import { waitForRollout, workloadsInManifests, type WorkloadStatus } from '../kube/rollout.js';
import { conflictError, findApplyConflicts } from '../kube/apply.js';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Kube } from '../kube/client.js';
import type { Helm, HelmRelease } from '../helm/helm.js';
import { accessNeeds, checkAccess, connect } from './access.js';
import type { ChartSource } from '../helm/chart.js';
import { chartDefaults, chartMetadata, checkChartSource, renderChart, type RenderedChart } from './chart.js';
import { crdNotes, inspectCrds, verifyInstall, type CrdFinding } from './crds.js';
import { releaseManifest } from './releases.js';
import { RollbackFailed, runSteps, type Step, type StepReporter } from './steps.js';
import { diffValues, type ValueChange } from '../values/diff.js';
import { mergeValues, wrapSecret, type Values } from '../values/tree.js';
import { redactManifests, secretsIn } from '../values/redact.js';
import { rewriteImageRegistry } from '../values/image.js';
import { validateValues } from '../values/validate.js';
import { gitopsGate, gitopsNotes, gitopsSummary, gitopsTargetOf, type GitOpsFinding } from '../kube/gitops.js';

export interface UpgradeOptions {
  release: string;
  namespace: string;
  /** New values given on this run (flags, -f, --set); merged over the release's values. */
  values: Values;
  /** Start from the chart's defaults instead of the release's values (helm --reset-values). */
  resetValues?: boolean;
  chart: ChartSource;
  imageRegistry?: string;
  allowUnknownRegion?: boolean;
  timeoutMs: number;
  dryRun?: boolean;
  noRollback?: boolean;
  /** helm 4: take back fields of the release's objects that another field manager changed. */
  forceConflicts?: boolean;
  /** Upgrade a release that runs another chart under this name (it becomes ours), or one a GitOps controller manages. */
  force?: boolean;
}

export type UpgradeHelm = Pick<Helm, 'version' | 'release' | 'getValues' | 'getManifest' | 'applyMethod' | 'showChart' | 'showValues' | 'template' | 'upgrade' | 'rollback'>;
export type UpgradeKube = Pick<Kube, 'apps' | 'core' | 'apiext' | 'custom' | 'version' | 'authz' | 'objects' | 'server' | 'call' | 'ifFound' | 'delete'>;

export interface UpgradeDeps {
  helm: UpgradeHelm;
  kube: () => UpgradeKube;
}

export interface UpgradeResult {
  release: string;
  namespace: string;
  from: { chart: string; version: string; appVersion: string; revision: number };
  to: { name: string; version: string; appVersion?: string };
  changes: ValueChange[];
  /** Nothing differs: no upgrade was made. */
  upToDate: boolean;
  dryRun: boolean;
  revision?: number;
  workloads: WorkloadStatus[];
  crds: CrdFinding[];
  customResource?: { name: string; present: boolean };
  notes: string[];
  manifests?: string;
  durationMs: number;
}

export interface UpgradeContext {
  opts: UpgradeOptions;
  deps: UpgradeDeps;
  started: number;
  kube?: UpgradeKube;
  kubeVersion?: string;
  current?: HelmRelease;
  gitops?: GitOpsFinding;
  currentValues: Values;
  values: Values;
  target?: { name: string; version: string; appVersion?: string };
  changes: ValueChange[];
  upToDate: boolean;
  rendered?: RenderedChart;
  crds: CrdFinding[];
  notes: string[];
  workloads: WorkloadStatus[];
  customResource?: { name: string; present: boolean };
  revision?: number;
  /** Set once helm upgrade ran, so a failure after it rolls back. */
  upgraded: boolean;
  /** helm rollback went through (its workloads may still have failed to come back). */
  rolledBackTo?: number;
}

/** What helm upgrade applies: the rendered objects without crds/ (never upgraded), namespaced into the release's. */
export function applyTargets(rendered: RenderedChart, namespace: string): KubernetesObject[] {
  return rendered.docs
    .filter((d) => !(d.kind === 'CustomResourceDefinition' && rendered.crdsDir.includes(d.metadata?.name ?? '')))
    .map(({ source: _source, ...d }) => ({ ...d, metadata: { ...d.metadata, namespace: d.metadata?.namespace ?? namespace } }));
}

const kubeOf = (ctx: UpgradeContext): UpgradeKube => (ctx.kube ??= ctx.deps.kube());

/**
 * Undo the upgrade: helm rollback to the revision that was deployed, then wait for its workloads.
 * Throws when either fails; the step runner reports that with the upgrade's own error.
 */
async function rollback(ctx: UpgradeContext, report: StepReporter): Promise<void> {
  if (!ctx.upgraded || ctx.opts.noRollback || !ctx.current) return;
  const to = ctx.current.revision;
  report.title(`Rolling back to revision ${to}`);
  try {
    await ctx.deps.helm.rollback({ release: ctx.opts.release, namespace: ctx.opts.namespace, revision: to, timeoutMs: ctx.opts.timeoutMs, forceConflicts: ctx.opts.forceConflicts });
    ctx.rolledBackTo = to;
    // Wait for the old workloads to come back, so "rolled back" means running again.
    const refs = workloadsInManifests(await ctx.deps.helm.getManifest(ctx.opts.release, ctx.opts.namespace, to), ctx.opts.namespace);
    await waitForRollout(kubeOf(ctx), refs, { timeoutMs: ctx.opts.timeoutMs, onProgress: (s) => report.progress(`rollback: ${s.filter((x) => x.ready).length}/${s.length} ready`) });
    report.title(`Rolled back to revision ${to}`);
  } catch (e) {
    report.title(`Rollback to revision ${to} did not finish`);
    throw e;
  }
}

export function upgradeSteps(): Step<UpgradeContext>[] {
  return [
    {
      title: 'Find the release',
      async run(ctx, report) {
        checkChartSource(ctx.opts.chart);
        await ctx.deps.helm.version();
        await connect(ctx);
        const rel = await ctx.deps.helm.release(ctx.opts.release, ctx.opts.namespace);
        const where = `-n ${ctx.opts.namespace}${ctx.opts.release !== CHART.release ? ` --release ${ctx.opts.release}` : ''}`;
        if (!rel || rel.status === 'uninstalled') {
          throw new InsightError('not-found', `release ${ctx.opts.release} is not installed in namespace ${ctx.opts.namespace}`, { hint: `Install it with \`kubectl insight install ${where} ...\`; nothing was changed.` });
        }
        // What the state means is decided once (src/helm/release-state.ts), as install and doctor see it.
        const v = judgeRelease(rel);
        if (!v.ourChart && !ctx.opts.force) throw new InsightError('conflict', v.message, { hint: `${v.hint} Nothing was changed.` });
        if (v.ourChart && v.upgrade === 'refuse') throw new InsightError('conflict', v.message, { hint: v.hint });
        ctx.current = rel;
        ctx.currentValues = wrapSecret(await ctx.deps.helm.getValues(ctx.opts.release, ctx.opts.namespace));
        report.title(`Found ${rel.name}: ${rel.chart} (app ${rel.app_version}), revision ${rel.revision}, ${rel.status}`);
      },
    },
    // Before anything changes: Argo CD or Flux would put the old release back.
    {
      title: 'Check for a GitOps controller (Argo CD, Flux)',
      async run(ctx, report) {
        const { release, namespace, force } = ctx.opts;
        const docs = (await releaseManifest(ctx.deps.helm, release, namespace, ctx.current)) ?? [];
        ctx.gitops = await gitopsGate(kubeOf(ctx), gitopsTargetOf(release, namespace, ctx.current), docs, 'upgrade', Boolean(force));
        ctx.notes.push(...gitopsNotes(ctx.gitops, 'upgrade'));
        report.title(gitopsSummary(ctx.gitops));
      },
    },
    // Values before the target chart is fetched: a bad value must fail fast, offline.
    {
      title: 'Work out the target version and values',
      async run(ctx, report) {
        const helm = ctx.deps.helm;
        ctx.target = await chartMetadata(helm, ctx.opts.chart);
        checkTargetChart(ctx.target.name, Boolean(ctx.opts.force));
        let merged = ctx.opts.resetValues ? ctx.opts.values : mergeValues(ctx.currentValues, ctx.opts.values);
        if (ctx.opts.imageRegistry) merged = mergeValues(merged, rewriteImageRegistry(await chartDefaults(helm, ctx.opts.chart), ctx.opts.values, ctx.opts.imageRegistry));
        ctx.values = validateValues(merged, { allowUnknownRegion: ctx.opts.allowUnknownRegion });
        ctx.changes = diffValues(ctx.currentValues, ctx.values);
        const fromV = chartVersionOf(ctx.current!.chart, ctx.target.name);
        const sameVersion = fromV === ctx.target.version;
        ctx.upToDate = sameVersion && ctx.changes.length === 0 && ctx.current!.status === 'deployed';
        if (!sameVersion && semver.valid(fromV) && semver.valid(ctx.target.version) && semver.lt(ctx.target.version, fromV)) {
          ctx.notes.push(`${ctx.target.version} is older than the installed ${fromV}: this is a downgrade`);
        }
        report.title(ctx.upToDate
          ? `Nothing to upgrade: ${ctx.target.name} ${ctx.target.version} with the same values is installed`
          : `${fromV} → ${ctx.target.version}, ${ctx.changes.length} value change(s)`);
      },
    },
    {
      title: 'Render the chart',
      skip: (ctx) => (ctx.upToDate ? 'nothing to upgrade' : false),
      async run(ctx, report) {
        ctx.rendered = await renderChart(ctx.deps.helm, ctx.opts.chart, ctx.opts.release, ctx.opts.namespace, ctx.values, ctx.kubeVersion);
        ctx.crds = await inspectCrds(kubeOf(ctx), ctx.rendered, ctx.opts.release, ctx.opts.namespace);
        ctx.notes.push(...crdNotes(ctx.crds, 'upgrade'));
        report.title(`Rendered ${ctx.rendered.chart.name} ${ctx.rendered.chart.version}: ${ctx.rendered.workloads.length} workloads`);
      },
    },
    {
      title: 'Check permissions',
      skip: (ctx) => (ctx.upToDate ? 'nothing to upgrade' : false),
      async run(ctx, report) {
        // helm upgrade never touches crds/; it creates new objects and patches existing ones.
        const needs = accessNeeds(ctx.rendered!, ctx.opts.namespace, ['create', 'patch'], { createNamespace: false, skipCrds: true });
        await checkAccess(kubeOf(ctx), needs);
        report.title(`Permissions: all ${needs.length} rights granted`);
      },
    },
    // helm 4 upgrades a server-side-applied release with server-side apply, and a field someone changed
    // outside helm stops it half-way (and the rollback the same way). Ask the API server first.
    {
      title: 'Check for field-manager conflicts',
      skip: (ctx) => (ctx.upToDate ? 'nothing to upgrade' : ctx.opts.forceConflicts ? 'skipped (--force-conflicts)' : false),
      async run(ctx, report) {
        const method = await ctx.deps.helm.applyMethod(ctx.opts.release, ctx.opts.namespace);
        if (method !== 'ssa') {
          report.title('No conflicts possible: helm applies this release client-side');
          return;
        }
        const objects = applyTargets(ctx.rendered!, ctx.opts.namespace);
        const conflicts = await findApplyConflicts(kubeOf(ctx).objects, objects, kubeOf(ctx).server);
        if (conflicts.length) throw conflictError(conflicts);
        report.title(`No field-manager conflicts on ${objects.length} objects (server-side dry run)`);
      },
    },
    {
      title: 'Upgrade the release',
      skip: (ctx) => (ctx.upToDate ? 'nothing to upgrade' : ctx.opts.dryRun ? 'skipped (--dry-run)' : false),
      async run(ctx, report) {
        // The full merged values go in the file; without --reuse-values helm applies the new chart's defaults under them.
        ctx.upgraded = true; // helm may have changed the release even when it fails
        await ctx.deps.helm.upgrade({
          release: ctx.opts.release,
          namespace: ctx.opts.namespace,
          chart: ctx.opts.chart,
          timeoutMs: ctx.opts.timeoutMs,
          values: ctx.values,
          forceConflicts: ctx.opts.forceConflicts,
        });
        ctx.revision = (await ctx.deps.helm.release(ctx.opts.release, ctx.opts.namespace))?.revision;
        report.title(`Upgraded to revision ${ctx.revision ?? '?'}`);
      },
      // Also when a later step (the rollout, the verification) fails: the runner runs it once.
      rollback,
    },
    {
      title: 'Wait for the workloads to roll out',
      skip: (ctx) => (ctx.upToDate ? 'nothing to upgrade' : ctx.opts.dryRun ? 'skipped (--dry-run)' : false),
      async run(ctx, report) {
        const left = ctx.opts.timeoutMs - (Date.now() - ctx.started);
        ctx.workloads = await waitForRollout(kubeOf(ctx), ctx.rendered!.workloads, {
          timeoutMs: Math.max(left, 1000),
          totalTimeoutMs: ctx.opts.timeoutMs,
          onProgress: (s) => report.progress(`${s.filter((x) => x.ready).length}/${s.length} ready: ${s.filter((x) => !x.ready).map((x) => `${x.name} ${x.message}`).join('; ') || 'done'}`),
        });
        report.title(`${ctx.workloads.length} workloads ready`);
      },
    },
    {
      title: 'Verify CRDs and the custom resource',
      skip: (ctx) => (ctx.upToDate ? 'nothing to upgrade' : ctx.opts.dryRun ? 'skipped (--dry-run)' : false),
      async run(ctx, report) {
        const v = await verifyInstall(kubeOf(ctx), ctx.rendered!, ctx.values, ctx.started + ctx.opts.timeoutMs + 30_000, report);
        if (v.customResource) ctx.customResource = v.customResource;
        report.title(`${v.crds.length} CRDs established${v.customResource ? `, custom resource ${v.customResource.name} present` : ''}`);
      },
    },
  ];
}

export function newUpgradeContext(opts: UpgradeOptions, deps: UpgradeDeps): UpgradeContext {
  return { opts, deps, started: Date.now(), currentValues: {}, values: {}, changes: [], upToDate: false, crds: [], notes: [], workloads: [], upgraded: false };
}

/** The error to show after a failed upgrade: what failed, and whether the rollback happened. */
export function upgradeFailure(ctx: UpgradeContext, failure: unknown): unknown {
  // A rollback that failed comes wrapped with the upgrade's error: this message says both.
  const e = failure instanceof RollbackFailed ? failure.original : failure;
  const rollbackError = failure instanceof RollbackFailed ? failure.rollbackMessage : undefined;
  if (!(e instanceof InsightError) || !ctx.upgraded) return failure;
  const where = `-n ${ctx.opts.namespace}`;
  if (ctx.rolledBackTo !== undefined) {
    // helm rolled back, but waiting for the old workloads failed or was interrupted: say so too.
    const unfinished = rollbackError ? `; the rollback's workloads are not ready yet: ${rollbackError}` : '';
    return new InsightError(e.kind, `upgrade failed and was rolled back to revision ${ctx.rolledBackTo} (${ctx.current?.chart}): ${e.message}${unfinished}`, {
      hint: e.hint,
      exitCode: e.exitCode,
      details: { ...(e.details ?? {}), rolledBackTo: ctx.rolledBackTo, ...(rollbackError ? { rollbackError } : {}) },
    });
  }
  if (rollbackError) {
    return new InsightError(e.kind, `upgrade failed: ${e.message}; the rollback to revision ${ctx.current?.revision} failed too: ${rollbackError}`, {
      hint: `Check with \`helm history ${ctx.opts.release} ${where}\` and \`kubectl insight doctor\`.`,
      exitCode: e.exitCode,
      details: e.details,
    });
  }
  if (ctx.opts.noRollback) {
    return new InsightError(e.kind, `upgrade failed (not rolled back: --no-rollback): ${e.message}`, {
      hint: `${e.hint ?? ''} To go back: \`helm rollback ${ctx.opts.release} ${ctx.current?.revision} ${where}\`.`.trim(),
      exitCode: e.exitCode,
      details: e.details,
    });
  }
  return e;
}

export function upgradeResult(ctx: UpgradeContext): UpgradeResult {
  const dry = Boolean(ctx.opts.dryRun);
  const cur = ctx.current!;
  return {
    release: ctx.opts.release,
    namespace: ctx.opts.namespace,
    from: { chart: cur.chart, version: chartVersionOf(cur.chart, ctx.target?.name), appVersion: cur.app_version, revision: cur.revision },
    to: ctx.target ?? { name: CHART.name, version: '' },
    changes: ctx.changes,
    upToDate: ctx.upToDate,
    dryRun: dry,
    ...(ctx.revision !== undefined ? { revision: ctx.revision } : {}),
    workloads: ctx.workloads,
    crds: ctx.crds,
    ...(ctx.customResource ? { customResource: ctx.customResource } : {}),
    notes: ctx.notes,
    ...(dry && ctx.rendered ? { manifests: redactManifests(ctx.rendered.manifests, secretsIn(ctx.values)) } : {}),
    durationMs: Date.now() - ctx.started,
  };
}

/** Run upgrade without UI (tests, library use). */
export async function upgrade(opts: UpgradeOptions, deps: UpgradeDeps, report?: StepReporter): Promise<UpgradeResult> {
  const ctx = newUpgradeContext(opts, deps);
  try {
    await runSteps(upgradeSteps(), ctx, report);
  } catch (e) {
    throw upgradeFailure(ctx, e);
  }
  return upgradeResult(ctx);
}


