// Helpers shared by the uninstall e2e files: installing the fixture charts, running the built CLI,
// comparing cluster state, and a loopback TCP proxy that can take the API server away for a while.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import YAML from 'yaml';
import { FIXTURE_CHART_DIR, FIXTURE_VALUES, cluster, fixtureCrdFlags, helm, kubectl, kubectlJson, waitFor, type RunResult } from './support/cluster.js';
import { HELM_LIST_ALL } from './support/helm.js';

const REPO = new URL('../../', import.meta.url).pathname;
/** The CLI as built in the repo (other e2e files import this). */
export const CLI = join(REPO, 'bin/kubectl-insight.js');
/** What `cli()` runs: CLI, or a private copy after usePrivateBuild(). */
let cliPath = CLI;
let privateDir: string | undefined;

/**
 * Run the CLI from a private copy of the build: these files run for minutes, and a teammate's
 * `npm run build` empties dist/ meanwhile (the bundle needs no node_modules). Verified by a dry run.
 */
export async function usePrivateBuild(): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'uninstall-cli-'));
    try {
      for (const f of ['bin', 'dist', 'package.json', 'oclif.manifest.json']) cpSync(join(REPO, f), join(dir, f), { recursive: true });
      cliPath = join(dir, 'bin/kubectl-insight.js');
      const r = await cli(['uninstall', '--dry-run', '-n', 'uninst-probe', '--release', 'none', '-o', 'json']);
      if (r.exitCode === 0 && JSON.parse(r.stdout).result === 'planned') {
        privateDir = dir;
        return;
      }
      throw new Error(r.stderr || r.stdout);
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      if (attempt >= 10) throw new Error(`no usable build in dist/ (run npm run build): ${String(e)}`);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

export function dropPrivateBuild(): void {
  if (privateDir) rmSync(privateDir, { recursive: true, force: true });
  privateDir = undefined;
  cliPath = CLI;
}
export const KPS_CHART_DIR = new URL('../fixtures/charts/kube-prometheus-stack', import.meta.url).pathname;
export const CRDS_DIR = new URL('../fixtures/charts/loongcollector-cluster-insight/crds', import.meta.url).pathname;

export const ALIBABA_CRDS = ['clusteraliyunpipelineconfigs.telemetry.alibabacloud.com', 'aliyunlogconfigs.log.alibabacloud.com'];
export const SHARED_CRDS = ['servicemonitors.monitoring.coreos.com', 'podmonitors.monitoring.coreos.com', 'prometheusrules.monitoring.coreos.com', 'probes.monitoring.coreos.com'];
export const ALL_CRDS = [...ALIBABA_CRDS, ...SHARED_CRDS];

/** Install the fixture chart; the (fake) AccessKey secret goes through a 0600 values file, not argv. */
export async function installChart(release: string, namespace: string, clusterID: string, extra: string[] = []): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'uninstall-e2e-'));
  const secretValues = join(dir, 'secret.yaml');
  writeFileSync(secretValues, 'accessKeySecret: e2e-fake-secret-value\n', { mode: 0o600 });
  try {
    await helm(
      ['install', release, FIXTURE_CHART_DIR, '-n', namespace, '--create-namespace', '-f', FIXTURE_VALUES, '-f', secretValues, '--set', `clusterID=${clusterID}`, '--wait', '--timeout', '120s', ...(await fixtureCrdFlags()), ...extra],
      { timeoutMs: 180_000 },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** "Another team's" kube-prometheus-stack (needs the monitoring.coreos.com CRDs to exist). */
export async function installKps(release: string, namespace: string): Promise<void> {
  await helm(['install', release, KPS_CHART_DIR, '-n', namespace, '--create-namespace', '--wait', '--timeout', '120s'], { timeoutMs: 180_000 });
}

export async function ensureCrds(): Promise<void> {
  await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=insight-e2e', '-f', CRDS_DIR]);
  // Not `kubectl wait`: on a CRD created a moment ago it fails ("status.conditions accessor error")
  // until the API server has written any condition at all.
  for (const c of ALL_CRDS) {
    await waitFor(`CRD ${c} Established`, async () => {
      const crd = await kubectlJson<{ status?: { conditions?: { type: string; status: string }[] } }>(['get', 'crd', c]);
      return crd.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True');
    });
  }
}

export async function presentCrds(): Promise<string[]> {
  const l = await kubectlJson<{ items: { metadata: { name: string } }[] }>(['get', 'crd']);
  return l.items.map((i) => i.metadata.name).filter((n) => ALL_CRDS.includes(n)).sort();
}

export interface CliRun extends RunResult {
  signal?: string;
  ms: number;
}

/** Run the built CLI (no TTY: stdin is not a terminal). */
export async function cli(args: string[], opts: { env?: Record<string, string>; kubeconfig?: string; timeoutMs?: number } = {}): Promise<CliRun> {
  const c = cluster();
  const t0 = Date.now();
  const r = await execa(process.execPath, [cliPath, ...args], {
    reject: false,
    timeout: opts.timeoutMs ?? 240_000,
    env: { KUBECONFIG: opts.kubeconfig ?? c.kubeconfig, PATH: process.env.PATH, NO_COLOR: '1', NODE_ENV: undefined, ...opts.env },
    extendEnv: true,
    stdin: 'ignore',
  });
  return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode ?? -1, ...(r.signal ? { signal: r.signal } : {}), ms: Date.now() - t0 };
}

/** Run the CLI on a pseudo-terminal (util-linux `script`), typing `input`. */
export async function cliOnTty(args: string[], input: string): Promise<CliRun> {
  const c = cluster();
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const cmd = [process.execPath, cliPath, ...args].map(quote).join(' ');
  const t0 = Date.now();
  const r = await execa('script', ['-qec', cmd, '/dev/null'], {
    reject: false,
    timeout: 120_000,
    input,
    env: { KUBECONFIG: c.kubeconfig, PATH: process.env.PATH, NO_COLOR: '1', NODE_ENV: undefined },
    extendEnv: true,
  });
  return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode ?? -1, ms: Date.now() - t0 };
}

/** Start the CLI without waiting (for SIGSTOP/outage scenarios). */
export function spawnCli(args: string[], opts: { env?: Record<string, string>; kubeconfig: string }): ResultPromise<{ reject: false }> {
  return execa(process.execPath, [cliPath, ...args], {
    reject: false,
    timeout: 240_000,
    env: { KUBECONFIG: opts.kubeconfig, PATH: process.env.PATH, NO_COLOR: '1', NODE_ENV: undefined, ...opts.env },
    extendEnv: true,
    stdin: 'ignore',
  }) as ResultPromise<{ reject: false }>;
}

export function parseJson<T = any>(r: RunResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.exitCode}): ${r.stdout.slice(0, 400)} ${r.stderr.slice(0, 400)}`);
  }
}

// ---- state snapshots --------------------------------------------------------------------------------------

const CLUSTER_KINDS = 'customresourcedefinitions,clusteraliyunpipelineconfigs,namespaces,clusterroles,clusterrolebindings,mutatingwebhookconfigurations,validatingwebhookconfigurations';
const NAMESPACED_KINDS =
  'servicemonitors,podmonitors,prometheusrules,probes,aliyunlogconfigs,deployments,daemonsets,statefulsets,replicasets,pods,services,configmaps,secrets,serviceaccounts,roles,rolebindings';

interface Item {
  kind: string;
  metadata: Record<string, any>;
  spec?: unknown;
  data?: unknown;
  rules?: unknown;
  subjects?: unknown;
  webhooks?: unknown;
}

/** What identifies an object and its desired state; volatile fields (resourceVersion, status, managedFields) dropped. */
function normalize(i: Item): Record<string, unknown> {
  const m = i.metadata;
  return {
    kind: i.kind,
    namespace: m.namespace,
    name: m.name,
    uid: m.uid,
    labels: m.labels,
    annotations: m.annotations,
    finalizers: m.finalizers,
    deletionTimestamp: m.deletionTimestamp,
    spec: i.kind === 'Namespace' ? undefined : i.spec,
    data: i.kind === 'Secret' ? Object.keys((i.data as object) ?? {}) : i.data,
    rules: i.rules,
    subjects: i.subjects,
    webhooks: i.webhooks,
  };
}

/** Full relevant state: every kind the uninstall could touch, plus helm's release list. */
export async function snapshot(filter: (o: Record<string, unknown>) => boolean = () => true): Promise<Record<string, unknown>[]> {
  const existing = await presentCrds();
  // Kinds whose CRD is missing cannot be listed: ask only for what exists.
  const skip = (k: string) =>
    (k === 'clusteraliyunpipelineconfigs' && !existing.includes(ALIBABA_CRDS[0]!)) ||
    (k === 'aliyunlogconfigs' && !existing.includes(ALIBABA_CRDS[1]!)) ||
    (['servicemonitors', 'podmonitors', 'prometheusrules', 'probes'].includes(k) && !existing.includes(`${k}.monitoring.coreos.com`));
  const ck = CLUSTER_KINDS.split(',').filter((k) => !skip(k)).join(',');
  const nk = NAMESPACED_KINDS.split(',').filter((k) => !skip(k)).join(',');
  const a = await kubectlJson<{ items: Item[] }>(['get', ck]);
  const b = await kubectlJson<{ items: Item[] }>(['get', nk, '-A']);
  const releases = JSON.parse((await helm(['list', '-A', ...HELM_LIST_ALL, '-o', 'json'])).stdout) as unknown[];
  const items = [...a.items, ...b.items]
    .filter((i) => !(i.kind === 'Namespace' && i.metadata.name?.startsWith('kube-')))
    .map(normalize)
    .filter(filter)
    .sort((x, y) => `${x.kind}/${x.namespace}/${x.name}`.localeCompare(`${y.kind}/${y.namespace}/${y.name}`));
  return [...items, { kind: 'HelmReleases', releases }];
}

export async function namespaceGone(ns: string, timeoutMs = 90_000): Promise<void> {
  await waitFor(`namespace ${ns} gone`, async () => (await kubectl(['get', 'ns', ns], { allowFail: true })).exitCode !== 0, { timeoutMs });
}

/** Remove whatever a test left (never touches objects of other namespaces). */
export async function cleanupInstall(release: string, ns: string, clusterID: string): Promise<void> {
  // The CR first, with its finalizer stripped by hand: tests may have left it stuck on purpose.
  const cr = `custom-kubernetes-${clusterID}-entity-collector`;
  if ((await kubectl(['get', 'clusteraliyunpipelineconfig', cr], { allowFail: true })).exitCode === 0) {
    await kubectl(['patch', 'clusteraliyunpipelineconfig', cr, '--type=merge', '-p', '{"metadata":{"finalizers":null}}'], { allowFail: true });
    await kubectl(['delete', 'clusteraliyunpipelineconfig', cr, '--ignore-not-found', '--wait=false'], { allowFail: true });
  }
  await helm(['uninstall', release, '-n', ns, '--wait', '--timeout', '120s'], { allowFail: true, timeoutMs: 150_000 });
  await kubectl(['delete', 'ns', ns, '--ignore-not-found', '--wait=false'], { allowFail: true });
  await namespaceGone(ns);
}

// ---- a TCP proxy in front of the API server -----------------------------------------------------------------

export interface ApiProxy {
  kubeconfig: string;
  port: number;
  /** Refuse new connections and cut the open ones (the API server "goes away"). */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** A loopback proxy to the API server and a kubeconfig that goes through it (TLS passes through untouched). */
export async function startApiProxy(): Promise<ApiProxy> {
  const c = cluster();
  const kc = YAML.parse(readFileSync(c.kubeconfig, 'utf8')) as { clusters: { cluster: { server: string } }[] };
  const target = new URL(kc.clusters[0]!.cluster.server);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = connect(Number(target.port), target.hostname);
        sockets.add(client).add(upstream);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
        client.pipe(upstream).pipe(client);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  const stop = async () => {
    const s = server;
    server = undefined;
    for (const so of sockets) so.destroy();
    sockets.clear();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  };
  await listen();
  const dir = mkdtempSync(join(tmpdir(), 'uninstall-proxy-'));
  const proxied = YAML.parse(readFileSync(c.kubeconfig, 'utf8')) as { clusters: { cluster: { server: string } }[] };
  for (const cl of proxied.clusters) cl.cluster.server = `https://127.0.0.1:${port}`;
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, YAML.stringify(proxied), { mode: 0o600 });
  return {
    kubeconfig,
    get port() {
      return port;
    },
    stop,
    start: () => (server ? Promise.resolve() : listen()),
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Linux process state letter (R, S, T = stopped, Z) or undefined when gone. */
export function procState(pid: number): string | undefined {
  try {
    return /^\d+ \(.*\) (\w)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}
