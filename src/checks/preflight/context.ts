/**
 * What every preflight check reads: the resolved input, narrow clients, and lists fetched once and
 * shared (nodes, pods) so twenty checks do not list all pods twenty times. Nothing here prints.
 */
import type { V1DaemonSet, V1Deployment, V1Node, V1Pod, V1Toleration } from '@kubernetes/client-node';
import type { Kube } from '../../kube/client.js';
import type { Helm } from '../../helm/helm.js';
import type { EndpointOverrides, NetMode } from '../../cloud/endpoints.js';
import type { Secret } from '../../secret.js';
import type { ProbeReport } from '../../net/types.js';

/** The API clients preflight uses; tests pass small fakes of these. */
export type PreflightKube = Pick<Kube, 'core' | 'apps' | 'apiext' | 'authz' | 'version' | 'custom' | 'server' | 'context' | 'call' | 'ifFound'>;
export type PreflightHelm = Pick<Helm, 'features' | 'list'>;

/** The answers of the cloud checks (src/cloud), behind a narrow interface so tests can fake it. */
export interface ProbeSource {
  /** Runs the network probes once (in-cluster pods or locally) and returns every result. */
  run(signal: AbortSignal): Promise<ProbeReport>;
}

export interface DaemonSetScheduling {
  /** Component name as the chart calls it (node-exporter, gpu-exporter). */
  component: string;
  enabled: boolean;
  nodeSelector: Record<string, string>;
  tolerations: V1Toleration[];
  /** Only nodes carrying this label key (gpu-exporter runs on GPU nodes only). */
  requiredNodeLabel?: string;
}

export interface ResolvedPreflightInput {
  namespace: string;
  release: string;
  region?: string;
  net: NetMode;
  accessKeyId?: string;
  accessKeySecret?: Secret;
  projectName?: string;
  prometheusInstanceId?: string;
  fromLocal: boolean;
  sample?: number;
  probeImage: string;
  probeNamespace: string;
  timeoutMs: number;
  probeTimeoutMs: number;
  endpointOverrides: EndpointOverrides;
  mode: 'preflight' | 'install' | 'upgrade';
  daemonSets: DaemonSetScheduling[];
  /** kubeStateMetrics.enabled in the values (default true). */
  kubeStateMetricsEnabled: boolean;
}

export interface PreflightContext {
  input: ResolvedPreflightInput;
  kube: PreflightKube;
  helm: PreflightHelm;
  /** This machine's clock (tests move it). */
  now: () => Date;
  /** GET /version once: the answer and the API server's Date header (for clock skew). */
  serverVersion(): Promise<ServerVersion>;
  /** Who the API server says we are (SelfSubjectReview, Kubernetes >= 1.28); undefined when it cannot tell. */
  whoami?(): Promise<string | undefined>;
  /** Every node, fetched once. */
  nodes(): Promise<V1Node[]>;
  /** Every pod in every namespace, fetched once. */
  pods(): Promise<V1Pod[]>;
  /** Every DaemonSet / Deployment in every namespace, fetched once. */
  daemonSets(): Promise<V1DaemonSet[]>;
  deployments(): Promise<V1Deployment[]>;
  /** Network probe results, run once and shared by the network.* checks. */
  probes(signal?: AbortSignal): Promise<ProbeReport>;
  /** Wait until a started probe run has finished (and cleaned up). */
  settle(): Promise<void>;
  /** Stop a probe run early (its clean-up still runs). */
  abort(): void;
}

export interface ServerVersion {
  gitVersion: string;
  /** The API server's clock, from the HTTP Date header (second resolution). */
  date?: Date;
  /** How long the request took, to bound the skew measurement. */
  rttMs: number;
  /** Local time half-way through the request. */
  localMid?: Date;
}

