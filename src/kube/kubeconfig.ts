import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { InsightError } from '../errors.js';

export interface KubeconfigOptions {
  /** --kubeconfig: one file, used alone (as kubectl does). */
  kubeconfig?: string;
  /** --context */
  context?: string;
  /** Environment to read KUBECONFIG from (tests pass their own). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Load kubeconfig with kubectl's rules. client-node's own loadFromDefault differs in two ways that
 * matter to users with several files in KUBECONFIG: it throws on a cluster/user/context name that
 * appears in two files (kubectl keeps the first) and lets a later file's current-context win (kubectl
 * takes the first one set). Missing files in the list are skipped, as kubectl does.
 */
export function loadKubeconfig(opts: KubeconfigOptions = {}): KubeConfig {
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

  const kc = new KubeConfig();
  let current = '';
  const clusters = new Map<string, KubeConfig['clusters'][number]>();
  const users = new Map<string, KubeConfig['users'][number]>();
  const contexts = new Map<string, KubeConfig['contexts'][number]>();
  for (const file of files) {
    const one = new KubeConfig();
    try {
      one.loadFromFile(file); // also makes relative cert/key paths absolute to the file's folder
    } catch (e) {
      throw new InsightError('invalid-input', `kubeconfig ${file} cannot be read: ${firstLine(e)}`, {
        hint: 'Check the file with `kubectl config view --kubeconfig ' + file + '`.',
      });
    }
    if (!current && one.currentContext) current = one.currentContext;
    for (const c of one.clusters) if (!clusters.has(c.name)) clusters.set(c.name, c);
    for (const u of one.users) if (!users.has(u.name)) users.set(u.name, u);
    for (const c of one.contexts) if (!contexts.has(c.name)) contexts.set(c.name, c);
  }
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
  return kc;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
}
