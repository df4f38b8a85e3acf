import { BaseCommand } from '../base-command.js';

export default class Uninstall extends BaseCommand {
  static override summary = 'Remove the collector in the required order, safely re-runnable.';
  static override description = `Deletes the ClusterAliyunPipelineConfig while the operator still runs (so it can clear its finalizer),
strips the finalizer only when the operator is gone, uninstalls the Helm release, and with --purge-crds
deletes only the CRDs that nothing else uses.`;
  static override examples = ['<%= config.bin %> uninstall --dry-run', '<%= config.bin %> uninstall --yes --purge-crds'];

  async run(): Promise<void> {
    await this.parse(Uninstall);
    this.notBuilt(5);
  }
}
