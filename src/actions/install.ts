/**
 * `install`: validate → check helm and the cluster → preflight → render → helm install → wait for the
 * rollout → verify. Typed options in, typed result out, no printing (helm pkg/action style). The
 * AccessKey secret travels only inside `Values` as a `Secret` and reaches helm only through the 0600
 * values file src/helm writes.
 */
import { existsSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { Kube } from '../kube/client.js';
import type { Helm, HelmRelease } from '../helm/helm.js';
import { CHART, CR, FIELD_MANAGER } from '../defaults.js';
import { chartNameOf, checkTargetChart, judgeRelease } from '../helm/release-state.js';
import { clearUninstallMark } from '../kube/namespace.js';
import { InsightError } from '../errors.js';
import { kubeCall } from '../kube/errors.js';
import { waitForRollout, workloadsInManifests, type WorkloadRef, type WorkloadStatus } from '../kube/rollout.js';
import type { Report } from '../checks/engine.js';
import type { Step, StepReporter } from './steps.js';
import { rewriteImageRegistry } from '../values/image.js';
import { displayValues, redactManifests, secretsIn } from '../values/redact.js';
import { getPath, isMap, mergeValues, setPath, type Values } from '../values/tree.js';
import { validateValues } from '../values/validate.js';

// ---------------------------------------------------------------------------------------------------
// Shared with upgrade

export interface ChartSource {
  /** --chart: a local directory or .tgz, an oci:// or http(s):// reference, or repo/name; default the chart name in the repo. */
  chart?: string;
  /** --repo-url: a mirror of the chart repository. */
  repoUrl?: string;
  /** --version */
  version?: string;
}

export type InstallHelm = Pick<Helm, 'version' | 'features' | 'list' | 'listAllNamespaces' | 'getValues' | 'getManifest' | 'applyMethod' | 'showChart' | 'showValues' | 'template' | 'install' | 'upgrade' | 'rollback'>;
export type InstallKube = Pick<Kube, 'apps' | 'core' | 'apiext' | 'custom' | 'version' | 'authz' | 'objects' | 'server'>;

/** What helm is told about the chart: `<ref> [--repo url] [--version v]`. */
export function chartArgs(src: ChartSource): string[] {
  const c = src.chart;
  const version = src.version ? ['--version', src.version] : [];
  if (!c) return [CHART.name, '--repo', src.repoUrl ?? CHART.repoUrl, ...version];
  if (c.startsWith('oci://')) return [c, ...version];
  if (/^https?:\/\//.test(c)) return src.repoUrl ? [c, '--repo', src.repoUrl, ...version] : [c];
  if (isLocalChart(c)) return [c];
  // repo/name from the user's own `helm repo add`, or a bare name with --repo-url.
  return src.repoUrl ? [c, '--repo', src.repoUrl, ...version] : [c, ...version];
}

function isLocalChart(c: string): boolean {
  return existsSync(c) || c.startsWith('.') || c.startsWith('/') || c.endsWith('.tgz') || c.endsWith('.tar.gz');
}

/** Refuse a local chart path that does not exist before anything else happens. */
export function checkChartSource(src: ChartSource): void {
  const c = src.chart;
  if (!c) return;
  if (isLocalChart(c) && !existsSync(c)) {
    throw new InsightError('invalid-input', `chart not found: ${c} does not exist`, { hint: 'Pass a chart directory or .tgz to --chart, an oci:// or https:// reference, or leave --chart out to use the official repository.' });
  }
  if (src.version && isLocalChart(c)) {
    throw new InsightError('usage', '--version cannot be used with a local chart (--chart is a path)', { hint: 'The version of a local chart is the one in its Chart.yaml.' });
  }
}

export interface ManifestDoc {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: unknown;
  /** `# Source:` path helm printed above the document. */
  source?: string;
}

/**
 * The release's manifest as helm recorded it; undefined when there is no release or nothing recorded.
 * Any other failure is thrown: a check that reads the manifest must not pass on an empty one.
 */
export async function releaseManifest(helm: Pick<Helm, 'getManifest'>, release: string, namespace: string, rel: Pick<HelmRelease, 'status'> | undefined): Promise<ManifestDoc[] | undefined> {
  if (!rel || rel.status === 'uninstalled') return undefined;
  try {
    return parseManifests(await helm.getManifest(release, namespace));
  } catch (e) {
    if (e instanceof InsightError && e.kind === 'not-found') return undefined;
    throw e;
  }
}

/** Split `helm template` output into documents, keeping helm's `# Source:` path. */
export function parseManifests(text: string): ManifestDoc[] {
  const out: ManifestDoc[] = [];
  for (const chunk of text.split(/^---\s*$/m)) {
    const source = /^# Source: (.+)$/m.exec(chunk)?.[1]?.trim();
    let docs;
    try {
      docs = parseAllDocuments(chunk);
    } catch {
      continue;
    }
    for (const d of Array.isArray(docs) ? docs : [docs]) {
      const v = d.toJSON() as unknown;
      if (isMap(v) && typeof v.kind === 'string') out.push({ ...(v as ManifestDoc), ...(source ? { source } : {}) });
    }
  }
  return out;
}

export interface RenderedChart {
  manifests: string;
  docs: ManifestDoc[];
  workloads: WorkloadRef[];
  /** CRDs from the chart's crds/ directory (helm creates them only when absent, never updates them). */
  crdsDir: string[];
  /** CRDs rendered from templates/ (helm owns those: they conflict with another release's). */
  crdsTemplated: string[];
  chart: { name: string; version: string; appVersion?: string };
}

/** Say which chart source failed, in the user's terms (helm's own line stays in details). */
export function chartSourceError(e: unknown, src: ChartSource): unknown {
  if (!(e instanceof InsightError)) return e;
  const helmLine = String(e.details?.helm ?? e.message);
  const where = src.chart ?? `${CHART.name} from ${src.repoUrl ?? CHART.repoUrl}`;
  if (/is not a valid chart repository or cannot be reached|no such host|connection refused|i\/o timeout|TLS handshake|x509/i.test(helmLine)) {
    return new InsightError('failed', `cannot fetch the chart ${where}: ${helmLine.replace(/^helm \w+ failed: /, '')}`, {
      hint: 'Check the network to the chart repository, use --repo-url for a reachable mirror, or download the chart elsewhere (`helm pull`) and pass the .tgz with --chart. Nothing was changed.',
      details: e.details,
    });
  }
  if (e.kind === 'invalid-input' || /not found|no chart version|no chart name/i.test(helmLine)) {
    return new InsightError('invalid-input', `chart not found: ${where}${src.version ? ` version ${src.version}` : ''} (${helmLine.replace(/^helm \w+ failed: /, '').replace(/^chart not found: /, '')})`, {
      hint: 'Check --chart, --repo-url and --version (`helm search repo --versions` lists versions). Nothing was changed.',
      details: e.details,
    });
  }
  return e;
}

async function helmChart<T>(src: ChartSource, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw chartSourceError(e, src);
  }
}

export async function chartMetadata(helm: Pick<Helm, 'showChart'>, src: ChartSource): Promise<{ name: string; version: string; appVersion?: string }> {
  const stdout = await helmChart(src, () => helm.showChart(chartArgs(src)));
  const meta = (parseAllDocuments(stdout)[0]?.toJSON() ?? {}) as { name?: string; version?: string; appVersion?: string };
  if (!meta.name || !meta.version) throw new InsightError('invalid-input', 'the chart has no name or version in Chart.yaml', { hint: 'Check --chart.' });
  return { name: meta.name, version: String(meta.version), ...(meta.appVersion ? { appVersion: String(meta.appVersion) } : {}) };
}

export async function chartDefaults(helm: Pick<Helm, 'showValues'>, src: ChartSource): Promise<Values> {
  const stdout = await helmChart(src, () => helm.showValues(chartArgs(src)));
  const v = parseAllDocuments(stdout)[0]?.toJSON() as unknown;
  return isMap(v) ? v : {};
}

/** `helm template` with the user's values: the manifests, workloads and CRDs the install will create. */
export async function renderChart(helm: Pick<Helm, 'template' | 'showChart'>, src: ChartSource, release: string, namespace: string, values: Values, kubeVersion?: string): Promise<RenderedChart> {
  const stdout = await helmChart(src, () => helm.template({ release, namespace, chart: chartArgs(src), values, ...(kubeVersion ? { kubeVersion } : {}) }));
  const docs = parseManifests(stdout);
  const crds = docs.filter((d) => d.kind === 'CustomResourceDefinition' && d.metadata?.name);
  const fromDir = (d: ManifestDoc) => /(^|\/)crds\//.test(d.source ?? '') && !/\/templates\//.test(d.source ?? '');
  const chart = await chartMetadata(helm, src);
  return {
    manifests: stdout,
    docs,
    workloads: workloadsInManifests(docs, namespace),
    crdsDir: crds.filter(fromDir).map((d) => d.metadata!.name!),
    crdsTemplated: crds.filter((d) => !fromDir(d)).map((d) => d.metadata!.name!),
    chart,
  };
}

export interface CrdFinding {
  name: string;
  /** absent: the chart creates it; ours: already from this release; foreign: someone else's, left alone. */
  state: 'absent' | 'ours' | 'foreign' | 'unmanaged';
  owner?: string;
  /** Whether helm will manage it (templates/) or only create it if absent (crds/). */
  managedBy: 'crds-dir' | 'template';
}

/** Who owns each CRD the chart brings; templated CRDs owned by another release would make helm fail. */
export async function inspectCrds(kube: InstallKube, rendered: RenderedChart, release: string, namespace: string): Promise<CrdFinding[]> {
  const out: CrdFinding[] = [];
  const all = [...rendered.crdsDir.map((n) => [n, 'crds-dir'] as const), ...rendered.crdsTemplated.map((n) => [n, 'template'] as const)];
  const unlabelled: CrdFinding[] = [];
  for (const [name, managedBy] of all) {
    let crd;
    try {
      crd = await kubeCall({ verb: 'get', resource: 'customresourcedefinitions.apiextensions.k8s.io', name }, () => kube.apiext.readCustomResourceDefinition({ name }), { idempotent: true }, kube.server);
    } catch (e) {
      if (e instanceof InsightError && e.kind === 'not-found') {
        out.push({ name, state: 'absent', managedBy });
        continue;
      }
      throw e;
    }
    const a = crd.metadata?.annotations ?? {};
    const rel = a['meta.helm.sh/release-name'];
    const relNs = a['meta.helm.sh/release-namespace'];
    if (rel === release && relNs === namespace) out.push({ name, state: 'ours', managedBy });
    else if (rel) out.push({ name, state: 'foreign', owner: `helm release ${relNs}/${rel}`, managedBy });
    else {
      // helm puts no ownership on CRDs from crds/ (ours or kube-prometheus-stack's): who uses them shows
      // only in their objects and in the Prometheus Operators watching them.
      const f: CrdFinding = { name, state: 'unmanaged', managedBy };
      out.push(f);
      unlabelled.push(f);
    }
  }
  if (unlabelled.length) {
    try {
      const { inspectCrdsOwnership } = await import('../kube/ownership.js');
      const decisions = await inspectCrdsOwnership(kube, unlabelled.map((f) => f.name), { release, namespace });
      for (const d of decisions) {
        const f = unlabelled.find((x) => x.name === d.crd)!;
        const owners = [...new Set([...d.foreign.map((o) => o.owner), ...d.users])];
        if (owners.length) f.owner = `used by ${owners.slice(0, 3).join(', ')}${owners.length > 3 ? ', …' : ''}`;
        else if (d.ours.length) f.state = 'ours';
      }
    } catch (e) {
      // Listing every object of a kind needs cluster-wide read; without it we only know the CRD exists.
      if (!(e instanceof InsightError && e.kind === 'forbidden')) throw e;
    }
  }
  return out;
}

/** One line per CRD that someone else has or uses (and one for the rest that exist), for the user. */
export function crdNotes(crds: readonly CrdFinding[], mode: 'install' | 'upgrade' = 'install'): string[] {
  const notes: string[] = [];
  const quiet: string[] = [];
  for (const c of crds) {
    if (c.state === 'foreign' || (c.state === 'unmanaged' && c.owner)) {
      notes.push(`CRD ${c.name} already exists (${c.owner}): kept as is, not taken over${c.managedBy === 'crds-dir' ? ' (helm does not touch CRDs that exist)' : ''}`);
    } else if (c.state === 'unmanaged') quiet.push(c.name);
  }
  if (mode === 'install' && quiet.length) notes.push(`${quiet.length} of the chart's CRDs already exist with no other users (from an earlier install?): kept as they are`);
  return notes;
}

/**
 * When some of the chart's crds/ CRDs exist already, helm is told to skip crds/ and the absent ones
 * are created here, with a plain create: helm 4 applies crds/ server-side, and an apply to an existing
 * CRD (kube-prometheus-stack's ServiceMonitor, say) would change it or fail on a field-manager
 * conflict. helm 3 would only create; doing the same on both majors keeps one behaviour. A CRD that
 * appears in the meantime is left as it is (AlreadyExists).
 */
export async function createAbsentCrds(kube: InstallKube, rendered: RenderedChart, crds: readonly CrdFinding[], deadline: number, report: StepReporter): Promise<string[]> {
  const absent = new Set(crds.filter((c) => c.managedBy === 'crds-dir' && c.state === 'absent').map((c) => c.name));
  const created: string[] = [];
  for (const d of rendered.docs) {
    const name = d.metadata?.name;
    if (d.kind !== 'CustomResourceDefinition' || !name || !absent.has(name) || !rendered.crdsDir.includes(name)) continue;
    const { source: _source, ...body } = d;
    try {
      await kubeCall({ verb: 'create', resource: 'customresourcedefinitions.apiextensions.k8s.io', name }, () => kube.apiext.createCustomResourceDefinition({ body: body as never, fieldManager: FIELD_MANAGER }), { idempotent: false }, kube.server);
      created.push(name);
    } catch (e) {
      if (!(e instanceof InsightError && e.kind === 'conflict')) throw e;
    }
  }
  if (created.length) await waitEstablished(kube, created, deadline, report);
  return created;
}

async function waitEstablished(kube: InstallKube, names: readonly string[], deadline: number, report: StepReporter): Promise<void> {
  const pending = new Set(names);
  while (pending.size) {
    for (const name of [...pending]) {
      try {
        const crd = await kubeCall({ verb: 'get', resource: 'customresourcedefinitions.apiextensions.k8s.io', name }, () => kube.apiext.readCustomResourceDefinition({ name }), { idempotent: true }, kube.server);
        if ((crd.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True')) pending.delete(name);
      } catch (e) {
        if (!(e instanceof InsightError && e.kind === 'not-found')) throw e;
      }
    }
    if (!pending.size) break;
    if (Date.now() > deadline) throw new InsightError('timeout', `CRDs not established: ${[...pending].join(', ')}`, { hint: 'Check the API server: `kubectl get crd ' + [...pending][0] + ' -o yaml`.' });
    report.progress(`waiting for ${pending.size} CRD(s) to be established`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Wait until the CRDs are Established and the entity collector's custom resource exists. */
export async function verifyInstall(kube: InstallKube, rendered: RenderedChart, values: Values, deadline: number, report: StepReporter): Promise<{ crds: string[]; customResource?: { name: string; present: boolean } }> {
  const crds = [...rendered.crdsDir, ...rendered.crdsTemplated];
  await waitEstablished(kube, crds, deadline, report);
  const hasCr = rendered.docs.some((d) => d.kind === CR.kind);
  if (!hasCr) return { crds };
  const clusterID = String(getPath(values, 'clusterID') ?? '');
  const name = rendered.docs.find((d) => d.kind === CR.kind)?.metadata?.name ?? CR.entityCollectorName(clusterID);
  try {
    await kubeCall({ verb: 'get', resource: `${CR.plural}.${CR.group}`, name }, () => kube.custom.getClusterCustomObject({ group: CR.group, version: CR.version, plural: CR.plural, name }), { idempotent: true }, kube.server);
  } catch (e) {
    if (e instanceof InsightError && e.kind === 'not-found') {
      throw new InsightError('failed', `the custom resource ${CR.kind} ${name} is missing after the install`, { hint: 'Run `kubectl insight doctor`; the chart should have created it.' });
    }
    throw e;
  }
  return { crds, customResource: { name, present: true } };
}

// ---------------------------------------------------------------------------------------------------
// Permissions

export interface AccessNeed {
  verb: string;
  group: string;
  resource: string;
  namespace?: string;
}

/** API group of an apiVersion (`apps/v1` → `apps`, `v1` → core ''). */
const groupOf = (apiVersion = '') => (apiVersion.includes('/') ? apiVersion.split('/')[0]! : '');
/**
 * The resource name of a kind, with the API server's own pluralisation rules (k8s.io/gengo namer):
 * NetworkPolicy → networkpolicies, Ingress → ingresses, Endpoints stays. Discovery would be exact but
 * costs a round trip per group; the chart only uses regular kinds.
 */
export function resourceOf(kind: string): string {
  const k = kind.toLowerCase();
  if (k === 'endpoints') return k;
  if (/[^aeiou]y$/.test(k)) return `${k.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/.test(k)) return `${k}es`;
  return `${k}s`;
}

/**
 * What helm will do to the cluster with these manifests: create (install) or create and patch
 * (upgrade) each kind, in the release namespace or cluster-wide; plus helm's own release records
 * (Secrets) and the namespace.
 */
export function accessNeeds(rendered: RenderedChart, namespace: string, verbs: readonly string[], opts: { createNamespace: boolean; skipCrds: boolean }): AccessNeed[] {
  const seen = new Map<string, AccessNeed>();
  const add = (n: AccessNeed) => seen.set(`${n.verb} ${n.group} ${n.resource} ${n.namespace ?? ''}`, n);
  const clusterScoped = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'PriorityClass', 'StorageClass', 'ClusterAliyunPipelineConfig']);
  for (const d of rendered.docs) {
    if (!d.kind) continue;
    if (d.kind === 'CustomResourceDefinition' && opts.skipCrds && !rendered.crdsTemplated.includes(d.metadata?.name ?? '')) continue;
    const ns = clusterScoped.has(d.kind) ? undefined : (d.metadata?.namespace ?? namespace);
    for (const verb of d.kind === 'CustomResourceDefinition' && !rendered.crdsTemplated.includes(d.metadata?.name ?? '') ? ['create'] : verbs) {
      add({ verb, group: groupOf(d.apiVersion), resource: resourceOf(d.kind), ...(ns ? { namespace: ns } : {}) });
    }
  }
  for (const verb of verbs) add({ verb, group: '', resource: 'secrets', namespace }); // helm's release records
  if (opts.createNamespace) add({ verb: 'create', group: '', resource: 'namespaces' });
  return [...seen.values()];
}

/** One SelfSubjectAccessReview per need; throws a forbidden error (exit 4) listing every denial. */
export async function checkAccess(kube: Pick<Kube, 'authz' | 'server'>, needs: readonly AccessNeed[]): Promise<void> {
  const denied: AccessNeed[] = [];
  await Promise.all(
    needs.map(async (n) => {
      const r = await kubeCall(
        { verb: 'create', resource: 'selfsubjectaccessreviews.authorization.k8s.io' },
        () => kube.authz.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { verb: n.verb, group: n.group, resource: n.resource, ...(n.namespace ? { namespace: n.namespace } : {}) } } } }),
        { idempotent: true },
        kube.server,
      );
      if (!r.status?.allowed) denied.push(n);
    }),
  );
  if (!denied.length) return;
  denied.sort((a, b) => `${a.group}/${a.resource}/${a.verb}`.localeCompare(`${b.group}/${b.resource}/${b.verb}`));
  const text = (n: AccessNeed) => `${n.verb} ${n.resource}${n.group ? `.${n.group}` : ''}${n.namespace ? ` in ${n.namespace}` : ''}`;
  const first = denied[0]!;
  throw new InsightError('forbidden', `forbidden: you cannot ${text(first)}${denied.length > 1 ? ` (and ${denied.length - 1} more: ${denied.slice(1, 4).map(text).join(', ')}${denied.length > 4 ? ', …' : ''})` : ''}`, {
    hint: `Ask a cluster admin for these permissions (\`kubectl insight preflight\` prints a ready-to-apply ClusterRole); check one with \`kubectl auth can-i ${first.verb} ${first.resource}${first.group ? `.${first.group}` : ''}${first.namespace ? ` -n ${first.namespace}` : ''}\`. Nothing was changed.`,
    details: { denied },
  });
}

/** Whether the namespace exists (helm --create-namespace creates it otherwise). */
export async function namespaceExists(kube: Pick<Kube, 'core' | 'server'>, name: string): Promise<boolean> {
  try {
    await kubeCall({ verb: 'get', resource: 'namespaces', name }, () => kube.core.readNamespace({ name }), { idempotent: true }, kube.server);
    return true;
  } catch (e) {
    if (e instanceof InsightError && e.kind === 'not-found') return false;
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------
// Existing releases

export interface ExistingRelease extends HelmRelease {
  /** Same release name and namespace as requested. */
  same: boolean;
}

/** Releases of this chart anywhere in the cluster (falls back to the namespace when listing all is forbidden). */
export async function findReleases(helm: InstallHelm, release: string, namespace: string): Promise<ExistingRelease[]> {
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

// ---------------------------------------------------------------------------------------------------
// Preflight gate

export interface PreflightRequest {
  mode: 'install' | 'upgrade';
  release: string;
  namespace: string;
  values: Values;
  signal?: AbortSignal;
  /** One line per finished check, for the progress display. */
  onProgress?: (line: string) => void;
}

/** Runs the preflight checks; the command wires it to src/checks/preflight (tests pass a fake). */
export type PreflightGate = (req: PreflightRequest) => Promise<Report>;

/** cms-vpc unreachable in Intranet mode: the one failure install can work around (seed Q2). */
const isCmsVpcFailure = (r: Report['results'][number]) => r.status === 'failed' && (r.id === 'network.cms' || /cms-vpc\./.test(r.object ?? '') || /cms-vpc\./.test(r.message));

export function cmsVpcUnreachable(report: Report): boolean {
  return report.results.some(isCmsVpcFailure);
}

export function fatalFindings(report: Report, ignoreCmsVpc: boolean): Report['results'] {
  return report.results.filter((r) => r.status === 'failed' && r.severity === 'fatal' && !(ignoreCmsVpc && isCmsVpcFailure(r)));
}

// ---------------------------------------------------------------------------------------------------
// The install action

export interface InstallOptions {
  release: string;
  namespace: string;
  /** The user's values, collected (src/actions/values.ts collectValues). */
  values: Values;
  chart: ChartSource;
  imageRegistry?: string;
  allowUnknownRegion?: boolean;
  /** The whole wait (rollout + verify). */
  timeoutMs: number;
  dryRun?: boolean;
  skipPreflight?: boolean;
  /** Install over a failed first install or an uninstalled release kept in history. */
  replace?: boolean;
  /** Install a chart whose name is not ours (a renamed fork). */
  force?: boolean;
  /** --yes: take the safe default without asking (disable alert-rule sync when cms-vpc is unreachable). */
  yes?: boolean;
  /** Ask the user; undefined when there is no TTY. */
  confirm?: (question: string) => Promise<boolean>;
}

export interface InstallDeps {
  helm: InstallHelm;
  /** Created on first use: validation runs before anything touches the cluster. */
  kube: () => InstallKube;
  preflight?: PreflightGate;
}

export interface InstallResult {
  release: string;
  namespace: string;
  chart: { name: string; version: string; appVersion?: string };
  dryRun: boolean;
  revision?: number;
  workloads: WorkloadStatus[];
  crds: CrdFinding[];
  customResource?: { name: string; present: boolean };
  alertRuleDisabled: boolean;
  preflight?: { passed: number; failed: number; warnings: number; skipped: boolean };
  notes: string[];
  /** --dry-run: the rendered manifests, secret redacted. */
  manifests?: string;
  /** --dry-run: the values that would be passed to helm, secret redacted. */
  values?: Values;
  durationMs: number;
}

export interface InstallContext {
  opts: InstallOptions;
  deps: InstallDeps;
  started: number;
  values: Values;
  kube?: InstallKube;
  replace: boolean;
  rendered?: RenderedChart;
  crds: CrdFinding[];
  alertRuleDisabled: boolean;
  preflight?: InstallResult['preflight'];
  notes: string[];
  workloads: WorkloadStatus[];
  customResource?: { name: string; present: boolean };
  revision?: number;
  kubeVersion?: string;
  /** Some CRD of the chart's crds/ exists already: helm skips crds/ and never sends an existing CRD. */
  skipCrds: boolean;
  /** crds/ CRDs that are absent while others exist: created by createAbsentCrds before helm runs. */
  crdsToCreate: string[];
}

export function newInstallContext(opts: InstallOptions, deps: InstallDeps): InstallContext {
  return { opts, deps, started: Date.now(), values: opts.values, replace: false, crds: [], alertRuleDisabled: false, notes: [], workloads: [], skipCrds: false, crdsToCreate: [] };
}

const kubeOf = (ctx: InstallContext): InstallKube => (ctx.kube ??= ctx.deps.kube());

/** Check that the API server answers and remember its version (helm template renders for it). */
export async function connect(ctx: { kube?: InstallKube; deps: { kube: () => InstallKube }; kubeVersion?: string }): Promise<void> {
  const kube = (ctx.kube ??= ctx.deps.kube());
  const v = await kubeCall({ verb: 'get', resource: 'version' }, () => kube.version.getCode(), { idempotent: true, attempts: 2 }, kube.server);
  ctx.kubeVersion = v.gitVersion;
}

/** Run the preflight gate; handles the cms-vpc case (ask, or --yes). Shared with upgrade. */
export async function gate(
  ctx: { deps: { preflight?: PreflightGate }; opts: { release: string; namespace: string; yes?: boolean; confirm?: (q: string) => Promise<boolean> }; values: Values; alertRuleDisabled: boolean; notes: string[]; preflight?: InstallResult['preflight'] },
  mode: 'install' | 'upgrade',
  report: StepReporter,
): Promise<void> {
  let done = 0;
  const r = await ctx.deps.preflight!({ mode, release: ctx.opts.release, namespace: ctx.opts.namespace, values: ctx.values, onProgress: (line) => report.progress(`${++done} checks done; ${line}`) });
  ctx.preflight = { passed: r.summary.passed, failed: r.summary.failed, warnings: r.summary.warnings, skipped: false };
  const intranet = getPath(ctx.values, 'net') === 'Intranet';
  const alertOn = getPath(ctx.values, 'operator.enableAlertRule') !== false;
  const vpc = intranet && alertOn && cmsVpcUnreachable(r);
  if (vpc) {
    const q = 'The cms-vpc endpoint is not reachable from the cluster, so alert-rule sync (operator.enableAlertRule) cannot work in Intranet mode. Install with alert-rule sync disabled?';
    const ok = ctx.opts.yes ? true : ctx.opts.confirm ? await ctx.opts.confirm(q) : undefined;
    if (ok === undefined) {
      throw new InsightError('aborted', 'cms-vpc is not reachable from the cluster in Intranet mode: alert-rule sync would fail', {
        hint: 'Re-run with --disable-alert-rule (or --yes to accept it), or open the route to cms-vpc (100.103.0.0/16).',
      });
    }
    if (!ok) throw new InsightError('aborted', 'install cancelled: cms-vpc is not reachable and alert-rule sync was kept on', { hint: 'Re-run with --disable-alert-rule, or fix the route to cms-vpc.' });
    setPath(ctx.values, 'operator.enableAlertRule', false);
    ctx.alertRuleDisabled = true;
    ctx.notes.push('cms-vpc is not reachable: alert-rule sync disabled (operator.enableAlertRule=false)');
  }
  const fatal = fatalFindings(r, ctx.alertRuleDisabled);
  if (fatal.length) {
    const f = fatal[0]!;
    throw new InsightError('failed', `preflight failed: ${fatal.map((x) => `${x.id}: ${x.message}`).join('; ')}`, {
      hint: `${f.hint ?? `See \`kubectl insight preflight\` for details.`} Fix it, or pass --skip-preflight to install anyway. Nothing was changed.`,
      details: { preflight: fatal.map((x) => ({ id: x.id, message: x.message, hint: x.hint, object: x.object })) },
    });
  }
  report.title(`Preflight: ${r.summary.passed} passed, ${r.summary.warnings} warning(s)`);
}

export function installSteps(): Step<InstallContext>[] {
  return [
    // Validation first: a typo must cost nothing and touch nothing.
    {
      title: 'Validate the values',
      async run(ctx) {
        checkChartSource(ctx.opts.chart);
        ctx.values = validateValues(ctx.values, { allowUnknownRegion: ctx.opts.allowUnknownRegion, release: ctx.opts.release, namespace: ctx.opts.namespace });
      },
    },
    // helm and the cluster before preflight: preflight needs both, and an existing release ends it here.
    {
      title: 'Check helm and the cluster',
      async run(ctx, report) {
        const hv = await ctx.deps.helm.version();
        await connect(ctx);
        const existing = await findReleases(ctx.deps.helm, ctx.opts.release, ctx.opts.namespace);
        ctx.replace = judgeExisting(existing, { release: ctx.opts.release, namespace: ctx.opts.namespace, replace: Boolean(ctx.opts.replace) }) === 'replace';
        report.title(`Cluster ${ctx.kubeVersion ?? ''} reachable, helm ${hv}, no release of the chart yet`.replace('  ', ' '));
      },
    },
    {
      title: 'Run preflight checks',
      skip: (ctx) => (ctx.opts.skipPreflight ? 'skipped (--skip-preflight)' : ctx.opts.dryRun ? 'skipped in --dry-run (run `kubectl insight preflight`)' : !ctx.deps.preflight ? 'not available' : false),
      async run(ctx, report) {
        await gate(ctx, 'install', report);
      },
    },
    // Render before installing: the chart's own validation fails here, and we learn the workloads and CRDs.
    {
      title: 'Render the chart',
      async run(ctx, report) {
        const helm = ctx.deps.helm;
        if (ctx.opts.imageRegistry) {
          const defaults = await chartDefaults(helm, ctx.opts.chart);
          ctx.values = mergeValues(ctx.values, rewriteImageRegistry(defaults, ctx.values, ctx.opts.imageRegistry));
        }
        ctx.rendered = await renderChart(helm, ctx.opts.chart, ctx.opts.release, ctx.opts.namespace, ctx.values, ctx.kubeVersion);
        checkTargetChart(ctx.rendered.chart.name, Boolean(ctx.opts.force));
        ctx.crds = await inspectCrds(kubeOf(ctx), ctx.rendered, ctx.opts.release, ctx.opts.namespace);
        const blocked = ctx.crds.filter((c) => c.managedBy === 'template' && (c.state === 'foreign' || c.state === 'unmanaged'));
        if (blocked.length) {
          // helm would fail on ownership, or worse, adopt another release's CRD: stop before changing anything.
          throw new InsightError('conflict', `the chart manages CRD ${blocked.map((c) => c.name).join(', ')} in its templates, but ${blocked.length > 1 ? 'they already exist' : 'it already exists'} (${blocked[0]!.owner ?? 'not from helm'})`, {
            hint: 'Installing would take them over from their owner. Disable the chart\'s copy (see the chart\'s values for a CRD switch) or install into a cluster without them. Nothing was changed.',
          });
        }
        ctx.notes.push(...crdNotes(ctx.crds));
        report.title(`Rendered ${ctx.rendered.chart.name} ${ctx.rendered.chart.version}: ${ctx.rendered.workloads.length} workloads, ${ctx.rendered.docs.length} objects`);
      },
    },
    // Permissions before helm: a 403 half-way through would leave a failed release and partial objects.
    {
      title: 'Check permissions',
      async run(ctx, report) {
        const kube = kubeOf(ctx);
        const fromDir = ctx.crds.filter((c) => c.managedBy === 'crds-dir');
        ctx.skipCrds = fromDir.some((c) => c.state !== 'absent');
        ctx.crdsToCreate = ctx.skipCrds ? fromDir.filter((c) => c.state === 'absent').map((c) => c.name) : [];
        const needs = accessNeeds(ctx.rendered!, ctx.opts.namespace, ['create'], { createNamespace: !(await namespaceExists(kube, ctx.opts.namespace)), skipCrds: ctx.skipCrds && ctx.crdsToCreate.length === 0 });
        await checkAccess(kube, needs);
        report.title(`Permissions: all ${needs.length} create rights granted`);
      },
    },
    {
      title: 'Install the chart',
      skip: (ctx) => (ctx.opts.dryRun ? 'skipped (--dry-run)' : false),
      async run(ctx, report) {
        // Existing crds/ CRDs must never reach helm: helm 3 asks to create each (a 403 for nothing without
        // CRD rights), helm 4 applies each server-side (another owner's CRD changed or a conflict).
        if (ctx.crdsToCreate.length) {
          report.progress(`creating ${ctx.crdsToCreate.length} absent CRD(s) of the chart's crds/`);
          const made = await createAbsentCrds(kubeOf(ctx), ctx.rendered!, ctx.crds, ctx.started + ctx.opts.timeoutMs, report);
          if (made.length) ctx.notes.push(`created CRD ${made.join(', ')} (the others of crds/ existed and were left untouched)`);
        }
        await ctx.deps.helm.install({
          release: ctx.opts.release,
          namespace: ctx.opts.namespace,
          chart: chartArgs(ctx.opts.chart),
          timeoutMs: ctx.opts.timeoutMs,
          values: ctx.values,
          replace: ctx.replace,
          skipCrds: ctx.skipCrds,
        });
        const rel = (await ctx.deps.helm.list(ctx.opts.namespace)).find((r) => r.name === ctx.opts.release);
        ctx.revision = rel?.revision;
        // An uninstall of this release that stopped half-way is over now: its namespace mark goes.
        await clearUninstallMark(kubeOf(ctx), ctx.opts.namespace, ctx.opts.release);
        report.title(`Installed release ${ctx.opts.release} (revision ${ctx.revision ?? 1})`);
      },
    },
    {
      title: 'Wait for the workloads to roll out',
      skip: (ctx) => (ctx.opts.dryRun ? 'skipped (--dry-run)' : false),
      async run(ctx, report) {
        const refs = ctx.rendered!.workloads;
        const left = ctx.opts.timeoutMs - (Date.now() - ctx.started);
        try {
          ctx.workloads = await waitForRollout(kubeOf(ctx), refs, {
            timeoutMs: Math.max(left, 1000),
            totalTimeoutMs: ctx.opts.timeoutMs,
            onProgress: (s) => report.progress(`${s.filter((x) => x.ready).length}/${s.length} ready: ${s.filter((x) => !x.ready).map((x) => `${x.name} ${x.message}`).join('; ') || 'done'}`),
            ...(ctx.opts.imageRegistry ? {} : { imageRegistryFlag: '--image-registry' }),
          });
        } catch (e) {
          // The release stays (helm recorded it): say so, so the next step is upgrade or uninstall, not install.
          if (e instanceof InsightError && e.kind === 'timeout') {
            const where = `-n ${ctx.opts.namespace}${ctx.opts.release !== CHART.release ? ` --release ${ctx.opts.release}` : ''}`;
            throw new InsightError('timeout', `installed, but ${e.message}`, {
              hint: `${e.hint ?? ''} The release is in place: after fixing the cause run \`kubectl insight upgrade ${where}\` (or \`kubectl insight uninstall ${where}\`).`.trim(),
              details: e.details,
            });
          }
          throw e;
        }
        report.title(`${ctx.workloads.length} workloads ready`);
      },
    },
    {
      title: 'Verify CRDs and the custom resource',
      skip: (ctx) => (ctx.opts.dryRun ? 'skipped (--dry-run)' : false),
      async run(ctx, report) {
        const deadline = ctx.started + ctx.opts.timeoutMs + 30_000;
        const v = await verifyInstall(kubeOf(ctx), ctx.rendered!, ctx.values, deadline, report);
        if (v.customResource) ctx.customResource = v.customResource;
        report.title(`${v.crds.length} CRDs established${v.customResource ? `, ${CR.kind} ${v.customResource.name} present` : ''}`);
      },
    },
  ];
}

export function installResult(ctx: InstallContext): InstallResult {
  const dry = Boolean(ctx.opts.dryRun);
  const secrets = secretsIn(ctx.values);
  return {
    release: ctx.opts.release,
    namespace: ctx.opts.namespace,
    chart: ctx.rendered?.chart ?? { name: CHART.name, version: ctx.opts.chart.version ?? '' },
    dryRun: dry,
    ...(ctx.revision !== undefined ? { revision: ctx.revision } : {}),
    workloads: ctx.workloads,
    crds: ctx.crds,
    ...(ctx.customResource ? { customResource: ctx.customResource } : {}),
    alertRuleDisabled: ctx.alertRuleDisabled,
    ...(ctx.preflight ? { preflight: ctx.preflight } : {}),
    notes: ctx.notes,
    ...(dry && ctx.rendered ? { manifests: redactManifests(ctx.rendered.manifests, secrets), values: displayValues(ctx.values) } : {}),
    durationMs: Date.now() - ctx.started,
  };
}

/** Run install without UI (tests, library use). */
export async function install(opts: InstallOptions, deps: InstallDeps, report?: StepReporter): Promise<InstallResult> {
  const { runSteps } = await import('./steps.js');
  const ctx = newInstallContext(opts, deps);
  await runSteps(installSteps(), ctx, report);
  return installResult(ctx);
}


