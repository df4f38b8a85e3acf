import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Helm } from '../../../src/helm/helm.js';
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
    stat -c 'mode=%a' "$a" >> "${log}"
    cat "$a" >> "${log}"
    echo "$a" > "${dir}/values-path"
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
  version) echo "v3.21.4" ;;
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

  it('puts values (and the secret) only in a 0600 file that is gone afterwards', async () => {
    writeFileSync(log, '');
    const canary = `canary-${process.pid}-${Date.now()}-secret`;
    await helm().run(['install', 'r', 'chart'], { values: { accessKeySecret: new Secret(canary), region: 'cn-hangzhou' } });
    const recorded = readFileSync(log, 'utf8');
    const argvLine = recorded.split('\n')[0]!;
    expect(argvLine).not.toContain(canary);
    expect(argvLine).toMatch(/--values \S+values\.yaml/);
    expect(recorded).toContain('mode=600');
    expect(recorded).toContain(`accessKeySecret: ${canary}`);
    const path = readFileSync(join(dir, 'values-path'), 'utf8').trim();
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('kubectl-insight-') && existsSync(join(tmpdir(), f, 'values.yaml')))).toEqual([]);
  });

  it('refuses an argv that carries a known secret', async () => {
    const s = new Secret(`argv-canary-${Date.now()}`);
    writeFileSync(log, '');
    await expect(helm().run(['install', '--set', `accessKeySecret=${s.reveal()}`])).rejects.toThrow(/refused to pass a secret/);
    expect(readFileSync(log, 'utf8')).toBe('');
  });

  it('removes the values file when helm fails', async () => {
    await expect(helm('inuse').run(['install', 'r', 'c'], { values: { a: 1 } })).rejects.toMatchObject({ kind: 'conflict' });
    const path = readFileSync(join(dir, 'values-path'), 'utf8').trim();
    expect(existsSync(path)).toBe(false);
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
    const r = await helm().status('aliyun-loongcollector-cluster-insight', 'cms-monitoring');
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
