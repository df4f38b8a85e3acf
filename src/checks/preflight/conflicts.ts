/**
 * Conflict checks: what already in the cluster would fight with the chart (a hostPort taken, a second
 * exporter, another collector, the shared Prometheus Operator CRDs, a release already there or
 * stuck, DCGM on GPU nodes, taints the DaemonSets do not tolerate). Each decision is a pure function
 * of listed objects, so unit tests feed fixtures.
 */
import type { V1DaemonSet, V1Deployment, V1Node, V1Pod } from '@kubernetes/client-node';
import { ARMS_NAMESPACE, CHART, CRDS, PORTS } from '../../defaults.js';
import type { HelmRelease } from '../../helm/helm.js';
import { chartNameOf, judgeRelease } from '../../helm/release-state.js';
import { isOurs, ownerSignals, describeSignal, inspectCrdsOwnership, type CrdDecision, type Installation } from '../../kube/ownership.js';
import { taintText, untoleratedTaints } from '../../net/nodes.js';
import { matchesSelector } from '../../kube/selectors.js';
import { hostPorts } from '../../kube/pods.js';
import type { Check, Finding } from '../engine.js';
import type { DaemonSetScheduling, PreflightContext } from './context.js';

export const CATEGORY = 'conflicts';

type Meta = { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };

const inst = (ctx: PreflightContext): Installation => ({ release: ctx.input.release, namespace: ctx.input.namespace });
const ref = (m: Meta | undefined) => `${m?.namespace ? `${m.namespace}/` : ''}${m?.name ?? '?'}`;
const owner = (m: Meta | undefined, i: Installation) => describeSignal(ownerSignals(m ?? {}, i)[0] ?? { type: 'unknown' });
const isActive = (p: V1Pod) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed' && !p.metadata?.deletionTimestamp;

/** Pods (not ours) holding `port` on nodes where our DaemonSet will run. */
export function decideHostPort(port: number, component: string, pods: V1Pod[], nodes: V1Node[], ds: DaemonSetScheduling | undefined, installation: Installation, ourDaemonSets: ReadonlySet<string> = new Set()): Finding {
  if (ds && !ds.enabled) return { status: 'skipped', message: `${component} is disabled: hostPort ${port} not needed` };
  const eligible = new Set(nodes.filter((n) => !ds || (matchesSelector(n.metadata?.labels, { matchLabels: ds.nodeSelector }) && (!ds.requiredNodeLabel || n.metadata?.labels?.[ds.requiredNodeLabel] !== undefined))).map((n) => n.metadata?.name));
  if (ds?.requiredNodeLabel && eligible.size === 0) return { status: 'passed', message: `no node carries ${ds.requiredNodeLabel}: ${component} will not run, hostPort ${port} not needed` };
  const holders: string[] = [];
  const nodesHit = new Set<string>();
  for (const p of pods) {
    if (!isActive(p) || !p.spec?.nodeName || !eligible.has(p.spec.nodeName)) continue;
    // Ours on an upgrade: by the pod's own labels, or through the DaemonSet that owns it.
    if (isOurs(p.metadata ?? {}, installation)) continue;
    if ((p.metadata?.ownerReferences ?? []).some((o) => o.kind === 'DaemonSet' && ourDaemonSets.has(`${p.metadata?.namespace}/${o.name}`))) continue;
    for (const h of hostPorts(p.spec)) {
      if (h.port !== port || h.protocol !== 'TCP') continue;
      holders.push(`node/${p.spec.nodeName}: pod ${ref(p.metadata)} (container ${h.container})`);
      nodesHit.add(p.spec.nodeName);
    }
  }
  if (!holders.length) return { status: 'passed', message: `hostPort ${port} (${component}) is free on all ${eligible.size} node${eligible.size === 1 ? '' : 's'}` };
  return {
    status: 'failed',
    message: `hostPort ${port} is already used on ${nodesHit.size} node${nodesHit.size === 1 ? '' : 's'} (${[...nodesHit].slice(0, 5).join(', ')}${nodesHit.size > 5 ? ', ...' : ''}): ${component} pods would stay Pending there`,
    evidence: holders,
  };
}

function labelsOf(o: { metadata?: Meta }): Record<string, string> {
  return o.metadata?.labels ?? {};
}
function imagesOf(o: V1DaemonSet | V1Deployment): string[] {
  return (o.spec?.template?.spec?.containers ?? []).map((c) => c.image ?? '');
}

export const isNodeExporter = (o: V1DaemonSet | V1Deployment) =>
  ['node-exporter', 'prometheus-node-exporter'].includes(labelsOf(o)['app.kubernetes.io/name'] ?? labelsOf(o).app ?? '') || imagesOf(o).some((i) => /(^|\/)(prometheus-)?node[-_]exporter([:@]|$)/.test(i));
export const isKubeStateMetrics = (o: V1DaemonSet | V1Deployment) =>
  (labelsOf(o)['app.kubernetes.io/name'] ?? labelsOf(o).app) === 'kube-state-metrics' || imagesOf(o).some((i) => /(^|\/)kube-state-metrics([:@]|$)/.test(i));
export const isDcgm = (p: V1Pod) => (p.spec?.containers ?? []).some((c) => /dcgm/i.test(c.image ?? '') || /dcgm/i.test(c.name));

export function isKubePrometheusStack(o: { metadata?: Meta }): string | undefined {
  const l = labelsOf(o);
  if (l['app.kubernetes.io/part-of'] === 'kube-prometheus-stack' || /^kube-prometheus-stack/.test(l.chart ?? '') || /^kube-prometheus-stack/.test(l.app ?? '')) {
    return l.release ?? l['app.kubernetes.io/instance'] ?? o.metadata?.annotations?.['meta.helm.sh/release-name'] ?? '?';
  }
  return undefined;
}

/** Another exporter of the same kind, not from our release. */
export function decideDuplicate(kind: string, found: Array<V1DaemonSet | V1Deployment>, enabled: boolean, installation: Installation, valueKey: string): Finding {
  const foreign = found.filter((o) => !isOurs(o.metadata ?? {}, installation));
  if (!foreign.length) return { status: 'passed', message: `no other ${kind} in the cluster` };
  const evidence = foreign.map((o) => `${o.kind ?? (o.spec && 'updateStrategy' in o.spec ? 'DaemonSet' : 'Deployment')} ${ref(o.metadata)} (${owner(o.metadata, installation)}; image ${imagesOf(o)[0] ?? '?'})`);
  if (!enabled) return { status: 'passed', message: `another ${kind} runs (${ref(foreign[0]!.metadata)}), and ours is disabled (${valueKey}=false)`, evidence };
  return {
    status: 'failed',
    message: `${kind} already runs: ${foreign.map((o) => ref(o.metadata)).join(', ')}; the chart would start a second one, collecting the same metrics twice`,
    hint: `Install with --set ${valueKey}=false to use the existing ${kind}, or remove the other one. Two copies mean duplicate series and double scrape load.`,
    evidence,
  };
}

const releaseOf = (o: { metadata?: Meta }) => labelsOf(o).release ?? labelsOf(o)['app.kubernetes.io/instance'] ?? o.metadata?.annotations?.['meta.helm.sh/release-name'];

/**
 * kube-prometheus-stack releases and what of ours they double. Its exporters are sub-charts labelled
 * with their own part-of, so they are matched to a stack through the release they were installed by.
 */
export function decideKubePrometheusStack(all: Array<V1DaemonSet | V1Deployment>, nodeExporterEnabled: boolean, ksmEnabled: boolean): Finding {
  const releases = new Map<string, string[]>();
  for (const o of all) {
    const rel = isKubePrometheusStack(o);
    if (rel !== undefined) releases.set(`${o.metadata?.namespace}/${rel}`, []);
  }
  if (!releases.size) return { status: 'passed', message: 'no kube-prometheus-stack in the cluster' };
  const members = all.filter((o) => releases.has(`${o.metadata?.namespace}/${releaseOf(o)}`) || isKubePrometheusStack(o) !== undefined);
  for (const o of members) {
    const key = `${o.metadata?.namespace}/${isKubePrometheusStack(o) ?? releaseOf(o)}`;
    releases.get(key)?.push(o.metadata?.name ?? '?');
  }
  const doubles: string[] = [];
  const disable: string[] = [];
  if (nodeExporterEnabled && members.some(isNodeExporter)) {
    doubles.push('node-exporter (node metrics)');
    disable.push('--set nodeExporter.enabled=false');
  }
  if (ksmEnabled && members.some(isKubeStateMetrics)) {
    doubles.push('kube-state-metrics (object metrics)');
    disable.push('--set kubeStateMetrics.enabled=false');
  }
  const names = [...releases.keys()].join(', ');
  const evidence = [...releases.entries()].map(([k, n]) => `${k}: ${n.join(', ')}`);
  if (!doubles.length) return { status: 'passed', message: `kube-prometheus-stack present (${names}); nothing doubles up with the enabled components`, evidence };
  return {
    status: 'failed',
    message: `kube-prometheus-stack ${names} already runs ${doubles.join(' and ')}: both stacks would collect the same metrics`,
    hint: `Install with ${disable.join(' ')} to reuse its exporters (or disable them in kube-prometheus-stack: nodeExporter.enabled / kubeStateMetrics.enabled). The shared monitoring.coreos.com CRDs stay its own (see conflicts.prometheus-crds).`,
    evidence,
  };
}

export function decideRelease(mode: 'preflight' | 'install' | 'upgrade', release: HelmRelease | undefined, others: string[], name: string, namespace: string): Finding {
  // The same verdict and hint install, upgrade and doctor give (src/helm/release-state.ts).
  const v = judgeRelease(release);
  const evidence = release ? [`status=${release.status}`, `revision=${release.revision}`, `chart=${release.chart}`] : undefined;
  if (mode === 'upgrade') {
    if (!release) return { status: 'failed', message: `release ${namespace}/${name} not found: nothing to upgrade`, hint: 'Use `kubectl insight install`, or pass the right --release and -n.' };
    if (v.upgrade === 'refuse') return { status: 'failed', message: v.message, hint: v.hint, ...(evidence ? { evidence } : {}) };
    return { status: 'passed', message: `release ${namespace}/${name} is ${release.status} (revision ${release.revision}, chart ${release.chart}): ready to upgrade` };
  }
  if (release && v.state !== 'uninstalled') {
    return { status: 'failed', message: v.ourChart && v.state === 'deployed' ? `release ${namespace}/${name} is already installed (${release.status}, chart ${release.chart}, app ${release.app_version})` : v.message, hint: v.hint, ...(evidence ? { evidence } : {}) };
  }
  if (others.length) {
    return {
      status: 'failed',
      message: `the chart is already installed under another release: ${others.join(', ')}`,
      hint: 'Its objects have fixed names, so a second release collides with it: upgrade that release (--release/-n), or uninstall it first.',
      evidence: others,
    };
  }
  return { status: 'passed', message: `no release of ${CHART.name} in the cluster yet` };
}

export function decideCrds(decisions: CrdDecision[], servedV1: Map<string, boolean>): Finding[] {
  return decisions.map((d) => {
    const object = `crd/${d.crd}`;
    if (d.action === 'absent') return { status: 'passed', message: `${d.crd} absent: the chart will create it`, object };
    if (servedV1.get(d.crd) === false) {
      return { status: 'failed', severity: 'warning', message: `${d.crd} is present but does not serve v1, which the chart's objects use`, object, hint: 'Upgrade the Prometheus Operator CRDs (they are shared: coordinate with their owner).' };
    }
    if (d.action === 'keep') {
      return {
        status: 'passed',
        message: `${d.crd} present and used by others (${d.reasons.join('; ')}): install reuses it and never takes it over; uninstall keeps it`,
        object,
        evidence: [...d.users, ...d.foreign.slice(0, 10).map((f) => `${f.kind} ${f.namespace ? `${f.namespace}/` : ''}${f.name} (${f.owner})`), ...(d.foreign.length > 10 ? [`... and ${d.foreign.length - 10} more`] : [])],
      };
    }
    return { status: 'passed', message: `${d.crd} present, no other user found`, object };
  });
}

export function decideTaints(nodes: V1Node[], ds: DaemonSetScheduling): Finding {
  if (!ds.enabled) return { status: 'skipped', message: `${ds.component} is disabled` };
  const blocked = nodes
    .filter((n) => matchesSelector(n.metadata?.labels, { matchLabels: ds.nodeSelector }))
    .map((n) => ({ node: n.metadata?.name ?? '?', taints: untoleratedTaints(n, ds.tolerations) }))
    .filter((x) => x.taints.length);
  if (!blocked.length) return { status: 'passed', message: `${ds.component} tolerates the taints of every node` };
  const keys = [...new Set(blocked.flatMap((b) => b.taints.map((t) => `{key: ${t.key}, operator: Exists, effect: ${t.effect}}`)))];
  return {
    status: 'failed',
    message: `${blocked.length} node${blocked.length === 1 ? '' : 's'} have taints ${ds.component} does not tolerate: no metrics from ${blocked.slice(0, 5).map((b) => b.node).join(', ')}${blocked.length > 5 ? ', ...' : ''}`,
    evidence: blocked.map((b) => `node/${b.node}: ${b.taints.map(taintText).join(', ')}`),
    hint: `If these nodes should be monitored, add tolerations in the values (nodeExporter.tolerations / gpuExporter.tolerations): [${keys.join(', ')}].`,
  };
}

const ds = (ctx: PreflightContext, component: string) => ctx.input.daemonSets.find((d) => d.component === component);
const ourDaemonSets = async (ctx: PreflightContext) => new Set((await ctx.daemonSets()).filter((d) => isOurs(d.metadata ?? {}, inst(ctx))).map((d) => `${d.metadata?.namespace}/${d.metadata?.name}`));

export const conflictChecks: Check<PreflightContext>[] = [
  {
    id: 'conflicts.hostport-19100',
    category: CATEGORY,
    description: `hostPort ${PORTS.nodeExporter} (node-exporter) free on every node`,
    severity: 'fatal',
    hint: `Stop whatever holds port ${PORTS.nodeExporter} on those nodes (often another node-exporter), or install with --set nodeExporter.enabled=false.`,
    needs: ['cluster.api'],
    async run(ctx) {
      return decideHostPort(PORTS.nodeExporter, 'node-exporter', await ctx.pods(), await ctx.nodes(), ds(ctx, 'node-exporter'), inst(ctx), await ourDaemonSets(ctx));
    },
  },
  {
    id: 'conflicts.hostport-9445',
    category: CATEGORY,
    description: `hostPort ${PORTS.gpuExporter} (gpu-exporter) free on every GPU node`,
    severity: 'fatal',
    hint: `Stop whatever holds port ${PORTS.gpuExporter} on those GPU nodes, or install with --set gpuExporter.enabled=false.`,
    needs: ['cluster.api'],
    async run(ctx) {
      return decideHostPort(PORTS.gpuExporter, 'gpu-exporter', await ctx.pods(), await ctx.nodes(), ds(ctx, 'gpu-exporter'), inst(ctx), await ourDaemonSets(ctx));
    },
  },
  {
    id: 'conflicts.node-exporter',
    category: CATEGORY,
    description: 'no other node-exporter in the cluster',
    severity: 'warning',
    needs: ['cluster.api'],
    async run(ctx) {
      return decideDuplicate('node-exporter', (await ctx.daemonSets()).filter(isNodeExporter), ds(ctx, 'node-exporter')?.enabled ?? true, inst(ctx), 'nodeExporter.enabled');
    },
  },
  {
    id: 'conflicts.kube-state-metrics',
    category: CATEGORY,
    description: 'no other kube-state-metrics in the cluster',
    severity: 'warning',
    needs: ['cluster.api'],
    async run(ctx) {
      return decideDuplicate('kube-state-metrics', (await ctx.deployments()).filter(isKubeStateMetrics), ctx.input.kubeStateMetricsEnabled, inst(ctx), 'kubeStateMetrics.enabled');
    },
  },
  {
    id: 'conflicts.arms-prom',
    category: CATEGORY,
    description: `no ARMS Prometheus (namespace ${ARMS_NAMESPACE}) already collecting`,
    severity: 'warning',
    hint: `ARMS Prometheus and this collector would both collect the cluster's metrics (double data, double cost): uninstall ARMS Prometheus (console, or \`helm uninstall -n ${ARMS_NAMESPACE} <release>\`) before installing, or keep it and do not install this chart.`,
    needs: ['cluster.api'],
    async run(ctx) {
      const ns = await ctx.kube.ifFound({ verb: 'get', resource: 'namespaces', name: ARMS_NAMESPACE }, () => ctx.kube.core.readNamespace({ name: ARMS_NAMESPACE }));
      if (!ns) return { status: 'passed', message: `no namespace ${ARMS_NAMESPACE}: ARMS Prometheus is not installed` };
      const workloads = [...(await ctx.deployments()), ...(await ctx.daemonSets())].filter((o) => o.metadata?.namespace === ARMS_NAMESPACE);
      if (!workloads.length) return { status: 'passed', message: `namespace ${ARMS_NAMESPACE} exists but runs no workloads`, severity: 'info' };
      return { status: 'failed', message: `ARMS Prometheus runs in namespace ${ARMS_NAMESPACE} (${workloads.map((w) => w.metadata?.name).join(', ')}): a second collector doubles the data`, evidence: workloads.map((w) => `${ref(w.metadata)}: ${imagesOf(w)[0] ?? ''}`) };
    },
  },
  {
    id: 'conflicts.kube-prometheus-stack',
    category: CATEGORY,
    description: 'kube-prometheus-stack (what doubles up, what to disable)',
    severity: 'warning',
    needs: ['cluster.api'],
    async run(ctx) {
      return decideKubePrometheusStack([...(await ctx.deployments()), ...(await ctx.daemonSets())], ds(ctx, 'node-exporter')?.enabled ?? true, ctx.input.kubeStateMetricsEnabled);
    },
  },
  {
    id: 'conflicts.prometheus-crds',
    category: CATEGORY,
    description: 'Prometheus Operator CRDs: present, and who owns them',
    severity: 'warning',
    needs: ['cluster.api'],
    async run(ctx) {
      const names = CRDS.filter((c) => c.shared).map((c) => c.name);
      const decisions = await inspectCrdsOwnership(ctx.kube, names, inst(ctx));
      const served = new Map<string, boolean>();
      for (const d of decisions) {
        if (d.action === 'absent') continue;
        const crd = await ctx.kube.call({ verb: 'get', resource: 'customresourcedefinitions.apiextensions.k8s.io', name: d.crd }, () => ctx.kube.apiext.readCustomResourceDefinition({ name: d.crd }));
        served.set(d.crd, (crd.spec?.versions ?? []).some((v) => v.name === 'v1' && v.served));
      }
      return decideCrds(decisions, served);
    },
  },
  {
    id: 'conflicts.release',
    category: CATEGORY,
    description: 'no release of the chart already present or stuck',
    severity: 'fatal',
    needs: ['cluster.api', 'cluster.helm'],
    async run(ctx) {
      const rel = (await ctx.helm.list(ctx.input.namespace, ctx.input.release)).find((r) => r.name === ctx.input.release);
      // The chart under another release name (the doc also uses `aliyun-prometheus`): its workloads say so.
      const others = new Set<string>();
      for (const o of [...(await ctx.deployments()), ...(await ctx.daemonSets())]) {
        const l = labelsOf(o);
        if (chartNameOf(l['helm.sh/chart'] ?? '') !== CHART.name) continue;
        const r = o.metadata?.annotations?.['meta.helm.sh/release-name'] ?? l['app.kubernetes.io/instance'] ?? '?';
        const ns = o.metadata?.namespace ?? '?';
        if (r === ctx.input.release && ns === ctx.input.namespace) continue;
        others.add(`${ns}/${r}`);
      }
      return decideRelease(ctx.input.mode, rel, [...others], ctx.input.release, ctx.input.namespace);
    },
  },
  {
    id: 'conflicts.dcgm',
    category: CATEGORY,
    description: 'no DCGM exporter on GPU nodes (it conflicts with gpu-exporter)',
    severity: 'warning',
    hint: 'Only one DCGM client may run per GPU node ("context deadline exceeded" otherwise): remove the other DCGM exporter, or install with --set gpuExporter.enabled=false and keep it. A host-level DCGM agent (not a pod) cannot be seen from the API: check the GPU nodes (`systemctl status nvidia-dcgm`).',
    needs: ['cluster.api'],
    async run(ctx) {
      const gpu = ds(ctx, 'gpu-exporter');
      if (gpu && !gpu.enabled) return { status: 'skipped', message: 'gpu-exporter is disabled' };
      const key = gpu?.requiredNodeLabel ?? 'aliyun.accelerator/nvidia_name';
      const gpuNodes = new Set((await ctx.nodes()).filter((n) => n.metadata?.labels?.[key] !== undefined).map((n) => n.metadata?.name));
      if (!gpuNodes.size) return { status: 'passed', message: `no GPU nodes (label ${key}): gpu-exporter will not run` };
      const hits = (await ctx.pods()).filter((p) => isActive(p) && p.spec?.nodeName && gpuNodes.has(p.spec.nodeName) && isDcgm(p) && !isOurs(p.metadata ?? {}, inst(ctx)));
      if (!hits.length) return { status: 'passed', message: `no DCGM exporter pod on the ${gpuNodes.size} GPU node${gpuNodes.size === 1 ? '' : 's'}` };
      const nodes = [...new Set(hits.map((p) => p.spec!.nodeName!))];
      return { status: 'failed', message: `a DCGM exporter already runs on GPU node${nodes.length === 1 ? '' : 's'} ${nodes.join(', ')}: gpu-exporter would conflict with it`, evidence: hits.map((p) => `node/${p.spec!.nodeName}: pod ${ref(p.metadata)} (${p.spec?.containers?.[0]?.image ?? ''})`) };
    },
  },
  {
    id: 'conflicts.taints',
    category: CATEGORY,
    description: 'nodes with taints the DaemonSets do not tolerate',
    severity: 'warning',
    needs: ['cluster.api'],
    async run(ctx) {
      return decideTaints(await ctx.nodes(), ds(ctx, 'node-exporter')!);
    },
  },
];
