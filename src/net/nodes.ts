/**
 * Which nodes a DaemonSet (and so a probe pod carrying its scheduling) can run on: node selector,
 * required node label, taints vs tolerations, readiness. Shared by the probe-pod runner and the
 * conflicts.taints check so both agree on "eligible".
 */
import type { V1Node, V1Taint, V1Toleration } from '@kubernetes/client-node';
import { matchesSelector } from '../kube/selectors.js';

/** Kubernetes' toleration matching (k8s.io/api/core/v1 Toleration.ToleratesTaint). */
export function tolerates(tol: V1Toleration, taint: V1Taint): boolean {
  if (tol.effect && tol.effect !== taint.effect) return false;
  if (tol.key && tol.key !== taint.key) return false;
  // An empty key with operator Exists matches every taint.
  if (!tol.key && tol.operator !== 'Exists') return false;
  if ((tol.operator ?? 'Equal') === 'Exists') return true;
  return (tol.value ?? '') === (taint.value ?? '');
}

/** Taints that keep pods with these tolerations off the node (NoSchedule and NoExecute; PreferNoSchedule only prefers). */
export function untoleratedTaints(node: V1Node, tolerations: V1Toleration[]): V1Taint[] {
  return (node.spec?.taints ?? []).filter((t) => t.effect !== 'PreferNoSchedule' && !tolerations.some((tol) => tolerates(tol, t)));
}

export function isReady(node: V1Node): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export function taintText(t: V1Taint): string {
  return `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`;
}

export interface NodeSelection {
  /** Nodes to probe. */
  selected: V1Node[];
  /** Eligible but left out by --sample. */
  sampledOut: number;
  /** Not eligible, with the reason (for the report's evidence). */
  excluded: { node: string; reason: string }[];
}

export interface SchedulingConstraints {
  nodeSelector?: Record<string, string>;
  tolerations?: V1Toleration[];
}

/**
 * The nodes to probe: those where the collectors' pods can run. With `sample`, N nodes spread over
 * zones (round-robin by `topology.kubernetes.io/zone`, names sorted), so a zone with its own egress
 * path is not missed; the choice is deterministic so two runs probe the same nodes.
 */
export function selectNodes(nodes: V1Node[], c: SchedulingConstraints, sample?: number): NodeSelection {
  const excluded: NodeSelection['excluded'] = [];
  const eligible: V1Node[] = [];
  for (const n of [...nodes].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))) {
    const name = n.metadata?.name ?? '?';
    const taints = untoleratedTaints(n, c.tolerations ?? []);
    if (!matchesSelector(n.metadata?.labels, { matchLabels: c.nodeSelector ?? {} })) excluded.push({ node: name, reason: 'does not match the node selector' });
    else if (taints.length) excluded.push({ node: name, reason: `taints not tolerated: ${taints.map(taintText).join(', ')}` });
    else if (n.spec?.unschedulable) excluded.push({ node: name, reason: 'cordoned (unschedulable)' });
    else if (!isReady(n)) excluded.push({ node: name, reason: 'not Ready' });
    else eligible.push(n);
  }
  if (!sample || sample >= eligible.length) return { selected: eligible, sampledOut: 0, excluded };
  const byZone = new Map<string, V1Node[]>();
  for (const n of eligible) {
    const z = n.metadata?.labels?.['topology.kubernetes.io/zone'] ?? n.metadata?.labels?.['failure-domain.beta.kubernetes.io/zone'] ?? '';
    byZone.set(z, [...(byZone.get(z) ?? []), n]);
  }
  const queues = [...byZone.keys()].sort().map((z) => byZone.get(z)!);
  const selected: V1Node[] = [];
  for (let i = 0; selected.length < sample; i++) {
    for (const q of queues) if (q[i] && selected.length < sample) selected.push(q[i]!);
  }
  return { selected, sampledOut: eligible.length - selected.length, excluded };
}
