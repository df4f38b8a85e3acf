/**
 * Pod checks: every component pod Running and Ready (else the precise reason from explainPod),
 * DaemonSets covering every eligible node, and recent Warning events nothing else explained.
 */
import type { CoreV1Event, V1DaemonSet, V1Node, V1Pod, V1Taint, V1Toleration } from '@kubernetes/client-node';
import { eventTime, explainPod, type PodProblem } from '../../kube/pods.js';
import type { Check, Finding, Severity } from '../engine.js';
import type { DoctorContext, Workload } from './context.js';
import { matchesSelector } from '../../kube/selectors.js';

const CATEGORY = 'Pods';
/** More pods than this with the same problem in one workload are reported as one finding. */
const GROUP_OVER = 3;

export function tolerates(tolerations: V1Toleration[] | undefined, taint: V1Taint): boolean {
  return (tolerations ?? []).some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (!t.key) return t.operator === 'Exists';
    if (t.key !== taint.key) return false;
    return t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? '');
  });
}

/** Nodes a DaemonSet's pods may run on: nodeSelector, required node affinity, NoSchedule/NoExecute taints. */
export function eligibleNodes(ds: V1DaemonSet, nodes: V1Node[]): V1Node[] {
  const spec = ds.spec?.template?.spec;
  const sel = spec?.nodeSelector ?? {};
  const terms = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  return nodes.filter((n) => {
    const labels = n.metadata?.labels ?? {};
    for (const [k, v] of Object.entries(sel)) if (labels[k] !== v) return false;
    if (terms?.length) {
      const ok = terms.some((t) => (t.matchExpressions ?? []).every((e) => matchesSelector(labels, { matchExpressions: [{ key: e.key, operator: e.operator, values: e.values }] })));
      if (!ok) return false;
    }
    for (const taint of n.spec?.taints ?? []) {
      if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
      // The DaemonSet controller adds these tolerations itself.
      if (/^node\.kubernetes\.io\/(unschedulable|not-ready|unreachable|disk-pressure|memory-pressure|pid-pressure|network-unavailable)$/.test(taint.key)) continue;
      if (!tolerates(spec?.tolerations, taint)) return false;
    }
    return true;
  });
}

/** The node a DaemonSet pod is meant for, even while Pending (the controller pins it by matchFields). */
export function targetNode(pod: V1Pod): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  for (const t of pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    for (const f of t.matchFields ?? []) if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.[0]) return f.values[0];
  }
  return undefined;
}

const list = (xs: string[], n = 10) => (xs.length > n ? `${xs.slice(0, n).join(', ')} and ${xs.length - n} more` : xs.join(', '));

function ownerWorkload(pod: V1Pod, workloads: Workload[]): Workload | undefined {
  return workloads.find((w) => matchesSelector(pod.metadata?.labels, w.spec?.selector));
}

function severityFor(p: PodProblem): Severity {
  return p.reason === 'Terminating' ? 'warning' : 'fatal';
}

async function withLogs(ctx: DoctorContext, pod: V1Pod, p: PodProblem, evidence: string[]): Promise<void> {
  if (!ctx.opts.logs || !p.container) return;
  if (!['CrashLoopBackOff', 'OOMKilled', 'NotReady', 'Terminated', 'ContainerWaiting'].includes(p.reason)) return;
  const previous = p.reason === 'CrashLoopBackOff' || p.reason === 'OOMKilled';
  try {
    const lines = await ctx.logTail(pod, p.container, previous);
    evidence.push(`last ${lines.length} log lines of ${p.container}${previous ? ' (previous run)' : ''}:`, ...lines.map((l) => `  | ${l}`));
  } catch (e) {
    evidence.push(`(logs unavailable: ${(e as Error).message})`);
  }
}

export const podChecks: Check<DoctorContext>[] = [
  {
    id: 'pods.health',
    category: CATEGORY,
    description: 'component pods are Running and Ready',
    severity: 'fatal',
    timeoutMs: 60_000,
    async run(ctx) {
      const [pods, events, workloads] = await Promise.all([ctx.pods(), ctx.events(), ctx.workloads()]);
      const ns = ctx.opts.namespace;
      const problems: Array<{ pod: V1Pod; p: PodProblem; w?: Workload }> = [];
      for (const pod of pods) {
        const p = explainPod(pod, events, { now: ctx.now });
        if (p) problems.push({ pod, p, w: ownerWorkload(pod, workloads) });
      }
      if (!problems.length) return { status: 'passed', message: `all ${pods.length} pods in ${ns} are Running and Ready` };
      // Group same-cause pods of one workload: 1,000 ImagePullBackOff node-exporters are one finding.
      const groups = new Map<string, typeof problems>();
      for (const x of problems) {
        const key = `${x.w?.kind ?? 'Pod'}/${x.w?.metadata?.name ?? x.pod.metadata?.name}/${x.p.reason}/${x.p.container ?? ''}/${(x.p.schedulingCauses ?? []).join(',')}`;
        groups.set(key, [...(groups.get(key) ?? []), x]);
      }
      const findings: Finding[] = [];
      let logsFetched = 0;
      for (const g of groups.values()) {
        const first = g[0]!;
        const evidence = [...first.p.evidence];
        if (ctx.opts.logs && logsFetched < 5) {
          logsFetched++;
          await withLogs(ctx, first.pod, first.p, evidence);
        }
        if (g.length > GROUP_OVER) {
          const names = g.map((x) => x.pod.metadata?.name ?? '?');
          const nodes = [...new Set(g.map((x) => targetNode(x.pod)).filter((n): n is string => !!n))];
          findings.push({
            status: 'failed',
            severity: severityFor(first.p),
            message: `${g.length} pods of ${first.w?.kind} ${first.w?.metadata?.name}: ${first.p.message}`,
            object: `${(first.w?.kind ?? 'pod').toLowerCase()}/${ns}/${first.w?.metadata?.name}`,
            evidence: [`pods: ${list(names)}`, ...(nodes.length ? [`nodes: ${list(nodes)}`] : []), `first pod ${first.pod.metadata?.name}:`, ...evidence.map((e) => `  ${e}`)],
            hint: first.p.hint,
          });
        } else {
          for (const x of g) {
            const ev = x === first ? evidence : [...x.p.evidence];
            findings.push({
              status: 'failed',
              severity: severityFor(x.p),
              message: `${x.pod.metadata?.name}: ${x.p.message}`,
              object: `pod/${ns}/${x.pod.metadata?.name}`,
              evidence: [...(x.w ? [`owner: ${x.w.kind}/${x.w.metadata?.name}`] : []), ...(targetNode(x.pod) ? [`node: ${targetNode(x.pod)}`] : []), ...ev],
              hint: x.p.hint,
            });
          }
        }
      }
      const healthy = pods.length - problems.length;
      findings.unshift({ status: 'passed', message: `${healthy} of ${pods.length} pods in ${ns} are Running and Ready` });
      return findings;
    },
  },
  {
    id: 'pods.daemonset-coverage',
    category: CATEGORY,
    description: 'DaemonSets run a pod on every eligible node',
    severity: 'fatal',
    async run(ctx) {
      const [dss, nodes, pods] = await Promise.all([ctx.daemonSets(), ctx.nodes(), ctx.pods()]);
      if (!dss.length) return { status: 'skipped', message: `no DaemonSets in ${ctx.opts.namespace}` };
      const findings: Finding[] = [];
      const notReadyNodes = new Set(nodes.filter((n) => !(n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')).map((n) => n.metadata?.name ?? ''));
      for (const ds of dss) {
        const name = ds.metadata?.name ?? '?';
        const eligible = eligibleNodes(ds, nodes);
        const dsPods = pods.filter((p) => matchesSelector(p.metadata?.labels, ds.spec?.selector));
        const byNode = new Map<string, V1Pod[]>();
        for (const p of dsPods) {
          const n = targetNode(p);
          if (n) byNode.set(n, [...(byNode.get(n) ?? []), p]);
        }
        const without = eligible.filter((n) => !byNode.has(n.metadata?.name ?? '')).map((n) => n.metadata?.name ?? '?');
        const notRunning = eligible
          .map((n) => n.metadata?.name ?? '?')
          .filter((n) => byNode.has(n) && !byNode.get(n)!.some((p) => p.status?.phase === 'Running'));
        const st = ds.status;
        const evidence = [
          `eligible nodes=${eligible.length} of ${nodes.length}`,
          `desiredNumberScheduled=${st?.desiredNumberScheduled ?? 0}, currentNumberScheduled=${st?.currentNumberScheduled ?? 0}, numberReady=${st?.numberReady ?? 0}, numberAvailable=${st?.numberAvailable ?? 0}`,
        ];
        if (!eligible.length) {
          findings.push({
            status: ds.metadata?.name?.includes('gpu') ? 'passed' : 'failed',
            severity: 'warning',
            message: `DaemonSet ${name} is eligible for no node${ds.metadata?.name?.includes('gpu') ? ' (no GPU nodes)' : ''}`,
            object: `daemonset/${ctx.opts.namespace}/${name}`,
            evidence: [...evidence, `nodeSelector=${JSON.stringify(ds.spec?.template?.spec?.nodeSelector ?? {})}`],
            hint: 'Check its nodeSelector and tolerations against `kubectl get nodes --show-labels`.',
          });
          continue;
        }
        if (!without.length && !notRunning.length) {
          findings.push({ status: 'passed', message: `DaemonSet ${name} has a pod on all ${eligible.length} eligible nodes`, object: `daemonset/${ctx.opts.namespace}/${name}`, evidence });
          continue;
        }
        if (without.length) {
          const down = without.filter((n) => notReadyNodes.has(n));
          findings.push({
            status: 'failed',
            message: `DaemonSet ${name} has no pod on ${without.length} of ${eligible.length} eligible nodes`,
            object: `daemonset/${ctx.opts.namespace}/${name}`,
            evidence: [...evidence, `nodes without a pod: ${list(without)}`, ...(down.length ? [`of which NotReady: ${list(down)}`] : [])],
            hint: `\`kubectl describe daemonset -n ${ctx.opts.namespace} ${name}\` shows why pods are not created (events FailedCreate, quota, admission).`,
          });
        }
        if (notRunning.length) {
          const down = notRunning.filter((n) => notReadyNodes.has(n));
          findings.push({
            status: 'failed',
            message: `DaemonSet ${name}: the pod is not Running on ${notRunning.length} of ${eligible.length} eligible nodes`,
            object: `daemonset/${ctx.opts.namespace}/${name}`,
            evidence: [...evidence, `nodes: ${list(notRunning)}`, ...(down.length ? [`of which NotReady: ${list(down)}`] : [])],
            hint: down.length ? `Nodes are NotReady: \`kubectl get nodes ${down.slice(0, 3).join(' ')}\`; see pods.health for the pods' own reasons.` : 'See pods.health above for each pod\'s reason.',
          });
        }
      }
      return findings;
    },
  },
  {
    id: 'pods.events',
    category: CATEGORY,
    description: 'no recent Warning events in the namespace',
    severity: 'warning',
    async run(ctx) {
      const [events, pods] = await Promise.all([ctx.events(), ctx.pods()]);
      const since = ctx.now.getTime() - ctx.opts.eventWindowMs;
      // Events of pods that pods.health explains would only repeat its findings.
      const explained = new Set(pods.filter((p) => explainPod(p, events, { now: ctx.now })).map((p) => p.metadata?.name ?? ''));
      const recent = events.filter((e) => eventTime(e) >= since && !(e.involvedObject?.kind === 'Pod' && explained.has(e.involvedObject.name ?? '')));
      if (!recent.length) return { status: 'passed', message: `no unexplained Warning events in the last ${Math.round(ctx.opts.eventWindowMs / 60000)} minutes` };
      const groups = new Map<string, CoreV1Event[]>();
      for (const e of recent) {
        const k = `${e.involvedObject?.kind}/${e.involvedObject?.name}/${e.reason}`;
        groups.set(k, [...(groups.get(k) ?? []), e]);
      }
      const sorted = [...groups.values()].sort((a, b) => eventTime(b[0]!) - eventTime(a[0]!)).slice(0, 10);
      return sorted.map((g): Finding => {
        const e = g.sort((a, b) => eventTime(b) - eventTime(a))[0]!;
        const count = g.reduce((s, x) => s + (x.count ?? x.series?.count ?? 1), 0);
        return {
          status: 'failed',
          message: `${e.reason}: ${(e.message ?? '').replace(/\s+/g, ' ').slice(0, 200)}`,
          object: `${(e.involvedObject?.kind ?? 'object').toLowerCase()}/${e.involvedObject?.namespace ?? ctx.opts.namespace}/${e.involvedObject?.name}`,
          evidence: [`count=${count}`, `last seen ${new Date(eventTime(e)).toISOString()}`],
          hint: `\`kubectl get events -n ${ctx.opts.namespace} --field-selector involvedObject.name=${e.involvedObject?.name},type=Warning\``,
        };
      });
    },
  },
];


