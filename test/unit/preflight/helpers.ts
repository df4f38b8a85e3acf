import { helmFeatures } from '../../../src/helm/helm.js';
// Small fakes for preflight unit tests: a context whose lists and clients are plain data.
import type { V1DaemonSet, V1Deployment, V1Node, V1Pod } from '@kubernetes/client-node';
import type { PreflightContext, PreflightKube } from '../../../src/checks/preflight/context.js';
import { resolveInput, type PreflightInput } from '../../../src/checks/preflight/index.js';
import type { ProbeReport } from '../../../src/net/types.js';
import { withCalls } from '../../support/kube.js';

export function node(name: string, extra: { labels?: Record<string, string>; taints?: { key: string; value?: string; effect: string }[]; ready?: boolean; unschedulable?: boolean } = {}): V1Node {
  return {
    metadata: { name, labels: extra.labels ?? {} },
    spec: { ...(extra.taints ? { taints: extra.taints } : {}), ...(extra.unschedulable ? { unschedulable: true } : {}) },
    status: { conditions: [{ type: 'Ready', status: extra.ready === false ? 'False' : 'True' }] },
  };
}

export function pod(ns: string, name: string, nodeName: string, ports: { containerPort: number; hostPort?: number; protocol?: string }[] = [], extra: { hostNetwork?: boolean; labels?: Record<string, string>; annotations?: Record<string, string>; image?: string; phase?: string } = {}): V1Pod {
  return {
    metadata: { namespace: ns, name, labels: extra.labels ?? {}, annotations: extra.annotations ?? {} },
    spec: { nodeName, hostNetwork: extra.hostNetwork ?? false, containers: [{ name: 'c', image: extra.image ?? 'busybox', ports }] },
    status: { phase: extra.phase ?? 'Running' },
  };
}

export function workload<T extends V1DaemonSet | V1Deployment>(kind: 'DaemonSet' | 'Deployment', ns: string, name: string, image: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}): T {
  return { kind, metadata: { namespace: ns, name, labels, annotations }, spec: { template: { spec: { containers: [{ name: 'c', image }] } } } } as unknown as T;
}

export interface FakeData {
  nodes?: V1Node[];
  pods?: V1Pod[];
  daemonSets?: V1DaemonSet[];
  deployments?: V1Deployment[];
  probes?: ProbeReport;
  kube?: Partial<PreflightKube>;
  helm?: Partial<PreflightContext['helm']>;
  now?: Date;
}

export function fakeCtx(input: PreflightInput = {}, d: FakeData = {}): PreflightContext {
  return {
    input: resolveInput(input, {}),
    kube: withCalls({ server: 'https://127.0.0.1:6443', context: 'test', ...d.kube }) as PreflightKube,
    helm: { features: async () => helmFeatures('4.3.1'), list: async () => [], ...d.helm },
    now: () => d.now ?? new Date('2026-01-01T00:00:00Z'),
    serverVersion: async () => ({ gitVersion: 'v1.36.3', rttMs: 10 }),
    nodes: async () => d.nodes ?? [],
    pods: async () => d.pods ?? [],
    daemonSets: async () => d.daemonSets ?? [],
    deployments: async () => d.deployments ?? [],
    probes: async () => d.probes ?? { results: [], failures: [] },
    settle: async () => undefined,
    abort: () => undefined,
  };
}
