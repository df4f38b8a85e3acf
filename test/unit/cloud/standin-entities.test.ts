/**
 * The stand-in's CMS 2.0 GetEntityStoreData over real TLS: ACS3 with the JSON body hashed, RAM,
 * the workspace, the `.entity with(...)` SPL subset, and matching by domain/type/field/time window.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../../src/secret.js';
import { signAcs3 } from '../../../src/cloud/signing.js';
import { send } from '../../../src/cloud/transport.js';
import { startCloudStandin, type CloudStandin, type StandinEntity } from '../../support/cloud-standin/server.js';

const REGION = 'cn-hangzhou';
const NOW = Date.parse('2025-03-01T12:00:00Z');
const SEC = (ms: number) => Math.floor(ms / 1000);
const WS = 'ws-entities';

const FULL = { accessKeyId: 'LTAI5tEntityFullKey01', secret: 'entity-full-secret-0123456789abc' };
const NOPERM = { accessKeyId: 'LTAI5tEntityNoPerm001', secret: 'entity-noperm-secret-0123456789' };

const CLUSTER: StandinEntity = {
  domain: 'k8s',
  type: 'k8s.cluster',
  entityId: 'e-cluster-c123',
  name: 'prod',
  fields: { cluster_id: 'c123', region_id: REGION },
  lastObservedMs: NOW - 30_000,
  firstObservedMs: NOW - 86_400_000,
  keepAliveSeconds: 300,
};
const OTHER_CLUSTER: StandinEntity = { domain: 'k8s', type: 'k8s.cluster', entityId: 'e-cluster-c999', name: 'staging', fields: { cluster_id: 'c999' }, lastObservedMs: NOW - 2 * 3_600_000 };
const NODE: StandinEntity = { domain: 'k8s', type: 'k8s.node', entityId: 'e-node-n1', name: 'n1', fields: { cluster_id: 'c123', zone: 'cn-hangzhou-h' }, lastObservedMs: NOW - 60_000 };
const ACS_CLUSTER: StandinEntity = { domain: 'acs', type: 'k8s.cluster', entityId: 'e-acs-c123', name: 'prod', fields: { cluster_id: 'c123' }, lastObservedMs: NOW - 30_000 };

let standin: CloudStandin;

beforeAll(async () => {
  standin = await startCloudStandin({
    now: () => new Date(NOW),
    users: [
      { ...FULL, allowedActions: ['cms:*'] },
      { ...NOPERM, allowedActions: ['cms:GetPrometheusInstance'], userName: 'noperm' },
    ],
    prometheusInstances: [{ id: 'rw-ent-1', region: REGION, workspace: 'ws-from-instance' }],
  });
  standin.setEntities(WS, [CLUSTER, OTHER_CLUSTER, NODE, ACS_CLUSTER]);
  standin.setEntities('ws-beijing-only', [CLUSTER], { region: 'cn-beijing' });
});
afterAll(async () => standin?.close());

interface CallOpts {
  ws?: string;
  user?: { accessKeyId: string; secret: string };
  /** Bytes sent instead of the signed body (a body hash mismatch). */
  sendBody?: string;
  contentType?: string | null;
  method?: string;
  action?: string;
}

async function call(body: unknown, o: CallOpts = {}) {
  const host = `cms.${REGION}.aliyuncs.com`;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const method = o.method ?? 'POST';
  const user = o.user ?? FULL;
  const signed = signAcs3(
    {
      method,
      host,
      path: `/workspace/${o.ws ?? WS}/entitiesAndRelations`,
      headers: o.contentType === null ? {} : { 'content-type': o.contentType ?? 'application/json' },
      body: text,
      action: o.action ?? 'GetEntityStoreData',
      version: '2024-03-30',
      date: new Date(NOW),
      nonce: randomUUID(),
    },
    { accessKeyId: user.accessKeyId, accessKeySecret: new Secret(user.secret) },
  );
  const r = await send({ service: 'cms', host, method, path: signed.path, headers: signed.headers, body: Buffer.from(o.sendBody ?? text) }, { overrides: standin.overrides(), timeoutMs: 5000 });
  if (!r.ok) throw new Error(r.error.message);
  return { status: r.response.status, json: JSON.parse(r.response.body.toString('utf8')) };
}

const window = { from: SEC(NOW - 3_600_000), to: SEC(NOW) };
const ids = (r: { json: { data: string[][] } }) => r.json.data.map((row) => row[0]).sort();

describe('GetEntityStoreData', () => {
  it('finds the cluster by cluster_id: fixed columns, then the field keys sorted, all values strings', async () => {
    const r = await call({ query: `.entity with(domain='k8s', type='k8s.cluster', query='cluster_id="c123"')`, ...window });
    expect(r.status).toBe(200);
    expect(r.json.requestId).toEqual(expect.any(String));
    expect(r.json.header).toEqual(['__entity_id__', '__domain__', '__entity_type__', 'name', '__first_observed_time__', '__last_observed_time__', '__keep_alive_seconds__', 'cluster_id', 'region_id']);
    expect(r.json.data).toEqual([['e-cluster-c123', 'k8s', 'k8s.cluster', 'prod', String(SEC(NOW - 86_400_000)), String(SEC(NOW - 30_000)), '300', 'c123', REGION]]);
    expect(standin.requests.at(-1)).toMatchObject({ host: `cms.${REGION}.aliyuncs.com`, method: 'POST', url: `/workspace/${WS}/entitiesAndRelations`, scheme: 'ACS3', accessKeyId: FULL.accessKeyId, status: 200 });
    expect(JSON.stringify(standin.requests.at(-1)!.headers)).not.toContain(FULL.secret);
  });

  it('matches on domain and type; double-quoted arguments with single-quoted terms work too', async () => {
    expect(ids(await call({ query: `.entity with(domain="k8s", type="k8s.cluster", query="cluster_id='c123'")`, ...window }))).toEqual(['e-cluster-c123']);
    expect(ids(await call({ query: `.entity with(domain='acs', type='k8s.cluster', query='cluster_id="c123"')`, ...window }))).toEqual(['e-acs-c123']);
    expect(ids(await call({ query: `.entity with(domain='k8s', type='k8s.node', query='cluster_id="c123"')`, ...window }))).toEqual(['e-node-n1']);
    expect(ids(await call({ query: `.entity with(domain='k8s', type='k8s.pod')`, ...window }))).toEqual([]);
  });

  it('terms joined by and, on fields, name and entity_id; a missing field never matches', async () => {
    const q = (inner: string) => call({ query: `.entity with(domain='k8s', type='k8s.cluster', query='${inner}')`, ...window });
    expect(ids(await q('cluster_id="c123" and name="prod"'))).toEqual(['e-cluster-c123']);
    expect(ids(await q('cluster_id="c123" and name="staging"'))).toEqual([]);
    expect(ids(await q('entity_id="e-cluster-c123"'))).toEqual(['e-cluster-c123']);
    expect(ids(await q('region_id="cn-hangzhou"'))).toEqual(['e-cluster-c123']);
    expect(ids(await q('zone="cn-hangzhou-h"'))).toEqual([]);
  });

  it('the last observation must fall in [from, to]; first observed and keep-alive default', async () => {
    const all = { query: `.entity with(domain='k8s', type='k8s.cluster')` };
    expect(ids(await call({ ...all, ...window }))).toEqual(['e-cluster-c123']);
    const wide = await call({ ...all, from: SEC(NOW - 3 * 3_600_000), to: SEC(NOW) });
    expect(ids(wide)).toEqual(['e-cluster-c123', 'e-cluster-c999']);
    expect(wide.json.data.find((row: string[]) => row[0] === 'e-cluster-c999')).toEqual([
      'e-cluster-c999',
      'k8s',
      'k8s.cluster',
      'staging',
      String(SEC(NOW - 2 * 3_600_000)),
      String(SEC(NOW - 2 * 3_600_000)),
      '60',
      'c999',
      '',
    ]);
    expect(ids(await call({ ...all, from: SEC(NOW - 3 * 3_600_000), to: SEC(NOW - 3_600_000) }))).toEqual(['e-cluster-c999']);
    expect(ids(await call({ ...all, from: SEC(NOW - 10_000), to: SEC(NOW) }))).toEqual([]);
  });

  it('missing query, from or to -> 400 MissingParameter', async () => {
    const q = `.entity with(domain='k8s', type='k8s.cluster')`;
    for (const [k, body] of [
      ['from', { query: q, to: window.to }],
      ['to', { query: q, from: window.from }],
      ['query', { ...window }],
    ] as const) {
      const r = await call(body);
      expect(r, k).toMatchObject({ status: 400, json: { Code: 'MissingParameter', Message: expect.stringContaining(`"${k}"`) } });
    }
    expect(await call({ query: q, from: '1700000000', to: window.to })).toMatchObject({ status: 400, json: { Code: 'InvalidParameter' } });
    expect(await call({ query: q, from: window.to, to: window.from })).toMatchObject({ status: 400, json: { Code: 'InvalidParameter' } });
    expect(await call('not json')).toMatchObject({ status: 400, json: { Code: 'InvalidParameter' } });
  });

  it('a body other than the one hashed -> 400 SignatureDoesNotMatch naming x-acs-content-sha256', async () => {
    const body = { query: `.entity with(domain='k8s', type='k8s.cluster')`, ...window };
    const r = await call(body, { sendBody: JSON.stringify({ ...body, from: 0 }) });
    expect(r).toMatchObject({ status: 400, json: { Code: 'SignatureDoesNotMatch', Message: expect.stringContaining('x-acs-content-sha256') } });
  });

  it('a key without cms:GetEntityStoreData -> 403 Forbidden.RAM with the action', async () => {
    const r = await call({ query: `.entity with(domain='k8s', type='k8s.cluster')`, ...window }, { user: NOPERM });
    expect(r).toMatchObject({ status: 403, json: { Code: 'Forbidden.RAM', AccessDeniedDetail: { AuthAction: 'cms:GetEntityStoreData', AuthPrincipalDisplayName: 'noperm' } } });
  });

  it('unknown workspace, or one in another region -> 404 WorkspaceNotExist; an instance workspace exists, empty', async () => {
    const body = { query: `.entity with(domain='k8s', type='k8s.cluster')`, ...window };
    expect(await call(body, { ws: 'no-such-ws' })).toMatchObject({ status: 404, json: { Code: 'WorkspaceNotExist', RequestId: expect.any(String) } });
    expect(await call(body, { ws: 'ws-beijing-only' })).toMatchObject({ status: 404, json: { Code: 'WorkspaceNotExist' } });
    expect(await call(body, { ws: 'ws-from-instance' })).toMatchObject({ status: 200, json: { data: [] } });
  });

  it('SPL outside the subset -> 400 InvalidParameter', async () => {
    for (const query of [
      '* | select 1',
      `.entity with(domain='k8s')`,
      `.entity with(domain='k8s', type='k8s.cluster') | limit 1`,
      `.entity with(domain='k8s', type='k8s.cluster', query='cluster_id="c123" or name="x"')`,
      `.entity with(domain='k8s', type='k8s.cluster', query='cluster_id=c123')`,
      `.entity with(domain='k8s', type='k8s.cluster', bogus='1')`,
      `.entity with(domain='k8s', type='k8s.cluster'`,
      `.entity with(domain='k8s, type='k8s.cluster')`,
    ]) {
      const r = await call({ query, ...window });
      expect(r, query).toMatchObject({ status: 400, json: { Code: 'InvalidParameter' } });
    }
  });

  it('wrong method, action or content type', async () => {
    const body = { query: `.entity with(domain='k8s', type='k8s.cluster')`, ...window };
    expect(await call(body, { method: 'PUT' })).toMatchObject({ status: 404, json: { Code: 'InvalidAction.NotFound' } });
    expect(await call(body, { action: 'GetEntities' })).toMatchObject({ status: 404, json: { Code: 'InvalidAction.NotFound' } });
    expect(await call(body, { contentType: 'text/plain' })).toMatchObject({ status: 400, json: { Code: 'InvalidParameter' } });
  });
});
