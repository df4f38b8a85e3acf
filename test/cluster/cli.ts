// npm run cluster:up [-- --nodes N] [--gpu-nodes K] [--name NAME]
// npm run cluster:down [-- --name NAME | --all]
// npm run cluster:status
import { parseArgs } from 'node:util';
import { clusterRss, listClusters, readState, startCluster, stopAllClusters, stopCluster } from './cluster.js';

const [command, ...rest] = process.argv.slice(2);
const { values } = parseArgs({
  args: rest,
  options: {
    name: { type: 'string', default: 'default' },
    nodes: { type: 'string', default: '3' },
    'gpu-nodes': { type: 'string', default: '0' },
    all: { type: 'boolean', default: false },
  },
});

async function main(): Promise<number> {
  switch (command) {
    case 'up': {
      const nodes = Number(values.nodes);
      const existing = readState(values.name);
      if (existing) {
        process.stderr.write(`cluster ${values.name} is already up (cluster:down removes it)\n`);
        printEnv(existing.kubeconfig, existing.binDir);
        return 0;
      }
      const s = await startCluster({ name: values.name, nodes, gpuNodes: Number(values['gpu-nodes']) });
      process.stderr.write(
        `\ncluster ${s.name}: ${s.nodes} nodes, ready in ${((s.readyAfterMs ?? 0) / 1000).toFixed(1)}s, ${clusterRss(s)} MiB RSS\n` +
          `  API server ${s.server}, logs in ${s.dir}/logs\n` +
          (s.netns ? `  node/pod IPs ${s.net.routedCidr} answer inside network namespace ${s.netns} (node_exporter on :19100)\n` : `  no network namespace: ${s.netnsSkipReason}\n`) +
          (s.kwokServer ? `  kwok's server (pods/log, pods/exec of fake pods) on ${s.kwokServer}\n` : ''),
      );
      printEnv(s.kubeconfig, s.binDir);
      return 0;
    }
    case 'down': {
      if (values.all) {
        const names = await stopAllClusters();
        process.stderr.write(names.length ? `removed ${names.join(', ')}\n` : 'no clusters\n');
      } else {
        const ok = await stopCluster(values.name);
        process.stderr.write(ok ? `removed cluster ${values.name}\n` : `no cluster ${values.name}\n`);
      }
      return 0;
    }
    case 'status': {
      for (const s of listClusters()) {
        process.stdout.write(`${s.name}\t${s.nodes} nodes\t${s.server}\t${s.kubeconfig}\t${clusterRss(s)} MiB\t${s.netns ?? `no netns (${s.netnsSkipReason})`}\n`);
      }
      return 0;
    }
    default:
      process.stderr.write('usage: cli.ts up [--nodes N] [--gpu-nodes K] [--name NAME] | down [--name NAME | --all] | status\n');
      return 2;
  }
}

function printEnv(kubeconfig: string, binDir: string): void {
  // stdout carries only the lines to eval, so `eval "$(npm run -s cluster:up)"` works.
  process.stdout.write(`export KUBECONFIG=${kubeconfig}\nexport PATH=${binDir}:$PATH\n`);
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
