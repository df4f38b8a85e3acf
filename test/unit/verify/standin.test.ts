// verify with its real cloud clients (GetPrometheusInstance, the Prometheus query API, GetEntityStoreData)
// against the loopback stand-in, which checks the Bearer token, the AK Basic password and the ACS3
// signature (body hash included) as the real services do. The cluster side is a fake; the e2e suite runs
// the same flow on the local cluster. Traffic goes to 127.0.0.1 only, through endpoint overrides.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCloud, runVerify } from '../../../src/actions/verify.js';
import { Secret } from '../../../src/secret.js';
import { aliyunNames, generatePki } from '../../support/cloud-standin/pki.js';
import { seedCluster, type SeedOptions } from '../../support/cloud-standin/seed.js';
import { startCloudStandin, type CloudStandin } from '../../support/cloud-standin/server.js';
import { fakeCluster, node, pod, type FakeWorld } from './fake.js';

const REGION = 'cn-hangzhou';
const WS = 'ws-verify';
const CLUSTER = 'c9verify0001';
const READER = { accessKeyId: 'LTAI5tVerifyReader001', secret: 'VerifyReaderSecret-0123456789abcd' };
const WRITER = { accessKeyId: 'LTAI5tVerifyWriter001', secret: 'VerifyWriterSecret-0123456789abcd' };
const TOKEN = 'eyJverify-instance-token-0123456789';
const BASIC_INST = 'rw-verify-basic';
const TOKEN_INST = 'rw-verify-token';

let standin: CloudStandin;
const world: FakeWorld = {
  nodes: [node('kwok-node-0', '10.200.0.10'), node('kwok-node-1', '10.200.0.11'), node('kwok-node-2', '10.200.0.12')],
  pods: ['kwok-node-0', 'kwok-node-1', 'kwok-node-2'].map((n) => pod(`cms-node-exporter-${n}`, n)).concat([pod('cms-kube-state-metrics-1', 'kwok-node-0'), pod('cms-loongcollector-cluster-1', 'kwok-node-1', 'loongcollector')]),
  daemonSets: [{ metadata: { name: 'cms-node-exporter' } }],
  deployments: [{ metadata: { name: 'cms-kube-state-metrics' } }],
  series: [],
  entities: [],
};

function seed(o: Partial<SeedOptions> = {}) {
  const s = seedCluster({
    clusterId: CLUSTER,
    nodes: world.nodes.map((n) => ({ name: n.metadata!.name!, ip: n.status!.addresses![0]!.address })),
    pods: world.pods.map((p) => ({ name: p.metadata!.name!, namespace: 'cms-monitoring', node: p.spec!.nodeName! })),
    now: Date.now(),
    ...o,
  });
  for (const id of [BASIC_INST, TOKEN_INST]) standin.setMetrics(id, s.series);
  standin.setEntities(WS, s.entities, { region: REGION });
}

beforeAll(async () => {
  standin = await startCloudStandin({
    pki: generatePki(aliyunNames([REGION])),
    users: [
      { ...READER, allowedActions: ['cms:*', 'log:QueryMetrics', 'log:QueryPrometheusMetrics'] },
      // The collector's key: it may write and look up the instance, not read metrics.
      { ...WRITER, allowedActions: ['cms:GetPrometheusInstance', 'cms:GetEntityStoreData', 'log:RemoteWrite*', 'log:Get*'] },
    ],
    prometheusInstances: [
      { id: BASIC_INST, region: REGION, workspace: WS },
      { id: TOKEN_INST, region: REGION, workspace: WS, authToken: TOKEN },
    ],
  });
});
afterAll(async () => standin?.close());

async function verify(user: { accessKeyId: string; secret: string }, instance = BASIC_INST, extra: { waitMs?: number } = {}) {
  return runVerify(
    {
      input: { namespace: 'cms-monitoring', release: 'r', clusterId: CLUSTER, region: REGION, workspace: WS, prometheusInstanceId: instance, net: 'Internet', creds: { accessKeyId: user.accessKeyId, accessKeySecret: new Secret(user.secret) }, overrides: standin.overrides(), timeoutMs: 5000, staleAfterMs: 180_000, logLines: 200 },
      cluster: () => fakeCluster(world),
      cloud: await defaultCloud(),
      failOn: 'fatal',
      waitMs: extra.waitMs ?? 0,
      intervalMs: 10,
    },
    { progress: () => {}, waiting: () => {} },
  );
}
const fatal = (r: Awaited<ReturnType<typeof verify>>) => r.report.results.filter((x) => x.status === 'failed' && x.severity === 'fatal');

describe('verify against the stand-in', () => {
  it('all arriving: AK Basic auth on an instance without a token, and the secret only in that header', async () => {
    seed();
    const before = standin.requests.length;
    const r = await verify(READER);
    expect(fatal(r), JSON.stringify(fatal(r), null, 1)).toEqual([]);
    expect(r.exitCode).toBe(0);
    const reqs = standin.requests.slice(before);
    const prom = reqs.filter((q) => q.url.includes('/api/v1/'));
    expect(prom.length).toBeGreaterThan(3);
    expect(new Set(prom.map((q) => q.scheme))).toEqual(new Set(['Basic']));
    expect(new Set(reqs.filter((q) => !q.url.includes('/api/v1/')).map((q) => q.scheme))).toEqual(new Set(['ACS3']));
    // The secret goes nowhere but the Basic header the protocol requires (and never in clear text).
    for (const q of reqs) {
      const { authorization, ...rest } = q.headers;
      expect(JSON.stringify(rest) + q.url).not.toContain(READER.secret);
      if (q.scheme === 'ACS3') expect(authorization).not.toContain(READER.secret);
    }
    expect(JSON.stringify(r.report)).not.toContain(READER.secret);
  });

  it('an instance with a token is queried with Bearer, and the token never reaches the report', async () => {
    seed();
    const before = standin.requests.length;
    const r = await verify(READER, TOKEN_INST);
    expect(fatal(r)).toEqual([]);
    const prom = standin.requests.slice(before).filter((q) => q.url.includes('/api/v1/'));
    expect(new Set(prom.map((q) => q.scheme))).toEqual(new Set(['Bearer']));
    expect(r.report.results.find((x) => x.id === 'metrics.instance')!.message).toContain('token auth (Bearer)');
    expect(JSON.stringify(r.report)).not.toContain(TOKEN);
  });

  it('one job missing: only that source fails', async () => {
    seed({ missing: ['kube-state-metrics'] });
    expect(fatal(await verify(READER)).map((x) => x.object)).toEqual(['source/kube-state-metrics']);
  });

  it('stale samples: named stale, not missing', async () => {
    seed({ staleMs: { 'node-exporter': 20 * 60_000 } });
    const f = fatal(await verify(READER));
    expect(f.map((x) => x.object)).toContain('source/node-exporter');
    expect(f.find((x) => x.object === 'source/node-exporter')!.message).toMatch(/stale/);
  });

  it('two nodes silent: named', async () => {
    seed({ silentNodes: ['kwok-node-1', 'kwok-node-2'] });
    const f = fatal(await verify(READER)).find((x) => x.id === 'metrics.nodes')!;
    expect(f.message).toBe('2 of 3 nodes send no node metrics: kwok-node-1, kwok-node-2');
  });

  it('the key without read permission: "cannot read metrics" with the policy, not "no data"', async () => {
    seed();
    const r = await verify(WRITER, BASIC_INST, { waitMs: 60_000 });
    const f = fatal(r);
    expect(f[0]!.id).toBe('metrics.cluster-label');
    expect(f[0]!.message).toMatch(/^this key cannot read metrics \(HTTP 403/);
    expect(f[0]!.hint).toContain('AliyunPrometheusMetricReadAccess');
    expect(JSON.stringify(r.report)).not.toMatch(/no .* series/);
    expect(r.runs).toBe(1);
  });

  it('a wrong secret is a wrong secret', async () => {
    seed();
    const f = fatal(await verify({ ...READER, secret: 'WrongSecret-000000000000000000' }));
    expect(f[0]!.id).toBe('metrics.instance');
    expect(f[0]!.message).toMatch(/secret does not match|signature/i);
  });

  it('the entity missing: entities.cluster says so', async () => {
    seed({ noClusterEntity: true });
    const f = fatal(await verify(READER));
    expect(f.map((x) => x.id)).toEqual(['entities.cluster']);
  });

  it('an instance shared with a much bigger cluster: ours is still found', async () => {
    const big = seedCluster({ clusterId: 'c-big-neighbour', nodes: Array.from({ length: 600 }, (_, i) => ({ name: `big-${i}`, ip: `10.9.${i >> 8}.${i & 255}` })), pods: [], now: Date.now() });
    const ours = seedCluster({ clusterId: CLUSTER, nodes: world.nodes.map((n) => ({ name: n.metadata!.name!, ip: n.status!.addresses![0]!.address })), pods: world.pods.map((p) => ({ name: p.metadata!.name!, namespace: 'cms-monitoring', node: p.spec!.nodeName! })), now: Date.now() });
    standin.setMetrics(BASIC_INST, [...big.series, ...ours.series]);
    standin.setEntities(WS, ours.entities, { region: REGION });
    const r = await verify(READER);
    expect(fatal(r), JSON.stringify(fatal(r))).toEqual([]);
  });

  it('another label name and a cluster id nobody sends', async () => {
    seed({ clusterLabel: 'k8s_cluster_id' });
    const r = await verify(READER);
    expect(fatal(r)).toEqual([]);
    expect(r.report.results.find((x) => x.id === 'metrics.cluster-label')!.message).toContain('k8s_cluster_id=');
    seed({ clusterId: 'c-other-cluster' });
    const f = fatal(await verify(READER)).find((x) => x.id === 'metrics.cluster-label')!;
    expect(f.message).toContain('no series of the last 1h carries the cluster id');
    expect(f.evidence!.join('\n')).toContain('cluster_id=c-other-cluster');
  });
});
