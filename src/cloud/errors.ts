/**
 * What went wrong talking to Alibaba Cloud, as data: one classified code, a one-line message and a
 * hint, for the checks to report. Server error bodies come in two shapes: the OpenAPI gateway's
 * (STS, CMS: `{"Code","Message","RequestId","AccessDeniedDetail"}`, sometimes XML) and SLS's
 * (`{"errorCode","errorMessage"}` + `x-log-requestid`). Messages are built here from the parsed facts;
 * server text is only quoted shortened, to one line and through `redact()`, so no secret and no
 * multi-line "string to sign" can reach a report.
 */
import { redact } from '../secret.js';
import type { CloudService } from './endpoints.js';

export type CloudErrorCode =
  | 'InvalidAccessKeyId'
  | 'SignatureDoesNotMatch'
  | 'Forbidden'
  | 'RequestTimeExpired'
  | 'NotFound'
  | 'Throttled'
  | 'BadRequest'
  | 'ServerError'
  | 'BadResponse'
  | 'InvalidInput'
  | 'DnsError'
  | 'ConnectionRefused'
  | 'Timeout'
  | 'TlsError'
  | 'ConnectionReset'
  | 'NetworkUnreachable'
  | 'Aborted'
  | 'NetworkError';

export const NETWORK_ERROR_CODES: readonly CloudErrorCode[] = ['DnsError', 'ConnectionRefused', 'Timeout', 'TlsError', 'ConnectionReset', 'NetworkUnreachable', 'Aborted', 'NetworkError'];

export interface CloudError {
  code: CloudErrorCode;
  /** One line, no secret. */
  message: string;
  hint: string;
  service: CloudService;
  host: string;
  httpStatus?: number;
  /** The server's own code, e.g. `InvalidAccessKeyId.NotFound`, `SignatureNotMatch`, `Unauthorized`. */
  apiCode?: string;
  requestId?: string;
  /** The RAM action that was denied, when the server named it. */
  action?: string;
  /** Server time from a RequestTimeExpired answer (ISO), to show the skew. */
  serverTime?: string;
  /** Low-level detail for network errors (`ECONNREFUSED`, `ERR_TLS_CERT_ALTNAME_INVALID`). */
  detail?: string;
}

export type CloudResult<T> = { ok: true; value: T; requestId?: string } | { ok: false; error: CloudError };

export const ok = <T>(value: T, requestId?: string): CloudResult<T> => (requestId ? { ok: true, value, requestId } : { ok: true, value });
export const fail = <T = never>(error: CloudError): CloudResult<T> => ({ ok: false, error });

/** First line, at most `max` characters, secrets scrubbed. */
export function oneLine(text: string, max = 160): string {
  const first = redact(text).split(/\r?\n/)[0]!.trim();
  return first.length > max ? `${first.slice(0, max - 1)}…` : first;
}

export interface ParsedApiError {
  code?: string;
  message?: string;
  requestId?: string;
  authAction?: string;
}

/**
 * Read either gateway's error body; tolerant of non-JSON (proxies answer HTML). Every field is server
 * text, so each comes back scrubbed of secrets, and the short ones on one bounded line: a server that
 * echoes our Authorization header cannot put it into a report.
 */
export function parseApiErrorBody(body: Buffer | string, headers: Record<string, string | string[] | undefined> = {}): ParsedApiError {
  const raw = rawApiErrorBody(body, headers);
  const short = (v: string | undefined) => (v === undefined ? undefined : oneLine(v, 80) || undefined);
  const out: ParsedApiError = {};
  const code = short(raw.code);
  const requestId = short(raw.requestId);
  const authAction = short(raw.authAction);
  if (code) out.code = code;
  if (raw.message !== undefined) out.message = redact(raw.message);
  if (requestId) out.requestId = requestId;
  if (authAction) out.authAction = authAction;
  return out;
}

function rawApiErrorBody(body: Buffer | string, headers: Record<string, string | string[] | undefined>): ParsedApiError {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  const out: ParsedApiError = {};
  const reqIdHeader = headers['x-log-requestid'] ?? headers['x-acs-request-id'];
  if (typeof reqIdHeader === 'string') out.requestId = reqIdHeader;
  try {
    const j = JSON.parse(text) as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
    out.code = str(j.Code) ?? str(j.code) ?? str(j.errorCode);
    out.message = str(j.Message) ?? str(j.message) ?? str(j.errorMessage);
    out.requestId = str(j.RequestId) ?? str(j.requestId) ?? out.requestId;
    const detail = (j.AccessDeniedDetail ?? j.accessDeniedDetail) as Record<string, unknown> | undefined;
    if (detail && typeof detail === 'object') out.authAction = str(detail.AuthAction) ?? str(detail.authAction);
    return out;
  } catch {
    const tag = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(text)?.[1];
    out.code = tag('Code');
    out.message = tag('Message');
    out.requestId = tag('RequestId') ?? out.requestId;
    return out;
  }
}

/** The RAM action a denial names: AccessDeniedDetail, or "action: log:GetProject" / "Action: cms:X" in the text. */
export function deniedAction(parsed: ParsedApiError): string | undefined {
  if (parsed.authAction) return parsed.authAction;
  const m = /\baction:\s*([a-z0-9-]+:[A-Za-z0-9*]+)/i.exec(parsed.message ?? '');
  return m?.[1];
}

const SERVICE_NAME: Record<CloudService, string> = { sts: 'STS', sls: 'Log Service (SLS)', cms: 'Cloud Monitor', prometheus: 'The Prometheus query API' };

export interface ApiErrorContext {
  service: CloudService;
  host: string;
  /** The RAM action the request needed, used when the server does not name it. */
  action?: string;
  /** Hint for a 404, which only the caller can word ("check --project-name"). */
  notFoundHint?: string;
  notFoundMessage?: string;
  /** Our clock when the request was signed, to compute the skew. */
  sentAt?: Date;
}

export function classifyApiError(status: number, body: Buffer | string, headers: Record<string, string | string[] | undefined>, ctx: ApiErrorContext): CloudError {
  const p = parseApiErrorBody(body, headers);
  const apiCode = p.code ?? '';
  const msg = p.message ?? '';
  const base = {
    service: ctx.service,
    host: ctx.host,
    httpStatus: status,
    ...(p.code ? { apiCode: p.code } : {}),
    ...(p.requestId ? { requestId: p.requestId } : {}),
  };
  const svc = SERVICE_NAME[ctx.service];

  // Unknown or disabled AccessKey: the gateway's InvalidAccessKeyId.*; SLS says Unauthorized "AccessKeyId not found: <id>".
  if (/^InvalidAccessKeyId/i.test(apiCode) || /AccessKeyId (not found|is (disabled|inactive|unauthorized))|access ?key (id )?(is )?not (found|exist)|Specified access key is (not found|disabled)/i.test(msg)) {
    const disabled = /Inactive|disabled/i.test(apiCode + msg);
    return {
      ...base,
      code: 'InvalidAccessKeyId',
      message: disabled ? `${svc} rejected the AccessKey ID: it is disabled (${apiCode || status}).` : `${svc} does not know this AccessKey ID (${apiCode || status}).`,
      hint: disabled
        ? 'Enable the AccessKey in the RAM console (AccessKey management), or use an active one.'
        : 'Check the AccessKey ID (--access-key-id or ALIBABA_CLOUD_ACCESS_KEY_ID): it may be mistyped, deleted, or belong to another site (China vs international).',
    };
  }
  if (/^(SignatureDoesNotMatch|SignatureNotMatch|IncompleteSignature|InvalidSignature)/i.test(apiCode) || /signature .*not match/i.test(msg)) {
    return {
      ...base,
      code: 'SignatureDoesNotMatch',
      message: `${svc} computed a different request signature (${apiCode || status}): the AccessKey secret does not match the AccessKey ID.`,
      hint: 'Re-copy the AccessKey secret of this AccessKey ID (no spaces or line breaks); if it is right, a proxy between here and Alibaba Cloud is altering requests.',
    };
  }
  if (/^(RequestTimeExpired|InvalidTimeStamp|RequestTimeTooSkewed)/i.test(apiCode) || /has been expired while server time/i.test(msg)) {
    const serverTime = /server time is\s*(.+?)\.?\s*$/i.exec(oneLine(msg, 200))?.[1];
    const serverDate = serverTime ? new Date(serverTime) : undefined;
    const skew = serverDate && !Number.isNaN(serverDate.getTime()) && ctx.sentAt ? Math.round((ctx.sentAt.getTime() - serverDate.getTime()) / 60000) : undefined;
    return {
      ...base,
      code: 'RequestTimeExpired',
      ...(serverDate && !Number.isNaN(serverDate.getTime()) ? { serverTime: serverDate.toISOString() } : {}),
      message:
        skew !== undefined
          ? `${svc} refused the request time: this machine's clock is ${Math.abs(skew)} minutes ${skew > 0 ? 'ahead of' : 'behind'} the server (limit 15).`
          : `${svc} refused the request time (${apiCode || status}): this machine's clock is more than 15 minutes off.`,
      hint: 'Synchronise the clock of this machine (e.g. `timedatectl set-ntp true`, or `chronyc makestep`), then retry. Signed requests are only valid within 15 minutes.',
    };
  }
  const action = deniedAction(p) ?? (/denied by sts or ram|not authorized|NoPermission|Forbidden/i.test(apiCode + msg) ? ctx.action : undefined);
  if (status === 403 || /^(Forbidden|NoPermission|AccessDenied|Unauthorized)/i.test(apiCode) || /denied by sts or ram/i.test(msg)) {
    return {
      ...base,
      code: 'Forbidden',
      ...(action ? { action } : {}),
      message: action ? `Permission denied by RAM for ${action}.` : `${svc} denied the request (${apiCode || status}).`,
      hint: action
        ? `Grant ${action} to this RAM user (the AliyunPrometheusMetricWriteAccess system policy covers it, or add it to a custom policy).`
        : 'Grant this RAM user the AliyunPrometheusMetricWriteAccess system policy or the custom policy from the install guide.',
    };
  }
  if (status === 404 || /NotExist|NotFound/i.test(apiCode)) {
    return {
      ...base,
      code: 'NotFound',
      message: ctx.notFoundMessage ?? `${svc} says the resource does not exist (${apiCode || status}).`,
      hint: ctx.notFoundHint ?? 'Check the name and the region.',
    };
  }
  if (status === 429 || /Throttl|QuotaExceed|ExceedQuota/i.test(apiCode)) {
    return { ...base, code: 'Throttled', message: `${svc} is throttling requests (${apiCode || status}).`, hint: 'Retry in a minute.' };
  }
  if (status >= 500) {
    return { ...base, code: 'ServerError', message: `${svc} answered ${status}${apiCode ? ` ${apiCode}` : ''}${msg ? `: ${oneLine(msg, 100)}` : ''}.`, hint: 'A temporary server-side problem: retry later.' };
  }
  if (!p.code) {
    // Not an Alibaba Cloud answer at all: a captive portal, a proxy, a wrong override.
    return { ...base, code: 'BadResponse', message: `${ctx.host} answered HTTP ${status} without an Alibaba Cloud error body.`, hint: 'Something else answers on this address (a proxy or a wrong endpoint override).' };
  }
  return { ...base, code: 'BadRequest', message: `${svc} rejected the request: ${apiCode}${msg ? `: ${oneLine(msg, 100)}` : ''}.`, hint: 'Check the region and the resource names.' };
}

