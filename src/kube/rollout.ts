/**
 * Wait until a release's workloads have rolled out: every Deployment's new ReplicaSet available,
 * every DaemonSet updated and available on all the nodes it is scheduled to (kubectl rollout status
 * rules). Lists with bounded polling rather than watches: a release has a handful of workloads, a
 * list per kind per namespace every 1-2 s is cheap, and it survives API server restarts and dropped
 * connections without resync logic. On timeout, the pods that are not ready are named with the
 * reason (src/kube/pods.ts explainPod).
 */
import type { CoreV1Event, V1DaemonSet, V1Deployment, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { Kube } from './client.js';
import { selectorString } from './selectors.js';
import { explainPod } from './pods.js';
import { InsightError } from '../errors.js';

export type WorkloadKind = 'Deployment' | 'DaemonSet' | 'StatefulSet';

export interface WorkloadRef {
  kind: WorkloadKind;
  name: string;
  namespace: string;
}

export interface WorkloadStatus extends WorkloadRef {
  ready: boolean;
  /** Pods wanted: replicas, or the nodes a DaemonSet should run on. */
  desired: number;
  /** Pods updated to the current template and available. */
  available: number;
  /** Why it is not ready yet (kubectl's wording), or a note when ready ("no eligible nodes"). */
  message: string;
  found: boolean;
}

export interface NotReadyPod {
  workload: string;
  pod: string;
  node?: string;
  phase: string;
  reason: string;
  message: string;
  hint?: string;
}

export type RolloutKube = Pick<Kube, 'apps' | 'core' | 'call'>;

type Workload = V1Deployment | V1DaemonSet | V1StatefulSet;

const gen = (w: Workload) => ({ generation: w.metadata?.generation ?? 0, observed: w.status?.observedGeneration ?? -1 });

/** The rollout state of one workload object (pure; kubectl's rollout status rules). */
export function workloadStatus(ref: WorkloadRef, obj: Workload | undefined): WorkloadStatus {
  const base = { ...ref, found: obj !== undefined };
  if (!obj) return { ...base, ready: false, desired: 0, available: 0, message: 'not created yet' };
  const { generation, observed } = gen(obj);
  if (observed < generation) return { ...base, ready: false, desired: 0, available: 0, message: 'waiting for the controller to observe the new spec' };
  if (ref.kind === 'Deployment') {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the workload kinds are mutually assignable, but only V1Deployment has spec.replicas and status.updatedReplicas
    const d = obj as V1Deployment;
    const want = d.spec?.replicas ?? 1;
    const s = d.status ?? {};
    const updated = s.updatedReplicas ?? 0;
    const available = Math.min(s.availableReplicas ?? 0, updated);
    const progressing = s.conditions?.find((c) => c.type === 'Progressing');
    if (progressing?.reason === 'ProgressDeadlineExceeded') return { ...base, ready: false, desired: want, available, message: `progress deadline exceeded (${available}/${want} available)` };
    const replicaFailure = s.conditions?.find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
    if (replicaFailure) return { ...base, ready: false, desired: want, available, message: `cannot create pods: ${replicaFailure.message ?? replicaFailure.reason ?? ''}` };
    if (updated < want) return { ...base, ready: false, desired: want, available, message: `${updated} of ${want} replicas updated` };
    if ((s.replicas ?? 0) > updated) return { ...base, ready: false, desired: want, available, message: `${(s.replicas ?? 0) - updated} old replicas pending termination` };
    if ((s.availableReplicas ?? 0) < updated) return { ...base, ready: false, desired: want, available, message: `${available} of ${want} replicas available` };
    return { ...base, ready: true, desired: want, available: want, message: want === 0 ? 'scaled to 0' : `${want}/${want} available` };
  }
  if (ref.kind === 'DaemonSet') {
    const s = (obj as V1DaemonSet).status;
    const want = s?.desiredNumberScheduled ?? 0;
    const updated = s?.updatedNumberScheduled ?? 0;
    const available = Math.min(s?.numberAvailable ?? 0, want);
    if (updated < want) return { ...base, ready: false, desired: want, available, message: `${updated} of ${want} nodes updated` };
    if ((s?.numberAvailable ?? 0) < want) return { ...base, ready: false, desired: want, available, message: `${available} of ${want} nodes available` };
    // Ready with zero pods is right for gpu-exporter on a cluster without GPU nodes, but say so.
    return { ...base, ready: true, desired: want, available: want, message: want === 0 ? 'no eligible nodes (0 pods scheduled)' : `${want}/${want} nodes available` };
  }
  const st = obj as V1StatefulSet;
  const want = st.spec?.replicas ?? 1;
  const s = st.status;
  const ready = s?.availableReplicas ?? s?.readyReplicas ?? 0;
  if (s?.updateRevision && s.currentRevision !== s.updateRevision && (s.updatedReplicas ?? 0) < want) {
    return { ...base, ready: false, desired: want, available: ready, message: `${s.updatedReplicas ?? 0} of ${want} pods updated` };
  }
  if (ready < want) return { ...base, ready: false, desired: want, available: ready, message: `${ready} of ${want} pods ready` };
  return { ...base, ready: true, desired: want, available: want, message: `${want}/${want} ready` };
}

async function listKind(kube: RolloutKube, kind: WorkloadKind, namespace: string): Promise<Workload[]> {
  if (kind === 'Deployment') return (await kube.call({ verb: 'list', resource: 'deployments.apps', namespace }, () => kube.apps.listNamespacedDeployment({ namespace }))).items;
  if (kind === 'DaemonSet') return (await kube.call({ verb: 'list', resource: 'daemonsets.apps', namespace }, () => kube.apps.listNamespacedDaemonSet({ namespace }))).items;
  return (await kube.call({ verb: 'list', resource: 'statefulsets.apps', namespace }, () => kube.apps.listNamespacedStatefulSet({ namespace }))).items;
}

/** Read the current state of every workload: one list per (kind, namespace). */
export async function readWorkloads(kube: RolloutKube, refs: readonly WorkloadRef[]): Promise<{ statuses: WorkloadStatus[]; objects: Map<string, Workload> }> {
  const keys = [...new Set(refs.map((r) => `${r.kind}/${r.namespace}`))];
  const objects = new Map<string, Workload>();
  await Promise.all(
    keys.map(async (k) => {
      const [kind, namespace] = k.split('/') as [WorkloadKind, string];
      for (const o of await listKind(kube, kind, namespace)) objects.set(`${kind}/${namespace}/${o.metadata?.name}`, o);
    }),
  );
  const statuses = refs.map((r) => workloadStatus(r, objects.get(`${r.kind}/${r.namespace}/${r.name}`)));
  return { statuses, objects };
}

/** Name the pods of not-ready workloads that are not ready, and why. */
export async function explainNotReady(kube: RolloutKube, statuses: readonly WorkloadStatus[], objects: Map<string, Workload>, opts: { imageRegistryFlag?: string } = {}): Promise<NotReadyPod[]> {
  const out: NotReadyPod[] = [];
  const bad = statuses.filter((s) => !s.ready);
  const eventsByNs = new Map<string, CoreV1Event[]>();
  const events = async (namespace: string) => {
    if (!eventsByNs.has(namespace)) {
      const list = await kube.call({ verb: 'list', resource: 'events', namespace }, () => kube.core.listNamespacedEvent({ namespace })).catch(() => ({ items: [] as CoreV1Event[] }));
      eventsByNs.set(namespace, list.items);
    }
    return eventsByNs.get(namespace)!;
  };
  for (const s of bad) {
    const label = `${s.kind}/${s.name}`;
    const obj = objects.get(`${s.kind}/${s.namespace}/${s.name}`);
    if (!obj) {
      out.push({ workload: label, pod: '-', phase: '-', reason: 'NotFound', message: `${label} does not exist in namespace ${s.namespace}` });
      continue;
    }
    const selector = selectorString(obj.spec?.selector);
    const pods: V1Pod[] = selector
      ? (await kube.call({ verb: 'list', resource: 'pods', namespace: s.namespace }, () => kube.core.listNamespacedPod({ namespace: s.namespace, labelSelector: selector }))).items
      : [];
    const ev = await events(s.namespace);
    let named = 0;
    for (const p of pods) {
      const problem = explainPod(p, ev, opts.imageRegistryFlag ? { imageRegistryFlag: opts.imageRegistryFlag } : {});
      if (!problem) continue;
      named++;
      out.push({
        workload: label,
        pod: p.metadata?.name ?? '?',
        node: p.spec?.nodeName,
        phase: p.status?.phase ?? 'Unknown',
        reason: problem.reason,
        message: problem.message,
        hint: problem.hint,
      });
    }
    if (named === 0) {
      // No pod to blame: the controller could not create them (quota, admission, PSA) or they are gone.
      const own = ev
        .filter((e) => e.involvedObject?.name?.startsWith(s.name) && e.involvedObject?.kind !== 'Pod' && e.type === 'Warning')
        .map((e) => `${e.reason}: ${e.message}`)
        .slice(-1)[0];
      out.push({ workload: label, pod: '-', phase: '-', reason: own ? 'FailedCreate' : 'NotReady', message: own ?? `${label}: ${s.message} (${pods.length} pods found)` });
    }
  }
  return out;
}

export interface WaitOptions {
  timeoutMs: number;
  /** The timeout the user gave (--timeout), for the message, when timeoutMs is what is left of it. */
  totalTimeoutMs?: number;
  /** First poll interval; grows to maxPollMs. */
  pollMs?: number;
  maxPollMs?: number;
  signal?: AbortSignal;
  onProgress?: (statuses: WorkloadStatus[]) => void;
  imageRegistryFlag?: string;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
}

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

/**
 * Poll until every workload is ready or the timeout passes. Resolves with the final statuses; on
 * timeout throws an InsightError('timeout') whose details name every pod that is not ready and why.
 */
export async function waitForRollout(kube: RolloutKube, refs: readonly WorkloadRef[], opts: WaitOptions): Promise<WorkloadStatus[]> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? defaultSleep;
  const deadline = now() + opts.timeoutMs;
  let poll = opts.pollMs ?? 500;
  const maxPoll = opts.maxPollMs ?? 2000;
  for (;;) {
    const { statuses, objects } = await readWorkloads(kube, refs);
    opts.onProgress?.(statuses);
    if (statuses.every((s) => s.ready)) return statuses;
    if (opts.signal?.aborted) throw new InsightError('interrupted', 'interrupted while waiting for the rollout');
    if (now() >= deadline) {
      const pods = await explainNotReady(kube, statuses, objects, opts.imageRegistryFlag ? { imageRegistryFlag: opts.imageRegistryFlag } : {});
      const notReady = statuses.filter((s) => !s.ready);
      const first = pods[0];
      throw new InsightError('timeout', `rollout not finished after ${Math.round((opts.totalTimeoutMs ?? opts.timeoutMs) / 1000)}s: ${notReady.map((s) => `${s.kind}/${s.name} (${s.message})`).join(', ')}`, {
        hint: first
          ? `${first.pod !== '-' ? `pod ${first.pod}${first.node ? ` on ${first.node}` : ''}: ` : ''}${first.message}${first.hint ? ` — ${first.hint}` : ''}`
          : 'Run `kubectl insight doctor` to see why the pods are not ready.',
        details: { workloads: statuses, notReadyPods: pods },
      });
    }
    await sleep(Math.min(poll, Math.max(0, deadline - now())), opts.signal);
    poll = Math.min(poll * 2, maxPoll);
  }
}

/** The workloads in rendered manifests (helm template / helm get manifest output). */
export function workloadsInManifests(docs: ReadonlyArray<{ kind?: string; metadata?: { name?: string; namespace?: string } }>, defaultNamespace: string): WorkloadRef[] {
  const out: WorkloadRef[] = [];
  for (const d of docs) {
    if (d.kind === 'Deployment' || d.kind === 'DaemonSet' || d.kind === 'StatefulSet') {
      if (d.metadata?.name) out.push({ kind: d.kind, name: d.metadata.name, namespace: d.metadata.namespace ?? defaultNamespace });
    }
  }
  return out;
}
