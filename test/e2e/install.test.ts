// install end to end: the real helm, the local control plane, the fixture chart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartTgz, cleanup, cli, helm, HELM_LIST_ALL, helmLabel, kubectl, requiredValues, snapshotText, writeValues } from './support/index.js';

const NS = 'e2e-install';
const RELEASE = 'insight-e2e-install';
const CLUSTER_ID = 'e2e-install-1';
const SECRET = 'InstallE2eSecretValue0123456789';
const env = { ALIBABA_CLOUD_ACCESS_KEY_SECRET: SECRET };

describe(`install (${helmLabel()})`, () => {
  let chart: string;
  let values: string;
  const base = () => ['install', '--no-verify', '--release', RELEASE, '-n', NS, '--chart', chart, '-f', values, '--timeout', '90s', '--skip-preflight'];

  beforeAll(async () => {
    chart = await chartTgz('1.0.0');
    values = writeValues(requiredValues(CLUSTER_ID));
    await cleanup(RELEASE, NS, CLUSTER_ID);
  });
  afterAll(async () => {
    await cleanup(RELEASE, NS, CLUSTER_ID);
  });

  it('--dry-run prints the plan and redacted manifests and changes nothing', async () => {
    const before = await snapshotText([NS]);
    const r = await cli([...base(), '--dry-run'], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('Dry run: would install loongcollector-cluster-insight 1.0.0');
    expect(r.stdout).toContain('kind: DaemonSet');
    expect(r.stdout).toMatch(/accessKeySecret: "?\[REDACTED\]"?/);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
    expect(r.stdout).not.toContain(Buffer.from(SECRET).toString('base64'));
    expect(await snapshotText([NS])).toBe(before);

    const j = await cli([...base(), '--dry-run', '-o', 'json'], { env });
    expect(j.exitCode, j.stderr).toBe(0);
    const out = JSON.parse(j.stdout);
    expect(out).toMatchObject({ dryRun: true, release: RELEASE, namespace: NS, chart: { version: '1.0.0' } });
    expect(out.values.accessKeySecret).toBe('[REDACTED]');
    expect(j.stdout).not.toContain(SECRET);
    expect(await snapshotText([NS])).toBe(before);

    // --image-registry moves every component image to the mirror, keeping its path.
    const m = await cli([...base(), '--dry-run', '--image-registry', 'mirror.example.com:5000'], { env });
    expect(m.exitCode, m.stderr).toBe(0);
    const images = [...m.stdout.matchAll(/image: "?([^"\s]+)"?/g)].map((x) => x[1]!);
    expect(images.length).toBeGreaterThan(4);
    expect(images.filter((i) => !i.startsWith('mirror.example.com:5000/'))).toEqual([]);
    expect(images).toContain('mirror.example.com:5000/acs/loongcollector-operator:v0.0.1-rc.1');
  });

  it('installs the chart: pods Running, CR present, JSON result', async () => {
    const t0 = Date.now();
    const r = await cli([...base(), '-o', 'json'], { env });
    const wall = Date.now() - t0;
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ release: RELEASE, namespace: NS, dryRun: false, revision: 1, chart: { name: 'loongcollector-cluster-insight', version: '1.0.0' } });
    expect(out.workloads.length).toBeGreaterThanOrEqual(5);
    expect(out.workloads.every((w: { ready: boolean }) => w.ready)).toBe(true);
    expect(out.customResource).toEqual({ name: `custom-kubernetes-${CLUSTER_ID}-entity-collector`, present: true });
    process.stderr.write(`[measure] install wall time on the local cluster: ${wall} ms\n`);

    const phases = (await kubectl(['get', 'pods', '-n', NS, '-o', 'jsonpath={range .items[*]}{.status.phase}{"\\n"}{end}'])).stdout.split('\n').filter(Boolean);
    expect(phases.length).toBeGreaterThan(0);
    expect(new Set(phases)).toEqual(new Set(['Running']));
    await kubectl(['get', `clusteraliyunpipelineconfig/custom-kubernetes-${CLUSTER_ID}-entity-collector`]);
    // The node-exporter DaemonSet runs on every node.
    const ds = JSON.parse((await kubectl(['get', 'ds', 'cms-node-exporter', '-n', NS, '-o', 'json'])).stdout);
    const nodes = (await kubectl(['get', 'nodes', '-o', 'name'])).stdout.split('\n').filter(Boolean).length;
    expect(ds.status.numberAvailable).toBe(nodes);
    // The secret reached the cluster only inside the Secret.
    const data = JSON.parse((await kubectl(['get', 'secret', 'cms-cluster-insight-credentials', '-n', NS, '-o', 'json'])).stdout).data;
    expect(Buffer.from(data.accessKeySecret, 'base64').toString()).toBe(SECRET);
  });

  it('refuses a second install, names the installed version and changes nothing', async () => {
    const before = await snapshotText([NS]);
    const r = await cli(base(), { env });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/Error: already installed: release insight-e2e-install in e2e-install runs loongcollector-cluster-insight-1\.0\.0/);
    expect(r.stderr).toContain('kubectl insight upgrade');
    expect(await snapshotText([NS])).toBe(before);
  });

  it('refuses a second copy of the chart under another release name', async () => {
    const before = await snapshotText([NS, 'e2e-install-other']);
    const r = await cli(['install', '--no-verify', '--release', 'another', '-n', 'e2e-install-other', '--chart', chart, '-f', values], { env });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`already installed as release ${RELEASE} in namespace ${NS}`);
    expect(await snapshotText([NS, 'e2e-install-other'])).toBe(before);
  });

  /** Rewrite helm's release record to another status (as an interrupted or failed helm leaves it); returns a restore function. */
  async function setReleaseStatus(status: string): Promise<() => Promise<void>> {
    const secretName = (await kubectl(['get', 'secrets', '-n', NS, '-l', `owner=helm,name=${RELEASE}`, '-o', 'jsonpath={.items[0].metadata.name}'])).stdout.trim();
    const raw = JSON.parse((await kubectl(['get', 'secret', secretName, '-n', NS, '-o', 'json'])).stdout);
    const { gunzipSync, gzipSync } = await import('node:zlib');
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const rel = JSON.parse(gunzipSync(Buffer.from(Buffer.from(raw.data.release, 'base64').toString(), 'base64')).toString());
    const original = { release: raw.data.release, status: raw.metadata.labels.status };
    rel.info.status = status;
    raw.metadata.labels.status = status;
    raw.data.release = Buffer.from(gzipSync(Buffer.from(JSON.stringify(rel))).toString('base64')).toString('base64');
    const f = join(mkdtempSync(join(tmpdir(), 'insight-rel-')), 'r.json');
    delete raw.metadata.resourceVersion;
    writeFileSync(f, JSON.stringify(raw));
    await kubectl(['replace', '-f', f]);
    expect(JSON.parse((await helm(['list', '-n', NS, ...HELM_LIST_ALL, '-o', 'json'])).stdout)[0].status).toBe(status);
    return async () => {
      raw.data.release = original.release;
      raw.metadata.labels.status = original.status;
      writeFileSync(f, JSON.stringify(raw));
      await kubectl(['replace', '-f', f]);
    };
  }

  it('detects a release stuck in pending-install and gives the fixing command', async () => {
    const restore = await setReleaseStatus('pending-install');
    try {
      const before = await snapshotText([NS]);
      const r = await cli(base(), { env });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/Error: release insight-e2e-install is stuck in pending-install/);
      expect(r.stderr).toContain('kubectl insight uninstall');
      expect(await snapshotText([NS])).toBe(before);
    } finally {
      await restore();
    }
    expect(JSON.parse((await helm(['list', '-n', NS, ...HELM_LIST_ALL, '-o', 'json'])).stdout)[0].status).toBe('deployed');
  });

  it('explains a failed first install and installs over it with --replace', async () => {
    await setReleaseStatus('failed');
    const r = await cli(base(), { env });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/Error: a previous install of insight-e2e-install failed/);
    expect(r.stderr).toContain('--replace');
    const again = await cli([...base(), '--replace', '-o', 'json'], { env });
    expect(again.exitCode, again.stderr + again.stdout).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ revision: 2, workloads: expect.arrayContaining([expect.objectContaining({ ready: true })]) });
    const rel = JSON.parse((await helm(['list', '-n', NS, ...HELM_LIST_ALL, '-o', 'json'])).stdout)[0];
    expect(rel).toMatchObject({ status: 'deployed', revision: '2' }); // helm list prints revisions as strings
  });
});

describe(`install alongside kube-prometheus-stack (${helmLabel()})`, () => {
  const KPS_NS = 'e2e-install-kps';
  const OURS_NS = 'e2e-install-withkps';
  const OURS = 'insight-e2e-withkps';
  const ID = 'e2e-install-kps-1';
  const MON_CRDS = ['servicemonitors', 'podmonitors', 'prometheusrules', 'probes'].map((p) => `${p}.monitoring.coreos.com`);
  const OWN_CRDS = ['clusteraliyunpipelineconfigs.telemetry.alibabacloud.com', 'aliyunlogconfigs.log.alibabacloud.com'];
  const crdMeta = async () =>
    Object.fromEntries(
      await Promise.all(MON_CRDS.map(async (n) => [n, JSON.parse((await kubectl(['get', 'crd', n, '-o', 'json'])).stdout).metadata as { resourceVersion: string; annotations?: Record<string, string>; labels?: Record<string, string> }] as const)),
    );

  beforeAll(async () => {
    await cleanup(OURS, OURS_NS, ID);
    await helm(['uninstall', 'kps', '-n', KPS_NS, '--wait'], { allowFail: true, timeoutMs: 300_000 });
    await helm(['install', 'kps', await chartTgz('77.0.0', 'kube-prometheus-stack'), '-n', KPS_NS, '--create-namespace', '--wait', '--timeout', '90s']);
    // Our own CRDs absent while the shared ones exist: helm must not be the one to create crds/ then
    // (helm 4 would apply kps's CRDs server-side). No custom resources are left after cleanup.
    for (const n of OWN_CRDS) await kubectl(['delete', 'crd', n, '--ignore-not-found', '--wait=true', '--timeout=60s']);
    // The Prometheus Operator CRDs as a separate CRD chart leaves them: helm-owned by another release.
    for (const n of MON_CRDS) {
      await kubectl(['annotate', 'crd', n, '--overwrite', 'meta.helm.sh/release-name=prometheus-operator-crds', `meta.helm.sh/release-namespace=${KPS_NS}`]);
      await kubectl(['label', 'crd', n, '--overwrite', 'app.kubernetes.io/managed-by=Helm']);
    }
  });
  afterAll(async () => {
    await cleanup(OURS, OURS_NS, ID);
    for (const n of MON_CRDS) {
      await kubectl(['annotate', 'crd', n, 'meta.helm.sh/release-name-', 'meta.helm.sh/release-namespace-'], { allowFail: true });
      await kubectl(['label', 'crd', n, 'app.kubernetes.io/managed-by-'], { allowFail: true });
    }
    await helm(['uninstall', 'kps', '-n', KPS_NS, '--wait'], { allowFail: true, timeoutMs: 300_000 });
    await kubectl(['delete', 'namespace', KPS_NS, '--ignore-not-found', '--wait=true', '--timeout=90s'], { allowFail: true });
  });

  it('installs without taking over the shared CRDs, says who has them, and leaves kps working', async () => {
    const before = await crdMeta();
    const kpsObjects = (await kubectl(['get', 'servicemonitors,prometheusrules,podmonitors', '-n', KPS_NS, '-o', 'name'])).stdout;
    const values = writeValues(requiredValues(ID));
    const r = await cli(['install', '--no-verify', '--release', OURS, '-n', OURS_NS, '--chart', await chartTgz('1.0.0'), '-f', values, '--skip-preflight', '-o', 'json'], { env });
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    const out = JSON.parse(r.stdout);
    const sm = out.crds.find((c: { name: string }) => c.name === 'servicemonitors.monitoring.coreos.com');
    expect(sm).toMatchObject({ state: 'foreign', owner: `helm release ${KPS_NS}/prometheus-operator-crds`, managedBy: 'crds-dir' });
    expect(out.notes.join('\n')).toMatch(/CRD servicemonitors\.monitoring\.coreos\.com already exists \(helm release e2e-install-kps\/prometheus-operator-crds\): kept as is, not taken over/);
    // Not one byte of the CRDs changed: same resourceVersion, owner annotations and field managers.
    expect(await crdMeta()).toEqual(before);
    // The absent ones of crds/ were created by kubectl-insight, not applied by helm over the rest.
    const created = out.notes.find((n: string) => n.startsWith('created CRD ')) ?? '';
    for (const n of OWN_CRDS) expect(created).toContain(n);
    for (const n of OWN_CRDS) expect((await kubectl(['get', 'crd', n, '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}'])).stdout).toBe('True');
    // Our ServiceMonitors exist next to kps's, and kps's release and objects are untouched.
    expect((await kubectl(['get', 'servicemonitors', '-n', OURS_NS, '-o', 'name'])).stdout).toContain('servicemonitor');
    expect((await kubectl(['get', 'servicemonitors,prometheusrules,podmonitors', '-n', KPS_NS, '-o', 'name'])).stdout).toBe(kpsObjects);
    expect(JSON.parse((await helm(['list', '-n', KPS_NS, '-o', 'json'])).stdout)[0].status).toBe('deployed');
    // And kps can still upgrade over its CRDs.
    await helm(['upgrade', 'kps', await chartTgz('77.0.0', 'kube-prometheus-stack'), '-n', KPS_NS, '--reuse-values', '--wait', '--timeout', '90s']);
  });
});

describe(`install runs the preflight gate (${helmLabel()})`, () => {
  const GATE_NS = 'e2e-install-gate';
  const GATE = 'insight-e2e-gate';
  const ID = 'e2e-install-gate-1';
  const REGION = 'cn-hangzhou';
  const USER = { accessKeyId: 'LTAI5tInstallGate0001', secret: 'InstallGateSecret0123456789abcd' };
  let standin: { overrides(): Record<string, unknown>; close(): Promise<void> };
  let gateEnv: Record<string, string>;
  const args = async () => [
    'install', '--no-verify', '--release', GATE, '-n', GATE_NS, '--chart', await chartTgz('1.0.0'), '-f', writeValues(requiredValues(ID)),
    '--access-key-id', USER.accessKeyId, '--net', 'Intranet', '--preflight-from-local', '--timeout', '90s',
  ];

  beforeAll(async () => {
    await cleanup(GATE, GATE_NS, ID);
    const { startCloudStandin } = await import('../support/cloud-standin/server.js');
    const { aliyunNames, generatePki } = await import('../support/cloud-standin/pki.js');
    const v = requiredValues(ID) as { entityCollector: { projectName: string }; operator: { prometheus: { prometheusInstanceID: string } } };
    standin = await startCloudStandin({
      pki: generatePki(aliyunNames([REGION])),
      users: [{ ...USER, allowedActions: ['log:*', 'cms:*'], accountId: '1234567890123456', userName: 'gate' }],
      projects: [{ name: v.entityCollector.projectName, region: REGION }],
      prometheusInstances: [{ id: v.operator.prometheus.prometheusInstanceID, region: REGION, name: 'gate-prom' }],
    });
    // Every Alibaba Cloud host goes to the loopback stand-in; cms-vpc (alert-rule sync) to a closed port.
    gateEnv = {
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: USER.secret,
      KUBECTL_INSIGHT_ENDPOINT_OVERRIDES: JSON.stringify({ ...standin.overrides(), [`cms-vpc.${REGION}.aliyuncs.com`]: { address: '127.0.0.1', port: 9 } }),
    };
  });
  afterAll(async () => {
    await cleanup(GATE, GATE_NS, ID);
    await standin?.close();
  });

  it('Intranet with cms-vpc unreachable and no terminal: stops and says to disable alert-rule sync', async () => {
    const before = await snapshotText([GATE_NS]);
    const r = await cli(await args(), { env: gateEnv });
    expect(r.exitCode, r.stderr).toBe(6);
    expect(r.stderr).toMatch(/^Error: cms-vpc is not reachable from the cluster in Intranet mode: alert-rule sync would fail$/m);
    expect(r.stderr).toContain('--disable-alert-rule');
    expect(await snapshotText([GATE_NS])).toBe(before);
  });

  it('with --yes: installs with operator.enableAlertRule=false and says so', async () => {
    const r = await cli([...(await args()), '--yes', '-o', 'json'], { env: gateEnv });
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.alertRuleDisabled).toBe(true);
    expect(out.preflight.warnings).toBeGreaterThanOrEqual(1); // network.cms is a warning; nothing fatal
    expect(out.notes.join('\n')).toContain('alert-rule sync disabled');
    const cm = JSON.parse((await kubectl(['get', 'configmap', 'cms-cluster-insight-config', '-n', GATE_NS, '-o', 'json'])).stdout).data;
    expect(cm.ENABLE_ALERT_RULE).toBe('false');
    expect(cm.NET).toBe('Intranet');
    expect(r.stdout + r.stderr).not.toContain(USER.secret);
  });
});
