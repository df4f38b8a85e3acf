// The Prometheus query client against a hostile loopback server: one that echoes the Authorization
// header back, answers odd bodies, or sits behind an http URL. Nothing it sends back may carry the
// secret or the token into a report, and nothing but a vector (or scalar) counts as an answer.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { badQueryUrl, displayUrl, promLabels, promQuery, type PromEndpoint } from '../../../src/cloud/prometheus.js';
import { redact, Secret } from '../../../src/secret.js';
import { makeCert, type TestCert } from '../../support/tls.js';

const SECRET = 'HostilePromSecret0123456789abcdef';
const TOKEN = 'tok-HostileBearerToken-0123456789';
const HOST = 'prom.hostile.example';

let cert: TestCert;
let server: https.Server;
let port = 0;
/** What the server answers, set per test: status and body, given the request's Authorization header. */
let answer: (auth: string) => { status: number; body: string } = () => ({ status: 200, body: '{}' });

beforeAll(async () => {
  cert = makeCert([HOST]);
  server = https.createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    req.resume();
    req.on('end', () => {
      const a = answer(String(req.headers.authorization ?? ''));
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  cert.cleanup();
});

const opts = () => ({ overrides: { [HOST]: { address: '127.0.0.1', port, ca: cert.ca } }, timeoutMs: 5000 });
const basic = (): PromEndpoint => ({ url: `https://${HOST}/prometheus/p/s`, auth: { kind: 'basic', creds: { accessKeyId: 'LTAI5tHostile000001', accessKeySecret: new Secret(SECRET) } } });
const bearer = (): PromEndpoint => ({ url: `https://${HOST}/prometheus/p/s`, auth: { kind: 'bearer', token: new Secret(TOKEN) } });

describe('the Prometheus client and a hostile server', () => {
  it('an error body that echoes the Basic header: the message carries neither the secret nor its base64', async () => {
    answer = (auth) => ({ status: 400, body: JSON.stringify({ status: 'error', errorType: `bad_data ${auth}`, error: `header was: ${auth}\n✓ all good` }) });
    const r = await promQuery(basic(), 'up', new Date(), opts());
    expect(r.ok).toBe(false);
    const text = JSON.stringify(r);
    const b64 = Buffer.from(`LTAI5tHostile000001:${SECRET}`).toString('base64');
    expect(text).not.toContain(b64);
    expect(text).not.toContain(SECRET);
    expect(!r.ok && r.error.message).not.toContain('\n');
    expect(!r.ok && r.error.message).not.toContain('all good');
  });

  it('a long error that ends with the Bearer token: no piece of the token survives the shortening', async () => {
    answer = (auth) => ({ status: 400, body: JSON.stringify({ status: 'error', errorType: 'bad_data', error: `${'x'.repeat(100)}${auth}` }) });
    const r = await promQuery(bearer(), 'up', new Date(), opts());
    expect(JSON.stringify(r)).not.toContain(TOKEN.slice(0, 8));
  });

  it('a 401 that echoes the header is still "cannot read" or "wrong secret", never the header', async () => {
    answer = (auth) => ({ status: 401, body: JSON.stringify({ errorCode: auth, errorMessage: 'denied by sts or ram, action: log:QueryMetrics' }) });
    const r = await promQuery(basic(), 'up', new Date(), opts());
    expect(!r.ok && r.error.message).toMatch(/^this key cannot read metrics \(HTTP 401/);
    expect(redact(JSON.stringify(r))).toBe(JSON.stringify(r));
    expect(JSON.stringify(r)).not.toContain(Buffer.from(`LTAI5tHostile000001:${SECRET}`).toString('base64'));
  });

  it('a 401 to a Bearer request is the token refused; to Basic with a password complaint, the secret', async () => {
    answer = () => ({ status: 401, body: JSON.stringify({ errorCode: 'Unauthorized', errorMessage: 'invalid token' }) });
    const t = await promQuery(bearer(), 'up', new Date(), opts());
    expect(!t.ok && t.error.message).toMatch(/rejected the instance's auth token/);
    answer = () => ({ status: 401, body: JSON.stringify({ errorCode: 'Unauthorized', errorMessage: 'wrong password for this AccessKeyId' }) });
    const b = await promQuery(basic(), 'up', new Date(), opts());
    expect(!b.ok && b.error.code).toBe('SignatureDoesNotMatch');
  });

  it('200 with a matrix, a string or a missing result is a bad response, not an empty answer', async () => {
    for (const data of [{ resultType: 'matrix', result: [] }, { resultType: 'string', result: [1, 'NaN'] }, {}]) {
      answer = () => ({ status: 200, body: JSON.stringify({ status: 'success', data }) });
      const r = await promQuery(basic(), 'up', new Date(), opts());
      expect(!r.ok && r.error.code, JSON.stringify(data)).toBe('BadResponse');
    }
    answer = () => ({ status: 200, body: JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }) });
    expect(await promQuery(basic(), 'up', new Date(), opts())).toEqual({ ok: true, value: [] });
    answer = () => ({ status: 200, body: JSON.stringify({ status: 'success', data: ['job', 'instance'] }) });
    expect(await promLabels(basic(), new Date(0), new Date(), opts())).toEqual({ ok: true, value: ['job', 'instance'] });
  });

  it('refuses URLs that would send credentials in clear text or carry their own', async () => {
    expect(badQueryUrl('http://p.example/prom')).toMatch(/clear text/);
    expect(badQueryUrl('https://u:p@p.example/prom')).toMatch(/credentials/);
    expect(badQueryUrl('ftp://p.example/')).toMatch(/not https/);
    expect(badQueryUrl('not a url')).toMatch(/not a URL/);
    expect(badQueryUrl('https://p.example:9443/prom')).toBeUndefined();
    expect(displayUrl('https://u:p@p.example/prom?token=x#y')).toBe('https://p.example/prom');
    let asked = false;
    answer = () => {
      asked = true;
      return { status: 200, body: '{}' };
    };
    const r = await promQuery({ ...basic(), url: `http://${HOST}/prom` }, 'up', new Date(), opts());
    expect(!r.ok && r.error.code).toBe('InvalidInput');
    expect(asked).toBe(false);
  });
});
