import { describe, expect, it } from 'vitest';
import {
  argoAutomated,
  argoTargets,
  fluxReleaseName,
  fluxReleaseNamespace,
  gitopsGate,
  gitopsNotes,
  gitopsRefusal,
  gitopsSummary,
  judgeGitOps,
  liveRefs,
  parseTrackingId,
  readGitOps,
  type GitOpsKube,
  type GitOpsTarget,
  type Obj,
} from '../../../src/kube/gitops.js';
import { buildPlan, type Discovery } from '../../../src/actions/uninstall/index.js';
import { renderPlan } from '../../../src/output/uninstall.js';
import { InsightError } from '../../../src/errors.js';
import { Chalk } from 'chalk';

const CHART = 'loongcollector-cluster-insight';
const T: GitOpsTarget = { release: 'insight', namespace: 'cms-monitoring', charts: [CHART] };

const app = (name: string, spec: Record<string, unknown>, namespace = 'argocd'): Obj => ({ metadata: { name, namespace }, spec });
const hr = (name: string, namespace: string, spec: Record<string, unknown> = {}): Obj => ({ metadata: { name, namespace }, spec });
const none = { applications: [], helmReleases: [], liveObjects: [] };

/** What the client throws for an HTTP error (duck-typed like client-node's ApiException). */
const apiError = (code: number) => Object.assign(new Error(`HTTP ${code}`), { code, body: '{}' });

describe('Argo CD Applications', () => {
  const dest = { destination: { namespace: 'cms-monitoring', server: 'https://kubernetes.default.svc' } };

  it('matches by chart name in spec.source with the same destination namespace', () => {
    expect(argoTargets(app('anything', { ...dest, source: { repoURL: 'https://charts.example', chart: CHART } }), T)).toBe(true);
  });

  it('matches by helm.releaseName, also for a git source of another chart path', () => {
    expect(argoTargets(app('x', { ...dest, source: { repoURL: 'git@x', path: 'deploy/other', helm: { releaseName: 'insight' } } }), T)).toBe(true);
  });

  it('matches a chart from git by the last part of its path', () => {
    expect(argoTargets(app('x', { ...dest, source: { repoURL: 'git@x', path: `charts/${CHART}/` } }), T)).toBe(true);
  });

  it("without helm.releaseName the Application's name is the release name", () => {
    expect(argoTargets(app('insight', { ...dest, source: { repoURL: 'git@x', path: 'deploy/other' } }), T)).toBe(true);
    expect(argoTargets(app('other', { ...dest, source: { repoURL: 'git@x', path: 'deploy/other' } }), T)).toBe(false);
  });

  it('looks at every spec.sources[] entry', () => {
    const a = app('x', { ...dest, sources: [{ repoURL: 'git@values', ref: 'values' }, { repoURL: 'https://charts.example', chart: CHART }] });
    expect(argoTargets(a, T)).toBe(true);
    expect(argoTargets(app('x', { ...dest, sources: [{ repoURL: 'git@values', ref: 'values' }, { chart: 'nginx' }] }), T)).toBe(false);
  });

  it('a different or missing destination namespace is not ours', () => {
    expect(argoTargets(app('insight', { destination: { namespace: 'elsewhere' }, source: { chart: CHART } }), T)).toBe(false);
    expect(argoTargets(app('insight', { source: { chart: CHART } }), T)).toBe(false);
  });

  it('auto-sync: automated set is on; absent, null or enabled:false is off', () => {
    expect(argoAutomated(app('a', { syncPolicy: { automated: { prune: true } } }))).toBe(true);
    expect(argoAutomated(app('a', { syncPolicy: { automated: {} } }))).toBe(true);
    expect(argoAutomated(app('a', { syncPolicy: { automated: null } }))).toBe(false);
    expect(argoAutomated(app('a', { syncPolicy: { automated: { enabled: false } } }))).toBe(false);
    expect(argoAutomated(app('a', { syncPolicy: {} }))).toBe(false);
    expect(argoAutomated(app('a', {}))).toBe(false);
  });

  it('an auto-syncing Application refuses; one without auto-sync is only a warning', () => {
    const auto = app('insight-app', { ...dest, source: { chart: CHART }, syncPolicy: { automated: { selfHeal: true } } });
    const manual = app('insight-manual', { ...dest, source: { chart: CHART } }, 'team-apps');
    const found = judgeGitOps({ ...none, applications: [auto, manual] }, T);
    expect(found.map((m) => [m.namespace, m.name, m.level])).toEqual([
      ['argocd', 'insight-app', 'refuse'],
      ['team-apps', 'insight-manual', 'warn'],
    ]);
    expect(found[0]!.suspend).toBe(`kubectl -n argocd patch applications.argoproj.io insight-app --type merge -p '{"spec":{"syncPolicy":{"automated":null}}}'`);
    expect(gitopsRefusal([found[1]!], T, 'upgrade')).toBeUndefined();
    expect(gitopsNotes({ managers: [found[1]!], warnings: [] }, 'upgrade')[0]).toMatch(/^warning: managed by Argo CD Application team-apps\/insight-manual \(.*auto-sync is off/);
  });
});

describe('Argo CD destination cluster', () => {
  const auto = { syncPolicy: { automated: {} } };
  const ours = (destination: Record<string, unknown>) => app('a', { destination: { namespace: 'cms-monitoring', ...destination }, source: { chart: CHART }, ...auto });
  it('refuses for this cluster (kubernetes.default.svc, in-cluster, none given); warns for another cluster', () => {
    expect(judgeGitOps({ ...none, applications: [ours({ server: 'https://kubernetes.default.svc/' })] }, T)[0]!.level).toBe('refuse');
    expect(judgeGitOps({ ...none, applications: [ours({ name: 'in-cluster' })] }, T)[0]!.level).toBe('refuse');
    expect(judgeGitOps({ ...none, applications: [ours({})] }, T)[0]!.level).toBe('refuse');
    const remote = judgeGitOps({ ...none, applications: [ours({ server: 'https://prod-eu.example:6443' })] }, T)[0]!;
    expect(remote.level).toBe('warn');
    expect(remote.why).toMatch(/may be another cluster/);
    expect(judgeGitOps({ ...none, applications: [ours({ name: 'prod-eu' })] }, T)[0]!.level).toBe('warn');
  });
});

describe('Argo CD tracking marks', () => {
  it('parses <app>:<group>/<kind>:<ns>/<name>, with an empty group for core kinds', () => {
    expect(parseTrackingId('insight:apps/Deployment:cms-monitoring/cms-operator')).toEqual({ app: 'insight', group: 'apps', kind: 'Deployment', namespace: 'cms-monitoring', name: 'cms-operator' });
    expect(parseTrackingId('insight:/ConfigMap:cms-monitoring/cfg')).toMatchObject({ app: 'insight', group: '', kind: 'ConfigMap' });
  });

  it('an app of <namespace>_<name> names the namespace of the Application', () => {
    expect(parseTrackingId('team-apps_insight:apps/DaemonSet:cms-monitoring/node-exporter')).toMatchObject({ app: 'insight', appNamespace: 'team-apps', kind: 'DaemonSet', name: 'node-exporter' });
  });

  it('cluster-scoped objects have an empty namespace; garbage is no id', () => {
    expect(parseTrackingId('insight:rbac.authorization.k8s.io/ClusterRole:/reader')).toMatchObject({ namespace: '', name: 'reader' });
    expect(parseTrackingId('just-a-name')).toBeUndefined();
    expect(parseTrackingId(undefined)).toBeUndefined();
  });

  it('a tracking id or instance label on a live object refuses, naming the Application and its patch command', () => {
    const dep: Obj = { kind: 'Deployment', metadata: { name: 'cms-operator', namespace: 'cms-monitoring', annotations: { 'argocd.argoproj.io/tracking-id': 'team-apps_insight:apps/Deployment:cms-monitoring/cms-operator' } } };
    const ds: Obj = { kind: 'DaemonSet', metadata: { name: 'node-exporter', namespace: 'cms-monitoring', labels: { 'argocd.argoproj.io/instance': 'legacy-app' } } };
    const found = judgeGitOps({ ...none, liveObjects: [dep, ds] }, T);
    expect(found.map((m) => [m.namespace, m.name, m.level, m.source])).toEqual([
      ['team-apps', 'insight', 'refuse', 'mark'],
      [undefined, 'legacy-app', 'refuse', 'mark'],
    ]);
    // Without a namespace in the mark, the hint uses Argo CD's default namespace.
    expect(found[1]!.suspend).toContain('kubectl -n argocd patch applications.argoproj.io legacy-app');
    const r = gitopsRefusal(found, T, 'uninstall')!;
    expect(r.message).toBe('release cms-monitoring/insight is managed by Argo CD Application team-apps/insight (and Argo CD Application legacy-app) (Deployment cms-monitoring/cms-operator carries its tracking id): it would reinstall what uninstall removes');
    expect(r.hint).toContain('`kubectl -n team-apps patch applications.argoproj.io insight --type merge');
    expect(r.hint).toContain('also if that object no longer exists');
    expect(r.hint).toMatch(/Nothing was changed\.$/);
  });

  it('the Application found by listing wins over the mark naming it (reported once, with its auto-sync state)', () => {
    const a = app('insight', { destination: { namespace: 'cms-monitoring' }, source: { chart: CHART } }, 'team-apps');
    const dep: Obj = { kind: 'Deployment', metadata: { name: 'op', annotations: { 'argocd.argoproj.io/tracking-id': 'team-apps_insight:apps/Deployment:cms-monitoring/op' } } };
    const found = judgeGitOps({ ...none, applications: [a], liveObjects: [dep] }, T);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ level: 'warn', source: 'object' });
  });
});

describe('Flux HelmReleases', () => {
  it("release name: spec.releaseName, else <targetNamespace>-<name>, else the object's name", () => {
    expect(fluxReleaseName(hr('insight', 'flux-system', { releaseName: 'custom' }))).toBe('custom');
    expect(fluxReleaseName(hr('insight', 'flux-system', { targetNamespace: 'cms-monitoring' }))).toBe('cms-monitoring-insight');
    expect(fluxReleaseName(hr('insight', 'flux-system'))).toBe('insight');
  });

  it("release storage namespace: storageNamespace, else the HelmRelease's own (helm-controller's rule)", () => {
    expect(fluxReleaseNamespace(hr('x', 'flux-system', { targetNamespace: 'a', storageNamespace: 'b' }))).toBe('b');
    expect(fluxReleaseNamespace(hr('x', 'flux-system', { targetNamespace: 'a' }))).toBe('flux-system');
    expect(fluxReleaseNamespace(hr('x', 'cms-monitoring'))).toBe('cms-monitoring');
  });

  it('a HelmRelease in flux-system with targetNamespace: found from the storage namespace and from the target one', () => {
    const h = hr('insight', 'flux-system', { targetNamespace: 'cms-monitoring' });
    const facts = { ...none, helmReleases: [h] };
    expect(judgeGitOps(facts, { ...T, release: 'cms-monitoring-insight', namespace: 'flux-system' })).toHaveLength(1);
    expect(judgeGitOps(facts, { ...T, release: 'cms-monitoring-insight', namespace: 'cms-monitoring' })).toHaveLength(1);
  });

  it('a HelmRelease deploying to another cluster (spec.kubeConfig) warns, never refuses', () => {
    const [m] = judgeGitOps({ ...none, helmReleases: [hr('insight', 'cms-monitoring', { kubeConfig: { secretRef: { name: 'remote' } } })] }, { ...T, release: 'insight' });
    expect(m!.level).toBe('warn');
  });

  it('finds the HelmRelease whose effective name and namespace are ours, and only that', () => {
    const found = judgeGitOps({
      ...none,
      helmReleases: [
        hr('insight', 'cms-monitoring'),
        hr('insight', 'flux-system', { targetNamespace: 'cms-monitoring' }), // release cms-monitoring-insight: not ours
        hr('x', 'flux-system', { targetNamespace: 'cms-monitoring', releaseName: 'insight' }),
        hr('insight', 'other'),
      ],
    }, T);
    expect(found.map((m) => `${m.namespace}/${m.name}:${m.level}`)).toEqual(['cms-monitoring/insight:refuse', 'flux-system/x:refuse']);
    expect(found[1]!.suspend).toBe('flux suspend helmrelease x -n flux-system');
    const r = gitopsRefusal(found, T, 'upgrade')!;
    expect(r.message).toMatch(/^release cms-monitoring\/insight is managed by Flux HelmRelease cms-monitoring\/insight \(and Flux HelmRelease flux-system\/x\) .*: it would revert the upgrade$/);
    expect(r.hint).toContain('`flux suspend helmrelease insight -n cms-monitoring` and `flux suspend helmrelease x -n flux-system`');
  });

  it('targetNamespace defaulting makes <ns>-<name> ours', () => {
    const t = { ...T, release: 'cms-monitoring-insight' };
    expect(judgeGitOps({ ...none, helmReleases: [hr('insight', 'flux-system', { targetNamespace: 'cms-monitoring' })] }, t)).toHaveLength(1);
  });

  it('a suspended HelmRelease is reported as info, not a refusal', () => {
    const found = judgeGitOps({ ...none, helmReleases: [hr('insight', 'cms-monitoring', { suspend: true })] }, T);
    expect(found).toMatchObject([{ level: 'info', name: 'insight' }]);
    expect(gitopsRefusal(found, T, 'uninstall')).toBeUndefined();
    expect(gitopsNotes({ managers: found, warnings: [] }, 'uninstall')).toEqual(['managed by Flux HelmRelease cms-monitoring/insight (is helm-controller\'s release cms-monitoring/insight; it is suspended, so nothing is reconciled until it is resumed)']);
    expect(gitopsSummary({ managers: found, warnings: [] })).toBe('Managed by Flux HelmRelease cms-monitoring/insight (suspended)');
  });

  it('the name and namespace labels on a live object refuse', () => {
    const ds: Obj = { kind: 'DaemonSet', metadata: { name: 'ne', labels: { 'helm.toolkit.fluxcd.io/name': 'insight', 'helm.toolkit.fluxcd.io/namespace': 'flux-system' } } };
    expect(judgeGitOps({ ...none, liveObjects: [ds] }, T)).toMatchObject([{ tool: 'flux', namespace: 'flux-system', name: 'insight', level: 'refuse', source: 'mark' }]);
    // One label alone is not enough to name the HelmRelease.
    const half: Obj = { kind: 'DaemonSet', metadata: { name: 'ne', labels: { 'helm.toolkit.fluxcd.io/name': 'insight' } } };
    expect(judgeGitOps({ ...none, liveObjects: [half] }, T)).toEqual([]);
  });
});

describe('the live objects read', () => {
  it('are the Deployments and DaemonSets of the release namespace, a few at most', () => {
    const docs: Obj[] = [
      { kind: 'ConfigMap', metadata: { name: 'c' } },
      { kind: 'Deployment', metadata: { name: 'd1' } },
      { kind: 'DaemonSet', metadata: { name: 'ds', namespace: 'cms-monitoring' } },
      { kind: 'Deployment', metadata: { name: 'far', namespace: 'kube-system' } },
      ...['d2', 'd3', 'd4'].map((name) => ({ kind: 'Deployment', metadata: { name } })),
    ];
    expect(liveRefs(docs, 'cms-monitoring').map((r) => r.name)).toEqual(['d1', 'ds', 'd2', 'd3']);
  });
});

/** A fake client: `lists` by apiVersion (an Error is thrown), deployments by name. */
function fakeKube(lists: Record<string, Obj[] | Error>, deployments: Record<string, Obj> = {}): GitOpsKube & { asked: string[] } {
  const asked: string[] = [];
  const kube = {
    asked,
    objects: {
      async list(apiVersion: string, kind: string) {
        asked.push(`${apiVersion} ${kind}`);
        const l = lists[apiVersion];
        if (l === undefined) throw apiError(404);
        if (l instanceof Error) throw l;
        return { items: l };
      },
    },
    apps: {
      async readNamespacedDeployment({ name }: { name: string }) {
        const d = deployments[name];
        if (!d) throw apiError(404);
        return d;
      },
      async readNamespacedDaemonSet() {
        throw apiError(404);
      },
    },
  };
  return kube as unknown as GitOpsKube & { asked: string[] };
}

describe('readGitOps', () => {
  const auto = app('insight', { destination: { namespace: 'cms-monitoring' }, source: { chart: CHART }, syncPolicy: { automated: {} } });

  it('no CRDs (404) means nothing to find and nothing to say', async () => {
    const kube = fakeKube({});
    const f = await readGitOps(kube, T, [{ kind: 'Deployment', metadata: { name: 'op' } }]);
    expect(f).toEqual({ managers: [], warnings: [] });
    expect(gitopsNotes(f, 'upgrade')).toEqual([]);
    // Flux: every version was tried in order before giving up.
    expect(kube.asked).toEqual(['argoproj.io/v1alpha1 Application', 'helm.toolkit.fluxcd.io/v2 HelmRelease', 'helm.toolkit.fluxcd.io/v2beta2 HelmRelease', 'helm.toolkit.fluxcd.io/v2beta1 HelmRelease']);
  });

  it('a kind the group version does not serve is not served either', async () => {
    const f = await readGitOps(fakeKube({ 'argoproj.io/v1alpha1': new Error('Unrecognized API version and kind: argoproj.io/v1alpha1 Application') }), T, []);
    expect(f).toEqual({ managers: [], warnings: [] });
  });

  it('uses the first Flux version the server serves', async () => {
    const kube = fakeKube({ 'helm.toolkit.fluxcd.io/v2beta2': [hr('insight', 'cms-monitoring')] });
    const f = await readGitOps(kube, T, []);
    expect(f.managers).toMatchObject([{ tool: 'flux', name: 'insight', level: 'refuse' }]);
    expect(kube.asked).not.toContain('helm.toolkit.fluxcd.io/v2beta1 HelmRelease');
  });

  it('a forbidden list (403) or another error is a warning, never a refusal', async () => {
    const f = await readGitOps(fakeKube({ 'argoproj.io/v1alpha1': apiError(403), 'helm.toolkit.fluxcd.io/v2': apiError(500) }), T, []);
    expect(f.managers).toEqual([]);
    expect(f.warnings).toEqual(['could not check for Argo CD: permission denied (403)', 'could not check for Flux: the API server answered 500']);
    expect(gitopsNotes(f, 'uninstall')).toEqual(['warning: could not check for Argo CD: permission denied (403)', 'warning: could not check for Flux: the API server answered 500']);
  });

  it('reads the marks on the live objects named in the manifest', async () => {
    const live = { kind: 'Deployment', metadata: { name: 'op', labels: { 'argocd.argoproj.io/instance': 'insight-app' } } };
    const f = await readGitOps(fakeKube({}, { op: live }), T, [{ kind: 'Deployment', metadata: { name: 'op' } }, { kind: 'Deployment', metadata: { name: 'gone' } }]);
    expect(f.managers).toMatchObject([{ tool: 'argocd', name: 'insight-app', level: 'refuse', source: 'mark' }]);
  });

  it('the gate throws a conflict (exit 1) without --force, and returns the finding with it', async () => {
    const kube = fakeKube({ 'argoproj.io/v1alpha1': [auto] });
    const e = await gitopsGate(kube, T, [], 'upgrade', false).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InsightError);
    expect((e as InsightError).kind).toBe('conflict');
    expect((e as InsightError).exitCode).toBe(1);
    expect((e as InsightError).message).toContain('Argo CD Application argocd/insight');
    expect((e as InsightError).hint).toContain("kubectl -n argocd patch applications.argoproj.io insight --type merge -p '{\"spec\":{\"syncPolicy\":{\"automated\":null}}}'");
    const forced = await gitopsGate(kube, T, [], 'upgrade', true);
    expect(gitopsNotes(forced, 'upgrade')).toEqual([expect.stringMatching(/^warning: managed by Argo CD Application argocd\/insight \(.*\); going ahead because of --force: it may revert the upgrade$/)]);
  });
});

describe('the uninstall plan', () => {
  const d = (gitops?: Discovery['gitops']): Discovery => ({
    release: 'insight',
    namespace: 'cms-monitoring',
    helmRelease: { name: 'insight', namespace: 'cms-monitoring', status: 'deployed', chart: `${CHART}-1.0.0`, revision: 1 },
    clusterIDSource: 'unknown',
    customResources: [],
    operator: { deployments: [], ready: 0 },
    workloads: [],
    crds: [],
    namespaceState: { exists: true, others: [] },
    ...(gitops ? { gitops } : {}),
  });
  const opts = { purgeCrds: false, force: true, deleteNamespace: false, timeoutMs: 60_000 };

  it('says nothing about GitOps when nothing was found', () => {
    const plan = buildPlan(d({ managers: [], warnings: [] }), opts);
    expect(plan.gitops).toBeUndefined();
    expect(renderPlan(plan, new Chalk({ level: 0 }))).not.toMatch(/GitOps|Argo|Flux/);
  });

  it('lists the manager --force goes ahead against', () => {
    const managers = judgeGitOps({ ...none, helmReleases: [hr('insight', 'cms-monitoring')] }, T);
    const text = renderPlan(buildPlan(d({ managers, warnings: [] }), opts), new Chalk({ level: 0 }));
    expect(text).toContain('‼ warning: managed by Flux HelmRelease cms-monitoring/insight');
    expect(text).toContain('it may reinstall what uninstall removes');
  });
});
