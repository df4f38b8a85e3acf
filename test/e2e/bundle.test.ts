// bundle end to end: the fixture chart installed with real helm and a canary AccessKey secret (stdin),
// the canary planted in every form where the bundle reads (a container log served by kwok, an Event,
// a pod annotation, the custom resource, a workload's env), the built CLI run, and the archive
// unpacked with the system tar: not one form of the canary in any file, the cluster unchanged.
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyYaml, cleanup, cli, FIXTURE_CHART_DIR, FIXTURE_VALUES, fixtureCrdFlags, helm, helmLabel, kubectl, mintKubeconfig, netnsSkipReason,
  nodeNames, parseJson, serveContainerFiles, snapshotText, spawnCli, waitFor, waitForPods, type ServedContainer,
} from './support/index.js';
import { secretFormsByName } from '../support/secret-forms.js';

const NS = 'bundle-e2e';
const RELEASE = 'bundle-e2e';
const CLUSTER_ID = 'bundle-e2e-1';
const CR = `custom-kubernetes-${CLUSTER_ID}-entity-collector`;
// Its slash, plus, quote, ampersand and space make every encoding below a different text.
const CANARY = `BundleCanary/${randomBytes(10).toString('hex')}+k=&"q y`;

const FORMS = secretFormsByName(CANARY);
const ALL = Object.values(FORMS).join(' | ');

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Every temp directory this file makes, removed in afterAll. */
const temps: string[] = [];
const tempDir = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
};

function unpack(file: string): { dir: string; files: string[]; manifest: any } {
  const dir = tempDir('bundle-e2e-unpacked-');
  execFileSync('tar', ['-xzf', file, '-C', dir]);
  const files = walk(dir).map((f) => relative(dir, f)).sort();
  return { dir, files, manifest: JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) };
}

/** Every form of the canary found in any file of an unpacked bundle, as `file: form`. */
function leaks(u: { dir: string; files: string[] }): string[] {
  const found: string[] = [];
  for (const f of u.files) {
    const text = readFileSync(join(u.dir, f), 'utf8');
    for (const [name, form] of Object.entries(FORMS)) if (text.includes(form)) found.push(`${f}: ${name}`);
  }
  return found;
}

describe.skipIf(Boolean(netnsSkipReason()))(`bundle (${helmLabel()})`, () => {
  const base = ['-n', NS, '--release', RELEASE];
  let served: ServedContainer | undefined;
  let work: string;
  let nePod = '';

  beforeAll(async () => {
    work = tempDir('bundle-e2e-');
    await cleanup(RELEASE, NS, CLUSTER_ID);
    const nodes = await nodeNames();
    await helm(
      ['install', RELEASE, FIXTURE_CHART_DIR, '-n', NS, '--create-namespace', '-f', FIXTURE_VALUES, '-f', '-',
        '--set', 'kubeProxy.enabled=false', '--set', 'gpuExporter.enabled=false', '--set', `clusterID=${CLUSTER_ID}`, '--wait', '--timeout', '3m', ...(await fixtureCrdFlags())],
      { input: `accessKeySecret: ${JSON.stringify(CANARY)}\n`, timeoutMs: 240_000 },
    );
    // A workload's env (it rolls out a new pod), before the pods the rest plants on are picked.
    await kubectl(['set', 'env', '-n', NS, 'deployment/cms-kube-state-metrics', `NOTE=${ALL}`]);
    await kubectl(['rollout', 'status', '-n', NS, 'deployment/cms-kube-state-metrics', '--timeout=120s']);
    const [ne] = await waitForPods(NS, 'app.kubernetes.io/name=node-exporter', nodes.length);
    nePod = ne!.name;
    await waitForPods(NS, 'app.kubernetes.io/name=kube-state-metrics', 1);
    // A container log, an annotation on a pod, an Event, the custom resource.
    served = await serveContainerFiles({ namespace: NS, pod: ne!.name, container: 'node-exporter', log: `starting\nkey is ${ALL}\n{"secret":"${FORMS['json-escaped']}"}\ndone\n` });
    await kubectl(['annotate', 'pod', '-n', NS, ne!.name, `insight.test/canary=${ALL}`]);
    await applyYaml({
      apiVersion: 'v1', kind: 'Event', metadata: { name: 'bundle-e2e-canary', namespace: NS },
      involvedObject: { kind: 'Pod', name: ne!.name, namespace: NS }, reason: 'Canary', message: `leaked ${ALL}`, type: 'Warning',
      firstTimestamp: new Date().toISOString(), lastTimestamp: new Date().toISOString(), count: 1, source: { component: 'bundle-e2e' },
    });
    await kubectl(['annotate', 'clusteraliyunpipelineconfigs', CR, `insight.test/canary=${ALL}`]);
  });

  afterAll(async () => {
    await served?.stop().catch(() => {});
    await kubectl(['delete', 'clusterrolebinding', 'bundle-e2e-viewer', '--ignore-not-found'], { allowFail: true });
    await cleanup(RELEASE, NS, CLUSTER_ID);
    for (const d of temps) rmSync(d, { recursive: true, force: true });
  });

  it('writes a 0600 bundle with not one form of the canary in it, and changes nothing in the cluster', async () => {
    const before = await snapshotText([NS]);
    const file = join(work, 'one.tar.gz');
    const r = await cli(['bundle', ...base, '--output-file', file, '-o', 'json', '--since', '10m']);
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = parseJson(r);
    expect(doc.path).toBe(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await snapshotText([NS])).toBe(before);
    const u = unpack(file);
    expect(leaks(u)).toEqual([]);
    // Every file is listed (manifest.json itself aside), and everything written is there.
    const written = u.manifest.files.filter((f: any) => f.status === 'written').map((f: any) => f.path).sort();
    expect(u.files.filter((f) => f !== 'manifest.json')).toEqual(written);
    for (const want of ['versions.json', 'reports/doctor.json', 'reports/preflight.json', 'coexistence.json', 'release/history.json', 'release/manifest.yaml', 'release/values.yaml', 'objects/pods.json', 'objects/custom-resources.json', 'events.json', 'nodes.json']) {
      expect(u.files).toContain(want);
    }
    expect(u.files.some((f) => f.startsWith('logs/'))).toBe(true);
    // The planted places were read, so the redactor really had something to do (this can fail).
    const counts = (path: string) => u.manifest.files.find((f: any) => f.path === path)?.redactions ?? {};
    expect(counts('events.json')['known-secret']).toBeGreaterThan(0);
    expect(counts('objects/pods.json')['known-secret']).toBeGreaterThan(0);
    expect(counts('objects/deployments.json')['known-secret']).toBeGreaterThan(0);
    expect(counts('objects/custom-resources.json')['known-secret']).toBeGreaterThan(0);
    expect(counts(`logs/${nePod}/node-exporter.log`)['known-secret']).toBeGreaterThan(0);
    expect(counts('release/values.yaml')['sensitive-key']).toBeGreaterThan(0);
    expect(readFileSync(join(u.dir, 'release/values.yaml'), 'utf8')).toMatch(/accessKeySecret: "?\[REDACTED\]"?/);
    // Secret data is never there, not even the other keys of the release's Secret.
    expect(readFileSync(join(u.dir, 'release/manifest.yaml'), 'utf8')).not.toContain(Buffer.from('LTAI5tFixtureKeyID00000').toString('base64'));
    expect(JSON.parse(readFileSync(join(u.dir, 'release/history.json'), 'utf8'))[0]).toMatchObject({ revision: 1, status: 'deployed', chart: expect.stringMatching(/^loongcollector-cluster-insight-/) });
    // Only the fake pods whose logs kwok was not told to serve may fail.
    expect(u.manifest.errors.filter((e: any) => !e.component.startsWith('logs/'))).toEqual([]);
  });

  it('records a component that fails (a user who may not read Secrets or nodes) and still writes the bundle', async () => {
    const kc = await mintKubeconfig('bundle-e2e-viewer');
    await kubectl(['create', 'rolebinding', 'bundle-e2e-viewer', '-n', NS, '--clusterrole=view', '--user=bundle-e2e-viewer']);
    // The release's storage cannot be read, so its secret is unknown: refused, nothing written.
    const refused = await cli(['bundle', ...base, '--output-file', join(work, 'refused.tar.gz')], { kubeconfig: kc });
    expect(refused.exitCode, refused.stderr).toBe(4);
    expect(refused.stderr).toMatch(/no bundle was written/);
    expect(refused.stderr).toMatch(/--allow-unknown-secrets/);
    expect(readdirSync(work).filter((f) => f.includes('refused'))).toEqual([]);
    const allowed = await cli(['bundle', ...base, '--output-file', join(work, 'allowed.tar.gz'), '--allow-unknown-secrets', '-o', 'json'], { kubeconfig: kc });
    expect(allowed.exitCode, allowed.stderr).toBe(0);
    const file = join(work, 'limited.tar.gz');
    // Without the release's storage the secret comes from the environment, as the hint says.
    const r = await cli(['bundle', ...base, '--output-file', file, '-o', 'json'], { kubeconfig: kc, env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: CANARY } });
    expect(r.exitCode, r.stderr).toBe(0);
    const u = unpack(file);
    const components = u.manifest.errors.map((e: any) => e.component);
    expect(components).toEqual(expect.arrayContaining(['release', 'nodes.json']));
    expect(u.manifest.errors.find((e: any) => e.component === 'nodes.json').message).toMatch(/forbidden/);
    expect(u.files).toContain('objects/pods.json');
    expect(leaks(u)).toEqual([]);
    const text = await cli(['bundle', ...base, '--output-file', join(work, 'limited-text.tar.gz')], { kubeconfig: kc, env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: CANARY } });
    expect(text.stdout).toMatch(/\d+ components failed/);
  });

  it('--dry-run lists the plan and writes nothing; a second run makes a new file', async () => {
    const dir = tempDir('bundle-e2e-cwd-');
    const dry = await cli(['bundle', ...base, '--dry-run', '-o', 'json'], { cwd: dir });
    expect(dry.exitCode, dry.stderr).toBe(0);
    const plan = parseJson(dry);
    expect(plan.dryRun).toBe(true);
    expect(plan.files.map((f: any) => f.path)).toEqual(expect.arrayContaining(['versions.json', 'events.json', 'nodes.json']));
    expect(readdirSync(dir)).toEqual([]);
    const a = parseJson(await cli(['bundle', ...base, '-o', 'json'], { cwd: dir }));
    const b = parseJson(await cli(['bundle', ...base, '-o', 'json'], { cwd: dir }));
    expect(a.path).not.toBe(b.path);
    expect(readdirSync(dir).sort()).toEqual([a.path, b.path].map((p: string) => relative(dir, p)).sort());
    expect(readdirSync(dir).every((f) => /^kubectl-insight-bundle-.+\.tar\.gz$/.test(f))).toBe(true);
    // An existing -o is never overwritten.
    const again = await cli(['bundle', ...base, '--output-file', a.path]);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/already exists/);
    const bad = await cli(['bundle', ...base, '--redact-extra', '(unclosed', '--dry-run']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).not.toContain('(unclosed');
  });

  it('SIGINT in the middle leaves no partial file', async () => {
    const dir = tempDir('bundle-e2e-sigint-');
    const child = spawnCli(['bundle', ...base, '--output-file', join(dir, 'x.tar.gz')]);
    await waitFor('the partial file', () => readdirSync(dir).some((f) => f.includes('.partial-')), { timeoutMs: 60_000, intervalMs: 10 });
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    expect(readdirSync(dir)).toEqual([]);
  });
});
