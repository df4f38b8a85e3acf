/**
 * Custom objects that carry finalizers: delete, remove exactly one named finalizer, wait for deletion.
 *
 * The finalizer is removed with a JSON patch whose `test` op guards the index (`test` then `remove` on
 * /metadata/finalizers/<i>): if anyone changed the list in between, the server rejects the patch and we
 * re-read, so we never drop someone else's finalizer and never write back a stale object (a full
 * update would do both). Waits use a watch from the object's resourceVersion, never fixed sleeps.
 */
import { PatchStrategy, setHeaderOptions, Watch } from '@kubernetes/client-node';
import type { Kube } from './client.js';
import { isNotFound, statusCode } from './errors.js';
import { InsightError } from '../errors.js';

/** A custom object, by API coordinates. */
export interface CustomRef {
  group: string;
  version: string;
  plural: string;
  kind: string;
  /** Absent for cluster-scoped kinds. */
  namespace?: string;
  name: string;
}

export interface LiveObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    deletionTimestamp?: string | Date;
    finalizers?: string[];
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
}

export type FinalizerKube = Pick<Kube, 'custom' | 'kc' | 'call' | 'ifFound' | 'delete'>;

const resourceOf = (r: Pick<CustomRef, 'plural' | 'group'>) => `${r.plural}.${r.group}`;

function causeStatus(e: unknown): number | undefined {
  return statusCode(e) ?? (e instanceof InsightError ? statusCode(e.cause) : undefined);
}

export function refLabel(r: Pick<CustomRef, 'kind' | 'namespace' | 'name'>): string {
  return `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`;
}

/** The object, or undefined when it does not exist. */
export async function getCustomObject(kube: FinalizerKube, r: CustomRef): Promise<LiveObject | undefined> {
  return (await kube.ifFound({ verb: 'get', resource: resourceOf(r), name: r.name, namespace: r.namespace }, () =>
    r.namespace
      ? kube.custom.getNamespacedCustomObject({ group: r.group, version: r.version, namespace: r.namespace, plural: r.plural, name: r.name })
      : kube.custom.getClusterCustomObject({ group: r.group, version: r.version, plural: r.plural, name: r.name }),
  )) as LiveObject | undefined;
}

export type DeleteResult = 'deleted' | 'already-deleting' | 'already-gone';

/** Ask for deletion (foreground not needed: these kinds own nothing). Idempotent. */
export async function deleteCustomObject(kube: FinalizerKube, r: CustomRef): Promise<DeleteResult> {
  const cur = await getCustomObject(kube, r);
  if (!cur) return 'already-gone';
  if (cur.metadata?.deletionTimestamp) return 'already-deleting';
  return kube.delete({ resource: resourceOf(r), name: r.name, namespace: r.namespace }, () =>
    r.namespace
      ? kube.custom.deleteNamespacedCustomObject({ group: r.group, version: r.version, namespace: r.namespace, plural: r.plural, name: r.name })
      : kube.custom.deleteClusterCustomObject({ group: r.group, version: r.version, plural: r.plural, name: r.name }),
  );
}

/** The JSON patch that removes `finalizer` at index `i`, guarded by a `test` of that index. */
export function finalizerPatch(finalizer: string, i: number): Array<{ op: 'test' | 'remove'; path: string; value?: string }> {
  return [
    { op: 'test', path: `/metadata/finalizers/${i}`, value: finalizer },
    { op: 'remove', path: `/metadata/finalizers/${i}` },
  ];
}

export type RemoveFinalizerResult = 'removed' | 'not-present' | 'gone';

/**
 * Remove exactly `finalizer` from the object, leaving any other finalizer in place. A rejected `test`
 * (the list changed under us) re-reads and tries again, a few times.
 */
export async function removeFinalizer(kube: FinalizerKube, r: CustomRef, finalizer: string, attempts = 5): Promise<RemoveFinalizerResult> {
  for (let attempt = 1; ; attempt++) {
    const cur = await getCustomObject(kube, r);
    if (!cur) return 'gone';
    const i = (cur.metadata?.finalizers ?? []).indexOf(finalizer);
    if (i < 0) return 'not-present';
    const body = finalizerPatch(finalizer, i);
    const opts = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
    try {
      // Safe to retry (call's default): the `test` op makes a repeated patch fail instead of removing a different entry.
      await kube.call({ verb: 'patch', resource: resourceOf(r), name: r.name, namespace: r.namespace }, () =>
        r.namespace
          ? kube.custom.patchNamespacedCustomObject({ group: r.group, version: r.version, namespace: r.namespace, plural: r.plural, name: r.name, body }, opts)
          : kube.custom.patchClusterCustomObject({ group: r.group, version: r.version, plural: r.plural, name: r.name, body }, opts),
      );
      return 'removed';
    } catch (e) {
      if (isNotFound(e)) return 'gone';
      const code = causeStatus(e);
      // 422/409/400: the test op failed or the object changed; re-read and try again.
      if ((code === 422 || code === 409 || code === 400) && attempt < attempts) continue;
      throw e;
    }
  }
}

/** The collection URL path of a custom kind, for watches. */
export function collectionPath(r: Pick<CustomRef, 'group' | 'version' | 'plural' | 'namespace'>): string {
  const base = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  return `${base}${r.namespace ? `/namespaces/${r.namespace}` : ''}/${r.plural}`;
}

export interface WaitGoneOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Called on every change seen (e.g. "finalizers: [x]"). */
  onEvent?: (obj: LiveObject | undefined) => void;
}

type Round = 'gone' | 'timeout' | 'ended' | 'error';

/**
 * One watch from `resourceVersion` until `onEvent` says the wait is over, the deadline or abort, or the
 * watch ends. The waits below loop over rounds: re-list, then watch from the list's resourceVersion.
 */
function watchRound(
  watch: Watch,
  path: string,
  query: Record<string, string | undefined>,
  resourceVersion: string | undefined,
  remaining: number,
  signal: AbortSignal | undefined,
  onEvent: (phase: string, obj: LiveObject) => boolean,
): Promise<Round> {
  return new Promise<Round>((resolve) => {
    let settled = false;
    let ctrl: AbortController | undefined;
    const finish = (v: Round) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      ctrl?.abort();
      resolve(v);
    };
    const onAbort = () => finish('timeout');
    const timer = setTimeout(() => finish('timeout'), remaining);
    signal?.addEventListener('abort', onAbort);
    watch
      .watch(
        path,
        { ...query, resourceVersion, allowWatchBookmarks: true, timeoutSeconds: Math.max(1, Math.ceil(remaining / 1000)) },
        (phase, obj: LiveObject) => {
          if (phase === 'ERROR') finish('ended');
          else if (phase !== 'BOOKMARK' && onEvent(phase, obj)) finish('gone');
        },
        (err: unknown) => finish(err ? 'error' : 'ended'),
      )
      .then((c) => {
        ctrl = c;
        if (settled) c.abort();
      })
      .catch(() => finish('error'));
  });
}

/** Re-list and watch until `check` (on each list) or a watch event says everything is gone. */
async function untilGone<L extends { resourceVersion?: string }>(
  kc: Kube['kc'],
  path: string,
  query: Record<string, string | undefined>,
  list: () => Promise<L>,
  isGone: (cur: L) => boolean,
  onEvent: (phase: string, obj: LiveObject) => boolean,
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<'gone' | 'timeout'> {
  const deadline = Date.now() + opts.timeoutMs;
  const watch = new Watch(kc);
  let failures = 0;
  for (;;) {
    const cur = await list();
    if (isGone(cur)) return 'gone';
    const remaining = deadline - Date.now();
    if (remaining <= 0) return 'timeout';
    const outcome = await watchRound(watch, path, query, cur.resourceVersion, remaining, opts.signal, onEvent);
    if (outcome === 'gone' || outcome === 'timeout') return outcome;
    // A failing watch (API server away): back off a little; the next list raises a classified
    // error once kubeCall's own retries are used up.
    if (outcome === 'error') {
      failures++;
      await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** failures, 2000)));
    } else failures = 0;
  }
}

/**
 * Wait until a named object no longer exists, by watch. Reads it, watches from its resourceVersion
 * with a field selector on its name, and re-reads whenever the watch ends (server timeout, dropped
 * connection, 410 Gone). Returns 'timeout' when `timeoutMs` passes first.
 */
export async function waitForGone(
  kc: Kube['kc'],
  path: string,
  name: string,
  get: () => Promise<LiveObject | undefined>,
  opts: WaitGoneOptions,
): Promise<'gone' | 'timeout'> {
  return untilGone(
    kc,
    path,
    { fieldSelector: `metadata.name=${name}` },
    async () => {
      const obj = await get();
      opts.onEvent?.(obj);
      return { obj, resourceVersion: obj?.metadata?.resourceVersion };
    },
    (cur) => !cur.obj,
    (phase, obj) => {
      if (phase === 'DELETED') return true;
      opts.onEvent?.(obj);
      return false;
    },
    opts,
  );
}

/** Wait for a custom object to be gone. */
export function waitForCustomObjectGone(kube: FinalizerKube, r: CustomRef, opts: WaitGoneOptions): Promise<'gone' | 'timeout'> {
  return waitForGone(kube.kc, collectionPath(r), r.name, () => getCustomObject(kube, r), opts);
}

/**
 * Wait until a list (e.g. the release's pods by label) is empty, by watch. `list` returns the names
 * and the list's resourceVersion.
 */
export async function waitForNone(
  kc: Kube['kc'],
  path: string,
  query: { labelSelector?: string; fieldSelector?: string },
  list: () => Promise<{ names: string[]; resourceVersion?: string }>,
  opts: { timeoutMs: number; signal?: AbortSignal; onProgress?: (left: string[]) => void },
): Promise<'gone' | 'timeout'> {
  let left = new Set<string>();
  return untilGone(
    kc,
    path,
    query,
    async () => {
      const cur = await list();
      left = new Set(cur.names);
      opts.onProgress?.([...left]);
      return cur;
    },
    () => left.size === 0,
    (phase, obj) => {
      const n = obj?.metadata?.name;
      if (!n) return false;
      if (phase === 'DELETED') left.delete(n);
      else if (phase === 'ADDED' || phase === 'MODIFIED') left.add(n);
      opts.onProgress?.([...left]);
      return left.size === 0;
    },
    opts,
  );
}
