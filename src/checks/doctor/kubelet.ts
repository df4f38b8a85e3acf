/**
 * Kubelet metrics through the API server's node proxy, on a few Ready nodes (kubelet flags are
 * uniform across a node pool, so a sample answers the question; --kubelet-nodes widens it).
 * 401 means the kubelet does not accept tokens; 403 means RBAC lacks nodes/metrics.
 */
import type { V1Node } from '@kubernetes/client-node';
import type { Check, Finding } from '../engine.js';
import type { DoctorContext } from './context.js';
import { describeOutcome } from './probe.js';
import { validatePromText, missingFamilies } from './promtext.js';
import type { ProbeResult } from '../../kube/proxy.js';

const CATEGORY = 'Kubelet';

export function kubeletHint(r: ProbeResult, path: string): string {
  switch (r.outcome) {
    case 'unauthorized':
      return 'The kubelet rejects bearer tokens: start it with `--authentication-token-webhook=true --authorization-mode=Webhook` (KubeletConfiguration: authentication.webhook.enabled: true, authorization.mode: Webhook) and restart it.';
    case 'forbidden':
    case 'api-forbidden':
      return `RBAC lacks nodes/metrics: grant the collector's ClusterRole \`{apiGroups: [""], resources: ["nodes/metrics", "nodes/proxy"], verbs: ["get"]}\`; check with \`kubectl auth can-i get nodes/metrics --as=system:serviceaccount:<ns>:<sa>\`.`;
    case 'refused':
    case 'timeout':
    case 'unreachable':
    case 'no-target':
      return `The API server cannot reach the kubelet (port 10250): check the node's InternalIP and that TCP 10250 is open from the control plane (\`kubectl get --raw /api/v1/nodes/<node>/proxy${path}\`).`;
    default:
      return `\`kubectl get --raw /api/v1/nodes/<node>/proxy${path}\``;
  }
}

const isReady = (n: V1Node) => (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

function kubeletCheck(id: string, path: string, families: string[]): Check<DoctorContext> {
  return {
    id,
    category: CATEGORY,
    description: `kubelet ${path} answers through the node proxy`,
    severity: 'fatal',
    timeoutMs: 60_000,
    async run(ctx, _signal, run) {
      // Prefer nodes whose exporter answered: a node that black-holes traffic is already reported, and
      // asking its kubelet would only add a timeout. The exporter probes run beside this check, so wait
      // (bounded) until enough nodes have answered.
      const ready = (await ctx.nodes()).filter(isReady);
      const want = Math.min(ready.length, Math.max(1, ctx.opts.kubeletNodes));
      await ctx.whenKnown(() => ctx.nodesAnswering.size >= want, run.settled('exporters.'));
      const rank = (n: V1Node) => (ctx.nodesAnswering.has(n.metadata?.name ?? '') ? 0 : ctx.nodesSilent.has(n.metadata?.name ?? '') ? 2 : 1);
      const nodes = ready.sort((a, b) => rank(a) - rank(b)).slice(0, want);
      if (!nodes.length) return { status: 'skipped', message: 'no Ready node to probe' };
      const results = await Promise.all(nodes.map(async (n) => ({ n: n.metadata!.name!, r: await ctx.probe({ kind: 'node', name: n.metadata!.name! }, path, { maxBytes: 32 * 1024 * 1024 }) })));
      const findings: Finding[] = [];
      const byOutcome = new Map<string, typeof results>();
      for (const x of results) {
        let key: string = x.r.outcome;
        if (x.r.outcome === 'ok') {
          const v = validatePromText(x.r.body ?? '');
          const missing = missingFamilies(v, families);
          if (!v.valid) key = 'invalid';
          else if (missing.length) key = 'families';
          x.r.detail = !v.valid ? v.errors.join('; ') : missing.length ? `lacks ${missing.join(', ')}` : `${v.samples} samples`;
        }
        byOutcome.set(key, [...(byOutcome.get(key) ?? []), x]);
      }
      for (const [key, xs] of byOutcome) {
        const names = xs.map((x) => x.n).join(', ');
        if (key === 'ok') {
          findings.push({ status: 'passed', message: `kubelet ${path} answers on ${xs.length} node(s)`, object: `node/${xs[0]!.n}`, evidence: xs.map((x) => `${x.n}: ${x.r.detail}`) });
          continue;
        }
        const r = xs[0]!.r;
        findings.push({
          status: 'failed',
          severity: key === 'families' ? 'warning' : 'fatal',
          message: `kubelet ${path}: ${key === 'invalid' ? 'invalid Prometheus text' : key === 'families' ? 'expected metrics missing' : describeOutcome(r)} on ${names}`,
          object: `node/${xs[0]!.n}`,
          evidence: xs.map((x) => `${x.n}: ${x.r.detail}`),
          hint: kubeletHint(r, path),
        });
      }
      return findings;
    },
  };
}

export const kubeletChecks: Check<DoctorContext>[] = [
  kubeletCheck('kubelet.metrics', '/metrics', ['kubelet_node_name']),
  kubeletCheck('kubelet.cadvisor', '/metrics/cadvisor', ['container_cpu_usage_seconds_total']),
];
