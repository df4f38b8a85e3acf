import * as Flags from '@oclif/core/flags';
import type { ChalkInstance } from 'chalk';
import { BaseCommand, type CommandResult } from '../base-command.js';
import { checkImage } from '../input.js';
import { CHART, ENV } from '../defaults.js';
import { chartSource, valueFlags } from '../values/flags.js';
import { durationFlag } from '../duration.js';
import { verifyTuning, verifyTuningFlags } from '../verify-flags.js';

export default class Install extends BaseCommand<typeof Install> {
  static override summary = 'Install the CloudLens for Container collector (loongcollector-cluster-insight) into the cluster.';
  static override description = `Validates the chart values, runs the preflight checks, installs the Helm chart with the AccessKey secret
passed through a private temp file (never on a command line), waits for every workload to roll out and
verifies the CRDs and the custom resource, then checks that the data arrives in the workspace (the
checks of \`kubectl insight verify\`, waiting up to --verify-wait; skipped with --no-verify).

The secret is read from $${ENV.accessKeySecret}, --access-key-secret-stdin, a values file, or a hidden
prompt on a TTY. It is refused on the command line (--set accessKeySecret=... shows in \`ps\`).`;
  static override examples = [
    `${ENV.accessKeyId}=LTAI... ${ENV.accessKeySecret}=... <%= config.bin %> install --ali-uid 1234567890123456 --region cn-hangzhou --cluster-id c1 --cluster-name prod --workspace my-ws --prometheus-instance-id rw-xxx --project-name cms-my-ws-xxx`,
    '<%= config.bin %> install -f values.yaml --access-key-secret-stdin < secret.txt',
    '<%= config.bin %> install -f values.yaml --dry-run',
    '<%= config.bin %> install -f values.yaml --net Intranet --disable-alert-rule --no-gpu-exporter',
  ];

  static override flags = {
    ...valueFlags,
    'skip-preflight': Flags.boolean({ summary: 'Install even if a fatal preflight check fails.', default: false }),
    replace: Flags.boolean({ summary: 'Install over a failed first install, or an uninstalled release kept in history.', default: false }),
    force: Flags.boolean({ summary: `Install a chart whose name is not ${CHART.name} (a renamed fork).`, default: false }),
    'probe-image': Flags.string({ summary: 'Image of the preflight network probe pods (see `kubectl insight preflight --help`).', helpGroup: 'PREFLIGHT', parse: async (v) => checkImage(v) }),
    'preflight-from-local': Flags.boolean({ summary: 'Run the preflight network probes from this machine instead of probe pods on the nodes.', default: false, helpGroup: 'PREFLIGHT' }),
    verify: Flags.boolean({ summary: 'After installing, check that the data arrives in the workspace (--no-verify skips it).', default: true, allowNo: true, helpGroup: 'VERIFY' }),
    'verify-wait': durationFlag({ summary: 'How long the data check waits for the first samples', default: '3m', min: 0 }),
    ...verifyTuningFlags,
  };

  protected async execute(): Promise<CommandResult> {
    const flags = this.flags;
    const { gatherValues } = await import('../values/sources.js');
    const values = await gatherValues(flags, 'install', { release: flags.release, namespace: flags.namespace, allowUnknownRegion: flags['allow-unknown-region'], canPrompt: Boolean(process.stdin.isTTY && process.stderr.isTTY) });
    const [{ installSteps, newInstallContext, installResult }, out, helm, kube] = await Promise.all([
      import('../actions/install.js'),
      import('../output/install.js'),
      this.cfg.helm(),
      this.cfg.kubeOnDemand(),
    ]);
    const preflightGate =
      flags['skip-preflight'] || flags['dry-run']
        ? undefined
        : (await import('../actions/preflight-gate.js')).loadPreflightGate({ ...this.cfg.connection, helmBinary: flags['helm-binary'], probeImage: flags['probe-image'], fromLocal: flags['preflight-from-local'], kube, helm });
    const ctx = newInstallContext(
      {
        release: flags.release,
        namespace: flags.namespace,
        values,
        chart: chartSource(flags),
        ...(flags['image-registry'] ? { imageRegistry: flags['image-registry'] } : {}),
        allowUnknownRegion: flags['allow-unknown-region'],
        timeoutMs: flags.timeout,
        dryRun: flags['dry-run'],
        skipPreflight: flags['skip-preflight'],
        replace: flags.replace,
        force: flags.force,
        confirm: (q: string) => this.confirm(q),
      },
      { helm, kube, ...(preflightGate ? { preflight: preflightGate } : {}) },
    );
    await this.runSteps(installSteps(), ctx);
    const result = installResult(ctx);
    if (flags['dry-run'] || !flags.verify) return { json: () => out.installJson(result), text: (c) => out.renderInstallText(result, c) };
    // Installed is not done: the data must arrive, or the report names why not. The release stays either way.
    const verified = await this.verifyData(values);
    return {
      json: () => ({ ...(out.installJson(result) as object), verify: verified.json }),
      text: (c) => `${out.renderInstallText(result, c)}\n\n${verified.text(c)}`,
      exitCode: verified.exitCode,
    };
  }

  private async verifyData(values: import('../values/tree.js').Values) {
    const flags = this.flags;
    const [{ verifyInstallation }, { installationFromValues, preflightInputFromValues }, vout] = await Promise.all([import('../actions/verify.js'), import('../values/preflight.js'), import('../output/verify.js')]);
    const id = installationFromValues(values);
    const secret = preflightInputFromValues(values).accessKeySecret;
    const status = await this.status();
    await this.tell(() => `checking that the data arrives (up to ${Math.round(flags['verify-wait'] / 1000)}s)...`);
    // The check runs from this machine, so the instance's public query URL, whatever `net` the cluster uses.
    const net = 'Internet' as const;
    let r: Awaited<ReturnType<typeof verifyInstallation>>;
    let where: { context: string; server: string };
    try {
      const { api, context, server } = await this.cfg.apiClient({ maxSockets: 16 });
      where = { context, server };
      r = await verifyInstallation(
        api,
        async () => (await this.cfg.kube()).kc,
        {
          namespace: flags.namespace,
          release: flags.release,
          target: { clusterId: id.clusterId, region: id.region, workspace: id.workspace, prometheusInstanceId: id.prometheusInstanceId, accessKeyId: id.accessKeyId },
          ...(secret ? { accessKeySecret: secret } : {}),
          net,
          ...verifyTuning(flags),
          waitMs: flags['verify-wait'],
          intervalMs: 15_000,
          failOn: 'fatal',
          allowUnknownRegion: flags['allow-unknown-region'],
        },
        { progress: (m) => status.show(m), waiting: (report, run, next) => this.tell(() => `${vout.renderWaitLine(report, run)}; again in ${Math.round(next / 1000)}s`) },
      );
    } catch (e) {
      // The release is installed whatever stopped the check: say why it could not look, keep the report.
      status.show('');
      const { InsightError } = await import('../errors.js');
      if (!(e instanceof InsightError)) throw e;
      const note = `not verified: ${e.message}${e.hint ? ` (${e.hint})` : ''}`;
      return { exitCode: 0, json: { notVerified: note } as unknown, text: (c: ChalkInstance) => c.yellow(note) };
    }
    const meta = { ...where, namespace: flags.namespace, release: flags.release, ...r.target, net, runs: r.runs, gaveUp: r.gaveUp, durationMs: r.durationMs };
    // The install's key is usually the collector's, which may write but not read: then nothing is
    // known about the data, which is not a failed install. Said, and left to `verify` with a reading key.
    const fatal = r.report.results.filter((x) => x.status === 'failed' && x.severity === 'fatal');
    const cannotRead = fatal.length > 0 && fatal.every((x) => x.errorKind === 'forbidden');
    const note = cannotRead ? `not verified: the install's AccessKey may not read the workspace; run \`kubectl insight verify -n ${flags.namespace}\` with a key that has AliyunPrometheusMetricReadAccess` : undefined;
    const exitCode = cannotRead ? 0 : r.exitCode;
    return {
      exitCode,
      json: { ...(JSON.parse(vout.renderVerifyJson(r.report, { ...meta, exitCode })) as object), ...(note ? { notVerified: note } : {}) } as unknown,
      text: (c: ChalkInstance) => `${vout.renderVerifyHuman(r.report, meta, c)}${note ? `\n${c.yellow(note)}` : ''}`,
    };
  }

  /** The pods that did not become ready, above the error. */
  protected override async failureDetail(e: unknown, c: ChalkInstance): Promise<string | undefined> {
    const { renderNotReady } = await import('../output/install.js');
    return renderNotReady(e, c);
  }
}
