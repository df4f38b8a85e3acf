import { describe, expect, it } from 'vitest';
import { editDistance, isKnownRegion, REGION_ID_PATTERN, REGION_IDS, suggestRegion } from '../../../src/cloud/regions.js';
import {
  cmsHost,
  ENDPOINT_OVERRIDES_ENV,
  endpointsFor,
  mergeOverrides,
  overridesFromEnv,
  parseEndpointOverrides,
  resolveEndpoint,
  slsHost,
  slsProjectHost,
  stsHost,
} from '../../../src/cloud/endpoints.js';
import { isInsightError } from '../../../src/errors.js';

describe('regions', () => {
  it('knows the main regions and rejects made-up ones', () => {
    for (const r of ['cn-hangzhou', 'cn-beijing', 'cn-shanghai', 'cn-shenzhen', 'cn-hongkong', 'ap-southeast-1', 'us-west-1', 'eu-central-1', 'ap-northeast-1']) expect(isKnownRegion(r)).toBe(true);
    for (const r of ['cn-hangzou', 'CN-HANGZHOU', 'us-west-2', 'ap-southeast-2', '']) expect(isKnownRegion(r)).toBe(false);
  });

  it('every id has the region-id shape and is unique', () => {
    expect(new Set(REGION_IDS).size).toBe(REGION_IDS.length);
    for (const r of REGION_IDS) expect(r).toMatch(REGION_ID_PATTERN);
  });

  it.each([
    ['cn-hangzou', 'cn-hangzhou'],
    ['cn-hangzohu', 'cn-hangzhou'],
    ['cn-hagnzhou', 'cn-hangzhou'],
    ['CN-Beijing', 'cn-beijing'],
    ['cn_shanghai', 'cn-shanghai'],
    ['hangzhou', 'cn-hangzhou'],
    ['Singapore', 'ap-southeast-1'],
    ['China (Shenzhen)', 'cn-shenzhen'],
    ['ap-southeast1', 'ap-southeast-1'],
    ['us-west1', 'us-west-1'],
    ['eu-centrl-1', 'eu-central-1'],
    ['frankfurt', 'eu-central-1'],
  ])('did you mean: %s -> %s', (input, expected) => {
    expect(suggestRegion(input)).toBe(expected);
  });

  it.each(['mars-north-1', 'xyz', '', 'kubernetes'])('no suggestion for %j', (input) => {
    expect(suggestRegion(input)).toBeUndefined();
  });

  it('counts a transposition as one edit', () => {
    expect(editDistance('cn-hangzohu', 'cn-hangzhou')).toBe(1);
    expect(editDistance('abc', 'abc')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
  });
});

describe('endpoints per net mode', () => {
  it('Internet: cms, SLS and the global STS', () => {
    expect(endpointsFor('cn-hangzhou', 'Internet').map((e) => [e.service, e.host, e.port])).toEqual([
      ['sls', 'cn-hangzhou.log.aliyuncs.com', 443],
      ['cms', 'cms.cn-hangzhou.aliyuncs.com', 443],
      ['sts', 'sts.aliyuncs.com', 443],
    ]);
  });

  it('Intranet: cms-vpc, -intranet SLS, regional STS VPC endpoint; cms-vpc hint says to disable alert-rule sync', () => {
    const eps = endpointsFor('ap-southeast-1', 'Intranet');
    expect(eps.map((e) => e.host)).toEqual(['ap-southeast-1-intranet.log.aliyuncs.com', 'cms-vpc.ap-southeast-1.aliyuncs.com', 'sts-vpc.ap-southeast-1.aliyuncs.com']);
    const cms = eps.find((e) => e.service === 'cms')!;
    expect(cms.purpose).toMatch(/alert-rule sync/);
    expect(cms.ifUnreachable).toMatch(/--disable-alert-rule/);
    expect(eps.find((e) => e.service === 'sls')!.purpose).toMatch(/ingestion/);
    expect(eps.find((e) => e.service === 'sts')!.usedByCluster).toBe(false);
  });

  it('host helpers', () => {
    expect(cmsHost('us-west-1')).toBe('cms.us-west-1.aliyuncs.com');
    expect(slsHost('eu-central-1', 'Intranet')).toBe('eu-central-1-intranet.log.aliyuncs.com');
    expect(slsProjectHost('p1', 'cn-beijing')).toBe('p1.cn-beijing.log.aliyuncs.com');
    expect(stsHost('cn-beijing', 'Internet', true)).toBe('sts.cn-beijing.aliyuncs.com');
    expect(stsHost()).toBe('sts.aliyuncs.com');
  });
});

describe('endpoint overrides', () => {
  const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

  it('without overrides the real host is the connection target', () => {
    expect(resolveEndpoint('cms.cn-hangzhou.aliyuncs.com')).toEqual({ host: 'cms.cn-hangzhou.aliyuncs.com', address: 'cms.cn-hangzhou.aliyuncs.com', port: 443, servername: 'cms.cn-hangzhou.aliyuncs.com', overridden: false });
  });

  it('exact host beats wildcard; longer wildcard beats shorter; the real name stays the TLS name', () => {
    const o = parseEndpointOverrides({
      '*.aliyuncs.com': { address: '127.0.0.1', port: 9000 },
      '*.cn-hangzhou.log.aliyuncs.com': { address: '127.0.0.2', port: 9001, ca: CA },
      'cms.cn-hangzhou.aliyuncs.com': { address: '::1', port: '9002' },
    });
    expect(resolveEndpoint('cms.cn-hangzhou.aliyuncs.com', o)).toMatchObject({ address: '::1', port: 9002, servername: 'cms.cn-hangzhou.aliyuncs.com', overridden: true });
    expect(resolveEndpoint('proj.cn-hangzhou.log.aliyuncs.com', o)).toMatchObject({ address: '127.0.0.2', port: 9001, ca: CA });
    expect(resolveEndpoint('sts.aliyuncs.com', o)).toMatchObject({ address: '127.0.0.1', port: 9000 });
    // A wildcard never matches the bare suffix, nor another domain.
    expect(resolveEndpoint('aliyuncs.com', o).overridden).toBe(false);
    expect(resolveEndpoint('evil-aliyuncs.com', o).overridden).toBe(false);
    expect(resolveEndpoint('CMS.CN-HANGZHOU.ALIYUNCS.COM', o).address).toBe('::1');
  });

  it('tlsServerName changes the name checked against the certificate', () => {
    const o = parseEndpointOverrides({ 'sts.aliyuncs.com': { address: 'proxy.corp', port: 8443, tlsServerName: 'proxy.corp' } });
    expect(resolveEndpoint('sts.aliyuncs.com', o)).toMatchObject({ host: 'sts.aliyuncs.com', servername: 'proxy.corp' });
  });

  it('caFile is read once at parse time', () => {
    const o = parseEndpointOverrides('{"sts.aliyuncs.com":{"address":"10.1.2.3","port":443,"caFile":"/etc/mirror-ca.pem"}}', (p) => (p === '/etc/mirror-ca.pem' ? CA : ''));
    expect(o['sts.aliyuncs.com']).toEqual({ address: '10.1.2.3', port: 443, ca: CA });
  });

  it.each([
    ['not json', /not valid JSON/],
    ['[]', /JSON object/],
    ['{"sts.aliyuncs.com":{"port":1}}', /address/],
    ['{"sts.aliyuncs.com":{"address":"x","port":70000}}', /port/],
    ['{"sts.aliyuncs.com":{"address":"x","port":1,"ca":"nope"}}', /not a PEM/],
    ['{"http://sts.aliyuncs.com":{"address":"x","port":1}}', /not a host name/],
    ['{"sts.aliyuncs.com":{"address":"a b","port":1}}', /neither an IP/],
  ])('rejects %s with a usage error', (text, msg) => {
    try {
      parseEndpointOverrides(text, () => '');
      expect.unreachable();
    } catch (e) {
      expect(isInsightError(e) && e.kind).toBe('invalid-input');
      expect((e as Error).message).toMatch(msg);
    }
  });

  it(`reads ${ENDPOINT_OVERRIDES_ENV}; options win over the environment`, () => {
    const env = { [ENDPOINT_OVERRIDES_ENV]: '{"sts.aliyuncs.com":{"address":"127.0.0.1","port":1111}}' };
    const fromEnv = overridesFromEnv(env);
    expect(fromEnv['sts.aliyuncs.com']?.port).toBe(1111);
    expect(overridesFromEnv({})).toEqual({});
    const merged = mergeOverrides(fromEnv, { 'sts.aliyuncs.com': { address: '127.0.0.1', port: 2222 } });
    expect(resolveEndpoint('sts.aliyuncs.com', merged).port).toBe(2222);
  });
});
