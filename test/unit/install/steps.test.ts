// The step lists of install, upgrade and uninstall, driven with fake helm and kube, and the one
// rollback rule on both paths (runSteps and the listr task tree).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CHART, CR } from '../../../src/defaults.js';
import { InsightError } from '../../../src/errors.js';
import { parseManifests, type HelmRelease } from '../../../src/helm/release.js';
import { install, installSteps, newInstallContext, type InstallOptions } from '../../../src/actions/install.js';
import { newUpgradeContext, upgrade, upgradeFailure, upgradeSteps, type UpgradeContext, type UpgradeOptions } from '../../../src/actions/upgrade.js';
import { newContext, uninstallSteps, STEP_TITLES, type Discovery, type Plan, type StepId } from '../../../src/actions/uninstall/index.js';
import { RollbackFailed, runSteps, silentReporter, type Step } from '../../../src/actions/steps.js';
import { runStepsWithProgress } from '../../../src/output/tasks.js';
import { Secret } from '../../../src/secret.js';
import { withCalls } from '../../support/kube.js';

// ---------------------------------------------------------------------------------------------------
// The rule itself

type Log = string[];
const step = (log: Log, name: string, o: { fail?: Error; rollback?: 'ok' | Error; skip?: boolean } = {}): Step<object> => ({
  title: name,
  ...(o.skip ? { skip: () => 'skipped' } : {}),
  async run() {
    log.push(`run ${name}`);
    if (o.fail !== undefined) throw o.fail;
  },
  ...(o.rollback !== undefined
    ? {
        async rollback() {
          log.push(`rollback ${name}`);
          if (o.rollback instanceof Error) throw o.rollback;
        },
      }
    : {}),
});

// Both paths must follow the same rule; 'silent' is the listr renderer of -o json.
const paths = {
  plain: (steps: Step<object>[]) => runSteps(steps, {}),
  listr: (steps: Step<object>[]) => runStepsWithProgress(steps, {}, 'silent'),
} as const;

describe.each(Object.entries(paths))('the rollback rule (%s path)', (_name, run) => {
  it('runs steps in order and leaves out skipped ones', async () => {
    const log: Log = [];
    await run([step(log, 'a'), step(log, 'b', { skip: true }), step(log, 'c')]);
    expect(log).toEqual(['run a', 'run c']);
  });

  it('rolls back the failing step and the ones before it, newest first, each once; later and skipped steps not at all', async () => {
    const log: Log = [];
    const boom = new InsightError('timeout', 'rollout not finished');
    const e = await run([
      step(log, 'a', { rollback: 'ok' }),
      step(log, 'b'),
      step(log, 'skipped', { skip: true, rollback: 'ok' }),
      step(log, 'c', { rollback: 'ok', fail: boom }),
      step(log, 'd', { rollback: 'ok' }),
    ]).catch((x: unknown) => x);
    expect(e).toBe(boom);
    expect(log).toEqual(['run a', 'run b', 'run c', 'rollback c', 'rollback a']);
  });

  it('runs no rollback when nothing fails', async () => {
    const log: Log = [];
    await run([step(log, 'a', { rollback: 'ok' }), step(log, 'b', { rollback: 'ok' })]);
    expect(log).toEqual(['run a', 'run b']);
  });

  it('a rollback that fails: the older ones still run, and both errors are reported, the original first', async () => {
    const log: Log = [];
    const boom = new InsightError('timeout', 'rollout not finished', { hint: 'look at the pods' });
    const e = (await run([step(log, 'a', { rollback: 'ok' }), step(log, 'b', { rollback: new Error('helm rollback failed'), fail: boom })]).catch((x: unknown) => x)) as RollbackFailed;
    expect(log).toEqual(['run a', 'run b', 'rollback b', 'rollback a']);
    expect(e).toBeInstanceOf(RollbackFailed);
    expect(e.original).toBe(boom);
    expect(e.message).toBe('rollout not finished; the rollback failed too: helm rollback failed');
    expect(e).toMatchObject({ kind: 'timeout', exitCode: 7, hint: 'look at the pods', details: { rollbackError: 'helm rollback failed' } });
  });

  it('an interrupted rollback is surfaced the same way, with the original error kept', async () => {
    const log: Log = [];
    const boom = new InsightError('forbidden', 'forbidden: you cannot create clusterroles');
    const e = (await run([step(log, 'a', { rollback: new InsightError('interrupted', 'interrupted while waiting for the rollout'), fail: boom })]).catch((x: unknown) => x)) as RollbackFailed;
    expect(e.original).toBe(boom);
    expect(e).toMatchObject({ kind: 'forbidden', exitCode: 4 });
    expect(e.message).toContain('interrupted while waiting for the rollout');
  });

  it('a bug whose rollback fails stays a bug (exit 70)', async () => {
    const log: Log = [];
    const e = (await run([step(log, 'a', { rollback: new Error('also broken'), fail: new TypeError('x is undefined') })]).catch((x: unknown) => x)) as RollbackFailed;
    expect(e.exitCode).toBe(70);
    expect(e.message).toBe('x is undefined; the rollback failed too: also broken');
  });
});

// ---------------------------------------------------------------------------------------------------
// Fakes

const NS = 'cms';
const REL = 'r';
// The fixture every test shares has each required value but the secret, which never sits in a file.
const FIXTURE = parse(readFileSync(new URL('../../fixtures/values/valid.yaml', import.meta.url), 'utf8')) as Record<string, unknown>;
const SECRET = 'Zq8uNfW3kTq0aBcDeFgHiJkLmNoPqR';
const VALUES = () => ({ ...structuredClone(FIXTURE), accessKeySecret: new Secret(SECRET) });

/** A fake helm: records each call by name; `over` replaces an answer (a function may throw). */
function fakeHelm(calls: Log, manifest: string, over: Record<string, (...a: unknown[]) => unknown> = {}) {
  const answers: Record<string, (...a: unknown[]) => unknown> = {
    version: () => '4.3.1',
    list: () => [],
    listAllNamespaces: () => [],
    release: () => undefined,
    getValues: () => ({}),
    getManifest: () => [],
    applyMethod: () => 'csa',
    showChart: () => ({ name: CHART.name, version: '1.1.0', appVersion: '1.1.0' }),
    showValues: () => ({}),
    template: () => ({ manifests: manifest, docs: parseManifests(manifest) }),
    install: () => undefined,
    upgrade: () => undefined,
    rollback: () => undefined,
    uninstall: () => undefined,
    ...over,
  };
  return new Proxy({}, {
    get: (_t, name: string) => async (...a: unknown[]) => {
      calls.push(`helm ${name}`);
      const f = answers[name];
      if (!f) throw new Error(`fake helm: no ${name}`);
      return f(...a);
    },
  }) as never;
}

const notFound = () => Promise.reject(Object.assign(new Error('not found'), { code: 404, body: '{"reason":"NotFound"}' }));

/** A fake cluster where everything is allowed; `crPresent` decides whether the chart's custom resource exists. */
function fakeKube(calls: Log, o: { crPresent?: boolean } = {}) {
  return withCalls({
    server: 'https://127.0.0.1:1',
    version: { getCode: async () => (calls.push('kube version'), { gitVersion: 'v1.31.0' }) },
    authz: { createSelfSubjectAccessReview: async () => (calls.push('kube access review'), { status: { allowed: true } }) },
    core: { readNamespace: async () => ({ metadata: {} }), patchNamespace: async () => ({}) },
    apps: {},
    apiext: { readCustomResourceDefinition: notFound },
    custom: { getClusterCustomObject: async () => (calls.push('kube get custom resource'), o.crPresent === false ? notFound() : {}) },
    objects: { list: async () => ({ items: [] }) },
  }) as never;
}

const MANIFEST = ['---', '# Source: c/templates/cm.yaml', 'apiVersion: v1', 'kind: ConfigMap', `metadata: {name: cm, namespace: ${NS}}`].join('\n');
const WITH_CR = [MANIFEST, '---', '# Source: c/templates/cr.yaml', `apiVersion: ${CR.group}/${CR.version}`, `kind: ${CR.kind}`, 'metadata: {name: entity}'].join('\n');

// ---------------------------------------------------------------------------------------------------
// install

describe('installSteps', () => {
  const opts = (over: Partial<InstallOptions> = {}): InstallOptions => ({ release: REL, namespace: NS, values: VALUES(), chart: {}, timeoutMs: 5000, skipPreflight: true, allowUnknownRegion: true, ...over });

  it('comes in this order: validation, cluster, preflight, render, permissions, helm, rollout, verification', () => {
    expect(installSteps().map((s) => s.title)).toEqual([
      'Validate the values',
      'Check helm and the cluster',
      'Run preflight checks',
      'Render the chart',
      'Check permissions',
      'Install the chart',
      'Wait for the workloads to roll out',
      'Verify CRDs and the custom resource',
    ]);
  });

  it('renders and checks permissions before helm install, and reads the revision after it', async () => {
    const calls: Log = [];
    const helm = fakeHelm(calls, MANIFEST, { release: () => ({ name: REL, namespace: NS, revision: 1, status: 'deployed', chart: `${CHART.name}-1.1.0`, app_version: '1.1.0' }) });
    const r = await install(opts(), { helm, kube: () => fakeKube(calls) });
    const at = (c: string) => calls.indexOf(c);
    expect(at('helm version')).toBeLessThan(at('helm template'));
    expect(at('helm template')).toBeLessThan(at('kube access review'));
    expect(at('kube access review')).toBeLessThan(at('helm install'));
    expect(at('helm install')).toBeLessThan(at('helm release'));
    expect(calls.filter((c) => c === 'helm install')).toHaveLength(1);
    expect(r).toMatchObject({ dryRun: false, revision: 1, chart: { name: CHART.name, version: '1.1.0' } });
    expect(r.manifests).toBeUndefined();
  });

  it('--dry-run renders and checks permissions, but never calls helm install or waits', async () => {
    const calls: Log = [];
    const ctx = newInstallContext(opts({ dryRun: true, skipPreflight: false }), { helm: fakeHelm(calls, MANIFEST), kube: () => fakeKube(calls), preflight: async () => Promise.reject(new Error('preflight must not run')) });
    expect(installSteps().map((s) => s.skip?.(ctx) || false)).toEqual([false, false, 'skipped in --dry-run (run `kubectl insight preflight`)', false, false, 'skipped (--dry-run)', 'skipped (--dry-run)', 'skipped (--dry-run)']);
    await runSteps(installSteps(), ctx);
    expect(calls).toContain('kube access review');
    expect(calls).not.toContain('helm install');
    expect(calls).not.toContain('kube get custom resource');
  });

  it('stops before anything changes when a release of the chart exists', async () => {
    const calls: Log = [];
    const existing: HelmRelease = { name: REL, namespace: NS, revision: 2, status: 'deployed', chart: `${CHART.name}-1.0.0`, app_version: '1.0.0' };
    const helm = fakeHelm(calls, MANIFEST, { listAllNamespaces: () => [existing] });
    await expect(install(opts(), { helm, kube: () => fakeKube(calls) })).rejects.toMatchObject({ kind: 'conflict' });
    expect(calls).not.toContain('helm template');
    expect(calls).not.toContain('helm install');
  });
});

// ---------------------------------------------------------------------------------------------------
// upgrade

const CURRENT: HelmRelease = { name: REL, namespace: NS, revision: 3, status: 'deployed', chart: `${CHART.name}-1.0.0`, app_version: '1.0.0' };

function upgradeWorld(over: Record<string, (...a: unknown[]) => unknown> = {}, o: { crPresent?: boolean; manifest?: string } = {}) {
  const calls: Log = [];
  let upgraded = false;
  const helm = fakeHelm(calls, o.manifest ?? WITH_CR, {
    release: () => (upgraded ? { ...CURRENT, revision: 4 } : CURRENT),
    getValues: () => ({ ...structuredClone(FIXTURE), accessKeySecret: SECRET }),
    upgrade: () => {
      upgraded = true;
    },
    ...over,
  });
  return { calls, deps: { helm, kube: () => fakeKube(calls, o) } };
}
const upOpts = (over: Partial<UpgradeOptions> = {}): UpgradeOptions => ({ release: REL, namespace: NS, values: {}, chart: {}, timeoutMs: 5000, allowUnknownRegion: true, ...over });

/** Runs upgrade on the plain or the listr path, and returns the error the command would report. */
async function failedUpgrade(path: 'plain' | 'listr', w: ReturnType<typeof upgradeWorld>, opts = upOpts()): Promise<InsightError> {
  if (path === 'plain') return (await upgrade(opts, w.deps).then(() => undefined, (e: unknown) => e)) as InsightError;
  const ctx: UpgradeContext = newUpgradeContext(opts, w.deps);
  return (await runStepsWithProgress(upgradeSteps(), ctx, 'silent').then(() => undefined, (e: unknown) => upgradeFailure(ctx, e))) as InsightError;
}

describe('upgradeSteps', () => {
  it('has one rollback, on the step that changes the release', () => {
    expect(upgradeSteps().filter((s) => s.rollback).map((s) => s.title)).toEqual(['Upgrade the release']);
  });

  it('upgrades once, reads the new revision, and does not roll back when all goes well', async () => {
    const w = upgradeWorld();
    const r = await upgrade(upOpts(), w.deps);
    expect(r).toMatchObject({ revision: 4, upToDate: false, from: { revision: 3, version: '1.0.0' }, to: { version: '1.1.0' } });
    expect(w.calls.filter((c) => c === 'helm upgrade')).toHaveLength(1);
    expect(w.calls).not.toContain('helm rollback');
  });

  it('--dry-run and an up-to-date release skip helm upgrade', async () => {
    const dry = upgradeWorld();
    await upgrade(upOpts({ dryRun: true }), dry.deps);
    expect(dry.calls).not.toContain('helm upgrade');
    const same = upgradeWorld({ showChart: () => ({ name: CHART.name, version: '1.0.0' }) });
    const r = await upgrade(upOpts(), same.deps);
    expect(r.upToDate).toBe(true);
    expect(same.calls).not.toContain('helm template');
    expect(same.calls).not.toContain('helm upgrade');
  });

  describe.each(['plain', 'listr'] as const)('on the %s path', (path) => {
    it('a failure after helm upgrade rolls back exactly once, to the deployed revision', async () => {
      const revisions: unknown[] = [];
      const w = upgradeWorld({ rollback: (o) => void revisions.push((o as { revision: number }).revision) }, { crPresent: false });
      const e = await failedUpgrade(path, w);
      expect(revisions).toEqual([3]);
      expect(e.message).toBe(`upgrade failed and was rolled back to revision 3 (${CHART.name}-1.0.0): the custom resource ${CR.kind} entity is missing after the install`);
      expect(e.details).toMatchObject({ rolledBackTo: 3 });
    });

    it('helm upgrade failing half-way is rolled back once as well', async () => {
      const w = upgradeWorld({ upgrade: () => Promise.reject(new InsightError('timeout', 'helm timed out waiting for the release to become ready')) });
      const e = await failedUpgrade(path, w);
      expect(w.calls.filter((c) => c === 'helm rollback')).toHaveLength(1);
      expect(e).toMatchObject({ kind: 'timeout', exitCode: 7 });
      expect(e.message).toMatch(/^upgrade failed and was rolled back to revision 3/);
    });

    it('a rollback that fails is tried once and reported with the upgrade error', async () => {
      const w = upgradeWorld({ rollback: () => Promise.reject(new InsightError('conflict', 'another helm operation on this release is in progress')) }, { crPresent: false });
      const e = await failedUpgrade(path, w);
      expect(w.calls.filter((c) => c === 'helm rollback')).toHaveLength(1);
      expect(e).toBeInstanceOf(InsightError);
      expect(e.message).toBe(`upgrade failed: the custom resource ${CR.kind} entity is missing after the install; the rollback to revision 3 failed too: another helm operation on this release is in progress`);
      expect(e.hint).toContain(`helm history ${REL} -n ${NS}`);
      expect(e.exitCode).toBe(1);
    });

    it('a rollback interrupted after helm rolled back says both what failed and that the old workloads are not back', async () => {
      let reads = 0;
      const w = upgradeWorld({ getManifest: () => (++reads > 1 ? Promise.reject(new InsightError('interrupted', 'interrupted while waiting for the rollout')) : []) }, { crPresent: false });
      const e = await failedUpgrade(path, w);
      expect(w.calls.filter((c) => c === 'helm rollback')).toHaveLength(1);
      expect(e.message).toBe(`upgrade failed and was rolled back to revision 3 (${CHART.name}-1.0.0): the custom resource ${CR.kind} entity is missing after the install; the rollback's workloads are not ready yet: interrupted while waiting for the rollout`);
      expect(e).toMatchObject({ kind: 'failed', exitCode: 1, details: { rolledBackTo: 3, rollbackError: 'interrupted while waiting for the rollout' } });
    });

    it('--no-rollback leaves the failed upgrade and says how to go back', async () => {
      const w = upgradeWorld({}, { crPresent: false });
      const e = await failedUpgrade(path, w, upOpts({ noRollback: true }));
      expect(w.calls).not.toContain('helm rollback');
      expect(e.message).toMatch(/^upgrade failed \(not rolled back: --no-rollback\)/);
      expect(e.hint).toContain(`helm rollback ${REL} 3 -n ${NS}`);
    });

    it('a failure before helm upgrade changes nothing and rolls nothing back', async () => {
      const w = upgradeWorld({ release: () => undefined });
      const e = await failedUpgrade(path, w);
      expect(e).toMatchObject({ kind: 'not-found' });
      expect(w.calls).not.toContain('helm upgrade');
      expect(w.calls).not.toContain('helm rollback');
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// uninstall

describe('uninstallSteps', () => {
  const order: StepId[] = ['custom-resources', 'helm-release', 'workloads', 'crds', 'namespace'];
  const plan = (run: StepId[]): Plan => ({
    release: REL,
    namespace: NS,
    clusterIDSource: 'unknown',
    nothingInstalled: false,
    steps: order.map((id) => ({ id, title: STEP_TITLES[id], why: '', items: [], ...(run.includes(id) ? {} : { skipped: 'not planned' }) })),
  });
  const discovery = { release: REL, namespace: NS, clusterIDSource: 'unknown', customResources: [], operator: { deployments: [], ready: 0 }, workloads: [], crds: [], namespaceState: { exists: true, others: [] } } as unknown as Discovery;
  const opts = { release: REL, namespace: NS, purgeCrds: false, force: false, deleteNamespace: false, timeoutMs: 5000 };

  it('checks GitOps again, then goes custom resources → helm release → workloads → CRDs → namespace', () => {
    expect(uninstallSteps().map((s) => s.title)).toEqual(['Check for a GitOps controller (Argo CD, Flux)', ...order.map((id) => STEP_TITLES[id])]);
    expect(uninstallSteps().some((s) => s.rollback)).toBe(false);
  });

  it('skips what the plan skips, and uninstalls the release once', async () => {
    const calls: Log = [];
    const helm = fakeHelm(calls, '', { list: () => [CURRENT] });
    const ctx = newContext(fakeKube(calls), helm, opts, discovery, plan(['helm-release']));
    expect(uninstallSteps().map((s) => s.skip?.(ctx) || false)).toEqual([false, 'not planned', false, 'not planned', 'not planned', 'not planned']);
    await runSteps(uninstallSteps(), ctx);
    expect(calls.filter((c) => c === 'helm uninstall')).toHaveLength(1);
    expect(ctx.outcomes).toEqual([{ step: 'helm-release', kind: 'HelmRelease', namespace: NS, name: REL, result: 'deleted', detail: 'uninstalled (was revision 3, deployed)' }]);
  });

  it('a failing step names itself and says a re-run finishes the job; nothing is rolled back', async () => {
    const calls: Log = [];
    const helm = fakeHelm(calls, '', { list: () => [CURRENT], uninstall: () => Promise.reject(new InsightError('forbidden', 'forbidden: user dev cannot delete secrets')) });
    const ctx = newContext(fakeKube(calls), helm, opts, discovery, plan(['helm-release']));
    const e = (await runSteps(uninstallSteps(), ctx, silentReporter).catch((x: unknown) => x)) as InsightError;
    expect(e).toBeInstanceOf(InsightError);
    expect(e).not.toBeInstanceOf(RollbackFailed);
    expect(e.message).toBe('uninstall the helm release: forbidden: user dev cannot delete secrets');
    expect(e.hint).toContain('run the same command again');
    expect(e.exitCode).toBe(4);
  });
});
