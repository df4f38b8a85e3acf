import * as Flags from '@oclif/core/flags';
import { BaseCommand, type CommandResult } from '../base-command.js';
import { ENV } from '../defaults.js';
import { durationFlag } from '../duration.js';
import { verifyTuning, verifyTuningFlags } from '../verify-flags.js';

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
    '<%= config.bin %> doctor --watch --watch-timeout 10m',
    `${ENV.accessKeySecret}=... <%= config.bin %> doctor --cloud`,
  ];

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
  };

  protected async execute(): Promise<CommandResult> {
    const flags = this.flags;
    const [{ doctorChecks, DEFAULT_OPTIONS }, { selectChecks }, { runDoctor }, out] = await Promise.all([
      import('../checks/doctor/index.js'),
      import('../checks/engine.js'),
      import('../actions/doctor.js'),
      import('../output/doctor.js'),
    ]);
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
    const c = await this.chalk(process.stderr);
    // One socket per in-flight probe (fast and slow pools), plus a few for the lists that run beside them.
    const { api, context, server } = await this.cfg.apiClient({ maxSockets: flags.concurrency + DEFAULT_OPTIONS.slowPool + 8 });
    const status = await this.status();
    const r = await (clusterSide ? runDoctor : noRun)(
      api,
      {
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
        ...(doctorOnly?.length ? { only: doctorOnly } : {}),
        failOn: flags['fail-on'] as 'fatal' | 'warning',
        fix: flags.fix,
        dryRun: flags['dry-run'],
        tools: this.fixTools(),
        ...(flags.watch ? { watch: { timeoutMs: flags['watch-timeout'], intervalMs: flags['watch-interval'] } } : {}),
      },
      {
        progress: (m) => status.show(m),
        watchRun: (report, run, nextInMs) => this.tell(() => `${out.renderWatchLine(report, run)}; again in ${Math.round(nextInMs / 1000)}s`),
        confirmFix: async (f) => {
          const shown = out.renderFixToApply(f, c);
          if (this.flags.yes) await this.tell(() => shown);
          return this.confirm('Apply?', shown);
        },
      },
    );
    if (r.gaveUp) await this.tell((cc) => cc.yellow(`still not healthy after ${Math.round(r.durationMs / 1000)}s of watching`));
    if (key) {
      // The cloud side once, after the cluster side: its collector findings explain what the cluster checks cannot see.
      const [{ verifyInstallation, merge }, { exitCodeFor }] = await Promise.all([import('../actions/verify.js'), import('../checks/engine.js')]);
      // Whatever stops the cloud side (no release to read the identity from, a bad value) is a finding, not the end of the report.
      const v = await verifyInstallation(
        api,
        async () => (await this.cfg.kube()).kc,
        {
          namespace: flags.namespace,
          release: flags.release,
          target: key.accessKeyId ? { accessKeyId: key.accessKeyId } : {},
          ...(key.accessKeySecret ? { accessKeySecret: key.accessKeySecret } : {}),
          ...(key.securityToken ? { securityToken: key.securityToken } : {}),
          net: flags.net as 'Internet' | 'Intranet',
          ...verifyTuning(flags),
          waitMs: 0,
          intervalMs: 1000,
          ...(verifyOnly?.length ? { only: verifyOnly } : {}),
          failOn: flags['fail-on'] as 'fatal' | 'warning',
        },
        { progress: (m) => status.show(m), waiting: () => {} },
      ).catch(async (e: unknown) => ({ report: await cloudSideFailed(e) }));
      r.report = merge(r.report, v.report);
      r.exitCode = exitCodeFor(r.report, flags['fail-on'] as 'fatal' | 'warning');
    }
    const meta = { context, server, namespace: flags.namespace, release: flags.release, durationMs: r.durationMs, ...(r.runs !== undefined ? { runs: r.runs } : {}), exitCode: r.exitCode };
    return {
      json: () => out.renderDoctorJson(r.report, meta, r.fixes),
      text: (cc) => out.renderDoctorHuman(r.report, meta, cc, { verbose: flags.verbose, fixes: r.fixes }),
      exitCode: r.exitCode,
    };
  }

  /** The helm operations release fixes use; helm and the typed clients are made only when a fix runs. */
  private fixTools(): NonNullable<import('../actions/doctor.js').DoctorRun['tools']> {
    // The same bounds as `helm rollback` and `kubectl insight uninstall` use by default.
    return {
      rollback: async (o) => (await this.cfg.helm()).rollback({ ...o, timeoutMs: 5 * 60_000 }),
      uninstall: async (o) => {
        const { uninstallKeepingCrds } = await import('../actions/doctor.js');
        await uninstallKeepingCrds(await this.cfg.kube(), await this.cfg.helm(), { ...o, timeoutMs: 2 * 60_000 });
      },
    };
  }
}

/** The cloud side could not start: one failing result in its place, with the error's own kind (3 for an unreachable API server). */
async function cloudSideFailed(e: unknown): Promise<import('../checks/engine.js').Report> {
  const [{ InsightError }, { docLink, reportOf, withDocLink }, { verifyChecks }] = await Promise.all([import('../errors.js'), import('../checks/engine.js'), import('../checks/verify/index.js')]);
  if (!(e instanceof InsightError)) throw e;
  const check = verifyChecks.find((c) => c.id === 'metrics.instance')!;
  const docs = docLink(check.id)!;
  return reportOf([
    {
      id: check.id,
      category: check.category,
      description: check.description,
      severity: 'fatal',
      status: 'failed',
      message: `the cloud checks could not start: ${e.message}`,
      hint: withDocLink('doctor --cloud reads the installation from its release (-n, --release); `kubectl insight verify` also takes --cluster-id, --region and --workspace.', docs),
      ...(e.kind ? { errorKind: e.kind } : {}),
      durationMs: 0,
      docs,
    },
  ]);
}

/** doctor's outcome when --only selects none of its own checks (only the cloud side runs). */
async function noRun(): Promise<import('../actions/doctor.js').DoctorOutcome> {
  const { reportOf } = await import('../checks/engine.js');
  return { report: reportOf([]), exitCode: 0, fixes: [], gaveUp: false, durationMs: 0 };
}
