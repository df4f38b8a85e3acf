import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../base-command.js';
import { durationFlag } from '../duration.js';
import { ExitCode, InsightError } from '../errors.js';

export default class Doctor extends BaseCommand {
  static override summary = 'Find why metrics are not arriving: pods, exporters, scrape chain, kubelet, custom resources.';
  static override description =
    'Walks the whole collection chain and reports each finding with its evidence and a fix. Exit 0 when healthy, 1 on any failure (with --fail-on warning, also on warnings).';
  static override examples = [
    '<%= config.bin %> doctor',
    '<%= config.bin %> doctor --logs',
    '<%= config.bin %> doctor -o json --fail-on warning',
    '<%= config.bin %> doctor --all-monitors',
    '<%= config.bin %> doctor --fix',
    '<%= config.bin %> doctor --watch --watch-timeout 10m',
  ];

  static override flags = {
    'fail-on': Flags.string({ summary: 'Lowest severity that makes the exit code 1.', options: ['fatal', 'warning'], default: 'fatal' }),
    logs: Flags.boolean({ summary: 'Include the last log lines of failing containers.', default: false }),
    'log-lines': Flags.integer({ summary: 'Log lines per failing container with --logs.', default: 20, min: 1, max: 500 }),
    'all-monitors': Flags.boolean({ summary: 'Check every ServiceMonitor/PodMonitor in the cluster, not only the installation\'s.', default: false }),
    fix: Flags.boolean({ summary: 'Apply safe, named remediations (each shown first; confirmed unless --yes).', default: false }),
    watch: Flags.boolean({ summary: 'Re-run until healthy or --watch-timeout.', default: false }),
    'watch-timeout': durationFlag({ summary: 'Give up watching after this long', default: '5m', min: 1000 }),
    'watch-interval': durationFlag({ summary: 'Pause between runs with --watch', default: '10s', min: 1000, max: 3_600_000 }),
    'probe-timeout': durationFlag({ summary: 'Timeout of each exporter/kubelet probe', default: '3s', min: 100, max: 300_000 }),
    concurrency: Flags.integer({ summary: 'Exporter probes in flight at once.', default: 48, min: 1, max: 512 }),
    'full-scrape': Flags.boolean({ summary: 'Fetch and validate /metrics on every DaemonSet pod, not a sample.', default: false }),
    'kubelet-nodes': Flags.integer({ summary: 'Ready nodes whose kubelet endpoints are probed.', default: 3, min: 1 }),
    only: Flags.string({ summary: 'Run only checks whose id starts with this (repeatable), e.g. scrape or pods.health.', multiple: true }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Doctor);
    const json = flags.output === 'json';
    const c = await this.chalkFor(flags);
    const probeTimeoutMs = flags['probe-timeout'];
    const watchTimeoutMs = flags['watch-timeout'];
    const watchIntervalMs = flags['watch-interval'];
    const failOn = flags['fail-on'] as 'fatal' | 'warning';

    const { loadKubeconfig } = await import('../kube/kubeconfig.js');
    const { ApiClient } = await import('../kube/proxy.js');
    const { doctorChecks, DoctorContext, DEFAULT_OPTIONS } = await import('../checks/doctor/index.js');
    const { runChecks, exitCodeFor, selectChecks } = await import('../checks/engine.js');
    // A typo in --only is bad input: said before the cluster is contacted.
    selectChecks(doctorChecks, flags.only);
    const out = await import('../output/doctor.js');

    // The same loader (and the same errors for a missing file or context) as every other command.
    const kc = loadKubeconfig({ ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}), ...(flags.context ? { context: flags.context } : {}) });
    // One socket per in-flight probe (fast and slow pools), plus a few for the lists that run beside them.
    const api = await ApiClient.create(kc, { maxSockets: flags.concurrency + DEFAULT_OPTIONS.slowPool + 8 });
    const opts = {
      ...DEFAULT_OPTIONS,
      namespace: flags.namespace,
      release: flags.release,
      allMonitors: flags['all-monitors'],
      logs: flags.logs,
      logLines: flags['log-lines'],
      probeTimeoutMs,
      concurrency: flags.concurrency,
      scrapeSample: flags['full-scrape'] ? Number.MAX_SAFE_INTEGER : DEFAULT_OPTIONS.scrapeSample,
      kubeletNodes: flags['kubelet-nodes'],
    };
    const tty = !json && Boolean(process.stderr.isTTY);
    const progress = (m: string) => {
      if (tty) process.stderr.write(`\r\x1b[2K${c.dim(m)}`);
    };
    const clearProgress = () => {
      if (tty) process.stderr.write('\r\x1b[2K');
    };
    // Fail fast with the right exit code (3: unreachable or bad credentials) before any check runs.
    const { kubeCall } = await import('../kube/errors.js');
    try {
      await kubeCall({ verb: 'get', resource: 'version' }, () => api.getJson('/version', { timeoutMs: 15_000 }), { idempotent: true, attempts: 2 }, kc.getCurrentCluster()!.server);
    } catch (e) {
      api.close();
      throw e;
    }
    const started = Date.now();
    const meta = () => ({ context: kc.getCurrentContext(), server: kc.getCurrentCluster()!.server, namespace: flags.namespace, release: flags.release, durationMs: Date.now() - started });

    try {
      let run = 0;
      let fixes: import('../output/doctor.js').FixView[] = [];
      for (;;) {
        run++;
        const ctx = new DoctorContext(api, opts);
        ctx.progress = progress;
        const report = await runChecks(doctorChecks, ctx, { onStart: (ch) => progress(`checking ${ch.description}...`) }, { concurrency: 8, ...(flags.only ? { only: flags.only } : {}) });
        clearProgress();
        if (flags.fix && ctx.fixes.length) {
          fixes = await this.applyFixes(ctx.fixes, api, { yes: flags.yes, json }, c);
          // Re-check after fixing, so the report shows the state the fixes left.
          if (fixes.some((f) => f.outcome === 'applied')) {
            const again = new DoctorContext(api, opts);
            const after = await runChecks(doctorChecks, again, {}, { concurrency: 8, ...(flags.only ? { only: flags.only } : {}) });
            return this.finish(after, { ...meta(), runs: run }, fixes, json, failOn, flags.verbose, c);
          }
        } else if (!flags.fix) {
          fixes = ctx.fixes.map((f) => ({ id: f.id, description: f.description, command: f.command }));
        }
        const code = exitCodeFor(report, failOn);
        if (!flags.watch || code === 0 || Date.now() - started + watchIntervalMs > watchTimeoutMs) {
          if (flags.watch && code !== 0 && !json) process.stderr.write(`${c.yellow(`still not healthy after ${Math.round((Date.now() - started) / 1000)}s of watching`)}\n`);
          return this.finish(report, { ...meta(), ...(flags.watch ? { runs: run } : {}) }, fixes, json, failOn, flags.verbose, c);
        }
        if (!json) process.stderr.write(`${out.renderWatchLine(report, run)}; again in ${Math.round(watchIntervalMs / 1000)}s\n`);
        await new Promise((r) => setTimeout(r, watchIntervalMs));
      }
    } finally {
      api.close();
    }
  }

  private async finish(
    report: import('../checks/engine.js').Report,
    meta: { context: string; server: string; namespace: string; release: string; durationMs: number; runs?: number },
    fixes: import('../output/doctor.js').FixView[],
    json: boolean,
    failOn: 'fatal' | 'warning',
    verbose: boolean,
    c: import('chalk').ChalkInstance,
  ): Promise<void> {
    const { exitCodeFor } = await import('../checks/engine.js');
    const out = await import('../output/doctor.js');
    const exitCode = exitCodeFor(report, failOn);
    const m = { ...meta, exitCode };
    this.out(json ? out.renderDoctorJson(report, m, fixes) : out.renderDoctorHuman(report, m, c, { verbose, fixes }));
    process.exitCode = exitCode;
  }

  /** Show each fix, ask (unless --yes), apply; a declined or failed fix is reported, never hidden. */
  private async applyFixes(
    fixes: import('../checks/doctor/context.js').Fix[],
    api: import('../kube/proxy.js').ApiClient,
    o: { yes: boolean; json: boolean },
    c: import('chalk').ChalkInstance,
  ): Promise<import('../output/doctor.js').FixView[]> {
    if (!o.yes && (o.json || !process.stdin.isTTY || !process.stderr.isTTY)) {
      throw new InsightError('aborted', `--fix would change the cluster (${fixes.length} fix${fixes.length === 1 ? '' : 'es'}) and there is no terminal to confirm on`, {
        hint: 'Review them with `kubectl insight doctor` (they are listed under Fixes), then pass --fix --yes.',
        exitCode: ExitCode.Aborted,
      });
    }
    const views: import('../output/doctor.js').FixView[] = [];
    for (const f of fixes) {
      const v: import('../output/doctor.js').FixView = { id: f.id, description: f.description, command: f.command };
      if (!o.yes) {
        const { createInterface } = await import('node:readline/promises');
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        try {
          process.stderr.write(`${c.bold('Fix:')} ${f.description}\n  ${c.dim(f.command)}\n`);
          const a = (await rl.question('Apply? [y/N] ')).trim().toLowerCase();
          if (a !== 'y' && a !== 'yes') {
            v.outcome = 'declined';
            views.push(v);
            continue;
          }
        } finally {
          rl.close();
        }
      } else if (!o.json) {
        process.stderr.write(`${c.bold('Fix:')} ${f.description}\n  ${c.dim(f.command)}\n`);
      }
      try {
        // The condition that made the fix safe is checked again right before it acts.
        const changed = await f.precondition?.(api);
        if (changed) {
          v.outcome = 'skipped';
          v.error = `not applied: ${changed}`;
          views.push(v);
          continue;
        }
        await f.apply(api);
        v.outcome = 'applied';
      } catch (e) {
        v.outcome = 'failed';
        v.error = (e as Error).message.split('\n')[0] ?? String(e);
      }
      views.push(v);
    }
    return views;
  }
}
