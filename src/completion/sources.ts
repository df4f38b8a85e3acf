/**
 * The values completion offers that are not in the flag definitions: the known regions, kubeconfig's
 * contexts and the cluster's namespaces. Namespaces are one list call with a short deadline: a TAB that
 * waits on an unreachable API server for its default timeout is worse than no candidates.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { REGIONS } from '../cloud/regions.js';
import { listContexts } from '../kube/kubeconfig.js';
import type { ApiClient } from '../kube/proxy.js';
import type { CompletionSources, LineConnection } from './engine.js';

/** The whole namespace lookup (kubeconfig, exec credential plugin, TLS, the list) ends within this. */
export const NAMESPACE_DEADLINE_MS = 2000;

export function liveSources(env: NodeJS.ProcessEnv = process.env, deadlineMs = NAMESPACE_DEADLINE_MS): CompletionSources {
  return {
    regions: () => REGIONS,
    contexts: (c) => listContexts({ ...kubeconfigOf(c, env), env }),
    namespaces: (c) => listNamespaces(c, env, deadlineMs),
  };
}

/** The words come unexpanded from the shell (no eval of the user's line): `~/` is the user's home. */
function kubeconfigOf(c: LineConnection, env: NodeJS.ProcessEnv): { kubeconfig?: string } {
  if (!c.kubeconfig) return {};
  const home = env.HOME ?? homedir();
  return { kubeconfig: c.kubeconfig === '~' ? home : c.kubeconfig.startsWith('~/') ? join(home, c.kubeconfig.slice(2)) : c.kubeconfig };
}

async function listNamespaces(c: LineConnection, env: NodeJS.ProcessEnv, deadlineMs: number): Promise<string[]> {
  // Loaded here: every other TAB stays clear of the Kubernetes client.
  const [{ loadKubeconfig }, proxy] = await Promise.all([import('../kube/kubeconfig.js'), import('../kube/proxy.js')]);
  let api: ApiClient | undefined;
  let timer: NodeJS.Timeout | undefined;
  let over = false;
  const work = (async () => {
    // Not interactive: an exec credential plugin must not prompt into the user's half-typed line.
    const kc = loadKubeconfig({ ...kubeconfigOf(c, env), ...(c.context ? { context: c.context } : {}), env, interactive: false });
    api = await proxy.ApiClient.create(kc, { maxSockets: 1, defaultTimeoutMs: deadlineMs });
    // Made after the deadline (a slow exec plugin): closed at once, so nothing holds the process.
    if (over) api.close();
    const list = await api.getJson<{ items?: { metadata?: { name?: string } }[] }>('/api/v1/namespaces?limit=500', { timeoutMs: deadlineMs });
    return (list.items ?? []).map((n) => n.metadata?.name ?? '').filter(Boolean);
  })();
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no namespaces within ${deadlineMs} ms`)), deadlineMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    over = true;
    clearTimeout(timer);
    // The loser of the race settles later, unobserved.
    work.catch(() => undefined);
    api?.close();
  }
}
