// The foreign world: everything on the cluster that is not this installation's, snapshotted before and
// after every command and mode (install, upgrade, doctor --fix --yes, uninstall with every flag, a re-run).
// Other teams' namespaces hold Secrets, a PVC, a CronJob, ConfigMaps, a ServiceMonitor and custom resources
// of their own CRD; another installation's ClusterAliyunPipelineConfig is stuck Terminating; another chart
// runs under our release name; an Argo CD Application and a Flux HelmRelease manage other teams' releases.
// Nothing of it may change: not an object, a finalizer, a label or a spec.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chartTgz, cleanup, cli, ensureCrds, helm, HELM_LIST_ALL, helmLabel, kubectl, OPERATOR_FINALIZER, requiredValues, writeValues,
} from './support/index.js';

const NS = 'fw-insight';
const RELEASE = 'fw-insight';
const CLUSTER_ID = 'fw-1';
const SECRET = 'ForeignWorldSecret0123456789abcd';
const TEAM = ['fw-team-data', 'fw-team-apps', 'fw-team-gitops'];
const OUR_NAME = 'aliyun-loongcollector-cluster-insight';
const WIDGETS = 'widgets.team.example.com';
const GITOPS_CRDS = ['applications.argoproj.io', 'helmreleases.helm.toolkit.fluxcd.io'];
const FOREIGN_CR = 'fw-other-installation';

const crd = (group: string, kind: string, plural: string, version: string) => ({
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `${plural}.${group}` },
  spec: { group, names: { kind, plural, singular: kind.toLowerCase() }, scope: 'Namespaced', versions: [{ name: version, served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }] },
});
const apply = (objs: object[]) => kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs }) });

let createdCrds: string[] = [];

/** Every listable namespaced type, once (the foreign namespaces are compared over all of them). */
async function namespacedTypes(): Promise<string> {
  const out = (await kubectl(['api-resources', '--verbs=list', '--namespaced', '-o', 'name'])).stdout;
  return out.split('\n').filter((t) => t && !/^(events|leases|endpoints|endpointslices)\b/.test(t)).join(',');
}

/** What an object is, without what controllers write (status, resourceVersion, managedFields). */
function fingerprint(o: any): string {
  const m = o.metadata ?? {};
  const keep = { uid: m.uid, finalizers: m.finalizers ?? [], deleting: Boolean(m.deletionTimestamp), labels: m.labels ?? {}, annotations: m.annotations ?? {}, spec: o.spec, data: o.data, stringData: o.stringData, rules: o.rules, subjects: o.subjects };
  return createHash('sha256').update(JSON.stringify(keep)).digest('hex').slice(0, 16);
}

async function world(): Promise<Record<string, string>> {
  // Types are read again each time: a purged CRD's type is gone, and its foreign objects would be missing.
  const types = await namespacedTypes();
  const out: Record<string, string> = {};
  const add = (items: any[]) => {
    for (const i of items) out[`${i.kind}/${i.metadata.namespace ?? ''}/${i.metadata.name}`] = fingerprint(i);
  };
  for (const ns of TEAM) add(JSON.parse((await kubectl(['get', types, '-n', ns, '-o', 'json'])).stdout).items);
  add(JSON.parse((await kubectl(['get', 'namespaces', ...TEAM, '-o', 'json'])).stdout).items);
  // The team CRDs, and the chart's CRDs that foreign objects use (--purge-crds must keep them).
  add(JSON.parse((await kubectl(['get', 'crd', WIDGETS, ...GITOPS_CRDS, 'clusteraliyunpipelineconfigs.telemetry.alibabacloud.com', 'servicemonitors.monitoring.coreos.com', '-o', 'json'])).stdout).items);
  add([JSON.parse((await kubectl(['get', 'clusteraliyunpipelineconfig', FOREIGN_CR, '-o', 'json'])).stdout)]);
  const rel = JSON.parse((await helm(['list', '-n', 'fw-team-apps', ...HELM_LIST_ALL, '-o', 'json'], { allowFail: true })).stdout || '[]');
  out['helm/fw-team-apps'] = JSON.stringify(rel.map((r: any) => [r.name, r.revision, r.status, r.chart]));
  return out;
}

describe(`the foreign world is untouched by every command (${helmLabel()})`, () => {
  let before: Record<string, string>;
  let values: string;

  const unchanged = async (what: string) => {
    expect(await world(), `after ${what}`).toEqual(before);
  };

  beforeAll(async () => {
    await cleanup(RELEASE, NS, CLUSTER_ID);
    await ensureCrds();
    const existing = (await kubectl(['get', 'crd', '-o', 'name'])).stdout.split('\n').map((l) => l.replace('customresourcedefinition.apiextensions.k8s.io/', ''));
    createdCrds = [WIDGETS, ...GITOPS_CRDS].filter((c) => !existing.includes(c));
    await apply([crd('team.example.com', 'Widget', 'widgets', 'v1'), crd('argoproj.io', 'Application', 'applications', 'v1alpha1'), crd('helm.toolkit.fluxcd.io', 'HelmRelease', 'helmreleases', 'v2')]);
    await kubectl(['wait', '--for=condition=Established', '--timeout=60s', `crd/${WIDGETS}`, ...GITOPS_CRDS.map((c) => `crd/${c}`)]);
    for (const ns of TEAM) await kubectl(['create', 'namespace', ns], { allowFail: true });
    const inNs = (ns: string, o: any) => ({ ...o, metadata: { ...o.metadata, namespace: ns } });
    await apply([
      inNs('fw-team-data', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db-password' }, stringData: { password: 'team-secret' } }),
      inNs('fw-team-data', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', labels: { 'app.kubernetes.io/part-of': 'team-data' } }, data: { a: '1' } }),
      inNs('fw-team-data', { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: 'none' } }),
      inNs('fw-team-data', { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'backup' }, spec: { schedule: '0 0 1 1 *', suspend: true, jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'b', image: 'busybox' }] } } } } } }),
      inNs('fw-team-data', { apiVersion: 'team.example.com/v1', kind: 'Widget', metadata: { name: 'w1', finalizers: ['team.example.com/keep'] }, spec: { size: 3 } }),
      // A user of a CRD the chart brings: --purge-crds must keep that CRD.
      inNs('fw-team-data', { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'team-db' }, spec: { selector: { matchLabels: { app: 'db' } }, endpoints: [{ port: 'metrics' }] } }),
      // Objects that look like the chart's by name and label, but belong to no release of ours.
      inNs('fw-team-gitops', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cms-cluster-insight-config', labels: { 'app.kubernetes.io/instance': OUR_NAME } }, data: { owner: 'gitops-team' } }),
      inNs('fw-team-gitops', { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'team-web' }, spec: { destination: { namespace: 'fw-team-apps' }, source: { chart: 'team-web', helm: { releaseName: 'team-web' } }, syncPolicy: { automated: { prune: true } } } }),
      inNs('fw-team-gitops', { apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: { name: 'team-api' }, spec: { targetNamespace: 'fw-team-apps', chart: { spec: { chart: 'team-api' } } } }),
      {
        apiVersion: 'telemetry.alibabacloud.com/v1alpha1', kind: 'ClusterAliyunPipelineConfig',
        metadata: { name: FOREIGN_CR, annotations: { 'meta.helm.sh/release-name': OUR_NAME, 'meta.helm.sh/release-namespace': 'other-cluster-insight' }, finalizers: [OPERATOR_FINALIZER] },
        spec: { project: { name: 'p' }, config: {} },
      },
    ]);
    // Another installation's CR, stuck Terminating (its operator is not here).
    await kubectl(['delete', 'clusteraliyunpipelineconfig', FOREIGN_CR, '--wait=false']);
    // Another team's chart under our default release name.
    const other = join(mkdtempSync(join(tmpdir(), 'fw-chart-')), 'team-app');
    mkdirSync(join(other, 'templates'), { recursive: true });
    writeFileSync(join(other, 'Chart.yaml'), 'apiVersion: v2\nname: team-app\nversion: 1.0.0\n');
    writeFileSync(join(other, 'templates', 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: team-app\ndata:\n  k: v\n');
    await helm(['install', OUR_NAME, other, '-n', 'fw-team-apps', '--wait'], { timeoutMs: 300_000 });
    values = writeValues(requiredValues(CLUSTER_ID));
    // Let controllers settle (the PVC's first status), then take the picture.
    await new Promise((r) => setTimeout(r, 2000));
    before = await world();
  }, 300_000);

  afterAll(async () => {
    await cleanup(RELEASE, NS, CLUSTER_ID);
    await kubectl(['patch', 'clusteraliyunpipelineconfig', FOREIGN_CR, '--type=merge', '-p', '{"metadata":{"finalizers":null}}'], { allowFail: true });
    await kubectl(['patch', 'widget', 'w1', '-n', 'fw-team-data', '--type=merge', '-p', '{"metadata":{"finalizers":null}}'], { allowFail: true });
    await helm(['uninstall', OUR_NAME, '-n', 'fw-team-apps', '--wait'], { allowFail: true, timeoutMs: 300_000 });
    await kubectl(['delete', 'namespace', ...TEAM, '--ignore-not-found', '--wait=true', '--timeout=90s'], { allowFail: true });
    if (createdCrds.length) await kubectl(['delete', 'crd', ...createdCrds, '--ignore-not-found'], { allowFail: true });
  }, 300_000);

  const ours = ['--release', RELEASE, '-n', NS];
  const env = { ALIBABA_CLOUD_ACCESS_KEY_SECRET: SECRET };

  it('install', async () => {
    const r = await cli(['install', '--no-verify', ...ours, '--chart', await chartTgz('1.0.0'), '-f', values, '--timeout', '120s', '--skip-preflight'], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    await unchanged('install');
  }, 300_000);

  it('upgrade, with and without value changes', async () => {
    const r = await cli(['upgrade', ...ours, '--chart', await chartTgz('1.1.0'), '--set', 'scrapeInterval=60s', '--timeout', '120s', '--yes'], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    await unchanged('upgrade');
  }, 300_000);

  it('doctor --fix --yes (another installation\'s CR stuck Terminating is not ours to fix)', async () => {
    const r = await cli(['doctor', ...ours, '--fix', '--yes', '-o', 'json'], { timeoutMs: 240_000 });
    expect([0, 1]).toContain(r.exitCode);
    expect(r.stdout).not.toContain(FOREIGN_CR);
    await unchanged('doctor --fix --yes');
  }, 300_000);

  it('uninstall where the release never was, with every flag', async () => {
    for (const extra of [['--delete-namespace'], ['--purge-crds', '--delete-namespace', '--force']]) {
      const r = await cli(['uninstall', '--release', RELEASE, '-n', 'fw-team-data', '--yes', ...extra]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/Nothing of release fw-insight is/);
      await unchanged(`uninstall -n fw-team-data ${extra.join(' ')}`);
    }
  }, 300_000);

  it('uninstall of another chart under our release name refuses with every flag', async () => {
    for (const extra of [[], ['--purge-crds'], ['--delete-namespace'], ['--purge-crds', '--delete-namespace'], ['--dry-run']]) {
      const r = await cli(['uninstall', '-n', 'fw-team-apps', '--yes', ...extra]);
      expect(r.exitCode, r.stderr).toBe(1);
      await unchanged(`uninstall -n fw-team-apps ${extra.join(' ')}`);
    }
  }, 300_000);

  it('uninstall --dry-run, then uninstall --purge-crds --delete-namespace, then again', async () => {
    const dry = await cli(['uninstall', ...ours, '--purge-crds', '--delete-namespace', '--dry-run']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    await unchanged('uninstall --dry-run');
    const r = await cli(['uninstall', ...ours, '--purge-crds', '--delete-namespace', '--yes', '--timeout', '120s'], { timeoutMs: 240_000 });
    expect(r.exitCode, `${r.stderr}\n${r.stdout}`).toBe(0);
    expect((await helm(['list', '-n', NS, '-q'], { allowFail: true })).stdout.trim()).toBe('');
    await unchanged('uninstall --purge-crds --delete-namespace');
    const again = await cli(['uninstall', ...ours, '--purge-crds', '--delete-namespace', '--yes']);
    expect(again.exitCode, again.stderr).toBe(0);
    await unchanged('uninstall run again');
  }, 400_000);
});
