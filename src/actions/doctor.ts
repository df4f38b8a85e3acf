import { doctorChecks, DoctorContext, type DoctorOptions } from '../checks/doctor/index.js';
import type { Fix, FixEnv } from '../checks/doctor/context.js';
import { exitCodeFor, runChecks, type Report } from '../checks/engine.js';
import { ExitCode, InsightError } from '../errors.js';
import { serverClockOffset, serverNow } from '../kube/clock.js';
import { redact } from '../secret.js';
import type { Helm } from '../helm/helm.js';
import type { Kube } from '../kube/client.js';
import type { ApiClient } from '../kube/proxy.js';
import { runSteps } from './steps.js';
import type { UninstallOptions } from './uninstall/index.js';

/** A fix as reported: what it does, its kubectl equivalent, and what became of it. */
export interface FixView {
  id: string;
  description: string;
  command: string;
  /** What to do next once it is applied. */
  next?: string;
  /** Set once applied or failed; `planned` with --dry-run (its condition checked, nothing changed). */
  outcome?: 'applied' | 'failed' | 'declined' | 'skipped' | 'planned';
  error?: string;
}

export interface DoctorRun {
  checks: DoctorOptions;
  only?: string[];
  failOn: 'fatal' | 'warning';
  /** Apply the fixes the checks offer (each confirmed through `io.confirmFix`). */
  fix: boolean;
  /** With fix: check each fix's condition and report it as planned; change nothing, ask nothing. */
  dryRun?: boolean;
  /** The helm operations a release fix uses (see FixEnv); without them such a fix fails, saying so. */
  tools?: Omit<FixEnv, 'api' | 'now'>;
  /** Re-run until healthy or the time is up. */
  watch?: { timeoutMs: number; intervalMs: number };
}

/** What the doctor action tells and asks the person running it. */
export interface DoctorIO {
  progress: (message: string) => void;
  /** A watched run ended unhealthy; the next starts in `nextInMs`. */
  watchRun(report: Report, run: number, nextInMs: number): Promise<void> | void;
  /** Show the fix and ask: true to apply, false to decline, undefined when nobody can be asked. */
  confirmFix(fix: FixView): Promise<boolean | undefined>;
}

export interface DoctorOutcome {
  report: Report;
  exitCode: number;
  fixes: FixView[];
  /** Runs made with --watch (with --fix: the runs before the re-check). */
  runs?: number;
  /** --watch gave up before the installation was healthy. */
  gaveUp: boolean;
  durationMs: number;
}

/** Run the doctor checks (again and again with --watch), apply fixes with --fix, and re-check after fixing. */
export async function runDoctor(api: ApiClient, o: DoctorRun, io: DoctorIO): Promise<DoctorOutcome> {
  const started = Date.now();
  // Ages (a pending release, a probe pod's run) are judged on the API server's clock.
  const offset = o.checks.now ? 0 : await serverClockOffset(api).catch(() => 0);
  const now = () => serverNow(offset);
  const check = async (progress?: (m: string) => void, fresh = false) => {
    const ctx = new DoctorContext(api, { ...o.checks, now: o.checks.now ?? now(), ...(fresh ? { fresh } : {}) });
    if (progress) ctx.progress = progress;
    // Every category at once: the probes start as soon as the pod list arrives, and a black-holed
    // exporter's timeout overlaps the other categories instead of being added after them.
    const report = await runChecks(doctorChecks, ctx, progress ? { onStart: (ch) => progress(`checking ${ch.description}...`) } : {}, { concurrency: doctorChecks.length, overlap: true, ...(o.only ? { only: o.only } : {}) });
    progress?.('');
    return { report, fixes: ctx.fixes };
  };
  const done = (report: Report, runs: number | undefined, fixes: FixView[], gaveUp = false): DoctorOutcome => ({
    report,
    exitCode: exitCodeFor(report, o.failOn),
    fixes,
    ...(runs !== undefined ? { runs } : {}),
    gaveUp,
    durationMs: Date.now() - started,
  });
  for (let run = 1; ; run++) {
    const { report, fixes: offered } = await check(io.progress);
    let fixes = offered.map(view);
    if (o.fix && offered.length) {
      fixes = await applyFixes(offered, { api, now, ...(o.tools ?? noTools) }, io, { dryRun: o.dryRun ?? false });
      // Re-check after fixing, so the report shows the state the fixes left: read from etcd, since the
      // watch cache may not have seen the fixes' writes yet.
      if (fixes.some((f) => f.outcome === 'applied')) return done((await check(undefined, true)).report, run, fixes);
    }
    if (!o.watch) return done(report, undefined, fixes);
    if (exitCodeFor(report, o.failOn) === 0) return done(report, run, fixes);
    if (Date.now() - started + o.watch.intervalMs > o.watch.timeoutMs) return done(report, run, fixes, true);
    await io.watchRun(report, run, o.watch.intervalMs);
    await new Promise((r) => setTimeout(r, o.watch!.intervalMs));
  }
}

const view = (f: Fix): FixView => ({ id: f.id, description: f.description, command: f.command, ...(f.next ? { next: f.next } : {}) });

const missing = async (): Promise<never> => {
  throw new Error('this fix needs helm, which this doctor run was not given');
};
const noTools: Omit<FixEnv, 'api' | 'now'> = { rollback: missing, uninstall: missing };

/** Show each fix, ask (unless --yes), apply; a declined or failed fix is reported, never hidden. */
export async function applyFixes(fixes: readonly Fix[], env: FixEnv, io: Pick<DoctorIO, 'confirmFix'>, opts: { dryRun: boolean } = { dryRun: false }): Promise<FixView[]> {
  const views: FixView[] = [];
  for (const f of fixes) {
    const v = view(f);
    if (opts.dryRun) {
      try {
        const changed = await f.precondition?.(env);
        views.push(changed ? { ...v, outcome: 'skipped', error: `would not be applied: ${changed}` } : { ...v, outcome: 'planned' });
      } catch (e) {
        views.push({ ...v, outcome: 'failed', error: oneLine(e) });
      }
      continue;
    }
    const ok = await io.confirmFix(v);
    if (ok === undefined) {
      // Nothing is applied when nobody can confirm: the first fix already asks.
      throw new InsightError('aborted', `--fix would change the cluster (${fixes.length} fix${fixes.length === 1 ? '' : 'es'}) and there is no terminal to confirm on`, {
        hint: 'Review them with `kubectl insight doctor` (they are listed under Fixes), then pass --fix --yes.',
        exitCode: ExitCode.Aborted,
      });
    }
    if (!ok) {
      views.push({ ...v, outcome: 'declined' });
      continue;
    }
    try {
      // The condition that made the fix safe is checked again right before it acts.
      const changed = await f.precondition?.(env);
      if (changed) {
        views.push({ ...v, outcome: 'skipped', error: `not applied: ${changed}` });
        continue;
      }
      await f.apply(env);
      views.push({ ...v, outcome: 'applied' });
    } catch (e) {
      views.push({ ...v, outcome: 'failed', error: oneLine(e) });
    }
  }
  return views;
}

const oneLine = (e: unknown): string => redact((e instanceof Error ? e.message : String(e)).split('\n')[0] ?? String(e));

/**
 * doctor's repair of a half-done install: the same ordered steps as `kubectl insight uninstall`
 * (custom resource first while the operator runs, then the release, then its pods), CRDs and the
 * namespace kept. A plan that would need --force (another chart, a GitOps owner) stops the fix.
 */
export async function uninstallKeepingCrds(kube: Kube, helm: Helm, o: { release: string; namespace: string; timeoutMs: number }): Promise<void> {
  const u = await import('./uninstall/index.js');
  const opts: UninstallOptions = { release: o.release, namespace: o.namespace, purgeCrds: false, force: false, deleteNamespace: false, timeoutMs: o.timeoutMs };
  const { discovery, plan } = await u.planUninstall(kube, helm, opts);
  if (plan.nothingInstalled) return;
  await runSteps(u.uninstallSteps(), u.newContext(kube, helm, opts, discovery, plan));
}
