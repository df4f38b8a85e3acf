// The container runtime of the probe pods on kwok's fake nodes (kwok makes pods Running but runs
// nothing). For each probe pod it does what kubelet + runtime would: writes the pod's /etc/hosts
// from hostAliases into the node's network namespace, runs the pod's own command with the pod's own
// env inside that namespace (so the real probe script and curl run against real sockets), captures
// the termination-message file, and records the outcome in the pod status (phase Succeeded,
// terminated with the message). The product reads it back through the API server unchanged.
// `pullable` emulates a registry: pods whose image it rejects get ImagePullBackOff instead.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { PROBE_LABELS } from '../../../../src/net/probe-pods.js';
import type { TestNetns } from './netns.js';

export interface ProbeKubelet {
  /** Pods handled so far (name → node). */
  handled: Map<string, string>;
  stop(): Promise<void>;
}

export function startProbeKubelet(opts: {
  core: CoreV1Api;
  namespace: string;
  netnsFor: (node: string) => TestNetns | undefined;
  pullable?: (image: string) => boolean;
  /** Leave pods alone (a hung probe) when this says so. */
  hang?: (pod: V1Pod) => boolean;
}): ProbeKubelet {
  const handled = new Map<string, string>();
  let stopped = false;
  const dir = mkdtempSync(join(tmpdir(), 'insight-probe-kubelet-'));
  const setStatus = async (name: string, status: V1Pod['status']) => {
    for (let i = 0; i < 5; i++) {
      const cur = await opts.core.readNamespacedPod({ name, namespace: opts.namespace });
      try {
        await opts.core.replaceNamespacedPodStatus({ name, namespace: opts.namespace, body: { ...cur, status: { ...cur.status, ...status } } });
        return;
      } catch (e) {
        if ((e as { code?: number }).code !== 409) throw e;
      }
    }
  };
  const handle = async (pod: V1Pod) => {
    const name = pod.metadata!.name!;
    const node = pod.spec?.nodeName ?? '';
    const c = pod.spec!.containers[0]!;
    const now = new Date();
    if (opts.pullable && !opts.pullable(c.image ?? '')) {
      await setStatus(name, { phase: 'Pending', containerStatuses: [{ name: c.name, image: c.image!, imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"` } } }] });
      return;
    }
    const ns = opts.netnsFor(node);
    if (!ns) return;
    const hosts: Record<string, string[]> = {};
    for (const a of pod.spec?.hostAliases ?? []) hosts[a.ip] = a.hostnames ?? [];
    ns.setHosts(hosts);
    const term = join(dir, `${name}.termination-log`);
    const tmp = mkdtempSync(join(dir, `${name}-tmp-`));
    const env: Record<string, string> = { PROBE_RESULT_FILE: term, TMPDIR: tmp };
    for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
    const r = await ns.execAsync(c.command![0]!, [...c.command!.slice(1), ...(c.args ?? [])], env);
    let message = '';
    try {
      message = readFileSync(term, 'utf8');
    } catch {
      message = r.stdout; // FallbackToLogsOnError
    }
    await setStatus(name, {
      phase: r.status === 0 ? 'Succeeded' : 'Failed',
      containerStatuses: [{ name: c.name, image: c.image!, imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: r.status, reason: r.status === 0 ? 'Completed' : 'Error', message, startedAt: now, finishedAt: new Date() } } }],
    });
  };
  const loop = (async () => {
    while (!stopped) {
      try {
        const list = await opts.core.listNamespacedPod({ namespace: opts.namespace, labelSelector: `${PROBE_LABELS.name.key}=${PROBE_LABELS.name.value}` });
        for (const p of list.items) {
          const name = p.metadata!.name!;
          // Like kubelet: only pods bound to a node and started by kwok (Running), each once.
          if (handled.has(name) || p.status?.phase !== 'Running' || p.metadata?.deletionTimestamp) continue;
          if (opts.hang?.(p)) continue;
          handled.set(name, p.spec?.nodeName ?? '');
          void handle(p).catch(() => undefined);
        }
      } catch {
        /* the namespace may be going away */
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    handled,
    async stop() {
      stopped = true;
      await loop;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
