import { chmodSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecaError } from 'execa';
import { classifyHelmError, Helm, helmFeatures } from '../../../src/helm/helm.js';
import { Secret } from '../../../src/secret.js';

// A fake helm that records its argv, the mode and content of any --values file, and answers
// like helm 3 (or helm 2, or fails) depending on FAKE_HELM_MODE.
const dir = mkdtempSync(join(tmpdir(), 'fake-helm-'));
const fake = join(dir, 'helm');
const log = join(dir, 'argv.log');
writeFileSync(
  fake,
  `#!/usr/bin/env bash
printf '%s\\n' "$*" >> "${log}"
prev=""
for a in "$@"; do
  if [ "$prev" = "--values" ]; then
    if [ "$a" = "-" ]; then echo 'values from stdin:' >> "${log}"; cat >> "${log}"; else echo "values file $a" >> "${log}"; fi
  fi
  prev="$a"
done
case "$FAKE_HELM_MODE" in
  helm2) echo 'Client: &version.Version{SemVer:"v2.17.0"}'; exit 0 ;;
  old) echo 'v3.0.0-rc.1'; exit 0 ;;
  unreachable) echo 'Error: Kubernetes cluster unreachable: Get "https://127.0.0.1:1/version": dial tcp 127.0.0.1:1: connect: connection refused' >&2; exit 1 ;;
  inuse) echo 'Error: INSTALLATION FAILED: cannot re-use a name that is still in use' >&2; exit 1 ;;
  forbidden) echo 'Error: INSTALLATION FAILED: clusterroles.rbac.authorization.k8s.io is forbidden: User "dev" cannot create resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope' >&2; exit 1 ;;
esac
case "$1" in
  version) echo "\${FAKE_HELM_VERSION:-v3.21.4}" ;;
  list) echo '[{"name":"aliyun-loongcollector-cluster-insight","namespace":"cms-monitoring","revision":"2","updated":"x","status":"deployed","chart":"loongcollector-cluster-insight-1.0.0","app_version":"1.0.0"}]' ;;
  *) echo ok ;;
esac
`,
);
chmodSync(fake, 0o755);

const helm = (mode = '') => new Helm({ binary: fake, kubeconfig: '/tmp/kc', context: 'ctx', env: { FAKE_HELM_MODE: mode } });

describe('Helm wrapper', () => {
  beforeAll(() => writeFileSync(log, ''));
  afterAll(() => undefined);

  it('passes kubeconfig and context to helm and reads its version', async () => {
    expect(await helm().version()).toBe('3.21.4');
    expect(readFileSync(log, 'utf8')).toContain('version --template {{.Version}} --kubeconfig /tmp/kc --kube-context ctx');
  });

  it('gives values (and the secret) to helm on stdin, never in a file or argv', async () => {
    writeFileSync(log, '');
    const canary = `canary-${process.pid}-${Date.now()}-secret`;
    // A fresh TMPDIR for the code under test, which runs in this process (and for the helm it starts):
    // a file written by either lands here, and nothing else writes here.
    const tmp = mkdtempSync(join(tmpdir(), 'helm-stdin-'));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      expect(tmpdir()).toBe(tmp);
      const h = new Helm({ binary: fake, env: { FAKE_HELM_MODE: '', TMPDIR: tmp } });
      await h.run(['install', 'r', 'chart'], { values: { accessKeySecret: new Secret(canary), region: 'cn-hangzhou' } });
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    const recorded = readFileSync(log, 'utf8');
    const argvLine = recorded.split('\n')[0]!;
    expect(argvLine).toBe('install r chart --values -');
    expect(recorded).toContain(`values from stdin:\naccessKeySecret: ${canary}\nregion: cn-hangzhou`);
    expect(recorded).not.toContain('values file');
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('refuses an argv that carries a known secret', async () => {
    const s = new Secret(`argv-canary-${Date.now()}`);
    writeFileSync(log, '');
    await expect(helm().run(['install', '--set', `accessKeySecret=${s.reveal()}`])).rejects.toThrow(/refused to pass a secret/);
    expect(readFileSync(log, 'utf8')).toBe('');
  });

  it('a failing helm with values is classified like any other', async () => {
    await expect(helm('inuse').run(['install', 'r', 'c'], { values: { a: 1 } })).rejects.toMatchObject({ kind: 'conflict' });
  });

  it('maps helm failures to domain errors', async () => {
    await expect(helm('unreachable').run(['list'])).rejects.toMatchObject({ kind: 'unreachable', exitCode: 3 });
    await expect(helm('forbidden').run(['install'])).rejects.toMatchObject({
      kind: 'forbidden',
      message: 'forbidden: user dev cannot create clusterroles.rbac.authorization.k8s.io',
    });
    await expect(new Helm({ binary: join(dir, 'no-such-helm') }).version()).rejects.toMatchObject({ kind: 'tool', exitCode: 5 });
  });

  it('rejects helm 2 and helm older than 3.0.0', async () => {
    await expect(helm('helm2').version()).rejects.toMatchObject({ kind: 'tool' });
    await expect(helm('old').version()).rejects.toThrow(/too old/);
  });

  it('parses releases with numeric revisions', async () => {
    const r = await helm().release('aliyun-loongcollector-cluster-insight', 'cms-monitoring');
    expect(r).toMatchObject({ status: 'deployed', revision: 2, chart: 'loongcollector-cluster-insight-1.0.0' });
  });
});

describe('helm multi-line errors', () => {
  it('finds the cause inside "N errors occurred"', async () => {
    const script = join(dir, 'helm-multi');
    writeFileSync(script, `#!/usr/bin/env bash
echo 'Error: INSTALLATION FAILED: 1 error occurred:' >&2
printf '\\t* clusterroles.rbac.authorization.k8s.io is forbidden: User "dev" cannot create resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope\\n' >&2
exit 1
`);
    chmodSync(script, 0o755);
    await expect(new Helm({ binary: script }).run(['install'])).rejects.toMatchObject({
      kind: 'forbidden',
      message: 'forbidden: user dev cannot create clusterroles.rbac.authorization.k8s.io',
    });
  });
});

describe('helm 3 and helm 4: flags chosen by the version helm reports', () => {
  const as = (version: string) => new Helm({ binary: fake, env: { FAKE_HELM_MODE: '', FAKE_HELM_VERSION: version } });
  const argv = () => readFileSync(log, 'utf8').split('\n').filter((l) => /^(list|install|upgrade|rollback|uninstall) /.test(l));

  it('lists every state: -a/--all on helm 3, the six state flags on helm 4', async () => {
    writeFileSync(log, '');
    await as('v3.21.4').list('ns', 'rel');
    await as('v4.3.1').list('ns', 'rel');
    await as('v4.3.1').listAllNamespaces();
    const [h3, h4, h4all] = argv();
    expect(h3).toBe('list -n ns --all -o json --filter ^rel$');
    expect(h4).toBe('list -n ns --deployed --failed --pending --superseded --uninstalled --uninstalling -o json --filter ^rel$');
    expect(h4all).toBe('list --all-namespaces --deployed --failed --pending --superseded --uninstalled --uninstalling -o json');
  });

  it('uninstall waits with the watcher on helm 4, plain --wait on helm 3; deletion stays in the background', async () => {
    writeFileSync(log, '');
    for (const v of ['v3.6.3', 'v3.11.3', 'v3.21.4', 'v4.3.1']) await as(v).uninstall({ release: 'r', namespace: 'n', timeoutMs: 90_000 });
    expect(argv()).toEqual([
      'uninstall r -n n --timeout 90s', // no --wait before helm 3.7
      'uninstall r -n n --wait --timeout 90s',
      'uninstall r -n n --wait --timeout 90s',
      'uninstall r -n n --wait=watcher --timeout 90s',
    ]);
  });

  it('passes --force-conflicts only to helm 4 (helm 3 has no server-side apply to conflict)', async () => {
    writeFileSync(log, '');
    const up = { release: 'r', namespace: 'n', chart: { chart: './c' }, timeoutMs: 1000, values: {}, forceConflicts: true };
    await as('v3.21.4').upgrade(up);
    await as('v4.3.1').upgrade(up);
    await as('v4.3.1').rollback({ release: 'r', namespace: 'n', revision: 2, timeoutMs: 1000, forceConflicts: true });
    const [h3, h4, rb] = argv();
    expect(h3).not.toContain('--force-conflicts');
    expect(h4).toBe('upgrade r ./c --namespace n --timeout 1s --force-conflicts --values -');
    expect(rb).toBe('rollback r 2 --namespace n --timeout 1s --force-conflicts');
  });

  it('never asks helm to take ownership, on either major', async () => {
    writeFileSync(log, '');
    for (const v of ['v3.21.4', 'v4.3.1']) await as(v).install({ release: 'r', namespace: 'n', chart: { chart: './c' }, timeoutMs: 1000, values: {}, replace: true, skipCrds: true });
    for (const l of argv()) {
      expect(l).toBe('install r ./c --namespace n --create-namespace --timeout 1s --replace --skip-crds --values -');
      expect(l).not.toMatch(/take-ownership|force-conflicts|--atomic|rollback-on-failure|--wait/);
    }
  });

  it('builds the chart part of every command from the chart source, and returns parsed results', async () => {
    writeFileSync(log, '');
    const h = as('v4.3.1');
    expect(await h.template({ release: 'r', namespace: 'n', chart: { repoUrl: 'https://mirror', version: '1.1.0' }, values: {}, kubeVersion: 'v1.31.0' })).toEqual({ manifests: 'ok', docs: [] });
    expect(await h.showChart({ chart: 'oci://r/c', version: '2' })).toEqual({}); // 'ok' is no Chart.yaml
    expect(await h.getManifest('r', 'n', 3)).toEqual([]);
    expect(await h.release('aliyun-loongcollector-cluster-insight', 'n')).toMatchObject({ revision: 2 });
    const lines = readFileSync(log, 'utf8').split('\n').filter((l) => /^(template|show|get|list) /.test(l));
    expect(lines).toEqual([
      'template r loongcollector-cluster-insight --repo https://mirror --version 1.1.0 --namespace n --include-crds --kube-version v1.31.0 --values -',
      'show chart oci://r/c --version 2',
      'get manifest r --namespace n --revision 3',
      'list -n n --deployed --failed --pending --superseded --uninstalled --uninstalling -o json --filter ^aliyun-loongcollector-cluster-insight$',
    ]);
  });

  it('reads the version once per Helm', async () => {
    writeFileSync(log, '');
    const h = as('v4.3.1');
    await Promise.all([h.list('a'), h.list('b'), h.version()]);
    expect(readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('version ')).length).toBe(1);
  });

  it('knows what each major does', () => {
    expect(helmFeatures('v3.0.0')).toMatchObject({ major: 3, serverSideApply: false, listAllStates: ['--all'], securitySupportEnds: '2027-02-10' });
    expect(helmFeatures('v4.0.0')).toMatchObject({ major: 4, serverSideApply: true, uninstallWait: ['--wait=watcher'] });
    expect(helmFeatures('v4.0.0').securitySupportEnds).toBeUndefined();
  });
});

describe('helm error texts of both majors', () => {
  const fail = (stderr: string) => classifyHelmError({ stderr, exitCode: 1, shortMessage: 'x' } as unknown as ExecaError, 'helm', 'install');
  it('"cannot re-use" (helm 3) and "cannot reuse" (helm 4) are the same conflict', () => {
    expect(fail('Error: INSTALLATION FAILED: cannot re-use a name that is still in use')).toMatchObject({ kind: 'conflict', message: 'a helm release with this name already exists' });
    expect(fail('Error: INSTALLATION FAILED: cannot reuse a name that is still in use')).toMatchObject({ kind: 'conflict', message: 'a helm release with this name already exists' });
  });
  it('"kubernetes cluster unreachable" in either case', () => {
    expect(fail('Error: kubernetes cluster unreachable: Get "https://127.0.0.1:1/version": dial tcp 127.0.0.1:1: connect: connection refused')).toMatchObject({ kind: 'unreachable', exitCode: 3 });
  });
  it('a server-side apply conflict names the object, the manager and the field', () => {
    const e = fail('Error: UPGRADE FAILED: conflict occurred while applying object cms-monitoring/kube-state-metrics apps/v1, Kind=Deployment: Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas');
    expect(e).toMatchObject({ kind: 'conflict' });
    expect(e.message).toBe('Deployment cms-monitoring/kube-state-metrics: field manager "kubectl-edit" owns field .spec.replicas, and helm\'s server-side apply would change it');
    expect(e.hint).toContain('--force-conflicts');
    // As helm 4.3.1 printed it on the local cluster after `kubectl scale`.
    const scaled = fail('Error: UPGRADE FAILED: conflict occurred while applying object cms-monitoring/cms-kube-state-metrics apps/v1, Kind=Deployment: Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas');
    expect(scaled.message).toBe('Deployment cms-monitoring/cms-kube-state-metrics: field manager "kubectl" (through the scale subresource) owns field .spec.replicas, and helm\'s server-side apply would change it');
  });
  it('an object owned by another release is named with its owner, and never taken over', () => {
    const e = fail('Error: INSTALLATION FAILED: Unable to continue with install: ServiceMonitor "node-exporter" in namespace "cms-monitoring" exists and cannot be imported into the current release: invalid ownership metadata; annotation validation error: key "meta.helm.sh/release-name" must equal "aliyun-loongcollector-cluster-insight": current value is "kps"');
    expect(e).toMatchObject({ kind: 'conflict', message: 'ServiceMonitor cms-monitoring/node-exporter already exists and belongs to helm release kps' });
    expect(e.hint).toContain('never takes over');
  });
  it('"resource mapping not found" is a missing kind, not a missing release', () => {
    const e = fail('Error: UPGRADE FAILED: unable to build kubernetes objects from current release manifest: resource mapping not found for name: "node-exporter" namespace: "cms" from "": no matches for kind "ServiceMonitor" in version "monitoring.coreos.com/v1"\nensure CRDs are installed first');
    expect(e.kind).not.toBe('not-found');
    expect(e.message).toContain('ServiceMonitor (node-exporter)');
    expect(fail('Error: uninstall: Release not loaded: r: release: not found')).toMatchObject({ kind: 'not-found' });
    expect(fail('Error: release: not found')).toMatchObject({ kind: 'not-found' });
  });
  it('a pending operation and a release without a deployed revision', () => {
    expect(fail('Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress')).toMatchObject({ kind: 'conflict' });
    expect(fail('Error: UPGRADE FAILED: "r" has no deployed releases').hint).toContain('--replace');
  });
  it('helm list printing something other than JSON is a tool error, not a crash', async () => {
    const { parseList } = await import('../../../src/helm/helm.js');
    expect(() => parseList('WARNING: plugin x\n[]')).toThrow(expect.objectContaining({ kind: 'tool' }));
    expect(() => parseList('{}')).toThrow(expect.objectContaining({ kind: 'tool' }));
    expect(parseList('')).toEqual([]);
  });
});

describe('server-side apply conflicts', () => {
  it('reads one conflict with a subresource, and several per manager', async () => {
    const { parseApplyConflicts, describeConflict } = await import('../../../src/kube/apply.js');
    const one = parseApplyConflicts('Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas');
    expect(one).toEqual([{ manager: 'kubectl', subresource: 'scale', fields: ['.spec.replicas'] }]);
    expect(describeConflict({ object: 'Deployment ns/x', ...one[0]! })).toBe('Deployment ns/x: field manager "kubectl" (through the scale subresource) owns field .spec.replicas');
    const many = parseApplyConflicts('Apply failed with 3 conflicts: conflicts with "kubectl-edit" using apps/v1:\n- .spec.replicas\n- .spec.template.spec.containers[name="x"].image\nconflict with "flux" using apps/v1: .metadata.labels.a');
    expect(many).toEqual([
      { manager: 'kubectl-edit', fields: ['.spec.replicas', '.spec.template.spec.containers[name="x"].image'] },
      { manager: 'flux', fields: ['.metadata.labels.a'] },
    ]);
    expect(parseApplyConflicts('something else')).toEqual([]);
  });

  it('the dry run sends every object as helm would, changes nothing, and collects 409s', async () => {
    const { findApplyConflicts } = await import('../../../src/kube/apply.js');
    const calls: unknown[][] = [];
    const api = {
      patch: async (...a: unknown[]) => {
        calls.push(a);
        const o = a[0] as { metadata: { name: string } };
        if (o.metadata.name === 'b') throw Object.assign(new Error('conflict'), { code: 409, body: JSON.stringify({ message: 'Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.x' }) });
        return o;
      },
    };
    const objs = [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'n' } }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b', namespace: 'n' } }];
    const found = await findApplyConflicts(api as never, objs);
    expect(found).toEqual([{ object: 'ConfigMap n/b', manager: 'kubectl-edit', fields: ['.data.x'] }]);
    // dryRun=All, manager helm, no force, server-side apply content type: for every object.
    for (const c of calls) expect(c.slice(2, 6)).toEqual(['All', 'helm', false, 'application/apply-patch+yaml']);
    expect(calls).toHaveLength(2);
  });

  it('any other API error is a domain error, not a conflict', async () => {
    const { findApplyConflicts } = await import('../../../src/kube/apply.js');
    const api = { patch: async () => Promise.reject(Object.assign(new Error('forbidden'), { code: 403, body: { message: 'forbidden' } })) };
    await expect(findApplyConflicts(api as never, [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'n' } }])).rejects.toMatchObject({ kind: 'forbidden' });
  });
});
