// npm run bench:fleet [-- --clusters 10 --contexts 10 --nodes 5 --runs 3 --keep]
//
// Fleet mode's cost: --clusters local control planes (the test harness, each with --nodes kwok nodes and
// the fixture chart installed), --contexts contexts over them in one kubeconfig. Prints each context's
// doctor alone (median of --runs), the slowest of those, `doctor --contexts-file` over all of them (median),
// and their ratio, beside `node -e 0` and `kubectl get pods -A` measured in the same run.
// Target (issue 15): the fleet run costs at most 1.5x the slowest single context.
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';
import { parse, stringify } from 'yaml';
import { readState, startCluster, stopCluster, type ClusterState } from '../test/cluster/cluster.js';
import { cliRunner, kubectlOnce, median, peakMB, printLines, root, secs, series, verdict } from './bench-support.js';

const { values } = parseArgs({
  options: {
    clusters: { type: 'string', default: '10' },
    contexts: { type: 'string', default: '10' },
    nodes: { type: 'string', default: '5' },
    runs: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
  },
});
const CLUSTERS = Number(values.clusters);
const CONTEXTS = Number(values.contexts);
const RUNS = Number(values.runs);
const log = (m: string) => process.stderr.write(`[bench:fleet] ${m}\n`);

type Doctor = { exitCode: number; contexts?: Array<{ verdict: string }> };

async function main(): Promise<void> {
  const started: string[] = [];
  const states: ClusterState[] = [];
  const work = mkdtempSync(join(tmpdir(), 'bench-fleet-'));
  try {
    // One at a time: each start builds its PKI and waits for its API server.
    for (let i = 0; i < CLUSTERS; i++) {
      const name = `bench-fleet-${i}`;
      const existing = readState(name);
      if (!existing) started.push(name);
      states.push(existing ?? (await startCluster({ name, nodes: Number(values.nodes), log: () => {} })));
      log(`cluster ${name} up (${states.length}/${CLUSTERS})`);
    }
    const envOf = (s: ClusterState) => ({ ...process.env, KUBECONFIG: s.kubeconfig, PATH: `${s.binDir}:${process.env.PATH}` });
    const limit = pLimit(3);
    await Promise.all(
      states.map((s) =>
        limit(async () => {
          const env = envOf(s);
          if ((await execa('helm', ['list', '-n', 'cms-monitoring', '-q'], { env })).stdout.includes('aliyun-loongcollector-cluster-insight')) return;
          await execa('helm', ['install', 'aliyun-loongcollector-cluster-insight', join(root, 'test/fixtures/charts/loongcollector-cluster-insight'), '-n', 'cms-monitoring', '--create-namespace',
            '-f', join(root, 'test/fixtures/values/valid.yaml'), '-f', '-', '--set', 'kubeProxy.enabled=false', '--set', 'gpuExporter.enabled=false', '--set', `clusterID=${s.name}`, '--wait', '--timeout', '5m'],
          { env, input: 'accessKeySecret: bench-not-a-secret\n', timeout: 400_000 });
          log(`chart installed on ${s.name}`);
        }),
      ),
    );

    // One kubeconfig, one context a line of the contexts file, contexts spread over the clusters.
    const kubeconfig = join(work, 'kubeconfig');
    const names = Array.from({ length: CONTEXTS }, (_, i) => `ctx-${i}`);
    const docs = states.map((s) => parse(readFileSync(s.kubeconfig, 'utf8')));
    writeFileSync(kubeconfig, stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: docs.map((d, i) => ({ name: `c${i}`, cluster: d.clusters[0].cluster })),
      users: docs.map((d, i) => ({ name: `u${i}`, user: d.users[0].user })),
      contexts: names.map((n, i) => ({ name: n, context: { cluster: `c${i % CLUSTERS}`, user: `u${i % CLUSTERS}` } })),
      'current-context': names[0],
    }), { mode: 0o600 });
    const contextsFile = join(work, 'contexts.txt');
    writeFileSync(contextsFile, `${names.join('\n')}\n`);

    const env = { ...envOf(states[0]!), KUBECONFIG: kubeconfig };
    const runner = cliRunner('bench-fleet', env, 600_000);
    const doctor = ['doctor', '-o', 'json', '--probe-timeout', '3s'];
    let n = 0;
    await runner.run<Doctor>(n++, [...doctor, '--contexts-file', contextsFile]); // warm every API server and the page cache
    const single: number[][] = names.map(() => []);
    const fleet: Array<{ ms: number; rssMB: number }> = [];
    const nodeMs: number[] = [];
    const kubectlMs: number[] = [];
    // Interleaved rounds, so load from anything else on the machine hits every series alike.
    for (let r = 0; r < RUNS; r++) {
      for (const [i, ctx] of names.entries()) single[i]!.push((await runner.run<Doctor>(n++, [...doctor, '--context', ctx])).ms);
      const f = await runner.run<Doctor>(n++, [...doctor, '--contexts-file', contextsFile, '--parallel', String(CONTEXTS)]);
      if (f.doc.contexts?.length !== CONTEXTS) throw new Error(`the fleet run reported ${f.doc.contexts?.length} contexts, not ${CONTEXTS}`);
      fleet.push(f);
      const t0 = process.hrtime.bigint();
      await execa(process.execPath, ['-e', '0']);
      nodeMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
      kubectlMs.push(await kubectlOnce(envOf(states[0]!)));
      log(`round ${r + 1}/${RUNS} done`);
    }
    runner.remove();
    const medians = single.map(median);
    const slowest = Math.max(...medians);
    const fleetMs = median(fleet.map((f) => f.ms));
    const ratio = fleetMs / slowest;
    printLines([
      `bench:fleet: ${CONTEXTS} contexts over ${CLUSTERS} local control planes of ${values.nodes} nodes each, ${RUNS} runs (medians)`,
      ...names.map((ctx, i) => `  doctor --context ${ctx}: ${secs(medians[i]!)} s   ${series(single[i]!)}`),
      `slowest single context: ${secs(slowest)} s`,
      `doctor --contexts-file (${CONTEXTS} contexts, --parallel ${CONTEXTS}): median ${secs(fleetMs)} s   ${series(fleet.map((f) => f.ms))}, peak RSS ${peakMB(fleet).toFixed(0)} MB`,
      `node -e 0: median ${secs(median(nodeMs))} s; kubectl get pods -A -o json (one cluster): median ${secs(median(kubectlMs))} s`,
      `ratio fleet / slowest single: ${ratio.toFixed(2)} (target <= 1.5: ${verdict(ratio <= 1.5)})`,
    ]);
  } finally {
    rmSync(work, { recursive: true, force: true });
    if (!values.keep) for (const name of started) await stopCluster(name);
  }
}

main().catch((e) => {
  process.stderr.write(`bench:fleet failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
