/**
 * A Prometheus HTTP API client for an instance's query URL (GetPrometheusInstance's httpApiInterUrl or
 * httpApiIntraUrl): `/api/v1/query`, `/api/v1/series`, `/api/v1/labels` under the URL's path.
 *
 * Authentication, as the instance asks for it:
 * - an instance with `enableAuthToken` takes its `authToken` as `Authorization: Bearer <token>`;
 * - otherwise HTTP Basic with the AccessKey ID and secret, the MetricStore-compatible scheme; with
 *   STS credentials the password is `<secret>$<securityToken>`.
 * The Authorization header is the only place the secret or the token goes, and it is built here.
 * Requests are POSTed as a form (Prometheus accepts both), so long selectors never meet URL limits and
 * no query string carries data a proxy log would keep.
 */
import type { Secret } from '../secret.js';
import type { CloudCredentials, CloudCallOptions } from './credentials.js';
import { classifyApiError, fail, ok, parseApiErrorBody, type CloudError, type CloudResult } from './errors.js';
import { send } from './transport.js';

export type PromAuth = { kind: 'bearer'; token: Secret } | { kind: 'basic'; creds: CloudCredentials };

/** The RAM system policy that lets a key read metrics, and the actions it holds. */
export const METRIC_READ_POLICY = 'AliyunPrometheusMetricReadAccess';
export const METRIC_READ_ACTIONS = ['log:QueryMetrics', 'log:QueryPrometheusMetrics'] as const;

export function authorizationHeader(a: PromAuth): string {
  if (a.kind === 'bearer') return `Bearer ${a.token.reveal()}`;
  const password = a.creds.securityToken ? `${a.creds.accessKeySecret.reveal()}$${a.creds.securityToken.reveal()}` : a.creds.accessKeySecret.reveal();
  return `Basic ${Buffer.from(`${a.creds.accessKeyId}:${password}`, 'utf8').toString('base64')}`;
}

export interface PromEndpoint {
  /** The instance's query URL, e.g. `https://proj.cn-hangzhou.log.aliyuncs.com/prometheus/proj/store`. */
  url: string;
  auth: PromAuth;
}

export interface PromSample {
  metric: Record<string, string>;
  /** Unix seconds. */
  t: number;
  value: number;
}

/** Why a query URL is unusable, or undefined. */
export function badQueryUrl(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `"${url}" is not a URL`;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return `"${url}" is not an http(s) URL`;
  if (u.username || u.password) return 'the query URL carries credentials';
  return undefined;
}

async function call(ep: PromEndpoint, api: 'query' | 'series' | 'labels', form: [string, string][], opts: CloudCallOptions): Promise<CloudResult<unknown>> {
  const problem = badQueryUrl(ep.url);
  const u = new URL(problem ? 'https://invalid.invalid/' : ep.url);
  if (problem) return fail({ code: 'InvalidInput', service: 'prometheus', host: u.hostname, message: `The Prometheus instance's query URL cannot be used: ${problem}.`, hint: 'Check the instance in the Cloud Monitor 2.0 console.' });
  const path = `${u.pathname.replace(/\/+$/, '')}/api/v1/${api}`;
  const body = Buffer.from(new URLSearchParams(form).toString(), 'utf8');
  const r = await send(
    {
      service: 'prometheus',
      host: u.hostname,
      ...(u.port ? { port: Number(u.port) } : {}),
      scheme: u.protocol === 'http:' ? 'http' : 'https',
      method: 'POST',
      path,
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded', 'user-agent': opts.userAgent ?? 'kubectl-insight', authorization: authorizationHeader(ep.auth) },
      body,
    },
    opts,
  );
  if (!r.ok) return r;
  const { status, headers } = r.response;
  const text = r.response.body.toString('utf8');
  let json: { status?: string; data?: unknown; errorType?: string; error?: string } | undefined;
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    json = undefined;
  }
  if (status === 401 || status === 403) return fail(readRefusal(status, r.response.body, headers, u.hostname));
  if (status >= 200 && status < 300 && json?.status === 'success') return ok(json.data);
  if (json?.status === 'error') {
    return fail({ code: 'BadRequest', service: 'prometheus', host: u.hostname, httpStatus: status, apiCode: json.errorType ?? 'error', message: `The query API refused the query (${json.errorType ?? status}): ${(json.error ?? '').slice(0, 160)}.`, hint: 'This is a bug in kubectl-insight if it persists: report it with the output of -v.' });
  }
  return fail(classifyApiError(status, r.response.body, headers, { service: 'prometheus', host: u.hostname, notFoundMessage: `The Prometheus instance's query URL answers 404 (${parseApiErrorBody(r.response.body).code ?? 'not found'}).`, notFoundHint: 'The metric store behind the instance does not exist (yet): the collector creates it when it first writes.' }));
}

/**
 * A 401/403 of the query side. A wrong key or secret is named as such; anything else means this key
 * may not read metrics, which is not the same as "no data".
 */
function readRefusal(status: number, body: Buffer, headers: Record<string, string | string[] | undefined>, host: string): CloudError {
  const p = parseApiErrorBody(body, headers);
  const text = `${p.code ?? ''} ${p.message ?? ''}`;
  const base = { service: 'prometheus' as const, host, httpStatus: status, ...(p.code ? { apiCode: p.code } : {}), ...(p.requestId ? { requestId: p.requestId } : {}) };
  if (/AccessKeyId (not found|is disabled)|InvalidAccessKeyId/i.test(text)) {
    return { ...base, code: 'InvalidAccessKeyId', message: `The query API does not accept this AccessKey ID (HTTP ${status}).`, hint: 'Check the AccessKey ID; it may be deleted, disabled or mistyped.' };
  }
  if (/signature|password|secret|mismatch/i.test(text) && !/denied by sts or ram/i.test(text)) {
    return { ...base, code: 'SignatureDoesNotMatch', message: `The query API rejected the AccessKey secret (HTTP ${status}).`, hint: 'Re-copy the AccessKey secret of this AccessKey ID.' };
  }
  if (/token/i.test(text) && !/denied by sts or ram/i.test(text)) {
    return { ...base, code: 'Forbidden', message: `The query API rejected the instance's auth token (HTTP ${status}).`, hint: 'The token changed since GetPrometheusInstance answered, or the instance has token auth switched off: run again.' };
  }
  return {
    ...base,
    code: 'Forbidden',
    action: 'log:QueryMetrics',
    message: `this key cannot read metrics (HTTP ${status}${p.code ? ` ${p.code}` : ''})`,
    hint: `Attach the system policy ${METRIC_READ_POLICY} to the RAM user (or a policy with ${METRIC_READ_ACTIONS.join(' and ')}). Writing metrics (the collector's key) and reading them are separate permissions.`,
  };
}

function vector(data: unknown): PromSample[] {
  const d = data as { resultType?: string; result?: unknown };
  if (d?.resultType === 'scalar' && Array.isArray(d.result)) return [{ metric: {}, t: Number(d.result[0]), value: Number(d.result[1]) }];
  if (!Array.isArray(d?.result)) return [];
  return (d.result as { metric?: Record<string, string>; value?: [number, string] }[]).map((x) => ({ metric: x.metric ?? {}, t: Number(x.value?.[0] ?? 0), value: Number(x.value?.[1] ?? NaN) }));
}

/** An instant query; the result as a flat vector. */
export async function promQuery(ep: PromEndpoint, query: string, at: Date, opts: CloudCallOptions = {}): Promise<CloudResult<PromSample[]>> {
  const r = await call(ep, 'query', [['query', query], ['time', (at.getTime() / 1000).toFixed(3)]], opts);
  return r.ok ? ok(vector(r.value)) : r;
}

/** Label sets of the series matching `match` in [start, end], at most `limit` (servers that ignore it send all). */
export async function promSeries(ep: PromEndpoint, match: string, start: Date, end: Date, limit: number, opts: CloudCallOptions = {}): Promise<CloudResult<Record<string, string>[]>> {
  const r = await call(ep, 'series', [['match[]', match], ['start', String(Math.floor(start.getTime() / 1000))], ['end', String(Math.ceil(end.getTime() / 1000))], ['limit', String(limit)]], opts);
  return r.ok ? ok(Array.isArray(r.value) ? (r.value as Record<string, string>[]).slice(0, limit) : []) : r;
}

/** Label names (of series in [start, end]). */
export async function promLabels(ep: PromEndpoint, start: Date, end: Date, opts: CloudCallOptions = {}): Promise<CloudResult<string[]>> {
  const r = await call(ep, 'labels', [['start', String(Math.floor(start.getTime() / 1000))], ['end', String(Math.ceil(end.getTime() / 1000))]], opts);
  return r.ok ? ok(Array.isArray(r.value) ? (r.value as string[]) : []) : r;
}

/** A PromQL string literal (double-quoted, escaped). */
export function promString(v: string): string {
  return JSON.stringify(v);
}
