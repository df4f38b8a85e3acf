import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../base-command.js';
import { durationFlag } from '../duration.js';
import { checkClusterId } from '../input.js';
import { ExitCode, InsightError } from '../errors.js';

export default class Uninstall extends BaseCommand {
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
    'dry-run': Flags.boolean({ summary: 'Print the ordered plan with every object it would touch; change nothing.', default: false }),
    'cluster-id': Flags.string({ summary: "The cluster ID (default: read from the release's values).", parse: async (v) => checkClusterId(v) }),
    timeout: durationFlag({ summary: 'How long to wait for the operator to clear its finalizer and for each deletion', default: '2m', min: 1000 }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Uninstall);
    const json = flags.output === 'json';
    const timeoutMs = flags.timeout;
    const c = await this.chalkFor(flags);
    const [{ createKube }, { Helm }, act, out] = await Promise.all([
      import('../kube/client.js'),
      import('../helm/helm.js'),
      import('../actions/uninstall.js'),
      import('../output/uninstall.js'),
    ]);
    const opts: import('../actions/uninstall.js').UninstallOptions = {
      release: flags.release,
      namespace: flags.namespace,
      ...(flags['cluster-id'] ? { clusterID: flags['cluster-id'] } : {}),
      purgeCrds: flags['purge-crds'],
      force: flags.force,
      deleteNamespace: flags['delete-namespace'],
      timeoutMs,
      afterPoint: testKillHook(),
    };
    const kube = createKube({ kubeconfig: flags.kubeconfig, context: flags.context });
    const helm = new Helm({ binary: flags['helm-binary'], kubeconfig: flags.kubeconfig, context: flags.context });

    const { discovery, plan } = await act.planUninstall(kube, helm, opts);
    if (flags['dry-run']) {
      const dry = await import('../actions/uninstall-dry-run.js');
      const checked = await dry.checkPlanOnServer(kube, discovery, plan);
      this.out(json ? out.renderUninstallJson({ result: 'planned', dryRun: true, plan: checked }) : out.renderDryRun(checked, c));
      process.exitCode = dry.dryRunExitCode(checked);
      return;
    }
    if (plan.nothingInstalled) {
      this.out(json ? out.renderUninstallJson({ result: 'nothing-installed', plan }) : out.renderNothingInstalled(plan, c));
      return;
    }
    if (!json) this.out(out.renderPlan(plan, c));
    if (!flags.yes) await this.confirm(json);

    const ctx = act.newContext(kube, helm, opts, discovery, plan);
    const { runStepsWithProgress, chooseRenderer } = await import('../output/tasks.js');
    try {
      await runStepsWithProgress(act.uninstallSteps(), ctx, chooseRenderer({ json, verbose: flags.verbose }), flags['no-color']);
    } catch (e) {
      // Show what was done before the failure; the error itself is rendered by the base command.
      if (!json && ctx.outcomes.length) process.stderr.write(`${out.renderOutcome(ctx, c).split('\n').slice(0, -1).join('\n')}\n`);
      if (json && e instanceof InsightError) {
        throw new InsightError(e.kind, e.message, { hint: e.hint, exitCode: e.exitCode, cause: e.cause, details: { ...(e.details ?? {}), outcomes: ctx.outcomes } });
      }
      throw e;
    }
    this.out(json ? out.renderUninstallJson({ result: 'uninstalled', plan, steps: out.stepStatuses(ctx, act.stepSummary), outcomes: ctx.outcomes, timingsMs: ctx.timings }) : out.renderOutcome(ctx, c));
  }

  /** Ask on a TTY; without one (and without --yes) refuse: a pipeline must say --yes explicitly. */
  private async confirm(json: boolean): Promise<void> {
    if (json || !process.stdin.isTTY || !process.stderr.isTTY) {
      throw new InsightError('aborted', 'uninstall needs confirmation, and there is no terminal to ask on', {
        hint: 'Review the plan with --dry-run, then pass --yes.',
        exitCode: ExitCode.Aborted,
      });
    }
    const { createInterface } = await import('node:readline/promises');
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      const a = (await rl.question('Proceed with this plan? [y/N] ')).trim().toLowerCase();
      if (a !== 'y' && a !== 'yes') throw new InsightError('aborted', 'uninstall cancelled; nothing was changed', { exitCode: ExitCode.Aborted });
    } finally {
      rl.close();
    }
  }
}

/**
 * TEST-ONLY fault injection: KUBECTL_INSIGHT_TEST_KILL_AFTER=<point> makes the process signal itself
 * (SIGKILL, or KUBECTL_INSIGHT_TEST_KILL_SIGNAL, e.g. SIGSTOP) right after that point, so e2e tests can
 * prove a re-run finishes from any step boundary. Points: INJECTION_POINTS in src/actions/uninstall.ts.
 */
function testKillHook(): ((point: string) => void) | undefined {
  const want = process.env.KUBECTL_INSIGHT_TEST_KILL_AFTER;
  if (!want) return undefined;
  const sig = (process.env.KUBECTL_INSIGHT_TEST_KILL_SIGNAL ?? 'SIGKILL') as NodeJS.Signals;
  return (point) => {
    if (point === want) process.kill(process.pid, sig);
  };
}
