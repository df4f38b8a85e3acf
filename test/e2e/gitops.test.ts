// A release an Argo CD Application or a Flux HelmRelease manages: upgrade and uninstall refuse, name the
// managing object and the command that suspends it, and change nothing; --force goes ahead with a warning.
// Only the CRDs are here (no controllers): what is judged is what the objects say.
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartTgz, cleanup, cli, helm, HELM_LIST_ALL, helmLabel, kubectl, requiredValues, snapshotText, writeValues } from './support/index.js';

const NS = 'e2e-gitops';
const RELEASE = 'insight-e2e-gitops';
const CLUSTER_ID = 'e2e-gitops-1';
const SECRET = 'GitopsE2eSecretValue0123456789ab';
const ARGO_NS = 'e2e-gitops-argocd';
const APP = 'insight-app';
const CRDS = ['applications.argoproj.io', 'helmreleases.helm.toolkit.fluxcd.io'];
const common = ['--release', RELEASE, '-n', NS];
const ARGO_PATCH = `kubectl -n ${ARGO_NS} patch applications.argoproj.io ${APP} --type merge -p '{"spec":{"syncPolicy":{"automated":null}}}'`;

const crd = (group: string, kind: string, plural: string, versions: string[]) => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${plural}.${group}` },
  spec: {
    group,
    names: { kind, plural, singular: kind.toLowerCase() },
    scope: 'Namespaced',
    versions: versions.map((name, i) => ({ name, served: true, storage: i === 0, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } })),
  },
});

const apply = (obj: object) => kubectl(['apply', '-f', '-'], { input: JSON.stringify(obj) });

interface HelmRel { revision: number; status: string; chart: string }
/** helm 4 prints the revision as a string, helm 3 as a number. */
const release = async (): Promise<HelmRel | undefined> => {
  const r = (JSON.parse((await helm(['list', '-n', NS, ...HELM_LIST_ALL, '-o', 'json'])).stdout) as Array<HelmRel & { revision: number | string }>)[0];
  return r && { ...r, revision: Number(r.revision) };
};

describe(`a release a GitOps controller manages (${helmLabel()})`, () => {
  beforeAll(async () => {
    await cleanup(RELEASE, NS, CLUSTER_ID);
    // Flux's CRD serves only v2beta1 here, so the reader's fallback over v2 and v2beta2 is exercised.
    await apply(crd('argoproj.io', 'Application', 'applications', ['v1alpha1']));
    await apply(crd('helm.toolkit.fluxcd.io', 'HelmRelease', 'helmreleases', ['v2beta1']));
    await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...CRDS.map((c) => `crd/${c}`)]);
    await kubectl(['create', 'namespace', ARGO_NS], { allowFail: true });
    const values = writeValues(requiredValues(CLUSTER_ID));
    const r = await cli(['install', '--no-verify', ...common, '--chart', await chartTgz('1.0.0'), '-f', values, '--timeout', '90s', '--skip-preflight'], { env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: SECRET } });
    expect(r.exitCode, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await kubectl(['delete', 'applications.argoproj.io,helmreleases.helm.toolkit.fluxcd.io', '--all', '-A', '--ignore-not-found'], { allowFail: true });
    await kubectl(['delete', 'crd', ...CRDS, '--ignore-not-found', '--wait=true', '--timeout=60s'], { allowFail: true });
    await kubectl(['delete', 'namespace', ARGO_NS, '--ignore-not-found', '--wait=true', '--timeout=60s'], { allowFail: true });
    await cleanup(RELEASE, NS, CLUSTER_ID);
  });

  it('Argo CD: an auto-syncing Application stops upgrade and uninstall; without auto-sync it is a warning; --force upgrades', async () => {
    await apply({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: APP, namespace: ARGO_NS },
      spec: {
        project: 'default',
        source: { repoURL: 'https://charts.example.com', chart: 'loongcollector-cluster-insight', targetRevision: '1.0.0', helm: { releaseName: RELEASE } },
        destination: { server: 'https://kubernetes.default.svc', namespace: NS },
        syncPolicy: { automated: { prune: true, selfHeal: true } },
      },
    });
    const before = await snapshotText([NS]);
    const runs = [
      ['upgrade', ...common, '--chart', await chartTgz('1.1.0')],
      ['upgrade', ...common, '--chart', await chartTgz('1.1.0'), '--dry-run'],
      ['uninstall', ...common, '--yes'],
      ['uninstall', ...common, '--yes', '--purge-crds', '--delete-namespace'],
      ['uninstall', ...common, '--dry-run'],
    ];
    for (const args of runs) {
      const r = await cli(args);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^Error: release ${NS}/${RELEASE} is managed by Argo CD Application ${ARGO_NS}/${APP} \\(targets release ${RELEASE} in namespace ${NS} with auto-sync on\\): it would (revert the upgrade|reinstall what uninstall removes)$`, 'm'));
      expect(r.stderr).toContain(ARGO_PATCH);
      expect(r.stderr).toMatch(/Nothing was changed\.$/m);
    }
    expect(await snapshotText([NS])).toBe(before);
    expect(await release()).toMatchObject({ revision: 1, status: 'deployed' });

    // The suggested command itself turns auto-sync off; then it is only a warning.
    await execa('sh', ['-c', ARGO_PATCH]);
    const manual = await cli(['upgrade', ...common, '--chart', await chartTgz('1.1.0'), '--dry-run']);
    expect(manual.exitCode, manual.stderr).toBe(0);
    expect(manual.stdout).toContain(`warning: managed by Argo CD Application ${ARGO_NS}/${APP} (targets release ${RELEASE} in namespace ${NS}; auto-sync is off`);

    // A tracking id on a live object is enough, even when the Application is not on this cluster.
    await kubectl(['delete', 'applications.argoproj.io', APP, '-n', ARGO_NS]);
    const docs = parseAllDocuments((await helm(['get', 'manifest', RELEASE, '-n', NS])).stdout).map((d) => d.toJS() as { kind?: string; metadata?: { name?: string } } | null);
    const deployment = docs.find((d) => d?.kind === 'Deployment')?.metadata?.name ?? '';
    expect(deployment).not.toBe('');
    await kubectl(['annotate', 'deployment', deployment, '-n', NS, `argocd.argoproj.io/tracking-id=remote_ghost:apps/Deployment:${NS}/${deployment}`]);
    const marked = await cli(['upgrade', ...common, '--chart', await chartTgz('1.1.0'), '--dry-run']);
    expect(marked.exitCode, marked.stderr).toBe(1);
    expect(marked.stderr).toContain(`is managed by Argo CD Application remote/ghost (Deployment ${NS}/${deployment} carries its tracking id)`);
    expect(marked.stderr).toContain('kubectl -n remote patch applications.argoproj.io ghost');

    const forced = await cli(['upgrade', ...common, '--chart', await chartTgz('1.1.0'), '--force', '--timeout', '90s']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('warning: managed by Argo CD Application remote/ghost');
    expect(forced.stdout).toContain('going ahead because of --force: it may revert the upgrade');
    expect(await release()).toMatchObject({ revision: 2, status: 'deployed', chart: 'loongcollector-cluster-insight-1.1.0' });
    await kubectl(['annotate', 'deployment', deployment, '-n', NS, 'argocd.argoproj.io/tracking-id-']);
  });

  it('Flux: a HelmRelease of this release stops upgrade and uninstall; suspended it is reported only; --force uninstalls', async () => {
    const hr = {
      apiVersion: 'helm.toolkit.fluxcd.io/v2beta1',
      kind: 'HelmRelease',
      metadata: { name: RELEASE, namespace: NS },
      spec: { interval: '5m', chart: { spec: { chart: 'loongcollector-cluster-insight', sourceRef: { kind: 'HelmRepository', name: 'insight' } } } },
    };
    await apply(hr);
    const before = await snapshotText([NS]);
    const revision = (await release())!.revision;
    for (const args of [['upgrade', ...common, '--chart', await chartTgz('1.1.0'), '--set', 'scrapeInterval=61s'], ['uninstall', ...common, '--yes'], ['uninstall', ...common, '--dry-run']]) {
      const r = await cli(args);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^Error: release ${NS}/${RELEASE} is managed by Flux HelmRelease ${NS}/${RELEASE} `, 'm'));
      expect(r.stderr).toContain(`\`flux suspend helmrelease ${RELEASE} -n ${NS}\``);
    }
    expect(await snapshotText([NS])).toBe(before);
    expect(await release()).toMatchObject({ revision, status: 'deployed' });

    await apply({ ...hr, spec: { ...hr.spec, suspend: true } });
    const suspended = await cli(['upgrade', ...common, '--chart', await chartTgz('1.1.0'), '--set', 'scrapeInterval=61s', '--dry-run']);
    expect(suspended.exitCode, suspended.stderr).toBe(0);
    expect(suspended.stdout).toContain(`managed by Flux HelmRelease ${NS}/${RELEASE} (is helm-controller's release ${NS}/${RELEASE}; it is suspended`);
    expect(suspended.stdout).not.toContain('warning: managed by Flux');

    await apply({ ...hr, spec: { ...hr.spec, suspend: false } });
    const forced = await cli(['uninstall', ...common, '--yes', '--force', '--timeout', '60s']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(forced.stdout).toContain(`warning: managed by Flux HelmRelease ${NS}/${RELEASE}`);
    expect(forced.stdout).toContain('it may reinstall what uninstall removes');
    expect(await release()).toBeUndefined();
  });
});
