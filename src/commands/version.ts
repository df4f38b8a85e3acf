import { BaseCommand, type CommandResult } from '../base-command.js';
import { fleetFlags } from '../fleet/flags.js';
import { VERSION } from '../version.js';

export default class Version extends BaseCommand<typeof Version> {
  static override summary = 'Print the kubectl-insight version; with contexts, which chart version runs where.';
  static override description = `Prints the plugin version and the Node.js runtime; alone, it does not contact any cluster.
With --context (once or more), --all-contexts or --contexts-file it adds one line per context: the
server, its Kubernetes version, and the release's chart version, app version, status and revision (read
from helm's records with GETs only). Exit 0 when every context answered, 3 when one could not be reached.`;
  static override examples = ['<%= config.bin %> version', '<%= config.bin %> version -o json', '<%= config.bin %> version --all-contexts', '<%= config.bin %> version --contexts-file clusters.txt -o json'];
  static override fleet = true;
  // --summary is the others' table without reports; the inventory is a table already.
  static override flags = (({ summary: _summary, ...rest }) => rest)(fleetFlags('30s'));

  protected async execute(): Promise<CommandResult> {
    const info = { version: VERSION, node: process.versions.node, platform: `${process.platform}/${process.arch}` };
    const line = `kubectl-insight ${info.version} (node ${info.node}, ${info.platform})`;
    const flags = this.flags;
    // A context named even once asks what runs there: version has no single-cluster report to keep.
    if (!flags.context?.length && !flags['all-contexts'] && flags['contexts-file'] === undefined) return { json: () => info, text: line };
    const [{ resolveTargets }, { runOnFleet }, { fleetRows }, { fleetExitCode }, out] = await Promise.all([import('../fleet/targets.js'), import('../fleet/fleet.js'), import('../fleet/view.js'), import('../fleet/run.js'), import('../output/fleet.js')]);
    const targets = resolveTargets({ contexts: flags.context, allContexts: flags['all-contexts'], contextsFile: flags['contexts-file'], kubeconfig: flags.kubeconfig, namespace: flags.namespace, release: flags.release });
    const progress = await this.fleetProgress(targets.length);
    const started = Date.now();
    // The inventory is what every fleet context reads first; there is nothing else to run.
    const entries = await runOnFleet(targets, { kubeconfig: flags.kubeconfig, 'helm-binary': flags['helm-binary'] }, { maxSockets: 4, run: async () => undefined }, { parallel: flags.parallel, timeoutMs: flags['context-timeout'], ...progress });
    progress.end();
    const rows = fleetRows(entries, { report: () => ({ results: [], summary: { passed: 0, failed: 0, warnings: 0, skipped: 0, info: 0 } }), passed: () => true, verdict: () => 'reachable' });
    const exitCode = fleetExitCode(rows);
    const durationMs = Date.now() - started;
    return {
      json: () => out.inventoryJson(info, rows, { exitCode, durationMs }),
      text: (c) => `${line}\n\n${out.renderInventory(rows, c)}`,
      exitCode,
    };
  }
}
