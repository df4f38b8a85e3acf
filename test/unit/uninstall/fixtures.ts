// Shared fixtures of the uninstall unit tests.
import type { FoundCustomResource } from '../../../src/actions/uninstall/index.js';

export const FIN = 'clusteraliyunpipelineconfig.finalizers.telemetry.alibabacloud.com/finalizer';

/** The entity collector's ClusterAliyunPipelineConfig, carrying the operator's finalizer. */
export const cr = (over: Partial<FoundCustomResource> = {}): FoundCustomResource => ({
  group: 'telemetry.alibabacloud.com',
  version: 'v1alpha1',
  plural: 'clusteraliyunpipelineconfigs',
  kind: 'ClusterAliyunPipelineConfig',
  name: 'custom-kubernetes-c1-entity-collector',
  deleting: false,
  finalizers: [FIN],
  ...over,
});
