// npm run bench:doctor [-- --nodes 1000 --other-pods 3000 --runs 5 --blackhole 0.05 --probe-timeout 3s --keep]
//
// On a local control plane with N kwok nodes (the test harness): the fixture chart (node-exporter on every
// node, answered by the real node_exporter in the harness's network namespace), other pods, and 5% of the
// node IPs black-holed (packets to them dropped silently inside the namespace). Doctor runs as a
// ServiceAccount of its own whose FlowSchema counts its API requests apart (test/cluster/flow.ts).
//
// Printed from one run, for each size: doctor's median wall time with and without the black holes, its
// peak RSS, `kubectl get pods -A -o json`'s median on the same cluster and the ratio, the black holes' cost,
// the time per 1,000 nodes, and the requests one doctor run makes per 1,000 nodes (API requests from the
// server's APF counters, proxied probes from its request counter). With --nodes above 1,000 the bench
// measures at 1,000 nodes and 3,000 other pods first, then grows the cluster and measures again, so the
// per-node cost of both sizes is compared in one run.
// Targets (issue 17): doctor <= 0.5x kubectl; black-hole cost <= max(0, probe timeout - clean doctor) + 0.5 s;
// peak RSS <= 250 MB; per 1,000 nodes at the large size no more than at 1,000.
import { execa } from 'execa';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { nodeIp } from '../test/cluster/netns.js';
import { addNodes } from '../test/cluster/cluster.js';
import { apiMetric, flowIdentity } from '../test/cluster/flow.js';
import {
  applyOtherPods, cliRunner, clusterBenchOptions, installFixtureChart, kubectlLine, kubectlOnce, median, peakMB, podCount, printLines,
  runClusterBench, secs, series, verdict, waitForPods, type Bench, type CliRun,
} from './bench-support.js';

const { values } = parseArgs({
  options: {
    ...clusterBenchOptions({ runs: '5', name: 'bench-doctor' }),
    blackhole: { type: 'string', default: '0.05' },
    'probe-timeout': { type: 'string', default: '3s' },
  },
});

type Doctor = { findings: Array<{ id: string; status: string; message: string }> };
interface Size {
  nodes: number;
  other: number;
}
interface Measured extends Size {
  pods: number;
  holes: number;
  dMs: number;
  cleanMs: number;
  kMs: number;
  peak: number;
  apiRequests: number;
  probes: number;
  lines: string[];
}

const target: Size = { nodes: Number(values.nodes), other: Number(values['other-pods']) };
const first: Size = target.nodes > 1000 ? { nodes: 1000, other: 3000 } : target;
const timeoutMs = Number(values['probe-timeout'].replace(/s$/, '')) * 1000;
const per1000 = (x: number, nodes: number) => (x * 1000) / nodes;

runClusterBench('bench:doctor', { ...values, nodes: String(first.nodes), 'other-pods': String(first.other) }, { requireNetns: true }, async (b0) => {
  await installFixtureChart(b0, 'bench-not-a-secret');
  const kubectl = join(b0.state.binDir, 'kubectl');
  const runner = cliRunner('bench-doctor', b0.env, 600_000);
  const who = await flowIdentity(kubectl, b0.state.kubeconfig, { name: 'insight-bench', shares: 100, reject: false, dir: runner.work });
  const sizes = target.nodes > first.nodes ? [first, target] : [first];
  const results: Measured[] = [];
  try {
    for (const size of sizes) {
      const b: Bench = { ...b0, N: size.nodes, OTHER: size.other };
      const have = (await b.sh('kubectl', ['get', 'nodes', '-o', 'name'])).stdout.split('\n').filter(Boolean).length;
      if (have < size.nodes) {
        b.log(`growing the cluster from ${have} to ${size.nodes} nodes`);
        await addNodes(b.state.name, size.nodes - have);
      }
      await applyOtherPods(b);
      await waitForPods(b);
      const r = await measure(b, runner, who.kubeconfig, who.flowSchema, kubectl);
      results.push(r);
      // Printed as each size is done: a later size that fails loses only its own figures.
      printLines(r.lines);
    }
  } finally {
    await who.remove().catch(() => undefined);
    runner.remove();
  }

  const lines: string[] = [];
  if (results.length === 2) {
    const [a, z] = [results[0]!, results[1]!];
    const pa = per1000(a.dMs, a.nodes);
    const pz = per1000(z.dMs, z.nodes);
    lines.push(`per-node cost: ${secs(pz)} s per 1,000 nodes at ${z.nodes} nodes vs ${secs(pa)} s at ${a.nodes} (target: no higher) ${verdict(pz <= pa)}`);
  }
  if (lines.length) printLines(lines);
});

async function measure(b: Bench, runner: ReturnType<typeof cliRunner>, kubeconfig: string, flowSchema: string, kubectl: string): Promise<Measured> {
  const { N, RUNS, state, env } = b;
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
    await execa('ip', ['-n', state.netns!, '-batch', '-'], { input: holeIps.map((ip) => `route add blackhole ${ip}/32 table 150`).join('\n') });
    await ipn(['rule', 'add', 'pref', '50', 'lookup', '150']);
  };

  const doctorEnv = { ...env, KUBECONFIG: kubeconfig };
  const doctorOnce = (i: number) => runner.run<Doctor>(i, ['doctor', '-o', 'json', '--probe-timeout', values['probe-timeout']], doctorEnv);

  await setHoles(false);
  await doctorOnce(-1); // warm the API server's caches and the page cache
  // Interleaved, so load from anything else on the machine hits all three series alike.
  const clean: number[] = [];
  const runs: Array<CliRun<Doctor>> = [];
  const kubectlMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    kubectlMs.push(await kubectlOnce(env));
    clean.push((await doctorOnce(1000 + i)).ms);
    await setHoles(true);
    runs.push(await doctorOnce(i));
    await setHoles(false);
  }

  // One more black-holed run between two readings of the server's counters. API requests go through
  // APF (counted under our FlowSchema); proxied probes are long-running requests APF does not see, so
  // they come from the request counter (nothing else in the bench proxies).
  const admin = state.kubeconfig;
  const counters = async () => ({
    api: await apiMetric(kubectl, admin, 'apiserver_flowcontrol_dispatched_requests_total', { flow_schema: flowSchema }),
    proxy: await apiMetric(kubectl, admin, 'apiserver_request_total', { subresource: 'proxy' }),
  });
  await setHoles(true);
  const before = await counters();
  const counted = await doctorOnce(2000);
  const after = await counters();
  await setHoles(false);

  const pods = await podCount(b);
  const timedOut = counted.doc.findings.find((f) => f.id === 'exporters.node-exporter' && /timed out/.test(f.message));
  const dMs = median(runs.map((r) => r.ms));
  const kMs = median(kubectlMs);
  const cleanMs = median(clean);
  const peak = peakMB([...runs, counted]);
  const apiRequests = after.api - before.api;
  const probes = after.proxy - before.proxy;
  const holeBudget = Math.max(0, timeoutMs - cleanMs) + 500;
  return {
    nodes: N, other: b.OTHER, pods, holes, dMs, cleanMs, kMs, peak, apiRequests, probes,
    lines: [
      `cluster: ${N} nodes, ${pods} pods (${N} node-exporter), ${holes} exporters black-holed; ${RUNS} runs each`,
      `doctor (black-holed):     median ${secs(dMs)} s   peak RSS ${peak.toFixed(0)} MB   ${series(runs.map((r) => r.ms))}`,
      `doctor (no black holes):  median ${secs(cleanMs)} s   ${series(clean)}`,
      kubectlLine(kubectlMs),
      `ratio doctor / kubectl: ${(dMs / kMs).toFixed(2)}x (target <= 0.5x) ${verdict(dMs / kMs <= 0.5)}`,
      `black-hole cost: ${secs(dMs - cleanMs)} s (target <= max(0, probe timeout ${timeoutMs / 1000} s - clean ${secs(cleanMs)} s) + 0.5 s = ${secs(holeBudget)} s) ${verdict(dMs - cleanMs <= holeBudget)}`,
      `peak RSS: ${peak.toFixed(0)} MB (target <= 250 MB) ${verdict(peak <= 250)}`,
      `time per 1,000 nodes: ${secs(per1000(dMs, N))} s black-holed, ${secs(per1000(cleanMs, N))} s clean`,
      `requests of one doctor run: ${apiRequests} API requests (${per1000(apiRequests, N).toFixed(1)} per 1,000 nodes), ${probes} proxied probes (${per1000(probes, N).toFixed(0)} per 1,000 nodes)`,
      `doctor reported: ${timedOut?.message ?? 'NO timed-out finding for the black-holed exporters'}`,
    ],
  };
}
