// npm run bench:bundle [-- --nodes 1000 --other-pods 3000 --failing 20 --runs 3 --name bench-doctor --keep]
//
// On a local control plane with N kwok nodes (the test harness; `--name bench-doctor` reuses the cluster
// bench:doctor leaves with --keep): the fixture chart (node-exporter on every node), a few thousand
// other pods, and some node-exporter pods crash-looping. Prints, from one run: the bundle's median wall
// time, peak RSS and size (default flags, so --max-size 20MB), `kubectl get pods -A -o json`'s median
// wall time on the same cluster, and the ratios. Targets (issue 14): < 60 s, peak RSS < 300 MB,
// bundle < 20 MB. Not part of CI.
// The cluster, the workload, the timed runs and the teardown are in bench-support.ts.
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SCENARIO_ANNOTATION } from '../test/cluster/cluster.js';
import {
  applyOtherPods, cliRunner, clusterBenchOptions, installFixtureChart, kubectlLine, kubectlOnce, median, peakMB, podCount, printLines,
  runClusterBench, secs, series, verdict, waitForPods,
} from './bench-support.js';

const { values } = parseArgs({
  options: {
    ...clusterBenchOptions({ runs: '3', name: 'bench-bundle' }),
    failing: { type: 'string', default: '20' },
  },
});

type Bundle = { files: Array<{ status: string; section: string }>; errors: unknown[]; sampledOut: unknown[] };

runClusterBench('bench:bundle', values, {}, async (b) => {
  const { N, RUNS, env, sh } = b;
  await installFixtureChart(b, 'bench-not-a-secret-0123456789');
  await applyOtherPods(b);
  // A reused cluster: the crash-looping pods of the last run are replaced, so the wait below can end.
  const left = JSON.parse((await sh('kubectl', ['get', 'pods', '-n', 'cms-monitoring', '-o', 'json'])).stdout).items
    .filter((p: { metadata: { annotations?: Record<string, string> } }) => p.metadata.annotations?.[SCENARIO_ANNOTATION])
    .map((p: { metadata: { name: string } }) => `pod/${p.metadata.name}`);
  if (left.length) await sh('kubectl', ['delete', '-n', 'cms-monitoring', '--wait=false', ...left]);
  await waitForPods(b);
  // Some failing DaemonSet pods, so the log sampling has failing pods to put first.
  const nePods = (await sh('kubectl', ['get', 'pods', '-n', 'cms-monitoring', '-l', 'app.kubernetes.io/name=node-exporter', '-o', 'name'])).stdout.split('\n').filter(Boolean);
  const failing = nePods.slice(0, Number(values.failing));
  if (failing.length) await sh('kubectl', ['annotate', '-n', 'cms-monitoring', '--overwrite', ...failing, `${SCENARIO_ANNOTATION}=crashloop`]);

  const runner = cliRunner('bench-bundle', env, 600_000);
  const bundleOnce = async (i: number) => {
    const out = join(runner.work, `b-${i}.tar.gz`);
    const r = await runner.run<Bundle>(i, ['bundle', '--output-file', out, '-o', 'json']);
    const bytes = statSync(out).size;
    rmSync(out);
    return { ...r, bytes };
  };

  await bundleOnce(-1); // warm the API server's caches and the page cache
  const runs: Awaited<ReturnType<typeof bundleOnce>>[] = [];
  const kubectlMs: number[] = [];
  // Interleaved, so load from anything else on the machine hits both series alike.
  for (let i = 0; i < RUNS; i++) {
    kubectlMs.push(await kubectlOnce(env));
    runs.push(await bundleOnce(i));
  }
  runner.remove();

  const pods = await podCount(b);
  const bMs = median(runs.map((r) => r.ms));
  const kMs = median(kubectlMs);
  const peak = peakMB(runs);
  const size = Math.max(...runs.map((r) => r.bytes));
  const last = runs[runs.length - 1]!.doc;
  const count = (s: string) => last.files.filter((f) => f.status === s).length;
  printLines([
    `cluster: ${N} nodes, ${pods} pods (${N} node-exporter, ${failing.length} crash-looping); ${RUNS} runs`,
    `bundle: median ${secs(bMs)} s   peak RSS ${peak.toFixed(0)} MB   size ${(size / 1e6).toFixed(2)} MB   ${series(runs.map((r) => r.ms))}`,
    `files: ${count('written')} written, ${count('omitted')} omitted (max-size), ${count('error')} errors; ${last.files.filter((f) => f.section === 'logs').length} log files, ${last.sampledOut.length} pods sampled out; ${last.errors.length} component errors`,
    kubectlLine(kubectlMs),
    `ratio bundle / kubectl: ${(bMs / kMs).toFixed(2)}x`,
    `wall time: ${(bMs / 1000).toFixed(1)} s (target < 60 s) ${verdict(bMs < 60_000)}`,
    `peak RSS: ${peak.toFixed(0)} MB (target < 300 MB) ${verdict(peak < 300)}`,
    `bundle size: ${(size / 1e6).toFixed(2)} MB (target < 20 MB) ${verdict(size < 20e6)}`,
  ]);
});
