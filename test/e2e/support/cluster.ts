// Helpers for e2e tests against the cluster from test/e2e/global-setup.ts (local harness or the user's
// KUBECONFIG). Scenario values, labels and ports are the harness's: see test/cluster/stages/*.yaml.
import { delimiter } from 'node:path';
import { execa } from 'execa';
import { inject } from 'vitest';
import YAML from 'yaml';
import * as harness from '../../cluster/cluster.js';
import type { E2eCluster } from '../global-setup.js';

export { GPU_NODE_LABEL, KWOK_NODE_LABEL, NODE_EXPORTER_PORT, SCENARIO_ANNOTATION } from '../../cluster/cluster.js';
export type { NetnsServer, NetnsServerSpec, NodeSpec } from '../../cluster/cluster.js';
export type { E2eCluster } from '../global-setup.js';

/** Pod scenarios the harness's kwok stages play (annotation insight.test/scenario on the pod). */
export type PodScenario = 'crashloop' | 'oomkilled' | 'imagepullbackoff' | 'never-ready';
/**
 * The finalizer the fixture chart puts on its ClusterAliyunPipelineConfig (entityCollector.finalizer). The
 * doc's spelling without "/finalizer" is 65 bytes and the API server rejects it; the operator stand-in
 * releases the doc's spelling and any "<doc spelling>/<suffix>".
 */
export const OPERATOR_FINALIZER = 'clusteraliyunpipelineconfig.finalizers.telemetry.alibabacloud.com/finalizer';

export function cluster(): E2eCluster {
  const c = inject('insightCluster');
  // Also in the worker's own environment, in case the pool did not inherit global setup's.
  if (process.env.KUBECONFIG !== c.kubeconfig) process.env.KUBECONFIG = c.kubeconfig;
  if (!(process.env.PATH ?? '').startsWith(c.pathPrefix)) process.env.PATH = `${c.pathPrefix}${delimiter}${process.env.PATH ?? ''}`;
  return c;
}

/** The harness cluster's name, or an error saying the helper needs a harness cluster. */
function harnessName(helper: string): string {
  const c = cluster();
  if (!c.name) throw new Error(`${helper} needs the local harness cluster (KUBECONFIG points at a real cluster)`);
  return c.name;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunOptions {
  input?: string;
  /** Default false: a non-zero exit throws with stderr in the message. */
  allowFail?: boolean;
  /** Default 120 s; the run fails (exit 124) when it takes longer. */
  timeoutMs?: number;
  env?: Record<string, string>;
  /** Another kubeconfig than the cluster's (an RBAC-limited user, a proxy in front of the API server). */
  kubeconfig?: string;
  /** false: the tool sees only `env`, PATH and KUBECONFIG, nothing else of this process's environment. */
  extendEnv?: boolean;
}

export interface HelmOptions extends RunOptions {
  /** Another helm than the one on PATH (a given major). */
  binary?: string;
}

async function tool(bin: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const c = cluster();
  const r = await execa(bin, args, {
    input: opts.input,
    reject: false,
    timeout: opts.timeoutMs ?? 120_000,
    env: { KUBECONFIG: opts.kubeconfig ?? c.kubeconfig, PATH: process.env.PATH, ...opts.env },
    extendEnv: opts.extendEnv ?? true,
  });
  const res = { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode ?? (r.timedOut ? 124 : 1) };
  if (res.exitCode !== 0 && !opts.allowFail) {
    throw new Error(`${bin} ${args.join(' ')} exited ${res.exitCode}${r.timedOut ? ' (timed out)' : ''}: ${res.stderr.trim() || res.stdout.trim()}`);
  }
  return res;
}

export function kubectl(args: string[], opts?: RunOptions): Promise<RunResult> {
  return tool('kubectl', args, opts);
}

export async function kubectlJson<T = any>(args: string[], opts?: RunOptions): Promise<T> {
  return JSON.parse((await kubectl([...args, '-o', 'json'], opts)).stdout) as T;
}

export function helm(args: string[], opts?: HelmOptions): Promise<RunResult> {
  return tool(opts?.binary ?? 'helm', args, opts);
}

/** kubectl apply of YAML text or objects (server-side, so several tests may own fields of one object). */
export async function applyYaml(docs: string | object | object[], namespace?: string): Promise<RunResult> {
  const text = typeof docs === 'string' ? docs : (Array.isArray(docs) ? docs : [docs]).map((d) => YAML.stringify(d)).join('---\n');
  return kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=insight-e2e', ...(namespace ? ['-n', namespace] : []), '-f', '-'], { input: text });
}

export async function deleteYaml(docs: string | object | object[], namespace?: string): Promise<RunResult> {
  const text = typeof docs === 'string' ? docs : (Array.isArray(docs) ? docs : [docs]).map((d) => YAML.stringify(d)).join('---\n');
  return kubectl(['delete', '--ignore-not-found', '--wait=false', ...(namespace ? ['-n', namespace] : []), '-f', '-'], { input: text });
}

/** Polls fn until it returns something other than undefined/false/null; the timeout error names `what`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false | null> | T | undefined | false | null, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false && v !== null) return v;
    } catch (e) {
      last = e;
    }
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the last caught value, whatever was thrown, as String() shows it
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `; last error: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 250));
  }
}

// ---- nodes ----------------------------------------------------------------------------------------------

export async function nodeNames(): Promise<string[]> {
  const list = await kubectlJson<{ items: { metadata: { name: string } }[] }>(['get', 'nodes']);
  return list.items.map((n) => n.metadata.name).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

export async function readyNodeNames(): Promise<string[]> {
  const list = await kubectlJson<{ items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[] }>(['get', 'nodes']);
  return list.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((n) => n.metadata.name);
}

export async function nodeInternalIp(node: string): Promise<string> {
  const ip = (await kubectl(['get', 'node', node, '-o', 'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}'])).stdout.trim();
  if (!ip) throw new Error(`node ${node} has no InternalIP`);
  return ip;
}

/** Adds fake nodes (next free names kwok-node-<i>, IPs inside the namespace's range) and waits until Ready. */
export async function addNodes(count: number, extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}): Promise<harness.NodeSpec[]> {
  const specs = await harness.addNodes(harnessName('addNodes'), count, extra);
  const wanted = new Set(specs.map((s) => s.name));
  await waitFor(`${count} new nodes Ready`, async () => (await readyNodeNames()).filter((n) => wanted.has(n)).length === count || extra.annotations?.[harness.SCENARIO_ANNOTATION] === 'not-ready');
  return specs;
}

/** Marks a node as a GPU node (the label the fixture chart's gpu-exporter requires), or unmarks it. */
export async function setGpuNode(node: string, gpu: boolean, model = 'Tesla-T4'): Promise<void> {
  await kubectl(['label', 'node', node, '--overwrite', gpu ? `${harness.GPU_NODE_LABEL}=${model}` : `${harness.GPU_NODE_LABEL}-`]);
}

/**
 * NotReady the way a node with a dead container runtime is: its "kubelet" keeps the lease but reports
 * Ready=False (reason KubeletNotReady). false brings it back. Waits for the new state.
 */
export async function setNodeNotReady(node: string, notReady: boolean, message?: string): Promise<void> {
  const args = ['annotate', 'node', node, '--overwrite', notReady ? `${harness.SCENARIO_ANNOTATION}=not-ready` : `${harness.SCENARIO_ANNOTATION}-`];
  if (message) args.push(`insight.test/message=${message}`);
  if (!notReady) args.push('insight.test/message-');
  await kubectl(args);
  await waitFor(`node ${node} ${notReady ? 'NotReady' : 'Ready'}`, async () => (await readyNodeNames()).includes(node) !== notReady, { timeoutMs: 30_000 });
}

/**
 * Stops the node's heartbeat entirely (kwok stops managing it, its Lease expires): after the controller
 * manager's grace period (40 s; 300 s in scale mode) the node turns Unknown ("Kubelet stopped posting
 * node status"). Does not wait. resumeNodeHeartbeat undoes it.
 */
export async function stopNodeHeartbeat(node: string): Promise<void> {
  await kubectl(['label', 'node', node, `${harness.KWOK_NODE_LABEL}-`]);
}

export async function resumeNodeHeartbeat(node: string): Promise<void> {
  await kubectl(['label', 'node', node, '--overwrite', `${harness.KWOK_NODE_LABEL}=fake`]);
}

// ---- pods -----------------------------------------------------------------------------------------------

/**
 * Puts a pod into a failure scenario (or back to normal with null). Works on pods of any workload, e.g.
 * one DaemonSet pod; to fail a whole workload put the annotation into its pod template instead.
 */
export async function setPodScenario(namespace: string, pod: string, scenario: PodScenario | null, opts: { container?: string; restartInterval?: string } = {}): Promise<void> {
  const a = harness.SCENARIO_ANNOTATION;
  const args = ['annotate', 'pod', pod, '-n', namespace, '--overwrite', scenario ? `${a}=${scenario}` : `${a}-`];
  args.push(opts.container ? `insight.test/scenario-container=${opts.container}` : 'insight.test/scenario-container-');
  args.push(opts.restartInterval ? `insight.test/restart-interval=${opts.restartInterval}` : 'insight.test/restart-interval-');
  await kubectl(args);
}

/** Annotations for a pod template that plays a scenario from the start. */
export function scenarioAnnotations(scenario: PodScenario, opts: { container?: string; restartInterval?: string } = {}): Record<string, string> {
  return {
    [harness.SCENARIO_ANNOTATION]: scenario,
    ...(opts.container ? { 'insight.test/scenario-container': opts.container } : {}),
    ...(opts.restartInterval ? { 'insight.test/restart-interval': opts.restartInterval } : {}),
  };
}

export interface PodSummary {
  name: string;
  node?: string;
  phase?: string;
  ready: boolean;
  podIP?: string;
}

export async function pods(namespace: string, selector?: string): Promise<PodSummary[]> {
  const list = await kubectlJson<{ items: any[] }>(['get', 'pods', '-n', namespace, ...(selector ? ['-l', selector] : [])]);
  return list.items.map((p) => ({
    name: p.metadata.name,
    node: p.spec?.nodeName,
    phase: p.status?.phase,
    ready: (p.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True'),
    podIP: p.status?.podIP,
  }));
}

/** Waits until `count` pods match the selector and all are Running (and Ready unless ready=false). */
export async function waitForPods(namespace: string, selector: string, count: number, opts: { ready?: boolean; timeoutMs?: number } = {}): Promise<PodSummary[]> {
  return waitFor(`${count} running pods ${selector} in ${namespace}`, async () => {
    const ps = await pods(namespace, selector);
    return ps.length === count && ps.every((p) => p.phase === 'Running' && (opts.ready === false || p.ready)) ? ps : undefined;
  }, { timeoutMs: opts.timeoutMs ?? 120_000, intervalMs: 500 });
}

export async function events(namespace: string, object: string): Promise<{ type: string; reason: string; message: string }[]> {
  const list = await kubectlJson<{ items: any[] }>(['get', 'events', '-n', namespace, '--field-selector', `involvedObject.name=${object}`]);
  return list.items.map((e) => ({ type: e.type, reason: e.reason, message: e.message }));
}

/**
 * Takes hostPort `port` on `node` with a pod bound there directly (no scheduler), as another
 * node-exporter would. A later pod that needs the same hostPort on that node (e.g. a DaemonSet pod) stays
 * Pending with a FailedScheduling event ("didn't have free ports"). Returns the holder pod's name.
 */
export async function occupyHostPort(opts: { node: string; port: number; namespace?: string; name?: string }): Promise<string> {
  const ns = opts.namespace ?? 'default';
  const name = opts.name ?? `hostport-${opts.port}-${opts.node}`;
  await applyYaml({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels: { 'app.kubernetes.io/name': 'hostport-holder' } },
    spec: { nodeName: opts.node, containers: [{ name: 'holder', image: 'registry.k8s.io/pause:3.10', ports: [{ containerPort: opts.port, hostPort: opts.port, protocol: 'TCP' }] }] },
  });
  await waitFor(`${name} Running`, async () => (await pods(ns)).find((p) => p.name === name && p.phase === 'Running'));
  return name;
}

/**
 * Two pods wanting the same hostPort on one node: the first binds, the second stays Pending with a
 * FailedScheduling event naming the port conflict. Returns both names and the event message.
 */
export async function hostPortConflict(opts: { node: string; port: number; namespace?: string; name?: string }): Promise<{ holder: string; pending: string; message: string }> {
  const ns = opts.namespace ?? 'default';
  const holder = await occupyHostPort(opts);
  const pending = `${opts.name ?? `hostport-${opts.port}`}-pending`;
  await applyYaml({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: pending, namespace: ns },
    spec: { nodeSelector: { 'kubernetes.io/hostname': opts.node }, containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', ports: [{ containerPort: opts.port, hostPort: opts.port, protocol: 'TCP' }] }] },
  });
  const ev = await waitFor(`FailedScheduling for ${pending}`, async () => (await events(ns, pending)).find((e) => e.reason === 'FailedScheduling'));
  return { holder, pending, message: ev.message };
}

// ---- exporters through the API server ---------------------------------------------------------------------

/** GET through the API server's pod proxy (scheme http or https), as kubectl get --raw. */
export async function podProxyGet(namespace: string, pod: string, port: number, path = '/metrics', scheme: 'http' | 'https' = 'http', opts?: RunOptions): Promise<RunResult> {
  const target = scheme === 'https' ? `https:${pod}:${port}` : `${pod}:${port}`;
  return kubectl(['get', '--raw', `/api/v1/namespaces/${namespace}/pods/${target}/proxy${path}`], opts);
}

// ---- the network namespace (fake nodes' addresses) ----------------------------------------------------------

/** Why tests needing the namespace must skip, or null. Use: `if (reason) return ctx.skip(reason)`. */
export function netnsSkipReason(): string | null {
  return cluster().netnsSkipReason;
}

/** Skips the running test (with the reason in the report) when the namespace is not available. */
export function skipUnlessNetns(ctx: { skip: (note?: string) => void }): void {
  const reason = netnsSkipReason();
  if (reason) ctx.skip(`needs the harness network namespace: ${reason}`);
}

/**
 * Starts a stand-in exporter inside the namespace on a node or pod IP: http (status/body), https
 * (self-signed certificate) or blackhole (accepts, never answers). node_exporter already holds :19100 on
 * every address; use other ports, or setNodeExporterTls to change what :19100 speaks.
 */
export async function startNetnsServer(spec: harness.NetnsServerSpec): Promise<harness.NetnsServer & { stop: () => Promise<void> }> {
  const name = harnessName('startNetnsServer');
  const s = await harness.startNetnsServer(name, spec);
  return { ...s, stop: () => harness.stopNetnsServer(name, s.pid) };
}

export async function stopNetnsServer(server: { pid: number }): Promise<void> {
  await harness.stopNetnsServer(harnessName('stopNetnsServer'), server.pid);
}

/** node_exporter on :19100 speaks plain http (default) or https with a self-signed cert (like kube-rbac-proxy). */
export async function setNodeExporterTls(tls: boolean): Promise<void> {
  await harness.setNodeExporterTls(harnessName('setNodeExporterTls'), tls);
}

/** A kubeconfig for another user/groups (client cert from the cluster CA): for RBAC-limited runs. */
export async function mintKubeconfig(user: string, groups: string[] = []): Promise<string> {
  return harness.mintKubeconfig(harnessName('mintKubeconfig'), user, groups);
}

// ---- fixtures ---------------------------------------------------------------------------------------------

export const FIXTURE_CHART_DIR = new URL('../../fixtures/charts/loongcollector-cluster-insight', import.meta.url).pathname;
export const FIXTURE_VALUES = new URL('../../fixtures/values/valid.yaml', import.meta.url).pathname;

/**
 * `helm install` flags for a fixture install by the tests themselves: when any CRD of the chart's
 * crds/ exists (left by an earlier test, made by any field manager), create the absent ones and skip
 * crds/, because helm 4 applies crds/ server-side and conflicts with a CRD another manager created.
 * Before anything exists, helm creates them as usual.
 */
export async function fixtureCrdFlags(): Promise<string[]> {
  const { readdirSync } = await import('node:fs');
  const dir = `${FIXTURE_CHART_DIR}/crds`;
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  const names = files.map((f) => f.replace(/^([^_]+)_(.+)\.yaml$/, '$2.$1'));
  const present = await Promise.all(names.map(async (n) => (await kubectl(['get', 'crd', n, '--ignore-not-found', '-o', 'name'])).stdout.trim() !== ''));
  if (!present.some(Boolean)) return [];
  for (const [i, f] of files.entries()) if (!present[i]) await kubectl(['create', '-f', `${dir}/${f}`]);
  await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...names.map((n) => `crd/${n}`)]);
  return ['--skip-crds'];
}
