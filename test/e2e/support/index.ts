// Everything e2e tests share, one definition each: import from './support/index.js'.
//  cluster.ts   kubectl/helm/kubectlJson, apply/delete YAML, waitFor, nodes, pods, the harness's network namespace,
//               pods/log and pods/exec of fake pods served by kwok (serveContainerFiles)
//  cli.ts       the built CLI (private copy): cli, cliOnTty, spawnCli, parseJson, process helpers
//  helm.ts      which helm runs, and flags that differ between majors
//  fixtures.ts  fixture charts (packaged, served, installed), values files, CRDs
//  state.ts     snapshots for before/after comparisons, cleanup
//  proxy.ts     a TCP proxy that can take the API server away
export * from './cluster.js';
export * from './cli.js';
export * from './helm.js';
export * from './fixtures.js';
export * from './state.js';
export * from './proxy.js';
