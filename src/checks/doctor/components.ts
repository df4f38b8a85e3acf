/**
 * The chart's components as doctor sees them: how to recognise each workload, which port serves
 * its metrics and which families prove the data is there. Matched by name so the real
 * chart and the fixture chart (cms-node-exporter, ...) both fit.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { PORTS } from '../../defaults.js';
import type { DoctorContext, Workload } from './context.js';
import { matchesSelector } from '../../kube/selectors.js';

export interface Component {
  /** Used in check ids: `exporters.<key>`. */
  key: 'node-exporter' | 'kube-state-metrics' | 'gpu-exporter' | 'operator';
  title: string;
  match: RegExp;
  port: number;
  path: string;
  /** Families a healthy exporter always exposes. */
  families: string[];
}

export const EXPORTERS: Component[] = [
  { key: 'node-exporter', title: 'node-exporter', match: /node-exporter/, port: PORTS.nodeExporter, path: '/metrics', families: ['node_cpu_seconds_total', 'node_memory_MemAvailable_bytes'] },
  { key: 'kube-state-metrics', title: 'kube-state-metrics', match: /kube-state-metrics/, port: PORTS.kubeStateMetrics, path: '/metrics', families: ['kube_pod_info', 'kube_node_info'] },
  { key: 'gpu-exporter', title: 'gpu-exporter', match: /gpu-exporter/, port: PORTS.gpuExporter, path: '/metrics', families: ['DCGM_FI_DEV_GPU_UTIL'] },
  { key: 'operator', title: 'loongcollector-operator', match: /loongcollector-operator|(^|-)operator$/, port: PORTS.operator, path: '/metrics', families: ['controller_runtime_reconcile_total'] },
];

export function workloadsOf(c: Component, workloads: Workload[]): Workload[] {
  return workloads.filter((w) => c.match.test(w.metadata?.name ?? '') && !/webhook/.test(w.metadata?.name ?? ''));
}

export async function podsOf(ctx: DoctorContext, w: Workload): Promise<V1Pod[]> {
  const pods = await ctx.pods();
  return pods.filter((p) => matchesSelector(p.metadata?.labels, w.spec?.selector));
}

/** The container port that serves metrics: the component's port (as containerPort or hostPort), else a port named like metrics. */
export function metricsPort(pod: V1Pod, c: Component): number {
  const ports = (pod.spec?.containers ?? []).flatMap((x) => x.ports ?? []);
  const exact = ports.find((p) => p.containerPort === c.port || p.hostPort === c.port);
  if (exact) return exact.containerPort;
  const named = ports.find((p) => /metrics|https?$/.test(p.name ?? ''));
  return named?.containerPort ?? c.port;
}
