import { describe, expect, it } from 'vitest';
import { classifyCurl, parseProbeOutput, scriptEnv } from '../../../src/net/script.js';

const base = { code: '000', ip: '', connected: false, tlsDone: false, plain: '-', detail: '', host: 'cms.cn-hangzhou.aliyuncs.com', port: 443 };

describe('classifyCurl', () => {
  it.each([
    [{ rc: 0, code: '404', ip: '1.2.3.4', connected: true, tlsDone: true }, 'ok'],
    [{ rc: 0, code: '000' }, 'error'],
    [{ rc: 6 }, 'dns-failure'],
    [{ rc: 7, detail: '* connect to 1.2.3.4 port 443 failed: Connection refused' }, 'refused'],
    [{ rc: 7, detail: '* connect to 1.2.3.4 port 443 failed: No route to host' }, 'unreachable'],
    [{ rc: 7, detail: '* connect to 1.2.3.4 port 443 failed: Connection timed out' }, 'timeout'],
    [{ rc: 28 }, 'timeout'],
    [{ rc: 28, connected: true }, 'tls-other'],
    [{ rc: 28, connected: true, tlsDone: true }, 'error'],
    [{ rc: 35, plain: '400' }, 'http-on-https'],
    [{ rc: 35, plain: '000' }, 'tls-other'],
    [{ rc: 35 }, 'tls-other'],
    [{ rc: 60 }, 'tls-untrusted'],
    [{ rc: 51 }, 'tls-untrusted'],
    [{ rc: 56, connected: true }, 'tls-other'],
    [{ rc: 56, connected: true, tlsDone: true }, 'error'],
    [{ rc: 52 }, 'error'],
    [{ rc: 3 }, 'error'],
  ])('%o → %s', (x, outcome) => {
    expect(classifyCurl({ ...base, ...x }).outcome).toBe(outcome);
  });
  it('reports the HTTP status of a successful probe', () => {
    expect(classifyCurl({ ...base, rc: 0, code: '403', connected: true, tlsDone: true })).toMatchObject({ outcome: 'ok', status: 403 });
  });
});

describe('parseProbeOutput', () => {
  const out = [
    'INSIGHT-PROBE-BEGIN v1 curl 8.11.1',
    'INSIGHT-PROBE cms.cn-hangzhou.aliyuncs.com 443 rc=0 conn=1 tls=1 plain=- W 404 1.2.3.4 0.01 0.03 | ',
    'INSIGHT-PROBE cn-hangzhou.log.aliyuncs.com 443 rc=6 conn=0 tls=0 plain=- W 000  0.000000 0.000000 | curl: (6) Could not resolve host: cn-hangzhou.log.aliyuncs.com',
    'INSIGHT-PROBE-END',
  ].join('\n');
  it('reads every endpoint line and the end marker', () => {
    const p = parseProbeOutput(out, 'node/a');
    expect(p.complete).toBe(true);
    expect(p.tool).toBe('curl 8.11.1');
    expect(p.results.map((r) => [r.host, r.outcome, r.status, r.vantage])).toEqual([
      ['cms.cn-hangzhou.aliyuncs.com', 'ok', 404, 'node/a'],
      ['cn-hangzhou.log.aliyuncs.com', 'dns-failure', undefined, 'node/a'],
    ]);
  });
  it('is incomplete without the end marker (a probe still running or killed)', () => {
    expect(parseProbeOutput(out.split('\n').slice(0, 2).join('\n'), 'node/a').complete).toBe(false);
  });
  it('recognises an image without curl', () => {
    expect(parseProbeOutput('INSIGHT-PROBE-BEGIN v1 no-curl\nINSIGHT-PROBE-END\n', 'node/a').tool).toBe('no-curl');
  });
});

describe('scriptEnv', () => {
  it('turns IP overrides into hostAliases and name/port overrides into connect-to fields; CAs deduplicated', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----';
    const se = scriptEnv([
      { host: 'a.aliyuncs.com', port: 443, connectAddress: '10.0.0.5', connectPort: 8443, ca: pem },
      { host: 'b.aliyuncs.com', port: 443, connectAddress: 'proxy.internal', ca: pem },
      { host: 'c.aliyuncs.com', port: 443 },
    ]);
    expect(se.hostAliases).toEqual({ '10.0.0.5': ['a.aliyuncs.com'] });
    expect(se.env.PROBE_TARGETS!.split('\n')).toEqual(['a.aliyuncs.com 443 - 8443 0 /', 'b.aliyuncs.com 443 proxy.internal - 0 /', 'c.aliyuncs.com 443 - - - /']);
    expect(se.env.PROBE_CA_0).toBe(pem);
    expect(se.env.PROBE_CA_1).toBeUndefined();
  });
  it('refuses anything that is not a host name (no shell injection through an override)', () => {
    expect(() => scriptEnv([{ host: 'a.com; rm -rf /', port: 443 }])).toThrow(/not a host name/);
    expect(() => scriptEnv([{ host: 'a.com', port: 443, connectAddress: '$(reboot)' }])).toThrow(/not a host name/);
  });
});
