import { describe, expect, it } from 'vitest';
import { accessNeeds, resourceOf } from '../../../src/actions/access.js';
import { chartSourceError, type RenderedChart } from '../../../src/actions/chart.js';
import { crdNotes } from '../../../src/actions/crds.js';
import { cmsVpcUnreachable, gate, type PreflightGate } from '../../../src/actions/gate.js';
import type { InstallResult } from '../../../src/actions/install.js';
import { judgeExisting, type ExistingRelease } from '../../../src/actions/releases.js';
import { chartArgs } from '../../../src/helm/chart.js';
import { parseManifests } from '../../../src/helm/release.js';
import { upgradeFailure, newUpgradeContext } from '../../../src/actions/upgrade.js';
import { chartVersionOf } from '../../../src/helm/release-state.js';
import { silentReporter } from '../../../src/actions/steps.js';
import type { CheckResult, Report } from '../../../src/checks/engine.js';
import { InsightError } from '../../../src/errors.js';
import { workloadStatus, waitForRollout, type RolloutKube } from '../../../src/kube/rollout.js';
import { selectorString } from '../../../src/kube/selectors.js';
import { insightErrorOf } from '../../support/errors.js';
import { withCalls } from '../../support/kube.js';

const rel = (over: Partial<ExistingRelease>): ExistingRelease => ({
  name: 'aliyun-loongcollector-cluster-insight',
  namespace: 'cms-monitoring',
  revision: 1,
  status: 'deployed',
  chart: 'loongcollector-cluster-insight-1.0.0',
  app_version: '1.0.0',
  same: true,
  ...over,
});
const opts = { release: 'aliyun-loongcollector-cluster-insight', namespace: 'cms-monitoring', replace: false };

const err = insightErrorOf;

describe('existing releases', () => {
  it('proceeds when there is none', () => {
    expect(judgeExisting([], opts)).toBe('proceed');
  });
  it('refuses a deployed release with its version and points to upgrade', () => {
    const e = err(() => judgeExisting([rel({})], opts));
    expect(e.kind).toBe('conflict');
    expect(e.message).toContain('loongcollector-cluster-insight-1.0.0');
    expect(e.hint).toContain('kubectl insight upgrade');
  });
  it('refuses a second copy under another name', () => {
    const e = err(() => judgeExisting([rel({ name: 'aliyun-prometheus', namespace: 'other', same: false })], opts));
    expect(e.message).toContain('already installed as release aliyun-prometheus in namespace other');
  });
  it('explains failed installs and upgrades, and --replace only for a failed first install', () => {
    expect(err(() => judgeExisting([rel({ status: 'failed' })], opts)).hint).toContain('--replace');
    expect(judgeExisting([rel({ status: 'failed' })], { ...opts, replace: true })).toBe('replace');
    const up = err(() => judgeExisting([rel({ status: 'failed', revision: 3 })], { ...opts, replace: true }));
    expect(up.message).toContain('last upgrade');
    expect(up.hint).toContain('helm rollback aliyun-loongcollector-cluster-insight 2');
  });
  it('explains pending states with the command that fixes each', () => {
    expect(err(() => judgeExisting([rel({ status: 'pending-install' })], opts)).hint).toContain('kubectl insight uninstall');
    expect(err(() => judgeExisting([rel({ status: 'pending-upgrade', revision: 4 })], opts)).hint).toContain('helm rollback aliyun-loongcollector-cluster-insight 3');
    expect(judgeExisting([rel({ status: 'uninstalled' })], opts)).toBe('replace');
  });
});

describe('chart source', () => {
  it('defaults to the official repository and honours mirrors and versions', () => {
    expect(chartArgs({})).toEqual(['loongcollector-cluster-insight', '--repo', 'https://prometheus-agent-repo-chart.cn-beijing.cr.aliyuncs.com/loongcollector/loongcollector-cluster-insight']);
    expect(chartArgs({ repoUrl: 'https://mirror', version: '1.1.0' })).toEqual(['loongcollector-cluster-insight', '--repo', 'https://mirror', '--version', '1.1.0']);
    expect(chartArgs({ chart: 'oci://r/c', version: '1' })).toEqual(['oci://r/c', '--version', '1']);
    expect(chartArgs({ chart: './c.tgz', version: '1' })).toEqual(['./c.tgz']);
    expect(chartArgs({ chart: 'aliyun-prometheus/loongcollector-cluster-insight' })).toEqual(['aliyun-prometheus/loongcollector-cluster-insight']);
  });
  it('turns helm failures into chart errors in the user\'s terms', () => {
    const unreachable = chartSourceError(new InsightError('failed', 'helm template failed: looks like "http://x" is not a valid chart repository or cannot be reached: dial tcp', { details: { helm: 'looks like "http://x" is not a valid chart repository or cannot be reached: dial tcp' } }), { repoUrl: 'http://x' }) as InsightError;
    expect(unreachable.message).toMatch(/^cannot fetch the chart loongcollector-cluster-insight from http:\/\/x/);
    const missing = chartSourceError(new InsightError('invalid-input', 'chart not found: no chart version found for x-9.9.9'), { version: '9.9.9' }) as InsightError;
    expect(missing.exitCode).toBe(2);
    expect(missing.message).toContain('version 9.9.9');
  });
});

const rendered = (text: string): RenderedChart => {
  const docs = parseManifests(text);
  return { manifests: text, docs, workloads: [], crdsDir: docs.filter((d) => d.kind === 'CustomResourceDefinition' && d.source?.includes('/crds/')).map((d) => d.metadata!.name!), crdsTemplated: [], chart: { name: 'c', version: '1' } };
};

describe('manifests and permissions', () => {
  const text = [
    '---',
    '# Source: c/crds/a.yaml',
    'apiVersion: apiextensions.k8s.io/v1',
    'kind: CustomResourceDefinition',
    'metadata: {name: as.example.com}',
    '---',
    '# Source: c/templates/ds.yaml',
    'apiVersion: apps/v1',
    'kind: DaemonSet',
    'metadata: {name: ne, namespace: ns1}',
    '---',
    '# Source: c/templates/cr.yaml',
    'apiVersion: rbac.authorization.k8s.io/v1',
    'kind: ClusterRole',
    'metadata: {name: r}',
  ].join('\n');

  it('keeps helm\'s Source path per document', () => {
    const docs = parseManifests(text);
    expect(docs.map((d) => [d.kind, d.source])).toEqual([
      ['CustomResourceDefinition', 'c/crds/a.yaml'],
      ['DaemonSet', 'c/templates/ds.yaml'],
      ['ClusterRole', 'c/templates/cr.yaml'],
    ]);
  });

  it('derives the rights helm needs, namespaced or cluster-wide', () => {
    const needs = accessNeeds(rendered(text), 'ns1', ['create'], { createNamespace: true, skipCrds: false });
    expect(needs).toEqual(
      expect.arrayContaining([
        { verb: 'create', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
        { verb: 'create', group: 'apps', resource: 'daemonsets', namespace: 'ns1' },
        { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
        { verb: 'create', group: '', resource: 'secrets', namespace: 'ns1' },
        { verb: 'create', group: '', resource: 'namespaces' },
      ]),
    );
    const skip = accessNeeds(rendered(text), 'ns1', ['create', 'patch'], { createNamespace: false, skipCrds: true });
    expect(skip.some((n) => n.resource === 'customresourcedefinitions' || n.resource === 'namespaces')).toBe(false);
    expect(skip.filter((n) => n.resource === 'daemonsets').map((n) => n.verb)).toEqual(['create', 'patch']);
  });

  it('names resources as the API server does', () => {
    expect(['Deployment', 'NetworkPolicy', 'Ingress', 'PriorityClass', 'Endpoints', 'ClusterAliyunPipelineConfig', 'Gateway'].map(resourceOf)).toEqual([
      'deployments', 'networkpolicies', 'ingresses', 'priorityclasses', 'endpoints', 'clusteraliyunpipelineconfigs', 'gateways',
    ]);
  });

  it('reports CRDs someone else has, one line each', () => {
    const notes = crdNotes([
      { name: 'a', state: 'absent', managedBy: 'crds-dir' },
      { name: 'b', state: 'foreign', owner: 'helm release m/kps', managedBy: 'crds-dir' },
      { name: 'c', state: 'unmanaged', managedBy: 'crds-dir' },
    ]);
    expect(notes).toEqual([
      'CRD b already exists (helm release m/kps): kept as is, not taken over (helm does not touch CRDs that exist)',
      "1 of the chart's CRDs already exist with no other users (from an earlier install?): kept as they are",
    ]);
    expect(crdNotes([{ name: 'c', state: 'unmanaged', managedBy: 'crds-dir' }], 'upgrade')).toEqual([]);
  });
});

function result(over: Partial<CheckResult>): CheckResult {
  return { id: 'x', category: 'c', description: 'd', severity: 'fatal', durationMs: 1, status: 'passed', message: 'ok', ...over };
}
const report = (results: CheckResult[]): Report => ({
  results,
  summary: { passed: results.filter((r) => r.status === 'passed').length, failed: results.filter((r) => r.status === 'failed').length, warnings: 0, skipped: 0, info: 0 },
});

describe('preflight gate', () => {
  const ctx = (values: Record<string, unknown>, gateFn: PreflightGate, more: { confirm?: (q: string) => Promise<boolean | undefined> } = {}) => ({
    deps: { preflight: gateFn },
    opts: { release: 'r', namespace: 'n', ...more },
    values,
    alertRuleDisabled: false,
    notes: [] as string[],
    preflight: undefined as InstallResult['preflight'],
  });
  const vpcDown = report([result({ id: 'network.cms', severity: 'warning', status: 'failed', message: 'cms-vpc.cn-hangzhou.aliyuncs.com: TCP timeout' }), result({ id: 'cluster.version' })]);

  it('stops on a fatal finding and names it', async () => {
    const c = ctx({}, async () => report([result({ id: 'rbac.install', status: 'failed', message: 'missing create clusterroles', hint: 'grant it' })]));
    await expect(gate(c, 'install', silentReporter)).rejects.toThrow(/preflight failed: rbac\.install: missing create clusterroles/);
  });

  it('passes warnings through', async () => {
    const c = ctx({}, async () => report([result({ id: 'conflicts.x', severity: 'warning', status: 'failed', message: 'meh' })]));
    await gate(c, 'install', silentReporter);
    expect(c.preflight).toMatchObject({ failed: 1 });
  });

  it('in Intranet mode with cms-vpc unreachable: a yes (--yes answers it) disables alert-rule sync', async () => {
    expect(cmsVpcUnreachable(vpcDown)).toBe(true);
    const c = ctx({ net: 'Intranet' }, async () => vpcDown, { confirm: async () => true });
    await gate(c, 'install', silentReporter);
    expect(c.values).toMatchObject({ operator: { enableAlertRule: false } });
    expect(c.alertRuleDisabled).toBe(true);
    expect(c.notes[0]).toContain('alert-rule sync disabled');
  });

  it('asks when it can, and stops without a TTY or --yes', async () => {
    const questions: string[] = [];
    const no = ctx({ net: 'Intranet' }, async () => vpcDown, { confirm: async (q) => (questions.push(q), false) });
    await expect(gate(no, 'install', silentReporter)).rejects.toMatchObject({ kind: 'aborted' });
    expect(questions[0]).toContain('cms-vpc');
    const yes = ctx({ net: 'Intranet' }, async () => vpcDown, { confirm: async () => true });
    await gate(yes, 'install', silentReporter);
    expect(yes.alertRuleDisabled).toBe(true);
    await expect(gate(ctx({ net: 'Intranet' }, async () => vpcDown, { confirm: async () => undefined }), 'install', silentReporter)).rejects.toMatchObject({ kind: 'aborted', hint: expect.stringContaining('--disable-alert-rule') });
  });

  it('leaves Internet mode and an already disabled alert-rule sync alone', async () => {
    const internet = ctx({ net: 'Internet' }, async () => vpcDown);
    await gate(internet, 'install', silentReporter);
    expect(internet.alertRuleDisabled).toBe(false);
    const off = ctx({ net: 'Intranet', operator: { enableAlertRule: false } }, async () => vpcDown);
    await gate(off, 'install', silentReporter);
    expect(off.alertRuleDisabled).toBe(false);
  });
});

describe('rollout status', () => {
  const ref = (kind: 'Deployment' | 'DaemonSet') => ({ kind, name: 'w', namespace: 'n' });
  it('follows kubectl rollout status for Deployments', () => {
    expect(workloadStatus(ref('Deployment'), undefined)).toMatchObject({ ready: false, message: 'not created yet' });
    const d = (status: object, gen = 2) => ({ metadata: { generation: gen }, spec: { replicas: 2 }, status: { observedGeneration: 2, ...status } }) as never;
    expect(workloadStatus(ref('Deployment'), d({}, 3))).toMatchObject({ ready: false, message: 'waiting for the controller to observe the new spec' });
    expect(workloadStatus(ref('Deployment'), d({ updatedReplicas: 1, replicas: 2 }))).toMatchObject({ ready: false, message: '1 of 2 replicas updated' });
    expect(workloadStatus(ref('Deployment'), d({ updatedReplicas: 2, replicas: 3, availableReplicas: 2 }))).toMatchObject({ ready: false, message: '1 old replicas pending termination' });
    expect(workloadStatus(ref('Deployment'), d({ updatedReplicas: 2, replicas: 2, availableReplicas: 1 }))).toMatchObject({ ready: false, message: '1 of 2 replicas available' });
    expect(workloadStatus(ref('Deployment'), d({ updatedReplicas: 2, replicas: 2, availableReplicas: 2 }))).toMatchObject({ ready: true });
    expect(workloadStatus(ref('Deployment'), d({ conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] }))).toMatchObject({ ready: false, message: expect.stringContaining('progress deadline') });
  });
  it('needs DaemonSets on every eligible node, and accepts zero eligible nodes', () => {
    const ds = (status: object) => ({ metadata: { generation: 1 }, status: { observedGeneration: 1, ...status } }) as never;
    expect(workloadStatus(ref('DaemonSet'), ds({ desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 2 }))).toMatchObject({ ready: false, message: '2 of 3 nodes available', desired: 3, available: 2 });
    expect(workloadStatus(ref('DaemonSet'), ds({ desiredNumberScheduled: 3, updatedNumberScheduled: 1, numberAvailable: 3 }))).toMatchObject({ ready: false, message: '1 of 3 nodes updated' });
    expect(workloadStatus(ref('DaemonSet'), ds({ desiredNumberScheduled: 0 }))).toMatchObject({ ready: true, message: 'no eligible nodes (0 pods scheduled)' });
  });
  it('builds label selectors', () => {
    expect(selectorString({ matchLabels: { a: 'b' }, matchExpressions: [{ key: 'c', operator: 'In', values: ['x', 'y'] }, { key: 'd', operator: 'Exists' }] })).toBe('a=b,c in (x,y),d');
  });
  it('polls with a bound and names the pods that are not ready on timeout', async () => {
    let t = 0;
    let lists = 0;
    const deploy = { metadata: { name: 'w', generation: 1 }, spec: { replicas: 1, selector: { matchLabels: { app: 'w' } } }, status: { observedGeneration: 1, updatedReplicas: 1, replicas: 1, availableReplicas: 0 } };
    const pod = { metadata: { name: 'w-1', namespace: 'n', uid: 'u1' }, spec: { nodeName: 'node-a', containers: [{ name: 'c', image: 'registry-cn-hangzhou.ack.aliyuncs.com/acs/x:1' }] }, status: { phase: 'Pending', containerStatuses: [{ name: 'c', ready: false, restartCount: 0, image: 'registry-cn-hangzhou.ack.aliyuncs.com/acs/x:1', imageID: '', state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image' } } }] } };
    const kube = withCalls({
      server: 'https://127.0.0.1:1',
      apps: { listNamespacedDeployment: async () => (lists++, { items: [deploy] }) },
      core: { listNamespacedPod: async () => ({ items: [pod] }), listNamespacedEvent: async () => ({ items: [] }) },
    }) as unknown as RolloutKube;
    const e = await waitForRollout(kube, [{ kind: 'Deployment', name: 'w', namespace: 'n' }], { timeoutMs: 10_000, now: () => t, sleep: async (ms) => void (t += ms) }).catch((x) => x);
    expect(e).toBeInstanceOf(InsightError);
    expect(e.kind).toBe('timeout');
    expect(e.message).toBe('rollout not finished after 10s: Deployment/w (0 of 1 replicas available)');
    expect(e.details.notReadyPods[0]).toMatchObject({ pod: 'w-1', node: 'node-a', reason: 'ImagePullBackOff' });
    expect(e.hint).toContain('pod w-1 on node-a');
    // 500, 1000, 2000, 2000, ... up to 10 s: bounded, not a busy loop
    expect(lists).toBeGreaterThan(4);
    expect(lists).toBeLessThan(12);
  });
});

describe('upgrade helpers', () => {
  it('reads the chart version from helm\'s chart column', () => {
    expect(chartVersionOf('loongcollector-cluster-insight-1.10.0')).toBe('1.10.0');
    expect(chartVersionOf('other-chart-2.0.0-rc.1', 'other-chart')).toBe('2.0.0-rc.1');
    expect(chartVersionOf('renamed-1.2.3')).toBe('1.2.3');
  });
  it('says whether a failed upgrade was rolled back', () => {
    const ctx = newUpgradeContext({ release: 'r', namespace: 'n', values: {}, chart: {}, timeoutMs: 1000 }, { helm: {} as never, kube: () => ({}) as never });
    const original = new InsightError('timeout', 'rollout not finished after 1s');
    expect(upgradeFailure(ctx, original)).toBe(original); // helm never ran: nothing to say
    ctx.upgraded = true;
    ctx.current = { name: 'r', namespace: 'n', revision: 3, status: 'deployed', chart: 'c-1.0.0', app_version: '1' };
    ctx.rolledBackTo = 3;
    expect((upgradeFailure(ctx, original) as InsightError).message).toBe('upgrade failed and was rolled back to revision 3 (c-1.0.0): rollout not finished after 1s');
    expect((upgradeFailure(ctx, original) as InsightError).exitCode).toBe(7);
  });
});
