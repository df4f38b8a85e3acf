/**
 * Every name, label, port and URL the tool knows about the chart, in one place. Where a real
 * cluster disagrees, the flags that read these win.
 */
export const CHART = {
  name: 'loongcollector-cluster-insight',
  repoAlias: 'aliyun-prometheus',
  repoUrl: 'https://prometheus-agent-repo-chart.cn-beijing.cr.aliyuncs.com/loongcollector/loongcollector-cluster-insight',
  release: 'aliyun-loongcollector-cluster-insight',
  namespace: 'cms-monitoring',
} as const;

/**
 * Where the per-check docs live; every non-passing check's hint links to its section there
 * (`docLink` in src/checks/engine.ts). The project publishes no repository URL, so this is the path
 * inside the repository; make it an absolute URL (…/blob/main/docs) once there is one.
 */
export const DOCS_BASE = 'docs';

/** The field manager of every object kubectl-insight writes itself, so managedFields and conflicts name it. */
export const FIELD_MANAGER = 'kubectl-insight';

export const CR = {
  group: 'telemetry.alibabacloud.com',
  version: 'v1alpha1',
  plural: 'clusteraliyunpipelineconfigs',
  kind: 'ClusterAliyunPipelineConfig',
  /**
   * The operator's finalizer as the doc spells it. That spelling is 65 bytes without a "/", which the
   * API server rejects as a finalizer name (63 at most after the last "/"), so objects carry
   * "<this>/<suffix>"; match with `isOperatorFinalizer`, never by equality.
   */
  finalizer: 'clusteraliyunpipelineconfig.finalizers.telemetry.alibabacloud.com',
  isOperatorFinalizer: (name: string) =>
    name === 'clusteraliyunpipelineconfig.finalizers.telemetry.alibabacloud.com' ||
    name.startsWith('clusteraliyunpipelineconfig.finalizers.telemetry.alibabacloud.com/'),
  /** The entity collector's pipeline config, named after the cluster id. */
  entityCollectorName: (clusterID: string) => `custom-kubernetes-${clusterID}-entity-collector`,
} as const;

export const LOG_CONFIG = {
  group: 'log.alibabacloud.com',
  plural: 'aliyunlogconfigs',
  kind: 'AliyunLogConfig',
} as const;

/** CRDs the chart installs. `shared` ones are also used by kube-prometheus-stack and others. */
export const CRDS = [
  { name: 'clusteraliyunpipelineconfigs.telemetry.alibabacloud.com', shared: false },
  { name: 'aliyunlogconfigs.log.alibabacloud.com', shared: false },
  { name: 'servicemonitors.monitoring.coreos.com', shared: true },
  { name: 'podmonitors.monitoring.coreos.com', shared: true },
  { name: 'prometheusrules.monitoring.coreos.com', shared: true },
  { name: 'probes.monitoring.coreos.com', shared: true },
] as const;

export const PORTS = {
  nodeExporter: 19100,
  kubeStateMetrics: 8080,
  gpuExporter: 9445,
  operator: 8888,
  operatorWebhook: 9443,
} as const;

export const OPERATOR_LABEL = { key: 'app.kubernetes.io/name', value: 'loongcollector-operator' } as const;

/** Namespace of ARMS Prometheus: a second collector there doubles the data. */
export const ARMS_NAMESPACE = 'arms-prom';

/** Chart values that must be set; `path` is the dotted key in values.yaml. */
export const REQUIRED_VALUES = [
  { path: 'aliUid', flag: 'ali-uid' },
  { path: 'accessKeyID', flag: 'access-key-id' },
  { path: 'accessKeySecret', flag: 'access-key-secret-stdin' },
  { path: 'clusterID', flag: 'cluster-id' },
  { path: 'clusterName', flag: 'cluster-name' },
  { path: 'workspace', flag: 'workspace' },
  { path: 'region', flag: 'region' },
  { path: 'operator.prometheus.prometheusInstanceID', flag: 'prometheus-instance-id' },
  { path: 'entityCollector.projectName', flag: 'project-name' },
] as const;

export const MIN_VERSIONS = { kubernetes: '1.18.0', helm: '3.0.0' } as const;

/** Environment variables Alibaba Cloud's own tools read. */
export const ENV = {
  accessKeyId: 'ALIBABA_CLOUD_ACCESS_KEY_ID',
  accessKeySecret: 'ALIBABA_CLOUD_ACCESS_KEY_SECRET',
  /** STS temporary credentials: the token that goes with the key (read by verify). */
  securityToken: 'ALIBABA_CLOUD_SECURITY_TOKEN',
} as const;
