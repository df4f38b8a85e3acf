/**
 * What runs where: a context's Kubernetes version and the installation's release as helm stored it
 * (chart version, app version, status, revision), read with GETs only, without the helm binary.
 */
import { kubeCall } from '../kube/errors.js';
import type { ApiClient } from '../kube/proxy.js';
import { readReleaseSummary, type StorageRecord } from '../helm/storage.js';
import { redact } from '../secret.js';
import { InsightError } from '../errors.js';

export interface InstalledRelease {
  chart: string;
  chartName: string;
  chartVersion: string;
  appVersion: string;
  status: string;
  revision: number;
}

/** The release, undefined when it has no record there, or why it could not be read (a 403 on secrets). */
export type ReleaseLookup = { found: true; release: InstalledRelease } | { found: false } | { found: false; error: string };

export async function lookupRelease(api: ApiClient, where: { namespace: string; release: string }, server?: string): Promise<ReleaseLookup> {
  const ns = encodeURIComponent(where.namespace);
  try {
    // The summary only: a fleet reads this on every context, and the manifest's YAML is the costly part.
    const rel = await readReleaseSummary(
      (kind, labelSelector) => kubeCall({ verb: 'list', resource: kind, namespace: where.namespace }, () => api.list<StorageRecord>(`/api/v1/namespaces/${ns}/${kind}`, { labelSelector }), { idempotent: true, attempts: 2 }, server),
      { name: where.release, namespace: where.namespace },
    );
    if (!rel) return { found: false };
    return { found: true, release: { chart: rel.chart, chartName: rel.chartName, chartVersion: rel.chartVersion, appVersion: rel.app_version, status: rel.status, revision: rel.revision } };
  } catch (e) {
    // A reach failure is the context's, not the release's: the caller reports it as such.
    if (e instanceof InsightError && (e.kind === 'unreachable' || e.kind === 'unauthorized')) throw e;
    return { found: false, error: redact((e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '') };
  }
}
