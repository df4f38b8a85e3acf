/**
 * verify as an action: resolve which installation to look for (flags, else the release's own values),
 * build the cluster and cloud sides, and run the checks, again and again with --wait until every
 * expected source has reported or the wait ends. Only "not there yet" failures are waited on; a
 * refused key or a missing instance ends the wait at once. The collector's log is read once, at the
 * end, and only when something is still missing.
 */
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import type { DoctorContext } from '../checks/doctor/context.js';
import { exitCodeFor, reportOf, runChecks, type Report } from '../checks/engine.js';
import { verifyChecks, VerifyContext, type VerifyCloud, type VerifyCluster, type VerifyInput } from '../checks/verify/index.js';
import { tailCommand } from '../checks/verify/collector.js';
import type { NetMode } from '../cloud/endpoints.js';
import type { CloudCredentials } from '../cloud/credentials.js';
import { WORKSPACE_PATTERN } from '../cloud/entities.js';
import { getPath } from '../values/tree.js';
import { validateValues } from '../values/validate.js';
import type { StoredRelease } from '../helm/storage.js';
import { InsightError } from '../errors.js';
import { execInContainer } from '../kube/exec.js';
import type { ApiClient } from '../kube/proxy.js';

/** What flags can say about the installation; anything left out comes from the release's values. */
export interface VerifyTarget {
  clusterId?: string | undefined;
  region?: string | undefined;
  workspace?: string | undefined;
  prometheusInstanceId?: string | undefined;
  accessKeyId?: string | undefined;
}

/**
 * The installation to verify: flags win over the release's values. A missing cluster id or region, or
 * any value install would refuse (the same validation), is bad input, said before anything is contacted.
 */
export function resolveTarget(t: VerifyTarget, release: StoredRelease | undefined, where: { namespace: string; release: string; allowUnknownRegion?: boolean }): Required<Pick<VerifyTarget, 'clusterId' | 'region'>> & VerifyTarget {
  const v = release?.installation ?? {};
  const out = {
    clusterId: t.clusterId ?? v.clusterId,
    region: t.region ?? v.region,
    workspace: t.workspace ?? v.workspace,
    prometheusInstanceId: t.prometheusInstanceId ?? v.prometheusInstanceId,
    accessKeyId: t.accessKeyId ?? v.accessKeyId,
  };
  const missing = (['clusterId', 'region'] as const).filter((k) => !out[k]);
  if (missing.length) {
    const flags = missing.map((k) => (k === 'clusterId' ? '--cluster-id' : '--region')).join(' and ');
    throw new InsightError('usage', release ? `the release ${where.namespace}/${where.release} has no ${missing.join(' or ')} in its values` : `no release ${where.release} in namespace ${where.namespace} to read the cluster id and region from`, {
      hint: `Pass ${flags} (and --workspace, --prometheus-instance-id), or -n/--release of the installation.`,
    });
  }
  const checked = validateValues(
    { clusterID: out.clusterId, region: out.region, ...(out.workspace ? { workspace: out.workspace } : {}), ...(out.prometheusInstanceId ? { operator: { prometheus: { prometheusInstanceID: out.prometheusInstanceId } } } : {}) },
    { requireAll: false, allowUnknownRegion: Boolean(where.allowUnknownRegion) },
  );
  const region = getPath(checked, 'region') as string;
  // The workspace also goes into a URL path.
  if (out.workspace && !WORKSPACE_PATTERN.test(out.workspace)) throw new InsightError('usage', `workspace ${JSON.stringify(out.workspace.slice(0, 60))} is not a workspace name`, { hint: 'Use the workspace name (e.g. my-workspace), without /, ?, #, % or spaces.' });
  return { ...out, region } as ReturnType<typeof resolveTarget>;
}

/** The cluster side from doctor's lists (one paginated list per kind) plus exec for the log files. */
export function verifyCluster(d: DoctorContext, api: Pick<ApiClient, 'get'>, kc: () => Promise<KubeConfig>, timeoutMs: number): VerifyCluster {
  return {
    nodes: () => d.nodes(),
    pods: () => d.pods(),
    daemonSets: () => d.daemonSets(),
    deployments: () => d.deployments(),
    async podCount() {
      // One item and the server's count of the rest: no full list of every pod.
      const r = await api.get('/api/v1/pods?limit=1', { timeoutMs });
      if (r.status !== 200) throw new Error(`list pods: HTTP ${r.status}`);
      const j = JSON.parse(r.body) as { items?: unknown[]; metadata?: { remainingItemCount?: number } };
      return (j.items?.length ?? 0) + (j.metadata?.remainingItemCount ?? 0);
    },
    async collectorLog(pod: V1Pod, container: string, lines: number) {
      const ns = pod.metadata!.namespace!;
      const name = pod.metadata!.name!;
      let execProblem = '';
      try {
        const r = await execInContainer(await kc(), ns, name, container, tailCommand(lines), { timeoutMs, maxBytes: 1 << 20 });
        if (r.status === 'Success' && r.stdout.trim()) return { text: r.stdout, via: 'log file (exec)' };
        execProblem = r.status === 'Success' ? 'no log file' : (r.message ?? r.status);
      } catch (e) {
        execProblem = describeError(e);
      }
      const q = new URLSearchParams({ container, tailLines: String(lines) });
      const r = await api.get(`/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(name)}/log?${q.toString()}`, { timeoutMs, maxBytes: 1 << 20, accept: '*/*' });
      if (r.status === 200) return { text: r.body, via: `stdout log (exec: ${execProblem})` };
      return { error: `exec: ${execProblem}; logs: HTTP ${r.status}` };
    },
  };
}

export async function defaultCloud(): Promise<VerifyCloud> {
  const [{ getPrometheusInstance }, { promQuery, promLabels }, { getEntityStoreData }] = await Promise.all([import('../cloud/credentials.js'), import('../cloud/prometheus.js'), import('../cloud/entities.js')]);
  return { instance: getPrometheusInstance, query: promQuery, labels: promLabels, entities: getEntityStoreData };
}

export interface VerifyRun {
  input: Omit<VerifyInput, 'creds'> & { creds: CloudCredentials; net: NetMode };
  cluster: () => VerifyCluster;
  cloud: VerifyCloud;
  only?: string[];
  failOn: 'fatal' | 'warning';
  /** Keep checking until every source reports, at most this long (0: one pass). */
  waitMs: number;
  intervalMs: number;
  now?: () => Date;
}

export interface VerifyOutcome {
  report: Report;
  exitCode: number;
  /** Passes made (1 without --wait). */
  runs: number;
  /** --wait ran out with data still missing. */
  gaveUp: boolean;
  durationMs: number;
}

const collectorIds = verifyChecks.filter((c) => c.category === 'collector').map((c) => c.id);

/** The ids `only` selects, plus every check they need (a check without its inputs cannot run). */
export function selectWithNeeds(only: readonly string[] | undefined): Set<string> {
  const picked = new Set(verifyChecks.filter((c) => !only?.length || only.some((p) => c.id.startsWith(p))).map((c) => c.id));
  for (let grew = true; grew; ) {
    grew = false;
    for (const c of verifyChecks) if (picked.has(c.id)) for (const n of c.needs ?? []) if (!picked.has(n)) grew = picked.add(n) !== undefined;
  }
  return picked;
}

/** Run the checks; with a wait, repeat while every failure is "not there yet". */
export async function runVerify(o: VerifyRun, io: VerifyIO): Promise<VerifyOutcome> {
  const started = Date.now();
  const picked = selectWithNeeds(o.only);
  const checks = verifyChecks.filter((c) => picked.has(c.id) && !collectorIds.includes(c.id));
  const logs = verifyChecks.filter((c) => picked.has(c.id) && collectorIds.includes(c.id));
  for (let run = 1; ; run++) {
    const ctx = new VerifyContext(o.input, o.cluster(), o.cloud, o.now);
    const report: Report = checks.length
      ? await runChecks(checks, ctx, { onStart: (ch) => io.progress(`checking ${ch.description}...`) }, { concurrency: 4, timeoutMs: o.input.timeoutMs * 8 })
      : reportOf([]);
    const failing = report.results.filter((r) => r.status === 'failed' && (r.severity === 'fatal' || o.failOn === 'warning'));
    const waitable = failing.length > 0 && failing.every((r) => ctx.notYet.has(r.id) || ctx.notYet.has(`${r.id}/${(r.object ?? '').replace(/^source\//, '')}`));
    const outOfTime = Date.now() - started + o.intervalMs > o.waitMs;
    if (!failing.length || !waitable || outOfTime) {
      // The collector's log, once: it explains what is still missing (asked for alone, it is read anyway).
      ctx.logs = !checks.length ? 'always' : ctx.missing.length ? 'missing' : failing.length ? 'blind' : 'arriving';
      const read = logs.length ? await runChecks(logs, ctx, {}, { timeoutMs: o.input.timeoutMs * 4 }) : undefined;
      const merged = merge(report, read);
      io.progress('');
      return { report: merged, exitCode: exitCodeFor(merged, o.failOn), runs: run, gaveUp: failing.length > 0 && waitable && o.waitMs > 0, durationMs: Date.now() - started };
    }
    await io.waiting(report, run, o.intervalMs);
    await new Promise((r) => setTimeout(r, o.intervalMs));
  }
}

/** Two reports as one (results in order, summary recounted). */
export function merge(a: Report, b?: Report): Report {
  return b ? reportOf([...a.results, ...b.results]) : a;
}

/** Everything a command knows when it asks for a verify: flags, key, and how long to wait. */
export interface VerifyRequest {
  namespace: string;
  release: string;
  target: VerifyTarget;
  accessKeySecret?: import('../secret.js').Secret;
  securityToken?: import('../secret.js').Secret;
  net: NetMode;
  timeoutMs: number;
  staleAfterMs: number;
  logLines: number;
  waitMs: number;
  intervalMs: number;
  only?: string[];
  failOn: 'fatal' | 'warning';
  allowUnknownRegion?: boolean;
}

export interface VerifyIO {
  progress(m: string): void;
  waiting(report: Report, run: number, nextInMs: number): void | Promise<void>;
}

/**
 * verify for one installation, as every command runs it (verify, doctor --cloud, the end of install):
 * read the release once for its identity, then run with fresh cluster lists on every pass.
 */
export async function verifyInstallation(api: ApiClient, kc: () => Promise<KubeConfig>, req: VerifyRequest, io: VerifyIO, cloud?: VerifyCloud): Promise<VerifyOutcome & { target: ReturnType<typeof resolveTarget> }> {
  const [{ DoctorContext, DEFAULT_OPTIONS }, { overridesFromEnv }] = await Promise.all([import('../checks/doctor/context.js'), import('../cloud/endpoints.js')]);
  const lists = () => new DoctorContext(api, { ...DEFAULT_OPTIONS, namespace: req.namespace, release: req.release });
  const release = await lists().release();
  const target = resolveTarget(req.target, release, { namespace: req.namespace, release: req.release, ...(req.allowUnknownRegion ? { allowUnknownRegion: true } : {}) });
  if (!target.accessKeyId || !req.accessKeySecret) {
    throw new InsightError('usage', 'verify reads the cloud with an AccessKey, and none was given', {
      hint: `Set ALIBABA_CLOUD_ACCESS_KEY_SECRET (or --access-key-secret-stdin)${target.accessKeyId ? '' : ' and --access-key-id'}: a key with ${'AliyunPrometheusMetricReadAccess'} reads metrics.`,
    });
  }
  const creds: CloudCredentials = { accessKeyId: target.accessKeyId, accessKeySecret: req.accessKeySecret, ...(req.securityToken ? { securityToken: req.securityToken } : {}) };
  const outcome = await runVerify(
    {
      input: {
        namespace: req.namespace,
        release: req.release,
        clusterId: target.clusterId,
        region: target.region,
        ...(target.workspace ? { workspace: target.workspace } : {}),
        ...(target.prometheusInstanceId ? { prometheusInstanceId: target.prometheusInstanceId } : {}),
        net: req.net,
        creds,
        overrides: overridesFromEnv(),
        timeoutMs: req.timeoutMs,
        staleAfterMs: req.staleAfterMs,
        logLines: req.logLines,
      },
      cluster: () => verifyCluster(lists(), api, kc, req.timeoutMs),
      cloud: cloud ?? (await defaultCloud()),
      ...(req.only ? { only: req.only } : {}),
      failOn: req.failOn,
      waitMs: req.waitMs,
      intervalMs: req.intervalMs,
    },
    io,
  );
  return { ...outcome, target };
}

/** One line for an error of any shape (the websocket layer rejects with events, not Errors). */
function describeError(e: unknown): string {
  const m = (e as { message?: unknown })?.message;
  if (typeof m === 'string' && m) return m.split('\n')[0]!;
  const type = (e as { type?: unknown })?.type;
  return typeof type === 'string' ? `${type} event` : 'exec failed';
}
