// upgrade end to end: 1.0.0 → 1.1.0 keeps the user's values; 1.2.0 (pods never ready) rolls back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chartTgz, cleanup, cli, helm, HELM_LIST_ALL, helmLabel, kubectl, requiredValues, serveCharts, snapshotText, writeValues,
} from './support/index.js';

const NS = 'e2e-upgrade';
const RELEASE = 'insight-e2e-upgrade';
const CLUSTER_ID = 'e2e-upgrade-1';
const SECRET = 'UpgradeE2eSecretValue0123456789';

interface HelmRel { revision: string | number; status: string; chart: string }
const release = async (): Promise<HelmRel> => JSON.parse((await helm(['list', '-n', NS, ...HELM_LIST_ALL, '-o', 'json'])).stdout)[0];
const userValues = async () => JSON.parse((await helm(['get', 'values', RELEASE, '-n', NS, '-o', 'json'])).stdout);
const configMap = async () => JSON.parse((await kubectl(['get', 'configmap', 'cms-cluster-insight-config', '-n', NS, '-o', 'json'])).stdout).data as Record<string, string>;

describe(`upgrade (${helmLabel()})`, () => {
  const common = ['--release', RELEASE, '-n', NS];

  beforeAll(async () => {
    await cleanup(RELEASE, NS, CLUSTER_ID);
    const values = writeValues({ ...requiredValues(CLUSTER_ID), scrapeInterval: '45s', nodeExporter: { podLabels: { team: 'sre' } } });
    const r = await cli(['install', '--no-verify', ...common, '--chart', await chartTgz('1.0.0'), '-f', values, '--timeout', '90s', '--skip-preflight'], { env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: SECRET } });
    expect(r.exitCode, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await cleanup(RELEASE, NS, CLUSTER_ID);
  });

  it('refuses when nothing is installed', async () => {
    const r = await cli(['upgrade', '--release', 'nothing-here', '-n', 'e2e-upgrade-none', '--chart', await chartTgz('1.1.0')]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/Error: release nothing-here is not installed in namespace e2e-upgrade-none/);
    expect(r.stderr).toContain('kubectl insight install');
  });

  it('refuses a --chart of another name (the kube-prometheus-stack fixture) and changes nothing', async () => {
    const before = await snapshotText([NS]);
    const r = await cli(['upgrade', ...common, '--chart', await chartTgz('77.0.0', 'kube-prometheus-stack')]);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^Error: --chart is chart kube-prometheus-stack, not loongcollector-cluster-insight$/m);
    expect(await snapshotText([NS])).toBe(before);
  });

  it('--dry-run shows versions and value changes and changes nothing', async () => {
    const before = await snapshotText([NS]);
    const r = await cli(['upgrade', ...common, '--chart', await chartTgz('1.1.0'), '--set', 'scrapeInterval=60s', '--dry-run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('Installed: loongcollector-cluster-insight 1.0.0 (app 1.0.0, revision 1)');
    expect(r.stdout).toContain('Target:    loongcollector-cluster-insight 1.1.0');
    expect(r.stdout).toContain('~ scrapeInterval: 45s → 60s');
    expect(r.stdout).toContain('Dry run: nothing was changed.');
    expect(r.stdout).not.toContain(SECRET);
    expect(await snapshotText([NS])).toBe(before);
  });

  it('targets the newest version in the repository when --version is not given', async () => {
    const repo = await serveCharts();
    try {
      const r = await cli(['upgrade', ...common, '--repo-url', repo.url, '--dry-run', '-o', 'json']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ from: { version: '1.0.0' }, to: { version: '1.2.0' }, dryRun: true });
      const pinned = await cli(['upgrade', ...common, '--repo-url', repo.url, '--version', '1.1.0', '--dry-run', '-o', 'json']);
      expect(JSON.parse(pinned.stdout).to.version).toBe('1.1.0');
    } finally {
      await repo.close();
    }
  });

  it('upgrades to 1.1.0 keeping the user values and taking the new chart defaults', async () => {
    const r = await cli(['upgrade', ...common, '--chart', await chartTgz('1.1.0'), '--timeout', '90s', '-o', 'json']);
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ from: { version: '1.0.0', revision: 1 }, to: { version: '1.1.0' }, upToDate: false, revision: 2 });
    expect(out.changes).toEqual([]);
    expect(out.workloads.every((w: { ready: boolean }) => w.ready)).toBe(true);
    expect(r.stdout).not.toContain(SECRET);

    const rel = await release();
    expect(rel.chart).toBe('loongcollector-cluster-insight-1.1.0');
    expect(rel.status).toBe('deployed');
    const v = await userValues();
    expect(v).toMatchObject({ clusterID: CLUSTER_ID, scrapeInterval: '45s', nodeExporter: { podLabels: { team: 'sre' } }, accessKeySecret: SECRET });
    const cm = await configMap();
    expect(cm.SCRAPE_INTERVAL).toBe('45s');
    // 1.1.0's new default applies (helm's own --reuse-values would keep 15s).
    expect(cm.CADVISOR_NODE_EXPORTER_SCRAPE_INTERVAL).toBe('30s');
    const env = (await kubectl(['get', 'deploy', 'cms-loongcollector-operator', '-n', NS, '-o', 'jsonpath={.spec.template.spec.containers[0].env[*].name}'])).stdout;
    expect(env).toContain('LOG_LEVEL');
  });

  it('says there is nothing to upgrade (exit 0) when version and values are the same', async () => {
    const before = await snapshotText([NS]);
    const r = await cli(['upgrade', ...common, '--chart', await chartTgz('1.1.0')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Nothing to upgrade: release insight-e2e-upgrade already runs loongcollector-cluster-insight 1\.1\.0/);
    expect(await snapshotText([NS])).toBe(before);
  });

  it('rolls back a failing upgrade (1.2.0: pods never ready) and names the pods', async () => {
    const r = await cli(['upgrade', ...common, '--chart', await chartTgz('1.2.0'), '--timeout', '15s']);
    expect(r.exitCode).toBe(7);
    expect(r.stderr).toMatch(/Error: upgrade failed and was rolled back to revision 2 \(loongcollector-cluster-insight-1\.1\.0\): rollout not finished after 15s/);
    expect(r.stderr).toMatch(/Not ready:\n.*pod cms-/);
    expect(r.stderr).toMatch(/NotReady/);
    const rel = await release();
    expect(rel.chart).toBe('loongcollector-cluster-insight-1.1.0');
    expect(rel.status).toBe('deployed');
    expect(Number(rel.revision)).toBe(4);
    const history = JSON.parse((await helm(['history', RELEASE, '-n', NS, '-o', 'json'])).stdout) as Array<{ revision: number; status: string; chart: string; description: string }>;
    expect(history.at(-1)?.description).toMatch(/Rollback to 2/);
    // Old pods are back and ready.
    const ds = JSON.parse((await kubectl(['get', 'ds', 'cms-node-exporter', '-n', NS, '-o', 'json'])).stdout);
    expect(ds.status.numberAvailable).toBe(ds.status.desiredNumberScheduled);
    expect(ds.spec.template.metadata.annotations['insight.test/scenario']).toBeUndefined();
    expect((await userValues()).scrapeInterval).toBe('45s');
  });

  it('--no-rollback leaves the failed upgrade in place and says how to go back', async () => {
    const r = await cli(['upgrade', ...common, '--chart', await chartTgz('1.2.0'), '--timeout', '8s', '--no-rollback', '-o', 'json']);
    expect(r.exitCode).toBe(7);
    const err = JSON.parse(r.stdout).error;
    expect(err.message).toMatch(/upgrade failed \(not rolled back: --no-rollback\)/);
    expect(err.hint).toContain(`helm rollback ${RELEASE} 4 -n ${NS}`);
    expect(err.details.notReadyPods.length).toBeGreaterThan(0);
    expect((await release()).chart).toBe('loongcollector-cluster-insight-1.2.0');
    // put it back for cleanup
    await helm(['rollback', RELEASE, '4', '-n', NS]);
  });
});
