import * as Flags from '@oclif/core/flags';
import type { ChalkInstance } from 'chalk';
import { BaseCommand, type CommandResult } from '../base-command.js';
import { durationFlag } from '../duration.js';
import { checkClusterId } from '../input.js';
import { ExitCode, InsightError } from '../errors.js';

export default class Uninstall extends BaseCommand<typeof Uninstall> {
  static override summary = 'Remove the collector in the required order, safely re-runnable.';
  static override description = `Deletes the ClusterAliyunPipelineConfig while the operator still runs (so it can clear its finalizer),
strips exactly that finalizer only when the operator is gone or does not answer in time, uninstalls the
Helm release and waits until its pods are gone; with --purge-crds deletes only the CRDs that nothing
else uses (and says what would be lost otherwise). Running it again after an interruption finishes the job.`;
  static override examples = [
    '<%= config.bin %> uninstall --dry-run',
    '<%= config.bin %> uninstall --yes',
    '<%= config.bin %> uninstall --yes --purge-crds',
    '<%= config.bin %> uninstall --yes --purge-crds --force --delete-namespace',
    '<%= config.bin %> uninstall --dry-run -o json',
  ];

  static override flags = {
    'purge-crds': Flags.boolean({ summary: 'Also delete the CRDs the chart installs, unless something else uses them.', default: false }),
    force: Flags.boolean({ summary: 'With --purge-crds: delete CRDs even when others use them (the plan lists what is lost). Also: uninstall a release that runs another chart under this name, or one an Argo CD Application or Flux HelmRelease syncs (which may reinstall it).', default: false }),
    'delete-namespace': Flags.boolean({ summary: 'Delete the release namespace too, only if nothing else lives in it.', default: false }),
    'dry-run': Flags.boolean({ summary: 'Print the ordered plan with every object it would touch, each delete and patch checked by the API server (server-side dry run); change nothing.', default: false }),
    'cluster-id': Flags.string({ summary: "The cluster ID (default: read from the release's values).", parse: async (v) => checkClusterId(v) }),
    timeout: durationFlag({ summary: 'How long to wait for the operator to clear its finalizer and for each deletion', default: '2m', min: 1000 }),
  };

  private ctx?: import('../actions/uninstall/index.js').UninstallContext;

  protected async execute(): Promise<CommandResult> {
    const flags = this.flags;
    const [act, out, kube, helm] = await Promise.all([import('../actions/uninstall/index.js'), import('../output/uninstall.js'), this.cfg.kube(), this.cfg.helm()]);
    const opts: import('../actions/uninstall/index.js').UninstallOptions = {
      release: flags.release,
      namespace: flags.namespace,
      ...(flags['cluster-id'] ? { clusterID: flags['cluster-id'] } : {}),
      purgeCrds: flags['purge-crds'],
      force: flags.force,
      deleteNamespace: flags['delete-namespace'],
      timeoutMs: flags.timeout,
    };
    const { discovery, plan } = await act.planUninstall(kube, helm, opts);
    if (flags['dry-run']) {
      const dry = await import('../actions/uninstall/dry-run.js');
      const checked = await dry.checkPlanOnServer(kube, discovery, plan, opts);
      return { json: () => out.renderUninstallJson({ result: 'planned', dryRun: true, plan: checked }), text: (c) => out.renderDryRun(checked, c), exitCode: dry.dryRunExitCode(checked) };
    }
    if (plan.nothingInstalled) return { json: () => out.renderUninstallJson({ result: 'nothing-installed', plan }), text: (c) => out.renderNothingInstalled(plan, c) };
    await this.tell((c) => out.renderPlan(plan, c), process.stdout);
    const ok = await this.confirm('Proceed with this plan?');
    if (ok === undefined) {
      throw new InsightError('aborted', 'uninstall needs confirmation, and there is no terminal to ask on', { hint: 'Review the plan with --dry-run, then pass --yes.', exitCode: ExitCode.Aborted });
    }
    if (!ok) throw new InsightError('aborted', 'uninstall cancelled; nothing was changed', { exitCode: ExitCode.Aborted });

    const ctx = (this.ctx = act.newContext(kube, helm, opts, discovery, plan));
    try {
      await this.runSteps(act.uninstallSteps(), ctx);
    } catch (e) {
      // JSON readers get what was done before the failure beside the error.
      if (e instanceof InsightError) throw new InsightError(e.kind, e.message, { hint: e.hint, exitCode: e.exitCode, cause: e.cause, details: { ...(e.details ?? {}), outcomes: ctx.outcomes } });
      throw e;
    }
    return {
      json: () => out.renderUninstallJson({ result: 'uninstalled', plan, steps: out.stepStatuses(ctx, act.stepSummary), outcomes: ctx.outcomes, timingsMs: ctx.timings }),
      text: (c) => out.renderOutcome(ctx, c),
    };
  }

  /** What was done before the failure (the error itself is rendered below it). */
  protected override async failureDetail(_e: unknown, c: ChalkInstance): Promise<string | undefined> {
    if (!this.ctx?.outcomes.length) return undefined;
    const { renderOutcome } = await import('../output/uninstall.js');
    return renderOutcome(this.ctx, c).split('\n').slice(0, -1).join('\n');
  }
}
