/**
 * The stand-in's GetPrometheusInstance answer and the Prometheus HTTP API behind it, over real TLS:
 * Bearer and Basic (MetricStore-compatible, STS form included) authentication with each failure,
 * the PromQL subset with Prometheus' staleness, aggregation, series and labels semantics.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../../src/secret.js';
import { signAcs3 } from '../../../src/cloud/signing.js';
import { send } from '../../../src/cloud/transport.js';
import { startCloudStandin, type CloudStandin, type Series } from '../../support/cloud-standin/server.js';

const REGION = 'cn-hangzhou';
const NOW = Date.parse('2025-03-01T12:00:00Z');
const S = (ms: number) => ms / 1000;

const FULL = { accessKeyId: 'LTAI5tPromFullAccess01', secret: 'prom-full-secret-0123456789abcdef' };
const NOPERM = { accessKeyId: 'LTAI5tPromNoQuery0001', secret: 'prom-noperm-secret-0123456789abc' };
const STS = { accessKeyId: 'STS.NTempPromKey00001', secret: 'prom-sts-secret-0123456789abcdef', securityToken: 'CAISstandinSecurityToken0123456789' };
const OFF = { accessKeyId: 'LTAI5tPromDisabled001', secret: 'prom-off-secret-0123456789abcdef' };
const TOKEN = 'eyJTANDIN-TOKEN-must-not-leak';

const INST = { id: 'rw-prom-0001', region: REGION, name: 'prom-main', workspace: 'ws-prom', authToken: TOKEN };
const PROJECT = 'cms-ws-prom-standin';
const STORE = 'aliyun-prom-rw-prom-0001';
const INTER = `https://${PROJECT}.${REGION}.log.aliyuncs.com/prometheus/${PROJECT}/${STORE}`;
const INTRA = `https://${PROJECT}.${REGION}-intranet.log.aliyuncs.com/prometheus/${PROJECT}/${STORE}`;
// Token configured but switched off; and no token at all (with explicit project/store).
const OFFTOKEN = { id: 'rw-prom-0002', region: REGION, workspace: 'ws-prom', authToken: 'tok-disabled-0002', enableAuthToken: false };
const NOTOKEN = { id: 'rw-prom-0003', region: REGION, project: 'my-metrics-proj', metricstore: 'k8s-metrics' };
const OVERRIDDEN = { id: 'rw-prom-0004', region: REGION, httpApiUrl: 'https://prom.example.internal/api/prom' };

let standin: CloudStandin;

/** Series as a test computes them from a cluster: three nodes (one gone for 10 minutes), three pods. */
const SERIES: Series[] = [
  { labels: { __name__: 'kube_node_info', node: 'n1', cluster: 'c1' }, samples: [{ t: NOW - 90_000, v: 1 }, { t: NOW - 30_000, v: 1 }] },
  { labels: { __name__: 'kube_node_info', node: 'n2', cluster: 'c1' }, samples: [{ t: NOW - 60_000, v: 1 }] },
  { labels: { __name__: 'kube_node_info', node: 'n3', cluster: 'c1' }, samples: [{ t: NOW - 10 * 60_000, v: 1 }] },
  { labels: { __name__: 'kube_pod_info', pod: 'p1', node: 'n1', namespace: 'kube-system' }, samples: [{ t: NOW - 15_000, v: 1 }] },
  { labels: { __name__: 'kube_pod_info', pod: 'p2', node: 'n1', namespace: 'default' }, samples: [{ t: NOW - 15_000, v: 1 }] },
  { labels: { __name__: 'kube_pod_info', pod: 'p3', node: 'n2', namespace: 'kube-system' }, samples: [{ t: NOW - 15_000, v: 1 }] },
  { labels: { __name__: 'up', job: 'kubelet', instance: 'n1' }, samples: [{ t: NOW - 20_000, v: 1 }] },
  { labels: { __name__: 'up', job: 'kubelet', instance: 'n2' }, samples: [{ t: NOW - 20_000, v: 0 }] },
  // A sample in the future of the evaluation time is not seen.
  { labels: { __name__: 'up', job: 'kubelet', instance: 'n9' }, samples: [{ t: NOW + 60_000, v: 1 }] },
  // Same labels apart from the name: functions that drop __name__ must refuse to merge them.
  { labels: { __name__: 'node_a', node: 'n1' }, samples: [{ t: NOW - 10_000, v: 2 }] },
  { labels: { __name__: 'node_b', node: 'n1' }, samples: [{ t: NOW - 10_000, v: 3 }] },
];

beforeAll(async () => {
  standin = await startCloudStandin({
    now: () => new Date(NOW),
    users: [
      { ...FULL, allowedActions: ['log:*', 'cms:*'], accountId: '1111222233334444' },
      { ...NOPERM, allowedActions: ['log:Get*', 'cms:*'], accountId: '1111222233334444' },
      { ...STS, allowedActions: ['log:QueryMetrics'] },
      { ...OFF, allowedActions: ['*'], disabled: true },
    ],
    projects: [{ name: 'plain-sls-proj', region: REGION }],
    prometheusInstances: [INST, OFFTOKEN, NOTOKEN, OVERRIDDEN],
  });
  standin.setMetrics(INST.id, SERIES);
  standin.setMetrics(OFFTOKEN.id, SERIES.slice(0, 1));
  standin.setMetrics(NOTOKEN.id, SERIES.slice(6, 8));
});
afterAll(async () => standin?.close());

const basic = (id: string, password: string) => `Basic ${Buffer.from(`${id}:${password}`).toString('base64')}`;
const FULL_BASIC = basic(FULL.accessKeyId, FULL.secret);

async function prom(endpoint: string, params: [string, string][] = [], o: { auth?: string | null; method?: 'GET' | 'POST'; base?: string } = {}) {
  const base = new URL(o.base ?? INTER);
  const qs = new URLSearchParams(params).toString();
  const method = o.method ?? 'GET';
  const headers: Record<string, string> = {};
  if (o.auth !== null) headers.authorization = o.auth ?? FULL_BASIC;
  let path = `${base.pathname}${endpoint}`;
  let body: Uint8Array | undefined;
  if (method === 'GET') {
    if (qs) path += `?${qs}`;
  } else {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = Buffer.from(qs);
  }
  const r = await send({ service: 'sls', host: base.hostname, method, path, headers, ...(body ? { body } : {}) }, { overrides: standin.overrides(), timeoutMs: 5000 });
  if (!r.ok) throw new Error(r.error.message);
  return { status: r.response.status, json: JSON.parse(r.response.body.toString('utf8')) };
}

const query = (q: string, extra: [string, string][] = [], o: Parameters<typeof prom>[2] = {}) => prom('/api/v1/query', [['query', q], ...extra], o);

/** The result as `labels -> value`, for order-free comparison. */
async function vector(q: string, extra: [string, string][] = []) {
  const r = await query(q, extra);
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  expect(r.json).toMatchObject({ status: 'success', data: { resultType: 'vector' } });
  return r.json.data.result as { metric: Record<string, string>; value: [number, string] }[];
}

async function getInstance(id: string) {
  const host = `cms.${REGION}.aliyuncs.com`;
  const signed = signAcs3(
    { method: 'GET', host, path: `/prometheus-instances/${id}`, action: 'GetPrometheusInstance', version: '2024-03-30', date: new Date(NOW), nonce: randomUUID() },
    { accessKeyId: FULL.accessKeyId, accessKeySecret: new Secret(FULL.secret) },
  );
  const r = await send({ service: 'cms', host, method: 'GET', path: signed.path, headers: signed.headers }, { overrides: standin.overrides(), timeoutMs: 5000 });
  if (!r.ok) throw new Error(r.error.message);
  return { status: r.response.status, json: JSON.parse(r.response.body.toString('utf8')) };
}

describe('GetPrometheusInstance', () => {
  it('reports the HTTP API URLs, the token and enableAuthToken', async () => {
    const r = await getInstance(INST.id);
    expect(r.status).toBe(200);
    expect(r.json.prometheusInstance).toMatchObject({
      prometheusInstanceId: INST.id,
      prometheusInstanceName: 'prom-main',
      workspace: 'ws-prom',
      httpApiInterUrl: INTER,
      httpApiIntraUrl: INTRA,
      authToken: TOKEN,
      enableAuthToken: true,
    });
  });

  it('a disabled token is still reported, with enableAuthToken false; no token means no authToken field', async () => {
    expect((await getInstance(OFFTOKEN.id)).json.prometheusInstance).toMatchObject({ authToken: 'tok-disabled-0002', enableAuthToken: false });
    const none = (await getInstance(NOTOKEN.id)).json.prometheusInstance;
    expect(none).not.toHaveProperty('authToken');
    expect(none).toMatchObject({
      enableAuthToken: false,
      workspace: 'default-cms-workspace',
      httpApiInterUrl: `https://my-metrics-proj.${REGION}.log.aliyuncs.com/prometheus/my-metrics-proj/k8s-metrics`,
      httpApiIntraUrl: `https://my-metrics-proj.${REGION}-intranet.log.aliyuncs.com/prometheus/my-metrics-proj/k8s-metrics`,
    });
  });

  it('httpApiUrl overrides both reported URLs', async () => {
    expect((await getInstance(OVERRIDDEN.id)).json.prometheusInstance).toMatchObject({ httpApiInterUrl: OVERRIDDEN.httpApiUrl, httpApiIntraUrl: OVERRIDDEN.httpApiUrl });
  });
});

describe('Prometheus API authentication', () => {
  it('Bearer with the instance token is accepted and recorded as Bearer', async () => {
    const r = await query('up', [], { auth: `Bearer ${TOKEN}` });
    expect(r.status).toBe(200);
    expect(standin.requests.at(-1)).toMatchObject({ host: `${PROJECT}.${REGION}.log.aliyuncs.com`, scheme: 'Bearer', status: 200 });
    expect(standin.requests.at(-1)).not.toHaveProperty('accessKeyId');
    // Headers are kept as received: this is the one place the token may appear.
    expect(standin.requests.at(-1)!.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('Bearer with another token, with a disabled token, or on an instance without one -> 401', async () => {
    const bad = await query('up', [], { auth: 'Bearer eyJ-not-the-token' });
    expect(bad).toMatchObject({ status: 401, json: { errorCode: 'Unauthorized' } });
    expect(JSON.stringify(bad.json)).not.toContain('eyJ');
    const off = await query('up', [], { auth: 'Bearer tok-disabled-0002', base: `https://${PROJECT}.${REGION}.log.aliyuncs.com/prometheus/${PROJECT}/aliyun-prom-rw-prom-0002` });
    expect(off).toMatchObject({ status: 401, json: { errorCode: 'Unauthorized', errorMessage: expect.stringMatching(/not enabled/) } });
    const none = await query('up', [], { auth: `Bearer ${TOKEN}`, base: `https://my-metrics-proj.${REGION}.log.aliyuncs.com/prometheus/my-metrics-proj/k8s-metrics` });
    expect(none.status).toBe(401);
  });

  it('Basic with AccessKeyId and secret is accepted, on the Internet and the intranet host', async () => {
    expect((await query('up')).status).toBe(200);
    expect(standin.requests.at(-1)).toMatchObject({ scheme: 'Basic', accessKeyId: FULL.accessKeyId, status: 200 });
    expect((await query('up', [], { base: INTRA })).status).toBe(200);
    expect(standin.requests.at(-1)?.host).toBe(`${PROJECT}.${REGION}-intranet.log.aliyuncs.com`);
  });

  it('Basic with a wrong secret -> 401 saying the password is not the secret, echoing neither', async () => {
    const wrong = 'wrong-secret-000000000000000000';
    const r = await query('up', [], { auth: basic(FULL.accessKeyId, wrong) });
    expect(r).toMatchObject({ status: 401, json: { errorCode: 'Unauthorized', errorMessage: expect.stringMatching(/password mismatch.*secret/i) } });
    expect(JSON.stringify(r.json)).not.toContain(wrong);
    expect(JSON.stringify(r.json)).not.toContain(FULL.secret);
  });

  it('Basic with an unknown or disabled key -> 401 "AccessKeyId not found" / "disabled"', async () => {
    expect(await query('up', [], { auth: basic('LTAI5tNobodyKnowsThis1', 'x') })).toMatchObject({
      status: 401,
      json: { errorCode: 'Unauthorized', errorMessage: 'AccessKeyId not found: LTAI5tNobodyKnowsThis1' },
    });
    expect(await query('up', [], { auth: basic(OFF.accessKeyId, OFF.secret) })).toMatchObject({ status: 401, json: { errorMessage: expect.stringMatching(/disabled/) } });
  });

  it('Basic with a key lacking log:QueryMetrics -> 403 "denied by sts or ram" naming the metricstore', async () => {
    const r = await query('up', [], { auth: basic(NOPERM.accessKeyId, NOPERM.secret) });
    expect(r).toMatchObject({
      status: 403,
      json: { errorCode: 'Unauthorized', errorMessage: `denied by sts or ram, action: log:QueryMetrics, resource: acs:log:${REGION}:1111222233334444:project/${PROJECT}/metricstore/${STORE}` },
    });
  });

  it('STS keys: the password is <secret>$<securityToken>; without or with a wrong token -> 401', async () => {
    expect((await query('up', [], { auth: basic(STS.accessKeyId, `${STS.secret}$${STS.securityToken}`) })).status).toBe(200);
    expect(standin.requests.at(-1)).toMatchObject({ scheme: 'Basic', accessKeyId: STS.accessKeyId });
    expect(await query('up', [], { auth: basic(STS.accessKeyId, STS.secret) })).toMatchObject({ status: 401, json: { errorMessage: expect.stringMatching(/SecurityToken is missing/) } });
    expect(await query('up', [], { auth: basic(STS.accessKeyId, `${STS.secret}$CAISwrong`) })).toMatchObject({ status: 401, json: { errorMessage: expect.stringMatching(/SecurityToken is invalid/) } });
    const r = await query('up', [], { auth: basic(STS.accessKeyId, `not-it$${STS.securityToken}`) });
    expect(r).toMatchObject({ status: 401, json: { errorMessage: expect.stringMatching(/password mismatch/) } });
    expect(JSON.stringify(r.json)).not.toContain(STS.securityToken);
  });

  it('no Authorization, or an unsupported scheme -> 401', async () => {
    expect(await query('up', [], { auth: null })).toMatchObject({ status: 401, json: { errorCode: 'Unauthorized' } });
    expect(standin.requests.at(-1)).not.toHaveProperty('scheme');
    expect((await query('up', [], { auth: 'Digest username="x"' })).status).toBe(401);
  });

  it('unknown project -> 404 ProjectNotExist; unknown metricstore of a known project -> 404 MetricStoreNotExist', async () => {
    expect(await query('up', [], { base: `https://nosuchproj.${REGION}.log.aliyuncs.com/prometheus/nosuchproj/${STORE}` })).toMatchObject({ status: 404, json: { errorCode: 'ProjectNotExist' } });
    expect(await query('up', [], { base: `https://${PROJECT}.${REGION}.log.aliyuncs.com/prometheus/${PROJECT}/no-such-store` })).toMatchObject({ status: 404, json: { errorCode: 'MetricStoreNotExist' } });
    expect(await query('up', [], { base: `https://plain-sls-proj.${REGION}.log.aliyuncs.com/prometheus/plain-sls-proj/k8s` })).toMatchObject({ status: 404, json: { errorCode: 'MetricStoreNotExist' } });
    // Host and path must name the same project.
    expect(await query('up', [], { base: `https://plain-sls-proj.${REGION}.log.aliyuncs.com/prometheus/${PROJECT}/${STORE}` })).toMatchObject({ status: 404, json: { errorCode: 'ProjectNotExist' } });
  });

  it('each instance serves its own series', async () => {
    const r = await query('up', [], { base: `https://my-metrics-proj.${REGION}.log.aliyuncs.com/prometheus/my-metrics-proj/k8s-metrics` });
    expect(r.json.data.result.map((x: any) => x.metric.instance).sort()).toEqual(['n1', 'n2']);
    const off = await query('kube_pod_info', [], { base: `https://${PROJECT}.${REGION}.log.aliyuncs.com/prometheus/${PROJECT}/aliyun-prom-rw-prom-0002` });
    expect(off.json.data.result).toEqual([]);
  });
});

describe('PromQL subset', () => {
  const byNode = (r: { metric: Record<string, string>; value: [number, string] }[]) => Object.fromEntries(r.map((x) => [x.metric.node ?? '', x.value[1]]));

  it('an instant selector: newest sample within 5 minutes, at the evaluation time, __name__ kept', async () => {
    const r = await vector('kube_node_info');
    expect(r.map((x) => x.metric.node).sort()).toEqual(['n1', 'n2']);
    expect(r.find((x) => x.metric.node === 'n1')).toEqual({ metric: { __name__: 'kube_node_info', node: 'n1', cluster: 'c1' }, value: [S(NOW), '1'] });
  });

  it('staleness: a sample 10 minutes old is absent from the selector and timestamp(), present in last_over_time(x[1h])', async () => {
    const ts = await vector('timestamp(kube_node_info)');
    expect(ts).toEqual([
      { metric: { cluster: 'c1', node: 'n1' }, value: [S(NOW), String(S(NOW - 30_000))] },
      { metric: { cluster: 'c1', node: 'n2' }, value: [S(NOW), String(S(NOW - 60_000))] },
    ]);
    const last = await vector('last_over_time(kube_node_info[1h])');
    expect(last.map((x) => x.metric)).toEqual([
      { cluster: 'c1', node: 'n1' },
      { cluster: 'c1', node: 'n2' },
      { cluster: 'c1', node: 'n3' },
    ]);
    expect((await vector('last_over_time(kube_node_info[5m])')).length).toBe(2);
    expect((await vector('last_over_time(kube_node_info[1h30m])')).length).toBe(3);
  });

  it('timestamp() of anything but a selector is the evaluation time', async () => {
    const r = await vector('timestamp(last_over_time(kube_node_info[1h]))');
    expect(r.map((x) => x.value)).toEqual([
      [S(NOW), String(S(NOW))],
      [S(NOW), String(S(NOW))],
      [S(NOW), String(S(NOW))],
    ]);
  });

  it('the time parameter moves the evaluation: 9 minutes ago only n3 was fresh', async () => {
    const t = NOW - 9 * 60_000;
    const r = await vector('timestamp(kube_node_info)', [['time', String(S(t))]]);
    expect(r).toEqual([{ metric: { cluster: 'c1', node: 'n3' }, value: [S(t), String(S(NOW - 10 * 60_000))] }]);
    // RFC 3339 works too; a minute and a second ago n2 had no sample yet, n1 only its older one.
    const rfc = await vector('timestamp(kube_node_info)', [['time', new Date(NOW - 61_000).toISOString()]]);
    expect(rfc).toEqual([{ metric: { cluster: 'c1', node: 'n1' }, value: [S(NOW - 61_000), String(S(NOW - 90_000))] }]);
    expect((await vector('up')).map((x) => x.metric.instance)).not.toContain('n9');
  });

  it('count/sum/max/min with by (...) before or after the argument, and without (...)', async () => {
    expect(byNode(await vector('count by (node) (kube_pod_info)'))).toEqual({ n1: '2', n2: '1' });
    expect(byNode(await vector('count(kube_pod_info) by (node)'))).toEqual({ n1: '2', n2: '1' });
    expect(await vector('count without (pod, namespace) (kube_pod_info)')).toEqual([
      { metric: { node: 'n1' }, value: [S(NOW), '2'] },
      { metric: { node: 'n2' }, value: [S(NOW), '1'] },
    ]);
    expect(await vector('count(kube_node_info)')).toEqual([{ metric: {}, value: [S(NOW), '2'] }]);
    expect((await vector('sum(up)'))[0]!.value[1]).toBe('1');
    expect((await vector('max(up)'))[0]!.value[1]).toBe('1');
    expect((await vector('min(up)'))[0]!.value[1]).toBe('0');
    expect(await vector('sum by (job) (up)')).toEqual([{ metric: { job: 'kubelet' }, value: [S(NOW), '1'] }]);
    expect(byNode(await vector('count by (node) (last_over_time(kube_node_info[1h]))'))).toEqual({ n1: '1', n2: '1', n3: '1' });
    expect(await vector('count(nothing_here)')).toEqual([]);
  });

  it('label matchers: =, !=, =~ and !~ (anchored), {__name__=...}', async () => {
    const pods = async (q: string) => (await vector(q)).map((x) => x.metric.pod).sort();
    expect(await pods('kube_pod_info{namespace="kube-system"}')).toEqual(['p1', 'p3']);
    expect(await pods('kube_pod_info{namespace!="kube-system"}')).toEqual(['p2']);
    expect(await pods('kube_pod_info{namespace=~"kube-.*"}')).toEqual(['p1', 'p3']);
    expect(await pods('kube_pod_info{namespace=~"kube"}')).toEqual([]);
    expect(await pods("kube_pod_info{namespace!~'kube-.*', node='n1'}")).toEqual(['p2']);
    expect(await pods('{__name__="kube_pod_info", pod=~"p[12]",}')).toEqual(['p1', 'p2']);
    expect((await vector('{__name__=~"kube_.*_info", node="n2"}')).map((x) => x.metric.__name__).sort()).toEqual(['kube_node_info', 'kube_pod_info']);
    // A missing label matches as "".
    expect((await vector('up{cluster=""}')).length).toBe(2);
  });

  it('GET and POST (form body) give the same answer', async () => {
    const get = await query('count by (node) (kube_pod_info)');
    const post = await query('count by (node) (kube_pod_info)', [], { method: 'POST' });
    expect(post).toEqual(get);
  });

  it('bad or unsupported PromQL -> 400 bad_data; a label set collision -> 422 execution', async () => {
    for (const q of ['count(', 'kube_pod_info{node="n1"', 'rate(up[5m])', 'up > 0', '1', '{}', '{node=~".*"}', 'up[5m]', 'timestamp(up[5m])', 'last_over_time(up)', 'sum(up[5m])', 'avg(up)', 'up offset 5m', 'up{node=~"("}', '', 'up[5x]', 'foo{__name__="bar"}']) {
      const r = await query(q);
      expect(r.status, q).toBe(400);
      expect(r.json, q).toMatchObject({ status: 'error', errorType: 'bad_data', error: expect.any(String) });
    }
    expect((await query('rate(up[5m])')).json.error).toMatch(/not supported by the stand-in/);
    expect(await query('timestamp({__name__=~"node_a|node_b"})')).toMatchObject({ status: 422, json: { errorType: 'execution', error: 'vector cannot contain metrics with the same labelset' } });
    expect((await vector('{__name__=~"node_a|node_b"}')).length).toBe(2);
    expect(await query('up', [['time', 'yesterday']])).toMatchObject({ status: 400, json: { errorType: 'bad_data' } });
  });
});

describe('series and labels', () => {
  const series = (params: [string, string][]) => prom('/api/v1/series', params);

  it('series matching any match[] with a sample in [start, end] (default: the last 5 minutes)', async () => {
    const r = await series([['match[]', 'kube_node_info']]);
    expect(r.json).toEqual({
      status: 'success',
      data: [
        { __name__: 'kube_node_info', cluster: 'c1', node: 'n1' },
        { __name__: 'kube_node_info', cluster: 'c1', node: 'n2' },
      ],
    });
    const hour = await series([
      ['match[]', 'kube_node_info'],
      ['start', String(S(NOW - 3_600_000))],
    ]);
    expect(hour.json.data.map((x: any) => x.node)).toEqual(['n1', 'n2', 'n3']);
    const both = await series([
      ['match[]', 'up'],
      ['match[]', 'kube_pod_info{pod="p1"}'],
    ]);
    expect(both.json.data.map((x: any) => x.__name__).sort()).toEqual(['kube_pod_info', 'up', 'up']);
    const post = await prom('/api/v1/series', [['match[]', 'kube_node_info']], { method: 'POST' });
    expect(post.json).toEqual(r.json);
  });

  it('limit truncates and warns', async () => {
    const r = await series([
      ['match[]', 'kube_pod_info'],
      ['limit', '2'],
    ]);
    expect(r.json).toMatchObject({ status: 'success', warnings: ['results truncated due to limit'] });
    expect(r.json.data).toHaveLength(2);
    const exact = await series([
      ['match[]', 'kube_pod_info'],
      ['limit', '3'],
    ]);
    expect(exact.json.data).toHaveLength(3);
    expect(exact.json).not.toHaveProperty('warnings');
  });

  it('series without match[], or with a non-selector -> 400 bad_data', async () => {
    expect(await series([])).toMatchObject({ status: 400, json: { errorType: 'bad_data', error: 'no match[] parameter provided' } });
    expect(await series([['match[]', 'count(up)']])).toMatchObject({ status: 400, json: { errorType: 'bad_data' } });
    expect(await series([['match[]', 'up'], ['limit', '-1']])).toMatchObject({ status: 400 });
    expect(
      await series([
        ['match[]', 'up'],
        ['start', String(S(NOW))],
        ['end', String(S(NOW - 60_000))],
      ]),
    ).toMatchObject({ status: 400 });
  });

  it('labels: sorted names of the series in range, optionally matching match[]', async () => {
    expect((await prom('/api/v1/labels')).json).toEqual({ status: 'success', data: ['__name__', 'cluster', 'instance', 'job', 'namespace', 'node', 'pod'] });
    expect((await prom('/api/v1/labels', [['match[]', 'up']])).json.data).toEqual(['__name__', 'instance', 'job']);
  });

  it('other endpoints -> 404', async () => {
    expect((await prom('/api/v1/query_range', [['query', 'up']])).status).toBe(404);
  });
});
