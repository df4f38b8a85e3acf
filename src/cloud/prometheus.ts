/**
 * A Prometheus HTTP API client for an instance's query URL (GetPrometheusInstance's httpApiInterUrl or
 * httpApiIntraUrl): `/api/v1/query` and `/api/v1/labels` under the URL's path.
 *
 * Authentication, as the instance asks for it:
 * - an instance with `enableAuthToken` takes its `authToken` as `Authorization: Bearer <token>`;
 * - otherwise HTTP Basic with the AccessKey ID and secret, the MetricStore-compatible scheme; with
 *   STS credentials the password is `<secret>$<securityToken>`.
 * The Authorization header is the only place the secret or the token goes, and it is built here.
 * Requests are POSTed as a form (Prometheus accepts both), so long selectors never meet URL limits and
 * no query string carries data a proxy log would keep.
 */
import { Secret } from '../secret.js';
import type { CloudCredentials, CloudCallOptions } from './credentials.js';
import { classifyApiError, fail, ok, oneLine, parseApiErrorBody, type CloudError, type CloudResult } from './errors.js';
import { send } from './transport.js';

export type PromAuth = { kind: 'bearer'; token: Secret } | { kind: 'basic'; creds: CloudCredentials };

/** The RAM system policy that lets a key read metrics, and the actions it holds. */
export const METRIC_READ_POLICY = 'AliyunPrometheusMetricReadAccess';
export const METRIC_READ_ACTIONS = ['log:QueryMetrics', 'log:QueryPrometheusMetrics'] as const;

export function authorizationHeader(a: PromAuth): string {
  if (a.kind === 'bearer') return `Bearer ${a.token.reveal()}`;
  const password = a.creds.securityToken ? `${a.creds.accessKeySecret.reveal()}$${a.creds.securityToken.reveal()}` : a.creds.accessKeySecret.reveal();
  // The encoded pair is as secret as the secret: registered, so a server that echoes it is scrubbed too.
  const basic = new Secret(Buffer.from(`${a.creds.accessKeyId}:${password}`, 'utf8').toString('base64'));
  return `Basic ${basic.reveal()}`;
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

/**
 * Why a query URL is unusable, or undefined. Credentials go in every request, so only https: a plain
 * http URL would carry the key (or the token) in clear text.
 */
export function badQueryUrl(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'it is not a URL';
  }
  if (u.username || u.password) return 'it carries credentials of its own';
  if (u.protocol === 'http:') return 'it is plain http, and the AccessKey or token would be sent in clear text';
  if (u.protocol !== 'https:') return `its scheme ${u.protocol} is not https`;
  return undefined;
}

/** The URL as reports may show it: no userinfo, no query, no fragment. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

async function call(ep: PromEndpoint, api: 'query' | 'labels', form: [string, string][], opts: CloudCallOptions): Promise<CloudResult<unknown>> {
  const problem = badQueryUrl(ep.url);
  if (problem) return fail({ code: 'InvalidInput', service: 'prometheus', host: 'invalid', message: `The Prometheus instance's query URL cannot be used: ${problem}.`, hint: 'Check the instance in the Cloud Monitor 2.0 console.' });
  const u = new URL(ep.url);
  const path = `${u.pathname.replace(/\/+$/, '')}/api/v1/${api}`;
  const body = Buffer.from(new URLSearchParams(form).toString(), 'utf8');
  const r = await send(
    {
      service: 'prometheus',
      host: u.hostname,
      ...(u.port ? { port: Number(u.port) } : {}),
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
  if (status === 401 || status === 403) return fail(readRefusal(status, r.response.body, headers, u.hostname, ep.auth.kind));
  if (status >= 200 && status < 300 && json?.status === 'success') return ok(json.data);
  if (json?.status === 'error') {
    // Server text is quoted only through oneLine: secrets scrubbed first, then one short line.
    const type = oneLine(String(json.errorType ?? status), 40);
    return fail({ code: 'BadRequest', service: 'prometheus', host: u.hostname, httpStatus: status, apiCode: type, message: `The query API refused the query (${type}): ${oneLine(String(json.error ?? ''), 120)}.`, hint: 'This is a bug in kubectl-insight if it persists: report it with the output of -v.' });
  }
  return fail(classifyApiError(status, r.response.body, headers, { service: 'prometheus', host: u.hostname, notFoundMessage: `The Prometheus instance's query URL answers 404 (${parseApiErrorBody(r.response.body).code ?? 'not found'}).`, notFoundHint: 'The metric store behind the instance does not exist (yet): the collector creates it when it first writes.' }));
}

/**
 * A 401/403 of the query side. A wrong key or secret is named as such; anything else means this key
 * may not read metrics, which is not the same as "no data".
 */
function readRefusal(status: number, body: Buffer, headers: Record<string, string | string[] | undefined>, host: string, auth: PromAuth['kind']): CloudError {
  const p = parseApiErrorBody(body, headers);
  const code = p.code ? oneLine(p.code, 40) : undefined;
  const text = `${p.code ?? ''} ${p.message ?? ''}`;
  const denied = /denied by sts or ram|NoPermission|not authorized/i.test(text);
  const base = { service: 'prometheus' as const, host, httpStatus: status, ...(code ? { apiCode: code } : {}), ...(p.requestId ? { requestId: oneLine(p.requestId, 64) } : {}) };
  if (auth === 'basic' && !denied && /AccessKeyId (not found|is disabled)|InvalidAccessKeyId/i.test(text)) {
    return { ...base, code: 'InvalidAccessKeyId', message: `The query API does not accept this AccessKey ID (HTTP ${status}).`, hint: 'Check the AccessKey ID; it may be deleted, disabled or mistyped.' };
  }
  if (auth === 'basic' && !denied && /SignatureNotMatch|signature.{0,20}not match|password.{0,20}(wrong|mismatch|incorrect|invalid)|(wrong|incorrect|invalid) (password|secret)/i.test(text)) {
    return { ...base, code: 'SignatureDoesNotMatch', message: `The query API rejected the AccessKey secret (HTTP ${status}).`, hint: 'Re-copy the AccessKey secret of this AccessKey ID.' };
  }
  if (auth === 'bearer' && !denied) {
    return { ...base, code: 'Forbidden', message: `The query API rejected the instance's auth token (HTTP ${status}).`, hint: 'The token changed since GetPrometheusInstance answered, or the instance has token auth switched off: run again.' };
  }
  return {
    ...base,
    code: 'Forbidden',
    action: 'log:QueryMetrics',
    message: `this key cannot read metrics (HTTP ${status}${code ? ` ${code}` : ''})`,
    hint: `Attach the system policy ${METRIC_READ_POLICY} to the RAM user (or a policy with ${METRIC_READ_ACTIONS.join(' and ')}). Writing metrics (the collector's key) and reading them are separate permissions.`,
  };
}

/** An instant query's result as a flat vector; undefined for anything but a vector or a scalar. */
function vector(data: unknown): PromSample[] | undefined {
  const d = data as { resultType?: string; result?: unknown };
  if (d?.resultType === 'scalar' && Array.isArray(d.result)) return [{ metric: {}, t: Number(d.result[0]), value: Number(d.result[1]) }];
  if (d?.resultType !== 'vector' || !Array.isArray(d.result)) return undefined;
  return (d.result as { metric?: Record<string, string>; value?: [number, string] }[]).map((x) => ({ metric: x.metric ?? {}, t: Number(x.value?.[0] ?? 0), value: Number(x.value?.[1] ?? NaN) }));
}

/** An instant query; the result as a flat vector. */
export async function promQuery(ep: PromEndpoint, query: string, at: Date, opts: CloudCallOptions = {}): Promise<CloudResult<PromSample[]>> {
  const r = await call(ep, 'query', [['query', query], ['time', (at.getTime() / 1000).toFixed(3)]], opts);
  if (!r.ok) return r;
  const v = vector(r.value);
  if (!v) {
    const host = new URL(ep.url).hostname;
    return fail({ code: 'BadResponse', service: 'prometheus', host, message: `${host} answered an instant query with neither a vector nor a scalar.`, hint: 'Something else answers on this address (a proxy or a wrong endpoint override), or the query URL is not a Prometheus API.' });
  }
  return ok(v);
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
