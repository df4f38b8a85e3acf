import * as Flags from '@oclif/core/flags';
import { BaseCommand, type CommandResult } from '../base-command.js';
import { ENV } from '../defaults.js';
import { durationFlag } from '../duration.js';
import { verifyTuning, verifyTuningFlags } from '../verify-flags.js';
import { InsightError } from '../errors.js';
import { fleetFlags } from '../fleet/flags.js';
import type { FleetTarget } from '../fleet/targets.js';
import type { DoctorPlan } from '../actions/doctor-session.js';

export default class Doctor extends BaseCommand<typeof Doctor> {
  static override summary = 'Find why metrics are not arriving: pods, exporters, scrape chain, kubelet, custom resources.';
  static override description =
    'Walks the whole collection chain and reports each finding with its evidence and a fix. Exit 0 when healthy, 1 on any failure (with --fail-on warning, also on warnings).';
  static override examples = [
    '<%= config.bin %> doctor',
    '<%= config.bin %> doctor --logs',
    '<%= config.bin %> doctor -o json --fail-on warning',
    '<%= config.bin %> doctor --all-monitors',
    '<%= config.bin %> doctor --fix',
    '<%= config.bin %> doctor --fix --dry-run',
    '<%= config.bin %> doctor --all-contexts --summary',
    '<%= config.bin %> doctor --context prod-hz --context prod-bj -o json',
    '<%= config.bin %> doctor --contexts-file clusters.txt --parallel 4',
    '<%= config.bin %> doctor --watch --watch-timeout 10m',
    `${ENV.accessKeySecret}=... <%= config.bin %> doctor --cloud`,
  ];

  static override fleet = true;
  static override flags = {
    'fail-on': Flags.string({ summary: 'Lowest severity that makes the exit code 1.', options: ['fatal', 'warning'], default: 'fatal' }),
    logs: Flags.boolean({ summary: 'Include the last log lines of failing containers.', default: false }),
    'log-lines': Flags.integer({ summary: 'Log lines per failing container with --logs.', default: 20, min: 1, max: 500 }),
    'all-monitors': Flags.boolean({ summary: 'Check every ServiceMonitor/PodMonitor in the cluster, not only the installation\'s.', default: false }),
    fix: Flags.boolean({ summary: 'Apply safe, named remediations (each shown first; confirmed unless --yes). See docs/doctor.md#fixes.', default: false }),
    'dry-run': Flags.boolean({ summary: 'With --fix: show each fix and re-check its condition; change nothing.', default: false, dependsOn: ['fix'] }),
    'operation-timeout': durationFlag({ summary: 'A release pending longer than this (the --timeout of the interrupted install, upgrade or rollback) is repaired by --fix', default: '5m', min: 1000 }),
    watch: Flags.boolean({ summary: 'Re-run until healthy or --watch-timeout.', default: false }),
    'watch-timeout': durationFlag({ summary: 'Give up watching after this long', default: '5m', min: 1000 }),
    'watch-interval': durationFlag({ summary: 'Pause between runs with --watch', default: '10s', min: 1000, max: 3_600_000 }),
    'probe-timeout': durationFlag({ summary: 'Timeout of each exporter/kubelet probe', default: '3s', min: 100, max: 300_000 }),
    concurrency: Flags.integer({ summary: 'Exporter probes in flight at once.', default: 48, min: 1, max: 512 }),
    'full-scrape': Flags.boolean({ summary: 'Fetch and validate /metrics on every DaemonSet pod, not a sample.', default: false }),
    'kubelet-nodes': Flags.integer({ summary: 'Ready nodes whose kubelet endpoints are probed.', default: 3, min: 1 }),
    only: Flags.string({ summary: 'Run only checks whose id starts with this (repeatable), e.g. scrape or pods.health.', multiple: true }),
    cloud: Flags.boolean({ summary: 'Also check that the data arrives in the workspace (the checks of `verify`; needs the AccessKey).', default: false, helpGroup: 'CLOUD' }),
    'access-key-id': Flags.string({ summary: `AccessKey ID for --cloud (default: $${ENV.accessKeyId}, else the release's).`, env: ENV.accessKeyId, helpGroup: 'CLOUD' }),
    'access-key-secret-stdin': Flags.boolean({ summary: 'Read the AccessKey secret for --cloud from stdin.', default: false, helpGroup: 'CLOUD' }),
    net: Flags.string({ summary: 'Which query URL of the instance --cloud uses.', options: ['Internet', 'Intranet'], default: 'Internet', helpGroup: 'CLOUD' }),
    ...verifyTuningFlags,
    ...fleetFlags('3m'),
  };

  protected async execute(): Promise<CommandResult> {
    const flags = this.flags;
    const [{ doctorChecks, DEFAULT_OPTIONS }, { selectChecks }, out, { fleetTargets }] = await Promise.all([
      import('../checks/doctor/index.js'),
      import('../checks/engine.js'),
      import('../output/doctor.js'),
      import('../fleet/targets.js'),
    ]);
    // Which clusters: every name is checked against kubeconfig before anything is contacted.
    const fleet = fleetTargets(flags);
    if (fleet && (flags.fix || flags.watch)) {
      throw new InsightError('usage', `--${flags.fix ? 'fix' : 'watch'} works on one cluster at a time`, { hint: 'Run doctor on the fleet to find the clusters that need it, then `kubectl insight doctor --context <name> --fix` on each.' });
    }
    // A typo in --only is bad input: said before the cluster is contacted.
    const verifyChecks = flags.cloud ? (await import('../checks/verify/index.js')).verifyChecks : [];
    selectChecks([...doctorChecks, ...verifyChecks], flags.only);
    // --only picks from both sides; a side it selects nothing of does not run.
    const onlyOf = (checks: readonly { id: string }[]) => flags.only?.filter((p) => checks.some((c) => c.id.startsWith(p)));
    const [doctorOnly, verifyOnly] = [onlyOf(doctorChecks), onlyOf(verifyChecks)];
    const clusterSide = !flags.only?.length || Boolean(doctorOnly?.length);
    const cloudSide = flags.cloud && (!flags.only?.length || Boolean(verifyOnly?.length));
    const key = cloudSide
      ? await (await import('../values/sources.js')).readCommandKey({ stdin: flags['access-key-secret-stdin'], promptIfMissing: true, keyIdLater: true, ...(flags['access-key-id'] ? { keyId: flags['access-key-id'] } : {}) })
      : undefined;
    const failOn = flags['fail-on'] as 'fatal' | 'warning';
    const plan: DoctorPlan = {
      checks: {
        ...DEFAULT_OPTIONS,
        namespace: flags.namespace,
        release: flags.release,
        allMonitors: flags['all-monitors'],
        logs: flags.logs,
        logLines: flags['log-lines'],
        probeTimeoutMs: flags['probe-timeout'],
        concurrency: flags.concurrency,
        scrapeSample: flags['full-scrape'] ? Number.MAX_SAFE_INTEGER : DEFAULT_OPTIONS.scrapeSample,
        kubeletNodes: flags['kubelet-nodes'],
        operationTimeoutMs: flags['operation-timeout'],
      },
      clusterSide,
      ...(doctorOnly?.length ? { only: doctorOnly } : {}),
      failOn,
      fix: flags.fix,
      dryRun: flags['dry-run'],
      ...(flags.watch ? { watch: { timeoutMs: flags['watch-timeout'], intervalMs: flags['watch-interval'] } } : {}),
      ...(key ? { cloud: { key, net: flags.net as 'Internet' | 'Intranet', tuning: verifyTuning(flags), ...(verifyOnly?.length ? { only: verifyOnly } : {}) } } : {}),
      // One socket per in-flight probe (fast and slow pools), plus a few for the lists that run beside them.
      maxSockets: flags.concurrency + DEFAULT_OPTIONS.slowPool + 8,
    };
    if (fleet) return this.fleet(fleet, plan, out);
    const { doctorSession } = await import('../actions/doctor-session.js');

    const c = await this.chalk(process.stderr);
    const status = await this.status();
    const { outcome: r, meta } = await doctorSession(this.cfg, plan, {
      progress: (m) => status.show(m),
      watchRun: (report, run, nextInMs) => this.tell(() => `${out.renderWatchLine(report, run)}; again in ${Math.round(nextInMs / 1000)}s`),
      confirmFix: async (f) => {
        const shown = out.renderFixToApply(f, c);
        if (this.flags.yes) await this.tell(() => shown);
        return this.confirm('Apply?', shown);
      },
    });
    if (r.gaveUp) await this.tell((cc) => cc.yellow(`still not healthy after ${Math.round(r.durationMs / 1000)}s of watching`));
    return {
      json: () => out.renderDoctorJson(r.report, meta, r.fixes),
      text: (cc) => out.renderDoctorHuman(r.report, meta, cc, { verbose: flags.verbose, fixes: r.fixes }),
      exitCode: r.exitCode,
    };
  }

  /** Fleet mode: the same plan on every context, each with its own clients and deadline; one report. */
  private async fleet(targets: FleetTarget[], plan: DoctorPlan, out: typeof import('../output/doctor.js')): Promise<CommandResult> {
    const [{ doctorSession }, { runOnFleet }, { fleetResult }] = await Promise.all([import('../actions/doctor-session.js'), import('../fleet/fleet.js'), import('../fleet/view.js')]);
    const flags = this.flags;
    const progress = await this.fleetProgress(targets.length);
    const started = Date.now();
    // Nothing is asked in fleet mode (no --fix, no --watch): the IO only reports.
    const io = { progress: () => {}, watchRun: () => {}, confirmFix: async () => undefined };
    const entries = await runOnFleet(
      targets,
      { kubeconfig: flags.kubeconfig, 'helm-binary': flags['helm-binary'] },
      { maxSockets: plan.maxSockets, run: (cfg, t) => doctorSession(cfg, { ...plan, checks: { ...plan.checks, namespace: t.namespace, release: t.release } }, io) },
      { parallel: flags.parallel, timeoutMs: flags['context-timeout'], ...progress },
    );
    progress.end();
    return fleetResult(
      entries,
      {
        command: 'doctor',
        report: (s) => s.outcome.report,
        passed: (s) => s.outcome.exitCode === 0,
        verdict: (s) => out.verdict(s.outcome.report),
        text: (s, c) => out.renderDoctorHuman(s.outcome.report, s.meta, c, { verbose: flags.verbose }),
        json: (s) => out.doctorDocument(s.outcome.report, s.meta),
      },
      { failOn: flags['fail-on'], summaryOnly: flags.summary, durationMs: Date.now() - started },
    );
  }
}
