// The local prober end to end against real servers on loopback: one scenario per outcome class.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeEndpoint, type Lookup } from '../../../src/net/probe.js';
import { startLoopback, type Loopback } from './helpers/loopback.js';

const HOST = 'cms.cn-hangzhou.aliyuncs.com';
// A resolver that knows only the test's names: no query ever leaves the machine.
const lookup: Lookup = async (name) => {
  if (name === 'mapped.test') return ['127.0.0.1'];
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
};

let lb: Loopback;
beforeAll(async () => {
  lb = await startLoopback(['*.cn-hangzhou.aliyuncs.com']);
});
afterAll(async () => lb?.close());

const probe = (port: number, extra: Record<string, unknown> = {}) =>
  probeEndpoint({ host: HOST, port: 443, connectAddress: '127.0.0.1', connectPort: port, ca: lb.pki.caPem, ...extra }, { lookup, connectTimeoutMs: 1500, tlsTimeoutMs: 1500, httpTimeoutMs: 1500 });

describe('probeEndpoint (local vantage)', () => {
  it('ok: resolvable, reachable, verified TLS, HTTP status reported', async () => {
    const r = await probe(lb.ok, { connectAddress: 'mapped.test' });
    expect(r).toMatchObject({ outcome: 'ok', status: 404, address: '127.0.0.1', vantage: 'local' });
  });

  it('dns-failure: the name does not resolve', async () => {
    const r = await probe(lb.ok, { connectAddress: 'unmapped.test' });
    expect(r.outcome).toBe('dns-failure');
    expect(r.message).toContain('ENOTFOUND');
  });

  it('refused: nothing listens', async () => {
    const r = await probe(lb.closed);
    expect(r.outcome).toBe('refused');
    expect(r.message).toContain('ECONNREFUSED');
  });

  it('timeout: SYNs dropped (full accept queue) within the per-step timeout', async () => {
    const r = await probe(lb.blackhole);
    expect(r.outcome).toBe('timeout');
    // Said by the connect step's own timer (1500 ms above), not by some outer deadline.
    expect(r.message).toMatch(/TCP connect to .* timed out after 1500 ms/);
  });

  it('tls-untrusted: certificate from a CA we do not trust', async () => {
    const r = await probe(lb.untrusted);
    expect(r.outcome).toBe('tls-untrusted');
  });

  it('tls-untrusted: trusted CA but the certificate does not name the host', async () => {
    const r = await probeEndpoint({ host: 'sls.cn-beijing.aliyuncs.com', port: 443, connectAddress: '127.0.0.1', connectPort: lb.ok, ca: lb.pki.caPem }, { lookup });
    expect(r.outcome).toBe('tls-untrusted');
    expect(r.message).toMatch(/ALTNAME|does not match/i);
  });

  it('http-on-https: a plain HTTP server on the TLS port', async () => {
    const r = await probe(lb.plain);
    expect(r.outcome).toBe('http-on-https');
    expect(r.message).toContain('plain HTTP');
  });

  it('tls-other: TCP accepted, no answer to the ClientHello', async () => {
    const r = await probe(lb.silent);
    expect(r.outcome).toBe('tls-other');
    expect(r.message).toContain('timed out');
  });

  it('uses the system trust store without an override CA (the test CA is then untrusted)', async () => {
    const r = await probeEndpoint({ host: HOST, port: 443, connectAddress: '127.0.0.1', connectPort: lb.ok }, { lookup });
    expect(r.outcome).toBe('tls-untrusted');
  });

  it('stops at once when aborted', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const r = await probeEndpoint({ host: HOST, port: 443, connectAddress: '127.0.0.1', connectPort: lb.blackhole }, { lookup, connectTimeoutMs: 10_000, signal: ac.signal });
    // Ended by the abort (the 10 s connect timeout would say "timed out").
    expect(r.outcome).toBe('error');
    expect(r.message).toContain('aborted');
  });
});
