/**
 * The credential checks end to end over real TLS against the local stand-in, which verifies every
 * signature independently and answers with each service's documented errors. All traffic goes to
 * 127.0.0.1 through endpoint overrides; the real host names are what is signed and checked in TLS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LookupFunction } from 'node:net';
import { Secret } from '../../../src/secret.js';
import { getCallerIdentity, getPrometheusInstance, getSlsProject, type CloudCallOptions } from '../../../src/cloud/credentials.js';
import { startCloudStandin, type CloudStandin } from '../../support/cloud-standin/server.js';
import { aliyunNames, generatePki, type TestPki } from '../../support/cloud-standin/pki.js';
import { closedPort, startBlackHole, startPlainHttp } from '../../support/cloud-standin/faults.js';

const REGION = 'cn-hangzhou';
const PROJECT = 'k8s-insight-proj';
const INSTANCE = 'rw-524ada714221af267c73122af2e1';

const FULL = { accessKeyId: 'LTAI5tFullAccessKey01', secret: 'full-secret-0123456789abcdefABCDEF' };
const NONE = { accessKeyId: 'LTAI5tNoPermissions01', secret: 'none-secret-0123456789abcdefABCDEF' };
const OFF = { accessKeyId: 'LTAI5tDisabledKey0001', secret: 'off-secret-0123456789abcdefABCDEF' };

const creds = (u: { accessKeyId: string; secret: string }, secret = u.secret) => ({ accessKeyId: u.accessKeyId, accessKeySecret: new Secret(secret) });

let pki: TestPki;
let standin: CloudStandin;
let opts: CloudCallOptions;

beforeAll(async () => {
  pki = generatePki(aliyunNames([REGION, 'cn-beijing']));
  standin = await startCloudStandin({
    pki,
    users: [
      { ...FULL, allowedActions: ['log:*', 'cms:*'], accountId: '1111222233334444', userName: 'insight' },
      { ...NONE, allowedActions: [] },
      { ...OFF, allowedActions: ['*'], disabled: true },
    ],
    projects: [{ name: PROJECT, region: REGION }],
    // The answer carries this token (configured instances only); the client must drop it.
    prometheusInstances: [{ id: INSTANCE, region: REGION, name: 'prom-test', workspace: 'ws1', authToken: 'eyJTANDIN-TOKEN-must-not-leak' }],
  });
  opts = { overrides: standin.overrides(), timeoutMs: 5000 };
});
afterAll(async () => {
  await standin?.close();
});

const minutesAgo = (m: number) => () => new Date(Date.now() - m * 60_000);

describe('getCallerIdentity (STS, ACS3)', () => {
  it('returns the identity of a valid key, even one without any RAM permission', async () => {
    const r = await getCallerIdentity(creds(FULL), opts);
    expect(r).toMatchObject({ ok: true, value: { accountId: '1111222233334444', arn: 'acs:ram::1111222233334444:user/insight', identityType: 'RAMUser' } });
    const none = await getCallerIdentity(creds(NONE), opts);
    expect(none.ok).toBe(true);
    // The stand-in saw the real host name and an ACS3 signature.
    expect(standin.requests.some((q) => q.host === 'sts.aliyuncs.com' && q.scheme === 'ACS3' && q.status === 200)).toBe(true);
  });

  it('unknown AccessKey ID -> InvalidAccessKeyId (InvalidAccessKeyId.NotFound)', async () => {
    const r = await getCallerIdentity({ accessKeyId: 'LTAI5tDoesNotExist999', accessKeySecret: new Secret('x-secret-for-unknown-key') }, opts);
    expect(r).toMatchObject({ ok: false, error: { code: 'InvalidAccessKeyId', apiCode: 'InvalidAccessKeyId.NotFound', httpStatus: 404, service: 'sts' } });
  });

  it('disabled AccessKey -> InvalidAccessKeyId with the enable hint', async () => {
    const r = await getCallerIdentity(creds(OFF), opts);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatchObject({ code: 'InvalidAccessKeyId', apiCode: 'InvalidAccessKeyId.Inactive' });
      expect(r.error.hint).toMatch(/Enable the AccessKey/);
    }
  });

  it('wrong secret -> SignatureDoesNotMatch, one-line message without the server string to sign', async () => {
    const r = await getCallerIdentity(creds(FULL, 'not-the-right-secret-000000000'), opts);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatchObject({ code: 'SignatureDoesNotMatch', apiCode: 'SignatureDoesNotMatch' });
      expect(r.error.message).not.toMatch(/\n|string to sign/);
    }
  });

  it('clock 20 minutes behind -> RequestTimeExpired with a clock hint', async () => {
    const r = await getCallerIdentity(creds(FULL), { ...opts, now: minutesAgo(20) });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatchObject({ code: 'RequestTimeExpired', apiCode: 'InvalidTimeStamp.Expired' });
      expect(r.error.hint).toMatch(/clock/);
    }
  });

  it('clock 10 minutes off is still accepted (limit is 15)', async () => {
    expect((await getCallerIdentity(creds(FULL), { ...opts, now: minutesAgo(10) })).ok).toBe(true);
  });

  it('Intranet mode signs for and connects to the regional VPC endpoint', async () => {
    const r = await getCallerIdentity(creds(FULL), { ...opts, net: 'Intranet', region: REGION });
    expect(r.ok).toBe(true);
    expect(standin.requests.at(-1)?.host).toBe('sts-vpc.cn-hangzhou.aliyuncs.com');
  });
});

describe('getSlsProject (SLS v1 and v4)', () => {
  for (const scheme of ['v1', 'v4'] as const) {
    it(`${scheme}: reads the project`, async () => {
      const r = await getSlsProject(creds(FULL), REGION, PROJECT, { ...opts, slsSignature: scheme });
      expect(r).toMatchObject({ ok: true, value: { projectName: PROJECT, region: REGION, status: 'Normal' } });
      expect(standin.requests.at(-1)).toMatchObject({ host: `${PROJECT}.${REGION}.log.aliyuncs.com`, scheme: scheme === 'v1' ? 'SLS-V1' : 'SLS-V4', status: 200 });
    });

    it(`${scheme}: wrong secret -> SignatureDoesNotMatch (SignatureNotMatch)`, async () => {
      const r = await getSlsProject(creds(FULL, 'wrong-secret-for-sls-000000000'), REGION, PROJECT, { ...opts, slsSignature: scheme });
      expect(r).toMatchObject({ ok: false, error: { code: 'SignatureDoesNotMatch', apiCode: 'SignatureNotMatch', service: 'sls' } });
    });

    it(`${scheme}: clock 30 minutes behind -> RequestTimeExpired, with the measured skew`, async () => {
      const r = await getSlsProject(creds(FULL), REGION, PROJECT, { ...opts, slsSignature: scheme, now: minutesAgo(30) });
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error).toMatchObject({ code: 'RequestTimeExpired', apiCode: 'RequestTimeExpired' });
        expect(r.error.message).toMatch(/30 minutes behind/);
        expect(r.error.serverTime).toBeDefined();
      }
    });
  }

  it('unknown AccessKey ID -> InvalidAccessKeyId (SLS: Unauthorized "AccessKeyId not found")', async () => {
    const r = await getSlsProject({ accessKeyId: 'LTAI5tNobodyKnowsMe00', accessKeySecret: new Secret('whatever-secret-1234') }, REGION, PROJECT, opts);
    expect(r).toMatchObject({ ok: false, error: { code: 'InvalidAccessKeyId', apiCode: 'Unauthorized', httpStatus: 401 } });
  });

  it('key without log:GetProject -> Forbidden naming the action from "denied by sts or ram"', async () => {
    const r = await getSlsProject(creds(NONE), REGION, PROJECT, opts);
    expect(r).toMatchObject({ ok: false, error: { code: 'Forbidden', action: 'log:GetProject', apiCode: 'Unauthorized' } });
    if (!r.ok) expect(r.error.message).toBe('Permission denied by RAM for log:GetProject.');
  });

  it('missing project -> NotFound with a project/region hint', async () => {
    const r = await getSlsProject(creds(FULL), REGION, 'no-such-project', opts);
    expect(r).toMatchObject({ ok: false, error: { code: 'NotFound', apiCode: 'ProjectNotExist' } });
    if (!r.ok) expect(r.error.hint).toMatch(/--project-name and --region/);
  });

  it('project in another region -> NotFound', async () => {
    const r = await getSlsProject(creds(FULL), 'cn-beijing', PROJECT, opts);
    expect(r).toMatchObject({ ok: false, error: { code: 'NotFound' } });
  });

  it('an invalid project name is refused before any request (no host injection)', async () => {
    const before = standin.requests.length;
    const r = await getSlsProject(creds(FULL), REGION, 'evil.example.com/x', opts);
    expect(r).toMatchObject({ ok: false, error: { code: 'InvalidInput' } });
    expect(standin.requests.length).toBe(before);
  });
});

describe('getPrometheusInstance (CMS 2024-03-30, ACS3 ROA)', () => {
  it('returns the instance and drops its auth token', async () => {
    const r = await getPrometheusInstance(creds(FULL), REGION, INSTANCE, opts);
    expect(r).toMatchObject({ ok: true, value: { prometheusInstanceId: INSTANCE, prometheusInstanceName: 'prom-test', regionId: REGION, workspace: 'ws1', status: 'Running' } });
    expect(JSON.stringify(r)).not.toContain('TOKEN');
    expect(standin.requests.at(-1)).toMatchObject({ host: 'cms.cn-hangzhou.aliyuncs.com', url: `/prometheus-instances/${INSTANCE}`, scheme: 'ACS3' });
  });

  it('key without cms:GetPrometheusInstance -> Forbidden with the action from AccessDeniedDetail', async () => {
    const r = await getPrometheusInstance(creds(NONE), REGION, INSTANCE, opts);
    expect(r).toMatchObject({ ok: false, error: { code: 'Forbidden', action: 'cms:GetPrometheusInstance', apiCode: 'Forbidden.RAM', httpStatus: 403 } });
  });

  it('unknown instance -> NotFound; wrong secret -> SignatureDoesNotMatch; skew -> RequestTimeExpired', async () => {
    expect(await getPrometheusInstance(creds(FULL), REGION, 'rw-doesnotexist', opts)).toMatchObject({ ok: false, error: { code: 'NotFound' } });
    expect(await getPrometheusInstance(creds(FULL, 'bad-secret-000000000000000'), REGION, INSTANCE, opts)).toMatchObject({ ok: false, error: { code: 'SignatureDoesNotMatch' } });
    expect(await getPrometheusInstance(creds(FULL), REGION, INSTANCE, { ...opts, now: () => new Date(Date.now() + 16 * 60_000) })).toMatchObject({
      ok: false,
      error: { code: 'RequestTimeExpired' },
    });
  });
});

describe('network failures are classified', () => {
  const host = 'sts.aliyuncs.com';

  it('DNS failure (resolver answers ENOTFOUND) -> DnsError', async () => {
    // An override by host name makes the client resolve it; the injected resolver fails like DNS would.
    const asked: string[] = [];
    const lookup: LookupFunction = (hostname, _o, cb) => {
      asked.push(hostname);
      cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 4);
    };
    const r = await getCallerIdentity(creds(FULL), { overrides: { [host]: { address: 'mirror.internal', port: 443 } }, lookup, timeoutMs: 3000 });
    expect(r).toMatchObject({ ok: false, error: { code: 'DnsError', detail: 'ENOTFOUND' } });
    // The injected resolver, not the system's, answered: no DNS query left this machine.
    expect(asked).toEqual(['mirror.internal']);
  });

  it('nothing listening -> ConnectionRefused', async () => {
    const port = await closedPort();
    const r = await getCallerIdentity(creds(FULL), { overrides: { [host]: { address: '127.0.0.1', port } }, timeoutMs: 3000 });
    expect(r).toMatchObject({ ok: false, error: { code: 'ConnectionRefused' } });
  });

  it('black hole -> Timeout: one attempt, given up at our deadline', async () => {
    const hole = await startBlackHole();
    try {
      // The black hole never answers and the OS never times out an open connection: only our timer ends this.
      const r = await getCallerIdentity(creds(FULL), { overrides: { [host]: { address: '127.0.0.1', port: hole.port } }, timeoutMs: 400 });
      expect(r).toMatchObject({ ok: false, error: { code: 'Timeout' } });
      expect(hole.accepted()).toBe(1);
    } finally {
      await hole.close();
    }
  });

  it('certificate from an untrusted CA -> TlsError (not trusted)', async () => {
    // Same stand-in, but the client trusts a different CA.
    const other = generatePki(['unrelated.test']);
    const r = await getCallerIdentity(creds(FULL), { overrides: { [host]: { address: '127.0.0.1', port: standin.port, ca: other.caPem } }, timeoutMs: 3000 });
    expect(r).toMatchObject({ ok: false, error: { code: 'TlsError' } });
    if (!r.ok) expect(r.error.message).toMatch(/not trusted/);
  });

  it('certificate valid, but not for the real host name -> TlsError (name mismatch)', async () => {
    const r = await getCallerIdentity(creds(FULL), { overrides: { 'sts.example.org': { address: '127.0.0.1', port: standin.port, ca: standin.caPem } }, stsHost: 'sts.example.org', timeoutMs: 3000 });
    expect(r).toMatchObject({ ok: false, error: { code: 'TlsError' } });
    if (!r.ok) expect(r.error.message).toMatch(/not valid for this name/);
  });

  it('plain HTTP where HTTPS is expected -> TlsError', async () => {
    const plain = await startPlainHttp();
    try {
      const r = await getCallerIdentity(creds(FULL), { overrides: { [host]: { address: '127.0.0.1', port: plain.port } }, timeoutMs: 3000 });
      expect(r).toMatchObject({ ok: false, error: { code: 'TlsError' } });
      if (!r.ok) expect(r.error.message).toMatch(/does not speak TLS/);
    } finally {
      await plain.close();
    }
  });

  it('an aborted signal -> Aborted', async () => {
    const hole = await startBlackHole();
    try {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 100);
      const r = await getCallerIdentity(creds(FULL), { overrides: { [host]: { address: '127.0.0.1', port: hole.port } }, signal: ac.signal, timeoutMs: 5000 });
      expect(r).toMatchObject({ ok: false, error: { code: 'Aborted' } });
    } finally {
      await hole.close();
    }
  });
});
