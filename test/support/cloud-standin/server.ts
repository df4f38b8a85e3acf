/**
 * A local HTTPS stand-in for the Alibaba Cloud APIs the credential checks and `verify` call: STS
 * GetCallerIdentity, SLS (GetProject and the read-only probes), CMS 2.0 GetPrometheusInstance and
 * GetEntityStoreData, and the Prometheus HTTP API of a CMS 2.0 Prometheus instance (SLS MetricStore).
 * It listens on 127.0.0.1 (random port) with a certificate for the real host names, routes on the
 * Host header, verifies every signature with its own verifiers (./verify.ts) and answers with each
 * service's documented error shapes:
 *
 *   unknown AccessKey ID   STS/CMS 404 InvalidAccessKeyId.NotFound   SLS 401 Unauthorized "AccessKeyId not found: <id>"
 *   disabled AccessKey     STS/CMS 400 InvalidAccessKeyId.Inactive   SLS 401 Unauthorized "AccessKeyId is disabled"
 *   wrong secret           STS/CMS 400 SignatureDoesNotMatch          SLS 401 SignatureNotMatch
 *   clock off > 15 min     STS/CMS 400 InvalidTimeStamp.Expired       SLS 400 RequestTimeExpired
 *   action not allowed     STS/CMS 403 Forbidden.RAM + AccessDeniedDetail.AuthAction
 *                          SLS 401 Unauthorized "denied by sts or ram, action: log:X, resource: acs:log:..."
 *   missing resource       CMS 404 NotFound / WorkspaceNotExist   SLS 404 ProjectNotExist / LogStoreNotExist / MachineGroupNotExist / ConfigNotExist
 *
 * Order of checks, as the real gateways do: credentials, clock, signature, then RAM, then the resource.
 *
 * The Prometheus API (https://<project>.<region>[-intranet].log.aliyuncs.com/prometheus/<project>/<store>/api/v1/...)
 * takes `Authorization: Bearer <instance authToken>` or `Basic base64(<AccessKeyId>:<secret>[$<securityToken>])`:
 *   bearer not accepted    401 Unauthorized                 unknown key / wrong secret   401 Unauthorized
 *   no log:QueryMetrics    403 Unauthorized "denied by sts or ram, action: log:QueryMetrics, resource: ...metricstore/<store>"
 *   no Authorization       401 Unauthorized                 unknown project / store      404 ProjectNotExist / MetricStoreNotExist
 *   bad PromQL             400 {"status":"error","errorType":"bad_data",...}
 * Test support only: never started outside tests, never bound to anything but loopback.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { EndpointOverrides } from '../../../src/cloud/endpoints.js';
import { aliyunNames, generatePki, type TestPki } from './pki.js';
import { claimedAccessKeyId, detectScheme, parseBasic, verifyAcs3, verifySlsV1, verifySlsV4, type RawRequest, type VerifyResult } from './verify.js';
import { entityTable, parseEntityQuery, SplError, type StandinEntity } from './entities.js';
import type { Series } from './promql.js';
import { servePrometheusApi } from './prometheus-api.js';

export type { StandinEntity } from './entities.js';
export type { Sample, Series } from './promql.js';

export interface StandinUser {
  accessKeyId: string;
  secret: string;
  accountId?: string;
  userName?: string;
  /** RAM actions granted: exact (`log:GetProject`), or globs (`log:Get*`, `*`). */
  allowedActions: readonly string[];
  disabled?: boolean;
  /**
   * Makes this a temporary (STS) key: the Prometheus API's Basic password must then be
   * `<secret>$<securityToken>`. (The ACS3 and SLS routes do not check a security token.)
   */
  securityToken?: string;
}

export interface StandinPrometheusInstance {
  id: string;
  region: string;
  name?: string;
  /** Default `default-cms-workspace`. */
  workspace?: string;
  /** SLS project holding the metricstore. Default `cms-<workspace>-standin`. */
  project?: string;
  /** Default `aliyun-prom-<id>`. */
  metricstore?: string;
  /** Returned by GetPrometheusInstance only when set; accepted as `Bearer` when enableAuthToken is not false. */
  authToken?: string;
  enableAuthToken?: boolean;
  /**
   * Reported as both httpApiInterUrl and httpApiIntraUrl instead of the derived URLs. It changes
   * only the answer: the API is still served where the project/metricstore lives.
   */
  httpApiUrl?: string;
}

export interface StandinOptions {
  users: StandinUser[];
  projects?: { name: string; region: string }[];
  prometheusInstances?: StandinPrometheusInstance[];
  /** Regions the certificate covers. */
  regions?: string[];
  /** Allowed clock difference (default 15 minutes, as documented). */
  skewLimitMs?: number;
  /** The server's clock. */
  now?: () => Date;
  /** Reuse a PKI across stand-ins (openssl runs once). */
  pki?: TestPki;
}

export interface RecordedRequest {
  host: string;
  method: string;
  url: string;
  scheme?: string;
  accessKeyId?: string;
  status: number;
  code?: string;
  /**
   * All request headers as received, for leak checks: the secret must never be among them, with one
   * exception: the `authorization` header of a Basic (the secret, base64) or Bearer (the instance
   * token) request to the Prometheus API carries it by design. Bodies are not recorded.
   */
  headers: Record<string, string>;
}

export interface CloudStandin {
  address: string;
  port: number;
  caPem: string;
  pki: TestPki;
  /** Overrides mapping every *.aliyuncs.com host to this server. */
  overrides(): EndpointOverrides;
  requests: RecordedRequest[];
  /** Replace all series of a Prometheus instance (by id; throws for an unknown one). */
  setMetrics(instanceId: string, series: Series[]): void;
  /**
   * Replace the entities of a CMS workspace; this also makes the workspace exist (in `opts.region`
   * only, when given; else in every region). Workspaces named by a Prometheus instance exist too, empty.
   */
  setEntities(workspace: string, entities: StandinEntity[], opts?: { region?: string }): void;
  close(): Promise<void>;
}

export const DEFAULT_WORKSPACE = 'default-cms-workspace';

export const instanceWorkspace = (i: StandinPrometheusInstance) => i.workspace ?? DEFAULT_WORKSPACE;
export const instanceProject = (i: StandinPrometheusInstance) => i.project ?? `cms-${instanceWorkspace(i)}-standin`;
export const instanceMetricstore = (i: StandinPrometheusInstance) => i.metricstore ?? `aliyun-prom-${i.id}`;
/** The Prometheus API base URLs GetPrometheusInstance reports. */
export function instanceUrls(i: StandinPrometheusInstance): { inter: string; intra: string } {
  if (i.httpApiUrl) return { inter: i.httpApiUrl, intra: i.httpApiUrl };
  const p = instanceProject(i);
  const tail = `/prometheus/${p}/${instanceMetricstore(i)}`;
  return { inter: `https://${p}.${i.region}.log.aliyuncs.com${tail}`, intra: `https://${p}.${i.region}-intranet.log.aliyuncs.com${tail}` };
}

const SKEW_MS = 15 * 60 * 1000;

function globMatch(pattern: string, action: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
  return re.test(action);
}

type Reply = { status: number; body: unknown; code?: string };

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function startCloudStandin(opts: StandinOptions): Promise<CloudStandin> {
  const pki = opts.pki ?? generatePki(aliyunNames(opts.regions ?? ['cn-hangzhou', 'cn-beijing']));
  const now = opts.now ?? (() => new Date());
  const skewLimit = opts.skewLimitMs ?? SKEW_MS;
  const users = new Map(opts.users.map((u) => [u.accessKeyId, u]));
  const projects = opts.projects ?? [];
  const instances = opts.prometheusInstances ?? [];
  const usedNonces = new Set<string>();
  const requests: RecordedRequest[] = [];
  const metrics = new Map<string, Series[]>();
  const entityStores = new Map<string, { region?: string; entities: StandinEntity[] }>();

  const allowed = (u: StandinUser, action: string) => u.allowedActions.some((p) => globMatch(p, action));
  const acct = (u: StandinUser) => u.accountId ?? '1234567890123456';

  // ---- OpenAPI gateway (STS, CMS) --------------------------------------------------------------
  const pop = (status: number, code: string, message: string, extra: Record<string, unknown> = {}): Reply => ({
    status,
    code,
    body: { RequestId: randomUUID().toUpperCase(), HostId: 'standin', Code: code, Message: message, Recommend: `https://api.aliyun.com/troubleshoot?q=${code}`, ...extra },
  });

  function popAuth(req: RawRequest): { user: StandinUser } | { reply: Reply } {
    if (detectScheme(req.headers.authorization) !== 'ACS3') return { reply: pop(400, 'IncompleteSignature', 'The request signature does not conform to Aliyun standards.') };
    const akId = claimedAccessKeyId(req) ?? '';
    const user = users.get(akId);
    if (!user) return { reply: pop(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.') };
    if (user.disabled) return { reply: pop(400, 'InvalidAccessKeyId.Inactive', 'Specified access key is disabled.') };
    const date = new Date(req.headers['x-acs-date'] ?? '');
    if (Number.isNaN(date.getTime())) return { reply: pop(400, 'InvalidTimeStamp.Format', 'Specified time stamp or date value is not well formatted.') };
    if (Math.abs(date.getTime() - now().getTime()) > skewLimit) return { reply: pop(400, 'InvalidTimeStamp.Expired', 'Specified time stamp or date value is expired.') };
    const v: VerifyResult = verifyAcs3(req, user.secret);
    if (!v.ok) {
      const sts = v.serverStringToSign ? ` server string to sign is:${v.serverStringToSign}` : '';
      return { reply: pop(400, v.reason === 'missing' ? 'MissingParameter' : 'SignatureDoesNotMatch', `Specified signature is not matched with our calculation (${v.detail}).${sts}`) };
    }
    const nonce = req.headers['x-acs-signature-nonce']!;
    if (usedNonces.has(nonce)) return { reply: pop(400, 'SignatureNonceUsed', 'Specified signature nonce was used already.') };
    usedNonces.add(nonce);
    return { user };
  }

  function denyPop(u: StandinUser, action: string): Reply {
    return pop(403, 'Forbidden.RAM', 'User not authorized to operate on the specified resource, or this API doesn\'t support RAM.', {
      AccessDeniedDetail: { AuthAction: action, PolicyType: 'AccountLevelIdentityBasedPolicy', NoPermissionType: 'ImplicitDeny', AuthPrincipalType: 'SubUser', AuthPrincipalDisplayName: u.userName ?? u.accessKeyId },
    });
  }

  function sts(req: RawRequest): Reply {
    const a = popAuth(req);
    if ('reply' in a) return a.reply;
    if (req.headers['x-acs-action'] !== 'GetCallerIdentity' || req.headers['x-acs-version'] !== '2015-04-01') return pop(400, 'InvalidAction.NotFound', 'Specified api is not found, please check your url and method.');
    const u = a.user;
    const userId = `2${acct(u).slice(1)}`;
    return {
      status: 200,
      body: { RequestId: randomUUID().toUpperCase(), AccountId: acct(u), Arn: `acs:ram::${acct(u)}:user/${u.userName ?? 'insight-test'}`, IdentityType: 'RAMUser', UserId: userId, PrincipalId: userId },
    };
  }

  function cms(req: RawRequest, region: string): Reply {
    const a = popAuth(req);
    if ('reply' in a) return a.reply;
    const path = req.url.split('?')[0]!;
    const action = req.headers['x-acs-action'];
    if (req.headers['x-acs-version'] === '2024-03-30') {
      let m: RegExpExecArray | null;
      if (req.method === 'GET' && action === 'GetPrometheusInstance' && (m = /^\/prometheus-instances\/([^/?]+)$/.exec(path))) return getPrometheusInstance(a.user, region, decodeURIComponent(m[1]!));
      if (req.method === 'POST' && action === 'GetEntityStoreData' && (m = /^\/workspace\/([^/?]+)\/entitiesAndRelations$/.exec(path))) return getEntityStoreData(req, a.user, region, decodeURIComponent(m[1]!));
    }
    return pop(404, 'InvalidAction.NotFound', 'Specified api is not found, please check your url and method.');
  }

  function getPrometheusInstance(user: StandinUser, region: string, id: string): Reply {
    if (!allowed(user, 'cms:GetPrometheusInstance')) return denyPop(user, 'cms:GetPrometheusInstance');
    const inst = instances.find((i) => i.id === id && i.region === region);
    if (!inst) return pop(404, 'NotFound', `The Prometheus instance ${id} does not exist.`);
    const urls = instanceUrls(inst);
    return {
      status: 200,
      body: {
        requestId: randomUUID().toUpperCase(),
        prometheusInstance: {
          prometheusInstanceId: inst.id,
          prometheusInstanceName: inst.name ?? inst.id,
          regionId: inst.region,
          status: 'Running',
          instanceType: 'remote-write',
          workspace: instanceWorkspace(inst),
          product: 'cms',
          httpApiInterUrl: urls.inter,
          httpApiIntraUrl: urls.intra,
          // Real answers carry the token when one is configured; clients must not pass it on.
          ...(inst.authToken !== undefined ? { authToken: inst.authToken } : {}),
          enableAuthToken: !!inst.authToken && inst.enableAuthToken !== false,
        },
      },
    };
  }

  function workspaceExists(ws: string, region: string): boolean {
    const store = entityStores.get(ws);
    if (store) return store.region === undefined || store.region === region;
    return instances.some((i) => i.region === region && instanceWorkspace(i) === ws);
  }

  function getEntityStoreData(req: RawRequest, user: StandinUser, region: string, ws: string): Reply {
    if (!allowed(user, 'cms:GetEntityStoreData')) return denyPop(user, 'cms:GetEntityStoreData');
    if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) return pop(400, 'InvalidParameter', 'The request body must be sent as application/json.');
    let body: unknown;
    try {
      body = JSON.parse(req.body.toString('utf8'));
    } catch {
      return pop(400, 'InvalidParameter', 'The request body is not valid JSON.');
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) return pop(400, 'InvalidParameter', 'The request body must be a JSON object.');
    const b = body as Record<string, unknown>;
    for (const k of ['query', 'from', 'to']) {
      if (b[k] === undefined || b[k] === null || b[k] === '') return pop(400, 'MissingParameter', `The input parameter "${k}" that is mandatory for processing this request is not supplied.`);
    }
    if (typeof b.query !== 'string') return pop(400, 'InvalidParameter', 'The parameter "query" must be a string.');
    for (const k of ['from', 'to']) {
      const v = b[k];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return pop(400, 'InvalidParameter', `The parameter "${k}" must be an integer (unix seconds).`);
    }
    const from = b.from as number;
    const to = b.to as number;
    if (from > to) return pop(400, 'InvalidParameter', 'The parameter "from" must not be after "to".');
    if (!workspaceExists(ws, region)) return pop(404, 'WorkspaceNotExist', `The workspace ${ws} does not exist in ${region}.`);
    let q: ReturnType<typeof parseEntityQuery>;
    try {
      q = parseEntityQuery(b.query);
    } catch (e) {
      if (e instanceof SplError) return pop(400, 'InvalidParameter', `The query is not valid SPL: ${e.message}.`);
      throw e;
    }
    const table = entityTable(entityStores.get(ws)?.entities ?? [], q, from, to);
    return { status: 200, body: { requestId: randomUUID().toUpperCase(), header: table.header, data: table.data } };
  }

  // ---- Prometheus HTTP API (SLS MetricStore) -----------------------------------------------------
  function prometheus(req: RawRequest, t: { region: string; hostProject: string; project: string; store: string; endpoint: string }): Reply {
    const inst = instances.find((i) => i.region === t.region && t.hostProject === t.project && instanceProject(i) === t.project && instanceMetricstore(i) === t.store);
    const unauthorized = (message: string) => slsErr(401, 'Unauthorized', message);
    const auth = req.headers.authorization;
    const scheme = detectScheme(auth);
    if (scheme === 'Bearer') {
      const token = auth!.replace(/^Bearer\s+/i, '');
      // The token belongs to an instance: without one at this address there is nothing it can match.
      if (!inst) return unauthorized('The bearer token is not valid for this project and metricstore.');
      if (!inst.authToken || inst.enableAuthToken === false) return unauthorized('Token authentication is not enabled for this Prometheus instance.');
      if (!sameString(token, inst.authToken)) return unauthorized('The bearer token is invalid.');
    } else if (scheme === 'Basic') {
      const cred = parseBasic(auth);
      if (!cred) return unauthorized('Malformed Basic credentials: expected base64(<AccessKeyId>:<AccessKeySecret>).');
      const user = users.get(cred.user);
      if (!user) return unauthorized(`AccessKeyId not found: ${cred.user}`);
      if (user.disabled) return unauthorized(`AccessKeyId is disabled: ${cred.user}`);
      const expected = user.securityToken !== undefined ? `${user.secret}$${user.securityToken}` : user.secret;
      if (!sameString(cred.password, expected)) {
        if (user.securityToken !== undefined && sameString(cred.password, user.secret)) {
          return unauthorized(`SecurityToken is missing: ${cred.user} is a temporary (STS) AccessKey, send <AccessKeySecret>$<SecurityToken> as the password.`);
        }
        if (user.securityToken !== undefined && cred.password.startsWith(`${user.secret}$`)) return unauthorized(`SecurityToken is invalid or expired for AccessKeyId ${cred.user}.`);
        return unauthorized(`Signature/password mismatch for AccessKeyId ${cred.user}: the password is not its AccessKey secret${user.securityToken !== undefined ? ' joined to the SecurityToken by $' : ''}.`);
      }
      if (!allowed(user, 'log:QueryMetrics')) {
        return slsErr(403, 'Unauthorized', `denied by sts or ram, action: log:QueryMetrics, resource: acs:log:${t.region}:${acct(user)}:project/${t.project}/metricstore/${t.store}`);
      }
    } else if (!auth) {
      return unauthorized('The Authorization header is missing: use Basic (AccessKey) or Bearer (instance token).');
    } else {
      return unauthorized('Unsupported Authorization scheme for the Prometheus API: use Basic (AccessKey) or Bearer (instance token).');
    }
    if (!inst) {
      const projectKnown =
        t.hostProject === t.project && (projects.some((p) => p.name === t.project && p.region === t.region) || instances.some((i) => i.region === t.region && instanceProject(i) === t.project));
      if (!projectKnown) return slsErr(404, 'ProjectNotExist', `The Project does not exist : ${t.project}`);
      return slsErr(404, 'MetricStoreNotExist', `MetricStore ${t.store} does not exist`);
    }
    return servePrometheusApi(t.endpoint, req, metrics.get(inst.id) ?? [], now().getTime());
  }

  // ---- SLS ---------------------------------------------------------------------------------------
  const slsErr = (status: number, code: string, message: string): Reply => ({ status, code, body: { errorCode: code, errorMessage: message } });

  function sls(req: RawRequest, region: string, project: string | undefined): Reply {
    const scheme = detectScheme(req.headers.authorization);
    if (scheme !== 'SLS-V1' && scheme !== 'SLS-V4') return slsErr(401, 'Unauthorized', 'The Authorization header is missing or not an SLS signature.');
    const akId = claimedAccessKeyId(req) ?? '';
    const user = users.get(akId);
    if (!user) return slsErr(401, 'Unauthorized', `AccessKeyId not found: ${akId}`);
    if (user.disabled) return slsErr(401, 'Unauthorized', `AccessKeyId is disabled: ${akId}`);
    const rawDate = scheme === 'SLS-V4' ? req.headers['x-log-date'] : (req.headers['x-log-date'] ?? req.headers.date);
    const t = scheme === 'SLS-V4' && rawDate ? new Date(rawDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z')) : new Date(rawDate ?? '');
    if (Number.isNaN(t.getTime())) return slsErr(400, 'InvalidRequestTime', `Request time ${rawDate ?? ''} not follow RFC822 spec.`);
    if (Math.abs(t.getTime() - now().getTime()) > skewLimit) {
      return slsErr(400, 'RequestTimeExpired', `Request time ${t.toUTCString()} has been expired while server time is ${now().toUTCString()}.`);
    }
    const v = scheme === 'SLS-V4' ? verifySlsV4(req, user.secret) : verifySlsV1(req, user.secret);
    if (!v.ok) return slsErr(401, 'SignatureNotMatch', `Signature ${(req.headers.authorization ?? '').split(/[:=]/).pop()} not matched.`);
    if (v.region && v.region !== region) return slsErr(401, 'SignatureNotMatch', `Signature region ${v.region} does not match ${region}.`);

    const path = decodeURIComponent(req.url.split('?')[0]!);
    const deny = (action: string, resource: string) => slsErr(401, 'Unauthorized', `denied by sts or ram, action: ${action}, resource: acs:log:${region}:${acct(user)}:${resource}`);
    if (!project) {
      if (req.method === 'GET' && path === '/tags') {
        const ids = JSON.parse(new URLSearchParams(req.url.split('?')[1] ?? '').get('resourceId') ?? '[]') as string[];
        if (!allowed(user, 'log:ListTagResources')) return deny('log:ListTagResources', `project/${ids[0] ?? '*'}`);
        return { status: 200, body: { nextToken: '', tagResources: [] } };
      }
      return slsErr(404, 'InvalidAction', 'not supported by the stand-in');
    }
    const p = projects.find((x) => x.name === project && x.region === region);
    const routes: [RegExp, string, (m: RegExpExecArray) => { resource: string; missing?: [string, string]; ok?: unknown }][] = [
      [/^\/$/, 'log:GetProject', () => ({ resource: `project/${project}`, ok: { projectName: project, region, owner: acct(user), status: 'Normal', description: 'stand-in', createTime: '1700000000', lastModifyTime: '1700000000' } })],
      [/^\/machinegroups$/, 'log:ListMachineGroup', () => ({ resource: `project/${project}/machinegroup/*`, ok: { count: 0, total: 0, machinegroups: [] } })],
      [/^\/machinegroups\/([^/]+)$/, 'log:GetMachineGroup', (m) => ({ resource: `project/${project}/machinegroup/${m[1]}`, missing: ['MachineGroupNotExist', `MachineGroup ${m[1]} does not exist`] })],
      [/^\/pipelineconfigs\/([^/]+)$/, 'log:GetLogtailPipelineConfig', (m) => ({ resource: `project/${project}/logtailconfig/${m[1]}`, missing: ['ConfigNotExist', `config ${m[1]} does not exist`] })],
      [/^\/logstores\/([^/]+)$/, 'log:GetLogStore', (m) => ({ resource: `project/${project}/logstore/${m[1]}`, missing: ['LogStoreNotExist', `logstore ${m[1]} does not exist`] })],
      [/^\/configs\/([^/]+)\/machinegroups$/, 'log:GetAppliedMachineGroups', (m) => ({ resource: `project/${project}/logtailconfig/${m[1]}`, missing: ['ConfigNotExist', `config ${m[1]} does not exist`] })],
    ];
    for (const [re, action, fn] of routes) {
      const m = re.exec(path);
      if (!m || req.method !== 'GET') continue;
      const r = fn(m);
      if (!allowed(user, action)) return deny(action, r.resource);
      if (!p) return slsErr(404, 'ProjectNotExist', `The Project does not exist : ${project}`);
      if (r.missing) return slsErr(404, r.missing[0], r.missing[1]);
      return { status: 200, body: r.ok };
    }
    return slsErr(404, 'InvalidAction', 'not supported by the stand-in');
  }

  // ---- routing -----------------------------------------------------------------------------------
  function route(req: RawRequest): Reply {
    const host = (req.headers.host ?? '').toLowerCase().replace(/:\d+$/, '');
    let m: RegExpExecArray | null;
    const pm = /^\/prometheus\/([^/?]+)\/([^/?]+)(\/api\/v1\/[^?]*)/.exec(req.url);
    const ph = /^([a-z0-9-]+)\.([a-z]{2,}-[a-z0-9-]+?)(?:-intranet)?\.log\.aliyuncs\.com$/.exec(host);
    if (pm && ph) return prometheus(req, { region: ph[2]!, hostProject: ph[1]!, project: decodeURIComponent(pm[1]!), store: decodeURIComponent(pm[2]!), endpoint: pm[3]! });
    if (/^sts(\.[a-z0-9-]+)?\.aliyuncs\.com$/.test(host) || /^sts-vpc\.[a-z0-9-]+\.aliyuncs\.com$/.test(host)) return sts(req);
    if ((m = /^cms(?:-vpc)?\.([a-z0-9-]+)\.aliyuncs\.com$/.exec(host))) return cms(req, m[1]!);
    if ((m = /^(?:([a-z0-9-]+)\.)?([a-z]{2,}-[a-z0-9-]+?)(?:-intranet)?\.log\.aliyuncs\.com$/.exec(host))) return sls(req, m[2]!, m[1]);
    return { status: 404, body: { Code: 'UnknownHost', Message: `the stand-in does not serve ${host}` } };
  }

  const server = https.createServer({ key: pki.keyPem, cert: pki.certPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const raw: RawRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers, body: Buffer.concat(chunks) };
      let reply: Reply;
      try {
        reply = route(raw);
      } catch (e) {
        reply = { status: 500, body: { Code: 'InternalError', Message: String(e) } };
      }
      requests.push({
        host: headers.host ?? '',
        method: raw.method,
        url: raw.url,
        ...(detectScheme(headers.authorization) ? { scheme: detectScheme(headers.authorization)! } : {}),
        ...(claimedAccessKeyId(raw) ? { accessKeyId: claimedAccessKeyId(raw)! } : {}),
        status: reply.status,
        ...(reply.code ? { code: reply.code } : {}),
        headers,
      });
      const body = JSON.stringify(reply.body);
      res.writeHead(reply.status, { 'content-type': 'application/json', 'x-log-requestid': randomUUID().replace(/-/g, '').toUpperCase(), 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    address: '127.0.0.1',
    port,
    caPem: pki.caPem,
    pki,
    overrides: () => ({ '*.aliyuncs.com': { address: '127.0.0.1', port, ca: pki.caPem } }),
    requests,
    setMetrics(instanceId, series) {
      if (!instances.some((i) => i.id === instanceId)) throw new Error(`cloud-standin: no Prometheus instance ${instanceId}`);
      metrics.set(
        instanceId,
        series.map((x) => ({ labels: { ...x.labels }, samples: x.samples.map((p) => ({ ...p })) })),
      );
    },
    setEntities(workspace, entities, o = {}) {
      entityStores.set(workspace, { ...(o.region !== undefined ? { region: o.region } : {}), entities: entities.map((e) => ({ ...e })) });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
