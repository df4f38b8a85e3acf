// npm run bench:doctor [-- --nodes 1000 --other-pods 3000 --runs 5 --blackhole 0.05 --keep]
//
// On a local control plane with N kwok nodes (the test harness): the fixture chart (node-exporter on every
// node, answered by the real node_exporter in the harness's network namespace), a few thousand other pods,
// and 5% of the node IPs black-holed (packets to them dropped silently inside the namespace). Prints, from
// one run: doctor's median wall time and peak RSS, `kubectl get pods -A -o json`'s median wall time on the
// same cluster, their ratio, and what the black-holed exporters cost (doctor with vs without them).
// Targets (issue 7): ratio <= 2, black-hole cost <= probe timeout + 2 s, peak RSS < 250 MB.
// The cluster, the workload, the timed runs and the teardown are in bench-support.ts.
import { execa } from 'execa';
import { parseArgs } from 'node:util';
import { nodeIp } from '../test/cluster/netns.js';
import {
  applyOtherPods, cliRunner, clusterBenchOptions, installFixtureChart, kubectlLine, kubectlOnce, median, peakMB, podCount, printLines,
  runClusterBench, secs, series, verdict, waitForPods, type CliRun,
} from './bench-support.js';

const { values } = parseArgs({
  options: {
    ...clusterBenchOptions({ runs: '5', name: 'bench-doctor' }),
    blackhole: { type: 'string', default: '0.05' },
    'probe-timeout': { type: 'string', default: '3s' },
  },
});

type Doctor = { findings: Array<{ id: string; status: string; message: string }> };

runClusterBench('bench:doctor', values, { requireNetns: true }, async (b) => {
  const { N, RUNS, state, env } = b;
  await installFixtureChart(b, 'bench-not-a-secret');
  await applyOtherPods(b);
  await waitForPods(b);

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

  const runner = cliRunner('bench-doctor', env, 300_000);
  const doctorOnce = (i: number) => runner.run<Doctor>(i, ['doctor', '-o', 'json', '--probe-timeout', values['probe-timeout']]);

  await setHoles(false);
  await doctorOnce(-1); // warm the API server's caches and the page cache
  // Interleaved, so load from anything else on the machine hits all three series alike.
  const clean: number[] = [];
  const runs: Array<CliRun<Doctor>> = [];
  const kubectlMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    kubectlMs.push(await kubectlOnce(env));
    clean.push((await doctorOnce(100 + i)).ms);
    await setHoles(true);
    runs.push(await doctorOnce(i));
    await setHoles(false);
  }
  runner.remove();

  const pods = await podCount(b);
  const timedOut = runs[0]!.doc.findings.find((f) => f.id === 'exporters.node-exporter' && /timed out/.test(f.message));
  const dMs = median(runs.map((r) => r.ms));
  const kMs = median(kubectlMs);
  const cleanMs = median(clean);
  const peak = peakMB(runs);
  const timeoutMs = Number(values['probe-timeout'].replace(/s$/, '')) * 1000;
  printLines([
    `cluster: ${N} nodes, ${pods} pods (${N} node-exporter), ${holes} exporters black-holed; ${RUNS} runs each`,
    `doctor (black-holed):     median ${secs(dMs)} s   peak RSS ${peak.toFixed(0)} MB   ${series(runs.map((r) => r.ms))}`,
    `doctor (no black holes):  median ${secs(cleanMs)} s   ${series(clean)}`,
    kubectlLine(kubectlMs),
    `ratio doctor / kubectl: ${(dMs / kMs).toFixed(2)}x (target <= 2x) ${verdict(dMs / kMs <= 2)}`,
    `black-hole cost: ${secs(dMs - cleanMs)} s (target <= probe timeout ${timeoutMs / 1000} s + 2 s) ${verdict(dMs - cleanMs <= timeoutMs + 2000)}`,
    `peak RSS: ${peak.toFixed(0)} MB (target < 250 MB) ${verdict(peak < 250)}`,
    `doctor reported: ${timedOut?.message ?? 'NO timed-out finding for the black-holed exporters'}`,
  ]);
});
