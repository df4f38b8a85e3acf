/**
 * `kubectl insight bundle`: one .tar.gz a support engineer can read without access to the cluster.
 * Three named steps: discover (release storage, pods: what the plan and the redactor need), plan
 * (every file with its source, in a fixed order), write (collect, redact, pack, admit under
 * --max-size, rename into place). Read-only: GETs only, and preflight runs from this machine.
 * A component that fails is an error in manifest.json, never the end of the bundle. No printing.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, lstatSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { CoreV1Event, V1ConfigMap, V1Node, V1Pod, V1Secret } from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { BUILT_IN_RULES, Redactor, SHORT_SECRET_MIN, addCounts, isReferenceName, isSensitiveName, secretParts, type RedactionCounts } from '../bundle/redact.js';
import { DeadlineExceeded, runWithin } from '../bundle/deadline.js';
import { newestLog, type LogGet } from '../bundle/logs.js';
import { END_BYTES, TarGzWriter, gzipBound, openExclusive, packEntry, tarEntrySize, type PackedEntry } from '../bundle/tar.js';
import { onExit } from '../cleanup.js';
import { CHART, CR, CRDS, ENV, LOG_CONFIG } from '../defaults.js';
import { formatDuration } from '../duration.js';
import { InsightError } from '../errors.js';
import { decodeHelmRelease, newestStoredRelease, readStorageRecords, type StorageList, type StorageRecord, type StoredRelease } from '../helm/storage.js';
import { parseManifests } from '../helm/release.js';
import { isNotFound, kubeCall, type KubeOp } from '../kube/errors.js';
import { isOurs } from '../kube/ownership.js';
import type { ApiClient } from '../kube/proxy.js';
import type { Helm } from '../helm/helm.js';
import type { PreflightHelm, PreflightKube } from '../checks/preflight/context.js';
import { REDACTED, registeredSecrets, type Secret } from '../secret.js';
import { formatSize } from '../size.js';
import { VERSION } from '../version.js';

export const BUNDLE_DEFAULTS = {
  concurrency: 8,
  /** Healthy DaemonSet pods whose logs are kept, per DaemonSet (failing ones are all kept). */
  logsPerDaemonSet: 3,
  /** Log files (current + previous) at most, failing pods first. */
  maxLogFiles: 200,
  /** Up to this many nodes each node is listed in full; above it, a summary. */
  nodeDetailLimit: 100,
  logTimeoutMs: 20_000,
  reportTimeoutMs: 10_000,
} as const;

export interface BundleOptions {
  namespace: string;
  release: string;
  sinceMs: number;
  /** Per container log (pods/log limitBytes). */
  logBytes: number;
  /** The final .tar.gz is never larger. */
  maxSize: number;
  redactExtra: RegExp[];
  dryRun: boolean;
  /** -o: the exact target (never overwritten); unset: a new name in `dir`. */
  outputFile?: string;
  dir: string;
  context: string;
  server: string;
  now?: Date;
  concurrency?: number;
  logsPerDaemonSet?: number;
  maxLogFiles?: number;
  nodeDetailLimit?: number;
  /** One file's redaction may take this long (default: 10 s plus 4 s per MiB of text; 60 s for objects). */
  redactDeadlineMs?: number;
  /** Write even when the release's secrets cannot be learned (rules and patterns only). */
  allowUnknownSecrets?: boolean;
  /** For preflight's cloud checks; without it they are skipped, never prompted. */
  accessKey?: { id?: string; secret?: Secret };
}

/** The slice of the API the bundle reads: GETs only. */
export type BundleApi = Pick<ApiClient, 'get' | 'getJson' | 'list' | 'probe'>;

export interface BundleDeps {
  /** The cluster, or why it could not be reached (the cluster parts become errors). */
  api: BundleApi | InsightError;
  helmVersion(): Promise<string>;
  /** The doctor report as doctor -o json prints it (fix off); called only when the cluster answered. */
  doctorJson(o: { namespace: string; release: string }): Promise<string>;
  /** The preflight report from this machine (no probe pods), as preflight -o json prints it. */
  preflightJson(o: { namespace: string; release: string; region?: string; net?: 'Internet' | 'Intranet' }): Promise<string>;
  progress(message: string): void;
}

export type Section = 'versions' | 'reports' | 'release' | 'objects' | 'events' | 'nodes' | 'logs' | 'about';

export interface PlannedFile {
  path: string;
  /** Where it comes from, as a reader would ask for it (`GET /api/v1/...`, `helm storage`, `doctor`). */
  source: string;
  section: Section;
}

export interface ManifestFile extends PlannedFile {
  /** planned: a dry run's listing. */
  status: 'written' | 'omitted' | 'error' | 'planned';
  /** Uncompressed bytes (written files). */
  bytes?: number;
  reason?: string;
  /** What was left out of a written file (a log cut to its newest whole lines). */
  note?: string;
  redactions?: RedactionCounts;
}

export interface ComponentError {
  component: string;
  message: string;
}

export interface LogSelection {
  /** Containers whose logs are collected, failing pods first. */
  selected: Array<{ pod: string; container: string; previous: boolean; failing: boolean }>;
  /** DaemonSet pods left out by sampling (healthy, beyond the per-DaemonSet sample or the cap). */
  sampledOut: Array<{ pod: string; owner: string }>;
}

export interface BundleResult {
  dryRun: boolean;
  /** The written archive; absent on a dry run. */
  path?: string;
  /** Final size in bytes. */
  bytes?: number;
  files: ManifestFile[];
  errors: ComponentError[];
  sampledOut: LogSelection['sampledOut'];
  redactions: RedactionCounts;
  durationMs: number;
}

/** What a collector gives: the file's content, and a note for manifest.json (a log cut to its newest lines). */
type Content = ({ json: unknown } | { text: string } | { yamlDocs: unknown[] }) & { note?: string };

interface Entry extends PlannedFile {
  collect: (fail: (component: string, e: unknown) => void) => Promise<Content>;
}

/** One stored revision as the history table shows it (decoded once; the chart's files are not kept). */
interface Revision {
  version: number;
  status: string;
  chart?: { name?: string; version?: string; appVersion?: string };
  info?: { last_deployed?: string; description?: string; status?: string };
}

/** What discover learned: the release (if any) and everything the plan and the redactor need. */
interface Discovered {
  api?: BundleApi;
  release?: StoredRelease;
  revisions: Revision[];
  storage: 'secret' | 'configmap';
  /** The newest revision's values and manifest; in memory only, written redacted. */
  newest?: { config?: unknown; manifest?: string };
  pods?: V1Pod[];
  /** Every value known to be secret, from every revision and the live Secrets. */
  secrets: string[];
  /** Why the release's secrets could not be learned, when they could not. */
  secretsUnknown?: unknown;
}

/** Collect the bundle (or, with dryRun, only plan it). */
export async function runBundle(o: BundleOptions, deps: BundleDeps): Promise<BundleResult> {
  const started = Date.now();
  const errors: ComponentError[] = [];
  // Known before anything is read, so even the first error message is scrubbed with what we know.
  let redactor = new Redactor({ secrets: registeredSecrets(), extra: o.redactExtra });
  const fail = (component: string, e: unknown) => errors.push({ component: scrub(redactor, component), message: oneLine(e, redactor) });
  // The file is made first: a missing or read-only directory fails now, not after every read.
  // A dry run checks the name as the real run would, and makes nothing.
  const target = chooseTarget({ ...o, context: scrub(redactor, o.context) });
  const out = o.dryRun ? undefined : openPartial(target);
  try {
    deps.progress('reading the release and its pods...');
    const d = await discover(o, deps, fail);
    redactor = new Redactor({ secrets: [...registeredSecrets(), ...d.secrets], extra: o.redactExtra });
    checkSecretsKnown(o, d, redactor);
    if (redactor.unsearchable) fail('redaction', new Error(`${redactor.unsearchable} known secret value(s) shorter than ${SHORT_SECRET_MIN} characters cannot be searched for in text; the rules and patterns still apply`));
    const { entries, logs } = plan(o, deps, d);
    if (!out) {
      // The names the real run would give.
      const planned = new Set<string>(['README.txt', 'manifest.json']);
      return {
        dryRun: true,
        files: entries.map(({ path, source, section }) => ({ path: uniqueName(scrub(redactor, path), planned), source: scrub(redactor, source), section, status: 'planned' as const })),
        errors: finalErrors(errors, redactor),
        sampledOut: logs.sampledOut.map((x) => ({ pod: scrub(redactor, x.pod), owner: scrub(redactor, x.owner) })),
        redactions: {},
        durationMs: Date.now() - started,
      };
    }
    return await write(o, deps, out, entries, logs, errors, redactor, fail, started);
  } catch (e) {
    out?.abandon();
    throw e;
  }
}

/** Something is at `path`, a dangling symbolic link too (a hard link or a rename would use it). */
function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** -o as given (refused when it exists), or the default name with -2, -3... when taken. */
export function chooseTarget(o: Pick<BundleOptions, 'outputFile' | 'dir' | 'context' | 'now'>): { path: string; explicit: boolean } {
  if (o.outputFile !== undefined) {
    const path = resolve(o.dir, o.outputFile);
    if (o.outputFile === '' || /[/\\]$/.test(o.outputFile) || (exists(path) && isDirectory(path))) {
      throw new InsightError('usage', `--output-file ${o.outputFile === '' ? '(empty)' : basename(path)} is not a file name`, { hint: 'Give the archive\'s file name, e.g. --output-file support.tar.gz (a directory alone is not enough).' });
    }
    if (exists(path)) throw existingTarget(path);
    return { path, explicit: true };
  }
  const t = (o.now ?? new Date()).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z').replace('T', '-');
  const ctx = o.context.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+/, '').slice(0, 60) || 'cluster';
  const stem = join(o.dir, `kubectl-insight-bundle-${ctx}-${t}`);
  for (let i = 1; ; i++) {
    const path = `${stem}${i === 1 ? '' : `-${i}`}.tar.gz`;
    if (!exists(path)) return { path, explicit: false };
  }
}

const existingTarget = (path: string) =>
  new InsightError('usage', `${basename(path)} already exists: a bundle never overwrites a file`, { hint: 'Give another name with -o/--output-file, or leave it out for a new time-stamped name.' });

/** What the command hands over to build the default deps: its clients and the run's identity. */
export interface BundleWiring {
  api: ApiClient | InsightError;
  helm: Pick<Helm, 'features'> & PreflightHelm;
  kube: PreflightKube;
  connection: { kubeconfig?: string; context?: string };
  context: string;
  server: string;
  accessKey?: { id?: string; secret?: Secret };
  progress(message: string): void;
}

/** The real doctor (fix off) and preflight (from this machine, no probe pods: the bundle stays read-only). */
export function bundleDeps(w: BundleWiring): BundleDeps {
  return {
    api: w.api,
    progress: (m) => w.progress(m),
    helmVersion: async () => (await w.helm.features()).version,
    async doctorJson(o) {
      if (w.api instanceof InsightError) throw w.api;
      const [{ runDoctor }, { DEFAULT_OPTIONS }, { renderDoctorJson }] = await Promise.all([import('./doctor.js'), import('../checks/doctor/index.js'), import('../output/doctor.js')]);
      const r = await runDoctor(w.api, { checks: { ...DEFAULT_OPTIONS, namespace: o.namespace, release: o.release }, failOn: 'fatal', fix: false }, { progress: () => {}, watchRun: () => {}, confirmFix: async () => false });
      return renderDoctorJson(r.report, { context: w.context, server: w.server, namespace: o.namespace, release: o.release, durationMs: r.durationMs, exitCode: r.exitCode }, r.fixes);
    },
    async preflightJson(o) {
      const [{ runPreflight }, { exitCodeFor }, { renderPreflightJson }] = await Promise.all([import('../checks/preflight/index.js'), import('../checks/engine.js'), import('../output/preflight.js')]);
      const t0 = Date.now();
      const report = await runPreflight({
        ...w.connection,
        namespace: o.namespace,
        release: o.release,
        ...(o.region ? { region: o.region } : {}),
        ...(o.net ? { net: o.net } : {}),
        ...(w.accessKey?.id ? { accessKeyId: w.accessKey.id } : {}),
        ...(w.accessKey?.secret ? { accessKeySecret: w.accessKey.secret } : {}),
        fromLocal: true,
        timeoutMs: BUNDLE_DEFAULTS.reportTimeoutMs,
        deps: { kube: w.kube, helm: w.helm },
      });
      return renderPreflightJson(report, {
        context: w.context, server: w.server, namespace: o.namespace, release: o.release, ...(o.region ? { region: o.region } : {}), net: o.net ?? 'Internet',
        networkVantage: 'local', failOn: 'fatal', durationMs: Date.now() - t0, exitCode: exitCodeFor(report, 'fatal'),
      });
    },
  };
}

// ---- discover -------------------------------------------------------------------------------------------

async function discover(o: BundleOptions, deps: BundleDeps, fail: (c: string, e: unknown) => void): Promise<Discovered> {
  const d: Discovered = { revisions: [], storage: 'secret', secrets: [] };
  if (deps.api instanceof InsightError) {
    // Nothing is read from the cluster, so nothing of it can leak: the local parts are still written.
    fail('cluster', deps.api);
    return d;
  }
  const api = (d.api = deps.api);
  const ns = encodeURIComponent(o.namespace);
  const list: StorageList = (kind, labelSelector) => call({ verb: 'list', resource: kind, namespace: o.namespace }, () => api.list<V1Secret | V1ConfigMap>(`/api/v1/namespaces/${ns}/${kind}`, { labelSelector }));
  const [records, pods] = await Promise.all([
    readStorageRecords(list, o.release).catch((e: unknown) => {
      fail('release', e);
      d.secretsUnknown = e;
      return undefined;
    }),
    call({ verb: 'list', resource: 'pods', namespace: o.namespace }, () => api.list<V1Pod>(`/api/v1/namespaces/${ns}/pods`)).catch((e: unknown) => {
      fail('objects/pods.json', e);
      return undefined;
    }),
  ]);
  if (pods) d.pods = pods;
  const learned = new Set<string>();
  if (records?.items.length) {
    d.storage = records.storage;
    const version = (r: StorageRecord) => Number(r.metadata?.labels?.['version'] ?? 0);
    const newestVersion = Math.max(...records.items.map(version));
    let newestDecoded: Record<string, unknown> | undefined;
    for (const r of records.items) {
      const rev: Revision = { version: version(r), status: r.metadata?.labels?.['status'] ?? 'unknown' };
      d.revisions.push(rev);
      const raw = r.data?.['release'];
      if (!raw) {
        // A record without its release: the newest one's secrets cannot be learned.
        if (rev.version === newestVersion || !Number.isFinite(rev.version)) {
          const e = new Error(`revision ${rev.version} holds no release data`);
          fail(`release revision ${rev.version}`, e);
          d.secretsUnknown ??= e;
        }
        continue;
      }
      try {
        const rel = decodeHelmRelease(raw, records.storage === 'secret');
        rev.chart = ((rel['chart'] ?? {}) as { metadata?: Revision['chart'] }).metadata ?? {};
        rev.info = rel['info'] ?? {};
        const manifest = typeof rel['manifest'] === 'string' ? rel['manifest'] : '';
        // Every revision's secrets: a pod that ran an older one may still print its value.
        for (const v of releaseSecrets(rel['config'], manifest)) learned.add(v);
        if (rev.version === newestVersion) {
          d.newest = { config: rel['config'], manifest };
          // The record newestStoredRelease picks (the first of the newest version), decoded once.
          newestDecoded ??= rel;
        }
      } catch (e) {
        fail(`release revision ${rev.version}`, e);
        if (rev.version === newestVersion) d.secretsUnknown = e;
      }
    }
    d.revisions.sort((x, y) => x.version - y.version);
    try {
      const rel = newestStoredRelease(records.items, records.storage, { name: o.release, namespace: o.namespace }, newestDecoded);
      if (rel) d.release = rel;
    } catch (e) {
      // Already recorded for its revision above; the newest one undecodable means its secrets are unknown.
      d.secretsUnknown ??= e;
    }
  } else if (records) {
    // A wrong -n/--release, or a release helm keeps elsewhere: either way its secrets are not known.
    const e = new InsightError('not-found', `no helm release ${o.release} in namespace ${o.namespace}`);
    fail('release', e);
    d.secretsUnknown = e;
  }
  for (const v of await liveSecrets(api, o, d, fail)) learned.add(v);
  d.secrets = [...learned].flatMap(secretParts);
  return d;
}

/**
 * What must never appear, from one revision: every value under a sensitive name of its values (the
 * AccessKey secret among them), and every value of the Secrets its manifest renders.
 */
function releaseSecrets(config: unknown, manifest: string): string[] {
  const out: string[] = [];
  const leaves = (v: unknown, under: boolean) => {
    if (typeof v === 'string' || typeof v === 'number') {
      if (under && v !== '') out.push(String(v));
    } else if (Array.isArray(v)) v.forEach((x) => leaves(x, under));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) leaves(x, (under && !isReferenceName(k)) || isSensitiveName(k));
  };
  leaves(config, false);
  for (const doc of parseManifests(manifest)) if (doc.kind === 'Secret') out.push(...secretDataValues(doc as SecretLike));
  return out;
}

type SecretLike = { data?: Record<string, unknown>; stringData?: Record<string, unknown> };

function secretDataValues(s: SecretLike): string[] {
  const out: string[] = [];
  for (const v of Object.values(s.data ?? {})) {
    if (typeof v !== 'string' || !v) continue;
    const bytes = Buffer.from(v, 'base64');
    const text = bytes.toString('utf8');
    // The value as the API holds it, and as text; bytes that are not text also as hex.
    out.push(v, text);
    if (!Buffer.from(text, 'utf8').equals(bytes)) out.push(bytes.toString('hex'));
  }
  for (const v of Object.values(s.stringData ?? {})) if (typeof v === 'string' && v) out.push(v);
  return out;
}

/** The release's Secrets as they are in the cluster now (read only to learn their values; never written). */
async function liveSecrets(api: BundleApi, o: BundleOptions, d: Discovered, fail: (c: string, e: unknown) => void): Promise<string[]> {
  const rendered = (d.release?.objects ?? []).filter((x) => x.kind === 'Secret');
  const out: string[] = [];
  await Promise.all(
    rendered.map(async (s) => {
      const ns = s.metadata.namespace ?? o.namespace;
      try {
        out.push(...secretDataValues(await call({ verb: 'get', resource: 'secrets', namespace: ns, name: s.metadata.name }, () => api.getJson<V1Secret>(`/api/v1/namespaces/${encodeURIComponent(ns)}/secrets/${encodeURIComponent(s.metadata.name)}`))));
      } catch (e) {
        // The rendered value is already known; a live Secret we may not read is only a note.
        if (!isNotFound(e)) fail(`secrets (to learn what to redact): ${s.metadata.name}`, e);
      }
    }),
  );
  return out;
}

/**
 * Refuse to write a bundle whose secrets we could not learn: the release's records could not be read
 * or decoded, so the AccessKey secret's own forms cannot be searched for. The AccessKey secret in the
 * environment, or --allow-unknown-secrets, lets it through.
 */
function checkSecretsKnown(o: BundleOptions, d: Discovered, redactor: Redactor): void {
  if (d.secretsUnknown === undefined || o.allowUnknownSecrets || registeredSecrets().length) return;
  const cause = oneLine(d.secretsUnknown, redactor).slice(0, MESSAGE_MAX);
  const kind = d.secretsUnknown instanceof InsightError ? d.secretsUnknown.kind : 'failed';
  if (kind === 'not-found') {
    throw new InsightError('not-found', `${cause}, so its secrets cannot be searched for: no bundle was written`, {
      hint: `Check -n/--namespace and --release (helm list -A), give the AccessKey secret in ${ENV.accessKeySecret}, or pass --allow-unknown-secrets to redact by rules and patterns only.`,
    });
  }
  throw new InsightError(kind === 'forbidden' ? 'forbidden' : 'failed', `the release's stored values could not be read (${cause}), so its secrets cannot be searched for: no bundle was written`, {
    hint: `Use a kubeconfig that may list Secrets in ${o.namespace}, give the AccessKey secret in ${ENV.accessKeySecret}, or pass --allow-unknown-secrets to redact by rules and patterns only.`,
  });
}

// ---- plan -----------------------------------------------------------------------------------------------

/** Every file of the bundle in write order: versions, reports, release, objects, events, nodes, logs. */
function plan(o: BundleOptions, deps: BundleDeps, d: Discovered): { entries: Entry[]; logs: LogSelection } {
  const api = d.api;
  const ns = o.namespace;
  const e = (section: Section, path: string, source: string, collect: Entry['collect']): Entry => ({ section, path, source, collect });
  const needApi = <T>(f: (api: BundleApi) => Promise<T>) => async (): Promise<T> => {
    if (!api) throw new Error('the API server could not be reached');
    return f(api);
  };
  const region = d.release?.installation.region;
  const net = d.release?.installation.net;
  const doctor = onceP(needApi(() => withTimeout(deps.doctorJson({ namespace: ns, release: o.release }), 120_000, 'doctor')));
  const entries: Entry[] = [
    e('versions', 'versions.json', 'this machine (tool, Node.js, helm) and GET /version', async (fail) => versions(deps, api, fail)),
    e('reports', 'reports/preflight.json', 'kubectl insight preflight --from-local -o json (from this machine; no probe pods)', async () => ({
      json: JSON.parse(await deps.preflightJson({ namespace: ns, release: o.release, ...(region ? { region } : {}), ...(net === 'Internet' || net === 'Intranet' ? { net } : {}) })) as unknown,
    })),
    e('reports', 'reports/doctor.json', 'kubectl insight doctor -o json (no --fix)', async () => ({ json: JSON.parse(await doctor()) as unknown })),
    e('reports', 'coexistence.json', 'the coexist.* findings of the doctor report (ARMS, other node-exporters, DCGM)', async () => {
      const doc = JSON.parse(await doctor()) as { findings?: Array<{ id: string }> };
      return { json: (doc.findings ?? []).filter((f) => f.id.startsWith('coexist.')) };
    }),
  ];
  if (d.revisions.length) {
    entries.push(
      e('release', 'release/history.json', `helm storage (${d.storage}s owner=helm,name=${o.release}): a table, never the records`, async () => ({ json: history(d) })),
      e('release', 'release/manifest.yaml', `helm storage, revision ${d.release?.revision ?? '?'}: the rendered manifest (Secret data redacted)`, async () => ({ yamlDocs: manifestDocs(d) })),
      e('release', 'release/values.yaml', `helm storage, revision ${d.release?.revision ?? '?'}: the user-supplied values (redacted)`, async () => ({ yamlDocs: [d.newest?.config ?? {}] })),
    );
  }
  const q = encodeURIComponent(ns);
  const list = (path: string, op: KubeOp, apiPath: string, optional = false) =>
    e('objects', path, `GET ${apiPath}`, needApi(async (a) => {
      try {
        return { json: asList(await call(op, () => a.list(apiPath))) };
      } catch (err) {
        if (optional && isNotFound(err)) return { json: { ...asList([]), note: 'the CRD is not installed' } };
        throw err;
      }
    }));
  entries.push(
    e('objects', 'objects/pods.json', `GET /api/v1/namespaces/${ns}/pods`, async () => {
      if (!d.pods) throw new Error('the pod list could not be read');
      return { json: asList(d.pods) };
    }),
    list('objects/daemonsets.json', { verb: 'list', resource: 'daemonsets.apps', namespace: ns }, `/apis/apps/v1/namespaces/${q}/daemonsets`),
    list('objects/deployments.json', { verb: 'list', resource: 'deployments.apps', namespace: ns }, `/apis/apps/v1/namespaces/${q}/deployments`),
    list('objects/services.json', { verb: 'list', resource: 'services', namespace: ns }, `/api/v1/namespaces/${q}/services`),
    list('objects/endpointslices.json', { verb: 'list', resource: 'endpointslices.discovery.k8s.io', namespace: ns }, `/apis/discovery.k8s.io/v1/namespaces/${q}/endpointslices`),
    list('objects/servicemonitors.json', { verb: 'list', resource: 'servicemonitors.monitoring.coreos.com', namespace: ns }, `/apis/monitoring.coreos.com/v1/namespaces/${q}/servicemonitors`, true),
    list('objects/podmonitors.json', { verb: 'list', resource: 'podmonitors.monitoring.coreos.com', namespace: ns }, `/apis/monitoring.coreos.com/v1/namespaces/${q}/podmonitors`, true),
    e('objects', 'objects/crds.json', 'GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions/<each of the chart\'s CRDs>: status only', needApi((a) => crdStatus(a))),
    e('objects', 'objects/custom-resources.json', `GET /apis/${CR.group}/${CR.version}/${CR.plural} (this installation's) and ${LOG_CONFIG.plural} in ${ns}`, needApi((a) => customResources(a, o, d))),
    e('events', 'events.json', `GET /api/v1/namespaces/${ns}/events`, needApi(async (a) => {
      const items = await call({ verb: 'list', resource: 'events', namespace: ns }, () => a.list<CoreV1Event>(`/api/v1/namespaces/${q}/events`));
      const when = (x: CoreV1Event) => String(x.lastTimestamp ?? x.eventTime ?? x.metadata?.creationTimestamp ?? '');
      return { json: asList(items.sort((x, y) => when(x).localeCompare(when(y)))) };
    })),
    e('nodes', 'nodes.json', `GET /api/v1/nodes: conditions and capacity (a summary above ${o.nodeDetailLimit ?? BUNDLE_DEFAULTS.nodeDetailLimit} nodes)`, needApi(async (a) => ({
      json: nodesView(await call({ verb: 'list', resource: 'nodes' }, () => a.list<V1Node>('/api/v1/nodes')), o.nodeDetailLimit ?? BUNDLE_DEFAULTS.nodeDetailLimit),
    }))),
  );
  const logs = selectLogs(d.pods ?? [], o.logsPerDaemonSet ?? BUNDLE_DEFAULTS.logsPerDaemonSet, o.maxLogFiles ?? BUNDLE_DEFAULTS.maxLogFiles);
  const since = Math.max(1, Math.round(o.sinceMs / 1000));
  for (const l of logs.selected) {
    const path = `/api/v1/namespaces/${q}/pods/${encodeURIComponent(l.pod)}/log`;
    entries.push(
      e('logs', `logs/${l.pod}/${l.container}${l.previous ? '.previous' : ''}.log`, `GET pods/${l.pod}/log container=${l.container}${l.previous ? ' previous' : ''}: the newest whole lines of the last ${formatDuration(o.sinceMs)}, at most ${formatSize(o.logBytes)}`, needApi(async (a) => {
        const get: LogGet = (query, { maxBytes }) => {
          const qs = new URLSearchParams({ container: l.container, ...(l.previous ? { previous: 'true' } : {}) });
          for (const [k, v] of query) qs.set(k, v);
          return a.get(`${path}?${qs.toString()}`, { timeoutMs: BUNDLE_DEFAULTS.logTimeoutMs, maxBytes, accept: '*/*' });
        };
        const log = await newestLog(get, { sinceSeconds: since, limitBytes: o.logBytes });
        return { text: log.text, ...(log.note ? { note: log.note } : {}) };
      })),
    );
  }
  return { entries, logs };
}

/**
 * Whose logs: every container of a failing pod (not Ready, restarted, waiting) first, then the pods of
 * Deployments and other owners, then a few healthy pods per DaemonSet; at most `cap` files in all.
 * Previous logs only for containers that restarted.
 */
export function selectLogs(pods: readonly V1Pod[], perDaemonSet: number, cap: number): LogSelection {
  const owner = (p: V1Pod) => {
    const r = p.metadata?.ownerReferences?.find((x) => x.controller) ?? p.metadata?.ownerReferences?.[0];
    return r ? `${r.kind}/${r.name}` : 'Pod';
  };
  const failing = (p: V1Pod) =>
    !(p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True') ||
    (p.status?.containerStatuses ?? []).some((c) => c.restartCount > 0 || Boolean(c.state?.waiting));
  const byName = (a: V1Pod, b: V1Pod) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');
  const bad = pods.filter(failing).sort(byName);
  const good = pods.filter((p) => !failing(p)).sort(byName);
  const perDs = new Map<string, number>();
  const picked: V1Pod[] = [...bad];
  const sampledOut: LogSelection['sampledOut'] = [];
  for (const p of [...good.filter((x) => !owner(x).startsWith('DaemonSet/')), ...good.filter((x) => owner(x).startsWith('DaemonSet/'))]) {
    const o = owner(p);
    if (o.startsWith('DaemonSet/')) {
      const n = perDs.get(o) ?? 0;
      if (n >= perDaemonSet) {
        sampledOut.push({ pod: p.metadata?.name ?? '?', owner: o });
        continue;
      }
      perDs.set(o, n + 1);
    }
    picked.push(p);
  }
  const selected: LogSelection['selected'] = [];
  for (const p of picked) {
    const isBad = bad.includes(p);
    const files = (p.spec?.containers ?? []).flatMap((c) => {
      const st = p.status?.containerStatuses?.find((s) => s.name === c.name);
      return [{ pod: p.metadata?.name ?? '?', container: c.name, previous: false, failing: isBad }, ...((st?.restartCount ?? 0) > 0 ? [{ pod: p.metadata?.name ?? '?', container: c.name, previous: true, failing: isBad }] : [])];
    });
    if (selected.length + files.length > cap) {
      sampledOut.push({ pod: p.metadata?.name ?? '?', owner: owner(p) });
      continue;
    }
    selected.push(...files);
  }
  return { selected, sampledOut };
}

// ---- the collectors ---------------------------------------------------------------------------------------

async function versions(deps: BundleDeps, api: BundleApi | undefined, fail: (c: string, e: unknown) => void): Promise<Content> {
  const [helm, kubernetes] = await Promise.all([
    deps.helmVersion().catch((e: unknown) => {
      fail('helm version', e);
      return null;
    }),
    api
      ? call({ verb: 'get', resource: 'version' }, () => api.getJson<{ gitVersion?: string; platform?: string }>('/version', { timeoutMs: 15_000 })).catch((e: unknown) => {
          fail('kubernetes version', e);
          return null;
        })
      : Promise.resolve(null),
  ]);
  return { json: { tool: { name: 'kubectl-insight', version: VERSION }, node: process.version, platform: `${process.platform}/${process.arch}`, helm, kubernetes: kubernetes ? { gitVersion: kubernetes.gitVersion, platform: kubernetes.platform } : null } };
}

function history(d: Discovered): unknown {
  return d.revisions.map((r) => ({
    revision: r.version,
    status: r.info?.status ?? r.status,
    chart: r.chart?.name ? `${r.chart.name}-${r.chart.version ?? '?'}` : null,
    appVersion: r.chart?.appVersion ?? null,
    updated: r.info?.last_deployed ?? null,
    description: r.info?.description ?? null,
  }));
}

function manifestDocs(d: Discovered): unknown[] {
  return parseAllDocuments(d.newest?.manifest ?? '')
    .map((doc) => doc.toJSON() as unknown)
    .filter((x) => x !== null && x !== undefined);
}

async function crdStatus(api: BundleApi): Promise<Content> {
  const items = await Promise.all(
    CRDS.map(async ({ name }) => {
      const r = await api.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`, { timeoutMs: 15_000 });
      if (r.status === 404) return { name, present: false };
      if (r.status !== 200) throw new Error(`GET crd ${name}: HTTP ${r.status}: ${statusText(r.body)}`);
      const c = JSON.parse(r.body) as { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: { scope?: string; versions?: Array<{ name: string; served: boolean; storage: boolean }> }; status?: unknown };
      return { name, present: true, labels: c.metadata?.labels ?? {}, scope: c.spec?.scope, versions: (c.spec?.versions ?? []).map((v) => ({ name: v.name, served: v.served, storage: v.storage })), status: c.status };
    }),
  );
  return { json: items };
}

async function customResources(api: BundleApi, o: BundleOptions, d: Discovered): Promise<Content> {
  const clusterID = d.release?.installation.clusterId;
  const inst = { release: o.release, namespace: o.namespace, ...(clusterID ? { ownedNames: [CR.entityCollectorName(clusterID)] } : {}) };
  const optional = async (op: KubeOp, path: string) => {
    try {
      return await call(op, () => api.list<{ metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } }>(path));
    } catch (e) {
      if (isNotFound(e)) return [];
      throw e;
    }
  };
  const [pipelines, logConfigs] = await Promise.all([
    optional({ verb: 'list', resource: `${CR.plural}.${CR.group}` }, `/apis/${CR.group}/${CR.version}/${CR.plural}`),
    optional({ verb: 'list', resource: `${LOG_CONFIG.plural}.${LOG_CONFIG.group}`, namespace: o.namespace }, `/apis/${LOG_CONFIG.group}/v1alpha1/namespaces/${encodeURIComponent(o.namespace)}/${LOG_CONFIG.plural}`),
  ]);
  // Cluster-scoped: other installations' pipeline configs are theirs, not this bundle's.
  return { json: asList([...pipelines.filter((p) => isOurs(p.metadata ?? {}, inst)), ...logConfigs]) };
}

/** Each node in full up to `limit`; above it, counts, totals and every node that is not fine. */
export function nodesView(nodes: readonly V1Node[], limit: number): unknown {
  const ready = (n: V1Node) => n.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? 'Unknown';
  const pressure = (n: V1Node) => (n.status?.conditions ?? []).filter((c) => c.type !== 'Ready' && c.status === 'True').map((c) => c.type);
  const detail = (n: V1Node) => ({
    name: n.metadata?.name,
    labels: n.metadata?.labels ?? {},
    taints: n.spec?.taints ?? [],
    unschedulable: n.spec?.unschedulable ?? false,
    conditions: (n.status?.conditions ?? []).map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message, lastTransitionTime: c.lastTransitionTime })),
    capacity: n.status?.capacity ?? {},
    allocatable: n.status?.allocatable ?? {},
    nodeInfo: n.status?.nodeInfo ?? {},
  });
  if (nodes.length <= limit) return { count: nodes.length, nodes: nodes.map(detail) };
  const countBy = (f: (n: V1Node) => string | undefined) => {
    const m: Record<string, number> = {};
    for (const n of nodes) {
      const k = f(n) ?? 'unknown';
      m[k] = (m[k] ?? 0) + 1;
    }
    return m;
  };
  const totals: Record<string, number> = {};
  for (const n of nodes) for (const [k, v] of Object.entries(n.status?.capacity ?? {})) totals[k] = (totals[k] ?? 0) + quantity(v);
  return {
    count: nodes.length,
    summary: true,
    byReady: countBy(ready),
    byKubeletVersion: countBy((n) => n.status?.nodeInfo?.kubeletVersion),
    byOsImage: countBy((n) => n.status?.nodeInfo?.osImage),
    byContainerRuntime: countBy((n) => n.status?.nodeInfo?.containerRuntimeVersion),
    byArchitecture: countBy((n) => n.status?.nodeInfo?.architecture),
    capacityTotals: totals,
    notFine: nodes.filter((n) => ready(n) !== 'True' || pressure(n).length || n.spec?.unschedulable).map(detail),
  };
}

/** A Kubernetes quantity as a number (cpu in cores, memory in bytes): enough for totals. */
export function quantity(q: string): number {
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q.trim());
  if (!m) return 0;
  const mult: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
  return Number(m[1]) * (mult[m[2]!] ?? 1);
}

// ---- write ------------------------------------------------------------------------------------------------

/** The bundle's file while it is written: hidden, 0600, removed on every exit path until it is placed. */
interface PartialFile {
  target: { path: string; explicit: boolean };
  partial: string;
  writer: TarGzWriter;
  /** Close and remove it (an error, Ctrl-C). */
  abandon(): void;
  /** Remove the hidden name once the bundle is placed under its own. */
  placed(): void;
}

function openPartial(target: { path: string; explicit: boolean }): PartialFile {
  const dir = dirname(target.path);
  const partial = join(dir, `.${basename(target.path)}.partial-${randomBytes(6).toString('hex')}`);
  let writer: TarGzWriter;
  try {
    writer = new TarGzWriter(openExclusive(partial));
  } catch (e) {
    throw writeError(dir, e);
  }
  const remove = onExit(() => rmSync(partial, { force: true }));
  return {
    target,
    partial,
    writer,
    abandon: () => {
      writer.close();
      remove();
    },
    placed: remove,
  };
}

/** A file-system failure while writing the bundle, as one line: the code says what (ENOSPC, EACCES...). */
function writeError(dir: string, e: unknown): InsightError {
  const code = (e as NodeJS.ErrnoException).code;
  const what: Record<string, string> = { ENOENT: 'the directory does not exist', EACCES: 'permission denied', EPERM: 'permission denied', EROFS: 'the file system is read-only', ENOSPC: 'no space left on the device', EDQUOT: 'the disk quota is exceeded', ENOTDIR: 'a part of the path is not a directory', ENAMETOOLONG: 'the file name is too long', EISDIR: 'it is a directory' };
  return new InsightError('failed', `cannot write the bundle in ${dir}: ${code ? (what[code] ?? code) : String(e)}${code && what[code] ? ` (${code})` : ''}`, {
    hint: 'Give a writable directory with free space with --output-file, or free some space; nothing was left behind.',
  });
}

type Collected = { content: Content; own: ComponentError[] } | { error: unknown; own: ComponentError[] };

async function write(o: BundleOptions, deps: BundleDeps, out: PartialFile, entries: Entry[], logs: LogSelection, errors: ComponentError[], redactor: Redactor, fail: (c: string, e: unknown) => void, started: number): Promise<BundleResult> {
  const now = o.now ?? new Date();
  const readme = readmeText(o, now, redactor);
  // Room kept for README.txt and manifest.json at their largest, so the last two files always fit.
  const reserve = gzipBound(tarEntrySize(Buffer.byteLength(readme))) + gzipBound(tarEntrySize(worstManifestBytes(o, entries, logs))) + END_BYTES;
  if (reserve > o.maxSize) {
    throw new InsightError('usage', `--max-size ${formatSize(o.maxSize)} cannot hold even this bundle's manifest (${entries.length} files; it needs up to ${formatSize(reserve)})`, {
      hint: `Give a larger --max-size (at least ${formatSize(reserve)}).`,
    });
  }
  const dir = dirname(out.target.path);
  const writer = out.writer;
  const append = (p: PackedEntry) => {
    try {
      writer.append(p);
    } catch (e) {
      throw writeError(dir, e);
    }
  };
  const files: ManifestFile[] = [];
  const totals: RedactionCounts = {};
  const run = async (en: Entry): Promise<Collected> => {
    const own: ComponentError[] = [];
    try {
      return { content: await en.collect((c, e) => own.push({ component: c, message: oneLine(e, redactor) })), own };
    } catch (e) {
      return { error: e, own };
    }
  };
  // The reports (doctor, preflight) each hold whole cluster lists: one at a time, and before the
  // rest, so peak memory is the largest of them rather than their sum. The rest is collected in
  // parallel, at most `window` files ahead of the one being written: files are written in plan order
  // (it decides what --max-size keeps), and no more than `window` results wait in memory.
  const window = o.concurrency ?? BUNDLE_DEFAULTS.concurrency;
  let reports: Promise<unknown> = Promise.resolve();
  const start = (en: Entry): Promise<Collected> => {
    if (en.section !== 'reports') return reports.then(() => run(en));
    const p = reports.then(async () => {
      const r = await run(en);
      collectGarbage();
      return r;
    });
    reports = p;
    return p;
  };
  // Names after redaction: two pods whose names a --redact-extra pattern hides must not share one.
  const used = new Set<string>(['README.txt', 'manifest.json']);
  const inflight = new Map<number, Promise<Collected>>();
  let next = 0;
  for (const [i, en] of entries.entries()) {
    for (; next < entries.length && next < i + window; next++) inflight.set(next, start(entries[next]!));
    deps.progress(`collecting ${en.path} (${i + 1}/${entries.length})`);
    const r = await inflight.get(i)!;
    inflight.delete(i);
    errors.push(...r.own);
    const meta = { path: uniqueName(scrub(redactor, en.path), used), source: scrub(redactor, en.source), section: en.section };
    if ('error' in r) {
      fail(meta.path, r.error);
      files.push({ ...meta, status: 'error', reason: errors[errors.length - 1]!.message.slice(0, MESSAGE_MAX) });
      continue;
    }
    const counts: RedactionCounts = {};
    let packed: PackedEntry;
    try {
      const body = runWithin(o.redactDeadlineMs ?? renderDeadline(r.content), () => render(r.content, redactor, counts));
      packed = packEntry(meta.path, body, now);
    } catch (e) {
      if (e instanceof InsightError) throw e;
      // Redaction that did not finish (a --redact-extra pattern that backtracks) or a name tar cannot
      // hold: this file is left out, never written half-redacted, and the bundle goes on.
      fail(meta.path, e instanceof DeadlineExceeded ? new Error(`redaction ${e.message}, so the file is left out${o.redactExtra.length ? ' (a --redact-extra pattern that backtracks?)' : ''}`) : e);
      files.push({ ...meta, status: 'error', reason: errors[errors.length - 1]!.message.slice(0, MESSAGE_MAX) });
      continue;
    }
    if (writer.size + packed.bytes.length + reserve > o.maxSize) {
      files.push({ ...meta, status: 'omitted', reason: 'max-size', bytes: packed.rawBytes });
      continue;
    }
    append(packed);
    addCounts(totals, counts);
    files.push({ ...meta, status: 'written', bytes: packed.rawBytes, ...(r.content.note ? { note: scrub(redactor, r.content.note) } : {}), ...(Object.keys(counts).length ? { redactions: counts } : {}) });
  }
  append(packEntry('README.txt', readme, now));
  files.push({ path: 'README.txt', source: 'kubectl-insight', section: 'about', status: 'written', bytes: Buffer.byteLength(readme) });
  const manifest = manifestOf(o, now, files, errors, logs, totals, redactor);
  append(packEntry('manifest.json', `${JSON.stringify(manifest, null, 2)}\n`, now));
  let bytes: number;
  let final: string;
  try {
    bytes = writer.finish();
    final = place(out.partial, out.target);
  } catch (e) {
    if (e instanceof InsightError) throw e;
    throw writeError(dir, e);
  }
  out.placed();
  return { dryRun: false, path: final, bytes, files, errors: manifest.errors, sampledOut: manifest.logs.sampledOut, redactions: totals, durationMs: Date.now() - started };
}

/**
 * `name`, or `name` with -2, -3... before its extension when taken, so that every name is a file and
 * none is another's directory. A name whose directory is taken as a file moves under `renamed/`.
 */
export function uniqueName(name: string, used: Set<string>): string {
  const free = (n: string) => {
    if (used.has(n)) return false;
    const parts = n.split('/');
    for (let i = 1; i < parts.length; i++) if (used.has(parts.slice(0, i).join('/'))) return false;
    for (const u of used) if (u.startsWith(`${n}/`)) return false;
    return true;
  };
  const suffixed = (n: string, i: number) => n.replace(/(\.[a-z]+)?$/, (ext) => `-${i}${ext}`);
  const base = name.split('/').pop() || 'file';
  const candidates = function* () {
    yield name;
    for (let i = 2; i <= 50; i++) yield suffixed(name, i);
    for (let i = 1; ; i++) yield `renamed/${i}-${base}`;
  };
  for (const c of candidates()) {
    if (free(c)) {
      used.add(c);
      return c;
    }
    // `renamed` itself taken as a file: no name under it can ever be free.
    if (c.startsWith('renamed/') && (used.has('renamed') || used.size > 1e6)) break;
  }
  throw new Error(`no free name in the archive for ${name}`);
}

/** How long one file's redaction may take: generous for what it is, so only a runaway pattern hits it. */
function renderDeadline(c: Content): number {
  if ('text' in c) return 10_000 + (c.text.length / 2 ** 20) * 4_000;
  return 60_000;
}

/** Layers 2-3 on a name (a path, a source, a pod): a secret in a pod name never reaches the tar header. */
function scrub(redactor: Redactor, s: string): string {
  try {
    return runWithin(2_000, () => redactor.text(s, {}));
  } catch (e) {
    if (e instanceof InsightError) throw e;
    return REDACTED;
  }
}

/** Move the finished archive to its name without ever replacing a file: a hard link fails on EEXIST. */
function place(partial: string, target: { path: string; explicit: boolean }): string {
  let path = target.path;
  for (let i = 2; ; i++) {
    try {
      linkSync(partial, path);
      return path;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        // Someone made the name while we collected: -o is refused, the default name moves on.
        if (target.explicit) throw existingTarget(path);
        path = target.path.replace(/(-\d+)?\.tar\.gz$/, `-${i}.tar.gz`);
        continue;
      }
      // No hard links here (some network and FUSE file systems): check, then rename.
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EXDEV') {
        if (exists(path)) {
          if (target.explicit) throw existingTarget(path);
          path = target.path.replace(/(-\d+)?\.tar\.gz$/, `-${i}.tar.gz`);
          continue;
        }
        renameSync(partial, path);
        return path;
      }
      throw e;
    }
  }
}

function render(c: Content, redactor: Redactor, counts: RedactionCounts): string {
  if ('json' in c) return `${redactor.json(c.json, counts)}\n`;
  if ('text' in c) return redactor.text(c.text, counts);
  const docs = c.yamlDocs.map((doc) => stringify(redactor.object(doc, counts), { lineWidth: 0 }));
  return redactor.knownForms(docs.join('---\n'), counts);
}

const MANIFEST_FORMAT = 'kubectl-insight-bundle/v1';

function manifestOf(o: BundleOptions, now: Date, files: ManifestFile[], errors: ComponentError[], logs: LogSelection, totals: RedactionCounts, redactor: Redactor) {
  // What the run was given and found (context, server, pod names) is text like any other file's.
  const t = (x: string) => scrub(redactor, x);
  return {
    format: MANIFEST_FORMAT,
    tool: { name: 'kubectl-insight', version: VERSION },
    createdAt: now.toISOString(),
    context: t(o.context),
    server: t(o.server),
    namespace: t(o.namespace),
    release: t(o.release),
    options: { since: formatDuration(o.sinceMs), logBytes: o.logBytes, maxSize: o.maxSize, redactExtraPatterns: o.redactExtra.length },
    files,
    // Errors met before the release's secrets were known are scrubbed again with them.
    errors: finalErrors(errors, redactor),
    logs: { sampledOut: logs.sampledOut.map((x) => ({ pod: t(x.pod), owner: t(x.owner) })) },
    redactions: totals,
  };
}

/** Errors as the run reports them: scrubbed again with every secret known by now, then cut to one short line. */
function finalErrors(errors: readonly ComponentError[], redactor: Redactor): ComponentError[] {
  return errors.map((x) => ({ component: scrub(redactor, x.component), message: scrub(redactor, x.message).slice(0, MESSAGE_MAX) }));
}

/** manifest.json at its largest for this plan: every file with every rule counted and an error each. */
function worstManifestBytes(o: BundleOptions, entries: Entry[], logs: LogSelection): number {
  const rules: RedactionCounts = Object.fromEntries(
    [...BUILT_IN_RULES, ...o.redactExtra.map((_r, i) => `redact-extra-${i + 1}`)].map((r) => [r, 1e12]),
  );
  const long = 'x'.repeat(MESSAGE_MAX);
  const files: ManifestFile[] = [...entries, { path: 'README.txt', source: 'kubectl-insight', section: 'about' as const }].map((e) => ({ path: e.path, source: e.source, section: e.section, status: 'omitted', bytes: 1e12, reason: long, note: long, redactions: rules }));
  // Errors: one per file, and a few per file for the components inside (helm, versions, secrets).
  const errors = [...entries.map((e) => ({ component: e.path, message: long })), ...Array.from({ length: 8 + entries.length }, () => ({ component: long.slice(0, 120), message: long }))];
  const m = manifestOf(o, new Date(8.64e15), files, errors, logs, rules, new Redactor({ secrets: [] }));
  return Buffer.byteLength(JSON.stringify(m, null, 2)) + 1024;
}

const MESSAGE_MAX = 300;
/** Kept of an error's first line until the final scrub. */
const MESSAGE_KEEP = 65_536;

/** One scrubbed line of an error, for manifest.json. */
function oneLine(e: unknown, redactor: Redactor): string {
  const msg = e instanceof Error ? e.message : String(e);
  const line = (msg.split('\n').find((l) => l.trim()) ?? 'unknown error').trim();
  // Cut only after the last scrub (manifestOf, the dry run): a secret across the cut would stay half.
  // A line longer than MESSAGE_KEEP loses its last KiB after the scrub, where a cut secret could be.
  if (line.length <= MESSAGE_KEEP) return scrub(redactor, line);
  return scrub(redactor, line.slice(0, MESSAGE_KEEP)).slice(0, -1024);
}

function statusText(body: string): string {
  try {
    const s = JSON.parse(body) as { message?: string };
    if (s.message) return s.message.slice(0, 200);
  } catch {
    // not a Status
  }
  return body.replace(/\s+/g, ' ').slice(0, 200);
}

function asList(items: readonly unknown[]): { apiVersion: 'v1'; kind: 'List'; items: unknown[] } {
  return { apiVersion: 'v1', kind: 'List', items: [...items] };
}

function call<T>(op: KubeOp, fn: () => Promise<T>): Promise<T> {
  return kubeCall(op, fn, { idempotent: true, attempts: 2 });
}

/**
 * A full garbage collection after each report. Each leaves ~100 MB of dead cluster lists on a big
 * cluster, and V8 grows the heap for the next allocation before it collects them: measured on 1,000
 * nodes, the bundle's peak RSS was the sum of the reports' (340 MB) instead of the largest (~210 MB).
 */
function collectGarbage(): void {
  try {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  } catch {
    // Only memory is at stake.
  }
}

function onceP<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_r, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${formatDuration(ms)}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function readmeText(o: BundleOptions, now: Date, redactor: Redactor): string {
  const t = (x: string) => scrub(redactor, x);
  return `kubectl-insight support bundle
==============================

Made by kubectl-insight ${VERSION} at ${now.toISOString()} for release ${t(o.release)} in namespace
${t(o.namespace)} (kubeconfig context ${t(o.context)}).

What is in it
  manifest.json        every file, where it came from, what was redacted (counts per rule), what was
                       left out (max-size, sampled logs) and every component that failed to answer
  versions.json        kubectl-insight, Node.js, helm and Kubernetes versions
  reports/             doctor and preflight reports as JSON (preflight from the machine that made this)
  coexistence.json     other collectors found in the cluster (ARMS, node-exporters, DCGM)
  release/             helm history (a table), the newest revision's manifest and values
  objects/             pods, DaemonSets, Deployments, Services, EndpointSlices, ServiceMonitors,
                       PodMonitors of the namespace; the chart's CRDs (status); the custom resources
  events.json          events of the namespace
  nodes.json           node conditions and capacity (a summary on big clusters)
  logs/<pod>/          container logs (since ${formatDuration(o.sinceMs)}, at most ${formatSize(o.logBytes)} each; .previous.log: the
                       instance before the last restart)

What is not in it
  No Secret data of any kind. The AccessKey secret and every value of the release's Secrets are
  replaced by [REDACTED] in every form (raw, base64, URL-encoded, JSON-escaped, hex), and so are
  bearer tokens, Basic credentials, JWTs, private keys and anything under a key that names a
  password, token or secret. See docs/bundle.md in kubectl-insight for the rules.
  Please still look through it before you send it on.

Default values: namespace ${CHART.namespace}, release ${CHART.release}.
`;
}
