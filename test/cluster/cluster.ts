// The local test cluster: etcd + kube-apiserver + kube-controller-manager + kube-scheduler on 127.0.0.1,
// kwok playing N nodes, node_exporter answering for every node inside a network namespace, and the
// operator finalizer stand-in. With the namespace, kwok also runs its kubelet-like server (pods/log and
// pods/exec from ClusterLogs/ClusterExec rules, see startKubeletForward). Used by `npm run cluster:up|down`
// (cli.ts) and by the e2e global setup.
// Everything a cluster owns (pids, files, the namespace) is listed in <root>/<name>/state.json, so
// stopCluster() leaves nothing behind.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile, rename, rmdir, symlink } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createPki, servingCert } from './pki.js';
import { writeKubeconfig } from './pki.js';
import { createNetns, deleteNetns, netnsUnavailableReason, nodeIp, planNetwork, startInNetns, MAX_CLUSTERS, type NetPlan } from './netns.js';
import { freePort, isAlive, rssMiB, run, startDaemon, stopProcess, until, type ProcRecord } from './procs.js';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../..');

/** Label kwok selects the nodes it manages by; removing it from a node stops its heartbeat. */
export const KWOK_NODE_LABEL = 'kwok.x-k8s.io/node';
/** The label the fixture chart's gpu-exporter DaemonSet requires (gpuExporter.gpuNodeLabelKey, as ACK sets it). */
export const GPU_NODE_LABEL = 'aliyun.accelerator/nvidia_name';
export const NODE_EXPORTER_PORT = 19100;
/** Annotation the harness's kwok stages read on pods and nodes (values in stages/*.yaml). */
export const SCENARIO_ANNOTATION = 'insight.test/scenario';
/** The port kube-apiserver dials a node's kubelet on: our nodes leave daemonEndpoints unset (0 means 10250). */
export const KUBELET_PORT = 10250;
/** kwok rule kinds its server watches as objects (--enable-crds), so tests add and remove rules at run time. */
export const KWOK_RULE_KINDS = ['ClusterLogs', 'Logs', 'ClusterExec', 'Exec'] as const;
const KWOK_RULE_CRDS = ['clusterlogs', 'logs', 'clusterexecs', 'execs'];
/** Tools a pod's exec may start with: symlinks to container-exec.sh first on kwok's PATH (see that script). */
const EXEC_SHIMS = ['sh', 'bash', 'tail', 'head', 'cat', 'ls', 'grep', 'find', 'wc', 'stat'];

export interface ClusterState {
  name: string;
  dir: string;
  kubeconfig: string;
  binDir: string;
  server: string;
  nodes: number;
  /** Nodes created so far (start + added by tests): the next node gets this index. */
  nextNodeIndex: number;
  /** The vitest process that owns this cluster; a cluster whose owner died is reaped on the next start. */
  ownerPid?: number;
  net: NetPlan;
  /** null when the namespace could not be made; netnsSkipReason says why. */
  netns: string | null;
  netnsSkipReason?: string;
  /** host:port of kwok's server (TLS) on the host side of the veth; only with the namespace. */
  kwokServer?: string;
  pki: { dir: string; caCert: string; caKey: string };
  leaseDurationSeconds: number;
  nodeMonitorGracePeriodSeconds: number;
  processes: ProcRecord[];
  startedAt: string;
  readyAfterMs?: number;
}

export interface StartOptions {
  name?: string;
  nodes?: number;
  /** Label the last N nodes as GPU nodes (GPU_NODE_LABEL). */
  gpuNodes?: number;
  ownerPid?: number;
  /** Progress lines; default: stderr. */
  log?: (line: string) => void;
}

export function cacheDir(): string {
  return process.env.KUBECTL_INSIGHT_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kubectl-insight');
}

export function clustersRoot(): string {
  return process.env.KUBECTL_INSIGHT_CLUSTERS ?? join(tmpdir(), 'kubectl-insight-clusters');
}

const stateFile = (name: string) => join(clustersRoot(), name, 'state.json');

export function readState(name: string): ClusterState | undefined {
  try {
    return JSON.parse(readFileSync(stateFile(name), 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

async function writeState(s: ClusterState): Promise<void> {
  const f = stateFile(s.name);
  const tmp = `${f}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, JSON.stringify(s, null, 2));
  await rename(tmp, f);
}

let stateLock: Promise<unknown> = Promise.resolve();

/** Read-modify-write of a running cluster's state, one at a time within this process (tests run serially). */
function updateState(name: string, mutate: (s: ClusterState) => void): Promise<ClusterState> {
  const next = stateLock.then(async () => {
    const s = readState(name);
    if (!s) throw new Error(`no cluster ${name}`);
    mutate(s);
    await writeState(s);
    return s;
  });
  stateLock = next.catch(() => {});
  return next;
}

export function listClusters(): ClusterState[] {
  if (!existsSync(clustersRoot())) return [];
  return readdirSync(clustersRoot())
    .filter((n) => !n.startsWith('.'))
    .map((n) => readState(n))
    .filter((s): s is ClusterState => s !== undefined);
}

/** The harness cluster a kubeconfig path belongs to, if any (lets a user-started cluster serve the e2e suite). */
export function findClusterByKubeconfig(path: string): ClusterState | undefined {
  const p = resolve(path);
  return listClusters().find((s) => resolve(s.kubeconfig) === p);
}

/** Runs build.sh (seconds when warm) and returns the bin dir it prints. */
export async function ensureBinaries(log: (l: string) => void = () => {}): Promise<string> {
  const bin = join(cacheDir(), 'bin');
  const needed = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl', 'etcd', 'kwok', 'helm'];
  if (needed.every((b) => existsSync(join(bin, b))) && existsSync(kwokCrdDir())) return bin;
  log('binaries or kwok CRDs missing: running test/cluster/build.sh (a cold build takes several minutes)');
  const { stdout } = await run('bash', [join(here, 'build.sh')]);
  return stdout.trim().split('\n').pop() ?? bin;
}

/** kwok's CRD manifests, copied from its module download by build.sh. */
function kwokCrdDir(): string {
  return join(cacheDir(), 'kwok-crds');
}

function nodeExporterBinary(): string | undefined {
  return ['/usr/bin/prometheus-node-exporter', '/usr/local/bin/node_exporter', '/usr/bin/node_exporter'].find((p) => existsSync(p));
}

/** Picks a free slot (node/pod ranges, namespace and veth names) with an atomic mkdir. */
export async function claimSlot(root: string, name: string): Promise<number> {
  // The root may have just been removed by stopCluster() reaping the last orphan.
  await mkdir(root, { recursive: true });
  for (let i = 0; i < MAX_CLUSTERS; i++) {
    const lock = join(root, `.slot-${i}`);
    try {
      await mkdir(lock);
    } catch (e) {
      // Only an existing lock means taken; any other failure is the real problem and is reported as it is.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (!slotIsStale(lock)) continue;
      await rm(lock, { recursive: true, force: true });
      await mkdir(lock);
    }
    await writeFile(join(lock, 'owner'), name);
    return i;
  }
  throw new Error(`no free cluster slot (${MAX_CLUSTERS} clusters running?): run \`npm run cluster:down -- --all\``);
}

/**
 * A slot is stale when its cluster is gone: no state (a start that crashed before writing it; the lock's
 * age guards the moment between the mkdir and the state write), or a state none of whose processes lives.
 */
function slotIsStale(lock: string): boolean {
  const owner = readFileSafe(join(lock, 'owner'));
  const old = Date.now() - statSync(lock).mtimeMs > 120_000;
  if (owner === undefined) return old;
  const state = readState(owner);
  if (!state) return old;
  return state.processes.length > 0 && state.processes.every((p) => !isAlive(p.pid));
}

function readFileSafe(p: string): string | undefined {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

/** Stops clusters whose owning test run died without tearing them down. */
export async function reapOrphans(log: (l: string) => void = () => {}): Promise<void> {
  for (const s of listClusters()) {
    if (s.ownerPid !== undefined && !isAlive(s.ownerPid)) {
      log(`removing cluster ${s.name} left by dead process ${s.ownerPid}`);
      await stopCluster(s.name);
    } else if (s.processes.length > 0 && s.processes.every((p) => !isAlive(p.pid))) {
      log(`removing cluster ${s.name}: none of its processes runs any more`);
      await stopCluster(s.name);
    }
  }
}

export async function startCluster(opts: StartOptions = {}): Promise<ClusterState> {
  const t0 = Date.now();
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const step = (msg: string) => log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
  const name = opts.name ?? 'default';
  const nodes = opts.nodes ?? 3;
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`invalid cluster name ${name}`);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 5000) throw new Error(`--nodes must be 1..5000, got ${nodes}`);

  const binDir = await ensureBinaries(log);
  const root = clustersRoot();
  await mkdir(root, { recursive: true });
  await reapOrphans(log);
  if (readState(name)) throw new Error(`cluster ${name} already exists; run \`npm run cluster:down${name === 'default' ? '' : ` -- --name ${name}`}\` first`);

  const index = await claimSlot(root, name);
  const net = planNetwork(index);
  const dir = join(root, name);
  await mkdir(join(dir, 'logs'), { recursive: true });
  const bin = (b: string) => join(binDir, b);
  const logf = (b: string) => join(dir, 'logs', `${b}.log`);
  // Scale mode: kwok renews every lease each duration/4; on 2 cores 1000 nodes need long leases, and the
  // node lifecycle controller's grace period must stay longer than the lease or nodes flap to Unknown.
  const scale = nodes > 100;
  const leaseDurationSeconds = scale ? 240 : 20;
  const nodeMonitorGracePeriodSeconds = scale ? 300 : 40;
  const state: ClusterState = {
    name, dir, kubeconfig: join(dir, 'kubeconfig'), binDir, server: '', nodes, nextNodeIndex: 0, ownerPid: opts.ownerPid, net,
    netns: null, pki: { dir: join(dir, 'pki'), caCert: '', caKey: '' }, leaseDurationSeconds, nodeMonitorGracePeriodSeconds,
    processes: [], startedAt: new Date().toISOString(),
  };
  await writeState(state);

  try {
    const unavailable = netnsUnavailableReason();
    const [pki, etcdPort, etcdPeerPort, apiPort] = await Promise.all([
      createPki(state.pki.dir, net.serviceIp),
      freePort(),
      freePort(),
      freePort(),
      // This slot is ours (claimed above): a half-made namespace is removed here, not by a later stopCluster.
      unavailable ? Promise.resolve() : createNetns(net).then(() => void (state.netns = net.netns), async (e: unknown) => {
        await deleteNetns(net);
        throw e;
      }),
    ]);
    if (unavailable) state.netnsSkipReason = unavailable;
    state.pki.caCert = pki.caCert;
    state.pki.caKey = pki.caKey;
    state.server = `https://127.0.0.1:${apiPort}`;
    await writeKubeconfig(state.kubeconfig, { server: state.server, caCert: pki.caCert, cert: pki.adminCert, key: pki.adminKey, user: 'kubernetes-admin' });
    step(`certificates ready${state.netns ? `, network namespace ${state.netns}` : ` (no network namespace: ${unavailable})`}`);

    const add = async (p: ProcRecord) => {
      state.processes.push(p);
      await writeState(state);
    };
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    await add(startDaemon('etcd', bin('etcd'), [
      '--name=default', `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`, `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`, `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
      // A throwaway store: skipping fsync makes it several times faster on a shared disk.
      '--unsafe-no-fsync', '--quota-backend-bytes=4294967296', '--log-level=warn',
    ], logf('etcd')));
    await until('etcd', async () => (await fetch(`${etcdUrl}/health`)).ok, 30_000, 100);
    step('etcd ready');

    await add(startDaemon('kube-apiserver', bin('kube-apiserver'), [
      `--etcd-servers=${etcdUrl}`, '--bind-address=127.0.0.1', `--secure-port=${apiPort}`, `--advertise-address=${net.advertiseIp}`,
      `--service-cluster-ip-range=${net.serviceCidr}`, '--authorization-mode=RBAC', '--allow-privileged=true',
      `--client-ca-file=${pki.caCert}`, `--tls-cert-file=${pki.serverCert}`, `--tls-private-key-file=${pki.serverKey}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local', `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`, '--kubelet-preferred-address-types=InternalIP', '--profiling=false',
      '--event-ttl=1h',
    ], logf('kube-apiserver')));
    await until('kube-apiserver /readyz', async () => (await run(bin('kubectl'), ['--kubeconfig', state.kubeconfig, 'get', '--raw', '/readyz'], { allowFail: true })).stdout.trim() === 'ok', 90_000, 250);
    step('kube-apiserver ready');

    const kc = ['--kubeconfig', state.kubeconfig];
    await add(startDaemon('kube-controller-manager', bin('kube-controller-manager'), [
      `--kubeconfig=${state.kubeconfig}`, '--leader-elect=false', '--secure-port=0',
      `--service-account-private-key-file=${pki.saKey}`, `--root-ca-file=${pki.caCert}`,
      `--cluster-signing-cert-file=${pki.caCert}`, `--cluster-signing-key-file=${pki.caKey}`,
      `--node-monitor-grace-period=${nodeMonitorGracePeriodSeconds}s`, '--node-monitor-period=5s',
      `--service-cluster-ip-range=${net.serviceCidr}`,
      // DaemonSets on 1000 nodes create 1000 pods each; the default 20 QPS would take minutes.
      '--kube-api-qps=300', '--kube-api-burst=600',
    ], logf('kube-controller-manager')));
    await add(startDaemon('kube-scheduler', bin('kube-scheduler'), [
      `--kubeconfig=${state.kubeconfig}`, '--leader-elect=false', '--secure-port=0', '--kube-api-qps=300', '--kube-api-burst=600',
    ], logf('kube-scheduler')));
    const kwokArgs = [
      `--kubeconfig=${state.kubeconfig}`, `--manage-nodes-with-label-selector=${KWOK_NODE_LABEL}=fake`,
      `--cidr=${net.podCidr}`, `--node-lease-duration-seconds=${leaseDurationSeconds}`,
      '--config', join(here, 'stages', 'nodes.yaml'), '--config', join(here, 'stages', 'pods.yaml'),
    ];
    let kwokEnv: NodeJS.ProcessEnv | undefined;
    if (state.netns) {
      // kwok's server plays every node's kubelet for pods/log and pods/exec. It listens on the host end of
      // the veth, the one host address the namespace reaches; startKubeletForward makes a node's IP:10250
      // lead there. Not --node-port: that would also go into the nodes' daemonEndpoints (our node stages
      // leave them unset, so the API server keeps dialling 10250, as doctor's kubelet stand-ins expect).
      const [kwokPort, cert] = await Promise.all([
        freePort(),
        servingCert(state.pki.dir, 'kwok-server', 'kwok-server', [net.hostLinkIp, '127.0.0.1'], { cert: pki.caCert, key: pki.caKey }),
        applyKwokCrds(state),
      ]);
      state.kwokServer = `${net.hostLinkIp}:${kwokPort}`;
      const shims = await execShimDir(dir);
      kwokArgs.push(`--server-address=${state.kwokServer}`, `--tls-cert-file=${cert.cert}`, `--tls-private-key-file=${cert.key}`, `--enable-crds=${KWOK_RULE_KINDS.join(',')}`);
      kwokEnv = { ...process.env, PATH: `${shims}:${process.env.PATH ?? '/usr/bin:/bin'}`, INSIGHT_E2E_SHIM_DIR: shims };
    }
    await add(startDaemon('kwok', bin('kwok'), kwokArgs, logf('kwok'), kwokEnv));
    await add(startDaemon('operator-standin', process.execPath, ['--import', tsxLoader(), join(here, 'operator-standin.ts'), state.kubeconfig], logf('operator-standin')));
    if (state.netns) {
      const ne = nodeExporterBinary();
      if (ne) {
        await add(startInNetns(state.netns, 'node-exporter', ne, [`--web.listen-address=:${NODE_EXPORTER_PORT}`], logf('node-exporter')));
      } else {
        state.netnsSkipReason = 'prometheus-node-exporter is not installed: run `npm run setup`';
        step(`warning: ${state.netnsSkipReason}`);
      }
    }
    step('controllers, scheduler, kwok and operator stand-in started');
    if (state.kwokServer) {
      const [host, port] = splitHostPort(state.kwokServer);
      await waitForPort(host, port, 30_000);
      step(`kwok server on ${state.kwokServer}`);
    }

    await createNodes(state, nodes, opts.gpuNodes ?? 0);
    step(`${nodes} nodes created`);
    await until(`${nodes} Ready nodes`, async () => (await countReadyNodes(state)) >= nodes, scale ? 600_000 : 60_000, scale ? 2000 : 250);
    step(`${nodes} nodes Ready`);
    // Pods in `default` are rejected until the service-account controller made the `default` ServiceAccount.
    await until('default ServiceAccount', async () => (await run(bin('kubectl'), [...kc, 'get', 'serviceaccount', 'default', '-n', 'default'], { allowFail: true })).code === 0, 60_000, 250);
    for (const p of state.processes) if (!isAlive(p.pid)) throw new Error(`${p.name} exited; see ${p.log}`);
    state.readyAfterMs = Date.now() - t0;
    await writeState(state);
    step(`cluster ${name} ready; RSS ${rssMiB(state.processes.map((p) => p.pid))} MiB`);
    return state;
  } catch (e) {
    log(`start failed: ${(e as Error).message}`);
    for (const p of state.processes) log(`--- ${p.name} (${p.log}), last lines:\n${tail(p.log, 8)}`);
    await stopCluster(name);
    throw e;
  }
}

/** The CRDs of the kwok rules the server watches; kwok fails to start its server when one is missing. */
async function applyKwokCrds(state: ClusterState): Promise<void> {
  const kubectl = join(state.binDir, 'kubectl');
  const kc = ['--kubeconfig', state.kubeconfig];
  await run(kubectl, [...kc, 'apply', '--server-side', ...KWOK_RULE_CRDS.flatMap((c) => ['-f', join(kwokCrdDir(), `kwok.x-k8s.io_${c}.yaml`)])]);
  // Polled, not `kubectl wait`: that fails on a CRD whose status has no condition yet.
  const jsonpath = 'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Established")].status}{"\\n"}{end}';
  await until('kwok CRDs Established', async () => {
    const { stdout } = await run(kubectl, [...kc, 'get', 'crd', ...KWOK_RULE_CRDS.map((c) => `${c}.kwok.x-k8s.io`), '-o', jsonpath]);
    return stdout.split('\n').filter((l) => l === 'True').length === KWOK_RULE_CRDS.length;
  }, 60_000, 100);
}

/** <cluster dir>/exec-shims: sh, tail, ... as symlinks to container-exec.sh, for kwok's PATH. */
async function execShimDir(dir: string): Promise<string> {
  const shims = join(dir, 'exec-shims');
  await mkdir(shims, { recursive: true });
  await Promise.all(EXEC_SHIMS.map((t) => symlink(join(here, 'container-exec.sh'), join(shims, t))));
  return shims;
}

function splitHostPort(hp: string): [string, number] {
  const i = hp.lastIndexOf(':');
  return [hp.slice(0, i), Number(hp.slice(i + 1))];
}

function tail(file: string, n: number): string {
  return (readFileSafe(file) ?? '').trimEnd().split('\n').slice(-n).join('\n');
}

/** tsx's ESM loader for `node --import` (createRequire: vite's module runner has no import.meta.resolve). */
function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

export interface NodeSpec {
  name: string;
  ip: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function nodeName(i: number): string {
  return `kwok-node-${i}`;
}

/** A Node object as kubelet would register it; kwok keeps the InternalIP we set. */
export function nodeManifest(spec: NodeSpec): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: spec.name,
      labels: {
        'kubernetes.io/hostname': spec.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'beta.kubernetes.io/arch': 'amd64',
        [KWOK_NODE_LABEL]: 'fake',
        ...spec.labels,
      },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', ...spec.annotations },
    },
    spec: { providerID: `kwok://${spec.name}` },
    status: {
      addresses: [
        { type: 'InternalIP', address: spec.ip },
        { type: 'Hostname', address: spec.name },
      ],
      capacity: { cpu: '32', memory: '128Gi', pods: '110', 'ephemeral-storage': '200Gi' },
      allocatable: { cpu: '31800m', memory: '125Gi', pods: '110', 'ephemeral-storage': '190Gi' },
      nodeInfo: {
        architecture: 'amd64', operatingSystem: 'linux', osImage: 'Debian GNU/Linux 12 (bookworm)', kernelVersion: '6.1.0-kwok',
        containerRuntimeVersion: 'containerd://2.0.0', kubeletVersion: readK8sVersion(), kubeProxyVersion: '', bootID: '', machineID: '', systemUUID: '',
      },
    },
  };
}

function readK8sVersion(): string {
  const m = /K8S_VERSION=(\S+)/.exec(readFileSafe(join(here, 'versions.env')) ?? '');
  return m?.[1] ?? 'v1.36.0';
}

export function gpuLabels(model = 'Tesla-T4'): Record<string, string> {
  return { [GPU_NODE_LABEL]: model };
}

/** Creates nodes with `kubectl create` of one List (far faster than one call per node). */
async function createNodes(state: ClusterState, count: number, gpuNodes: number): Promise<void> {
  const specs: NodeSpec[] = [];
  for (let k = 0; k < count; k++) {
    const i = state.nextNodeIndex + k;
    specs.push({ name: nodeName(i), ip: nodeIp(state.net, i), labels: k >= count - gpuNodes ? gpuLabels() : {} });
  }
  await applyNodes(state, specs);
  state.nextNodeIndex += count;
  await writeState(state);
}

export async function applyNodes(state: ClusterState, specs: NodeSpec[]): Promise<void> {
  // kubectl creates a List's items one by one under its client rate limit, so 1000 nodes go as four
  // kubectl processes in parallel. Status is kept on create: the InternalIP is there from the start.
  const chunk = Math.max(50, Math.ceil(specs.length / 4));
  const lists: NodeSpec[][] = [];
  for (let i = 0; i < specs.length; i += chunk) lists.push(specs.slice(i, i + chunk));
  await Promise.all(lists.map((l) => run(join(state.binDir, 'kubectl'), ['--kubeconfig', state.kubeconfig, 'create', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: l.map(nodeManifest) }),
  })));
}

/** Adds nodes to a running cluster (next free indexes); returns their names and IPs. */
export async function addNodes(name: string, count: number, extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}): Promise<NodeSpec[]> {
  const state = readState(name);
  if (!state) throw new Error(`no cluster ${name}`);
  const specs: NodeSpec[] = [];
  for (let k = 0; k < count; k++) {
    const i = state.nextNodeIndex + k;
    specs.push({ name: nodeName(i), ip: nodeIp(state.net, i), labels: extra.labels, annotations: extra.annotations });
  }
  // Claim the indexes first, so a concurrent addNodes never reuses them.
  await updateState(name, (s) => void (s.nextNodeIndex = Math.max(s.nextNodeIndex, state.nextNodeIndex + count)));
  await applyNodes(state, specs);
  return specs;
}

async function countReadyNodes(state: ClusterState): Promise<number> {
  const { stdout } = await run(join(state.binDir, 'kubectl'), [
    '--kubeconfig', state.kubeconfig, 'get', 'nodes', '-o', 'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
  ]);
  return stdout.split('\n').filter((l) => l === 'True').length;
}

/** Kills every process of the cluster, removes its namespace and every file. Returns false if it did not exist. */
export async function stopCluster(name: string): Promise<boolean> {
  const state = readState(name);
  const dir = join(clustersRoot(), name);
  if (!state && !existsSync(dir)) return false;
  if (state) {
    // Clients first (all at once), etcd last, so the apiserver does not log storms of errors meanwhile.
    const [etcd, others] = [state.processes.filter((p) => p.name === 'etcd'), state.processes.filter((p) => p.name !== 'etcd')];
    await Promise.all(others.map((p) => stopProcess(p, 3000)));
    await Promise.all(etcd.map((p) => stopProcess(p, 3000)));
    // Only a namespace this cluster made: a state without one must never touch the slot's kernel objects
    // (another cluster may hold them).
    if (state.netns) await deleteNetns(state.net);
    await rm(join(clustersRoot(), `.slot-${state.net.index}`), { recursive: true, force: true });
  }
  await rm(dir, { recursive: true, force: true });
  await rmdir(clustersRoot()).catch(() => {}); // only if empty
  return true;
}

export async function stopAllClusters(): Promise<string[]> {
  const names = listClusters().map((s) => s.name);
  for (const n of names) await stopCluster(n);
  return names;
}

/** Sum of the resident memory of the cluster's processes, in MiB. */
export function clusterRss(state: ClusterState): number {
  return rssMiB(state.processes.map((p) => p.pid));
}


// ---- services inside the network namespace -------------------------------------------------------------

async function netnsState(name: string): Promise<ClusterState & { netns: string }> {
  const state = readState(name);
  if (!state) throw new Error(`no cluster ${name}`);
  if (!state.netns) throw new Error(`cluster ${name} has no network namespace: ${state.netnsSkipReason}`);
  return state as ClusterState & { netns: string };
}

/** Waits until a TCP connect from the host to ip:port succeeds (through the veth route). */
export async function waitForPort(ip: string, port: number, timeoutMs = 10_000): Promise<void> {
  const { connect } = await import('node:net');
  await until(`${ip}:${port} listening`, () => new Promise<boolean>((res) => {
    const s = connect({ host: ip, port, timeout: 500 });
    s.once('connect', () => { s.destroy(); res(true); });
    s.once('error', () => res(false));
    s.once('timeout', () => { s.destroy(); res(false); });
  }), timeoutMs, 100);
}

/** A self-signed serving certificate, as kube-rbac-proxy makes when given none: clients cannot verify it. */
async function selfSignedCert(dir: string, base: string, cn: string, ips: string[]): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${base}.crt`);
  const key = join(dir, `${base}.key`);
  if (existsSync(cert) && existsSync(key)) return { cert, key };
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '30',
    '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${['DNS:localhost', ...ips.map((i) => `IP:${i}`)].join(',')}`,
  ]);
  return { cert, key };
}

/**
 * Restarts the namespace's node_exporter serving plain http (node-exporter with kubeProxy.enabled=false)
 * or https with a self-signed certificate (the chart's default: kube-rbac-proxy in front, TLS on 19100).
 */
export async function setNodeExporterTls(name: string, tls: boolean): Promise<void> {
  const state = await netnsState(name);
  const ne = nodeExporterBinary();
  if (!ne) throw new Error('prometheus-node-exporter is not installed: run `npm run setup`');
  const old = state.processes.filter((p) => p.name === 'node-exporter');
  await Promise.all(old.map((p) => stopProcess(p, 3000)));
  const args = [`--web.listen-address=:${NODE_EXPORTER_PORT}`];
  if (tls) {
    const { cert, key } = await selfSignedCert(state.pki.dir, 'node-exporter-selfsigned', 'node-exporter', [nodeIp(state.net, 0)]);
    const webConfig = join(state.pki.dir, 'node-exporter-web.yml');
    await writeFile(webConfig, `tls_server_config:\n  cert_file: ${cert}\n  key_file: ${key}\n`);
    args.push(`--web.config.file=${webConfig}`);
  }
  const p = startInNetns(state.netns, 'node-exporter', ne, args, join(state.dir, 'logs', 'node-exporter.log'));
  await updateState(name, (s) => void (s.processes = [...s.processes.filter((x) => x.name !== 'node-exporter'), p]));
  await waitForPort(nodeIp(state.net, 0), NODE_EXPORTER_PORT);
}

export interface NetnsServerSpec {
  /** An IP inside the node or pod range (a node's InternalIP, or a pod IP). */
  ip: string;
  port: number;
  mode: 'http' | 'https' | 'blackhole' | 'forward';
  /** forward: host:port every connection is piped to. */
  target?: string;
  status?: number;
  body?: string;
  contentType?: string;
}

export interface NetnsServer extends NetnsServerSpec {
  pid: number;
  /** http(s)://ip:port, for tests that connect from the host through the veth route. */
  url: string;
  /** The certificate an https server presents (self-signed). */
  certFile?: string;
}

/** Starts a stand-in exporter in the namespace, recorded in the cluster state so cluster:down kills it. */
export async function startNetnsServer(name: string, spec: NetnsServerSpec): Promise<NetnsServer> {
  const state = await netnsState(name);
  const tag = `netns-server-${spec.ip}-${spec.port}`;
  let tls: { cert: string; key: string } | undefined;
  if (spec.mode === 'https') tls = await selfSignedCert(state.pki.dir, tag, `insight-test-${spec.ip}`, [spec.ip]);
  // No `host` in the server's spec: it listens on every address of the namespace (spec.ip is where the
  // readiness check connects), as these stand-ins always have.
  const pid = await spawnNetnsServer(state, tag, { ...spec, certFile: tls?.cert, keyFile: tls?.key }, spec.ip, spec.port);
  const scheme = spec.mode === 'https' ? 'https' : 'http';
  return { ...spec, pid, url: `${scheme}://${spec.ip}:${spec.port}`, certFile: tls?.cert };
}

/** Runs netns-server.ts with `serverSpec` in the namespace and waits until ip:port accepts; returns the pid. */
async function spawnNetnsServer(state: ClusterState & { netns: string }, tag: string, serverSpec: Record<string, unknown>, ip: string, port: number): Promise<number> {
  const p = startInNetns(state.netns, tag, process.execPath, ['--import', tsxLoader(), join(here, 'netns-server.ts'), JSON.stringify(serverSpec)], join(state.dir, 'logs', `${tag}.log`));
  await updateState(state.name, (s) => void s.processes.push(p));
  try {
    await waitForPort(ip, port, 20_000);
  } catch (e) {
    await stopNetnsServer(state.name, p.pid);
    throw new Error(`${(e as Error).message}\n${tail(p.log, 5)}`);
  }
  return p.pid;
}

/**
 * Makes one node's kubelet port (<node IP>:10250 inside the namespace) a TCP forward to kwok's server, so
 * `kubectl logs` and `kubectl exec` of pods on that node reach kwok through the real API server. It binds
 * that node's IP only, and runs only while a test asks for it: doctor's kubelet stand-ins
 * (startNetnsServer on :10250, listening on every address of the namespace) need the port free.
 * Stop it with stopNetnsServer(name, pid).
 */
export async function startKubeletForward(name: string, nodeIp: string): Promise<NetnsServer> {
  const state = await netnsState(name);
  if (!state.kwokServer) throw new Error(`cluster ${name} runs no kwok server (it was started before kwok's server was part of the harness): restart it`);
  const spec: NetnsServerSpec = { ip: nodeIp, port: KUBELET_PORT, mode: 'forward', target: state.kwokServer };
  const pid = await spawnNetnsServer(state, `kubelet-forward-${nodeIp}`, { mode: 'forward', host: nodeIp, port: KUBELET_PORT, target: state.kwokServer }, nodeIp, KUBELET_PORT);
  return { ...spec, pid, url: `https://${nodeIp}:${KUBELET_PORT}` };
}

export async function stopNetnsServer(name: string, pid: number): Promise<void> {
  const state = readState(name);
  if (!state) return;
  const p = state.processes.find((x) => x.pid === pid);
  if (!p) return;
  await stopProcess(p, 2000);
  await updateState(name, (s) => void (s.processes = s.processes.filter((x) => x.pid !== pid)));
}

/** A kubeconfig for another user (client certificate signed by the cluster CA), for RBAC tests. */
export async function mintKubeconfig(name: string, user: string, groups: string[] = []): Promise<string> {
  const state = readState(name);
  if (!state) throw new Error(`no cluster ${name}`);
  const { clientCert } = await import('./pki.js');
  const safe = user.replace(/[^a-zA-Z0-9-]/g, '_');
  const { cert, key } = await clientCert(state.pki.dir, `user-${safe}`, user, groups, { cert: state.pki.caCert, key: state.pki.caKey });
  const path = join(state.dir, `kubeconfig-${safe}`);
  await writeKubeconfig(path, { server: state.server, caCert: state.pki.caCert, cert, key, user });
  return path;
}
