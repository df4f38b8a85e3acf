/**
 * Other collectors in the cluster that double the data or fight over ports: ARMS Prometheus
 * (namespace arms-prom), a second node-exporter, a DCGM agent next to gpu-exporter.
 * One list of all DaemonSets (few objects even on big clusters) answers the last two.
 */
import type { V1DaemonSet } from '@kubernetes/client-node';
import { ARMS_NAMESPACE, PORTS } from '../../defaults.js';
import { hostPorts } from '../../kube/pods.js';
import type { Check, Finding } from '../engine.js';
import type { DoctorContext } from './context.js';

const CATEGORY = 'Coexistence';

const images = (ds: V1DaemonSet) => (ds.spec?.template?.spec?.containers ?? []).map((c) => c.image ?? '');
const hostPortsOf = (ds: V1DaemonSet) => hostPorts(ds.spec?.template?.spec).map((h) => h.port);
const ref = (ds: V1DaemonSet) => `${ds.metadata?.namespace}/${ds.metadata?.name}`;

export function otherNodeExporters(all: V1DaemonSet[], namespace: string): Array<{ ds: V1DaemonSet; holdsPort: boolean }> {
  return all
    .filter((ds) => ds.metadata?.namespace !== namespace)
    .filter((ds) => /node-exporter/.test(ds.metadata?.name ?? '') || images(ds).some((i) => /node-exporter/.test(i)) || hostPortsOf(ds).includes(PORTS.nodeExporter))
    .map((ds) => ({ ds, holdsPort: hostPortsOf(ds).includes(PORTS.nodeExporter) }));
}

export function dcgmAgents(all: V1DaemonSet[], namespace: string): V1DaemonSet[] {
  return all.filter((ds) => ds.metadata?.namespace !== namespace && (/dcgm/i.test(ds.metadata?.name ?? '') || images(ds).some((i) => /dcgm/i.test(i))));
}

export const coexistenceChecks: Check<DoctorContext>[] = [
  {
    id: 'coexist.arms-prom',
    category: CATEGORY,
    description: 'no ARMS Prometheus agent collecting the same data',
    severity: 'warning',
    async run(ctx) {
      if (!(await ctx.namespaceExists(ARMS_NAMESPACE))) return { status: 'passed', message: `no ${ARMS_NAMESPACE} namespace` };
      return {
        status: 'failed',
        message: `ARMS Prometheus is installed (namespace ${ARMS_NAMESPACE}): the cluster's metrics are collected twice`,
        object: `namespace/${ARMS_NAMESPACE}`,
        evidence: [`namespace ${ARMS_NAMESPACE} exists`],
        hint: `Keep one collector: uninstall the ARMS agent (\`helm list -n ${ARMS_NAMESPACE}\`) or disable this installation's duplicate scrapes (\`--set enableDefaultScrapeConfigs=false\`).`,
      };
    },
  },
  {
    id: 'coexist.node-exporter',
    category: CATEGORY,
    description: 'no second node-exporter on the same nodes',
    severity: 'warning',
    async run(ctx) {
      const others = otherNodeExporters(await ctx.allDaemonSets(), ctx.opts.namespace);
      if (!others.length) return { status: 'passed', message: 'no other node-exporter DaemonSet' };
      return others.map(
        ({ ds, holdsPort }): Finding => ({
          status: 'failed',
          severity: holdsPort ? 'fatal' : 'warning',
          message: holdsPort
            ? `DaemonSet ${ref(ds)} also uses hostPort ${PORTS.nodeExporter}: the chart's node-exporter cannot schedule on its nodes`
            : `a second node-exporter runs as DaemonSet ${ref(ds)}: node metrics are collected twice`,
          object: `daemonset/${ref(ds)}`,
          evidence: [`images: ${images(ds).join(', ')}`, `host ports: ${hostPortsOf(ds).join(', ') || '<none>'}`, `pods scheduled: ${ds.status?.currentNumberScheduled ?? 0}`],
          hint: `Keep one: install with \`--set nodeExporter.enabled=false\` to reuse the existing exporter, or remove ${ref(ds)}.`,
        }),
      );
    },
  },
  {
    id: 'coexist.dcgm',
    category: CATEGORY,
    description: 'no DCGM agent next to gpu-exporter',
    severity: 'warning',
    async run(ctx) {
      const [all, own] = await Promise.all([ctx.allDaemonSets(), ctx.daemonSets()]);
      const gpu = own.find((d) => /gpu-exporter/.test(d.metadata?.name ?? ''));
      const agents = dcgmAgents(all, ctx.opts.namespace);
      if (!agents.length) return { status: 'passed', message: 'no DCGM exporter DaemonSet outside the release' };
      if (!gpu) return { status: 'passed', message: `DCGM agent ${agents.map(ref).join(', ')} present; gpu-exporter is disabled, so no conflict` };
      return agents.map(
        (ds): Finding => ({
          status: 'failed',
          message: `DCGM agent ${ref(ds)} runs alongside gpu-exporter: only one may run on a GPU node ("context deadline exceeded" from the second)`,
          object: `daemonset/${ref(ds)}`,
          evidence: [`images: ${images(ds).join(', ')}`, `gpu-exporter pods scheduled: ${gpu.status?.currentNumberScheduled ?? 0}`],
          hint: 'Disable one: `kubectl insight upgrade --set gpuExporter.enabled=false` to keep the existing DCGM agent, or remove it. A host-level DCGM service (systemctl status nvidia-dcgm) conflicts the same way.',
        }),
      );
    },
  },
];
