// Global setup of the e2e project: a cluster for the whole run.
// - KUBECONFIG set by the user: use that cluster and start nothing. If it is a harness cluster (from
//   `npm run cluster:up`), its network namespace serves the exporter tests too; else those tests skip.
// - Otherwise: start a local cluster (INSIGHT_E2E_NODES nodes, default 3) and remove it afterwards.
// Tests get the details through inject('insightCluster') and the environment (KUBECONFIG, PATH with the
// harness's bin dir first); test/e2e/support/cluster.ts wraps both.
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { cacheDir, findClusterByKubeconfig, startCluster, stopCluster, type ClusterState } from '../cluster/cluster.js';

export interface E2eCluster {
  /** local: started by this run; external: the user's KUBECONFIG. */
  mode: 'local' | 'external';
  /** Harness cluster name when the cluster is one of ours (helpers that add nodes or servers need it). */
  name: string | null;
  kubeconfig: string;
  binDir: string;
  netns: string | null;
  /** Why tests that need the network namespace must skip (null when they can run). */
  netnsSkipReason: string | null;
  /** Put first on PATH: a folder whose `helm` is the major under test (INSIGHT_E2E_HELM), then binDir. */
  pathPrefix: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    insightCluster: E2eCluster;
  }
}

function describe(s: ClusterState, mode: E2eCluster['mode']): Omit<E2eCluster, 'pathPrefix'> {
  return { mode, name: s.name, kubeconfig: s.kubeconfig, binDir: s.binDir, netns: s.netns, netnsSkipReason: s.netns ? null : (s.netnsSkipReason ?? 'no network namespace') };
}

/**
 * The helm the run uses: INSIGHT_E2E_HELM=3 or 4 (default 4, what users install today) picks the
 * test bed's helm3/helm4 build as plain `helm`, for the tests' own helm calls and the product alike.
 */
function helmDir(binDir: string, log: (l: string) => void): { dir: string; remove: () => void } {
  const major = process.env.INSIGHT_E2E_HELM ?? '4';
  if (major !== '3' && major !== '4') throw new Error(`INSIGHT_E2E_HELM must be 3 or 4, not "${major}"`);
  const target = join(binDir, `helm${major}`);
  const dir = mkdtempSync(join(tmpdir(), `insight-e2e-helm${major}-`));
  if (existsSync(target)) symlinkSync(target, join(dir, 'helm'));
  else log(`no ${target} (run npm run setup): using helm from PATH`);
  log(`helm major under test: ${major}`);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const log = (l: string) => process.stderr.write(`[e2e cluster] ${l}\n`);
  let info: Omit<E2eCluster, 'pathPrefix'>;
  let teardown: (() => Promise<void>) | undefined;
  const userKubeconfig = process.env.KUBECONFIG;
  if (userKubeconfig) {
    const ours = findClusterByKubeconfig(userKubeconfig);
    const bin = join(cacheDir(), 'bin');
    info = ours
      ? describe(ours, 'external')
      : { mode: 'external', name: null, kubeconfig: userKubeconfig, binDir: bin, netns: null, netnsSkipReason: 'KUBECONFIG points at a real cluster: no network namespace for fake-node exporters' };
    log(`using KUBECONFIG=${userKubeconfig}${ours ? ` (harness cluster ${ours.name})` : ''}; starting nothing`);
  } else {
    const nodes = Number(process.env.INSIGHT_E2E_NODES ?? 3);
    const state = await startCluster({ name: `e2e-${process.pid}`, nodes, ownerPid: process.pid, log });
    info = describe(state, 'local');
    teardown = async () => {
      await stopCluster(state.name);
      log(`cluster ${state.name} removed`);
    };
  }
  // Workers start after global setup and inherit this environment, so plain `kubectl`/`helm` and the
  // product under test see the same cluster and the same helm.
  const h = helmDir(info.binDir, log);
  const pathPrefix = [h.dir, ...(existsSync(info.binDir) ? [info.binDir] : [])].join(delimiter);
  process.env.KUBECONFIG = info.kubeconfig;
  process.env.PATH = `${pathPrefix}${delimiter}${process.env.PATH ?? ''}`;
  project.provide('insightCluster', { ...info, pathPrefix });
  return async () => {
    await teardown?.();
    h.remove();
  };
}
