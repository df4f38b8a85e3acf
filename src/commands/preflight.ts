import * as Flags from '@oclif/core/flags';
import { BaseCommand, type CommandResult } from '../base-command.js';
import { durationFlag } from '../duration.js';
import { checkImage, checkNamespace, checkRegionFlag } from '../input.js';
import { ENV } from '../defaults.js';
import { usageError } from '../errors.js';
import type { PreflightValues } from '../values/preflight.js';
import { fleetFlags } from '../fleet/flags.js';
import type { FleetTarget } from '../fleet/targets.js';
import type { PreflightPlan } from '../actions/preflight-session.js';

export default class Preflight extends BaseCommand<typeof Preflight> {
  static override summary = 'Check the cluster, RBAC, conflicts, network and cloud credentials before installing.';
  static override description = `Runs every preflight check and prints a report grouped by category (cluster, rbac, conflicts,
network, cloud). Network checks run in short-lived probe pods on the nodes (or --sample N of them), or
from this machine with --from-local. Cloud checks need --access-key-id and the secret in
${ENV.accessKeySecret} or on stdin (--access-key-secret-stdin); never as a flag value.
Exit 0 when no fatal check failed, 1 otherwise (--fail-on warning: also on warnings). Check ids: docs/preflight.md.`;
  static override examples = [
    '<%= config.bin %> preflight --region cn-hangzhou',
    '<%= config.bin %> preflight --region cn-hangzhou --net Intranet --sample 5',
    `${ENV.accessKeySecret}=... <%= config.bin %> preflight --region cn-hangzhou --access-key-id LTAI... --project-name my-project --prometheus-instance-id rw-...`,
    '<%= config.bin %> preflight --region cn-hangzhou --from-local -o json --fail-on warning',
    '<%= config.bin %> preflight --region cn-hangzhou --all-contexts --summary',
  ];

  static override fleet = true;
  static override flags = {
    region: Flags.string({ summary: 'Alibaba Cloud region of the workspace (e.g. cn-hangzhou). Without it, network and cloud checks are skipped.' }),
    net: Flags.string({ summary: 'Network mode the chart will use (default: the values file\'s `net`, else Internet).', options: ['Internet', 'Intranet'] }),
    'access-key-id': Flags.string({ summary: `AccessKey ID (default: $${ENV.accessKeyId}). The secret comes from $${ENV.accessKeySecret} or --access-key-secret-stdin.`, env: ENV.accessKeyId }),
    'access-key-secret-stdin': Flags.boolean({ summary: 'Read the AccessKey secret from stdin (prompted without echo on a terminal).', default: false }),
    'project-name': Flags.string({ summary: 'SLS project of the workspace (entityCollector.projectName).' }),
    'prometheus-instance-id': Flags.string({ summary: 'Prometheus instance id (operator.prometheus.prometheusInstanceID).' }),
    values: Flags.string({ char: 'f', summary: 'Values file(s) the install will use: scheduling (nodeSelector, tolerations, *.enabled), and region, net, keys, project and instance where no flag gives them.', multiple: true }),
    'from-local': Flags.boolean({ summary: 'Probe the endpoints from this machine instead of from probe pods on the nodes.', default: false }),
    sample: Flags.integer({ summary: 'Probe from N nodes (spread over zones) instead of all.', min: 1 }),
    'probe-image': Flags.string({ summary: 'Image for the probe pods (needs sh and curl). Default: see docs/preflight.md.', parse: async (v) => checkImage(v) }),
    'probe-namespace': Flags.string({ summary: 'Namespace for the probe pods.', default: 'default', parse: async (v) => checkNamespace(v, '--probe-namespace') }),
    'fail-on': Flags.string({ summary: 'Lowest severity that makes the exit code 1.', options: ['fatal', 'warning'], default: 'fatal' }),
    timeout: durationFlag({ summary: 'Timeout of each check; in-cluster probes get at least --probe-pod-timeout', default: '30s', min: 100 }),
    'probe-pod-timeout': durationFlag({ summary: 'Least time the probe pods get to schedule, pull their image and run (more with a longer --timeout)', default: '2m', min: 10_000 }),
    only: Flags.string({ summary: 'Run only checks whose id starts with this (repeatable), e.g. network or cloud.credentials.', multiple: true }),
    'allow-unknown-region': Flags.boolean({ summary: 'Accept a region id not in the built-in list (new regions).', default: false }),
    ...fleetFlags('5m'),
  };

  protected async execute(): Promise<CommandResult> {
    const flags = this.flags;
    const failOn = flags['fail-on'] as 'fatal' | 'warning';

    // One order for the key (stdin, environment, values files; never argv); children must not inherit it.
    const [{ readCommandKey }, { preflightInputFromValues }] = await Promise.all([import('../values/sources.js'), import('../values/preflight.js')]);
    const key = await readCommandKey({ stdin: flags['access-key-secret-stdin'], ...(flags.values ? { valuesFiles: flags.values } : {}), ...(flags['access-key-id'] ? { keyId: flags['access-key-id'] } : {}) });
    const { values, accessKeySecret } = key;
    const keyId = key.accessKeyId;
    // A values file (the one install will use) also supplies what the flags leave out. Flags win.
    const fromValues: PreflightValues = values ? preflightInputFromValues(values) : {};
    const regionRaw = flags.region ?? fromValues.region;
    const region = regionRaw ? await checkRegionFlag(regionRaw, flags['allow-unknown-region']) : undefined;
    const net = flags.net ?? fromValues.net ?? 'Internet';
    if (net !== 'Internet' && net !== 'Intranet') throw usageError(`net must be Internet or Intranet, got "${net}"`);

    const [{ preflightChecks }, { selectChecks }, { fleetTargets }] = await Promise.all([import('../checks/preflight/index.js'), import('../checks/engine.js'), import('../fleet/targets.js')]);
    // A typo in --only, or a context not in kubeconfig, is bad input: said before anything is contacted.
    selectChecks(preflightChecks(), flags.only);
    const fleet = fleetTargets(flags);
    const plan: PreflightPlan = {
      ...(flags['helm-binary'] ? { helmBinary: flags['helm-binary'] } : {}),
      ...(region ? { region } : {}),
      net,
      ...(keyId ? { accessKeyId: keyId } : {}),
      ...(accessKeySecret ? { accessKeySecret } : {}),
      ...((flags['project-name'] ?? fromValues.projectName) ? { projectName: flags['project-name'] ?? fromValues.projectName } : {}),
      ...((flags['prometheus-instance-id'] ?? fromValues.prometheusInstanceId) ? { prometheusInstanceId: flags['prometheus-instance-id'] ?? fromValues.prometheusInstanceId } : {}),
      ...(values ? { values } : {}),
      fromLocal: flags['from-local'],
      ...(flags.sample ? { sample: flags.sample } : {}),
      ...(flags['probe-image'] ? { probeImage: flags['probe-image'] } : {}),
      probeNamespace: flags['probe-namespace'],
      timeoutMs: flags.timeout,
      probeTimeoutMs: Math.max(flags.timeout, flags['probe-pod-timeout']),
      ...(flags.only ? { only: flags.only } : {}),
      failOn,
    };
    const [out, { preflightSession }] = await Promise.all([import('../output/preflight.js'), import('../actions/preflight-session.js')]);
    if (fleet) return this.fleet(fleet, plan, out);

    const status = await this.status();
    const running = new Set<string>();
    const show = () => status.show(`checking ${[...running].slice(0, 3).join(', ')}${running.size > 3 ? ', ...' : ''}`);
    const { report, meta, exitCode } = await preflightSession(this.cfg, plan, { namespace: flags.namespace, release: flags.release }, {
      onStart: (ch) => {
        running.add(ch.id);
        show();
      },
      onResult: (r) => {
        running.delete(r.id);
        show();
      },
    });
    status.show('');
    return {
      json: () => out.renderPreflightJson(report, { ...meta, exitCode }),
      text: (c) => out.renderPreflightHuman(report, meta, c, { verbose: flags.verbose }),
      exitCode,
    };
  }

  /** Fleet mode: the same checks on every context, each with its own clients and deadline; one report. */
  private async fleet(targets: FleetTarget[], plan: PreflightPlan, out: typeof import('../output/preflight.js')): Promise<CommandResult> {
    const [{ preflightSession }, { runOnFleet }, { fleetResult }] = await Promise.all([import('../actions/preflight-session.js'), import('../fleet/fleet.js'), import('../fleet/view.js')]);
    const flags = this.flags;
    const progress = await this.fleetProgress(targets.length);
    const started = Date.now();
    const entries = await runOnFleet(
      targets,
      { kubeconfig: flags.kubeconfig, 'helm-binary': flags['helm-binary'] },
      { maxSockets: 8, run: (cfg, t) => preflightSession(cfg, plan, t) },
      { parallel: flags.parallel, timeoutMs: flags['context-timeout'], ...progress },
    );
    progress.end();
    return fleetResult(
      entries,
      {
        command: 'preflight',
        report: (s) => s.report,
        passed: (s) => s.exitCode === 0,
        verdict: (s) => (s.report.summary.failed ? 'fail' : s.report.summary.warnings ? 'warn' : 'pass'),
        text: (s, c) => out.renderPreflightHuman(s.report, s.meta, c, { verbose: flags.verbose }),
        json: (s) => out.preflightDocument(s.report, { ...s.meta, exitCode: s.exitCode }),
      },
      { failOn: plan.failOn, summaryOnly: flags.summary, durationMs: Date.now() - started },
    );
  }
}
