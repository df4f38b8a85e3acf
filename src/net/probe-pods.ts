/**
 * In-cluster probes: one short-lived pod per selected node runs the probe script (src/net/script.ts)
 * against every endpoint; the results come back through the pod's termination message (or its log).
 *
 * Clean-up on every exit path: a `finally` deletes the pods; a synchronous exit hook (src/cleanup.ts)
 * runs `kubectl delete` if the process is interrupted (Ctrl-C) before the finally can run; every pod
 * also carries activeDeadlineSeconds so it stops on its own, and a run deletes probe pods that earlier,
 * killed runs left behind (older than STALE_MS).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pLimit from 'p-limit';
import type { CoreV1Api, V1Node, V1Pod, V1Toleration } from '@kubernetes/client-node';
import { onExit } from '../cleanup.js';
import { isNotFound, kubeCalls } from '../kube/errors.js';
import { END_MARK, PROBE_SCRIPT, parseProbeOutput, scriptEnv } from './script.js';
import type { ProbeFailure, ProbeReport, ProbeResult, ProbeTarget } from './types.js';

export const PROBE_LABELS = {
  name: { key: 'app.kubernetes.io/name', value: 'kubectl-insight-probe' },
  managedBy: { key: 'app.kubernetes.io/managed-by', value: 'kubectl-insight' },
  run: 'insight.alibabacloud.com/probe-run',
} as const;

const LOG_EVERY_MS = 5000;

/** Probe pods older than this are leftovers of a killed run (pods from before the run-end annotation). */
export const STALE_MS = 10 * 60_000;
/**
 * How many seconds after the pod's creation its run gives up at the latest. Relative to the server's
 * creationTimestamp, so the clocks of the machine that ran preflight and of the one asking never meet.
 */
export const RUN_SECONDS_ANNOTATION = 'insight.alibabacloud.com/probe-run-seconds';
/** A run deletes its pods within seconds of its end; this much later, nobody will. */
const LEFTOVER_GRACE_MS = 60_000;

/**
 * The one rule for "this probe pod is a leftover of a run that was killed": ours by its labels, and past
 * the end of its run (creation + the run's seconds on it, plus a grace for that run's own clean-up).
 * Pods without the annotation fall back to their age. `now` is the API server's time (src/kube/clock.ts)
 * where the caller knows it. Preflight's sweep and doctor's fix both ask this.
 */
export function isLeftoverProbePod(pod: Pick<V1Pod, 'metadata'>, now: number): boolean {
  const m = pod.metadata ?? {};
  if (m.labels?.[PROBE_LABELS.name.key] !== PROBE_LABELS.name.value || m.labels?.[PROBE_LABELS.managedBy.key] !== PROBE_LABELS.managedBy.value) return false;
  const created = m.creationTimestamp ? new Date(m.creationTimestamp).getTime() : Number.NaN;
  if (Number.isNaN(created)) return false;
  const runS = Number(m.annotations?.[RUN_SECONDS_ANNOTATION] ?? Number.NaN);
  if (Number.isFinite(runS) && runS > 0) return now > created + runS * 1000 + LEFTOVER_GRACE_MS;
  return now - created > STALE_MS;
}

/** The label selector of every probe pod kubectl-insight makes. */
export const PROBE_POD_SELECTOR = `${PROBE_LABELS.managedBy.key}=${PROBE_LABELS.managedBy.value},${PROBE_LABELS.name.key}=${PROBE_LABELS.name.value}`;

export interface ProbePodsOptions {
  core: Pick<CoreV1Api, 'createNamespacedPod' | 'listNamespacedPod' | 'readNamespacedPodLog' | 'deleteNamespacedPod'>;
  server?: string;
  namespace: string;
  image: string;
  nodes: V1Node[];
  targets: ProbeTarget[];
  tolerations: V1Toleration[];
  /** Overall deadline for scheduling, pulling and running, in ms. */
  timeoutMs: number;
  /** How long a pod may stay unschedulable before we give up on its node (the scheduler may retry). */
  unschedulableGraceMs?: number;
  pollMs?: number;
  connectTimeoutS?: number;
  maxTimeS?: number;
  /** For the Ctrl-C fallback: how to reach the same cluster with kubectl. */
  kubectl?: { binary?: string; kubeconfig?: string; context?: string };
  signal?: AbortSignal;
  now?: () => number;
}

export function probePodName(runId: string, index: number): string {
  return `insight-probe-${runId}-${index}`;
}

/** The probe pod for one node. Exported for unit tests of its shape. */
export function probePodSpec(opts: { name: string; namespace: string; runId: string; node: string; image: string; tolerations: V1Toleration[]; targets: ProbeTarget[]; deadlineS: number; runSeconds?: number; connectTimeoutS?: number; maxTimeS?: number }): V1Pod {
  const { env, hostAliases } = scriptEnv(opts.targets, { ...(opts.connectTimeoutS ? { connectTimeoutS: opts.connectTimeoutS } : {}), ...(opts.maxTimeS ? { maxTimeS: opts.maxTimeS } : {}) });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: opts.name,
      namespace: opts.namespace,
      labels: { [PROBE_LABELS.name.key]: PROBE_LABELS.name.value, [PROBE_LABELS.managedBy.key]: PROBE_LABELS.managedBy.value, [PROBE_LABELS.run]: opts.runId },
      annotations: { 'insight.alibabacloud.com/probe-node': opts.node, ...(opts.runSeconds !== undefined ? { [RUN_SECONDS_ANNOTATION]: String(opts.runSeconds) } : {}) },
    },
    spec: {
      restartPolicy: 'Never',
      // Same placement mechanism as a DaemonSet: the scheduler binds it (so taints and resources are
      // honoured, unlike spec.nodeName), pinned to one node by a matchFields affinity.
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [opts.node] }] }] } } },
      tolerations: opts.tolerations,
      activeDeadlineSeconds: opts.deadlineS,
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      // Admissible under the "restricted" Pod Security Standard, which many namespaces enforce.
      securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, seccompProfile: { type: 'RuntimeDefault' } },
      // Pod network and cluster DNS, like the collectors that will talk to the endpoints.
      dnsPolicy: 'ClusterFirst',
      ...(Object.keys(hostAliases).length ? { hostAliases: Object.entries(hostAliases).map(([ip, hostnames]) => ({ ip, hostnames })) } : {}),
      containers: [
        {
          name: 'probe',
          image: opts.image,
          imagePullPolicy: 'IfNotPresent',
          command: ['sh', '-c', PROBE_SCRIPT],
          env: Object.entries(env).map(([name, value]) => ({ name, value })),
          terminationMessagePolicy: 'FallbackToLogsOnError',
          resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '200m', memory: '64Mi' } },
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
        },
      ],
      volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '1Mi' } }],
    },
  };
}

type PodState = { done: true; results?: ProbeResult[]; failure?: ProbeFailure } | { done: false; note: string };

const PULL_FAILURES = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull', 'RegistryUnavailable']);

/** Decide what a probe pod's status says. Pure apart from the log reader; unit-tested with pod fixtures. */
export async function inspectPod(pod: V1Pod, opts: { image: string; now: number; unschedulableGraceMs: number; readLog: () => Promise<string | undefined> }): Promise<PodState> {
  const node = pod.metadata?.annotations?.['insight.alibabacloud.com/probe-node'] ?? pod.spec?.nodeName ?? '?';
  const vantage = `node/${node}`;
  const cs = pod.status?.containerStatuses?.[0];
  const finish = (text: string): PodState => {
    const parsed = parseProbeOutput(text, vantage);
    if (parsed.tool === 'no-curl') {
      return { done: true, failure: { vantage, message: `the probe image ${opts.image} has no curl`, hint: 'Pass --probe-image with an image that has sh and curl (e.g. a mirror of curlimages/curl).' } };
    }
    if (!parsed.complete && parsed.results.length === 0) return { done: false, note: 'no output yet' };
    return { done: true, results: parsed.results };
  };
  const terminated = cs?.state?.terminated;
  if (terminated) {
    const fromMessage = terminated.message ?? '';
    if (fromMessage.includes(END_MARK)) return finish(fromMessage);
    const log = (await opts.readLog()) ?? '';
    const st = finish(log.includes(END_MARK) ? log : fromMessage || log);
    if (st.done) return st;
    return { done: true, failure: { vantage, message: `probe pod ${pod.metadata?.name} ended (${terminated.reason ?? 'exit ' + terminated.exitCode}) without results`, evidence: [(fromMessage || log).slice(0, 300)] } };
  }
  const waiting = cs?.state?.waiting;
  if (waiting?.reason && PULL_FAILURES.has(waiting.reason)) {
    return {
      done: true,
      failure: {
        vantage,
        message: `node ${node} cannot pull the probe image ${opts.image} (${waiting.reason})`,
        hint: 'Pass --probe-image with an image (sh + curl) this cluster can pull; that the node cannot pull from this registry may also mean it cannot reach the chart\'s registries.',
        ...(waiting.message ? { evidence: [waiting.message] } : {}),
      },
    };
  }
  if (cs?.state?.running) {
    // A running pod may already have printed everything (slow exit, or a runtime that serves logs live).
    const log = await opts.readLog();
    if (log?.includes(END_MARK)) return finish(log);
    return { done: false, note: 'running' };
  }
  if (pod.status?.phase === 'Failed') {
    return { done: true, failure: { vantage, message: `probe pod ${pod.metadata?.name} failed: ${pod.status.reason ?? ''} ${pod.status.message ?? ''}`.trim() } };
  }
  const sched = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (sched?.status === 'False' && sched.reason === 'Unschedulable') {
    const created = pod.metadata?.creationTimestamp ? new Date(pod.metadata.creationTimestamp).getTime() : opts.now;
    if (opts.now - created >= opts.unschedulableGraceMs) {
      return { done: true, failure: { vantage, message: `probe pod cannot be scheduled on node ${node}`, evidence: [sched.message ?? ''], hint: 'The node has no room or a taint the probe pod does not tolerate; the collectors would not run there either.' } };
    }
  }
  return { done: false, note: waiting?.reason ?? pod.status?.phase ?? 'Pending' };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((r) => {
    const onAbort = () => {
      clearTimeout(t);
      r();
    };
    // The listener goes when the timer fires: one per poll would pile up on a long run.
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      r();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Delete probe pods that killed runs left behind. Best-effort: a failure here must not stop the probe. */
async function deleteStale(o: ProbePodsOptions, now: number): Promise<void> {
  try {
    const list = await o.core.listNamespacedPod({ namespace: o.namespace, labelSelector: PROBE_POD_SELECTOR });
    for (const p of list.items) {
      if (isLeftoverProbePod(p, now)) await o.core.deleteNamespacedPod({ name: p.metadata!.name!, namespace: o.namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
    }
  } catch {
    /* listing may be forbidden; the create below reports RBAC problems precisely */
  }
}

/** Run the probe pods and collect every node's results. Pods are deleted before this returns or throws. */
export async function runProbePods(o: ProbePodsOptions): Promise<ProbeReport> {
  const now = o.now ?? Date.now;
  const runId = randomBytes(3).toString('hex');
  const pollMs = o.pollMs ?? 1000;
  const deadline = now() + o.timeoutMs;
  const kube = kubeCalls(o.server);
  const created: string[] = [];
  const ns = o.namespace;
  // The Ctrl-C path: cleanup.ts runs this synchronously before exiting; kubectl is there (we are its plugin).
  const fallback = onExit(() => {
    if (!created.length) return;
    const k = o.kubectl ?? {};
    const args = ['delete', 'pod', '-n', ns, '-l', `${PROBE_LABELS.run}=${runId}`, '--wait=false', '--ignore-not-found', '--grace-period=0'];
    if (k.kubeconfig) args.push('--kubeconfig', k.kubeconfig);
    if (k.context) args.push('--context', k.context);
    spawnSync(k.binary ?? 'kubectl', args, { stdio: 'ignore', timeout: 10_000 });
  });
  const results: ProbeResult[] = [];
  const failures: ProbeFailure[] = [];
  try {
    await deleteStale(o, now());
    const deadlineS = Math.max(30, Math.ceil(o.timeoutMs / 1000) + 30);
    const names = new Map<string, string>(); // pod → node
    // Bounded concurrency for big clusters; allSettled so no create is still in flight when the
    // finally below deletes what was created.
    const limit = pLimit(20);
    const creates = await Promise.allSettled(
      o.nodes.map((n, i) =>
        limit(async () => {
          const node = n.metadata!.name!;
          const name = probePodName(runId, i);
          const body = probePodSpec({ name, namespace: ns, runId, node, image: o.image, tolerations: o.tolerations, targets: o.targets, deadlineS, runSeconds: Math.max(1, Math.ceil((deadline - now()) / 1000)), ...(o.connectTimeoutS ? { connectTimeoutS: o.connectTimeoutS } : {}), ...(o.maxTimeS ? { maxTimeS: o.maxTimeS } : {}) });
          created.push(name);
          await kube.call({ verb: 'create', resource: 'pods', namespace: ns }, () => o.core.createNamespacedPod({ namespace: ns, body }), { idempotent: false });
          names.set(name, node);
        }),
      ),
    );
    // RBAC or quota problems are the same for every node: fail the whole run, clearly.
    const failed = creates.find((c): c is PromiseRejectedResult => c.status === 'rejected');
    if (failed) throw failed.reason;
    const pending = new Map(names);
    // Logs of a running pod are a second channel: read each at most every LOG_EVERY_MS, so a
    // thousand running pods do not mean a thousand log requests per poll.
    const lastLogRead = new Map<string, number>();
    while (pending.size && now() < deadline && !o.signal?.aborted) {
      const list = await kube.call({ verb: 'list', resource: 'pods', namespace: ns }, () => o.core.listNamespacedPod({ namespace: ns, labelSelector: `${PROBE_LABELS.run}=${runId}` }));
      for (const pod of list.items) {
        const name = pod.metadata?.name ?? '';
        if (!pending.has(name)) continue;
        const st = await inspectPod(pod, {
          image: o.image,
          now: now(),
          unschedulableGraceMs: o.unschedulableGraceMs ?? 20_000,
          readLog: async () => {
            const running = pod.status?.containerStatuses?.[0]?.state?.running !== undefined;
            if (running && now() - (lastLogRead.get(name) ?? 0) < LOG_EVERY_MS) return undefined;
            lastLogRead.set(name, now());
            try {
              return await o.core.readNamespacedPodLog({ name, namespace: ns, container: 'probe' });
            } catch {
              return undefined; // logs are a second channel; the termination message is the first
            }
          },
        });
        if (st.done) {
          pending.delete(name);
          if (st.results) results.push(...st.results);
          if (st.failure) failures.push(st.failure);
        }
      }
      if (pending.size) await sleep(pollMs, o.signal);
    }
    for (const [, node] of pending) {
      failures.push({ vantage: `node/${node}`, message: `probe pod on node ${node} did not finish within ${Math.round(o.timeoutMs / 1000)}s`, hint: 'Check `kubectl get pods -l app.kubernetes.io/name=kubectl-insight-probe -o wide` while it runs (image pull, scheduling); raise --timeout.' });
    }
    return { results, failures };
  } finally {
    const outcome = await Promise.allSettled(created.map((name) => o.core.deleteNamespacedPod({ name, namespace: ns, gracePeriodSeconds: 0 }).catch((e: unknown) => {
      if (isNotFound(e)) return undefined;
      throw e;
    })));
    // All deleted: empty the list so the hook does nothing, then run it once to unregister it.
    // Some delete failed: the hook retries them with kubectl now.
    if (outcome.every((r) => r.status === 'fulfilled')) created.length = 0;
    fallback();
  }
}
