// Fixtures on the cluster: the fixture charts packaged and served as a repository, values files, and
// installs by the tests themselves with helm (our chart, "another team's" kube-prometheus-stack, CRDs).
import { afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { FIXTURE_CHART_DIR, FIXTURE_VALUES, fixtureCrdFlags, helm, kubectl, kubectlJson, waitFor } from './cluster.js';

let packaged: Promise<{ dir: string; charts: Array<{ version: string; dir: string; tgz: string; name: string }> }> | undefined;

/** The fixture charts packaged once per test file (1.0.0, 1.1.0, 1.2.0, kube-prometheus-stack). */
export function fixtureCharts() {
  packaged ??= (async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'insight-charts-'));
    const mod = await import('../../fixtures/charts/package.mjs');
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

const valuesDirs = new Set<string>();
// A test's values file may hold its canary secret: none is left behind when the test file ends.
// (Registered while the test file imports this module, so it runs after that file's tests.)
afterAll(() => {
  for (const d of valuesDirs) rmSync(d, { recursive: true, force: true });
  valuesDirs.clear();
});

export function writeValues(values: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'insight-values-'));
  valuesDirs.add(dir);
  const path = join(dir, 'values.yaml');
  writeFileSync(path, stringify(values), { mode: 0o600 });
  return path;
}

/** Serve the packaged fixture charts as a helm chart repository on loopback. */
export async function serveCharts(): Promise<{ url: string; close(): Promise<void> }> {
  const { dir } = await fixtureCharts();
  const server = createServer((req, res) => {
    void (async () => {
      try {
        res.writeHead(200).end(await readFile(join(dir, (req.url ?? '/').split('?')[0]!.replace(/\.\./g, ''))));
      } catch {
        res.writeHead(404).end('not found');
      }
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export const KPS_CHART_DIR = new URL('../../fixtures/charts/kube-prometheus-stack', import.meta.url).pathname;
export const CRDS_DIR = new URL('../../fixtures/charts/loongcollector-cluster-insight/crds', import.meta.url).pathname;

export const ALIBABA_CRDS = ['clusteraliyunpipelineconfigs.telemetry.alibabacloud.com', 'aliyunlogconfigs.log.alibabacloud.com'];
export const SHARED_CRDS = ['servicemonitors.monitoring.coreos.com', 'podmonitors.monitoring.coreos.com', 'prometheusrules.monitoring.coreos.com', 'probes.monitoring.coreos.com'];
export const ALL_CRDS = [...ALIBABA_CRDS, ...SHARED_CRDS];

/** Install the fixture chart; the (fake) AccessKey secret goes through a 0600 values file, not argv. */
export async function installChart(release: string, namespace: string, clusterID: string, extra: string[] = []): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'uninstall-e2e-'));
  const secretValues = join(dir, 'secret.yaml');
  writeFileSync(secretValues, 'accessKeySecret: e2e-fake-secret-value\n', { mode: 0o600 });
  try {
    await helm(
      ['install', release, FIXTURE_CHART_DIR, '-n', namespace, '--create-namespace', '-f', FIXTURE_VALUES, '-f', secretValues, '--set', `clusterID=${clusterID}`, '--wait', '--timeout', '120s', ...(await fixtureCrdFlags()), ...extra],
      { timeoutMs: 180_000 },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** "Another team's" kube-prometheus-stack (needs the monitoring.coreos.com CRDs to exist). */
export async function installKps(release: string, namespace: string): Promise<void> {
  await helm(['install', release, KPS_CHART_DIR, '-n', namespace, '--create-namespace', '--wait', '--timeout', '120s'], { timeoutMs: 180_000 });
}

export async function ensureCrds(): Promise<void> {
  await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=insight-e2e', '-f', CRDS_DIR]);
  // Not `kubectl wait`: on a CRD created a moment ago it fails ("status.conditions accessor error")
  // until the API server has written any condition at all.
  for (const c of ALL_CRDS) {
    await waitFor(`CRD ${c} Established`, async () => {
      const crd = await kubectlJson<{ status?: { conditions?: { type: string; status: string }[] } }>(['get', 'crd', c]);
      return crd.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True');
    });
  }
}

export async function presentCrds(): Promise<string[]> {
  const l = await kubectlJson<{ items: { metadata: { name: string } }[] }>(['get', 'crd']);
  return l.items.map((i) => i.metadata.name).filter((n) => ALL_CRDS.includes(n)).sort();
}
