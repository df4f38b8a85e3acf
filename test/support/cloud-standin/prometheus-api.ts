/**
 * The Prometheus HTTP API endpoints the stand-in serves under an instance's httpApiInterUrl /
 * httpApiIntraUrl prefix, once the request is authenticated: /api/v1/query, /api/v1/series and
 * /api/v1/labels, as GET with a query string or POST with an application/x-www-form-urlencoded body
 * (parameters from both are merged, as Prometheus does). Answers are Prometheus API JSON.
 */
import { instantQuery, labelsKey, parseSeriesSelector, PromQLError, seriesMatches, type Matcher, type Series } from './promql.js';

export interface PromReply {
  status: number;
  body: unknown;
  code?: string;
}

const err = (status: number, errorType: string, error: string): PromReply => ({ status, code: errorType, body: { status: 'error', errorType, error } });

/** Prometheus' time parameter: unix seconds (float) or RFC 3339. Returns milliseconds. */
function parseTime(name: string, raw: string | null, fallback: number): number {
  if (raw === null || raw === '') return fallback;
  if (/^[+-]?\d+(\.\d+)?$/.test(raw)) return Math.round(Number(raw) * 1000);
  const t = Date.parse(raw);
  if (/^\d{4}-\d{2}-\d{2}T/.test(raw) && !Number.isNaN(t)) return t;
  throw new PromQLError(`invalid parameter "${name}": cannot parse "${raw}" to a valid timestamp`);
}

function params(method: string, url: string, headers: Record<string, string>, body: Buffer): URLSearchParams {
  const q = url.indexOf('?');
  const p = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  if (method === 'POST' && (headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    for (const [k, v] of new URLSearchParams(body.toString('utf8'))) p.append(k, v);
  }
  return p;
}

function selectors(p: URLSearchParams, required: boolean): Matcher[][] | undefined {
  const raw = p.getAll('match[]');
  if (raw.length === 0) {
    if (required) throw new PromQLError('no match[] parameter provided');
    return undefined;
  }
  return raw.map((s) => {
    try {
      return parseSeriesSelector(s);
    } catch (e) {
      throw new PromQLError(`invalid parameter "match[]": ${(e as Error).message}`);
    }
  });
}

function limitParam(p: URLSearchParams): number {
  const raw = p.get('limit');
  if (raw === null || raw === '') return 0;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new PromQLError(`invalid parameter "limit": limit must be a non-negative integer, got "${raw}"`);
  return n;
}

function range(p: URLSearchParams, nowMs: number): { start: number; end: number } {
  const end = parseTime('end', p.get('end'), nowMs);
  const start = parseTime('start', p.get('start'), end - 5 * 60 * 1000);
  if (end < start) throw new PromQLError('invalid parameter "end": end timestamp must not be before start time');
  return { start, end };
}

const inRange = (s: Series, start: number, end: number) => s.samples.some((x) => x.t >= start && x.t <= end);
const byLabels = (a: Series, b: Series) => (labelsKey(a.labels) < labelsKey(b.labels) ? -1 : labelsKey(a.labels) > labelsKey(b.labels) ? 1 : 0);

/**
 * Serve `endpoint` (the path after the instance prefix, e.g. `/api/v1/query`) over `data`.
 * `nowMs` is the server's clock: the default evaluation time and the default end of ranges.
 */
export function servePrometheusApi(endpoint: string, req: { method: string; url: string; headers: Record<string, string>; body: Buffer }, data: readonly Series[], nowMs: number): PromReply {
  if (!['/api/v1/query', '/api/v1/series', '/api/v1/labels'].includes(endpoint)) return err(404, 'not_found', `the stand-in does not serve ${endpoint}`);
  if (req.method !== 'GET' && req.method !== 'POST') return err(405, 'bad_data', `method ${req.method} not allowed`);
  try {
    const p = params(req.method, req.url, req.headers, req.body);
    if (endpoint === '/api/v1/query') {
      const time = parseTime('time', p.get('time'), nowMs);
      return { status: 200, body: { status: 'success', data: instantQuery(p.get('query') ?? '', time, data) } };
    }
    const { start, end } = range(p, nowMs);
    const limit = limitParam(p);
    const sel = selectors(p, endpoint === '/api/v1/series');
    const hits = data.filter((s) => inRange(s, start, end) && (!sel || sel.some((m) => seriesMatches(s.labels, m))));
    let out: unknown[];
    if (endpoint === '/api/v1/series') out = [...hits].sort(byLabels).map((s) => ({ ...s.labels }));
    else out = [...new Set(hits.flatMap((s) => Object.keys(s.labels).filter((k) => s.labels[k] !== '')))].sort();
    const truncated = limit > 0 && out.length > limit;
    return { status: 200, body: { status: 'success', data: truncated ? out.slice(0, limit) : out, ...(truncated ? { warnings: ['results truncated due to limit'] } : {}) } };
  } catch (e) {
    if (e instanceof PromQLError) return err(e.errorType === 'execution' ? 422 : 400, e.errorType, e.message);
    throw e;
  }
}
