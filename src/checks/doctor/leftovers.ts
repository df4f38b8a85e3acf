/**
 * What interrupted runs of kubectl-insight itself left in the cluster: probe pods of a preflight that was
 * killed before its clean-up (the rule: isLeftoverProbePod, src/net/probe-pods.ts). Cluster-wide, since
 * preflight puts them in --probe-namespace.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { isNotFound } from '../../kube/errors.js';
import { isLeftoverProbePod, PROBE_POD_SELECTOR } from '../../net/probe-pods.js';
import type { Check } from '../engine.js';
import type { DoctorContext, Fix } from './context.js';

/** --fix: delete one leftover probe pod, if it still is one (same uid, still past its run's end). */
export function deleteProbePodFix(pod: V1Pod): Fix {
  const name = pod.metadata!.name!;
  const namespace = pod.metadata!.namespace!;
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`;
  return {
    id: `probe-pod.delete/${namespace}/${name}`,
    description: `delete probe pod ${namespace}/${name}, left by a preflight that was interrupted`,
    command: `kubectl delete pod ${name} -n ${namespace}`,
    async precondition({ api, now }) {
      let live: V1Pod;
      try {
        live = await api.getJson<V1Pod>(path);
      } catch (e) {
        if (isNotFound(e)) return `${name} is gone already`;
        throw e;
      }
      if (live.metadata?.uid !== pod.metadata?.uid) return `${name} is another pod now`;
      return isLeftoverProbePod(live, now().getTime()) ? undefined : `${name} belongs to a preflight that may still run`;
    },
    // The uid precondition makes the API server refuse if the name was reused in between.
    apply: ({ api }) => api.send('DELETE', path, { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0, preconditions: { uid: pod.metadata?.uid } }, 'application/json'),
  };
}

export const leftoverChecks: Check<DoctorContext>[] = [
  {
    id: 'leftovers.probe-pods',
    category: 'Leftovers',
    description: 'no probe pods left behind by an interrupted preflight',
    severity: 'warning',
    async run(ctx) {
      const pods = await ctx.call({ verb: 'list', resource: 'pods' }, () => ctx.api.list<V1Pod>('/api/v1/pods', { labelSelector: PROBE_POD_SELECTOR }));
      const now = ctx.now.getTime();
      const left = pods.filter((p) => isLeftoverProbePod(p, now));
      if (!left.length) return { status: 'passed', message: pods.length ? `${pods.length} probe pods of a preflight that is still running` : 'no probe pods' };
      for (const p of left) ctx.fixes.push(deleteProbePodFix(p));
      const names = left.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`);
      return {
        status: 'failed',
        message: `${left.length} probe pod${left.length === 1 ? '' : 's'} left behind by an interrupted preflight`,
        evidence: [...names.slice(0, 10), ...(names.length > 10 ? [`and ${names.length - 10} more`] : [])],
        hint: `Delete them with \`kubectl insight doctor --fix\`, or \`kubectl delete pods -A -l ${PROBE_POD_SELECTOR}\` once no preflight runs. The next preflight in that namespace removes them too.`,
      };
    },
  },
];
