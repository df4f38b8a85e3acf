// helm 3 and helm 4 on one release: what users meet when they move to helm 4 with a release helm 3
// installed. Both binaries are the test bed's own builds (test/cluster/build.sh).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartTgz, cleanup, cli, cluster, helm, HELM_LIST_ALL, helmLabel, kubectl, requiredValues, writeValues } from './support/index.js';

const NS = 'e2e-helm-majors';
const RELEASE = 'insight-e2e-majors';
const CLUSTER_ID = 'e2e-majors-1';
const env = { ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'HelmMajorsE2eSecret0123456789' };

const bin = (major: 3 | 4) => join(cluster().binDir, `helm${major}`);
const missing = [3, 4].map((m) => join(cluster().binDir, `helm${m}`)).filter((p) => !existsSync(p));

async function helmAs(major: 3 | 4, args: string[]): Promise<string> {
  return (await helm(args, { binary: bin(major) })).stdout;
}
/** helm 4 records how the last revision was applied: "ssa", "csa", or nothing for a helm 3 revision. */
async function applyMethod(): Promise<string | undefined> {
  return (JSON.parse(await helmAs(4, ['get', 'metadata', RELEASE, '-n', NS, '-o', 'json'])) as { applyMethod?: string }).applyMethod;
}
async function release(major: 3 | 4): Promise<{ revision: string; status: string; chart: string } | undefined> {
  return JSON.parse(await helmAs(major, ['list', '-n', NS, ...HELM_LIST_ALL, '-o', 'json']))[0];
}

describe.skipIf(missing.length > 0)(`one release, both helm majors (${missing.length ? `missing ${missing.join(', ')}` : `${helmLabel(bin(3))} and ${helmLabel(bin(4))}`})`, () => {
  const common = () => ['--release', RELEASE, '-n', NS, '--timeout', '90s'];

  beforeAll(async () => {
    await cleanup(RELEASE, NS, CLUSTER_ID);
  });
  afterAll(async () => {
    await cleanup(RELEASE, NS, CLUSTER_ID);
  });

  it('a release installed by helm 3 is upgraded and uninstalled by helm 4', async () => {
    const inst = await cli(['install', '--no-verify', ...common(), '--chart', await chartTgz('1.0.0'), '-f', writeValues(requiredValues(CLUSTER_ID)), '--skip-preflight', '--helm-binary', bin(3)], { env });
    expect(inst.exitCode, inst.stderr).toBe(0);
    expect(await applyMethod()).toBeUndefined(); // helm 3 writes no apply method

    const up = await cli(['upgrade', ...common(), '--chart', await chartTgz('1.1.0'), '--helm-binary', bin(4), '-o', 'json']);
    expect(up.exitCode, up.stderr + up.stdout).toBe(0);
    expect(JSON.parse(up.stdout)).toMatchObject({ from: { version: '1.0.0', revision: 1 }, to: { version: '1.1.0' }, revision: 2 });
    // helm 4 keeps the method the release last used: client-side for a helm 3 release.
    expect(await applyMethod()).toBe('csa');
    // helm 3 still reads what helm 4 wrote.
    expect(await release(3)).toMatchObject({ revision: '2', status: 'deployed', chart: 'loongcollector-cluster-insight-1.1.0' });

    const un = await cli(['uninstall', ...common(), '--yes', '--helm-binary', bin(4), '-o', 'json']);
    expect(un.exitCode, un.stderr + un.stdout).toBe(0);
    expect(await release(4)).toBeUndefined();
    expect(await release(3)).toBeUndefined();
    expect((await kubectl(['get', 'clusteraliyunpipelineconfig', `custom-kubernetes-${CLUSTER_ID}-entity-collector`, '--ignore-not-found', '-o', 'name'])).stdout).toBe('');
    expect((await kubectl(['get', 'pods,deployments,daemonsets', '-n', NS, '-l', `app.kubernetes.io/instance=${RELEASE}`, '-o', 'name'])).stdout).toBe('');
  });

  it('a fresh helm 4 install applies server-side; a field changed outside helm stops the upgrade before anything changes, --force-conflicts takes it back; helm 3 can uninstall it', async () => {
    const inst = await cli(['install', '--no-verify', ...common(), '--chart', await chartTgz('1.0.0'), '-f', writeValues(requiredValues(CLUSTER_ID)), '--skip-preflight', '--helm-binary', bin(4)], { env });
    expect(inst.exitCode, inst.stderr).toBe(0);
    expect(await applyMethod()).toBe('ssa');

    // Someone scales a Deployment of the release: helm 4's server-side upgrade would stop half-way on it.
    const ksm = ['-n', NS, 'deployment', 'cms-kube-state-metrics'];
    await kubectl(['scale', ...ksm, '--replicas=2']);
    const history = async () => (JSON.parse(await helmAs(4, ['history', RELEASE, '-n', NS, '-o', 'json'])) as unknown[]).length;
    const blocked = await cli(['upgrade', ...common(), '--chart', await chartTgz('1.1.0'), '--helm-binary', bin(4)]);
    expect(blocked.exitCode, blocked.stderr).toBe(1);
    expect(blocked.stderr).toMatch(/^Error: helm would fail half-way: Deployment e2e-helm-majors\/cms-kube-state-metrics: field manager "kubectl" \(through the scale subresource\) owns field \.spec\.replicas/m);
    expect(blocked.stderr).toContain('--force-conflicts');
    expect(await history()).toBe(1); // nothing was changed: no new revision
    expect((await kubectl(['get', ...ksm, '-o', 'jsonpath={.spec.replicas}'])).stdout).toBe('2');

    const up = await cli(['upgrade', ...common(), '--chart', await chartTgz('1.1.0'), '--helm-binary', bin(4), '--force-conflicts']);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(await applyMethod()).toBe('ssa');
    expect((await kubectl(['get', ...ksm, '-o', 'jsonpath={.spec.replicas}'])).stdout).toBe('1'); // the chart's value, taken back
    const un = await cli(['uninstall', ...common(), '--yes', '--helm-binary', bin(3)]);
    expect(un.exitCode, un.stderr + un.stdout).toBe(0);
    expect(await release(4)).toBeUndefined();
  });
});
