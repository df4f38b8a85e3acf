/**
 * Which of the RAM actions the chart needs does this AccessKey have? RAM has no policy simulator, so
 * each action that has a safe, read-only API is probed by calling that API:
 * - on the real project / instance where the API takes one (GetProject, ListMachineGroup,
 *   ListTagResources, GetPrometheusInstance);
 * - on a name that cannot exist for the Get* APIs that need a child resource (GetLogStore,
 *   GetMachineGroup, ...): SLS authorizes before it looks the resource up, so "does not exist" means
 *   allowed and "denied by sts or ram" means denied. This holds for the install guide's policy
 *   ("Resource": "*"); a policy scoped to specific resource names can deny the probe name and allow
 *   the real one, which the report then calls denied (the hint says so).
 * Write actions (Create*, Update*, Delete*, PostLogStoreLogs, RemoteWrite*, SyncAlertRulesByGroup) and
 * the metric queries are not probed: there is no way to test them without side effects or without
 * names we do not know. They are listed as not checked.
 */
import pLimit from 'p-limit';
import { classifyApiError, type CloudError } from './errors.js';
import { getPrometheusInstance, slsErrorCode, slsRequest, SLS_PROJECT_PATTERN, type CloudCallOptions, type CloudCredentials, type SlsRequest } from './credentials.js';

/** The custom policy of the install guide, in its order. */
export const POLICY_ACTIONS = [
  'log:CreateMachineGroup',
  'log:UpdateMachineGroupMachine',
  'log:ListMachineGroup',
  'log:GetMachineGroup',
  'log:UpdateLogtailPipelineConfig',
  'log:CreateLogtailPipelineConfig',
  'log:GetLogtailPipelineConfig',
  'log:GetProject',
  'log:GetLogStore',
  'log:TagResources',
  'log:ListTagResources',
  'log:UntagResources',
  'log:GetAppliedMachineGroups',
  'log:ApplyConfigToGroup',
  'log:RemoteWritePrometheus',
  'log:RemoteWrite',
  'log:QueryMetrics',
  'log:QueryPrometheusMetrics',
  'log:PostLogStoreLogs',
  'log:DeleteLogtailPipelineConfig',
  'cms:GetPrometheusInstance',
  'cms:SyncAlertRulesByGroup',
] as const;

export type PolicyAction = (typeof POLICY_ACTIONS)[number];

/** The system policy that grants all of them. */
export const SYSTEM_POLICY = 'AliyunPrometheusMetricWriteAccess';

/** A valid SLS name for logstores, machine groups and configs that no real installation uses. */
export const PROBE_NAME = 'kubectl-insight-permission-probe-0';

export type PermissionStatus = 'allowed' | 'denied' | 'unknown' | 'not-checked';

export interface PermissionCheck {
  action: string;
  status: PermissionStatus;
  /** The request sent (or why none was). */
  how: string;
  /** What the answer was, in a few words. */
  evidence?: string;
  /** Set when the answer did not tell (network error, bad key, project missing). */
  error?: CloudError;
}

export interface PermissionReport {
  checks: PermissionCheck[];
  allowed: string[];
  denied: string[];
  unknown: string[];
  notChecked: string[];
}

export interface ProbeTarget {
  region: string;
  project: string;
  /** Without it cms:GetPrometheusInstance is not checked. */
  prometheusInstanceId?: string;
}

interface SlsProbe {
  action: PolicyAction;
  req: (t: ProbeTarget) => Omit<SlsRequest, 'action' | 'region'>;
  /** 404 codes that prove the call was authorized (the probe name does not exist). */
  notFoundMeansAllowed?: boolean;
}

const SLS_PROBES: SlsProbe[] = [
  { action: 'log:GetProject', req: (t) => ({ project: t.project, method: 'GET', resource: '/' }) },
  { action: 'log:ListMachineGroup', req: (t) => ({ project: t.project, method: 'GET', resource: '/machinegroups', query: { offset: '0', size: '1' } }) },
  { action: 'log:GetMachineGroup', req: (t) => ({ project: t.project, method: 'GET', resource: `/machinegroups/${PROBE_NAME}` }), notFoundMeansAllowed: true },
  { action: 'log:GetLogtailPipelineConfig', req: (t) => ({ project: t.project, method: 'GET', resource: `/pipelineconfigs/${PROBE_NAME}` }), notFoundMeansAllowed: true },
  { action: 'log:GetLogStore', req: (t) => ({ project: t.project, method: 'GET', resource: `/logstores/${PROBE_NAME}` }), notFoundMeansAllowed: true },
  { action: 'log:GetAppliedMachineGroups', req: (t) => ({ project: t.project, method: 'GET', resource: `/configs/${PROBE_NAME}/machinegroups` }), notFoundMeansAllowed: true },
  // Region-level API; the resource is the project.
  { action: 'log:ListTagResources', req: (t) => ({ method: 'GET', resource: '/tags', query: { resourceType: 'project', resourceId: JSON.stringify([t.project]) } }) },
];

const NOT_PROBED: Record<string, string> = {
  'log:CreateMachineGroup': 'write action: not called',
  'log:UpdateMachineGroupMachine': 'write action: not called',
  'log:UpdateLogtailPipelineConfig': 'write action: not called',
  'log:CreateLogtailPipelineConfig': 'write action: not called',
  'log:TagResources': 'write action: not called',
  'log:UntagResources': 'write action: not called',
  'log:ApplyConfigToGroup': 'write action: not called',
  'log:RemoteWritePrometheus': 'writes metrics: not called',
  'log:RemoteWrite': 'writes data: not called',
  'log:QueryMetrics': 'needs the metric store the collector creates: not called',
  'log:QueryPrometheusMetrics': 'needs the metric store the collector creates: not called',
  'log:PostLogStoreLogs': 'writes logs: not called',
  'log:DeleteLogtailPipelineConfig': 'write action: not called',
  'cms:SyncAlertRulesByGroup': 'write action: not called',
};

function describe(req: Omit<SlsRequest, 'action' | 'region'>, t: ProbeTarget): string {
  const q = req.query ? `?${Object.entries(req.query).map(([k, v]) => `${k}=${v}`).join('&')}` : '';
  return `${req.method} ${req.resource}${q} on ${req.project ? `${req.project}.` : ''}${t.region} SLS endpoint`;
}

async function runSlsProbe(creds: CloudCredentials, t: ProbeTarget, p: SlsProbe, opts: CloudCallOptions): Promise<PermissionCheck> {
  const req = p.req(t);
  const how = describe(req, t);
  const r = await slsRequest(creds, { ...req, region: t.region, action: p.action }, opts);
  if (!r.ok) return { action: p.action, status: 'unknown', how, evidence: r.error.message, error: r.error };
  const { status, body, headers } = r.response;
  if (status >= 200 && status < 300) return { action: p.action, status: 'allowed', how, evidence: `HTTP ${status}` };
  const apiCode = slsErrorCode(r.response);
  const err = classifyApiError(status, body, headers, { service: 'sls', host: r.host, sentAt: r.sentAt, action: p.action });
  if (err.code === 'Forbidden') return { action: p.action, status: 'denied', how, evidence: err.message, error: { ...err, action: err.action ?? p.action } };
  // ProjectNotExist tells nothing about the action; a missing probe resource proves authorization passed.
  if (err.code === 'NotFound' && p.notFoundMeansAllowed && apiCode !== 'ProjectNotExist') {
    return { action: p.action, status: 'allowed', how, evidence: `HTTP ${status} ${apiCode ?? ''}: authorized, the probe name does not exist`.trim() };
  }
  return { action: p.action, status: 'unknown', how, evidence: err.message, error: err };
}

/** Probe every safely checkable action of the install guide's policy. Never throws for cloud errors. */
export async function probePermissions(creds: CloudCredentials, target: ProbeTarget, opts: CloudCallOptions & { concurrency?: number } = {}): Promise<PermissionReport> {
  const limit = pLimit(opts.concurrency ?? 4);
  const checks = new Map<string, Promise<PermissionCheck>>();

  const projectOk = SLS_PROJECT_PATTERN.test(target.project);
  for (const p of SLS_PROBES) {
    checks.set(
      p.action,
      projectOk
        ? limit(() => runSlsProbe(creds, target, p, opts))
        : Promise.resolve({ action: p.action, status: 'unknown', how: 'not sent', evidence: `"${target.project}" is not a valid SLS project name` }),
    );
  }
  checks.set(
    'cms:GetPrometheusInstance',
    target.prometheusInstanceId
      ? limit(async (): Promise<PermissionCheck> => {
          const how = `GET /prometheus-instances/${target.prometheusInstanceId} on the ${target.region} Cloud Monitor endpoint`;
          const r = await getPrometheusInstance(creds, target.region, target.prometheusInstanceId!, opts);
          if (r.ok) return { action: 'cms:GetPrometheusInstance', status: 'allowed', how, evidence: 'instance found' };
          if (r.error.code === 'Forbidden') return { action: 'cms:GetPrometheusInstance', status: 'denied', how, evidence: r.error.message, error: r.error };
          // Cloud Monitor, like SLS, authorizes before looking the instance up.
          if (r.error.code === 'NotFound') return { action: 'cms:GetPrometheusInstance', status: 'allowed', how, evidence: 'authorized, but the instance does not exist', error: r.error };
          return { action: 'cms:GetPrometheusInstance', status: 'unknown', how, evidence: r.error.message, error: r.error };
        })
      : Promise.resolve({ action: 'cms:GetPrometheusInstance', status: 'not-checked', how: 'not sent', evidence: 'no Prometheus instance id given' }),
  );

  const byAction = new Map((await Promise.all(checks.values())).map((c) => [c.action, c]));
  const ordered: PermissionCheck[] = POLICY_ACTIONS.map(
    (a) => byAction.get(a) ?? { action: a, status: 'not-checked', how: 'not sent', evidence: NOT_PROBED[a] ?? 'no read-only API' },
  );
  const pick = (s: PermissionStatus) => ordered.filter((c) => c.status === s).map((c) => c.action);
  return { checks: ordered, allowed: pick('allowed'), denied: pick('denied'), unknown: pick('unknown'), notChecked: pick('not-checked') };
}

/**
 * A ready-to-paste RAM policy granting `actions` (in the guide's order, duplicates dropped), in the
 * same shape as the install guide's custom policy: Version "1", one Allow statement, Resource "*".
 */
export function renderMissingPolicy(actions: readonly string[]): string {
  const order = new Map<string, number>(POLICY_ACTIONS.map((a, i) => [a, i]));
  const unique = [...new Set(actions)].sort((a, b) => (order.get(a) ?? 1e6) - (order.get(b) ?? 1e6) || a.localeCompare(b));
  const policy = { Version: '1', Statement: [{ Effect: 'Allow', Action: unique, Resource: '*' }] };
  return JSON.stringify(policy, null, 2);
}
