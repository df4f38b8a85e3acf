/**
 * Cloud credential checks, run from this machine with the AccessKey the install will use: is the key
 * valid and whose is it (STS GetCallerIdentity), does the SLS project exist and can the key read it
 * (GetProject), does the Prometheus instance exist (CMS GetPrometheusInstance), and which of the
 * install guide's RAM actions are missing (src/cloud/permissions.ts). All calls go through src/cloud,
 * which signs with the official schemes and classifies every documented error code.
 */
import { getCallerIdentity, getPrometheusInstance, getSlsProject, type CloudCallOptions, type CloudCredentials } from '../../cloud/credentials.js';
import { NETWORK_ERROR_CODES, type CloudError } from '../../cloud/errors.js';
import { probePermissions, renderMissingPolicy, SYSTEM_POLICY, type PermissionReport } from '../../cloud/permissions.js';
import { ENV } from '../../defaults.js';
import type { Check, Finding } from '../engine.js';
import type { PreflightContext } from './context.js';

export const CATEGORY = 'cloud';

/** `LTAI5t****wxyz`: enough to tell keys apart, not enough to be the id. */
export function maskKeyId(id: string): string {
  return id.length <= 8 ? `${id.slice(0, 2)}****` : `${id.slice(0, 6)}****${id.slice(-4)}`;
}

function creds(ctx: PreflightContext): CloudCredentials | undefined {
  const { accessKeyId, accessKeySecret } = ctx.input;
  return accessKeyId && accessKeySecret ? { accessKeyId, accessKeySecret } : undefined;
}

function callOpts(ctx: PreflightContext, signal: AbortSignal): CloudCallOptions {
  return {
    // The checks run from this machine: public endpoints unless an override says otherwise.
    net: 'Internet',
    overrides: ctx.input.endpointOverrides,
    timeoutMs: Math.min(ctx.input.timeoutMs, 15_000),
    signal,
    now: ctx.now,
    ...(ctx.input.region ? { region: ctx.input.region } : {}),
  };
}

/** A cloud error as a finding: network trouble only means "could not tell" (warning), the rest is fatal. */
export function errorFinding(e: CloudError, what: string): Finding {
  const network = NETWORK_ERROR_CODES.includes(e.code);
  return {
    status: 'failed',
    ...(network ? { severity: 'warning' as const } : {}),
    message: network ? `could not check ${what}: ${e.message}` : `${what}: ${e.message}`,
    hint: e.hint,
    object: `endpoint/${e.host}`,
    vantage: 'local',
    evidence: [`code: ${e.code}${e.apiCode ? ` (${e.apiCode})` : ''}`, ...(e.requestId ? [`RequestId: ${e.requestId}`] : []), ...(e.serverTime ? [`server time: ${e.serverTime}`] : []), ...(e.detail ? [`detail: ${e.detail}`] : [])],
  };
}

const missingKey = (): Finding => ({
  status: 'skipped',
  message: `no AccessKey given: pass --access-key-id and the secret in ${ENV.accessKeySecret} (or --access-key-secret-stdin)`,
});

export function decidePermissions(r: PermissionReport): Finding[] {
  const out: Finding[] = [];
  const denied = r.checks.filter((c) => c.status === 'denied');
  const unknown = r.checks.filter((c) => c.status === 'unknown');
  if (denied.length) {
    out.push({
      status: 'failed',
      message: `the AccessKey lacks ${denied.length} RAM permission${denied.length === 1 ? '' : 's'}: ${denied.map((c) => c.action).join(', ')}`,
      hint: `Attach the system policy ${SYSTEM_POLICY} to the RAM user, or a custom policy with the missing actions:\n${renderMissingPolicy(denied.map((c) => c.action))}\n(A policy limited to specific resource names can make the probes read as denied; the probes use the real project and instance.)`,
      evidence: denied.map((c) => `${c.action}: ${c.how} → ${c.evidence ?? 'denied'}`),
    });
  }
  if (unknown.length) {
    out.push({
      status: 'failed',
      severity: 'warning',
      message: `${unknown.length} permission${unknown.length === 1 ? '' : 's'} could not be determined: ${unknown.map((c) => c.action).join(', ')}`,
      evidence: unknown.map((c) => `${c.action}: ${c.evidence ?? 'no answer'}`),
      hint: unknown[0]?.error?.hint ?? 'See the evidence; run again when the endpoint answers.',
    });
  }
  if (!denied.length) {
    out.push({
      status: 'passed',
      message: `${r.allowed.length} checkable RAM permission${r.allowed.length === 1 ? '' : 's'} granted${r.notChecked.length ? ` (${r.notChecked.length} write/data actions cannot be checked without side effects)` : ''}`,
      evidence: [...r.allowed.map((a) => `allowed: ${a}`), ...r.checks.filter((c) => c.status === 'not-checked').map((c) => `not checked: ${c.action} (${c.evidence ?? ''})`)],
    });
  }
  return out;
}

export const cloudChecks: Check<PreflightContext>[] = [
  {
    id: 'cloud.credentials',
    category: CATEGORY,
    description: 'AccessKey valid (STS GetCallerIdentity) and whose it is',
    severity: 'fatal',
    async run(ctx, signal) {
      const c = creds(ctx);
      if (!c) return missingKey();
      const r = await getCallerIdentity(c, callOpts(ctx, signal));
      if (!r.ok) return errorFinding(r.error, `AccessKey ${maskKeyId(c.accessKeyId)}`);
      const id = r.value;
      return {
        status: 'passed',
        message: `AccessKey ${maskKeyId(c.accessKeyId)} is valid: ${id.identityType} ${id.arn} (account ${id.accountId})`,
        vantage: 'local',
        ...(id.identityType === 'Account' ? { evidence: ['this is the main account\'s key: a RAM user\'s key with only the needed policy is safer'] } : {}),
      };
    },
  },
  {
    id: 'cloud.sls-project',
    category: CATEGORY,
    description: 'SLS project exists and the AccessKey can read it (GetProject)',
    severity: 'fatal',
    needs: ['cloud.credentials'],
    async run(ctx, signal) {
      const c = creds(ctx);
      if (!c) return missingKey();
      if (!ctx.input.region || !ctx.input.projectName) return { status: 'skipped', message: 'SLS project not checked: pass --region and --project-name' };
      const r = await getSlsProject(c, ctx.input.region, ctx.input.projectName, callOpts(ctx, signal));
      if (!r.ok) return errorFinding(r.error, `SLS project ${ctx.input.projectName}`);
      const p = r.value;
      return { status: 'passed', message: `SLS project ${p.projectName} exists in ${p.region ?? ctx.input.region}${p.status ? ` (${p.status})` : ''} and the key can read it`, vantage: 'local' };
    },
  },
  {
    id: 'cloud.prometheus-instance',
    category: CATEGORY,
    description: 'Prometheus instance exists (CMS GetPrometheusInstance)',
    severity: 'fatal',
    needs: ['cloud.credentials'],
    async run(ctx, signal) {
      const c = creds(ctx);
      if (!c) return missingKey();
      if (!ctx.input.region || !ctx.input.prometheusInstanceId) return { status: 'skipped', message: 'Prometheus instance not checked: pass --region and --prometheus-instance-id' };
      const r = await getPrometheusInstance(c, ctx.input.region, ctx.input.prometheusInstanceId, callOpts(ctx, signal));
      if (!r.ok) return errorFinding(r.error, `Prometheus instance ${ctx.input.prometheusInstanceId}`);
      const p = r.value;
      return { status: 'passed', message: `Prometheus instance ${p.prometheusInstanceId}${p.prometheusInstanceName ? ` (${p.prometheusInstanceName})` : ''} exists${p.workspace ? ` in workspace ${p.workspace}` : ''}`, vantage: 'local' };
    },
  },
  {
    id: 'cloud.permissions',
    category: CATEGORY,
    description: 'RAM permissions of the install guide\'s policy (every one checkable without side effects)',
    severity: 'fatal',
    needs: ['cloud.credentials'],
    async run(ctx, signal) {
      const c = creds(ctx);
      if (!c) return missingKey();
      if (!ctx.input.region || !ctx.input.projectName) return { status: 'skipped', message: 'permissions not checked: pass --region and --project-name' };
      const r = await probePermissions(
        c,
        { region: ctx.input.region, project: ctx.input.projectName, ...(ctx.input.prometheusInstanceId ? { prometheusInstanceId: ctx.input.prometheusInstanceId } : {}) },
        callOpts(ctx, signal),
      );
      return decidePermissions(r).map((f) => ({ ...f, vantage: 'local' }));
    },
  },
];
