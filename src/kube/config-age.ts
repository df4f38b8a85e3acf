/**
 * Does a pod run configuration older than its ConfigMaps and Secrets? Environment from a ConfigMap or
 * Secret is read once, when the container starts, and a program reads its mounted files when it starts
 * too, so an edit (`kubectl edit`, or an upgrade that changes the data but not the pod template) reaches
 * only pods started after it. The one rule doctor and its rollout-restart fix share. No I/O.
 */
import type { V1PodSpec, V1Pod } from '@kubernetes/client-node';

export interface SourceRef {
  kind: 'ConfigMap' | 'Secret';
  name: string;
}

/** The metadata read of a ConfigMap or Secret (a PartialObjectMetadata: never the data). */
export interface SourceMeta {
  metadata?: {
    name?: string;
    creationTimestamp?: string | Date;
    managedFields?: Array<{ time?: string | Date; fieldsV1?: Record<string, unknown> }>;
  };
}

/** Every ConfigMap and Secret a pod template reads: volumes (projected too), envFrom and env. */
export function referencedSources(spec: V1PodSpec | undefined): SourceRef[] {
  const out = new Map<string, SourceRef>();
  const add = (kind: SourceRef['kind'], name: string | undefined) => {
    if (name) out.set(`${kind}/${name}`, { kind, name });
  };
  for (const v of spec?.volumes ?? []) {
    add('ConfigMap', v.configMap?.name);
    add('Secret', v.secret?.secretName);
    for (const p of v.projected?.sources ?? []) {
      add('ConfigMap', p.configMap?.name);
      add('Secret', p.secret?.name);
    }
  }
  for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
    for (const e of c.envFrom ?? []) {
      add('ConfigMap', e.configMapRef?.name);
      add('Secret', e.secretRef?.name);
    }
    for (const e of c.env ?? []) {
      add('ConfigMap', e.valueFrom?.configMapKeyRef?.name);
      add('Secret', e.valueFrom?.secretKeyRef?.name);
    }
  }
  return [...out.values()];
}

const DATA_FIELDS = ['f:data', 'f:binaryData', 'f:stringData'];
const ms = (t: string | Date | undefined) => (t === undefined ? undefined : new Date(t).getTime());

/**
 * When the data last changed, as the API server recorded it: the newest managed-fields entry that owns
 * data (a label-only change by another manager does not count); the creation time when none does.
 */
export function lastDataChange(src: SourceMeta): number | undefined {
  const times = (src.metadata?.managedFields ?? []).filter((f) => DATA_FIELDS.some((k) => f.fieldsV1 && k in f.fieldsV1)).map((f) => ms(f.time)).filter((t): t is number => t !== undefined && !Number.isNaN(t));
  return times.length ? Math.max(...times) : ms(src.metadata?.creationTimestamp);
}

/** When the oldest running container of the pod started (its configuration is that old); undefined if none runs. */
export function runningSince(pod: V1Pod): number | undefined {
  const starts = (pod.status?.containerStatuses ?? []).map((c) => ms(c.state?.running?.startedAt)).filter((t): t is number => t !== undefined && !Number.isNaN(t));
  return starts.length ? Math.min(...starts) : undefined;
}

export interface StalePod {
  pod: string;
  startedAt: number;
  /** The sources changed after it started, with when. */
  changed: Array<SourceRef & { at: number }>;
}

/**
 * The pods that started before a source they read changed. Times are whole seconds on both sides, so
 * only a change in a later second counts: a pod started in the same second may have read either.
 */
export function stalePods(spec: V1PodSpec | undefined, pods: readonly V1Pod[], sources: ReadonlyMap<string, SourceMeta>): StalePod[] {
  const refs = referencedSources(spec)
    .map((r) => ({ ...r, at: sources.has(`${r.kind}/${r.name}`) ? lastDataChange(sources.get(`${r.kind}/${r.name}`)!) : undefined }))
    .filter((r): r is SourceRef & { at: number } => r.at !== undefined);
  const out: StalePod[] = [];
  for (const p of pods) {
    const since = runningSince(p);
    if (since === undefined || p.metadata?.deletionTimestamp) continue;
    const changed = refs.filter((r) => Math.floor(r.at / 1000) > Math.floor(since / 1000));
    if (changed.length) out.push({ pod: p.metadata?.name ?? '?', startedAt: since, changed });
  }
  return out;
}

/** The template annotation `kubectl rollout restart` sets; its value is when the restart was asked for. */
export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
