/**
 * One doctor run against one context, as the command and each context of a fleet run make it: the
 * cluster side (runDoctor), then the cloud side once (with --cloud), merged into one report with the
 * meta its renderers print.
 */
import type { Configuration } from '../configuration.js';
import type { DoctorOptions } from '../checks/doctor/index.js';
import { docLink, exitCodeFor, reportOf, withDocLink, type Report } from '../checks/engine.js';
import { InsightError } from '../errors.js';
import type { CommandKey } from '../values/sources.js';
import type { DoctorMeta } from '../output/doctor.js';
import { runDoctor, type DoctorIO, type DoctorOutcome, type DoctorRun } from './doctor.js';

/** The AccessKey of the cloud side, read once by the command (never from argv). */
export type CloudKey = Pick<CommandKey, 'accessKeyId' | 'accessKeySecret' | 'securityToken'>;

export interface DoctorPlan extends Omit<DoctorRun, 'tools'> {
  checks: DoctorOptions;
  /** false when --only selects none of the cluster side's checks. */
  clusterSide: boolean;
  /** The cloud side (--cloud), when it runs. */
  cloud?: {
    key: CloudKey;
    net: 'Internet' | 'Intranet';
    tuning: { timeoutMs: number; staleAfterMs: number; logLines: number };
    only?: string[];
  };
  /** Sockets of the pooled API client (probes in flight plus the lists beside them). */
  maxSockets: number;
}

export interface DoctorSession {
  outcome: DoctorOutcome;
  meta: DoctorMeta;
  /** The API server's version, from the reachability check. */
  kubernetesVersion: string;
}

/** The API client's GET to /version decides reachability first: an unreachable server fails here (exit 3). */
export async function doctorSession(cfg: Configuration, plan: DoctorPlan, io: DoctorIO & { cloudProgress?: (m: string) => void }): Promise<DoctorSession> {
  const { api, context, server, kubernetesVersion } = await cfg.apiClient({ maxSockets: plan.maxSockets });
  const r = plan.clusterSide ? await runDoctor(api, { ...plan, tools: fixTools(cfg) }, io) : noRun();
  if (plan.cloud) {
    const { verifyInstallation, merge } = await import('./verify.js');
    const c = plan.cloud;
    // Whatever stops the cloud side (no release to read the identity from, a bad value) is a finding, not the end of the report.
    const v = await verifyInstallation(
      api,
      async () => (await cfg.kube()).kc,
      {
        namespace: plan.checks.namespace,
        release: plan.checks.release,
        target: c.key.accessKeyId ? { accessKeyId: c.key.accessKeyId } : {},
        ...(c.key.accessKeySecret ? { accessKeySecret: c.key.accessKeySecret } : {}),
        ...(c.key.securityToken ? { securityToken: c.key.securityToken } : {}),
        net: c.net,
        ...c.tuning,
        waitMs: 0,
        intervalMs: 1000,
        ...(c.only?.length ? { only: c.only } : {}),
        failOn: plan.failOn,
      },
      { progress: io.cloudProgress ?? io.progress, waiting: () => {} },
    ).catch(async (e: unknown) => ({ report: await cloudSideFailed(e) }));
    r.report = merge(r.report, v.report);
    r.exitCode = exitCodeFor(r.report, plan.failOn);
  }
  const meta: DoctorMeta = { context, server, namespace: plan.checks.namespace, release: plan.checks.release, durationMs: r.durationMs, ...(r.runs !== undefined ? { runs: r.runs } : {}), exitCode: r.exitCode };
  return { outcome: r, meta, kubernetesVersion };
}

/** The helm operations release fixes use; helm and the typed clients are made only when a fix runs. */
function fixTools(cfg: Configuration): NonNullable<DoctorRun['tools']> {
  // The same bounds as `helm rollback` and `kubectl insight uninstall` use by default.
  return {
    rollback: async (o) => (await cfg.helm()).rollback({ ...o, timeoutMs: 5 * 60_000 }),
    uninstall: async (o) => {
      const { uninstallKeepingCrds } = await import('./doctor.js');
      await uninstallKeepingCrds(await cfg.kube(), await cfg.helm(), { ...o, timeoutMs: 2 * 60_000 });
    },
  };
}

/** doctor's outcome when --only selects none of its own checks (only the cloud side runs). */
function noRun(): DoctorOutcome {
  const report: Report = reportOf([]);
  return { report, exitCode: 0, fixes: [], gaveUp: false, durationMs: 0 };
}

/** The cloud side could not start: one failing result in its place, with the error's own kind (3 for an unreachable API server). */
async function cloudSideFailed(e: unknown): Promise<Report> {
  if (!(e instanceof InsightError)) throw e;
  const { verifyChecks } = await import('../checks/verify/index.js');
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
