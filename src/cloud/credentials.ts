/**
 * Credential checks as plain typed functions (no printing): is the AccessKey valid and whose is it
 * (STS GetCallerIdentity), does the SLS project exist and can the key read it (GetProject), does the
 * Prometheus instance exist (CMS 2.0 GetPrometheusInstance). Each returns `CloudResult<T>`: the value,
 * or a classified CloudError. The secret is used only inside the signers.
 *
 * API shapes used:
 * - STS 2015-04-01 GetCallerIdentity: RPC, POST / on sts.aliyuncs.com, ACS3-signed, no parameters,
 *   needs no RAM permission. Answer: AccountId, Arn, IdentityType, UserId, PrincipalId, RoleId.
 * - SLS GetProject: GET / on <project>.<region>.log.aliyuncs.com, action log:GetProject. Answer:
 *   projectName, region, status, owner, description, createTime, lastModifyTime.
 * - CMS 2024-03-30 GetPrometheusInstance: ROA, GET /prometheus-instances/{prometheusInstanceId} on
 *   cms.<region>.aliyuncs.com, ACS3-signed, action cms:GetPrometheusInstance (shape taken from the
 *   official cms20240330 SDKs; that SDK is not on npm). Answer: {requestId, prometheusInstance:{...}};
 *   we keep the descriptive fields, the query URLs, and the authToken (as a Secret) when enableAuthToken is on.
 */
import { randomBytes } from 'node:crypto';
import { Secret } from '../secret.js';
import { cmsHost, slsHost, slsProjectHost, stsHost, type CloudService, type NetMode } from './endpoints.js';
import { classifyApiError, fail, ok, parseApiErrorBody, type ApiErrorContext, type CloudError, type CloudResult } from './errors.js';
import { signAcs3, signSlsV1, signSlsV4, type SignedRequest } from './signing.js';
import { send, type HttpResponse, type TransportOptions } from './transport.js';

export interface CloudCredentials {
  accessKeyId: string;
  accessKeySecret: Secret;
  /** STS temporary credentials' token (ALIBABA_CLOUD_SECURITY_TOKEN). */
  securityToken?: Secret;
}

export interface CloudCallOptions extends TransportOptions {
  /** Which endpoints to use; the checks run from this machine, so Internet is the default. */
  net?: NetMode;
  /** SLS signature scheme; v1 (`LOG ak:sig`, HMAC-SHA1) is what the published docs and the collector use. */
  slsSignature?: 'v1' | 'v4';
  /** Explicit STS host (e.g. `sts.cn-hangzhou.aliyuncs.com`). */
  stsHost?: string;
  /** Region, used to pick the STS VPC endpoint in Intranet mode. */
  region?: string;
  /** Clock used to sign (tests; a known skew). */
  now?: () => Date;
  userAgent?: string;
}

export const STS_VERSION = '2015-04-01';
export const CMS_VERSION = '2024-03-30';
const USER_AGENT = 'kubectl-insight';

const nonce = () => randomBytes(16).toString('hex');

/** SLS project names: 3-63 characters, lower-case letters, digits and hyphens, starting and ending with a letter or digit. */
export const SLS_PROJECT_PATTERN = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
/** Prometheus instance ids are opaque (`rw-…`, `vpc-…`, cluster ids); only guard the URL path. */
export const PROMETHEUS_INSTANCE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

function invalidInput(service: CloudService, host: string, message: string, hint: string): CloudResult<never> {
  return fail({ code: 'InvalidInput', service, host, message, hint });
}

async function exchange(
  signed: SignedRequest,
  service: CloudService,
  host: string,
  body: Uint8Array | undefined,
  opts: CloudCallOptions,
): Promise<{ ok: true; response: HttpResponse } | { ok: false; error: CloudError }> {
  return send({ service, host, method: signed.method, path: signed.path, headers: signed.headers, ...(body ? { body } : {}) }, opts);
}

function parseJson(resp: HttpResponse): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(resp.body.toString('utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);

function badResponse(service: CloudService, host: string, status: number): CloudError {
  return { code: 'BadResponse', service, host, httpStatus: status, message: `${host} answered ${status} with a body that is not the expected JSON.`, hint: 'Something else answers on this address (a proxy or a wrong endpoint override).' };
}

export async function callAcs3(
  creds: CloudCredentials,
  req: { service: CloudService; host: string; method: string; path: string; action: string; version: string; query?: Record<string, string>; json?: unknown },
  opts: CloudCallOptions,
  errCtx: Omit<ApiErrorContext, 'service' | 'host' | 'sentAt'>,
): Promise<CloudResult<Record<string, unknown>>> {
  const date = (opts.now ?? (() => new Date()))();
  const body = req.json === undefined ? undefined : Buffer.from(JSON.stringify(req.json), 'utf8');
  const signed = signAcs3(
    {
      method: req.method,
      host: req.host,
      path: req.path,
      ...(req.query ? { query: req.query } : {}),
      ...(body ? { body } : {}),
      headers: { accept: 'application/json', 'user-agent': opts.userAgent ?? USER_AGENT, ...(body ? { 'content-type': 'application/json' } : {}) },
      action: req.action,
      version: req.version,
      date,
      nonce: nonce(),
    },
    creds,
  );
  const r = await exchange(signed, req.service, req.host, body, opts);
  if (!r.ok) return r;
  const { status, headers } = r.response;
  if (status < 200 || status >= 300) return fail(classifyApiError(status, r.response.body, headers, { service: req.service, host: req.host, sentAt: date, ...errCtx }));
  const json = parseJson(r.response);
  if (!json) return fail(badResponse(req.service, req.host, status));
  return ok(json, str(json.RequestId) ?? str(json.requestId));
}

// ---------------------------------------------------------------------------------------------

export interface CallerIdentity {
  accountId: string;
  arn: string;
  /** `Account`, `RAMUser` or `AssumedRoleUser`. */
  identityType: string;
  userId: string;
  principalId?: string;
  roleId?: string;
}

/** STS GetCallerIdentity: valid key? whose? Needs no RAM permission, so a denial here means the key itself is bad. */
export async function getCallerIdentity(creds: CloudCredentials, opts: CloudCallOptions = {}): Promise<CloudResult<CallerIdentity>> {
  const host = opts.stsHost ?? stsHost(opts.region, opts.net ?? 'Internet');
  const r = await callAcs3(creds, { service: 'sts', host, method: 'POST', path: '/', action: 'GetCallerIdentity', version: STS_VERSION }, opts, { action: 'sts:GetCallerIdentity' });
  if (!r.ok) return r;
  const j = r.value;
  const accountId = str(j.AccountId);
  const arn = str(j.Arn);
  if (!accountId || !arn) return fail(badResponse('sts', host, 200));
  return ok(
    {
      accountId,
      arn,
      identityType: str(j.IdentityType) ?? 'unknown',
      userId: str(j.UserId) ?? '',
      ...(str(j.PrincipalId) ? { principalId: str(j.PrincipalId)! } : {}),
      ...(str(j.RoleId) ? { roleId: str(j.RoleId)! } : {}),
    },
    r.requestId,
  );
}

// ---------------------------------------------------------------------------------------------

export interface SlsRequest {
  region: string;
  /** Project sub-domain; omit for region-level APIs (ListTagResources). */
  project?: string;
  method: string;
  resource: string;
  query?: Record<string, string>;
  /** RAM action, used to name a denial the server does not name. */
  action: string;
}

/** One signed SLS request; the raw answer, or a network error. Used by GetProject and the permission probe. */
export async function slsRequest(creds: CloudCredentials, req: SlsRequest, opts: CloudCallOptions = {}): Promise<{ ok: true; response: HttpResponse; host: string; sentAt: Date } | { ok: false; error: CloudError }> {
  const net = opts.net ?? 'Internet';
  const host = req.project ? slsProjectHost(req.project, req.region, net) : slsHost(req.region, net);
  const date = (opts.now ?? (() => new Date()))();
  const input = {
    method: req.method,
    host,
    resource: req.resource,
    ...(req.query ? { query: req.query } : {}),
    headers: { accept: 'application/json', 'user-agent': opts.userAgent ?? USER_AGENT },
    date,
  };
  const signed = opts.slsSignature === 'v4' ? signSlsV4({ ...input, region: req.region }, creds) : signSlsV1(input, creds);
  const r = await exchange(signed, 'sls', host, undefined, opts);
  return r.ok ? { ...r, host, sentAt: date } : r;
}

export interface SlsProject {
  projectName: string;
  region?: string;
  status?: string;
  owner?: string;
  description?: string;
  createTime?: string;
  lastModifyTime?: string;
}

/** SLS GetProject: the project exists in this region and the key may read it (log:GetProject). */
export async function getSlsProject(creds: CloudCredentials, region: string, project: string, opts: CloudCallOptions = {}): Promise<CloudResult<SlsProject>> {
  if (!SLS_PROJECT_PATTERN.test(project)) {
    return invalidInput('sls', slsHost(region, opts.net ?? 'Internet'), `"${project}" is not a valid SLS project name.`, 'Project names are 3-63 lower-case letters, digits and hyphens, starting and ending with a letter or digit.');
  }
  const r = await slsRequest(creds, { region, project, method: 'GET', resource: '/', action: 'log:GetProject' }, opts);
  if (!r.ok) return r;
  const { status, headers, body } = r.response;
  const requestId = typeof headers['x-log-requestid'] === 'string' ? headers['x-log-requestid'] : undefined;
  if (status !== 200) {
    return fail(
      classifyApiError(status, body, headers, {
        service: 'sls',
        host: r.host,
        sentAt: r.sentAt,
        action: 'log:GetProject',
        notFoundMessage: `SLS project "${project}" does not exist in ${region}.`,
        notFoundHint: `Check --project-name and --region: the project must exist in ${region} (Cloud Monitor 2.0 console, workspace details, shows both).`,
      }),
    );
  }
  const j = parseJson(r.response);
  const name = j && str(j.projectName);
  if (!j || !name) return fail(badResponse('sls', r.host, status));
  const pick = (k: string) => (str(j[k]) !== undefined ? { [k]: str(j[k])! } : {});
  return ok({ projectName: name, ...pick('region'), ...pick('status'), ...pick('owner'), ...pick('description'), ...pick('createTime'), ...pick('lastModifyTime') }, requestId);
}

// ---------------------------------------------------------------------------------------------

export interface PrometheusInstance {
  prometheusInstanceId: string;
  /** The instance's Prometheus HTTP API from the Internet and from the VPC. */
  httpApiInterUrl?: string;
  httpApiIntraUrl?: string;
  /** Set when the instance wants its token as a Bearer token (enableAuthToken); wrapped at once. */
  authToken?: Secret;
  prometheusInstanceName?: string;
  regionId?: string;
  status?: string;
  instanceType?: string;
  workspace?: string;
  product?: string;
  version?: string;
}

/** CMS 2.0 GetPrometheusInstance: the instance exists in this region (cms:GetPrometheusInstance). */
export async function getPrometheusInstance(creds: CloudCredentials, region: string, instanceId: string, opts: CloudCallOptions = {}): Promise<CloudResult<PrometheusInstance>> {
  const host = cmsHost(region, opts.net ?? 'Internet');
  if (!PROMETHEUS_INSTANCE_PATTERN.test(instanceId)) {
    return invalidInput('cms', host, `"${instanceId}" is not a valid Prometheus instance id.`, 'Copy the instance id from the Cloud Monitor 2.0 console (workspace > Prometheus instance).');
  }
  const r = await callAcs3(
    creds,
    { service: 'cms', host, method: 'GET', path: `/prometheus-instances/${instanceId}`, action: 'GetPrometheusInstance', version: CMS_VERSION },
    opts,
    {
      action: 'cms:GetPrometheusInstance',
      notFoundMessage: `Prometheus instance "${instanceId}" does not exist in ${region}.`,
      notFoundHint: `Check --prometheus-instance-id and --region: the instance must belong to the workspace's region (${region}).`,
    },
  );
  if (!r.ok) return r;
  const p = r.value.prometheusInstance as Record<string, unknown> | undefined;
  const id = p && str(p.prometheusInstanceId);
  if (!p || !id) return fail(badResponse('cms', host, 200));
  const keep = ['prometheusInstanceName', 'regionId', 'status', 'instanceType', 'workspace', 'product', 'version', 'httpApiInterUrl', 'httpApiIntraUrl'] as const;
  const picked: Record<string, string> = {};
  for (const k of keep) if (str(p[k]) !== undefined) picked[k] = str(p[k])!;
  // The token is a credential: a Secret from here on (never printed, scrubbed from any text).
  const tokenOn = p.enableAuthToken === true || p.enableAuthToken === 'true';
  const token = str(p.authToken);
  return ok({ prometheusInstanceId: id, ...picked, ...(tokenOn && token ? { authToken: new Secret(token) } : {}) }, r.requestId);
}

/** For callers that got a raw SLS answer (the permission probe): the server's own error code, if any. */
export function slsErrorCode(resp: HttpResponse): string | undefined {
  return parseApiErrorBody(resp.body, resp.headers).code;
}
