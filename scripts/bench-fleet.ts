// npm run bench:fleet [-- --clusters 10 --contexts 10 --nodes 5 --runs 3 --rtt 0,40ms --keep]
//
// Fleet mode's cost: --clusters local control planes (the test harness, each with --nodes kwok nodes and
// the fixture chart installed), --contexts contexts over them in one kubeconfig. Prints each context's
// doctor alone (median of --runs), the slowest of those, `doctor --contexts-file` over all of them (median),
// and their ratio, beside `node -e 0` and `kubectl get pods -A` measured in the same run.
// Target (issue 15): the fleet run costs at most 1.5x the slowest single context.
//
// Each --rtt value is one series. 0 is bare loopback: the CLI and all the control planes share this
// machine's cores, so both sides are CPU-bound and the ratio measures the machine. A real fleet is
// remote: there each context mostly waits on the network. For that, every context reaches its API server
// through a loopback relay here that holds each chunk for half the round trip in each direction (TLS
// still ends at the API server); the clusters and the CLI are the same.
import { execa } from 'execa';
import { once } from 'node:events';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
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
    rtt: { type: 'string', default: '0,40ms' },
    keep: { type: 'boolean', default: false },
  },
});
const CLUSTERS = Number(values.clusters);
const CONTEXTS = Number(values.contexts);
const RUNS = Number(values.runs);
const log = (m: string) => process.stderr.write(`[bench:fleet] ${m}\n`);

type Doctor = { exitCode: number; contexts?: Array<{ verdict: string }> };

/** A TCP relay on 127.0.0.1 to `target` that delays every chunk by `oneWayMs` in each direction, in order. */
async function delayRelay(target: URL, oneWayMs: number): Promise<{ server: Server; url: string }> {
  const pipe = (from: Socket, to: Socket) => {
    from.on('data', (chunk) => setTimeout(() => to.write(chunk), oneWayMs));
    from.on('end', () => setTimeout(() => to.end(), oneWayMs));
    from.on('error', () => to.destroy());
  };
  const server = createServer((client) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    pipe(client, upstream);
    pipe(upstream, client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** The cluster's kubeconfig, and its kubectl and helm first on PATH. */
const envOf = (s: ClusterState) => ({ ...process.env, KUBECONFIG: s.kubeconfig, PATH: `${s.binDir}:${process.env.PATH}` });

const parseMs = (v: string) => (v === '0' ? 0 : v.endsWith('ms') ? Number(v.slice(0, -2)) : Number(v.replace(/s$/, '')) * 1000);

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

    const lines: string[] = [];
    for (const rtt of values.rtt.split(',').map(parseMs)) lines.push(...(await measure(states, work, rtt)));
    printLines(lines);
  } finally {
    rmSync(work, { recursive: true, force: true });
    if (!values.keep) for (const name of started) await stopCluster(name);
  }
}

/** One series: the kubeconfig (through relays when rttMs > 0), the warm-up, the interleaved rounds, the lines to print. */
async function measure(states: ClusterState[], work: string, rttMs: number): Promise<string[]> {
  // One kubeconfig, one context a line of the contexts file, contexts spread over the clusters.
  const relays = rttMs ? await Promise.all(states.map((st) => delayRelay(new URL(parse(readFileSync(st.kubeconfig, 'utf8')).clusters[0].cluster.server), rttMs / 2))) : [];
  const kubeconfig = join(work, `kubeconfig-${rttMs}`);
  const names = Array.from({ length: CONTEXTS }, (_, i) => `ctx-${i}`);
  const docs = states.map((s) => parse(readFileSync(s.kubeconfig, 'utf8')));
  writeFileSync(kubeconfig, stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: docs.map((d, i) => ({ name: `c${i}`, cluster: { ...d.clusters[0].cluster, ...(relays[i] ? { server: relays[i].url } : {}) } })),
    users: docs.map((d, i) => ({ name: `u${i}`, user: d.users[0].user })),
    contexts: names.map((n, i) => ({ name: n, context: { cluster: `c${i % CLUSTERS}`, user: `u${i % CLUSTERS}` } })),
    'current-context': names[0],
  }), { mode: 0o600 });
  const contextsFile = join(work, `contexts-${rttMs}.txt`);
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
    log(`rtt ${rttMs} ms: round ${r + 1}/${RUNS} done`);
  }
  runner.remove();
  const medians = single.map(median);
  const slowest = Math.max(...medians);
  const fleetMs = median(fleet.map((f) => f.ms));
  const ratio = fleetMs / slowest;
  for (const r of relays) r.server.close();
  return [
    `bench:fleet: ${CONTEXTS} contexts over ${CLUSTERS} local control planes of ${values.nodes} nodes each, ${rttMs ? `${rttMs} ms round trip to each API server (loopback relay)` : 'bare loopback'}, ${RUNS} runs (medians)`,
    ...names.map((ctx, i) => `  doctor --context ${ctx}: ${secs(medians[i]!)} s   ${series(single[i]!)}`),
    `slowest single context: ${secs(slowest)} s`,
    `doctor --contexts-file (${CONTEXTS} contexts, --parallel ${CONTEXTS}): median ${secs(fleetMs)} s   ${series(fleet.map((f) => f.ms))}, peak RSS ${peakMB(fleet).toFixed(0)} MB`,
    `node -e 0: median ${secs(median(nodeMs))} s; kubectl get pods -A -o json (one cluster): median ${secs(median(kubectlMs))} s`,
    `ratio fleet / slowest single: ${ratio.toFixed(2)} (target <= 1.5: ${verdict(ratio <= 1.5)})`,
    '',
  ];
}

main().catch((e) => {
  process.stderr.write(`bench:fleet failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
