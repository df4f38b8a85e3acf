/**
 * What doctor's checks share: options, one API client, and a snapshot of the cluster loaded lazily
 * and at most once per kind (each list is one paginated call with label/field selectors; nothing is
 * fetched per pod). Checks in later categories read what earlier ones loaded.
 */
import type { CoreV1Event, V1DaemonSet, V1Deployment, V1LabelSelector, V1Node, V1Pod, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import { CHART, CR } from '../../defaults.js';
import { kubeCall, isNotFound, type KubeOp } from '../../kube/errors.js';
import { matchesSelector } from '../../kube/selectors.js';
import { once } from '../engine.js';
import { lean } from '../../kube/lean.js';
import type { ApiClient, GetOptions, ListQuery, ProbeResult, ProxyTarget } from '../../kube/proxy.js';
import { readStoredRelease, type StorageRecord, type StoredRelease } from '../../helm/storage.js';
import type { ManifestObject } from '../../helm/release.js';
import type { SourceMeta } from '../../kube/config-age.js';

export interface DoctorOptions {
  namespace: string;
  release: string;
  /** Check every ServiceMonitor/PodMonitor in the cluster, not only the installation's. */
  allMonitors: boolean;
  /** Include the last lines of failing containers' logs. */
  logs: boolean;
  logLines: number;
  probeTimeoutMs: number;
  /** Concurrent proxied probes. */
  concurrency: number;
  /** Probes slower than a tenth of the timeout (black-holed, most likely) wait here instead of holding a slot. */
  slowPool: number;
  /** DaemonSet exporters: fetch and validate full /metrics on this many pods per component (all with --full-scrape). */
  scrapeSample: number;
  /** Kubelet endpoints are probed on this many Ready nodes. */
  kubeletNodes: number;
  /** Warning events newer than this are reported. */
  eventWindowMs: number;
  /** A pending-* release younger than this may still be running its operation: --fix leaves it alone. */
  operationTimeoutMs: number;
  now?: Date;
  /**
   * Read lists from etcd (a consistent read) instead of the watch cache: the re-check after --fix,
   * which must see what the fixes just wrote.
   */
  fresh?: boolean;
}

/** The longest a check waits for the exporter probes to start and name a target (whenKnown). */
export const WAIT_CAP_MS = 15_000;

export const DEFAULT_OPTIONS: DoctorOptions = {
  namespace: CHART.namespace,
  release: CHART.release,
  allMonitors: false,
  logs: false,
  logLines: 20,
  probeTimeoutMs: 3000,
  concurrency: 48,
  slowPool: 256,
  scrapeSample: 3,
  kubeletNodes: 3,
  eventWindowMs: 60 * 60 * 1000,
  // install's and upgrade's own --timeout default, and helm's.
  operationTimeoutMs: 5 * 60_000,
};

/** The slice of the API doctor uses: raw GETs and proxied probes (see src/kube/proxy.ts). */
export type DoctorApi = Pick<ApiClient, 'get' | 'getJson' | 'list' | 'probe'>;

export interface ServiceMonitor {
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: {
    selector?: V1LabelSelector;
    namespaceSelector?: { any?: boolean; matchNames?: string[] };
    endpoints?: MonitorEndpoint[];
  };
}
export interface PodMonitor {
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: {
    selector?: V1LabelSelector;
    namespaceSelector?: { any?: boolean; matchNames?: string[] };
    podMetricsEndpoints?: MonitorEndpoint[];
  };
}
export interface MonitorEndpoint {
  port?: string;
  targetPort?: number | string;
  scheme?: string;
  path?: string;
  bearerTokenFile?: string;
  bearerTokenSecret?: { name?: string; key?: string };
  authorization?: { type?: string; credentials?: unknown };
  tlsConfig?: { insecureSkipVerify?: boolean; ca?: unknown; caFile?: string; serverName?: string; certFile?: string; keyFile?: string; cert?: unknown };
}
export interface EndpointSlice {
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  ports?: Array<{ name?: string; port?: number; protocol?: string }>;
  endpoints?: Array<{ addresses: string[]; conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean }; targetRef?: { kind?: string; name?: string; namespace?: string }; nodeName?: string }>;
}
export interface PipelineConfig {
  metadata: { name: string; deletionTimestamp?: string; finalizers?: string[]; labels?: Record<string, string>; annotations?: Record<string, string>; creationTimestamp?: string };
  status?: { success?: boolean; message?: string; lastUpdateTime?: string };
}

export type Workload = (V1Deployment | V1DaemonSet | V1StatefulSet) & { kind: 'Deployment' | 'DaemonSet' | 'StatefulSet' };

/** Every kind of fix doctor has; each has its section `fix.<kind>` in docs/doctor.md#fixes. */
export const FIX_KINDS = ['release.rollback', 'release.uninstall-pending', 'workload.restart', 'probe-pod.delete', 'cr.strip-finalizer'] as const;

/** A remediation doctor may apply with --fix; everything else stays a hint. */
export interface Fix {
  /** `<remedy>/<object>`: the remedy part names its section in docs/doctor.md#fixes. */
  id: string;
  /** What will be done, shown before asking. */
  description: string;
  /** The equivalent command, so a reader can do it by hand. */
  command: string;
  /**
   * Re-checks, right before applying, the condition that made the fix safe; returns why it no longer
   * holds (the fix is then skipped), or undefined.
   */
  precondition?(env: FixEnv): Promise<string | undefined>;
  apply(env: FixEnv): Promise<void>;
  /** Said after it was applied: what the user does next (install again, ...). */
  next?: string;
}
/** What a fix may read and write (ApiClient). */
export interface FixApi {
  send(method: 'PATCH' | 'DELETE', path: string, body: unknown, contentType?: string): Promise<void>;
  getJson<T>(path: string): Promise<T>;
}
/**
 * Everything a fix may use: raw API reads and writes, and the two helm operations doctor repairs a
 * release with. The doctor action supplies them (rollback through the helm adapter; uninstall through
 * the uninstall action's ordered steps), so checks never reach past their folder.
 */
export interface FixEnv {
  api: FixApi;
  /** The API server's time now (src/kube/clock.ts): ages are judged on its clock. */
  now: () => Date;
  rollback(o: { release: string; namespace: string; revision: number }): Promise<void>;
  /** The ordered uninstall of `kubectl insight uninstall`, CRDs kept, namespace kept. */
  uninstall(o: { release: string; namespace: string }): Promise<void>;
}

export class DoctorContext {
  readonly fixes: Fix[] = [];
  /** Scheme probes shared by the exporter and scrape-chain checks (see probe.ts). */
  readonly probeCache = new Map<string, Promise<import('./probe.js').SchemeProbe>>();
  /** Pods (`ns/pod:port`) that answered an exporter probe, with the scheme: the scrape chain probes those first. */
  readonly answered = new Map<string, 'http' | 'https'>();
  /** Nodes whose exporter answered, and nodes where a probe timed out or found no route: the kubelet check picks from the first. */
  readonly nodesAnswering = new Set<string>();
  readonly nodesSilent = new Set<string>();
  private readonly learners = new Set<() => void>();
  /** The exporter probes are under way (the first was sent). */
  private probing = false;
  /** An exporter check sends its first probe: the bounded waits of whenKnown start counting. */
  probesStarted(): void {
    this.probing = true;
    for (const wake of [...this.learners]) wake();
  }
  /** An exporter probe ended (answered/nodesAnswering/nodesSilent changed): wake whoever waits on it. */
  learned(): void {
    this.probesStarted();
  }
  /**
   * Resolves once `known()` holds, or `until` settles (the exporter checks ended), or one probe timeout
   * after the exporter probes started: what they learn spares a black-holed target, but once they run
   * it is never worth waiting longer for than a probe of one's own would take. Lists the exporter
   * checks need may be slow, so before their first probe the wait is capped at WAIT_CAP_MS in all,
   * well inside the waiting checks' own timeouts.
   */
  whenKnown(known: () => boolean, until: Promise<unknown>): Promise<void> {
    if (known()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const end = () => {
        clearTimeout(timer);
        clearTimeout(cap);
        this.learners.delete(wake);
        resolve();
      };
      const cap = setTimeout(end, Math.max(WAIT_CAP_MS, this.opts.probeTimeoutMs));
      const wake = () => {
        if (known()) end();
        else timer ??= setTimeout(end, this.opts.probeTimeoutMs);
      };
      this.learners.add(wake);
      if (this.probing) wake();
      void until.then(end, end);
    });
  }
  /** Progress for a TTY ("exporters: 412/1000 probed"); set by the command. */
  progress: (message: string) => void = () => {};
  constructor(
    readonly api: DoctorApi,
    readonly opts: DoctorOptions,
  ) {}

  get now(): Date {
    return this.opts.now ?? new Date();
  }

  /** Wrap a raw list so failures become InsightErrors with the verb and resource named. */
  call<T>(op: KubeOp, fn: () => Promise<T>): Promise<T> {
    return kubeCall(op, fn, { idempotent: true, attempts: 2 });
  }

  probe(target: ProxyTarget, path: string, opts: GetOptions = {}): Promise<ProbeResult> {
    return this.api.probe(target, path, { timeoutMs: this.opts.probeTimeoutMs, ...opts });
  }

  private ns = () => encodeURIComponent(this.opts.namespace);

  /**
   * A list doctor only judges: served from the watch cache (a moment stale at worst; a fix re-reads
   * its object before it acts) and trimmed to what the checks read.
   */
  private judged<T>(path: string, query: Omit<ListQuery, 'cached'> = {}): Promise<T[]> {
    return this.api.list<T>(path, { ...query, cached: !this.opts.fresh }, { project: lean });
  }

  /** The release from helm's own storage (no helm binary needed): the newest revision. */
  release = once(() =>
    readStoredRelease(
      (kind, labelSelector) => this.call({ verb: 'list', resource: kind, namespace: this.opts.namespace }, () => this.api.list<StorageRecord>(`/api/v1/namespaces/${this.ns()}/${kind}`, { labelSelector })),
      { name: this.opts.release, namespace: this.opts.namespace },
    ),
  );

  nodes = once(() => this.call({ verb: 'list', resource: 'nodes' }, () => this.judged<V1Node>('/api/v1/nodes')));

  /** Pods of the release namespace (the namespace is the chart's own). */
  pods = once(() => this.call({ verb: 'list', resource: 'pods', namespace: this.opts.namespace }, () => this.judged<V1Pod>(`/api/v1/namespaces/${this.ns()}/pods`)));

  /** Warning events of the release namespace. */
  events = once(() =>
    this.call({ verb: 'list', resource: 'events', namespace: this.opts.namespace }, () =>
      this.judged<CoreV1Event>(`/api/v1/namespaces/${this.ns()}/events`, { fieldSelector: 'type=Warning' }),
    ),
  );

  deployments = once(() => this.call({ verb: 'list', resource: 'deployments.apps', namespace: this.opts.namespace }, () => this.judged<V1Deployment>(`/apis/apps/v1/namespaces/${this.ns()}/deployments`)));
  daemonSets = once(() => this.call({ verb: 'list', resource: 'daemonsets.apps', namespace: this.opts.namespace }, () => this.judged<V1DaemonSet>(`/apis/apps/v1/namespaces/${this.ns()}/daemonsets`)));
  statefulSets = once(() => this.call({ verb: 'list', resource: 'statefulsets.apps', namespace: this.opts.namespace }, () => this.judged<V1StatefulSet>(`/apis/apps/v1/namespaces/${this.ns()}/statefulsets`)));
  /** Every DaemonSet in the cluster (few objects): for a second node-exporter or a DCGM agent. */
  allDaemonSets = once(() => this.call({ verb: 'list', resource: 'daemonsets.apps' }, () => this.judged<V1DaemonSet>('/apis/apps/v1/daemonsets')));

  /** The release's workloads as they exist in the cluster, by kind/name. */
  workloads = once(async (): Promise<Workload[]> => {
    const [d, ds, ss] = await Promise.all([this.deployments(), this.daemonSets(), this.statefulSets()]);
    return [
      ...d.map((x) => ({ ...x, kind: 'Deployment' as const })),
      ...ds.map((x) => ({ ...x, kind: 'DaemonSet' as const })),
      ...ss.map((x) => ({ ...x, kind: 'StatefulSet' as const })),
    ];
  });

  /** Services and EndpointSlices of a namespace, or of all namespaces (`*`). */
  private servicesBy = new Map<string, Promise<V1Service[]>>();
  services(namespace: string): Promise<V1Service[]> {
    let p = this.servicesBy.get(namespace);
    if (!p) {
      const path = namespace === '*' ? '/api/v1/services' : `/api/v1/namespaces/${encodeURIComponent(namespace)}/services`;
      p = this.call({ verb: 'list', resource: 'services', ...(namespace === '*' ? {} : { namespace }) }, () => this.judged<V1Service>(path));
      this.servicesBy.set(namespace, p);
    }
    return p;
  }
  private slicesBy = new Map<string, Promise<EndpointSlice[]>>();
  endpointSlices(namespace: string): Promise<EndpointSlice[]> {
    let p = this.slicesBy.get(namespace);
    if (!p) {
      const path = namespace === '*' ? '/apis/discovery.k8s.io/v1/endpointslices' : `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/endpointslices`;
      p = this.call({ verb: 'list', resource: 'endpointslices.discovery.k8s.io', ...(namespace === '*' ? {} : { namespace }) }, () => this.judged<EndpointSlice>(path));
      this.slicesBy.set(namespace, p);
    }
    return p;
  }

  /** Pods of another namespace selected by a label selector (PodMonitors outside the release namespace). */
  async podsMatching(namespace: string, sel: V1LabelSelector | undefined): Promise<V1Pod[]> {
    if (namespace === this.opts.namespace) return (await this.pods()).filter((p) => matchesSelector(p.metadata?.labels, sel));
    const ls = Object.entries(sel?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
    const path = namespace === '*' ? '/api/v1/pods' : `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`;
    const pods = await this.call({ verb: 'list', resource: 'pods', ...(namespace === '*' ? {} : { namespace }) }, () => this.judged<V1Pod>(path, ls ? { labelSelector: ls } : {}));
    return pods.filter((p) => matchesSelector(p.metadata?.labels, sel));
  }

  /** Optional kinds: a missing CRD is an empty list (with `missing` set), not an error. */
  private async optionalList<T>(path: string, op: KubeOp): Promise<{ items: T[]; missing: boolean }> {
    try {
      return { items: await this.call(op, () => this.judged<T>(path)), missing: false };
    } catch (e) {
      if (isNotFound(e)) return { items: [], missing: true };
      throw e;
    }
  }

  serviceMonitors = once(() =>
    this.optionalList<ServiceMonitor>(this.opts.allMonitors ? '/apis/monitoring.coreos.com/v1/servicemonitors' : `/apis/monitoring.coreos.com/v1/namespaces/${this.ns()}/servicemonitors`, {
      verb: 'list',
      resource: 'servicemonitors.monitoring.coreos.com',
      ...(this.opts.allMonitors ? {} : { namespace: this.opts.namespace }),
    }),
  );
  podMonitors = once(() =>
    this.optionalList<PodMonitor>(this.opts.allMonitors ? '/apis/monitoring.coreos.com/v1/podmonitors' : `/apis/monitoring.coreos.com/v1/namespaces/${this.ns()}/podmonitors`, {
      verb: 'list',
      resource: 'podmonitors.monitoring.coreos.com',
      ...(this.opts.allMonitors ? {} : { namespace: this.opts.namespace }),
    }),
  );
  /**
   * The metadata of the namespace's ConfigMaps and Secrets, by `Kind/name`: asked as
   * PartialObjectMetadata, so no Secret's data is ever read here.
   */
  configSources = once(async (): Promise<Map<string, SourceMeta>> => {
    // No plain-JSON fallback: a server that cannot answer with metadata only must not send Secret data.
    const accept = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
    const [cms, secrets] = await Promise.all([
      this.call({ verb: 'list', resource: 'configmaps', namespace: this.opts.namespace }, () => this.api.list<SourceMeta & { data?: unknown }>(`/api/v1/namespaces/${this.ns()}/configmaps`, {}, { accept })),
      this.call({ verb: 'list', resource: 'secrets', namespace: this.opts.namespace }, () => this.api.list<SourceMeta & { data?: unknown }>(`/api/v1/namespaces/${this.ns()}/secrets`, {}, { accept })),
    ]);
    // Keep the metadata only, whatever came back.
    const meta = (o: SourceMeta) => ({ metadata: o.metadata ?? {} });
    return new Map([...cms.map((c) => [`ConfigMap/${c.metadata?.name}`, meta(c)] as const), ...secrets.map((c) => [`Secret/${c.metadata?.name}`, meta(c)] as const)]);
  });

  pipelineConfigs = once(() => this.optionalList<PipelineConfig>(`/apis/${CR.group}/${CR.version}/${CR.plural}`, { verb: 'list', resource: `${CR.plural}.${CR.group}` }));

  /** Does a namespace exist (one GET). */
  async namespaceExists(name: string): Promise<boolean> {
    const r = await this.api.get(`/api/v1/namespaces/${encodeURIComponent(name)}`, { timeoutMs: 10_000 });
    if (r.status === 404) return false;
    if (r.status >= 200 && r.status < 300) return true;
    throw new Error(`GET namespace ${name}: HTTP ${r.status}`);
  }

  /** The last lines of a container's log (for --logs); previous instance for crash loops. */
  async logTail(pod: V1Pod, container: string, previous: boolean): Promise<string[]> {
    const q = new URLSearchParams({ container, tailLines: String(this.opts.logLines), ...(previous ? { previous: 'true' } : {}) });
    const r = await this.api.get(`/api/v1/namespaces/${encodeURIComponent(pod.metadata!.namespace!)}/pods/${encodeURIComponent(pod.metadata!.name!)}/log?${q.toString()}`, { timeoutMs: 10_000, maxBytes: 64 * 1024, accept: '*/*' });
    if (r.status !== 200) return [`(logs unavailable: HTTP ${r.status} ${r.body.slice(0, 120).replace(/\s+/g, ' ')})`];
    return r.body.split('\n').filter((l) => l.length).slice(-this.opts.logLines);
  }
}

/** The release's workload of the given kind and name, from the manifest. */
export function expectedWorkloads(rel: StoredRelease | undefined): ManifestObject[] {
  return (rel?.objects ?? []).filter((o) => o.kind === 'Deployment' || o.kind === 'DaemonSet' || o.kind === 'StatefulSet');
}
