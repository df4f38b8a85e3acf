import { BaseCommand } from '../base-command.js';

export default class Preflight extends BaseCommand {
  static override summary = 'Check the cluster, RBAC, conflicts, network and cloud credentials before installing.';
  static override description = 'Runs every preflight check and prints a report grouped by category. Exit 0 when no fatal check failed, 1 otherwise.';
  static override examples = ['<%= config.bin %> preflight --region cn-hangzhou', '<%= config.bin %> preflight -o json --fail-on warning'];

  async run(): Promise<void> {
    await this.parse(Preflight);
    this.notBuilt(6);
  }
}
