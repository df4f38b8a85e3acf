// Helpers for the install/upgrade e2e tests: run the built CLI, package the fixture charts, take a
// snapshot of everything an install could change, and clean a release up (CR first, as the chart needs).
import { cpSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { HELM_LIST_ALL } from './helm.js';

export const repoRoot = resolve(import.meta.dirname, '../../..');

/**
 * The built plugin, copied once per test file: other people rebuild dist/ while e2e files run, and a
 * half-written dist/ fails a run for nothing. The bundle has no runtime dependencies outside dist/.
 */
function privateBuild(): string {
  const dir = mkdtempSync(join(tmpdir(), 'insight-build-'));
  for (let i = 0; i < 50 && !existsSync(join(repoRoot, 'dist/cli.js')); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  for (const p of ['package.json', 'bin', 'dist']) cpSync(join(repoRoot, p), join(dir, p), { recursive: true });
  return join(dir, 'bin/kubectl-insight.js');
}
export const cli = privateBuild();

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the built plugin. `env` is added to (and may unset keys of) the current environment. */
export async function runCli(args: string[], opts: { env?: Record<string, string | undefined>; input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  const r = await execa(process.execPath, [cli, ...args], {
    // vitest sets NODE_ENV=test, which makes oclif look for TypeScript sources: run as users do.
    env: { NO_COLOR: '1', CI: '1', NODE_ENV: undefined, ...opts.env },
    extendEnv: true,
    reject: false,
    timeout: opts.timeoutMs ?? 240_000,
    ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' }),
  });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

export async function kubectl(args: string[], opts: { reject?: boolean; kubeconfig?: string } = {}): Promise<string> {
  const r = await execa('kubectl', [...(opts.kubeconfig ? ['--kubeconfig', opts.kubeconfig] : []), ...args], { reject: opts.reject ?? true });
  return String(r.stdout);
}

export async function helm(args: string[], reject = true): Promise<string> {
  const r = await execa('helm', args, { reject });
  return String(r.stdout);
}

let packaged: Promise<{ dir: string; charts: Array<{ version: string; dir: string; tgz: string; name: string }> }> | undefined;

/** The fixture charts packaged once per test file (1.0.0, 1.1.0, 1.2.0, kube-prometheus-stack). */
export function fixtureCharts() {
  packaged ??= (async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'insight-charts-'));
    const mod = (await import('../../fixtures/charts/package.mjs')) as typeof import('../../fixtures/charts/package.mjs');
    const r = await mod.packageFixtureCharts({ outDir });
    return { dir: outDir, charts: r.charts };
  })();
  return packaged;
}

export async function chartTgz(version: string, name = 'loongcollector-cluster-insight'): Promise<string> {
  const { charts } = await fixtureCharts();
  const c = charts.find((x) => x.version === version && x.name === name);
  if (!c) throw new Error(`no fixture chart ${name} ${version}`);
  return c.tgz;
}

/** Every required value but the secret, for a values file. */
export function requiredValues(clusterID: string): Record<string, unknown> {
  return {
    aliUid: '1234567890123456',
    accessKeyID: 'LTAI5tAbCdEfGhIjKlMnOpQr',
    clusterID,
    clusterName: `e2e ${clusterID}`,
    workspace: 'my-workspace',
    region: 'cn-hangzhou',
    operator: { prometheus: { prometheusInstanceID: 'rw-p1234567890abcdef' } },
    entityCollector: { projectName: 'cms-my-workspace-v9h9awniowbzg' },
  };
}

export function writeValues(values: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'insight-values-'));
  const path = join(dir, 'values.yaml');
  writeFileSync(path, stringify(values), { mode: 0o600 });
  return path;
}

/**
 * Everything install/upgrade could change, as sorted text: helm releases (all namespaces, all states),
 * namespaces, CRDs, cluster-scoped RBAC and webhooks, the custom resources, and the objects in the
 * given namespaces with their resourceVersions (so a modification shows, not only a creation).
 */
export async function snapshot(namespaces: string[], kubeconfig?: string): Promise<string> {
  const kc = kubeconfig ? { kubeconfig } : {};
  const lines: string[] = [];
  const names = async (args: string[]) =>
    (await kubectl([...args, '-o', 'jsonpath={range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name}@{.metadata.resourceVersion}{"\\n"}{end}'], { ...kc, reject: false })).split('\n').filter(Boolean).sort();
  lines.push('# releases', ...(await helm(['list', '-A', ...HELM_LIST_ALL, '-o', 'json', ...(kubeconfig ? ['--kubeconfig', kubeconfig] : [])], false)).split('},{').sort());
  lines.push('# namespaces', ...(await names(['get', 'namespaces'])).map((l) => l.replace(/@\d+$/, '')));
  lines.push('# crds', ...(await names(['get', 'crd'])));
  lines.push('# cluster', ...(await names(['get', 'clusterroles,clusterrolebindings,validatingwebhookconfigurations,mutatingwebhookconfigurations', '-l', 'app.kubernetes.io/part-of=loongcollector-cluster-insight'])));
  lines.push('# cr', ...(await names(['get', 'clusteraliyunpipelineconfigs.telemetry.alibabacloud.com'])));
  for (const ns of namespaces) {
    lines.push(`# ns ${ns}`, ...(await names(['get', 'deployments,daemonsets,services,serviceaccounts,configmaps,secrets,roles,rolebindings', '-n', ns])).filter((l) => !l.includes('kube-root-ca.crt')));
  }
  return lines.join('\n');
}

/** Remove a release the way the chart needs: the CR first (finalizer), then helm, then the namespace. */
export async function cleanup(release: string, namespace: string, clusterID?: string): Promise<void> {
  if (clusterID) {
    const cr = `clusteraliyunpipelineconfig/custom-kubernetes-${clusterID}-entity-collector`;
    await kubectl(['delete', cr, '--ignore-not-found', '--wait=false'], { reject: false });
    // The operator stand-in removes the finalizer; if it is gone already, remove it ourselves.
    await kubectl(['patch', cr, '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]'], { reject: false });
  }
  await helm(['uninstall', release, '-n', namespace, '--wait', '--timeout', '60s'], false);
  await kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=true', '--timeout=60s'], { reject: false });
}

/** Wait until `fn` returns true (for eventually consistent cluster state). */
export async function until(fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error('condition not met in time');
}

/** Serve the packaged fixture charts as a helm chart repository on loopback. */
export async function serveCharts(): Promise<{ url: string; close(): Promise<void> }> {
  const { dir } = await fixtureCharts();
  const server = createServer(async (req, res) => {
    try {
      res.writeHead(200).end(await readFile(join(dir, (req.url ?? '/').split('?')[0]!.replace(/\.\./g, ''))));
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
