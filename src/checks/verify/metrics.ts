/**
 * Do the cluster's metrics arrive? GetPrometheusInstance gives the instance's query URL and whether it
 * wants its token; the Prometheus HTTP API then answers which label carries this cluster's id (found
 * at run time, not assumed) and, per expected source, how many series and targets sent data and how
 * old the newest sample is. Sources are recognised by the series they send, not by job name, because
 * job names differ between products (`_arms-prom/node-exporter/0`, `node-exporter`, ...).
 */
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { oneLine } from '../../cloud/errors.js';
import { badQueryUrl, displayUrl, promString, type PromSample } from '../../cloud/prometheus.js';
import type { Check, Finding } from '../engine.js';
import type { VerifyContext } from './context.js';

export const CATEGORY = 'metrics';

/** How far back "sent anything at all" looks. */
export const LOOKBACK = '1h';
const LOOKBACK_MS = 60 * 60 * 1000;

export interface MetricSource {
  id: string;
  title: string;
  /** The series that prove this source arrives (the first is queried; the rest help discovery). */
  metric: string;
  /** Is this source expected on this cluster? */
  expected(ctx: VerifyContext): Promise<boolean>;
  /** What to check when it is missing. */
  hint: string;
}

const PROM_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export const isGpuNode = (n: V1Node): boolean =>
  n.metadata?.labels?.['nvidia.com/gpu.present'] === 'true' || Number(n.status?.capacity?.['nvidia.com/gpu'] ?? 0) > 0 || Object.keys(n.metadata?.labels ?? {}).some((k) => k === 'aliyun.accelerator/nvidia_name');

export const SOURCES: readonly MetricSource[] = [
  {
    id: 'node-exporter',
    title: 'node-exporter',
    metric: 'node_cpu_seconds_total',
    expected: async (ctx) => (await ctx.cluster.daemonSets()).some((d) => (d.metadata?.name ?? '').includes('node-exporter')),
    hint: 'node-exporter pods run but nothing arrives: run `kubectl insight doctor` (exporter reachability, https/http mismatch, ServiceMonitor selection).',
  },
  {
    id: 'kube-state-metrics',
    title: 'kube-state-metrics',
    metric: 'kube_pod_info',
    // By the Deployment, not its pods: a Deployment whose pods were never created still expects data.
    expected: async (ctx) => (await ctx.cluster.deployments()).some((d) => (d.metadata?.name ?? '').includes('kube-state-metrics')),
    hint: 'kube-state-metrics runs but nothing arrives: run `kubectl insight doctor --only scrape`.',
  },
  {
    id: 'kubelet',
    title: 'kubelet',
    metric: 'kubelet_node_name',
    expected: async () => true,
    hint: 'The collector cannot scrape the kubelets: run `kubectl insight doctor --only kubelet` (401: the kubelet rejects tokens; 403: RBAC lacks nodes/metrics).',
  },
  {
    id: 'cadvisor',
    title: 'kubelet/cadvisor',
    metric: 'container_cpu_usage_seconds_total',
    expected: async () => true,
    hint: 'cadvisor metrics come from the kubelet\'s /metrics/cadvisor: run `kubectl insight doctor --only kubelet`.',
  },
  {
    id: 'gpu-exporter',
    title: 'gpu-exporter',
    metric: 'DCGM_FI_DEV_GPU_UTIL',
    expected: async (ctx) => (await ctx.cluster.nodes()).some(isGpuNode) && (await ctx.cluster.daemonSets()).some((d) => (d.metadata?.name ?? '').includes('gpu-exporter')),
    hint: 'GPU nodes exist but no DCGM metrics arrive: check the gpu-exporter pods on the GPU nodes (`kubectl insight doctor --only exporters`).',
  },
  {
    id: 'targets',
    title: 'scrape targets (up)',
    metric: 'up',
    expected: async () => true,
    hint: 'The collector reports no scrape targets at all: check its pods and its ServiceMonitor/PodMonitor selection (`kubectl insight doctor --only scrape`).',
  },
];

/** `{__name__="m", label="id"}`: one source's series for this cluster. */
export function selector(metric: string, label: string, clusterId: string): string {
  return `{__name__=${promString(metric)}, ${label}=${promString(clusterId)}}`;
}

/** Clocks differ a little; a newest sample further ahead than this means a clock is wrong. */
const FUTURE_TOLERANCE_MS = 60_000;

/** A label value from the server, as evidence: one short line, secrets scrubbed. */
const shown = (v: string) => oneLine(v, 80);

const age = (ms: number) => (ms < 120_000 ? `${Math.round(ms / 1000)}s` : ms < 7_200_000 ? `${Math.round(ms / 60_000)}m` : `${Math.round(ms / 3_600_000)}h`);

/** At most this many label names are tried as the carrier of the cluster id. */
export const MAX_LABEL_CANDIDATES = 30;

/**
 * The label names worth trying, most likely first: names containing "cluster", then the rest (shorter
 * first), without __name__ and names PromQL would not accept.
 */
export function labelCandidates(names: readonly string[]): string[] {
  const ok = [...new Set(names)].filter((n) => n !== '__name__' && PROM_NAME.test(n));
  const clusterish = ok.filter((n) => /cluster/i.test(n)).sort((a, b) => a.length - b.length || a.localeCompare(b));
  const rest = ok.filter((n) => !/cluster/i.test(n)).sort((a, b) => a.length - b.length || a.localeCompare(b));
  return [...clusterish, ...rest].slice(0, MAX_LABEL_CANDIDATES);
}

/** Every source's metric, as one name matcher: `{__name__=~"up|node_cpu_seconds_total|..."}`. */
const ANY_SOURCE = `__name__=~${promString(SOURCES.map((s) => s.metric).join('|'))}`;

/**
 * The node a target's label set belongs to: a node label, or an instance `host:port` naming the node,
 * one of its addresses, or (an exporter without hostNetwork) the IP of a pod on it.
 */
export function nodeOfTarget(metric: Record<string, string>, nodes: readonly V1Node[], pods: readonly V1Pod[] = []): string | undefined {
  const byName = new Map(nodes.map((n) => [n.metadata?.name ?? '', n]));
  for (const k of ['node', 'nodename', 'kubernetes_node', 'node_name']) {
    const v = metric[k];
    if (v && byName.has(v)) return v;
  }
  const host = (metric.instance ?? '').replace(/^\[?([^\]]*?)\]?(:\d+)?$/, '$1');
  if (!host) return undefined;
  if (byName.has(host)) return host;
  return nodes.find((n) => (n.status?.addresses ?? []).some((a) => a.address === host))?.metadata?.name ?? pods.find((p) => p.status?.podIP === host && p.spec?.nodeName)?.spec?.nodeName;
}

function sourcesWith(ctx: VerifyContext) {
  return Promise.all(SOURCES.map(async (s) => ({ s, expected: await s.expected(ctx) })));
}

export const metricChecks: Check<VerifyContext>[] = [
  {
    id: 'metrics.instance',
    category: CATEGORY,
    description: 'The Prometheus instance and its query URL (CMS GetPrometheusInstance)',
    severity: 'fatal',
    async run(ctx, signal) {
      const { prometheusInstanceId: id, region, creds, net } = ctx.input;
      if (!id) return { status: 'failed', message: 'no Prometheus instance id: the release has no operator.prometheus.prometheusInstanceID', hint: 'Pass --prometheus-instance-id.' };
      const r = await ctx.cloud.instance(creds, region, id, ctx.callOpts(signal));
      if (!r.ok) return ctx.failure('metrics.instance', r.error, `Prometheus instance ${id}`);
      const url = net === 'Intranet' ? r.value.httpApiIntraUrl : r.value.httpApiInterUrl;
      if (!url) {
        return { status: 'failed', message: `Prometheus instance ${id} has no ${net === 'Intranet' ? 'VPC (httpApiIntraUrl)' : 'Internet (httpApiInterUrl)'} query URL`, hint: net === 'Intranet' ? 'Run from inside the VPC with --net Internet off, or use --net Internet.' : 'Use --net Intranet from inside the VPC, or enable the public query endpoint of the instance.' };
      }
      const bad = badQueryUrl(url);
      if (bad) return { status: 'failed', message: `Prometheus instance ${id}'s query URL cannot be used: ${bad}`, evidence: [`query URL: ${displayUrl(url)}`], hint: 'Check the instance in the Cloud Monitor 2.0 console; an http URL is refused because every query carries the AccessKey or the token.' };
      ctx.endpoint = { url, auth: r.value.authToken ? { kind: 'bearer', token: r.value.authToken } : { kind: 'basic', creds } };
      return {
        status: 'passed',
        message: `Prometheus instance ${id}${r.value.prometheusInstanceName ? ` (${shown(r.value.prometheusInstanceName)})` : ''}: query URL ${displayUrl(url)}, ${r.value.authToken ? 'token auth (Bearer)' : 'AccessKey auth (Basic)'}`,
        vantage: 'local',
      };
    },
  },
  {
    id: 'metrics.cluster-label',
    category: CATEGORY,
    description: 'Series carrying this cluster\'s id exist, and which label carries it',
    severity: 'fatal',
    needs: ['metrics.instance'],
    async run(ctx, signal) {
      const ep = ctx.endpoint!;
      const end = ctx.now();
      const start = new Date(end.getTime() - LOOKBACK_MS);
      const refused = (e: import('../../cloud/errors.js').CloudError) => {
        const f = ctx.failure('metrics.cluster-label', e, 'querying the Prometheus instance');
        // A refusal is about the key, not the data: say what it cannot do and which policy grants it.
        return e.code === 'Forbidden' && e.service === 'prometheus' ? { ...f, message: e.message } : f;
      };
      const names = await ctx.cloud.labels(ep, start, end, ctx.callOpts(signal));
      if (!names.ok) return refused(names.error);
      const candidates = labelCandidates(names.value);
      // Filtered by the id on the server: on an instance many clusters share, ours may be a tiny part.
      for (const label of candidates) {
        const r = await ctx.cloud.query(ep, `count(last_over_time({${ANY_SOURCE}, ${label}=${promString(ctx.input.clusterId)}}[${LOOKBACK}]))`, end, ctx.callOpts(signal));
        if (!r.ok) return refused(r.error);
        const n = r.value[0]?.value ?? 0;
        if (Number.isFinite(n) && n > 0) {
          ctx.clusterLabel = label;
          return { status: 'passed', message: `series of this cluster carry ${label}="${ctx.input.clusterId}" (${n} series of the known sources in the last ${LOOKBACK})`, vantage: 'local' };
        }
      }
      ctx.notArriving('metrics.cluster-label', 'metrics/all');
      // What the cluster-like labels do carry: another id there usually means a wrong clusterID.
      const seen: string[] = [];
      for (const label of candidates.filter((n) => /cluster/i.test(n)).slice(0, 3)) {
        const r = await ctx.cloud.query(ep, `count by (${label}) (last_over_time({__name__="up"}[${LOOKBACK}]))`, end, ctx.callOpts(signal));
        if (r.ok) for (const x of r.value.slice(0, 8)) if (x.metric[label]) seen.push(`${label}=${shown(x.metric[label])}`);
      }
      return {
        status: 'failed',
        message: `no series of the last ${LOOKBACK} carries the cluster id "${ctx.input.clusterId}": nothing from this cluster arrives`,
        evidence: [`${candidates.length} label name${candidates.length === 1 ? '' : 's'} tried${candidates.length ? ` (${candidates.slice(0, 6).join(', ')}${candidates.length > 6 ? ', ...' : ''})` : ''}`, ...(seen.length ? [`cluster-like labels seen: ${seen.join(', ')}`] : names.value.length ? [] : ['no series at all: the instance has received nothing in the last hour'])],
        hint: seen.length
          ? 'Other clusters\' data arrives, this one\'s does not: compare clusterID in the release with the ids above; read the collector\'s log below.'
          : 'The collector sends nothing: see the collector findings below, and `kubectl insight doctor`.',
      };
    },
  },
  {
    id: 'metrics.sources',
    category: CATEGORY,
    description: 'Each expected source sends series (count, targets, newest sample)',
    severity: 'fatal',
    needs: ['metrics.cluster-label'],
    async run(ctx, signal) {
      const ep = ctx.endpoint!;
      const label = ctx.clusterLabel!;
      const now = ctx.now();
      const findings: Finding[] = [];
      for (const { s, expected } of await sourcesWith(ctx)) {
        if (!expected) continue;
        const sel = selector(s.metric, label, ctx.input.clusterId);
        const counted = await ctx.cloud.query(ep, `count by (job, instance) (last_over_time(${sel}[${LOOKBACK}]))`, now, ctx.callOpts(signal));
        if (!counted.ok) return ctx.failure('metrics.sources', counted.error, 'querying the Prometheus instance');
        const newest = await ctx.cloud.query(ep, `max(timestamp(${sel}))`, now, ctx.callOpts(signal));
        if (!newest.ok) return ctx.failure('metrics.sources', newest.error, 'querying the Prometheus instance');
        const live = counted.value.filter((x) => Number.isFinite(x.value) && x.value > 0);
        const series = live.reduce((a, x) => a + x.value, 0);
        const targets = live.length;
        const jobs = [...new Set(live.map((x) => x.metric.job).filter((j): j is string => Boolean(j)).map(shown))];
        const t = newest.value[0]?.value;
        const object = `source/${s.id}`;
        if (!targets) {
          ctx.notArriving(`metrics.sources/${s.id}`, `metrics/${s.id}`);
          findings.push({ status: 'failed', object, message: `${s.title}: no ${s.metric} series from this cluster in the last ${LOOKBACK}`, hint: s.hint });
          continue;
        }
        const ageMs = t !== undefined && Number.isFinite(t) ? now.getTime() - t * 1000 : undefined;
        const facts = [`${series} series from ${targets} target${targets === 1 ? '' : 's'}`, ...(jobs.length ? [`jobs: ${jobs.slice(0, 5).join(', ')}`] : [])];
        if (ageMs !== undefined && ageMs < -FUTURE_TOLERANCE_MS) {
          findings.push({ status: 'failed', object, message: `${s.title}: the newest sample is ${age(-ageMs)} in the future`, evidence: facts, hint: 'A clock is off: this machine\'s or the nodes\' (the collector stamps samples with the node\'s time). Synchronise them (chrony, systemd-timesyncd).' });
          continue;
        }
        if (ageMs === undefined || ageMs > ctx.input.staleAfterMs) {
          ctx.notArriving(`metrics.sources/${s.id}`, `metrics/${s.id}`);
          findings.push({
            status: 'failed',
            object,
            message: `${s.title}: samples are stale: ${ageMs === undefined ? 'none in the last 5m' : `newest is ${age(ageMs)} old`} (${facts[0]} in the last ${LOOKBACK})`,
            evidence: facts,
            hint: `It arrived before and stopped: ${s.hint}`,
          });
          continue;
        }
        findings.push({ status: 'passed', object, message: `${s.title}: ${facts[0]}, newest sample ${age(Math.max(0, ageMs))} old`, evidence: facts });
      }
      return findings.length ? findings : { status: 'skipped', message: 'no source is expected on this cluster' };
    },
  },
  {
    id: 'metrics.nodes',
    category: CATEGORY,
    description: 'Every node that runs node-exporter sends node metrics',
    severity: 'fatal',
    needs: ['metrics.cluster-label'],
    async run(ctx, signal) {
      const pods = (await ctx.cluster.pods()).filter((p) => (p.metadata?.name ?? '').includes('node-exporter') && p.spec?.nodeName);
      if (!pods.length) return { status: 'skipped', message: 'no node-exporter pods in the release namespace' };
      const nodes = await ctx.cluster.nodes();
      const sel = selector('node_cpu_seconds_total', ctx.clusterLabel!, ctx.input.clusterId);
      const r = await ctx.cloud.query(ctx.endpoint!, `count by (instance, node, nodename, kubernetes_node) (${sel})`, ctx.now(), ctx.callOpts(signal));
      if (!r.ok) return ctx.failure('metrics.nodes', r.error, 'querying the Prometheus instance');
      const sending = new Set(r.value.filter((x: PromSample) => Number.isFinite(x.value) && x.value > 0).map((x) => nodeOfTarget(x.metric, nodes, pods)).filter((n): n is string => !!n));
      const expected = [...new Set(pods.map((p) => p.spec!.nodeName!))].sort();
      const silent = expected.filter((n) => !sending.has(n));
      if (!silent.length) return { status: 'passed', message: `all ${expected.length} nodes with node-exporter send node metrics` };
      ctx.notArriving('metrics.nodes', 'metrics/nodes');
      return {
        status: 'failed',
        message: `${silent.length} of ${expected.length} nodes send no node metrics: ${silent.slice(0, 10).join(', ')}${silent.length > 10 ? ', ...' : ''}`,
        evidence: [`sending (last 5m): ${[...sending].sort().slice(0, 10).join(', ') || 'none'}`, ...(r.value.length && !sending.size ? [`targets seen but not matched to a node: ${r.value.slice(0, 3).map((x) => shown(x.metric.instance ?? '?')).join(', ')}`] : [])],
        hint: 'On those nodes the exporter is not scraped: run `kubectl insight doctor --only exporters` (a hostPort conflict, a firewall on 19100, a NotReady node).',
      };
    },
  },
];
