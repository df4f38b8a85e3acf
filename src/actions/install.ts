/**
 * `install`: validate → check helm and the cluster → preflight → render → helm install → wait for the
 * rollout → verify. Typed options in, typed result out, no printing (helm pkg/action style). The
 * AccessKey secret travels only inside `Values` as a `Secret` and reaches helm only on its stdin
 * (src/helm/helm.ts), never in argv or a file.
 */
import type { Kube } from '../kube/client.js';
import type { Helm } from '../helm/helm.js';
import { CHART, CR } from '../defaults.js';
import { checkTargetChart } from '../helm/release-state.js';
import { clearUninstallMark } from '../kube/namespace.js';
import { InsightError } from '../errors.js';
import { waitForRollout, type WorkloadStatus } from '../kube/rollout.js';
import { accessNeeds, checkAccess, connect, namespaceExists } from './access.js';
import type { ChartSource } from '../helm/chart.js';
import { chartDefaults, checkChartSource, renderChart, type RenderedChart } from './chart.js';
import { createAbsentCrds, crdNotes, inspectCrds, verifyInstall, type CrdFinding } from './crds.js';
import { gate, type GateSummary, type PreflightGate } from './gate.js';
import { findReleases, judgeExisting } from './releases.js';
import { runSteps, type Step, type StepReporter } from './steps.js';
import { displayValues, redactManifests, secretsIn } from '../values/redact.js';
import { mergeValues, type Values } from '../values/tree.js';
import { rewriteImageRegistry } from '../values/image.js';
import { validateValues } from '../values/validate.js';

export type InstallHelm = Pick<Helm, 'version' | 'release' | 'list' | 'listAllNamespaces' | 'showChart' | 'showValues' | 'template' | 'install'>;
export type InstallKube = Pick<Kube, 'apps' | 'core' | 'apiext' | 'custom' | 'version' | 'authz' | 'call' | 'ifFound' | 'delete'>;

export interface InstallOptions {
  release: string;
  namespace: string;
  /** The user's values, collected (src/actions/values.ts collectValues). */
  values: Values;
  chart: ChartSource;
  imageRegistry?: string;
  allowUnknownRegion?: boolean;
  /** The whole wait (rollout + verify). */
  timeoutMs: number;
  dryRun?: boolean;
  skipPreflight?: boolean;
  /** Install over a failed first install or an uninstalled release kept in history. */
  replace?: boolean;
  /** Install a chart whose name is not ours (a renamed fork). */
  force?: boolean;
  /** Ask the user: true with --yes, undefined when nobody can be asked (the command's confirm()). */
  confirm?: (question: string) => Promise<boolean | undefined>;
}

export interface InstallDeps {
  helm: InstallHelm;
  /** Created on first use: validation runs before anything touches the cluster. */
  kube: () => InstallKube;
  preflight?: PreflightGate;
}

export interface InstallResult {
  release: string;
  namespace: string;
  chart: { name: string; version: string; appVersion?: string };
  dryRun: boolean;
  revision?: number;
  workloads: WorkloadStatus[];
  crds: CrdFinding[];
  customResource?: { name: string; present: boolean };
  alertRuleDisabled: boolean;
  preflight?: GateSummary;
  notes: string[];
  /** --dry-run: the rendered manifests, secret redacted. */
  manifests?: string;
  /** --dry-run: the values that would be passed to helm, secret redacted. */
  values?: Values;
  durationMs: number;
}

export interface InstallContext {
  opts: InstallOptions;
  deps: InstallDeps;
  started: number;
  values: Values;
  kube?: InstallKube;
  replace: boolean;
  rendered?: RenderedChart;
  crds: CrdFinding[];
  alertRuleDisabled: boolean;
  preflight?: InstallResult['preflight'];
  notes: string[];
  workloads: WorkloadStatus[];
  customResource?: { name: string; present: boolean };
  revision?: number;
  kubeVersion?: string;
  /** Some CRD of the chart's crds/ exists already: helm skips crds/ and never sends an existing CRD. */
  skipCrds: boolean;
  /** crds/ CRDs that are absent while others exist: created by createAbsentCrds before helm runs. */
  crdsToCreate: string[];
}

export function newInstallContext(opts: InstallOptions, deps: InstallDeps): InstallContext {
  return { opts, deps, started: Date.now(), values: opts.values, replace: false, crds: [], alertRuleDisabled: false, notes: [], workloads: [], skipCrds: false, crdsToCreate: [] };
}

const kubeOf = (ctx: InstallContext): InstallKube => (ctx.kube ??= ctx.deps.kube());

export function installSteps(): Step<InstallContext>[] {
  return [
    // Validation first: a typo must cost nothing and touch nothing.
    {
      title: 'Validate the values',
      async run(ctx) {
        checkChartSource(ctx.opts.chart);
        ctx.values = validateValues(ctx.values, { allowUnknownRegion: ctx.opts.allowUnknownRegion, release: ctx.opts.release, namespace: ctx.opts.namespace });
      },
    },
    // helm and the cluster before preflight: preflight needs both, and an existing release ends it here.
    {
      title: 'Check helm and the cluster',
      async run(ctx, report) {
        const hv = await ctx.deps.helm.version();
        await connect(ctx);
        const existing = await findReleases(ctx.deps.helm, ctx.opts.release, ctx.opts.namespace);
        ctx.replace = judgeExisting(existing, { release: ctx.opts.release, namespace: ctx.opts.namespace, replace: Boolean(ctx.opts.replace) }) === 'replace';
        report.title(`Cluster ${ctx.kubeVersion ?? ''} reachable, helm ${hv}, no release of the chart yet`.replace('  ', ' '));
      },
    },
    {
      title: 'Run preflight checks',
      skip: (ctx) => (ctx.opts.skipPreflight ? 'skipped (--skip-preflight)' : ctx.opts.dryRun ? 'skipped in --dry-run (run `kubectl insight preflight`)' : !ctx.deps.preflight ? 'not available' : false),
      async run(ctx, report) {
        await gate(ctx, 'install', report);
      },
    },
    // Render before installing: the chart's own validation fails here, and we learn the workloads and CRDs.
    {
      title: 'Render the chart',
      async run(ctx, report) {
        const helm = ctx.deps.helm;
        if (ctx.opts.imageRegistry) {
          const defaults = await chartDefaults(helm, ctx.opts.chart);
          ctx.values = mergeValues(ctx.values, rewriteImageRegistry(defaults, ctx.values, ctx.opts.imageRegistry));
        }
        ctx.rendered = await renderChart(helm, ctx.opts.chart, ctx.opts.release, ctx.opts.namespace, ctx.values, ctx.kubeVersion);
        checkTargetChart(ctx.rendered.chart.name, Boolean(ctx.opts.force));
        ctx.crds = await inspectCrds(kubeOf(ctx), ctx.rendered, ctx.opts.release, ctx.opts.namespace);
        const blocked = ctx.crds.filter((c) => c.managedBy === 'template' && (c.state === 'foreign' || c.state === 'unmanaged'));
        if (blocked.length) {
          // helm would fail on ownership, or worse, adopt another release's CRD: stop before changing anything.
          throw new InsightError('conflict', `the chart manages CRD ${blocked.map((c) => c.name).join(', ')} in its templates, but ${blocked.length > 1 ? 'they already exist' : 'it already exists'} (${blocked[0]!.owner ?? 'not from helm'})`, {
            hint: 'Installing would take them over from their owner. Disable the chart\'s copy (see the chart\'s values for a CRD switch) or install into a cluster without them. Nothing was changed.',
          });
        }
        ctx.notes.push(...crdNotes(ctx.crds));
        report.title(`Rendered ${ctx.rendered.chart.name} ${ctx.rendered.chart.version}: ${ctx.rendered.workloads.length} workloads, ${ctx.rendered.docs.length} objects`);
      },
    },
    // Permissions before helm: a 403 half-way through would leave a failed release and partial objects.
    {
      title: 'Check permissions',
      async run(ctx, report) {
        const kube = kubeOf(ctx);
        const fromDir = ctx.crds.filter((c) => c.managedBy === 'crds-dir');
        ctx.skipCrds = fromDir.some((c) => c.state !== 'absent');
        ctx.crdsToCreate = ctx.skipCrds ? fromDir.filter((c) => c.state === 'absent').map((c) => c.name) : [];
        const needs = accessNeeds(ctx.rendered!, ctx.opts.namespace, ['create'], { createNamespace: !(await namespaceExists(kube, ctx.opts.namespace)), skipCrds: ctx.skipCrds && ctx.crdsToCreate.length === 0 });
        await checkAccess(kube, needs);
        report.title(`Permissions: all ${needs.length} create rights granted`);
      },
    },
    {
      title: 'Install the chart',
      skip: (ctx) => (ctx.opts.dryRun ? 'skipped (--dry-run)' : false),
      async run(ctx, report) {
        // Existing crds/ CRDs must never reach helm: helm 3 asks to create each (a 403 for nothing without
        // CRD rights), helm 4 applies each server-side (another owner's CRD changed or a conflict).
        if (ctx.crdsToCreate.length) {
          report.progress(`creating ${ctx.crdsToCreate.length} absent CRD(s) of the chart's crds/`);
          const made = await createAbsentCrds(kubeOf(ctx), ctx.rendered!, ctx.crds, ctx.started + ctx.opts.timeoutMs, report);
          if (made.length) ctx.notes.push(`created CRD ${made.join(', ')} (the others of crds/ existed and were left untouched)`);
        }
        await ctx.deps.helm.install({
          release: ctx.opts.release,
          namespace: ctx.opts.namespace,
          chart: ctx.opts.chart,
          timeoutMs: ctx.opts.timeoutMs,
          values: ctx.values,
          replace: ctx.replace,
          skipCrds: ctx.skipCrds,
        });
        ctx.revision = (await ctx.deps.helm.release(ctx.opts.release, ctx.opts.namespace))?.revision;
        // An uninstall of this release that stopped half-way is over now: its namespace mark goes.
        await clearUninstallMark(kubeOf(ctx), ctx.opts.namespace, ctx.opts.release);
        report.title(`Installed release ${ctx.opts.release} (revision ${ctx.revision ?? 1})`);
      },
    },
    {
      title: 'Wait for the workloads to roll out',
      skip: (ctx) => (ctx.opts.dryRun ? 'skipped (--dry-run)' : false),
      async run(ctx, report) {
        const refs = ctx.rendered!.workloads;
        const left = ctx.opts.timeoutMs - (Date.now() - ctx.started);
        try {
          ctx.workloads = await waitForRollout(kubeOf(ctx), refs, {
            timeoutMs: Math.max(left, 1000),
            totalTimeoutMs: ctx.opts.timeoutMs,
            onProgress: (s) => report.progress(`${s.filter((x) => x.ready).length}/${s.length} ready: ${s.filter((x) => !x.ready).map((x) => `${x.name} ${x.message}`).join('; ') || 'done'}`),
            ...(ctx.opts.imageRegistry ? {} : { imageRegistryFlag: '--image-registry' }),
          });
        } catch (e) {
          // The release stays (helm recorded it): say so, so the next step is upgrade or uninstall, not install.
          if (e instanceof InsightError && e.kind === 'timeout') {
            const where = `-n ${ctx.opts.namespace}${ctx.opts.release !== CHART.release ? ` --release ${ctx.opts.release}` : ''}`;
            throw new InsightError('timeout', `installed, but ${e.message}`, {
              hint: `${e.hint ?? ''} The release is in place: after fixing the cause run \`kubectl insight upgrade ${where}\` (or \`kubectl insight uninstall ${where}\`).`.trim(),
              details: e.details,
            });
          }
          throw e;
        }
        report.title(`${ctx.workloads.length} workloads ready`);
      },
    },
    {
      title: 'Verify CRDs and the custom resource',
      skip: (ctx) => (ctx.opts.dryRun ? 'skipped (--dry-run)' : false),
      async run(ctx, report) {
        const deadline = ctx.started + ctx.opts.timeoutMs + 30_000;
        const v = await verifyInstall(kubeOf(ctx), ctx.rendered!, ctx.values, deadline, report);
        if (v.customResource) ctx.customResource = v.customResource;
        report.title(`${v.crds.length} CRDs established${v.customResource ? `, ${CR.kind} ${v.customResource.name} present` : ''}`);
      },
    },
  ];
}

export function installResult(ctx: InstallContext): InstallResult {
  const dry = Boolean(ctx.opts.dryRun);
  const secrets = secretsIn(ctx.values);
  return {
    release: ctx.opts.release,
    namespace: ctx.opts.namespace,
    chart: ctx.rendered?.chart ?? { name: CHART.name, version: ctx.opts.chart.version ?? '' },
    dryRun: dry,
    ...(ctx.revision !== undefined ? { revision: ctx.revision } : {}),
    workloads: ctx.workloads,
    crds: ctx.crds,
    ...(ctx.customResource ? { customResource: ctx.customResource } : {}),
    alertRuleDisabled: ctx.alertRuleDisabled,
    ...(ctx.preflight ? { preflight: ctx.preflight } : {}),
    notes: ctx.notes,
    ...(dry && ctx.rendered ? { manifests: redactManifests(ctx.rendered.manifests, secrets), values: displayValues(ctx.values) } : {}),
    durationMs: Date.now() - ctx.started,
  };
}

/** Run install without UI (tests, library use). */
export async function install(opts: InstallOptions, deps: InstallDeps, report?: StepReporter): Promise<InstallResult> {
  const ctx = newInstallContext(opts, deps);
  await runSteps(installSteps(), ctx, report);
  return installResult(ctx);
}

