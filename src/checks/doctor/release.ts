/** Release checks: the helm release exists, is deployed (not half-upgraded), and its workloads exist. */
import type { Check, Finding } from '../engine.js';
import type { DoctorContext } from './context.js';
import { expectedWorkloads } from './context.js';
import { judgeRelease, releaseRemedy, type ReleaseRemedy } from '../../helm/release-state.js';
import { readStoredRelease, type StorageRecord, type StoredRelease } from '../../helm/storage.js';
import { formatDuration } from '../../duration.js';
import type { Fix } from './context.js';

const CATEGORY = 'Release';

export const releaseChecks: Check<DoctorContext>[] = [
  {
    id: 'release.present',
    category: CATEGORY,
    description: 'helm release is installed',
    severity: 'fatal',
    async run(ctx) {
      const rel = await ctx.release();
      const { release, namespace } = ctx.opts;
      if (!rel) {
        return {
          status: 'failed',
          message: `helm release ${release} not found in namespace ${namespace}`,
          object: `release/${namespace}/${release}`,
          evidence: [`no helm storage object with labels owner=helm,name=${release} in ${namespace}`],
          hint: `Install it: \`kubectl insight install -n ${namespace} --release ${release} ...\`; or point doctor at your release with \`--release <name> -n <namespace>\` (\`helm list -A\`).`,
        };
      }
      return { status: 'passed', message: `release ${release} revision ${rel.revision}, chart ${rel.chart}`, object: `release/${namespace}/${release}` };
    },
  },
  {
    id: 'release.deployed',
    category: CATEGORY,
    description: 'release is deployed (not pending or failed)',
    severity: 'fatal',
    needs: ['release.present'],
    async run(ctx) {
      const rel = (await ctx.release())!;
      const { release, namespace } = ctx.opts;
      const object = `release/${namespace}/${release}`;
      const evidence = [`status=${rel.status}`, `revision=${rel.revision}`, `chart=${rel.chart}`];
      // The same verdict and hint install, upgrade and preflight give (src/helm/release-state.ts).
      const v = judgeRelease(rel);
      if (v.healthy) return { status: 'passed', message: `release is deployed (chart version ${rel.chartVersion})`, object, evidence };
      const remedy = releaseRemedy(rel, ctx.now, ctx.opts.operationTimeoutMs);
      if (remedy?.ageMs !== undefined) evidence.push(`${rel.status} for ${formatDuration(remedy.ageMs)}`);
      if (remedy?.kind === 'none') evidence.push(`doctor --fix: ${remedy.why}`);
      const fix = remedy ? releaseFix(rel, remedy, ctx.opts.operationTimeoutMs) : undefined;
      if (fix) ctx.fixes.push(fix);
      // With a fix, its command is the hint: one target revision, not the verdict's generic one.
      return { status: 'failed', message: v.message, object, evidence, hint: fix ? `${capitalize(fix.description)}: \`${fix.command}\`, or \`kubectl insight doctor --fix\`; then ${fix.next}.` : v.hint };
    },
  },
  {
    id: 'release.storage',
    category: CATEGORY,
    description: 'helm keeps the release (and its values, the secret among them) in a Secret',
    severity: 'warning',
    needs: ['release.present'],
    async run(ctx) {
      const rel = (await ctx.release())!;
      const object = `release/${ctx.opts.namespace}/${ctx.opts.release}`;
      if (rel.storage === 'secret') return { status: 'passed', message: 'the release is stored in Secrets (helm\'s default)', object };
      return {
        status: 'failed',
        message: 'helm stores this release in ConfigMaps: its values, the AccessKey secret among them, are readable by anyone who may read ConfigMaps in the namespace',
        object,
        evidence: [`ConfigMaps labelled owner=helm,name=${ctx.opts.release} in ${ctx.opts.namespace}`],
        hint: 'Use helm\'s default Secret storage (unset HELM_DRIVER=configmap), reinstall or migrate the release, and rotate the AccessKey: it has been readable in plain text.',
      };
    },
  },
  {
    id: 'release.workloads',
    category: CATEGORY,
    description: 'every workload of the release exists',
    severity: 'fatal',
    needs: ['release.present'],
    async run(ctx) {
      const rel = (await ctx.release())!;
      const expected = expectedWorkloads(rel);
      const existing = await ctx.workloads();
      const have = new Set(existing.map((w) => `${w.kind}/${w.metadata?.name}`));
      const missing = expected.filter((o) => !have.has(`${o.kind}/${o.metadata.name}`));
      if (!missing.length) {
        return { status: 'passed', message: `all ${expected.length} workloads of the release exist`, evidence: expected.map((o) => `${o.kind}/${o.metadata.name}`) };
      }
      return missing.map(
        (o): Finding => ({
          status: 'failed',
          message: `${o.kind} ${o.metadata.name} of the release does not exist`,
          object: `${o.kind.toLowerCase()}/${ctx.opts.namespace}/${o.metadata.name}`,
          evidence: [`in the manifest of revision ${rel.revision}, not in the cluster`],
          hint: `Someone deleted it: restore it with \`kubectl insight upgrade\` (re-applies the release), or \`helm upgrade ${ctx.opts.release} -n ${ctx.opts.namespace} --reuse-values <chart>\`.`,
        }),
      );
    },
  },
];

/**
 * --fix for a stuck or failed release (the rule is releaseRemedy, src/helm/release-state.ts). Right
 * before acting it reads helm's storage again and applies only if the same rule still calls for the
 * same repair of the same revision: a helm operation that moved the release on in between wins.
 */
export function releaseFix(rel: StoredRelease, remedy: ReleaseRemedy, operationTimeoutMs: number): Fix | undefined {
  if (remedy.kind === 'none') return undefined;
  const where = `${rel.namespace}/${rel.name}`;
  const age = remedy.ageMs !== undefined ? ` for ${formatDuration(remedy.ageMs)}` : '';
  const precondition: Fix['precondition'] = async ({ api, now }) => {
    const live = await readStoredRelease(
      async (kind, labelSelector) => (await api.getJson<{ items?: StorageRecord[] }>(`/api/v1/namespaces/${encodeURIComponent(rel.namespace)}/${kind}?${new URLSearchParams({ labelSelector }).toString()}`)).items ?? [],
      rel,
      rel.storage,
    );
    if (!live) return `release ${where} is gone already`;
    const again = releaseRemedy(live, now(), operationTimeoutMs);
    if (live.revision !== rel.revision || live.status !== rel.status) return `release ${where} changed: it is now revision ${live.revision}, ${live.status}`;
    if (!again || again.kind !== remedy.kind || (again.kind === 'rollback' && remedy.kind === 'rollback' && again.toRevision !== remedy.toRevision)) return `release ${where} no longer calls for this repair`;
    return undefined;
  };
  if (remedy.kind === 'uninstall') {
    return {
      id: `release.uninstall-pending/${where}`,
      description: `uninstall the half-done release ${where} (revision ${rel.revision}, ${rel.status}${age}) in the order \`kubectl insight uninstall\` uses, keeping the CRDs and the namespace`,
      command: `kubectl insight uninstall -n ${rel.namespace} --release ${rel.name} --yes`,
      next: `install again: \`kubectl insight install -n ${rel.namespace} --release ${rel.name} ...\``,
      precondition,
      apply: (env) => env.uninstall({ release: rel.name, namespace: rel.namespace }),
    };
  }
  return {
    id: `release.rollback/${where}`,
    description: `roll release ${where} back from revision ${rel.revision} (${rel.status}${age}) to revision ${remedy.toRevision}, the last one deployed (what ran before that ${rel.status === 'failed' ? 'failed' : 'interrupted'} operation)`,
    command: `helm rollback ${rel.name} ${remedy.toRevision} -n ${rel.namespace}`,
    next: `apply your change again with \`kubectl insight upgrade -n ${rel.namespace} --release ${rel.name}\``,
    precondition,
    apply: (env) => env.rollback({ release: rel.name, namespace: rel.namespace, revision: remedy.toRevision }),
  };
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
