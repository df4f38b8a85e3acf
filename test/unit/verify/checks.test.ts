// verify's checks and run loop against a fake cloud and cluster: each way data fails to arrive is named
// by its own cause, and --wait waits only on "not there yet".
import { describe, expect, it } from 'vitest';
import { runVerify, type VerifyRun } from '../../../src/actions/verify.js';
import { collectorContainers, tailCommand } from '../../../src/checks/verify/collector.js';
import { freshRows, parseTime } from '../../../src/checks/verify/entities.js';
import { labelCandidates, MAX_LABEL_CANDIDATES, nodeOfTarget } from '../../../src/checks/verify/metrics.js';
import { matchSignatures } from '../../../src/checks/verify/signatures.js';
import { Secret } from '../../../src/secret.js';
import { CLUSTER, NOW, fakeCloud, fakeCluster, healthyWorld, node, type CloudCalls, type FakeWorld } from './fake.js';

const SECRET = 'VerifyUnitSecret0123456789abcdef';

function run(w: FakeWorld, extra: Partial<VerifyRun> = {}, calls?: CloudCalls, reads?: string[]) {
  return runVerify(
    {
      input: {
        namespace: 'cms-monitoring',
        release: 'r',
        clusterId: CLUSTER,
        region: 'cn-hangzhou',
        workspace: 'ws',
        prometheusInstanceId: 'rw-1',
        net: 'Internet',
        creds: { accessKeyId: 'LTAI5tVerifyUnit0001', accessKeySecret: new Secret(SECRET) },
        overrides: {},
        timeoutMs: 5000,
        staleAfterMs: 180_000,
        logLines: 500,
      },
      cluster: () => fakeCluster(w, reads),
      cloud: fakeCloud(w, calls),
      failOn: 'fatal',
      waitMs: 0,
      intervalMs: 10,
      now: () => NOW,
      ...extra,
    },
    { progress: () => {}, waiting: () => {} },
  );
}
/** Fatal failures (the collector's "could not read a log" is a warning beside them). */
const failed = (r: Awaited<ReturnType<typeof run>>) => r.report.results.filter((x) => x.status === 'failed' && x.severity === 'fatal');

describe('verify', () => {
  it('passes when every source and entity arrives, and reads no log', async () => {
    const reads: string[] = [];
    const r = await run(healthyWorld(), {}, undefined, reads);
    expect(failed(r), JSON.stringify(failed(r))).toEqual([]);
    expect(r.exitCode).toBe(0);
    const sources = r.report.results.filter((x) => x.id === 'metrics.sources').map((x) => x.object);
    expect(sources).toEqual(['source/node-exporter', 'source/kube-state-metrics', 'source/kubelet', 'source/cadvisor', 'source/targets']);
    expect(r.report.results.find((x) => x.object === 'source/node-exporter')!.message).toMatch(/^node-exporter: 6 series from 3 targets, newest sample 20s old$/);
    expect(r.report.results.find((x) => x.id === 'metrics.cluster-label')!.message).toContain('cluster_id="c0ffee1234"');
    expect(reads).toEqual([]);
  });

  it('finds the cluster label whatever it is called', async () => {
    const w = healthyWorld();
    for (const s of w.series) {
      s.labels.k8s_cluster = s.labels.cluster_id!;
      delete s.labels.cluster_id;
    }
    const r = await run(w);
    expect(failed(r)).toEqual([]);
    expect(r.report.results.find((x) => x.id === 'metrics.cluster-label')!.message).toContain('k8s_cluster=');
  });

  it('names the one source that is missing, not the others', async () => {
    const w = healthyWorld();
    w.series = w.series.filter((s) => s.labels.__name__ !== 'kube_pod_info');
    const r = await run(w);
    expect(failed(r).map((x) => x.object)).toEqual(['source/kube-state-metrics']);
    expect(failed(r)[0]!.message).toMatch(/no kube_pod_info series from this cluster in the last 1h/);
    expect(r.exitCode).toBe(1);
  });

  it('says stale, with the age, when samples stopped', async () => {
    const w = healthyWorld();
    for (const s of w.series) if (s.labels.__name__ === 'node_cpu_seconds_total') s.t = NOW.getTime() - 20 * 60_000;
    const r = await run(w);
    const f = failed(r).find((x) => x.object === 'source/node-exporter')!;
    expect(f.message).toMatch(/stale: none in the last 5m \(6 series from 3 targets in the last 1h\)/);
    // And a sample older than --stale-after but inside the lookback is stale with its age.
    for (const s of w.series) if (s.labels.__name__ === 'node_cpu_seconds_total') s.t = NOW.getTime() - 4 * 60_000;
    const r2 = await run(w);
    expect(failed(r2).find((x) => x.object === 'source/node-exporter')!.message).toMatch(/newest is 4m old/);
  });

  it('names the nodes that send nothing', async () => {
    const w = healthyWorld();
    w.series = w.series.filter((s) => !(s.labels.__name__ === 'node_cpu_seconds_total' && /^10\.0\.0\.[23]:/.test(s.labels.instance!)));
    const r = await run(w);
    const f = failed(r).find((x) => x.id === 'metrics.nodes')!;
    expect(f.message).toBe('2 of 3 nodes send no node metrics: n2, n3');
  });

  it('a key that cannot read metrics is said so, with the policy, never as "no data"', async () => {
    const w = healthyWorld();
    w.queryError = { code: 'Forbidden', service: 'prometheus', host: 'p.cn-hangzhou.log.aliyuncs.com', httpStatus: 403, action: 'log:QueryMetrics', message: 'this key cannot read metrics (HTTP 403 Unauthorized)', hint: 'Attach the system policy AliyunPrometheusMetricReadAccess to the RAM user.' };
    const r = await run(w, { waitMs: 60_000 });
    const f = failed(r);
    expect(f.map((x) => x.id)).toEqual(['metrics.cluster-label']);
    expect(f[0]!.message).toBe('this key cannot read metrics (HTTP 403 Unauthorized)');
    expect(f[0]!.hint).toContain('AliyunPrometheusMetricReadAccess');
    expect(r.report.results.filter((x) => x.id === 'metrics.sources').every((x) => x.status === 'skipped')).toBe(true);
    // Not waited on: a refusal does not cure itself.
    expect(r.runs).toBe(1);
  });

  it('the entity missing is its own finding', async () => {
    const w = healthyWorld();
    w.entities = w.entities.filter((e) => e.type !== 'k8s.cluster');
    const r = await run(w);
    expect(failed(r).map((x) => x.id)).toEqual(['entities.cluster']);
    expect(failed(r)[0]!.message).toBe(`workspace ws has no k8s.cluster entity for cluster ${CLUSTER} in the last hour`);
    // Seen, but longer ago than its keep-alive window allows.
    w.entities.push({ type: 'k8s.cluster', name: CLUSTER, lastSeenMs: NOW.getTime() - 10 * 60_000 });
    expect(failed(await run(w))[0]!.message).toMatch(/last seen 10m ago: outside its keep-alive window \(3m\)/);
  });

  it('reads the collector log when something is missing, and names the cause', async () => {
    const w = healthyWorld();
    w.series = [];
    w.logs = { 'cms-loongcollector-cluster-0': `2026-12-01 11:59:01 [warning] failed to send request errorCode:ProjectNotExist project:cms-x accessKeySecret=${SECRET}\n` };
    const reads: string[] = [];
    const r = await run(w, {}, undefined, reads);
    expect(reads).toEqual(['cms-loongcollector-cluster-0/loongcollector']);
    const f = failed(r).find((x) => x.id === 'collector.logs')!;
    expect(f.message).toMatch(/^the SLS project or logstore the collector writes to does not exist: ProjectNotExist$/);
    expect(f.evidence![0]).toContain('errorCode:ProjectNotExist');
    expect(JSON.stringify(r.report)).not.toContain(SECRET);
  });

  it('--wait keeps checking while data is only not there yet, and stops when it arrives', async () => {
    const w = healthyWorld();
    const all = w.series;
    w.series = [];
    let runs = 0;
    const r = await runVerify(
      {
        input: { namespace: 'cms-monitoring', release: 'r', clusterId: CLUSTER, region: 'cn-hangzhou', workspace: 'ws', prometheusInstanceId: 'rw-1', net: 'Internet', creds: { accessKeyId: 'LTAI5tVerifyUnit0001', accessKeySecret: new Secret(SECRET) }, overrides: {}, timeoutMs: 5000, staleAfterMs: 180_000, logLines: 500 },
        cluster: () => fakeCluster(w),
        cloud: fakeCloud(w),
        failOn: 'fatal',
        waitMs: 60_000,
        intervalMs: 5,
        now: () => NOW,
      },
      {
        progress: () => {},
        waiting: () => {
          // The first samples arrive after the second pass.
          if (++runs === 2) w.series = all;
        },
      },
    );
    expect(r.runs).toBe(3);
    expect(r.exitCode).toBe(0);
    expect(r.gaveUp).toBe(false);
  });

  it('--wait gives up at its bound and says so', async () => {
    const w = healthyWorld();
    w.series = [];
    const r = await run(w, { waitMs: 30, intervalMs: 10 });
    expect(r.runs).toBeGreaterThan(1);
    expect(r.gaveUp).toBe(true);
    expect(r.exitCode).toBe(1);
  });

  it('--only pulls in what a check needs; --only collector reads the log; after a refusal the log is not blamed', async () => {
    const w = healthyWorld();
    w.series = w.series.filter((s) => s.labels.__name__ !== 'kube_pod_info');
    const r = await run(w, { only: ['metrics.sources'] });
    expect(r.report.results.map((x) => x.id)).toEqual(expect.arrayContaining(['metrics.instance', 'metrics.cluster-label', 'metrics.sources']));
    expect(failed(r).map((x) => x.object)).toEqual(['source/kube-state-metrics']);

    const reads: string[] = [];
    w.logs = { 'cms-loongcollector-cluster-0': 'failed to send request errorCode:WriteQuotaExceed\n' };
    const logs = await run(healthyWorld(), { only: ['collector'] }, undefined, reads);
    void logs;
    const alone = await run(w, { only: ['collector'] }, undefined, reads);
    expect(reads.length).toBeGreaterThan(0);
    expect(alone.report.results.map((x) => x.message)).toEqual([expect.stringMatching(/quota: WriteQuotaExceed/)]);

    const refused = healthyWorld();
    refused.queryError = { code: 'Forbidden', service: 'prometheus', host: 'h', message: 'this key cannot read metrics (HTTP 403)', hint: 'x' };
    const after = await run(refused);
    expect(after.report.results.find((x) => x.id === 'collector.logs')!).toMatchObject({ status: 'skipped', message: expect.stringMatching(/failed before they could see/) });
    expect(after.report.results.find((x) => x.id === 'metrics.cluster-label')!.errorKind).toBe('forbidden');
  });

  it('NaN counts are no series; a newest sample from the future is a clock problem, not a pass', async () => {
    // A server (or a proxy) that answers such things: a real one cannot see past its evaluation time.
    const w = healthyWorld();
    const cloud = fakeCloud(w);
    const query = cloud.query;
    cloud.query = async (ep, q, at, o) => {
      if (q.startsWith('max(timestamp(') && q.includes('kubelet_node_name')) return { ok: true, value: [{ metric: {}, t: NOW.getTime() / 1000, value: NOW.getTime() / 1000 + 600 }] };
      if (q.startsWith('count by (job, instance)') && q.includes('kube_pod_info')) return { ok: true, value: [{ metric: { instance: 'x' }, t: NOW.getTime() / 1000, value: NaN }] };
      return query(ep, q, at, o);
    };
    const r = await run(w, { cloud });
    expect(failed(r).find((x) => x.object === 'source/kubelet')?.message ?? '').toMatch(/newest sample is 10m in the future/);
    expect(failed(r).find((x) => x.object === 'source/kube-state-metrics')?.message ?? '').toMatch(/no kube_pod_info series/);
  });

  it('a throttled or failing query is tried again within --wait; a refusal is not', async () => {
    const w = healthyWorld();
    const cloud = fakeCloud(w);
    const query = cloud.query;
    let calls = 0;
    cloud.query = async (ep, q, at, o) => (++calls <= 2 ? { ok: false, error: { code: 'Throttled', service: 'prometheus', host: 'h', httpStatus: 429, message: 'throttled', hint: 'retry' } } : query(ep, q, at, o));
    const r = await run(w, { cloud, waitMs: 60_000 });
    expect(r.runs).toBeGreaterThan(1);
    expect(r.exitCode).toBe(0);
  });

  it('kube-state-metrics is expected from its Deployment even when it has no pod', async () => {
    const w = healthyWorld();
    w.pods = w.pods.filter((p) => !p.metadata!.name!.includes('kube-state-metrics'));
    w.series = w.series.filter((s) => s.labels.__name__ !== 'kube_pod_info');
    expect(failed(await run(w)).map((x) => x.object)).toEqual(['source/kube-state-metrics']);
    w.deployments = [];
    expect(failed(await run(w))).toEqual([]);
  });

  it('node-exporter targets on pod IPs (no hostNetwork) map to the pods\' nodes', async () => {
    const w = healthyWorld();
    w.pods.forEach((p, i) => (p.status!.podIP = `10.244.0.${i + 1}`));
    for (const s of w.series) {
      if (s.labels.__name__ !== 'node_cpu_seconds_total') continue;
      const node = w.nodes.find((n) => s.labels.instance!.startsWith(`${n.status!.addresses![0]!.address}:`))!.metadata!.name!;
      s.labels.instance = `${w.pods.find((p) => p.spec!.nodeName === node && p.metadata!.name!.startsWith('node-exporter'))!.status!.podIP}:9100`;
    }
    expect(failed(await run(w))).toEqual([]);
  });

  it('--only selects categories; the collector check still explains', async () => {
    const w = healthyWorld();
    w.entities = [];
    const calls: CloudCalls = { queries: [], instance: 0, entities: [] };
    const r = await run(w, { only: ['entities'] }, calls);
    expect(calls.queries).toEqual([]);
    expect(new Set(r.report.results.map((x) => x.category))).toEqual(new Set(['entities']));
  });
});

describe('verify helpers', () => {
  it('label candidates: cluster-like names first, no __name__, no names PromQL refuses, bounded', () => {
    expect(labelCandidates(['instance', '__name__', 'job', 'k8s_cluster_id', 'cluster', 'bad-name', 'a'])).toEqual(['cluster', 'k8s_cluster_id', 'a', 'job', 'instance']);
    expect(labelCandidates(Array.from({ length: 100 }, (_, i) => `l${i}`))).toHaveLength(MAX_LABEL_CANDIDATES);
  });

  it('nodeOfTarget maps node labels, node names and node addresses', () => {
    const nodes = [node('n1', '10.0.0.1'), node('n2', '10.0.0.2')];
    expect(nodeOfTarget({ instance: '10.0.0.2:9100' }, nodes)).toBe('n2');
    expect(nodeOfTarget({ instance: 'n1:9100' }, nodes)).toBe('n1');
    expect(nodeOfTarget({ instance: '10.9.9.9:9100', node: 'n1' }, nodes)).toBe('n1');
    expect(nodeOfTarget({ instance: '10.9.9.9:9100' }, nodes)).toBeUndefined();
    expect(nodeOfTarget({ instance: '10.244.1.7:9100' }, nodes, [{ spec: { nodeName: 'n2', containers: [] }, status: { podIP: '10.244.1.7' } }])).toBe('n2');
  });

  it('entity times: seconds, milliseconds or ISO; freshness by the row\'s own keep-alive', () => {
    expect(parseTime('1764590400')).toBe(1764590400000);
    expect(parseTime('1764590400000')).toBe(1764590400000);
    expect(parseTime('2026-12-01T12:00:00Z')).toBe(NOW.getTime());
    const t = { header: [], rows: [{ __last_observed_time__: String(NOW.getTime() / 1000 - 500), __keep_alive_seconds__: '300' }] };
    expect(freshRows(t, NOW.getTime()).fresh).toHaveLength(1);
    expect(freshRows({ header: [], rows: [{ __last_observed_time__: String(NOW.getTime() / 1000 - 500) }] }, NOW.getTime()).fresh).toHaveLength(0);
  });

  it('matches every documented send-failure signature, one finding per cause, newest line, secret scrubbed', () => {
    const lines = [
      'failed to send request errorCode:Unauthorized errorMessage:denied by sts or ram',
      'failed to send request errorCode:InvalidAccessKeyId',
      'failed to send request errorCode:SignatureNotMatch',
      'failed to send request errorCode:LogStoreNotExist',
      'failed to send request errorCode:ShardWriteQuotaExceed',
      'failed to send request errorCode:WriteQuotaExceed',
      'failed to send request errorCode:RequestTimeout endpoint:cn-hangzhou.log.aliyuncs.com',
      'failed to send request errorCode:RequestTimeExpired',
      'alarm type:SEND_DATA_FAIL_ALARM token=abc123def',
    ];
    const hits = matchSignatures(lines.join('\n'));
    expect(hits.map((h) => [h.signature.cause, h.code, h.count])).toEqual([
      ['credentials', 'SignatureNotMatch', 3],
      ['project', 'LogStoreNotExist', 1],
      ['quota', 'WriteQuotaExceed', 2],
      ['clock', 'RequestTimeExpired', 1],
      ['network', 'RequestTimeout', 1],
      ['discarded', 'SEND_DATA_FAIL_ALARM', 1],
    ]);
    expect(hits.find((h) => h.signature.cause === 'network')!.endpoint).toBe('cn-hangzhou.log.aliyuncs.com');
    expect(hits.find((h) => h.signature.cause === 'discarded')!.line).toContain('token=[REDACTED]');
    expect(matchSignatures('all good\nsent 42 groups')).toEqual([]);
    // RequestTimeExpired is the clock, not a timeout.
    expect(matchSignatures('errorCode:RequestTimeExpired').map((h) => h.signature.cause)).toEqual(['clock']);
  });

  it('the log command tails both known files; collector containers exclude the operator', () => {
    expect(tailCommand(500)).toEqual(['sh', '-c', 'tail -n 500 /usr/local/loongcollector/log/loongcollector.LOG 2>/dev/null || tail -n 500 /usr/local/ilogtail/ilogtail.LOG 2>/dev/null']);
    expect(tailCommand(1e9)[2]).toContain('tail -n 10000 ');
    const pods = [
      { metadata: { name: 'loongcollector-operator-1' }, spec: { containers: [{ name: 'manager', image: 'x/loongcollector-operator:1' }] }, status: { phase: 'Running' } },
      { metadata: { name: 'ds-abc' }, spec: { containers: [{ name: 'sidecar', image: 'x/pause' }, { name: 'logtail', image: 'x/ilogtail:2' }] }, status: { phase: 'Running' } },
      { metadata: { name: 'pending' }, spec: { containers: [{ name: 'loongcollector' }] }, status: { phase: 'Pending' } },
    ];
    expect(collectorContainers(pods).map((x) => `${x.pod.metadata!.name}/${x.container}`)).toEqual(['ds-abc/logtail']);
  });
});
