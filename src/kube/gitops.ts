/**
 * Is a GitOps controller managing the release? An Argo CD Application or a Flux HelmRelease that
 * targets it puts back whatever upgrade or uninstall changes, so both refuse (without --force) and say
 * how to suspend it. The judging is pure (plain objects in, findings out); `readGitOps` only reads.
 */
import type { Kube } from './client.js';
import { isNotFound, statusCode } from './errors.js';
import { InsightError } from '../errors.js';
import { CHART } from '../defaults.js';
import { judgeRelease, type ReleaseFacts } from '../helm/release-state.js';

export type GitOpsTool = 'argocd' | 'flux';

/**
 * refuse: it syncs on its own and would revert or reinstall; warn: it manages the release but does not
 * sync on its own (Argo CD without auto-sync); info: suspended (Flux), nothing happens until resumed.
 */
export type GitOpsLevel = 'refuse' | 'warn' | 'info';

export interface GitOpsManager {
  tool: GitOpsTool;
  kind: 'Application' | 'HelmRelease';
  /** The managing object's namespace; undefined when only a live mark names it and that does not say. */
  namespace?: string;
  name: string;
  level: GitOpsLevel;
  /** How it was found: "targets chart X in namespace Y", "Deployment ns/x carries its tracking id". */
  why: string;
  /** Found as the managing object itself, or only as a mark on a live object (it may no longer exist). */
  source: 'object' | 'mark';
  /** The one command that stops it from syncing. */
  suspend: string;
}

export interface GitOpsFinding {
  managers: GitOpsManager[];
  /** What could not be checked ("could not check for Argo CD/Flux: ..."); never a refusal. */
  warnings: string[];
}

export interface GitOpsTarget {
  release: string;
  namespace: string;
  /** Chart names that count as this release's (ours, and the one helm recorded). */
  charts: readonly string[];
}

/** The target for a release: our chart's name, and the one helm recorded for it (a fork's). */
export function gitopsTargetOf(release: string, namespace: string, rel: ReleaseFacts | undefined): GitOpsTarget {
  return { release, namespace, charts: [...new Set([CHART.name, (rel ? judgeRelease(rel).chartName : undefined) ?? CHART.name])] };
}

/** The few fields of an object we read; everything optional, since CRD objects are untyped. */
export interface Obj {
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: unknown;
}

export const ARGO = { group: 'argoproj.io', version: 'v1alpha1', plural: 'applications', kind: 'Application' } as const;
export const FLUX = { group: 'helm.toolkit.fluxcd.io', versions: ['v2', 'v2beta2', 'v2beta1'], plural: 'helmreleases', kind: 'HelmRelease' } as const;
export const ARGO_TRACKING_ID = 'argocd.argoproj.io/tracking-id';
export const ARGO_INSTANCE = 'argocd.argoproj.io/instance';
export const FLUX_NAME = 'helm.toolkit.fluxcd.io/name';
export const FLUX_NAMESPACE = 'helm.toolkit.fluxcd.io/namespace';
/** Where Argo CD runs by default: the guess when a tracking mark does not name the Application's namespace. */
const ARGO_DEFAULT_NAMESPACE = 'argocd';

const rec = (x: unknown): Record<string, unknown> => (x && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>) : {});
const str = (x: unknown): string | undefined => (typeof x === 'string' && x !== '' ? x : undefined);

export function argoSuspend(namespace: string, name: string): string {
  return `kubectl -n ${namespace} patch applications.argoproj.io ${name} --type merge -p '{"spec":{"syncPolicy":{"automated":null}}}'`;
}

export function fluxSuspend(namespace: string, name: string): string {
  return `flux suspend helmrelease ${name} -n ${namespace}`;
}

// ---------------------------------------------------------------------------------------------------
// Argo CD

/** The Application's sources: `spec.source` and every `spec.sources[]`. */
export function argoSources(app: Obj): Array<Record<string, unknown>> {
  const spec = rec(app.spec);
  const many = Array.isArray(spec.sources) ? spec.sources.map(rec) : [];
  return [...(spec.source ? [rec(spec.source)] : []), ...many];
}

/** A chart from a Helm repository names it in `chart`; one from git is the last part of `path`. */
function sourceChart(src: Record<string, unknown>): string | undefined {
  return str(src.chart) ?? str(src.path)?.replace(/\/+$/, '').split('/').pop();
}

/** Does this Application deploy our release? Destination namespace, and chart or release name. */
export function argoTargets(app: Obj, t: GitOpsTarget): boolean {
  const dest = str(rec(rec(app.spec).destination).namespace);
  if (dest !== t.namespace) return false;
  return argoSources(app).some((src) => {
    // Without helm.releaseName, Argo CD renders the chart with the Application's name as the release name.
    const releaseName = str(rec(src.helm).releaseName) ?? app.metadata?.name;
    const chart = sourceChart(src);
    return releaseName === t.release || (chart !== undefined && t.charts.includes(chart));
  });
}

/**
 * Whether the Application deploys to the cluster it lives in (`https://kubernetes.default.svc`, the
 * `in-cluster` name, or no destination cluster given); otherwise it may be another cluster's.
 */
export function argoInCluster(app: Obj): boolean {
  const d = rec(rec(app.spec).destination);
  const server = str(d.server)?.replace(/\/+$/, '');
  const name = str(d.name);
  if (name !== undefined) return name === 'in-cluster';
  return server === undefined || server === 'https://kubernetes.default.svc';
}

/** Auto-sync is on: `spec.syncPolicy.automated` is set (and not `enabled: false`, Argo CD 3's switch). */
export function argoAutomated(app: Obj): boolean {
  const automated = rec(rec(app.spec).syncPolicy).automated;
  if (automated === undefined || automated === null) return false;
  return rec(automated).enabled !== false;
}

export interface TrackingId {
  app: string;
  /** Set when the id is `<namespace>_<name>` (Applications outside Argo CD's own namespace). */
  appNamespace?: string;
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

/** `<app>:<group>/<kind>:<namespace>/<name>`; the group is empty for core kinds. */
export function parseTrackingId(id: string | undefined): TrackingId | undefined {
  const m = /^([^:]+):([^/:]*)\/([^:]+):([^/]*)\/(.+)$/.exec(id ?? '');
  if (!m) return undefined;
  const [, appPart, group, kind, namespace, name] = m as unknown as [string, string, string, string, string, string];
  const i = appPart.indexOf('_');
  const app = i > 0 ? { appNamespace: appPart.slice(0, i), app: appPart.slice(i + 1) } : { app: appPart };
  return { ...app, group, kind, namespace, name };
}

// ---------------------------------------------------------------------------------------------------
// Flux

/** helm-controller's release name: spec.releaseName, else `<targetNamespace>-<name>`, else the name. */
export function fluxReleaseName(hr: Obj): string | undefined {
  const spec = rec(hr.spec);
  const name = hr.metadata?.name;
  const target = str(spec.targetNamespace);
  return str(spec.releaseName) ?? (target && name ? `${target}-${name}` : name);
}

/** Where helm-controller keeps the release: storageNamespace, else the HelmRelease's own namespace. */
export function fluxReleaseNamespace(hr: Obj): string | undefined {
  return str(rec(hr.spec).storageNamespace) ?? hr.metadata?.namespace;
}

/** The release by name, kept in our namespace, or with its objects there (targetNamespace): either way ours. */
export function fluxTargets(hr: Obj, t: GitOpsTarget): boolean {
  if (fluxReleaseName(hr) !== t.release) return false;
  return fluxReleaseNamespace(hr) === t.namespace || str(rec(hr.spec).targetNamespace) === t.namespace;
}

/** A HelmRelease with spec.kubeConfig deploys to another cluster. */
export const fluxRemote = (hr: Obj): boolean => rec(hr.spec).kubeConfig !== undefined && rec(hr.spec).kubeConfig !== null;

export const fluxSuspended = (hr: Obj): boolean => rec(hr.spec).suspend === true;

// ---------------------------------------------------------------------------------------------------
// Judging

export interface GitOpsFacts {
  /** Every Application that could be listed (all namespaces). */
  applications: readonly Obj[];
  /** Every HelmRelease that could be listed (all namespaces). */
  helmReleases: readonly Obj[];
  /** A few of the release's live objects (its Deployments and DaemonSets), with labels and annotations. */
  liveObjects: readonly Obj[];
}

const objLabel = (o: Obj) => `${o.kind ?? 'object'} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name ?? '?'}`;

/** Every GitOps object that manages the release, once each; the managing objects found win over marks. */
export function judgeGitOps(facts: GitOpsFacts, t: GitOpsTarget): GitOpsManager[] {
  const out: GitOpsManager[] = [];
  const seen = (tool: GitOpsTool, ns: string | undefined, name: string) =>
    out.some((m) => m.tool === tool && m.name === name && (ns === undefined || m.namespace === undefined || m.namespace === ns));
  for (const app of facts.applications) {
    const name = app.metadata?.name;
    const ns = app.metadata?.namespace ?? ARGO_DEFAULT_NAMESPACE;
    if (!name || !argoTargets(app, t)) continue;
    const auto = argoAutomated(app);
    // Another cluster's destination with the same namespace and chart: said, never a refusal here.
    const remote = !argoInCluster(app);
    out.push({
      tool: 'argocd', kind: 'Application', namespace: ns, name, level: auto && !remote ? 'refuse' : 'warn', source: 'object',
      why: remote
        ? `targets release ${t.release} in namespace ${t.namespace} on destination ${str(rec(rec(app.spec).destination).name) ?? str(rec(rec(app.spec).destination).server)}, which may be another cluster`
        : `targets release ${t.release} in namespace ${t.namespace}${auto ? ' with auto-sync on' : '; auto-sync is off, so it changes nothing until someone syncs it'}`,
      suspend: argoSuspend(ns, name),
    });
  }
  for (const hr of facts.helmReleases) {
    const name = hr.metadata?.name;
    const ns = hr.metadata?.namespace;
    if (!name || !ns || !fluxTargets(hr, t)) continue;
    const suspended = fluxSuspended(hr);
    const remote = fluxRemote(hr);
    out.push({
      tool: 'flux', kind: 'HelmRelease', namespace: ns, name, level: suspended ? 'info' : remote ? 'warn' : 'refuse', source: 'object',
      why: remote
        ? `has release name ${t.release} but deploys to another cluster (spec.kubeConfig)`
        : `is helm-controller's release ${t.namespace}/${t.release}${suspended ? '; it is suspended, so nothing is reconciled until it is resumed' : ''}`,
      suspend: fluxSuspend(ns, name),
    });
  }
  // Marks on live objects: the managing object may live where we cannot list (another cluster, a namespace we cannot read).
  for (const o of facts.liveObjects) {
    const labels = o.metadata?.labels ?? {};
    const tid = parseTrackingId(o.metadata?.annotations?.[ARGO_TRACKING_ID]);
    const argoApp = tid ? { name: tid.app, namespace: tid.appNamespace } : labels[ARGO_INSTANCE] ? { name: labels[ARGO_INSTANCE], namespace: undefined } : undefined;
    if (argoApp && !seen('argocd', argoApp.namespace, argoApp.name)) {
      const ns = argoApp.namespace ?? ARGO_DEFAULT_NAMESPACE;
      out.push({
        tool: 'argocd', kind: 'Application', ...(argoApp.namespace ? { namespace: argoApp.namespace } : {}), name: argoApp.name, level: 'refuse', source: 'mark',
        why: `${objLabel(o)} carries its ${tid ? 'tracking id' : `${ARGO_INSTANCE} label`}`,
        suspend: argoSuspend(ns, argoApp.name),
      });
    }
    const fluxName = labels[FLUX_NAME];
    const fluxNs = labels[FLUX_NAMESPACE];
    if (fluxName && fluxNs && !seen('flux', fluxNs, fluxName)) {
      out.push({ tool: 'flux', kind: 'HelmRelease', namespace: fluxNs, name: fluxName, level: 'refuse', source: 'mark', why: `${objLabel(o)} carries its ${FLUX_NAME} labels`, suspend: fluxSuspend(fluxNs, fluxName) });
    }
  }
  return out;
}

const TOOL_NAME: Record<GitOpsTool, string> = { argocd: 'Argo CD', flux: 'Flux' };

/** `Argo CD Application argocd/insight`. */
export function managerLabel(m: GitOpsManager): string {
  return `${TOOL_NAME[m.tool]} ${m.kind} ${m.namespace ? `${m.namespace}/` : ''}${m.name}`;
}

export type GitOpsAction = 'upgrade' | 'uninstall';

const UNDO: Record<GitOpsAction, string> = { upgrade: 'revert the upgrade', uninstall: 'reinstall what uninstall removes' };

/** The refusal, when something syncs the release on its own; undefined when nothing does. */
export function gitopsRefusal(managers: readonly GitOpsManager[], t: Pick<GitOpsTarget, 'release' | 'namespace'>, action: GitOpsAction): { message: string; hint: string } | undefined {
  const active = managers.filter((m) => m.level === 'refuse');
  if (!active.length) return undefined;
  const [first] = active as [GitOpsManager, ...GitOpsManager[]];
  const more = active.length > 1 ? ` (and ${active.slice(1).map(managerLabel).join(', ')})` : '';
  const markOnly = active.some((m) => m.source === 'mark');
  return {
    message: `release ${t.namespace}/${t.release} is managed by ${managerLabel(first)}${more} (${first.why}): it would ${UNDO[action]}`,
    hint: `Suspend it first: ${active.map((m) => `\`${m.suspend}\``).join(' and ')}; or add --force to ${action} anyway${markOnly ? ' (also if that object no longer exists)' : ''}. Nothing was changed.`,
  };
}

/**
 * One line per manager (a refusing one only reaches here when --force overrode it), and the
 * could-not-check warnings. Empty when there is nothing to say.
 */
export function gitopsNotes(f: GitOpsFinding, action: GitOpsAction): string[] {
  const lines = f.managers.map((m) => {
    if (m.level === 'refuse') return `warning: managed by ${managerLabel(m)} (${m.why}); going ahead because of --force: it may ${UNDO[action]}`;
    if (m.level === 'warn') return `warning: managed by ${managerLabel(m)} (${m.why}); turn it off for good with \`${m.suspend}\``;
    return `managed by ${managerLabel(m)} (${m.why})`;
  });
  return [...lines, ...f.warnings.map((w) => `warning: ${w}`)];
}

/** A one-line summary for the step's title. */
export function gitopsSummary(f: GitOpsFinding): string {
  if (!f.managers.length) return f.warnings.length ? 'GitOps controllers: could not check (see the warning)' : 'No Argo CD Application or Flux HelmRelease manages the release';
  return `Managed by ${f.managers.map((m) => `${managerLabel(m)}${m.level === 'refuse' ? '' : m.level === 'warn' ? ' (auto-sync off)' : ' (suspended)'}`).join(', ')}`;
}

// ---------------------------------------------------------------------------------------------------
// Reading

export type GitOpsKube = Pick<Kube, 'objects' | 'apps'>;

/** Why a call failed, in one line, without the response body (which can be long). */
function reason(e: unknown): string {
  const code = statusCode(e);
  if (code === 403) return 'permission denied (403)';
  if (code !== undefined) return `the API server answered ${code}`;
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}

const notServed = (e: unknown) => isNotFound(e) || (e instanceof Error && e.message.startsWith('Unrecognized API version and kind'));

/**
 * Every object of the kind, from the first of `versions` the server serves; none when it serves none.
 * The client asks discovery first (open to every user), so a type that does not exist is a 404, never a
 * 403 for a user without list rights: that must stay silent.
 */
export async function listServed(kube: Pick<Kube, 'objects'>, group: string, versions: readonly string[], kind: string): Promise<Obj[]> {
  for (const v of versions) {
    try {
      return (await kube.objects.list(`${group}/${v}`, kind)).items ?? [];
    } catch (e) {
      if (notServed(e)) continue;
      throw e;
    }
  }
  return [];
}

/** Deployments and DaemonSets named in the release manifest: where the tracking marks are. A few are enough. */
export function liveRefs(docs: readonly Obj[], namespace: string, max = 4): Array<{ kind: 'Deployment' | 'DaemonSet'; namespace: string; name: string }> {
  const out: Array<{ kind: 'Deployment' | 'DaemonSet'; namespace: string; name: string }> = [];
  for (const d of docs) {
    if ((d.kind === 'Deployment' || d.kind === 'DaemonSet') && d.metadata?.name && (d.metadata.namespace ?? namespace) === namespace) out.push({ kind: d.kind, namespace, name: d.metadata.name });
  }
  return out.slice(0, max);
}

async function readLive(kube: GitOpsKube, refs: ReturnType<typeof liveRefs>): Promise<Obj[]> {
  const read = async (r: (typeof refs)[number]): Promise<Obj | undefined> => {
    try {
      const o = r.kind === 'Deployment' ? await kube.apps.readNamespacedDeployment({ name: r.name, namespace: r.namespace }) : await kube.apps.readNamespacedDaemonSet({ name: r.name, namespace: r.namespace });
      return { kind: r.kind, metadata: o.metadata };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  return (await Promise.all(refs.map(read))).filter((o): o is Obj => o !== undefined);
}

/**
 * Read what the judging needs. Never throws for the cluster's answers: a failed read becomes a warning,
 * since not being able to look is no reason to stop (and no CRD means nothing to find, silently).
 */
export async function readGitOps(kube: GitOpsKube, t: GitOpsTarget, manifestDocs: readonly Obj[]): Promise<GitOpsFinding> {
  const warnings: string[] = [];
  const attempt = async <T>(what: string, fn: () => Promise<T[]>): Promise<T[]> => {
    try {
      return await fn();
    } catch (e) {
      warnings.push(`could not check for ${what}: ${reason(e)}`);
      return [];
    }
  };
  const [applications, helmReleases, liveObjects] = await Promise.all([
    attempt('Argo CD', () => listServed(kube, ARGO.group, [ARGO.version], ARGO.kind)),
    attempt('Flux', () => listServed(kube, FLUX.group, FLUX.versions, FLUX.kind)),
    attempt('Argo CD/Flux', () => readLive(kube, liveRefs(manifestDocs, t.namespace))),
  ]);
  return { managers: judgeGitOps({ applications, helmReleases, liveObjects }, t), warnings };
}

/**
 * The check as upgrade and uninstall run it, right before they change anything: read, then refuse when
 * something syncs the release on its own, unless --force. Returns the finding for the notes.
 */
export async function gitopsGate(kube: GitOpsKube, t: GitOpsTarget, manifestDocs: readonly Obj[], action: GitOpsAction, force: boolean): Promise<GitOpsFinding> {
  const f = await readGitOps(kube, t, manifestDocs);
  const refusal = gitopsRefusal(f.managers, t, action);
  if (refusal && !force) {
    throw new InsightError('conflict', refusal.message, { hint: refusal.hint, details: { gitops: f.managers } });
  }
  return f;
}
