// `npm run demo`: the main job, shown end to end.
//
// With no KUBECONFIG it starts the local simulated cluster (real kube-apiserver, etcd, controller-manager,
// scheduler, kwok nodes, real helm and node_exporter) and a local stand-in for the Alibaba Cloud APIs
// (real TLS and request signatures, on 127.0.0.1), then runs preflight → install (which ends by verifying
// that the data arrives) → doctor → verify → upgrade → uninstall with the fixture chart, and removes
// everything it started. A simulated collector writes, into the stand-in, what the cluster's real nodes
// and pods would have sent; one verify runs with a key that may not read metrics, to show a named cause.
//
// With KUBECONFIG set it only reads your cluster: preflight (from this machine) and doctor. It never
// installs anything into a real cluster: use `kubectl insight install` for that.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { once } from 'node:events';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { delimiter, join, resolve } from 'node:path';
import { startCluster, startNetnsServer, stopCluster } from '../test/cluster/cluster.js';
import { STANDIN_METRICS } from '../test/cluster/standin-metrics.js';
import { packageFixtureCharts } from '../test/fixtures/charts/package.mjs';
import { startCloudStandin } from '../test/support/cloud-standin/server.js';
import { fromKubectlJson, startCollectorSim } from '../test/support/cloud-standin/seed.js';

const root = resolve(import.meta.dirname, '..');
const bin = join(root, 'bin/kubectl-insight.js');
const valuesFile = join(root, 'test/fixtures/values/valid.yaml');
const bold = (s: string) => (process.stdout.isTTY && !process.env.NO_COLOR ? `\u001b[1m${s}\u001b[0m` : s);

interface Step {
  args: string[];
  /** Exit codes that mean the step showed what it should. */
  expect: number[];
  input?: string;
  /** Environment changes for this step only. */
  env?: NodeJS.ProcessEnv;
}

// Async on purpose: the cloud stand-in answers from this same process, so its event loop must run.
async function insight(step: Step, env: NodeJS.ProcessEnv): Promise<boolean> {
  process.stdout.write(`\n${bold(`$ kubectl insight ${step.args.join(' ')}`)}\n`);
  // INSIGHT_DEMO_STRICT (npm run test:node): a warning the CLI prints (as a user would see it) fails the step.
  const strict = Boolean(process.env.INSIGHT_DEMO_STRICT);
  const child = spawn(process.execPath, [bin, ...step.args], { stdio: [step.input === undefined ? 'ignore' : 'pipe', 'inherit', strict ? 'pipe' : 'inherit'], env: { ...env, ...step.env } });
  if (step.input !== undefined) child.stdin!.end(step.input);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    process.stderr.write(d);
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  const warned = strict && /\bWarning: |DeprecationWarning|ExperimentalWarning/.test(stderr);
  if (warned) process.stdout.write('UNEXPECTED warning on stderr (see above)\n');
  const ok = step.expect.includes(code ?? -1) && !warned;
  process.stdout.write(`${ok ? '' : 'UNEXPECTED '}exit ${code}\n`);
  return ok;
}

async function realCluster(): Promise<number> {
  process.stdout.write(`Using your cluster (KUBECONFIG=${process.env.KUBECONFIG}); read-only: preflight and doctor.\n`);
  const env = { ...process.env };
  const steps: Step[] = [
    { args: ['preflight', '--from-local', '--only', 'cluster', '--only', 'rbac', '--only', 'conflicts'], expect: [0, 1] },
    { args: ['doctor'], expect: [0, 1] },
  ];
  let ok = true;
  for (const s of steps) ok = (await insight(s, env)) && ok;
  return ok ? 0 : 1;
}

async function localCluster(): Promise<number> {
  const name = 'demo';
  process.stdout.write('No KUBECONFIG: starting the local simulated cluster and the cloud API stand-in...\n');
  const cluster = await startCluster({ name, nodes: 3, gpuNodes: 1 });
  const charts = mkdtempSync(join(tmpdir(), 'insight-demo-charts-'));
  // The demo's own AccessKey: made up here, only the stand-in knows it.
  const accessKeyId = 'LTAI5tFixtureKeyID00000';
  const secret = randomBytes(15).toString('hex'); // 30 characters, the shape of a real one
  // A second key, like the collector's own: it may write, not read metrics.
  const writer = { accessKeyId: 'LTAI5tDemoWriteOnly0001', secret: randomBytes(15).toString('hex') };
  const standin = await startCloudStandin({
    users: [
      { accessKeyId, secret, allowedActions: ['log:*', 'cms:*'] },
      { ...writer, allowedActions: ['cms:*', 'log:Get*', 'log:RemoteWrite*', 'log:PostLogStoreLogs'] },
    ],
    projects: [{ name: 'cms-my-workspace-v9h9awniowbzg', region: 'cn-hangzhou' }],
    prometheusInstances: [{ id: 'rw-p1234567890abcdef', region: 'cn-hangzhou', workspace: 'my-workspace' }],
    regions: ['cn-hangzhou'],
  });
  const run = promisify(execFile);
  const sim = startCollectorSim({
    list: async () => {
      const kenv = { ...process.env, KUBECONFIG: cluster.kubeconfig, PATH: [cluster.binDir, process.env.PATH].join(delimiter) };
      const [n, p] = await Promise.all([run('kubectl', ['get', 'nodes', '-o', 'json'], { env: kenv, maxBuffer: 64 << 20 }), run('kubectl', ['get', 'pods', '-A', '-o', 'json'], { env: kenv, maxBuffer: 64 << 20 })]);
      const seen = fromKubectlJson(n.stdout, p.stdout);
      // Nothing is sent before the release's collector runs.
      return seen.pods.some((x) => x.namespace === 'cms-monitoring' && x.name.includes('loongcollector')) ? seen : { nodes: [], pods: [] };
    },
    store: standin,
    instanceId: 'rw-p1234567890abcdef',
    workspace: 'my-workspace',
    region: 'cn-hangzhou',
    clusterId: 'c1234567890abcdef',
  });
  try {
    const { charts: pkgs } = await packageFixtureCharts({ outDir: charts });
    const tgz = (v: string) => pkgs.find((c) => c.name === 'loongcollector-cluster-insight' && c.version === v)!.tgz;
    const helm = helmOnPath();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KUBECONFIG: cluster.kubeconfig,
      // The user's helm (3 or 4) when PATH has one, else the test bed's helm 4.
      PATH: [...(helm ? [helm.dir] : []), cluster.binDir, process.env.PATH].join(delimiter),
      ALIBABA_CLOUD_ACCESS_KEY_ID: accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: secret,
      KUBECTL_INSIGHT_ENDPOINT_OVERRIDES: JSON.stringify(standin.overrides()),
    };
    process.stdout.write(`cluster: ${cluster.nodes} kwok nodes at ${cluster.server}; cloud endpoints of cn-hangzhou answered by the stand-in on 127.0.0.1\n`);
    const helmVersion = execFileSync('helm', ['version', '--template', '{{.Version}}'], { env, encoding: 'utf8' }).trim();
    process.stdout.write(`Node.js ${process.version}; helm ${helmVersion} (${helm ? `from PATH: ${helm.path}` : 'the test bed\'s'})\n`);
    const before: Step[] = [
      { args: ['--help'], expect: [0] },
      { args: ['version'], expect: [0] },
      { args: ['preflight', '-f', valuesFile, '--from-local'], expect: [0] },
      // The fixture's node-exporter serves plain http (kubeProxy off): the local node_exporter answers on :19100.
      { args: ['install', '-f', valuesFile, '--chart', tgz('1.0.0'), '--preflight-from-local', '--set', 'kubeProxy.enabled=false', '--yes'], expect: [0] },
      { args: ['install', '-f', valuesFile, '--chart', tgz('1.0.0'), '--yes'], expect: [1] }, // already installed: refused
    ];
    const after: Step[] = [
      { args: ['doctor'], expect: [0] },
      { args: ['verify'], expect: [0] },
      // The collector's write-only key cannot read what it wrote: said as such, with the policy, exit 1.
      { args: ['verify', '--only', 'metrics'], expect: [1], env: { ALIBABA_CLOUD_ACCESS_KEY_ID: writer.accessKeyId, ALIBABA_CLOUD_ACCESS_KEY_SECRET: writer.secret } },
      { args: ['upgrade', '--chart', tgz('1.1.0'), '--yes'], expect: [0] },
      { args: ['uninstall', '--dry-run'], expect: [0] },
      { args: ['uninstall', '--yes', '--purge-crds'], expect: [0] },
      { args: ['uninstall', '--yes'], expect: [0] }, // nothing left: says so, exit 0
    ];
    let ok = true;
    for (const s of before) ok = (await insight(s, env)) && ok;
    await standInExporters(name, env);
    for (const s of after) ok = (await insight(s, env)) && ok;
    process.stdout.write(`\n${ok ? 'demo finished: every step did what it should' : 'demo: some step did not do what it should (see above)'}\n`);
    return ok ? 0 : 1;
  } finally {
    sim.stop();
    await standin.close();
    rmSync(charts, { recursive: true, force: true });
    await stopCluster(name);
  }
}

/** The `helm` the user's PATH resolves to, if any (the demo runs with it, whichever major it is). */
function helmOnPath(): { dir: string; path: string } | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const path = join(dir, 'helm');
    try {
      accessSync(path, constants.X_OK);
      return { dir, path };
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * kwok's pods run no process: node_exporter (real, on every node IP) is the harness's; give the other
 * components' pod IPs stand-in exporters, the nodes a kubelet stand-in, and the custom resource the status
 * the real operator would write, so doctor has a healthy installation to report on.
 */
async function standInExporters(name: string, env: NodeJS.ProcessEnv): Promise<void> {
  const kubectl = (...args: string[]) => execFileSync('kubectl', args, { env, encoding: 'utf8' });
  const podIp = (app: string) => kubectl('get', 'pods', '-n', 'cms-monitoring', '-l', `app.kubernetes.io/name=${app}`, '-o', 'jsonpath={.items[0].status.podIP}');
  await startNetnsServer(name, { ip: podIp('kube-state-metrics'), port: 8080, mode: 'http', body: STANDIN_METRICS.kubeStateMetrics });
  await startNetnsServer(name, { ip: podIp('loongcollector-operator'), port: 8888, mode: 'http', body: STANDIN_METRICS.operator });
  await startNetnsServer(name, { ip: podIp('gpu-exporter'), port: 9445, mode: 'http', body: STANDIN_METRICS.gpuExporter });
  for (const ip of kubectl('get', 'nodes', '-o', 'jsonpath={.items[*].status.addresses[?(@.type=="InternalIP")].address}').split(' ')) {
    await startNetnsServer(name, { ip, port: 10250, mode: 'https', body: STANDIN_METRICS.kubelet });
  }
  const cr = kubectl('get', 'clusteraliyunpipelineconfigs', '-o', 'jsonpath={.items[0].metadata.name}');
  kubectl('patch', 'clusteraliyunpipelineconfigs', cr, '--subresource=status', '--type=merge', '-p', '{"status":{"success":true,"message":"applied"}}');
}

process.exitCode = await (process.env.KUBECONFIG ? realCluster() : localCluster());
