import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { buildPlan, type Discovery } from '../../../src/actions/uninstall/index.js';
import { checkPlanOnServer, dryRunExitCode } from '../../../src/actions/uninstall/dry-run.js';
import { withCalls } from '../../support/kube.js';
import { renderDryRun, renderUninstallJson } from '../../../src/output/uninstall.js';
import type { CrdDecision } from '../../../src/kube/ownership.js';
import { cr, FIN } from './fixtures.js';

const CRD = 'clusteraliyunpipelineconfigs.telemetry.alibabacloud.com';
const discovery: Discovery = {
  release: 'rel',
  namespace: 'cms-monitoring',
  helmRelease: { name: 'rel', namespace: 'cms-monitoring', status: 'deployed', chart: 'loongcollector-cluster-insight-1.0.0', revision: 1 },
  clusterID: 'c1',
  clusterIDSource: 'helm-values',
  customResources: [cr({ finalizers: ['other.example.com/keep', FIN] })],
  operator: { deployments: ['cms-loongcollector-operator'], ready: 0, state: 'gone', why: 'scaled to zero' },
  workloads: [{ kind: 'Deployment', namespace: 'cms-monitoring', name: 'cms-loongcollector-operator' }],
  crds: [{ crd: CRD, kind: 'ClusterAliyunPipelineConfig', action: 'delete', ours: [], foreign: [], users: [] } as unknown as CrdDecision],
  installationSeen: true,
  namespaceState: { exists: true, others: [], hadRelease: true },
};
const opts = { release: 'rel', namespace: 'cms-monitoring', purgeCrds: true, force: false, deleteNamespace: true, timeoutMs: 60_000 };

const forbidden = (what: string) => Object.assign(new Error('Forbidden'), { code: 403, body: { kind: 'Status', message: `${what} is forbidden: User "dev" cannot delete resource "namespaces"`, reason: 'Forbidden', code: 403 } });

/** A fake API that records every request and refuses what `refuse` names. */
function fakeApi(refuse: Set<string>) {
  const sent: Array<{ call: string; dryRun?: string; body?: unknown }> = [];
  const answer = (call: string) => async (req: { dryRun?: string; body?: unknown; name?: string }) => {
    sent.push({ call, ...(req.dryRun ? { dryRun: req.dryRun } : {}), ...(req.body ? { body: req.body } : {}) });
    if (refuse.has(call)) throw forbidden(`${call} "${req.name}"`);
    return {};
  };
  const kube = withCalls({
    server: 'https://127.0.0.1:1',
    custom: { deleteClusterCustomObject: answer('delete-cr'), patchClusterCustomObject: answer('patch-cr') },
    apiext: { deleteCustomResourceDefinition: answer('delete-crd') },
    core: { deleteNamespace: answer('delete-namespace'), patchNamespace: answer('patch-namespace') },
  });
  return { kube: kube as never, sent };
}

describe('uninstall --dry-run on the server', () => {
  it('sends every delete and the finalizer patch with dryRun=All, and nothing for helm or the workloads', async () => {
    const { kube, sent } = fakeApi(new Set());
    const plan = await checkPlanOnServer(kube, discovery, buildPlan(discovery, opts), opts);
    expect(sent.map((s) => s.call)).toEqual(['patch-namespace', 'delete-cr', 'patch-cr', 'delete-crd', 'delete-namespace']);
    expect(sent.every((s) => s.dryRun === 'All')).toBe(true);
    // Exactly our finalizer, at its index, guarded by a test op.
    expect(sent[2]!.body).toEqual([
      { op: 'test', path: '/metadata/finalizers/1', value: FIN },
      { op: 'remove', path: '/metadata/finalizers/1' },
    ]);
    const byStep = Object.fromEntries(plan.steps.map((s) => [s.id, s.items.map((i) => i.serverDryRun)]));
    expect(byStep).toEqual({ 'custom-resources': [{ ok: true }], 'helm-release': [undefined], workloads: [undefined], crds: [{ ok: true }], namespace: [{ ok: true }] });
    expect(plan.namespaceMark).toEqual({ namespace: 'cms-monitoring', serverDryRun: { ok: true } });
    expect(dryRunExitCode(plan)).toBe(0);
  });

  it('checks the namespace mark a run patches before its first deletion: refused there, the dry run fails', async () => {
    const { kube } = fakeApi(new Set(['patch-namespace']));
    const plan = await checkPlanOnServer(kube, discovery, buildPlan(discovery, opts), opts);
    expect(plan.namespaceMark?.serverDryRun).toMatchObject({ ok: false, kind: 'forbidden' });
    expect(plan.steps.flatMap((s) => s.items.map((i) => i.serverDryRun)).filter((r) => r && !r.ok)).toEqual([]);
    expect(dryRunExitCode(plan)).toBe(4);
    expect(renderDryRun(plan, new Chalk({ level: 0 }))).toMatch(/mark namespace cms-monitoring[^\n]*\n\s+✖ server dry run: refused/);
  });

  it('sends nothing, not even a dry run, for a namespace that is not only the release\'s or that it never had', async () => {
    for (const namespaceState of [
      { exists: true, others: [{ kind: 'ConfigMap', namespace: 'cms-monitoring', name: 'team-data' }], hadRelease: true },
      { exists: true, others: [], hadRelease: false },
    ]) {
      const { kube, sent } = fakeApi(new Set());
      const d = { ...discovery, namespaceState };
      const plan = await checkPlanOnServer(kube, d, buildPlan(d, opts), opts);
      expect(sent.map((x) => x.call)).not.toContain('delete-namespace');
      const nsItems = plan.steps.find((st) => st.id === 'namespace')!.items;
      expect(nsItems.map((i) => [i.action, i.serverDryRun])).toEqual([['keep', undefined]]);
    }
  });

  it('makes no mark without --purge-crds or --delete-namespace, and sends no namespace delete while it terminates', async () => {
    const { kube, sent } = fakeApi(new Set());
    const keep = { ...opts, purgeCrds: false, deleteNamespace: false };
    const plain = await checkPlanOnServer(kube, discovery, buildPlan(discovery, keep), keep);
    expect(plain.namespaceMark).toBeUndefined();
    expect(sent.map((s) => s.call)).not.toContain('patch-namespace');
    sent.length = 0;
    const terminating = { ...discovery, namespaceState: { ...discovery.namespaceState, terminating: true } };
    await checkPlanOnServer(kube, terminating, buildPlan(terminating, opts), opts);
    expect(sent.map((s) => s.call)).toEqual(['patch-namespace', 'delete-cr', 'patch-cr', 'delete-crd']);
  });

  it('a refused step is a clear problem of that item, the others still checked, and the exit code is Forbidden', async () => {
    const { kube, sent } = fakeApi(new Set(['delete-namespace']));
    const plan = await checkPlanOnServer(kube, discovery, buildPlan(discovery, opts), opts);
    expect(sent).toHaveLength(5);
    const ns = plan.steps.find((s) => s.id === 'namespace')!.items[0]!;
    expect(ns.serverDryRun).toMatchObject({ ok: false, kind: 'forbidden', reason: expect.stringMatching(/^forbidden: cannot delete namespaces "cms-monitoring"/) });
    expect(ns.serverDryRun).toHaveProperty('hint', expect.stringContaining('resources: ["namespaces"], verbs: ["delete"]'));
    expect(plan.steps.find((s) => s.id === 'crds')!.items[0]!.serverDryRun).toEqual({ ok: true });
    expect(dryRunExitCode(plan)).toBe(4);

    const text = renderDryRun(plan, new Chalk({ level: 0 }));
    expect(text).toContain('server dry run: refused — forbidden: cannot delete namespaces "cms-monitoring"');
    expect(text).toContain('Dry run: nothing was changed.');
    expect(text).toContain('The API server refused 1 step(s) of this plan');
    const json = JSON.parse(renderUninstallJson({ result: 'planned', dryRun: true, plan }));
    expect(json.plan.steps[4].items[0].serverDryRun).toMatchObject({ ok: false, kind: 'forbidden' });
  });

  it('a refusal that is not a 403 exits Failed; an object gone meanwhile is not a refusal', async () => {
    const { kube } = fakeApi(new Set());
    const k = kube as unknown as { apiext: { deleteCustomResourceDefinition: () => Promise<unknown> }; core: { deleteNamespace: () => Promise<unknown> } };
    k.apiext.deleteCustomResourceDefinition = async () => {
      throw Object.assign(new Error('denied'), { code: 400, body: { message: 'admission webhook "guard" denied the request' } });
    };
    k.core.deleteNamespace = async () => {
      throw Object.assign(new Error('nf'), { code: 404, body: { message: 'not found' } });
    };
    const plan = await checkPlanOnServer(kube, discovery, buildPlan(discovery, opts), opts);
    expect(plan.steps.find((s) => s.id === 'crds')!.items[0]!.serverDryRun).toMatchObject({ ok: false, kind: 'failed', reason: expect.stringContaining('admission webhook "guard" denied') });
    expect(plan.steps.find((s) => s.id === 'namespace')!.items[0]!.serverDryRun).toEqual({ ok: true });
    expect(dryRunExitCode(plan)).toBe(1);
  });

  it('without --dry-run the plan output is unchanged (no server dry-run lines)', () => {
    const text = renderDryRun(buildPlan(discovery, opts), new Chalk({ level: 0 }));
    expect(text).not.toContain('server dry run');
    expect(text).not.toContain('refused');
  });
});
