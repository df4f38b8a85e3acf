/**
 * Preflight: every check that can tell, before installing, whether the install will work. Used by
 * `kubectl insight preflight` and as the gate inside `install`/`upgrade`. Categories run in order
 * (cluster → rbac → conflicts → network → cloud); checks inside a category run concurrently, each
 * with its own timeout, so a hanging check never blocks the report.
 */
import type { V1Node, V1Pod, V1Toleration } from '@kubernetes/client-node';
import { CHART } from '../../defaults.js';
import { endpointsFor, mergeOverrides, overridesFromEnv, resolveEndpoint, type EndpointOverrides, type NetMode } from '../../cloud/endpoints.js';
import type { Lookup } from '../../net/probe.js';
import type { ProbeReport, ProbeTarget } from '../../net/types.js';
import type { Secret } from '../../secret.js';
import { once, runChecks, type Check, type Observer, type Report } from '../engine.js';
import { clusterChecks } from './cluster.js';
import { networkChecks } from './network.js';
import { rbacChecks } from './rbac.js';
import { conflictChecks } from './conflicts.js';
import { cloudChecks } from './cloud.js';
import { type DaemonSetScheduling, type PreflightContext, type PreflightHelm, type PreflightKube, type ProbeSource, type ResolvedPreflightInput, type ServerVersion } from './context.js';

export type { PreflightContext } from './context.js';

/**
 * Default probe image: curl re-hosted in ACK's public pull-only `dev` namespace on
 * registry-cn-hangzhou.ack.aliyuncs.com, the registry the chart's own images come from, so a cluster
 * that can pull the chart can pull this. curl, not busybox: busybox's wget does not verify TLS
 * certificates, and curl's exit codes separate DNS/refused/timeout/untrusted precisely.
 * See docs/preflight.md (the tag could not be verified from the build sandbox: --probe-image).
 */
export const DEFAULT_PROBE_IMAGE = 'registry-cn-hangzhou.ack.aliyuncs.com/dev/curl:8.11.1';

/** What a caller (the preflight command, or install/upgrade as a gate) passes in. */
export interface PreflightInput {
  kubeconfig?: string;
  context?: string;
  /** Namespace and release the chart will use. */
  namespace?: string;
  release?: string;
  helmBinary?: string;
  /** Alibaba Cloud region id (cn-hangzhou). Network and cloud checks are skipped without it. */
  region?: string;
  net?: NetMode;
  accessKeyId?: string;
  /** Never a plain string: see src/secret.ts. */
  accessKeySecret?: Secret;
  projectName?: string;
  prometheusInstanceId?: string;
  /**
   * The chart values the install will use (only scheduling and `*.enabled` keys are read:
   * nodeExporter/gpuExporter nodeSelector, tolerations, enabled).
   */
  values?: Record<string, unknown>;
  /** Probe the endpoints from this machine instead of from probe pods on the nodes. */
  fromLocal?: boolean;
  /** Probe only N nodes (spread over zones) instead of all. */
  sample?: number;
  probeImage?: string;
  /** Namespace for the probe pods (default: `default`, which always exists before an install). */
  probeNamespace?: string;
  /** Per-check timeout in ms (network checks add time for pulling the probe image). */
  timeoutMs?: number;
  /** Deadline of the in-cluster probe run (default: max(timeoutMs, 120 s): scheduling and image pull). */
  probeTimeoutMs?: number;
  /** Host → address overrides (mirrors, proxies, tests); merged over $KUBECTL_INSIGHT_ENDPOINT_OVERRIDES. */
  endpointOverrides?: EndpointOverrides;
  /** `upgrade` expects the release to exist; `install` and `preflight` expect it absent. */
  mode?: 'preflight' | 'install' | 'upgrade';
  /** Only run checks whose id starts with one of these (`network.`, `cloud.credentials`). */
  only?: string[];
  /** Max checks in flight. */
  concurrency?: number;
  /** Injected dependencies (tests; install passes the clients it already has). */
  deps?: PreflightDeps;
}

export interface PreflightDeps {
  kube?: PreflightKube;
  helm?: PreflightHelm;
  now?: () => Date;
  /** Replaces the whole network probe run. */
  probes?: ProbeSource;
  /** Name resolution for --from-local probes (tests map hosts without touching real DNS). */
  lookup?: Lookup;
  /** kubectl for the Ctrl-C clean-up of probe pods (default: kubectl on PATH). */
  kubectlBinary?: string;
  /** Poll interval for probe pods (tests). */
  probePollMs?: number;
  env?: NodeJS.ProcessEnv;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
/** How long the report waits, after the checks, for a probe run to finish its clean-up. */
const SETTLE_MS = 20_000;
/** In-cluster probes schedule pods and may pull an image first: they get at least this long. */
export const MIN_PROBE_POD_TIMEOUT_MS = 120_000;

/** The endpoints the cluster's components need, with overrides applied, as probe targets. */
export function probeTargets(input: ResolvedPreflightInput): ProbeTarget[] {
  if (!input.region) return [];
  return endpointsFor(input.region, input.net)
    .filter((e) => e.usedByCluster)
    .map((e) => {
      const r = resolveEndpoint(e.host, input.endpointOverrides, e.port);
      return {
        host: e.host,
        port: e.port,
        ...(r.overridden ? { connectAddress: r.address, connectPort: r.port } : {}),
        ...(r.ca ? { ca: r.ca } : {}),
        ...(r.servername !== e.host ? { servername: r.servername } : {}),
      };
    });
}

/** How long the network checks may take: the probe run's own deadline plus room to clean up. */
export function networkTimeoutMs(input: ResolvedPreflightInput): number {
  return input.fromLocal ? input.timeoutMs : input.probeTimeoutMs + 15_000;
}

function defaultProbeSource(input: ResolvedPreflightInput, kube: PreflightKube, nodes: () => Promise<V1Node[]>, deps: PreflightDeps, kubeArgs: { kubeconfig?: string; context?: string }): ProbeSource {
  const targets = probeTargets(input);
  if (input.fromLocal) {
    return {
      async run(signal) {
        const { probeEndpoint } = await import('../../net/probe.js');
        const results = await Promise.all(targets.map((t) => probeEndpoint(t, { signal, vantage: 'local', ...(deps.lookup ? { lookup: deps.lookup } : {}) })));
        return { results, failures: [] };
      },
    };
  }
  return {
    async run(signal) {
      const { selectNodes } = await import('../../net/nodes.js');
      const { runProbePods } = await import('../../net/probe-pods.js');
      // Probe where the collectors run: the node-exporter DaemonSet covers every node they may use.
      const ds = input.daemonSets.find((d) => d.component === 'node-exporter')!;
      const sel = selectNodes(await nodes(), { nodeSelector: ds.nodeSelector, tolerations: ds.tolerations }, input.sample);
      if (!sel.selected.length) return { results: [], failures: [], excluded: sel.excluded };
      const report = await runProbePods({
        core: kube.core,
        server: kube.server,
        namespace: input.probeNamespace,
        image: input.probeImage,
        nodes: sel.selected,
        targets,
        tolerations: ds.tolerations,
        timeoutMs: input.probeTimeoutMs,
        signal,
        kubectl: { ...(deps.kubectlBinary ? { binary: deps.kubectlBinary } : {}), ...kubeArgs },
        ...(deps.probePollMs ? { pollMs: deps.probePollMs } : {}),
      });
      return { ...report, skippedNodes: sel.sampledOut, excluded: sel.excluded };
    },
  };
}

/** Every preflight check, in report order. */
export function preflightChecks(): Check<PreflightContext>[] {
  return [...clusterChecks, ...rbacChecks, ...conflictChecks, ...networkChecks, ...cloudChecks];
}

function get(values: Record<string, unknown> | undefined, path: string): unknown {
  let cur: unknown = values;
  for (const k of path.split('.')) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/** How the chart's DaemonSets will be scheduled, from the values (chart defaults where unset). */
export function daemonSetScheduling(values?: Record<string, unknown>): DaemonSetScheduling[] {
  const one = (component: string, key: string, extra: Partial<DaemonSetScheduling> = {}): DaemonSetScheduling => ({
    component,
    enabled: get(values, `${key}.enabled`) !== false,
    nodeSelector: (get(values, `${key}.nodeSelector`) as Record<string, string> | undefined) ?? {},
    // The chart's DaemonSets tolerate every taint by default (`- operator: Exists`); values may narrow it.
    tolerations: (get(values, `${key}.tolerations`) as V1Toleration[] | undefined) ?? [{ operator: 'Exists' }],
    ...extra,
  });
  return [
    one('node-exporter', 'nodeExporter'),
    one('gpu-exporter', 'gpuExporter', { requiredNodeLabel: (get(values, 'gpuExporter.gpuNodeLabelKey') as string | undefined) ?? 'aliyun.accelerator/nvidia_name' }),
  ];
}

export function resolveInput(input: PreflightInput, env: NodeJS.ProcessEnv = process.env): ResolvedPreflightInput {
  return {
    namespace: input.namespace ?? CHART.namespace,
    release: input.release ?? CHART.release,
    ...(input.region ? { region: input.region } : {}),
    net: input.net ?? 'Internet',
    ...(input.accessKeyId ? { accessKeyId: input.accessKeyId } : {}),
    ...(input.accessKeySecret ? { accessKeySecret: input.accessKeySecret } : {}),
    ...(input.projectName ? { projectName: input.projectName } : {}),
    ...(input.prometheusInstanceId ? { prometheusInstanceId: input.prometheusInstanceId } : {}),
    fromLocal: input.fromLocal ?? false,
    ...(input.sample ? { sample: input.sample } : {}),
    probeImage: input.probeImage ?? DEFAULT_PROBE_IMAGE,
    probeNamespace: input.probeNamespace ?? 'default',
    timeoutMs: input.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    probeTimeoutMs: input.probeTimeoutMs ?? Math.max(input.timeoutMs ?? DEFAULT_TIMEOUT_MS, MIN_PROBE_POD_TIMEOUT_MS),
    endpointOverrides: mergeOverrides(overridesFromEnv(env), input.endpointOverrides),
    mode: input.mode ?? 'preflight',
    daemonSets: daemonSetScheduling(input.values),
    kubeStateMetricsEnabled: get(input.values, 'kubeStateMetrics.enabled') !== false,
  };
}

/** Build the shared context; clients are made lazily so a unit test of one check needs no cluster. */
export async function buildContext(input: PreflightInput): Promise<PreflightContext> {
  const deps = input.deps ?? {};
  const resolved = resolveInput(input, deps.env);
  let kube = deps.kube;
  if (!kube) {
    const { createKube } = await import('../../kube/client.js');
    kube = createKube({ ...(input.kubeconfig ? { kubeconfig: input.kubeconfig } : {}), ...(input.context ? { context: input.context } : {}) });
  }
  let helm = deps.helm;
  if (!helm) {
    const { Helm } = await import('../../helm/helm.js');
    helm = new Helm({ ...(input.helmBinary ? { binary: input.helmBinary } : {}), ...(input.kubeconfig ? { kubeconfig: input.kubeconfig } : {}), ...(input.context ? { context: input.context } : {}) });
  }
  const k = kube;
  const now = deps.now ?? (() => new Date());
  const serverVersion = once(async (): Promise<ServerVersion> => {
    const t0 = Date.now();
    const r = await k.call({ verb: 'get', resource: '/version' }, () => k.version.getCodeWithHttpInfo());
    const rttMs = Date.now() - t0;
    const date = r.headers?.date ? new Date(r.headers.date) : undefined;
    return { gitVersion: r.data.gitVersion, rttMs, localMid: new Date(now().getTime() - Math.round(rttMs / 2)), ...(date ? { date } : {}) };
  });
  // Only with a real client (tests pass narrow fakes).
  const authn = (k as Partial<Pick<import('../../kube/client.js').Kube, 'authn'>>).authn;
  const whoami = authn
    ? once(async () => {
        try {
          const r = await authn.createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
          const u = r.status?.userInfo;
          if (!u?.username) return undefined;
          const groups = (u.groups ?? []).filter((g) => g !== 'system:authenticated');
          return groups.length ? `${u.username} (groups ${groups.join(', ')})` : u.username;
        } catch {
          return undefined; // older than 1.28, or not allowed: the access review already proved authentication
        }
      })
    : undefined;
  const nodes = once(async (): Promise<V1Node[]> => (await k.call({ verb: 'list', resource: 'nodes' }, () => k.core.listNode())).items);
  // Paged: one answer for every pod of a big cluster is held as text, as parsed JSON and as typed
  // objects at once (the bundle, which runs preflight beside its own lists, measured ~100 MB of it).
  const pods = once(async (): Promise<V1Pod[]> => {
    const items: V1Pod[] = [];
    let cont: string | undefined;
    do {
      const page = await k.call({ verb: 'list', resource: 'pods' }, () => k.core.listPodForAllNamespaces({ limit: 500, ...(cont ? { _continue: cont } : {}) }));
      items.push(...page.items);
      cont = page.metadata?._continue || undefined;
    } while (cont);
    return items;
  });
  const daemonSets = once(async () => (await k.call({ verb: 'list', resource: 'daemonsets.apps' }, () => k.apps.listDaemonSetForAllNamespaces())).items);
  const deployments = once(async () => (await k.call({ verb: 'list', resource: 'deployments.apps' }, () => k.apps.listDeploymentForAllNamespaces())).items);
  const probeAbort = new AbortController();
  const kubeArgs = { ...(input.kubeconfig ? { kubeconfig: input.kubeconfig } : {}), ...(input.context ? { context: input.context } : {}) };
  const probeSource = deps.probes ?? defaultProbeSource(resolved, k, nodes, deps, kubeArgs);
  let probeRun: Promise<ProbeReport> | undefined;
  return {
    input: resolved,
    kube: k,
    helm,
    now,
    serverVersion,
    ...(whoami ? { whoami } : {}),
    nodes,
    pods,
    daemonSets,
    deployments,
    probes() {
      // One run serves every network.* check. It gets its own signal, not the asking check's: its
      // deadline is shorter than the checks' timeout, and its clean-up must finish either way.
      return (probeRun ??= probeSource.run(probeAbort.signal));
    },
    async settle() {
      if (!probeRun) return;
      // Bounded: an API call that hangs must not hold the report forever (the exit hook still
      // deletes the pods with kubectl).
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([probeRun.catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, SETTLE_MS)))]);
      clearTimeout(timer);
    },
    abort() {
      probeAbort.abort();
    },
  };
}

/** Every preflight check with its timeout set from the input. */
export function checksFor(input: ResolvedPreflightInput): Check<PreflightContext>[] {
  return preflightChecks().map((c) => (c.category === 'network' ? { ...c, timeoutMs: networkTimeoutMs(input) } : c));
}

/**
 * Run every preflight check (or those selected by `only`) and return the report. Never prints.
 * Returns only after the probe pods (if any) are deleted.
 */
export async function runPreflight(input: PreflightInput, observer?: Observer): Promise<Report> {
  const ctx = await buildContext(input);
  const checks = checksFor(ctx.input);
  const selected = input.only?.length ? checks.filter((c) => input.only!.some((p) => c.id.startsWith(p))) : checks;
  // The engine runs categories in order; the probes (pods to schedule, images to pull) are by far the
  // slowest and depend on nothing, so they start now and run while the other categories are checked.
  if (ctx.input.region && selected.some((c) => c.category === 'network')) void ctx.probes().catch(() => undefined);
  try {
    return await runChecks(checks, ctx, observer ?? {}, {
      timeoutMs: ctx.input.timeoutMs,
      ...(input.only ? { only: input.only } : {}),
      concurrency: input.concurrency ?? 8,
    });
  } finally {
    // A network check that timed out leaves its probe run going: stop it and wait for its clean-up.
    ctx.abort();
    await ctx.settle();
  }
}
