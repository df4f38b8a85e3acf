// Helpers for e2e tests against the cluster from test/e2e/global-setup.ts (local harness or the user's
// KUBECONFIG). Scenario values, labels and ports are the harness's: see test/cluster/stages/*.yaml.
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { delimiter, join, posix } from 'node:path';
import { execa } from 'execa';
import { inject } from 'vitest';
import YAML from 'yaml';
import * as harness from '../../cluster/cluster.js';
import type { E2eCluster } from '../global-setup.js';

export { GPU_NODE_LABEL, KUBELET_PORT, KWOK_NODE_LABEL, NODE_EXPORTER_PORT, SCENARIO_ANNOTATION } from '../../cluster/cluster.js';
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

// ---- pods/log and pods/exec of fake pods (kwok's server) ------------------------------------------------------

export interface ContainerFilesSpec {
  namespace: string;
  pod: string;
  container: string;
  /**
   * Files the container has, by absolute path in the container. `kubectl exec` of sh, tail, cat, ls, ...
   * (the tools test/cluster/container-exec.sh wraps) sees them there. Omitted: no exec rule, and exec
   * fails as kwok answers a pod it has no rule for.
   */
  files?: Record<string, string>;
  /** What `kubectl logs` returns (the container's stdout). Omitted: no log rule. */
  log?: string;
  /** What `kubectl logs --previous` returns. */
  previousLog?: string;
}

export interface ServedContainer {
  node: string;
  nodeIp: string;
  /** The directory that plays the container's filesystem root for the bind mounts. */
  rootfs: string;
  /** The kwok rule objects made, as kubectl names (clusterexec/..., clusterlogs/...). */
  objects: string[];
  /** Removes the rules, the node's forward (when no other served pod needs it) and the files. Idempotent. */
  stop(): Promise<void>;
}

/** Label on every rule object serveContainerFiles makes, for tests that check nothing is left. */
export const SERVED_FILES_LABEL = 'insight.test/served-files';

/**
 * Host directories a fixture must not be bind-mounted over: the exec's own tools and libraries live there
 * (and /tmp holds the fixture itself). A file whose deepest existing host directory is one of these is refused.
 */
const UNMOUNTABLE = new Set(['/', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/usr', '/usr/bin', '/usr/lib', '/etc', '/proc', '/sys', '/dev', '/run', '/tmp', '/var', '/root', '/home']);

/**
 * The host directories to cover with the fixture's copy: for each file, its deepest ancestor that exists on
 * the host (a mount point must exist; nothing may be created on the host), reduced to the outermost ones.
 */
function mountPointsFor(paths: string[]): string[] {
  const points = new Set<string>();
  for (const p of paths) {
    if (!posix.isAbsolute(p) || posix.normalize(p) !== p || p.endsWith('/') || /[\s:]/.test(p)) {
      throw new Error(`serveContainerFiles: "${p}" must be a normalized absolute file path without whitespace or ':'`);
    }
    let d = posix.dirname(p);
    while (d !== '/' && !isHostDir(d)) d = posix.dirname(d);
    if (UNMOUNTABLE.has(d)) throw new Error(`serveContainerFiles: ${p} would hide the host's ${d} from the exec; use a path under a directory like /usr/local or /opt`);
    points.add(d);
  }
  const sorted = [...points].sort((a, b) => a.length - b.length);
  return sorted.filter((d, i) => !sorted.slice(0, i).some((o) => d.startsWith(`${o}/`)));
}

function isHostDir(d: string): boolean {
  try {
    return statSync(d).isDirectory();
  } catch {
    return false;
  }
}

/** Text as a container runtime writes it to a CRI log file (what kubelet, and kwok, read for pods/log). */
function criLog(text: string): string {
  const ts = new Date().toISOString();
  const lines = text.split('\n');
  const last = lines.pop() ?? '';
  // F: a full line (its newline is part of the content); P: a partial one, the text's unterminated end.
  return lines.map((l) => `${ts} stdout F ${l}\n`).join('') + (last ? `${ts} stdout P ${last}\n` : '');
}

// One forward per node IP, shared by every served pod on that node in this test file.
const forwards = new Map<string, { users: number; started: Promise<{ pid: number }> }>();

async function acquireForward(name: string, ip: string): Promise<void> {
  let f = forwards.get(ip);
  if (!f) {
    f = { users: 0, started: harness.startKubeletForward(name, ip) };
    forwards.set(ip, f);
    f.started.catch(() => forwards.delete(ip));
  }
  f.users++;
  try {
    await f.started;
  } catch (e) {
    f.users--;
    throw e;
  }
}

async function releaseForward(name: string, ip: string): Promise<void> {
  const f = forwards.get(ip);
  if (!f || --f.users > 0) return;
  forwards.delete(ip);
  await harness.stopNetnsServer(name, (await f.started).pid);
}

/**
 * Serves `kubectl logs` and `kubectl exec` of one container of a running fake pod through the real API
 * server. kwok's server plays the kubelet: a ClusterLogs rule points at a CRI log file written from `log`,
 * a ClusterExec rule runs the exec as a local process whose tools see `files` at their container paths (a
 * private mount namespace, see test/cluster/container-exec.sh; the host's own directories are untouched),
 * and the pod's node IP:10250 is forwarded to kwok's server while anything is served on that node. Waits
 * until both answer. Several pods (and containers) may be served at once; each needs its own stop().
 */
export async function serveContainerFiles(spec: ContainerFilesSpec): Promise<ServedContainer> {
  const reason = netnsSkipReason();
  if (reason) throw new Error(`serveContainerFiles needs the network namespace: ${reason}`);
  const name = harnessName('serveContainerFiles');
  const state = harness.readState(name);
  if (!state) throw new Error(`no harness cluster ${name}`);
  const { namespace, pod, container } = spec;
  const node = (await kubectl(['get', 'pod', pod, '-n', namespace, '-o', 'jsonpath={.spec.nodeName}'])).stdout.trim();
  if (!node) throw new Error(`serveContainerFiles: pod ${namespace}/${pod} is not on a node yet`);
  const nodeIp = await nodeInternalIp(node);
  const files = spec.files === undefined ? undefined : Object.entries(spec.files);
  const mounts = files ? mountPointsFor(files.map(([p]) => p)) : [];

  // Under the cluster's directory, so a test that dies before stop() leaves nothing once the cluster goes.
  const dir = await mkdtemp(join(state.dir, 'container-files-'));
  const rootfs = join(dir, 'rootfs');
  const objName = `e2e-files-${createHash('sha256').update(`${namespace}/${pod}/${container}`).digest('hex').slice(0, 12)}`;
  const meta = { name: objName, labels: { [SERVED_FILES_LABEL]: 'true' }, annotations: { 'insight.test/container': `${namespace}/${pod}/${container}` } };
  const selector = { matchNamespaces: [namespace], matchNames: [pod] };
  const objects: object[] = [];
  if (files) {
    await mkdir(rootfs, { recursive: true });
    for (const d of mounts) await mkdir(join(rootfs, d), { recursive: true });
    for (const [p, content] of files) {
      await mkdir(join(rootfs, posix.dirname(p)), { recursive: true });
      await writeFile(join(rootfs, p), content);
    }
    objects.push({
      apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'ClusterExec', metadata: meta,
      spec: { selector, execs: [{ containers: [container], local: { workDir: '/', envs: [{ name: 'INSIGHT_E2E_ROOTFS', value: rootfs }, { name: 'INSIGHT_E2E_MOUNTS', value: mounts.join(':') }] } }] },
    });
  }
  if (spec.log !== undefined || spec.previousLog !== undefined) {
    const logFile = join(dir, 'current.log');
    const previousFile = join(dir, 'previous.log');
    await writeFile(logFile, criLog(spec.log ?? ''));
    if (spec.previousLog !== undefined) await writeFile(previousFile, criLog(spec.previousLog));
    objects.push({
      apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'ClusterLogs', metadata: meta,
      spec: { selector, logs: [{ containers: [container], logsFile: logFile, ...(spec.previousLog !== undefined ? { previousLogsFile: previousFile } : {}) }] },
    });
  }
  const names = objects.map((o) => `${(o as { kind: string }).kind.toLowerCase()}/${objName}`);

  let made = false;
  let forwarded = false;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (made && names.length) await kubectl(['delete', ...names, '--ignore-not-found', '--wait=true']);
    if (forwarded) await releaseForward(name, nodeIp);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // A second serve of a served container fails rather than replace the first (or delete its rules later).
    if (names.length && (await kubectl(['get', ...names, '--ignore-not-found', '-o', 'name'])).stdout.trim()) {
      throw new Error(`serveContainerFiles: ${namespace}/${pod} container ${container} is already served (${names.join(', ')}); stop that first`);
    }
    if (objects.length) await kubectl(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }) });
    made = true;
    await acquireForward(name, nodeIp);
    forwarded = true;
    const target = ['-n', namespace, pod, '-c', container];
    // kubectl() drops one final newline of the output (execa's habit).
    const same = (out: string, want: string) => out === want.replace(/\r?\n$/, '');
    if (spec.log !== undefined) {
      await waitFor(`kubectl logs ${namespace}/${pod} -c ${container} served`, async () => same((await kubectl(['logs', ...target])).stdout, spec.log!), { timeoutMs: 30_000 });
    }
    if (files) {
      const [probe] = files;
      const ok = probe
        ? async () => same((await kubectl(['exec', ...target, '--', 'cat', probe[0]])).stdout, probe[1])
        : async () => (await kubectl(['exec', ...target, '--', 'true'])).exitCode === 0;
      await waitFor(`kubectl exec ${namespace}/${pod} -c ${container} served`, ok, { timeoutMs: 30_000 });
    }
  } catch (e) {
    await stop().catch(() => {});
    throw e;
  }
  return { node, nodeIp, rootfs, objects: names, stop };
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
