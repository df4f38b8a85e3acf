// Metric bodies for the stand-in exporters the harness runs on fake pod and node IPs (the components
// whose real binaries cannot run here: kube-state-metrics needs a real pod network, the gpu-exporter a
// GPU, the operator and the kubelet are the product's and kwok's). Each holds the families doctor expects.
export const STANDIN_METRICS = {
  kubeStateMetrics: '# TYPE kube_pod_info gauge\nkube_pod_info{namespace="a",pod="b"} 1\n# TYPE kube_node_info gauge\nkube_node_info{node="n"} 1\n',
  operator: '# TYPE controller_runtime_reconcile_total counter\ncontroller_runtime_reconcile_total{controller="c",result="success"} 3\n',
  gpuExporter: '# TYPE DCGM_FI_DEV_GPU_UTIL gauge\nDCGM_FI_DEV_GPU_UTIL{gpu="0"} 12\n',
  kubelet: 'kubelet_node_name{node="n"} 1\ncontainer_cpu_usage_seconds_total{id="/"} 10\n',
} as const;
