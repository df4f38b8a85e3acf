/**
 * A helm release and its manifest, as every command sees them: `helm list` rows (install, upgrade,
 * uninstall, preflight) and the records doctor decodes from helm's storage share this one model, and
 * every manifest (`helm template`, `helm get manifest`, a stored revision) is split by one parser.
 */
import { CORE_SCHEMA, loadAll } from 'js-yaml';

export interface HelmRelease {
  name: string;
  namespace: string;
  revision: number;
  /** deployed, failed, pending-install, pending-upgrade, pending-rollback, uninstalling, uninstalled, superseded. */
  status: string;
  /** helm list's chart column: `<name>-<version>`. */
  chart: string;
  app_version: string;
  updated?: string;
  /** The chart's name and version apart, when helm recorded them so (its storage): preferred over the chart column. */
  chartName?: string;
  chartVersion?: string;
}

export interface ManifestDoc {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: unknown;
  /** `# Source:` path helm printed above the document. */
  source?: string;
}

/** A manifest document with a kind and a name (what a release's objects are checked by). */
export type ManifestObject = ManifestDoc & { kind: string; metadata: NonNullable<ManifestDoc['metadata']> & { name: string } };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Split a manifest (`helm template`, `helm get manifest`, a stored release's) into documents, keeping helm's `# Source:` path. */
export function parseManifests(text: string): ManifestDoc[] {
  const out: ManifestDoc[] = [];
  for (const chunk of text.split(/^---\s*$/m)) {
    const source = /^# Source: (.+)$/m.exec(chunk)?.[1]?.trim();
    let docs: unknown[];
    try {
      // js-yaml, not the yaml package's document model: an order of magnitude faster on a chart's manifest,
      // which doctor parses on every run (and a fleet run on every context). The core schema reads what the
      // yaml package's YAML 1.2 default read (no timestamps to Date); json: a repeated key keeps the last value.
      docs = loadAll(chunk, undefined, { schema: CORE_SCHEMA, json: true });
    } catch {
      continue;
    }
    for (const v of docs) {
      if (isObject(v) && typeof v.kind === 'string') out.push({ ...(v as ManifestDoc), ...(source ? { source } : {}) });
    }
  }
  return out;
}

export const isNamedObject = (d: ManifestDoc): d is ManifestObject => Boolean(d.kind && d.metadata?.name);
