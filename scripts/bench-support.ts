// What bench-doctor.ts and bench-bundle.ts share: the flags every cluster bench takes, the local cluster
// (the test harness) with N kwok nodes, the fixture chart and the other pods on it, a private copy of the
// built CLI run under bench-rss-hook.mjs (wall time and peak RSS), the `kubectl get pods -A -o json`
// baseline, the figures' formatting, and the teardown. Each bench keeps what it measures.
import { execa } from 'execa';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readState, startCluster, stopCluster, type ClusterState } from '../test/cluster/cluster.js';

export const root = fileURLToPath(new URL('..', import.meta.url));

/** The flags of every cluster bench; a bench spreads these into its parseArgs options beside its own. */
export function clusterBenchOptions(defaults: { runs: string; name: string }) {
  return {
    nodes: { type: 'string', default: '1000' },
    'other-pods': { type: 'string', default: '3000' },
    runs: { type: 'string', default: defaults.runs },
    name: { type: 'string', default: defaults.name },
    keep: { type: 'boolean', default: false },
  } as const;
}

export interface ClusterBenchValues {
  nodes: string;
  'other-pods': string;
  runs: string;
  name: string;
  keep: boolean;
}

export type Env = NodeJS.ProcessEnv;

function shell(env: Env) {
  return (cmd: string, args: string[], input?: string) => execa(cmd, args, { env, input, timeout: 900_000 });
}

export interface Bench {
  /** Nodes, other pods and runs, from --nodes, --other-pods and --runs. */
  N: number;
  OTHER: number;
  RUNS: number;
  state: ClusterState;
  /** KUBECONFIG and PATH for the cluster (its kubectl and helm first). */
  env: Env;
  /** A command against the cluster; rejects on a non-zero exit. */
  sh: ReturnType<typeof shell>;
  log: (m: string) => void;
}

/**
 * Runs a bench as the script's main: the cluster `--name` names (reused when it is up, else started with
 * --nodes nodes), then `body`, then the cluster removed unless it was reused or --keep was given. A
 * failure is printed as `<tag> failed: ...` and exits 1. `tag` is the npm script's name, e.g. bench:doctor.
 */
export function runClusterBench(tag: string, values: ClusterBenchValues, opts: { requireNetns?: boolean }, body: (b: Bench) => Promise<void>): void {
  const N = Number(values.nodes);
  const OTHER = Number(values['other-pods']);
  const RUNS = Number(values.runs);
  const log = (m: string) => process.stderr.write(`[${tag}] ${m}\n`);
  const main = async () => {
    const existing = readState(values.name);
    const state = existing ?? (await startCluster({ name: values.name, nodes: N, log: (l) => log(l) }));
    if (opts.requireNetns && !state.netns) throw new Error(`the harness has no network namespace: ${state.netnsSkipReason}`);
    const env = { ...process.env, KUBECONFIG: state.kubeconfig, PATH: `${state.binDir}:${process.env.PATH}` };
    try {
      await body({ N, OTHER, RUNS, state, env, sh: shell(env), log });
    } finally {
      if (!values.keep && !existing) {
        await stopCluster(values.name);
        log(`cluster ${values.name} removed`);
      }
    }
  };
  main().catch((e) => {
    // The message only, and its head: a failed command's error carries its whole output.
    process.stderr.write(`${tag} failed: ${(e instanceof Error ? e.message : String(e)).slice(0, 2000)}\n`);
    process.exit(1);
  });
}

/** The installation, unless it is there: the fixture chart, node-exporter on every node over plain http. */
export async function installFixtureChart(b: Bench, accessKeySecret: string): Promise<void> {
  const installed = (await b.sh('helm', ['list', '-n', 'cms-monitoring', '-q'])).stdout.includes('aliyun-loongcollector-cluster-insight');
  if (installed) return;
  b.log('installing the fixture chart');
  await b.sh('helm', ['install', 'aliyun-loongcollector-cluster-insight', join(root, 'test/fixtures/charts/loongcollector-cluster-insight'), '-n', 'cms-monitoring', '--create-namespace',
    '-f', join(root, 'test/fixtures/values/valid.yaml'), '-f', '-', '--set', 'kubeProxy.enabled=false', '--set', 'gpuExporter.enabled=false'], `accessKeySecret: ${accessKeySecret}\n`);
}

/** --other-pods pods elsewhere (Deployment bench-load/load): what `kubectl get pods -A` must also list. */
export async function applyOtherPods(b: Bench): Promise<void> {
  await b.sh('kubectl', ['create', 'namespace', 'bench-load']).catch(() => undefined);
  await b.sh('kubectl', ['apply', '-n', 'bench-load', '-f', '-'], JSON.stringify({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'load' },
    spec: { replicas: b.OTHER, selector: { matchLabels: { app: 'load' } }, template: { metadata: { labels: { app: 'load' } }, spec: { tolerations: [{ operator: 'Exists' }], containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '1m', memory: '1Mi' } } }] } } },
  }));
}

/** Waits (20 minutes, or 30 s per 60 nodes above 2,400, polling every 10 s) for N ready node-exporter pods and OTHER ready other pods. */
export async function waitForPods(b: Bench): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const ds = JSON.parse((await b.sh('kubectl', ['get', 'ds', '-n', 'cms-monitoring', 'cms-node-exporter', '-o', 'json'])).stdout);
    const dep = JSON.parse((await b.sh('kubectl', ['get', 'deploy', '-n', 'bench-load', 'load', '-o', 'json'])).stdout);
    const neReady = ds.status?.numberReady ?? 0;
    const loadReady = dep.status?.readyReplicas ?? 0;
    b.log(`waiting: node-exporter ${neReady}/${b.N}, other pods ${loadReady}/${b.OTHER}`);
    if (neReady >= b.N && loadReady >= b.OTHER) break;
    const limitMs = Math.max(1_200_000, b.N * 500);
    if (Date.now() - t0 > limitMs) throw new Error(`pods did not become ready in ${Math.round(limitMs / 60_000)} minutes`);
    await new Promise((r) => setTimeout(r, 10_000));
  }
}

/**
 * A private copy of the built CLI: other people rebuild dist/ while the bench runs, and a half-written
 * dist/ would fail a run. node_modules is linked, not copied. Removed when the process exits.
 */
function privateCli(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-cli-`));
  for (const f of ['bin', 'dist', 'package.json']) cpSync(join(root, f), join(dir, f), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'bin/kubectl-insight.js');
}

export interface CliRun<T> {
  ms: number;
  /** Peak RSS of the CLI process itself (not a wrapper), from bench-rss-hook.mjs. */
  rssMB: number;
  /** What the CLI printed on stdout (run it with `-o json`), parsed. */
  doc: T;
}

/**
 * The private CLI copy and a work directory `<prefix>-XXXXXX` for the run files; `run` times one CLI run
 * under bench-rss-hook.mjs (rss file `rss-<i>` in the work directory), with `runEnv` when given (another
 * identity's KUBECONFIG); `remove` deletes the work directory.
 */
export function cliRunner(prefix: string, env: Env, timeoutMs: number) {
  const cli = privateCli(prefix);
  const work = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const run = async <T>(i: number, args: string[], runEnv: Env = env): Promise<CliRun<T>> => {
    const rssFile = join(work, `rss-${i}`);
    const started = process.hrtime.bigint();
    const r = await execa(process.execPath, ['--import', join(root, 'scripts/bench-rss-hook.mjs'), cli, ...args], {
      env: { ...runEnv, INSIGHT_BENCH_RSS_FILE: rssFile }, reject: false, timeout: timeoutMs,
    });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    let doc: T;
    try {
      doc = JSON.parse(r.stdout);
    } catch {
      throw new Error(`${args[0]} printed no JSON (exit ${r.exitCode}): ${r.stderr.slice(0, 500)}`);
    }
    return { ms, rssMB: Number(readFileSync(rssFile, 'utf8')) / 1024, doc };
  };
  return { work, run, remove: () => rmSync(work, { recursive: true, force: true }) };
}

/** The baseline: one `kubectl get pods -A -o json` against the cluster, wall time in ms. */
export async function kubectlOnce(env: Env): Promise<number> {
  const started = process.hrtime.bigint();
  await execa('kubectl', ['get', 'pods', '-A', '-o', 'json'], { env, stdout: 'ignore' });
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export async function podCount(b: Bench): Promise<number> {
  // Names only: at 20,000 pods the JSON is over 100 MB, past what a child's stdout may buffer.
  return (await b.sh('kubectl', ['get', 'pods', '-A', '-o', 'name'])).stdout.split('\n').filter(Boolean).length;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
export const peakMB = (runs: Array<{ rssMB: number }>) => Math.max(...runs.map((r) => r.rssMB));
/** Milliseconds as seconds with two decimals. */
export const secs = (ms: number) => (ms / 1000).toFixed(2);
/** Each run's seconds, as printed after a median: `[1.23, 1.30]`. */
export const series = (ms: number[]) => `[${ms.map(secs).join(', ')}]`;
export const verdict = (ok: boolean) => (ok ? 'OK' : 'OVER');
export const kubectlLine = (kubectlMs: number[]) => `kubectl get pods -A -o json: median ${secs(median(kubectlMs))} s   ${series(kubectlMs)}`;

export function printLines(lines: string[]): void {
  process.stdout.write(`${lines.join('\n')}\n`);
}
