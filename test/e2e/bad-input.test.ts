// The bad-input table across every command, against a cluster where the release is installed (so upgrade,
// uninstall and doctor have something they could break). Each case: the documented exit code, exactly one
// `Error:` line and one `Hint:` line, no stack trace, the canary secret never printed, and the cluster
// exactly as before (releases, namespaces, CRDs, cluster RBAC, CRs, the release's objects).
// install-bad-input.test.ts and test/unit/plumbing/cli-errors.test.ts hold more cases of the same kind.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartTgz, cleanup, cli, cluster, helmLabel, requiredValues, snapshotText, writeValues } from './support/index.js';

const NS = 'e2e-bad-table';
const RELEASE = 'insight-e2e-table';
const CLUSTER_ID = 'e2e-table-1';
const CANARY = 'TableCanarySecret0123456789abcdef';

interface Case {
  args: () => string[];
  code: number;
  message: RegExp;
  env?: Record<string, string | undefined>;
  input?: string;
  /** A check command that could run no check: the error is the failed check's line of the report. */
  report?: boolean;
}

let work: string;
let chart: string;
let values: string;
const kc: Record<string, string> = {};
let before: string;

function kubeconfigWith(name: string, clusterPatch: Record<string, unknown>, userPatch: Record<string, unknown> = {}): string {
  const doc = parse(readFileSync(cluster().kubeconfig, 'utf8'));
  Object.assign(doc.clusters[0].cluster, clusterPatch);
  for (const [k, v] of Object.entries(userPatch)) {
    if (v === undefined) delete doc.users[0].user[k];
    else doc.users[0].user[k] = v;
  }
  const d = join(work, name);
  mkdirSync(d, { recursive: true });
  const file = join(d, 'config');
  writeFileSync(file, JSON.stringify(doc), { mode: 0o600 });
  return file;
}

const common = () => ['--release', RELEASE, '-n', NS];
const up = (...a: string[]) => () => ['upgrade', ...common(), '--chart', chart, ...a];
const un = (...a: string[]) => () => ['uninstall', ...common(), '--yes', ...a];
const pf = (...a: string[]) => () => ['preflight', ...common(), '--only', 'cluster.api', ...a];
const dr = (...a: string[]) => () => ['doctor', ...common(), ...a];
const ins = (...a: string[]) => () => ['install', '--no-verify', '--release', 'insight-e2e-table-new', '-n', `${NS}-new`, '--chart', chart, '-f', values, '--skip-preflight', ...a];
const withKc = (name: string, build: (...a: string[]) => () => string[]) => () => build('--kubeconfig', kc[name]!)();

const cases: Record<string, Case> = {
  // --- upgrade, on the installed release ---
  'upgrade --timeout without a unit': { args: up('--timeout', '90'), code: 2, message: /^Error: --timeout 90: a duration needs a unit$/ },
  'upgrade --timeout 0s': { args: up('--timeout', '0s'), code: 2, message: /^Error: --timeout 0s is too short$/ },
  'upgrade --timeout 25h': { args: up('--timeout', '25h'), code: 2, message: /^Error: --timeout 25h is too long$/ },
  'upgrade --set syntax': { args: up('--set', 'a[=1'), code: 2, message: /^Error: cannot parse --set a\[=1: missing \]$/ },
  'upgrade --set a key nesting 500 levels': { args: up('--set', `${Array(500).fill('k').join('.')}=1`), code: 2, message: /^Error: cannot parse --set k\.k\.k.*…: the key nests deeper than 100 levels$/ },
  'upgrade --set the secret': { args: up('--set', `accessKeySecret=${CANARY}`), code: 2, message: /^Error: the AccessKey secret is not accepted on the command line/ },
  'upgrade --access-key-secret': { args: up('--access-key-secret', CANARY), code: 2, message: /^Error: the AccessKey secret is not accepted on the command line \(--access-key-secret\)$/ },
  'upgrade -f missing file': { args: up('-f', '/nonexistent/v.yaml'), code: 2, message: /^Error: values file \/nonexistent\/v\.yaml cannot be read \(ENOENT\)$/ },
  'upgrade -f a directory': { args: () => up('-f', work)(), code: 2, message: /^Error: values file .* is not a regular file$/ },
  'upgrade -f /dev/zero': { args: up('-f', '/dev/zero'), code: 2, message: /^Error: values file \/dev\/zero is not a regular file$/ },
  'upgrade -f a file over 1 MiB': { args: () => up('-f', join(work, 'big.yaml'))(), code: 2, message: /^Error: values file .*big\.yaml is larger than 1 MiB$/ },
  'upgrade -f not YAML': { args: () => up('-f', join(work, 'bad.yaml'))(), code: 2, message: /^Error: values file .*bad\.yaml is not valid YAML/ },
  'upgrade -f clusterID of the wrong type': { args: () => up('-f', join(work, 'types.yaml'))(), code: 2, message: /^Error: .*clusterID/ },
  'upgrade -f the secret as a list': { args: () => up('-f', join(work, 'secret-list.yaml'))(), code: 2, message: /^Error: .*accessKeySecret/ },
  'upgrade --release not a release name': { args: () => ['upgrade', '--release', 'Bad_Name', '-n', NS, '--chart', chart], code: 2, message: /^Error: --release "Bad_Name" is not a helm release name$/ },
  'upgrade -n not a namespace name': { args: () => ['upgrade', '--release', RELEASE, '-n', 'Bad.NS', '--chart', chart], code: 2, message: /^Error: --namespace "Bad\.NS" is not a namespace name$/ },
  'upgrade --chart missing': { args: () => ['upgrade', ...common(), '--chart', '/nonexistent/chart.tgz'], code: 2, message: /^Error: chart not found: \/nonexistent\/chart\.tgz does not exist$/ },
  'upgrade --region typo': { args: up('--region', 'cn-hangzohu'), code: 2, message: /^Error: unknown region "cn-hangzohu"/ },
  'upgrade --cluster-id against the rules': { args: up('--cluster-id', 'Prod_Cluster'), code: 2, message: /^Error: clusterID "Prod_Cluster" must be/ },
  'upgrade --image-registry a URL': { args: up('--image-registry', 'https://mirror.example.com'), code: 2, message: /^Error: --image-registry \(value not shown\) is not a registry host$/ },
  'upgrade --version with a local chart': { args: up('--version', '1.1.0'), code: 2, message: /^Error: --version cannot be used with a local chart/ },
  'upgrade --kubeconfig missing': { args: up('--kubeconfig', '/nonexistent/kubeconfig'), code: 2, message: /^Error: kubeconfig file \/nonexistent\/kubeconfig does not exist$/ },
  'upgrade --context missing': { args: up('--context', 'no-such-context'), code: 2, message: /^Error: context "no-such-context" not found in kubeconfig$/ },
  'upgrade --helm-binary missing': { args: up('--helm-binary', '/nonexistent/helm'), code: 5, message: /^Error: helm not found \(\/nonexistent\/helm\)$/ },
  'upgrade with helm printing non-JSON': { args: () => up('--helm-binary', join(work, 'helm-junk'))(), code: 5, message: /^Error: helm list printed something other than JSON/ },
  'upgrade --bogus': { args: up('--bogus'), code: 2, message: /^Error: unknown flag --bogus$/ },
  'upgrade with a stray argument': { args: up('extra'), code: 2, message: /^Error: (kubectl insight upgrade: )?unexpected argument \(its value is not shown\)$/ },
  'upgrade -o yaml': { args: up('-o', 'yaml'), code: 2, message: /^Error: --output must be one of: text, json$/ },
  'upgrade --net vpc': { args: up('--net', 'vpc'), code: 2, message: /^Error: --net must be one of: Internet, Intranet$/ },
  'upgrade with the API server unreachable': { args: withKc('closed', up), code: 3, message: /^Error: cannot reach the API server at https:\/\/127\.0\.0\.1:1/ },
  // --- uninstall ---
  'uninstall --timeout without a unit': { args: un('--timeout', '3'), code: 2, message: /^Error: --timeout 3: a duration needs a unit$/ },
  'uninstall --timeout 0s': { args: un('--timeout', '0s'), code: 2, message: /^Error: --timeout 0s is too short$/ },
  'uninstall --timeout 1000h': { args: un('--timeout', '1000h'), code: 2, message: /^Error: --timeout 1000h is too long$/ },
  'uninstall --timeout 1x': { args: un('--timeout', '1x'), code: 2, message: /^Error: --timeout "1x" is not a duration$/ },
  'uninstall --release not a release name': { args: () => ['uninstall', '--release=-bad', '-n', NS, '--yes'], code: 2, message: /^Error: --release "-bad" is not a helm release name$/ },
  'uninstall -n with a slash': { args: () => ['uninstall', '--release', RELEASE, '-n', 'a/b', '--yes'], code: 2, message: /^Error: --namespace "a\/b" is not a namespace name$/ },
  'uninstall --cluster-id with a slash': { args: un('--cluster-id', 'Not/An/Id'), code: 2, message: /^Error: --cluster-id "Not\/An\/Id" is not a cluster ID$/ },
  'uninstall --cluster-id the canary': { args: un('--cluster-id', CANARY), code: 2, message: /^Error: --cluster-id \(value not shown\) is not a cluster ID$/ },
  'uninstall --bogus': { args: un('--bogus'), code: 2, message: /^Error: unknown flag --bogus$/ },
  'uninstall with a stray argument': { args: un(CANARY), code: 2, message: /^Error: (kubectl insight uninstall: )?unexpected argument \(its value is not shown\)$/ },
  'uninstall --access-key-secret': { args: un('--access-key-secret', CANARY), code: 2, message: /^Error: the AccessKey secret is not accepted on the command line/ },
  'uninstall -o xml': { args: un('-o', 'xml'), code: 2, message: /^Error: --output must be one of: text, json$/ },
  'uninstall --kubeconfig missing': { args: un('--kubeconfig', '/nonexistent/kubeconfig'), code: 2, message: /^Error: kubeconfig file \/nonexistent\/kubeconfig does not exist$/ },
  'uninstall --context missing': { args: un('--context', 'no-such-context'), code: 2, message: /^Error: context "no-such-context" not found in kubeconfig$/ },
  'uninstall --helm-binary missing': { args: un('--helm-binary', '/nonexistent/helm'), code: 5, message: /^Error: helm not found \(\/nonexistent\/helm\)$/ },
  'uninstall with helm printing non-JSON': { args: () => un('--helm-binary', join(work, 'helm-junk'))(), code: 5, message: /^Error: helm list printed something other than JSON/ },
  'uninstall with the API server unreachable': { args: withKc('closed', un), code: 3, message: /^Error: .*(cannot reach|unreachable)/ },
  'uninstall without --yes and without a terminal': { args: () => ['uninstall', ...common()], code: 6, message: /^Error: uninstall needs confirmation/ },
  // --- preflight ---
  'preflight --sample 0': { args: pf('--sample', '0'), code: 2, message: /^Error: --sample: Expected an integer greater than or equal to 1 but received: "0"$/ },
  'preflight --sample x': { args: pf('--sample', 'x'), code: 2, message: /^Error: --sample: Expected an integer but received: "x"$/ },
  'preflight --net vpc': { args: pf('--net', 'vpc'), code: 2, message: /^Error: --net must be one of: Internet, Intranet$/ },
  'preflight --fail-on never': { args: pf('--fail-on', 'never'), code: 2, message: /^Error: --fail-on must be one of: fatal, warning$/ },
  'preflight --only typo': { args: () => ['preflight', ...common(), '--only', 'clster'], code: 2, message: /^Error: --only "clster" matches no check$/ },
  'preflight --probe-image not an image': { args: pf('--probe-image', 'UPPER CASE'), code: 2, message: /^Error: --probe-image "UPPER CASE" is not an image reference$/ },
  'preflight --probe-namespace not a name': { args: pf('--probe-namespace', 'Bad_NS'), code: 2, message: /^Error: --probe-namespace "Bad_NS" is not a namespace name$/ },
  'preflight --timeout 5': { args: pf('--timeout', '5'), code: 2, message: /^Error: --timeout 5: a duration needs a unit$/ },
  'preflight --access-key-secret': { args: pf(`--access-key-secret=${CANARY}`), code: 2, message: /^Error: the AccessKey secret is not accepted on the command line/ },
  'preflight -f not YAML': { args: () => pf('-f', join(work, 'bad.yaml'))(), code: 2, message: /^Error: values file .*bad\.yaml is not valid YAML/ },
  'preflight a secret without a key id': { args: pf('--access-key-secret-stdin'), input: CANARY, code: 2, message: /^Error: an AccessKey secret was given without --access-key-id$/ },
  'preflight: kubeconfig server not a URL': { args: withKc('not-url', pf), code: 2, message: /^Error: kubeconfig cluster ".*" has a server that is not a URL$/ },
  'preflight: kubeconfig server ftp://': { args: withKc('ftp', pf), code: 2, message: /^Error: kubeconfig cluster ".*" has a server with scheme ftp/ },
  'preflight: kubeconfig CA file missing': { args: withKc('no-ca', pf), code: 2, message: /^Error: kubeconfig cluster ".*": certificate-authority file .*missing-ca\.crt does not exist$/ },
  'preflight: kubeconfig client-key file missing': { args: withKc('no-key', pf), code: 2, message: /^Error: kubeconfig user ".*": client-key file .*missing\.key does not exist$/ },
  'preflight: kubeconfig tokenFile missing': { args: withKc('no-token-file', pf), code: 2, message: /^Error: kubeconfig user ".*": tokenFile file .*missing\.token does not exist$/ },
  'preflight: kubeconfig proxy-url ftp://': { args: withKc('ftp-proxy', pf), code: 2, message: /^Error: the proxy for kubeconfig cluster ".*" is not an http, https or socks5 URL$/ },
  'preflight: HTTPS_PROXY not a URL scheme we speak': { args: withKc('env-proxy', pf), env: { HTTPS_PROXY: 'ftp://127.0.0.1:1' }, code: 2, message: /^Error: the proxy for kubeconfig cluster ".*" is not an http, https or socks5 URL$/ },
  'preflight: kubeconfig as-groups not a list': { args: withKc('bad-groups', pf), code: 2, message: /^Error: kubeconfig user ".*": as-groups, as-uid or as-user-extra has the wrong type$/ },
  'preflight: exec plugin missing': { args: withKc('exec-missing', pf), report: true, code: 3, message: /^Error: exec credential plugin .*no-such-plugin does not exist$/ },
  'preflight: exec plugin not on PATH': { args: withKc('exec-not-on-path', pf), report: true, code: 3, message: /^Error: exec credential plugin kubectl-insight-no-such-login was not found$/ },
  'preflight: exec plugin fails': { args: withKc('exec-fails', pf), report: true, code: 3, message: /^Error: exec credential plugin .*login failed \(exit 3\); its own message is above$/ },
  'preflight: exec plugin prints no JSON': { args: withKc('exec-junk', pf), report: true, code: 3, message: /^Error: exec credential plugin .*junk printed no valid ExecCredential: its output is not JSON$/ },
  'preflight: exec plugin of the wrong apiVersion': { args: withKc('exec-version', pf), code: 2, message: /^Error: kubeconfig user ".*": exec apiVersion "client\.authentication\.k8s\.io\/v1alpha1" is not/ },
  'preflight: an http:// server that is closed': { args: withKc('http-closed', pf), report: true, code: 3, message: /^Error: cannot reach the API server at http:\/\/127\.0\.0\.1:1/ },
  'preflight with the API server unreachable': { args: withKc('closed', pf), report: true, code: 3, message: /^Error: cannot reach the API server at https:\/\/127\.0\.0\.1:1/ },
  // --- doctor ---
  'doctor --probe-timeout without a unit': { args: dr('--probe-timeout', '3'), code: 2, message: /^Error: --probe-timeout 3: a duration needs a unit$/ },
  'doctor --watch-timeout 0s': { args: dr('--watch-timeout', '0s'), code: 2, message: /^Error: --watch-timeout 0s is too short$/ },
  'doctor --watch-interval 2d': { args: dr('--watch-interval', '2d'), code: 2, message: /^Error: --watch-interval "2d" is not a duration$/ },
  'doctor --concurrency 0': { args: dr('--concurrency', '0'), code: 2, message: /^Error: --concurrency: Expected an integer greater than or equal to 1 but received: "0"$/ },
  'doctor --concurrency 100000': { args: dr('--concurrency', '100000'), code: 2, message: /^Error: --concurrency: Expected an integer less than or equal to 512 but received: "100000"$/ },
  'doctor --log-lines x': { args: dr('--log-lines', 'x'), code: 2, message: /^Error: --log-lines: Expected an integer but received: "x"$/ },
  'doctor --kubelet-nodes -1': { args: dr('--kubelet-nodes=-1'), code: 2, message: /^Error: --kubelet-nodes: Expected an integer greater than or equal to 1/ },
  'doctor --fail-on never': { args: dr('--fail-on', 'never'), code: 2, message: /^Error: --fail-on must be one of: fatal, warning$/ },
  'doctor --only typo': { args: dr('--only', 'scarpe'), code: 2, message: /^Error: --only "scarpe" matches no check$/ },
  'doctor -n not a name': { args: () => ['doctor', '-n', 'Team_Data'], code: 2, message: /^Error: --namespace "Team_Data" is not a namespace name$/ },
  'doctor --release not a name': { args: () => ['doctor', '--release', 'A'.repeat(70)], code: 2, message: /^Error: --release \(value not shown\) is not a helm release name$/ },
  'doctor --bogus': { args: dr('--bogus'), code: 2, message: /^Error: unknown flag --bogus$/ },
  'doctor with a stray argument': { args: dr(CANARY), code: 2, message: /^Error: (kubectl insight doctor: )?unexpected argument \(its value is not shown\)$/ },
  'doctor --access-key-secret': { args: dr('--access-key-secret', CANARY), code: 2, message: /^Error: the AccessKey secret is not accepted on the command line/ },
  'doctor --context missing': { args: dr('--context', 'no-such-context'), code: 2, message: /^Error: context "no-such-context" not found in kubeconfig$/ },
  'doctor --kubeconfig missing': { args: dr('--kubeconfig', '/nonexistent/kubeconfig'), code: 2, message: /^Error: kubeconfig file \/nonexistent\/kubeconfig does not exist$/ },
  'doctor: kubeconfig server not a URL': { args: withKc('not-url', dr), code: 2, message: /^Error: kubeconfig cluster ".*" has a server that is not a URL$/ },
  'doctor: exec plugin fails': { args: withKc('exec-fails', dr), code: 3, message: /^Error: exec credential plugin .*login failed \(exit 3\)/ },
  'doctor with the API server unreachable': { args: withKc('closed', dr), code: 3, message: /^Error: cannot reach the API server at https:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)$/ },
  // --- install (into a new namespace: nothing may appear) ---
  'install --set a key nesting 500 levels': { args: ins('--set', `${Array(500).fill('k').join('.')}=1`), env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: CANARY }, code: 2, message: /^Error: cannot parse --set k\.k.*…: the key nests deeper than 100 levels$/ },
  'install -f clusterID of the wrong type': { args: () => ins('-f', join(work, 'types.yaml'))(), env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: CANARY }, code: 2, message: /^Error: .*clusterID/ },
  'install -f the secret as a list': { args: () => ins('-f', join(work, 'secret-list.yaml'))(), code: 2, message: /^Error: .*accessKeySecret/ },
  'upgrade -f the secret behind a custom YAML tag (no library warning quotes it)': { args: () => up('-f', join(work, 'vault.yaml'))(), code: 2, message: /^Error: clusterID "Bad_ID" must be/ },
  'upgrade --chart of another name': { args: () => ['upgrade', ...common(), '--chart', join(work, 'other-chart')], code: 2, message: /^Error: --chart is chart other-app, not loongcollector-cluster-insight$/ },
  'install a second installation of the chart': { args: ins(), env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: CANARY }, code: 1, message: /^Error: the chart is already installed as release insight-e2e-table in namespace e2e-bad-table/ },
  'install --timeout without a unit': { args: ins('--timeout', '300'), env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: CANARY }, code: 2, message: /^Error: --timeout 300: a duration needs a unit$/ },
  'install -n not a name': { args: () => ['install', '--no-verify', '-n', 'UPPER', '--chart', chart, '-f', values], code: 2, message: /^Error: --namespace "UPPER" is not a namespace name$/ },
  'install --probe-image not an image': { args: ins('--probe-image', 'a b'), code: 2, message: /^Error: --probe-image "a b" is not an image reference$/ },
  'install -o yaml': { args: ins('-o', 'yaml'), code: 2, message: /^Error: --output must be one of: text, json$/ },
  'install: kubeconfig CA file missing': { args: withKc('no-ca', ins), env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: CANARY }, code: 2, message: /^Error: kubeconfig cluster ".*": certificate-authority file .*missing-ca\.crt does not exist$/ },
  'install: exec plugin prints no JSON': { args: withKc('exec-junk', ins), env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: CANARY }, code: 3, message: /^Error: exec credential plugin .*junk printed no valid ExecCredential/ },
  // --- version and the CLI itself ---
  'version --bogus': { args: () => ['version', '--bogus'], code: 2, message: /^Error: unknown flag --bogus$/ },
  'version with a stray argument': { args: () => ['version', CANARY], code: 2, message: /^Error: .*unexpected argument \(its value is not shown\)$/ },
  'an unknown command': { args: () => ['instal'], code: 2, message: /^Error: unknown command/ },
};

describe(`bad input to every command changes nothing (${helmLabel()})`, () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'insight-bad-table-'));
    chart = await chartTgz('1.0.0');
    values = writeValues(requiredValues(CLUSTER_ID));
    writeFileSync(join(work, 'bad.yaml'), 'region: cn-hangzhou\nclusterID: [unclosed\n');
    writeFileSync(join(work, 'big.yaml'), `# ${'x'.repeat(1100 * 1024)}\n`);
    writeFileSync(join(work, 'types.yaml'), 'clusterID: true\n');
    writeFileSync(join(work, 'secret-list.yaml'), `accessKeySecret: [${CANARY}]\n`);
    writeFileSync(join(work, 'vault.yaml'), `accessKeySecret: !vault ${CANARY}\nclusterID: Bad_ID\n`);
    mkdirSync(join(work, 'other-chart', 'templates'), { recursive: true });
    writeFileSync(join(work, 'other-chart', 'Chart.yaml'), 'apiVersion: v2\nname: other-app\nversion: 1.0.0\n');
    writeFileSync(join(work, 'other-chart', 'templates', 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other-app\n');
    const script = (name: string, body: string) => {
      const p = join(work, name);
      writeFileSync(p, `#!/bin/sh\n${body}\n`);
      chmodSync(p, 0o755);
      return p;
    };
    script('helm-junk', 'case "$1" in version) echo "v3.21.4+g0000000";; *) echo "this is not json";; esac');
    const exec = (command: string, apiVersion = 'client.authentication.k8s.io/v1') => ({ exec: { apiVersion, command, interactiveMode: 'Never' }, 'client-certificate-data': undefined, 'client-key-data': undefined });
    kc.closed = kubeconfigWith('closed', { server: 'https://127.0.0.1:1' });
    kc['http-closed'] = kubeconfigWith('http-closed', { server: 'http://127.0.0.1:1', 'certificate-authority-data': undefined });
    kc['not-url'] = kubeconfigWith('not-url', { server: 'kubernetes:6443 ' });
    kc.ftp = kubeconfigWith('ftp', { server: 'ftp://127.0.0.1:21' });
    kc['no-ca'] = kubeconfigWith('no-ca', { 'certificate-authority': 'missing-ca.crt', 'certificate-authority-data': undefined });
    kc['no-key'] = kubeconfigWith('no-key', {}, { 'client-key': 'missing.key', 'client-key-data': undefined });
    kc['no-token-file'] = kubeconfigWith('no-token-file', {}, { tokenFile: 'missing.token' });
    kc['ftp-proxy'] = kubeconfigWith('ftp-proxy', { 'proxy-url': 'ftp://127.0.0.1:1' });
    kc['env-proxy'] = kubeconfigWith('env-proxy', { server: 'https://kubernetes.default.svc:6443' });
    kc['bad-groups'] = kubeconfigWith('bad-groups', {}, { 'as-groups': 'admins' });
    kc['exec-missing'] = kubeconfigWith('exec-missing', {}, exec('./bin/no-such-plugin'));
    kc['exec-not-on-path'] = kubeconfigWith('exec-not-on-path', {}, exec('kubectl-insight-no-such-login'));
    kc['exec-fails'] = kubeconfigWith('exec-fails', {}, exec('./login'));
    script('exec-fails/login', 'echo "login: session expired" >&2; exit 3');
    kc['exec-junk'] = kubeconfigWith('exec-junk', {}, exec('./junk'));
    script('exec-junk/junk', 'echo "<html>please sign in</html>"');
    kc['exec-version'] = kubeconfigWith('exec-version', {}, exec('./junk', 'client.authentication.k8s.io/v1alpha1'));

    await cleanup(RELEASE, NS, CLUSTER_ID);
    const r = await cli(['install', '--no-verify', ...common(), '--chart', chart, '-f', values, '--timeout', '90s', '--skip-preflight'], { env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: CANARY } });
    expect(r.exitCode, r.stderr).toBe(0);
    before = await snapshotText([NS, `${NS}-new`]);
  }, 300_000);

  afterAll(async () => {
    await cleanup(RELEASE, NS, CLUSTER_ID);
  });

  it('has at least 100 cases with the CLI and install tables', () => {
    // This table, install-bad-input.test.ts (26) and the built-CLI table in cli-errors.test.ts (28).
    expect(Object.keys(cases).length).toBeGreaterThanOrEqual(100 - 26 - 28);
  });

  // The cases only read (that is what they prove), so they run a few at a time.
  for (const [name, c] of Object.entries(cases)) {
    it.concurrent(`${name}: exit ${c.code}, one error, one hint, nothing changed`, async ({ expect }) => {
      const env = { ALIBABA_CLOUD_ACCESS_KEY_SECRET: undefined, ALIBABA_CLOUD_ACCESS_KEY_ID: undefined, ...c.env };
      const r = await cli(c.args(), { env, ...(c.input !== undefined ? { input: c.input } : {}) });
      expect(r.exitCode, `${r.stderr}\n${r.stdout}`).toBe(c.code);
      if (c.report) {
        // The report's one failed line carries the error, its hint line follows.
        const lines = r.stdout.split('\n');
        const failed = lines.findIndex((l) => l.startsWith('✖'));
        expect(lines.filter((l) => l.startsWith('✖')), r.stdout).toHaveLength(1);
        expect(lines[failed]!.replace(/^✖ (check could not run: )?/, 'Error: ')).toMatch(c.message);
        expect(lines[failed + 1], r.stdout).toMatch(/^\s+hint: \S/);
      } else {
        const errors = r.stderr.split('\n').filter((l) => l.startsWith('Error:'));
        expect(errors, r.stderr).toHaveLength(1);
        expect(errors[0]).toMatch(c.message);
        expect(r.stderr.split('\n').filter((l) => l.startsWith('Hint:')), r.stderr).toHaveLength(1);
      }
      expect(r.stdout + r.stderr).not.toMatch(/Internal error|\n\s+at \S+ \(/);
      expect(r.stdout + r.stderr).not.toContain(CANARY);
      expect(await snapshotText([NS, `${NS}-new`])).toBe(before);
    });
  }
});
