import { BaseCommand, type CommandResult } from '../base-command.js';
import { VERSION } from '../version.js';

export default class Version extends BaseCommand {
  static override summary = 'Print the kubectl-insight version.';
  static override description = 'Prints the plugin version and the Node.js runtime. It does not contact the cluster.';
  static override examples = ['<%= config.bin %> version', '<%= config.bin %> version -o json'];

  protected async execute(): Promise<CommandResult> {
    const info = { version: VERSION, node: process.versions.node, platform: `${process.platform}/${process.arch}` };
    return { json: () => info, text: `kubectl-insight ${info.version} (node ${info.node}, ${info.platform})` };
  }
}
