/**
 * The releases already there: this chart anywhere in the cluster (install refuses a second copy),
 * what install may do over the one with our name, and a release's recorded manifest.
 */
import type { Helm, HelmRelease } from '../helm/helm.js';
import type { ManifestDoc } from '../helm/release.js';
import { CHART } from '../defaults.js';
import { chartNameOf, judgeRelease } from '../helm/release-state.js';
import { InsightError } from '../errors.js';

/**
 * The release's manifest as helm recorded it; undefined when there is no release or nothing recorded.
 * Any other failure is thrown: a check that reads the manifest must not pass on an empty one.
 */
export async function releaseManifest(helm: Pick<Helm, 'getManifest'>, release: string, namespace: string, rel: Pick<HelmRelease, 'status'> | undefined): Promise<ManifestDoc[] | undefined> {
  if (!rel || rel.status === 'uninstalled') return undefined;
  try {
    return await helm.getManifest(release, namespace);
  } catch (e) {
    if (e instanceof InsightError && e.kind === 'not-found') return undefined;
    throw e;
  }
}

export interface ExistingRelease extends HelmRelease {
  /** Same release name and namespace as requested. */
  same: boolean;
}

/** Releases of this chart anywhere in the cluster (falls back to the namespace when listing all is forbidden). */
export async function findReleases(helm: Pick<Helm, 'list' | 'listAllNamespaces'>, release: string, namespace: string): Promise<ExistingRelease[]> {
  let rows: HelmRelease[];
  try {
    rows = await helm.listAllNamespaces();
  } catch (e) {
    if (!(e instanceof InsightError && e.kind === 'forbidden')) throw e;
    rows = await helm.list(namespace);
  }
  return rows
    .filter((r) => (r.name === release && r.namespace === namespace) || chartNameOf(r.chart) === CHART.name)
    .map((r) => ({ ...r, same: r.name === release && r.namespace === namespace }));
}

/** What to say (and do) about a release that is already there. Returns 'replace' when --replace may proceed. */
export function judgeExisting(existing: readonly ExistingRelease[], opts: { release: string; namespace: string; replace: boolean }): 'proceed' | 'replace' {
  const same = existing.find((r) => r.same);
  const other = existing.find((r) => !r.same && r.status !== 'uninstalled');
  if (!same && other) {
    throw new InsightError('conflict', `the chart is already installed as release ${other.name} in namespace ${other.namespace} (${other.chart}, ${other.status})`, {
      hint: `A second copy would collect everything twice and collide on cluster-wide names: manage that one with \`kubectl insight upgrade --release ${other.name} -n ${other.namespace}\`.`,
      details: { release: other.name, namespace: other.namespace, chart: other.chart, status: other.status },
    });
  }
  if (!same) return 'proceed';
  // One verdict for what the state means (src/helm/release-state.ts), shared with upgrade, preflight, doctor.
  const v = judgeRelease(same);
  const details = { release: same.name, namespace: same.namespace, chart: same.chart, appVersion: same.app_version, revision: same.revision, status: same.status };
  if (v.install === 'proceed') return 'proceed';
  if (v.install === 'replace' && (v.state === 'uninstalled' || opts.replace)) return 'replace';
  const message = v.ourChart && v.state === 'deployed' ? `already installed: release ${same.name} in ${same.namespace} runs ${same.chart} (app ${same.app_version}, revision ${same.revision})` : v.message;
  throw new InsightError('conflict', message, { hint: `${v.hint}${v.ourChart && v.state === 'deployed' ? ' Nothing was changed.' : ''}`, details });
}

