/**
 * helm's own release storage, read without the helm binary (doctor): one Secret (or ConfigMap, with
 * HELM_DRIVER=configmap) per revision, labelled owner=helm,name=<release>,version=<N>,status=<state>,
 * holding the release as base64 of gzipped JSON. Both majors write the same format.
 */
import { gunzipSync } from 'node:zlib';
import { installationFromValues, type InstallationValues } from '../values/preflight.js';
import type { Values } from '../values/tree.js';
import { isNamedObject, parseManifests, type HelmRelease, type ManifestObject } from './release.js';

/** A revision as helm stored it: the release model plus what only the record holds. */
export interface StoredRelease extends HelmRelease {
  chartName: string;
  chartVersion: string;
  /** Every named object the revision's manifest renders. */
  objects: ManifestObject[];
  /** Where helm stores it: secret or configmap. */
  storage: 'secret' | 'configmap';
  /** The installation's identity from the user-supplied values (cluster id, region, ...); never the secret. */
  installation: InstallationValues;
  /** Every stored revision, oldest first, from the records' labels (nothing decoded). */
  history: readonly RevisionRecord[];
  /** When the newest record was written (helm writes a new record when an operation starts), if known. */
  since?: string;
}

export interface RevisionRecord {
  revision: number;
  status: string;
}

/** What one storage object looks like to the decoder (a V1Secret or V1ConfigMap). */
export interface StorageRecord {
  metadata?: { labels?: Record<string, string>; creationTimestamp?: string | Date };
  data?: Record<string, string>;
}

/** The label selector of a release's records. */
export const storageSelector = (release: string): string => `owner=helm,name=${release}`;

/** The kind of object helm keeps records in, as the API names it. */
export type StorageKind = 'secrets' | 'configmaps';

/** How the caller lists one kind of storage object by label (its API and error handling). */
export type StorageList = (kind: StorageKind, labelSelector: string) => Promise<readonly StorageRecord[]>;

/**
 * Every record of a release: Secrets first (helm's default driver), then ConfigMaps; with `storage`
 * given, only that kind. Empty `items` when the release has none.
 */
export async function readStorageRecords(list: StorageList, name: string, storage?: StoredRelease['storage']): Promise<{ storage: StoredRelease['storage']; items: readonly StorageRecord[] }> {
  const sel = storageSelector(name);
  if (storage) return { storage, items: await list(storage === 'secret' ? 'secrets' : 'configmaps', sel) };
  const secrets = await list('secrets', sel);
  if (secrets.length) return { storage: 'secret', items: secrets };
  return { storage: 'configmap', items: await list('configmaps', sel) };
}

/** A release as its records say (see readStorageRecords), or undefined when it has none. */
export async function readStoredRelease(list: StorageList, where: { name: string; namespace: string }, storage?: StoredRelease['storage']): Promise<StoredRelease | undefined> {
  const r = await readStorageRecords(list, where.name, storage);
  return newestStoredRelease(r.items, r.storage, where);
}

/** Decode a helm release object (storage driver secret or configmap): base64 → gzip → JSON. */
export function decodeHelmRelease(data: string, fromSecret: boolean): Record<string, unknown> {
  // Secrets add a second base64 layer on top of helm's own.
  const inner = fromSecret ? Buffer.from(data, 'base64').toString('utf8') : data;
  let buf = Buffer.from(inner, 'base64');
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf);
  return JSON.parse(buf.toString('utf8')) as Record<string, unknown>;
}

/** What a release's newest record says without its manifest: chart, status, revision, history. */
export type ReleaseSummary = Omit<StoredRelease, 'objects' | 'installation'>;

/** A release's summary as its records say, or undefined when it has none (the manifest is not parsed). */
export async function readReleaseSummary(list: StorageList, where: { name: string; namespace: string }): Promise<ReleaseSummary | undefined> {
  const r = await readStorageRecords(list, where.name);
  const newest = newestRecord(r.items);
  return newest && summaryOf(newest, r.items, r.storage, where, decodeNewest(newest, r.storage));
}

function newestRecord(items: readonly StorageRecord[]): StorageRecord | undefined {
  if (!items.length) return undefined;
  return items.reduce((a, b) => (recordVersion(b) > recordVersion(a) ? b : a));
}

const recordVersion = (r: StorageRecord) => Number(r.metadata?.labels?.['version'] ?? 0);

function decodeNewest(newest: StorageRecord, storage: StoredRelease['storage']): Record<string, unknown> {
  const raw = newest.data?.['release'];
  return raw ? decodeHelmRelease(raw, storage === 'secret') : {};
}

function summaryOf(newest: StorageRecord, items: readonly StorageRecord[], storage: StoredRelease['storage'], where: { name: string; namespace: string }, rel: Record<string, unknown>): ReleaseSummary {
  const info = (rel['info'] ?? {}) as { status?: string };
  const history = items.map((r) => ({ revision: recordVersion(r), status: r.metadata?.labels?.['status'] ?? 'unknown' })).sort((a, b) => a.revision - b.revision);
  const created = newest.metadata?.creationTimestamp;
  const meta = (rel['chart'] as { metadata?: { name?: string; version?: string; appVersion?: string } } | undefined)?.metadata ?? {};
  const chartName = meta.name ?? '?';
  const chartVersion = meta.version ?? '?';
  return {
    name: where.name,
    namespace: where.namespace,
    revision: Number(newest.metadata?.labels?.['version'] ?? rel['version'] ?? 0),
    status: newest.metadata?.labels?.['status'] ?? info.status ?? 'unknown',
    chart: `${chartName}-${chartVersion}`,
    app_version: meta.appVersion ?? '',
    chartName,
    chartVersion,
    storage,
    history,
    ...(created ? { since: new Date(created).toISOString() } : {}),
  };
}

/**
 * The newest revision among a release's storage records; undefined when there are none. A caller that
 * has already decoded the newest record (the bundle decodes every one) passes it as `decoded`.
 */
export function newestStoredRelease(items: readonly StorageRecord[], storage: StoredRelease['storage'], where: { name: string; namespace: string }, decoded?: Record<string, unknown>): StoredRelease | undefined {
  const newest = newestRecord(items);
  if (!newest) return undefined;
  const rel = decoded ?? decodeNewest(newest, storage);
  return {
    ...summaryOf(newest, items, storage, where, rel),
    objects: typeof rel['manifest'] === 'string' ? parseManifests(rel['manifest']).filter(isNamedObject) : [],
    installation: rel['config'] && typeof rel['config'] === 'object' ? installationFromValues(rel['config'] as Values) : {},
  };
}
