import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyProxyAnswer, proxyPath } from '../../../src/kube/proxy.js';
import { loopbackApi, type LoopbackApi } from '../../support/api-server.js';

const status = (code: number, message: string, reason = 'ServiceUnavailable') => JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code });

describe('classifyProxyAnswer', () => {
  it.each([
    [200, 'foo 1', 'ok'],
    [503, status(503, 'error trying to reach service: dial tcp 10.0.0.5:19100: connect: connection refused'), 'refused'],
    [503, status(503, 'error trying to reach service: dial tcp 10.0.0.5:19100: i/o timeout'), 'timeout'],
    [503, status(503, 'error trying to reach service: dial tcp 10.0.0.5:19100: connect: no route to host'), 'unreachable'],
    [400, 'Client sent an HTTP request to an HTTPS server.\n', 'wrong-protocol'],
    [503, status(503, 'error trying to reach service: tls: first record does not look like a TLS handshake'), 'wrong-protocol'],
    [503, status(503, 'error trying to reach service: http: server gave HTTP response to HTTPS client'), 'wrong-protocol'],
    [503, status(503, 'error trying to reach service: remote error: tls: handshake failure'), 'tls-error'],
    [401, 'Unauthorized\n', 'unauthorized'],
    [403, 'Forbidden (user=system:anonymous, verb=get, resource=nodes, subresource=metrics)\n', 'forbidden'],
    [403, status(403, 'pods "x" is forbidden: User "u" cannot get resource "pods/proxy"', 'Forbidden'), 'api-forbidden'],
    [404, status(404, 'pods "x" not found', 'NotFound'), 'no-target'],
    [500, 'internal error', 'http-error'],
    [404, '404 page not found', 'http-error'],
  ])('HTTP %i %s → %s', (code, body, outcome) => {
    expect(classifyProxyAnswer(code, body, 'http').outcome).toBe(outcome);
  });
});

describe('proxyPath', () => {
  it('builds pod, service and node proxy paths with the scheme prefix', () => {
    expect(proxyPath({ kind: 'pod', namespace: 'ns', name: 'p', port: 19100, scheme: 'https' }, '/metrics')).toBe('/api/v1/namespaces/ns/pods/https:p:19100/proxy/metrics');
    expect(proxyPath({ kind: 'pod', namespace: 'ns', name: 'p', port: 8080 }, 'metrics')).toBe('/api/v1/namespaces/ns/pods/p:8080/proxy/metrics');
    expect(proxyPath({ kind: 'service', namespace: 'ns', name: 's', port: 'http-metrics', scheme: 'http' }, '/m')).toBe('/api/v1/namespaces/ns/services/http:s:http-metrics/proxy/m');
    expect(proxyPath({ kind: 'node', name: 'n1' }, '/metrics/cadvisor')).toBe('/api/v1/nodes/n1/proxy/metrics/cadvisor');
  });
});

describe('ApiClient against a loopback server', () => {
  let api: LoopbackApi;
  let server: http.Server;
  let pages = 0;
  beforeAll(async () => {
    api = await loopbackApi((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      if (u.pathname.includes('/pods/hang:')) return; // never answers: a black-holed exporter behind the proxy
      if (u.pathname === '/api/v1/pods') {
        pages++;
        const cont = u.searchParams.get('continue');
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ items: cont ? [{ n: 3 }] : [{ n: 1 }, { n: 2 }], metadata: cont ? {} : { continue: 'tok' } }));
      }
      if (u.pathname.includes('/pods/refused:')) {
        res.writeHead(503);
        return res.end(status(503, 'error trying to reach service: dial tcp 10.0.0.9:1: connect: connection refused'));
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`auth=${req.headers.authorization ?? ''}\n`);
    });
    server = api.server;
  });
  afterAll(() => api.close());
  const client = () => api.client();

  it('follows continue tokens and sends the bearer token', async () => {
    const api = await client();
    expect(await api.list('/api/v1/pods', { limit: 2 })).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(pages).toBe(2);
    const r = await api.probe({ kind: 'pod', namespace: 'ns', name: 'ok', port: 80 }, '/');
    expect(r.outcome).toBe('ok');
    expect(r.body).toContain('auth=Bearer tok-123');
    api.close();
  });

  it('sends a write body with its length, never chunked', async () => {
    const api = await client();
    const seen: string[] = [];
    server.once('request', (req: http.IncomingMessage) => seen.push(`${req.headers['content-length']}|${req.headers['transfer-encoding'] ?? ''}`));
    await api.send('DELETE', '/api/v1/namespaces/default/pods/p', { preconditions: { uid: 'u' } }, 'application/json');
    expect(seen).toEqual([`${JSON.stringify({ preconditions: { uid: 'u' } }).length}|`]);
    api.close();
  });

  it('gives up on a hung target at the probe timeout', async () => {
    const api = await client();
    const r = await api.probe({ kind: 'pod', namespace: 'ns', name: 'hang', port: 80 }, '/metrics', { timeoutMs: 300 });
    // The target never answers: only the probe's own 300 ms timer can end this (an abort would say so).
    expect(r).toMatchObject({ outcome: 'timeout', detail: 'no answer within 300 ms' });
    const refused = await api.probe({ kind: 'pod', namespace: 'ns', name: 'refused', port: 1 }, '/metrics', { timeoutMs: 300 });
    expect(refused.outcome).toBe('refused');
    api.close();
  });
});
