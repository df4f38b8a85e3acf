// doctor --fix end to end: each state users get stuck in is made for real on the local control plane
// (a hand-edited ConfigMap, an upgrade that fails, helm killed mid-upgrade, mid-rollback and
// mid-install, a preflight killed with its probe pods out), then `doctor --fix --yes` repairs it, the
// end state is checked with kubectl and helm, and a second doctor run finds nothing left to fix.
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBE_POD_SELECTOR } from '../../src/net/probe-pods.js';
import {
  cli, cluster, FIXTURE_CHART_DIR, FIXTURE_VALUES, fixtureCrdFlags, helm, helmLabel, kubectl, kubectlJson, scenarioAnnotations, spawnCli, waitFor,
} from './support/index.js';

const NS = 'e2e-fix';
const RELEASE = 'insight-e2e-fix';
const CLUSTER_ID = 'e2e-fix-1';
const CR = `custom-kubernetes-${CLUSTER_ID}-entity-collector`;
const PROBE_NS = 'e2e-fix-probes';
const SECRET_INPUT = 'accessKeySecret: fixture-not-a-secret\n';

interface Finding { id: string; status: string; message: string; evidence: string[]; hint: string | null }
interface FixView { id: string; outcome?: string; error?: string; next?: string; command: string }
interface Doc { exitCode: number; findings: Finding[]; fixes: FixView[] }

async function doctor(args: string[] = []): Promise<Doc> {
  const r = await cli(['doctor', '-n', NS, '--release', RELEASE, '-o', 'json', ...args], { timeoutMs: 240_000 });
  try {
    return JSON.parse(r.stdout) as Doc;
  } catch {
    throw new Error(`doctor printed no JSON (exit ${r.exitCode}): ${r.stderr}\n${r.stdout}`);
  }
}
const finding = (d: Doc, id: string) => d.findings.filter((f) => f.id === id);

const chartArgs = async () => [FIXTURE_CHART_DIR, '-n', NS, '-f', FIXTURE_VALUES, '-f', '-', '--set', 'kubeProxy.enabled=false', '--set', 'gpuExporter.enabled=false', '--set', `clusterID=${CLUSTER_ID}`, ...(await fixtureCrdFlags())];
/** kube-state-metrics never becomes Ready in this revision: helm --wait never finishes (the operator keeps running). */
const neverReady = () => Object.entries(scenarioAnnotations('never-ready')).flatMap(([k, v]) => ['--set-string', `kubeStateMetrics.podAnnotations.${k.replace(/\./g, '\\.')}=${v}`]);

/** helm as a child we can kill -9 (the way an operator's laptop or a CI job dies mid-operation). */
function spawnHelm(args: string[], input?: string): ResultPromise<{ reject: false }> {
  return execa('helm', args, { reject: false, env: { KUBECONFIG: cluster().kubeconfig, PATH: process.env.PATH ?? '' }, ...(input ? { input } : { stdin: 'ignore' as const }), timeout: 600_000 });
}

interface Rev { revision: number; status: string }
async function history(): Promise<Rev[]> {
  const r = await helm(['history', RELEASE, '-n', NS, '-o', 'json'], { allowFail: true });
  if (r.exitCode !== 0) return [];
  return (JSON.parse(r.stdout) as Array<{ revision: number; status: string }>).map((h) => ({ revision: Number(h.revision), status: h.status }));
}
const newest = async () => (await history()).at(-1);

/** Start a helm operation that waits forever, and kill -9 it once helm has recorded the pending revision. */
async function interrupt(args: string[], pending: string, input?: string): Promise<Rev> {
  const before = (await newest())?.revision ?? 0;
  const child = spawnHelm(args, input);
  const rev = await waitFor(`helm to record ${pending}`, async () => {
    const n = await newest();
    return n && n.revision > before && n.status === pending ? n : undefined;
  }, { timeoutMs: 120_000, intervalMs: 300 });
  child.kill('SIGKILL');
  await child;
  // Still pending once helm is dead: nothing else will move it on.
  expect((await newest())?.status).toBe(pending);
  return rev;
}

/** Let a pending revision grow older than `--operation-timeout 1s` (ages are whole seconds on the server's clock). */
const olderThanOneSecond = () => new Promise((r) => setTimeout(r, 2100));

describe(`doctor --fix (${helmLabel()})`, () => {
  let probeRun: ResultPromise<{ reject: false }> | undefined;

  beforeAll(async () => {
    await helm(['install', RELEASE, ...(await chartArgs()), '--create-namespace', '--wait', '--timeout', '3m'], { input: SECRET_INPUT, timeoutMs: 240_000 });
    await kubectl(['patch', 'clusteraliyunpipelineconfigs', CR, '--subresource=status', '--type=merge', '-p', '{"status":{"success":true,"message":"ok"}}']);
    // A preflight killed while its probe pods run: they outlive it. Started first, since the pods
    // become leftovers only after their run's end (10s) and the grace after it.
    await kubectl(['create', 'namespace', PROBE_NS], { allowFail: true });
    probeRun = spawnCli(['preflight', '--region', 'cn-hangzhou', '--only', 'network', '--probe-namespace', PROBE_NS, '--probe-pod-timeout', '10s', '--timeout', '1s', '-o', 'json']);
    await waitFor('probe pods', async () => (await kubectlJson<{ items: unknown[] }>(['get', 'pods', '-n', PROBE_NS, '-l', PROBE_POD_SELECTOR])).items.length > 0, { timeoutMs: 120_000, intervalMs: 300 });
    probeRun.kill('SIGKILL');
    await probeRun;
  });

  afterAll(async () => {
    probeRun?.kill('SIGKILL');
    await kubectl(['delete', 'clusteraliyunpipelineconfigs', CR, '--ignore-not-found', '--wait=false'], { allowFail: true });
    await helm(['uninstall', RELEASE, '-n', NS, '--wait', '--timeout', '60s'], { allowFail: true });
    await kubectl(['patch', 'clusteraliyunpipelineconfigs', CR, '--type=merge', '-p', '{"metadata":{"finalizers":null}}'], { allowFail: true });
    await kubectl(['delete', 'namespace', NS, PROBE_NS, '--ignore-not-found', '--wait=false'], { allowFail: true });
  });

  it('restarts the workloads whose pods run configuration older than their ConfigMap', async () => {
    const cm = (await kubectlJson<{ items: Array<{ metadata: { name: string } }> }>(['get', 'configmaps', '-n', NS, '-l', `app.kubernetes.io/instance=${RELEASE}`])).items[0]!.metadata.name;
    // A later second than every pod's start (the rule compares whole seconds).
    await new Promise((r) => setTimeout(r, 1100));
    const clusterName = (await kubectlJson<{ data: Record<string, string> }>(['get', 'configmap', cm, '-n', NS])).data['CLUSTER_NAME'] ?? '';
    await kubectl(['patch', 'configmap', cm, '-n', NS, '--type=merge', '-p', '{"data":{"CLUSTER_NAME":"edited-by-hand"}}']);
    const before = await doctor(['--only', 'pods.config-current']);
    const stale = finding(before, 'pods.config-current').filter((f) => f.status === 'failed');
    // The fixture's operator, entity collector and collector read the ConfigMap as environment.
    expect(stale.map((f) => f.message).join('\n')).toMatch(/Deployment cms-loongcollector-operator started before ConfigMap/);
    const restarts = before.fixes.filter((f) => f.id.startsWith('workload.restart/')).map((f) => f.id);
    expect(restarts.length).toBe(stale.length);

    const dry = await doctor(['--only', 'pods.config-current', '--fix', '--dry-run']);
    expect(dry.fixes.every((f) => f.outcome === 'planned')).toBe(true);
    const op = () => kubectlJson<{ spec: { template: { metadata: { annotations?: Record<string, string> } } } }>(['get', 'deploy', 'cms-loongcollector-operator', '-n', NS]);
    expect((await op()).spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']).toBeUndefined();

    const fixed = await doctor(['--only', 'pods.config-current', '--fix', '--yes']);
    expect(fixed.fixes.map((f) => [f.id, f.outcome])).toEqual(restarts.map((id) => [id, 'applied']));
    expect((await op()).spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']).toBeTruthy();
    for (const id of restarts) await kubectl(['rollout', 'status', `${id.split('/')[1]}/${id.split('/')[3]}`, '-n', NS, '--timeout', '120s'], { timeoutMs: 150_000 });
    const after = await doctor(['--only', 'pods.config-current', '--fix', '--yes']);
    expect(finding(after, 'pods.config-current').map((f) => f.status)).toEqual(['passed']);
    expect(after.fixes).toEqual([]);
    // Undo the hand edit: helm 4's server-side apply of another value would conflict with it (the
    // rollback fix then fails, naming the field manager), while the same value is shared ownership.
    await kubectl(['patch', 'configmap', cm, '-n', NS, '--type=merge', '-p', `{"data":{"CLUSTER_NAME":${JSON.stringify(clusterName)}}}`]);
  });

  it('rolls a failed upgrade back to the last deployed revision', async () => {
    const good = (await newest())!;
    await helm(['upgrade', RELEASE, ...(await chartArgs()), ...neverReady(), '--wait', '--timeout', '8s'], { input: SECRET_INPUT, allowFail: true, timeoutMs: 120_000 });
    const bad = (await newest())!;
    expect(bad).toEqual({ revision: good.revision + 1, status: 'failed' });

    const dry = await doctor(['--only', 'release', '--fix', '--dry-run']);
    expect(dry.fixes).toEqual([expect.objectContaining({ id: `release.rollback/${NS}/${RELEASE}`, outcome: 'planned', command: `helm rollback ${RELEASE} ${good.revision} -n ${NS}` })]);
    expect(await newest()).toEqual(bad);

    const fixed = await doctor(['--only', 'release', '--fix', '--yes']);
    expect(fixed.fixes).toEqual([expect.objectContaining({ id: `release.rollback/${NS}/${RELEASE}`, outcome: 'applied' })]);
    expect(await newest()).toEqual({ revision: bad.revision + 1, status: 'deployed' });
    const again = await doctor(['--only', 'release', '--fix', '--yes']);
    expect(finding(again, 'release.deployed')[0]!.status).toBe('passed');
    expect(again.fixes).toEqual([]);
  });

  it('leaves a pending-upgrade younger than the operation timeout alone, then rolls it back once it is older', async () => {
    const good = (await newest())!;
    const pending = await interrupt(['upgrade', RELEASE, ...(await chartArgs()), ...neverReady(), '--wait', '--timeout', '5m'], 'pending-upgrade', SECRET_INPUT);
    const young = await doctor(['--only', 'release', '--fix', '--yes']);
    const f = finding(young, 'release.deployed')[0]!;
    expect(f.status).toBe('failed');
    expect(f.evidence.join('\n')).toMatch(/pending-upgrade for \d+s[\s\S]*helm keeps no lock/);
    expect(young.fixes).toEqual([]);
    expect(await newest()).toEqual(pending);

    await olderThanOneSecond();
    const fixed = await doctor(['--only', 'release', '--fix', '--yes', '--operation-timeout', '1s']);
    expect(fixed.fixes).toEqual([expect.objectContaining({ id: `release.rollback/${NS}/${RELEASE}`, outcome: 'applied', command: `helm rollback ${RELEASE} ${good.revision} -n ${NS}` })]);
    expect(await newest()).toEqual({ revision: pending.revision + 1, status: 'deployed' });
    const again = await doctor(['--only', 'release', '--operation-timeout', '1s']);
    expect(finding(again, 'release.deployed')[0]!.status).toBe('passed');
    expect(again.fixes).toEqual([]);
  });

  it('rolls a release stuck in pending-rollback back to the last deployed revision', async () => {
    const good = (await newest())!;
    // Roll back to the revision whose kube-state-metrics never gets Ready, and die waiting for it.
    const failedRev = (await history()).find((h) => h.status === 'failed')!;
    const pending = await interrupt(['rollback', RELEASE, String(failedRev.revision), '-n', NS, '--wait', '--timeout', '5m'], 'pending-rollback');
    await olderThanOneSecond();
    const fixed = await doctor(['--only', 'release', '--fix', '--yes', '--operation-timeout', '1s']);
    expect(fixed.fixes).toEqual([expect.objectContaining({ id: `release.rollback/${NS}/${RELEASE}`, outcome: 'applied', command: `helm rollback ${RELEASE} ${good.revision} -n ${NS}` })]);
    expect(await newest()).toEqual({ revision: pending.revision + 1, status: 'deployed' });
    expect((await doctor(['--only', 'release', '--operation-timeout', '1s'])).fixes).toEqual([]);
  });

  it('deletes the probe pods an interrupted preflight left, once their run is over', async () => {
    const left = async () => (await kubectlJson<{ items: Array<{ metadata: { name: string } }> }>(['get', 'pods', '-n', PROBE_NS, '-l', PROBE_POD_SELECTOR])).items.map((p) => p.metadata.name);
    const names = await left();
    expect(names.length).toBeGreaterThan(0);
    const d = await waitFor('the probe pods to count as leftovers', async () => {
      const r = await doctor(['--only', 'leftovers']);
      return r.fixes.length ? r : undefined;
    }, { timeoutMs: 150_000, intervalMs: 5000 });
    expect(d.fixes.map((f) => f.id).sort()).toEqual(names.map((n) => `probe-pod.delete/${PROBE_NS}/${n}`).sort());
    const fixed = await doctor(['--only', 'leftovers', '--fix', '--yes']);
    expect(fixed.fixes.filter((f) => f.outcome !== 'applied')).toEqual([]);
    await waitFor('probe pods gone', async () => (await left()).length === 0, { timeoutMs: 60_000 });
    const again = await doctor(['--only', 'leftovers']);
    expect(finding(again, 'leftovers.probe-pods')[0]!.status).toBe('passed');
  });

  it('uninstalls a release stuck in pending-install, keeping the CRDs, and says to install again', async () => {
    // A fresh install that dies half-way: remove the release first, the way users do.
    const un = await cli(['uninstall', '-n', NS, '--release', RELEASE, '--yes'], { timeoutMs: 240_000 });
    expect(un.exitCode, un.stderr).toBe(0);
    const crds = async () => (await kubectl(['get', 'crd', 'clusteraliyunpipelineconfigs.telemetry.alibabacloud.com', '--ignore-not-found', '-o', 'name'])).stdout.trim();
    expect(await crds()).not.toBe('');
    await interrupt(['install', RELEASE, ...(await chartArgs()), ...neverReady(), '--wait', '--timeout', '5m'], 'pending-install', SECRET_INPUT);
    await olderThanOneSecond();

    const fixed = await doctor(['--fix', '--yes', '--operation-timeout', '1s', '--only', 'release', '--only', 'cr']);
    const fix = fixed.fixes.find((f) => f.id === `release.uninstall-pending/${NS}/${RELEASE}`);
    expect(fix, JSON.stringify(fixed.fixes)).toMatchObject({ outcome: 'applied', next: expect.stringContaining('install again') });
    expect(await history()).toEqual([]);
    expect(await crds()).not.toBe('');
    expect((await kubectl(['get', 'clusteraliyunpipelineconfigs', CR, '--ignore-not-found', '-o', 'name'])).stdout.trim()).toBe('');
    const again = await doctor(['--only', 'release', '--only', 'cr', '--operation-timeout', '1s']);
    expect(again.fixes).toEqual([]);
    expect(finding(again, 'release.present')[0]!.message).toMatch(/not found/);
  });
});
