import { describe, expect, it } from 'vitest';
import { endpointsFor } from '../../../src/cloud/endpoints.js';
import { runChecks } from '../../../src/checks/engine.js';
import { probeTargets, resolveInput } from '../../../src/checks/preflight/index.js';
import { decideEndpoint, networkChecks } from '../../../src/checks/preflight/network.js';
import type { ProbeReport } from '../../../src/net/types.js';
import { fakeCtx } from './helpers.js';

const sls = endpointsFor('cn-hangzhou', 'Internet').find((e) => e.service === 'sls')!;
const cmsVpc = endpointsFor('cn-hangzhou', 'Intranet').find((e) => e.service === 'cms')!;

const row = (host: string, vantage: string, outcome: ProbeReport['results'][number]['outcome']) => ({ host, port: 443, vantage, outcome, message: `${outcome} msg`, ...(outcome === 'ok' ? { status: 404 } : {}) });

describe('decideEndpoint', () => {
  it('one passed finding for all good nodes, one failed finding per failing node (named)', () => {
    const f = decideEndpoint(sls, { results: [row(sls.host, 'node/a', 'ok'), row(sls.host, 'node/b', 'timeout'), row(sls.host, 'node/c', 'ok')], failures: [] }, { net: 'Internet', fromLocal: false });
    const failed = f.filter((x) => x.status === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ vantage: 'node/b', object: `endpoint/${sls.host}` });
    expect(failed[0]!.message).toContain('times out');
    expect(failed[0]!.hint).toContain('firewall');
    const passed = f.find((x) => x.status === 'passed')!;
    expect(passed.message).toContain('2 nodes');
    expect(passed.evidence).toHaveLength(2);
  });
  it('gives the alert-rule hint for cms-vpc in Intranet mode', () => {
    const f = decideEndpoint(cmsVpc, { results: [row(cmsVpc.host, 'node/a', 'dns-failure')], failures: [] }, { net: 'Intranet', fromLocal: false });
    expect(f[0]!.hint).toContain('enableAlertRule=false');
    expect(f[0]!.hint).toContain('100.100.2.136');
  });
  it('is skipped, not passed, when nothing could be measured', () => {
    const f = decideEndpoint(sls, { results: [], failures: [{ vantage: 'node/a', message: 'cannot pull the probe image' }] }, { net: 'Internet', fromLocal: false });
    expect(f).toMatchObject([{ status: 'skipped' }]);
    expect(f[0]!.message).toContain('cannot pull');
  });
});

describe('probe targets', () => {
  it('are the cluster endpoints for the region and mode; real hosts unless overridden', () => {
    const t = probeTargets(resolveInput({ region: 'cn-hangzhou', net: 'Intranet' }, {}));
    expect(t).toEqual([
      { host: 'cn-hangzhou-intranet.log.aliyuncs.com', port: 443 },
      { host: 'cms-vpc.cn-hangzhou.aliyuncs.com', port: 443 },
    ]);
    const o = probeTargets(resolveInput({ region: 'cn-hangzhou', endpointOverrides: { '*.aliyuncs.com': { address: '127.0.0.1', port: 8443 } } }, {}));
    expect(o[0]).toEqual({ host: 'cn-hangzhou.log.aliyuncs.com', port: 443, connectAddress: '127.0.0.1', connectPort: 8443 });
  });
  it('read overrides from the environment too', () => {
    const t = probeTargets(resolveInput({ region: 'cn-beijing' }, { KUBECTL_INSIGHT_ENDPOINT_OVERRIDES: '{"cms.cn-beijing.aliyuncs.com":{"address":"10.0.0.1","port":443}}' }));
    expect(t[1]).toMatchObject({ host: 'cms.cn-beijing.aliyuncs.com', connectAddress: '10.0.0.1' });
  });
});

describe('network checks through the engine', () => {
  it('are skipped without --region and never start probes', async () => {
    let started = false;
    const ctx = { ...fakeCtx({}), probes: async () => ((started = true), { results: [], failures: [] }) };
    const r = await runChecks(networkChecks, ctx);
    expect(r.results.every((x) => x.status === 'skipped')).toBe(true);
    expect(started).toBe(false);
  });
  it('report probe failures under network.probe and the endpoints separately; sls fatal, cms a warning', async () => {
    const ctx = fakeCtx({ region: 'cn-hangzhou' }, {
      probes: {
        results: [row('cn-hangzhou.log.aliyuncs.com', 'node/a', 'tls-untrusted'), row('cms.cn-hangzhou.aliyuncs.com', 'node/a', 'http-on-https')],
        failures: [{ vantage: 'node/b', message: 'node b cannot pull the probe image x', hint: 'Pass --probe-image' }],
      },
    });
    const r = await runChecks(networkChecks, ctx);
    const by = (id: string) => r.results.filter((x) => x.id === id);
    expect(by('network.probe').find((x) => x.status === 'failed')).toMatchObject({ vantage: 'node/b', severity: 'warning' });
    expect(by('network.sls')[0]).toMatchObject({ status: 'failed', severity: 'fatal', vantage: 'node/a' });
    expect(by('network.cms')[0]).toMatchObject({ status: 'failed', severity: 'warning' });
    expect(by('network.cms')[0]!.message).toContain('plain HTTP');
  });
});
