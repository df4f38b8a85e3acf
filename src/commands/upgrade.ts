import * as Flags from '@oclif/core/flags';
import type { ChalkInstance } from 'chalk';
import { BaseCommand, type CommandResult } from '../base-command.js';
import { chartSource, valueFlags } from '../values/flags.js';

export default class Upgrade extends BaseCommand<typeof Upgrade> {
  static override summary = 'Upgrade the installed chart, keeping your values; roll back if it fails.';
  static override description = `Shows the installed and target chart versions and the values that change (secret redacted), upgrades,
waits for the rollout, and rolls back to the previous revision when the upgrade fails.

The release's current values are kept (helm's --reuse-values); values given on this run go on top. The
new chart version's defaults still apply to keys you never set. To change the AccessKey, give the new
one with --access-key-id and --access-key-secret-stdin or a values file: the ALIBABA_CLOUD_* environment
variables are not read by upgrade, so a stale shell variable cannot replace a working key.`;
  static override examples = [
    '<%= config.bin %> upgrade',
    '<%= config.bin %> upgrade --version 1.1.0 --dry-run',
    '<%= config.bin %> upgrade --set scrapeInterval=60s',
    '<%= config.bin %> upgrade --access-key-id LTAI... --access-key-secret-stdin < new-secret.txt',
  ];

  static override flags = {
    ...valueFlags,
    'reset-values': Flags.boolean({ summary: "Start from the chart's defaults instead of the release's values (then every required value must be given again).", default: false }),
    'no-rollback': Flags.boolean({ summary: 'Leave a failed upgrade in place instead of rolling back (for debugging).', default: false }),
    force: Flags.boolean({ summary: 'Upgrade even when the release runs another chart under this name (it is replaced by this chart), to a chart of another name (a renamed fork), or when an Argo CD Application or Flux HelmRelease syncs it (which may revert the upgrade).', default: false }),
    'force-conflicts': Flags.boolean({
      summary: "helm 4: take back fields of the release's own objects that someone changed outside helm (server-side apply conflicts). No effect with helm 3, which overwrites them anyway.",
      default: false,
    }),
  };

  protected async execute(): Promise<CommandResult> {
    const flags = this.flags;
    const { gatherValues } = await import('../values/sources.js');
    const values = await gatherValues(flags, 'upgrade', { release: flags.release, namespace: flags.namespace, allowUnknownRegion: flags['allow-unknown-region'], canPrompt: false });
    const [{ upgradeSteps, newUpgradeContext, upgradeResult, upgradeFailure }, out, helm, kube] = await Promise.all([
      import('../actions/upgrade.js'),
      import('../output/install.js'),
      this.cfg.helm(),
      this.cfg.kubeOnDemand(),
    ]);
    const ctx = newUpgradeContext(
      {
        release: flags.release,
        namespace: flags.namespace,
        values,
        resetValues: flags['reset-values'],
        chart: chartSource(flags),
        ...(flags['image-registry'] ? { imageRegistry: flags['image-registry'] } : {}),
        allowUnknownRegion: flags['allow-unknown-region'],
        timeoutMs: flags.timeout,
        dryRun: flags['dry-run'],
        noRollback: flags['no-rollback'],
        forceConflicts: flags['force-conflicts'],
        force: flags.force,
      },
      { helm, kube },
    );
    try {
      await this.runSteps(upgradeSteps(), ctx);
    } catch (e) {
      throw upgradeFailure(ctx, e);
    }
    const result = upgradeResult(ctx);
    return { json: () => out.upgradeJson(result), text: (c) => out.renderUpgradeText(result, c) };
  }

  /** The pods that did not become ready, above the error. */
  protected override async failureDetail(e: unknown, c: ChalkInstance): Promise<string | undefined> {
    const { renderNotReady } = await import('../output/install.js');
    return renderNotReady(e, c);
  }
}
