// Fleet mode end to end: two real control planes at once (the e2e cluster and one this file starts),
// each in its own state, plus contexts that cannot be checked, all in one merged kubeconfig:
//   a        the e2e cluster, the fixture chart installed and made healthy (stand-in exporters, kubelet)
//   a-empty  the same cluster, a namespace with nothing installed (a contexts-file column)
//   b        a second cluster, the chart installed, kube-state-metrics answering nothing
//   a-401    the e2e cluster with a token it does not know
//   down     a closed loopback port
//   silent   a loopback server that accepts and never answers (cut by --context-timeout)
// doctor, preflight and version run as the built CLI over all of them, through text and JSON.
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { startCluster, stopCluster, startNetnsServer as harnessNetnsServer, stopNetnsServer as harnessStopNetns, type ClusterState } from '../cluster/cluster.js';
import { STANDIN_METRICS } from '../cluster/standin-metrics.js';
import { cli, cluster, FIXTURE_CHART_DIR, FIXTURE_VALUES, fixtureCrdFlags, helm, kubectl, netnsSkipReason, waitFor } from './support/index.js';

const NS = 'fleet-e2e';
const RELEASE = 'fleet-e2e';
const dir = mkdtempSync(join(tmpdir(), 'fleet-e2e-'));
const merged = join(dir, 'kubeconfig');
const contextsFile = join(dir, 'clusters.txt');
const stops: Array<() => Promise<unknown>> = [];
let b: ClusterState | undefined;
let silent: Server | undefined;
const silentSockets: Socket[] = [];

interface Doc {
  command: string;
  fleet?: boolean;
  exitCode: number;
  contexts: Array<{ context: string; server: string; namespace: string; verdict: string; passed: boolean; chart: { version: string } | null; topCause: { id: string; message: string } | null; report?: { verdict: string; findings: Array<{ id: string; status: string; message: string; object: string | null }> }; error?: { reason: string; message: string } }>;
  summary: { contexts: number; passed: number; failed: number; unreachable: number };
}

async function run(cmd: string, args: string[]) {
  return cli([cmd, '--kubeconfig', merged, '-n', NS, '--release', RELEASE, ...args], { timeoutMs: 240_000 });
}
async function json(cmd: string, args: string[]): Promise<{ code: number; doc: Doc }> {
  const r = await run(cmd, [...args, '-o', 'json']);
  try {
    return { code: r.exitCode, doc: JSON.parse(r.stdout) as Doc };
  } catch {
    throw new Error(`${cmd} printed no JSON (exit ${r.exitCode}): ${r.stderr}\n${r.stdout}`);
  }
}
const byName = (d: Doc) => Object.fromEntries(d.contexts.map((c) => [`${c.context}/${c.namespace}`, c]));

/** Install the fixture chart with helm on the cluster of `kubeconfig`, and answer for its exporters (all but those in `skip`). */
async function installHealthy(kubeconfig: string, harnessName: string, clusterId: string, o: { crdFlags: string[]; skip?: string[] }): Promise<void> {
  const env = { kubeconfig };
  await helm(['install', RELEASE, FIXTURE_CHART_DIR, '-n', NS, '--create-namespace', '-f', FIXTURE_VALUES, '-f', '-', '--set', 'kubeProxy.enabled=false', '--set', 'gpuExporter.enabled=false', '--set', `clusterID=${clusterId}`, '--wait', '--timeout', '3m', ...o.crdFlags], { input: 'accessKeySecret: fixture-not-a-secret\n', timeoutMs: 240_000, ...env });
  const podIp = async (app: string) => (await waitFor(`${app} pod IP`, async () => {
    const r = await kubectl(['get', 'pods', '-n', NS, '-l', `app.kubernetes.io/name=${app}`, '-o', 'jsonpath={.items[0].status.podIP}'], env);
    return r.stdout.trim() || undefined;
  }));
  const serve = async (spec: Parameters<typeof harnessNetnsServer>[1]) => {
    const s = await harnessNetnsServer(harnessName, spec);
    stops.push(() => harnessStopNetns(harnessName, s.pid));
  };
  const { kubeStateMetrics, operator, kubelet } = STANDIN_METRICS;
  if (!o.skip?.includes('kube-state-metrics')) await serve({ ip: await podIp('kube-state-metrics'), port: 8080, mode: 'http', body: kubeStateMetrics });
  await serve({ ip: await podIp('loongcollector-operator'), port: 8888, mode: 'http', body: operator });
  await serve({ ip: await podIp('node-exporter'), port: 10250, mode: 'https', body: kubelet });
  await kubectl(['patch', 'clusteraliyunpipelineconfigs', `custom-kubernetes-${clusterId}-entity-collector`, '--subresource=status', '--type=merge', '-p', '{"status":{"success":true,"message":"ok"}}'], env);
}

/** One kubeconfig with both clusters and the broken contexts, under distinct names. */
function writeMergedKubeconfig(aFile: string, bFile: string, silentPort: number): void {
  const a = parse(readFileSync(aFile, 'utf8'));
  const bb = parse(readFileSync(bFile, 'utf8'));
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'a', cluster: a.clusters[0].cluster },
      { name: 'b', cluster: bb.clusters[0].cluster },
      { name: 'down', cluster: { server: 'https://127.0.0.1:1' } },
      { name: 'silent', cluster: { server: `https://127.0.0.1:${silentPort}` } },
    ],
    users: [
      { name: 'a', user: a.users[0].user },
      { name: 'b', user: bb.users[0].user },
      { name: 'stranger', user: { token: 'fleet-e2e-unknown-token' } },
    ],
    contexts: [
      { name: 'a', context: { cluster: 'a', user: 'a' } },
      { name: 'b', context: { cluster: 'b', user: 'b' } },
      { name: 'a-401', context: { cluster: 'a', user: 'stranger' } },
      { name: 'down', context: { cluster: 'down', user: 'a' } },
      { name: 'silent', context: { cluster: 'silent', user: 'a' } },
    ],
    'current-context': 'a',
  };
  writeFileSync(merged, stringify(doc), { mode: 0o600 });
}

describe.skipIf(Boolean(netnsSkipReason()))('fleet mode (doctor, preflight, version over several clusters)', () => {
  beforeAll(async () => {
    silent = createServer((s) => {
      silentSockets.push(s);
      s.resume();
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const t0 = Date.now();
    b = await startCluster({ name: `fleet-b-${process.pid}`, nodes: 2, ownerPid: process.pid, log: () => {} });
    process.stderr.write(`[fleet e2e] second cluster up after ${Date.now() - t0} ms\n`);
    writeMergedKubeconfig(cluster().kubeconfig, b.kubeconfig, (silent.address() as AddressInfo).port);
    writeFileSync(contextsFile, `# the fleet\na\na fleet-empty\nb\na-401\ndown\nsilent\n`);
    // The second cluster is new: helm creates the chart's CRDs there.
    await Promise.all([installHealthy(cluster().kubeconfig, cluster().name!, 'fleet-a', { crdFlags: await fixtureCrdFlags() }), installHealthy(b.kubeconfig, b.name, 'fleet-b', { crdFlags: [], skip: ['kube-state-metrics'] })]);
    process.stderr.write(`[fleet e2e] both installed after ${Date.now() - t0} ms\n`);
  });

  afterAll(async () => {
    for (const s of stops) await s().catch(() => {});
    for (const s of silentSockets) s.destroy();
    silent?.close();
    // The second cluster goes as a whole; on the e2e cluster the release's objects are deleted now (the
    // cluster-scoped ones would stop the next file's install), its pods may finish terminating later.
    if (b) await stopCluster(b.name);
    await helm(['uninstall', RELEASE, '-n', NS, '--timeout', '60s'], { allowFail: true });
    await kubectl(['patch', 'clusteraliyunpipelineconfigs', 'custom-kubernetes-fleet-a-entity-collector', '--type=merge', '-p', '{"metadata":{"finalizers":null}}'], { allowFail: true });
    await kubectl(['delete', 'clusteraliyunpipelineconfigs', 'custom-kubernetes-fleet-a-entity-collector', '--ignore-not-found', '--wait=false'], { allowFail: true });
    await kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=false'], { allowFail: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('doctor: one report with every context in its own state and reason; exit 1', async () => {
    const { code, doc } = await json('doctor', ['--contexts-file', contextsFile, '--context-timeout', '10s', '--probe-timeout', '2s', '--kubelet-nodes', '1']);
    expect(doc).toMatchObject({ command: 'doctor', fleet: true, exitCode: 1 });
    expect(code).toBe(1);
    // The listed order, whatever order they finished in.
    expect(doc.contexts.map((c) => `${c.context}/${c.namespace}`)).toEqual(['a/fleet-e2e', 'a/fleet-empty', 'b/fleet-e2e', 'a-401/fleet-e2e', 'down/fleet-e2e', 'silent/fleet-e2e']);
    const c = byName(doc);
    const healthy = c['a/fleet-e2e']!;
    expect(healthy.report!.findings.filter((f) => f.status === 'failed'), JSON.stringify(healthy.topCause)).toEqual([]);
    expect(healthy).toMatchObject({ verdict: 'healthy', passed: true, chart: { version: '1.0.0' }, topCause: null });
    expect(c['a/fleet-empty']).toMatchObject({ verdict: 'unhealthy', passed: false, chart: null, topCause: { id: 'release.present' } });
    expect(c['b/fleet-e2e']).toMatchObject({ verdict: 'unhealthy', passed: false, chart: { version: '1.0.0' }, topCause: { id: 'exporters.kube-state-metrics' } });
    // Only that exporter fails on b (its scrape target with it): the rest is as healthy as a's.
    const bFailed = c['b/fleet-e2e']!.report!.findings.filter((f) => f.status === 'failed');
    expect(bFailed.length).toBeGreaterThan(0);
    for (const f of bFailed) expect(`${f.message} ${f.object ?? ''}`, f.id).toContain('kube-state-metrics');
    expect(c['b/fleet-e2e']!.server).toBe(b!.server);
    expect(c['a-401/fleet-e2e']).toMatchObject({ verdict: 'unreachable', error: { reason: 'unauthorized' } });
    expect(c['down/fleet-e2e']).toMatchObject({ verdict: 'unreachable', error: { reason: 'refused' } });
    expect(c['silent/fleet-e2e']).toMatchObject({ verdict: 'unreachable', error: { reason: 'timeout' } });
    expect(doc.summary).toMatchObject({ contexts: 6, passed: 1, failed: 2, unreachable: 3 });
  });

  it('doctor: a fleet context’s report is the one-context document, and one --context keeps that output', async () => {
    const single = await run('doctor', ['--context', 'b', '-o', 'json', '--probe-timeout', '2s', '--kubelet-nodes', '1']);
    const one = JSON.parse(single.stdout) as { command: string; fleet?: boolean; context: string; verdict: string; findings: Array<{ id: string; status: string }> };
    expect(one.fleet).toBeUndefined();
    expect(one).toMatchObject({ command: 'doctor', context: 'b', verdict: 'unhealthy' });
    expect(single.exitCode).toBe(1);
    const { doc } = await json('doctor', ['--context', 'b', '--context', 'a', '--probe-timeout', '2s', '--kubelet-nodes', '1']);
    const fromFleet = doc.contexts.find((x) => x.context === 'b')!.report!;
    expect(fromFleet.findings.map((f) => [f.id, f.status])).toEqual(one.findings.map((f) => [f.id, f.status]));
  });

  it('doctor text: the summary table first, then each context under its name; --summary stops after the table', async () => {
    const r = await run('doctor', ['--context', 'a', '--context', 'b', '--context', 'down', '--probe-timeout', '2s', '--kubelet-nodes', '1']);
    expect(r.exitCode).toBe(1);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`kubectl insight doctor: 3 contexts, release ${NS}/${RELEASE}`);
    expect(lines[2]).toMatch(/^CONTEXT\s+SERVER\s+CHART\s+VERDICT\s+TOP CAUSE\s+TIME$/);
    expect(lines[3]).toMatch(/^a\s+https:\/\/127\.0\.0\.1:\d+\s+1\.0\.0\s+healthy\s+-\s+\d+\.\ds$/);
    expect(lines[4]).toMatch(/^b\s+\S+\s+1\.0\.0\s+unhealthy\s+exporters\.kube-state-metrics: /);
    expect(lines[5]).toMatch(/^down\s+https:\/\/127\.0\.0\.1:1\s+-\s+unreachable \(refused\)\s+cannot reach the API server/);
    // Each context's findings under it, in the listed order.
    const sections = lines.filter((l) => l.startsWith('=== '));
    expect(sections).toEqual(['=== a ===', '=== b ===', '=== down ===']);
    expect(r.stdout.indexOf('kubectl insight doctor: release fleet-e2e in fleet-e2e (context b)')).toBeGreaterThan(r.stdout.indexOf('=== b ==='));
    expect(lines.at(-1) === '' ? lines.at(-2) : lines.at(-1)).toMatch(/^FAIL: 1 healthy, 1 unhealthy, 1 unreachable \(\d+\.\ds\)$/);

    const s = await run('doctor', ['--context', 'a', '--context', 'down', '--summary', '--probe-timeout', '2s', '--kubelet-nodes', '1']);
    expect(s.stdout).not.toContain('===');
    expect(s.stdout.trim().split('\n')).toHaveLength(7); // title, blank, header, two rows, blank, verdict
  });

  it('exit codes: 0 when every context passes, 3 when the rest pass but one cannot be reached', async () => {
    expect((await run('doctor', ['--context', 'a', '--context', 'a', '--summary', '--probe-timeout', '2s', '--kubelet-nodes', '1'])).exitCode).toBe(0);
    const r = await json('doctor', ['--context', 'a', '--context', 'down', '--probe-timeout', '2s', '--kubelet-nodes', '1']);
    expect(r.code).toBe(3);
    expect(r.doc.contexts.map((x) => x.verdict)).toEqual(['healthy', 'unreachable']);
  });

  it('version: which chart version runs where, one line a context', async () => {
    const r = await run('version', ['--contexts-file', contextsFile, '--context-timeout', '5s']);
    expect(r.exitCode).toBe(3);
    const rows = r.stdout.split('\n');
    expect(rows[0]).toMatch(/^kubectl-insight \d+\.\d+\.\d+/);
    expect(rows[2]).toMatch(/^CONTEXT\s+SERVER\s+KUBERNETES\s+RELEASE\s+CHART\s+APP\s+STATUS\s+REVISION$/);
    expect(rows[3]).toMatch(/^a\s+https:\/\/127\.0\.0\.1:\d+\s+v1\.\d+\.\d+\s+fleet-e2e\/fleet-e2e\s+1\.0\.0\s+\S+\s+deployed\s+1$/);
    expect(rows[4]).toMatch(/^a\s+\S+\s+v1\.\d+\.\d+\s+fleet-empty\/fleet-e2e\s+not installed$/);
    expect(rows[5]).toMatch(/^b\s+\S+\s+v1\.\d+\.\d+\s+fleet-e2e\/fleet-e2e\s+1\.0\.0\s+\S+\s+deployed\s+1$/);
    expect(rows[7]).toMatch(/^down\s+.*unreachable \(refused\)/);
    const j = JSON.parse((await run('version', ['--context', 'a', '--context', 'b', '-o', 'json'])).stdout);
    expect(j.contexts.map((x: { context: string; installed: boolean; chart: { version: string } | null }) => [x.context, x.installed, x.chart?.version])).toEqual([
      ['a', true, '1.0.0'],
      ['b', true, '1.0.0'],
    ]);
  });

  it('preflight: the cluster checks on each context, one report', async () => {
    const { code, doc } = await json('preflight', ['--context', 'a', '--context', 'b', '--context', 'down', '--only', 'cluster', '--from-local']);
    expect(doc.command).toBe('preflight');
    expect(doc.contexts.map((x) => [x.context, x.verdict])).toEqual([
      ['a', expect.stringMatching(/^(pass|warn|fail)$/)],
      ['b', expect.stringMatching(/^(pass|warn|fail)$/)],
      ['down', 'unreachable'],
    ]);
    expect(doc.contexts[0]!.report).toMatchObject({ command: 'preflight', context: 'a' });
    expect(code).toBe(doc.contexts.slice(0, 2).every((x) => x.passed) ? 3 : 1);
  });
});
