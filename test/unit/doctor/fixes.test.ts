// doctor --fix remediations: the release rule (age, target revision), stale configuration, leftover
// probe pods, and the dry run. Each fix's re-check is run against changed live objects.
import { describe, expect, it } from 'vitest';
import { applyFixes } from '../../../src/actions/doctor.js';
import { doctorChecks } from '../../../src/checks/doctor/index.js';
import { runChecks } from '../../../src/checks/engine.js';
import { deleteProbePodFix } from '../../../src/checks/doctor/leftovers.js';
import type { Fix, FixApi, FixEnv } from '../../../src/checks/doctor/context.js';
import { lastGoodRevision, releaseRemedy, type RemedyFacts } from '../../../src/helm/release-state.js';
import { lastDataChange, referencedSources, stalePods } from '../../../src/kube/config-age.js';
import { isLeftoverProbePod, RUN_SECONDS_ANNOTATION } from '../../../src/net/probe-pods.js';
import { FakeApi, NS, REL, ctxFor, deployment, healthy, healthyProbe, helmSecret, pod, sel, type Obj } from './fake.js';

const T = new Date('2026-11-22T03:00:00Z');
const MIN = 60_000;
const ago = (ms: number) => new Date(T.getTime() - ms).toISOString();

function rel(status: string, revision: number, history: Array<[number, string]>, since?: string): RemedyFacts {
  return { name: REL, namespace: NS, status, revision, chart: 'loongcollector-cluster-insight-1.0.0', chartName: 'loongcollector-cluster-insight', history: history.map(([r, s]) => ({ revision: r, status: s })), ...(since ? { since } : {}) };
}

function env(api: Partial<FixApi>, calls: string[] = []): FixEnv {
  return {
    api: { send: api.send ?? (async () => undefined), getJson: api.getJson ?? (async () => ({}) as never) },
    now: () => T,
    rollback: async (o) => void calls.push(`rollback ${o.release} ${o.revision}`),
    uninstall: async (o) => void calls.push(`uninstall ${o.release}`),
  };
}

describe('releaseRemedy: the one rule for repairing a stuck release', () => {
  it('leaves a pending release younger than the operation timeout alone, saying helm keeps no lock and how old it is', () => {
    const r = releaseRemedy(rel('pending-upgrade', 3, [[2, 'deployed'], [3, 'pending-upgrade']], ago(2 * MIN)), T, 5 * MIN);
    expect(r).toMatchObject({ kind: 'none', ageMs: 2 * MIN });
    expect(r?.kind === 'none' && r.why).toMatch(/pending-upgrade for 2m, less than the operation timeout \(5m\).*helm keeps no lock/);
  });
  it('measures ages in whole seconds, as both timestamps are', () => {
    expect(releaseRemedy(rel('pending-upgrade', 2, [[1, 'deployed'], [2, 'pending-upgrade']], ago(1999)), T, 1000)).toMatchObject({ kind: 'rollback', ageMs: 1000 });
    expect(releaseRemedy(rel('pending-upgrade', 2, [[1, 'deployed'], [2, 'pending-upgrade']], ago(999)), T, 1000)).toMatchObject({ kind: 'none', ageMs: 0, why: expect.stringContaining('for 0s') });
  });
  it('never calls an unknown age old enough', () => {
    expect(releaseRemedy(rel('pending-install', 1, [[1, 'pending-install']]), T, 5 * MIN)).toMatchObject({ kind: 'none' });
  });
  it('uninstalls an old pending-install, and rolls an old pending-upgrade or pending-rollback back to the last deployed revision', () => {
    expect(releaseRemedy(rel('pending-install', 1, [[1, 'pending-install']], ago(6 * MIN)), T, 5 * MIN)).toEqual({ kind: 'uninstall', revision: 1, ageMs: 6 * MIN });
    expect(releaseRemedy(rel('pending-upgrade', 4, [[1, 'superseded'], [2, 'deployed'], [3, 'failed'], [4, 'pending-upgrade']], ago(6 * MIN)), T, 5 * MIN)).toMatchObject({ kind: 'rollback', toRevision: 2 });
    expect(releaseRemedy(rel('pending-rollback', 5, [[3, 'deployed'], [4, 'failed'], [5, 'pending-rollback']], ago(6 * MIN)), T, 5 * MIN)).toMatchObject({ kind: 'rollback', toRevision: 3 });
  });
  it('rolls a failed upgrade back at any age; with nothing ever deployed before it there is no fix', () => {
    expect(releaseRemedy(rel('failed', 2, [[1, 'deployed'], [2, 'failed']], ago(1000)), T, 5 * MIN)).toMatchObject({ kind: 'rollback', toRevision: 1 });
    expect(releaseRemedy(rel('failed', 3, [[1, 'failed'], [2, 'failed'], [3, 'failed']]), T, 5 * MIN)).toMatchObject({ kind: 'none', why: expect.stringContaining('nothing safe to return to') });
  });
  it('offers nothing for a healthy release, a failed first install, or another chart under our name', () => {
    expect(releaseRemedy(rel('deployed', 2, [[1, 'superseded'], [2, 'deployed']]), T, 5 * MIN)).toBeUndefined();
    expect(releaseRemedy(rel('failed', 1, [[1, 'failed']]), T, 5 * MIN)).toBeUndefined();
    expect(releaseRemedy({ ...rel('failed', 2, [[1, 'deployed'], [2, 'failed']]), chart: 'other-1.0.0', chartName: 'other' }, T, 5 * MIN)).toBeUndefined();
  });
  it('returns to the newest earlier revision still marked deployed, never a superseded one', () => {
    expect(lastGoodRevision(rel('failed', 4, [[1, 'superseded'], [2, 'deployed'], [3, 'failed'], [4, 'failed']]))).toBe(2);
    // After uninstall --keep-history and a new install that failed: the old installation is superseded.
    expect(lastGoodRevision(rel('failed', 3, [[1, 'superseded'], [2, 'superseded'], [3, 'failed']]))).toBeUndefined();
  });
});

/** A healthy installation whose helm storage holds the given revisions (newest last), the newest written `since`. */
function withHistory(revs: Array<[number, string]>, since: string): Record<string, Obj[]> {
  const lists = healthy();
  const manifest = [deployment('cms-kube-state-metrics', 'kube-state-metrics')];
  lists[`/api/v1/namespaces/${NS}/secrets`] = revs.map(([r, s], i) => {
    const sec = helmSecret({ status: s, revision: r, manifest });
    if (i === revs.length - 1) sec.metadata.creationTimestamp = since;
    return sec;
  });
  return lists;
}

describe('release fixes through doctor', () => {
  it('offers a rollback for an old pending-upgrade, and skips it when helm moved the release on before it runs', async () => {
    const lists = withHistory([[1, 'deployed'], [2, 'pending-upgrade']], ago(10 * MIN));
    const ctx = ctxFor(new FakeApi(lists, healthyProbe), { operationTimeoutMs: 5 * MIN });
    const report = await runChecks(doctorChecks, ctx, {}, { only: ['release'] });
    const f = report.results.find((r) => r.id === 'release.deployed')!;
    expect(f.status).toBe('failed');
    expect(f.evidence).toContain('pending-upgrade for 10m');
    expect(f.hint).toContain('doctor --fix');
    expect(ctx.fixes.map((x) => x.id)).toEqual([`release.rollback/${NS}/${REL}`]);
    const fix = ctx.fixes[0]!;
    expect(fix.command).toBe(`helm rollback ${REL} 1 -n ${NS}`);
    const storage = (items: Obj[]) => ({ getJson: async <T,>() => ({ items }) as T });
    const calls: string[] = [];
    // Unchanged: the re-check passes and the rollback goes to revision 1.
    expect(await fix.precondition!(env(storage(lists[`/api/v1/namespaces/${NS}/secrets`]!)))).toBeUndefined();
    await fix.apply(env({}, calls));
    expect(calls).toEqual([`rollback ${REL} 1`]);
    // The upgrade finished in between: revision 2 is deployed now.
    const moved = withHistory([[1, 'superseded'], [2, 'deployed']], ago(10 * MIN))[`/api/v1/namespaces/${NS}/secrets`]!;
    expect(await fix.precondition!(env(storage(moved)))).toMatch(/changed: it is now revision 2, deployed/);
    // Gone: uninstalled in between.
    expect(await fix.precondition!(env(storage([])))).toMatch(/gone already/);
  });
  it('reports a young pending-install without a fix, with its age and the reason in the evidence', async () => {
    const lists = withHistory([[1, 'pending-install']], ago(30_000));
    const ctx = ctxFor(new FakeApi(lists, healthyProbe), { operationTimeoutMs: 5 * MIN });
    const report = await runChecks(doctorChecks, ctx, {}, { only: ['release'] });
    const f = report.results.find((r) => r.id === 'release.deployed')!;
    expect(f.evidence).toEqual(expect.arrayContaining(['pending-install for 30s', expect.stringMatching(/doctor --fix: .*helm keeps no lock/)]));
    expect(ctx.fixes).toEqual([]);
  });
  it('uninstalls an old pending-install, and says to install again', async () => {
    const ctx = ctxFor(new FakeApi(withHistory([[1, 'pending-install']], ago(6 * MIN)), healthyProbe), { operationTimeoutMs: 5 * MIN });
    await runChecks(doctorChecks, ctx, {}, { only: ['release'] });
    const [fix] = ctx.fixes;
    expect(fix?.id).toBe(`release.uninstall-pending/${NS}/${REL}`);
    expect(fix?.description).toMatch(/keeping the CRDs and the namespace/);
    expect(fix?.next).toMatch(/install again/);
    const calls: string[] = [];
    await fix!.apply(env({}, calls));
    expect(calls).toEqual([`uninstall ${REL}`]);
  });
});

const cmTimes = (data: string, labels?: string): Obj => ({
  metadata: {
    name: 'cfg',
    creationTimestamp: '2026-11-22T01:00:00Z',
    managedFields: [
      { manager: 'helm', time: data, fieldsV1: { 'f:data': { 'f:REGION': {} }, 'f:metadata': {} } },
      ...(labels ? [{ manager: 'kubectl-label', time: labels, fieldsV1: { 'f:metadata': { 'f:labels': {} } } }] : []),
    ],
  },
});
const running = (name: string, startedAt: string) => ({ metadata: { name, labels: sel('op') }, status: { containerStatuses: [{ name: 'c', state: { running: { startedAt } } }] } });
const envFromCfg = { containers: [{ name: 'c', envFrom: [{ configMapRef: { name: 'cfg' } }], env: [{ name: 'AK', valueFrom: { secretKeyRef: { name: 'ak', key: 'k' } } }] }], volumes: [{ name: 'v', projected: { sources: [{ configMap: { name: 'more' } }] } }] };

describe('stale configuration', () => {
  it('finds every ConfigMap and Secret a template reads', () => {
    expect(referencedSources(envFromCfg as never).map((r) => `${r.kind}/${r.name}`).sort()).toEqual(['ConfigMap/cfg', 'ConfigMap/more', 'Secret/ak']);
  });
  it('counts only data changes, and only a later second than the pod start', () => {
    expect(lastDataChange(cmTimes('2026-11-22T02:00:00Z', '2026-11-22T02:30:00Z') as never)).toBe(Date.parse('2026-11-22T02:00:00Z'));
    const sources = new Map([['ConfigMap/cfg', cmTimes('2026-11-22T02:00:00Z', '2026-11-22T02:50:00Z') as never]]);
    const pods = [running('old', '2026-11-22T01:30:00Z'), running('same-second', '2026-11-22T02:00:00Z'), running('new', '2026-11-22T02:10:00Z')];
    expect(stalePods(envFromCfg as never, pods as never, sources).map((s) => s.pod)).toEqual(['old']);
  });
  it('offers a rollout restart for a settled workload of ours, re-checked before the patch', async () => {
    const lists = healthy();
    const owned = { annotations: { 'meta.helm.sh/release-name': REL, 'meta.helm.sh/release-namespace': NS } };
    const dep = { kind: 'Deployment', apiVersion: 'apps/v1', metadata: { name: 'op', namespace: NS, generation: 1, ...owned }, spec: { replicas: 1, selector: { matchLabels: sel('op') }, template: { spec: envFromCfg } }, status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1, readyReplicas: 1 } };
    lists[`/api/v1/namespaces/${NS}/secrets`] = [helmSecret({ manifest: [dep] })];
    lists[`/apis/apps/v1/namespaces/${NS}/deployments`] = [dep];
    lists[`/api/v1/namespaces/${NS}/configmaps`] = [cmTimes('2026-11-22T02:00:00Z')];
    lists[`/api/v1/namespaces/${NS}/pods`] = [{ ...pod('op-1', sel('op'), 'n1', []), status: { phase: 'Running', containerStatuses: [{ name: 'c', ready: true, state: { running: { startedAt: '2026-11-22T01:30:00Z' } } }] } }];
    const ctx = ctxFor(new FakeApi(lists, healthyProbe));
    const report = await runChecks(doctorChecks, ctx, {}, { only: ['pods.config-current'] });
    const f = report.results.find((r) => r.id === 'pods.config-current')!;
    expect(f.status).toBe('failed');
    expect(f.message).toBe('1 of 1 pods of Deployment op started before ConfigMap cfg changed: they still run the old configuration');
    expect(ctx.fixes.map((x) => x.id)).toEqual([`workload.restart/deployment/${NS}/op`]);
    const fix = ctx.fixes[0]!;
    const sent: unknown[] = [];
    const live = (d: unknown) => env({ getJson: async <T,>() => d as T, send: async (m, p, b, ct) => void sent.push([m, p, b, ct]) });
    expect(await fix.precondition!(live(dep))).toBeUndefined();
    await fix.apply(live(dep));
    expect(sent).toEqual([['PATCH', `/apis/apps/v1/namespaces/${NS}/deployments/op?fieldManager=kubectl-insight`, { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': expect.any(String) } } } } }, 'application/merge-patch+json']]);
    const restarted = { ...dep, spec: { ...dep.spec, template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-11-22T02:05:00Z' } }, spec: envFromCfg } } };
    expect(await fix.precondition!(live(restarted))).toMatch(/restarted after the change already/);
    expect(await fix.precondition!(live({ ...dep, status: { ...dep.status, updatedReplicas: 0 } }))).toMatch(/is rolling out/);
    expect(await fix.precondition!(live({ ...dep, metadata: { name: 'op', namespace: NS, annotations: { 'meta.helm.sh/release-name': 'theirs', 'meta.helm.sh/release-namespace': 'x' } } }))).toMatch(/not this installation's/);
  });
});

const probe = (name: string, meta: Obj = {}): Obj => ({
  metadata: { name, namespace: 'default', uid: `uid-${name}`, creationTimestamp: ago(MIN), labels: { 'app.kubernetes.io/name': 'kubectl-insight-probe', 'app.kubernetes.io/managed-by': 'kubectl-insight', 'insight.alibabacloud.com/probe-run': 'abc' }, ...meta },
});

describe('leftover probe pods', () => {
  it('are ours and past their run (creation + its seconds, plus a minute of grace); pods without the annotation fall back to their age', () => {
    const now = T.getTime();
    // Created a minute ago with a 10s run: over 50s ago, still inside the grace.
    expect(isLeftoverProbePod(probe('b', { annotations: { [RUN_SECONDS_ANNOTATION]: '10' } }) as never, now)).toBe(false);
    expect(isLeftoverProbePod(probe('a', { creationTimestamp: ago(2 * MIN), annotations: { [RUN_SECONDS_ANNOTATION]: '10' } }) as never, now)).toBe(true);
    expect(isLeftoverProbePod(probe('long', { creationTimestamp: ago(2 * MIN), annotations: { [RUN_SECONDS_ANNOTATION]: '300' } }) as never, now)).toBe(false);
    expect(isLeftoverProbePod(probe('c') as never, now)).toBe(false);
    expect(isLeftoverProbePod(probe('d', { creationTimestamp: ago(11 * MIN) }) as never, now)).toBe(true);
    expect(isLeftoverProbePod({ metadata: { name: 'e', labels: { 'app.kubernetes.io/name': 'kubectl-insight-probe' }, creationTimestamp: ago(60 * MIN) } } as never, now)).toBe(false);
  });
  it('doctor lists them cluster-wide and offers a delete that re-checks uid and age', async () => {
    const lists = healthy();
    const left = probe('insight-probe-abc-0', { creationTimestamp: ago(5 * MIN), annotations: { [RUN_SECONDS_ANNOTATION]: '130' } });
    lists['/api/v1/pods'] = [left, probe('insight-probe-new-0', { annotations: { [RUN_SECONDS_ANNOTATION]: '130' } })];
    const ctx = ctxFor(new FakeApi(lists, healthyProbe));
    const report = await runChecks(doctorChecks, ctx, {}, { only: ['leftovers'] });
    expect(report.results[0]).toMatchObject({ status: 'failed', message: '1 probe pod left behind by an interrupted preflight' });
    expect(ctx.fixes.map((f) => f.id)).toEqual(['probe-pod.delete/default/insight-probe-abc-0']);
    const fix = deleteProbePodFix(left);
    const sent: unknown[] = [];
    const live = (p: unknown) => env({ getJson: async <T,>() => p as T, send: async (m, path, b) => void sent.push([m, path, b]) });
    expect(await fix.precondition!(live(left))).toBeUndefined();
    expect(await fix.precondition!(live({ ...left, metadata: { ...left.metadata, uid: 'other' } }))).toMatch(/another pod now/);
    await fix.apply(live(left));
    expect(sent).toEqual([['DELETE', '/api/v1/namespaces/default/pods/insight-probe-abc-0', expect.objectContaining({ preconditions: { uid: 'uid-insight-probe-abc-0' }, gracePeriodSeconds: 0 })]]);
  });
});

describe('applyFixes --dry-run', () => {
  it('re-checks every fix, applies none and asks nothing', async () => {
    const applied: string[] = [];
    const fix = (id: string, why?: string): Fix => ({ id, description: id, command: id, precondition: async () => why, apply: async () => void applied.push(id) });
    const views = await applyFixes([fix('a'), fix('b', 'it changed')], env({}), { confirmFix: async () => { throw new Error('asked'); } }, { dryRun: true });
    expect(views.map((v) => [v.id, v.outcome, v.error])).toEqual([['a', 'planned', undefined], ['b', 'skipped', 'would not be applied: it changed']]);
    expect(applied).toEqual([]);
  });
});

describe('fix ids', () => {
  it('start with a kind that has its section in docs/doctor.md', async () => {
    const { FIX_KINDS } = await import('../../../src/checks/doctor/index.js');
    const { releaseFix } = await import('../../../src/checks/doctor/release.js');
    const { restartFix } = await import('../../../src/checks/doctor/config.js');
    const stored = { ...rel('failed', 2, [[1, 'deployed'], [2, 'failed']]), chartName: 'loongcollector-cluster-insight', app_version: '', chartVersion: '1.0.0', objects: [], storage: 'secret' as const, installation: {} };
    const ids = [
      releaseFix(stored, { kind: 'rollback', revision: 2, toRevision: 1 }, MIN)!.id,
      releaseFix(stored, { kind: 'uninstall', revision: 2 }, MIN)!.id,
      restartFix({ kind: 'Deployment', metadata: { name: 'x', namespace: NS } } as never, { release: REL, namespace: NS }, 0, 'x').id,
      deleteProbePodFix(probe('p')).id,
    ];
    for (const id of ids) expect(FIX_KINDS.some((k) => id.startsWith(`${k}/`)), id).toBe(true);
  });
});
