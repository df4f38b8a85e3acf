import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { InsightError } from '../errors.js';
import { prepareAccess, type RawUser } from './access.js';

export interface KubeconfigOptions {
  /** --kubeconfig: one file, used alone (as kubectl does). */
  kubeconfig?: string;
  /** --context */
  context?: string;
  /** Environment to read KUBECONFIG and the proxy variables from (tests pass their own). */
  env?: NodeJS.ProcessEnv;
  /** Whether an exec plugin may talk to the user (default: stdin is a TTY). */
  interactive?: boolean;
}

/**
 * Load kubeconfig with kubectl's rules. client-node's own loadFromDefault differs in two ways that
 * matter to users with several files in KUBECONFIG: it throws on a cluster/user/context name that
 * appears in two files (kubectl keeps the first) and lets a later file's current-context win (kubectl
 * takes the first one set). Missing files in the list are skipped, as kubectl does.
 */
export function loadKubeconfig(opts: KubeconfigOptions = {}): KubeConfig {
  const env = opts.env ?? process.env;
  const { clusters, users, contexts, rawUsers, current } = mergedKubeconfig(opts);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [...clusters.values()],
    users: [...users.values()],
    contexts: [...contexts.values()],
    currentContext: opts.context ?? current,
  });

  const name = kc.getCurrentContext();
  const ctx = contexts.get(name);
  if (!ctx) {
    const known = [...contexts.keys()];
    throw new InsightError('invalid-input', name ? `context "${name}" not found in kubeconfig` : 'kubeconfig has no current context', {
      hint: known.length ? `Use --context with one of: ${known.join(', ')}.` : 'Add a context with `kubectl config set-context`.',
    });
  }
  if (!clusters.has(ctx.cluster)) {
    throw new InsightError('invalid-input', `context "${name}" names cluster "${ctx.cluster}", which is not in kubeconfig`, {
      hint: 'Fix the context with `kubectl config set-context ' + name + ' --cluster=<name>`.',
    });
  }
  prepareAccess(kc, rawUsers, { env, ...(opts.interactive !== undefined ? { interactive: opts.interactive } : {}) });
  return kc;
}

/** The kubeconfig files kubectl would read, in its order: --kubeconfig alone, else $KUBECONFIG's list, else ~/.kube/config. */
function kubeconfigFiles(opts: KubeconfigOptions): string[] {
  const env = opts.env ?? process.env;
  let files: string[];
  if (opts.kubeconfig) {
    if (!existsSync(opts.kubeconfig)) {
      throw new InsightError('invalid-input', `kubeconfig file ${opts.kubeconfig} does not exist`, {
        hint: 'Pass an existing file to --kubeconfig, or leave it out to use $KUBECONFIG or ~/.kube/config.',
      });
    }
    files = [opts.kubeconfig];
  } else if (env.KUBECONFIG) {
    files = env.KUBECONFIG.split(delimiter).filter((f) => f && existsSync(f));
  } else {
    const home = join(env.HOME ?? homedir(), '.kube', 'config');
    files = existsSync(home) ? [home] : [];
  }
  if (files.length === 0) {
    throw new InsightError('invalid-input', 'no kubeconfig found', {
      hint: 'Set KUBECONFIG, pass --kubeconfig, or create ~/.kube/config (kubectl config view should show a cluster).',
    });
  }
  return files;
}

interface Merged {
  clusters: Map<string, KubeConfig['clusters'][number]>;
  users: Map<string, KubeConfig['users'][number]>;
  /** In kubectl's order: the first file's contexts first, a name seen again ignored. */
  contexts: Map<string, KubeConfig['contexts'][number]>;
  /** What client-node drops from users[] (tokenFile, as-groups, ...), read as kubectl reads it. */
  rawUsers: Map<string, RawUser>;
  current: string;
}

/** The files merged with kubectl's rules (see loadKubeconfig). */
function mergedKubeconfig(opts: KubeconfigOptions): Merged {
  const m: Merged = { clusters: new Map(), users: new Map(), contexts: new Map(), rawUsers: new Map(), current: '' };
  for (const file of kubeconfigFiles(opts)) {
    const { one, raw } = parsedFile(file);
    for (const [name, user] of raw) if (!m.rawUsers.has(name)) m.rawUsers.set(name, { dir: dirname(resolve(file)), user });
    if (!m.current && one.currentContext) m.current = one.currentContext;
    for (const c of one.clusters) if (!m.clusters.has(c.name)) m.clusters.set(c.name, c);
    for (const u of one.users) if (!m.users.has(u.name)) m.users.set(u.name, u);
    for (const c of one.contexts) if (!m.contexts.has(c.name)) m.contexts.set(c.name, c);
  }
  return m;
}

/**
 * One file, parsed once per run while it is unchanged (a fleet run loads kubeconfig for every context, and
 * parsing a file of many clusters' certificates is most of that cost). Each caller gets its own copy, so
 * nothing one context's loader changes reaches another's.
 */
function parsedFile(file: string): { one: Pick<KubeConfig, 'clusters' | 'users' | 'contexts' | 'currentContext'>; raw: Array<[string, Record<string, unknown>]> } {
  let key: string;
  try {
    const st = statSync(file);
    key = `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    key = '';
  }
  let hit = parsed.get(file);
  if (!hit || hit.key !== key || !key) {
    const one = new KubeConfig();
    try {
      one.loadFromFile(file); // also makes relative cert/key paths absolute to the file's folder
    } catch (e) {
      throw new InsightError('invalid-input', `kubeconfig ${file} cannot be read: ${firstLine(e)}`, {
        hint: 'Check the file with `kubectl config view --kubeconfig ' + file + '`.',
      });
    }
    hit = { key, value: { one: { clusters: one.clusters, users: one.users, contexts: one.contexts, currentContext: one.currentContext }, raw: rawUsersOf(file) } };
    parsed.set(file, hit);
  }
  return structuredClone(hit.value);
}

const parsed = new Map<string, { key: string; value: ReturnType<typeof parsedFile> }>();

/** A context of the merged kubeconfig, as `kubectl config get-contexts` lists it (nothing contacted). */
export interface ContextEntry {
  name: string;
  cluster: string;
  /** The cluster's server URL; '' when the context names a cluster that is not in kubeconfig. */
  server: string;
  current: boolean;
}

/** Every context of the merged kubeconfig, in kubectl's order. */
export function listContexts(opts: Omit<KubeconfigOptions, 'context'> = {}): ContextEntry[] {
  const m = mergedKubeconfig(opts);
  return [...m.contexts.values()].map((c) => ({ name: c.name, cluster: c.cluster, server: m.clusters.get(c.cluster)?.server ?? '', current: c.name === m.current }));
}

function rawUsersOf(file: string): Array<[string, Record<string, unknown>]> {
  try {
    const doc = parse(readFileSync(file, 'utf8'), { logLevel: 'silent', merge: true }) as { users?: Array<{ name?: unknown; user?: unknown }> } | null;
    return (doc?.users ?? []).flatMap((u) => (typeof u?.name === 'string' && u.user && typeof u.user === 'object' ? [[u.name, u.user as Record<string, unknown>] as [string, Record<string, unknown>]] : []));
  } catch {
    return []; // loadFromFile has already reported an unreadable file
  }
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
}
