import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { doctorChecks } from '../../../src/checks/doctor/index.js';
import { exitCodeFor, runChecks, type CheckResult } from '../../../src/checks/engine.js';
import { judgeCr } from '../../../src/checks/doctor/cr.js';
import { WAIT_CAP_MS, type FixApi, type FixEnv } from '../../../src/checks/doctor/context.js';
import { eligibleNodes, tolerates } from '../../../src/checks/doctor/pods.js';
import { otherNodeExporters, dcgmAgents } from '../../../src/checks/doctor/coexistence.js';
import { kubeletHint } from '../../../src/checks/doctor/kubelet.js';
import { judgeScheme } from '../../../src/checks/doctor/scrape.js';
import { EXPORTERS } from '../../../src/checks/doctor/components.js';
import { judgeProbe } from '../../../src/checks/doctor/exporters.js';
import { FakeApi, NS, REL, ctxFor, healthy, healthyProbe, helmSecret, node, pod, sel, service, serviceMonitor, slice, type Obj, type ProbeFn } from './fake.js';

async function doctor(lists: Record<string, Obj[]>, probe: ProbeFn = healthyProbe, over = {}, namespaces?: string[]) {
  const api = new FakeApi(lists, probe, namespaces);
  const ctx = ctxFor(api, over);
  const report = await runChecks(doctorChecks, ctx, {}, { concurrency: 8 });
  return { report, ctx, api, failed: report.results.filter((r) => r.status === 'failed'), byId: (id: string) => report.results.filter((r) => r.id === id) };
}
const msgs = (rs: CheckResult[]) => rs.map((r) => r.message).join('\n');

/** A fix's environment over a fake API; the helm operations fail loudly if a test did not expect them. */
function fixEnv(api: FixApi): FixEnv {
  const no = async (): Promise<never> => {
    throw new Error('unexpected helm call');
  };
  return { api, now: () => new Date(), rollback: no, uninstall: no };
}

describe('doctor on a healthy installation', () => {
  it('reports nothing failed and exits 0, also with --fail-on warning', async () => {
    const { report, failed } = await doctor(healthy());
    expect(failed.map((f) => `${f.id}: ${f.message}`)).toEqual([]);
    expect(exitCodeFor(report, 'warning')).toBe(0);
    expect(report.results.find((r) => r.id === 'exporters.node-exporter')?.message).toMatch(/answers over http on 2 of 2 pods/);
  });

  it('lists each kind once, never per pod', async () => {
    const lists = healthy();
    const api = new FakeApi(lists, healthyProbe);
    const listed: string[] = [];
    const orig = api.list.bind(api);
    // Helm's records (by label) and the ConfigMap/Secret metadata (all) are two different lists.
    api.list = async (path: string, q?: { labelSelector?: string }) => {
      listed.push(`${path}?${q?.labelSelector ?? ''}`);
      return orig(path, q) as never;
    };
    await runChecks(doctorChecks, ctxFor(api), {}, {});
    const counts = listed.reduce<Record<string, number>>((a, p) => ({ ...a, [p]: (a[p] ?? 0) + 1 }), {});
    expect(Object.values(counts).every((n) => n === 1)).toBe(true);
  });

  it('judges from the watch cache, reads helm storage consistently, and reads everything consistently when fresh', async () => {
    const reads = async (over = {}) => {
      const api = new FakeApi(healthy(), healthyProbe);
      const seen: Array<{ path: string; labelSelector?: string; cached: boolean; trimmed: boolean }> = [];
      const orig = api.list.bind(api);
      api.list = async (path: string, q?: { labelSelector?: string; cached?: boolean }, o?: { project?: unknown }) => {
        seen.push({ path, ...(q?.labelSelector ? { labelSelector: q.labelSelector } : {}), cached: !!q?.cached, trimmed: !!o?.project });
        return orig(path, q) as never;
      };
      await runChecks(doctorChecks, ctxFor(api, over), {}, {});
      return seen;
    };
    const cached = await reads();
    // What a release state means is never judged from a stale copy: helm's records are read from etcd.
    const helm = cached.filter((s) => s.labelSelector?.includes('owner=helm'));
    expect(helm.length).toBeGreaterThan(0);
    expect(helm.every((s) => !s.cached)).toBe(true);
    for (const path of ['/api/v1/nodes', `/api/v1/namespaces/${NS}/pods`, `/apis/apps/v1/namespaces/${NS}/daemonsets`]) {
      expect(cached.find((s) => s.path === path), path).toMatchObject({ cached: true, trimmed: true });
    }
    expect((await reads({ fresh: true })).some((s) => s.cached)).toBe(false);
  });
});

describe('release', () => {
  it('names a half-upgraded release and the rollback command', async () => {
    const l = healthy();
    l[`/api/v1/namespaces/${NS}/secrets`] = [helmSecret({ status: 'pending-upgrade', revision: 3, manifest: [] })];
    const { byId, report } = await doctor(l);
    const r = byId('release.deployed')[0]!;
    expect(r.status).toBe('failed');
    expect(r.message).toMatch(/pending-upgrade/);
    expect(r.hint).toContain('helm rollback aliyun-loongcollector-cluster-insight 2 -n cms-monitoring');
    expect(exitCodeFor(report)).toBe(1);
  });

  it('warns when helm keeps the release (and the secret in its values) in a ConfigMap', async () => {
    const l = healthy();
    const sec = helmSecret({ manifest: [] });
    l[`/api/v1/namespaces/${NS}/secrets`] = [];
    // The configmap driver stores the same record, base64 of gzip once (no Secret data encoding).
    l[`/api/v1/namespaces/${NS}/configmaps`] = [{ metadata: sec.metadata, data: { release: Buffer.from(String((sec.data as { release: string }).release), 'base64').toString() } }];
    const { byId } = await doctor(l);
    const r = byId('release.storage')[0]!;
    expect(r).toMatchObject({ status: 'failed', severity: 'warning' });
    expect(r.message).toContain('ConfigMaps');
    expect(r.hint).toContain('rotate the AccessKey');
  });

  it('says the release is missing and skips the checks that need it', async () => {
    const l = healthy();
    l[`/api/v1/namespaces/${NS}/secrets`] = [];
    const { byId } = await doctor(l);
    expect(byId('release.present')[0]!.status).toBe('failed');
    expect(byId('release.deployed')[0]!.status).toBe('skipped');
  });

  it('names a workload of the manifest that was deleted', async () => {
    const l = healthy();
    l[`/apis/apps/v1/namespaces/${NS}/deployments`] = l[`/apis/apps/v1/namespaces/${NS}/deployments`]!.filter((d) => !d.metadata.name.includes('kube-state'));
    const { byId } = await doctor(l);
    expect(msgs(byId('release.workloads'))).toContain('Deployment cms-kube-state-metrics of the release does not exist');
  });
});

describe('pods', () => {
  it('groups many pods of one DaemonSet with the same cause into one finding', async () => {
    const l = healthy();
    const bad = (n: number) => pod(`ne-x${n}`, sel('node-exporter'), `n${n}`, [], { status: { phase: 'Pending', containerStatuses: [{ name: 'main', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off' } } }] } });
    l[`/api/v1/namespaces/${NS}/pods`]!.push(bad(3), bad(4), bad(5), bad(6));
    const { byId } = await doctor(l);
    const f = byId('pods.health').filter((r) => r.status === 'failed');
    expect(f).toHaveLength(1);
    expect(f[0]!.message).toMatch(/^4 pods of DaemonSet cms-node-exporter: container "main" cannot pull image/);
    expect(f[0]!.hint).toContain('--image-registry');
  });

  it('adds log lines with --logs', async () => {
    const l = healthy();
    l[`/api/v1/namespaces/${NS}/pods`]!.push(pod('ksm-2', sel('kube-state-metrics'), 'n2', [], { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }], containerStatuses: [{ name: 'main', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { reason: 'Error', exitCode: 1 } } }] } }));
    const { byId } = await doctor(l, healthyProbe, { logs: true });
    const f = byId('pods.health').find((r) => r.status === 'failed')!;
    expect(f.message).toContain('CrashLoopBackOff (4 restarts; last exit: Error, exit code 1)');
    expect(f.evidence!.join('\n')).toContain('| panic: boom');
  });

  it('finds eligible nodes a DaemonSet misses, and says which are NotReady', async () => {
    const l = healthy();
    l['/api/v1/nodes']!.push(node('n3', { ready: false }));
    const { byId } = await doctor(l);
    const f = byId('pods.daemonset-coverage').find((r) => r.status === 'failed')!;
    expect(f.message).toBe('DaemonSet cms-node-exporter has no pod on 1 of 3 eligible nodes');
    expect(f.evidence).toContain('of which NotReady: n3');
  });

  it('respects taints and tolerations when counting eligible nodes', () => {
    const tainted = node('gpu', { taints: [{ key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' }] });
    const ds = { spec: { template: { spec: { tolerations: [] } } } };
    expect(eligibleNodes(ds as never, [node('a') as never, tainted as never]).map((n) => n.metadata!.name)).toEqual(['a']);
    expect(tolerates([{ key: 'nvidia.com/gpu', operator: 'Exists' }], { key: 'nvidia.com/gpu', effect: 'NoSchedule' })).toBe(true);
    expect(tolerates([{ key: 'x', operator: 'Equal', value: 'b' }], { key: 'x', value: 'a', effect: 'NoSchedule' })).toBe(false);
  });
});

describe('exporters', () => {
  it('reports refused and timed-out nodes separately, with a hint for each', async () => {
    const probe: ProbeFn = (t, p) => ((t as { name: string }).name === 'ne-2' ? { outcome: 'timeout', detail: 'no answer within 3000 ms' } : healthyProbe(t, p));
    const l = healthy();
    l[`/api/v1/namespaces/${NS}/pods`]!.push(pod('ne-3', sel('node-exporter'), 'n3', [{ containerPort: 19100, hostPort: 19100 }]));
    l['/api/v1/nodes']!.push(node('n3'));
    const p2: ProbeFn = (t, p) => ((t as { name: string }).name === 'ne-3' ? { outcome: 'refused', detail: 'connect: connection refused' } : probe(t, p));
    const { byId } = await doctor(l, p2);
    const f = byId('exporters.node-exporter');
    expect(msgs(f)).toContain('node-exporter port 19100: timed out on 1 of 3 pods (node n2)');
    expect(msgs(f)).toContain('node-exporter port 19100: connection refused on 1 of 3 pods (node n3)');
    expect(f.find((r) => r.message.includes('timed out'))!.hint).toMatch(/firewall/);
  });

  it('validates the body of sampled pods', () => {
    const ne = EXPORTERS[0]!;
    const r = (body: string) => judgeProbe(ne, 'p', 'n', { speaks: 'http', tried: {}, best: { outcome: 'ok', body, ms: 1, url: '', detail: '' } }, true);
    expect(r(NE_OK).kind).toBe('ok');
    expect(r('node_cpu_seconds_total{cpu="0"} x\n').kind).toBe('invalid');
    expect(r('node_load1 1\n')).toMatchObject({ kind: 'families', severity: 'warning' });
    expect(r('<html>hi</html>').kind).toBe('invalid');
  });

  it('treats 401 behind kube-rbac-proxy as reachable but unverified (info)', () => {
    const v = judgeProbe(EXPORTERS[0]!, 'p', 'n', { speaks: 'https', tried: {}, best: { outcome: 'unauthorized', status: 401, ms: 1, url: '', detail: 'HTTP 401' } }, true);
    expect(v).toMatchObject({ kind: 'auth', severity: 'info', scheme: 'https' });
  });
});
const NE_OK = 'node_cpu_seconds_total{cpu="0"} 1\nnode_memory_MemAvailable_bytes 1\n';

describe('scrape chain', () => {
  it('names scheme http against an endpoint that speaks https (seed 002)', async () => {
    const probe: ProbeFn = (t, p) => ((t as { name: string }).name.startsWith('ne-') ? (t.scheme === 'https' ? { outcome: 'ok', status: 200, body: NE_OK } : { outcome: 'wrong-protocol', status: 400, detail: 'Client sent an HTTP request to an HTTPS server' }) : healthyProbe(t, p));
    const { byId, report } = await doctor(healthy(), probe);
    const f = byId('scrape.servicemonitors').find((r) => r.status === 'failed')!;
    expect(f.message).toBe('ServiceMonitor cms-monitoring/cms-node-exporter endpoint http-metrics: scheme http but the endpoint ne-1:19100 speaks https');
    expect(f.severity).toBe('fatal');
    expect(f.hint).toContain('scheme: https');
    expect(exitCodeFor(report)).toBe(1);
  });

  it('names a port name that matches no Service port', async () => {
    const l = healthy();
    l[`/apis/monitoring.coreos.com/v1/namespaces/${NS}/servicemonitors`] = [serviceMonitor('cms-node-exporter', 'node-exporter', 'https', 'https')];
    const { byId } = await doctor(l);
    const f = byId('scrape.servicemonitors').find((r) => r.status === 'failed')!;
    expect(f.message).toContain('port "https" matches no port of the selected Service');
    expect(f.evidence![0]).toContain('ports: http-metrics=19100');
  });

  it('names a Service whose selector matches no pod (seed 003)', async () => {
    const l = healthy();
    l[`/api/v1/namespaces/${NS}/services`]![1] = service('cms-kube-state-metrics', 'kube-state-metrics', 'http-metrics', 8080, { app: 'nothing' });
    l[`/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`]![1] = slice('cms-kube-state-metrics', 'http-metrics', 8080, []);
    const { byId } = await doctor(l);
    const f = byId('scrape.servicemonitors').find((r) => r.status === 'failed')!;
    expect(f.message).toContain('Service cms-monitoring/cms-kube-state-metrics has no endpoints: its selector matches no pod');
    expect(f.object).toBe('service/cms-monitoring/cms-kube-state-metrics');
  });

  it('names a monitor selector that matches no Service', async () => {
    const l = healthy();
    l[`/apis/monitoring.coreos.com/v1/namespaces/${NS}/servicemonitors`]!.push({ metadata: { name: 'lost', namespace: NS }, spec: { selector: { matchLabels: { app: 'ghost' } }, endpoints: [{ port: 'x' }] } });
    const { byId } = await doctor(l);
    expect(msgs(byId('scrape.servicemonitors'))).toContain('ServiceMonitor cms-monitoring/lost: its selector matches no Service');
  });

  it('judges TLS and token settings', () => {
    const https = { speaks: 'https' as const, tried: {}, best: { outcome: 'unauthorized' as const, status: 401, ms: 1, url: '', detail: '' } };
    const noToken = judgeScheme('m', { scheme: 'https' }, https, 'p:1');
    expect(noToken.map((f) => f.message)).toEqual(['m: the endpoint p:1 requires a token (401 Unauthorized) but the monitor sends none', 'm: scheme https without tlsConfig: the scraper verifies the certificate against system CAs']);
    const good = judgeScheme('m', { scheme: 'https', bearerTokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token', tlsConfig: { insecureSkipVerify: true } }, https, 'p:1');
    expect(good).toEqual([{ status: 'passed', message: 'm: p:1 speaks https as declared (token required and sent)' }]);
  });
});

describe('kubelet', () => {
  it('tells 401 (kubelet flags) from 403 (RBAC nodes/metrics)', async () => {
    const probe: ProbeFn = (t, p) => (t.kind === 'node' ? (p.includes('cadvisor') ? { outcome: 'forbidden', status: 403, detail: 'HTTP 403' } : { outcome: 'unauthorized', status: 401, detail: 'HTTP 401' }) : healthyProbe(t, p));
    const { byId } = await doctor(healthy(), probe);
    expect(byId('kubelet.metrics')[0]!.hint).toContain('--authentication-token-webhook=true --authorization-mode=Webhook');
    expect(byId('kubelet.cadvisor')[0]!.hint).toContain('nodes/metrics');
    expect(kubeletHint({ outcome: 'refused', ms: 0, url: '', detail: '' }, '/metrics')).toMatch(/10250/);
  });

  it('with every category at once, asks a node whose exporter answered even when the lists the exporter checks need are slower than a probe timeout', async () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    // n1 black-holes its exporter and its kubelet; n2 is healthy; one kubelet node is asked.
    class Slow extends FakeApi {
      override async list<T>(path: string, q: { labelSelector?: string; fieldSelector?: string } = {}): Promise<T[]> {
        if (/\/(daemonsets|deployments)$/.test(path)) await sleep(200);
        return super.list<T>(path, q);
      }
      override async probe(t: Parameters<FakeApi['probe']>[0], path: string) {
        if ((t.kind === 'node' && t.name === 'n1') || (t.kind === 'pod' && t.name.endsWith('-1'))) {
          await sleep(100);
          return { outcome: 'timeout' as const, detail: 'no answer within 100 ms', ms: 100, url: path };
        }
        return super.probe(t, path);
      }
    }
    const api = new Slow(healthy(), healthyProbe);
    const report = await runChecks(doctorChecks, ctxFor(api, { probeTimeoutMs: 100, kubeletNodes: 1 }), {}, { concurrency: doctorChecks.length, overlap: true });
    const kubelet = report.results.filter((r) => r.id.startsWith('kubelet.'));
    expect(kubelet.map((r) => `${r.id} ${r.status}`)).toEqual(['kubelet.metrics passed', 'kubelet.cadvisor passed']);
    expect(api.probes.filter((p) => p.t.kind === 'node').map((p) => p.t.name)).toEqual(['n2', 'n2']);
  });
});

describe('whenKnown (what the kubelet and monitor checks wait for)', () => {
  afterEach(() => vi.useRealTimers());
  const pending = (p: Promise<void>) => {
    let done = false;
    void p.then(() => (done = true));
    return () => done;
  };

  it('counts one probe timeout from the first exporter probe, not from the call', async () => {
    vi.useFakeTimers();
    const ctx = ctxFor(new FakeApi(healthy()), { probeTimeoutMs: 1000 });
    const done = pending(ctx.whenKnown(() => false, new Promise(() => {})));
    await vi.advanceTimersByTimeAsync(5000);
    expect(done()).toBe(false); // the exporter probes have not started: slow lists do not count
    ctx.probesStarted();
    await vi.advanceTimersByTimeAsync(999);
    expect(done()).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(done()).toBe(true);
  });

  it('gives up at the cap when the exporter probes never start, and at once when what it waits for is learned', async () => {
    vi.useFakeTimers();
    const ctx = ctxFor(new FakeApi(healthy()), { probeTimeoutMs: 1000 });
    const capped = pending(ctx.whenKnown(() => false, new Promise(() => {})));
    await vi.advanceTimersByTimeAsync(WAIT_CAP_MS - 1);
    expect(capped()).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(capped()).toBe(true);
    let known = false;
    const learned = pending(ctx.whenKnown(() => known, new Promise(() => {})));
    known = true;
    ctx.learned();
    await vi.advanceTimersByTimeAsync(0);
    expect(learned()).toBe(true);
  });
});

describe('custom resources', () => {
  const ours = { 'meta.helm.sh/release-name': REL, 'meta.helm.sh/release-namespace': NS };
  const stuck = { metadata: { name: 'cr1', annotations: ours, deletionTimestamp: '2026-11-22T02:50:00Z', finalizers: ['keep-me', 'clusteraliyunpipelineconfig.finalizers.telemetry.alibabacloud.com/cleanup'] } };
  const inst = { release: REL, namespace: NS };
  const opRef = { namespace: NS, name: 'cms-loongcollector-operator' };
  const gone = { state: 'gone' as const, why: 'Deployment x is scaled to zero', refs: [opRef] };
  const running = { state: 'running' as const, ready: 1, refs: [opRef] };
  const notReady = { state: 'not-ready' as const, why: 'Deployment x has no ready pod', refs: [opRef] };
  const t = new Date('2026-11-22T03:00:00Z');

  it('detects a CR stuck Terminating with the operator gone and offers a fix that names the finalizer', async () => {
    const { finding, fix } = judgeCr(stuck, gone, t, inst);
    expect(finding.status).toBe('failed');
    expect(finding.message).toContain('stuck Terminating for 600s: its operator is gone (Deployment x is scaled to zero)');
    expect(finding.hint).toContain('kubectl insight uninstall');
    expect(finding.hint).toContain('--fix');
    const sent: unknown[] = [];
    await fix!.apply(fixEnv({ send: async (m, p, b) => void sent.push([m, p, b]), getJson: async () => ({}) as never }));
    expect(sent).toEqual([['PATCH', '/apis/telemetry.alibabacloud.com/v1alpha1/clusteraliyunpipelineconfigs/cr1', [
      { op: 'test', path: '/metadata/finalizers/1', value: 'clusteraliyunpipelineconfig.finalizers.telemetry.alibabacloud.com/cleanup' },
      { op: 'remove', path: '/metadata/finalizers/1' },
    ]]]);
  });
  it('offers no fix for an operator without a ready pod: it may be restarting', () => {
    const r = judgeCr(stuck, notReady, t, inst);
    expect(r.finding.message).toContain('its operator is not ready (Deployment x has no ready pod)');
    expect(r.fix).toBeUndefined();
  });
  it('re-checks right before the patch: a restarted operator, another owner or a changed finalizer list skips it', async () => {
    const { fix } = judgeCr(stuck, gone, t, inst);
    const api = (cr: unknown, dep: unknown) =>
      fixEnv({
        send: async () => undefined,
        getJson: async <T,>(path: string) => (path.includes('/deployments/') ? dep : cr) as T,
      });
    const scaledDown = { metadata: { name: opRef.name }, spec: { replicas: 0 }, status: {} };
    expect(await fix!.precondition!(api(stuck, scaledDown))).toBeUndefined();
    expect(await fix!.precondition!(api(stuck, { metadata: { name: opRef.name }, spec: { replicas: 1 }, status: { readyReplicas: 1 } }))).toBe('the operator is running again');
    expect(await fix!.precondition!(api({ metadata: { ...stuck.metadata, annotations: { 'meta.helm.sh/release-name': 'other', 'meta.helm.sh/release-namespace': 'other' } } }, scaledDown))).toBe('cr1 is not this installation\'s');
    expect(await fix!.precondition!(api({ metadata: { ...stuck.metadata, finalizers: ['clusteraliyunpipelineconfig.finalizers.telemetry.alibabacloud.com/cleanup'] } }, scaledDown))).toBe('the finalizers of cr1 changed');
  });
  it('only warns while the operator runs, and waits a minute before calling it stuck', () => {
    expect(judgeCr(stuck, running, t, inst).finding.severity).toBe('warning');
    expect(judgeCr(stuck, gone, new Date('2026-11-22T02:50:30Z'), inst).finding.status).toBe('passed');
  });
  it('reports status.success=false with the operator\'s message', () => {
    const r = judgeCr({ metadata: { name: 'c' }, status: { success: false, message: 'project not found' } }, running, new Date(), inst);
    expect(r.finding.message).toBe('c reports failure: project not found');
  });
  it('registers the fix in the context when the release is gone', async () => {
    const l = healthy();
    l[`/api/v1/namespaces/${NS}/secrets`] = [];
    l[`/apis/apps/v1/namespaces/${NS}/deployments`] = [];
    l['/apis/telemetry.alibabacloud.com/v1alpha1/clusteraliyunpipelineconfigs'] = [stuck];
    const { ctx, byId } = await doctor(l);
    expect(byId('cr.pipeline-config')[0]!.status).toBe('failed');
    expect(ctx.fixes.map((f) => f.id)).toEqual(['cr.strip-finalizer/cr1']);
  });
  it('never treats another installation\'s CR as ours, even with the operator finalizer and this installation\'s operator gone', async () => {
    const l = healthy();
    l[`/api/v1/namespaces/${NS}/secrets`] = [];
    l[`/apis/apps/v1/namespaces/${NS}/deployments`] = [];
    const theirs = { metadata: { ...stuck.metadata, name: 'theirs', annotations: { 'meta.helm.sh/release-name': 'other-team', 'meta.helm.sh/release-namespace': 'other-ns' } } };
    const unlabelled = { metadata: { name: 'nobodys', deletionTimestamp: stuck.metadata.deletionTimestamp, finalizers: stuck.metadata.finalizers } };
    l['/apis/telemetry.alibabacloud.com/v1alpha1/clusteraliyunpipelineconfigs'] = [theirs, unlabelled];
    const { ctx, byId } = await doctor(l);
    expect(ctx.fixes).toEqual([]);
    expect(byId('cr.pipeline-config')[0]!.status).toBe('skipped');
  });
});

describe('coexistence', () => {
  const ds = (ns: string, name: string, image: string, hostPort?: number) => ({ metadata: { namespace: ns, name }, spec: { template: { spec: { containers: [{ name: 'c', image, ports: hostPort ? [{ containerPort: hostPort, hostPort }] : [] }] } } } });
  it('finds a second node-exporter and whether it holds hostPort 19100', () => {
    const found = otherNodeExporters([ds('monitoring', 'prom-node-exporter', 'quay.io/prometheus/node-exporter:v1', 19100) as never, ds(NS, 'cms-node-exporter', 'x') as never, ds('kube-system', 'kube-proxy', 'kube-proxy') as never], NS);
    expect(found.map((f) => [f.ds.metadata!.name, f.holdsPort])).toEqual([['prom-node-exporter', true]]);
  });
  it('finds DCGM agents and ARMS', async () => {
    expect(dcgmAgents([ds('gpu', 'dcgm-exporter', 'nvcr.io/nvidia/k8s/dcgm-exporter:3') as never], NS)).toHaveLength(1);
    const { byId } = await doctor(healthy(), healthyProbe, {}, [NS, 'arms-prom']);
    expect(byId('coexist.arms-prom')[0]).toMatchObject({ status: 'failed', severity: 'warning' });
  });
});

describe('pods.events', () => {
  it('reports unexplained Warning events even when pods.health fails, and not those of explained pods', async () => {
    const l = healthy();
    const ev = (kind: string, name: string, reason: string, message: string) => ({ type: 'Warning', reason, message, count: 2, involvedObject: { kind, name, namespace: NS }, lastTimestamp: '2026-11-22T02:59:00Z', metadata: {} });
    l[`/api/v1/namespaces/${NS}/pods`]!.push(pod('bad', {}, 'n1', [], { status: { phase: 'Pending', containerStatuses: [{ name: 'main', ready: false, restartCount: 0, state: { waiting: { reason: 'ErrImagePull' } } }] } }));
    l[`/api/v1/namespaces/${NS}/events`] = [ev('Pod', 'bad', 'Failed', 'pull failed'), ev('DaemonSet', 'cms-node-exporter', 'FailedCreate', 'pods "x" is forbidden: exceeded quota')];
    const { byId } = await doctor(l);
    expect(byId('pods.health').some((r) => r.status === 'failed')).toBe(true);
    const e = byId('pods.events');
    expect(e.map((r) => r.message)).toEqual(['FailedCreate: pods "x" is forbidden: exceeded quota']);
    expect(e[0]!.object).toBe('daemonset/cms-monitoring/cms-node-exporter');
  });
});

describe('probeBounded', () => {
  // Fake timers: the order of events is the evidence, not the wall clock of a loaded machine.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets slow (black-holed) probes wait outside the concurrency limit, so no hung probe waits for another', async () => {
    const { probeBounded } = await import('../../../src/checks/doctor/exporters.js');
    const items = Array.from({ length: 40 }, (_, i) => i);
    const hung = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const t0 = Date.now();
    const started = new Map<number, number>();
    let finished: number | undefined;
    const run = probeBounded(items, 4, 100, 20, async (i) => {
      started.set(i, Date.now() - t0);
      await new Promise((r) => setTimeout(r, hung.has(i) ? 300 : 5));
    }).then(() => (finished = Date.now() - t0));
    await vi.runAllTimersAsync();
    await run;
    // A plain pool of 4 would start the 9th and 10th hung probe only after two others ended (at 600 ms).
    const hungStarts = [...hung].map((i) => started.get(i)!);
    expect(Math.max(...hungStarts)).toBeLessThan(300);
    expect(started.size).toBe(items.length);
    // Done when the last hung probe ends, not after three rounds of 300 ms.
    expect(finished).toBe(Math.max(...hungStarts) + 300);
  });

  it('bounds the slow pool: at most concurrency + slowPool probes in flight, and the pool is used', async () => {
    const { probeBounded } = await import('../../../src/checks/doctor/exporters.js');
    const items = Array.from({ length: 40 }, (_, i) => i);
    const hung = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    let inFlight = 0;
    let peak = 0;
    const run = probeBounded(items, 4, 2, 20, async (i) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, hung.has(i) ? 100 : 5));
      inFlight--;
    });
    await vi.runAllTimersAsync();
    await run;
    expect(inFlight).toBe(0);
    expect(peak).toBe(6); // 4 slots + a slow pool of 2
  });
});
