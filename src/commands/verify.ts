import * as Flags from '@oclif/core/flags';
import { BaseCommand, type CommandResult } from '../base-command.js';
import { ENV } from '../defaults.js';
import { durationFlag } from '../duration.js';
import { checkRegionFlag } from '../input.js';
import { verifyTuning, verifyTuningFlags } from '../verify-flags.js';

export default class Verify extends BaseCommand<typeof Verify> {
  static override summary = 'Prove the cluster\'s data arrives in Cloud Monitor 2.0, or say why it does not.';
  static override description = `Queries the workspace from this machine: the Prometheus instance's query API (which label carries this
cluster's id, then per source the series, targets and age of the newest sample, and the nodes that send
nothing), the entity store (the cluster entity and its nodes and pods), and, when something is missing,
the collectors' own logs for the send failure that explains it. The cluster id, region, workspace,
instance and AccessKey ID come from the release's values unless flags give them; the secret comes from
${ENV.accessKeySecret}, --access-key-secret-stdin, a values file (-f) or a prompt, never argv.
Exit 0 when everything arrives, 1 otherwise. Check ids and the permissions each needs: docs/verify.md.`;
  static override examples = [
    `${ENV.accessKeySecret}=... <%= config.bin %> verify`,
    '<%= config.bin %> verify --wait 5m',
    '<%= config.bin %> verify --access-key-secret-stdin --access-key-id LTAI... -o json',
    '<%= config.bin %> verify --cluster-id c123 --region cn-hangzhou --workspace my-ws --prometheus-instance-id rw-123',
  ];

  static override flags = {
    'cluster-id': Flags.string({ summary: 'Cluster id the data carries (default: the release\'s clusterID).' }),
    region: Flags.string({ summary: 'Region of the workspace (default: the release\'s region).' }),
    workspace: Flags.string({ summary: 'Cloud Monitor 2.0 workspace (default: the release\'s workspace).' }),
    'prometheus-instance-id': Flags.string({ summary: 'Prometheus instance (default: the release\'s operator.prometheus.prometheusInstanceID).' }),
    'access-key-id': Flags.string({ summary: `AccessKey ID (default: $${ENV.accessKeyId}, else the release's accessKeyID).`, env: ENV.accessKeyId }),
    'access-key-secret-stdin': Flags.boolean({ summary: 'Read the AccessKey secret from stdin (prompted without echo on a terminal).', default: false }),
    values: Flags.string({ char: 'f', summary: 'Values file(s) with the AccessKey (and ids where no flag gives them).', multiple: true }),
    net: Flags.string({ summary: 'Which query URL of the instance to use: Internet (from anywhere) or Intranet (from inside the VPC).', options: ['Internet', 'Intranet'], default: 'Internet' }),
    wait: durationFlag({ summary: 'Keep checking until every expected source has reported, at most this long (0s: once)', default: '0s', min: 0 }),
    'wait-interval': durationFlag({ summary: 'Pause between checks with --wait', default: '15s', min: 1000, max: 600_000 }),
    ...verifyTuningFlags,
    'fail-on': Flags.string({ summary: 'Lowest severity that makes the exit code 1.', options: ['fatal', 'warning'], default: 'fatal' }),
    only: Flags.string({ summary: 'Run only checks whose id starts with this (repeatable): metrics, entities, collector.', multiple: true }),
    'allow-unknown-region': Flags.boolean({ summary: 'Accept a region id not in the built-in list (new regions).', default: false }),
  };

  protected async execute(): Promise<CommandResult> {
    const flags = this.flags;
    const [{ readCommandKey }, { verifyChecks }, { selectChecks }] = await Promise.all([import('../values/sources.js'), import('../checks/verify/index.js'), import('../checks/engine.js')]);
    // Bad input is said before anything is contacted.
    selectChecks(verifyChecks, flags.only);
    const region = flags.region ? await checkRegionFlag(flags.region, flags['allow-unknown-region']) : undefined;
    const key = await readCommandKey({ stdin: flags['access-key-secret-stdin'], promptIfMissing: true, keyIdLater: true, ...(flags.values ? { valuesFiles: flags.values } : {}), ...(flags['access-key-id'] ? { keyId: flags['access-key-id'] } : {}) });
    const fromValues = key.values ? (await import('../values/preflight.js')).installationFromValues(key.values) : {};
    const { api, context, server } = await this.cfg.apiClient({ maxSockets: 16 });
    const [{ verifyInstallation }, out] = await Promise.all([import('../actions/verify.js'), import('../output/verify.js')]);
    const status = await this.status();
    const failOn = flags['fail-on'] as 'fatal' | 'warning';
    const r = await verifyInstallation(
      api,
      async () => (await this.cfg.kube()).kc,
      {
        namespace: flags.namespace,
        release: flags.release,
        target: {
          clusterId: flags['cluster-id'] ?? fromValues.clusterId,
          region: region ?? fromValues.region,
          workspace: flags.workspace ?? fromValues.workspace,
          prometheusInstanceId: flags['prometheus-instance-id'] ?? fromValues.prometheusInstanceId,
          accessKeyId: key.accessKeyId,
        },
        ...(key.accessKeySecret ? { accessKeySecret: key.accessKeySecret } : {}),
        ...(key.securityToken ? { securityToken: key.securityToken } : {}),
        net: flags.net as 'Internet' | 'Intranet',
        ...verifyTuning(flags),
        waitMs: flags.wait,
        intervalMs: flags['wait-interval'],
        ...(flags.only ? { only: flags.only } : {}),
        failOn,
        allowUnknownRegion: flags['allow-unknown-region'],
      },
      {
        progress: (m) => status.show(m),
        waiting: (report, run, next) => this.tell(() => `${out.renderWaitLine(report, run)}; again in ${Math.round(next / 1000)}s`),
      },
    );
    const meta = { context, server, namespace: flags.namespace, release: flags.release, ...r.target, net: flags.net, runs: r.runs, gaveUp: r.gaveUp, durationMs: r.durationMs };
    return {
      json: () => out.renderVerifyJson(r.report, { ...meta, exitCode: r.exitCode }),
      text: (c) => out.renderVerifyHuman(r.report, meta, c, { verbose: flags.verbose }),
      exitCode: r.exitCode,
    };
  }
}
