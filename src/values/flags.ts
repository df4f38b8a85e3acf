/**
 * The flags install and upgrade share for the chart source, its values and the wait. Only
 * definitions here: `--help` loads this file, so reading the values is left to ./sources.ts.
 */
import * as Flags from '@oclif/core/flags';
import { durationFlag } from '../duration.js';
import { checkRegistry } from '../input.js';
import { CHART, ENV } from '../defaults.js';

/** Chart source, values and wait flags shared by install and upgrade. */
export const valueFlags = {
  values: Flags.string({ char: 'f', summary: 'A YAML values file; repeat to merge several, later files win (as helm).', multiple: true, helpGroup: 'VALUES' }),
  set: Flags.string({ summary: "Set a chart value with helm's syntax (a.b=c, list[0]=x, escape commas with \\,). Repeatable. Not for the secret.", multiple: true, helpGroup: 'VALUES' }),
  'set-string': Flags.string({ summary: 'Like --set, but the value is always a string.', multiple: true, helpGroup: 'VALUES' }),
  'ali-uid': Flags.string({ summary: 'Alibaba Cloud account UID (aliUid).', helpGroup: 'VALUES' }),
  'access-key-id': Flags.string({ summary: `AccessKey ID of the RAM user (accessKeyID; default $${ENV.accessKeyId}).`, helpGroup: 'VALUES' }),
  'access-key-secret-stdin': Flags.boolean({ summary: `Read the AccessKey secret from stdin (else $${ENV.accessKeySecret}, a values file, or a prompt on a TTY).`, default: false, helpGroup: 'VALUES' }),
  // Accepted only to refuse it with a clear message instead of oclif echoing the value back as an unknown flag.
  'access-key-secret': Flags.string({ hidden: true }),
  'cluster-id': Flags.string({ summary: 'Cluster identifier from the console install script (clusterID).', helpGroup: 'VALUES' }),
  'cluster-name': Flags.string({ summary: 'Cluster name shown in Cloud Monitor (clusterName).', helpGroup: 'VALUES' }),
  workspace: Flags.string({ summary: 'Cloud Monitor 2.0 workspace name (workspace).', helpGroup: 'VALUES' }),
  region: Flags.string({ summary: 'Region of the workspace, e.g. cn-hangzhou (region).', helpGroup: 'VALUES' }),
  'prometheus-instance-id': Flags.string({ summary: 'Prometheus instance ID (operator.prometheus.prometheusInstanceID).', helpGroup: 'VALUES' }),
  'project-name': Flags.string({ summary: "The workspace's entity store SLS project (entityCollector.projectName).", helpGroup: 'VALUES' }),
  net: Flags.string({ summary: 'Reach Alibaba Cloud over the Internet or the VPC (Intranet).', options: ['Internet', 'Intranet'], helpGroup: 'VALUES' }),
  'disable-alert-rule': Flags.boolean({ summary: 'Do not sync PrometheusRules to cloud alert rules (operator.enableAlertRule=false).', helpGroup: 'VALUES' }),
  'entity-collector': Flags.boolean({ summary: 'Install the entity collector (--no-entity-collector to leave it out).', allowNo: true, helpGroup: 'COMPONENTS' }),
  'kube-state-metrics': Flags.boolean({ summary: 'Install kube-state-metrics.', allowNo: true, helpGroup: 'COMPONENTS' }),
  'node-exporter': Flags.boolean({ summary: 'Install node-exporter (hostPort 19100).', allowNo: true, helpGroup: 'COMPONENTS' }),
  'gpu-exporter': Flags.boolean({ summary: 'Install the GPU exporter (GPU nodes only).', allowNo: true, helpGroup: 'COMPONENTS' }),
  'allow-unknown-region': Flags.boolean({ summary: 'Accept a region id this version does not know (a new region).', default: false, helpGroup: 'VALUES' }),
  chart: Flags.string({ summary: 'Chart to install: a directory, a .tgz, an oci:// or https:// reference, or repo/name (default: the official repository).', helpGroup: 'CHART' }),
  'repo-url': Flags.string({ summary: `Chart repository URL (a mirror; default ${CHART.repoUrl}).`, helpGroup: 'CHART' }),
  version: Flags.string({ summary: 'Chart version (default: the newest).', helpGroup: 'CHART' }),
  'image-registry': Flags.string({ summary: "Pull every component image from this registry host instead (keeps each image's path).", helpGroup: 'CHART', parse: async (v) => checkRegistry(v) }),
  timeout: durationFlag({ summary: 'How long to wait for the rollout', default: '5m', min: 1000 }),
  'dry-run': Flags.boolean({ summary: 'Validate, render and print the plan and manifests (secret redacted); change nothing.', default: false }),
};

/** The parsed values of `valueFlags` that the value sources read. */
export type ValueFlags = {
  values?: string[];
  set?: string[];
  'set-string'?: string[];
  'ali-uid'?: string;
  'access-key-id'?: string;
  'access-key-secret-stdin'?: boolean;
  'access-key-secret'?: string;
  'cluster-id'?: string;
  'cluster-name'?: string;
  workspace?: string;
  region?: string;
  'prometheus-instance-id'?: string;
  'project-name'?: string;
  net?: string;
  'disable-alert-rule'?: boolean;
  'entity-collector'?: boolean;
  'kube-state-metrics'?: boolean;
  'node-exporter'?: boolean;
  'gpu-exporter'?: boolean;
};

/** The chart to install or upgrade to, from --chart, --repo-url and --version (unset ones left out). */
export function chartSource(f: { chart?: string; 'repo-url'?: string; version?: string }) {
  return {
    ...(f.chart ? { chart: f.chart } : {}),
    ...(f['repo-url'] ? { repoUrl: f['repo-url'] } : {}),
    ...(f.version ? { version: f.version } : {}),
  };
}
