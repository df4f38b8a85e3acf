import { describe, expect, it } from 'vitest';
import { looksLikeHtml, missingFamilies, validatePromText } from '../../../src/checks/doctor/promtext.js';

const good = `# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 1234.5
node_cpu_seconds_total{cpu="0",mode="user"} 1.5e+02
# TYPE node_load1 gauge
node_load1 0.25 1700000000000
up{job="a\\"b",instance="x\\\\y\\n"} NaN
temp -Inf
`;

describe('validatePromText', () => {
  it('accepts valid exposition text and lists its names', () => {
    const r = validatePromText(good);
    expect(r.errors).toEqual([]);
    expect(r.valid).toBe(true);
    expect(r.samples).toBe(5);
    expect(r.names.has('node_cpu_seconds_total')).toBe(true);
    expect(r.names.has('node_load1')).toBe(true);
  });

  it.each([
    ['a value that is not a number', 'foo{a="b"} abc\n', /bad value "abc"/],
    ['an unquoted label value', 'foo{a=b} 1\n', /not quoted/],
    ['an unterminated label set', 'foo{a="b" 1\n', /expected "," or "}"|unterminated/],
    ['a bad escape', 'foo{a="\\x"} 1\n', /bad escape/],
    ['a duplicate label', 'foo{a="1",a="2"} 1\n', /duplicate label/],
    ['an unknown TYPE', '# TYPE foo bogus\nfoo 1\n', /unknown type/],
    ['a second TYPE line', '# TYPE foo gauge\n# TYPE foo gauge\nfoo 1\n', /second # TYPE/],
    ['a bad metric name', '1foo 1\n', /not a sample/],
    ['a bad timestamp', 'foo 1 later\n', /bad timestamp/],
    ['an HTML page', '<html><body>hi</body></html>\n', /not a sample/],
    ['nothing at all', '\n', /no samples/],
  ])('rejects %s', (_what, body, re) => {
    const r = validatePromText(body);
    expect(r.valid).toBe(false);
    expect(r.errors.join('\n')).toMatch(re);
  });

  it('reports line numbers', () => {
    expect(validatePromText('ok 1\nbad{ 2\n').errors[0]).toMatch(/^line 2:/);
  });

  it('accepts OpenMetrics # EOF and refuses content after it', () => {
    expect(validatePromText('# TYPE a counter\na_total 1\n# EOF\n').valid).toBe(true);
    expect(validatePromText('a 1\n# EOF\nb 2\n').errors.join()).toMatch(/after # EOF/);
  });
});

describe('missingFamilies', () => {
  it('matches sample and TYPE names, with or without _total', () => {
    const r = validatePromText('# TYPE kube_pod_info gauge\nkube_pod_info{pod="x"} 1\n# TYPE c counter\nc_total 3\n');
    expect(missingFamilies(r, ['kube_pod_info', 'c_total', 'c', 'DCGM_FI_DEV_GPU_UTIL'])).toEqual(['DCGM_FI_DEV_GPU_UTIL']);
  });
  it('spots HTML', () => {
    expect(looksLikeHtml('<!DOCTYPE html><html>')).toBe(true);
    expect(looksLikeHtml('foo 1')).toBe(false);
  });
});
