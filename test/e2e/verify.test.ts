// verify end to end: the fixture chart installed on the local control plane, the built CLI reading the
// release's identity through the API server, and the cloud answered by the loopback stand-in (real TLS,
// Basic/Bearer auth and ACS3 signatures checked). A simulated collector writes into the stand-in what
// the cluster's real nodes and pods would have sent; each test takes away what its failure needs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chartTgz, cleanup, cli, FIXTURE_CHART_DIR, FIXTURE_VALUES, fixtureCrdFlags, helm, helmLabel, kubectlJson, netnsSkipReason, parseJson, requiredValues, serveContainerFiles, waitForPods, writeValues,
} from './support/index.js';
import type { CloudStandin } from '../support/cloud-standin/server.js';
import type { CollectorSim, SeedNode, SeedPod } from '../support/cloud-standin/seed.js';

const NS = 'verify-e2e';
const RELEASE = 'verify-e2e';
const CLUSTER_ID = 'verify-e2e-c1';
const REGION = 'cn-hangzhou';
const WORKSPACE = 'my-workspace';
const INSTANCE = 'rw-p1234567890abcdef';
// The fixture values' key id; the secret only the stand-in and these tests know.
const READER = { accessKeyId: 'LTAI5tFixtureKeyID00000', secret: 'VerifyE2eReaderSecret0123456789ab' };
const WRITER = { accessKeyId: 'LTAI5tVerifyE2eWriter1', secret: 'VerifyE2eWriterSecret0123456789ab' };

interface Result { id: string; status: string; severity: string; message: string; object: string | null; evidence?: string[]; hint: string | null }
interface Doc { exitCode: number; clusterId: string; accessKeyId: string; results: Result[]; runs: number; gaveUp: boolean }

let standin: CloudStandin;
let sim: CollectorSim;
let env: Record<string, string>;
let nodes: SeedNode[] = [];

async function clusterNow(): Promise<{ nodes: SeedNode[]; pods: SeedPod[] }> {
  type Item = { metadata: { name: string; namespace?: string }; spec?: { nodeName?: string }; status?: { addresses?: { type: string; address: string }[] } };
  const [n, p] = await Promise.all([kubectlJson<{ items: Item[] }>(['get', 'nodes']), kubectlJson<{ items: Item[] }>(['get', 'pods', '-A'])]);
  return {
    nodes: n.items.map((x) => ({ name: x.metadata.name, ip: x.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '' })),
    pods: p.items.map((x) => ({ name: x.metadata.name, namespace: x.metadata.namespace ?? 'default', ...(x.spec?.nodeName ? { node: x.spec.nodeName } : {}) })),
  };
}

async function verify(args: string[] = [], opts: { env?: Record<string, string>; input?: string } = {}) {
  const r = await cli(['verify', '-n', NS, '--release', RELEASE, '-o', 'json', ...args], { env: { ...env, ...opts.env }, ...(opts.input !== undefined ? { input: opts.input } : {}) });
  return { r, doc: parseJson<Doc>(r) };
}
const fatal = (d: Doc) => d.results.filter((x) => x.status === 'failed' && x.severity === 'fatal');

describe(`verify (${helmLabel()})`, () => {
  beforeAll(async () => {
    await cleanup(RELEASE, NS, CLUSTER_ID);
    await helm(
      ['install', RELEASE, FIXTURE_CHART_DIR, '-n', NS, '--create-namespace', '-f', FIXTURE_VALUES, '-f', '-', '--set', 'gpuExporter.enabled=false', '--set', `clusterID=${CLUSTER_ID}`, '--wait', '--timeout', '3m', ...(await fixtureCrdFlags())],
      { input: 'accessKeySecret: fixture-not-a-secret\n', timeoutMs: 240_000 },
    );
    nodes = (await clusterNow()).nodes;
    await waitForPods(NS, 'app.kubernetes.io/name=node-exporter', nodes.length);
    const [{ startCloudStandin }, { aliyunNames, generatePki }, { startCollectorSim }] = await Promise.all([
      import('../support/cloud-standin/server.js'),
      import('../support/cloud-standin/pki.js'),
      import('../support/cloud-standin/seed.js'),
    ]);
    standin = await startCloudStandin({
      pki: generatePki(aliyunNames([REGION])),
      users: [
        { ...READER, allowedActions: ['log:*', 'cms:*'] },
        // The key id of the e2e values (requiredValues), used by the install below.
        { accessKeyId: 'LTAI5tAbCdEfGhIjKlMnOpQr', secret: READER.secret, allowedActions: ['log:*', 'cms:*'] },
        { ...WRITER, allowedActions: ['cms:*', 'log:Get*', 'log:RemoteWrite*', 'log:PostLogStoreLogs'] },
      ],
      prometheusInstances: [{ id: INSTANCE, region: REGION, workspace: WORKSPACE }],
    });
    sim = startCollectorSim({ list: clusterNow, store: standin, instanceId: INSTANCE, workspace: WORKSPACE, region: REGION, clusterId: CLUSTER_ID, intervalMs: 60_000 });
    await sim.tick();
    env = { ALIBABA_CLOUD_ACCESS_KEY_SECRET: READER.secret, KUBECTL_INSIGHT_ENDPOINT_OVERRIDES: JSON.stringify(standin.overrides()) };
  });
  afterAll(async () => {
    sim?.stop();
    await standin?.close();
    await cleanup(RELEASE, NS, CLUSTER_ID);
  });

  async function seeded(knobs: Parameters<CollectorSim['set']>[0]) {
    sim.set(knobs);
    await sim.tick();
  }

  it('all arriving: exit 0; the identity comes from the release; the secret only in the Basic header', async () => {
    await seeded({});
    const before = standin.requests.length;
    const { r, doc } = await verify();
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    expect(doc.clusterId).toBe(CLUSTER_ID);
    expect(doc.accessKeyId).toBe('LTAI5t****0000');
    expect(fatal(doc)).toEqual([]);
    expect(doc.results.filter((x) => x.id === 'metrics.sources').map((x) => x.object)).toEqual(['source/node-exporter', 'source/kube-state-metrics', 'source/kubelet', 'source/cadvisor', 'source/targets']);
    expect(doc.results.find((x) => x.id === 'metrics.nodes')!.message).toBe(`all ${nodes.length} nodes with node-exporter send node metrics`);
    const reqs = standin.requests.slice(before);
    expect(reqs.length).toBeGreaterThan(5);
    for (const q of reqs) {
      const { authorization, ...rest } = q.headers;
      expect(JSON.stringify(rest) + q.url).not.toContain(READER.secret);
      if (q.scheme !== 'Basic') expect(authorization ?? '').not.toContain(Buffer.from(READER.secret).toString('base64').slice(0, 20));
    }
    expect(r.stdout + r.stderr).not.toContain(READER.secret);
  });

  it('one job missing, stale samples, two nodes silent: each named as such', async () => {
    await seeded({ missing: ['kube-state-metrics'] });
    let { doc } = await verify();
    expect(doc.exitCode).toBe(1);
    expect(fatal(doc).map((x) => x.object)).toEqual(['source/kube-state-metrics']);

    await seeded({ staleMs: { cadvisor: 30 * 60_000 } });
    ({ doc } = await verify());
    expect(fatal(doc).map((x) => x.object)).toEqual(['source/cadvisor']);
    expect(fatal(doc)[0]!.message).toMatch(/kubelet\/cadvisor: samples are stale/);

    const silent = nodes.slice(1, 3).map((n) => n.name).sort();
    await seeded({ silentNodes: silent });
    ({ doc } = await verify());
    expect(fatal(doc).find((x) => x.id === 'metrics.nodes')!.message).toBe(`2 of ${nodes.length} nodes send no node metrics: ${silent.join(', ')}`);
  });

  it('the key without read permission: "cannot read metrics" with the policy, at once', async () => {
    await seeded({});
    const { r, doc } = await verify(['--access-key-id', WRITER.accessKeyId, '--wait', '2m'], { env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: WRITER.secret } });
    expect(r.exitCode).toBe(1);
    expect(doc.runs).toBe(1);
    const f = fatal(doc);
    expect(f[0]!.message).toMatch(/^this key cannot read metrics \(HTTP 403/);
    expect(f[0]!.hint).toContain('AliyunPrometheusMetricReadAccess');
    expect(r.stdout + r.stderr).not.toContain(WRITER.secret);
  });

  it('the entity missing is named; the secret from stdin works the same', async () => {
    await seeded({ noClusterEntity: true });
    const { r, doc } = await verify(['--access-key-secret-stdin'], { env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: '' }, input: `${READER.secret}\n` });
    expect(r.exitCode).toBe(1);
    expect(fatal(doc).map((x) => x.id)).toEqual(['entities.cluster']);
  });

  it('--wait: waits for the first samples, then passes', async () => {
    await seeded({ missing: ['node-exporter', 'kube-state-metrics', 'kubelet', 'cadvisor', 'targets'], noClusterEntity: true });
    // The collector starts sending a few seconds into the wait.
    const later = setTimeout(() => void seeded({}), 4000);
    try {
      const { r, doc } = await verify(['--wait', '90s', '--wait-interval', '3s']);
      expect(r.exitCode, r.stdout).toBe(0);
      expect(doc.runs).toBeGreaterThan(1);
    } finally {
      clearTimeout(later);
    }
  });

  it('bad input: one line, exit 2, nothing contacted', async () => {
    const before = standin.requests.length;
    const r = await cli(['verify', '-n', 'verify-e2e-nothing-here', '--release', RELEASE], { env });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^Error: no release verify-e2e in namespace verify-e2e-nothing-here to read the cluster id and region from$/m);
    const noKey = await cli(['verify', '-n', NS, '--release', RELEASE], { env: { KUBECTL_INSIGHT_ENDPOINT_OVERRIDES: env.KUBECTL_INSIGHT_ENDPOINT_OVERRIDES! } });
    expect(noKey.exitCode).toBe(2);
    expect(noKey.stderr).toMatch(/^Error: verify reads the cloud with an AccessKey, and none was given$/m);
    expect(standin.requests.length).toBe(before);
  });

  it('doctor --cloud adds the verify categories to its report', async () => {
    await seeded({ missing: ['kube-state-metrics'] });
    const r = await cli(['doctor', '-n', NS, '--release', RELEASE, '--cloud', '-o', 'json', '--only', 'release', '--only', 'metrics'], { env });
    const doc = parseJson<{ findings: Result[] }>(r);
    expect(doc.findings.some((x) => x.id.startsWith('release.'))).toBe(true);
    expect(doc.findings.filter((x) => x.status === 'failed' && x.id.startsWith('metrics.')).map((x) => x.object)).toEqual(['source/kube-state-metrics']);
    expect(r.exitCode).toBe(1);
    // No release to read the identity from: a finding beside doctor's own, not the end of the report.
    const none = await cli(['doctor', '-n', 'verify-e2e-nothing-here', '--release', RELEASE, '--cloud', '-o', 'json'], { env });
    const nd = parseJson<{ findings: Result[] }>(none);
    expect(nd.findings.find((x) => x.id === 'metrics.instance')!.message).toMatch(/^the cloud checks could not start: no release verify-e2e in namespace verify-e2e-nothing-here/);
    expect(nd.findings.some((x) => x.id.startsWith('release.'))).toBe(true);
    expect(none.exitCode).toBe(1);
  });

  describe.skipIf(Boolean(netnsSkipReason()))('the collector\'s own log, through kwok\'s exec and logs', () => {
    const SIGNATURES: [string, RegExp][] = [
      ['2026-12-01 11:59:01.123 [warning] [sender] failed to send request, errorCode:Unauthorized, errorMessage:denied by sts or ram', /refused when sending: Unauthorized/],
      ['[error] failed to send request errorCode:InvalidAccessKeyId', /refused when sending: InvalidAccessKeyId/],
      ['[error] failed to send request errorCode:SignatureNotMatch', /refused when sending: SignatureNotMatch/],
      ['[error] failed to send request errorCode:ProjectNotExist project:cms-x', /project or logstore .* does not exist: ProjectNotExist/],
      ['[error] failed to send request errorCode:LogStoreNotExist', /does not exist: LogStoreNotExist/],
      ['[error] failed to send request errorCode:WriteQuotaExceed', /throttled by the project's quota: WriteQuotaExceed/],
      ['[error] failed to send request errorCode:ShardWriteQuotaExceed', /throttled by the project's quota: ShardWriteQuotaExceed/],
      ['[error] failed to send request errorCode:RequestTimeout endpoint:cn-hangzhou.log.aliyuncs.com', /cannot reach the endpoint: RequestTimeout to cn-hangzhou\.log\.aliyuncs\.com/],
      ['[error] failed to send request errorCode:RequestError endpoint:cn-hangzhou-intranet.log.aliyuncs.com', /cannot reach the endpoint: RequestError/],
      ['[error] failed to send request errorCode:RequestTimeExpired', /clock is too far off.*: RequestTimeExpired/],
      ['[error] alarm SEND_DATA_FAIL_ALARM discard data', /discarded data .*: SEND_DATA_FAIL_ALARM/],
    ];

    async function collectorPod() {
      const [p] = await waitForPods(NS, 'app.kubernetes.io/name=loongcollector-cluster', 1);
      return p!.name;
    }

    it.each(SIGNATURES)('%s', async (line, want) => {
      await seeded({ missing: ['kube-state-metrics'] });
      const served = await serveContainerFiles({ namespace: NS, pod: await collectorPod(), container: 'loongcollector', files: { '/usr/local/loongcollector/log/loongcollector.LOG': `2026-12-01 11:58:00 [info] started\n${line}\n` } });
      try {
        const { doc } = await verify(['--only', 'metrics', '--only', 'collector']);
        const logs = doc.results.filter((x) => x.id === 'collector.logs' && x.status === 'failed');
        expect(logs.map((x) => x.message), JSON.stringify(doc.results.filter((x) => x.id === 'collector.logs'))).toEqual([expect.stringMatching(want)]);
        expect(logs[0]!.evidence![0]).toMatch(/^log file \(exec\): /);
      } finally {
        await served.stop();
      }
    });

    it('the ilogtail log path, and the stdout log where there is no log file; the secret is scrubbed from evidence', async () => {
      await seeded({ missing: ['kube-state-metrics'] });
      const pod = await collectorPod();
      let served = await serveContainerFiles({ namespace: NS, pod, container: 'loongcollector', files: { '/usr/local/ilogtail/ilogtail.LOG': `failed to send request errorCode:ProjectNotExist accessKeySecret=${READER.secret}\n` } });
      try {
        const { r, doc } = await verify(['--only', 'collector', '--only', 'metrics']);
        const f = doc.results.find((x) => x.id === 'collector.logs' && x.status === 'failed')!;
        expect(f.message).toMatch(/ProjectNotExist/);
        expect(r.stdout).not.toContain(READER.secret);
      } finally {
        await served.stop();
      }
      served = await serveContainerFiles({ namespace: NS, pod, container: 'loongcollector', files: {}, log: 'failed to send request errorCode:WriteQuotaExceed\n' });
      try {
        const { doc } = await verify(['--only', 'collector', '--only', 'metrics']);
        const f = doc.results.find((x) => x.id === 'collector.logs' && x.status === 'failed')!;
        expect(f.message).toMatch(/WriteQuotaExceed/);
        expect(f.evidence![0]).toMatch(/^stdout log \(exec: /);
      } finally {
        await served.stop();
      }
    });
  });

  it('install ends with verify: not arriving is a named reason and exit 1, arriving is exit 0, --no-verify skips it', async () => {
    const NS2 = 'verify-e2e-install';
    const REL2 = 'verify-e2e-install';
    const ID2 = 'verify-e2e-c2';
    const args = async (...extra: string[]) => ['install', '--release', REL2, '-n', NS2, '--chart', await chartTgz('1.0.0'), '-f', writeValues(requiredValues(ID2)), '--skip-preflight', '--timeout', '90s', '-o', 'json', ...extra];
    // One copy of the chart per cluster: the release the other tests used goes first.
    await cleanup(RELEASE, NS, CLUSTER_ID);
    await cleanup(REL2, NS2, ID2);
    try {
      // Nothing with this cluster id arrives: the install says so and exits 1; the release stays.
      await seeded({ clusterId: 'some-other-cluster' });
      let r = await cli(await args('--verify-wait', '0s'), { env });
      expect(r.exitCode, r.stderr).toBe(1);
      let out = parseJson<{ release: string; verify?: Doc }>(r);
      expect(out.release, r.stdout).toBe(REL2);
      expect((await helm(['status', REL2, '-n', NS2, '-o', 'json'])).stdout).toContain('"status":"deployed"');
      expect(fatal(out.verify!).map((x) => x.id)).toEqual(['metrics.cluster-label', 'entities.cluster']);
      expect(fatal(out.verify!)[0]!.evidence!.join('\n')).toContain('cluster_id=some-other-cluster');
      expect(r.stdout + r.stderr).not.toContain(READER.secret);
      await cleanup(REL2, NS2, ID2);

      // This cluster's collector sends: installed means arriving.
      await seeded({ clusterId: ID2 });
      r = await cli(await args(), { env });
      expect(r.exitCode, r.stderr + r.stdout).toBe(0);
      out = parseJson(r);
      expect(out.verify!.exitCode).toBe(0);
      expect(out.verify!.clusterId).toBe(ID2);
      await cleanup(REL2, NS2, ID2);

      // The collector's key may write, not read: nothing is known about the data, which is not a failed install.
      r = await cli(await args('--access-key-id', WRITER.accessKeyId), { env: { ...env, ALIBABA_CLOUD_ACCESS_KEY_SECRET: WRITER.secret } });
      expect(r.exitCode, r.stderr + r.stdout).toBe(0);
      const nv = parseJson<{ verify: Doc & { notVerified?: string } }>(r).verify;
      expect(nv.notVerified).toMatch(/may not read the workspace/);
      expect(r.stdout + r.stderr).not.toContain(WRITER.secret);
      await cleanup(REL2, NS2, ID2);

      r = await cli(await args('--no-verify'), { env });
      expect(r.exitCode).toBe(0);
      expect(parseJson<{ verify?: unknown }>(r).verify).toBeUndefined();
    } finally {
      await seeded({});
      await cleanup(REL2, NS2, ID2);
    }
  });
});
