import { BaseCommand } from '../base-command.js';

export default class Upgrade extends BaseCommand {
  static override summary = 'Upgrade the installed chart, keeping your values; roll back if it fails.';
  static override description = 'Shows the installed and target chart versions and the values that change (secret redacted), upgrades, waits for the rollout, and rolls back to the previous revision when the upgrade fails.';
  static override examples = ['<%= config.bin %> upgrade', '<%= config.bin %> upgrade --version 1.1.0 --dry-run'];

  async run(): Promise<void> {
    await this.parse(Upgrade);
    this.notBuilt(4);
  }
}
