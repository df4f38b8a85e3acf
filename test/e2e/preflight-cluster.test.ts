// preflight's cluster, RBAC and conflict checks end to end on the local control plane, through the
// built CLI: the JSON report, a user with limited RBAC, a pod holding hostPort 19100, "another
// team's" kube-prometheus-stack, and an old cluster (a loopback proxy in front of the API server that
// rewrites /version and shifts the Date header).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cli, cluster, ensureCrds, helm, installKps, kubectl, kubectlJson, nodeNames, parseJson, presentCrds, SHARED_CRDS, waitFor,
} from './support/index.js';

// Fresh names per run: a namespace from a previous run may still be terminating.
const RUN = Date.now().toString(36);
const NS = `insight-e2e-preflight-${RUN}`;
const KPS_NS = `insight-e2e-preflight-kps-${RUN}`;

interface JsonReport {
  command: string;
  exitCode: number;
  summary: Record<string, number>;
  results: { id: string; status: string; severity: string; message: string; hint: string | null; vantage: string; evidence?: string[] }[];
}

let dir: string;
beforeAll(async () => {
  cluster();
  dir = mkdtempSync(join(tmpdir(), 'insight-e2e-preflight-'));
  await kubectl(['create', 'namespace', NS]);
});
afterAll(async () => {
  await kubectl(['delete', 'namespace', NS, '--wait=true', '--timeout=90s', '--ignore-not-found'], { allowFail: true });
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const preflight = async (args: string[], opts: { kubeconfig?: string } = {}) => {
  const r = await cli(['preflight', '-n', NS, '-o', 'json', ...args], opts);
  return { r, report: parseJson<JsonReport>(r) };
};

describe('preflight on the local control plane', () => {
  it('JSON: every check with id, status, severity, message, hint and vantage; exit code matches the fatal failures', async () => {
    const { r, report } = await preflight(['--only', 'cluster.', '--only', 'rbac.', '--only', 'conflicts.']);
    expect(report.command).toBe('preflight');
    const ids = report.results.map((x) => x.id);
    for (const id of ['cluster.api', 'cluster.version', 'cluster.helm', 'cluster.clock-skew', 'rbac.install', 'rbac.uninstall', 'conflicts.hostport-19100', 'conflicts.hostport-9445', 'conflicts.node-exporter', 'conflicts.kube-state-metrics', 'conflicts.arms-prom', 'conflicts.kube-prometheus-stack', 'conflicts.prometheus-crds', 'conflicts.release', 'conflicts.dcgm', 'conflicts.taints']) {
      expect(ids).toContain(id);
    }
    for (const x of report.results) {
      expect(Object.keys(x)).toEqual(expect.arrayContaining(['id', 'status', 'severity', 'message', 'hint', 'vantage']));
    }
    for (const id of ['cluster.api', 'cluster.version', 'cluster.helm', 'rbac.install']) expect(report.results.find((x) => x.id === id)!.status).toBe('passed');
    const fatal = report.results.some((x) => x.status === 'failed' && x.severity === 'fatal');
    expect(r.exitCode).toBe(fatal ? 1 : 0);
    expect(report.exitCode).toBe(r.exitCode);
  }, 120_000);

  it('a user with limited RBAC: rbac.install lists exactly what is missing, exit 1', async () => {
    const sa = 'pf-limited';
    await kubectl(['create', 'serviceaccount', sa, '-n', NS], { allowFail: true });
    // Namespaced rights only: everything cluster-scoped (CRDs, ClusterRoles, webhooks, namespaces) is missing.
    await kubectl(['create', 'role', 'pf-limited', '-n', NS, '--verb=get,list,watch,create,patch,update,delete', '--resource=daemonsets.apps,deployments.apps,services,serviceaccounts,secrets,configmaps,pods,replicasets.apps,events,roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io,servicemonitors.monitoring.coreos.com'], { allowFail: true });
    await kubectl(['create', 'rolebinding', 'pf-limited', '-n', NS, '--role=pf-limited', `--serviceaccount=${NS}:${sa}`], { allowFail: true });
    const token = (await kubectl(['create', 'token', sa, '-n', NS, '--duration=10m'])).stdout.trim();
    const kc = new KubeConfig();
    kc.loadFromFile(cluster().kubeconfig);
    const c = kc.getCurrentCluster()!;
    const file = join(dir, 'limited.kubeconfig');
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: c.server, ...(c.caData ? { 'certificate-authority-data': c.caData } : {}), ...(c.caFile ? { 'certificate-authority': c.caFile } : {}) } }],
        users: [{ name: 'u', user: { token } }],
        contexts: [{ name: 'limited', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'limited',
      }),
      { mode: 0o600 },
    );
    const { r, report } = await preflight(['--only', 'cluster.api', '--only', 'rbac.'], { kubeconfig: file });
    expect(r.exitCode).toBe(1);
    expect(report.results.find((x) => x.id === 'cluster.api')!).toMatchObject({ status: 'passed', message: expect.stringContaining(`authenticated as system:serviceaccount:${NS}:${sa}`) });
    const install = report.results.find((x) => x.id === 'rbac.install')!;
    expect(install).toMatchObject({ status: 'failed', severity: 'fatal' });
    const missing = install.evidence!.map((e) => e.replace(/^missing: /, '').replace(/ \(.*\)$/, ''));
    expect(missing).toContain('create customresourcedefinitions.apiextensions.k8s.io');
    expect(missing).toContain('create clusterroles.rbac.authorization.k8s.io');
    expect(missing).toContain('create namespaces');
    expect(missing).toContain('create clusteraliyunpipelineconfigs.telemetry.alibabacloud.com');
    expect(missing.some((m) => m.includes('daemonsets'))).toBe(false); // granted by the Role
    expect(install.hint).toContain('kind: ClusterRole');
  }, 120_000);

  it('a pod holding hostPort 19100 is named with its node', async () => {
    const nodes = await nodeNames();
    const target = nodes[nodes.length - 1]!;
    await kubectl(['apply', '-n', NS, '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'hostport-holder' },
        spec: { nodeSelector: { 'kubernetes.io/hostname': target }, tolerations: [{ operator: 'Exists' }], containers: [{ name: 'ne', image: 'quay.io/prometheus/node-exporter:v1.9.1', ports: [{ containerPort: 19100, hostPort: 19100 }] }] },
      }),
    });
    await waitFor('hostport pod running', async () => (await kubectlJson<{ status?: { phase?: string } }>(['get', 'pod', 'hostport-holder', '-n', NS])).status?.phase === 'Running');
    try {
      const { r, report } = await preflight(['--only', 'conflicts.hostport-19100']);
      const f = report.results.find((x) => x.id === 'conflicts.hostport-19100')!;
      expect(f).toMatchObject({ status: 'failed', severity: 'fatal' });
      expect(f.evidence).toContain(`node/${target}: pod ${NS}/hostport-holder (container ne)`);
      expect(f.message).toContain(target);
      expect(r.exitCode).toBe(1);
    } finally {
      await kubectl(['delete', 'pod', 'hostport-holder', '-n', NS, '--grace-period=0', '--force', '--ignore-not-found'], { allowFail: true });
    }
  }, 120_000);

  it('another team\'s kube-prometheus-stack: what doubles up, what to disable, who owns the shared CRDs', async () => {
    const crdsBefore = await presentCrds();
    await ensureCrds();
    await installKps('kps', KPS_NS);
    try {
      const { r, report } = await preflight(['--only', 'conflicts.']);
      const kps = report.results.find((x) => x.id === 'conflicts.kube-prometheus-stack')!;
      expect(kps).toMatchObject({ status: 'failed', severity: 'warning' });
      expect(kps.message).toContain(`${KPS_NS}/kps`);
      expect(kps.hint).toContain('--set nodeExporter.enabled=false');
      expect(kps.hint).toContain('--set kubeStateMetrics.enabled=false');
      expect(report.results.find((x) => x.id === 'conflicts.node-exporter')!.status).toBe('failed');
      expect(report.results.find((x) => x.id === 'conflicts.kube-state-metrics')!.status).toBe('failed');
      const crds = report.results.filter((x) => x.id === 'conflicts.prometheus-crds');
      const sm = crds.find((x) => x.message.startsWith('servicemonitors.monitoring.coreos.com'))!;
      expect(sm.status).toBe('passed');
      expect(sm.message).toContain('used by others');
      expect(sm.evidence!.join('\n')).toContain(`helm release ${KPS_NS}/kps`);
      // Warnings only: the gate passes unless --fail-on warning.
      expect(r.exitCode).toBe(report.results.some((x) => x.status === 'failed' && x.severity === 'fatal') ? 1 : 0);
      const strict = await cli(['preflight', '-n', NS, '-o', 'json', '--only', 'conflicts.kube-prometheus-stack', '--fail-on', 'warning']);
      expect(strict.exitCode).toBe(1);
    } finally {
      await helm(['uninstall', 'kps', '-n', KPS_NS, '--wait', '--timeout', '60s'], { allowFail: true });
      await kubectl(['delete', 'namespace', KPS_NS, '--wait=true', '--timeout=90s', '--ignore-not-found'], { allowFail: true });
      const added = SHARED_CRDS.filter((c) => !crdsBefore.includes(c));
      if (added.length) await kubectl(['delete', 'crd', ...added, '--ignore-not-found'], { allowFail: true });
    }
  }, 300_000);

  describe('an old cluster with a skewed clock (rewriting proxy in front of the API server)', () => {
    let proxy: Server;
    let kubeconfig: string;
    beforeAll(async () => {
      const kc = new KubeConfig();
      kc.loadFromFile(cluster().kubeconfig);
      const upstream = new URL(kc.getCurrentCluster()!.server);
      const tlsOpts: RequestOptions = {};
      await kc.applyToHTTPSOptions(tlsOpts);
      proxy = createServer((req, res) => {
        const up = httpsRequest({ ...tlsOpts, hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host } }, (ur) => {
          const chunks: Buffer[] = [];
          ur.on('data', (c: Buffer) => chunks.push(c));
          ur.on('end', () => {
            let body = Buffer.concat(chunks);
            const headers = { ...ur.headers };
            if (req.url?.split('?')[0] === '/version') {
              const v = JSON.parse(body.toString());
              body = Buffer.from(JSON.stringify({ ...v, major: '1', minor: '16', gitVersion: 'v1.16.15' }));
              // The API server's clock 20 minutes ahead of ours.
              headers.date = new Date(Date.now() + 20 * 60_000).toUTCString();
            }
            delete headers['content-length'];
            delete headers['transfer-encoding'];
            res.writeHead(ur.statusCode ?? 502, headers);
            res.end(body);
          });
        });
        up.on('error', () => res.writeHead(502).end());
        req.pipe(up);
      });
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
      kubeconfig = join(dir, 'old.kubeconfig');
      // Plain HTTP on loopback (the proxy holds the real credentials); client-node accepts http only with this flag.
      const port = (proxy.address() as AddressInfo).port;
      writeFileSync(kubeconfig, JSON.stringify({ apiVersion: 'v1', kind: 'Config', clusters: [{ name: 'old', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }], users: [{ name: 'u', user: {} }], contexts: [{ name: 'old', context: { cluster: 'old', user: 'u' } }], 'current-context': 'old' }), { mode: 0o600 });
    });
    afterAll(async () => {
      await new Promise((r) => proxy?.close(r));
    });

    it('cluster.version fails for 1.16, cluster.clock-skew is fatal beyond 15 minutes, exit 1', async () => {
      const { r, report } = await preflight(['--only', 'cluster.'], { kubeconfig });
      const version = report.results.find((x) => x.id === 'cluster.version')!;
      expect(version).toMatchObject({ status: 'failed', severity: 'fatal' });
      expect(version.message).toContain('v1.16.15 is too old');
      const skew = report.results.find((x) => x.id === 'cluster.clock-skew')!;
      expect(skew).toMatchObject({ status: 'failed', severity: 'fatal' });
      expect(skew.message).toMatch(/(19m5\ds|20m) behind the API server's/);
      expect(r.exitCode).toBe(1);
    }, 120_000);
  });
});
