// npm run bench:doctor [-- --nodes 1000 --other-pods 3000 --runs 5 --blackhole 0.05 --keep]
//
// On a local control plane with N kwok nodes (the test harness): the fixture chart (node-exporter on every
// node, answered by the real node_exporter in the harness's network namespace), a few thousand other pods,
// and 5% of the node IPs black-holed (packets to them dropped silently inside the namespace). Prints, from
// one run: doctor's median wall time and peak RSS, `kubectl get pods -A -o json`'s median wall time on the
// same cluster, their ratio, and what the black-holed exporters cost (doctor with vs without them).
// Targets (issue 7): ratio <= 2, black-hole cost <= probe timeout + 2 s, peak RSS < 250 MB.
import { execa } from 'execa';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { nodeIp } from '../test/cluster/netns.js';
import { readState, startCluster, stopCluster } from '../test/cluster/cluster.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000' },
    'other-pods': { type: 'string', default: '3000' },
    runs: { type: 'string', default: '5' },
    blackhole: { type: 'string', default: '0.05' },
    'probe-timeout': { type: 'string', default: '3s' },
    name: { type: 'string', default: 'bench-doctor' },
    keep: { type: 'boolean', default: false },
  },
});
const N = Number(values.nodes);
const OTHER = Number(values['other-pods']);
const RUNS = Number(values.runs);
const log = (m: string) => process.stderr.write(`[bench:doctor] ${m}\n`);
/**
 * A private copy of the built CLI: other people rebuild dist/ while the bench runs, and a half-written
 * dist/ would fail a run. node_modules is linked, not copied.
 */
function privateCli(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-doctor-cli-'));
  for (const f of ['bin', 'dist', 'package.json']) cpSync(join(root, f), join(dir, f), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'bin/kubectl-insight.js');
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const existing = readState(values.name);
  const state = existing ?? (await startCluster({ name: values.name, nodes: N, log: (l) => log(l) }));
  if (!state.netns) throw new Error(`the harness has no network namespace: ${state.netnsSkipReason}`);
  const env = { ...process.env, KUBECONFIG: state.kubeconfig, PATH: `${state.binDir}:${process.env.PATH}` };
  const sh = (cmd: string, args: string[], input?: string) => execa(cmd, args, { env, input, timeout: 900_000 });
  try {
    // The installation: node-exporter on every node over plain http (the namespace's node_exporter).
    const installed = (await sh('helm', ['list', '-n', 'cms-monitoring', '-q'])).stdout.includes('aliyun-loongcollector-cluster-insight');
    if (!installed) {
      log('installing the fixture chart');
      await sh('helm', ['install', 'aliyun-loongcollector-cluster-insight', join(root, 'test/fixtures/charts/loongcollector-cluster-insight'), '-n', 'cms-monitoring', '--create-namespace',
        '-f', join(root, 'test/fixtures/values/valid.yaml'), '-f', '-', '--set', 'kubeProxy.enabled=false', '--set', 'gpuExporter.enabled=false'], 'accessKeySecret: bench-not-a-secret\n');
    }
    // A few thousand other pods elsewhere: what `kubectl get pods -A` must also list.
    await sh('kubectl', ['create', 'namespace', 'bench-load'], undefined).catch(() => undefined);
    await sh('kubectl', ['apply', '-n', 'bench-load', '-f', '-'], JSON.stringify({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'load' },
      spec: { replicas: OTHER, selector: { matchLabels: { app: 'load' } }, template: { metadata: { labels: { app: 'load' } }, spec: { tolerations: [{ operator: 'Exists' }], containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '1m', memory: '1Mi' } } }] } } },
    }));
    const t0 = Date.now();
    for (;;) {
      const ds = JSON.parse((await sh('kubectl', ['get', 'ds', '-n', 'cms-monitoring', 'cms-node-exporter', '-o', 'json'])).stdout);
      const dep = JSON.parse((await sh('kubectl', ['get', 'deploy', '-n', 'bench-load', 'load', '-o', 'json'])).stdout);
      const neReady = ds.status?.numberReady ?? 0;
      const loadReady = dep.status?.readyReplicas ?? 0;
      log(`waiting: node-exporter ${neReady}/${N}, other pods ${loadReady}/${OTHER}`);
      if (neReady >= N && loadReady >= OTHER) break;
      if (Date.now() - t0 > 1_200_000) throw new Error('pods did not become ready in 20 minutes');
      await new Promise((r) => setTimeout(r, 10_000));
    }

    // Black-hole a share of the node IPs inside the namespace: a higher-priority rule sends them to a
    // table whose blackhole routes drop incoming packets silently (the `local` table would accept them).
    const holes = Math.round(N * Number(values.blackhole));
    const holeIps = Array.from({ length: holes }, (_, i) => nodeIp(state.net, Math.floor((i * N) / holes)));
    const ipn = (args: string[]) => execa('ip', ['-n', state.netns!, ...args]);
    const setHoles = async (on: boolean) => {
      await ipn(['rule', 'del', 'pref', '50']).catch(() => undefined);
      await ipn(['route', 'flush', 'table', '150']).catch(() => undefined);
      if (!on) return;
      // Move the local-table lookup after ours (once), so the blackhole routes win for these addresses.
      const rules = (await ipn(['rule', 'show'])).stdout;
      if (/^0:\s+from all lookup local/m.test(rules)) {
        await ipn(['rule', 'add', 'pref', '100', 'lookup', 'local']);
        await ipn(['rule', 'del', 'pref', '0']);
      }
      for (const ip of holeIps) await ipn(['route', 'add', 'blackhole', `${ip}/32`, 'table', '150']);
      await ipn(['rule', 'add', 'pref', '50', 'lookup', '150']);
    };

    const cli = privateCli();
    const rssDir = mkdtempSync(join(tmpdir(), 'bench-doctor-'));
    const doctorOnce = async (i: number) => {
      const rssFile = join(rssDir, `rss-${i}`);
      const started = process.hrtime.bigint();
      const r = await execa(process.execPath, ['--import', join(root, 'scripts/bench-rss-hook.mjs'), cli, 'doctor', '-o', 'json', '--probe-timeout', values['probe-timeout']], {
        env: { ...env, INSIGHT_BENCH_RSS_FILE: rssFile }, reject: false, timeout: 300_000,
      });
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      let doc;
      try {
        doc = JSON.parse(r.stdout);
      } catch {
        throw new Error(`doctor printed no JSON (exit ${r.exitCode}): ${r.stderr.slice(0, 500)}`);
      }
      return { ms, rssMB: Number(readFileSync(rssFile, 'utf8')) / 1024, doc };
    };
    const kubectlOnce = async () => {
      const started = process.hrtime.bigint();
      await execa('kubectl', ['get', 'pods', '-A', '-o', 'json'], { env, stdout: 'ignore' });
      return Number(process.hrtime.bigint() - started) / 1e6;
    };

    await setHoles(false);
    await doctorOnce(-1); // warm the API server's caches and the page cache
    // Interleaved, so load from anything else on the machine hits all three series alike.
    const clean: number[] = [];
    const runs: Array<{ ms: number; rssMB: number; doc: { findings: Array<{ id: string; status: string; message: string }> } }> = [];
    const kubectlMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      kubectlMs.push(await kubectlOnce());
      clean.push((await doctorOnce(100 + i)).ms);
      await setHoles(true);
      runs.push(await doctorOnce(i));
      await setHoles(false);
    }
    rmSync(rssDir, { recursive: true, force: true });

    const podCount = JSON.parse((await sh('kubectl', ['get', 'pods', '-A', '-o', 'json'])).stdout).items.length;
    const timedOut = runs[0]!.doc.findings.find((f) => f.id === 'exporters.node-exporter' && /timed out/.test(f.message));
    const dMs = median(runs.map((r) => r.ms));
    const kMs = median(kubectlMs);
    const cleanMs = median(clean);
    const peak = Math.max(...runs.map((r) => r.rssMB));
    const timeoutMs = Number(values['probe-timeout'].replace(/s$/, '')) * 1000;
    const lines = [
      `cluster: ${N} nodes, ${podCount} pods (${N} node-exporter), ${holes} exporters black-holed; ${RUNS} runs each`,
      `doctor (black-holed):     median ${(dMs / 1000).toFixed(2)} s   peak RSS ${peak.toFixed(0)} MB   [${runs.map((r) => (r.ms / 1000).toFixed(2)).join(', ')}]`,
      `doctor (no black holes):  median ${(cleanMs / 1000).toFixed(2)} s   [${clean.map((m) => (m / 1000).toFixed(2)).join(', ')}]`,
      `kubectl get pods -A -o json: median ${(kMs / 1000).toFixed(2)} s   [${kubectlMs.map((m) => (m / 1000).toFixed(2)).join(', ')}]`,
      `ratio doctor / kubectl: ${(dMs / kMs).toFixed(2)}x (target <= 2x) ${dMs / kMs <= 2 ? 'OK' : 'MISSED'}`,
      `black-hole cost: ${((dMs - cleanMs) / 1000).toFixed(2)} s (target <= probe timeout ${timeoutMs / 1000} s + 2 s) ${dMs - cleanMs <= timeoutMs + 2000 ? 'OK' : 'MISSED'}`,
      `peak RSS: ${peak.toFixed(0)} MB (target < 250 MB) ${peak < 250 ? 'OK' : 'MISSED'}`,
      `doctor reported: ${timedOut?.message ?? 'NO timed-out finding for the black-holed exporters'}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    if (!values.keep && !existing) {
      await stopCluster(values.name);
      log(`cluster ${values.name} removed`);
    }
  }
}

main().catch((e) => {
  process.stderr.write(`bench:doctor failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
