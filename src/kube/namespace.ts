/**
 * May this namespace be deleted? Deleting a namespace deletes everything in it, of every kind, so the
 * answer is yes only when every object of every namespaced resource type the API server serves (found by
 * discovery, not a fixed list of kinds) belongs to the release, apart from what Kubernetes puts in every
 * namespace. Any doubt (a type we may not list, an object of unknown owner) keeps the namespace.
 * uninstall asks in its plan and again right before it deletes.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import pLimit from 'p-limit';
import { isNotFound } from './errors.js';
import { isOurs, type Installation, type ObjectMetaLike } from './ownership.js';

export interface NamespaceObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMetaLike & { uid?: string; ownerReferences?: Array<{ uid?: string; kind?: string; name?: string }> };
}

export interface NamespaceVerdict {
  deletable: boolean;
  /** Objects that are not the release's, `Kind name`. */
  foreign: string[];
  /** Resource types that could not be listed (deleting would destroy what we could not see). */
  unlisted: string[];
  /** Objects of the release still there (deleting the namespace removes them too). */
  ours: number;
}

/** What every namespace has, whoever made it: not a reason to keep it. */
function isBuiltin(o: NamespaceObject): boolean {
  const name = o.metadata.name;
  if (o.kind === 'Event') return true;
  if (o.kind === 'ServiceAccount' && name === 'default') return true;
  if (o.kind === 'ConfigMap' && name === 'kube-root-ca.crt') return true;
  return false;
}

/**
 * The verdict on a namespace's contents (pure). Objects are the release's when `isOurs` says so, when
 * they are helm's storage of this release, when a chain of ownerReferences leads to one of ours
 * (ReplicaSets, pods, EndpointSlices, ControllerRevisions), or when they are the Endpoints of our Service.
 */
export function judgeNamespace(objects: readonly NamespaceObject[], inst: Installation, unlisted: readonly string[]): NamespaceVerdict {
  const ours = new Set<NamespaceObject>();
  for (const o of objects) {
    const l = o.metadata.labels ?? {};
    const helmStorage = (o.kind === 'Secret' || o.kind === 'ConfigMap') && l['owner'] === 'helm' && l['name'] === inst.release;
    // helm leaves `helm.sh/resource-policy: keep` objects behind on purpose: someone wants them kept.
    const kept = o.metadata.annotations?.['helm.sh/resource-policy'] === 'keep';
    if (helmStorage || (isOurs(o.metadata, inst) && !kept)) ours.add(o);
  }
  // Follow ownerReferences to a fixpoint: a pod of a ReplicaSet of our Deployment is ours.
  for (let changed = true; changed; ) {
    changed = false;
    const uids = new Set([...ours].map((o) => o.metadata.uid).filter(Boolean));
    for (const o of objects) {
      if (ours.has(o)) continue;
      if ((o.metadata.ownerReferences ?? []).some((r) => r.uid && uids.has(r.uid))) {
        ours.add(o);
        changed = true;
      }
    }
  }
  const ourServices = new Set([...ours].filter((o) => o.kind === 'Service').map((o) => o.metadata.name));
  const foreign: string[] = [];
  for (const o of objects) {
    if (ours.has(o) || isBuiltin(o)) continue;
    if (o.kind === 'Endpoints' && ourServices.has(o.metadata.name)) continue;
    foreign.push(`${o.kind} ${o.metadata.name ?? '?'}`);
  }
  return { deletable: foreign.length === 0 && unlisted.length === 0, foreign, unlisted: [...unlisted], ours: ours.size };
}

/** The reads the rule needs (src/kube/proxy.ts ApiClient). */
export interface DiscoveryApi {
  getJson<T>(path: string): Promise<T>;
  list<T>(path: string): Promise<T[]>;
}

interface ResourceList {
  groupVersion: string;
  resources: Array<{ name: string; kind: string; namespaced: boolean; verbs: string[] }>;
}

/** Every namespaced, listable resource type the API server serves (preferred version of each group). */
export async function namespacedTypes(api: DiscoveryApi, unlistedGroups: string[] = []): Promise<Array<{ path: string; apiVersion: string; kind: string; resource: string }>> {
  const lists: ResourceList[] = [await api.getJson<ResourceList>('/api/v1')];
  const groups = await api.getJson<{ groups: Array<{ preferredVersion?: { groupVersion: string }; versions: Array<{ groupVersion: string }> }> }>('/apis');
  const limit = pLimit(8);
  // Every version of every group, preferred first: a kind may be served only in an older version
  // (kube-prometheus-stack's AlertmanagerConfig is v1alpha1 only) and must still be seen.
  const versions = groups.groups.flatMap((g) => {
    const all = g.versions.map((v) => v.groupVersion);
    const pref = g.preferredVersion?.groupVersion;
    return pref ? [pref, ...all.filter((v) => v !== pref)] : all;
  });
  const fetched = new Map<string, ResourceList>();
  await Promise.all(
    versions.map((gv) =>
      limit(async () => {
        try {
          fetched.set(gv, await api.getJson<ResourceList>(`/apis/${gv}`));
        } catch (e) {
          // An aggregated API that does not answer: its kinds cannot be seen, so they count as unlisted.
          unlistedGroups.push(`${gv} (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
        }
      }),
    ),
  );
  for (const gv of versions) if (fetched.has(gv)) lists.push(fetched.get(gv)!);
  const out: Array<{ path: string; apiVersion: string; kind: string; resource: string }> = [];
  const seen = new Set<string>();
  for (const l of lists) {
    const base = l.groupVersion === 'v1' ? '/api/v1' : `/apis/${l.groupVersion}`;
    const group = l.groupVersion.includes('/') ? l.groupVersion.split('/')[0]! : '';
    for (const r of l.resources ?? []) {
      if (!r.namespaced || r.name.includes('/') || !r.verbs.includes('list')) continue;
      // Each resource of a group once, in the first (preferred) version that serves it.
      const key = `${group}/${r.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ path: `${base}/namespaces/{ns}/${r.name}`, apiVersion: l.groupVersion, kind: r.kind, resource: r.name });
    }
  }
  return out;
}

/** Lists everything in the namespace and judges it. */
export async function inspectNamespace(api: DiscoveryApi, namespace: string, inst: Installation): Promise<NamespaceVerdict> {
  const unlisted: string[] = [];
  const types = await namespacedTypes(api, unlisted);
  const limit = pLimit(8);
  const objects: NamespaceObject[] = [];
  await Promise.all(
    types.map((t) =>
      limit(async () => {
        if (t.kind === 'Event') return; // never a reason to keep, and often thousands
        try {
          const items = await api.list<Omit<NamespaceObject, 'kind' | 'apiVersion'>>(t.path.replace('{ns}', encodeURIComponent(namespace)));
          for (const i of items) objects.push({ apiVersion: t.apiVersion, kind: t.kind, metadata: i.metadata ?? {} });
        } catch (e) {
          if (isNotFound(e)) return; // the type went away meanwhile
          unlisted.push(`${t.resource}${t.apiVersion === 'v1' ? '' : `.${t.apiVersion.split('/')[0]}`} (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
        }
      }),
    ),
  );
  return judgeNamespace(objects, inst, unlisted);
}

/**
 * Set by uninstall before its first destructive step: "release <name> was in this namespace", so a re-run
 * after helm's part is done may still delete the namespace. A new install there ends that uninstall.
 */
export const NAMESPACE_MARK = 'kubectl-insight/uninstalling-release';

type NamespacePatcher = {
  core: {
    readNamespace(req: { name: string }): Promise<{ metadata?: ObjectMetaLike }>;
    patchNamespace(req: { name: string; body: object }, opts?: never): Promise<unknown>;
  };
};

export function uninstallMarkOf(ns: ObjectMetaLike | undefined): string | undefined {
  return ns?.annotations?.[NAMESPACE_MARK];
}

/**
 * Removes this release's mark, if the namespace has it; best effort (without the mark a later uninstall
 * can only keep the namespace, never delete more).
 */
export async function clearUninstallMark(kube: NamespacePatcher, namespace: string, release: string): Promise<void> {
  try {
    const ns = await kube.core.readNamespace({ name: namespace });
    if (uninstallMarkOf(ns.metadata) !== release) return;
    await kube.core.patchNamespace({ name: namespace, body: { metadata: { annotations: { [NAMESPACE_MARK]: null } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch) as never);
  } catch {
    // gone, or not allowed: see above
  }
}
