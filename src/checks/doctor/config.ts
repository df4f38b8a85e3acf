/**
 * Pods running configuration older than their ConfigMaps and Secrets (the rule: src/kube/config-age.ts),
 * with a rollout restart as the fix. Only the release's own workloads, and only once their rollout is
 * done: pods of a rollout in progress are replaced anyway.
 */
import { RESTARTED_AT, stalePods } from '../../kube/config-age.js';
import { isNotFound } from '../../kube/errors.js';
import { isOurs, type Installation } from '../../kube/ownership.js';
import { workloadStatus } from '../../kube/rollout.js';
import { matchesSelector } from '../../kube/selectors.js';
import type { Check, Finding } from '../engine.js';
import type { DoctorContext, Fix, FixEnv, Workload } from './context.js';

const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');

const plural = { Deployment: 'deployments', DaemonSet: 'daemonsets', StatefulSet: 'statefulsets' } as const;

function workloadPath(kind: Workload['kind'], namespace: string, name: string): string {
  return `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/${plural[kind]}/${encodeURIComponent(name)}`;
}

/**
 * --fix: `kubectl rollout restart` (a new restartedAt on the pod template). Right before the patch the
 * workload is read again: still ours, its rollout done, and not restarted since the change.
 */
export function restartFix(w: Workload, inst: Installation, changedAt: number, why: string): Fix {
  const name = w.metadata!.name!;
  const namespace = w.metadata!.namespace ?? inst.namespace;
  const path = workloadPath(w.kind, namespace, name);
  return {
    id: `workload.restart/${w.kind.toLowerCase()}/${namespace}/${name}`,
    description: `restart ${w.kind} ${namespace}/${name} (a rollout restart) so its pods read ${why}`,
    command: `kubectl rollout restart ${w.kind.toLowerCase()}/${name} -n ${namespace}`,
    async precondition({ api }: FixEnv) {
      let live: Workload;
      try {
        live = { ...(await api.getJson<Workload>(path)), kind: w.kind };
      } catch (e) {
        if (isNotFound(e)) return `${w.kind} ${name} is gone`;
        throw e;
      }
      if (!isOurs(live.metadata ?? {}, inst)) return `${w.kind} ${name} is not this installation's`;
      const restarted = live.spec?.template?.metadata?.annotations?.[RESTARTED_AT];
      if (restarted && new Date(restarted).getTime() >= changedAt) return `${w.kind} ${name} was restarted after the change already`;
      const st = workloadStatus({ kind: w.kind, name, namespace }, live);
      return st.ready ? undefined : `${w.kind} ${name} is rolling out (${st.message})`;
    },
    apply: ({ api }) =>
      api.send('PATCH', `${path}?fieldManager=kubectl-insight`, { spec: { template: { metadata: { annotations: { [RESTARTED_AT]: new Date().toISOString() } } } } }, 'application/merge-patch+json'),
  };
}

export const configChecks: Check<DoctorContext>[] = [
  {
    id: 'pods.config-current',
    category: 'Pods',
    description: 'pods run the current version of their ConfigMaps and Secrets',
    severity: 'warning',
    // A pending or failed release is the release fix's to repair first; its pods change with it.
    needs: ['release.deployed'],
    async run(ctx) {
      const rel = (await ctx.release())!;
      const inst: Installation = { release: ctx.opts.release, namespace: ctx.opts.namespace };
      const [workloads, pods, sources] = await Promise.all([ctx.workloads(), ctx.pods(), ctx.configSources()]);
      const ours = workloads.filter((w) => isOurs(w.metadata ?? {}, inst) && rel.objects.some((o) => o.kind === w.kind && o.metadata.name === w.metadata?.name));
      const findings: Finding[] = [];
      let checked = 0;
      for (const w of ours) {
        const name = w.metadata?.name ?? '?';
        if (!workloadStatus({ kind: w.kind, name, namespace: ctx.opts.namespace }, w).ready) continue;
        checked++;
        const mine = pods.filter((p) => matchesSelector(p.metadata?.labels, w.spec?.selector));
        const stale = stalePods(w.spec?.template?.spec, mine, sources);
        if (!stale.length) continue;
        const changed = new Map(stale.flatMap((s) => s.changed).map((c) => [`${c.kind}/${c.name}`, c]));
        const newest = Math.max(...[...changed.values()].map((c) => c.at));
        const what = [...changed.values()].map((c) => `${c.kind} ${c.name}`).join(', ');
        // OnDelete: a new template replaces no pod, so a restart would change nothing.
        const onDelete = (w.spec as { updateStrategy?: { type?: string } } | undefined)?.updateStrategy?.type === 'OnDelete';
        const fix = restartFix(w, inst, newest, `the current ${what}`);
        if (!onDelete) ctx.fixes.push(fix);
        findings.push({
          status: 'failed',
          message: `${stale.length} of ${mine.length} pods of ${w.kind} ${name} started before ${what} changed: they still run the old configuration`,
          object: `${w.kind.toLowerCase()}/${ctx.opts.namespace}/${name}`,
          evidence: [
            ...[...changed.values()].map((c) => `${c.kind} ${c.name} data changed at ${iso(c.at)}`),
            ...stale.slice(0, 5).map((s) => `pod ${s.pod} running since ${iso(s.startedAt)}`),
            ...(stale.length > 5 ? [`and ${stale.length - 5} more pods`] : []),
          ],
          hint: onDelete
            ? `Environment and config files are read when a container starts, and this ${w.kind} updates pods only when they are deleted: \`kubectl delete pod -n ${ctx.opts.namespace} <pod>\` one at a time.`
            : `Environment and config files are read when a container starts: restart it with \`${fix.command}\`, or \`kubectl insight doctor --fix\`. To change configuration, prefer \`kubectl insight upgrade\`, which restarts what it changes.`,
        });
      }
      if (findings.length) return findings;
      if (!checked) return { status: 'skipped', message: 'no workload of the release has finished its rollout to compare with its configuration' };
      return { status: 'passed', message: `the pods of ${checked} workload${checked === 1 ? '' : 's'} started after their configuration last changed` };
    },
  },
];
