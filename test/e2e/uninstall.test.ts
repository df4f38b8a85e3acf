// `kubectl insight uninstall` against the local control plane with real helm and the fixture charts.
// The harness's operator stand-in clears the CR's finalizer only while the operator Deployment is ready.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALIBABA_CRDS, crState as crStateOf, ALL_CRDS, applyYaml, cleanup, cli, cliOnTty, cluster, deleteYaml, dropPrivateBuild, ensureCrds, helm, HELM_LIST_ALL,
  helmLabel, installChart, installKps, kubectl, kubectlJson, mintKubeconfig, namespaceGone, parseJson, presentCrds, setPodScenario,
  SHARED_CRDS, snapshotObjects, spawnCli, usePrivateBuild, waitFor,
} from './support/index.js';

const NS = 'uninst-e2e';
const REL = 'uninst-rel';
const KPS_NS = 'uninst-kps';
const KPS_REL = 'uninst-kps';
const CID = 'cuninste2e';
const CR_NAME = `custom-kubernetes-${CID}-entity-collector`;
const base = ['uninstall', '-n', NS, '--release', REL, '--timeout', '60s'];
const OPERATOR = 'cms-loongcollector-operator';

const crState = () => crStateOf(CR_NAME);

async function releaseExists(): Promise<boolean> {
  const l = JSON.parse((await helm(['list', '-n', NS, ...HELM_LIST_ALL, '-o', 'json'])).stdout) as { name: string }[];
  return l.some((r) => r.name === REL);
}

async function releasePods(): Promise<string[]> {
  const l = await kubectlJson<{ items: { metadata: { name: string } }[] }>(['get', 'pods', '-n', NS, '-l', `app.kubernetes.io/instance=${REL}`]);
  return l.items.map((p) => p.metadata.name);
}

/** Objects of the shared kinds, by uid, in a namespace. */
async function objectsIn(ns: string): Promise<Record<'servicemonitors' | 'podmonitors' | 'prometheusrules' | 'probes', string[]>> {
  const out = { servicemonitors: [], podmonitors: [], prometheusrules: [], probes: [] } as Record<'servicemonitors' | 'podmonitors' | 'prometheusrules' | 'probes', string[]>;
  for (const k of ['servicemonitors', 'podmonitors', 'prometheusrules', 'probes'] as const) {
    const r = await kubectl(['get', k, '-n', ns, '-o', 'json'], { allowFail: true });
    out[k] = r.exitCode === 0 ? (JSON.parse(r.stdout) as { items: { metadata: { name: string; uid: string } }[] }).items.map((i) => `${i.metadata.name}@${i.metadata.uid}`).sort() : [];
  }
  return out;
}

let crdsAtStart: string[] = [];

beforeAll(async () => {
  cluster();
  await usePrivateBuild();
  crdsAtStart = await presentCrds();
  await cleanup(REL, NS, CID);
  await helm(['uninstall', KPS_REL, '-n', KPS_NS, '--wait'], { allowFail: true });
  await kubectl(['delete', 'ns', KPS_NS, '--ignore-not-found', '--wait=false'], { allowFail: true });
  await namespaceGone(KPS_NS);
});

afterAll(async () => {
  dropPrivateBuild();
  await cleanup(REL, NS, CID);
  // kps's release manifest names ServiceMonitors: helm needs the CRDs to uninstall it.
  await ensureCrds();
  await helm(['uninstall', KPS_REL, '-n', KPS_NS, '--wait'], { allowFail: true });
  await kubectl(['delete', 'ns', KPS_NS, '--ignore-not-found', '--wait=false'], { allowFail: true });
  await namespaceGone(KPS_NS);
  await deleteYaml({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'uninst-limited' } });
  await deleteYaml({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'uninst-limited' } });
  // Leave the CRDs as we found them.
  const now = await presentCrds();
  if (crdsAtStart.some((c) => !now.includes(c))) await ensureCrds();
  const extra = (await presentCrds()).filter((c) => !crdsAtStart.includes(c));
  if (extra.length) await kubectl(['delete', 'crd', ...extra, '--ignore-not-found']);
});

describe.sequential(`uninstall (${helmLabel()})`, () => {
  it('refuses without a TTY and without --yes, changing nothing', async () => {
    await installChart(REL, NS, CID);
    const r = await cli(base);
    expect(r.exitCode).toBe(6);
    expect(r.stderr).toMatch(/needs confirmation.*no terminal/);
    expect(r.stderr).toContain('--yes');
    // It showed the plan before refusing.
    expect(r.stdout).toContain(`delete ClusterAliyunPipelineConfig ${CR_NAME}`);
    expect(await releaseExists()).toBe(true);
    expect(await crState()).toMatchObject({ exists: true, deleting: false });
  });

  it('on a terminal, shows the plan and asks; "n" cancels and changes nothing', async () => {
    if (!(await releaseExists())) await installChart(REL, NS, CID);
    const r = await cliOnTty(base, 'n\n');
    expect(r.exitCode, r.stdout).toBe(6);
    expect(r.stdout).toContain(`delete ClusterAliyunPipelineConfig ${CR_NAME}`);
    expect(r.stdout).toContain('Proceed with this plan? [y/N]');
    expect(r.stdout).toMatch(/uninstall cancelled; nothing was changed/);
    expect(await releaseExists()).toBe(true);
    expect(await crState()).toMatchObject({ exists: true, deleting: false });
  });

  it('normal uninstall, in order: the operator clears the finalizer before helm removes it', async () => {
    if (!(await releaseExists())) await installChart(REL, NS, CID);
    expect((await crState()).finalizers.length).toBeGreaterThan(0);
    const r = await cli([...base, '--yes', '-o', 'json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const j = parseJson(r);
    expect(j.result).toBe('uninstalled');
    const steps = j.outcomes.map((o: { step: string }) => o.step);
    // Order of the official procedure, as executed.
    expect([...new Set(steps)]).toEqual(['custom-resources', 'helm-release', 'workloads']);
    const crOut = j.outcomes.find((o: { kind: string }) => o.kind === 'ClusterAliyunPipelineConfig');
    expect(crOut).toMatchObject({ name: CR_NAME, result: 'deleted' });
    // Only a live operator removes the finalizer: this proves step 1 ran while the chart was still installed.
    expect(crOut.detail).toMatch(/the operator removed its finalizer/);
    expect(j.outcomes.find((o: { kind: string }) => o.kind === 'HelmRelease')).toMatchObject({ result: 'deleted' });
    expect(j.outcomes.filter((o: { step: string }) => o.step === 'workloads').length).toBeGreaterThan(3);
    expect(await crState()).toMatchObject({ exists: false });
    expect(await releaseExists()).toBe(false);
    expect(await releasePods()).toEqual([]);
    // No --purge-crds: every CRD stays.
    expect(await presentCrds()).toEqual([...ALL_CRDS].sort());
    // Re-run: nothing to do.
    const again = await cli([...base, '--yes']);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toMatch(/Nothing of release uninst-rel is installed in namespace uninst-e2e/);
    console.log(`[timing] normal uninstall: ${r.ms} ms (steps ${JSON.stringify(j.timingsMs)})`);
  });

  it('a slow operator is waited for: it removes its finalizer itself, nothing is stripped', async () => {
    await installChart(REL, NS, CID);
    // The stand-in takes this long to "clean up cloud-side" before it lets the CR go.
    await kubectl(['annotate', 'deployment', OPERATOR, '-n', NS, '--overwrite', 'insight.test/finalize-delay=6s']);
    const r = await cli([...base, '--yes', '-o', 'json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const crOut = parseJson(r).outcomes.find((o: { kind: string }) => o.kind === 'ClusterAliyunPipelineConfig');
    expect(crOut.detail).toMatch(/^deleted; the operator removed its finalizer in (\d+\.\d)s$/);
    expect(Number(/in (\d+\.\d)s/.exec(crOut.detail)![1])).toBeGreaterThanOrEqual(5);
    expect(await crState()).toMatchObject({ exists: false });
  });

  it('a restarting operator (no ready pod for a while) is not taken for gone: the finalizer waits for it', async () => {
    await installChart(REL, NS, CID);
    const [opPod] = await waitFor('operator pod', async () => {
      const l = await kubectlJson<{ items: { metadata: { name: string } }[] }>(['get', 'pods', '-n', NS, '-l', 'app.kubernetes.io/name=loongcollector-operator']);
      return l.items.length ? l.items.map((p) => p.metadata.name) : false;
    });
    await setPodScenario(NS, opPod!, 'never-ready');
    await waitFor('operator not ready', async () => !(await kubectlJson(['get', 'deployment', OPERATOR, '-n', NS])).status?.readyReplicas);
    const run = spawnCli([...base, '--yes', '-o', 'json'], { kubeconfig: cluster().kubeconfig });
    // The CR is deleted and waits; the operator comes back well within the grace period.
    await waitFor('CR Terminating', async () => (await crState()).deleting);
    await new Promise((r) => setTimeout(r, 4000));
    expect(await crState()).toMatchObject({ exists: true, deleting: true, finalizers: [expect.stringContaining('clusteraliyunpipelineconfig.finalizers')] });
    await setPodScenario(NS, opPod!, null);
    const r = await run;
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const crOut = JSON.parse(String(r.stdout)).outcomes.find((o: { kind: string }) => o.kind === 'ClusterAliyunPipelineConfig');
    expect(crOut.detail).toMatch(/^deleted; the operator removed its finalizer/);
  });

  it('a dead operator (scaled to zero) is gone: exactly its finalizer is stripped at once', async () => {
    await installChart(REL, NS, CID);
    await kubectl(['scale', 'deployment', OPERATOR, '-n', NS, '--replicas=0']);
    await waitFor('operator down', async () => !(await kubectlJson(['get', 'deployment', OPERATOR, '-n', NS])).status?.readyReplicas);
    const r = await cli([...base, '--yes', '-o', 'json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const crOut = parseJson(r).outcomes.find((o: { kind: string }) => o.kind === 'ClusterAliyunPipelineConfig');
    expect(crOut.detail).toMatch(/finalizer clusteraliyunpipelineconfig\.finalizers\.telemetry\.alibabacloud\.com\/finalizer removed by patch because the operator is gone \(Deployment uninst-e2e\/cms-loongcollector-operator is scaled to zero\)/);
    expect(await crState()).toMatchObject({ exists: false });
  });

  it('a timeout of 0, a bare number or beyond 24h is refused before anything changes', async () => {
    await installChart(REL, NS, CID);
    for (const [t, msg] of [['0s', /--timeout 0s is too short/], ['0', /--timeout 0: a duration needs a unit/], ['1000h', /--timeout 1000h is too long/]] as const) {
      const r = await cli([...base.filter((a) => a !== '60s' && a !== '--timeout'), '--timeout', t, '--yes']);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(msg), expect.stringMatching(/^Hint: /)]);
    }
    expect(await releaseExists()).toBe(true);
    expect(await crState()).toMatchObject({ exists: true, deleting: false });
    expect((await cli([...base, '--yes'])).exitCode).toBe(0);
  });

  it('recovers a CR stuck Terminating after helm was uninstalled by hand first', async () => {
    await installChart(REL, NS, CID);
    // The wrong order: the operator goes first (scaled down, then the whole chart), then the CR is deleted.
    await kubectl(['scale', 'deployment', 'cms-loongcollector-operator', '-n', NS, '--replicas=0']);
    await waitFor('operator down', async () => (await kubectlJson(['get', 'deployment', 'cms-loongcollector-operator', '-n', NS])).status?.readyReplicas ? false : true);
    await helm(['uninstall', REL, '-n', NS]);
    // Stuck: deleted by helm, finalizer still there, nobody to remove it.
    const stuck = await waitFor('CR Terminating', async () => {
      const s = await crState();
      return s.exists && s.deleting ? s : false;
    });
    expect(stuck.finalizers.length).toBe(1);
    const plan = parseJson(await cli([...base, '--dry-run', '-o', 'json']));
    expect(plan.plan.steps[0].items[0]).toMatchObject({ name: CR_NAME, action: 'delete-strip-finalizer' });
    expect(plan.plan.steps[0].items[0].reason).toMatch(/^stuck Terminating; operator not running/);
    const r = await cli([...base, '--yes', '-o', 'json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const j = parseJson(r);
    const crOut = j.outcomes.find((o: { kind: string }) => o.kind === 'ClusterAliyunPipelineConfig');
    expect(crOut.result).toBe('deleted');
    expect(crOut.detail).toMatch(/finalizer .* removed by patch because the operator is gone \(the release and its operator Deployment are uninstalled/);
    expect(j.steps.find((s: { id: string }) => s.id === 'helm-release')).toMatchObject({ status: 'skipped', reason: `no helm release ${REL} in namespace ${NS}` });
    expect(await crState()).toMatchObject({ exists: false });
    expect(await releasePods()).toEqual([]);
  });

  it('--dry-run changes nothing (full state before and after) and lists every object', async () => {
    if (!(await releaseExists())) await installChart(REL, NS, CID);
    await installKps(KPS_REL, KPS_NS);
    const before = await snapshotObjects();
    const j = parseJson(await cli([...base, '--dry-run', '--purge-crds', '--force', '--delete-namespace', '-o', 'json']));
    const text = await cli([...base, '--dry-run', '--purge-crds', '--delete-namespace']);
    const after = await snapshotObjects();
    expect(after).toEqual(before);
    expect(j.result).toBe('planned');
    const items = j.plan.steps.flatMap((s: { items: unknown[] }) => s.items) as { kind: string; name: string; action: string; lost?: unknown[] }[];
    expect(items.find((i) => i.kind === 'ClusterAliyunPipelineConfig')).toMatchObject({ name: CR_NAME, action: 'delete' });
    expect(items.find((i) => i.kind === 'HelmRelease')).toMatchObject({ name: REL, action: 'helm-uninstall' });
    const pods = await releasePods();
    for (const p of pods) expect(items.some((i) => i.kind === 'Pod' && i.name === p)).toBe(true);
    for (const c of SHARED_CRDS) expect(items.find((i) => i.name === c)).toMatchObject({ action: 'delete-forced' });
    for (const c of ALIBABA_CRDS) expect(items.find((i) => i.name === c)).toMatchObject({ action: 'delete' });
    expect(items.find((i) => i.kind === 'Namespace')).toMatchObject({ name: NS, action: 'delete' });
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toContain('Dry run: nothing was changed.');
    expect(text.stdout).toMatch(/KEEP CustomResourceDefinition servicemonitors\.monitoring\.coreos\.com/);
  });

  it('--purge-crds with kube-prometheus-stack present keeps the shared CRDs and names what would be lost; --force deletes them', async () => {
    if (!(await releaseExists())) await installChart(REL, NS, CID);
    if ((await kubectl(['get', 'ns', KPS_NS], { allowFail: true })).exitCode !== 0) await installKps(KPS_REL, KPS_NS);
    const kpsBefore = await objectsIn(KPS_NS);
    expect(kpsBefore.servicemonitors.length).toBeGreaterThan(0);
    const r = await cli([...base, '--yes', '--purge-crds', '-o', 'json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const j = parseJson(r);
    const crdOut = j.outcomes.filter((o: { step: string }) => o.step === 'crds') as { name: string; result: string; detail: string; lost?: { kind: string; namespace: string; name: string; owner: string }[] }[];
    for (const c of ALIBABA_CRDS) expect(crdOut.find((o) => o.name === c)).toMatchObject({ result: 'deleted' });
    for (const c of SHARED_CRDS) {
      const o = crdOut.find((x) => x.name === c)!;
      expect(o.result).toBe('kept');
      expect(o.detail).toMatch(/Prometheus Operator uninst-kps\//);
    }
    // Exactly kps's objects are named, with their owner.
    const sm = crdOut.find((o) => o.name === 'servicemonitors.monitoring.coreos.com')!;
    expect(sm.lost!.map((l) => l.name).sort()).toEqual(kpsBefore.servicemonitors.map((s) => s.split('@')[0]).sort());
    for (const l of sm.lost!) expect(l).toMatchObject({ kind: 'ServiceMonitor', namespace: KPS_NS, owner: `helm release ${KPS_NS}/${KPS_REL}` });
    expect(await objectsIn(KPS_NS)).toEqual(kpsBefore);
    expect(await presentCrds()).toEqual([...SHARED_CRDS].sort());

    // --force: shows the list, then deletes.
    const f = await cli([...base, '--yes', '--purge-crds', '--force']);
    expect(f.exitCode, f.stderr).toBe(0);
    const planPart = f.stdout.slice(0, f.stdout.indexOf('Delete CRDs that nothing else uses:'));
    expect(planPart).toMatch(/DELETE \(--force\) CustomResourceDefinition servicemonitors\.monitoring\.coreos\.com/);
    expect(planPart).toContain(`ServiceMonitor ${KPS_NS}/${kpsBefore.servicemonitors[0]!.split('@')[0]}  owner: helm release ${KPS_NS}/${KPS_REL}`);
    expect(f.stdout).toMatch(/deleted\s+CustomResourceDefinition servicemonitors\.monitoring\.coreos\.com — deleted with --force/);
    expect(await presentCrds()).toEqual([]);
  });

  it('--purge-crds alone in the cluster deletes all six CRDs; --delete-namespace removes the empty namespace', async () => {
    await ensureCrds();
    await helm(['uninstall', KPS_REL, '-n', KPS_NS, '--wait'], { allowFail: true });
    await kubectl(['delete', 'ns', KPS_NS, '--ignore-not-found']);
    await cleanup(REL, NS, CID);
    await installChart(REL, NS, CID);
    // Precondition: nothing foreign uses the shared kinds anywhere.
    for (const k of ['servicemonitors', 'podmonitors', 'prometheusrules', 'probes']) {
      const l = await kubectlJson<{ items: { metadata: { namespace: string; name: string } }[] }>(['get', k, '-A']);
      expect(l.items.filter((i) => i.metadata.namespace !== NS).map((i) => `${i.metadata.namespace}/${i.metadata.name}`), `foreign ${k} left by another test`).toEqual([]);
    }
    const r = await cli([...base, '--yes', '--purge-crds', '--delete-namespace', '-o', 'json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const j = parseJson(r);
    const crdOut = j.outcomes.filter((o: { step: string }) => o.step === 'crds');
    expect(crdOut.map((o: { name: string; result: string }) => [o.name, o.result]).sort()).toEqual(ALL_CRDS.map((c) => [c, 'deleted']).sort());
    expect(j.outcomes.find((o: { kind: string }) => o.kind === 'Namespace')).toMatchObject({ name: NS, result: 'deleted' });
    expect(await presentCrds()).toEqual([]);
    expect((await kubectl(['get', 'ns', NS], { allowFail: true })).exitCode).not.toBe(0);
    console.log(`[timing] purge-crds + delete-namespace: ${r.ms} ms (steps ${JSON.stringify(j.timingsMs)})`);
  });

  it('--delete-namespace never deletes another team\'s namespace, nor one that holds anything not the release\'s', async () => {
    const TEAM = 'uninst-team-data';
    const teamObjects = [
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db-password', namespace: TEAM }, stringData: { password: 'x' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'team-config', namespace: TEAM }, data: { a: 'b' } },
      { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'backup', namespace: TEAM }, spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'b', image: 'example.invalid/backup:1' }] } } } } } },
      { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: TEAM }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
    ];
    await kubectl(['create', 'namespace', TEAM], { allowFail: true });
    await applyYaml(teamObjects);
    const state = async (ns: string) => (await kubectl(['get', 'secrets,configmaps,cronjobs,persistentvolumeclaims', '-n', ns, '-o', 'jsonpath={range .items[*]}{.kind}/{.metadata.name}@{.metadata.resourceVersion} {end}'])).stdout;
    const before = await state(TEAM);
    try {
      // Nothing of the release was ever in it.
      const r = await cli(['uninstall', '-n', TEAM, '--release', REL, '--delete-namespace', '--yes', '-o', 'json']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(await state(TEAM)).toBe(before);
      expect((await kubectl(['get', 'ns', TEAM])).exitCode).toBe(0);

      // The release in a namespace with another team's Secret: the release goes, the namespace and the Secret stay.
      await installChart(REL, NS, CID);
      await applyYaml({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'someone-elses', namespace: NS }, stringData: { k: 'v' } });
      const plan = parseJson(await cli([...base, '--delete-namespace', '--dry-run', '-o', 'json']));
      expect(plan.plan.steps[4].items[0]).toMatchObject({ action: 'keep', reason: expect.stringContaining('Secret someone-elses') });
      const u = await cli([...base, '--yes', '--delete-namespace', '-o', 'json']);
      expect(u.exitCode, u.stderr).toBe(0);
      expect(parseJson(u).outcomes.find((o: { kind: string }) => o.kind === 'Namespace')).toMatchObject({ result: 'kept', detail: expect.stringContaining('Secret someone-elses') });
      expect(await releaseExists()).toBe(false);
      expect((await kubectl(['get', 'secret', 'someone-elses', '-n', NS])).exitCode).toBe(0);
      // The mark that lets a re-run finish is gone when the namespace is kept.
      expect((await kubectlJson<any>(['get', 'ns', NS])).metadata.annotations?.['kubectl-insight/uninstalling-release']).toBeUndefined();
    } finally {
      await kubectl(['delete', 'secret', 'someone-elses', '-n', NS, '--ignore-not-found'], { allowFail: true });
      await kubectl(['delete', 'namespace', TEAM, '--ignore-not-found', '--wait=true', '--timeout=90s'], { allowFail: true });
    }
  });

  it('nothing installed: says so and exits 0, also in JSON', async () => {
    const r = await cli(['uninstall', '-n', 'uninst-nothing', '--release', 'nothing', '--yes']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/Nothing of release nothing is installed in namespace uninst-nothing: nothing to do/);
    const j = parseJson(await cli(['uninstall', '-n', 'uninst-nothing', '--release', 'nothing', '-o', 'json']));
    expect(j.result).toBe('nothing-installed');
  });

  it('403 names the verb, resource and RBAC rule, and leaves a state the next run finishes', async () => {
    await ensureCrds();
    await cleanup(REL, NS, CID);
    await installChart(REL, NS, CID);
    // Operator down, so the finalizer must be removed by patch, which this user may not do.
    await kubectl(['scale', 'deployment', 'cms-loongcollector-operator', '-n', NS, '--replicas=0']);
    await waitFor('operator down', async () => ((await kubectlJson(['get', 'deployment', 'cms-loongcollector-operator', '-n', NS])).status?.readyReplicas ? false : true));
    const verbs = ['get', 'list', 'watch', 'create', 'update', 'delete', 'deletecollection'];
    await applyYaml([
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'uninst-limited' },
        rules: [
          { apiGroups: ['*'], resources: ['*'], verbs },
          { apiGroups: ['', 'apps', 'apiextensions.k8s.io', 'monitoring.coreos.com', 'log.alibabacloud.com', 'rbac.authorization.k8s.io', 'admissionregistration.k8s.io'], resources: ['*'], verbs: ['patch'] },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'uninst-limited' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'uninst-limited' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'uninst-limited' }],
      },
    ]);
    const limited = await mintKubeconfig('uninst-limited');
    // The dry run hears the same refusal from the API server first (server-side dry run), and changes nothing.
    const dry = await cli([...base, '--dry-run', '-o', 'json'], { kubeconfig: limited });
    expect(dry.exitCode, dry.stderr).toBe(4);
    const items = (parseJson(dry).plan.steps as Array<{ items: Array<{ kind: string; name: string; serverDryRun?: { ok: boolean; kind?: string; reason?: string } }> }>).flatMap((st) => st.items);
    const crItem = items.find((i) => i.kind === 'ClusterAliyunPipelineConfig' && i.name === CR_NAME);
    expect(crItem?.serverDryRun).toMatchObject({ ok: false, kind: 'forbidden' });
    expect(crItem?.serverDryRun?.reason).toContain(`cannot patch clusteraliyunpipelineconfigs.telemetry.alibabacloud.com "${CR_NAME}"`);
    expect(await crState()).toMatchObject({ exists: true, deleting: false });
    expect(await releaseExists()).toBe(true);
    const r = await cli([...base, '--yes', '-o', 'json'], { kubeconfig: limited });
    expect(r.exitCode).toBe(4);
    const e = parseJson(r).error;
    expect(e.kind).toBe('forbidden');
    expect(e.message).toContain(`cannot patch clusteraliyunpipelineconfigs.telemetry.alibabacloud.com "${CR_NAME}"`);
    expect(e.hint).toContain('apiGroups: ["telemetry.alibabacloud.com"], resources: ["clusteraliyunpipelineconfigs"], verbs: ["patch"]');
    expect(e.hint).toMatch(/run the same command again/);
    expect(e.details.step).toBe('custom-resources');
    // Resumable: helm was not touched, the CR is Terminating; the next run (with rights) finishes.
    expect(await releaseExists()).toBe(true);
    expect(await crState()).toMatchObject({ exists: true, deleting: true });
    const again = await cli([...base, '--yes', '-o', 'json']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await crState()).toMatchObject({ exists: false });
    expect(await releaseExists()).toBe(false);
    expect(await releasePods()).toEqual([]);
  });
});
