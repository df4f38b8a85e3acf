import { BaseCommand } from '../base-command.js';

export default class Doctor extends BaseCommand {
  static override summary = 'Find why metrics are not arriving: pods, exporters, scrape chain, kubelet, custom resources.';
  static override description = 'Walks the whole collection chain and reports each finding with its evidence and a fix. Exit 0 when healthy, 1 on any failure.';
  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor -o json --fail-on warning'];

  async run(): Promise<void> {
    await this.parse(Doctor);
    this.notBuilt(7);
  }
}
